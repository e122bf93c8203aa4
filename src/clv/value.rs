//! Discounted customer lifetime value from a transaction model and the Gamma-Gamma spend
//! model.

use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::columns::{CHUNK, HistoryColumns, XAgeKeys, finite_or_row};
use super::data::Rft;
use super::gamma_gamma::GammaGamma;
use super::model::{TransactionModel, check_summaries, per_distinct_history};
use crate::data::{CustomerId, CustomerSummary, TimeUnit};
use crate::error::{Error, Position, Result};

/// How future purchases are discounted: the horizon is cut into `steps` steps of `step` time
/// units; the expected purchases of step k, E[Y(k·step)] − E[Y((k−1)·step)], are valued at
/// the customer's expected spend and discounted as if paid at the end of the step,
/// by (1 + rate)^k.
///
/// [`Discounting::lifetimes`] reproduces the convention of lifetimes'
/// `customer_lifetime_value`: monthly steps of 4.345 weeks (30 days, 1 month) for weekly
/// (daily, monthly) data, at a monthly rate.
///
/// ```
/// use custseg::clv::Discounting;
/// use custseg::TimeUnit;
/// let d = Discounting::lifetimes(12, 0.01, TimeUnit::Weeks)?;
/// assert_eq!((d.step(), d.steps(), d.rate()), (4.345, 12, 0.01));
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DiscountingRecord")]
pub struct Discounting {
    step: f64,
    steps: u32,
    rate: f64,
}

#[derive(Deserialize)]
struct DiscountingRecord {
    step: f64,
    steps: u32,
    rate: f64,
}

impl TryFrom<DiscountingRecord> for Discounting {
    type Error = Error;
    fn try_from(r: DiscountingRecord) -> Result<Self> {
        Discounting::new(r.step, r.steps, r.rate)
    }
}

impl Discounting {
    /// The most steps a horizon may have: 10,000 (over 800 years of monthly steps). Every
    /// step costs each distinct history a model evaluation.
    pub const MAX_STEPS: u32 = 10_000;

    /// `steps` steps of `step` time units at `rate` per step.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless step > 0, 1 ≤ steps ≤ [`Discounting::MAX_STEPS`]
    /// and rate > −1, all finite.
    pub fn new(step: f64, steps: u32, rate: f64) -> Result<Self> {
        let bad = |name, value: String, reason: &str| {
            Err(Error::InvalidParameter {
                name,
                value,
                reason: reason.into(),
            })
        };
        if !(step.is_finite() && step > 0.0) {
            return bad("step", step.to_string(), "finite and > 0");
        }
        if steps == 0 || steps > Self::MAX_STEPS {
            return bad(
                "steps",
                steps.to_string(),
                "1 to Discounting::MAX_STEPS (10,000)",
            );
        }
        if !(rate.is_finite() && rate > -1.0) {
            return bad("rate", rate.to_string(), "finite and > −1");
        }
        Ok(Discounting { step, steps, rate })
    }

    /// lifetimes' convention: `months` monthly steps at a monthly `rate`, a month being 4.345
    /// weeks, 30 days or 1 month depending on the unit of the data.
    ///
    /// # Errors
    /// As [`Discounting::new`].
    pub fn lifetimes(months: u32, rate: f64, unit: TimeUnit) -> Result<Self> {
        let step = match unit {
            TimeUnit::Weeks => 4.345,
            TimeUnit::Days => 30.0,
            TimeUnit::Months => 1.0,
        };
        Discounting::new(step, months, rate)
    }

    /// Length of a step in the model's time unit.
    pub fn step(&self) -> f64 {
        self.step
    }

    /// Number of steps.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// Discount rate per step.
    pub fn rate(&self) -> f64 {
        self.rate
    }
}

