//! Pieces shared by the beta-geometric models (BG/NBD, MBG/NBD).

use rayon::prelude::*;

use super::columns::{self, HistoryColumns};
use super::data::{Rft, RftData};
use super::fit::{LIKELIHOOD_CHUNK, Likelihood};
use crate::error::Result;
use crate::par::{map_collect, ordered_sum};
use crate::special::elementary;
use crate::special::{
    Real, incomplete_beta, ln_beta, ln_gamma_ratio, ln_gamma_signed, log_add_exp, tanh_sinh,
};

/// BG/NBD and MBG/NBD are one model with one offset d: MBG/NBD lets a customer drop out
/// right after any purchase, the first included, which turns every b + x of BG/NBD into
/// b + x + d with d = 1 (Batislam, Denizel & Filiztekin 2007) and gives customers without a
/// repeat purchase the dropout term BG/NBD leaves out. Each model names its offset here; the
/// likelihood, predictions and fit below are written once.
pub(crate) trait BetaGeometric {
    /// The model's name.
    const NAME: &'static str;
    /// 0 for BG/NBD, 1 for MBG/NBD.
    const OFFSET: f64;
}

/// ln L of one history (FHL 2005 eq. 6 with d = 0, Batislam et al. 2007 with d = 1;
/// B(a, b + x + d) / B(a + 1, b + x − 1 + d) = (b + x − 1 + d) / a folded in).
pub(crate) fn bg_ll_one<R: Real>(d: f64, p: &[R; 4], c: &Rft) -> R {
    let [r, alpha, a, b] = *p;
    let x = c.x() as f64;
    let ln_at = (alpha + c.big_t()).ln();
    let base = (r + x).ln_gamma() - r.ln_gamma() + r * alpha.ln() + ln_beta(a, b + (x + d))
        - ln_beta(a, b)
        - (r + x) * ln_at;
    // Under BG/NBD a customer without a repeat purchase has had no chance to drop out.
    if d == 0.0 && c.x() == 0 {
        return base;
    }
    let z = a.ln() - (b + (x - 1.0 + d)).ln() + (r + x) * (ln_at - (alpha + c.t_x()).ln());
    base + softplus(z)
}

/// [`bg_ll_one`] summed, with every term that depends on x alone, or on one time alone,
/// computed once per distinct value.
pub(crate) fn bg_total<R: Real + Send + Sync>(d: f64, p: &[R; 4], data: &RftData) -> R {
    let [r, alpha, a, b] = *p;
    let ix = data.index();
    let per_x: Vec<(R, R)> = ix
        .xs
        .iter()
        .map(|&x| {
            let xf = x as f64;
            let base = (r + xf).ln_gamma() + ln_beta(a, b + (xf + d));
            let odds = if d == 0.0 && x == 0 {
                R::cst(0.0)
            } else {
                a.ln() - (b + (xf - 1.0 + d)).ln()
            };
            (base, odds)
        })
        .collect();
    let ln_a_t: Vec<R> = map_collect(&ix.big_ts, |&t| (alpha + t).ln());
    let ln_a_tx: Vec<R> = map_collect(&ix.t_xs, |&t| (alpha + t).ln());
    let rows = data.rows();
    let sum = ordered_sum(rows.len(), LIKELIHOOD_CHUNK, |i| {
        let (c, w) = &rows[i];
        let k = ix.rows[i];
        let (base, odds) = per_x[k.x as usize];
        let rx = r + c.x() as f64;
        let lat = ln_a_t[k.big_t as usize];
        let mut v = base - rx * lat;
        if d != 0.0 || c.x() > 0 {
            v = v + softplus(odds + rx * (lat - ln_a_tx[k.t_x as usize]));
        }
        v * *w
    });
    sum + (-r.ln_gamma() + r * alpha.ln() - ln_beta(a, b)) * data.customers()
}

/// The likelihood of model `M`, for the optimizer.
pub(crate) struct BgLikelihood<M>(std::marker::PhantomData<M>);

impl<M: BetaGeometric> Likelihood<4> for BgLikelihood<M> {
    type Data = RftData;
    const NAME: &'static str = M::NAME;
    const PARAMS: [&'static str; 4] = ["r", "alpha", "a", "b"];

    fn total<R: Real + Send + Sync>(p: &[R; 4], d: &RftData) -> R {
        bg_total(M::OFFSET, p, d)
    }

    fn weight(d: &RftData) -> f64 {
        d.customers()
    }

    fn rows(d: &RftData) -> usize {
        d.rows().len()
    }
}

/// Everything BG/NBD and MBG/NBD share, for a model struct with fields r, α, a, b and unit
/// that implements [`BetaGeometric`]: constructor, accessors, fitting, the total
/// log-likelihood, P(X(t) = n) and the [`TransactionModel`](super::TransactionModel) answers.
macro_rules! beta_geometric_nbd {
    ($model:ident) => {
        impl $model {
            /// A model with the given parameters: r and α shape and rate of the
            /// purchase-rate distribution (rate per unit of time), a and b of the
            /// dropout-probability distribution.
            ///
            /// # Errors
            /// [`Error::InvalidParameter`] unless every parameter is finite and positive.
            pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self> {
                check_positive(&[("r", r), ("alpha", alpha), ("a", a), ("b", b)])?;
                Ok($model {
                    r,
                    alpha,
                    a,
                    b,
                    unit: None,
                })
            }

            /// Records the time unit the parameters are in (batch scoring then checks it).
            pub fn with_unit(mut self, unit: TimeUnit) -> Self {
                self.unit = Some(unit);
                self
            }

            /// Shape r of the Gamma distribution of purchase rates.
            pub fn r(&self) -> f64 {
                self.r
            }

            /// Rate α of the Gamma distribution of purchase rates.
            pub fn alpha(&self) -> f64 {
                self.alpha
            }

            /// First shape a of the Beta distribution of dropout probabilities.
            pub fn a(&self) -> f64 {
                self.a
            }

            /// Second shape b of the Beta distribution of dropout probabilities.
            pub fn b(&self) -> f64 {
                self.b
            }

            /// The unfitted model: maximum-likelihood settings to [`Fit`](crate::Fit) on
            /// an [`RftData`].
            pub fn params() -> MaxLikelihood<$model> {
                MaxLikelihood::default()
            }

            /// Total log-likelihood of the data.
            pub fn total_log_likelihood(&self, data: &RftData) -> f64 {
                bg_total(Self::OFFSET, &self.values(), data)
            }

            fn values(&self) -> [f64; 4] {
                [self.r, self.alpha, self.a, self.b]
            }
        }

        impl crate::Fit for MaxLikelihood<$model> {
            type Data<'a> = RftData;
            type Model = $model;
            type Report = FitReport;

            /// Fits the model by maximum likelihood.
            ///
            /// # Errors
            /// [`Error::EmptyInput`]; [`Error::NotConverged`] when the optimizer stops
            /// without a small gradient.
            fn fit(&self, data: &RftData) -> Result<($model, FitReport)> {
                let ([r, alpha, a, b], report) =
                    fit::<BgLikelihood<$model>, 4>(data, [1.0; 4], self.options())?;
                let mut m = $model::new(r, alpha, a, b)?;
                m.unit = data.unit();
                Ok((m, report))
            }
        }

        impl $crate::clv::uncertainty::Parametric for $model {
            fn parameters(&self) -> [f64; 4] {
                self.values()
            }

            fn with_parameters(&self, [r, alpha, a, b]: [f64; 4]) -> Result<Self> {
                Ok($model {
                    unit: self.unit,
                    ..$model::new(r, alpha, a, b)?
                })
            }
        }

        impl TransactionModel for $model {
            fn name(&self) -> &'static str {
                Self::NAME
            }

            fn unit(&self) -> Option<TimeUnit> {
                self.unit
            }

            fn log_likelihood(&self, c: &Rft) -> f64 {
                bg_ll_one(Self::OFFSET, &self.values(), c)
            }

            // FHL (2005) eq. 11 (Batislam et al. 2007 for d = 1), as a logistic function of
            // its log odds.
            fn p_alive_value(&self, c: &Rft) -> f64 {
                $crate::clv::btyd::bg_p_alive(
                    &$crate::clv::btyd::AliveOdds::new(&self.values(), Self::OFFSET),
                    c.x(),
                    c.t_x(),
                    c.big_t(),
                )
            }

            fn p_alive_columns_into(
                &self,
                h: &$crate::clv::HistoryColumns<'_>,
                out: &mut [f64],
            ) -> Result<()> {
                h.check_unit(self.unit())?;
                $crate::clv::btyd::bg_p_alive_columns(
                    &$crate::clv::btyd::AliveOdds::new(&self.values(), Self::OFFSET),
                    h,
                    out,
                )
            }

            fn alive_expectation_by_x_and_age(&self) -> bool {
                true
            }

            // At a discount rate so high that everything it counts happens within a short
            // horizon, the series of `dert_near`; otherwise the quadrature.
            fn dert_if_alive(&self, c: &Rft, rate: f64) -> Result<f64> {
                let x = c.x() as f64;
                // 1/δ first: δ(α + T) overflows at δ = 1e300 where w is still a (subnormal)
                // number.
                let w = 1.0 / rate / (self.alpha + c.big_t());
                let (k, b_post) = (self.r + x, self.b + x + Self::OFFSET);
                if w * (k + 1.0) <= $crate::clv::btyd::SHORT_DISCOUNTING {
                    return Ok($crate::clv::btyd::dert_near(k, w, self.a, b_post));
                }
                $crate::clv::model::dert_by_quadrature(self, c, rate)
            }

            fn expected_purchases_if_alive(&self, c: &Rft, t: f64) -> f64 {
                let x = c.x() as f64;
                expected_alive(
                    self.r + x,
                    t / (self.alpha + c.big_t()),
                    self.a,
                    self.b + x + Self::OFFSET,
                )
            }

            fn expected_purchases_if_alive_path(&self, c: &Rft, ts: &[f64], out: &mut [f64]) {
                let x = c.x() as f64;
                let at = self.alpha + c.big_t();
                // Paths are at most MAX_PATH long (the CLV's blocks); no allocation per
                // customer.
                let mut us = [0.0f64; $crate::clv::btyd::MAX_PATH];
                if ts.len() > us.len() {
                    for (o, &t) in out.iter_mut().zip(ts) {
                        *o = self.expected_purchases_if_alive(c, t);
                    }
                    return;
                }
                for (u, t) in us.iter_mut().zip(ts) {
                    *u = t / at;
                }
                let n = ts.len();
                expected_alive_path(
                    self.r + x,
                    &us[..n],
                    self.a,
                    self.b + x + Self::OFFSET,
                    &mut out[..n],
                );
            }

            // The number of further purchases before dropout is geometric with the posterior
            // dropout probability; each takes 1/λ on average, λ | history ~ Gamma(r + x,
            // α + T), so E[1/λ] = (α + T) / (r + x − 1) and E[1/p] = (a + b′ − 1) / (a − 1):
            // finite only for r + x > 1 and a > 1.
            fn remaining_lifetime_if_alive(&self, c: &Rft) -> Option<f64> {
                let x = c.x() as f64;
                let b_post = self.b + x + Self::OFFSET;
                (self.r + x > 1.0 && self.a > 1.0).then(|| {
                    (self.alpha + c.big_t()) / (self.r + x - 1.0) * (self.a + b_post - 1.0)
                        / (self.a - 1.0)
                })
            }

            fn probability_of_purchases_new(&self, t: f64, n: u32) -> Result<f64> {
                check_horizon(t)?;
                $crate::clv::btyd::bg_probability_of_purchases(
                    Self::NAME,
                    [self.r, self.alpha, self.a, self.b],
                    Self::OFFSET,
                    t,
                    n,
                )
            }

            // Alive at T, the customer drops out at their next purchase with probability p:
            // still alive at T + t with probability E[exp(−λpt)] over the posterior.
            fn survival_if_alive(&self, c: &Rft, t: f64) -> f64 {
                let x = c.x() as f64;
                $crate::clv::btyd::bg_survival(
                    self.r + x,
                    t / (self.alpha + c.big_t()),
                    self.a,
                    self.b + x + Self::OFFSET,
                )
            }

            // Alive at T, the future is a new BG/NBD customer's (no dropout at T itself, so
            // offset 0) with the posterior parameters.
            fn probability_of_purchases_if_alive(&self, c: &Rft, t: f64, n: u32) -> Result<f64> {
                let x = c.x() as f64;
                $crate::clv::btyd::bg_probability_of_purchases(
                    Self::NAME,
                    [
                        self.r + x,
                        self.alpha + c.big_t(),
                        self.a,
                        self.b + x + Self::OFFSET,
                    ],
                    0.0,
                    t,
                    n,
                )
            }

            fn expected_purchases_new(&self, t: f64) -> Result<f64> {
                check_horizon(t)?;
                let d = Self::OFFSET;
                let e = if d == 0.0 {
                    expected_alive(self.r, t / self.alpha, self.a, self.b)
                } else {
                    // Alive after the first purchase with probability b / (a + b), then
                    // p ~ Beta(a, b + 1).
                    let survive = self.b / (self.a + self.b);
                    survive * expected_alive(self.r, t / self.alpha, self.a, self.b + d)
                };
                $crate::error::finite_or_overflow("expected purchases", e)
            }
        }
    };
}
pub(crate) use beta_geometric_nbd;

