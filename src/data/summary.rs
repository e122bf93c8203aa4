//! Per-customer summaries: the input of every BTYD model, RFM score and behavioural feature.
//!
//! A summary condenses one customer's purchases up to an *observation end* into the numbers
//! of the buy-till-you-die literature (Fader, Hardie & Lee 2005):
//!
//! * `frequency` **x**: number of *repeat* purchase periods (distinct purchase days after the
//!   first, by default);
//! * `recency` **t_x**: time from the first purchase to the last one;
//! * `age` **T**: time from the first purchase to the observation end;
//! * `monetary` **z̄**: mean spend of the repeat purchases (0 when x = 0), the convention of the
//!   Gamma-Gamma spend model, which leaves the first purchase out.
//!
//! With a holdout end, purchases after the observation end and up to the holdout end are
//! counted separately, for validating forecasts. Purchases in the same period are one purchase
//! with their amounts summed.
//!
//! Times are in the [`TimeUnit`] of the [`SummaryConfig`]. Note that the BTYD `recency` is not
//! the RFM recency: the time since the last purchase is
//! [`CustomerSummary::time_since_last_purchase`] (T − t_x).

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::customer_id::CustomerId;
use super::date::Date;
use super::time::{PurchasePeriod, TimeUnit};
use super::transactions::TransactionLog;
use crate::error::{Error, Position, Result};

/// Where the calibration period ends, whether a holdout follows, and how time is measured.
///
/// ```
/// use custseg::{Date, PurchasePeriod, SummaryConfig, TimeUnit};
/// let cfg = SummaryConfig::new("1997-09-30".parse()?)
///     .with_holdout_end("1998-06-30".parse()?)
///     .with_unit(TimeUnit::Weeks)
///     .with_period(PurchasePeriod::Day);
/// assert_eq!(cfg.holdout_length(), Some(39.0));
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryConfig {
    /// Last day of the calibration (observation) period, inclusive.
    pub observation_end: Date,
    /// Last day of the holdout period, inclusive; the holdout starts the day after
    /// `observation_end`.
    pub holdout_end: Option<Date>,
    /// Unit of recency, age and holdout length (default weeks).
    pub unit: TimeUnit,
    /// Purchases in the same period are one purchase (default: the same day).
    pub period: PurchasePeriod,
}

impl SummaryConfig {
    /// Calibration up to `observation_end` (inclusive), no holdout, weeks, daily purchases.
    pub fn new(observation_end: Date) -> Self {
        SummaryConfig {
            observation_end,
            holdout_end: None,
            unit: TimeUnit::Weeks,
            period: PurchasePeriod::Day,
        }
    }

    /// Adds a holdout period from the day after the observation end to `holdout_end`.
    pub fn with_holdout_end(mut self, holdout_end: Date) -> Self {
        self.holdout_end = Some(holdout_end);
        self
    }

    /// Sets the time unit of the outputs.
    pub fn with_unit(mut self, unit: TimeUnit) -> Self {
        self.unit = unit;
        self
    }

    /// Sets the purchase period.
    pub fn with_period(mut self, period: PurchasePeriod) -> Self {
        self.period = period;
        self
    }

    /// Length of the holdout period in the configured unit.
    pub fn holdout_length(&self) -> Option<f64> {
        self.holdout_end
            .map(|h| self.unit.from_days(h.days_since(self.observation_end)))
    }

    /// The last day whose purchases the summaries use.
    pub fn window_end(&self) -> Date {
        self.holdout_end.unwrap_or(self.observation_end)
    }

    /// Checks that the holdout, if any, ends after the observation end.
    ///
    /// # Errors
    /// [`Error::InvalidWindow`] otherwise.
    pub fn validate(&self) -> Result<()> {
        if let Some(h) = self.holdout_end
            && h <= self.observation_end
        {
            return Err(Error::InvalidWindow(format!(
                "holdout end {h} must be after the observation end {}",
                self.observation_end
            )));
        }
        Ok(())
    }
}

