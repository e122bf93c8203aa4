//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987, "Counting your customers: who are they
//! and what will they do next?", Management Science 33(1)).
//!
//! While alive, a customer buys at a Poisson rate λ; their lifetime is exponential with rate
//! μ, so they can drop out at any moment, not only after a purchase. Across customers
//! λ ~ Gamma(r, α) and μ ~ Gamma(s, β).
//!
//! **Numerics.** The likelihood is usually written with Gauss hypergeometric functions whose
//! difference cancels (Fader & Hardie 2005, "A note on deriving the Pareto/NBD model", eq. 18).
//! We use the equivalent form
//!
//! L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^−(r+x) (β+T)^−s + s·I ],
//! I = ∫_{t_x}^{T} (α+τ)^−(r+x) (β+τ)^−(s+1) dτ,
//!
//! (the customer is alive at T, or dropped out at some τ after the last purchase), so both
//! terms are positive and combine in log space. I is the difference of the antiderivative
//! (α+y)^−(r+s+x) ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+y)) / (r+s+x) at t_x and T (roles of α, β
//! swapped when β > α), whose ₂F₁ after Euler's transformation is a series of positive terms
//! with ratio below the argument; where that series would be long (argument near 1), I is
//! integrated directly by tanh-sinh quadrature instead. Both paths work on logarithms, so no
//! valid input gives NaN or infinity.

use serde::{Deserialize, Serialize};

use super::check_positive;
use super::data::{Rft, RftData};
use super::fit::{FitReport, LIKELIHOOD_CHUNK, Likelihood, MaxLikelihood, fit};
use super::model::{TransactionModel, check_horizon};
use crate::data::TimeUnit;
use crate::error::{Error, Result, finite_or_overflow};
use crate::par::{map_collect, ordered_sum};
use crate::special::{Real, hyp2f1_unit, log_add_exp, log_sub_exp, tanh_sinh};

/// Terms a hypergeometric series may take before quadrature is cheaper.
const SERIES_TERMS: usize = 400;

/// A fitted Pareto/NBD model.
///
/// ```
/// use custseg::clv::{ParetoNbd, Rft, TransactionModel};
/// // The published CDNOW estimates (weeks).
/// let m = ParetoNbd::new(0.5533, 10.5776, 0.6062, 11.6680)?;
/// let c = Rft::new(2, 30.43, 38.86)?;
/// assert!((m.p_alive(&c)? - 0.869122).abs() < 1e-4);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ParetoNbdRecord")]
pub struct ParetoNbd {
    r: f64,
    alpha: f64,
    s: f64,
    beta: f64,
    unit: Option<TimeUnit>,
}

#[derive(Deserialize)]
struct ParetoNbdRecord {
    r: f64,
    alpha: f64,
    s: f64,
    beta: f64,
    unit: Option<TimeUnit>,
}

impl TryFrom<ParetoNbdRecord> for ParetoNbd {
    type Error = Error;
    fn try_from(v: ParetoNbdRecord) -> Result<Self> {
        Ok(ParetoNbd {
            unit: v.unit,
            ..ParetoNbd::new(v.r, v.alpha, v.s, v.beta)?
        })
    }
}

/// ln of the "alive at T" term, (α+T)^−(r+x) (β+T)^−s.
fn ln_alive_term<R: Real>(r: R, alpha: R, s: R, beta: R, x: f64, big_t: f64) -> R {
    -(r + x) * (alpha + big_t).ln() - s * (beta + big_t).ln()
}

/// The parameters of the antiderivative of the dropout integrand, fixed for a parameter
/// value: (m, n) = (larger, smaller) of α, β; the Euler-transformed ₂F₁ has first parameter
/// d and the factor ((n+y)/(m+y))^(1−q).
struct Antiderivative<R> {
    r: R,
    s: R,
    m: R,
    n: R,
    alpha_is_larger: bool,
}

