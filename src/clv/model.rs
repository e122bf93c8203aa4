//! What every transaction model answers, and the batch versions of the answers.

use ndarray::{Array1, ArrayView1};
use rayon::prelude::*;

use super::columns::{CHUNK, HistoryColumns, XAgeKeys, all_finite, check_output};
use super::data::Rft;
use crate::data::{CustomerSummary, TimeUnit};
use crate::error::{Error, Position, Result, finite_or_overflow};

/// A fitted model of the number of purchases of a customer base (BG/NBD, MBG/NBD,
/// Pareto/NBD): the per-customer predictions the CLV and churn scorers build on.
///
/// Times are in the unit the model was fitted in. Batch methods run in parallel, return
/// results in input order, and do not depend on the number of threads.
pub trait TransactionModel: Sync {
    /// The model's name.
    fn name(&self) -> &'static str;

    /// The time unit of the data it was fitted on, when known.
    fn unit(&self) -> Option<TimeUnit>;

    /// Log-likelihood of one customer's history, constants included.
    fn log_likelihood(&self, c: &Rft) -> f64;

    /// P(alive): the probability that the customer has not dropped out by T.
    ///
    /// # Errors
    /// [`Error::Overflow`] when extreme parameters leave it undefined (the batch form reports
    /// the same customer the same way).
    fn p_alive(&self, c: &Rft) -> Result<f64> {
        finite_or_overflow("P(alive)", self.p_alive_value(c))
    }

    /// P(alive) as computed, NaN where extreme parameters leave it undefined: the model's
    /// hook, which the checked [`TransactionModel::p_alive`] and the batch forms call.
    fn p_alive_value(&self, c: &Rft) -> f64;

    /// Expected purchases in (T, T + t] of a customer with this history who is alive at T;
    /// `t` finite and non-negative (callers check).
    fn expected_purchases_if_alive(&self, c: &Rft, t: f64) -> f64;

    /// [`TransactionModel::expected_purchases_if_alive`] at several horizons into `out` (models
    /// may share work between horizons).
    fn expected_purchases_if_alive_path(&self, c: &Rft, ts: &[f64], out: &mut [f64]) {
        for (o, &t) in out.iter_mut().zip(ts) {
            *o = self.expected_purchases_if_alive(c, t);
        }
    }

    /// Expected remaining lifetime of a customer with this history who is alive at T, in the
    /// model's time unit, where the model gives a finite one (`None` otherwise; the default).
    fn remaining_lifetime_if_alive(&self, c: &Rft) -> Option<f64> {
        let _ = c;
        None
    }

    /// Expected purchases in (T, T + t] given the history (the conditional expectation,
    /// P(alive) times the expectation if alive).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `t` is negative or not finite; [`Error::Overflow`]
    /// when extreme parameters leave the value undefined.
    fn expected_purchases(&self, c: &Rft, t: f64) -> Result<f64> {
        check_horizon(t)?;
        let e = self.p_alive_value(c) * self.expected_purchases_if_alive(c, t);
        finite_or_overflow("expected purchases", e)
    }

    /// P(X(t) = n): the probability that a customer just acquired makes n repeat purchases
    /// in (0, t] (the first purchase at 0 not counted) — FHL 2005 eq. 8 for BG/NBD, its
    /// MBG/NBD form, and the Pareto/NBD sum of the alive and dropped-out cases.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `t` is negative or not finite; [`Error::Solver`] when
    /// a tail sum does not converge; [`Error::Overflow`].
    fn probability_of_purchases_new(&self, t: f64, n: u32) -> Result<f64>;

    /// The probability that a customer alive at T is still alive at T + t (the model's hook
    /// for [`TransactionModel::p_alive_at`]); `t` finite and non-negative (callers check).
    fn survival_if_alive(&self, c: &Rft, t: f64) -> f64;

