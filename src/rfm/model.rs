//! RFM scores: the values, the bin edges fitted on one snapshot, and scoring.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{CustomerId, CustomerSummary};
use crate::error::{Error, Position, Result};
use crate::{Fit, Score};

/// The largest number of score levels (scores 1..=10).
pub const MAX_SCORES: u8 = 10;

/// What counts as frequency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FrequencyBasis {
    /// Purchase periods in the calibration period, first purchase included (x + 1).
    #[default]
    PurchasePeriods,
    /// Repeat purchase periods only (x), the BTYD frequency.
    RepeatPurchases,
}

/// What counts as monetary value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MonetaryBasis {
    /// Total spend in the calibration period.
    #[default]
    TotalSpend,
    /// Total spend divided by the number of purchase periods.
    MeanPerPurchase,
}

/// How one dimension's values are cut into scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Binning {
    /// Cut at the empirical quantiles 1/n, 2/n, …, (n−1)/n of the fitting snapshot (linear
    /// interpolation between order statistics, R's type 7 and numpy's default).
    Quantiles,
    /// Cut at these n − 1 strictly increasing thresholds (business rules). For recency they are
    /// in days: `[30, 60, 90, 180]` gives 5 to customers who bought in the last 30 days.
    Thresholds(Vec<f64>),
}

/// The three values an RFM score is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RfmValues {
    /// Days from the last purchase to the observation end.
    pub recency_days: f64,
    /// Number of purchases, per the [`FrequencyBasis`].
    pub frequency: f64,
    /// Money, per the [`MonetaryBasis`].
    pub monetary: f64,
}

/// Unfitted RFM settings: number of scores, how each dimension is binned, and what frequency
/// and monetary value mean. Validated when built; [`Fit::fit`] learns the bin edges, and the
/// fitted [`RfmModel`] scores customers through [`Score`].
///
/// ```
/// use custseg::rfm::{Binning, RfmParams};
/// use custseg::{Fit, Score};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
/// let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
/// // Quantile bins for F and M, business rules for recency (days).
/// let (model, _) = RfmParams::new(5)?
///     .with_recency(Binning::Thresholds(vec![30.0, 60.0, 120.0, 180.0]))?
///     .fit(&summaries)?;
/// // Customer 1 last bought on 1997-08-02, 59 days before the end: within 60 days, so R = 4.
/// let score = model.score(&summaries[0])?;
/// assert_eq!(score.values.recency_days, 59.0);
/// assert_eq!(score.cell.r, 4);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RfmParamsRecord")]
pub struct RfmParams {
    scores: u8,
    recency: Binning,
    frequency: Binning,
    monetary: Binning,
    frequency_basis: FrequencyBasis,
    monetary_basis: MonetaryBasis,
}

/// The serde shape of [`RfmParams`]: deserializing runs the builder's checks.
#[derive(Deserialize)]
struct RfmParamsRecord {
    scores: u8,
    recency: Binning,
    frequency: Binning,
    monetary: Binning,
    frequency_basis: FrequencyBasis,
    monetary_basis: MonetaryBasis,
}

impl TryFrom<RfmParamsRecord> for RfmParams {
    type Error = Error;
    fn try_from(r: RfmParamsRecord) -> Result<Self> {
        Ok(RfmParams::new(r.scores)?
            .with_recency(r.recency)?
            .with_frequency(r.frequency)?
            .with_monetary(r.monetary)?
            .with_frequency_basis(r.frequency_basis)
            .with_monetary_basis(r.monetary_basis))
    }
}

fn check_thresholds(name: &'static str, scores: u8, b: &Binning) -> Result<()> {
    if let Binning::Thresholds(t) = b {
        let bad = |reason: String| {
            Err(Error::InvalidParameter {
                name,
                value: format!("{t:?}"),
                reason,
            })
        };
        if t.len() != scores as usize - 1 {
            return bad(format!("{} scores need {} thresholds", scores, scores - 1));
        }
        if t.iter().any(|v| !v.is_finite()) {
            return bad("thresholds must be finite".into());
        }
        if t.windows(2).any(|w| w[0] >= w[1]) {
            return bad("thresholds must be strictly increasing".into());
        }
    }
    Ok(())
}