impl<R: Real> Antiderivative<R> {
    fn new(r: R, alpha: R, s: R, beta: R) -> Self {
        let alpha_is_larger = alpha.v() >= beta.v();
        let (m, n) = if alpha_is_larger {
            (alpha, beta)
        } else {
            (beta, alpha)
        };
        Antiderivative {
            r,
            s,
            m,
            n,
            alpha_is_larger,
        }
    }

    /// ln G(y) for x purchases, G(y) = (m+y)^−a / a · ((n+y)/(m+y))^(1−q) ·
    /// ₂F₁(1, d; a+1; (m−n)/(m+y)), a = r+s+x; `None` when the series would be long.
    fn ln_g(&self, x: f64, y: f64) -> Option<R> {
        let a = self.r + self.s + x;
        let (d, q) = if self.alpha_is_larger {
            (self.r + x, self.s + 1.0)
        } else {
            (self.s + 1.0, self.r + x)
        };
        let ln_my = (self.m + y).ln();
        let z = (self.m - self.n) / (self.m + y);
        let f = hyp2f1_unit(d, a + 1.0, z, SERIES_TERMS)?;
        Some(-a * ln_my - a.ln() + (-q + 1.0) * ((self.n + y).ln() - ln_my) + f.ln())
    }
}

/// ln I from the antiderivative at t_x and T, or by quadrature where the series would be long
/// or its difference cancels. −∞ when t_x = T.
fn ln_dropout_from<R: Real>(
    g_tx: Option<R>,
    g_t: Option<R>,
    quad: impl FnOnce() -> R,
    t_x: f64,
    big_t: f64,
) -> R {
    if big_t <= t_x {
        return R::cst(f64::NEG_INFINITY);
    }
    if let (Some(g_tx), Some(g_t)) = (g_tx, g_t) {
        // G decreases; rounding that makes the difference non-positive falls through to the
        // quadrature, which has no cancellation.
        if g_tx.v() > g_t.v() {
            let v = log_sub_exp(g_tx, g_t);
            if v.v().is_finite() {
                return v;
            }
        }
    }
    quad()
}

/// ∫_{t_x}^{T} (α+τ)^−(r+x) (β+τ)^−(s+1) dτ by tanh-sinh quadrature, in log space.
fn ln_dropout_quadrature<R: Real>(
    r: R,
    alpha: R,
    s: R,
    beta: R,
    x: f64,
    t_x: f64,
    big_t: f64,
) -> R {
    tanh_sinh(t_x, big_t, |tau, _, _| {
        -(r + x) * (alpha + tau).ln() - (s + 1.0) * (beta + tau).ln()
    })
}

/// ln I, I = ∫_{t_x}^{T} (α+τ)^−(r+x) (β+τ)^−(s+1) dτ; −∞ when t_x = T.
fn ln_dropout_integral<R: Real>(r: R, alpha: R, s: R, beta: R, x: f64, t_x: f64, big_t: f64) -> R {
    let g = Antiderivative::new(r, alpha, s, beta);
    ln_dropout_from(
        g.ln_g(x, t_x),
        g.ln_g(x, big_t),
        || ln_dropout_quadrature(r, alpha, s, beta, x, t_x, big_t),
        t_x,
        big_t,
    )
}

struct Lik;

fn ll_one<R: Real>(p: &[R; 4], c: &Rft) -> R {
    let [r, alpha, s, beta] = *p;
    let x = c.x() as f64;
    let base = (r + x).ln_gamma() - r.ln_gamma() + r * alpha.ln() + s * beta.ln();
    let alive = ln_alive_term(r, alpha, s, beta, x, c.big_t());
    let dropped = s.ln() + ln_dropout_integral(r, alpha, s, beta, x, c.t_x(), c.big_t());
    base + log_add_exp(alive, dropped)
}

