//! Clustering strategies behind one enum, and the fitted result that assigns new points.

use linfa::DatasetBase;
use linfa::traits::{Fit, Transformer};
use linfa_clustering::{Dbscan, GaussianMixtureModel, KMeans as LinfaKMeans};
use linfa_nn::distance::L2Dist;
use linfa_nn::{CommonNearestNeighbour, NearestNeighbour};
use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::dbscan::{DbscanParams, dbscan, lowest_cluster_within};
use super::kdtree::KdTree;
use super::kmeans::{KMeansParams, check_k, kmeans};
use super::kprototypes::{KPrototypesParams, kprototypes, nearest};
use super::minibatch::{MiniBatchParams, minibatch_kmeans};
use super::mixture::{CovarianceType, GaussianMixtureParams, gaussian_mixture};
use super::profile::MAX_SEGMENTS;
use crate::error::{Error, Position, Result};
use crate::simd::{Kernel, wide};
use crate::special::log_sum_exp;

/// Explicit segments: cut points on chosen numeric columns, every combination of bands a
/// segment (e.g. age bands × income tiers). Checked when built; deserializing runs the same
/// checks. Whether the banded columns exist is checked when fitting.
///
/// ```
/// use custseg::segment::RuleBands;
/// let bands = RuleBands::new(vec![
///     (0, vec![30.0, 50.0], vec!["young".into(), "middle".into(), "senior".into()]),
///     (1, vec![40_000.0], vec!["lower income".into(), "higher income".into()]),
/// ])?;
/// assert_eq!(bands.segments(), 6);
/// assert_eq!(bands.name(5), "senior · higher income");
/// // Cuts must increase, and each column needs one label more than cuts.
/// assert!(RuleBands::new(vec![(0, vec![2.0, 1.0], vec!["a".into(); 3])]).is_err());
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RuleBandsRecord")]
pub struct RuleBands {
    // Crate code builds bands it has checked itself (the demographic model's band columns).
    pub(crate) bands: Vec<(usize, Vec<f64>, Vec<String>)>,
}

#[derive(Deserialize)]
struct RuleBandsRecord {
    bands: Vec<(usize, Vec<f64>, Vec<String>)>,
}

impl TryFrom<RuleBandsRecord> for RuleBands {
    type Error = Error;
    fn try_from(r: RuleBandsRecord) -> Result<Self> {
        RuleBands::new(r.bands)
    }
}

impl RuleBands {
    /// Bands from one entry per banded column: (column index, strictly increasing cut
    /// points, band labels — one more than the cuts). A value v falls in band i when
    /// cutᵢ₋₁ ≤ v < cutᵢ.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for no band, cuts not strictly increasing or not finite, a label count that is not one more than the cut count, or
    /// more than [`MAX_SEGMENTS`] combinations.
    pub fn new(bands: Vec<(usize, Vec<f64>, Vec<String>)>) -> Result<Self> {
        let b = RuleBands { bands };
        b.validate(usize::MAX)?;
        Ok(b)
    }

    /// The banded columns: (column index, cuts, labels).
    pub fn bands(&self) -> &[(usize, Vec<f64>, Vec<String>)] {
        &self.bands
    }

    /// Checks the bands, and that every banded column is below `columns`.
    pub(crate) fn validate(&self, columns: usize) -> Result<()> {
        let bad = |reason: String| {
            Err(Error::InvalidParameter {
                name: "bands",
                value: format!("{} banded columns", self.bands.len()),
                reason,
            })
        };
        if self.bands.is_empty() {
            return bad("at least one banded column".into());
        }
        for (c, cuts, labels) in &self.bands {
            if *c >= columns {
                return bad(format!("column {c} does not exist ({columns} columns)"));
            }
            if cuts.iter().any(|v| !v.is_finite()) || cuts.windows(2).any(|w| w[0] >= w[1]) {
                return bad(format!(
                    "column {c}: cuts must be finite and strictly increasing"
                ));
            }
            if labels.len() != cuts.len() + 1 {
                return bad(format!(
                    "column {c}: {} labels for {} cuts",
                    labels.len(),
                    cuts.len()
                ));
            }
        }
        if self.checked_segments().is_none_or(|n| n > MAX_SEGMENTS) {
            return bad(format!("more than {MAX_SEGMENTS} band combinations"));
        }
        Ok(())
    }

    /// Number of segments (the product of the band counts).
    pub fn segments(&self) -> usize {
        self.checked_segments().unwrap_or(usize::MAX)
    }

    fn checked_segments(&self) -> Option<usize> {
        self.bands
            .iter()
            .try_fold(1usize, |acc, b| acc.checked_mul(b.2.len()))
    }

    /// The segment of a row.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the row lacks a banded column.
    pub fn segment_of(&self, row: ArrayView1<'_, f64>) -> Result<usize> {
        self.bands.iter().try_fold(0, |acc, (c, cuts, labels)| {
            let v = row.get(*c).ok_or(Error::LengthMismatch {
                what: "columns of a banded row",
                expected: c.saturating_add(1),
                got: row.len(),
            })?;
            let band = cuts.partition_point(|&cut| cut <= *v);
            Ok(acc * labels.len() + band)
        })
    }

