//! MBG/NBD: the modified BG/NBD (Batislam, Denizel & Filiztekin 2007, "Empirical validation
//! and comparison of models for customer base analysis", IJRM 24(3)).
//!
//! As BG/NBD, except that a customer may also drop out right after the first purchase, so a
//! customer with no repeat purchase does not get P(alive) = 1: their P(alive) falls with the
//! time since that purchase.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::btyd::{
    beta_geometric_nbd_common, expected_alive, expected_alive_path, ln_nb, nb_upper_tail, softplus,
};
use super::check_positive;
use super::data::{Rft, RftData};
use super::fit::{FitReport, Likelihood, MaxLikelihood, fit, par_sum};
use super::model::{TransactionModel, check_horizon};
use crate::data::TimeUnit;
use crate::error::{Error, Result};
use crate::special::{Real, ln_beta};

/// A fitted MBG/NBD model.
///
/// ```
/// use custseg::clv::{MbgNbd, Rft, TransactionModel};
/// // The CDNOW estimates (weeks), as lifetimes fits them.
/// let m = MbgNbd::new(0.5248, 6.1830, 0.8914, 1.6140)?;
/// let one_timer = Rft::new(0, 0.0, 38.86)?;
/// // Unlike BG/NBD, a customer without repeat purchases may have dropped out.
/// assert!(m.p_alive(&one_timer) < 1.0);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MbgNbdRecord")]
pub struct MbgNbd {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    unit: Option<TimeUnit>,
}

#[derive(Deserialize)]
struct MbgNbdRecord {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    unit: Option<TimeUnit>,
}

impl TryFrom<MbgNbdRecord> for MbgNbd {
    type Error = Error;
    fn try_from(v: MbgNbdRecord) -> Result<Self> {
        Ok(MbgNbd {
            unit: v.unit,
            ..MbgNbd::new(v.r, v.alpha, v.a, v.b)?
        })
    }
}

struct Lik;

/// ln L of one history (Batislam et al. 2007: as BG/NBD with b + x + 1 in place of b + x, the
/// second term present for every x, B(a, b + x + 1) / B(a + 1, b + x) = (b + x)/a folded in).
fn ll_one<R: Real>(p: &[R; 4], c: &Rft) -> R {
    let [r, alpha, a, b] = *p;
    let x = c.x() as f64;
    let ln_at = (alpha + c.big_t()).ln();
    let base = (r + x).ln_gamma() - r.ln_gamma() + r * alpha.ln() + ln_beta(a, b + (x + 1.0))
        - ln_beta(a, b)
        - (r + x) * ln_at;
    let z = a.ln() - (b + x).ln() + (r + x) * (ln_at - (alpha + c.t_x()).ln());
    base + softplus(z)
}

