//! Drift: has the customer base moved away from the one a model was fitted on?
//!
//! The population stability index (PSI) compares two distributions of one feature: the
//! reference (the fitting snapshot) is cut into bins at its deciles, and
//! PSI = Σ (current share − reference share) · ln(current share / reference share) over the
//! bins. It is 0 for identical distributions and grows with the shift; the customary reading
//! (Siddiqi 2006, *Credit Risk Scorecards*) is below 0.1 stable, 0.1 to 0.25 a moderate
//! shift to watch, above 0.25 a major shift: refit. The same index over segment shares says
//! whether the segments themselves have moved. A share of 0 is floored at 10⁻⁴ so an empty
//! bin gives a large but finite index.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Position, Result};
use crate::stats::quantile_sorted;

/// Floor of a bin's share, so an empty bin does not make the index infinite.
const FLOOR: f64 = 1e-4;

/// How far a distribution has moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DriftLevel {
    /// PSI below the moderate threshold.
    Stable,
    /// Between the moderate and major thresholds: watch.
    Moderate,
    /// At or above the major threshold: refit.
    Major,
}

/// Settings of a drift check, checked when built: bins (2 to 100) and the two thresholds
/// (0 < moderate ≤ major, finite). Defaults: 10 bins, 0.1 and 0.25.
///
/// ```
/// use custseg::report::{DriftLevel, DriftParams};
/// let reference: Vec<f64> = (0..1000).map(|i| i as f64).collect();
/// let current: Vec<f64> = (0..1000).map(|i| i as f64 + 400.0).collect();
/// let p = DriftParams::new();
/// assert_eq!(p.level(p.psi(&reference, &reference)?), DriftLevel::Stable);
/// assert_eq!(p.level(p.psi(&reference, &current)?), DriftLevel::Major);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DriftRecord")]
pub struct DriftParams {
    bins: usize,
    moderate: f64,
    major: f64,
}

#[derive(Deserialize)]
struct DriftRecord {
    bins: usize,
    moderate: f64,
    major: f64,
}

impl TryFrom<DriftRecord> for DriftParams {
    type Error = Error;
    fn try_from(r: DriftRecord) -> Result<Self> {
        DriftParams::new()
            .with_bins(r.bins)?
            .with_thresholds(r.moderate, r.major)
    }
}

impl Default for DriftParams {
    fn default() -> Self {
        DriftParams::new()
    }
}

/// One feature's (or the segment shares') drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    /// The feature ("segment shares" for the segments).
    pub name: String,
    /// Its population stability index.
    pub psi: f64,
    /// What the index means.
    pub level: DriftLevel,
}

/// A snapshot compared with the fitting one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Each feature, in column order.
    pub features: Vec<FeatureDrift>,
    /// The segment shares, when segments were given.
    pub segments: Option<FeatureDrift>,
    /// Whether a refit is due: a major shift of any feature or of the segment shares.
    pub refit_due: bool,
}

impl DriftParams {
    /// 10 bins (deciles), thresholds 0.1 and 0.25.
    pub fn new() -> Self {
        DriftParams {
            bins: 10,
            moderate: 0.1,
            major: 0.25,
        }
    }

    /// Sets the number of bins (quantiles of the reference).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] outside 2 to 100.
    pub fn with_bins(mut self, bins: usize) -> Result<Self> {
        if !(2..=100).contains(&bins) {
            return Err(Error::InvalidParameter {
                name: "bins",
                value: bins.to_string(),
                reason: "between 2 and 100".into(),
            });
        }
        self.bins = bins;
        Ok(self)
    }

    /// Sets the thresholds of a moderate and a major shift.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless 0 < moderate ≤ major, both finite.
    pub fn with_thresholds(mut self, moderate: f64, major: f64) -> Result<Self> {
        if !(moderate > 0.0 && moderate <= major && major.is_finite()) {
            return Err(Error::InvalidParameter {
                name: "thresholds",
                value: format!("{moderate}, {major}"),
                reason: "0 < moderate ≤ major, finite".into(),
            });
        }
        self.moderate = moderate;
        self.major = major;
        Ok(self)
    }