    /// The name of a segment: its bands' labels joined by " · ".
    pub fn name(&self, mut segment: usize) -> String {
        let mut parts = Vec::new();
        for (_, _, labels) in self.bands.iter().rev() {
            if labels.is_empty() {
                continue;
            }
            parts.push(labels[segment % labels.len()].clone());
            segment /= labels.len();
        }
        parts.reverse();
        parts.join(" · ")
    }
}

/// How to cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Strategy {
    /// Our k-means (k-means++, Hamerly-accelerated Lloyd, parallel).
    KMeans(KMeansParams),
    /// Mini-batch k-means (ours): random batches instead of full passes, for very large n.
    MiniBatchKMeans(MiniBatchParams),
    /// linfa-clustering's k-means, for comparison: k, restarts and seed from the parameters;
    /// iterations and tolerance are linfa's own (300 and 1e-4, the same defaults).
    LinfaKMeans(KMeansParams),
    /// Our Gaussian mixture (EM as scikit-learn's, full, diagonal or spherical covariances,
    /// parallel); points go to the most probable component.
    GaussianMixture(GaussianMixtureParams),
    /// linfa-clustering's Gaussian mixture, for comparison: full covariances only; k,
    /// initialisations, iterations, tolerance, regularisation and seed from the parameters.
    LinfaGaussianMixture(GaussianMixtureParams),
    /// Our DBSCAN (k-d tree, parallel, scikit-learn's clusters): clusters of
    /// density-connected points within `eps`; sparse points are noise (no segment).
    Dbscan(DbscanParams),
    /// linfa-clustering's DBSCAN, for comparison (its border points may join another of their
    /// clusters than ours and scikit-learn's).
    LinfaDbscan(DbscanParams),
    /// k-prototypes on numeric and categorical columns.
    KPrototypes(KPrototypesParams),
    /// Explicit bands.
    RuleBands(RuleBands),
}

impl Strategy {
    /// A short name.
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::KMeans(_) => "k-means (custseg)",
            Strategy::MiniBatchKMeans(_) => "mini-batch k-means (custseg)",
            Strategy::LinfaKMeans(_) => "k-means (linfa)",
            Strategy::GaussianMixture(_) => "Gaussian mixture (custseg)",
            Strategy::LinfaGaussianMixture(_) => "Gaussian mixture (linfa)",
            Strategy::Dbscan(_) => "DBSCAN (custseg)",
            Strategy::LinfaDbscan(_) => "DBSCAN (linfa)",
            Strategy::KPrototypes(_) => "k-prototypes",
            Strategy::RuleBands(_) => "rule bands",
        }
    }
}

/// A fitted clustering: whatever is needed to assign new points. Plain serde data, built only
/// by a fit or by deserializing, which checks shapes and values (a corrupt clustering is an
/// error, not a wrong segment); read the parts by matching (`Clustering::Centroids { centers,
/// .. }`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ClusteringRecord")]
#[non_exhaustive]
pub enum Clustering {
    /// Nearest centre.
    #[non_exhaustive]
    Centroids {
        /// Centres, one row per segment.
        centers: Array2<f64>,
    },
    /// Most probable mixture component.
    #[non_exhaustive]
    Mixture {
        /// Component weights.
        weights: Array1<f64>,
        /// Component means.
        means: Array2<f64>,
        /// Lower-triangular Cholesky factors of the precision matrices.
        precision_chol: Array3<f64>,
        /// The shape the covariances were fitted with (diagonal and spherical factors are
        /// diagonal matrices here); it sets the parameter count of BIC.
        covariance: CovarianceType,
    },
    /// The lowest segment among the core points within `eps`, else none (noise): DBSCAN's rule
    /// for border points as scikit-learn applies it, so training points reassign as fitted.
    #[non_exhaustive]
    Density {
        /// Core points of the training data (at least `min_points` neighbours within `eps`).
        points: Array2<f64>,
        /// Their segments.
        labels: Vec<usize>,
        /// Radius.
        eps: f64,
    },
    /// Nearest prototype under the mixed dissimilarity.
    #[non_exhaustive]
    Prototypes {
        /// Numeric parts.
        centers: Array2<f64>,
        /// Categorical parts.
        modes: Array2<u32>,
        /// Weight of a categorical mismatch.
        gamma: f64,
    },
    /// Explicit bands.
    Bands(RuleBands),
}

/// The serde shape of [`Clustering`], checked before it becomes one.
#[derive(Deserialize)]
enum ClusteringRecord {
    Centroids {
        centers: Array2<f64>,
    },
    Mixture {
        weights: Array1<f64>,
        means: Array2<f64>,
        precision_chol: Array3<f64>,
        // Saved before covariance shapes existed: full.
        #[serde(default)]
        covariance: CovarianceType,
    },
    Density {
        points: Array2<f64>,
        labels: Vec<usize>,
        eps: f64,
    },
    Prototypes {
        centers: Array2<f64>,
        modes: Array2<u32>,
        gamma: f64,
    },
    Bands(RuleBands),
}