/// One customer's purchase history condensed at the observation end.
///
/// Valid by construction: a summary comes from [`TransactionLog::summarise`],
/// [`PurchaseHistories::summarise`](crate::PurchaseHistories) or a checked
/// [`SummaryRecord`] (`CustomerSummary::try_from(record)`, which deserializing also runs), so
/// every model scores it without checking it again. Read it with the accessors; to edit one,
/// turn it back into its record with [`CustomerSummary::into_record`] and check it again.
///
/// ```
/// use custseg::{CustomerSummary, SummaryRecord, TimeUnit};
/// let record = SummaryRecord {
///     customer_id: "ann".into(),
///     first_purchase: "2024-01-05".parse()?,
///     last_purchase: "2024-02-11".parse()?,
///     frequency: 2,
///     recency: 5.0,
///     age: 10.0,
///     unit: TimeUnit::Weeks,
///     monetary: 12.5,
///     total_spend: 40.0,
///     transactions: 3,
///     holdout_frequency: 0,
///     holdout_spend: 0.0,
///     holdout_transactions: 0,
/// };
/// let summary = CustomerSummary::try_from(record.clone())?;
/// assert_eq!((summary.frequency(), summary.recency(), summary.age()), (2, 5.0, 10.0));
/// // A recency after the observation end is refused, naming the customer and the column.
/// let late = SummaryRecord { recency: 11.0, ..record };
/// let err = CustomerSummary::try_from(late).unwrap_err();
/// assert_eq!(err.position().and_then(|p| p.column()), Some("recency"));
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SummaryRecord")]
pub struct CustomerSummary {
    pub(crate) customer_id: CustomerId,
    pub(crate) first_purchase: Date,
    pub(crate) last_purchase: Date,
    pub(crate) frequency: u32,
    pub(crate) recency: f64,
    pub(crate) age: f64,
    pub(crate) unit: TimeUnit,
    pub(crate) monetary: f64,
    pub(crate) total_spend: f64,
    pub(crate) transactions: u32,
    pub(crate) holdout_frequency: u32,
    pub(crate) holdout_spend: f64,
    pub(crate) holdout_transactions: u32,
}

/// The fields of a [`CustomerSummary`] as plain, unchecked data: build one by hand (from
/// another system's summaries, or to edit a summary) and check it with
/// `CustomerSummary::try_from(record)`. It is also the serialized form of a summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRecord {
    /// The customer.
    pub customer_id: CustomerId,
    /// Day of the first purchase (the start of the customer's clock).
    pub first_purchase: Date,
    /// Day of the last purchase on or before the observation end.
    pub last_purchase: Date,
    /// x: number of repeat purchase periods in the calibration period.
    pub frequency: u32,
    /// t_x: time from the first purchase period to the last, in `unit`.
    pub recency: f64,
    /// T: time from the first purchase period to the observation end, in `unit`.
    pub age: f64,
    /// The unit of `recency` and `age`.
    pub unit: TimeUnit,
    /// z̄: mean spend per repeat purchase period; 0 when `frequency` is 0.
    pub monetary: f64,
    /// Total spend in the calibration period, the first purchase included.
    pub total_spend: f64,
    /// Transaction rows in the calibration period (several rows can make one purchase).
    pub transactions: u32,
    /// Purchase periods in the holdout period (0 without a holdout).
    pub holdout_frequency: u32,
    /// Total spend in the holdout period.
    pub holdout_spend: f64,
    /// Transaction rows in the holdout period.
    pub holdout_transactions: u32,
}

/// Checks the record: finite, non-negative values, 0 ≤ t_x ≤ T, t_x = 0 and z̄ = 0 when x = 0,
/// dates in order, at least as many rows as purchases.
///
/// # Errors
/// [`Error::InvalidRecord`] naming the customer, the column and the broken rule.
impl TryFrom<SummaryRecord> for CustomerSummary {
    type Error = Error;
    fn try_from(r: SummaryRecord) -> Result<Self> {
        let s = CustomerSummary {
            customer_id: r.customer_id,
            first_purchase: r.first_purchase,
            last_purchase: r.last_purchase,
            frequency: r.frequency,
            recency: r.recency,
            age: r.age,
            unit: r.unit,
            monetary: r.monetary,
            total_spend: r.total_spend,
            transactions: r.transactions,
            holdout_frequency: r.holdout_frequency,
            holdout_spend: r.holdout_spend,
            holdout_transactions: r.holdout_transactions,
        };
        s.validate()?;
        Ok(s)
    }
}

impl From<CustomerSummary> for SummaryRecord {
    fn from(s: CustomerSummary) -> SummaryRecord {
        s.into_record()
    }
}

impl CustomerSummary {
    /// The customer.
    pub fn customer_id(&self) -> &CustomerId {
        &self.customer_id
    }

    /// Day of the first purchase (the start of the customer's clock).
    pub fn first_purchase(&self) -> Date {
        self.first_purchase
    }

    /// Day of the last purchase on or before the observation end.
    pub fn last_purchase(&self) -> Date {
        self.last_purchase
    }

    /// x: number of repeat purchase periods in the calibration period.
    pub fn frequency(&self) -> u32 {
        self.frequency
    }

    /// t_x: time from the first purchase period to the last, in [`unit`](Self::unit).
    pub fn recency(&self) -> f64 {
        self.recency
    }

    /// T: time from the first purchase period to the observation end, in
    /// [`unit`](Self::unit).
    pub fn age(&self) -> f64 {
        self.age
    }

