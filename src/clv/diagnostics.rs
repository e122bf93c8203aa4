//! Is a fitted transaction model any good? Holdout diagnostics as plain data.
//!
//! A model fitted on a calibration period predicts the holdout that followed it; these
//! compare the two the ways the literature does (Fader, Hardie & Lee 2005; lifetimes'
//! plotting module draws the same curves):
//!
//! * [`Tracking`] — repeat purchases of the whole base, period by period over calibration and
//!   holdout, actual against what the model expects of customers acquired when they were
//!   (cumulative and incremental). The classic "tracking plot".
//! * [`ConditionalExpectations`] — customers grouped by their calibration frequency: their
//!   mean holdout purchases against the model's conditional expectation ("calibration vs
//!   holdout"), with per-customer RMSE and MAE and the error of the holdout total.
//! * [`FrequencyFit`] — how many customers made 0, 1, 2 … repeat purchases in calibration,
//!   against the model's expected counts (the frequency PMF, a goodness-of-fit check that
//!   needs no holdout).
//! * [`ModelComparison`] — AIC, BIC and the likelihood-ratio test between nested fits.
//!
//! BG/BB, whose histories count discrete opportunities rather than time, has the same checks
//! through constructors named for it: [`DiscreteTracking::bgbb`] (the tracking curves per
//! opportunity), [`ConditionalExpectations::bgbb`], [`FrequencyFit::bgbb`] (P(X(n) = x), FHS
//! 2010 eq. 7) and [`AliveMatrix::bgbb`], checked on the donations data of Fader, Hardie &
//! Shang (2010).
//!
//! Every record is serde data, the input of a report or a plot.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::bgbb::{BgBb, BgBbHistory, check_opportunities};
use super::data::check_weights;
use super::fit::FitReport;
use super::model::{TransactionModel, check_summaries};
use crate::data::period_start;
use crate::data::{CustomerSummary, Date, SummaryConfig, TransactionLog};
use crate::error::{Error, Position, Result, finite_or_overflow};

/// Repeat purchases of the whole base per period, actual and expected: the tracking curves.
///
/// Periods of `period_days` days run from the first day of the log; the last ends on or
/// before the end of the window (the holdout end, or the observation end without a holdout).
/// A customer's first purchase day is not a repeat purchase; later purchase days are, one per
/// [`PurchasePeriod`](crate::PurchasePeriod) as in the summaries. The expected repeat purchases by the end of a
/// period are, for every customer acquired by then, the model's expectation for a new
/// customer ([`TransactionModel::expected_purchases_new`]) over the time from their first
/// purchase to the period's last day — the summaries' convention, in which a customer first
/// seen on the observation end has T = 0. (lifetimes' `expected_cumulative_transactions`
/// measures that time to the day after the period, one day longer for every cohort.)
///
/// ```
/// use custseg::clv::{BgNbd, Tracking};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
/// use custseg::TimeUnit;
/// let model = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?.with_unit(TimeUnit::Weeks);
/// let cfg = cdnow_sample_config(); // calibration to 1997-09-30, holdout to 1998-06-30
/// let t = Tracking::weekly(&model, &cdnow_sample(), &cfg)?;
/// assert_eq!(t.period_ends.len(), 78);
/// assert_eq!(t.calibration_periods, 39);
/// // Over the 39 holdout weeks the model expects fewer repeat purchases than were made.
/// let holdout = t.cumulative_expected[77] - t.cumulative_expected[38];
/// let actual = t.cumulative_actual[77] - t.cumulative_actual[38];
/// assert!(holdout < actual);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tracking {
    /// Length of a period in days.
    pub period_days: u32,
    /// The last day of each period.
    pub period_ends: Vec<Date>,
    /// How many periods end on or before the observation end (the rest are holdout).
    pub calibration_periods: usize,
    /// Repeat purchases made in each period.
    pub actual: Vec<f64>,
    /// Repeat purchases the model expects in each period.
    pub expected: Vec<f64>,
    /// Repeat purchases made up to the end of each period.
    pub cumulative_actual: Vec<f64>,
    /// Repeat purchases the model expects up to the end of each period.
    pub cumulative_expected: Vec<f64>,
}

/// Periods a tracking curve may have: 100,000 (270 years of days).
const MAX_PERIODS: usize = 100_000;

impl Tracking {
    /// Weekly tracking curves (periods of 7 days).
    ///
    /// # Errors
    /// As [`Tracking::new`].
    pub fn weekly<M: TransactionModel + ?Sized>(
        model: &M,
        log: &TransactionLog,
        cfg: &SummaryConfig,
    ) -> Result<Tracking> {
        Tracking::new(model, log, cfg, 7)
    }

