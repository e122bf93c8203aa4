//! The fitted core every typed segment model carries: feature preparation, clustering and
//! named profiles, consistent with each other.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::features::{
    CategoricalFeature, FittedFeatures, MISSING_LEVEL, NumericFeature, Prepared, Table,
};
use super::profile::{SegmentProfile, Vocabulary, profiles, rename_segment};
use super::strategy::{Clustering, Strategy, fit_strategy};
use crate::error::{Error, Result};

/// The accessors every typed model (behavioral, demographic, psychographic) shares with the
/// [`SegmentModel`] it keeps in its `model` field; `$profiles` documents `profiles()`.
macro_rules! delegate_segment_model {
    ($profiles:literal) => {
        /// The fitted core: preparation, clustering, profiles.
        pub fn model(&self) -> &$crate::segment::SegmentModel {
            &self.model
        }

        #[doc = $profiles]
        pub fn profiles(&self) -> &[$crate::segment::SegmentProfile] {
            self.model.profiles()
        }

        /// The name of a segment.
        pub fn segment_name(&self, segment: usize) -> Option<&str> {
            self.model.segment_name(segment)
        }

        /// Renames a segment.
        ///
        /// # Errors
        /// As [`SegmentModel::rename`](crate::segment::SegmentModel::rename).
        pub fn rename(&mut self, segment: usize, name: &str) -> $crate::error::Result<()> {
            self.model.rename(segment, name)
        }
    };
}
pub(crate) use delegate_segment_model;

/// A fitted segmentation over a table of features: how to prepare a row, how to assign it,
/// and what each segment looks like. The typed models (behavioral, demographic, …) wrap one
/// and turn their records into rows; read it through their `model()`. Plain serde data; deserializing checks that the parts agree
/// (the prepared width matches the clustering, one profile per segment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SegmentModelRecord")]
pub struct SegmentModel {
    features: FittedFeatures,
    clustering: Clustering,
    profiles: Vec<SegmentProfile>,
}

#[derive(Deserialize)]
struct SegmentModelRecord {
    features: FittedFeatures,
    clustering: Clustering,
    profiles: Vec<SegmentProfile>,
}

impl TryFrom<SegmentModelRecord> for SegmentModel {
    type Error = Error;
    fn try_from(r: SegmentModelRecord) -> Result<Self> {
        let m = SegmentModel {
            features: r.features,
            clustering: r.clustering,
            profiles: r.profiles,
        };
        m.check()?;
        Ok(m)
    }
}

/// How a segmentation fit went: the segment of every training record.
///
/// The labels are what the fit computed anyway; reading them here saves assigning the
/// training records a second time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SegmentFitReport {
    /// Segment of every training record, in input order (`None`: DBSCAN noise, or a survey
    /// response with too few answers).
    pub labels: Vec<Option<usize>>,
    /// The criterion the algorithm minimised, in the space it clustered (the prepared
    /// features for segment models): the sum of squared distances to the centres (inertia)
    /// for the k-means family, the total dissimilarity for k-prototypes; `None` for the
    /// others.
    pub objective: Option<f64>,
}

impl SegmentFitReport {
    pub(crate) fn new(labels: Vec<Option<usize>>) -> Self {
        SegmentFitReport {
            labels,
            objective: None,
        }
    }

    pub(crate) fn with_objective(mut self, objective: Option<f64>) -> Self {
        self.objective = objective;
        self
    }

    /// Training records in no segment.
    pub fn unassigned(&self) -> usize {
        self.labels.iter().filter(|l| l.is_none()).count()
    }
}

/// What a fit produced besides the model: the training rows' segments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SegmentFit {
    /// The fitted model.
    pub model: SegmentModel,
    /// Segment of every training row (`None`: DBSCAN noise), in input order.
    pub labels: Vec<Option<usize>>,
    /// The criterion the clustering minimised, if any.
    pub objective: Option<f64>,
    /// Profiles in the prepared space (transformed and scaled columns): what the clustering
    /// saw. Their z-scores suit naming rules better than raw means on skewed data.
    pub prepared_profiles: Vec<SegmentProfile>,
}