    /// The unit of `recency` and `age`.
    pub fn unit(&self) -> TimeUnit {
        self.unit
    }

    /// z̄: mean spend per repeat purchase period; 0 when `frequency` is 0.
    pub fn monetary(&self) -> f64 {
        self.monetary
    }

    /// Total spend in the calibration period, the first purchase included.
    pub fn total_spend(&self) -> f64 {
        self.total_spend
    }

    /// Transaction rows in the calibration period (several rows can make one purchase).
    pub fn transactions(&self) -> u32 {
        self.transactions
    }

    /// Purchase periods in the holdout period (0 without a holdout).
    pub fn holdout_frequency(&self) -> u32 {
        self.holdout_frequency
    }

    /// Total spend in the holdout period.
    pub fn holdout_spend(&self) -> f64 {
        self.holdout_spend
    }

    /// Transaction rows in the holdout period.
    pub fn holdout_transactions(&self) -> u32 {
        self.holdout_transactions
    }

    /// The summary as plain data, to edit and check again with `CustomerSummary::try_from`.
    pub fn into_record(self) -> SummaryRecord {
        SummaryRecord {
            customer_id: self.customer_id,
            first_purchase: self.first_purchase,
            last_purchase: self.last_purchase,
            frequency: self.frequency,
            recency: self.recency,
            age: self.age,
            unit: self.unit,
            monetary: self.monetary,
            total_spend: self.total_spend,
            transactions: self.transactions,
            holdout_frequency: self.holdout_frequency,
            holdout_spend: self.holdout_spend,
            holdout_transactions: self.holdout_transactions,
        }
    }

    /// Number of purchase periods in the calibration period, x + 1.
    pub fn purchase_periods(&self) -> u64 {
        u64::from(self.frequency) + 1
    }

    /// T − t_x: time from the last purchase to the observation end (the RFM recency), in
    /// `unit`.
    pub fn time_since_last_purchase(&self) -> f64 {
        self.age - self.recency
    }

    /// Mean spend per transaction row in the calibration period.
    pub fn average_order_value(&self) -> f64 {
        // `transactions` is at least 1 in every summary (validated).
        self.total_spend / self.transactions.max(1) as f64
    }

    /// Checks the record's internal consistency (see `TryFrom<SummaryRecord>`).
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |column: &str, reason: String| {
            Err(Error::InvalidRecord {
                at: Position::of_customer(&self.customer_id).with_column(column),
                reason,
            })
        };
        for (name, v) in [
            ("recency", self.recency),
            ("age", self.age),
            ("monetary", self.monetary),
            ("total_spend", self.total_spend),
            ("holdout_spend", self.holdout_spend),
        ] {
            if !v.is_finite() || v < 0.0 {
                return bad(name, format!("{v} must be finite and not negative"));
            }
        }
        if self.recency > self.age {
            return bad(
                "recency",
                format!("recency {} exceeds age {}", self.recency, self.age),
            );
        }
        if self.frequency == 0 && (self.recency != 0.0 || self.monetary != 0.0) {
            return bad(
                "frequency",
                "a customer without repeat purchases has recency 0 and monetary 0".into(),
            );
        }
        if self.last_purchase < self.first_purchase {
            return bad(
                "last_purchase",
                format!(
                    "last purchase {} precedes first purchase {}",
                    self.last_purchase, self.first_purchase
                ),
            );
        }
        if u64::from(self.transactions) < self.purchase_periods()
            || self.holdout_transactions < self.holdout_frequency
        {
            return bad(
                "transactions",
                "fewer transaction rows than purchases".into(),
            );
        }
        Ok(())
    }
}

/// A customer whose first purchase falls after the observation end: they have no calibration
/// history, so no summary, but they are listed rather than dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LateCustomer {
    /// The customer.
    pub customer_id: CustomerId,
    /// Day of their first purchase.
    pub first_purchase: Date,
}

/// Counts that account for every purchase the summaries saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryReport {
    /// Customers with a summary.
    pub customers: usize,
    /// Customers first seen after the observation end (see [`CustomerSummaries::late_customers`]).
    pub late_customers: usize,
    /// Purchase periods in the calibration period, over all customers.
    pub calibration_purchases: usize,
    /// Purchase periods in the holdout period, over all customers (late customers included).
    pub holdout_purchases: usize,
    /// Purchase periods after the window end (the holdout end, or the observation end without
    /// a holdout); not used by any summary.
    pub purchases_after_window: usize,
}

/// The summaries of a customer base at one observation end.
///
/// Customers keep the order of the log (first appearance). Build with
/// [`TransactionLog::summarise`] or [`PurchaseHistories::summarise`](crate::PurchaseHistories).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerSummaries {
    config: SummaryConfig,
    summaries: Vec<CustomerSummary>,
    late: Vec<LateCustomer>,
    report: SummaryReport,
}

