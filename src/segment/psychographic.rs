//! Psychographic segmentation: survey answers → factors → segments.
//!
//! Likert items measure a few underlying traits (lifestyle, values, personality). The
//! pipeline recovers those traits and groups people by them:
//!
//! 1. **Validate** every answer against the scale (an answer outside it is an error naming the
//!    customer and the item).
//! 2. **Reverse-key** the items worded against their trait: v ↦ min + max − v.
//! 3. **Missing answers**: a customer who answered fewer than `min_answers` items is left out
//!    of the fit and listed in [`PsychographicModel::excluded`]; the others' missing answers
//!    take the item's mean over the fitted customers (counted per item in
//!    [`FactorLoadings::imputed`]). Nothing is dropped silently.
//! 4. **Standardise** every item; an item with no variance is an error naming it.
//! 5. **Extract factors**: principal components of the item correlation matrix, as many as
//!    the caller fixes or as Kaiser's rule or Horn's parallel analysis keep, rotated by
//!    varimax so that each item loads mainly on one factor. Factors are ordered by the
//!    variance they explain and oriented so that their loadings sum to a positive number.
//! 6. **Score and cluster**: each customer's factor scores (standardised) are clustered (k-means
//!    by default); segments are profiled on the factor scores and on the share of each
//!    lifestyle / interest tag, and named from their dominant factors ("high F2 · low F1").
//!    Name the factors after reading the loadings ([`PsychographicModel::rename_factor`]) and
//!    the segment names follow.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::factor::{FactorCount, Rotation, correlation, eigen_desc, factor_count, varimax};
use super::features::{CategoricalFeature, Encoding, NumericFeature, Scaling, Table, Transform};
use super::kmeans::KMeansParams;
use super::model::{SegmentFitReport, SegmentModel, delegate_segment_model};
use super::profile::Vocabulary;
use super::strategy::Strategy;
use crate::contract::only;
use crate::data::CustomerId;
use crate::error::{Error, Position, Result};
use crate::{Assign, Fit};

/// A survey item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SurveyItem {
    /// Item name (e.g. "E1").
    pub name: String,
    /// Worded against its trait: scored as min + max − answer.
    pub reverse: bool,
}

impl SurveyItem {
    /// An item scored as answered.
    pub fn new(name: &str) -> Self {
        SurveyItem {
            name: name.into(),
            reverse: false,
        }
    }

    /// A reverse-keyed item.
    pub fn reversed(name: &str) -> Self {
        SurveyItem {
            name: name.into(),
            reverse: true,
        }
    }
}

/// One customer's answers (one per item, `None` for no answer) and tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyResponse {
    /// The customer.
    pub customer_id: CustomerId,
    /// Answers in item order.
    pub answers: Vec<Option<f64>>,
    /// Lifestyle / interest tags ("outdoors", "gaming" …).
    pub tags: Vec<String>,
}

/// Unfitted psychographic segmentation, validated when built.
///
/// ```
/// use custseg::segment::{FactorCount, PsychographicSegmenter, SurveyItem, SurveyResponse};
/// use custseg::{Assign, Fit};
/// // Two traits, three items each; the third item of each is reverse-keyed.
/// let items = ["a1", "a2", "a3", "b1", "b2", "b3"]
///     .iter()
///     .enumerate()
///     .map(|(i, n)| if i % 3 == 2 { SurveyItem::reversed(n) } else { SurveyItem::new(n) })
///     .collect();
/// let responses: Vec<SurveyResponse> = (0..200)
///     .map(|i| {
///         let (a, b) = ((i % 5) as f64, ((i / 5) % 5) as f64); // trait levels 0..4
///         let wobble = |j: usize| ((i * 7 + j * 3) % 3) as f64 - 1.0;
///         let answers = (0..6)
///             .map(|j| {
///                 let level = if j < 3 { a } else { b };
///                 let v = (1.0 + level + wobble(j)).clamp(1.0, 5.0);
///                 Some(if j % 3 == 2 { 6.0 - v } else { v })
///             })
///             .collect();
///         SurveyResponse { customer_id: format!("c{i}").into(), answers, tags: vec![] }
///     })
///     .collect();
/// let (model, _) = PsychographicSegmenter::new(items, 1.0, 5.0, 4)?
///     .with_factors(FactorCount::Fixed(2))?
///     .fit(&responses)?;
/// let loadings = model.loadings();
/// assert_eq!(loadings.factors.len(), 2);
/// // Every a-item loads on one factor, every b-item on the other.
/// let main = |i: usize| if loadings.loadings[[i, 0]].abs() > loadings.loadings[[i, 1]].abs() { 0 } else { 1 };
/// assert!((0..3).all(|i| main(i) == main(0)) && (3..6).all(|i| main(i) != main(0)));
/// assert_eq!(model.profiles().len(), 4);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PsychographicSegmenterRecord")]
pub struct PsychographicSegmenter {
    items: Vec<SurveyItem>,
    scale: (f64, f64),
    factors: FactorCount,
    rotation: Rotation,
    min_answers: usize,
    strategy: Strategy,
}