impl TryFrom<ClusteringRecord> for Clustering {
    type Error = Error;
    fn try_from(r: ClusteringRecord) -> Result<Self> {
        let c = match r {
            ClusteringRecord::Centroids { centers } => Clustering::Centroids { centers },
            ClusteringRecord::Mixture {
                weights,
                means,
                precision_chol,
                covariance,
            } => Clustering::Mixture {
                weights,
                means,
                precision_chol,
                covariance,
            },
            ClusteringRecord::Density {
                points,
                labels,
                eps,
            } => Clustering::Density {
                points,
                labels,
                eps,
            },
            ClusteringRecord::Prototypes {
                centers,
                modes,
                gamma,
            } => Clustering::Prototypes {
                centers,
                modes,
                gamma,
            },
            ClusteringRecord::Bands(b) => Clustering::Bands(b),
        };
        c.validate()?;
        Ok(c)
    }
}

fn corrupt(what: &str) -> Error {
    Error::InvalidParameter {
        name: "clustering",
        value: "deserialized".into(),
        reason: what.into(),
    }
}

impl Clustering {
    /// Checks that the parts fit together: shapes agree, values are finite, weights form a
    /// distribution, Cholesky factors are lower-triangular with a positive diagonal.
    pub(crate) fn validate(&self) -> Result<()> {
        fn finite<'a>(mut it: impl Iterator<Item = &'a f64>) -> bool {
            it.all(|v| v.is_finite())
        }
        // Points and centres are what distances are measured against. A centre is a mean of
        // points within ±MAX_COORDINATE but may round an ulp past it: twice the bound keeps
        // every squared distance finite and accepts every fitted clustering.
        fn bounded<'a>(mut it: impl Iterator<Item = &'a f64>) -> bool {
            it.all(|&v| v.is_finite() && v.abs() <= 2.0 * MAX_COORDINATE)
        }
        self.check_shapes()?;
        match self {
            Clustering::Centroids { centers } => {
                if !bounded(centers.iter()) {
                    return Err(corrupt("centres must be finite, within ±MAX_COORDINATE"));
                }
            }
            Clustering::Mixture {
                weights,
                means,
                precision_chol,
                covariance,
            } => {
                let (k, d) = means.dim();
                if weights.iter().any(|w| !(w.is_finite() && *w > 0.0))
                    || (weights.sum() - 1.0).abs() > 1e-6
                {
                    return Err(corrupt("mixture weights must be positive and sum to 1"));
                }
                if !bounded(means.iter()) || !finite(precision_chol.iter()) {
                    return Err(corrupt(
                        "mixture means (within ±MAX_COORDINATE) and precisions must be finite",
                    ));
                }
                for c in 0..k {
                    for i in 0..d {
                        // Diagonal and spherical factors are diagonal; spherical ones have
                        // one value.
                        let diagonal = *covariance != CovarianceType::Full;
                        let spherical = *covariance == CovarianceType::Spherical;
                        if precision_chol[[c, i, i]] <= 0.0
                            || (i + 1..d).any(|j| precision_chol[[c, i, j]] != 0.0)
                            || diagonal && (0..i).any(|j| precision_chol[[c, i, j]] != 0.0)
                            || spherical && precision_chol[[c, i, i]] != precision_chol[[c, 0, 0]]
                        {
                            return Err(corrupt(
                                "precision factors must be lower-triangular with a positive \
                                 diagonal (diagonal for diagonal covariances, one value for \
                                 spherical ones)",
                            ));
                        }
                    }
                }
            }
            Clustering::Density {
                points,
                labels,
                eps,
            } => {
                if !(eps.is_finite() && *eps > 0.0 && bounded(points.iter())) {
                    return Err(corrupt(
                        "eps and the points must be finite, eps > 0, points within ±MAX_COORDINATE",
                    ));
                }
                // Clusters are numbered from 0 and each has a core point.
                if labels.iter().any(|&l| l >= points.nrows()) {
                    return Err(corrupt(
                        "a cluster number exceeds the number of core points",
                    ));
                }
            }
            Clustering::Prototypes { centers, gamma, .. } => {
                if !(bounded(centers.iter()) && gamma.is_finite() && *gamma >= 0.0) {
                    return Err(corrupt(
                        "prototype centres and gamma must be finite, gamma ≥ 0",
                    ));
                }
            }
            Clustering::Bands(b) => {
                // A column index of usize::MAX (edited JSON) must not overflow.
                let columns = b
                    .bands
                    .iter()
                    .map(|x| x.0.saturating_add(1))
                    .max()
                    .unwrap_or(0);
                b.validate(columns)?;
            }
        }
        Ok(())
    }

    /// Whether assigning a point measures distances (everything but bands), so its
    /// coordinates must be within ±[`MAX_COORDINATE`].
    fn measures_distances(&self) -> bool {
        !matches!(self, Clustering::Bands(_))
    }

    /// Number of segments.
    pub fn segments(&self) -> usize {
        match self {
            Clustering::Centroids { centers } => centers.nrows(),
            Clustering::Mixture { weights, .. } => weights.len(),
            Clustering::Density { labels, .. } => {
                labels.iter().max().map_or(0, |m| m.saturating_add(1))
            }
            Clustering::Prototypes { centers, .. } => centers.nrows(),
            Clustering::Bands(b) => b.segments(),
        }
    }

    /// The shape part of `validate`, without a pass over the values: cheap enough to run
    /// before every assignment, so a clustering whose parts were replaced after the fit (the
    /// variants' fields can be reached through `&mut`) is an error rather than a panic.
    fn check_shapes(&self) -> Result<()> {
        let (ok, what) = match self {
            Clustering::Centroids { centers } => (
                centers.nrows() > 0 && centers.ncols() > 0,
                "centres must be a non-empty matrix",
            ),
            Clustering::Mixture {
                weights,
                means,
                precision_chol,
                ..
            } => {
                let (k, d) = means.dim();
                (
                    k > 0 && d > 0 && weights.len() == k && precision_chol.dim() == (k, d, d),
                    "mixture weights, means and precision factors disagree in shape",
                )
            }
            Clustering::Density { points, labels, .. } => (
                points.nrows() == labels.len() && points.ncols() > 0,
                "one label per clustered point, at least one column",
            ),
            Clustering::Prototypes { centers, modes, .. } => (
                centers.nrows() > 0 && centers.nrows() == modes.nrows() && modes.ncols() > 0,
                "one numeric centre and one categorical mode per prototype",
            ),
            Clustering::Bands(b) => (
                !b.bands.is_empty()
                    && b.bands.iter().all(|(_, cuts, l)| l.len() == cuts.len() + 1)
                    && b.checked_segments().is_some_and(|n| n <= MAX_SEGMENTS),
                "bands need one label more than cuts, and at most MAX_SEGMENTS combinations",
            ),
        };
        if ok { Ok(()) } else { Err(corrupt(what)) }
    }

    /// Checks that prepared points have the columns this clustering was fitted on.
    fn check_columns(&self, numeric: usize, categorical: usize) -> Result<()> {
        self.check_shapes()?;
        let (want_num, want_cat) = match self {
            Clustering::Centroids { centers } => (centers.ncols(), None),
            Clustering::Mixture { means, .. } => (means.ncols(), None),
            Clustering::Density { points, .. } => (points.ncols(), None),
            Clustering::Prototypes { centers, modes, .. } => (centers.ncols(), Some(modes.ncols())),
            Clustering::Bands(b) => {
                let need = b
                    .bands
                    .iter()
                    .map(|x| x.0.saturating_add(1))
                    .max()
                    .unwrap_or(0);
                (numeric.max(need), None)
            }
        };
        if numeric != want_num {
            return Err(Error::LengthMismatch {
                what: "numeric columns of the prepared points",
                expected: want_num,
                got: numeric,
            });
        }
        if let Some(c) = want_cat.filter(|&c| c != categorical) {
            return Err(Error::LengthMismatch {
                what: "categorical columns of the prepared points",
                expected: c,
                got: categorical,
            });
        }
        Ok(())
    }

    /// The segment of one prepared point (`None`: DBSCAN noise).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the point has other columns than the clustering;
    /// [`Error::NonFinite`] for a NaN or infinite coordinate; [`Error::InvalidRecord`] for one
    /// beyond ±[`MAX_COORDINATE`] (except for bands, which take any finite value).
    pub fn assign(
        &self,
        numeric: ArrayView1<'_, f64>,
        categorical: ArrayView1<'_, u32>,
    ) -> Result<Option<usize>> {
        self.check_columns(numeric.len(), categorical.len())?;
        check_finite(numeric, 0, self.measures_distances())
            .map_err(|e| e.amend(Position::without_row))?;
        Ok(self.assign_unchecked(numeric, categorical))
    }

    /// Segments of prepared points, in parallel, in input order. `categorical` may have no
    /// columns (and then any number of rows) for the numeric strategies.
    ///
    /// # Errors
    /// As [`Clustering::assign`], naming the first bad row; [`Error::LengthMismatch`] when the
    /// two matrices have different row counts.
    pub fn assign_batch(
        &self,
        numeric: ArrayView2<'_, f64>,
        categorical: ArrayView2<'_, u32>,
    ) -> Result<Vec<Option<usize>>> {
        self.check_columns(numeric.ncols(), categorical.ncols())?;
        if categorical.ncols() > 0 && categorical.nrows() != numeric.nrows() {
            return Err(Error::LengthMismatch {
                what: "categorical rows",
                expected: numeric.nrows(),
                got: categorical.nrows(),
            });
        }
        check_rows(numeric, self.measures_distances())?;
        Ok(self.assign_batch_unchecked(numeric, categorical))
    }

    /// One prepared row of numeric features, checked as [`Clustering::assign_batch`] checks
    /// a row: the one-customer path of the segment models, without building a matrix.
    pub(crate) fn assign_numeric_row(&self, row: &[f64]) -> Result<Option<usize>> {
        self.check_columns(row.len(), 0)?;
        let view = ArrayView1::from(row);
        check_finite(view, 0, self.measures_distances())?;
        let empty = Array1::<u32>::zeros(0);
        Ok(self.assign_unchecked(view, empty.view()))
    }

    /// Batch assignment of points known to be well-formed (the models' own prepared data).
    pub(crate) fn assign_batch_unchecked(
        &self,
        numeric: ArrayView2<'_, f64>,
        categorical: ArrayView2<'_, u32>,
    ) -> Vec<Option<usize>> {
        if let Clustering::Density {
            points,
            labels,
            eps,
        } = self
            && points.nrows() > 64
            && numeric.nrows() > 1
        {
            // A k-d tree over the core points: a linear scan per query would make assigning
            // a large batch quadratic.
            let numeric = numeric.as_standard_layout();
            let (core, q) = (points.as_standard_layout(), numeric.view());
            let d = q.ncols();
            let tree = KdTree::new(core.as_slice().unwrap_or(&[]), d);
            let flat = q.as_slice().unwrap_or(&[]);
            return (0..q.nrows())
                .into_par_iter()
                .map(|i| lowest_cluster_within(&tree, labels, &flat[i * d..(i + 1) * d], eps * eps))
                .collect();
        }
        (0..numeric.nrows())
            .into_par_iter()
            .map(|i| {
                let empty = Array1::<u32>::zeros(0);
                let cat = if categorical.ncols() == 0 {
                    empty.view()
                } else {
                    categorical.row(i)
                };
                self.assign_unchecked(numeric.row(i), cat)
            })
            .collect()
    }

    fn assign_unchecked(
        &self,
        numeric: ArrayView1<'_, f64>,
        categorical: ArrayView1<'_, u32>,
    ) -> Option<usize> {
        let sq = |a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>| -> f64 {
            a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
        };
        // Ties go to the lowest index, so the answer never depends on evaluation order.
        let argmin = |it: &mut dyn Iterator<Item = (usize, f64)>| {
            it.fold(None, |best: Option<(usize, f64)>, (c, d)| match best {
                Some((_, bd)) if bd <= d => best,
                _ => Some((c, d)),
            })
        };
        match self {
            Clustering::Centroids { centers } => {
                argmin(&mut (0..centers.nrows()).map(|c| (c, sq(numeric, centers.row(c)))))
                    .map(|b| b.0)
            }
            Clustering::Mixture {
                weights,
                means,
                precision_chol,
                ..
            } => argmin(&mut (0..weights.len()).map(|c| {
                (
                    c,
                    -(weights[c].ln() + log_density(numeric, means.row(c), precision_chol, c)),
                )
            }))
            .map(|b| b.0),
            Clustering::Density {
                points,
                labels,
                eps,
            } => (0..points.nrows())
                .filter(|&i| dbscan_sq(numeric, points.row(i)) <= eps * eps)
                .map(|i| labels[i])
                .min(),
            Clustering::Prototypes {
                centers,
                modes,
                gamma,
            } => {
                let num: Vec<f64> = numeric.to_vec();
                let cat: Vec<u32> = categorical.to_vec();
                Some(nearest(&num, &cat, centers, modes, *gamma).0)
            }
            // The columns were checked before.
            Clustering::Bands(b) => b.segment_of(numeric).ok(),
        }
    }
}

