//! Designing an experiment: who gets which arm, and how many customers a test needs.

use serde::{Deserialize, Serialize};

use crate::data::CustomerId;
use crate::error::{Error, Position, Result};
use crate::special::normal_quantile;

/// How customers are split into arms: names and shares, and the seed that orders customers.
///
/// Assignment is stratified by segment: within each segment, customers are ordered by a
/// seeded hash of their id and dealt to the arm furthest behind its share (largest
/// remainder), so every arm's count stays within about one customer of its share (strictly
/// within one for two arms). The same customers, segments and seed give the same arms in any
/// input order and at any thread count; a new seed gives a new, independent split. The hash
/// is FNV-1a over the id's bytes, mixed with the seed by SplitMix64: fixed by this crate, so
/// an assignment can be recomputed later (or elsewhere) from the id alone.
///
/// ```
/// use custseg::experiment::ExperimentDesign;
/// use custseg::CustomerId;
/// let design = ExperimentDesign::control_treatment(0.5, 7)?;
/// let customers: Vec<(CustomerId, usize)> =
///     (0..10u64).map(|i| (CustomerId::from(i), (i % 2) as usize)).collect();
/// let arms = design.assign(&customers)?;
/// // Each segment of five: arms within one customer of half.
/// for segment in 0..2 {
///     let treated = (0..10).filter(|&i| i % 2 == segment && arms[i] == 1).count();
///     assert!(treated == 2 || treated == 3);
/// }
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DesignRecord")]
pub struct ExperimentDesign {
    arms: Vec<String>,
    shares: Vec<f64>,
    seed: u64,
}

#[derive(Deserialize)]
struct DesignRecord {
    arms: Vec<String>,
    shares: Vec<f64>,
    seed: u64,
}

impl TryFrom<DesignRecord> for ExperimentDesign {
    type Error = Error;
    fn try_from(r: DesignRecord) -> Result<Self> {
        if r.arms.len() != r.shares.len() {
            return Err(Error::LengthMismatch {
                what: "arm shares",
                expected: r.arms.len(),
                got: r.shares.len(),
            });
        }
        ExperimentDesign::new(r.arms.into_iter().zip(r.shares).collect(), r.seed)
    }
}

/// Most arms a design may have.
pub const MAX_ARMS: usize = 64;

impl ExperimentDesign {
    /// Arms with their shares (positive; they are scaled to sum to 1) and the seed. The first
    /// arm is the control in an analysis.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for fewer than two or more than [`MAX_ARMS`] arms, an empty
    /// or repeated name, or a share that is not finite and positive.
    pub fn new(arms: Vec<(String, f64)>, seed: u64) -> Result<Self> {
        if !(2..=MAX_ARMS).contains(&arms.len()) {
            return Err(Error::InvalidParameter {
                name: "arms",
                value: arms.len().to_string(),
                reason: format!("between 2 and {MAX_ARMS} arms"),
            });
        }
        for (i, (name, share)) in arms.iter().enumerate() {
            if name.trim().is_empty() || arms[..i].iter().any(|(n, _)| n == name) {
                return Err(Error::InvalidParameter {
                    name: "arms",
                    value: name.clone(),
                    reason: "arm names must be non-empty and distinct".into(),
                });
            }
            if !(share.is_finite() && *share > 0.0) {
                return Err(Error::InvalidParameter {
                    name: "shares",
                    value: share.to_string(),
                    reason: format!("arm {name}'s share must be finite and > 0"),
                });
            }
        }
        let total: f64 = arms.iter().map(|a| a.1).sum();
        if !total.is_finite() {
            return Err(Error::InvalidParameter {
                name: "shares",
                value: total.to_string(),
                reason: "the shares must have a finite sum".into(),
            });
        }
        let (arms, shares) = arms.into_iter().map(|(n, s)| (n, s / total)).unzip();
        Ok(ExperimentDesign { arms, shares, seed })
    }

    /// Two arms, "control" and "treatment", the treatment taking `treatment_share` (0 < share
    /// < 1).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a share outside (0, 1).
    pub fn control_treatment(treatment_share: f64, seed: u64) -> Result<Self> {
        if !(treatment_share > 0.0 && treatment_share < 1.0) {
            return Err(Error::InvalidParameter {
                name: "treatment_share",
                value: treatment_share.to_string(),
                reason: "between 0 and 1, exclusive".into(),
            });
        }
        ExperimentDesign::new(
            vec![
                ("control".into(), 1.0 - treatment_share),
                ("treatment".into(), treatment_share),
            ],
            seed,
        )
    }

    /// Arm names, the control first.
    pub fn arms(&self) -> &[String] {
        &self.arms
    }

