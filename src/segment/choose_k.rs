//! Choosing the number of segments.

use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::clusterer::{Clusterer, Points};
use super::strategy::{mixture_log_likelihood, mixture_parameters};
use super::validity::{calinski_harabasz, davies_bouldin, silhouette_sampled};
use crate::error::{Error, Result};

/// The criterion that picks k.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum KCriterion {
    /// Largest (sampled) silhouette.
    Silhouette,
    /// Largest Calinski–Harabasz index.
    CalinskiHarabasz,
    /// Smallest Davies–Bouldin index.
    DaviesBouldin,
    /// Smallest BIC (Gaussian mixtures only).
    Bic,
}

/// The scores of one k.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KScore {
    /// Segments.
    pub k: usize,
    /// Silhouette on a sample.
    pub silhouette: f64,
    /// Calinski–Harabasz.
    pub calinski_harabasz: f64,
    /// Davies–Bouldin.
    pub davies_bouldin: f64,
    /// BIC = −2 ln L + p ln n, for mixtures (p = k − 1 + k·d + the covariance parameters:
    /// k·d(d+1)/2 full, k·d diagonal, k spherical).
    pub bic: Option<f64>,
}

/// Every k's scores and the choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KChoice {
    /// One row per k tried, ascending.
    pub table: Vec<KScore>,
    /// The chosen k.
    pub chosen: usize,
    /// The criterion used.
    pub criterion: KCriterion,
}

/// Most values of k one search may try: each is a full fit.
const MAX_KS: usize = 1_000;

/// How to search for k: the range tried, the criterion, and the seeded sample the silhouette
/// is computed on. Checked when built.
///
/// ```
/// use custseg::segment::{KCriterion, KSearch};
/// let search = KSearch::new(2..=8, KCriterion::Silhouette)?.with_silhouette_sample(2_000, 7);
/// assert_eq!(search.ks(), 2..=8);
/// assert!(KSearch::new(1..=3, KCriterion::Silhouette).is_err());
/// assert!(KSearch::new(2..=usize::MAX, KCriterion::Silhouette).is_err());
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "KSearchRecord")]
pub struct KSearch {
    ks: std::ops::RangeInclusive<usize>,
    criterion: KCriterion,
    sample: usize,
    seed: u64,
}

/// The serde shape of [`KSearch`], checked by [`KSearch::new`] before it becomes one.
#[derive(Deserialize)]
struct KSearchRecord {
    ks: std::ops::RangeInclusive<usize>,
    criterion: KCriterion,
    sample: usize,
    seed: u64,
}

impl TryFrom<KSearchRecord> for KSearch {
    type Error = Error;
    fn try_from(r: KSearchRecord) -> Result<Self> {
        Ok(KSearch::new(r.ks, r.criterion)?.with_silhouette_sample(r.sample, r.seed))
    }
}

impl KSearch {
    /// Tries every k in `ks` and picks one by `criterion`; the silhouette uses a sample of
    /// 10,000 points drawn with seed 0 unless [`KSearch::with_silhouette_sample`] says
    /// otherwise.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty range, k < 2, or more than 1,000 values of k.
    pub fn new(ks: std::ops::RangeInclusive<usize>, criterion: KCriterion) -> Result<Self> {
        // The range's length is checked before anything is collected from it.
        let count = ks
            .end()
            .checked_sub(*ks.start())
            .map(|d| d.saturating_add(1));
        if ks.is_empty() || *ks.start() < 2 || count.is_none_or(|c| c > MAX_KS) {
            return Err(Error::InvalidParameter {
                name: "ks",
                value: format!("{ks:?}"),
                reason: format!("a non-empty range of k ≥ 2, at most {MAX_KS} values"),
            });
        }
        Ok(KSearch {
            ks,
            criterion,
            sample: 10_000,
            seed: 0,
        })
    }

    /// The silhouette on `sample` points drawn with `seed` (all points when `sample` ≥ n).
    pub fn with_silhouette_sample(mut self, sample: usize, seed: u64) -> Self {
        self.sample = sample;
        self.seed = seed;
        self
    }

    /// The range of k tried.
    pub fn ks(&self) -> std::ops::RangeInclusive<usize> {
        self.ks.clone()
    }

    /// The criterion.
    pub fn criterion(&self) -> KCriterion {
        self.criterion
    }
}

/// Fits `clusterer_for(k)` for every k of the search (in parallel), scores each, and picks k
/// by the search's criterion (ties: the smaller k). Any [`Clusterer`] works: a [`Strategy`](super::Strategy),
/// or the parameters of one algorithm such as [`KMeansParams`](super::KMeansParams).
///
/// ```
/// use custseg::datasets::{BlobsConfig, blobs};
/// use custseg::segment::{KCriterion, KMeansParams, KSearch, choose_k};
/// let b = blobs(&BlobsConfig::new(600, 2, 3).with_spread(0.3).with_seed(1))?;
/// let search = KSearch::new(2..=6, KCriterion::CalinskiHarabasz)?;
/// let choice = choose_k(b.data.view(), KMeansParams::new, &search)?;
/// assert_eq!(choice.chosen, 3);
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// `clusterer_for` builds the (checked) estimator for one k, so it returns a `Result`:
/// `KMeansParams::new` fits as it is, and a closure such as
/// `|k| Ok(Strategy::KMeans(KMeansParams::new(k)?.with_seed(7)))` sets anything else.
///
/// # Errors
/// BIC asked of a clusterer that is not a Gaussian mixture; the errors of `clusterer_for` and
/// of the clusterer's fit.
pub fn choose_k<C: Clusterer>(
    data: ArrayView2<'_, f64>,
    clusterer_for: impl Fn(usize) -> Result<C> + Sync,
    search: &KSearch,
) -> Result<KChoice> {
    let criterion = search.criterion;
    let (sample, seed) = (search.sample, search.seed);
    let ks: Vec<usize> = search.ks().collect();
    let n = data.nrows();
    let table: Vec<KScore> = ks
        .par_iter()
        .map(|&k| {
            let (clustering, report) = clusterer_for(k)?.fit(&Points::numeric(data))?;
            let labels = report.labels;
            // Noise (DBSCAN) is scored as a group of its own rather than folded into a segment.
            let labels: Vec<usize> = labels
                .iter()
                .map(|l| l.unwrap_or(clustering.segments()))
                .collect();
            let bic = mixture_log_likelihood(&clustering, data)
                .map(|ll| -2.0 * ll + mixture_parameters(&clustering) as f64 * (n as f64).ln());
            Ok(KScore {
                k,
                silhouette: silhouette_sampled(data, &labels, sample, seed)?,
                calinski_harabasz: calinski_harabasz(data, &labels)?,
                davies_bouldin: davies_bouldin(data, &labels)?,
                bic,
            })
        })
        .collect::<Result<_>>()?;
    let key = |s: &KScore| -> Result<f64> {
        Ok(match criterion {
            KCriterion::Silhouette => -s.silhouette,
            KCriterion::CalinskiHarabasz => -s.calinski_harabasz,
            KCriterion::DaviesBouldin => s.davies_bouldin,
            KCriterion::Bic => s.bic.ok_or_else(|| Error::InvalidParameter {
                name: "criterion",
                value: "Bic".into(),
                reason: "BIC needs a Gaussian-mixture strategy".into(),
            })?,
        })
    };
    let mut chosen = table[0].k;
    let mut best = key(&table[0])?;
    for s in &table[1..] {
        let v = key(s)?;
        if v < best {
            best = v;
            chosen = s.k;
        }
    }
    Ok(KChoice {
        table,
        chosen,
        criterion,
    })
}