impl RfmParams {
    /// Scores 1..=`scores` on every dimension, all binned by quantiles; frequency counts every
    /// purchase period, monetary value is total spend.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless 2 ≤ `scores` ≤ 10.
    pub fn new(scores: u8) -> Result<Self> {
        if !(2..=MAX_SCORES).contains(&scores) {
            return Err(Error::InvalidParameter {
                name: "scores",
                value: scores.to_string(),
                reason: format!("between 2 and {MAX_SCORES}"),
            });
        }
        Ok(RfmParams {
            scores,
            recency: Binning::Quantiles,
            frequency: Binning::Quantiles,
            monetary: Binning::Quantiles,
            frequency_basis: FrequencyBasis::default(),
            monetary_basis: MonetaryBasis::default(),
        })
    }

    /// Sets the recency binning (thresholds in days).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless thresholds are `scores − 1` finite, strictly
    /// increasing values.
    pub fn with_recency(mut self, b: Binning) -> Result<Self> {
        check_thresholds("recency", self.scores, &b)?;
        self.recency = b;
        Ok(self)
    }

    /// Sets the frequency binning.
    ///
    /// # Errors
    /// As [`RfmParams::with_recency`].
    pub fn with_frequency(mut self, b: Binning) -> Result<Self> {
        check_thresholds("frequency", self.scores, &b)?;
        self.frequency = b;
        Ok(self)
    }

    /// Sets the monetary binning.
    ///
    /// # Errors
    /// As [`RfmParams::with_recency`].
    pub fn with_monetary(mut self, b: Binning) -> Result<Self> {
        check_thresholds("monetary", self.scores, &b)?;
        self.monetary = b;
        Ok(self)
    }

    /// Counts repeat purchases only (x) instead of all purchase periods (x + 1).
    pub fn with_frequency_basis(mut self, basis: FrequencyBasis) -> Self {
        self.frequency_basis = basis;
        self
    }

    /// Uses mean spend per purchase instead of total spend.
    pub fn with_monetary_basis(mut self, basis: MonetaryBasis) -> Self {
        self.monetary_basis = basis;
        self
    }

    /// The number of score levels.
    pub fn scores(&self) -> u8 {
        self.scores
    }
}

/// How an RFM fit went: the customers the edges were learned from, and how many distinct
/// edges each dimension got.
///
/// Quantile edges collapse when many customers share a value (most customers of a young
/// business bought once): fewer distinct edges than `scores - 1` means some score levels of
/// that dimension are empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RfmFitReport {
    /// Customers in the snapshot.
    pub customers: usize,
    /// Distinct edges for recency, frequency and monetary value, in that order.
    pub distinct_edges: [usize; 3],
}

impl Fit for RfmParams {
    type Data<'a> = [CustomerSummary];
    type Model = RfmModel;
    type Report = RfmFitReport;