impl SegmentModel {
    /// Fits preparation and clustering on a table and profiles the segments on the raw
    /// values (numeric columns as given, missing ones at the column median; categorical
    /// columns as the share of each level). Rule bands are named by their band labels; other
    /// strategies get automatic names from the profile.
    ///
    /// # Errors
    /// The errors of [`FittedFeatures::fit`] and of fitting the strategy.
    pub(crate) fn fit(
        strategy: &Strategy,
        numeric: &[NumericFeature],
        categorical: &[CategoricalFeature],
        vocabulary: &[Vocabulary],
        table: &Table,
    ) -> Result<SegmentFit> {
        let (features, prepared) = FittedFeatures::fit(numeric, categorical, table)?;
        let (clustering, labels, objective) = fit_strategy(
            strategy,
            prepared.numeric.view(),
            prepared.categorical.view(),
        )?;
        let (values, names, vocab) = profile_matrix(numeric, categorical, vocabulary, table);
        let mut profs = profiles(
            values.view(),
            &names,
            &vocab,
            &labels,
            clustering.segments(),
        )?;
        let prepared_profiles = profiles(
            prepared.numeric.view(),
            &features.output_names(),
            &[],
            &labels,
            clustering.segments(),
        )?;
        if let Clustering::Bands(b) = &clustering {
            for p in &mut profs {
                p.name = b.name(p.segment);
            }
        }
        Ok(SegmentFit {
            model: SegmentModel {
                features,
                clustering,
                profiles: profs,
            },
            labels,
            objective,
            prepared_profiles,
        })
    }

    fn check(&self) -> Result<()> {
        let bad = |reason: String| {
            Err(Error::InvalidParameter {
                name: "segment model",
                value: "deserialized".into(),
                reason,
            })
        };
        let width = self.features.output_names().len();
        let native = self.features.native_levels().len();
        let empty = Prepared {
            numeric: Array2::zeros((0, width)),
            categorical: Array2::zeros((0, native)),
        };
        if let Err(e) = self
            .clustering
            .assign_batch(empty.numeric.view(), empty.categorical.view())
        {
            return bad(format!(
                "the clustering does not fit the prepared features: {e}"
            ));
        }
        if self.profiles.len() != self.clustering.segments()
            || self
                .profiles
                .iter()
                .enumerate()
                .any(|(i, p)| p.segment != i)
        {
            return bad(format!(
                "{} profiles for {} segments, numbered in order",
                self.profiles.len(),
                self.clustering.segments()
            ));
        }
        Ok(())
    }

    /// The feature preparation.
    pub(crate) fn features(&self) -> &FittedFeatures {
        &self.features
    }

    /// Missing values imputed with the training median when fitting, per numeric input
    /// column.
    pub fn imputed(&self) -> Vec<(String, usize)> {
        self.features.imputed()
    }

    /// The names of the prepared columns the clustering works on, in order (one per numeric
    /// feature and per one-hot level).
    pub fn feature_names(&self) -> Vec<String> {
        self.features.output_names()
    }

    /// The fitted clustering.
    pub fn clustering(&self) -> &Clustering {
        &self.clustering
    }

    /// Segment profiles (size, share, per-feature contrast, name), by segment number.
    pub fn profiles(&self) -> &[SegmentProfile] {
        &self.profiles
    }

    /// Number of segments.
    pub fn segments(&self) -> usize {
        self.profiles.len()
    }

    /// The name of a segment.
    pub fn segment_name(&self, segment: usize) -> Option<&str> {
        self.profiles.get(segment).map(|p| p.name.as_str())
    }

    /// Renames a segment (the automatic names are a starting point).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a segment that does not exist or an empty name.
    pub fn rename(&mut self, segment: usize, name: &str) -> Result<()> {
        let segments = self.profiles.len();
        let slot = self.profiles.get_mut(segment).map(|p| &mut p.name);
        rename_segment(slot, segment, segments, name)
    }