impl Likelihood<4> for Lik {
    type Data = RftData;
    const NAME: &'static str = "Pareto/NBD";
    const PARAMS: [&'static str; 4] = ["r", "alpha", "s", "beta"];

    /// ll_one summed, with the antiderivative evaluated once per distinct (x, t_x) and
    /// (x, T) pair, and the terms of x or T alone once per distinct value.
    fn total<R: Real + Send + Sync>(p: &[R; 4], d: &RftData) -> R {
        let [r, alpha, s, beta] = *p;
        let ix = d.index();
        let g = Antiderivative::new(r, alpha, s, beta);
        let lg_x: Vec<R> = ix.xs.iter().map(|&x| (r + x as f64).ln_gamma()).collect();
        let ln_t: Vec<(R, R)> = map_collect(&ix.big_ts, |&t| ((alpha + t).ln(), (beta + t).ln()));
        let g_tx: Vec<Option<R>> =
            map_collect(&ix.x_t_x, |&(xi, y)| g.ln_g(ix.xs[xi as usize] as f64, y));
        let g_t: Vec<Option<R>> =
            map_collect(&ix.x_big_t, |&(xi, y)| g.ln_g(ix.xs[xi as usize] as f64, y));
        let ln_s = s.ln();
        let rows = d.rows();
        let sum = ordered_sum(rows.len(), LIKELIHOOD_CHUNK, |i| {
            let (c, w) = &rows[i];
            let k = ix.rows[i];
            let x = c.x() as f64;
            let (la, lb) = ln_t[k.big_t as usize];
            let alive = -(r + x) * la - s * lb;
            let dropped = ln_dropout_from(
                g_tx[k.x_t_x as usize],
                g_t[k.x_big_t as usize],
                || ln_dropout_quadrature(r, alpha, s, beta, x, c.t_x(), c.big_t()),
                c.t_x(),
                c.big_t(),
            );
            (lg_x[k.x as usize] + log_add_exp(alive, ln_s + dropped)) * *w
        });
        sum + (-r.ln_gamma() + r * alpha.ln() + s * beta.ln()) * d.customers()
    }

    fn weight(d: &RftData) -> f64 {
        d.customers()
    }

    fn rows(d: &RftData) -> usize {
        d.rows().len()
    }
}

/// [1 − ((β+T)/(β+T+t))^(s−1)] / (s − 1), continuous through s = 1 (where it is
/// ln((β+T+t)/(β+T))).
fn residual_factor(s: f64, beta_t: f64, t: f64) -> f64 {
    let l = (t / beta_t).ln_1p();
    let e = (s - 1.0) * l;
    if e.abs() < 1e-8 {
        l * (1.0 - 0.5 * e)
    } else {
        -(-e).exp_m1() / (s - 1.0)
    }
}

impl ParetoNbd {
    /// A model with the given parameters: r and α of the purchase-rate distribution, s and β
    /// of the dropout-rate distribution (rates per unit of time).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless every parameter is finite and positive.
    pub fn new(r: f64, alpha: f64, s: f64, beta: f64) -> Result<Self> {
        check_positive(&[("r", r), ("alpha", alpha), ("s", s), ("beta", beta)])?;
        Ok(ParetoNbd {
            r,
            alpha,
            s,
            beta,
            unit: None,
        })
    }

    /// Records the time unit the parameters are in.
    pub fn with_unit(mut self, unit: TimeUnit) -> Self {
        self.unit = Some(unit);
        self
    }

    /// Shape r of the purchase-rate distribution.
    pub fn r(&self) -> f64 {
        self.r
    }

    /// Rate α of the purchase-rate distribution.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// Shape s of the dropout-rate distribution.
    pub fn s(&self) -> f64 {
        self.s
    }

    /// Rate β of the dropout-rate distribution.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// The unfitted model: maximum-likelihood settings to [`Fit`](crate::Fit) on an
    /// [`RftData`].
    pub fn params() -> MaxLikelihood<ParetoNbd> {
        MaxLikelihood::default()
    }