    /// Learns the bin edges from a snapshot of customers.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] for no customers; [`Error::InvalidRecord`] for a summary with a
    /// non-finite or negative value (naming its row, customer and field).
    fn fit(&self, customers: &[CustomerSummary]) -> Result<(RfmModel, RfmFitReport)> {
        if customers.is_empty() {
            return Err(Error::EmptyInput { what: "customers" });
        }
        let (fb, mb) = (self.frequency_basis, self.monetary_basis);
        let values = checked_values(customers, fb, mb, |_, v| v)?;
        let probs: Vec<f64> = (1..self.scores)
            .map(|i| i as f64 / self.scores as f64)
            .collect();
        let edges_of = |b: &Binning, pick: fn(&RfmValues) -> f64| match b {
            Binning::Thresholds(t) => t.clone(),
            Binning::Quantiles => quantiles(&values, pick, &probs),
        };
        let model = RfmModel {
            scores: self.scores,
            frequency_basis: fb,
            monetary_basis: mb,
            recency_edges: edges_of(&self.recency, |v| v.recency_days),
            frequency_edges: edges_of(&self.frequency, |v| v.frequency),
            monetary_edges: edges_of(&self.monetary, |v| v.monetary),
        };
        let distinct = |e: &[f64]| {
            let mut d = e.to_vec();
            d.dedup();
            d.len()
        };
        let report = RfmFitReport {
            customers: customers.len(),
            distinct_edges: [
                distinct(&model.recency_edges),
                distinct(&model.frequency_edges),
                distinct(&model.monetary_edges),
            ],
        };
        Ok((model, report))
    }
}

/// `f(summary, its RFM values)` for every summary, in parallel and in input order, checking
/// each summary on the way (one pass instead of a check pass and a compute pass): the error of
/// the first invalid one, in input order, if any is. Values are finite once checked, so NaN
/// cannot reach a selection or a bin.
fn checked_values<T: Send>(
    customers: &[CustomerSummary],
    fb: FrequencyBasis,
    mb: MonetaryBasis,
    f: impl Fn(&CustomerSummary, RfmValues) -> T + Sync,
) -> Result<Vec<T>> {
    let invalid = AtomicBool::new(false);
    // An indexed collect writes the results straight into place, in memory mapped in huge
    // pages where the system allows (a million scores are tens of megabytes).
    let mut out: Vec<T> = crate::mem::with_capacity(customers.len());
    customers
        .par_iter()
        .map(|s| {
            let v = if has_values(s) {
                values_unchecked(s, fb, mb)
            } else {
                invalid.store(true, Ordering::Relaxed);
                RfmValues {
                    recency_days: 0.0,
                    frequency: 0.0,
                    monetary: 0.0,
                }
            };
            f(s, v)
        })
        .collect_into_vec(&mut out);
    if invalid.load(Ordering::Relaxed) {
        validate_all(customers, fb, mb)?;
    }
    Ok(out)
}

/// Checks every summary, reporting the first invalid one in input order.
fn validate_all(
    customers: &[CustomerSummary],
    fb: FrequencyBasis,
    mb: MonetaryBasis,
) -> Result<()> {
    match customers
        .par_iter()
        .position_first(|s| values_of(s, fb, mb).is_err())
    {
        Some(i) => values_of(&customers[i], fb, mb)
            .map(|_| ())
            .map_err(|e| e.amend(|at| at.with_row(i))),
        None => Ok(()),
    }
}

/// The type-7 quantiles at `probs` (ascending) of one value of every customer, from the
/// order statistics around each quantile's position (see [`order_statistics`]): the same
/// edges a full sort gives, to the bit.
fn quantiles(values: &[RfmValues], pick: fn(&RfmValues) -> f64, probs: &[f64]) -> Vec<f64> {
    let n = values.len();
    let ranks: Vec<usize> = probs
        .iter()
        .flat_map(|p| {
            let lo = (p * (n - 1) as f64).floor() as usize;
            [lo, (lo + 1).min(n - 1)]
        })
        .collect();
    let stats = order_statistics(values, pick, &ranks);
    probs
        .iter()
        .zip(stats.chunks(2))
        .map(|(&p, ab)| interpolate(ab[0], ab[1], p * (n - 1) as f64))
        .collect()
}

/// `f64::total_cmp`'s order as an unsigned integer: equal keys for equal values, and the
/// keys' order is the values' order.
#[inline(always)]
fn order_key(x: f64) -> u64 {
    let b = x.to_bits();
    (b ^ ((((b as i64) >> 63) as u64) >> 1)) ^ (1 << 63)
}

