//! BG/BB: the beta-geometric / beta-Bernoulli model for discrete transaction opportunities
//! (Fader, Hardie & Shang 2010, "Customer-base analysis in a discrete-time noncontractual
//! setting", Marketing Science 29(6)).
//!
//! At each of n opportunities (an annual gala, a weekly newsletter) an alive customer
//! transacts with probability p, and before each opportunity after the first they may drop out
//! with probability θ. Across customers p ~ Beta(α, β) and θ ~ Beta(γ, δ). A history is
//! (x transactions, the last at opportunity t_x, out of n).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::check_positive;
use super::data::check_weights;
use super::fit::{FitReport, LIKELIHOOD_CHUNK, Likelihood, MaxLikelihood, fit};
use crate::contract::collect_in_order;
use crate::error::{Error, Position, Result, finite_or_overflow as finite};
use crate::par::ordered_sum;
use crate::special::{Real, digamma, ln_beta, ln_gamma, log_add_exp};

/// A discrete-time history: `x` transactions, the last at opportunity `t_x`, out of `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "(u32, u32, u32)", into = "(u32, u32, u32)")]
pub struct BgBbHistory {
    x: u32,
    t_x: u32,
    n: u32,
}

impl TryFrom<(u32, u32, u32)> for BgBbHistory {
    type Error = Error;
    fn try_from((x, t_x, n): (u32, u32, u32)) -> Result<Self> {
        BgBbHistory::new(x, t_x, n)
    }
}

impl From<BgBbHistory> for (u32, u32, u32) {
    fn from(h: BgBbHistory) -> Self {
        (h.x, h.t_x, h.n)
    }
}

impl BgBbHistory {
    /// The most transaction opportunities a history may have: 10,000 (27 years of days).
    /// The likelihood sums over the opportunities after the last transaction, so each one
    /// costs every evaluation of every fit; discrete-time data (years, quarters, campaigns)
    /// stays far below, and finer time is what BG/NBD is for.
    pub const MAX_OPPORTUNITIES: u32 = 10_000;

    /// A validated history.
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] unless x ≤ t_x ≤ n ≤ [`BgBbHistory::MAX_OPPORTUNITIES`], and
    /// t_x = 0 exactly when x = 0.
    pub fn new(x: u32, t_x: u32, n: u32) -> Result<Self> {
        let ok = x <= t_x && t_x <= n && n <= Self::MAX_OPPORTUNITIES && ((x == 0) == (t_x == 0));
        if !ok {
            return Err(Error::InvalidRecord {
                at: Position::default(),
                reason: format!(
                    "x = {x}, t_x = {t_x}, n = {n}: need x ≤ t_x ≤ n ≤ 10,000 and t_x = 0 \
                     exactly when x = 0"
                ),
            });
        }
        Ok(BgBbHistory { x, t_x, n })
    }

    /// Transactions x.
    pub fn x(&self) -> u32 {
        self.x
    }

    /// Opportunity of the last transaction, t_x.
    pub fn t_x(&self) -> u32 {
        self.t_x
    }

    /// Opportunities n.
    pub fn n(&self) -> u32 {
        self.n
    }
}

struct Lik;

fn ll_one<R: Real>(p: &[R; 4], h: &BgBbHistory) -> R {
    Lik::ll(p, h)
}