    /// Total log-likelihood of the data.
    pub fn total_log_likelihood(&self, data: &RftData) -> f64 {
        Lik::total(&[self.r, self.alpha, self.s, self.beta], data)
    }
}

/// P(X(t) = n) of a new Pareto/NBD customer with parameters [r, α, s, β]; `t` already
/// checked.
fn pnbd_probability_of_purchases([r, alpha, s, beta]: [f64; 4], t: f64, n: u32) -> f64 {
    if t == 0.0 {
        return if n == 0 { 1.0 } else { 0.0 };
    }
    let nf = n as f64;
    let ln_coef = crate::special::ln_gamma(r + nf)
        - crate::special::ln_gamma(r)
        - crate::special::ln_gamma(nf + 1.0)
        + r * alpha.ln();
    let ln_nb = |tau: f64| {
        let pow = if n == 0 { 0.0 } else { nf * tau.ln() };
        ln_coef + pow - (r + nf) * (alpha + tau).ln()
    };
    let alive = ln_nb(t) + s * (beta.ln() - (beta + t).ln());
    let dropped: f64 = tanh_sinh(0.0, t, |tau, _, _| {
        ln_nb(tau) + s.ln() + s * beta.ln() - (s + 1.0) * (beta + tau).ln()
    });
    log_add_exp(alive, dropped).exp().min(1.0)
}

/// z^(1−a) e^z Γ(a, z) for a < 1 and z > 0 — with a = 1 − s, z = δ(β + T) it is
/// δ·E[1/(δ + μ)] for μ ~ Gamma(s, β + T), the discounted expected lifetime in Fader, Hardie
/// & Lee's (2005) DERT, there written with Tricomi's U(s, s; z) = e^z Γ(1 − s, z). By the
/// Legendre continued fraction where it converges quickly (z ≥ 0.05), by the series of the
/// lower incomplete gamma function below; `None` where neither is accurate (a within 1e-6
/// of an integer ≤ 0 at small z, where Γ(a) cancels the series) or they fail to converge.
fn scaled_upper_gamma(a: f64, z: f64) -> Option<f64> {
    if !(z > 0.0 && z.is_finite() && a < 1.0) {
        return None;
    }
    if z >= 0.05 {
        // Γ(a, z) = e^−z z^a h, so z^(1−a) e^z Γ(a, z) = z h.
        return crate::special::upper_gamma_fraction(a, z, 2_000_000).map(|h| z * h);
    }
    // Γ(a, z) = Γ(a) − z^a Σ_k (−z)^k / (k! (a + k)), a not an integer ≤ 0.
    if a <= 0.0 && (a - a.round()).abs() < 1e-6 {
        return None;
    }
    let (ln_g, sign) = crate::special::ln_gamma_signed(a);
    let mut sum = 0.0;
    let mut term = 1.0; // (−z)^k / k!
    for k in 0..200 {
        let add = term / (a + k as f64);
        sum += add;
        if add.abs() <= 1e-17 * sum.abs() {
            // z^(1−a) e^z Γ(a) − z e^z Σ.
            let v = sign * ((1.0 - a) * z.ln() + z + ln_g).exp() - z * z.exp() * sum;
            return Some(v);
        }
        term *= -z / (k + 1) as f64;
    }
    None
}

impl super::uncertainty::Parametric for ParetoNbd {
    fn parameters(&self) -> [f64; 4] {
        [self.r, self.alpha, self.s, self.beta]
    }

    fn with_parameters(&self, [r, alpha, s, beta]: [f64; 4]) -> Result<Self> {
        Ok(ParetoNbd {
            unit: self.unit,
            ..ParetoNbd::new(r, alpha, s, beta)?
        })
    }
}

impl TransactionModel for ParetoNbd {
    fn name(&self) -> &'static str {
        "Pareto/NBD"
    }

    fn unit(&self) -> Option<TimeUnit> {
        self.unit
    }

    fn log_likelihood(&self, c: &Rft) -> f64 {
        ll_one(&[self.r, self.alpha, self.s, self.beta], c)
    }

    fn p_alive_value(&self, c: &Rft) -> f64 {
        let x = c.x() as f64;
        let alive = ln_alive_term(self.r, self.alpha, self.s, self.beta, x, c.big_t());
        let dropped = self.s.ln()
            + ln_dropout_integral(self.r, self.alpha, self.s, self.beta, x, c.t_x(), c.big_t());
        1.0 / (1.0 + (dropped - alive).exp())
    }