/// The summaries read as a slice, so `&summaries` goes wherever `&[CustomerSummary]` does.
impl std::ops::Deref for CustomerSummaries {
    type Target = [CustomerSummary];
    fn deref(&self) -> &[CustomerSummary] {
        &self.summaries
    }
}

impl CustomerSummaries {
    /// The configuration the summaries were built with.
    pub fn config(&self) -> &SummaryConfig {
        &self.config
    }

    /// The summaries, one per customer acquired by the observation end.
    pub fn as_slice(&self) -> &[CustomerSummary] {
        &self.summaries
    }

    /// Iterates over the summaries.
    pub fn iter(&self) -> std::slice::Iter<'_, CustomerSummary> {
        self.summaries.iter()
    }

    /// Number of summaries.
    pub fn len(&self) -> usize {
        self.summaries.len()
    }

    /// Whether no customer was acquired by the observation end.
    pub fn is_empty(&self) -> bool {
        self.summaries.is_empty()
    }

    /// Customers first seen after the observation end.
    pub fn late_customers(&self) -> &[LateCustomer] {
        &self.late
    }

    /// Counts of purchases in each part of the window.
    pub fn report(&self) -> &SummaryReport {
        &self.report
    }

    /// Length of the holdout period in the configured unit, if there is one.
    pub fn holdout_length(&self) -> Option<f64> {
        self.config.holdout_length()
    }

    /// The summaries, by value.
    pub fn into_vec(self) -> Vec<CustomerSummary> {
        self.summaries
    }

    /// Summaries from their parts, already in customer order.
    pub(crate) fn from_parts(
        config: SummaryConfig,
        summaries: Vec<CustomerSummary>,
        late: Vec<LateCustomer>,
        report: SummaryReport,
    ) -> Self {
        CustomerSummaries {
            config,
            summaries,
            late,
            report,
        }
    }

    /// Joins summaries built separately with one configuration (customers in the order of the
    /// parts).
    pub(crate) fn concat(config: SummaryConfig, parts: Vec<CustomerSummaries>) -> Self {
        let mut out = CustomerSummaries {
            config,
            summaries: Vec::new(),
            late: Vec::new(),
            report: SummaryReport::default(),
        };
        for p in parts {
            out.summaries.extend(p.summaries);
            out.late.extend(p.late);
            out.report.calibration_purchases += p.report.calibration_purchases;
            out.report.holdout_purchases += p.report.holdout_purchases;
            out.report.purchases_after_window += p.report.purchases_after_window;
        }
        out.report.customers = out.summaries.len();
        out.report.late_customers = out.late.len();
        out
    }

    /// The columns x, t_x and T as an n × 3 array, the input of the BTYD models.
    pub fn frequency_recency_age(&self) -> ndarray::Array2<f64> {
        let mut a = ndarray::Array2::zeros((self.summaries.len(), 3));
        for (mut row, s) in a.rows_mut().into_iter().zip(&self.summaries) {
            row[0] = s.frequency as f64;
            row[1] = s.recency;
            row[2] = s.age;
        }
        a
    }
}

impl<'a> IntoIterator for &'a CustomerSummaries {
    type Item = &'a CustomerSummary;
    type IntoIter = std::slice::Iter<'a, CustomerSummary>;
    fn into_iter(self) -> Self::IntoIter {
        self.summaries.iter()
    }
}

/// One day's purchases of one customer: the unit the summaries are built from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PurchaseDay {
    /// The day.
    pub date: Date,
    /// Amount spent that day (summed over its rows).
    pub spend: f64,
    /// Transaction rows that day.
    pub transactions: u32,
}

/// Whether a summary's spend sums overflowed (sums of finite amounts can still reach
/// infinity, or NaN as ∞ − ∞ in the repeat spend): the one thing that can break for valid
/// days.
pub(crate) fn sums_overflowed(s: &CustomerSummary) -> bool {
    ![s.total_spend, s.monetary, s.holdout_spend]
        .iter()
        .all(|v| v.is_finite())
}

/// One customer's purchase days folded in date order: the running state behind every
/// summary. Both ways to summaries go through it — [`summarise_days`] (a grouped log or
/// history) and the columnar path, which feeds it one day at a time as rows stream by — so
/// the two give bit-identical sums: the same additions in the same order.
///
/// Days up to the observation end build the calibration summary; days in the holdout window
/// count as holdout activity; days after the window only count as purchases after it. A fold
/// started by [`DayFold::first_day`] on a day after the observation end is a late customer's:
/// only its holdout and after-window counts mean anything.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DayFold {
    first: Date,
    first_period: Date,
    first_spend: f64,
    last_day: Date,
    last_period: Date,
    periods: u32,
    total: f64,
    rows: u32,
    holdout_periods: u32,
    holdout_rows: u32,
    holdout_spend: f64,
    holdout_period: Option<Date>,
    after_periods: u32,
    after_period: Option<Date>,
}