    /// Bins.
    pub fn bins(&self) -> usize {
        self.bins
    }

    /// The level of an index.
    pub fn level(&self, psi: f64) -> DriftLevel {
        if psi >= self.major {
            DriftLevel::Major
        } else if psi >= self.moderate {
            DriftLevel::Moderate
        } else {
            DriftLevel::Stable
        }
    }

    /// The PSI of one feature: `current` against `reference`, bins at the reference's
    /// quantiles (linear interpolation, as numpy's; equal edges merged), a value in the bin
    /// whose upper edge is the first at or above it.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for an empty sample; [`Error::NonFinite`] naming the row of a NaN
    /// or infinite value (column "reference" or "current").
    pub fn psi(&self, reference: &[f64], current: &[f64]) -> Result<f64> {
        for (what, v) in [("reference", reference), ("current", current)] {
            if v.is_empty() {
                return Err(Error::EmptyInput { what });
            }
            if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                return Err(Error::NonFinite {
                    at: Position::at_row(i).with_column(what),
                    value: *x,
                });
            }
        }
        let mut sorted = reference.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        let mut edges: Vec<f64> = (1..self.bins)
            .map(|i| quantile_sorted(&sorted, i as f64 / self.bins as f64))
            .collect();
        // The outer edges are the extremes, which numpy's unique merges with an inner edge
        // equal to them; the inner edges alone set the bins.
        let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
        edges.dedup();
        edges.retain(|&e| e != lo && e != hi);
        let shares = |v: &[f64]| {
            let mut counts = vec![0u64; edges.len() + 1];
            for &x in v {
                counts[edges.partition_point(|&e| e < x)] += 1;
            }
            counts
        };
        Ok(index(&shares(reference), &shares(current)))
    }

    /// The PSI of segment shares from counts per segment (the same segments in both).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] for different numbers of segments; [`Error::EmptyInput`]
    /// when either side counts no customer.
    pub fn share_psi(&self, reference: &[u64], current: &[u64]) -> Result<f64> {
        if reference.len() != current.len() {
            return Err(Error::LengthMismatch {
                what: "segment counts",
                expected: reference.len(),
                got: current.len(),
            });
        }
        if reference.iter().all(|&c| c == 0) || current.iter().all(|&c| c == 0) {
            return Err(Error::EmptyInput {
                what: "segment counts",
            });
        }
        Ok(index(reference, current))
    }

    /// Compares a snapshot with the fitting one: every feature (columns of `reference` and
    /// `current`, named by `names`), and the segment shares when both counts are given.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the names do not match the columns; the errors of
    /// [`psi`](Self::psi) (with the feature's name as the column) and
    /// [`share_psi`](Self::share_psi).
    pub fn compare(
        &self,
        reference: ndarray::ArrayView2<'_, f64>,
        current: ndarray::ArrayView2<'_, f64>,
        names: &[String],
        segments: Option<(&[u64], &[u64])>,
    ) -> Result<DriftReport> {
        for (what, cols) in [
            ("reference columns", reference.ncols()),
            ("current columns", current.ncols()),
        ] {
            if cols != names.len() {
                return Err(Error::LengthMismatch {
                    what,
                    expected: names.len(),
                    got: cols,
                });
            }
        }
        let features = names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let (r, c) = (reference.column(j).to_vec(), current.column(j).to_vec());
                let psi = self
                    .psi(&r, &c)
                    .map_err(|e| e.amend(|at| at.with_column(name.clone())))?;
                Ok(FeatureDrift {
                    name: name.clone(),
                    psi,
                    level: self.level(psi),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let segments = segments
            .map(|(r, c)| {
                self.share_psi(r, c).map(|psi| FeatureDrift {
                    name: "segment shares".into(),
                    psi,
                    level: self.level(psi),
                })
            })
            .transpose()?;
        let refit_due = features
            .iter()
            .chain(segments.iter())
            .any(|f| f.level == DriftLevel::Major);
        Ok(DriftReport {
            features,
            segments,
            refit_due,
        })
    }
}

/// Σ (c − r) ln(c / r) over shares floored at [`FLOOR`]. The totals are summed in 128 bits:
/// counts near `u64::MAX` wrapped a 64-bit sum to 0, and the shares to 0/0.
fn index(reference: &[u64], current: &[u64]) -> f64 {
    let total = |v: &[u64]| v.iter().map(|&c| u128::from(c)).sum::<u128>() as f64;
    let (nr, nc) = (total(reference), total(current));
    reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| {
            let (r, c) = ((r as f64 / nr).max(FLOOR), (c as f64 / nc).max(FLOOR));
            (c - r) * (c / r).ln()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Against numpy (benches/peers/drift_reference.py): the same sample, a shift, a wider
    /// spread, values rounded to ties at the edges, a tied reference, and segment shares with
    /// an empty segment.
    #[test]
    fn psi_matches_numpy() {
        let r: Value =
            serde_json::from_str(include_str!("../../tests/data/drift_reference.json")).unwrap();
        let v = |x: &Value| -> Vec<f64> { serde_json::from_value(x.clone()).unwrap() };
        let p = DriftParams::new();
        let reference = v(&r["reference"]);
        for (name, case) in r["cases"].as_object().unwrap() {
            let got = p.psi(&reference, &v(&case["current"])).unwrap();
            let want = case["psi"].as_f64().unwrap();
            assert!(
                (got - want).abs() < 1e-12 * want.max(1.0),
                "{name}: {got} vs {want}"
            );
        }
        let t = &r["tied_reference"];
        let got = p.psi(&v(&t["reference"]), &v(&t["current"])).unwrap();
        let want = t["psi"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-12, "tied: {got} vs {want}");
        let s = &r["segments"];
        let counts = |x: &Value| -> Vec<u64> { serde_json::from_value(x.clone()).unwrap() };
        let got = p
            .share_psi(&counts(&s["reference"]), &counts(&s["current"]))
            .unwrap();
        let want = s["psi"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-12, "segments: {got} vs {want}");
        assert!(p.psi(&[], &[1.0]).is_err());
        assert!(p.psi(&[1.0, f64::NAN], &[1.0]).is_err());
        assert!(p.share_psi(&[1, 2], &[1]).is_err());
        // A snapshot: one feature unchanged, one shifted, segment shares moved a little.
        let n = reference.len();
        let current = v(&r["cases"]["shifted"]["current"]);
        let m = current.len();
        let before = ndarray::Array2::from_shape_fn((n, 2), |(i, _)| reference[i]);
        let after = ndarray::Array2::from_shape_fn((m, 2), |(i, j)| {
            if j == 0 { reference[i % n] } else { current[i] }
        });
        let names = vec!["spend".to_string(), "recency".to_string()];
        let seg = (counts(&s["reference"]), counts(&s["current"]));
        let report = p
            .compare(before.view(), after.view(), &names, Some((&seg.0, &seg.1)))
            .unwrap();
        assert_eq!(report.features[1].level, DriftLevel::Major);
        assert_eq!(report.segments.as_ref().unwrap().level, DriftLevel::Stable);
        assert!(report.refit_due);
        let e = p
            .compare(before.view(), before.view(), &names[..1], None)
            .unwrap_err();
        assert!(matches!(e, Error::LengthMismatch { .. }), "{e}");
        // A constant reference: one bin; everything current in it or not is still finite.
        assert!(p.psi(&[3.0; 10], &[3.0, 4.0]).unwrap().is_finite());
    }
}
