//! Churn risk from a buy-till-you-die model: 1 − P(alive).

use serde::{Deserialize, Serialize};

use super::ChurnScorer;
use crate::clv::{Rft, TransactionModel};
use crate::data::CustomerSummary;
use crate::error::{Error, Result};

/// How a model-based scorer treats customers without a repeat purchase.
///
/// Under BG/NBD such a customer cannot have dropped out (dropout only happens after a repeat
/// purchase), so 1 − P(alive) is 0 for all of them — 60% of the CDNOW sample — however long
/// ago they bought. A churn scorer must not pass that on silently. `F` is the fallback
/// model's type.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum OneTimeBuyers<F> {
    /// Use the model's own P(alive) (right for MBG/NBD and Pareto/NBD, which let customers drop
    /// out after the first purchase).
    AsModel,
    /// Score them with another model, typically MBG/NBD fitted on the same data.
    Fallback(F),
    /// Risk 1 − 2^(−d / h): half after `half_life_days` without a purchase, rising with the
    /// time d since the only purchase.
    RecencyHalfLife {
        /// Days after which the risk reaches one half.
        half_life_days: f64,
    },
}

/// Churn risk 1 − P(alive) from any fitted transaction model (BG/NBD, MBG/NBD, Pareto/NBD,
/// or your own [`TransactionModel`]), with the expected remaining lifetime
/// P(alive) · E[remaining lifetime | alive] where the model gives one.
///
/// `F`, the type of the model that scores one-time buyers under
/// [`OneTimeBuyers::Fallback`], is `M` unless [`ModelChurn::with_fallback`] sets another.
///
/// ```
/// use custseg::churn::ModelChurn;
/// use custseg::Score;
/// use custseg::clv::{BgNbd, MbgNbd};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
/// let s = cdnow_sample().summarise(&cdnow_sample_config())?;
/// let bg = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?;
/// let mbg = MbgNbd::new(0.5248, 6.1830, 0.8914, 1.6140)?;
/// let as_is = ModelChurn::new(bg);
/// let fallback = ModelChurn::new(bg).with_fallback(mbg);
/// let one_timer = &s[2]; // customer 3: no repeat purchase
/// assert_eq!(as_is.score(one_timer)?.risk, 0.0);
/// assert!(fallback.score(one_timer)?.risk > 0.5);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ModelChurnRecord<M, F>")]
#[serde(bound(
    serialize = "M: Serialize, F: Serialize",
    deserialize = "M: Deserialize<'de>, F: Deserialize<'de>"
))]
pub struct ModelChurn<M, F = M> {
    model: M,
    one_time: OneTimeBuyers<F>,
}

#[derive(Deserialize)]
struct ModelChurnRecord<M, F> {
    model: M,
    one_time: OneTimeBuyers<F>,
}

impl<M, F> TryFrom<ModelChurnRecord<M, F>> for ModelChurn<M, F> {
    type Error = Error;
    fn try_from(r: ModelChurnRecord<M, F>) -> Result<Self> {
        if let OneTimeBuyers::RecencyHalfLife { half_life_days } = r.one_time {
            check_half_life(half_life_days)?;
        }
        Ok(ModelChurn {
            model: r.model,
            one_time: r.one_time,
        })
    }
}

fn check_half_life(days: f64) -> Result<()> {
    if days.is_finite() && days > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name: "half_life_days",
            value: days.to_string(),
            reason: "finite and > 0".into(),
        })
    }
}

impl<M> ModelChurn<M> {
    /// Risk from `model`, one-time buyers included as the model scores them.
    pub fn new(model: M) -> Self {
        ModelChurn {
            model,
            one_time: OneTimeBuyers::AsModel,
        }
    }
}

impl<M, F> ModelChurn<M, F> {
    /// One-time buyers scored by another model (typically MBG/NBD beside a BG/NBD).
    pub fn with_fallback<G>(self, fallback: G) -> ModelChurn<M, G> {
        ModelChurn {
            model: self.model,
            one_time: OneTimeBuyers::Fallback(fallback),
        }
    }

    /// One-time buyers scored by the days since their only purchase: risk one half after
    /// `half_life_days`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless the half-life is finite and positive.
    pub fn with_recency_half_life(self, half_life_days: f64) -> Result<Self> {
        check_half_life(half_life_days)?;
        Ok(ModelChurn {
            model: self.model,
            one_time: OneTimeBuyers::RecencyHalfLife { half_life_days },
        })
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// How one-time buyers are scored.
    pub fn one_time_buyers(&self) -> &OneTimeBuyers<F> {
        &self.one_time
    }
}

/// 1 − P(alive) and P(alive) · E[remaining lifetime | alive] under `model`.
fn risk_under(model: &dyn TransactionModel, c: &Rft) -> (f64, Option<f64>) {
    let p = model.p_alive_value(c).clamp(0.0, 1.0);
    let life = model.remaining_lifetime_if_alive(c).map(|l| p * l);
    (1.0 - p, life)
}

impl<M: TransactionModel, F: TransactionModel> ChurnScorer for ModelChurn<M, F> {
    type Record = CustomerSummary;

    fn name(&self) -> &'static str {
        self.model.name()
    }

    fn risk(&self, s: &CustomerSummary) -> Result<(f64, Option<f64>)> {
        let unit = match (&self.one_time, s.frequency) {
            (OneTimeBuyers::Fallback(f), 0) => f.unit(),
            _ => self.model.unit(),
        };
        if let Some(u) = unit
            && u != s.unit
        {
            return Err(Error::UnitMismatch {
                model: u,
                data: s.unit,
            });
        }
        let c = Rft::from(s);
        Ok(match (c.x(), &self.one_time) {
            (0, OneTimeBuyers::Fallback(f)) => risk_under(f, &c),
            (0, OneTimeBuyers::RecencyHalfLife { half_life_days }) => {
                let days = s.time_since_last_purchase() * s.unit.days();
                (
                    (1.0 - (-days / half_life_days).exp2()).clamp(0.0, 1.0),
                    None,
                )
            }
            _ => risk_under(&self.model, &c),
        })
    }
}