impl DayFold {
    /// A fold holding nothing yet (a placeholder until a customer's first day arrives).
    pub(crate) const EMPTY: DayFold = DayFold {
        first: Date::MIN,
        first_period: Date::MIN,
        first_spend: 0.0,
        last_day: Date::MIN,
        last_period: Date::MIN,
        periods: 0,
        total: 0.0,
        rows: 0,
        holdout_periods: 0,
        holdout_rows: 0,
        holdout_spend: 0.0,
        holdout_period: None,
        after_periods: 0,
        after_period: None,
    };

    /// Starts a calibration history with its first purchase day (on or before the
    /// observation end).
    #[inline]
    pub(crate) fn new(first: PurchaseDay, cfg: &SummaryConfig) -> DayFold {
        let first_period = period_start(cfg.period, first.date);
        DayFold {
            first: first.date,
            first_period,
            first_spend: first.spend,
            last_day: first.date,
            last_period: first_period,
            periods: 1,
            total: first.spend,
            rows: first.transactions,
            ..DayFold::EMPTY
        }
    }

    /// Starts a fold with a customer's first day, whenever it falls: after the observation
    /// end it is a late customer's, and the day counts in the holdout or after the window.
    #[inline]
    pub(crate) fn first_day(first: PurchaseDay, cfg: &SummaryConfig) -> DayFold {
        let mut f = DayFold::new(first, cfg);
        if first.date > cfg.observation_end {
            f.push_after_observation(first, cfg);
        }
        f
    }

    /// Adds the next purchase day (later than every day so far).
    #[inline(always)]
    pub(crate) fn push(&mut self, d: PurchaseDay, cfg: &SummaryConfig) {
        if d.date <= cfg.observation_end {
            let p = period_start(cfg.period, d.date);
            if p != self.last_period {
                self.periods += 1;
            } else if p == self.first_period {
                self.first_spend += d.spend;
            }
            self.last_day = d.date;
            self.last_period = p;
            self.total += d.spend;
            // Saturating: only a corrupt history holds 4 billion rows, and the summary's
            // validation then still sees at least as many rows as purchases.
            self.rows = self.rows.saturating_add(d.transactions);
        } else {
            self.push_after_observation(d, cfg);
        }
    }

    #[inline]
    fn push_after_observation(&mut self, d: PurchaseDay, cfg: &SummaryConfig) {
        let p = period_start(cfg.period, d.date);
        if d.date <= cfg.window_end() {
            if self.holdout_period != Some(p) {
                self.holdout_period = Some(p);
                self.holdout_periods += 1;
            }
            self.holdout_rows = self.holdout_rows.saturating_add(d.transactions);
            self.holdout_spend += d.spend;
        } else if self.after_period != Some(p) {
            self.after_period = Some(p);
            self.after_periods += 1;
        }
    }

    /// The first purchase day.
    pub(crate) fn first_date(&self) -> Date {
        self.first
    }

    /// Purchase periods in the calibration period (x + 1).
    pub(crate) fn calibration_periods(&self) -> u32 {
        self.periods
    }

    /// Purchase periods in the holdout window.
    pub(crate) fn holdout_periods(&self) -> u32 {
        self.holdout_periods
    }

    /// Purchase periods after the window end.
    pub(crate) fn after_window_periods(&self) -> u32 {
        self.after_periods
    }

    /// Whether the summary's spend sums overflowed (see [`sums_overflowed`]).
    #[inline]
    pub(crate) fn sums_overflowed(&self) -> bool {
        self.folded().sums_overflowed()
    }

    /// What a summary needs of the fold.
    #[inline(always)]
    pub(crate) fn folded(&self) -> FoldedDays {
        FoldedDays {
            first: self.first,
            last_day: self.last_day,
            periods: self.periods,
            rows: self.rows,
            holdout_periods: self.holdout_periods,
            holdout_rows: self.holdout_rows,
            total: self.total,
            first_spend: self.first_spend,
            holdout_spend: self.holdout_spend,
        }
    }

    /// The summary of a calibration history.
    #[inline]
    pub(crate) fn summary(&self, customer_id: CustomerId, cfg: &SummaryConfig) -> CustomerSummary {
        self.folded().summary(customer_id, cfg)
    }
}

/// What a summary needs of a finished [`DayFold`], in 48 bytes: the columnar path keeps one
/// per customer until it writes the summaries in customer order. The periods of the first and
/// last purchase are the periods of their days, as in the fold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FoldedDays {
    first: Date,
    last_day: Date,
    periods: u32,
    rows: u32,
    holdout_periods: u32,
    holdout_rows: u32,
    total: f64,
    first_spend: f64,
    holdout_spend: f64,
}