    /// Tracking curves with periods of `period_days` days over the log up to the window end
    /// of `cfg`, times in `cfg`'s unit (which must be the model's).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `period_days` is 0 or the window holds no whole
    /// period or more than 100,000; [`Error::InvalidWindow`] for an invalid `cfg`;
    /// [`Error::UnitMismatch`] when the model was fitted in another unit;
    /// [`Error::EmptyInput`] for an empty log; [`Error::Overflow`] when the model's
    /// expectation is not finite.
    pub fn new<M: TransactionModel + ?Sized>(
        model: &M,
        log: &TransactionLog,
        cfg: &SummaryConfig,
        period_days: u32,
    ) -> Result<Tracking> {
        cfg.validate()?;
        check_unit(model, cfg)?;
        if log.is_empty() {
            return Err(Error::EmptyInput {
                what: "transactions",
            });
        }
        let start = log.first_date();
        let end = cfg.window_end();
        let days = end.days_since(start) + 1;
        let periods = if period_days == 0 || days < 1 {
            0
        } else {
            (days / period_days as i64) as usize
        };
        if periods == 0 || periods > MAX_PERIODS {
            return Err(Error::InvalidParameter {
                name: "period_days",
                value: period_days.to_string(),
                reason: format!(
                    "the window from {start} to {end} must hold 1 to {MAX_PERIODS} periods"
                ),
            });
        }
        let period_ends: Vec<Date> = (1..=periods)
            .map(|k| start.add_days(k as i64 * period_days as i64 - 1))
            .collect::<Result<_>>()?;
        // Repeat purchase periods by the tracking period they fall in, and customers by
        // their first day (the expectation depends on nothing else).
        let mut actual = vec![0.0; periods];
        let mut cohorts: BTreeMap<Date, f64> = BTreeMap::new();
        for c in log.iter_customers() {
            let Some(&first) = c.dates.first() else {
                continue;
            };
            if first > period_ends[periods - 1] {
                continue;
            }
            *cohorts.entry(first).or_default() += 1.0;
            let mut last = period_start(cfg.period, first);
            for &d in &c.dates[1..] {
                let p = period_start(cfg.period, d);
                if p == last {
                    continue;
                }
                last = p;
                let k = (d.days_since(start) / period_days as i64) as usize;
                if k < periods {
                    actual[k] += 1.0;
                }
            }
        }
        let cohorts: Vec<(Date, f64)> = cohorts.into_iter().collect();
        let cumulative_expected = period_ends
            .par_iter()
            .map(|&e| {
                let mut sum = 0.0;
                for &(first, n) in cohorts.iter().take_while(|(f, _)| *f <= e) {
                    let t = cfg.unit.from_days(e.days_since(first));
                    sum += n * model.expected_purchases_new(t)?;
                }
                finite_or_overflow("expected repeat purchases", sum)
            })
            .collect::<Result<Vec<f64>>>()?;
        let cumulative_actual: Vec<f64> = actual
            .iter()
            .scan(0.0, |acc, &a| {
                *acc += a;
                Some(*acc)
            })
            .collect();
        let expected = increments(&cumulative_expected);
        let calibration_periods = period_ends
            .iter()
            .take_while(|&&e| e <= cfg.observation_end)
            .count();
        Ok(Tracking {
            period_days,
            period_ends,
            calibration_periods,
            actual,
            expected,
            cumulative_actual,
            cumulative_expected,
        })
    }
}

fn increments(cumulative: &[f64]) -> Vec<f64> {
    let mut prev = 0.0;
    cumulative
        .iter()
        .map(|&c| {
            let d = c - prev;
            prev = c;
            d
        })
        .collect()
}

fn check_unit<M: TransactionModel + ?Sized>(model: &M, cfg: &SummaryConfig) -> Result<()> {
    match model.unit() {
        Some(u) if u != cfg.unit => Err(Error::UnitMismatch {
            model: u,
            data: cfg.unit,
        }),
        _ => Ok(()),
    }
}

/// One group of the calibration-vs-holdout comparison: the customers with this many repeat
/// purchases in calibration (or at least this many, for the last, pooled group).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrequencyGroup {
    /// Calibration repeat purchases of the group.
    pub frequency: u32,
    /// Whether the group pools every customer with at least `frequency`.
    pub pooled: bool,
    /// Customers in the group.
    pub customers: usize,
    /// Their mean repeat purchases in the holdout.
    pub mean_actual: f64,
    /// The mean of the model's conditional expectation for them over the holdout.
    pub mean_expected: f64,
}

/// Conditional expectations against holdout actuals: the calibration-vs-holdout table by
/// calibration frequency, the per-customer errors and the error of the holdout total.
///
/// ```
/// use custseg::clv::{BgNbd, ConditionalExpectations};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
/// use custseg::TimeUnit;
/// let model = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?.with_unit(TimeUnit::Weeks);
/// let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
/// let check = ConditionalExpectations::new(&model, summaries.as_slice(), 39.0, 7)?;
/// assert_eq!(check.total_actual, 1_882.0);
/// assert!((check.total_expected - 1_653.4).abs() < 0.5);
/// assert_eq!(check.groups.len(), 8); // 0 … 6 and 7+
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionalExpectations {
    /// Length of the holdout the expectations cover, in the model's unit.
    pub holdout_length: f64,
    /// Customers by calibration frequency: 0, 1, … `pool_from − 1`, then `pool_from`+ pooled.
    pub groups: Vec<FrequencyGroup>,
    /// Root mean squared error of the per-customer expectation against the holdout count.
    pub rmse: f64,
    /// Mean absolute error of the same.
    pub mae: f64,
    /// Repeat purchases made in the holdout by these customers.
    pub total_actual: f64,
    /// Repeat purchases the model expected of them.
    pub total_expected: f64,
    /// (expected − actual) / actual of the total: the aggregate forecast error.
    pub total_relative_error: f64,
}