/// ln(1 + eᶻ) without overflow.
pub(crate) fn softplus<R: Real>(z: R) -> R {
    if z.v() > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Expected purchases in the next t of a customer who is alive now, under a beta-geometric
/// dropout: purchase rate λ ~ Gamma(k, α + T) and dropout probability p ~ Beta(a, b_post)
/// a posteriori, and E[Y(t) | λ, p] = (1 − e^(−λpt)) / p. With u = t / (α + T):
///
/// E = ∫₀¹ (1 − (1 + pu)^(−k)) p^(a−2) (1 − p)^(b_post − 1) dp / B(a, b_post)
///   = (a + b_post − 1)/(a − 1) · [1 − (1 − z)^(a−1) ₂F₁(a + b_post − 1 − k, a − 1; a + b_post − 1; z)]
///
/// with z = u / (1 + u). The second line is FHL (2005) eq. 10 after Euler's transformation,
/// which keeps the series short for any x; where it is singular (a → 1) or slow (z → 1), the
/// integral, which has neither problem, is evaluated by quadrature instead.
pub(crate) fn expected_alive(k: f64, u: f64, a: f64, b_post: f64) -> f64 {
    if u <= 0.0 {
        return 0.0;
    }
    if u * (k + 1.0) <= SMALL_HORIZON {
        return expected_alive_near(k, u, a, b_post);
    }
    let z = u / (1.0 + u);
    if (a - 1.0).abs() <= 1e-4 {
        return expected_alive_integral(k, u, a, b_post);
    }
    if z > 0.95 {
        return expected_alive_far(k, u, a, b_post)
            .unwrap_or_else(|| expected_alive_integral(k, u, a, b_post));
    }
    let c = a + b_post - 1.0;
    let (sa, sb) = (c - k, a - 1.0);
    let (mut term, mut f) = (1.0f64, 1.0f64);
    for n in 0..5_000 {
        let nf = n as f64;
        term *= (sa + nf) * (sb + nf) / ((c + nf) * (nf + 1.0)) * z;
        f += term;
        let past_signs = nf > sa.abs() + 1.0 && nf > sb.abs() + 1.0;
        if past_signs && term.abs() <= 1e-16 * f.abs() || term == 0.0 {
            let v = c / (a - 1.0) * (1.0 - (-(a - 1.0) * u.ln_1p()).exp() * f);
            if v.is_finite() && v > 0.0 {
                return v;
            }
            break;
        }
    }
    expected_alive_integral(k, u, a, b_post)
}

/// Up to this u·(k + 1), [`expected_alive`] is its Taylor series in u ([`expected_alive_near`]),
/// whose terms then fall by at least half this factor each (a dozen reach double precision).
/// There the Gauss series in z loses ~1e-16·|c/(a − 1)|/E of its digits to the difference
/// 1 − (1 + u)^(1−a)·F (5e-7 at u = 1e-8 for CDNOW's customers, 1e-9 at u(k + 1) = 0.1 for a
/// buyer of a million purchases), and all of them once (1 + u) rounds to 1: a horizon of
/// 1e-300 then fell to the quadrature, milliseconds an evaluation on subnormal numbers, and a
/// CLV over 10,000 such steps took half a minute.
const SMALL_HORIZON: f64 = 1e-1;

/// [`expected_alive`] for a horizon u short next to the purchase rate's scale (u·(k + 1) ≤
/// [`SMALL_HORIZON`]): expanding 1 − (1 + pu)^(−k) in u under the integral,
///
/// E = Σ_{n ≥ 1} (−1)^(n+1) (k)ₙ/n! · (a)ₙ₋₁/(a + b_post)ₙ₋₁ · uⁿ = k·u·(1 − (k + 1)/2 · a/(a + b_post) · u + …),
///
/// the moments of p ~ Beta(a, b_post) giving the ratios of rising factorials. Each term is at
/// most u·(k + 1)/2 times the one before and of the other sign, so the sum loses no digits;
/// the first term is the purchase rate's mean times the horizon.
fn expected_alive_near(k: f64, u: f64, a: f64, b_post: f64) -> f64 {
    short_series(k, u, a, b_post, false)
}

/// The alternating series of [`expected_alive_near`] (`integrated` false: terms
/// (−1)^(n+1) (k)ₙ/n! · (a)ₙ₋₁/(a + b_post)ₙ₋₁ · xⁿ) and of [`dert_near`] (true: the same
/// times n!), summed until a term no longer moves the sum.
fn short_series(k: f64, x: f64, a: f64, b_post: f64, integrated: bool) -> f64 {
    let mut term = k * x;
    let mut sum = term;
    for n in 1..32 {
        let nf = n as f64;
        let lead = if integrated {
            -(k + nf)
        } else {
            -(k + nf) / (nf + 1.0)
        };
        term *= lead * x * (a + nf - 1.0) / (a + b_post + nf - 1.0);
        sum += term;
        if term.abs() <= 1e-17 * sum.abs() {
            break;
        }
    }
    sum
}

/// Up to this w·(k + 1), with w = 1/(δ(α + T)) the discounting's time scale 1/δ against
/// the purchase rate's, DERT is the series of [`dert_near`]. Only rates far beyond any
/// economic one get there (δ(α + T) ≥ 10⁶(k + 1)); at 1e300 the quadrature in log space met
/// horizons whose expectation underflows to 0 and reported that it did not settle.
pub(crate) const SHORT_DISCOUNTING: f64 = 1e-6;

/// DERT if alive, ∫₀^∞ e^(−s) E(s·w) ds with E the expectation of [`expected_alive`] in u = s·w,
/// for a short time scale w (w·(k + 1) ≤ [`SHORT_DISCOUNTING`]): [`expected_alive_near`]'s
/// series integrated term by term (∫ e^(−s) sⁿ ds = n!),
///
/// Σ_{n ≥ 1} (−1)^(n+1) (k)ₙ · (a)ₙ₋₁/(a + b_post)ₙ₋₁ · wⁿ = k·w·(1 − (k + 1)·a/(a + b_post)·w + …),
///
/// an asymptotic series whose terms fall by at least (k + n)·w each for n far beyond the
/// few that double precision needs.
pub(crate) fn dert_near(k: f64, w: f64, a: f64, b_post: f64) -> f64 {
    short_series(k, w, a, b_post, true)
}

/// [`expected_alive`] far out (z = u/(1 + u) near 1), from the connection formula of 2F1
/// between z and w = 1 − z = 1/(1 + u) (Abramowitz & Stegun 15.3.6). With m = k − a + 1,
///
/// E = c/(a − 1) − (1 + u)^(1−a) Γ(a + b′)Γ(m) / ((a − 1)Γ(k)Γ(b′)) · ₂F₁(c − k, a − 1; 1 − m; w)
///              − (1 + u)^(−k) Γ(a + b′)Γ(−m) / (Γ(c − k)Γ(a)) · ₂F₁(k, b′; 1 + m; w),
///
/// whose series in w take a few terms where the series in z would take thousands and
/// quadrature ~10 µs (a CLV's horizons run to u ~ 10⁴). The leading term is the
/// u^(1−a) growth of a customer who may never drop out (a < 1). `None` where the formula is
/// unusable and the caller integrates instead: m within [`NEAR_INTEGER`] of an integer (the
/// two terms have poles there that cancel; the limit has logarithms, and close to it the
/// cancellation costs digits), or a series that does not settle within its terms (b′ ≫ u,
/// or a heavy buyer whose k − c exceeds them: correct, at the quadrature's cost).
fn expected_alive_far(k: f64, u: f64, a: f64, b_post: f64) -> Option<f64> {
    let m = k - a + 1.0;
    if (m - m.round()).abs() < NEAR_INTEGER || (a - 1.0).abs() <= 1e-4 {
        return None;
    }
    let w = 1.0 / (1.0 + u);
    let ln_1pu = u.ln_1p();
    let c = a + b_post - 1.0;
    // Γ(a + b′)/Γ(b′) and Γ(m)/Γ(k) = Γ(k + 1 − a)/Γ(k) as ratios: for a heavy buyer the
    // ln Γ values are large and their difference would lose digits.
    let (ln_ab_b, s_ab_b) = ln_gamma_ratio(b_post, a);
    let (ln_m_k, s_m_k) = ln_gamma_ratio(k, 1.0 - a);
    let f1 = small_w_series(c - k, a - 1.0, 1.0 - m, w)?;
    let t1 = s_ab_b * s_m_k * ((1.0 - a) * ln_1pu + ln_ab_b + ln_m_k).exp() / (a - 1.0) * f1;
    // The second term is (1 + u)^(−m) relative to the first: tiny unless m is small, but
    // Γ(−m) and 1/Γ(c − k) change sign, so it is carried with its sign. 1/Γ(c − k) = 0 at a
    // pole of Γ(c − k) (ln Γ = +∞ there), and the term vanishes.
    let (ln_ab_a, s_ab_a) = ln_gamma_ratio(a, b_post);
    let (ln_neg_m, s_neg_m) = ln_gamma_signed(-m);
    let (ln_ck, s_ck) = ln_gamma_signed(c - k);
    let t2 = if ln_ck.is_infinite() {
        0.0
    } else {
        let f2 = small_w_series(k, b_post, 1.0 + m, w)?;
        s_ab_a * s_neg_m * s_ck * (-k * ln_1pu + ln_ab_a + ln_neg_m - ln_ck).exp() * f2
    };
    let e = c / (a - 1.0) - t1 - t2;
    (e.is_finite() && e > 0.0).then_some(e)
}

/// How close m = k − a + 1 may come to an integer before [`expected_alive_far`] gives way to
/// quadrature: its two terms then carry poles of size ~1/distance that cancel, so the
/// answer keeps about 1e-16 / 1e-3 · wᵐ relative accuracy at worst, below 1e-13 for w ≤ 0.05.
const NEAR_INTEGER: f64 = 1e-3;

/// Terms [`small_w_series`] may take (a heavy buyer at the shortest far horizon needs about
/// b′·w; past this, quadrature is cheaper).
const FAR_SERIES_TERMS: usize = 2_000;

/// The Gauss series Σₙ (p)ₙ(q)ₙ/((s)ₙ n!) wⁿ at a small w, or `None` when it has not settled
/// within [`FAR_SERIES_TERMS`] terms or its terms grew far past its sum (digits lost to
/// cancellation). It stops only once every factor has passed its sign change and the rest
/// of the sum is provably below 1e-17 of it: from there each ratio of successive terms is at
/// most ρ = w·max(1, (p + n)/(n + 1))·max(1, (q + n)/(s + n)), each factor moving toward 1, so
/// the tail is at most |term|·ρ/(1 − ρ).
fn small_w_series(p: f64, q: f64, s: f64, w: f64) -> Option<f64> {
    let (mut term, mut sum, mut largest) = (1.0f64, 1.0f64, 1.0f64);
    for n in 0..FAR_SERIES_TERMS {
        let nf = n as f64;
        term *= (p + nf) * (q + nf) / ((s + nf) * (nf + 1.0)) * w;
        sum += term;
        largest = largest.max(term.abs());
        if term == 0.0 {
            break;
        }
        let next = nf + 1.0;
        if next > -p && next > -q && next > -s {
            let rho = w * ((p + next) / (next + 1.0)).max(1.0) * ((q + next) / (s + next)).max(1.0);
            if rho < 1.0 && term.abs() * rho / (1.0 - rho) <= 1e-17 * sum.abs() {
                break;
            }
        }
        if n + 1 == FAR_SERIES_TERMS {
            return None;
        }
    }
    (sum.is_finite() && largest <= 1e3 * sum.abs()).then_some(sum)
}

/// The integral form of [`expected_alive`], by tanh-sinh quadrature.
///
/// The integrand behaves like p^(a−1) at p = 0 and (1 − p)^(b′−1) at p = 1. A double-exponential
/// rule in f64 samples no closer to an end than ~1e-37 (and nothing closer than ~1e-308
/// exists), so with a small shape the mass it never sees, ~ε^a, is far from negligible
/// (5e-4 of the answer at a = 0.09). Each half with a shape below 1 is therefore integrated in
/// the variable that makes its end regular: s = p^a on [0, ½] (p^(a−1) dp = ds/a) and
/// v = (1 − p)^b′ on [½, 1] ((1 − p)^(b′−1) dp = −dv/b′).
fn expected_alive_integral(k: f64, u: f64, a: f64, b_post: f64) -> f64 {
    if u <= 0.0 {
        return 0.0;
    }
    let ln_u = u.ln();
    // ln (1 − (1 + pu)^(−k)) / p from ln p, without the 0/0 of a tiny p (the ratio → k·u).
    let ln_hit_over_p = |ln_p: f64| -> f64 {
        let x = (ln_p + ln_u).exp();
        let g = if x > 0.0 {
            -(-k * x.ln_1p()).exp_m1() / x
        } else {
            k
        };
        g.ln() + ln_u
    };
    // Only a shape below 1 makes its end singular; a larger one is integrated in p itself
    // (its substitution's bound 2^(−shape) would underflow past shape ≈ 1075, and the
    // integrand then peaks inside, where plain nodes do well).
    let lower: f64 = if a < 1.0 {
        let ln_i: f64 = tanh_sinh(0.0, (-a * std::f64::consts::LN_2).exp(), |_, s, _| {
            let ln_p = s.ln() / a;
            ln_hit_over_p(ln_p) + (b_post - 1.0) * (-ln_p.exp()).ln_1p()
        });
        ln_i - a.ln()
    } else {
        tanh_sinh(0.0, 0.5, |p, p0, _| {
            let ln_p = p0.ln();
            ln_hit_over_p(ln_p) + (a - 1.0) * ln_p + (b_post - 1.0) * (-p).ln_1p()
        })
    };
    let upper: f64 = if b_post < 1.0 {
        let ln_i: f64 = tanh_sinh(0.0, (-b_post * std::f64::consts::LN_2).exp(), |_, v, _| {
            let ln_p = (-(v.ln() / b_post).exp()).ln_1p();
            ln_hit_over_p(ln_p) + (a - 1.0) * ln_p
        });
        ln_i - b_post.ln()
    } else {
        tanh_sinh(0.5, 1.0, |p, _, q0| {
            let ln_p = p.ln();
            ln_hit_over_p(ln_p) + (a - 1.0) * ln_p + (b_post - 1.0) * q0.ln()
        })
    };
    let ln_i = log_add_exp(lower, upper);
    (ln_i - ln_beta(a, b_post)).exp()
}

/// The parameters of the BG/NBD family's P(alive) as its log odds needs them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AliveOdds {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    /// The offset d: the dropout odds are a / (b + x − 1 + d).
    d: f64,
    /// b − 1 + d, the loop's form of the dropout odds' denominator.
    b_shift: f64,
}