/// The largest coordinate (in absolute value) a distance-based strategy accepts. Squared
/// distances between points this far apart, summed over a billion points in a hundred
/// dimensions, are still finite; beyond it they overflow to infinity, which linfa's k-d tree
/// answers by recursing until the stack overflows (an abort no caller can catch) and its
/// k-means++ seeding by panicking. Prepared features are scaled, so real data is far below.
pub const MAX_COORDINATE: f64 = 1e100;

/// The largest magnitude a coordinate may have: [`MAX_COORDINATE`] where distances are
/// computed (`bounded`), any finite value otherwise. `|v| <= limit` is false for NaN and for
/// ±∞ at either limit, so that one compare is the whole test (and vectorises).
fn coordinate_limit(bounded: bool) -> f64 {
    if bounded { MAX_COORDINATE } else { f64::MAX }
}

/// The first coordinate of a row that is not finite or, when `bounded`, beyond
/// ±[`MAX_COORDINATE`], as the error naming it.
fn check_finite(row: ArrayView1<'_, f64>, i: usize, bounded: bool) -> Result<()> {
    let limit = coordinate_limit(bounded);
    let ok = |v: f64| v.abs() <= limit;
    match row.iter().position(|&v| !ok(v)) {
        Some(j) if !row[j].is_finite() => Err(Error::NonFinite {
            at: Position::at_row(i).with_column(j.to_string()),
            value: row[j],
        }),
        Some(j) => Err(Error::InvalidRecord {
            at: Position::at_row(i).with_column(j.to_string()),
            reason: format!(
                "{:e}: beyond ±{MAX_COORDINATE:e}, where squared distances overflow",
                row[j]
            ),
        }),
        None => Ok(()),
    }
}