    /// Renames a numeric feature in the preparation and the profiles.
    pub(crate) fn rename_feature(&mut self, old: &str, new: &str) {
        self.features.rename_numeric(old, new);
        for p in &mut self.profiles {
            for c in &mut p.features {
                if c.feature == old {
                    c.feature = new.to_string();
                }
            }
        }
    }

    /// Prepares rows as the training rows were.
    ///
    /// # Errors
    /// As `FittedFeatures::transform`.
    pub(crate) fn prepare(&self, table: &Table) -> Result<Prepared> {
        self.features.transform(table)
    }

    /// Segments of a table's rows, in parallel, in input order (`None`: DBSCAN noise).
    ///
    /// # Errors
    /// As `FittedFeatures::transform`, naming the row and column of a bad value.
    /// One customer's numeric values (in the table's column order): the answer of
    /// [`SegmentModel::assign_table`] on a one-row table, without building it where the
    /// preparation is numeric only; errors carry row 0 as there.
    pub(crate) fn assign_numeric_row(&self, values: &[Option<f64>]) -> Result<Option<usize>> {
        // Behavioral rows have six columns plus engagement counts: a stack buffer covers
        // every model in practice, a longer row borrows the heap.
        let mut stack = [0.0f64; 32];
        let mut heap = Vec::new();
        let out = if values.len() <= stack.len() {
            &mut stack[..values.len()]
        } else {
            heap.resize(values.len(), 0.0);
            &mut heap[..]
        };
        match self.features.transform_numeric_row(values, out) {
            Some(prepared) => {
                prepared?;
                self.clustering.assign_numeric_row(out)
            }
            None => {
                let table = Table {
                    numeric: values.iter().map(|v| vec![*v]).collect(),
                    categorical: Vec::new(),
                };
                let mut labels = self.assign_table(&table)?;
                Ok(labels.pop().flatten())
            }
        }
    }

    pub(crate) fn assign_table(&self, table: &Table) -> Result<Vec<Option<usize>>> {
        let p = self.features.transform(table)?;
        self.clustering
            .assign_batch(p.numeric.view(), p.categorical.view())
    }
}

/// Raw values to profile: numeric columns (missing at the observed median) and one 0/1
/// column per categorical level; with a vocabulary for each ("level" / "few level" for the
/// indicators).
fn profile_matrix(
    numeric: &[NumericFeature],
    categorical: &[CategoricalFeature],
    vocabulary: &[Vocabulary],
    table: &Table,
) -> (Array2<f64>, Vec<String>, Vec<Vocabulary>) {
    let n = table.rows();
    let mut columns: Vec<Vec<f64>> = Vec::new();
    let mut names = Vec::new();
    let mut vocab = Vec::new();
    for (j, (f, col)) in numeric.iter().zip(&table.numeric).enumerate() {
        let mut seen: Vec<f64> = col.iter().flatten().copied().collect();
        seen.sort_by(f64::total_cmp);
        let median = seen.get(seen.len() / 2).copied().unwrap_or(0.0);
        columns.push(col.iter().map(|v| v.unwrap_or(median)).collect());
        names.push(f.name.clone());
        vocab.push(vocabulary.get(j).cloned().unwrap_or_else(|| {
            Vocabulary::new(&format!("high {}", f.name), &format!("low {}", f.name))
        }));
    }
    for (f, col) in categorical.iter().zip(&table.categorical) {
        let level = |v: &Option<String>| v.as_deref().unwrap_or(MISSING_LEVEL).to_string();
        let mut levels: Vec<String> = col.iter().map(level).collect();
        levels.sort();
        levels.dedup();
        for l in levels {
            columns.push(
                col.iter()
                    .map(|v| if level(v) == l { 1.0 } else { 0.0 })
                    .collect(),
            );
            names.push(format!("{}={l}", f.name));
            vocab.push(Vocabulary::new(&l, &format!("few {l}")));
        }
    }
    let values = Array2::from_shape_fn((n, columns.len()), |(i, j)| columns[j][i]);
    (values, names, vocab)
}