impl AliveOdds {
    /// From r, α, a, b and the offset d.
    pub(crate) fn new(&[r, alpha, a, b]: &[f64; 4], d: f64) -> Self {
        AliveOdds {
            r,
            alpha,
            a,
            b,
            d,
            b_shift: b - 1.0 + d,
        }
    }

    /// d = 0 (BG/NBD): a customer without repeat purchases cannot have dropped out.
    fn no_repeats_alive(&self) -> bool {
        self.d == 0.0
    }
}

/// P(alive) = 1 / (1 + e^z), z = ln a − ln(b + x − 1 + d) + (r + x)·(ln(α + T) − ln(α + t_x)),
/// with libm's logarithm and exponential: lifetimes' formula, and the fastest form for one
/// customer (libm's calls use FMA where the CPU has it). Columns take
/// [`bg_p_alive_columns`], which agrees to about 1e-15.
#[inline(always)]
pub(crate) fn bg_p_alive(o: &AliveOdds, x: u32, t_x: f64, big_t: f64) -> f64 {
    if o.no_repeats_alive() && x == 0 {
        return 1.0;
    }
    let x = x as f64;
    let z = o.a.ln() - (o.b + (x - 1.0 + o.d)).ln()
        + (o.r + x) * ((o.alpha + big_t).ln() - (o.alpha + t_x).ln());
    1.0 / (1.0 + z.exp())
}