/// The first row (in order) with a coordinate that is not finite or, when `bounded`, one
/// distance computations cannot take, reported.
pub(crate) fn check_rows(numeric: ArrayView2<'_, f64>, bounded: bool) -> Result<()> {
    let limit = coordinate_limit(bounded);
    let ok = |v: f64| v.abs() <= limit;
    let d = numeric.ncols();
    let first_bad = match numeric.as_slice() {
        // Row-major and contiguous (the usual input): chunks of rows checked without a branch
        // a value (a check at memory speed, where a row-by-row search cost as much as some
        // fits), and only a chunk that fails searched row by row.
        Some(flat) if d > 0 && !flat.is_empty() => flat
            .par_chunks(CHECK_ROWS.saturating_mul(d))
            .enumerate()
            .find_map_first(|(ci, chunk)| {
                if wide(AllWithin {
                    values: chunk,
                    limit,
                }) {
                    return None;
                }
                chunk
                    .chunks_exact(d)
                    .position(|r| !r.iter().all(|&v| ok(v)))
                    .map(|j| ci * CHECK_ROWS + j)
            }),
        _ => (0..numeric.nrows())
            .into_par_iter()
            .find_first(|&i| numeric.row(i).iter().any(|&v| !ok(v))),
    };
    match first_bad {
        Some(i) => check_finite(numeric.row(i), i, bounded),
        None => Ok(()),
    }
}