/// A customer's value: the model's predictions and the discounted CLV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerValue {
    /// The customer.
    pub customer_id: CustomerId,
    /// P(alive) at the observation end.
    pub p_alive: f64,
    /// Expected purchases over the whole horizon (undiscounted).
    pub expected_purchases: f64,
    /// Expected value of a transaction (Gamma-Gamma).
    pub expected_spend: f64,
    /// Discounted expected revenue over the horizon.
    pub clv: f64,
}

/// What values a customer: a fitted transaction model (any [`TransactionModel`]), a fitted
/// Gamma-Gamma spend model and a discounting convention. Scores [`CustomerSummary`]s through
/// [`Score`](crate::Score): P(alive), expected purchases over the horizon, expected spend and
/// the discounted CLV.
///
/// ```
/// use custseg::clv::{BgNbd, Discounting, GammaGamma, Valuation};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
/// use custseg::{Score, TimeUnit};
/// let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
/// // The published CDNOW estimates; lifetimes' 12-month, 1%-per-month convention.
/// let valuation = Valuation::new(
///     BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?.with_unit(TimeUnit::Weeks),
///     GammaGamma::new(6.2488, 3.7446, 15.4477)?,
///     Discounting::lifetimes(12, 0.01, TimeUnit::Weeks)?,
/// );
/// let values = valuation.score_batch(&summaries)?;
/// assert_eq!(values.len(), 2_357);
/// assert_eq!(valuation.score(&summaries[0])?, values[0]);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Valuation<M> {
    model: M,
    spend: GammaGamma,
    discounting: Discounting,
}

impl<M> Valuation<M> {
    /// Values customers with `model`'s purchases, `spend`'s expected transaction value and
    /// the `discounting` convention.
    pub fn new(model: M, spend: GammaGamma, discounting: Discounting) -> Self {
        Valuation {
            model,
            spend,
            discounting,
        }
    }

    /// The transaction model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The spend model.
    pub fn spend(&self) -> &GammaGamma {
        &self.spend
    }

    /// The discounting convention.
    pub fn discounting(&self) -> &Discounting {
        &self.discounting
    }
}

impl<M: TransactionModel> Valuation<M> {
    /// Discounted CLV of a history given as (x, t_x, T) and mean repeat spend z̄ (for data
    /// that does not come as [`CustomerSummary`]s, such as published tables).
    ///
    /// # Errors
    /// The errors of [`GammaGamma::expected_spend`]; [`Error::Overflow`] when the value is not
    /// finite.
    pub fn clv_of(&self, c: &Rft, mean_spend: f64) -> Result<f64> {
        let m = self.spend.expected_spend(c.x(), mean_spend)?;
        let v = m * discounted_purchases(&self.model, c, &self.discounting)?.0;
        if v.is_finite() {
            Ok(v)
        } else {
            Err(Error::Overflow {
                at: Position::default(),
                quantity: "clv",
                value: v,
            })
        }
    }
}

impl<M: TransactionModel> Valuation<M> {
    /// The expected discounted value of a customer not yet acquired, from their first
    /// purchase on (which is not counted, as in every CLV here): the expected repeat purchases
    /// of a new customer ([`TransactionModel::expected_purchases_new`]) per step of the
    /// horizon, discounted as for existing customers, times the population's mean spend per
    /// transaction ([`GammaGamma::population_mean_spend`]). What an acquisition campaign may
    /// spend per customer won, before margin.
    ///
    /// ```
    /// use custseg::clv::{BgNbd, Discounting, GammaGamma, Valuation};
    /// use custseg::TimeUnit;
    /// let valuation = Valuation::new(
    ///     BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?.with_unit(TimeUnit::Weeks),
    ///     GammaGamma::new(6.2488, 3.7446, 15.4477)?,
    ///     Discounting::lifetimes(12, 0.01, TimeUnit::Weeks)?,
    /// );
    /// let new_customer = valuation.value_of_new_customer()?;
    /// assert!(new_customer > 0.0);
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the spend model has no finite population mean (q ≤ 1);
    /// [`Error::Overflow`] when the value is not finite.
    pub fn value_of_new_customer(&self) -> Result<f64> {
        let spend = self.spend.population_mean_spend()?;
        let d = &self.discounting;
        let mut prev = 0.0;
        let mut factor = 1.0;
        let mut acc = 0.0;
        for k in 1..=d.steps {
            let e = self.model.expected_purchases_new(k as f64 * d.step)?;
            factor /= 1.0 + d.rate;
            acc += (e - prev) * factor;
            prev = e;
            if !factor.is_finite() {
                // A rate near −1 compounds past f64 within a few steps: the value overflows
                // whatever the steps left add, so they are not evaluated.
                break;
            }
        }
        crate::error::finite_or_overflow("value of a new customer", acc * spend)
    }
}