impl Likelihood<4> for Lik {
    type Data = RftData;
    const NAME: &'static str = "MBG/NBD";
    const PARAMS: [&'static str; 4] = ["r", "alpha", "a", "b"];

    /// ll_one summed, terms of x alone or of one time alone computed once per value.
    fn total<R: Real + Send + Sync>(p: &[R; 4], d: &RftData) -> R {
        let [r, alpha, a, b] = *p;
        let ix = d.index();
        let per_x: Vec<(R, R)> = ix
            .xs
            .iter()
            .map(|&x| {
                let xf = x as f64;
                let base = (r + xf).ln_gamma() + ln_beta(a, b + (xf + 1.0));
                (base, a.ln() - (b + xf).ln())
            })
            .collect();
        let ln_a_t: Vec<R> = ix.big_ts.par_iter().map(|&t| (alpha + t).ln()).collect();
        let ln_a_tx: Vec<R> = ix.t_xs.par_iter().map(|&t| (alpha + t).ln()).collect();
        let rows = d.rows();
        let sum = par_sum(rows.len(), |i| {
            let (c, w) = &rows[i];
            let k = ix.rows[i];
            let (base, odds) = per_x[k.x as usize];
            let rx = r + c.x() as f64;
            let lat = ln_a_t[k.big_t as usize];
            (base - rx * lat + softplus(odds + rx * (lat - ln_a_tx[k.t_x as usize]))) * *w
        });
        sum + (-r.ln_gamma() + r * alpha.ln() - ln_beta(a, b)) * d.customers()
    }

    fn weight(d: &RftData) -> f64 {
        d.customers()
    }

    fn rows(d: &RftData) -> usize {
        d.rows().len()
    }
}

beta_geometric_nbd_common!(MbgNbd, Lik);

impl MbgNbd {
    /// P(X(t) = n): the probability that a new customer makes n repeat purchases in (0, t]
    /// (Batislam et al. 2007; dropout possible after the first purchase).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `t` is negative or not finite.
    pub fn probability_of_purchases(&self, t: f64, n: u32) -> Result<f64> {
        check_horizon(t)?;
        if t == 0.0 {
            return Ok(if n == 0 { 1.0 } else { 0.0 });
        }
        let (r, alpha, a, b) = (self.r, self.alpha, self.a, self.b);
        let nf = n as f64;
        let first = (ln_beta(a, b + nf + 1.0) - ln_beta(a, b) + ln_nb(r, alpha, t, n)).exp();
        let second =
            (ln_beta(a + 1.0, b + nf) - ln_beta(a, b)).exp() * nb_upper_tail(r, alpha, t, n);
        Ok(first + second)
    }
}

impl TransactionModel for MbgNbd {
    fn name(&self) -> &'static str {
        "MBG/NBD"
    }

    fn unit(&self) -> Option<TimeUnit> {
        self.unit
    }

    fn log_likelihood(&self, c: &Rft) -> f64 {
        ll_one(&self.values(), c)
    }

    // Batislam et al. (2007), as a logistic function of its log odds.
    fn p_alive(&self, c: &Rft) -> f64 {
        let x = c.x() as f64;
        let z = self.a.ln() - (self.b + x).ln()
            + (self.r + x) * ((self.alpha + c.big_t()).ln() - (self.alpha + c.t_x()).ln());
        1.0 / (1.0 + z.exp())
    }

    fn expected_purchases_if_alive(&self, c: &Rft, t: f64) -> f64 {
        let x = c.x() as f64;
        expected_alive(
            self.r + x,
            t / (self.alpha + c.big_t()),
            self.a,
            self.b + x + 1.0,
        )
    }

    fn expected_purchases_if_alive_path(&self, c: &Rft, ts: &[f64], out: &mut [f64]) {
        let x = c.x() as f64;
        let at = self.alpha + c.big_t();
        let us: Vec<f64> = ts.iter().map(|t| t / at).collect();
        expected_alive_path(self.r + x, &us, self.a, self.b + x + 1.0, out);
    }

    // The number of further purchases before dropout is geometric with the posterior dropout
    // probability; each takes 1/λ on average, λ | history ~ Gamma(r + x, α + T), so
    // E[1/λ] = (α + T) / (r + x − 1) and E[1/p] = (a + b′ − 1) / (a − 1): finite only for
    // r + x > 1 and a > 1.
    fn remaining_lifetime_if_alive(&self, c: &Rft) -> Option<f64> {
        let x = c.x() as f64;
        let b_post = self.b + x + 1.0;
        (self.r + x > 1.0 && self.a > 1.0).then(|| {
            (self.alpha + c.big_t()) / (self.r + x - 1.0) * (self.a + b_post - 1.0) / (self.a - 1.0)
        })
    }

    fn expected_purchases_new(&self, t: f64) -> Result<f64> {
        check_horizon(t)?;
        // Alive after the first purchase with probability b / (a + b), then p ~ Beta(a, b + 1).
        let survive = self.b / (self.a + self.b);
        Ok(survive * expected_alive(self.r, t / self.alpha, self.a, self.b + 1.0))
    }
}