/// Rows per chunk of [`check_rows`]' contiguous path.
const CHECK_ROWS: usize = 4096;

/// Whether every value's magnitude is at most `limit` (a NaN's is not): the values within
/// counted rather than a failure searched for, so that the loop has no branch and runs a
/// vector of values at a time.
struct AllWithin<'a> {
    values: &'a [f64],
    limit: f64,
}

impl Kernel for AllWithin<'_> {
    type Out = bool;

    #[inline(always)]
    fn run(self) -> bool {
        let mut within = 0usize;
        for &v in self.values {
            within += usize::from(v.abs() <= self.limit);
        }
        within == self.values.len()
    }
}

/// ln N(x; μ, Σ) with Σ⁻¹ = L Lᵀ (L the c-th lower Cholesky factor).
fn log_density(
    x: ArrayView1<'_, f64>,
    mean: ArrayView1<'_, f64>,
    chol: &Array3<f64>,
    c: usize,
) -> f64 {
    let d = x.len();
    let mut quad = 0.0;
    let mut log_det = 0.0;
    for j in 0..d {
        // (Lᵀ (x − μ))_j = Σ_{i ≥ j} L[i, j] (x_i − μ_i)
        let mut v = 0.0;
        for i in j..d {
            v += chol[[c, i, j]] * (x[i] - mean[i]);
        }
        quad += v * v;
        log_det += chol[[c, j, j]].ln();
    }
    log_det - 0.5 * quad - 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln()
}

/// Squared distance summed coordinate by coordinate, as DBSCAN's k-d tree sums it, so one
/// point at a time and a batch agree on ties at exactly `eps`.
fn dbscan_sq(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    a.iter().zip(b).fold(0.0, |s, (x, y)| s + (x - y) * (x - y))
}

/// Lower Cholesky factor of a symmetric positive-definite matrix, or `None`.
fn cholesky(a: ArrayView2<'_, f64>) -> Option<Array2<f64>> {
    let d = a.nrows();
    let mut l = Array2::<f64>::zeros((d, d));
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            if i == j {
                let v = a[[i, i]] - s;
                if v <= 0.0 || !v.is_finite() {
                    return None;
                }
                l[[i, j]] = v.sqrt();
            } else {
                l[[i, j]] = (a[[i, j]] - s) / l[[j, j]];
            }
        }
    }
    Some(l)
}

/// Free parameters of a fitted mixture (for BIC): weights, means and covariances; 0 for
/// other clusterings.
pub(crate) fn mixture_parameters(c: &Clustering) -> usize {
    match c {
        Clustering::Mixture {
            means, covariance, ..
        } => {
            let (k, d) = means.dim();
            (k - 1) + k * d + covariance.parameters(k, d)
        }
        _ => 0,
    }
}

/// Log-likelihood of points under a fitted mixture (for BIC).
pub(crate) fn mixture_log_likelihood(c: &Clustering, numeric: ArrayView2<'_, f64>) -> Option<f64> {
    let Clustering::Mixture {
        weights,
        means,
        precision_chol,
        ..
    } = c
    else {
        return None;
    };
    let per_point: Vec<f64> = (0..numeric.nrows())
        .into_par_iter()
        .map(|i| {
            let terms: Vec<f64> = (0..weights.len())
                .map(|k| {
                    weights[k].ln() + log_density(numeric.row(i), means.row(k), precision_chol, k)
                })
                .collect();
            log_sum_exp(&terms)
        })
        .collect();
    Some(per_point.iter().sum())
}

/// What fitting a strategy produced: the clustering, the training labels, and the criterion
/// the algorithm minimised when it has one (k-means inertia, k-prototypes cost).
pub(crate) type StrategyFit = (Clustering, Vec<Option<usize>>, Option<f64>);