impl ConditionalExpectations {
    /// Compares each customer's expected purchases over `holdout_length` with their holdout
    /// purchases (summaries built with a holdout), grouping customers by calibration
    /// frequency with those at `pool_from` or more pooled (lifetimes' plot shows the groups
    /// 0 … 6 and drops the rest; here they form the last group).
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::InvalidParameter`] for a holdout length that is not
    /// finite and positive, or `pool_from` = 0; [`Error::UnitMismatch`]; [`Error::Overflow`].
    pub fn new<M: TransactionModel + ?Sized>(
        model: &M,
        customers: &[CustomerSummary],
        holdout_length: f64,
        pool_from: u32,
    ) -> Result<ConditionalExpectations> {
        if customers.is_empty() {
            return Err(Error::EmptyInput { what: "customers" });
        }
        if !(holdout_length.is_finite() && holdout_length > 0.0) {
            return Err(Error::InvalidParameter {
                name: "holdout_length",
                value: holdout_length.to_string(),
                reason: "the holdout must have a finite, positive length".into(),
            });
        }
        if pool_from == 0 {
            return Err(Error::InvalidParameter {
                name: "pool_from",
                value: "0".into(),
                reason: "at least the group of customers without repeat purchases".into(),
            });
        }
        let expected = model.expected_purchases_batch(customers, holdout_length)?;
        Ok(ConditionalExpectations::from_rows(
            holdout_length,
            pool_from,
            customers
                .iter()
                .zip(&expected)
                .map(|(s, &e)| CustomerHoldout {
                    frequency: s.frequency(),
                    actual: s.holdout_frequency() as f64,
                    expected: e,
                    customers: 1.0,
                }),
        ))
    }

    /// The table and errors from customers' calibration frequencies, holdout counts and
    /// expectations, each row standing for `customers` identical customers.
    fn from_rows(
        holdout_length: f64,
        pool_from: u32,
        rows: impl Iterator<Item = CustomerHoldout>,
    ) -> ConditionalExpectations {
        let groups_n = pool_from as usize + 1;
        let mut count = vec![0.0; groups_n];
        let mut actual_sum = vec![0.0; groups_n];
        let mut expected_sum = vec![0.0; groups_n];
        let (mut n, mut se, mut ae, mut total_actual, mut total_expected) =
            (0.0, 0.0, 0.0, 0.0, 0.0);
        for r in rows {
            let g = r.frequency.min(pool_from) as usize;
            let (a, e, w) = (r.actual, r.expected, r.customers);
            count[g] += w;
            actual_sum[g] += w * a;
            expected_sum[g] += w * e;
            n += w;
            se += w * (e - a) * (e - a);
            ae += w * (e - a).abs();
            total_actual += w * a;
            total_expected += w * e;
        }
        let groups = (0..groups_n)
            .filter(|&g| count[g] > 0.0)
            .map(|g| FrequencyGroup {
                frequency: g as u32,
                pooled: g == pool_from as usize,
                customers: count[g].round() as usize,
                mean_actual: actual_sum[g] / count[g],
                mean_expected: expected_sum[g] / count[g],
            })
            .collect();
        ConditionalExpectations {
            holdout_length,
            groups,
            rmse: (se / n).sqrt(),
            mae: ae / n,
            total_actual,
            total_expected,
            total_relative_error: if total_actual > 0.0 {
                (total_expected - total_actual) / total_actual
            } else {
                f64::INFINITY.copysign(total_expected)
            },
        }
    }
}

/// One row of the calibration-vs-holdout comparison: `customers` customers with this
/// calibration frequency, holdout count and expectation.
struct CustomerHoldout {
    frequency: u32,
    actual: f64,
    expected: f64,
    customers: f64,
}

/// The calibration frequency distribution, actual against expected: how many customers made
/// n repeat purchases in their observed time T, and how many the model expects,
/// Σᵢ P(X(Tᵢ) = n) over the customers.
///
/// ```
/// use custseg::clv::{BgNbd, FrequencyFit};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
/// let model = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?;
/// let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
/// let fit = FrequencyFit::new(&model, summaries.as_slice(), 7)?;
/// assert_eq!(fit.actual[0], 1_411.0);
/// assert!((fit.expected[0] - 1_407.7).abs() < 0.5);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrequencyFit {
    /// Repeat purchases 0, 1, … the last entry pooling every count from its own up.
    pub frequency: Vec<u32>,
    /// Customers with each count.
    pub actual: Vec<f64>,
    /// Customers the model expects with each count.
    pub expected: Vec<f64>,
    /// Pearson's χ² statistic Σ (actual − expected)² / expected over the groups (a measure
    /// of misfit; the groups' expected counts should be ≥ 5 for its usual reading).
    pub chi_square: f64,
}