    /// P(alive) at a future time: the probability that the customer has not dropped out by
    /// T + t, given the history at T — P(alive at T) times the chance of surviving t more.
    /// Falls as t grows, from [`TransactionModel::p_alive`] at t = 0.
    ///
    /// ```
    /// use custseg::clv::{ParetoNbd, Rft, TransactionModel};
    /// let m = ParetoNbd::new(0.5533, 10.5776, 0.6062, 11.6680)?;
    /// let c = Rft::new(2, 30.43, 38.86)?;
    /// let now = m.p_alive(&c)?;
    /// let in_a_year = m.p_alive_at(&c, 52.0)?;
    /// assert!(in_a_year < now && m.p_alive_at(&c, 0.0)? == now);
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `t` is negative or not finite; [`Error::Overflow`]
    /// when extreme parameters leave the value undefined.
    fn p_alive_at(&self, c: &Rft, t: f64) -> Result<f64> {
        check_horizon(t)?;
        let p = self.p_alive_value(c) * self.survival_if_alive(c, t);
        Ok(finite_or_overflow("P(alive)", p)?.clamp(0.0, 1.0))
    }

    /// P(X(T, T + t] = n | alive at T): the distribution of the purchases of a customer with
    /// this history who is alive at T (the model's hook for
    /// [`TransactionModel::conditional_probability_of_purchases`]).
    ///
    /// # Errors
    /// [`Error::Solver`] when a tail sum does not converge; [`Error::Overflow`].
    fn probability_of_purchases_if_alive(&self, c: &Rft, t: f64, n: u32) -> Result<f64>;

    /// P(X(T, T + t] = n | history): the probability that a customer with this history makes
    /// exactly n purchases in the next `t` — alive at T and n purchases, or (for n = 0)
    /// dropped out already. Summed over n it is 1, and its mean is
    /// [`TransactionModel::expected_purchases`]. lifetimes calls it
    /// `conditional_probability_of_n_purchases_up_to_time` (Pareto/NBD only).
    ///
    /// ```
    /// use custseg::clv::{BgNbd, Rft, TransactionModel};
    /// let m = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?;
    /// let c = Rft::new(2, 30.43, 38.86)?;
    /// let p: Vec<f64> = (0..200)
    ///     .map(|n| m.conditional_probability_of_purchases(&c, 39.0, n))
    ///     .collect::<Result<_, _>>()?;
    /// let mean: f64 = p.iter().enumerate().map(|(n, p)| n as f64 * p).sum();
    /// assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    /// assert!((mean - m.expected_purchases(&c, 39.0)?).abs() < 1e-10);
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `t` is negative or not finite; as
    /// [`TransactionModel::probability_of_purchases_if_alive`].
    fn conditional_probability_of_purchases(&self, c: &Rft, t: f64, n: u32) -> Result<f64> {
        check_horizon(t)?;
        let p = self.p_alive_value(c);
        let if_alive = self.probability_of_purchases_if_alive(c, t, n)?;
        let dead = if n == 0 { 1.0 - p } else { 0.0 };
        Ok(finite_or_overflow("P(X(t) = n)", p * if_alive + dead)?.clamp(0.0, 1.0))
    }

    /// The discounted expected residual transactions of a customer alive at T (the model's
    /// hook for [`TransactionModel::dert`]); `rate` finite and positive (callers check). By
    /// default δ ∫₀^∞ e^(−δt) E[X(T, T + t] | alive] dt by quadrature; models with a closed
    /// form, or a series where the quadrature struggles, override it.
    ///
    /// # Errors
    /// [`Error::Solver`] when the quadrature does not settle within its budget.
    fn dert_if_alive(&self, c: &Rft, rate: f64) -> Result<f64> {
        dert_by_quadrature(self, c, rate)
    }