impl Likelihood<4> for Lik {
    type Data = [(BgBbHistory, f64)];
    const NAME: &'static str = "BG/BB";
    const PARAMS: [&'static str; 4] = ["alpha", "beta", "gamma", "delta"];

    fn total<R: Real + Send + Sync>(p: &[R; 4], d: &Self::Data) -> R {
        ordered_sum(d.len(), LIKELIHOOD_CHUNK, |i| ll_one(p, &d[i].0) * d[i].1)
    }

    fn weight(d: &Self::Data) -> f64 {
        d.iter().map(|r| r.1).sum()
    }

    fn rows(d: &Self::Data) -> usize {
        d.len()
    }
}

impl Lik {
    // FHS (2010) eq. 5: alive through n, or dropped out after t_x + i, i = 0 … n − t_x − 1.
    fn ll<R: Real>(p: &[R; 4], h: &BgBbHistory) -> R {
        let [al, be, ga, de] = *p;
        let (x, tx, n) = (h.x as f64, h.t_x as f64, h.n as f64);
        let norm = ln_beta(al, be) + ln_beta(ga, de);
        let alive = ln_beta(al + x, be + (n - x)) + ln_beta(ga, de + n);
        let m = h.n - h.t_x;
        if m == 0 {
            return alive - norm;
        }
        // The dropout terms B(α + x, β + t_x − x + i)·B(γ + 1, δ + t_x + i) relative to the
        // first, by B(a, b + 1) = B(a, b)·b/(a + b): a few multiplications per term instead
        // of four log-gammas (a million opportunities took minutes to fit). The ratios are
        // below 1, so the terms shrink and the walk stops once the rest cannot count.
        let first = ln_beta(al + x, be + (tx - x)) + ln_beta(ga + 1.0, de + tx);
        let mut term = R::cst(1.0);
        let mut sum = R::cst(1.0);
        for i in 0..m - 1 {
            let i = i as f64;
            term = term * (be + (tx - x + i)) / (al + be + (tx + i)) * (de + (tx + i))
                / (ga + de + (1.0 + tx + i));
            sum = sum + term;
            if term.v() * f64::from(m - 1) <= 1e-17 * sum.v() {
                break;
            }
        }
        log_add_exp(alive, first + sum.ln()) - norm
    }
}

/// A fitted BG/BB model.
///
/// ```
/// use custseg::clv::{BgBb, BgBbHistory};
/// // Fader, Hardie & Shang (2010), the donations data.
/// let m = BgBb::new(1.204, 0.750, 0.657, 2.783)?;
/// let loyal = BgBbHistory::new(6, 6, 6)?;
/// let lapsed = BgBbHistory::new(1, 1, 6)?;
/// assert!(m.p_alive(&loyal)? > 0.9 && m.p_alive(&lapsed)? < 0.2);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BgBbRecord")]
pub struct BgBb {
    alpha: f64,
    beta: f64,
    gamma: f64,
    delta: f64,
}

#[derive(Deserialize)]
struct BgBbRecord {
    alpha: f64,
    beta: f64,
    gamma: f64,
    delta: f64,
}

impl TryFrom<BgBbRecord> for BgBb {
    type Error = Error;
    fn try_from(v: BgBbRecord) -> Result<Self> {
        BgBb::new(v.alpha, v.beta, v.gamma, v.delta)
    }
}

impl BgBb {
    /// The most opportunities after the last transaction, summed over the histories, that one
    /// fit accepts: the likelihood walks each of them at every evaluation.
    pub const MAX_DROPOUT_TERMS: u64 = 1_000_000;

    /// A model with α, β of the transaction probability and γ, δ of the dropout probability.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless every parameter is finite and positive.
    pub fn new(alpha: f64, beta: f64, gamma: f64, delta: f64) -> Result<Self> {
        check_positive(&[
            ("alpha", alpha),
            ("beta", beta),
            ("gamma", gamma),
            ("delta", delta),
        ])?;
        Ok(BgBb {
            alpha,
            beta,
            gamma,
            delta,
        })
    }

    /// α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// β.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// γ.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// δ.
    pub fn delta(&self) -> f64 {
        self.delta
    }

    /// The unfitted model: maximum-likelihood settings to [`Fit`](crate::Fit) on weighted
    /// histories (each history with the number of customers who have it).
    pub fn params() -> MaxLikelihood<BgBb> {
        MaxLikelihood::default()
    }

    /// Log-likelihood of one history.
    pub fn log_likelihood(&self, h: &BgBbHistory) -> f64 {
        Lik::ll(&[self.alpha, self.beta, self.gamma, self.delta], h)
    }

    /// P(alive at opportunity n + 1) (FHS 2010 eq. 11).
    ///
    /// # Errors
    /// [`Error::Overflow`] when extreme parameters leave it undefined (as the batch form).
    pub fn p_alive(&self, h: &BgBbHistory) -> Result<f64> {
        finite("P(alive)", self.p_alive_value(h))
    }

    fn p_alive_value(&self, h: &BgBbHistory) -> f64 {
        let (x, n) = (h.x as f64, h.n as f64);
        let ln_alive = ln_beta(self.alpha + x, self.beta + n - x) - ln_beta(self.alpha, self.beta)
            + ln_beta(self.gamma, self.delta + n + 1.0)
            - ln_beta(self.gamma, self.delta);
        (ln_alive - self.log_likelihood(h)).exp().min(1.0)
    }