/// The values of rank `ranks[i]` (counted from 0 in `f64::total_cmp` order) among
/// `pick(values[j])`, by a radix selection: one parallel pass counts the values per bucket of
/// their 16 highest key bits, which places every rank in a bucket; a second pass gathers the
/// few buckets holding a wanted rank, and a selection inside each finds it. Two reads of the
/// values instead of a sort or a selection per rank, and the result is exact: an order
/// statistic is one value, whatever the method that finds it.
fn order_statistics(
    values: &[RfmValues],
    pick: fn(&RfmValues) -> f64,
    ranks: &[usize],
) -> Vec<f64> {
    const BUCKETS: usize = 1 << 16;
    let bucket = |v: &RfmValues| (order_key(pick(v)) >> 48) as usize;
    // Integer counts: the sum is the same in any grouping, so the split does not matter.
    let counts = values
        .par_chunks(1 << 14)
        .fold(
            || vec![0usize; BUCKETS],
            |mut h, chunk| {
                for v in chunk {
                    h[bucket(v)] += 1;
                }
                h
            },
        )
        .reduce(
            || vec![0usize; BUCKETS],
            |mut a, b| {
                a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                a
            },
        );
    // Each rank's bucket and its rank within the bucket.
    let mut starts = Vec::with_capacity(BUCKETS + 1);
    let mut acc = 0usize;
    starts.push(0);
    for c in &counts {
        acc += c;
        starts.push(acc);
    }
    let placed: Vec<(usize, usize)> = ranks
        .iter()
        .map(|&r| {
            let b = starts.partition_point(|&s| s <= r) - 1;
            (b, r - starts[b])
        })
        .collect();
    let mut wanted: Vec<usize> = placed.iter().map(|p| p.0).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut slot_of = vec![u8::MAX; BUCKETS];
    for (i, &b) in wanted.iter().enumerate() {
        slot_of[b] = i as u8;
    }
    // The members of the wanted buckets; their order within a bucket does not matter.
    let k = wanted.len();
    let mut members = values
        .par_chunks(1 << 14)
        .fold(
            || vec![Vec::new(); k],
            |mut m: Vec<Vec<f64>>, chunk| {
                for v in chunk {
                    let i = slot_of[bucket(v)];
                    if i != u8::MAX {
                        m[i as usize].push(pick(v));
                    }
                }
                m
            },
        )
        .reduce(
            || vec![Vec::new(); k],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| x.extend(y));
                a
            },
        );
    placed
        .iter()
        .map(|&(b, r)| {
            let m = &mut members[slot_of[b] as usize];
            *m.select_nth_unstable_by(r, f64::total_cmp).1
        })
        .collect()
}

/// The quantile at position `h` = p·(n − 1) between the order statistics a = v[⌊h⌋] and
/// b = v[⌊h⌋ + 1] (see [`quantile_sorted`]).
fn interpolate(a: f64, b: f64, h: f64) -> f64 {
    let g = h - h.floor();
    if g < 0.5 {
        a + (b - a) * g
    } else {
        b - (b - a) * (1.0 - g)
    }
}

