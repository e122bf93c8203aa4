//! Metrics for scores against observed outcomes (`true` = churned).
//!
//! * [`roc_auc`]: the probability that a random churner scores above a random non-churner,
//!   ties counting one half (the Mann–Whitney statistic with mid-ranks).
//! * [`average_precision`]: PR-AUC as Σ (Rₖ − Rₖ₋₁) Pₖ over the distinct score thresholds from
//!   the top, tied scores forming one threshold (scikit-learn's definition).
//! * [`brier`]: mean squared difference between probability and outcome.
//! * [`log_loss`]: mean negative log-likelihood of the outcomes, probabilities clipped to
//!   [1e-15, 1 − 1e-15] so a confident mistake costs a large but finite amount.
//! * [`capture_at`] and [`lift_at`]: of the top `fraction` of customers by score (⌈fraction·n⌉
//!   customers), the share of all churners caught, and the churn rate relative to the base
//!   rate. Customers tied at the cut are counted in proportion, as if the tie were broken at
//!   random (the expected value), so results do not depend on input order.
//!
//! ```
//! use custseg::churn::metrics::{brier, log_loss, roc_auc};
//! let y = [false, false, true, true];
//! assert_eq!(roc_auc(&y, &[0.1, 0.4, 0.35, 0.8])?, 0.75);
//! assert!((brier(&[false, true, true, false], &[0.1, 0.9, 0.8, 0.3])? - 0.0375).abs() < 1e-15);
//! assert!((log_loss(&[false, true, true, false], &[0.1, 0.9, 0.8, 0.35])? - 0.216161875).abs() < 1e-9);
//! # Ok::<(), custseg::Error>(())
//! ```

use crate::error::{Error, Position, Result};

fn check(labels: &[bool], scores: &[f64], probabilities: bool) -> Result<()> {
    if labels.len() != scores.len() {
        return Err(Error::LengthMismatch {
            what: "scores",
            expected: labels.len(),
            got: scores.len(),
        });
    }
    if labels.is_empty() {
        return Err(Error::EmptyInput { what: "labels" });
    }
    if let Some((i, v)) = scores
        .iter()
        .enumerate()
        .find(|(_, v)| !v.is_finite() || (probabilities && !(0.0..=1.0).contains(*v)))
    {
        return Err(Error::InvalidRecord {
            at: Position::at_row(i).with_column(if probabilities {
                "probabilities"
            } else {
                "scores"
            }),
            reason: format!(
                "{v} must be finite{}",
                if probabilities { " and in [0, 1]" } else { "" }
            ),
        });
    }
    Ok(())
}

fn both_classes(labels: &[bool]) -> Result<(usize, usize)> {
    let pos = labels.iter().filter(|&&l| l).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(Error::InvalidRecord {
            at: Position::in_column("labels"),
            reason: format!("{pos} churned, {neg} retained: both outcomes must occur"),
        });
    }
    Ok((pos, neg))
}

/// Indices sorted by score, highest first (ties in index order).
fn descending(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

/// Groups of equal scores along `order`: (start, end) index ranges.
fn tie_groups(order: &[usize], scores: &[f64]) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..=order.len() {
        if i == order.len() || scores[order[i]] != scores[order[start]] {
            groups.push((start, i));
            start = i;
        }
    }
    groups
}

/// Area under the ROC curve.
///
/// # Errors
/// [`Error::LengthMismatch`], [`Error::EmptyInput`], non-finite scores, or only one outcome.
pub fn roc_auc(labels: &[bool], scores: &[f64]) -> Result<f64> {
    check(labels, scores, false)?;
    let (pos, neg) = both_classes(labels)?;
    let order = descending(scores);
    // Mid-ranks, counted from the bottom (rank 1 = lowest score).
    let n = order.len();
    let mut rank_sum = 0.0;
    for (s, e) in tie_groups(&order, scores) {
        let mid = (n - e + 1 + n - s) as f64 / 2.0;
        let positives = order[s..e].iter().filter(|&&i| labels[i]).count();
        rank_sum += mid * positives as f64;
    }
    let (p, q) = (pos as f64, neg as f64);
    Ok((rank_sum - p * (p + 1.0) / 2.0) / (p * q))
}

/// Average precision (area under the precision-recall curve).
///
/// # Errors
/// As [`roc_auc`].
pub fn average_precision(labels: &[bool], scores: &[f64]) -> Result<f64> {
    check(labels, scores, false)?;
    let (pos, _) = both_classes(labels)?;
    let order = descending(scores);
    let mut tp = 0usize;
    let mut ap = 0.0;
    for (s, e) in tie_groups(&order, scores) {
        let hits = order[s..e].iter().filter(|&&i| labels[i]).count();
        tp += hits;
        ap += (hits as f64 / pos as f64) * (tp as f64 / e as f64);
    }
    Ok(ap)
}

/// Brier score of probabilities.
///
/// # Errors
/// [`Error::LengthMismatch`], [`Error::EmptyInput`], or a probability outside [0, 1].
pub fn brier(labels: &[bool], probabilities: &[f64]) -> Result<f64> {
    check(labels, probabilities, true)?;
    let sum: f64 = labels
        .iter()
        .zip(probabilities)
        .map(|(&y, &p)| (p - if y { 1.0 } else { 0.0 }).powi(2))
        .sum();
    Ok(sum / labels.len() as f64)
}