    /// Expected transactions in the next `n_star` opportunities given the history
    /// (FHS 2010 eq. 13).
    ///
    /// # Errors
    /// [`Error::Overflow`] when the value is not finite (extreme parameters).
    pub fn expected_purchases(&self, h: &BgBbHistory, n_star: u32) -> Result<f64> {
        let (x, n) = (h.x as f64, h.n as f64);
        let (al, be, ga, de) = (self.alpha, self.beta, self.gamma, self.delta);
        let ln_front =
            ln_beta(al + x + 1.0, be + n - x) - ln_beta(al, be) + de.ln() + ln_gamma(ga + de)
                - ln_gamma(1.0 + de)
                - self.log_likelihood(h);
        finite(
            "expected purchases",
            ln_front.exp() * self.horizon_factor(n, n_star as f64),
        )
    }

    /// Expected transactions of a new customer in n opportunities (FHS 2010 eq. 8).
    ///
    /// # Errors
    /// [`Error::Overflow`] when the value is not finite (extreme parameters).
    pub fn expected_purchases_new(&self, n: u32) -> Result<f64> {
        let (al, be, ga, de) = (self.alpha, self.beta, self.gamma, self.delta);
        let ln_front = al.ln() - (al + be).ln() + de.ln() + ln_gamma(ga + de) - ln_gamma(1.0 + de);
        finite(
            "expected purchases",
            ln_front.exp() * self.horizon_factor(0.0, n as f64),
        )
    }

    /// P(X(n) = x): the probability that a new customer makes exactly `x` transactions in
    /// their first `n` opportunities (FHS 2010 eq. 7), the model's frequency distribution.
    ///
    /// In plain words: either the customer is still alive after the n-th opportunity and
    /// made x transactions in those n, or they dropped out right after some opportunity
    /// i < n, having made x transactions in the i before (so i ≥ x). Each case averaged over
    /// the population's transaction probabilities p ~ Beta(α, β) and dropout probabilities
    /// θ ~ Beta(γ, δ) is one of the two terms below.
    ///
    /// # Formula
    /// P(X(n) = x) = C(n, x) B(α+x, β+n−x)/B(α, β) · B(γ, δ+n)/B(γ, δ)
    ///   + Σᵢ₌ₓⁿ⁻¹ C(i, x) B(α+x, β+i−x)/B(α, β) · B(γ+1, δ+i)/B(γ, δ),
    ///
    /// zero for x > n. The sum walks the ratios of successive terms (a few multiplications
    /// each), so the cost grows with n − x.
    ///
    /// ```
    /// use custseg::clv::BgBb;
    /// let m = BgBb::new(1.204, 0.750, 0.657, 2.783)?;
    /// let pmf: Vec<f64> = (0..=6)
    ///     .map(|x| m.probability_of_purchases_new(x, 6))
    ///     .collect::<Result<_, _>>()?;
    /// assert!((pmf.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    /// // Its mean is the expected number of transactions.
    /// let mean: f64 = pmf.iter().enumerate().map(|(x, p)| x as f64 * p).sum();
    /// assert!((mean - m.expected_purchases_new(6)?).abs() < 1e-12);
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for n above [`BgBbHistory::MAX_OPPORTUNITIES`];
    /// [`Error::Overflow`] when extreme parameters leave it undefined.
    pub fn probability_of_purchases_new(&self, x: u32, n: u32) -> Result<f64> {
        check_opportunities(n)?;
        Ok(self.pmf_at(x, &[n])?[0])
    }