impl FrequencyFit {
    /// The distribution of calibration repeat purchases 0 … `pool_from − 1` and
    /// `pool_from`+, actual and expected.
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::InvalidParameter`] for `pool_from` = 0 or above
    /// 10,000; [`Error::UnitMismatch`]; the model's errors for P(X(t) = n).
    pub fn new<M: TransactionModel + ?Sized>(
        model: &M,
        customers: &[CustomerSummary],
        pool_from: u32,
    ) -> Result<FrequencyFit> {
        if customers.is_empty() {
            return Err(Error::EmptyInput { what: "customers" });
        }
        if pool_from == 0 || pool_from > 10_000 {
            return Err(Error::InvalidParameter {
                name: "pool_from",
                value: pool_from.to_string(),
                reason: "1 to 10,000 groups".into(),
            });
        }
        check_summaries(model.unit(), customers)?;
        let k = pool_from as usize;
        let mut actual = vec![0.0; k + 1];
        // Customers share their age T often: the distribution per distinct T.
        let mut ages: BTreeMap<u64, f64> = BTreeMap::new();
        for s in customers {
            actual[(s.frequency() as usize).min(k)] += 1.0;
            *ages.entry(s.age().to_bits()).or_default() += 1.0;
        }
        let ages: Vec<(f64, f64)> = ages
            .into_iter()
            .map(|(b, n)| (f64::from_bits(b), n))
            .collect();
        let per_age = ages
            .par_iter()
            .map(|&(t, n)| {
                (0..k)
                    .map(|j| Ok(n * model.probability_of_purchases_new(t, j as u32)?))
                    .collect::<Result<Vec<f64>>>()
            })
            .collect::<Result<Vec<Vec<f64>>>>()?;
        let mut expected = vec![0.0; k + 1];
        for row in &per_age {
            for (e, v) in expected.iter_mut().zip(row) {
                *e += v;
            }
        }
        let below: f64 = expected[..k].iter().sum();
        expected[k] = (customers.len() as f64 - below).max(0.0);
        let chi_square = actual
            .iter()
            .zip(&expected)
            .filter(|(_, e)| **e > 0.0)
            .map(|(a, e)| (a - e) * (a - e) / e)
            .sum();
        Ok(FrequencyFit {
            frequency: (0..=pool_from).collect(),
            actual,
            expected,
            chi_square,
        })
    }
}

/// Information criteria of a fit, and the likelihood-ratio test between nested fits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelComparison {
    /// 2·(ln L of the larger model − ln L of the smaller).
    pub statistic: f64,
    /// Parameters the larger model has beyond the smaller one.
    pub degrees_of_freedom: usize,
    /// P(χ²(df) ≥ statistic): small values say the larger model fits significantly better.
    pub p_value: f64,
}

impl FitReport {
    /// Akaike's information criterion, 2k − 2 ln L (lower is better).
    pub fn aic(&self) -> f64 {
        2.0 * self.parameters.len() as f64 - 2.0 * self.log_likelihood
    }

    /// The Bayesian (Schwarz) information criterion, k ln n − 2 ln L, n the customers
    /// (lower is better; penalises parameters more than AIC once n > 7).
    pub fn bic(&self) -> f64 {
        self.parameters.len() as f64 * self.customers.ln() - 2.0 * self.log_likelihood
    }
}

impl ModelComparison {
    /// The likelihood-ratio test of a `smaller` model nested in a `larger` one (the smaller
    /// is the larger with some parameters fixed), fitted on the same data: under the smaller
    /// model the statistic is χ² with as many degrees of freedom as parameters fixed. The
    /// nesting itself is the caller's to know; the test checks what it can.
    ///
    /// ```
    /// use custseg::clv::{FitReport, ModelComparison};
    /// # fn report(ll: f64, k: usize) -> FitReport {
    /// #     serde_json::from_value(serde_json::json!({
    /// #         "model": "m", "log_likelihood": ll, "iterations": 1, "gradient_norm": 0.0,
    /// #         "customers": 100.0, "distinct_rows": 100,
    /// #         "parameters": vec!["p"; k], "standard_errors": vec![0.1; k]})).unwrap()
    /// # }
    /// let test = ModelComparison::likelihood_ratio(&report(-105.0, 2), &report(-100.0, 4))?;
    /// assert_eq!((test.statistic, test.degrees_of_freedom), (10.0, 2));
    /// assert!((test.p_value - (-5.0f64).exp()).abs() < 1e-15); // χ²(2) tail: e^(−x/2)
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the larger model does not have more parameters, the
    /// two were fitted on different numbers of customers, or a log-likelihood is not finite.
    pub fn likelihood_ratio(smaller: &FitReport, larger: &FitReport) -> Result<ModelComparison> {
        let (ks, kl) = (smaller.parameters.len(), larger.parameters.len());
        let bad = |value: String, reason: &str| {
            Err(Error::InvalidParameter {
                name: "larger",
                value,
                reason: reason.into(),
            })
        };
        if kl <= ks {
            return bad(
                format!("{kl} parameters against {ks}"),
                "the larger model must have more parameters than the nested one",
            );
        }
        if smaller.customers != larger.customers {
            return bad(
                format!(
                    "{} customers against {}",
                    larger.customers, smaller.customers
                ),
                "nested models must be fitted on the same data",
            );
        }
        if !(smaller.log_likelihood.is_finite() && larger.log_likelihood.is_finite()) {
            return bad(
                format!("{} and {}", smaller.log_likelihood, larger.log_likelihood),
                "log-likelihoods must be finite",
            );
        }
        // A larger model fits at least as well at its optimum; a small negative difference
        // is the optimizers' tolerance.
        let statistic = (2.0 * (larger.log_likelihood - smaller.log_likelihood)).max(0.0);
        let df = kl - ks;
        Ok(ModelComparison {
            statistic,
            degrees_of_freedom: df,
            p_value: crate::special::chi_square_sf(statistic, df as f64),
        })
    }
}