/// Values of many customers as columns, one entry per row of the [`HistoryColumns`] scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueColumns {
    /// P(alive) at the observation end.
    pub p_alive: Vec<f64>,
    /// Expected purchases over the whole horizon (undiscounted).
    pub expected_purchases: Vec<f64>,
    /// Expected value of a transaction (Gamma-Gamma).
    pub expected_spend: Vec<f64>,
    /// Discounted expected revenue over the horizon.
    pub clv: Vec<f64>,
}

impl<M: TransactionModel> Valuation<M> {
    /// Values customers given as columns, with `monetary` their mean repeat spend z̄: the
    /// fast batch form of [`Score::score_batch`](crate::Score::score_batch). The discounted
    /// path is computed once per distinct (x, T) where the model allows (every model here),
    /// then scaled by each customer's P(alive) and expected spend; equal to the summaries'
    /// form to ~1e-15.
    ///
    /// ```
    /// use custseg::clv::{BgNbd, Discounting, GammaGamma, HistoryColumns, Valuation};
    /// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
    /// use custseg::{Score, TimeUnit};
    /// let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
    /// let s = summaries.as_slice();
    /// let x: Vec<u32> = s.iter().map(|c| c.frequency()).collect();
    /// let t_x: Vec<f64> = s.iter().map(|c| c.recency()).collect();
    /// let t: Vec<f64> = s.iter().map(|c| c.age()).collect();
    /// let z: Vec<f64> = s.iter().map(|c| c.monetary()).collect();
    /// let valuation = Valuation::new(
    ///     BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?.with_unit(TimeUnit::Weeks),
    ///     GammaGamma::new(6.2488, 3.7446, 15.4477)?,
    ///     Discounting::lifetimes(12, 0.01, TimeUnit::Weeks)?,
    /// );
    /// let h = HistoryColumns::new(&x, &t_x, &t)?.with_unit(TimeUnit::Weeks);
    /// let columns = valuation.value_columns(&h, &z)?;
    /// let rows = valuation.score_batch(&summaries)?;
    /// assert!((columns.clv[0] - rows[0].clv).abs() <= 1e-13 * rows[0].clv);
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when `monetary` is not one value per row;
    /// [`Error::InvalidRecord`] naming the row of a mean spend that is negative or not
    /// finite; the other errors of [`GammaGamma::expected_spend`]; those of
    /// [`TransactionModel::p_alive_columns`]; [`Error::Overflow`] naming the first row whose
    /// value is not finite.
    pub fn value_columns(&self, h: &HistoryColumns<'_>, monetary: &[f64]) -> Result<ValueColumns> {
        if monetary.len() != h.len() {
            return Err(Error::LengthMismatch {
                what: "monetary",
                expected: h.len(),
                got: monetary.len(),
            });
        }
        let x = h.x();
        let mut spend: Vec<f64> = crate::mem::with_capacity(h.len());
        (0..h.len())
            .into_par_iter()
            .map(|i| {
                self.spend
                    .expected_spend(x[i], monetary[i])
                    .unwrap_or(f64::NAN)
            })
            .collect_into_vec(&mut spend);
        if let Some(row) = spend.par_iter().position_first(|v| v.is_nan()) {
            let m = monetary[row];
            if !(m.is_finite() && m >= 0.0) {
                return Err(Error::InvalidRecord {
                    at: Position::at_row(row).with_column("monetary"),
                    reason: format!("mean spend {m} (finite and ≥ 0)"),
                });
            }
            self.spend
                .expected_spend(x[row], monetary[row])
                .map_err(|e| e.amend(|at| at.with_row(row)))?;
        }
        let p_alive = self.model.p_alive_columns(h)?;
        let model: &dyn TransactionModel = &self.model;
        // Each row's expected purchases (P(alive) × the total if alive) and CLV (spend ×
        // P(alive) × the discounted sum if alive), the path once per distinct (x, T) where the
        // model allows.
        let n = h.len();
        let mut expected_purchases: Vec<f64> = crate::mem::zeros(n);
        let mut clv: Vec<f64> = crate::mem::zeros(n);
        let combine = |i: usize, (discounted, total): (f64, f64), e: &mut f64, v: &mut f64| {
            let p = p_alive[i];
            *e = p * total;
            *v = spend[i] * p * discounted;
        };
        if model.alive_expectation_by_x_and_age() {
            let keys = XAgeKeys::new(h);
            let paths = keys.values(|x, big_t| {
                let (_, discounted, total) =
                    discounted_path(model, &Rft::new_unchecked(x, 0.0, big_t), &self.discounting);
                (discounted, total)
            });
            expected_purchases
                .par_chunks_mut(CHUNK)
                .zip(clv.par_chunks_mut(CHUNK))
                .enumerate()
                .for_each(|(c, (es, vs))| {
                    for (j, ((e, v), k)) in es.iter_mut().zip(vs).zip(keys.chunk(c)).enumerate() {
                        combine(c * CHUNK + j, paths[k], e, v);
                    }
                });
        } else {
            expected_purchases
                .par_iter_mut()
                .zip(&mut clv)
                .enumerate()
                .for_each(|(i, (e, v))| {
                    let (_, discounted, total) =
                        discounted_path(model, &h.rft(i), &self.discounting);
                    combine(i, (discounted, total), e, v);
                });
        }
        let expected_purchases = finite_or_row("expected_purchases", expected_purchases)?;
        let clv = finite_or_row("clv", clv)?;
        Ok(ValueColumns {
            p_alive,
            expected_purchases,
            expected_spend: spend,
            clv,
        })
    }
}

