//! Analysing an experiment: per segment and overall, conversion and revenue per customer in
//! each arm, the uplift with its interval and test, corrected across segments.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Position, Result, finite_non_negative};
use crate::special::{normal_cdf, normal_quantile, student_t_cdf, student_t_quantile};
use crate::stats::quantile_sorted;

/// One customer's result in a two-arm experiment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The customer's segment.
    pub segment: usize,
    /// 0 for control, 1 for treatment.
    pub arm: usize,
    /// Whether the customer converted (bought, renewed, clicked …).
    pub converted: bool,
    /// Revenue from the customer over the test (0 when none; finite and ≥ 0).
    pub revenue: f64,
}

/// How p-values are corrected for testing several segments at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Correction {
    /// No correction: each segment at level α on its own.
    None,
    /// Holm's step-down method: the chance of any false positive across segments stays ≤ α.
    #[default]
    Holm,
    /// Benjamini–Hochberg: the expected share of false positives among the segments called
    /// significant stays ≤ α.
    BenjaminiHochberg,
}

/// Settings of an experiment's analysis, checked when built: significance level α in (0, 1)
/// (intervals are 1 − α), the correction across segments, bootstrap resamples for the revenue
/// interval (0 for none, at most [`MAX_BOOTSTRAP`]) and their seed.
///
/// ```
/// use custseg::experiment::{AbTest, Correction, Outcome};
/// let outcomes: Vec<Outcome> = (0..400)
///     .map(|i| Outcome {
///         segment: i % 2,
///         arm: (i / 2) % 2,
///         converted: i % 7 == 0 || (i % 2 == 1 && (i / 2) % 2 == 1 && i % 5 == 0),
///         revenue: if i % 7 == 0 { 20.0 } else { 0.0 },
///     })
///     .collect();
/// let report = AbTest::new(0.05)?.with_bootstrap(500, 1)?.analyse(&outcomes)?;
/// assert_eq!(report.segments.len(), 2);
/// let s = &report.segments[1];
/// assert!(s.conversion.absolute > 0.0 && s.conversion_p_adjusted >= s.conversion.p_value);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "AbTestRecord")]
pub struct AbTest {
    alpha: f64,
    correction: Correction,
    bootstrap: usize,
    seed: u64,
}

#[derive(Deserialize)]
struct AbTestRecord {
    alpha: f64,
    correction: Correction,
    bootstrap: usize,
    seed: u64,
}

impl TryFrom<AbTestRecord> for AbTest {
    type Error = Error;
    fn try_from(r: AbTestRecord) -> Result<Self> {
        AbTest::new(r.alpha)?
            .with_correction(r.correction)
            .with_bootstrap(r.bootstrap, r.seed)
    }
}

/// A significance level in [1e-12, 1): a smaller one asks for certainty no sample gives,
/// and its quantiles leave f64's range. (Shared by the analysis and the sample size.)
pub(super) fn check_level(alpha: f64) -> Result<f64> {
    if (1e-12..1.0).contains(&alpha) {
        Ok(alpha)
    } else {
        Err(Error::InvalidParameter {
            name: "alpha",
            value: alpha.to_string(),
            reason: "at least 1e-12 and below 1".into(),
        })
    }
}

/// Most bootstrap resamples an analysis may draw.
pub const MAX_BOOTSTRAP: usize = 1_000_000;

/// An interval [low, high].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// One arm of one segment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArmStats {
    /// Customers.
    pub customers: u64,
    /// Customers who converted.
    pub conversions: u64,
    /// conversions / customers.
    pub conversion_rate: f64,
    /// Mean revenue per customer.
    pub revenue_per_customer: f64,
    /// Sample standard deviation of revenue per customer (n − 1).
    pub revenue_sd: f64,
}

/// The change in conversion rate, treatment against control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConversionEffect {
    /// p_treatment − p_control.
    pub absolute: f64,
    /// Its 1 − α Wald interval (unpooled standard error).
    pub absolute_interval: Interval,
    /// p_treatment / p_control − 1, when the control converted at all.
    pub relative: Option<f64>,
    /// Its interval from the log of the ratio (delta method), when both arms converted.
    pub relative_interval: Option<Interval>,
    /// The two-proportion z statistic (pooled standard error), when defined (some but not all
    /// customers converted).
    pub statistic: Option<f64>,
    /// Its two-sided p-value (1 when the statistic is undefined: both arms all or none).
    pub p_value: f64,
}