/// Log odds below [`elementary::EXP_MIN`] raised to it: e^z < 2^−1021 there and P(alive)
/// rounds to 1 either way. A NaN stays NaN (`f64::max` would turn it into a number, and an
/// overflowing history into a certain one).
#[inline(always)]
fn floor_log_odds(z: f64) -> f64 {
    if z < elementary::EXP_MIN {
        elementary::EXP_MIN
    } else {
        z
    }
}

/// Whether [`elementary::ln_ratio_core`] holds for a/b and c/d.
#[inline(always)]
fn ratios_in_range(a: f64, b: f64, c: f64, d: f64) -> bool {
    elementary::ln_in_range(a)
        & elementary::ln_in_range(b)
        & elementary::ln_in_range(c)
        & elementary::ln_in_range(d)
}

/// P(alive) over columns, in parallel chunks: z = ln(a / (b + x − 1 + d)) + (r + x)·ln((α + T)
/// / (α + t_x)) with [`elementary`]'s logarithm of a ratio and exponential, so the loop over
/// a chunk has no call and no branch and vectorises (on x86-64 it runs a build for AVX-512 or
/// AVX2 where the CPU has one, which gives the same bits). Two logarithms of ratios rather than four logarithms:
/// each costs one division, and the difference of ln(α + T) and ln(α + t_x) would cancel
/// where T ≈ t_x. A row the fast forms do not cover (a ratio or the log odds out of their
/// range) is marked and redone by [`bg_p_alive`] after the loop. The dropout odds depend on
/// x alone: a chunk whose x are all small looks them up in a [`DropoutOdds`] table made once
/// for the column (the same bits). Agrees with [`bg_p_alive`] to about 1e-15 (a unit test
/// bounds it by that form's own rounding). Written into `out`, a row per history.
pub(crate) fn bg_p_alive_columns(
    o: &AliveOdds,
    h: &HistoryColumns<'_>,
    out: &mut [f64],
) -> Result<()> {
    columns::check_output(h, out)?;
    let (x, t_x, big_t) = (h.x(), h.t_x(), h.big_t());
    let dropout = DropoutOdds::new(o);
    // The pass that redoes the marked rows also finds the first that is still not a number
    // (an overflowing history): no second pass over the column to check it.
    let first_bad = out
        .par_chunks_mut(P_ALIVE_CHUNK)
        .enumerate()
        .filter_map(|(c, out)| {
            let start = c * P_ALIVE_CHUNK;
            let rows = start..start + out.len();
            let (x, t_x, big_t) = (&x[rows.clone()], &t_x[rows.clone()], &big_t[rows]);
            let chunk = AliveChunk {
                o,
                dropout: &dropout,
                x,
                t_x,
                big_t,
            };
            p_alive_chunk_dispatch(chunk, out);
            // Marked rows are rare: a test of the whole chunk (branch-free, so vectorised)
            // before looking for them one by one.
            if !out.iter().fold(false, |any, p| any | p.is_nan()) {
                return None;
            }
            let mut bad = None;
            for i in (0..out.len()).rev() {
                if out[i].is_nan() {
                    out[i] = bg_p_alive(o, x[i], t_x[i], big_t[i]);
                    if !out[i].is_finite() {
                        bad = Some(start + i);
                    }
                }
            }
            bad
        })
        .min();
    columns::overflow_at("P(alive)", out, first_bad)
}

/// What the loop over a chunk of rows reads: the model's odds, the column's table of dropout
/// odds, and the rows' x, t_x and T.
#[derive(Clone, Copy)]
struct AliveChunk<'a> {
    o: &'a AliveOdds,
    dropout: &'a DropoutOdds,
    x: &'a [u32],
    t_x: &'a [f64],
    big_t: &'a [f64],
}

/// Rows a task of [`bg_p_alive_columns`] takes (its columns stay in cache).
const P_ALIVE_CHUNK: usize = 1 << 13;

fn p_alive_chunk_dispatch(c: AliveChunk<'_>, out: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the one requirement of a `target_feature` function is that the CPU has the
        // feature, checked on the line above.
        unsafe { p_alive_chunk_avx512(c, out) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the one requirement of a `target_feature` function is that the CPU has the
        // feature, checked on the line above.
        unsafe { p_alive_chunk_avx2(c, out) };
        return;
    }
    p_alive_chunk(c, out);
}

/// [`p_alive_chunk`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn p_alive_chunk_avx2(c: AliveChunk<'_>, out: &mut [f64]) {
    p_alive_chunk(c, out);
}

/// [`p_alive_chunk`] compiled for AVX-512 (eight rows a register).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn p_alive_chunk_avx512(c: AliveChunk<'_>, out: &mut [f64]) {
    p_alive_chunk(c, out);
}

/// The x below which [`DropoutOdds`] holds the dropout odds: almost every customer's.
const DROPOUT_TABLE: usize = 256;

/// The log dropout odds ln(a / (b + x − 1 + d)) for x = 0, 1, … 255, computed once for a
/// column: they depend on x alone, and looking them up spares a chunk of customers with
/// small x one of its two logarithms of a ratio (and its division) for every row. Computed
/// by the loop's own [`elementary::ln_ratio_core`], so a row gets the same bits either way.
struct DropoutOdds([f64; DROPOUT_TABLE]);

impl DropoutOdds {
    fn new(o: &AliveOdds) -> Self {
        DropoutOdds(std::array::from_fn(|x| {
            elementary::ln_ratio_core(o.a, o.b_shift + x as f64)
        }))
    }
}

/// P(alive) of a chunk of rows with the fast forms only; NaN for a row they do not cover
/// (never a P(alive), which lies in [0, 1]). A chunk whose x all lie in the dropout odds'
/// table looks them up; otherwise each row computes its own (the same bits).
#[inline(always)]
fn p_alive_chunk(c: AliveChunk<'_>, out: &mut [f64]) {
    let AliveChunk {
        o,
        dropout,
        x,
        t_x,
        big_t,
    } = c;
    let n = out.len();
    let (x, t_x, big_t) = (&x[..n], &t_x[..n], &big_t[..n]);
    if x.iter().fold(0, |m, &v| m.max(v)) < DROPOUT_TABLE as u32 {
        // Every index is below the table's length (the mask only says so to the compiler,
        // which then checks no bound).
        p_alive_rows(o, x, t_x, big_t, out, |x, _| {
            dropout.0[x as usize % DROPOUT_TABLE]
        });
    } else {
        p_alive_rows(o, x, t_x, big_t, out, |_, b_x| {
            elementary::ln_ratio_core(o.a, b_x)
        });
    }
}

