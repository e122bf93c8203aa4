//! The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007, "How
//! to project customer retention", Journal of Interactive Marketing 21(1); the residual
//! lifetime from Fader & Hardie 2010, "Customer-base valuation in a contractual setting",
//! Marketing Science 29(1)).
//!
//! Each subscriber renews every period with their own probability 1 − θ, θ ~ Beta(α, β)
//! across subscribers. Because the subscribers most likely to cancel leave first, the
//! retention rate of a cohort rises over time — the pattern the model exists to capture.

use serde::{Deserialize, Serialize};

use super::{ChurnScorer, Subscriber};
use crate::clv::fit::{Likelihood, fit};
use crate::clv::{FitReport, MaxLikelihood};
use crate::error::{Error, Position, Result, finite_or_overflow};
use crate::special::{Real, hyp2f1_unit, ln_beta};

/// A cohort's survivors: the number of subscribers still active at the start of periods
/// 0, 1, …, n (the last count right-censored: they have not churned yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<f64>", into = "Vec<f64>")]
pub struct Cohort {
    survivors: Vec<f64>,
}

impl TryFrom<Vec<f64>> for Cohort {
    type Error = Error;
    fn try_from(v: Vec<f64>) -> Result<Self> {
        Cohort::new(v)
    }
}

impl From<Cohort> for Vec<f64> {
    fn from(c: Cohort) -> Self {
        c.survivors
    }
}

impl Cohort {
    /// A cohort from survivor counts at the start of periods 0..=n.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for fewer than two counts; [`Error::InvalidRecord`] naming
    /// the period (as the row) of a count that is not finite and non-negative, a first count
    /// of 0, or a count larger than the one before.
    pub fn new(survivors: Vec<f64>) -> Result<Self> {
        let bad = |reason: String| {
            Err(Error::InvalidParameter {
                name: "survivors",
                value: format!("{survivors:?}"),
                reason,
            })
        };
        if survivors.len() < 2 {
            return bad("need counts for at least periods 0 and 1".into());
        }
        // A bad count is a data error at its period (the row).
        let at_period = |t: usize, reason: String| {
            Err(Error::InvalidRecord {
                at: Position::at_row(t).with_column("survivors"),
                reason,
            })
        };
        if let Some(t) = survivors.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
            return at_period(
                t,
                format!("{}: counts must be finite and ≥ 0", survivors[t]),
            );
        }
        if survivors[0] <= 0.0 {
            return at_period(0, "the cohort must start with subscribers".into());
        }
        if let Some(t) = (1..survivors.len()).find(|&t| survivors[t] > survivors[t - 1]) {
            return at_period(t, "survivors cannot increase".into());
        }
        Ok(Cohort { survivors })
    }

    /// Survivor counts, periods 0..=n.
    pub fn survivors(&self) -> &[f64] {
        &self.survivors
    }
}

struct Lik;

impl Likelihood<2> for Lik {
    type Data = Cohort;
    const NAME: &'static str = "shifted-beta-geometric";
    const PARAMS: [&'static str; 2] = ["alpha", "beta"];

    // FH (2007) eq. 7: the churners of each period, and the survivors at the end censored.
    fn total<R: Real + Send + Sync>(p: &[R; 2], c: &Cohort) -> R {
        let [a, b] = *p;
        let s = &c.survivors;
        let norm = ln_beta(a, b);
        let mut ll = R::cst(0.0);
        for t in 1..s.len() {
            let lost = s[t - 1] - s[t];
            if lost > 0.0 {
                ll = ll + (ln_beta(a + 1.0, b + (t as f64 - 1.0)) - norm) * lost;
            }
        }
        let n = (s.len() - 1) as f64;
        let last = s[s.len() - 1];
        if last > 0.0 {
            ll = ll + (ln_beta(a, b + n) - norm) * last;
        }
        ll
    }

    fn weight(c: &Cohort) -> f64 {
        c.survivors[0]
    }

    fn rows(c: &Cohort) -> usize {
        c.survivors.len() - 1
    }
}

/// A fitted sBG model.
///
/// ```
/// use custseg::churn::{Cohort, ShiftedBetaGeometric};
/// use custseg::Fit;
/// // Fader & Hardie (2007), "regular" customers, years 0–7 (per 1,000).
/// let cohort = Cohort::new(vec![1000.0, 631.0, 468.0, 382.0, 326.0, 289.0, 262.0, 241.0])?;
/// let (m, report) = ShiftedBetaGeometric::params().fit(&cohort)?;
/// assert!((m.alpha() - 0.704).abs() < 5e-4 && (m.beta() - 1.182).abs() < 5e-4);
/// assert!((report.log_likelihood - -1680.265).abs() < 1e-3);
/// assert!((m.survival(12) - 0.170).abs() < 5e-4);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SbgRecord")]
pub struct ShiftedBetaGeometric {
    alpha: f64,
    beta: f64,
}

#[derive(Deserialize)]
struct SbgRecord {
    alpha: f64,
    beta: f64,
}

impl TryFrom<SbgRecord> for ShiftedBetaGeometric {
    type Error = Error;
    fn try_from(r: SbgRecord) -> Result<Self> {
        ShiftedBetaGeometric::new(r.alpha, r.beta)
    }
}

impl ShiftedBetaGeometric {
    /// A model with the Beta(α, β) distribution of churn probabilities.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless both are finite, positive and at most
    /// [`ShiftedBetaGeometric::MAX_PARAMETER`].
    pub fn new(alpha: f64, beta: f64) -> Result<Self> {
        crate::clv::check_positive(&[("alpha", alpha), ("beta", beta)])?;
        if alpha > Self::MAX_PARAMETER || beta > Self::MAX_PARAMETER {
            return Err(Error::InvalidParameter {
                name: "alpha, beta",
                value: format!("{alpha}, {beta}"),
                reason: "at most 1e15 (beyond, the log-beta functions overflow)".into(),
            });
        }
        Ok(ShiftedBetaGeometric { alpha, beta })
    }