impl FoldedDays {
    /// The folded days of no day at all (a key with no rows).
    pub(crate) const EMPTY: FoldedDays = FoldedDays {
        first: Date::MIN,
        last_day: Date::MIN,
        periods: 0,
        rows: 0,
        holdout_periods: 0,
        holdout_rows: 0,
        total: 0.0,
        first_spend: 0.0,
        holdout_spend: 0.0,
    };

    /// The first purchase day.
    pub(crate) fn first_date(&self) -> Date {
        self.first
    }

    /// z̄: the repeat purchases' mean spend (0 without repeat purchases).
    #[inline(always)]
    fn monetary(&self) -> f64 {
        let x = self.periods.saturating_sub(1);
        if x == 0 {
            0.0
        } else {
            ((self.total - self.first_spend) / x as f64).max(0.0)
        }
    }

    /// Whether the summary's spend sums overflowed (see [`sums_overflowed`]).
    #[inline]
    pub(crate) fn sums_overflowed(&self) -> bool {
        ![self.total, self.monetary(), self.holdout_spend]
            .iter()
            .all(|v| v.is_finite())
    }

    /// The summary of a calibration history.
    #[inline(always)]
    pub(crate) fn summary(&self, customer_id: CustomerId, cfg: &SummaryConfig) -> CustomerSummary {
        let unit = cfg.unit;
        let first_period = period_start(cfg.period, self.first);
        CustomerSummary {
            customer_id,
            first_purchase: self.first,
            last_purchase: self.last_day,
            frequency: self.periods.saturating_sub(1),
            recency: unit
                .from_days(period_start(cfg.period, self.last_day).days_since(first_period)),
            age: unit
                .from_days(period_start(cfg.period, cfg.observation_end).days_since(first_period)),
            unit,
            monetary: self.monetary(),
            total_spend: self.total,
            transactions: self.rows,
            holdout_frequency: self.holdout_periods,
            holdout_spend: self.holdout_spend,
            holdout_transactions: self.holdout_rows,
        }
    }
}

/// [`PurchasePeriod::start_of`], with the daily period (the default, and the identity) kept
/// inline in the folds' hot loops.
#[inline(always)]
pub(crate) fn period_start(period: PurchasePeriod, date: Date) -> Date {
    match period {
        PurchasePeriod::Day => date,
        other => other.start_of(date),
    }
}

/// Summarises one customer from their first purchase day (on or before the observation end)
/// and their later purchase days in date order.
pub(crate) fn summarise_days(
    id: &CustomerId,
    first: PurchaseDay,
    later: impl Iterator<Item = PurchaseDay>,
    cfg: &SummaryConfig,
) -> CustomerSummary {
    let window_end = cfg.window_end();
    let mut fold = DayFold::new(first, cfg);
    for d in later {
        if d.date > window_end {
            break;
        }
        fold.push(d, cfg);
    }
    fold.summary(id.clone(), cfg)
}

/// Number of distinct purchase periods among the days in `(after, up_to]`.
fn periods_between(
    days: impl Iterator<Item = PurchaseDay>,
    period: PurchasePeriod,
    after: Date,
    up_to: Date,
) -> usize {
    let mut cur: Option<Date> = None;
    let mut n = 0;
    for d in days.filter(|d| d.date > after && d.date <= up_to) {
        let p = period.start_of(d.date);
        if cur != Some(p) {
            cur = Some(p);
            n += 1;
        }
    }
    n
}