    /// DERT, the discounted expected residual transactions: every future purchase of the
    /// customer counted at its present value, e^(−δt) for a purchase t from now, with `rate`
    /// δ the continuous discount rate per time unit of the model — for an annual rate d and
    /// weekly data, δ = ln(1 + d) / 52. Times a margin per transaction it is the customer's
    /// residual lifetime value (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value
    /// curves"). Closed form for Pareto/NBD (their eq. 2), quadrature of the expected
    /// purchases for BG/NBD and MBG/NBD (no closed form is published; at rates so high that
    /// only the first instants count, the expectation's series integrated term by term);
    /// tests check one against the other.
    ///
    /// ```
    /// use custseg::clv::{ParetoNbd, Rft, TransactionModel};
    /// let m = ParetoNbd::new(0.5533, 10.5776, 0.6062, 11.6680)?;
    /// let fifteen_percent_a_year = 1.15f64.ln() / 52.0;
    /// let dert = m.dert(&Rft::new(2, 30.43, 38.86)?, fifteen_percent_a_year)?;
    /// // More than the next two years' purchases, less than an undiscounted forever.
    /// assert!(dert > m.expected_purchases(&Rft::new(2, 30.43, 38.86)?, 104.0)?);
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `rate` is finite and positive; [`Error::Overflow`]
    /// when the value is not finite (a model whose customers never drop out, at a rate so
    /// small that the sum has no finite value in floating point).
    fn dert(&self, c: &Rft, rate: f64) -> Result<f64> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(Error::InvalidParameter {
                name: "rate",
                value: rate.to_string(),
                reason: "a continuous discount rate must be finite and positive".into(),
            });
        }
        finite_or_overflow("DERT", self.p_alive_value(c) * self.dert_if_alive(c, rate)?)
    }

    /// Expected purchases in (0, t] of a customer just acquired (unconditional; the first
    /// purchase at 0 not counted).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `t` is negative or not finite.
    fn expected_purchases_new(&self, t: f64) -> Result<f64>;

    /// P(alive) of many customers.
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] for the first inconsistent summary; [`Error::UnitMismatch`]
    /// when the summaries' unit differs from the model's; [`Error::Overflow`] naming the
    /// first customer for whom the model overflows (extreme parameters).
    fn p_alive_batch(&self, customers: &[CustomerSummary]) -> Result<Vec<f64>> {
        let unit = self.unit();
        one_pass("P(alive)", unit, customers, |c| self.p_alive_value(c))
    }

    /// Expected purchases in the next `t` of many customers.
    ///
    /// # Errors
    /// As [`TransactionModel::p_alive_batch`] and [`TransactionModel::expected_purchases`].
    fn expected_purchases_batch(&self, customers: &[CustomerSummary], t: f64) -> Result<Vec<f64>> {
        check_horizon(t)?;
        one_pass("expected purchases", self.unit(), customers, |c| {
            self.p_alive_value(c) * self.expected_purchases_if_alive(c, t)
        })
    }

    /// Whether [`TransactionModel::expected_purchases_if_alive`] depends on a history through
    /// x and T only (not t_x), as in BG/NBD, MBG/NBD and Pareto/NBD: columnar scoring then
    /// computes it once per distinct (x, T). False unless a model says so.
    fn alive_expectation_by_x_and_age(&self) -> bool {
        false
    }

    /// P(alive) over [`HistoryColumns`], in parallel, in row order: the batch form without
    /// reading whole summaries; the same values as [`TransactionModel::p_alive_batch`].
    ///
    /// # Errors
    /// [`Error::UnitMismatch`] when the columns' unit is known and not the model's;
    /// [`Error::Overflow`] naming the first row whose P(alive) is not finite.
    ///
    /// A model with a faster columnar P(alive) overrides
    /// [`TransactionModel::p_alive_columns_into`], which this form and the expected
    /// purchases' both call.
    fn p_alive_columns(&self, h: &HistoryColumns<'_>) -> Result<Vec<f64>> {
        // Fresh zeros cost no pass: the pages are mapped (2 MiB at a time where the kernel
        // allows) as the scoring writes them.
        let mut out = crate::mem::zeros(h.len());
        self.p_alive_columns_into(h, &mut out)?;
        Ok(out)
    }

    /// [`TransactionModel::p_alive_columns`] written into `out`, one value per row, for a
    /// service that scores column after column into the same buffer: a fresh column costs
    /// the kernel's mapping and clearing of its memory on every call, at ten million values
    /// a fifth to a quarter of the call on a two-core machine (`cargo bench --bench clv`).
    ///
    /// ```
    /// use custseg::clv::{BgNbd, HistoryColumns, TransactionModel};
    /// let m = BgNbd::new(0.243, 4.414, 0.793, 2.426)?;
    /// let mut p = vec![0.0; 3];
    /// for t in [38.9, 40.0] {
    ///     let age = [t; 3];
    ///     let h = HistoryColumns::new(&[0, 2, 7], &[0.0, 30.4, 35.0], &age)?;
    ///     m.p_alive_columns_into(&h, &mut p)?;
    ///     assert_eq!(p, m.p_alive_columns(&h)?);
    /// }
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::UnitMismatch`] as [`TransactionModel::p_alive_columns`]; then
    /// [`Error::LengthMismatch`] (`what: "output"`) when `out` does not have a value per row;
    /// then [`Error::Overflow`] naming the first row whose P(alive) is not finite. After an
    /// error `out` holds unspecified values.
    fn p_alive_columns_into(&self, h: &HistoryColumns<'_>, out: &mut [f64]) -> Result<()> {
        h.check_unit(self.unit())?;
        check_output(h, out)?;
        out.par_iter_mut()
            .enumerate()
            .for_each(|(i, p)| *p = self.p_alive_value(&h.rft(i)));
        all_finite("P(alive)", out)
    }

    /// Expected purchases in the next `t` over [`HistoryColumns`]: P(alive) per customer
    /// times the expectation if alive, computed once per distinct (x, T) where
    /// [`TransactionModel::alive_expectation_by_x_and_age`] says it may be.
    ///
    /// # Errors
    /// As [`TransactionModel::p_alive_columns`]; [`Error::InvalidParameter`] for a horizon
    /// that is negative or not finite.
    fn expected_purchases_columns(&self, h: &HistoryColumns<'_>, t: f64) -> Result<Vec<f64>> {
        let mut out = crate::mem::zeros(h.len());
        self.expected_purchases_columns_into(h, t, &mut out)?;
        Ok(out)
    }

    /// [`TransactionModel::expected_purchases_columns`] written into `out`, one value per
    /// row (as [`TransactionModel::p_alive_columns_into`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for the horizon, then as
    /// [`TransactionModel::p_alive_columns_into`] (the unit, the buffer's length, a P(alive)
    /// that is not finite), then [`Error::Overflow`] naming the first row whose expectation
    /// is not finite. After an error `out` holds unspecified values.
    fn expected_purchases_columns_into(
        &self,
        h: &HistoryColumns<'_>,
        t: f64,
        out: &mut [f64],
    ) -> Result<()> {
        check_horizon(t)?;
        self.p_alive_columns_into(h, out)?;
        if self.alive_expectation_by_x_and_age() {
            let keys = XAgeKeys::new(h);
            let alive = keys.values(|x, big_t| {
                self.expected_purchases_if_alive(&Rft::new_unchecked(x, 0.0, big_t), t)
            });
            out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, p)| {
                for (p, k) in p.iter_mut().zip(keys.chunk(c)) {
                    *p *= alive[k];
                }
            });
        } else {
            out.par_iter_mut().enumerate().for_each(|(i, p)| {
                *p *= self.expected_purchases_if_alive(&h.rft(i), t);
            });
        }
        all_finite("expected purchases", out)
    }

    /// P(alive) over columns x, t_x, T (ndarray views, one customer per index).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`]; [`Error::InvalidRecord`] for the first inconsistent row
    /// (x must be a non-negative integer); [`Error::Overflow`] naming the first row whose
    /// P(alive) is not finite (extreme parameters), as the batch form does. Columns carry no
    /// unit, so no unit is checked.
    fn p_alive_view(
        &self,
        x: ArrayView1<'_, f64>,
        t_x: ArrayView1<'_, f64>,
        big_t: ArrayView1<'_, f64>,
    ) -> Result<Array1<f64>> {
        let rfts = rfts_of_columns(x, t_x, big_t)?;
        finite_column(
            "P(alive)",
            rfts.par_iter().map(|c| self.p_alive_value(c)).collect(),
        )
    }

    /// Expected purchases in the next `t` over columns x, t_x, T.
    ///
    /// # Errors
    /// As [`TransactionModel::p_alive_view`] and [`TransactionModel::expected_purchases`].
    fn expected_purchases_view(
        &self,
        x: ArrayView1<'_, f64>,
        t_x: ArrayView1<'_, f64>,
        big_t: ArrayView1<'_, f64>,
        t: f64,
    ) -> Result<Array1<f64>> {
        check_horizon(t)?;
        let rfts = rfts_of_columns(x, t_x, big_t)?;
        finite_column(
            "expected purchases",
            rfts.par_iter()
                .map(|c| self.p_alive_value(c) * self.expected_purchases_if_alive(c, t))
                .collect(),
        )
    }
}