/// The loop of [`p_alive_chunk`], with the log dropout odds of a row's x (and b + x − 1 + d)
/// from `ln_dropout`.
#[inline(always)]
fn p_alive_rows(
    o: &AliveOdds,
    x: &[u32],
    t_x: &[f64],
    big_t: &[f64],
    out: &mut [f64],
    ln_dropout: impl Fn(u32, f64) -> f64,
) {
    let n = out.len();
    // Two loops over a block that stays in L1 rather than one: the log odds (a logarithm of
    // a ratio, with its division), then the logistic (an exponential and a division). One
    // row's work is a single chain of dependent operations, longer than the core can keep
    // in flight; split, each loop's rows are short independent chains that overlap.
    for start in (0..n).step_by(ALIVE_BLOCK) {
        let out = &mut out[start..(start + ALIVE_BLOCK).min(n)];
        let m = out.len();
        // Each column sliced to the block's length: the compiler then checks no bound in the
        // loops.
        let (x, t_x, big_t) = (&x[start..][..m], &t_x[start..][..m], &big_t[start..][..m]);
        for i in 0..m {
            let xf = x[i] as f64;
            let b_x = o.b_shift + xf;
            let ln_dropout = ln_dropout(x[i], b_x);
            let (age, recency) = (o.alpha + big_t[i], o.alpha + t_x[i]);
            let z = ln_dropout + (o.r + xf) * elementary::ln_ratio_core(age, recency);
            let held = ratios_in_range(o.a, b_x, age, recency);
            // A row with no repeat purchase under BG/NBD is alive whatever its odds say:
            // log odds of −∞ give exactly 1 below.
            let sure = o.no_repeats_alive() & (x[i] == 0);
            out[i] = if sure {
                f64::NEG_INFINITY
            } else if held {
                z
            } else {
                f64::NAN
            };
        }
        for p in out.iter_mut() {
            let zc = floor_log_odds(*p);
            let alive = 1.0 / (1.0 + elementary::exp_core(zc));
            *p = if zc <= elementary::EXP_MAX {
                alive
            } else {
                f64::NAN
            };
        }
    }
}

/// Rows of a chunk that [`p_alive_rows`] takes through its two loops at a time.
const ALIVE_BLOCK: usize = 512;

/// [`expected_alive`] at several horizons at once. The Gauss series has the same coefficients
/// at every horizon, so each coefficient is computed once and added into every horizon's sum.
/// Horizons go in groups of [`LANES`], each group's sums held in registers (independent
/// chains, so the multiply-adds pipeline and vectorise) and stopped once its own largest
/// horizon has converged: a CLV's early months, at small z, need a fraction of the terms of
/// the last. Coefficients are made a block at a time on the stack. The CLV's monthly steps
/// then cost a few series' worth of multiply-adds.
pub(crate) fn expected_alive_path(k: f64, us: &[f64], a: f64, b_post: f64, out: &mut [f64]) {
    // The series' multiply-adds are most of a CLV's time; with AVX2 a group of four horizons
    // is one register instead of two. Rust never fuses a multiply and an add on its own, so
    // both builds of the body give the same bits: only the speed depends on the CPU.
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the one requirement of a `target_feature` function is that the CPU has the
        // feature, checked on the line above.
        unsafe { expected_alive_path_avx2(k, us, a, b_post, out) };
        return;
    }
    expected_alive_path_body(k, us, a, b_post, out);
}

/// [`expected_alive_path_body`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn expected_alive_path_avx2(k: f64, us: &[f64], a: f64, b_post: f64, out: &mut [f64]) {
    expected_alive_path_body(k, us, a, b_post, out);
}

/// The body of [`expected_alive_path`], inlined into each build of it.
#[inline(always)]
fn expected_alive_path_body(k: f64, us: &[f64], a: f64, b_post: f64, out: &mut [f64]) {
    if (a - 1.0).abs() <= 1e-4 || us.len() > MAX_PATH {
        for (o, &u) in out.iter_mut().zip(us) {
            *o = expected_alive(k, u, a, b_post);
        }
        return;
    }
    let c = a + b_post - 1.0;
    let (sa, sb) = (c - k, a - 1.0);
    let n_us = us.len();
    let groups = n_us.div_ceil(LANES);
    // Horizons past PATH_SERIES_Z are evaluated one at a time (the connection formula);
    // in the series they ride along with z = 0 (their sum stays 1 and is not used), as do
    // the lanes past the last horizon.
    let mut zs = [0.0f64; MAX_PATH];
    for (z, &u) in zs.iter_mut().zip(us) {
        let zu = u / (1.0 + u);
        *z = if zu <= PATH_SERIES_Z { zu } else { 0.0 };
    }
    // Each horizon's sum runs in two interleaved chains, odd and even terms, each power two
    // steps on from the one before (z² apart): half the multiplications wait on each other.
    let mut zp1 = [0.0f64; MAX_PATH];
    let mut zp2 = [0.0f64; MAX_PATH];
    let mut fs = [1.0f64; MAX_PATH];
    for j in 0..groups * LANES {
        zp1[j] = zs[j];
        zp2[j] = zs[j] * zs[j];
    }
    // Per group: the largest z, its power, and whether it is still summing.
    let mut z_max = [0.0f64; MAX_PATH / LANES];
    let mut z_pow = [1.0f64; MAX_PATH / LANES];
    let mut active = [false; MAX_PATH / LANES];
    let mut converged = [false; MAX_PATH / LANES];
    for g in 0..groups {
        z_max[g] = zs[g * LANES..(g + 1) * LANES]
            .iter()
            .fold(0.0, |m, &z| m.max(z));
        active[g] = true;
    }
    // The first term past every factor's change of sign (n > |sa| + 1 and n > |sb| + 1):
    // from there the terms shrink steadily and the bound below holds.
    let signs_settled = (sa.abs().max(sb.abs()) + 1.0)
        .floor()
        .min(PATH_SERIES_TERMS as f64) as usize
        + 1;
    let mut coef = [0.0f64; COEF_BLOCK];
    let mut cn = 1.0f64;
    let mut n0 = 0usize;
    while n0 < PATH_SERIES_TERMS && active[..groups].iter().any(|&a| a) {
        // Coefficients n0 .. n0 + COEF_BLOCK of the series (term n uses c_{n+1} z^{n+1}).
        // The ratios of successive coefficients are independent (their divisions pipeline
        // and vectorise); the running product then goes in two interleaved chains, each
        // coefficient two ratios on from the one two back, which halves the multiplications
        // waiting on each other.
        let mut ratio = [0.0f64; COEF_BLOCK];
        for (i, r) in ratio.iter_mut().enumerate() {
            let nf = (n0 + i) as f64;
            *r = (sa + nf) * (sb + nf) / ((c + nf) * (nf + 1.0));
        }
        coef[0] = cn * ratio[0];
        coef[1] = coef[0] * ratio[1];
        for i in (2..COEF_BLOCK).step_by(2) {
            coef[i] = coef[i - 2] * (ratio[i - 1] * ratio[i]);
            coef[i + 1] = coef[i - 1] * (ratio[i] * ratio[i + 1]);
        }
        cn = coef[COEF_BLOCK - 1];
        for g in 0..groups {
            if !active[g] {
                continue;
            }
            let lanes = g * LANES..(g + 1) * LANES;
            let mut z2 = [0.0f64; LANES];
            let mut p1 = [0.0f64; LANES];
            let mut p2 = [0.0f64; LANES];
            let mut f = [0.0f64; LANES];
            for l in 0..LANES {
                z2[l] = zs[g * LANES + l] * zs[g * LANES + l];
            }
            p1.copy_from_slice(&zp1[lanes.clone()]);
            p2.copy_from_slice(&zp2[lanes.clone()]);
            f.copy_from_slice(&fs[lanes.clone()]);
            let mut zn = z_pow[g];
            let zm = z_max[g];
            let zm4 = (zm * zm) * (zm * zm);
            // Four terms between convergence checks: the check is a compare and a branch
            // per group, the terms a few multiply-adds; a converged sum takes up to three
            // terms more, each below the bound.
            for (q, quad) in coef.chunks_exact(TERMS_PER_CHECK).enumerate() {
                for pair in quad.chunks_exact(2) {
                    for l in 0..LANES {
                        f[l] += pair[0] * p1[l] + pair[1] * p2[l];
                        p1[l] *= z2[l];
                        p2[l] *= z2[l];
                    }
                }
                zn *= zm4;
                let last = quad[TERMS_PER_CHECK - 1];
                let n_last = n0 + (q + 1) * TERMS_PER_CHECK - 1;
                if n_last >= signs_settled && (last * zn).abs() <= 1e-16 || last == 0.0 {
                    active[g] = false;
                    converged[g] = true;
                    break;
                }
            }
            z_pow[g] = zn;
            zp1[lanes.clone()].copy_from_slice(&p1);
            zp2[lanes.clone()].copy_from_slice(&p2);
            fs[lanes].copy_from_slice(&f);
        }
        n0 += COEF_BLOCK;
    }
    let scale = c / (a - 1.0);
    // The powers (1 + u)^−(a−1) of every horizon, in a loop without calls that vectorises
    // (libm's log1p and exp, one horizon at a time, were a quarter of a live rescoring);
    // a horizon outside the fast forms' range takes libm.
    let mut power = [0.0f64; MAX_PATH];
    for (w, &u) in power[..n_us].iter_mut().zip(us) {
        let e = -(a - 1.0) * elementary::ln_ratio_core(1.0 + u, 1.0);
        let held = elementary::ln_in_range(1.0 + u)
            & (elementary::EXP_MIN..=elementary::EXP_MAX).contains(&e);
        *w = if held {
            elementary::exp_core(e)
        } else {
            f64::NAN
        };
    }
    for (w, &u) in power[..n_us].iter_mut().zip(us) {
        if w.is_nan() {
            *w = (-(a - 1.0) * u.ln_1p()).exp();
        }
    }
    for j in 0..n_us {
        let u = us[j];
        let v = scale * (1.0 - power[j] * fs[j]);
        out[j] = if u <= 0.0 {
            0.0
        } else if u * (k + 1.0) <= SMALL_HORIZON || u / (1.0 + u) > PATH_SERIES_Z {
            // Short horizons (the Taylor series) and far ones, one at a time.
            expected_alive(k, u, a, b_post)
        } else if converged[j / LANES] && v.is_finite() && v > 0.0 {
            v
        } else {
            expected_alive_integral(k, u, a, b_post)
        };
    }
}