/// P(alive) over the frequency–recency grid at one age T: `p_alive[i][j]` is P(alive) of a
/// customer observed for T with j repeat purchases, the last at recency i (time units after
/// the first purchase). The picture of how the model reads histories: high along the
/// diagonal of recent buyers, falling away from it the more they used to buy.
///
/// Cells with j = 0 ignore the recency (a customer without repeat purchases has none, t_x =
/// 0); recencies run 0, 1, … up to T rounded down, as lifetimes'
/// `conditional_probability_alive_matrix` does.
///
/// ```
/// use custseg::clv::{AliveMatrix, BgNbd};
/// let m = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?;
/// let grid = AliveMatrix::new(&m, 29, 38.0)?;
/// assert_eq!((grid.p_alive.len(), grid.p_alive[0].len()), (39, 30));
/// assert!(grid.p_alive[38][10] > grid.p_alive[10][10]); // recent beats lapsed
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliveMatrix {
    /// The age T of every cell.
    pub age: f64,
    /// Repeat purchases of the columns, 0 … max.
    pub frequency: Vec<u32>,
    /// Recency of the rows, 0 … ⌊T⌋.
    pub recency: Vec<f64>,
    /// P(alive), `[recency][frequency]`.
    pub p_alive: Vec<Vec<f64>>,
}

impl AliveMatrix {
    /// The grid for frequencies 0 … `max_frequency` and recencies 0 … ⌊`age`⌋.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an age that is negative, not finite or above 100,000,
    /// or more than 100,000 frequencies; [`Error::Overflow`] when the model's P(alive) is
    /// not finite.
    pub fn new<M: TransactionModel + ?Sized>(
        model: &M,
        max_frequency: u32,
        age: f64,
    ) -> Result<AliveMatrix> {
        if !(age.is_finite() && (0.0..=1e5).contains(&age)) || max_frequency > 100_000 {
            return Err(Error::InvalidParameter {
                name: "age",
                value: format!("{age} with {max_frequency} frequencies"),
                reason: "an age from 0 to 100,000 and at most 100,000 frequencies".into(),
            });
        }
        let recency: Vec<f64> = (0..=age.floor() as u32).map(f64::from).collect();
        let p_alive = recency
            .par_iter()
            .map(|&t_x| {
                (0..=max_frequency)
                    .map(|x| {
                        let tx = if x == 0 { 0.0 } else { t_x };
                        model.p_alive(&super::Rft::new(x, tx, age)?)
                    })
                    .collect::<Result<Vec<f64>>>()
            })
            .collect::<Result<Vec<Vec<f64>>>>()?;
        Ok(AliveMatrix {
            age,
            frequency: (0..=max_frequency).collect(),
            recency,
            p_alive,
        })
    }
}

// ---------------------------------------------------------------------------------------
// BG/BB: the same checks in discrete time. A history is (x transactions, the last at
// opportunity t_x, out of n) rather than a summary with dates, and time is counted in
// opportunities, so the checks take histories and opportunity counts where the continuous
// ones take summaries, a transaction log and lengths of time.

/// Opportunities a discrete tracking curve may have: 100,000.
const MAX_OPPORTUNITY_PERIODS: usize = 100_000;

/// Cells a BG/BB P(alive) grid may have: 10,000,000 (each is one P(alive), whose likelihood
/// walks the opportunities after t_x).
const MAX_ALIVE_CELLS: u64 = 10_000_000;