/// Summarises every customer, in parallel; `days_of(c, after)` gives customer `c`'s purchase
/// days later than `after` in date order (`None`: all of them, at least one). Output order
/// is customer order, whatever the thread count.
pub(crate) fn summarise_all<I, F>(
    ids: &[CustomerId],
    cfg: &SummaryConfig,
    days_of: F,
) -> Result<CustomerSummaries>
where
    I: Iterator<Item = PurchaseDay>,
    F: Fn(usize, Option<Date>) -> I + Sync,
{
    let obs = cfg.observation_end;
    let window_end = cfg.window_end();
    let n = ids.len();
    let first_day = |c: usize| days_of(c, None).next().map_or(Date::MAX, |d| d.date);
    let late: Vec<usize> = (0..n)
        .into_par_iter()
        .filter(|&c| first_day(c) > obs)
        .collect();
    // Sums of finite amounts can still overflow to infinity (or to NaN, ∞ − ∞, in the repeat
    // spend): such a summary fails its own validation, and the error names the customer.
    // Only the sums can break for valid days.
    let overflowed = sums_overflowed;
    let any_overflow = AtomicBool::new(false);
    let summarise = |c: usize| {
        let mut days = days_of(c, None);
        // Every customer has a first purchase day, and late ones are not summarised; the
        // fallback only keeps this total.
        let first = days.next().unwrap_or(PurchaseDay {
            date: obs,
            spend: 0.0,
            transactions: 1,
        });
        let s = summarise_days(&ids[c], first, days, cfg);
        // Flagged while the summary is hot: a separate scan of a million summaries costs a
        // few percent of summarising.
        if overflowed(&s) {
            any_overflow.store(true, Ordering::Relaxed);
        }
        s
    };
    // Indexed parallel collects write the summaries straight into place, in memory mapped in
    // huge pages where the system allows.
    let mut summaries: Vec<CustomerSummary> = crate::mem::with_capacity(n - late.len());
    if late.is_empty() {
        (0..n)
            .into_par_iter()
            .map(summarise)
            .collect_into_vec(&mut summaries);
    } else {
        let on_time: Vec<usize> = (0..n).filter(|c| late.binary_search(c).is_err()).collect();
        on_time
            .into_par_iter()
            .map(summarise)
            .collect_into_vec(&mut summaries);
    }
    if any_overflow.load(Ordering::Relaxed)
        && let Some(bad) = summaries.par_iter().find_first(|s| overflowed(s))
    {
        bad.validate()?;
    }
    let late: Vec<(LateCustomer, usize)> = late
        .into_iter()
        .map(|c| {
            let held = periods_between(days_of(c, Some(obs)), cfg.period, obs, window_end);
            let customer = LateCustomer {
                customer_id: ids[c].clone(),
                first_purchase: first_day(c),
            };
            (customer, held)
        })
        .collect();
    let purchases_after_window = (0..n)
        .into_par_iter()
        .map(|c| {
            periods_between(
                days_of(c, Some(window_end)),
                cfg.period,
                window_end,
                Date::MAX,
            )
        })
        .sum();
    let report = SummaryReport {
        customers: summaries.len(),
        late_customers: late.len(),
        calibration_purchases: summaries
            .iter()
            .map(|s| s.purchase_periods() as usize)
            .sum(),
        holdout_purchases: summaries
            .iter()
            .map(|s| s.holdout_frequency as usize)
            .sum::<usize>()
            + late.iter().map(|l| l.1).sum::<usize>(),
        purchases_after_window,
    };
    Ok(CustomerSummaries {
        config: *cfg,
        summaries,
        late: late.into_iter().map(|l| l.0).collect(),
        report,
    })
}

/// Collapses a customer's date-sorted rows into purchase days.
///
/// A day's spend is the sum of its amounts rounded once, not a running sum rounded after
/// each row: Knuth's two-sum keeps each addition's rounding error, and the errors are added
/// back at the end (Ogita, Rump & Oishi's cascaded summation). For amounts of ordinary
/// magnitudes the errors sum exactly, so the result is the correctly rounded sum and does
/// not depend on the order of the day's rows — which is what lets a query engine that
/// meets the rows in any order, over any partitioning, give the same summary to the bit.
pub(crate) fn days_of_rows<'a>(
    dates: &'a [Date],
    amounts: &'a [f64],
) -> impl Iterator<Item = PurchaseDay> + 'a {
    day_sums_of_rows(dates, amounts).map(|(date, hi, lo, transactions)| PurchaseDay {
        date,
        spend: hi + lo,
        transactions,
    })
}

/// The days of [`days_of_rows`] before the final rounding: each day's running sum, the sum
/// of its rounding errors, and its row count. A partial state that is merged later (in
/// another process) carries the two parts so the merge can still round once.
pub(crate) fn day_sums_of_rows<'a>(
    dates: &'a [Date],
    amounts: &'a [f64],
) -> impl Iterator<Item = (Date, f64, f64, u32)> + 'a {
    let mut i = 0;
    std::iter::from_fn(move || {
        let date = *dates.get(i)?;
        let mut day = DaySum::first(date, amounts[i]);
        i += 1;
        while i < dates.len() && dates[i] == date {
            day.add(amounts[i]);
            i += 1;
        }
        Some(day.parts())
    })
}

/// One customer's day summed row by row as the rows come: the running two-sum from zero,
/// the sum of its rounding errors and the rows so far. [`day_sums_of_rows`] and the columnar
/// path's streaming fold both sum a day through it, so their days agree to the bit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DaySum {
    pub(crate) date: Date,
    hi: f64,
    lo: f64,
    rows: u32,
}

impl DaySum {
    /// A day with its first row. The two-sum from zero of one amount is the amount (+0 for
    /// −0) with a zero error, so most days — one row each — cost no addition chain.
    #[inline(always)]
    pub(crate) const fn first(date: Date, amount: f64) -> Self {
        DaySum {
            date,
            hi: 0.0 + amount,
            lo: 0.0,
            rows: 1,
        }
    }