/// Linear-interpolation quantile (R type 7) of sorted values: position h = p·(n − 1), between
/// a = v[⌊h⌋] and b = v[⌊h⌋ + 1] at fraction g. Interpolating from the nearer end —
/// a + (b − a)·g below one half, b − (b − a)·(1 − g) above — is exact at both ends and is
/// numpy's formulation, so edges agree with numpy to the last bit (14.37, not
/// 14.370000000000001), which matters when many customers sit exactly on an edge.
#[cfg(test)]
fn quantile_sorted(v: &[f64], p: f64) -> f64 {
    let h = p * (v.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    interpolate(v[lo], v[hi], h)
}

/// Whether a summary has RFM values: age, recency and total spend finite and not negative,
/// recency within age, and the days since the last purchase finite. Branch-free, so that a
/// pass over a million summaries tests them without building a `Result` for each (the
/// error, with its position, is built by [`values_of`] for the one that fails).
#[inline(always)]
fn has_values(s: &CustomerSummary) -> bool {
    let days = s.time_since_last_purchase() * s.unit.days();
    let fine = |v: f64| v.is_finite() & (v >= 0.0);
    fine(s.age) & fine(s.recency) & fine(s.total_spend) & (s.recency <= s.age) & days.is_finite()
}

/// The RFM values of a summary.
fn values_of(s: &CustomerSummary, fb: FrequencyBasis, mb: MonetaryBasis) -> Result<RfmValues> {
    if has_values(s) {
        return Ok(values_unchecked(s, fb, mb));
    }
    let bad = |field: &str, v: f64| {
        Err(Error::InvalidRecord {
            at: Position::of_customer(&s.customer_id).with_column(field),
            reason: format!("{v}: RFM needs finite, non-negative values"),
        })
    };
    for (field, v) in [
        ("age", s.age),
        ("recency", s.recency),
        ("total_spend", s.total_spend),
    ] {
        if !v.is_finite() || v < 0.0 {
            return bad(field, v);
        }
    }
    if s.recency > s.age {
        return bad("recency (above age)", s.recency);
    }
    // A finite age in weeks or months can still be an infinite number of days.
    let days = s.time_since_last_purchase() * s.unit.days();
    if !days.is_finite() {
        return bad("days since the last purchase", days);
    }
    Ok(values_unchecked(s, fb, mb))
}

/// The RFM values of a summary that [`has_values`] (or [`values_of`]) accepted.
fn values_unchecked(s: &CustomerSummary, fb: FrequencyBasis, mb: MonetaryBasis) -> RfmValues {
    // Recency and age are multiples of whole days divided by the unit: rounding recovers the
    // exact day count, so equal days stay equal values.
    let days = (s.time_since_last_purchase() * s.unit.days()).round();
    let periods = s.purchase_periods() as f64;
    RfmValues {
        recency_days: days,
        frequency: match fb {
            FrequencyBasis::PurchasePeriods => periods,
            FrequencyBasis::RepeatPurchases => s.frequency as f64,
        },
        monetary: match mb {
            MonetaryBasis::TotalSpend => s.total_spend,
            MonetaryBasis::MeanPerPurchase => s.total_spend / periods,
        },
    }
}

/// Fitted RFM bin edges: plain data that scores any customer, one or a batch, so that a model
/// fitted on one snapshot scores the next one consistently.
///
/// **Scores.** With `n` scores there are `n − 1` edges per dimension, non-decreasing. A value
/// `v` scores `1 + #{edges < v}` for frequency and monetary value, and `n − #{edges < v}` for
/// recency (fewer days since the last purchase is better). Bins are right-closed intervals
/// `(e_{i−1}, e_i]`, so:
///
/// * **equal values always get equal scores**;
/// * **a tie that straddles a boundary goes entirely to the bin below the boundary in value
///   terms** — the lower score for frequency and monetary value, the higher score for recency.
///   When many customers share a value (60% of the CDNOW sample bought once), several edges
///   coincide and some scores stay empty; scores are never renumbered, so a score always means
///   the same band of values. [`ScoreCounts::empty_scores`](super::ScoreCounts::empty_scores)
///   lists them.
///
/// Deserializing validates the edges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RfmModelRecord")]
pub struct RfmModel {
    scores: u8,
    frequency_basis: FrequencyBasis,
    monetary_basis: MonetaryBasis,
    recency_edges: Vec<f64>,
    frequency_edges: Vec<f64>,
    monetary_edges: Vec<f64>,
}

#[derive(Deserialize)]
struct RfmModelRecord {
    scores: u8,
    frequency_basis: FrequencyBasis,
    monetary_basis: MonetaryBasis,
    recency_edges: Vec<f64>,
    frequency_edges: Vec<f64>,
    monetary_edges: Vec<f64>,
}

impl TryFrom<RfmModelRecord> for RfmModel {
    type Error = Error;
    fn try_from(r: RfmModelRecord) -> Result<Self> {
        RfmModel::from_edges(
            r.scores,
            [r.recency_edges, r.frequency_edges, r.monetary_edges],
            r.frequency_basis,
            r.monetary_basis,
        )
    }
}

/// A customer's three scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RfmCell {
    /// Recency score (higher: bought more recently).
    pub r: u8,
    /// Frequency score (higher: bought more often).
    pub f: u8,
    /// Monetary score (higher: spent more).
    pub m: u8,
}

