//! The clustering contract: every strategy is an estimator that fits a [`Clustering`] on
//! [`Points`], so code that works for any strategy ([`choose_k`](super::choose_k),
//! [`stability`](crate::report::stability)) takes the trait.

use ndarray::ArrayView2;

use super::dbscan::DbscanParams;
use super::kmeans::KMeansParams;
use super::kprototypes::KPrototypesParams;
use super::minibatch::MiniBatchParams;
use super::mixture::GaussianMixtureParams;
use super::model::SegmentFitReport;
use super::strategy::{Clustering, RuleBands, Strategy, fit_strategy};
use crate::Fit;
use crate::error::Result;

/// Points to cluster: numeric columns and, for k-prototypes and rule bands, categorical codes.
///
/// ```
/// use custseg::segment::{KMeansParams, Points};
/// use custseg::Fit;
/// use ndarray::array;
///
/// let x = array![[0.0, 0.1], [0.2, 0.0], [9.0, 9.1], [9.2, 9.0]];
/// let (clustering, report) = KMeansParams::new(2)?.fit(&Points::numeric(x.view()))?;
/// assert_eq!(clustering.segments(), 2);
/// assert_eq!(report.labels[0], report.labels[1]);
/// assert_ne!(report.labels[0], report.labels[2]);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Points<'a> {
    numeric: ArrayView2<'a, f64>,
    categorical: ArrayView2<'a, u32>,
}

impl<'a> Points<'a> {
    /// Numeric columns only (one row per point).
    pub fn numeric(numeric: ArrayView2<'a, f64>) -> Self {
        // An n × 0 view needs no storage: from_shape only fails when the shape needs more
        // elements than the slice holds, and n × 0 needs none, so this cannot panic.
        let categorical = ArrayView2::from_shape((numeric.nrows(), 0), &[])
            .expect("an n × 0 shape holds no element");
        Points {
            numeric,
            categorical,
        }
    }

    /// Numeric columns and categorical codes, one row per point in both (the row counts are
    /// checked when fitting).
    pub fn mixed(numeric: ArrayView2<'a, f64>, categorical: ArrayView2<'a, u32>) -> Self {
        Points {
            numeric,
            categorical,
        }
    }

    /// The numeric columns.
    pub fn numeric_columns(&self) -> ArrayView2<'a, f64> {
        self.numeric
    }

    /// The categorical codes.
    pub fn categorical_columns(&self) -> ArrayView2<'a, u32> {
        self.categorical
    }
}

/// A clustering estimator: [`Fit`]s a [`Clustering`] on [`Points`], reporting the training
/// labels, and can be re-seeded for stability checks. Implemented by [`Strategy`] (any of
/// them) and directly by each algorithm's parameters: [`KMeansParams`], [`MiniBatchParams`],
/// [`GaussianMixtureParams`], [`DbscanParams`], [`KPrototypesParams`] and [`RuleBands`].
pub trait Clusterer:
    Sync + for<'a> Fit<Data<'a> = Points<'a>, Model = Clustering, Report = SegmentFitReport>
{
    /// A short name.
    fn name(&self) -> &'static str;

    /// The same estimator with another seed (itself for deterministic ones).
    fn reseeded(&self, seed: u64) -> Self
    where
        Self: Sized;
}

impl Fit for Strategy {
    type Data<'a> = Points<'a>;
    type Model = Clustering;
    type Report = SegmentFitReport;

    /// Fits the strategy; the report holds every point's segment (`None`: DBSCAN noise) and
    /// the criterion the algorithm minimised (k-means inertia, k-prototypes cost).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for invalid settings (k
    /// larger than the number of points, a categorical strategy without categorical columns,
    /// …); [`Error::Solver`](crate::Error::Solver) when linfa fails;
    /// [`Error::NonFinite`](crate::Error::NonFinite) naming the row
    /// and column of a NaN or infinite coordinate.
    fn fit(&self, points: &Points<'_>) -> Result<(Clustering, SegmentFitReport)> {
        let (clustering, labels, objective) =
            fit_strategy(self, points.numeric, points.categorical)?;
        Ok((
            clustering,
            SegmentFitReport::new(labels).with_objective(objective),
        ))
    }
}

impl Clusterer for Strategy {
    fn name(&self) -> &'static str {
        Strategy::name(self)
    }

    fn reseeded(&self, seed: u64) -> Self {
        match self {
            Strategy::KMeans(p) => Strategy::KMeans(p.reseeded(seed)),
            Strategy::MiniBatchKMeans(p) => Strategy::MiniBatchKMeans(p.reseeded(seed)),
            Strategy::LinfaKMeans(p) => Strategy::LinfaKMeans(p.with_seed(seed)),
            Strategy::GaussianMixture(p) => Strategy::GaussianMixture(p.with_seed(seed)),
            Strategy::LinfaGaussianMixture(p) => Strategy::LinfaGaussianMixture(p.with_seed(seed)),
            Strategy::KPrototypes(p) => Strategy::KPrototypes(p.reseeded(seed)),
            other => other.clone(),
        }
    }
}

/// Fit and Clusterer for a strategy's own parameters, through the strategy.
macro_rules! clusterer_via_strategy {
    ($params:ty, $variant:ident, $name:literal, |$p:ident, $seed:ident| $reseed:expr) => {
        impl Fit for $params {
            type Data<'a> = Points<'a>;
            type Model = Clustering;
            type Report = SegmentFitReport;

            /// Fits as [`Strategy`] does.
            fn fit(&self, points: &Points<'_>) -> Result<(Clustering, SegmentFitReport)> {
                Strategy::$variant(self.to_owned()).fit(points)
            }
        }

        impl Clusterer for $params {
            fn name(&self) -> &'static str {
                $name
            }

            fn reseeded(&self, $seed: u64) -> Self {
                let $p = self;
                $reseed
            }
        }
    };
}

clusterer_via_strategy!(KMeansParams, KMeans, "k-means (custseg)", |p, seed| {
    p.with_seed(seed)
});
clusterer_via_strategy!(
    MiniBatchParams,
    MiniBatchKMeans,
    "mini-batch k-means (custseg)",
    |p, seed| p.with_seed(seed)
);
clusterer_via_strategy!(KPrototypesParams, KPrototypes, "k-prototypes", |p, seed| {
    p.with_seed(seed)
});
clusterer_via_strategy!(
    GaussianMixtureParams,
    GaussianMixture,
    "Gaussian mixture (custseg)",
    |p, seed| p.with_seed(seed)
);
clusterer_via_strategy!(DbscanParams, Dbscan, "DBSCAN (custseg)", |p, _seed| *p);
clusterer_via_strategy!(RuleBands, RuleBands, "rule bands", |p, _seed| p.clone());