/// δ ∫₀^∞ e^(−δt) E[X(T, T + t] | alive] dt (integration by parts of the discounted
/// purchase rate), as ∫₀¹ E[X(−ln(v)/δ)] dv by tanh-sinh quadrature in v = e^(−δt), which
/// concentrates nodes where the integrand varies (v near 1, the near future) and handles
/// its growth at v → 0 (the far future) as an endpoint singularity.
///
/// At most 5 refinements (about 256 evaluations of the expectation): smooth integrands
/// settle in 3 or 4, and at extreme parameters one expectation can itself be a quadrature of
/// a millisecond, so an integrand that has not settled by then is reported rather than
/// refined for seconds.
pub(crate) fn dert_by_quadrature<M: TransactionModel + ?Sized>(
    m: &M,
    c: &Rft,
    rate: f64,
) -> Result<f64> {
    let (ln, settled): (f64, bool) =
        crate::special::tanh_sinh_levels(0.0, 1.0, 5, |v, from_0, to_1| {
            // t = −ln(v)/δ, accurate at both ends from the distances.
            let t = if v < 0.5 {
                -from_0.ln() / rate
            } else {
                -(-to_1).ln_1p() / rate
            };
            m.expected_purchases_if_alive(c, t).ln()
        });
    if settled {
        Ok(ln.exp())
    } else {
        Err(Error::Solver {
            model: m.name(),
            reason: format!("DERT at rate {rate} did not settle for {c:?}"),
        })
    }
}