    // FHL (2005) note, conditional expectation: the alive customer's posterior purchase rate
    // times the expected remaining lifetime within t.
    fn expected_purchases_if_alive(&self, c: &Rft, t: f64) -> f64 {
        let x = c.x() as f64;
        let beta_t = self.beta + c.big_t();
        (self.r + x) / (self.alpha + c.big_t()) * beta_t * residual_factor(self.s, beta_t, t)
    }

    // Lifetime | alive ~ Exponential(μ), μ | history ~ Gamma(s, β + T): E[1/μ] = (β + T) / (s − 1),
    // finite only for s > 1.
    fn remaining_lifetime_if_alive(&self, c: &Rft) -> Option<f64> {
        (self.s > 1.0).then(|| (self.beta + c.big_t()) / (self.s - 1.0))
    }

    fn probability_of_purchases_new(&self, t: f64, n: u32) -> Result<f64> {
        check_horizon(t)?;
        Ok(pnbd_probability_of_purchases(
            [self.r, self.alpha, self.s, self.beta],
            t,
            n,
        ))
    }

    // Lifetime | alive ~ Exponential(μ), μ | history ~ Gamma(s, β + T): E[e^(−μt)].
    fn survival_if_alive(&self, c: &Rft, t: f64) -> f64 {
        (-self.s * (t / (self.beta + c.big_t())).ln_1p()).exp()
    }

    // Alive at T, the future is a new customer's with the posterior parameters.
    fn probability_of_purchases_if_alive(&self, c: &Rft, t: f64, n: u32) -> Result<f64> {
        let x = c.x() as f64;
        Ok(pnbd_probability_of_purchases(
            [
                self.r + x,
                self.alpha + c.big_t(),
                self.s,
                self.beta + c.big_t(),
            ],
            t,
            n,
        ))
    }

    // Fader, Hardie & Lee (2005), "RFM and CLV", eq. 2: E[λ] E[1/(δ + μ)] with
    // λ ~ Gamma(r + x, α + T) and μ ~ Gamma(s, β + T) for a customer alive at T; the closed
    // form through the incomplete gamma function, the quadrature of the expected purchases
    // where that is inaccurate.
    fn dert_if_alive(&self, c: &Rft, rate: f64) -> Result<f64> {
        let x = c.x() as f64;
        let z = rate * (self.beta + c.big_t());
        match scaled_upper_gamma(1.0 - self.s, z) {
            Some(g) if g.is_finite() && g > 0.0 => {
                Ok((self.r + x) / (self.alpha + c.big_t()) * g / rate)
            }
            _ => super::model::dert_by_quadrature(self, c, rate),
        }
    }

    fn expected_purchases_new(&self, t: f64) -> Result<f64> {
        check_horizon(t)?;
        finite_or_overflow(
            "expected purchases",
            self.r / self.alpha * self.beta * residual_factor(self.s, self.beta, t),
        )
    }
}

impl crate::Fit for MaxLikelihood<ParetoNbd> {
    type Data<'a> = RftData;
    type Model = ParetoNbd;
    type Report = FitReport;