/// The serde shape of [`PsychographicSegmenter`]: deserializing runs the builder's checks.
#[derive(Deserialize)]
struct PsychographicSegmenterRecord {
    items: Vec<SurveyItem>,
    scale: (f64, f64),
    factors: FactorCount,
    rotation: Rotation,
    min_answers: usize,
    strategy: Strategy,
}

impl TryFrom<PsychographicSegmenterRecord> for PsychographicSegmenter {
    type Error = Error;
    fn try_from(r: PsychographicSegmenterRecord) -> Result<Self> {
        Ok(
            PsychographicSegmenter::new(r.items, r.scale.0, r.scale.1, 1)?
                .with_factors(r.factors)?
                .with_rotation(r.rotation)
                .with_min_answers(r.min_answers)?
                .with_strategy(r.strategy),
        )
    }
}

impl PsychographicSegmenter {
    /// Items on a scale from `min` to `max` (e.g. 1 to 6), k segments by k-means on the
    /// factor scores; factors by parallel analysis, varimax-rotated; a customer needs at
    /// least half the items answered.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for fewer than two items, repeated or empty item names, a
    /// scale that is not finite with min < max, or k = 0.
    pub fn new(items: Vec<SurveyItem>, min: f64, max: f64, k: usize) -> Result<Self> {
        let bad = |name: &'static str, value: String, reason: &str| {
            Err(Error::InvalidParameter {
                name,
                value,
                reason: reason.into(),
            })
        };
        if items.len() < 2 {
            return bad("items", items.len().to_string(), "at least two items");
        }
        let mut names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
        names.sort();
        if names.windows(2).any(|w| w[0] == w[1]) || names.iter().any(|n| n.is_empty()) {
            return bad("items", format!("{names:?}"), "distinct, non-empty names");
        }
        if !(min.is_finite() && max.is_finite() && min < max) {
            return bad("scale", format!("{min}..{max}"), "finite, min < max");
        }
        let strategy = Strategy::KMeans(KMeansParams::new(k)?);
        let min_answers = items.len().div_ceil(2);
        Ok(PsychographicSegmenter {
            items,
            scale: (min, max),
            factors: FactorCount::parallel(),
            rotation: Rotation::Varimax,
            min_answers,
            strategy,
        })
    }

    /// How many factors to keep.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a fixed count of 0 or above the number of items.
    pub fn with_factors(mut self, factors: FactorCount) -> Result<Self> {
        if let FactorCount::Fixed(m) = factors
            && (m == 0 || m > self.items.len())
        {
            return Err(Error::InvalidParameter {
                name: "factors",
                value: m.to_string(),
                reason: format!("between 1 and the {} items", self.items.len()),
            });
        }
        self.factors = factors;
        Ok(self)
    }

    /// The rotation (varimax by default).
    pub fn with_rotation(mut self, rotation: Rotation) -> Self {
        self.rotation = rotation;
        self
    }

    /// The fewest answers a customer needs to be fitted and assigned.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0 or more than the number of items.
    pub fn with_min_answers(mut self, min_answers: usize) -> Result<Self> {
        if min_answers == 0 || min_answers > self.items.len() {
            return Err(Error::InvalidParameter {
                name: "min_answers",
                value: min_answers.to_string(),
                reason: format!("between 1 and the {} items", self.items.len()),
            });
        }
        self.min_answers = min_answers;
        Ok(self)
    }

    /// The clustering strategy on the factor scores (and, for k-prototypes, the tags).
    pub fn with_strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }
}