/// Evaluates `f` once per distinct history and returns its value for every customer, in input
/// order. Customers share histories often (everyone acquired on one day without a repeat
/// purchase has the same one); where `f` is expensive — a CLV's path of conditional
/// expectations — finding the distinct histories (a parallel sort) pays for itself.
pub(crate) fn per_distinct_history<T: Copy + Send + Sync>(
    rfts: &[Rft],
    f: impl Fn(&Rft) -> T + Sync,
) -> Vec<T> {
    // Buffers of millions of rows: in huge-page memory where the system allows (src/mem.rs).
    let mut keys: Vec<(u32, u64, u64, u32)> = crate::mem::with_capacity(rfts.len());
    rfts.par_iter()
        .enumerate()
        .map(|(i, r)| (r.x(), r.t_x().to_bits(), r.big_t().to_bits(), i as u32))
        .collect_into_vec(&mut keys);
    keys.par_sort_unstable();
    // Group starts: where (x, t_x, T) changes along the sorted keys.
    let starts: Vec<usize> = (0..keys.len())
        .into_par_iter()
        .filter(|&i| {
            i == 0
                || keys[i].0 != keys[i - 1].0
                || keys[i].1 != keys[i - 1].1
                || keys[i].2 != keys[i - 1].2
        })
        .collect();
    let values: Vec<T> = starts
        .par_iter()
        .map(|&s| f(&rfts[keys[s].3 as usize]))
        .collect();
    let mut group: Vec<u32> = crate::mem::zeros(rfts.len());
    let mut g = 0usize;
    for (i, k) in keys.iter().enumerate() {
        if g + 1 < starts.len() && starts[g + 1] == i {
            g += 1;
        }
        group[k.3 as usize] = g as u32;
    }
    let mut out = crate::mem::with_capacity(group.len());
    group
        .par_iter()
        .map(|&g| values[g as usize])
        .collect_into_vec(&mut out);
    out
}