    /// Fits the model by maximum likelihood.
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::NotConverged`].
    fn fit(&self, data: &RftData) -> Result<(ParetoNbd, FitReport)> {
        let ([r, alpha, s, beta], report) = fit::<Lik, 4>(data, [1.0; 4], self.options())?;
        let mut m = ParetoNbd::new(r, alpha, s, beta)?;
        m.unit = data.unit();
        Ok((m, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed form of I (series) against direct quadrature.
    #[test]
    fn dropout_integral_series_matches_quadrature() {
        for &(r, alpha, s, beta, x, tx, t) in &[
            (0.55, 10.58, 0.61, 11.67, 2.0, 30.43, 38.86),
            (0.55, 10.58, 0.61, 11.67, 0.0, 0.0, 38.86),
            (2.0, 30.0, 0.5, 3.0, 15.0, 70.0, 77.0),
            (0.1, 0.5, 3.0, 40.0, 1.0, 0.5, 100.0),
        ] {
            let series: f64 = ln_dropout_integral(r, alpha, s, beta, x, tx, t);
            let quad: f64 = tanh_sinh(tx, t, |tau, _, _| {
                -(r + x) * (alpha + tau).ln() - (s + 1.0) * (beta + tau).ln()
            });
            assert!((series - quad).abs() < 1e-9, "{series} vs {quad}");
        }
    }

    /// The exact gradient (dual numbers) is finite over the whole parameter and data range,
    /// and agrees with central differences at an interior point.
    #[test]
    fn gradients_are_finite_and_correct() {
        use crate::special::Dual;
        let grid = [1e-3, 0.1, 1.0, 30.0, 1e3];
        let histories = [
            Rft::new(0, 0.0, 0.0).unwrap(),
            Rft::new(0, 0.0, 10_000.0).unwrap(),
            Rft::new(3, 2.0, 50.0).unwrap(),
            Rft::new(10_000, 0.5, 10_000.0).unwrap(),
            Rft::new(10_000, 10_000.0, 10_000.0).unwrap(),
        ];
        for &r in &grid {
            for &alpha in &grid {
                for &s in &grid {
                    for &beta in &grid {
                        for c in &histories {
                            let p: [Dual<4>; 4] = [
                                Dual::var(r, 0),
                                Dual::var(alpha, 1),
                                Dual::var(s, 2),
                                Dual::var(beta, 3),
                            ];
                            let v = ll_one(&p, c);
                            assert!(
                                v.v.is_finite() && v.d.iter().all(|d| d.is_finite()),
                                "{:?} {c:?} {v:?}",
                                (r, alpha, s, beta)
                            );
                        }
                    }
                }
            }
        }
        let c = Rft::new(4, 20.0, 30.0).unwrap();
        let x = [0.7, 5.0, 0.9, 8.0];
        let d = ll_one(
            &std::array::from_fn::<Dual<4>, 4, _>(|i| Dual::var(x[i], i)),
            &c,
        );
        for i in 0..4 {
            let h = 1e-6 * x[i];
            let mut up = x;
            let mut down = x;
            up[i] += h;
            down[i] -= h;
            let fd = (ll_one(&up, &c) - ll_one(&down, &c)) / (2.0 * h);
            assert!(
                (d.d[i] - fd).abs() < 1e-6 * fd.abs().max(1.0),
                "param {i}: {} vs {fd}",
                d.d[i]
            );
        }
    }

    /// DERT's closed form (the incomplete gamma function by continued fraction or series)
    /// against the quadrature of the expected purchases, over shapes on both sides of the
    /// series' singular points and discount rates on both sides of the switch between them.
    #[test]
    fn dert_closed_form_matches_quadrature() {
        let histories = [
            Rft::new(2, 30.43, 38.86).unwrap(),
            Rft::new(0, 0.0, 38.86).unwrap(),
            Rft::new(10, 38.0, 38.86).unwrap(),
            Rft::new(1, 0.5, 1.0).unwrap(),
        ];
        for s in [0.05, 0.6062, 0.999, 1.0 + 1e-3, 1.5, 2.0, 3.7, 12.0] {
            let m = ParetoNbd::new(0.5533, 10.5776, s, 11.668).unwrap();
            for c in &histories {
                for rate in [1e-4, 1.15f64.ln() / 52.0, 0.01, 0.2, 3.0] {
                    let closed = m.dert_if_alive(c, rate).unwrap();
                    let quad = crate::clv::model::dert_by_quadrature(&m, c, rate).unwrap();
                    assert!(
                        (closed - quad).abs() <= 1e-9 * quad,
                        "s {s} rate {rate} {c:?}: {closed} vs {quad}"
                    );
                }
            }
        }
    }

    #[test]
    fn residual_factor_is_continuous_at_one() {
        let at = residual_factor(1.0, 10.0, 5.0);
        assert!((at - 1.5f64.ln()).abs() < 1e-15);
        for eps in [1e-9, 1e-6, 1e-3] {
            assert!((residual_factor(1.0 + eps, 10.0, 5.0) - at).abs() < 2.0 * eps);
        }
    }
}