/// Repeat transactions per transaction opportunity, actual and expected: the tracking curves
/// of a discrete-time model (BG/BB), the sibling of [`Tracking`] for data whose periods are
/// opportunities (a yearly gala, a weekly newsletter) rather than days of a calendar.
///
/// Opportunity k = 1, 2, … N; a customer acquired at opportunity c (their first transaction,
/// which is not a repeat one) has the opportunities c + 1, c + 2, … after it. The expected
/// repeat transactions up to opportunity k are, for every cohort acquired before k, its size
/// times the model's expectation for a new customer over its k − c opportunities
/// ([`BgBb::expected_purchases_new`]); per opportunity, the differences. The same shape as
/// [`Tracking`] without its calendar: `opportunities` in place of `period_days` and
/// `period_ends`.
///
/// ```
/// use custseg::clv::{BgBb, DiscreteTracking};
/// let m = BgBb::new(1.204, 0.750, 0.657, 2.783)?;
/// // FHS (2010): 11,104 donors acquired in 1995; repeat donations 1996–2006.
/// let actual = [5652.0, 4674.0, 4019.0, 3552.0, 3555.0, 3163.0, 3110.0, 2938.0, 2703.0,
///     2573.0, 1936.0];
/// let t = DiscreteTracking::bgbb(&m, &[11_104.0], &actual, 6)?;
/// assert_eq!(t.opportunities, (1..=11).collect::<Vec<u32>>());
/// // The model tracks the 37,875 repeat donations within 1 %.
/// assert!((t.cumulative_expected[10] / t.cumulative_actual[10] - 1.0).abs() < 0.01);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscreteTracking {
    /// The opportunities 1 … N.
    pub opportunities: Vec<u32>,
    /// How many opportunities are in the calibration period (the rest are holdout).
    pub calibration_periods: usize,
    /// Repeat transactions made at each opportunity.
    pub actual: Vec<f64>,
    /// Repeat transactions the model expects at each opportunity.
    pub expected: Vec<f64>,
    /// Repeat transactions made up to each opportunity.
    pub cumulative_actual: Vec<f64>,
    /// Repeat transactions the model expects up to each opportunity.
    pub cumulative_expected: Vec<f64>,
}

impl DiscreteTracking {
    /// BG/BB tracking curves: `cohorts[c]` customers acquired at opportunity c (0: before the
    /// first, the usual case of one cohort whose first transaction opens the data), the
    /// repeat transactions `actual[k − 1]` made at opportunity k by all of them, and the first
    /// `calibration_periods` opportunities the calibration period.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no opportunities or no cohort; [`Error::InvalidParameter`]
    /// for more than 100,000 opportunities, more cohorts than opportunities, cohorts without
    /// a customer, or more calibration opportunities than opportunities;
    /// [`Error::InvalidRecord`] naming the row of a cohort size or an actual count that is
    /// not finite and ≥ 0; [`Error::Overflow`] when the model's expectation is not finite.
    pub fn bgbb(
        model: &BgBb,
        cohorts: &[f64],
        actual: &[f64],
        calibration_periods: usize,
    ) -> Result<DiscreteTracking> {
        let periods = actual.len();
        if periods == 0 {
            return Err(Error::EmptyInput {
                what: "opportunities",
            });
        }
        if cohorts.is_empty() {
            return Err(Error::EmptyInput { what: "cohorts" });
        }
        let bad = |name: &'static str, value: String, reason: String| {
            Err(Error::InvalidParameter {
                name,
                value,
                reason,
            })
        };
        if periods > MAX_OPPORTUNITY_PERIODS {
            return bad(
                "actual",
                format!("{periods} opportunities"),
                format!("at most {MAX_OPPORTUNITY_PERIODS} opportunities"),
            );
        }
        if cohorts.len() > periods {
            return bad(
                "cohorts",
                format!("{} cohorts", cohorts.len()),
                format!(
                    "a cohort acquired at opportunity {periods} or later has no opportunity in the {periods}"
                ),
            );
        }
        if calibration_periods > periods {
            return bad(
                "calibration_periods",
                calibration_periods.to_string(),
                format!("at most the {periods} opportunities"),
            );
        }
        for (what, values) in [
            ("cohort size", cohorts),
            ("actual repeat transactions", actual),
        ] {
            if let Some(row) = values.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(Error::InvalidRecord {
                    at: Position::at_row(row),
                    reason: format!("{what} {} must be finite and ≥ 0", values[row]),
                });
            }
        }
        if cohorts.iter().all(|&c| c == 0.0) {
            return bad(
                "cohorts",
                "no customer".into(),
                "at least one customer in a cohort".into(),
            );
        }
        // E[X(j)] of a new customer for every j the cohorts need, then each opportunity's
        // sum over the cohorts acquired before it, in cohort order.
        let new_customer = (1..=periods as u32)
            .into_par_iter()
            .map(|j| model.expected_purchases_new(j))
            .collect::<Result<Vec<f64>>>()?;
        let cumulative_expected = (1..=periods)
            .into_par_iter()
            .map(|k| {
                let sum: f64 = cohorts
                    .iter()
                    .take(k)
                    .enumerate()
                    .map(|(c, &size)| size * new_customer[k - c - 1])
                    .sum();
                finite_or_overflow("expected repeat transactions", sum)
            })
            .collect::<Result<Vec<f64>>>()?;
        let cumulative_actual: Vec<f64> = actual
            .iter()
            .scan(0.0, |acc, &a| {
                *acc += a;
                Some(*acc)
            })
            .collect();
        Ok(DiscreteTracking {
            opportunities: (1..=periods as u32).collect(),
            calibration_periods,
            actual: actual.to_vec(),
            expected: increments(&cumulative_expected),
            cumulative_actual,
            cumulative_expected,
        })
    }
}