impl<M: TransactionModel> crate::Score for Valuation<M> {
    type Record = CustomerSummary;
    type Output = CustomerValue;

    /// The value of one customer.
    ///
    /// # Errors
    /// As [`Score::score_batch`](crate::Score::score_batch), without a row.
    fn score(&self, customer: &CustomerSummary) -> Result<CustomerValue> {
        // The batch's answer for one customer without its machinery (sorting histories,
        // parallel passes, five allocations): a live service values one customer per event.
        let s = customer;
        if let Some(model) = self.model.unit()
            && model != s.unit
        {
            return Err(Error::UnitMismatch {
                model,
                data: s.unit,
            });
        }
        let expected_spend = self.spend.expected_spend(s.frequency, s.monetary)?;
        let (p, discounted, total) = discounted_path(&self.model, &Rft::from(s), &self.discounting);
        let v = CustomerValue {
            customer_id: s.customer_id.clone(),
            p_alive: p,
            expected_purchases: p * total,
            expected_spend,
            clv: expected_spend * p * discounted,
        };
        match overflowed(&v) {
            Some((quantity, value)) => Err(Error::Overflow {
                at: Position::default().with_customer(&v.customer_id),
                quantity,
                value,
            }),
            None => Ok(v),
        }
    }

    /// Values every customer, in parallel, in input order, independent of the thread count
    /// (each distinct history is computed once).
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] for the first inconsistent summary; [`Error::UnitMismatch`]
    /// when the summaries' unit is not the model's; the errors of
    /// [`GammaGamma::expected_spend`]; [`Error::Overflow`] naming the first customer whose
    /// value overflows (extreme parameters, a rate near −1).
    fn score_batch(&self, customers: &[CustomerSummary]) -> Result<Vec<CustomerValue>> {
        value_customers(&self.model, &self.spend, customers, &self.discounting)
    }
}

