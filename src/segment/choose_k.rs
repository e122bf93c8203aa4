//! Choosing the number of segments.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::strategy::{Strategy, fit_strategy, mixture_log_likelihood};
use super::validity::{calinski_harabasz, davies_bouldin, silhouette_sampled};
use crate::error::{Error, Result};

/// The criterion that picks k.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// BIC = −2 ln L + p ln n, for mixtures (p = k − 1 + k·d + k·d(d+1)/2).
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

/// Fits `strategy_for(k)` for every k in `ks` (in parallel), scores each, and picks k by the
/// criterion (ties: the smaller k). The silhouette uses a seeded sample of `sample` points.
///
/// # Errors
/// [`Error::InvalidParameter`] for an empty range or k < 2; BIC asked of a strategy that is
/// not a mixture; the strategy's own errors.
pub fn choose_k(
    data: ArrayView2<'_, f64>,
    ks: std::ops::RangeInclusive<usize>,
    strategy_for: impl Fn(usize) -> Strategy + Sync,
    criterion: KCriterion,
    sample: usize,
    seed: u64,
) -> Result<KChoice> {
    let ks: Vec<usize> = ks.collect();
    if ks.is_empty() || ks[0] < 2 {
        return Err(Error::InvalidParameter {
            name: "ks",
            value: format!("{ks:?}"),
            reason: "a non-empty range of k ≥ 2".into(),
        });
    }
    let n = data.nrows();
    let d = data.ncols();
    let empty_cat = Array2::<u32>::zeros((n, 0));
    let table: Vec<KScore> = ks
        .par_iter()
        .map(|&k| {
            let strategy = strategy_for(k);
            let (clustering, labels) = fit_strategy(&strategy, data, empty_cat.view())?;
            // Noise (DBSCAN) is scored as a group of its own rather than folded into a segment.
            let labels: Vec<usize> = labels
                .iter()
                .map(|l| l.unwrap_or(clustering.segments()))
                .collect();
            let bic = mixture_log_likelihood(&clustering, data).map(|ll| {
                let p = (k - 1) + k * d + k * d * (d + 1) / 2;
                -2.0 * ll + p as f64 * (n as f64).ln()
            });
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