impl ConditionalExpectations {
    /// The calibration-vs-holdout comparison for BG/BB: each row of `customers` is a
    /// calibration history, the customer's transactions in the `n_star` holdout
    /// opportunities that followed it, and how many customers share both (a weight, as in the
    /// fit's data); the expectation is [`BgBb::expected_purchases`] over `n_star`. Customers
    /// are grouped by calibration transactions x as [`ConditionalExpectations::new`] groups
    /// them (`pool_from` and more pooled); `holdout_length` is `n_star`, and a group's
    /// `customers` its weights summed (rounded to a whole number; the means use them as
    /// they are).
    ///
    /// ```
    /// use custseg::clv::{BgBb, BgBbHistory, ConditionalExpectations};
    /// let m = BgBb::new(1.204, 0.750, 0.657, 2.783)?;
    /// let rows = [
    ///     (BgBbHistory::new(0, 0, 6)?, 0, 3_000.0), // no donation, none since
    ///     (BgBbHistory::new(6, 6, 6)?, 4, 900.0),   // every year, 4 of the next 5
    ///     (BgBbHistory::new(6, 6, 6)?, 2, 300.0),
    /// ];
    /// let check = ConditionalExpectations::bgbb(&m, &rows, 5, 7)?;
    /// assert_eq!((check.holdout_length, check.total_actual), (5.0, 4_200.0));
    /// assert_eq!(check.groups[1].frequency, 6);
    /// assert_eq!(check.groups[1].mean_actual, 3.5);
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::InvalidParameter`] for `n_star` = 0 or `pool_from` =
    /// 0; [`Error::InvalidRecord`] naming the row of a weight that is not finite and positive
    /// or a holdout count above `n_star`; [`Error::Overflow`] naming the row of an
    /// expectation that is not finite.
    pub fn bgbb(
        model: &BgBb,
        customers: &[(BgBbHistory, u32, f64)],
        n_star: u32,
        pool_from: u32,
    ) -> Result<ConditionalExpectations> {
        if customers.is_empty() {
            return Err(Error::EmptyInput { what: "customers" });
        }
        if n_star == 0 {
            return Err(Error::InvalidParameter {
                name: "n_star",
                value: "0".into(),
                reason: "the holdout must have at least one opportunity".into(),
            });
        }
        if pool_from == 0 {
            return Err(Error::InvalidParameter {
                name: "pool_from",
                value: "0".into(),
                reason: "at least the group of customers without repeat transactions".into(),
            });
        }
        check_weights(customers.iter().map(|r| r.2))?;
        if let Some(row) = customers.iter().position(|r| r.1 > n_star) {
            return Err(Error::InvalidRecord {
                at: Position::at_row(row).with_column("holdout transactions"),
                reason: format!(
                    "{} holdout transactions in {n_star} opportunities",
                    customers[row].1
                ),
            });
        }
        let expected = customers
            .par_iter()
            .enumerate()
            .map(|(row, (h, _, _))| {
                model
                    .expected_purchases(h, n_star)
                    .map_err(|e| e.amend(|at| at.with_row(row)))
            })
            .collect::<Result<Vec<f64>>>()?;
        Ok(ConditionalExpectations::from_rows(
            f64::from(n_star),
            pool_from,
            customers
                .iter()
                .zip(&expected)
                .map(|(&(h, a, w), &e)| CustomerHoldout {
                    frequency: h.x(),
                    actual: f64::from(a),
                    expected: e,
                    customers: w,
                }),
        ))
    }
}

impl FrequencyFit {
    /// The distribution of calibration transactions for BG/BB: how many customers (weights)
    /// made x = 0 … `pool_from − 1` and `pool_from`+ transactions in their n opportunities,
    /// against Σ weight · P(X(n) = x) ([`BgBb::probability_of_purchases_new`]) over the
    /// histories, each at its own n. With the pooled group past every n the data has, its
    /// expected count is 0 (up to rounding) and its actual count too.
    ///
    /// ```
    /// use custseg::clv::{BgBb, BgBbHistory, FrequencyFit};
    /// let m = BgBb::new(1.204, 0.750, 0.657, 2.783)?;
    /// let data = [(BgBbHistory::new(0, 0, 6)?, 3_464.0), (BgBbHistory::new(6, 6, 6)?, 1_203.0)];
    /// let fit = FrequencyFit::bgbb(&m, &data, 6)?; // 0 … 5, then 6+
    /// assert_eq!((fit.actual[0], fit.actual[6]), (3_464.0, 1_203.0));
    /// assert!((fit.expected.iter().sum::<f64>() - 4_667.0).abs() < 1e-9);
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::InvalidParameter`] for `pool_from` = 0 or above
    /// 10,000; [`Error::InvalidRecord`] naming the row of a weight that is not finite and
    /// positive; [`Error::Overflow`] when a probability is not finite.
    pub fn bgbb(
        model: &BgBb,
        histories: &[(BgBbHistory, f64)],
        pool_from: u32,
    ) -> Result<FrequencyFit> {
        if histories.is_empty() {
            return Err(Error::EmptyInput { what: "customers" });
        }
        if pool_from == 0 || pool_from > 10_000 {
            return Err(Error::InvalidParameter {
                name: "pool_from",
                value: pool_from.to_string(),
                reason: "1 to 10,000 groups".into(),
            });
        }
        check_weights(histories.iter().map(|r| r.1))?;
        let k = pool_from as usize;
        let mut actual = vec![0.0; k + 1];
        // Customers by their number of opportunities n: one walk per x serves every n.
        let mut by_n: BTreeMap<u32, f64> = BTreeMap::new();
        let mut total = 0.0;
        for &(h, w) in histories {
            actual[(h.x() as usize).min(k)] += w;
            *by_n.entry(h.n()).or_default() += w;
            total += w;
        }
        let (ns, weights): (Vec<u32>, Vec<f64>) = by_n.into_iter().unzip();
        let mut expected = (0..pool_from)
            .into_par_iter()
            .map(|x| {
                let p = model.pmf_at(x, &ns)?;
                Ok(p.iter().zip(&weights).map(|(p, w)| p * w).sum::<f64>())
            })
            .collect::<Result<Vec<f64>>>()?;
        let below: f64 = expected.iter().sum();
        expected.push((total - below).max(0.0));
        let chi_square = actual
            .iter()
            .zip(&expected)
            .filter(|(_, e)| **e > 0.0)
            .map(|(a, e)| (a - e) * (a - e) / e)
            .sum();
        Ok(FrequencyFit {
            frequency: (0..=pool_from).collect(),
            actual,
            expected,
            chi_square,
        })
    }
}

impl AliveMatrix {
    /// P(alive) over BG/BB's frequency–recency grid for customers observed over `n`
    /// opportunities: `p_alive[t_x][x]` is [`BgBb::p_alive`] of the history (x, t_x, n) —
    /// alive at opportunity n + 1 — for x = 0 … `max_frequency` and t_x = 0 … n; `age` is n.
    ///
    /// In discrete time x transactions need x opportunities, so a cell with x > t_x is a
    /// history no customer can have: it holds 0 (as BTYD's heat map does), never a number
    /// read as a probability. Cells with x = 0 ignore the recency (t_x = 0), as in
    /// [`AliveMatrix::new`].
    ///
    /// ```
    /// use custseg::clv::{AliveMatrix, BgBb};
    /// let m = BgBb::new(1.204, 0.750, 0.657, 2.783)?;
    /// let grid = AliveMatrix::bgbb(&m, 6, 6)?;
    /// assert_eq!((grid.p_alive.len(), grid.p_alive[0].len()), (7, 7));
    /// assert!(grid.p_alive[6][3] > grid.p_alive[3][3]); // gave last year: likely alive
    /// assert_eq!(grid.p_alive[2][3], 0.0); // 3 donations by opportunity 2: impossible
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for n above [`BgBbHistory::MAX_OPPORTUNITIES`] or a grid
    /// of more than 10,000,000 cells; [`Error::Overflow`] when a P(alive) is not finite.
    pub fn bgbb(model: &BgBb, max_frequency: u32, n: u32) -> Result<AliveMatrix> {
        check_opportunities(n)?;
        let cells = (u64::from(n) + 1) * (u64::from(max_frequency) + 1);
        if cells > MAX_ALIVE_CELLS {
            return Err(Error::InvalidParameter {
                name: "max_frequency",
                value: format!("{max_frequency} with n = {n}"),
                reason: format!("at most {MAX_ALIVE_CELLS} cells"),
            });
        }
        let p_alive = (0..=n)
            .into_par_iter()
            .map(|t_x| {
                (0..=max_frequency)
                    .map(|x| match x {
                        0 => model.p_alive(&BgBbHistory::new(0, 0, n)?),
                        x if x > t_x => Ok(0.0),
                        x => model.p_alive(&BgBbHistory::new(x, t_x, n)?),
                    })
                    .collect::<Result<Vec<f64>>>()
            })
            .collect::<Result<Vec<Vec<f64>>>>()?;
        Ok(AliveMatrix {
            age: f64::from(n),
            frequency: (0..=max_frequency).collect(),
            recency: (0..=n).map(f64::from).collect(),
            p_alive,
        })
    }
}