/// Checks a prediction horizon.
pub(crate) fn check_horizon(t: f64) -> Result<()> {
    if t.is_finite() && t >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "t",
            value: t.to_string(),
            reason: "a horizon must be finite and not negative".into(),
        })
    }
}

/// `f` of every customer in one parallel pass over the summaries (they are large, and reading
/// them is much of the cost; they are valid by construction, so only the unit is checked): a
/// summary in another unit yields NaN and is then reported; a non-finite value (the model
/// overflowing at extreme parameters or histories) is reported as [`Error::Overflow`].
pub(crate) fn one_pass(
    quantity: &'static str,
    unit: Option<TimeUnit>,
    customers: &[CustomerSummary],
    f: impl Fn(&Rft) -> f64 + Sync,
) -> Result<Vec<f64>> {
    let mut out: Vec<f64> = crate::mem::with_capacity(customers.len());
    customers
        .par_iter()
        .map(|s| {
            if unit.is_some_and(|u| u != s.unit) {
                f64::NAN
            } else {
                f(&Rft::from(s))
            }
        })
        .collect_into_vec(&mut out);
    if out.par_iter().any(|v| !v.is_finite()) {
        check_summaries(unit, customers)?;
        // Every summary is in the model's unit: the model itself overflowed (extreme
        // parameters or histories). Report the customer rather than return the value.
        if let Some(row) = out.iter().position(|v| !v.is_finite()) {
            return Err(Error::Overflow {
                at: Position::at_row(row).with_customer(&customers[row].customer_id),
                quantity,
                value: out[row],
            });
        }
    }
    Ok(out)
}

/// Checks that every summary is in the model's unit (summaries are otherwise valid by
/// construction), reporting the first that is not.
pub(crate) fn check_summaries(unit: Option<TimeUnit>, customers: &[CustomerSummary]) -> Result<()> {
    if let Some(model) = unit
        && let Some(s) = customers.par_iter().find_first(|s| s.unit != model)
    {
        return Err(Error::UnitMismatch {
            model,
            data: s.unit,
        });
    }
    Ok(())
}

/// The column, or [`Error::Overflow`] naming its first non-finite row.
fn finite_column(quantity: &'static str, values: Vec<f64>) -> Result<Array1<f64>> {
    match values.par_iter().position_first(|v| !v.is_finite()) {
        Some(row) => Err(Error::Overflow {
            at: Position::at_row(row),
            quantity,
            value: values[row],
        }),
        None => Ok(Array1::from(values)),
    }
}

fn rfts_of_columns(
    x: ArrayView1<'_, f64>,
    t_x: ArrayView1<'_, f64>,
    big_t: ArrayView1<'_, f64>,
) -> Result<Vec<Rft>> {
    let n = x.len();
    for (what, got) in [("t_x", t_x.len()), ("T", big_t.len())] {
        if got != n {
            return Err(Error::LengthMismatch {
                what,
                expected: n,
                got,
            });
        }
    }
    (0..n)
        .map(|i| {
            let xi = x[i];
            if !(xi.is_finite() && xi >= 0.0 && xi.fract() == 0.0 && xi <= u32::MAX as f64) {
                return Err(Error::InvalidRecord {
                    at: Position::at_row(i).with_column("x"),
                    reason: format!("x = {xi} is not a non-negative whole number"),
                });
            }
            Rft::new(xi as u32, t_x[i], big_t[i]).map_err(|e| e.amend(|at| at.with_row(i)))
        })
        .collect()
}
