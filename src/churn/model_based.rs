//! Churn risk from a buy-till-you-die model: 1 − P(alive).

use serde::{Deserialize, Serialize};

use super::ChurnScorer;
use crate::clv::{BgNbd, MbgNbd, ParetoNbd, Rft, TransactionModel};
use crate::data::{CustomerSummary, TimeUnit};
use crate::error::{Error, Result};

/// One of the fitted transaction models, as plain data.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum BtydModel {
    /// BG/NBD.
    BgNbd(BgNbd),
    /// MBG/NBD.
    MbgNbd(MbgNbd),
    /// Pareto/NBD.
    ParetoNbd(ParetoNbd),
}

impl BtydModel {
    fn inner(&self) -> &dyn TransactionModel {
        match self {
            BtydModel::BgNbd(m) => m,
            BtydModel::MbgNbd(m) => m,
            BtydModel::ParetoNbd(m) => m,
        }
    }

    /// E[remaining lifetime | alive, history]: the mean of the time to dropout under the
    /// posterior of the customer's rates; `None` where the posterior mean is infinite.
    ///
    /// BG/NBD and MBG/NBD: dropout after a geometric number of purchases at rate λ, so the
    /// time is 1/(λp), with λ ~ Gamma(r + x, α + T) and p ~ Beta(a, b + x) (b + x + 1 for
    /// MBG/NBD): E = (α + T)/(r + x − 1) · (a + b_post − 1)/(a − 1), finite for r + x > 1 and
    /// a > 1. Pareto/NBD: exponential lifetime with μ ~ Gamma(s, β + T): E = (β + T)/(s − 1),
    /// finite for s > 1.
    pub fn remaining_lifetime_if_alive(&self, c: &Rft) -> Option<f64> {
        let x = c.x() as f64;
        let geometric = |r: f64, alpha: f64, a: f64, b_post: f64| {
            (r + x > 1.0 && a > 1.0)
                .then(|| (alpha + c.big_t()) / (r + x - 1.0) * (a + b_post - 1.0) / (a - 1.0))
        };
        match self {
            BtydModel::BgNbd(m) => geometric(m.r(), m.alpha(), m.a(), m.b() + x),
            BtydModel::MbgNbd(m) => geometric(m.r(), m.alpha(), m.a(), m.b() + x + 1.0),
            BtydModel::ParetoNbd(m) => {
                (m.s() > 1.0).then(|| (m.beta() + c.big_t()) / (m.s() - 1.0))
            }
        }
    }
}

impl TransactionModel for BtydModel {
    fn name(&self) -> &'static str {
        self.inner().name()
    }
    fn unit(&self) -> Option<TimeUnit> {
        self.inner().unit()
    }
    fn log_likelihood(&self, c: &Rft) -> f64 {
        self.inner().log_likelihood(c)
    }
    fn p_alive(&self, c: &Rft) -> f64 {
        self.inner().p_alive(c)
    }
    fn expected_purchases_if_alive(&self, c: &Rft, t: f64) -> f64 {
        self.inner().expected_purchases_if_alive(c, t)
    }
    fn expected_purchases_new(&self, t: f64) -> Result<f64> {
        self.inner().expected_purchases_new(t)
    }
}

/// How a model-based scorer treats customers without a repeat purchase.
///
/// Under BG/NBD such a customer cannot have dropped out (dropout only happens after a repeat
/// purchase), so 1 − P(alive) is 0 for all of them — 60% of the CDNOW sample — however long
/// ago they bought. A churn scorer must not pass that on silently.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum OneTimeBuyers {
    /// Use the model's own P(alive) (right for MBG/NBD and Pareto/NBD, which let customers drop
    /// out after the first purchase).
    AsModel,
    /// Score them with another model, typically MBG/NBD fitted on the same data.
    Fallback(BtydModel),
    /// Risk 1 − 2^(−d / h): half after `half_life_days` without a purchase, rising with the
    /// time d since the only purchase.
    RecencyHalfLife {
        /// Days after which the risk reaches one half.
        half_life_days: f64,
    },
}

/// Churn risk 1 − P(alive) from a buy-till-you-die model, with the expected remaining lifetime
/// P(alive) · E[remaining lifetime | alive].
///
/// ```
/// use custseg::churn::{BtydModel, ModelChurn, OneTimeBuyers, ChurnScorer};
/// use custseg::clv::{BgNbd, MbgNbd};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
/// let s = cdnow_sample().summarise(&cdnow_sample_config())?;
/// let bg = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?;
/// let mbg = MbgNbd::new(0.5248, 6.1830, 0.8914, 1.6140)?;
/// let as_is = ModelChurn::new(BtydModel::BgNbd(bg), OneTimeBuyers::AsModel)?;
/// let fallback = ModelChurn::new(BtydModel::BgNbd(bg), OneTimeBuyers::Fallback(BtydModel::MbgNbd(mbg)))?;
/// let one_timer = &s.as_slice()[2]; // customer 3: no repeat purchase
/// assert_eq!(as_is.risk(one_timer)?.0, 0.0);
/// assert!(fallback.risk(one_timer)?.0 > 0.5);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ModelChurnRecord")]
pub struct ModelChurn {
    model: BtydModel,
    one_time: OneTimeBuyers,
}

#[derive(Deserialize)]
struct ModelChurnRecord {
    model: BtydModel,
    one_time: OneTimeBuyers,
}

impl TryFrom<ModelChurnRecord> for ModelChurn {
    type Error = Error;
    fn try_from(r: ModelChurnRecord) -> Result<Self> {
        ModelChurn::new(r.model, r.one_time)
    }
}

impl ModelChurn {
    /// A scorer from a model and a policy for one-time buyers.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a half-life that is not finite and positive.
    pub fn new(model: BtydModel, one_time: OneTimeBuyers) -> Result<Self> {
        if let OneTimeBuyers::RecencyHalfLife { half_life_days } = one_time
            && !(half_life_days.is_finite() && half_life_days > 0.0)
        {
            return Err(Error::InvalidParameter {
                name: "half_life_days",
                value: half_life_days.to_string(),
                reason: "finite and > 0".into(),
            });
        }
        Ok(ModelChurn { model, one_time })
    }

    /// The model.
    pub fn model(&self) -> &BtydModel {
        &self.model
    }

    /// The one-time-buyer policy.
    pub fn one_time_buyers(&self) -> OneTimeBuyers {
        self.one_time
    }
}

impl ChurnScorer for ModelChurn {
    fn name(&self) -> &str {
        self.model.name()
    }

    fn risk(&self, s: &CustomerSummary) -> Result<(f64, Option<f64>)> {
        if let Some(u) = self.model.unit()
            && u != s.unit
        {
            return Err(Error::UnitMismatch {
                model: u,
                data: s.unit,
            });
        }
        let c = Rft::try_from(s)?;
        let model = match (c.x(), self.one_time) {
            (0, OneTimeBuyers::Fallback(m)) => m,
            (0, OneTimeBuyers::RecencyHalfLife { half_life_days }) => {
                let days = s.time_since_last_purchase() * s.unit.days();
                return Ok((
                    (1.0 - (-days / half_life_days).exp2()).clamp(0.0, 1.0),
                    None,
                ));
            }
            _ => self.model,
        };
        let p = model.p_alive(&c).clamp(0.0, 1.0);
        let life = model.remaining_lifetime_if_alive(&c).map(|l| p * l);
        Ok((1.0 - p, life))
    }
}