    /// P(X(n) = x) for one x and every n of `ns` (ascending, each ≤
    /// [`BgBbHistory::MAX_OPPORTUNITIES`]): the dropout sums of a smaller n are the first
    /// terms of a larger one's, so one walk up to the largest n serves them all.
    pub(crate) fn pmf_at(&self, x: u32, ns: &[u32]) -> Result<Vec<f64>> {
        let (al, be, ga, de) = (self.alpha, self.beta, self.gamma, self.delta);
        let norm = ln_beta(al, be) + ln_beta(ga, de);
        let xf = f64::from(x);
        // Σᵢ₌ₓ^(n−1) of the dropout terms, relative to the first (i = x): term_{i+1}/term_i
        // = (i+1)/(i+1−x) · (β+i−x)/(α+β+i) · (δ+i)/(γ+δ+1+i).
        let ln_first = ln_beta(al + xf, be) + ln_beta(ga + 1.0, de + xf) - norm;
        let (mut i, mut term, mut sum) = (x, 1.0, 0.0);
        let mut out = Vec::with_capacity(ns.len());
        for &n in ns {
            if x > n {
                out.push(0.0);
                continue;
            }
            while i < n {
                sum += term;
                let f = f64::from(i);
                term *= (f + 1.0) / (f + 1.0 - xf) * (be + f - xf) / (al + be + f) * (de + f)
                    / (ga + de + 1.0 + f);
                i += 1;
            }
            let nf = f64::from(n);
            let ln_alive = ln_gamma(nf + 1.0) - ln_gamma(xf + 1.0) - ln_gamma(nf - xf + 1.0)
                + ln_beta(al + xf, be + nf - xf)
                + ln_beta(ga, de + nf)
                - norm;
            let dropped = if sum > 0.0 {
                (ln_first + sum.ln()).exp()
            } else {
                0.0
            };
            out.push(finite("P(X(n) = x)", ln_alive.exp() + dropped)?);
        }
        Ok(out)
    }

    /// P(alive) of many histories, in parallel, in input order.
    ///
    /// # Errors
    /// [`Error::Overflow`] naming the row of the first value that is not finite.
    pub fn p_alive_batch(&self, histories: &[BgBbHistory]) -> Result<Vec<f64>> {
        rows_finite(
            "P(alive)",
            histories
                .par_iter()
                .map(|h| self.p_alive_value(h))
                .collect(),
        )
    }

    /// Expected transactions in the next `n_star` opportunities of many histories, in
    /// parallel, in input order.
    ///
    /// # Errors
    /// As [`BgBb::p_alive_batch`].
    pub fn expected_purchases_batch(
        &self,
        histories: &[BgBbHistory],
        n_star: u32,
    ) -> Result<Vec<f64>> {
        collect_in_order(
            histories
                .par_iter()
                .map(|h| self.expected_purchases(h, n_star))
                .collect(),
        )
    }

    /// [Γ(1+δ+n)/Γ(γ+δ+n) − Γ(1+δ+n+n*)/Γ(γ+δ+n+n*)] / (γ − 1), continuous through γ = 1
    /// (where it is ψ(1+δ+n+n*) − ψ(1+δ+n)).
    fn horizon_factor(&self, n: f64, n_star: f64) -> f64 {
        let (ga, de) = (self.gamma, self.delta);
        if (ga - 1.0).abs() < 1e-8 {
            return digamma(1.0 + de + n + n_star) - digamma(1.0 + de + n);
        }
        let a = ln_gamma(1.0 + de + n) - ln_gamma(ga + de + n);
        let b = ln_gamma(1.0 + de + n + n_star) - ln_gamma(ga + de + n + n_star);
        // Mathematically ≥ 0 (the ratio falls with n); with δ in the millions the log-gamma
        // differences lose the digits that carry it, and a rounding-sized negative would
        // become negative expected purchases.
        (a.exp() * (-(b - a).exp_m1()) / (ga - 1.0)).max(0.0)
    }
}

/// n within [`BgBbHistory::MAX_OPPORTUNITIES`], or the parameter error naming it.
pub(crate) fn check_opportunities(n: u32) -> Result<()> {
    if n <= BgBbHistory::MAX_OPPORTUNITIES {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "n",
            value: n.to_string(),
            reason: format!(
                "at most {} opportunities (the frequency distribution sums over them)",
                BgBbHistory::MAX_OPPORTUNITIES
            ),
        })
    }
}

fn rows_finite(quantity: &'static str, values: Vec<f64>) -> Result<Vec<f64>> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(row) => Err(Error::Overflow {
            at: Position::at_row(row),
            quantity,
            value: values[row],
        }),
        None => Ok(values),
    }
}

impl crate::Fit for MaxLikelihood<BgBb> {
    type Data<'a> = [(BgBbHistory, f64)];
    type Model = BgBb;
    type Report = FitReport;