/// The change in revenue per customer, treatment against control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RevenueEffect {
    /// Mean revenue per treated customer − per control customer.
    pub difference: f64,
    /// Its 1 − α interval from Welch's t (unequal variances).
    pub interval: Interval,
    /// Its 1 − α percentile bootstrap interval (customers resampled within each arm), when
    /// resamples were asked for: revenue is skewed, and this does not assume normal means.
    pub bootstrap_interval: Option<Interval>,
    /// Welch's t statistic, when the revenue varies in some arm.
    pub statistic: Option<f64>,
    /// Welch–Satterthwaite degrees of freedom, when the statistic is defined.
    pub df: Option<f64>,
    /// Two-sided p-value (1 for no difference and no variance, 0 for a difference and no
    /// variance).
    pub p_value: f64,
}

/// The campaign's return on its cost: (incremental revenue − cost) / cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Roi {
    /// The estimate.
    pub estimate: f64,
    /// Its 1 − α interval (from the bootstrap interval of the revenue difference when there
    /// is one, else Welch's).
    pub interval: Interval,
}

/// The test of one segment (or of all customers pooled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentTest {
    /// The segment; `None` for all customers pooled.
    pub segment: Option<usize>,
    /// Control arm.
    pub control: ArmStats,
    /// Treatment arm.
    pub treatment: ArmStats,
    /// Conversion.
    pub conversion: ConversionEffect,
    /// Revenue per customer.
    pub revenue: RevenueEffect,
    /// The conversion p-value after the correction across segments (the raw one pooled).
    pub conversion_p_adjusted: f64,
    /// The revenue p-value after the correction across segments (the raw one pooled).
    pub revenue_p_adjusted: f64,
    /// Whether the adjusted conversion p-value is ≤ α.
    pub conversion_significant: bool,
    /// Whether the adjusted revenue p-value is ≤ α.
    pub revenue_significant: bool,
}

impl SegmentTest {
    /// The return on a campaign that costs `cost_per_treated` per treated customer:
    /// (revenue difference − cost) / cost, with the interval mapped from the revenue
    /// difference's.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a cost that is not finite and > 0; [`Error::Overflow`]
    /// when the ratio overflows.
    pub fn roi(&self, cost_per_treated: f64) -> Result<Roi> {
        if !(cost_per_treated.is_finite() && cost_per_treated > 0.0) {
            return Err(Error::InvalidParameter {
                name: "cost_per_treated",
                value: cost_per_treated.to_string(),
                reason: "finite and > 0".into(),
            });
        }
        let roi = |v: f64| {
            crate::error::finite_or_overflow("ROI", (v - cost_per_treated) / cost_per_treated)
        };
        let range = self
            .revenue
            .bootstrap_interval
            .unwrap_or(self.revenue.interval);
        Ok(Roi {
            estimate: roi(self.revenue.difference)?,
            interval: Interval {
                low: roi(range.low)?,
                high: roi(range.high)?,
            },
        })
    }
}

/// An experiment's analysis: each segment, and all customers pooled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbTestReport {
    /// One test per segment present, by segment number.
    pub segments: Vec<SegmentTest>,
    /// All customers pooled (its p-values are not corrected).
    pub overall: SegmentTest,
    /// The significance level.
    pub alpha: f64,
    /// The correction across segments.
    pub correction: Correction,
}

impl AbTest {
    /// Level α (intervals are 1 − α), Holm's correction, no bootstrap.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for α outside [1e-12, 1) (a smaller level asks for
    /// certainty no sample gives, and its quantiles leave f64's range).
    pub fn new(alpha: f64) -> Result<Self> {
        check_level(alpha)?;
        Ok(AbTest {
            alpha,
            correction: Correction::Holm,
            bootstrap: 0,
            seed: 0,
        })
    }

    /// Sets the correction across segments.
    pub fn with_correction(mut self, correction: Correction) -> Self {
        self.correction = correction;
        self
    }