    /// The largest α or β accepted: 10¹⁵. Beyond it ln B(α, β) loses all precision and then
    /// overflows; fitted cohorts stay many orders of magnitude below.
    pub const MAX_PARAMETER: f64 = 1e15;

    /// α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// β.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// The unfitted model: maximum-likelihood settings to [`Fit`](crate::Fit) on a
    /// [`Cohort`].
    pub fn params() -> MaxLikelihood<ShiftedBetaGeometric> {
        MaxLikelihood::default()
    }

    /// Log-likelihood of a cohort.
    pub fn log_likelihood(&self, cohort: &Cohort) -> f64 {
        Lik::total(&[self.alpha, self.beta], cohort)
    }

    /// P(T = t): the probability of churning in period t ≥ 1.
    pub fn churn_probability(&self, t: u32) -> f64 {
        if t == 0 {
            return 0.0;
        }
        if t == 1 {
            // α/(α + β), without logarithms: with a tiny β, ln B(α + 1, β) and ln B(α, β)
            // are both ~ −ln β and their difference would lose digits (or be ∞ − ∞).
            return 1.0 / (1.0 + self.beta / self.alpha);
        }
        // β + (t − 1), the integer first: β + t − 1 rounds a tiny β away.
        let b = self.beta + (t - 1) as f64;
        (ln_beta(self.alpha + 1.0, b) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// S(t): the share of the cohort still active after t periods.
    pub fn survival(&self, t: u32) -> f64 {
        (ln_beta(self.alpha, self.beta + t as f64) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// r_t = S(t)/S(t − 1): the retention rate of period t ≥ 1 among those active before it.
    pub fn retention(&self, t: u32) -> f64 {
        // (β + t − 1)/(α + β + t − 1), written so that neither a tiny β (β + t − 1 rounding to
        // 0 at t = 1) nor huge α, β (α + β overflowing) turns it into NaN.
        let b = self.beta + (t.max(1) - 1) as f64;
        1.0 / (1.0 + self.alpha / b)
    }

    /// Risk of not renewing at the next opportunity for a subscriber who has renewed
    /// `renewals` times: 1 − r_{renewals + 1}.
    pub fn churn_risk(&self, renewals: u32) -> f64 {
        1.0 - self.retention(renewals.saturating_add(1))
    }

    /// Expected residual lifetime (periods) of a subscriber with `renewals` renewals,
    /// undiscounted: (β + n − 1)/(α − 1) with n = renewals + 1; `None` when α ≤ 1 (infinite).
    pub fn expected_residual_lifetime(&self, renewals: u32) -> Option<f64> {
        let n = renewals as f64 + 1.0;
        (self.alpha > 1.0).then(|| (self.beta + n - 1.0) / (self.alpha - 1.0))
    }

    /// Discounted expected residual lifetime (FH 2010 eq. 6) of a subscriber with `renewals`
    /// renewals, at discount rate d per period, counting the coming period:
    /// (β + n − 1)/(α + β + n − 1) · ₂F₁(1, β + n; α + β + n; 1/(1 + d)), n = renewals + 1.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless d is finite and positive (at d = 0 the sum can
    /// diverge), or when d is so small that the series does not converge.
    pub fn derl(&self, discount_rate: f64, renewals: u32) -> Result<f64> {
        if !(discount_rate.is_finite() && discount_rate > 0.0) {
            return Err(Error::InvalidParameter {
                name: "discount_rate",
                value: discount_rate.to_string(),
                reason: "finite and > 0".into(),
            });
        }
        let n = renewals as f64 + 1.0;
        let (a, b) = (self.alpha, self.beta);
        let f = hyp2f1_unit(b + n, a + b + n, 1.0 / (1.0 + discount_rate), 10_000_000).ok_or_else(
            || Error::InvalidParameter {
                name: "discount_rate",
                value: discount_rate.to_string(),
                reason: "too small for the residual-lifetime series to converge".into(),
            },
        )?;
        // Parameters at the ends of f64 (α = 1e-150, β = 5e-324) make 0/0 here.
        finite_or_overflow("DERL", (b + n - 1.0) / (a + b + n - 1.0) * f)
    }
}

impl ChurnScorer for ShiftedBetaGeometric {
    type Record = Subscriber;

    fn name(&self) -> &'static str {
        "sBG"
    }

    /// The risk of not renewing next ([`ShiftedBetaGeometric::churn_risk`]) and the expected
    /// residual lifetime in periods where finite.
    fn risk(&self, s: &Subscriber) -> Result<(f64, Option<f64>)> {
        Ok((
            self.churn_risk(s.renewals),
            self.expected_residual_lifetime(s.renewals),
        ))
    }
}

impl crate::Fit for MaxLikelihood<ShiftedBetaGeometric> {
    type Data<'a> = Cohort;
    type Model = ShiftedBetaGeometric;
    type Report = FitReport;

    /// Fits the model to a cohort by maximum likelihood.
    ///
    /// # Errors
    /// [`Error::NotConverged`].
    fn fit(&self, cohort: &Cohort) -> Result<(ShiftedBetaGeometric, FitReport)> {
        let ([a, b], report) = fit::<Lik, 2>(cohort, [1.0, 1.0], self.options())?;
        Ok((ShiftedBetaGeometric::new(a, b)?, report))
    }
}