    /// Adds the day's next row.
    #[inline(always)]
    pub(crate) fn add(&mut self, amount: f64) {
        let (s, e) = two_sum(self.hi, amount);
        self.hi = s;
        self.lo += e;
        // A day's rows are at most the input's rows, which fit a u32.
        self.rows = self.rows.saturating_add(1);
    }

    /// The day, its running sum, the sum of its rounding errors and its rows.
    pub(crate) fn parts(&self) -> (Date, f64, f64, u32) {
        (self.date, self.hi, self.lo, self.rows)
    }

    /// The day as a purchase: its sum rounded once.
    #[inline(always)]
    pub(crate) fn day(&self) -> PurchaseDay {
        PurchaseDay {
            date: self.date,
            spend: self.hi + self.lo,
            transactions: self.rows,
        }
    }
}

/// `(s, e)` with `s = fl(a + b)` and `s + e = a + b` exactly (Knuth's two-sum: no branch,
/// any order of magnitudes).
#[inline(always)]
pub(crate) fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

impl TransactionLog {
    /// Summarises every customer at the configured observation end, in parallel.
    ///
    /// ```
    /// use custseg::{Date, ReturnPolicy, SummaryConfig, TimeUnit, TransactionLog};
    /// let d = |s: &str| s.parse::<Date>().unwrap();
    /// let log = TransactionLog::from_columns(
    ///     &["a", "a", "a", "a"],
    ///     &[d("2024-01-01"), d("2024-01-01"), d("2024-01-15"), d("2024-02-20")],
    ///     &[10.0, 5.0, 20.0, 8.0],
    ///     ReturnPolicy::Error,
    /// )?;
    /// let cfg = SummaryConfig::new(d("2024-01-29"))
    ///     .with_holdout_end(d("2024-03-31"))
    ///     .with_unit(TimeUnit::Weeks);
    /// let s = log.summarise(&cfg)?.into_vec().remove(0);
    /// assert_eq!(s.frequency(), 1); // two purchase days; the first day's two rows are one purchase
    /// assert_eq!((s.recency(), s.age()), (2.0, 4.0));
    /// assert_eq!((s.monetary(), s.total_spend()), (20.0, 35.0));
    /// assert_eq!((s.holdout_frequency(), s.holdout_spend()), (1, 8.0));
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidWindow`] when the holdout ends on or before the observation end;
    /// [`Error::InvalidRecord`] naming a customer whose spend sums overflow to infinity.
    pub fn summarise(&self, cfg: &SummaryConfig) -> Result<CustomerSummaries> {
        cfg.validate()?;
        let (offsets, dates, amounts) = (self.offsets(), self.dates(), self.amounts());
        summarise_all(self.customer_ids(), cfg, |c, after| {
            let (lo, hi) = (offsets[c], offsets[c + 1]);
            let from = after.map_or(lo, |a| lo + dates[lo..hi].partition_point(|&d| d <= a));
            days_of_rows(&dates[from..hi], &amounts[from..hi])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A day's first row taken without a two-sum gives what the two-sum from zero gives, to
    /// the bit (−0 becomes +0 in both), and several-row days still sum exactly.
    #[test]
    fn a_days_first_row_needs_no_two_sum() {
        let d = |n: i32| Date::from_epoch_days(n);
        let amounts = [
            -0.0,
            0.0,
            5e-324,
            -5e-324,
            1e-300,
            3.7,
            -2.25,
            1e308,
            -1e308,
            f64::MAX,
            0.1,
        ];
        let dates: Vec<Date> = (0..amounts.len() as i32).map(d).collect();
        let days: Vec<_> = day_sums_of_rows(&dates, &amounts).collect();
        assert_eq!(days.len(), amounts.len());
        for ((date, hi, lo, rows), (&a, &want)) in days.into_iter().zip(amounts.iter().zip(&dates))
        {
            let (s, e) = two_sum(0.0, a);
            let slow_lo = 0.0 + e;
            assert_eq!((date, rows), (want, 1));
            assert_eq!(
                (hi.to_bits(), lo.to_bits()),
                (s.to_bits(), slow_lo.to_bits()),
                "{a:e}"
            );
        }
        // Same-day rows: 1e16 + 1 + 1 is 1e16 + 2 exactly, through the error term.
        let dates = [d(0), d(0), d(0), d(1)];
        let amounts = [1e16, 1.0, 1.0, -0.0];
        let days: Vec<_> = days_of_rows(&dates, &amounts).collect();
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].spend, days[0].transactions), (1e16 + 2.0, 3));
        assert_eq!(
            (days[1].spend.to_bits(), days[1].transactions),
            (0.0f64.to_bits(), 1)
        );
    }
}