impl RfmCell {
    /// The usual three-digit code, e.g. "545" (scores above 9 print as two digits).
    pub fn code(&self) -> String {
        format!("{}{}{}", self.r, self.f, self.m)
    }
}

/// One customer's RFM values and scores.
///
/// Deserializing validates it: scores in 1..=10, finite, non-negative values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RfmScoreRecord")]
pub struct RfmScore {
    /// The customer.
    pub customer_id: CustomerId,
    /// The values the scores come from.
    pub values: RfmValues,
    /// Total spend in the calibration period (for revenue shares, whatever the monetary basis).
    pub revenue: f64,
    /// The scores.
    pub cell: RfmCell,
}

#[derive(Deserialize)]
struct RfmScoreRecord {
    customer_id: CustomerId,
    values: RfmValues,
    revenue: f64,
    cell: RfmCell,
}

impl TryFrom<RfmScoreRecord> for RfmScore {
    type Error = Error;
    fn try_from(r: RfmScoreRecord) -> Result<Self> {
        let bad = |reason: String| {
            Err(Error::InvalidRecord {
                at: Position::of_customer(r.customer_id.to_string()),
                reason,
            })
        };
        let v = r.values;
        for (name, x) in [
            ("recency_days", v.recency_days),
            ("frequency", v.frequency),
            ("monetary", v.monetary),
            ("revenue", r.revenue),
        ] {
            if !x.is_finite() || x < 0.0 {
                return bad(format!("{name} is {x}; it must be finite and not negative"));
            }
        }
        let c = r.cell;
        if [c.r, c.f, c.m]
            .iter()
            .any(|s| !(1..=MAX_SCORES).contains(s))
        {
            return bad(format!("scores {c:?} must be between 1 and {MAX_SCORES}"));
        }
        Ok(RfmScore {
            customer_id: r.customer_id,
            values: r.values,
            revenue: r.revenue,
            cell: r.cell,
        })
    }
}

impl RfmScore {
    /// The three-digit code of the scores, e.g. "545".
    pub fn code(&self) -> String {
        self.cell.code()
    }
}

impl RfmModel {
    /// A model from explicit edges (recency in days, frequency, monetary), e.g. rules agreed
    /// with the business or a model stored elsewhere.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless 2 ≤ `scores` ≤ 10 and each dimension has `scores − 1`
    /// finite, non-decreasing edges.
    pub fn from_edges(
        scores: u8,
        edges: [Vec<f64>; 3],
        frequency_basis: FrequencyBasis,
        monetary_basis: MonetaryBasis,
    ) -> Result<RfmModel> {
        RfmParams::new(scores)?;
        for (name, e) in ["recency_edges", "frequency_edges", "monetary_edges"]
            .into_iter()
            .zip(&edges)
        {
            let bad = |reason: String| {
                Err(Error::InvalidParameter {
                    name,
                    value: format!("{e:?}"),
                    reason,
                })
            };
            if e.len() != scores as usize - 1 {
                return bad(format!("{scores} scores need {} edges", scores - 1));
            }
            if e.iter().any(|v| !v.is_finite()) {
                return bad("edges must be finite".into());
            }
            if e.windows(2).any(|w| w[0] > w[1]) {
                return bad("edges must be non-decreasing".into());
            }
        }
        let [recency_edges, frequency_edges, monetary_edges] = edges;
        Ok(RfmModel {
            scores,
            frequency_basis,
            monetary_basis,
            recency_edges,
            frequency_edges,
            monetary_edges,
        })
    }