/// Horizons summed together in registers by [`expected_alive_path`].
const LANES: usize = 4;

/// Coefficients [`expected_alive_path`] makes at a time (a path at z ≈ 0.6 needs ~70).
const COEF_BLOCK: usize = 32;

/// Terms [`expected_alive_path`] adds between two convergence checks (divides
/// [`COEF_BLOCK`]).
const TERMS_PER_CHECK: usize = 4;

/// The largest z = u/(1 + u) a path sums the series at (u ≈ 99). One horizon at a time, the
/// series gives way to quadrature past z = 0.95; a path shares each coefficient between its
/// horizons, so the longer series (~3,700 terms at z = 0.99) still costs a few multiply-adds
/// per horizon and term, against ~10 µs of quadrature per horizon (long CLV horizons).
/// Agreement with mpmath's 2F1 to 1e-13 up to u = 99 is a unit test.
const PATH_SERIES_Z: f64 = 0.99;

/// Terms the path series may take: enough for 1e-16 at z = 0.99 with room to spare.
const PATH_SERIES_TERMS: usize = 40_000;

/// P(X(t) = n) of a new beta-geometric customer with parameters [r, α, a, b] and offset d
/// (FHL 2005 eq. 8; for d = 1 every b + n becomes b + n + 1 and the dropout term is present
/// for n = 0 too); `t` already checked.
pub(crate) fn bg_probability_of_purchases(
    model: &'static str,
    [r, alpha, a, b]: [f64; 4],
    d: f64,
    t: f64,
    n: u32,
) -> Result<f64> {
    if t == 0.0 {
        return Ok(if n == 0 { 1.0 } else { 0.0 });
    }
    let nf = n as f64;
    let first = (ln_beta(a, b + nf + d) - ln_beta(a, b) + ln_nb(r, alpha, t, n)).exp();
    if d == 0.0 && n == 0 {
        return probability(first);
    }
    let tail = nb_upper_tail(r, alpha, t, n).ok_or_else(|| crate::error::Error::Solver {
        model,
        reason: format!("P(X({t}) ≥ {n}) did not converge"),
    })?;
    let second = (ln_beta(a + 1.0, b + (nf - 1.0 + d)) - ln_beta(a, b)).exp() * tail;
    probability(first + second)
}

/// The probability that a beta-geometric customer alive now is still alive after t more,
/// with λ ~ Gamma(k, α + T) and p ~ Beta(a, b_post) a posteriori and u = t / (α + T):
/// E[exp(−λpt)] = E_p[(1 + pu)^(−k)] = ₂F₁(k, a; a + b_post; −u), evaluated as the integral
/// over p by tanh-sinh quadrature (no series to stall as u grows).
pub(crate) fn bg_survival(k: f64, u: f64, a: f64, b_post: f64) -> f64 {
    if u <= 0.0 {
        return 1.0;
    }
    let ln_b = ln_beta(a, b_post);
    let ln: f64 = tanh_sinh(0.0, 1.0, |p, from_0, to_1| {
        -k * (p * u).ln_1p() + (a - 1.0) * from_0.ln() + (b_post - 1.0) * to_1.ln() - ln_b
    });
    ln.exp().min(1.0)
}

/// Horizons a path evaluates together (more fall back to one at a time).
pub(crate) const MAX_PATH: usize = 64;

/// ln of the negative-binomial probability of j purchases in t for a new customer:
/// Γ(r + j)/(Γ(r) j!) (α/(α+t))^r (t/(α+t))^j.
pub(crate) fn ln_nb(r: f64, alpha: f64, t: f64, j: u32) -> f64 {
    let j = j as f64;
    let lt = (alpha + t).ln();
    let tail = if j == 0.0 { 0.0 } else { j * (t.ln() - lt) };
    crate::special::ln_gamma(r + j)
        - crate::special::ln_gamma(r)
        - crate::special::ln_gamma(j + 1.0)
        + r * (alpha.ln() - lt)
        + tail
}

/// 1 − Σ_{j<n} NB(j): the probability of at least n purchases in t (no dropout).
pub(crate) fn nb_upper_tail(r: f64, alpha: f64, t: f64, n: u32) -> Option<f64> {
    // Past the mean r·t/α the terms only shrink: once one no longer moves the sum, none of
    // the rest will, so a huge n costs no more than the distribution's bulk. A bulk of more
    // than 1,000 terms is not walked (t = 1e9 with n = u32::MAX took minutes, and 80,000
    // summed terms lose 1e-11): the tail is the regularised incomplete beta
    // I_{t/(α+t)}(n, r), in about √n steps and to ~1e-15.
    let mean = r * t / alpha;
    let sd = (mean * (1.0 + t / alpha)).sqrt();
    if (n as f64).min(mean + 40.0 * sd + 40.0) > 1e3 {
        return incomplete_beta(n as f64, r, t / (alpha + t), alpha / (alpha + t));
    }
    let mut cdf = 0.0;
    for j in 0..n {
        let term = ln_nb(r, alpha, t, j).exp();
        cdf += term;
        if j as f64 > mean && term <= cdf * 1e-17 {
            break;
        }
    }
    Some((1.0 - cdf).max(0.0))
}