/// Fits a strategy on prepared data.
///
/// # Errors
/// [`Error::InvalidParameter`] for settings that do not suit the data (k larger than the
/// number of points, a categorical strategy without categorical columns, …);
/// [`Error::Solver`] when linfa fails.
pub(crate) fn fit_strategy(
    strategy: &Strategy,
    numeric: ArrayView2<'_, f64>,
    categorical: ArrayView2<'_, u32>,
) -> Result<StrategyFit> {
    let n = numeric.nrows();
    if n == 0 {
        return Err(Error::EmptyInput { what: "points" });
    }
    let numeric_only = !matches!(strategy, Strategy::KPrototypes(_) | Strategy::RuleBands(_));
    if numeric_only && numeric.ncols() == 0 {
        return Err(Error::InvalidParameter {
            name: "strategy",
            value: strategy.name().into(),
            reason: "needs at least one numeric column".into(),
        });
    }
    if categorical.ncols() > 0 && categorical.nrows() != n {
        return Err(Error::LengthMismatch {
            what: "categorical rows",
            expected: n,
            got: categorical.nrows(),
        });
    }
    // linfa's estimators do not check for NaN or for coordinates whose squared distances
    // overflow (its k-d tree then recurses without end); bands compare values, so any
    // finite value suits them.
    check_rows(numeric, !matches!(strategy, Strategy::RuleBands(_)))?;
    // linfa-nn's k-d tree panics on rows that are not contiguous (column-major input).
    let numeric = numeric.as_standard_layout();
    let numeric = numeric.view();
    let categorical = categorical.as_standard_layout();
    let categorical = categorical.view();
    let linfa_err = |e: String| Error::Solver {
        model: strategy.name(),
        reason: e,
    };
    let check_k = |k: usize| check_k(k, n);
    let all = |labels: Vec<usize>| labels.into_iter().map(Some).collect::<Vec<_>>();
    let centroids = |centers, labels, inertia| {
        Ok((
            Clustering::Centroids { centers },
            all(labels),
            Some(inertia),
        ))
    };
    match strategy {
        Strategy::KMeans(p) => {
            let fit = kmeans(numeric, p)?;
            centroids(fit.centers, fit.labels, fit.inertia)
        }
        Strategy::MiniBatchKMeans(p) => {
            let fit = minibatch_kmeans(numeric, p)?;
            centroids(fit.centers, fit.labels, fit.inertia)
        }
        Strategy::LinfaKMeans(p) => {
            let (k, n_init, seed) = (p.k, p.n_init, p.seed);
            check_k(k)?;
            let data = DatasetBase::from(numeric.to_owned());
            let model = LinfaKMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(seed))
                .n_runs(n_init)
                .fit(&data)
                .map_err(|e| linfa_err(e.to_string()))?;
            let c = Clustering::Centroids {
                centers: model.centroids().clone(),
            };
            let labels = c.assign_batch_unchecked(numeric, categorical);
            Ok((c, labels, Some(model.inertia())))
        }
        Strategy::GaussianMixture(p) => {
            let fit = gaussian_mixture(numeric, p)?;
            let c = Clustering::Mixture {
                weights: fit.weights,
                means: fit.means,
                precision_chol: fit.precision_chol,
                covariance: p.covariance,
            };
            Ok((c, all(fit.labels), Some(-fit.log_likelihood)))
        }
        Strategy::LinfaGaussianMixture(p) => {
            check_k(p.k)?;
            if p.covariance != CovarianceType::Full {
                return Err(Error::InvalidParameter {
                    name: "covariance",
                    value: format!("{:?}", p.covariance),
                    reason: "linfa's Gaussian mixture has full covariances only".into(),
                });
            }
            let data = DatasetBase::from(numeric.to_owned());
            let model =
                GaussianMixtureModel::params_with_rng(p.k, Xoshiro256Plus::seed_from_u64(p.seed))
                    .n_runs(p.n_init as u64)
                    .max_n_iterations(p.max_iter as u64)
                    .tolerance(p.tol)
                    .reg_covariance(p.reg_covar)
                    .fit(&data)
                    .map_err(|e| linfa_err(e.to_string()))?;
            let d = numeric.ncols();
            let mut chol = Array3::<f64>::zeros((p.k, d, d));
            for c in 0..p.k {
                let l = cholesky(model.precisions().index_axis(ndarray::Axis(0), c)).ok_or_else(
                    || linfa_err("a component's precision is not positive definite".into()),
                )?;
                chol.index_axis_mut(ndarray::Axis(0), c).assign(&l);
            }
            let c = Clustering::Mixture {
                weights: model.weights().clone(),
                means: model.means().clone(),
                precision_chol: chol,
                covariance: CovarianceType::Full,
            };
            let labels = c.assign_batch_unchecked(numeric, categorical);
            let ll = mixture_log_likelihood(&c, numeric);
            Ok((c, labels, ll.map(|v| -v)))
        }
        Strategy::Dbscan(p) => {
            let fit = dbscan(numeric, p)?;
            Ok((
                Clustering::Density {
                    points: fit.core_points,
                    labels: fit.core_labels,
                    eps: p.eps,
                },
                fit.labels,
                None,
            ))
        }
        Strategy::LinfaDbscan(p) => {
            // Checked when built: eps finite and > 0, min_points ≥ 2.
            let (eps, min_points) = (&p.eps, &p.min_points);
            let owned = numeric.to_owned();
            let labels: Array1<Option<usize>> = Dbscan::params(*min_points)
                .tolerance(*eps)
                .transform(&owned)
                .map_err(|e| linfa_err(e.to_string()))?;
            // Keep the core points only: a new point joins a cluster when it lies within eps of
            // one of its core points (the DBSCAN rule for border points), so training noise
            // stays noise when reassigned. Core: at least min_points points within eps, itself
            // included (linfa's definition).
            let index = CommonNearestNeighbour::KdTree
                .from_batch(&owned, L2Dist)
                .map_err(|e| linfa_err(e.to_string()))?;
            let core: Vec<bool> = (0..n)
                .into_par_iter()
                .map(|i| {
                    // The min_points-th nearest point (itself included) within eps: the same
                    // test as counting the points in range, with a bounded search.
                    labels[i].is_some()
                        && index.k_nearest(owned.row(i), *min_points).is_ok_and(|v| {
                            v.len() == *min_points
                                && v.last().is_some_and(|(p, _)| {
                                    let q = owned.row(i);
                                    q.iter()
                                        .zip(p.iter())
                                        .map(|(a, b)| (a - b) * (a - b))
                                        .sum::<f64>()
                                        <= eps * eps
                                })
                        })
                })
                .collect();
            let idx: Vec<usize> = (0..n).filter(|&i| core[i]).collect();
            let points = numeric.select(ndarray::Axis(0), &idx);
            let lbl: Vec<usize> = idx.iter().filter_map(|&i| labels[i]).collect();
            Ok((
                Clustering::Density {
                    points,
                    labels: lbl,
                    eps: *eps,
                },
                labels.to_vec(),
                None,
            ))
        }
        Strategy::KPrototypes(p) => {
            if categorical.ncols() == 0 {
                return Err(Error::InvalidParameter {
                    name: "strategy",
                    value: strategy.name().into(),
                    reason: "k-prototypes needs categorical columns".into(),
                });
            }
            let fit = kprototypes(numeric, categorical, p)?;
            Ok((
                Clustering::Prototypes {
                    centers: fit.centers,
                    modes: fit.modes,
                    gamma: fit.gamma,
                },
                all(fit.labels),
                Some(fit.cost),
            ))
        }
        Strategy::RuleBands(b) => {
            b.validate(numeric.ncols())?;
            let c = Clustering::Bands(b.clone());
            let labels = c.assign_batch_unchecked(numeric, categorical);
            Ok((c, labels, None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::ShapeBuilder;

    /// The row-by-row search `check_rows` did before its chunked path: the reference.
    fn first_bad_row_by_row(numeric: ArrayView2<'_, f64>, bounded: bool) -> Result<()> {
        for (i, row) in numeric.rows().into_iter().enumerate() {
            check_finite(row, i, bounded)?;
        }
        Ok(())
    }

    /// A bad value at the start, the end and around each chunk boundary, in every column, with
    /// a second one later: the chunked path (row-major input) and the row-by-row path
    /// (column-major input) name the same first row, column and value as a plain search.
    #[test]
    fn the_first_bad_coordinate_is_named_wherever_it_is() {
        let (n, d) = (2 * CHECK_ROWS + 37, 3);
        let good: Vec<f64> = (0..n * d).map(|v| (v % 17) as f64 - 8.5).collect();
        let rows = [0, CHECK_ROWS - 1, CHECK_ROWS, 2 * CHECK_ROWS - 1, n - 1];
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 2e100, -2e100] {
            for &row in &rows {
                for col in 0..d {
                    let mut v = good.clone();
                    v[row * d + col] = bad;
                    if row + 1 < n {
                        v[(n - 1) * d] = f64::NAN;
                    }
                    let by_rows = Array2::from_shape_vec((n, d), v.clone()).unwrap();
                    let by_cols = Array2::from_shape_vec((n, d).f(), {
                        let mut t = vec![0.0; n * d];
                        for (i, x) in v.iter().enumerate() {
                            t[(i % d) * n + i / d] = *x;
                        }
                        t
                    })
                    .unwrap();
                    assert!(
                        by_cols.as_slice().is_none(),
                        "column-major: the strided path"
                    );
                    assert!(
                        by_rows
                            .iter()
                            .zip(by_cols.iter())
                            .all(|(a, b)| a.to_bits() == b.to_bits())
                    );
                    for bounded in [false, true] {
                        let want = format!("{:?}", first_bad_row_by_row(by_rows.view(), bounded));
                        let chunked = format!("{:?}", check_rows(by_rows.view(), bounded));
                        let strided = format!("{:?}", check_rows(by_cols.view(), bounded));
                        assert_eq!(chunked, want, "{bad} at ({row}, {col}), bounded {bounded}");
                        assert_eq!(strided, want, "{bad} at ({row}, {col}), bounded {bounded}");
                        let refused = bounded || !bad.is_finite() || row + 1 < n;
                        assert_eq!(want.starts_with("Err"), refused, "{want}");
                    }
                }
            }
        }
        let fine = Array2::from_shape_vec((n, d), good).unwrap();
        assert!(check_rows(fine.view(), true).is_ok());
        assert!(check_rows(Array2::<f64>::zeros((5, 0)).view(), true).is_ok());
        assert!(check_rows(Array2::<f64>::zeros((0, 5)).view(), true).is_ok());
        // At the edges of the two bounds: accepted exactly where the plain search accepts.
        let above = f64::from_bits(MAX_COORDINATE.to_bits() + 1);
        let edges = [
            MAX_COORDINATE,
            -MAX_COORDINATE,
            above,
            -above,
            f64::MAX,
            f64::MIN,
            -0.0,
            f64::MIN_POSITIVE / 4.0,
        ];
        for v in edges {
            let mut values = vec![1.0; n * d];
            values[CHECK_ROWS * d + 1] = v;
            let m = Array2::from_shape_vec((n, d), values).unwrap();
            for bounded in [false, true] {
                let want = first_bad_row_by_row(m.view(), bounded);
                let accepted = v.is_finite() && (!bounded || v.abs() <= MAX_COORDINATE);
                assert_eq!(want.is_ok(), accepted, "{v:e}, bounded {bounded}");
                assert_eq!(
                    format!("{:?}", check_rows(m.view(), bounded)),
                    format!("{want:?}"),
                    "{v:e}, bounded {bounded}"
                );
            }
        }
    }
}