    /// Number of score levels.
    pub fn scores(&self) -> u8 {
        self.scores
    }

    /// Recency edges, in days.
    pub fn recency_edges(&self) -> &[f64] {
        &self.recency_edges
    }

    /// Frequency edges.
    pub fn frequency_edges(&self) -> &[f64] {
        &self.frequency_edges
    }

    /// Monetary edges.
    pub fn monetary_edges(&self) -> &[f64] {
        &self.monetary_edges
    }

    /// What frequency means in this model.
    pub fn frequency_basis(&self) -> FrequencyBasis {
        self.frequency_basis
    }

    /// What monetary value means in this model.
    pub fn monetary_basis(&self) -> MonetaryBasis {
        self.monetary_basis
    }

    /// The RFM values of a summary under this model's bases.
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] for non-finite or negative values, naming the customer.
    pub fn values(&self, s: &CustomerSummary) -> Result<RfmValues> {
        values_of(s, self.frequency_basis, self.monetary_basis)
    }

    /// Scores values that did not come from a [`CustomerSummary`] (recency in days).
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] for non-finite or negative values, naming the customer.
    pub fn score_values(
        &self,
        customer_id: CustomerId,
        values: RfmValues,
        revenue: f64,
    ) -> Result<RfmScore> {
        RfmScore::try_from(RfmScoreRecord {
            customer_id,
            values,
            revenue,
            cell: self.cell(&values),
        })
    }

    /// The cell of values (no validation: callers validate).
    fn cell(&self, v: &RfmValues) -> RfmCell {
        // The edges are non-decreasing (checked when a model is built from edges or read back,
        // given thresholds strictly increase, learned quantiles rise with p), so the edges below
        // a value are counted rather than searched for: no branch to mispredict on every
        // customer, as a binary search over four edges has two or three.
        let below = |edges: &[f64], x: f64| edges.iter().map(|&e| u8::from(e < x)).sum::<u8>();
        RfmCell {
            r: self.scores - below(&self.recency_edges, v.recency_days),
            f: 1 + below(&self.frequency_edges, v.frequency),
            m: 1 + below(&self.monetary_edges, v.monetary),
        }
    }
}

impl Score for RfmModel {
    type Record = CustomerSummary;
    type Output = RfmScore;

    /// Scores one customer.
    ///
    /// # Errors
    /// As [`RfmModel::values`].
    fn score(&self, s: &CustomerSummary) -> Result<RfmScore> {
        let values = self.values(s)?;
        Ok(RfmScore {
            customer_id: s.customer_id.clone(),
            values,
            revenue: s.total_spend,
            cell: self.cell(&values),
        })
    }