impl Fit for PsychographicSegmenter {
    type Data<'a> = [SurveyResponse];
    type Model = PsychographicModel;
    type Report = SegmentFitReport;

    /// Fits factors and segments.
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::InvalidRecord`] for a response with the wrong number
    /// of answers or an answer off the scale (naming the customer and item);
    /// [`Error::DuplicateCustomer`]; [`Error::InvalidRecord`] when fewer than two customers
    /// have enough answers (column "answers"), or for an item nobody answered or with no
    /// variance (the item's column); [`Error::InvalidParameter`] when the factor rule keeps no
    /// factor; the strategy's errors.
    fn fit(&self, responses: &[SurveyResponse]) -> Result<(PsychographicModel, SegmentFitReport)> {
        if responses.is_empty() {
            return Err(Error::EmptyInput {
                what: "survey responses",
            });
        }
        check_responses(responses, &self.items, self.scale)?;
        let mut ids: Vec<&CustomerId> = responses.iter().map(|r| &r.customer_id).collect();
        ids.sort();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::DuplicateCustomer {
                at: Position::of_customer(w[0].to_string()),
                what: "survey responses",
            });
        }
        let p = self.items.len();
        let (kept, excluded): (Vec<&SurveyResponse>, Vec<&SurveyResponse>) = responses
            .iter()
            .partition(|r| answered(r) >= self.min_answers);
        if kept.len() < 2 {
            return Err(Error::InvalidRecord {
                at: Position::in_column("answers"),
                reason: format!(
                    "{} of {} responses have at least {} answers; two are needed",
                    kept.len(),
                    responses.len(),
                    self.min_answers
                ),
            });
        }
        let keyed =
            |r: &SurveyResponse, j: usize| r.answers[j].map(|v| key(&self.items[j], self.scale, v));
        // Item means over the fitted customers' answers: the imputation of a missing answer.
        let mut means = vec![0.0; p];
        let mut imputed = vec![0usize; p];
        for j in 0..p {
            let seen: Vec<f64> = kept.iter().filter_map(|r| keyed(r, j)).collect();
            if seen.is_empty() {
                return Err(Error::InvalidRecord {
                    at: Position::in_column(self.items[j].name.clone()),
                    reason: "nobody answered this item".into(),
                });
            }
            means[j] = seen.iter().sum::<f64>() / seen.len() as f64;
            imputed[j] = kept.len() - seen.len();
        }
        let n = kept.len();
        let x = Array2::from_shape_fn((n, p), |(i, j)| keyed(kept[i], j).unwrap_or(means[j]));
        let mut sds = vec![0.0; p];
        let mut centres = vec![0.0; p];
        for j in 0..p {
            let col = x.column(j);
            let m = col.sum() / n as f64;
            let sd = (col.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n as f64).sqrt();
            if sd.is_nan() || sd <= 1e-12 * (self.scale.1 - self.scale.0) {
                return Err(Error::InvalidRecord {
                    at: Position::in_column(self.items[j].name.clone()),
                    reason: "every customer gave the same answer: no variance to analyse".into(),
                });
            }
            centres[j] = m;
            sds[j] = sd;
        }
        let z = Array2::from_shape_fn((n, p), |(i, j)| (x[[i, j]] - centres[j]) / sds[j]);
        let r = correlation(z.view());
        let (eigenvalues, vectors) = eigen_desc(&r)?;
        let m = factor_count(self.factors, &eigenvalues, n)?;
        // Unrotated loadings V √Λ; score weights V Λ^(−1/2) give standardised scores.
        let mut loadings = Array2::from_shape_fn((p, m), |(i, f)| {
            vectors[[i, f]] * eigenvalues[f].max(0.0).sqrt()
        });
        let mut weights = Array2::from_shape_fn((p, m), |(i, f)| {
            vectors[[i, f]] / eigenvalues[f].max(1e-12).sqrt()
        });
        if self.rotation == Rotation::Varimax {
            let t = varimax(&loadings, 1e-12, 1_000)?;
            loadings = loadings.dot(&t);
            weights = weights.dot(&t);
        }
        // Order by explained variance, orient so loadings sum positive.
        let variance: Vec<f64> = (0..m)
            .map(|f| loadings.column(f).iter().map(|v| v * v).sum())
            .collect();
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| variance[b].total_cmp(&variance[a]).then(a.cmp(&b)));
        let mut l = Array2::zeros((p, m));
        let mut w = Array2::zeros((p, m));
        for (to, &from) in order.iter().enumerate() {
            let sign = if loadings.column(from).sum() < 0.0 {
                -1.0
            } else {
                1.0
            };
            l.column_mut(to).assign(&(&loadings.column(from) * sign));
            w.column_mut(to).assign(&(&weights.column(from) * sign));
        }
        let factor_names: Vec<String> = (1..=m).map(|f| format!("F{f}")).collect();
        let scoring = Scoring {
            items: self.items.clone(),
            scale: self.scale,
            min_answers: self.min_answers,
            means,
            centres,
            sds,
            weights: w,
        };
        let scores = scoring.scores(&kept)?;
        let tags = tag_vocabulary(&kept);
        let layout = PsychographicLayout { factor_names, tags };
        let table = layout.table(&scores, &kept);
        let (num, cat) = layout.specs();
        let fit = SegmentModel::fit(&self.strategy, &num, &cat, &layout.vocabulary(), &table)?;
        // The fit labelled the kept responses, in order; the excluded ones have no segment.
        let mut kept_labels = fit.labels.iter().copied();
        let labels: Vec<Option<usize>> = responses
            .iter()
            .map(|r| {
                if answered(r) >= self.min_answers {
                    kept_labels.next().flatten()
                } else {
                    None
                }
            })
            .collect();
        let communalities = (0..p)
            .map(|i| l.row(i).iter().map(|v| v * v).sum())
            .collect();
        let model = PsychographicModel {
            loadings: FactorLoadings {
                items: self.items.iter().map(|i| i.name.clone()).collect(),
                factors: layout.factor_names.clone(),
                loadings: l,
                eigenvalues: eigenvalues.to_vec(),
                communalities,
                imputed: self
                    .items
                    .iter()
                    .map(|i| i.name.clone())
                    .zip(imputed)
                    .collect(),
            },
            excluded: excluded
                .iter()
                .map(|r| (r.customer_id.clone(), answered(r)))
                .collect(),
            scoring,
            layout,
            model: fit.model,
        };
        Ok((
            model,
            SegmentFitReport::new(labels).with_objective(fit.objective),
        ))
    }
}

fn answered(r: &SurveyResponse) -> usize {
    r.answers.iter().filter(|a| a.is_some()).count()
}

fn key(item: &SurveyItem, (min, max): (f64, f64), v: f64) -> f64 {
    if item.reverse { min + max - v } else { v }
}

fn check_responses(
    responses: &[SurveyResponse],
    items: &[SurveyItem],
    (min, max): (f64, f64),
) -> Result<()> {
    for (row, r) in responses.iter().enumerate() {
        if r.answers.len() != items.len() {
            return Err(Error::InvalidRecord {
                at: Position::at_row(row).with_customer(&r.customer_id),
                reason: format!("{} answers for {} items", r.answers.len(), items.len()),
            });
        }
        for (a, item) in r.answers.iter().zip(items) {
            if let Some(v) = a.filter(|v| !(v.is_finite() && (min..=max).contains(v))) {
                return Err(Error::InvalidRecord {
                    at: Position::at_row(row)
                        .with_customer(&r.customer_id)
                        .with_column(item.name.as_str()),
                    reason: format!("answer {v} is off the {min}–{max} scale"),
                });
            }
        }
    }
    Ok(())
}

fn tag_vocabulary(responses: &[&SurveyResponse]) -> Vec<String> {
    let mut tags: Vec<String> = responses
        .iter()
        .flat_map(|r| r.tags.iter().cloned())
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

/// How answers become factor scores: keying, imputation, standardisation, weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Scoring {
    items: Vec<SurveyItem>,
    scale: (f64, f64),
    min_answers: usize,
    means: Vec<f64>,
    centres: Vec<f64>,
    sds: Vec<f64>,
    weights: Array2<f64>,
}

impl Scoring {
    fn validate(&self) -> Result<()> {
        let p = self.items.len();
        let ok = self.means.len() == p
            && self.centres.len() == p
            && self.sds.len() == p
            && self.weights.nrows() == p
            && self.weights.ncols() >= 1
            && self.sds.iter().all(|s| s.is_finite() && *s > 0.0)
            && self
                .means
                .iter()
                .chain(&self.centres)
                .all(|v| v.is_finite())
            && self.weights.iter().all(|v| v.is_finite())
            && self.scale.0 < self.scale.1
            && (1..=p).contains(&self.min_answers);
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidParameter {
                name: "psychographic model",
                value: "deserialized".into(),
                reason: "item means, scales and score weights disagree in shape or are not finite"
                    .into(),
            })
        }
    }

    /// Factor scores of responses with enough answers (checked by the caller).
    fn scores(&self, responses: &[&SurveyResponse]) -> Result<Array2<f64>> {
        let (p, m) = self.weights.dim();
        let mut z = Array2::zeros((responses.len(), p));
        for (i, r) in responses.iter().enumerate() {
            for j in 0..p {
                let v = r.answers[j].map_or(self.means[j], |v| key(&self.items[j], self.scale, v));
                z[[i, j]] = (v - self.centres[j]) / self.sds[j];
            }
        }
        let s = z.dot(&self.weights);
        debug_assert_eq!(s.ncols(), m);
        Ok(s)
    }
}

/// Column layout of the segmentation table: factor scores, then one yes/no column per tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PsychographicLayout {
    factor_names: Vec<String>,
    tags: Vec<String>,
}

impl PsychographicLayout {
    fn specs(&self) -> (Vec<NumericFeature>, Vec<CategoricalFeature>) {
        let num = self
            .factor_names
            .iter()
            .map(|f| NumericFeature {
                // Scores are standardised already.
                scaling: Scaling::None,
                ..NumericFeature::new(f, Transform::None)
            })
            .collect();
        let cat = self
            .tags
            .iter()
            .map(|t| CategoricalFeature {
                name: format!("tag {t}"),
                encoding: Encoding::Native,
            })
            .collect();
        (num, cat)
    }

    fn vocabulary(&self) -> Vec<Vocabulary> {
        self.factor_names
            .iter()
            .map(|f| Vocabulary::new(&format!("high {f}"), &format!("low {f}")))
            .collect()
    }

    fn table(&self, scores: &Array2<f64>, responses: &[&SurveyResponse]) -> Table {
        Table {
            numeric: (0..scores.ncols())
                .map(|f| scores.column(f).iter().map(|&v| Some(v)).collect())
                .collect(),
            categorical: self
                .tags
                .iter()
                .map(|t| {
                    responses
                        .iter()
                        .map(|r| Some(if r.tags.contains(t) { "yes" } else { "no" }.to_string()))
                        .collect()
                })
                .collect(),
        }
    }
}

/// The factor solution: loadings of every item on every factor, and what went into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FactorLoadings {
    /// Item names (rows).
    pub items: Vec<String>,
    /// Factor names (columns).
    pub factors: Vec<String>,
    /// Loadings: the correlation of each (keyed) item with each factor.
    pub loadings: Array2<f64>,
    /// Eigenvalues of the item correlation matrix, descending (all of them, for a scree plot).
    pub eigenvalues: Vec<f64>,
    /// Communality of each item: the share of its variance the factors explain.
    pub communalities: Vec<f64>,
    /// Missing answers imputed with the item mean, per item.
    pub imputed: Vec<(String, usize)>,
}

impl FactorLoadings {
    /// The factor an item loads on most (by absolute loading).
    pub fn main_factor(&self, item: usize) -> Option<usize> {
        if item >= self.loadings.nrows() {
            return None;
        }
        let row = self.loadings.row(item);
        (0..row.len()).max_by(|&a, &b| row[a].abs().total_cmp(&row[b].abs()).then(b.cmp(&a)))
    }
}

impl std::fmt::Display for FactorLoadings {
    /// An aligned table: items as rows, factors as columns, communality last.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let w = self
            .items
            .iter()
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        write!(f, "{:<w$}", "item")?;
        for name in &self.factors {
            write!(f, " {name:>8}")?;
        }
        writeln!(f, " {:>8}", "h²")?;
        // One cell per factor whatever the matrix holds (its fields are public): a short
        // or missing row prints "–" rather than breaking the table.
        let cell = |v: Option<f64>| v.map_or_else(|| "–".to_string(), |v| format!("{v:.3}"));
        for (i, item) in self.items.iter().enumerate() {
            write!(f, "{item:<w$}")?;
            for j in 0..self.factors.len() {
                write!(f, " {:>8}", cell(self.loadings.get((i, j)).copied()))?;
            }
            writeln!(f, " {:>8}", cell(self.communalities.get(i).copied()))?;
        }
        Ok(())
    }
}

/// A fitted psychographic segmentation. Plain serde data; deserializing validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PsychographicModelRecord")]
pub struct PsychographicModel {
    loadings: FactorLoadings,
    excluded: Vec<(CustomerId, usize)>,
    scoring: Scoring,
    layout: PsychographicLayout,
    model: SegmentModel,
}

#[derive(Deserialize)]
struct PsychographicModelRecord {
    loadings: FactorLoadings,
    excluded: Vec<(CustomerId, usize)>,
    scoring: Scoring,
    layout: PsychographicLayout,
    model: SegmentModel,
}

impl TryFrom<PsychographicModelRecord> for PsychographicModel {
    type Error = Error;
    fn try_from(r: PsychographicModelRecord) -> Result<Self> {
        r.scoring.validate()?;
        let (p, m) = r.scoring.weights.dim();
        let l = &r.loadings;
        let names: Vec<String> = r.model.features().numeric_names();
        if l.loadings.dim() != (p, m)
            || l.items.len() != p
            || l.factors != r.layout.factor_names
            || l.communalities.len() != p
            || names != r.layout.factor_names
        {
            return Err(Error::InvalidParameter {
                name: "psychographic model",
                value: "deserialized".into(),
                reason: "loadings, score weights and the segmentation's factors disagree".into(),
            });
        }
        Ok(PsychographicModel {
            loadings: r.loadings,
            excluded: r.excluded,
            scoring: r.scoring,
            layout: r.layout,
            model: r.model,
        })
    }
}

impl PsychographicModel {
    /// The factor loadings table.
    pub fn loadings(&self) -> &FactorLoadings {
        &self.loadings
    }

    /// Customers left out of the fit for answering fewer than the minimum, with their count
    /// of answers.
    pub fn excluded(&self) -> &[(CustomerId, usize)] {
        &self.excluded
    }

    delegate_segment_model!(
        "Segment profiles on the factor scores (mean score per factor; z against the base) and tag shares."
    );

    /// Names a factor (e.g. "extraversion" once the loadings show it) and renames the
    /// segments automatically from their dominant factors again (overriding earlier manual
    /// segment names).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a factor that does not exist, or an empty or taken name.
    pub fn rename_factor(&mut self, factor: usize, name: &str) -> Result<()> {
        let taken = self
            .layout
            .factor_names
            .iter()
            .enumerate()
            .any(|(i, f)| i != factor && f == name);
        if factor >= self.layout.factor_names.len() || name.trim().is_empty() || taken {
            return Err(Error::InvalidParameter {
                name: "factor",
                value: format!("{factor} ({name:?})"),
                reason: format!(
                    "an existing factor (0..{}) and a new, non-empty name",
                    self.layout.factor_names.len()
                ),
            });
        }
        let old = std::mem::replace(&mut self.layout.factor_names[factor], name.to_string());
        self.loadings.factors[factor] = name.to_string();
        let vocab = self.layout.vocabulary();
        for s in 0..self.model.segments() {
            let p = &self.model.profiles()[s];
            let mut words: Vec<(f64, String)> = p
                .features
                .iter()
                .filter_map(|c| {
                    let f = if c.feature == old {
                        name
                    } else {
                        c.feature.as_str()
                    };
                    let j = self.layout.factor_names.iter().position(|n| n == f)?;
                    (c.z.abs() > 0.5).then(|| {
                        let v = &vocab[j];
                        (
                            c.z.abs(),
                            if c.z > 0.0 {
                                v.high.clone()
                            } else {
                                v.low.clone()
                            },
                        )
                    })
                })
                .collect();
            words.sort_by(|a, b| b.0.total_cmp(&a.0));
            words.truncate(3);
            let label = if words.is_empty() {
                "average".to_string()
            } else {
                words
                    .into_iter()
                    .map(|w| w.1)
                    .collect::<Vec<_>>()
                    .join(" · ")
            };
            self.model.rename(s, &label)?;
        }
        self.model.rename_feature(&old, name);
        Ok(())
    }

    /// Factor scores of responses (`None` for a response with too few answers).
    ///
    /// # Errors
    /// As [`PsychographicModel::assign_batch`].
    pub fn scores(&self, responses: &[SurveyResponse]) -> Result<Vec<Option<Vec<f64>>>> {
        check_responses(responses, &self.scoring.items, self.scoring.scale)?;
        let ok: Vec<&SurveyResponse> = responses
            .iter()
            .filter(|r| answered(r) >= self.scoring.min_answers)
            .collect();
        let s = self.scoring.scores(&ok)?;
        let mut rows = s.rows().into_iter();
        Ok(responses
            .iter()
            .map(|r| {
                (answered(r) >= self.scoring.min_answers)
                    .then(|| rows.next().map(|v| v.to_vec()).unwrap_or_default())
            })
            .collect())
    }
}

impl Assign for PsychographicModel {
    type Record = SurveyResponse;

    fn segments(&self) -> usize {
        self.model.segments()
    }

    /// The segment of one response (`None`: too few answers, or DBSCAN noise).
    ///
    /// # Errors
    /// As [`PsychographicModel::assign_batch`].
    fn assign(&self, response: &SurveyResponse) -> Result<Option<usize>> {
        only(self.assign_batch(std::slice::from_ref(response)))
    }

    /// Segments of many responses, in parallel, in input order; `None` for a response with
    /// fewer answers than the fit required (count them with [`PsychographicModel::scores`]).
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] for the wrong number of answers or an answer off the scale,
    /// naming the customer and item.
    fn assign_batch(&self, responses: &[SurveyResponse]) -> Result<Vec<Option<usize>>> {
        check_responses(responses, &self.scoring.items, self.scoring.scale)?;
        let ok: Vec<&SurveyResponse> = responses
            .iter()
            .filter(|r| answered(r) >= self.scoring.min_answers)
            .collect();
        let scores = self.scoring.scores(&ok)?;
        let labels = self.model.assign_table(&self.layout.table(&scores, &ok))?;
        let mut it = labels.into_iter();
        Ok(responses
            .iter()
            .map(|r| {
                if answered(r) >= self.scoring.min_answers {
                    it.next().flatten()
                } else {
                    None
                }
            })
            .collect())
    }
}