/// Log-loss of probabilities.
///
/// # Errors
/// As [`brier`].
pub fn log_loss(labels: &[bool], probabilities: &[f64]) -> Result<f64> {
    check(labels, probabilities, true)?;
    let eps = 1e-15;
    let sum: f64 = labels
        .iter()
        .zip(probabilities)
        .map(|(&y, &p)| {
            let p = p.clamp(eps, 1.0 - eps);
            -if y { p.ln() } else { (1.0 - p).ln() }
        })
        .sum();
    Ok(sum / labels.len() as f64)
}

/// Expected churners among the top ⌈fraction·n⌉ by score, ties at the cut shared in
/// proportion; also returns that count of customers.
fn top_hits(labels: &[bool], scores: &[f64], fraction: f64) -> Result<(f64, usize)> {
    check(labels, scores, false)?;
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(Error::InvalidParameter {
            name: "fraction",
            value: fraction.to_string(),
            reason: "in (0, 1]".into(),
        });
    }
    let n = labels.len();
    let k = ((fraction * n as f64).ceil() as usize).clamp(1, n);
    let order = descending(scores);
    let mut hits = 0.0;
    for (s, e) in tie_groups(&order, scores) {
        if s >= k {
            break;
        }
        let positives = order[s..e].iter().filter(|&&i| labels[i]).count() as f64;
        let taken = (e.min(k) - s) as f64;
        hits += positives * taken / (e - s) as f64;
    }
    Ok((hits, k))
}

/// Share of all churners among the top `fraction` of customers by score.
///
/// # Errors
/// As [`roc_auc`], and a fraction outside (0, 1].
pub fn capture_at(labels: &[bool], scores: &[f64], fraction: f64) -> Result<f64> {
    let (hits, _) = top_hits(labels, scores, fraction)?;
    let (pos, _) = both_classes(labels)?;
    Ok(hits / pos as f64)
}

/// Churn rate among the top `fraction` by score divided by the overall churn rate.
///
/// # Errors
/// As [`capture_at`].
pub fn lift_at(labels: &[bool], scores: &[f64], fraction: f64) -> Result<f64> {
    let (hits, k) = top_hits(labels, scores, fraction)?;
    let (pos, _) = both_classes(labels)?;
    Ok((hits / k as f64) / (pos as f64 / labels.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let y = [false, false, true, true];
        assert_eq!(roc_auc(&y, &[0.1, 0.4, 0.35, 0.8]).unwrap(), 0.75);
        assert!(
            (brier(&[false, true, true, false], &[0.1, 0.9, 0.8, 0.3]).unwrap() - 0.0375).abs()
                < 1e-15
        );
        let ll = log_loss(&[false, true, true, false], &[0.1, 0.9, 0.8, 0.35]).unwrap();
        assert!((ll - 0.216161875).abs() < 1e-9, "{ll}");
        // Average precision: ranking 0.8 (+), 0.4 (−), 0.35 (+), 0.1 (−): (1/2)·1 + (1/2)·(2/3).
        let ap = average_precision(&y, &[0.1, 0.4, 0.35, 0.8]).unwrap();
        assert!((ap - (0.5 + 1.0 / 3.0)).abs() < 1e-15);
    }

    #[test]
    fn ties_count_one_half_and_are_shared_at_the_cut() {
        // All scores equal: AUC one half, AP the base rate.
        let y = [true, false, false, true, false];
        let s = [0.3; 5];
        assert_eq!(roc_auc(&y, &s).unwrap(), 0.5);
        assert!((average_precision(&y, &s).unwrap() - 0.4).abs() < 1e-15);
        // Top 40% (2 customers) of a 5-way tie: expected churners 2 · 2/5.
        assert!((capture_at(&y, &s, 0.4).unwrap() - 0.4).abs() < 1e-15);
        assert!((lift_at(&y, &s, 0.4).unwrap() - 1.0).abs() < 1e-15);
        // A perfect ranking: top 40% captures both churners, lift 2.5.
        let perfect = [0.9, 0.1, 0.2, 0.8, 0.3];
        assert_eq!(roc_auc(&y, &perfect).unwrap(), 1.0);
        assert_eq!(capture_at(&y, &perfect, 0.4).unwrap(), 1.0);
        assert!((lift_at(&y, &perfect, 0.4).unwrap() - 2.5).abs() < 1e-15);
        // Input order does not matter.
        let (y2, p2): (Vec<bool>, Vec<f64>) =
            y.iter().zip(perfect).rev().map(|(a, b)| (*a, b)).unzip();
        assert_eq!(roc_auc(&y2, &p2).unwrap(), 1.0);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(roc_auc(&[true, false], &[0.5]).is_err());
        assert!(roc_auc(&[], &[]).is_err());
        assert!(roc_auc(&[true, true], &[0.1, 0.2]).is_err());
        assert!(roc_auc(&[true, false], &[f64::NAN, 0.2]).is_err());
        assert!(brier(&[true, false], &[1.2, 0.2]).is_err());
        assert!(lift_at(&[true, false], &[0.1, 0.2], 0.0).is_err());
        assert!(lift_at(&[true, false], &[0.1, 0.2], 1.5).is_err());
    }
}