    /// Arm shares, summing to 1.
    pub fn shares(&self) -> &[f64] {
        &self.shares
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The arm (an index into [`arms`](Self::arms)) of each (customer, segment), in input
    /// order.
    ///
    /// # Errors
    /// [`Error::DuplicateCustomer`] naming a customer listed twice (with the row of the second
    /// listing).
    pub fn assign(&self, customers: &[(CustomerId, usize)]) -> Result<Vec<usize>> {
        // A customer listed twice (in one segment or two) is an error.
        let mut ids: Vec<(&CustomerId, usize)> = customers
            .iter()
            .enumerate()
            .map(|(r, c)| (&c.0, r))
            .collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(Error::DuplicateCustomer {
                at: Position::at_row(w[1].1).with_customer(w[1].0),
                what: "an experiment's customers",
            });
        }
        let mut order: Vec<(usize, u64, usize)> = customers
            .iter()
            .enumerate()
            .map(|(row, (id, segment))| (*segment, self.key(id), row))
            .collect();
        // By segment, then key; equal keys (a 2⁻⁶⁴ event) by id, so the order never depends
        // on the input's.
        order.sort_unstable_by(|a, b| {
            (a.0, a.1)
                .cmp(&(b.0, b.1))
                .then_with(|| customers[a.2].0.cmp(&customers[b.2].0))
        });
        let mut arms = vec![0usize; customers.len()];
        let mut counts = vec![0usize; self.arms.len()];
        let mut dealt = 0usize;
        for (i, &(segment, _, row)) in order.iter().enumerate() {
            if i > 0 && order[i - 1].0 != segment {
                counts.fill(0);
                dealt = 0;
            }
            // The arm furthest behind its share after this customer (largest remainder):
            // every arm's count stays within one of share × customers dealt.
            dealt += 1;
            let arm = (0..self.arms.len())
                .max_by(|&a, &b| {
                    let lag = |k: usize| self.shares[k] * dealt as f64 - counts[k] as f64;
                    lag(a).total_cmp(&lag(b)).then(b.cmp(&a))
                })
                .unwrap_or(0);
            counts[arm] += 1;
            arms[row] = arm;
        }
        Ok(arms)
    }

    /// The customer's ordering key: FNV-1a of the id, mixed with the seed (SplitMix64).
    fn key(&self, id: &CustomerId) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in id.as_str().bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        let mut z = h ^ self.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Customers each arm of a two-arm conversion test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleSize {
    /// Control customers.
    pub control: u64,
    /// Treatment customers.
    pub treatment: u64,
}

/// Customers needed to detect a change of conversion rate from `baseline` to
/// `baseline + uplift` (an absolute change, either sign) with a two-sided test at level
/// `alpha` and the given `power`, with `ratio` treatment customers per control customer.
///
/// The classic normal-approximation formula (Fleiss): with p̄ = (p₁ + r·p₂)/(1 + r),
/// n_control = (z_{1−α/2} √((1 + 1/r) p̄(1 − p̄)) + z_{1−β} √(p₁(1 − p₁) + p₂(1 − p₂)/r))² / Δ²,
/// rounded up, and n_treatment = ⌈r · n_control⌉. Per segment, call it with the segment's
/// baseline (and, to keep the family-wise level over k segments, α/k).
///
/// ```
/// use custseg::experiment::sample_size;
/// // 10 % → 12 %, 5 % level, 80 % power, equal arms: 3,841 customers each.
/// let n = sample_size(0.10, 0.02, 0.05, 0.8, 1.0)?;
/// assert_eq!((n.control, n.treatment), (3841, 3841));
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for rates outside (0, 1), a zero uplift, `alpha` outside
/// [1e-12, 1), `power` outside [0.5, 1 − 1e-12], a ratio that is not finite and positive, or
/// more than 10¹⁵ customers.
pub fn sample_size(
    baseline: f64,
    uplift: f64,
    alpha: f64,
    power: f64,
    ratio: f64,
) -> Result<SampleSize> {
    let open_unit = |name: &'static str, v: f64| {
        if v > 0.0 && v < 1.0 {
            Ok(v)
        } else {
            Err(Error::InvalidParameter {
                name,
                value: v.to_string(),
                reason: "between 0 and 1, exclusive".into(),
            })
        }
    };
    let p1 = open_unit("baseline", baseline)?;
    let p2 = open_unit("baseline + uplift", baseline + uplift)?;
    super::analysis::check_level(alpha)?;
    // Below a power of ½ the formula's root can turn negative and the sizes stop growing
    // with the power; near 1 its quantile leaves f64's range.
    if !(0.5..=1.0 - 1e-12).contains(&power) {
        return Err(Error::InvalidParameter {
            name: "power",
            value: power.to_string(),
            reason: "at least 0.5 and at most 1 − 1e-12".into(),
        });
    }
    if uplift == 0.0 {
        return Err(Error::InvalidParameter {
            name: "uplift",
            value: "0".into(),
            reason: "a test cannot detect no change".into(),
        });
    }
    if !(ratio.is_finite() && ratio > 0.0) {
        return Err(Error::InvalidParameter {
            name: "ratio",
            value: ratio.to_string(),
            reason: "finite and > 0".into(),
        });
    }
    let za = -normal_quantile(alpha / 2.0);
    let zb = normal_quantile(power);
    let pbar = (p1 + ratio * p2) / (1.0 + ratio);
    let root = za * ((1.0 + 1.0 / ratio) * pbar * (1.0 - pbar)).sqrt()
        + zb * (p1 * (1.0 - p1) + p2 * (1.0 - p2) / ratio).sqrt();
    let n1 = (root / uplift).powi(2);
    let too_many = |n: f64| !(n.is_finite() && n <= 1e15);
    if too_many(n1) || too_many(ratio * n1.ceil()) {
        return Err(Error::InvalidParameter {
            name: "uplift",
            value: uplift.to_string(),
            reason: "too small to detect: more than 10^15 customers needed".into(),
        });
    }
    let control = n1.ceil();
    Ok(SampleSize {
        control: control as u64,
        treatment: (ratio * control).ceil() as u64,
    })
}
