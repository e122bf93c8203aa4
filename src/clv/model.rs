//! What every transaction model answers, and the batch versions of the answers.

use ndarray::{Array1, ArrayView1};
use rayon::prelude::*;

use super::data::Rft;
use crate::data::{CustomerSummary, TimeUnit};
use crate::error::{Error, Result};

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
    fn p_alive(&self, c: &Rft) -> f64;

    /// Expected purchases in (T, T + t] of a customer with this history who is alive at T;
    /// `t` finite and non-negative (callers check).
    fn expected_purchases_if_alive(&self, c: &Rft, t: f64) -> f64;

    /// Expected purchases in (T, T + t] given the history (the conditional expectation,
    /// P(alive) times the expectation if alive).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `t` is negative or not finite.
    fn expected_purchases(&self, c: &Rft, t: f64) -> Result<f64> {
        check_horizon(t)?;
        Ok(self.p_alive(c) * self.expected_purchases_if_alive(c, t))
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
    /// when the summaries' unit differs from the model's.
    fn p_alive_batch(&self, customers: &[CustomerSummary]) -> Result<Vec<f64>> {
        let rfts = rfts_of(self.unit(), customers)?;
        Ok(rfts.par_iter().map(|c| self.p_alive(c)).collect())
    }

    /// Expected purchases in the next `t` of many customers.
    ///
    /// # Errors
    /// As [`TransactionModel::p_alive_batch`] and [`TransactionModel::expected_purchases`].
    fn expected_purchases_batch(&self, customers: &[CustomerSummary], t: f64) -> Result<Vec<f64>> {
        check_horizon(t)?;
        let rfts = rfts_of(self.unit(), customers)?;
        rfts.par_iter()
            .map(|c| self.expected_purchases(c, t))
            .collect()
    }

    /// P(alive) over columns x, t_x, T (ndarray views, one customer per index).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`]; [`Error::InvalidRecord`] for the first inconsistent row
    /// (x must be a non-negative integer).
    fn p_alive_view(
        &self,
        x: ArrayView1<'_, f64>,
        t_x: ArrayView1<'_, f64>,
        big_t: ArrayView1<'_, f64>,
    ) -> Result<Array1<f64>> {
        let rfts = rfts_of_columns(x, t_x, big_t)?;
        Ok(Array1::from(
            rfts.par_iter().map(|c| self.p_alive(c)).collect::<Vec<_>>(),
        ))
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
        Ok(Array1::from(
            rfts.par_iter()
                .map(|c| self.p_alive(c) * self.expected_purchases_if_alive(c, t))
                .collect::<Vec<_>>(),
        ))
    }
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

/// Validated histories of summaries, checking the unit against the model's.
pub(crate) fn rfts_of(unit: Option<TimeUnit>, customers: &[CustomerSummary]) -> Result<Vec<Rft>> {
    if let (Some(model), Some(s)) = (unit, customers.iter().find(|s| Some(s.unit) != unit)) {
        return Err(Error::UnitMismatch {
            model,
            data: s.unit,
        });
    }
    customers.iter().map(Rft::try_from).collect()
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
                    customer: format!("row {i}"),
                    reason: format!("x = {xi} is not a non-negative whole number"),
                });
            }
            Rft::new(xi as u32, t_x[i], big_t[i]).map_err(|e| match e {
                Error::InvalidRecord { reason, .. } => Error::InvalidRecord {
                    customer: format!("row {i}"),
                    reason,
                },
                other => other,
            })
        })
        .collect()
}