/// (Σ discounted purchases per step, total purchases over the horizon); P(alive) is computed
/// once and scales every step.
fn discounted_purchases(
    model: &dyn TransactionModel,
    c: &Rft,
    d: &Discounting,
) -> Result<(f64, f64)> {
    let (p, discounted, total) = discounted_path(model, c, d);
    Ok((p * discounted, p * total))
}

/// P(alive), and the discounted and total expected purchases over the horizon if alive.
///
/// The discounted sum stops early once the steps left cannot move it: while the expected
/// purchases per step do not grow (they shrink as the chance of having dropped out grows,
/// in every model here; the walk checks it), the rest of the sum is at most the last
/// increment times f + f² + … = f/(1 − f), f the discount factor per step. Long horizons
/// (10,000 monthly steps took minutes over the CDNOW sample) then cost what the discount
/// lets matter; the total is one evaluation at the end of the horizon.
fn discounted_path(model: &dyn TransactionModel, c: &Rft, d: &Discounting) -> (f64, f64, f64) {
    let steps = d.steps as usize;
    let end = steps as f64 * d.step;
    // Without discounting, the discounted sum is the total.
    if d.rate == 0.0 {
        let total = model.expected_purchases_if_alive(c, end);
        return (model.p_alive_value(c), total, total);
    }
    let f = 1.0 / (1.0 + d.rate);
    let tail_ratio = f / (1.0 - f);
    let mut prev = 0.0;
    let mut acc = 0.0;
    let mut factor = 1.0;
    let mut last_increment = f64::INFINITY;
    let mut shrinking = true;
    // Steps in blocks that fit on the stack: no allocation per customer.
    let mut ts = [0.0f64; BLOCK];
    let mut es = [0.0f64; BLOCK];
    let mut k0 = 1usize;
    while k0 <= steps {
        let n = (steps - k0 + 1).min(BLOCK);
        for (i, t) in ts[..n].iter_mut().enumerate() {
            *t = (k0 + i) as f64 * d.step;
        }
        model.expected_purchases_if_alive_path(c, &ts[..n], &mut es[..n]);
        for &e in &es[..n] {
            factor /= 1.0 + d.rate;
            let increment = e - prev;
            acc += increment * factor;
            prev = e;
            shrinking &= increment <= last_increment;
            last_increment = increment;
        }
        k0 += n;
        // A rate near −1 compounds the factor past f64 within a few steps (it grows by
        // 1/(1 + rate) a step): the discounted sum overflows whatever the steps left add, and
        // evaluating them all took seconds a customer. It is reported as infinite.
        let overflowed = !factor.is_finite();
        // A negative rate grows the factor: no tail bound, every step counts.
        let settled = k0 <= steps
            && d.rate > 0.0
            && shrinking
            && last_increment * factor * tail_ratio <= 1e-17 * acc;
        if overflowed || settled {
            let total = model.expected_purchases_if_alive(c, end);
            let discounted = if overflowed { f64::INFINITY } else { acc };
            return (model.p_alive_value(c), discounted, total);
        }
    }
    (model.p_alive_value(c), acc, prev)
}

/// Horizons evaluated together (the transaction models' path length).
const BLOCK: usize = 64;

