//! BG/NBD: the beta-geometric / negative binomial distribution model (Fader, Hardie & Lee
//! 2005, "Counting your customers the easy way", Marketing Science 24(2)).
//!
//! While alive, a customer buys at a Poisson rate λ; after each repeat purchase they drop out
//! with probability p. Across customers λ ~ Gamma(r, α) and p ~ Beta(a, b). A customer with no
//! repeat purchase has had no chance to drop out, so the model gives them P(alive) = 1.

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

/// A fitted BG/NBD model.
///
/// ```
/// use custseg::clv::{BgNbd, Rft, TransactionModel};
/// // The published CDNOW estimates (weeks).
/// let m = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?;
/// let c = Rft::new(2, 30.43, 38.86)?;
/// assert!((m.p_alive(&c) - 0.726609).abs() < 1e-5);
/// assert!((m.expected_purchases(&c, 39.0)? - 1.225910).abs() < 1e-5);
/// // A customer without repeat purchases is alive for BG/NBD.
/// assert_eq!(m.p_alive(&Rft::new(0, 0.0, 38.86)?), 1.0);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BgNbdRecord")]
pub struct BgNbd {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    unit: Option<TimeUnit>,
}

#[derive(Deserialize)]
struct BgNbdRecord {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    unit: Option<TimeUnit>,
}

impl TryFrom<BgNbdRecord> for BgNbd {
    type Error = Error;
    fn try_from(v: BgNbdRecord) -> Result<Self> {
        Ok(BgNbd {
            unit: v.unit,
            ..BgNbd::new(v.r, v.alpha, v.a, v.b)?
        })
    }
}

struct Lik;

/// ln L of one history (FHL 2005 eq. 6, with B(a, b + x) / B(a + 1, b + x − 1) = (b + x − 1)/a
/// folded in).
fn ll_one<R: Real>(p: &[R; 4], c: &Rft) -> R {
    let [r, alpha, a, b] = *p;
    let x = c.x() as f64;
    let ln_at = (alpha + c.big_t()).ln();
    let base = (r + x).ln_gamma() - r.ln_gamma() + r * alpha.ln() + ln_beta(a, b + x)
        - ln_beta(a, b)
        - (r + x) * ln_at;
    if c.x() == 0 {
        return base;
    }
    let z = a.ln() - (b + (x - 1.0)).ln() + (r + x) * (ln_at - (alpha + c.t_x()).ln());
    base + softplus(z)
}

impl Likelihood<4> for Lik {
    type Data = RftData;
    const NAME: &'static str = "BG/NBD";
    const PARAMS: [&'static str; 4] = ["r", "alpha", "a", "b"];

    /// ll_one summed, with every term that depends on x alone, or on one time alone,
    /// computed once per distinct value.
    fn total<R: Real + Send + Sync>(p: &[R; 4], d: &RftData) -> R {
        let [r, alpha, a, b] = *p;
        let ix = d.index();
        let per_x: Vec<(R, R)> = ix
            .xs
            .iter()
            .map(|&x| {
                let xf = x as f64;
                let base = (r + xf).ln_gamma() + ln_beta(a, b + xf);
                let odds = if x == 0 {
                    R::cst(0.0)
                } else {
                    a.ln() - (b + (xf - 1.0)).ln()
                };
                (base, odds)
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
            let mut v = base - rx * lat;
            if c.x() > 0 {
                v = v + softplus(odds + rx * (lat - ln_a_tx[k.t_x as usize]));
            }
            v * *w
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

beta_geometric_nbd_common!(BgNbd, Lik);

impl BgNbd {
    /// P(X(t) = n): the probability that a new customer makes n repeat purchases in (0, t]
    /// (FHL 2005 eq. 8).
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
        let first = (ln_beta(a, b + nf) - ln_beta(a, b) + ln_nb(r, alpha, t, n)).exp();
        if n == 0 {
            return Ok(first);
        }
        let second =
            (ln_beta(a + 1.0, b + nf - 1.0) - ln_beta(a, b)).exp() * nb_upper_tail(r, alpha, t, n);
        Ok(first + second)
    }
}

impl TransactionModel for BgNbd {
    fn name(&self) -> &'static str {
        "BG/NBD"
    }

    fn unit(&self) -> Option<TimeUnit> {
        self.unit
    }

    fn log_likelihood(&self, c: &Rft) -> f64 {
        ll_one(&self.values(), c)
    }

    // FHL (2005) eq. 11, as a logistic function of its log odds.
    fn p_alive(&self, c: &Rft) -> f64 {
        if c.x() == 0 {
            return 1.0;
        }
        let x = c.x() as f64;
        let z = self.a.ln() - (self.b + x - 1.0).ln()
            + (self.r + x) * ((self.alpha + c.big_t()).ln() - (self.alpha + c.t_x()).ln());
        1.0 / (1.0 + z.exp())
    }

    fn expected_purchases_if_alive(&self, c: &Rft, t: f64) -> f64 {
        let x = c.x() as f64;
        expected_alive(self.r + x, t / (self.alpha + c.big_t()), self.a, self.b + x)
    }

    fn expected_purchases_if_alive_path(&self, c: &Rft, ts: &[f64], out: &mut [f64]) {
        let x = c.x() as f64;
        let at = self.alpha + c.big_t();
        let us: Vec<f64> = ts.iter().map(|t| t / at).collect();
        expected_alive_path(self.r + x, &us, self.a, self.b + x, out);
    }

    // The number of further purchases before dropout is geometric with the posterior dropout
    // probability; each takes 1/λ on average, λ | history ~ Gamma(r + x, α + T), so
    // E[1/λ] = (α + T) / (r + x − 1) and E[1/p] = (a + b′ − 1) / (a − 1): finite only for
    // r + x > 1 and a > 1.
    fn remaining_lifetime_if_alive(&self, c: &Rft) -> Option<f64> {
        let x = c.x() as f64;
        let b_post = self.b + x;
        (self.r + x > 1.0 && self.a > 1.0).then(|| {
            (self.alpha + c.big_t()) / (self.r + x - 1.0) * (self.a + b_post - 1.0) / (self.a - 1.0)
        })
    }

    fn expected_purchases_new(&self, t: f64) -> Result<f64> {
        check_horizon(t)?;
        Ok(expected_alive(self.r, t / self.alpha, self.a, self.b))
    }
}