    /// Sets the bootstrap resamples of the revenue interval (0: none) and their seed.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for more than [`MAX_BOOTSTRAP`], or between 1 and 9 (too
    /// few for a percentile interval).
    pub fn with_bootstrap(mut self, resamples: usize, seed: u64) -> Result<Self> {
        if resamples > MAX_BOOTSTRAP || (1..10).contains(&resamples) {
            return Err(Error::InvalidParameter {
                name: "bootstrap",
                value: resamples.to_string(),
                reason: format!("0, or between 10 and {MAX_BOOTSTRAP}"),
            });
        }
        self.bootstrap = resamples;
        self.seed = seed;
        Ok(self)
    }

    /// The significance level.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The correction across segments.
    pub fn correction(&self) -> Correction {
        self.correction
    }

    /// Bootstrap resamples (0: none).
    pub fn bootstrap(&self) -> usize {
        self.bootstrap
    }

    /// Analyses the outcomes: per segment and pooled, conversion and revenue per customer in
    /// each arm, the uplift with its interval and test, p-values corrected across segments.
    /// The same outcomes and seed give the same report at any thread count.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no outcomes; [`Error::InvalidRecord`] naming the row and
    /// column of an arm other than 0 or 1 or a revenue that is negative or not finite, and
    /// naming the segment (as the row) of a segment with fewer than two customers in an arm.
    pub fn analyse(&self, outcomes: &[Outcome]) -> Result<AbTestReport> {
        if outcomes.is_empty() {
            return Err(Error::EmptyInput { what: "outcomes" });
        }
        for (row, o) in outcomes.iter().enumerate() {
            if o.arm > 1 {
                return Err(Error::InvalidRecord {
                    at: Position::at_row(row).with_column("arm"),
                    reason: format!("arm {} (0 is control, 1 treatment)", o.arm),
                });
            }
            if finite_non_negative("revenue", o.revenue).is_err() {
                return Err(Error::InvalidRecord {
                    at: Position::at_row(row).with_column("revenue"),
                    reason: format!("revenue {} (finite and ≥ 0)", o.revenue),
                });
            }
        }
        // Rows grouped by segment once (a stable sort keeps each segment's rows in input
        // order); every segment's result is kept, so the error reported is the lowest
        // segment's, whatever the threads did.
        let mut order: Vec<usize> = (0..outcomes.len()).collect();
        order.sort_by_key(|&i| outcomes[i].segment);
        let groups: Vec<&[usize]> = order
            .chunk_by(|&a, &b| outcomes[a].segment == outcomes[b].segment)
            .collect();
        let results: Vec<Result<SegmentTest>> = groups
            .par_iter()
            .map(|rows| {
                let segment = outcomes[rows[0]].segment;
                self.test(rows.iter().map(|&i| &outcomes[i]), Some(segment))
            })
            .collect();
        let mut tests = results.into_iter().collect::<Result<Vec<_>>>()?;
        let overall = self.test(outcomes.iter(), None)?;
        let adjust = |p: Vec<f64>| adjusted(&p, self.correction);
        let conv = adjust(tests.iter().map(|t| t.conversion.p_value).collect());
        let rev = adjust(tests.iter().map(|t| t.revenue.p_value).collect());
        for (t, (c, r)) in tests.iter_mut().zip(conv.into_iter().zip(rev)) {
            t.conversion_p_adjusted = c;
            t.revenue_p_adjusted = r;
            t.conversion_significant = c <= self.alpha;
            t.revenue_significant = r <= self.alpha;
        }
        Ok(AbTestReport {
            segments: tests,
            overall,
            alpha: self.alpha,
            correction: self.correction,
        })
    }