/// Values every customer in parallel (see [`Valuation`]).
pub(crate) fn value_customers(
    model: &dyn TransactionModel,
    spend: &GammaGamma,
    customers: &[CustomerSummary],
    discounting: &Discounting,
) -> Result<Vec<CustomerValue>> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    // One validating pass: an invalid customer becomes a marker history, and the first one is
    // then reported in input order.
    let unit = model.unit();
    let invalid = |s: &CustomerSummary| {
        unit.is_some_and(|u| u != s.unit) || spend.expected_spend(s.frequency, s.monetary).is_err()
    };
    let marker = Rft::new(u32::MAX, 0.0, 0.0)?;
    // Buffers of millions of rows: in huge-page memory where the system allows (src/mem.rs).
    let mut rfts: Vec<Rft> = crate::mem::with_capacity(customers.len());
    customers
        .par_iter()
        .map(|s| if invalid(s) { marker } else { Rft::from(s) })
        .collect_into_vec(&mut rfts);
    if rfts.par_iter().any(|r| r.x() == u32::MAX) {
        check_summaries(unit, customers)?;
        if let Some(s) = customers
            .iter()
            .find(|s| spend.expected_spend(s.frequency, s.monetary).is_err())
        {
            spend.expected_spend(s.frequency, s.monetary)?;
        }
    }
    let paths = per_distinct_history(&rfts, |c| discounted_path(model, c, discounting));
    // Valid inputs can still overflow with extreme parameters or a rate near −1: an error
    // naming the customer, not an infinite CLV. Flagged as each value is made (a second scan
    // of millions of values costs a few percent), searched only when flagged.
    let broken = |v: &CustomerValue| {
        ![v.p_alive, v.expected_purchases, v.expected_spend, v.clv]
            .iter()
            .all(|x| x.is_finite())
    };
    let any_broken = AtomicBool::new(false);
    let mut values: Vec<CustomerValue> = crate::mem::with_capacity(customers.len());
    customers
        .par_iter()
        .zip(paths.par_iter())
        .map(|(s, &(p, discounted, total))| {
            // Validated above; the fallback is never taken.
            let expected_spend = spend.expected_spend(s.frequency, s.monetary).unwrap_or(0.0);
            let v = CustomerValue {
                customer_id: s.customer_id.clone(),
                p_alive: p,
                expected_purchases: p * total,
                expected_spend,
                clv: expected_spend * p * discounted,
            };
            if broken(&v) {
                any_broken.store(true, Ordering::Relaxed);
            }
            v
        })
        .collect_into_vec(&mut values);
    if !any_broken.load(Ordering::Relaxed) {
        return Ok(values);
    }
    if let Some(row) = values.par_iter().position_first(broken) {
        let v = &values[row];
        let (field, value) = overflowed(v).unwrap_or(("clv", v.clv));
        return Err(Error::Overflow {
            at: Position::at_row(row).with_customer(&v.customer_id),
            quantity: field,
            value,
        });
    }
    Ok(values)
}

/// The first quantity of a value that is not finite, with its value.
fn overflowed(v: &CustomerValue) -> Option<(&'static str, f64)> {
    [
        ("p_alive", v.p_alive),
        ("expected_purchases", v.expected_purchases),
        ("expected_spend", v.expected_spend),
        ("clv", v.clv),
    ]
    .into_iter()
    .find(|(_, x)| !x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stopping the discounted sum once the rest cannot count gives the full sum.
    #[test]
    fn early_stop_gives_the_full_discounted_sum() {
        let m = crate::clv::BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
        let d = Discounting::new(1.0, 3_000, 0.05).unwrap();
        for c in [
            Rft::new(0, 0.0, 38.9).unwrap(),
            Rft::new(2, 30.4, 38.9).unwrap(),
            Rft::new(12, 35.0, 38.9).unwrap(),
        ] {
            let (p, acc, total) = discounted_path(&m, &c, &d);
            let (mut full, mut prev, mut factor) = (0.0, 0.0, 1.0);
            for k in 1..=3_000 {
                let e = m.expected_purchases_if_alive(&c, k as f64);
                factor /= 1.05;
                full += (e - prev) * factor;
                prev = e;
            }
            assert!((acc - full).abs() <= 1e-14 * full, "{acc} vs {full}");
            assert!((total - prev).abs() <= 1e-14 * prev, "{total} vs {prev}");
            assert_eq!(p, m.p_alive(&c).unwrap());
        }
    }
}