    /// Scores a batch in parallel; the output is in input order and independent of the
    /// number of threads.
    ///
    /// # Errors
    /// The error of the first invalid summary, in input order.
    fn score_batch(&self, customers: &[CustomerSummary]) -> Result<Vec<RfmScore>> {
        let (fb, mb) = (self.frequency_basis, self.monetary_basis);
        checked_values(customers, fb, mb, |s, values| RfmScore {
            customer_id: s.customer_id.clone(),
            values,
            revenue: s.total_spend,
            cell: self.cell(&values),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_type_7() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 10.0);
        assert_eq!(quantile_sorted(&v, 0.5), 3.0);
        // p = 0.8: h = 3.2, between 4 and 10.
        assert!((quantile_sorted(&v, 0.8) - 5.2).abs() < 1e-12);
        assert_eq!(quantile_sorted(&[7.0], 0.3), 7.0);
    }

    #[test]
    fn radix_selected_quantiles_equal_sorted_quantiles() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for n in [1usize, 2, 3, 7, 100, 1001, 70_000] {
            for levels in [2u8, 5, 10] {
                // Many ties, as in real RFM values; or amounts spread over many magnitudes.
                let v: Vec<f64> = if n % 2 == 1 {
                    (0..n).map(|_| rng.gen_range(0..20) as f64 * 0.5).collect()
                } else {
                    (0..n)
                        .map(|_| (rng.gen_range(0.0..12.0f64)).exp2() * rng.gen_range(0.0..1.0))
                        .collect()
                };
                let probs: Vec<f64> = (1..levels).map(|i| i as f64 / levels as f64).collect();
                let mut sorted = v.clone();
                sorted.sort_by(f64::total_cmp);
                let expected: Vec<f64> =
                    probs.iter().map(|&p| quantile_sorted(&sorted, p)).collect();
                let values: Vec<RfmValues> = v
                    .iter()
                    .map(|&x| RfmValues {
                        recency_days: 0.0,
                        frequency: 0.0,
                        monetary: x,
                    })
                    .collect();
                assert_eq!(
                    quantiles(&values, |v| v.monetary, &probs),
                    expected,
                    "n = {n}"
                );
            }
        }
    }

    #[test]
    fn ties_go_to_the_lower_value_bin() {
        let model = RfmModel::from_edges(
            5,
            [
                vec![10.0, 20.0, 30.0, 40.0],
                vec![1.0, 1.0, 1.0, 2.0],
                vec![5.0, 6.0, 7.0, 8.0],
            ],
            FrequencyBasis::PurchasePeriods,
            MonetaryBasis::TotalSpend,
        )
        .unwrap();
        let cell = |r, f, mo| m_cell(&model, r, f, mo);
        // Frequency 1 sits on three coinciding edges: score 1; 2 is on the last edge: score 4.
        assert_eq!(cell(0.0, 1.0, 0.0), RfmCell { r: 5, f: 1, m: 1 });
        assert_eq!(cell(10.0, 2.0, 5.0), RfmCell { r: 5, f: 4, m: 1 });
        assert_eq!(cell(10.5, 3.0, 5.5), RfmCell { r: 4, f: 5, m: 2 });
        assert_eq!(cell(40.0, 3.0, 8.0), RfmCell { r: 2, f: 5, m: 4 });
        assert_eq!(cell(41.0, 3.0, 9.0), RfmCell { r: 1, f: 5, m: 5 });
    }

    fn m_cell(m: &RfmModel, r: f64, f: f64, mo: f64) -> RfmCell {
        m.cell(&RfmValues {
            recency_days: r,
            frequency: f,
            monetary: mo,
        })
    }

    #[test]
    fn params_and_edges_are_validated() {
        assert!(RfmParams::new(1).is_err());
        assert!(RfmParams::new(11).is_err());
        let p = RfmParams::new(4).unwrap();
        assert!(
            p.clone()
                .with_recency(Binning::Thresholds(vec![1.0, 2.0]))
                .is_err()
        );
        assert!(
            p.clone()
                .with_recency(Binning::Thresholds(vec![1.0, 2.0, 2.0]))
                .is_err()
        );
        assert!(
            p.clone()
                .with_monetary(Binning::Thresholds(vec![1.0, f64::NAN, 3.0]))
                .is_err()
        );
        assert!(
            p.with_frequency(Binning::Thresholds(vec![1.0, 2.0, 3.0]))
                .is_ok()
        );
        let e = RfmModel::from_edges(
            3,
            [vec![2.0, 1.0], vec![1.0, 2.0], vec![1.0, 2.0]],
            FrequencyBasis::PurchasePeriods,
            MonetaryBasis::TotalSpend,
        );
        assert!(e.is_err());
        assert!(RfmParams::new(5).unwrap().fit(&[]).is_err());
    }
}