    /// The test of one group of outcomes (p-values not yet adjusted).
    fn test<'a>(
        &self,
        outcomes: impl Iterator<Item = &'a Outcome>,
        segment: Option<usize>,
    ) -> Result<SegmentTest> {
        let mut revenue: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
        let mut conversions = [0u64; 2];
        for o in outcomes {
            revenue[o.arm].push(o.revenue);
            conversions[o.arm] += o.converted as u64;
        }
        if revenue.iter().any(|r| r.len() < 2) {
            return Err(Error::InvalidRecord {
                at: Position::at_row(segment.unwrap_or(0)).with_column("arm"),
                reason: format!(
                    "segment {} has {} control and {} treated customers: each arm needs two",
                    segment.map_or("(all)".into(), |s| s.to_string()),
                    revenue[0].len(),
                    revenue[1].len()
                ),
            });
        }
        let stats = |arm: usize| -> Result<ArmStats> {
            let n = revenue[arm].len() as u64;
            // The population spread, as the sample's (n − 1); None only past f64 (revenues
            // near 1e308).
            let (mean, sd) = crate::stats::mean_sd(&revenue[arm])
                .map(|(m, sd)| (m, sd * (n as f64 / (n as f64 - 1.0)).sqrt()))
                .filter(|(m, sd)| m.is_finite() && sd.is_finite())
                .ok_or(Error::Overflow {
                    at: Position::at_row(segment.unwrap_or(0)).with_column("revenue"),
                    quantity: "revenue per customer",
                    value: f64::INFINITY,
                })?;
            Ok(ArmStats {
                customers: n,
                conversions: conversions[arm],
                conversion_rate: conversions[arm] as f64 / n as f64,
                revenue_per_customer: mean,
                revenue_sd: sd,
            })
        };
        let (control, treatment) = (stats(0)?, stats(1)?);
        // From the lower tail: 1 − α/2 would round to 1 for a tiny α.
        let z = -normal_quantile(self.alpha / 2.0);
        let conversion = conversion_effect(&control, &treatment, z);
        let mut revenue_effect = welch(&control, &treatment, self.alpha);
        if self.bootstrap > 0 {
            revenue_effect.bootstrap_interval = Some(self.bootstrap_interval(
                &revenue[0],
                &revenue[1],
                segment.map_or(u64::MAX, |s| s as u64),
            ));
        }
        // Revenues near f64's limit overflow variances and resampled sums: an error, never
        // an infinity or NaN in a report.
        let r = &revenue_effect;
        let boot = r.bootstrap_interval.map_or([0.0; 2], |b| [b.low, b.high]);
        let values = [
            r.difference,
            r.interval.low,
            r.interval.high,
            r.p_value,
            boot[0],
            boot[1],
        ];
        let optional = [r.statistic, r.df];
        if !values
            .iter()
            .chain(optional.iter().flatten())
            .all(|v| v.is_finite())
        {
            return Err(Error::Overflow {
                at: Position::at_row(segment.unwrap_or(0)).with_column("revenue"),
                quantity: "revenue difference",
                value: f64::INFINITY,
            });
        }
        Ok(SegmentTest {
            segment,
            control,
            treatment,
            conversion,
            conversion_p_adjusted: conversion.p_value,
            revenue_p_adjusted: revenue_effect.p_value,
            conversion_significant: conversion.p_value <= self.alpha,
            revenue_significant: revenue_effect.p_value <= self.alpha,
            revenue: revenue_effect,
        })
    }

    /// The percentile interval of the difference of mean revenue over resamples drawn within
    /// each arm; resample b draws from a generator seeded by (seed, segment, b), so the
    /// resamples run in parallel and the answer does not depend on the threads.
    fn bootstrap_interval(&self, control: &[f64], treated: &[f64], stream: u64) -> Interval {
        let mut diffs: Vec<f64> = (0..self.bootstrap as u64)
            .into_par_iter()
            .map(|b| {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(
                    self.seed
                        ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                        ^ b.wrapping_mul(0xD1B5_4A32_D192_ED03),
                );
                // Σ x/n rather than Σx / n: no overflow for revenues near f64's limit.
                let mut mean = |x: &[f64]| {
                    let n = x.len();
                    (0..n)
                        .map(|_| x[rng.gen_range(0..n)] / n as f64)
                        .sum::<f64>()
                };
                let c = mean(control);
                mean(treated) - c
            })
            .collect();
        diffs.sort_unstable_by(f64::total_cmp);
        Interval {
            low: quantile_sorted(&diffs, self.alpha / 2.0),
            high: quantile_sorted(&diffs, 1.0 - self.alpha / 2.0),
        }
    }
}