    /// Fits the model by maximum likelihood to weighted histories.
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::InvalidRecord`] naming the row of a weight that is not
    /// finite and positive, or (column "n") when the histories hold more than
    /// [`MAX_DROPOUT_TERMS`](BgBb::MAX_DROPOUT_TERMS) opportunities after their last
    /// transaction in all; [`Error::NotConverged`].
    fn fit(&self, data: &[(BgBbHistory, f64)]) -> Result<(BgBb, FitReport)> {
        check_weights(data.iter().map(|r| r.1))?;
        // Every evaluation of the likelihood walks these terms: bound the fit's work up
        // front rather than let it run for minutes.
        let terms: u64 = data.iter().map(|(h, _)| u64::from(h.n - h.t_x)).sum();
        if terms > BgBb::MAX_DROPOUT_TERMS {
            return Err(Error::InvalidRecord {
                at: Position::in_column("n"),
                reason: format!(
                    "{terms} opportunities after the last transactions in all, above {}; merge \
                     identical histories (weights) or use coarser opportunities",
                    BgBb::MAX_DROPOUT_TERMS
                ),
            });
        }
        let ([a, b, g, d], report) = fit::<Lik, 4>(data, [1.0; 4], self.options())?;
        Ok((BgBb::new(a, b, g, d)?, report))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// P(X(n) = x) by the ratio walk is FHS (2010) eq. 7 summed term by term, for one n and
    /// for several n in one walk, and 0 past n.
    #[test]
    fn pmf_walk_matches_the_summed_terms() {
        let m = BgBb::new(1.204, 0.750, 0.657, 2.783).unwrap();
        let (al, be, ga, de) = (m.alpha, m.beta, m.gamma, m.delta);
        let ln_binom =
            |n: f64, k: f64| ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0);
        let direct = |x: u32, n: u32| -> f64 {
            let (xf, nf) = (x as f64, n as f64);
            let norm = ln_beta(al, be) + ln_beta(ga, de);
            let mut p = (ln_binom(nf, xf) + ln_beta(al + xf, be + nf - xf) + ln_beta(ga, de + nf)
                - norm)
                .exp();
            for i in x..n {
                let i = i as f64;
                p += (ln_binom(i, xf) + ln_beta(al + xf, be + i - xf) + ln_beta(ga + 1.0, de + i)
                    - norm)
                    .exp();
            }
            p
        };
        let ns = [0, 1, 6, 11, 200];
        for x in [0, 1, 3, 6, 150] {
            let walked = m.pmf_at(x, &ns).unwrap();
            for (&n, &got) in ns.iter().zip(&walked) {
                let want = if x > n { 0.0 } else { direct(x, n) };
                assert!(
                    (got - want).abs() <= 1e-12 * want,
                    "x {x} n {n}: {got} vs {want}"
                );
                assert_eq!(got, m.probability_of_purchases_new(x, n).unwrap());
            }
        }
        for n in [0, 1, 6, 40] {
            let total: f64 = (0..=n)
                .map(|x| m.probability_of_purchases_new(x, n).unwrap())
                .sum();
            assert!((total - 1.0).abs() < 1e-13, "n {n}: {total}");
        }
        assert!(m.probability_of_purchases_new(0, 10_001).is_err());
    }

    /// The ratio walk gives the log-likelihood of FHS (2010) eq. 5 summed term by term.
    #[test]
    fn ratio_walk_matches_the_summed_terms() {
        let p = [1.204, 0.750, 0.657, 2.783];
        for (x, tx, n) in [(0, 0, 6), (1, 1, 6), (3, 5, 6), (6, 6, 6), (2, 3, 400)] {
            let h = BgBbHistory::new(x, tx, n).unwrap();
            let [al, be, ga, de] = p;
            let (xf, txf, nf) = (x as f64, tx as f64, n as f64);
            let mut acc: f64 = ln_beta(al + xf, be + nf - xf) + ln_beta(ga, de + nf);
            for i in 0..(n - tx) {
                let i = i as f64;
                let t = ln_beta(al + xf, be + txf - xf + i) + ln_beta(ga + 1.0, de + txf + i);
                acc = log_add_exp(acc, t);
            }
            let want = acc - ln_beta(al, be) - ln_beta(ga, de);
            let got = Lik::ll(&p, &h);
            assert!(
                (got - want).abs() < 1e-12 * want.abs(),
                "{h:?}: {got} vs {want}"
            );
        }
    }
}