/// A computed probability, or [`Error::Overflow`] when extreme parameters made it NaN or
/// infinite (ln-gamma differences of huge arguments).
pub(crate) fn probability(p: f64) -> Result<f64> {
    Ok(crate::error::finite_or_overflow("P(X(t) = n)", p)?.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::special::hyp2f1_series;

    /// The path series, summed up to z = 0.99 (u = 99), against mpmath's 2F1
    /// (benches/peers/alive_path_reference.py); one horizon at a time (quadrature past
    /// z = 0.95) as well.
    #[test]
    fn long_horizon_path_matches_mpmath() {
        let (r, a, b) = (0.243, 0.793, 2.426);
        let want = [
            (
                0.0,
                [2.002730941585411, 3.306485333955368, 4.597801501211251],
            ),
            (
                2.0,
                [13.012721525520492, 19.46288112900828, 25.304993816704226],
            ),
            (
                10.0,
                [47.93138386423111, 69.34280214754659, 88.4814724705284],
            ),
        ];
        let us = [20.0, 50.0, 99.0];
        for (x, w) in want {
            let mut out = [0.0; 3];
            expected_alive_path(r + x, &us, a, b + x, &mut out);
            for i in 0..3 {
                let single = expected_alive(r + x, us[i], a, b + x);
                assert!(
                    (out[i] - w[i]).abs() < 1e-13 * w[i],
                    "path {} vs {}",
                    out[i],
                    w[i]
                );
                assert!(
                    (single - w[i]).abs() < 1e-13 * w[i],
                    "single {single} vs {}",
                    w[i]
                );
            }
        }
    }

    /// Short horizons (u·(k + 1) from just below `SMALL_HORIZON` to 1e-15) by the Taylor
    /// series, and one just past it by the Gauss series, against mpmath's 2F1 at 60 digits
    /// (benches/peers/alive_near_reference.py, checked there against quadrature) — for a
    /// heavy buyer too, where the crate's own quadrature is off by 4e-10. Subnormal horizons
    /// (which fell to a slow quadrature, and whose series in z gave 0) give k·u, one at a
    /// time and along a path.
    #[test]
    #[allow(clippy::excessive_precision)] // mpmath's 17 digits, as printed
    fn tiny_horizons_take_the_taylor_series() {
        // (k, a, b′, horizons u, E at each)
        type Case = (f64, f64, f64, [f64; 4], [f64; 4]);
        #[rustfmt::skip]
        let want: [Case; 3] = [
            (0.243, 0.793, 2.426, [0.0796, 8e-4, 1e-9, 0.0821],
             [0.019112828626445454, 0.00019437619494333829, 2.4299999996279516e-10, 0.019705842400911475]),
            (2.5, 3.5, 1.2, [0.028, 1e-6, 1e-12, 0.029],
             [0.06752784154671965, 2.4999967420251346e-6, 2.499999999996742e-12, 0.069851150878596144]),
            (1000000.2, 1.7, 1000002.0, [9.9e-8, 1e-11, 1e-15, 1.01e-7],
             [0.099000011469169903, 1.0000001999915e-5, 1.0000001999999992e-9, 0.10100001152917074]),
        ];
        for (k, a, bp, us, w) in want {
            for i in 0..4 {
                let past = i == 3;
                assert_eq!(us[i] * (k + 1.0) > SMALL_HORIZON, past, "{k} {}", us[i]);
                let got = expected_alive(k, us[i], a, bp);
                // The Gauss series just past the threshold has lost ~1e-16·|c/(a − 1)|/E of
                // its digits to the difference (1e-9 for the heavy buyer).
                let c = a + bp - 1.0;
                let tol = if past {
                    (1e-15 * (c / (a - 1.0)).abs() / w[i]).max(1e-13)
                } else {
                    1e-14
                };
                assert!(
                    (got - w[i]).abs() <= tol * w[i],
                    "{k} {a} {bp} {}: {got} vs {}",
                    us[i],
                    w[i]
                );
                let mut path = [0.0; 1];
                expected_alive_path(k, &us[i..=i], a, bp, &mut path);
                assert!((path[0] - w[i]).abs() <= tol * w[i], "path {}", path[0]);
            }
            for u in [1e-300, 5e-324] {
                assert_eq!(expected_alive(k, u, a, bp), k * u);
                let mut path = [0.0; 2];
                expected_alive_path(k, &[u, 2.0 * u], a, bp, &mut path);
                assert_eq!(path, [k * u, k * (2.0 * u)]);
            }
        }
    }

    /// DERT at very high discount rates: the series equals the quadrature (which still works
    /// there in normal numbers) on both sides of the threshold, and at a rate of 1e300 it
    /// gives k/(δ(α + T)), where the quadrature did not settle.
    #[test]
    fn dert_at_very_high_rates_takes_the_series() {
        use crate::clv::model::dert_by_quadrature;
        use crate::clv::{BgNbd, MbgNbd, TransactionModel};
        let (r, alpha, a, b) = (0.243, 4.414, 0.793, 2.426);
        let bg = BgNbd::new(r, alpha, a, b).unwrap();
        let mbg = MbgNbd::new(r, alpha, a, b).unwrap();
        for (x, t) in [(0u32, 40.0), (2, 40.0), (30, 1e6)] {
            let c = Rft::new(x, if x > 0 { 20.0 } else { 0.0 }, t).unwrap();
            let k = r + x as f64;
            for scale in [0.5, 2.0] {
                // δ putting w·(k + 1) at half and twice the threshold: the series against the
                // quadrature on both sides, and each model taking the series below it only.
                let rate = (k + 1.0) / (scale * SHORT_DISCOUNTING * (alpha + t));
                let w = 1.0 / rate / (alpha + t);
                for (m, b_post) in [
                    (&bg as &dyn TransactionModel, b + x as f64),
                    (&mbg, b + x as f64 + 1.0),
                ] {
                    let series = dert_near(k, w, a, b_post);
                    let quad = dert_by_quadrature(m, &c, rate).unwrap();
                    assert!(
                        (series - quad).abs() <= 1e-10 * quad,
                        "{x} {scale}: {series} vs {quad}"
                    );
                    let got = m.dert_if_alive(&c, rate).unwrap();
                    assert_eq!(got, if scale < 1.0 { series } else { quad });
                }
            }
            let want = k / (alpha + t) / 1e300;
            let got = bg.dert_if_alive(&c, 1e300).unwrap();
            assert!((got - want).abs() <= 1e-15 * want, "{got} vs {want}");
        }
        // δ(α + T) beyond f64, the answer subnormal (~8 digits): r/(α + T)/δ for a customer
        // without repeat purchases (P(alive) = 1).
        let got = bg.dert(&Rft::new(0, 0.0, 1e15).unwrap(), 1e300).unwrap();
        assert!((got / 2.43e-316 - 1.0).abs() < 1e-6, "{got}");
    }

    /// Far horizons (u = 100 … 1e9) against mpmath's 2F1 and quadrature, which agree to 1e-25
    /// (benches/peers/alive_far_reference.py): by the connection formula where it applies, by
    /// quadrature where m = k − a + 1 is (near) an integer; a path of far horizons equals
    /// them one at a time; the quadrature agrees everywhere.
    #[test]
    #[allow(clippy::excessive_precision)] // mpmath's 17 digits, as printed
    fn far_horizons_match_mpmath() {
        #[rustfmt::skip]
        let want: [(f64, f64, f64, [f64; 4]); 7] = [
            (0.243, 0.793, 2.426, [4.6190251921906059, 11.485190837358325, 43.676407686232414, 352.26957810159899]),
            (10.243, 0.793, 12.426, [88.784984166639267, 178.51485000842778, 557.04975335005959, 4087.0267355155003]),
            (2.5, 3.5, 1.2, [1.4798440123416219, 1.4799991451917706, 1.4799999999840967, 1.48]),
            (21.0, 0.0909, 21.399, [1507.4599971988374, 12289.865498637592, 809374.69834730557, 3503949701.2070274]),
            (300.2, 1.7, 310.0, [425.88528575085127, 440.2479570736356, 443.71335552425389, 443.85691496792664]),
            (4.2, 0.2000001, 3.0, [184.60886541487169, 1175.1670010708246, 46872.387013943365, 74291717.237280908]),
            (0.6, 1.6, 0.9, [1.9950232656794183, 2.3223981435205489, 2.4823828156327797, 2.499878816210883]),
        ];
        let us = [100.0, 1000.0, 1e5, 1e9];
        for (k, a, bp, w) in want {
            let degenerate = ((k - a + 1.0) - (k - a + 1.0).round()).abs() < NEAR_INTEGER;
            let mut path = [0.0; 4];
            expected_alive_path(k, &us, a, bp, &mut path);
            for i in 0..4 {
                let far = expected_alive_far(k, us[i], a, bp);
                assert_eq!(far.is_none(), degenerate, "{k} {a} {bp} {}", us[i]);
                let one = expected_alive(k, us[i], a, bp);
                assert!(
                    (one - w[i]).abs() <= 1e-13 * w[i],
                    "{k} {a} {bp} {}: {one} vs {}",
                    us[i],
                    w[i]
                );
                assert_eq!(path[i], one);
                // The quadrature on its own, which the formula replaced here: it sees the
                // whole mass at both ends even for a small shape (a = 0.09).
                let quad = expected_alive_integral(k, us[i], a, bp);
                assert!(
                    (quad - w[i]).abs() <= 1e-12 * w[i],
                    "{k} {a} {bp} {}: {quad} vs {}",
                    us[i],
                    w[i]
                );
            }
        }
    }

    /// Cases the far-horizon test does not cover, against mpmath's 2F1: m = k − a + 1 < 0 and
    /// not an integer (where the connection formula's second term dominates), and large
    /// shapes on both sides (a = b′ = 2000), where the quadrature must not substitute
    /// (2^(−2000) underflows: it returned 0 before) — through `expected_purchases_new`,
    /// FHL (2005) eq. 7.
    #[test]
    #[allow(clippy::excessive_precision)] // mpmath's 17 digits, as printed
    fn negative_m_and_large_shapes_match_mpmath() {
        for (u, want) in [(100.0, 1.2285290281666783), (1e4, 1.3266506647425735)] {
            let got = expected_alive(0.6, u, 3.7, 0.9);
            assert!((got - want).abs() < 1e-13 * want, "u {u}: {got} vs {want}");
        }
        use crate::clv::{BgNbd, TransactionModel};
        let m = BgNbd::new(1.5, 1.0, 2000.0, 2000.0).unwrap();
        let got = m.expected_purchases_new(5.0).unwrap();
        let want = 1.6948274088697577;
        assert!((got - want).abs() < 1e-10 * want, "{got} vs {want}");
    }

    /// The AVX2 build of the path series and the plain one give the same bits (the series
    /// is the same arithmetic in the same order; only the register width differs), so a
    /// score does not depend on the CPU it ran on; and the path equals the horizons one at
    /// a time (libm's log1p and exp) to 1e-12, where its powers take the fast forms and
    /// where they fall back to libm.
    #[test]
    fn path_builds_agree_bit_for_bit() {
        let us: Vec<f64> = (1..=40).map(|h| h as f64 * 0.37).collect();
        for &(k, a, bp) in &[
            (0.2426, 0.7929, 2.4258),
            (10.24, 0.79, 12.43),
            (3.5, 2.5, 7.0),
            (50.0, 8.0, 70.0),
            (0.6, 3.7, 0.9),
            // (1 + u)^−(a−1) below e^−708 at the later horizons: the libm fallback.
            (3.0, 400.0, 5.0),
        ] {
            for n in [1, 3, 4, 12, 40] {
                let mut plain = vec![0.0; n];
                expected_alive_path_body(k, &us[..n], a, bp, &mut plain);
                let mut dispatched = vec![0.0; n];
                expected_alive_path(k, &us[..n], a, bp, &mut dispatched);
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    let mut wide = vec![0.0; n];
                    // SAFETY: the CPU has AVX2, checked on the line above.
                    unsafe { expected_alive_path_avx2(k, &us[..n], a, bp, &mut wide) };
                    assert_eq!(bits(&plain), bits(&wide), "k {k} a {a} b' {bp} n {n}");
                }
                assert_eq!(bits(&plain), bits(&dispatched), "k {k} a {a} b' {bp} n {n}");
                assert!(plain.iter().all(|v| v.is_finite() && *v > 0.0));
                for (p, &u) in plain.iter().zip(&us) {
                    let one = expected_alive(k, u, a, bp);
                    assert!(
                        (p - one).abs() <= 1e-12 * one,
                        "k {k} a {a} u {u}: {p} vs {one}"
                    );
                }
            }
        }
    }

    /// The vectorised column loop against the single-customer P(alive) (lifetimes' libm
    /// formula) on every kind of row: ordinary ones, x = 0 (certain under BG/NBD, not under
    /// MBG/NBD), log odds past the exponential's range (the libm fallback), and ratios out of
    /// the fast logarithm's range (a subnormal α + t_x): equal to 1e-14 plus the libm form's
    /// own rounding; and the plain, AVX2 and AVX-512 builds of the loop give the same bits.
    #[test]
    fn p_alive_columns_agree_with_one_at_a_time() {
        let mut x = Vec::new();
        let mut t_x = Vec::new();
        let mut big_t = Vec::new();
        for i in 0..20_000u32 {
            let xi = i % 97;
            let t = 1.0 + (i % 389) as f64 * 0.25;
            x.push(xi);
            big_t.push(t);
            t_x.push(if xi == 0 {
                0.0
            } else {
                t * ((i % 13) as f64 / 13.0)
            });
        }
        // Log odds past 709: a heavy buyer long gone.
        x.extend([3_000, 5_000]);
        t_x.extend([0.001, 0.0]);
        big_t.extend([1e6, 1e7]);
        let h = HistoryColumns::new(&x, &t_x, &big_t).unwrap();
        for (params, d) in [
            ([0.2426, 4.4135, 0.7929, 2.4258], 0.0),
            ([0.2426, 4.4135, 0.7929, 2.4258], 1.0),
            ([0.5, 1e-310, 2.0, 3.0], 0.0),
        ] {
            let o = AliveOdds::new(&params, d);
            let mut columns = vec![0.0; h.len()];
            bg_p_alive_columns(&o, &h, &mut columns).unwrap();
            let [r, alpha, ..] = params;
            for i in 0..x.len() {
                let one = bg_p_alive(&o, x[i], t_x[i], big_t[i]);
                // The libm form's own error: the rounding of ln(α + T) and ln(α + t_x) (a
                // few ε of their size) times r + x, in the log odds, which is P(alive)'s
                // relative error where it is small.
                let xf = x[i] as f64;
                let cond = 8.0 * f64::EPSILON * (r + xf) * ((alpha + big_t[i]).ln().abs() + 1.0);
                let tol = one * (1e-14 + cond);
                assert!(
                    (columns[i] - one).abs() <= tol,
                    "row {i} d {d}: {} vs {one}",
                    columns[i]
                );
            }
            // All rows (x up to 5,000: each row computes its dropout odds) and the first
            // 20,000 (x < 97: looked up in the table): in every build the same bits, and the
            // first 20,000 the same either way.
            let table = DropoutOdds::new(&o);
            let mut all_rows = Vec::new();
            for n in [x.len(), 20_000] {
                let (x, t_x, big_t) = (&x[..n], &t_x[..n], &big_t[..n]);
                let chunk = AliveChunk {
                    o: &o,
                    dropout: &table,
                    x,
                    t_x,
                    big_t,
                };
                let mut plain = vec![0.0; n];
                p_alive_chunk(chunk, &mut plain);
                if all_rows.is_empty() {
                    all_rows = plain.clone();
                }
                assert_eq!(bits(&plain), bits(&all_rows[..n]), "d {d}, {n} rows");
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    let mut wide = vec![0.0; n];
                    // SAFETY: the CPU has AVX2, checked on the line above.
                    unsafe { p_alive_chunk_avx2(chunk, &mut wide) };
                    assert_eq!(bits(&plain), bits(&wide), "d {d}, {n} rows");
                }
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx512f") {
                    let mut wider = vec![0.0; n];
                    // SAFETY: the CPU has AVX-512F, checked on the line above.
                    unsafe { p_alive_chunk_avx512(chunk, &mut wider) };
                    assert_eq!(bits(&plain), bits(&wider), "d {d}, {n} rows");
                }
            }
        }
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The tail against mpmath (benches/peers/nb_tail_reference.py): the incomplete beta
    /// everywhere, and whichever path `nb_upper_tail` takes, including a bulk a billion terms
    /// long that the walk would take minutes over.
    #[test]
    fn negative_binomial_tail_matches_mpmath() {
        for &(r, alpha, t, n, want) in &[
            (0.24, 4.41, 39.0, 3u32, 0.22845809154539216),
            (2.5, 0.7, 120.0, 400, 0.458528275534288),
            (0.9, 0.05, 5000.0, 80000, 0.40168163202641815),
            (1.0, 5.18e-06, 1e9, u32::MAX, 0.9999777523168953),
        ] {
            let beta = incomplete_beta(n as f64, r, t / (alpha + t), alpha / (alpha + t)).unwrap();
            assert!((beta - want).abs() < 1e-13, "beta {beta} vs {want}");
            let tail = nb_upper_tail(r, alpha, t, n).unwrap();
            assert!((tail - want).abs() < 1e-13, "tail {tail} vs {want}");
        }
    }

    /// The series and the quadrature agree wherever both apply.
    #[test]
    fn series_and_integral_agree() {
        for &(k, u, a, bp) in &[
            (0.24, 0.9, 0.79, 2.43),
            (10.24, 0.5, 0.79, 12.43),
            (2.5, 3.0, 3.5, 1.2),
            (1.0, 0.01, 0.3, 0.4),
            (50.0, 8.0, 1.9, 70.0),
        ] {
            let z = u / (1.0 + u);
            let c = a + bp - 1.0;
            let f = hyp2f1_series(c - k, a - 1.0, c, z).unwrap();
            let series = c / (a - 1.0) * (1.0 - (-(a - 1.0) * u.ln_1p()).exp() * f);
            let ln_i: f64 = tanh_sinh(0.0, 1.0, |p, p0, q0| {
                (-(-k * (p * u).ln_1p()).exp_m1()).ln() + (a - 2.0) * p0.ln() + (bp - 1.0) * q0.ln()
            });
            let integral = (ln_i - ln_beta(a, bp)).exp();
            assert!(
                (series - integral).abs() < 1e-9 * integral,
                "{series} vs {integral}"
            );
        }
        // Many horizons at once equal one at a time.
        let us = [0.1, 0.5, 1.0, 2.5];
        let mut path = [0.0; 4];
        expected_alive_path(10.24, &us, 0.79, 12.43, &mut path);
        for (p, &u) in path.iter().zip(&us) {
            let one = expected_alive(10.24, u, 0.79, 12.43);
            assert!((p - one).abs() < 1e-12 * one, "{p} vs {one}");
        }
        // a = 1 exactly: only the integral is defined; it is continuous there.
        let at = expected_alive(2.0, 1.0, 1.0, 3.0);
        let near = 0.5
            * (expected_alive(2.0, 1.0, 1.0 + 1e-3, 3.0)
                + expected_alive(2.0, 1.0, 1.0 - 1e-3, 3.0));
        assert!((at - near).abs() < 1e-6 * at, "{at} vs {near}");
    }
}