/// Conversion uplift: Wald interval (unpooled), z-test (pooled), relative uplift by the log
/// ratio.
fn conversion_effect(c: &ArmStats, t: &ArmStats, z: f64) -> ConversionEffect {
    let (pc, pt) = (c.conversion_rate, t.conversion_rate);
    let (nc, nt) = (c.customers as f64, t.customers as f64);
    let absolute = pt - pc;
    let se = (pt * (1.0 - pt) / nt + pc * (1.0 - pc) / nc).sqrt();
    let pooled = (c.conversions + t.conversions) as f64 / (nc + nt);
    let se0 = (pooled * (1.0 - pooled) * (1.0 / nt + 1.0 / nc)).sqrt();
    let (statistic, p_value) = if se0 > 0.0 {
        let s = absolute / se0;
        (Some(s), (2.0 * normal_cdf(-s.abs())).min(1.0))
    } else {
        (None, 1.0)
    };
    let relative = (pc > 0.0).then(|| pt / pc - 1.0);
    let relative_interval = (pc > 0.0 && pt > 0.0).then(|| {
        let ln_ratio = (pt / pc).ln();
        let se = ((1.0 - pt) / (nt * pt) + (1.0 - pc) / (nc * pc)).sqrt();
        Interval {
            low: (ln_ratio - z * se).exp() - 1.0,
            high: (ln_ratio + z * se).exp() - 1.0,
        }
    });
    ConversionEffect {
        absolute,
        absolute_interval: Interval {
            low: absolute - z * se,
            high: absolute + z * se,
        },
        relative,
        relative_interval,
        statistic,
        p_value,
    }
}

/// Welch's t test and interval for the difference of mean revenue.
fn welch(c: &ArmStats, t: &ArmStats, alpha: f64) -> RevenueEffect {
    let (nc, nt) = (c.customers as f64, t.customers as f64);
    // The variances in units of the larger spread, so revenues near 1e200 do not overflow
    // their squares; the degrees of freedom do not depend on the unit.
    let unit = c.revenue_sd.max(t.revenue_sd);
    let difference = t.revenue_per_customer - c.revenue_per_customer;
    // Zero spread in both arms (NaN is impossible: the spreads are finite).
    if unit <= 0.0 {
        return RevenueEffect {
            difference,
            interval: Interval {
                low: difference,
                high: difference,
            },
            bootstrap_interval: None,
            statistic: None,
            df: None,
            p_value: if difference == 0.0 { 1.0 } else { 0.0 },
        };
    }
    let (vc, vt) = (
        (c.revenue_sd / unit).powi(2) / nc,
        (t.revenue_sd / unit).powi(2) / nt,
    );
    let se = unit * (vc + vt).sqrt();
    let df = (vc + vt).powi(2) / (vc * vc / (nc - 1.0) + vt * vt / (nt - 1.0));
    let s = difference / se;
    let q = -student_t_quantile(alpha / 2.0, df);
    RevenueEffect {
        difference,
        interval: Interval {
            low: difference - q * se,
            high: difference + q * se,
        },
        bootstrap_interval: None,
        statistic: Some(s),
        df: Some(df),
        p_value: (2.0 * student_t_cdf(-s.abs(), df)).min(1.0),
    }
}

/// p-values adjusted for multiple testing (as statsmodels' `multipletests`).
fn adjusted(p: &[f64], correction: Correction) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let mut out = vec![0.0; m];
    match correction {
        Correction::None => out.copy_from_slice(p),
        Correction::Holm => {
            // Step down: the i-th smallest times (m − i), kept non-decreasing.
            let mut running = 0.0f64;
            for (i, &k) in order.iter().enumerate() {
                running = running.max(((m - i) as f64 * p[k]).min(1.0));
                out[k] = running;
            }
        }
        Correction::BenjaminiHochberg => {
            // Step up: the i-th smallest times m / i, kept non-increasing from the top.
            let mut running = 1.0f64;
            for (i, &k) in order.iter().enumerate().rev() {
                running = running.min(m as f64 / (i + 1) as f64 * p[k]);
                out[k] = running.min(1.0);
            }
        }
    }
    out
}
