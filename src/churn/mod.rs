//! Churn risk: one contract, four back-ends, and the metrics to judge them.
//!
//! Every back-end answers the same question per customer — how likely are they to be lost? —
//! as a [`ChurnRisk`]: a risk in [0, 1], a [`RiskTier`] from configurable [`TierCuts`], and,
//! where the model gives one, the expected remaining lifetime.
//!
//! * [`ModelChurn`] (non-contractual, model based): risk = 1 − P(alive) from a fitted BG/NBD,
//!   MBG/NBD or Pareto/NBD model. BG/NBD gives every customer without a repeat purchase
//!   P(alive) = 1 — by construction they have had no chance to drop out — so
//!   [`OneTimeBuyers`] says how to score them.
//! * [`RecencyRule`]: a customer is inactive when the time since their last purchase exceeds a
//!   fixed number of days, or a multiple of their own mean time between purchases.
//! * [`ShiftedBetaGeometric`] (contractual; Fader & Hardie 2007): fitted on cohort survivor
//!   counts; survival, retention, the risk of not renewing and the discounted expected
//!   residual lifetime.
//! * [`LogisticChurn`] (supervised): logistic regression (linfa-logistic) on customer
//!   features, always returning P(churn).
//!
//! Each back-end implements [`ChurnScorer`] (its `risk` per record) and through it
//! [`Score`]: `score` and `score_batch` give [`ChurnRisk`]s, tiered by the
//! scorer's cuts ([`ChurnScorer::with_tiers`]). [`ModelChurn`] takes any
//! [`TransactionModel`](crate::clv::TransactionModel).
//!
//! [`metrics`] has AUC-ROC, average precision, Brier score, log-loss, lift and capture.
//!
//! ```
//! use custseg::churn::{ChurnScorer, RecencyRule, RiskTier, TierCuts};
//! use custseg::datasets::{cdnow_sample, cdnow_sample_config};
//! use custseg::Score;
//! let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
//! // Inactive after 90 days without a purchase; tiers from 0.3, 0.6 and 0.9.
//! let rule = RecencyRule::fixed(90.0)?.with_tiers(TierCuts::new(0.3, 0.6, 0.9)?);
//! let risks = rule.score_batch(&summaries)?;
//! let critical = risks.iter().filter(|r| r.tier == RiskTier::Critical).count();
//! assert!(critical > 1_000);
//! # Ok::<(), custseg::Error>(())
//! ```

mod logistic;
pub mod metrics;
mod model_based;
mod recency;
mod sbg;

pub use logistic::{
    Feature, LabelledCustomers, LogisticChurn, LogisticChurnParams, LogisticFitReport,
};
pub use model_based::{ModelChurn, OneTimeBuyers};
pub use recency::{Boundary, RecencyRule};
pub use sbg::{Cohort, ShiftedBetaGeometric};

use serde::{Deserialize, Serialize};

use crate::Score;
use crate::data::{CustomerId, CustomerSummary};
use crate::error::{Error, Position, Result};

/// Risk tiers, from lowest to highest risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RiskTier {
    /// Risk below the medium cut.
    Low,
    /// Risk from the medium cut.
    Medium,
    /// Risk from the high cut.
    High,
    /// Risk from the critical cut.
    Critical,
}

/// Where the tiers start: a risk at or above `critical` is Critical, at or above `high` High,
/// at or above `medium` Medium, else Low.
///
/// ```
/// use custseg::churn::{RiskTier, TierCuts};
/// let cuts = TierCuts::default(); // 0.25, 0.5, 0.75
/// assert_eq!(cuts.tier(0.5), RiskTier::High);
/// assert_eq!(cuts.tier(0.2499), RiskTier::Low);
/// assert!(TierCuts::new(0.5, 0.4, 0.9).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CutsRecord")]
pub struct TierCuts {
    medium: f64,
    high: f64,
    critical: f64,
}

#[derive(Deserialize)]
struct CutsRecord {
    medium: f64,
    high: f64,
    critical: f64,
}

impl TryFrom<CutsRecord> for TierCuts {
    type Error = Error;
    fn try_from(r: CutsRecord) -> Result<Self> {
        TierCuts::new(r.medium, r.high, r.critical)
    }
}

impl Default for TierCuts {
    fn default() -> Self {
        TierCuts {
            medium: 0.25,
            high: 0.5,
            critical: 0.75,
        }
    }
}

impl TierCuts {
    /// Cut points 0 < medium < high < critical ≤ 1.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless strictly increasing within (0, 1].
    pub fn new(medium: f64, high: f64, critical: f64) -> Result<Self> {
        if !(0.0 < medium && medium < high && high < critical && critical <= 1.0) {
            return Err(Error::InvalidParameter {
                name: "tier cuts",
                value: format!("{medium}, {high}, {critical}"),
                reason: "need 0 < medium < high < critical ≤ 1".into(),
            });
        }
        Ok(TierCuts {
            medium,
            high,
            critical,
        })
    }

    /// The tier of a risk.
    pub fn tier(&self, risk: f64) -> RiskTier {
        if risk >= self.critical {
            RiskTier::Critical
        } else if risk >= self.high {
            RiskTier::High
        } else if risk >= self.medium {
            RiskTier::Medium
        } else {
            RiskTier::Low
        }
    }
}

/// One customer's churn risk.
///
/// Deserializing validates the risk (finite, in [0, 1]) and the lifetime (finite, ≥ 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RiskRecord")]
pub struct ChurnRisk {
    /// The customer.
    pub customer_id: CustomerId,
    /// Probability of having churned (or of churning at the next renewal), in [0, 1].
    pub risk: f64,
    /// The tier of the risk.
    pub tier: RiskTier,
    /// Expected remaining lifetime in the data's time unit, where the model gives one.
    pub expected_remaining_lifetime: Option<f64>,
}

#[derive(Deserialize)]
struct RiskRecord {
    customer_id: CustomerId,
    risk: f64,
    tier: RiskTier,
    expected_remaining_lifetime: Option<f64>,
}

impl TryFrom<RiskRecord> for ChurnRisk {
    type Error = Error;
    fn try_from(r: RiskRecord) -> Result<Self> {
        let lifetime_ok = r
            .expected_remaining_lifetime
            .is_none_or(|l| l.is_finite() && l >= 0.0);
        if !((0.0..=1.0).contains(&r.risk) && lifetime_ok) {
            return Err(Error::InvalidRecord {
                at: Position::of_customer(r.customer_id.to_string()),
                reason: format!(
                    "risk {} must be in [0, 1] and the remaining lifetime {:?} finite and ≥ 0",
                    r.risk, r.expected_remaining_lifetime
                ),
            });
        }
        Ok(ChurnRisk {
            customer_id: r.customer_id,
            risk: r.risk,
            tier: r.tier,
            expected_remaining_lifetime: r.expected_remaining_lifetime,
        })
    }
}

/// A record a churn scorer can name: it carries the customer's id.
pub trait CustomerRecord {
    /// The customer.
    fn customer_id(&self) -> &CustomerId;
}

impl CustomerRecord for CustomerSummary {
    fn customer_id(&self) -> &CustomerId {
        &self.customer_id
    }
}

/// A subscriber of a contractual business: who, and how many times they have renewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    /// The customer.
    pub customer_id: CustomerId,
    /// Renewals so far (0: in the first period).
    pub renewals: u32,
}

impl CustomerRecord for Subscriber {
    fn customer_id(&self) -> &CustomerId {
        &self.customer_id
    }
}

/// The churn family's contract: a risk in [0, 1] per record, and where the model gives one,
/// the expected remaining lifetime.
///
/// Every churn scorer is also a [`Score`] whose output is a [`ChurnRisk`]: the
/// risk placed in a [`RiskTier`] by the scorer's [`TierCuts`] (the defaults, or those given
/// with [`ChurnScorer::with_tiers`]), checked to be a probability.
pub trait ChurnScorer: Sync {
    /// What is scored: a [`CustomerSummary`] (model-based, recency, logistic) or a
    /// [`Subscriber`] (sBG).
    type Record: CustomerRecord + Sync;

    /// The back-end's name.
    fn name(&self) -> &'static str;

    /// Risk in [0, 1] and, where available, the expected remaining lifetime: the back-end's
    /// hook. Callers use [`Score::score`] / [`Score::score_batch`], which check the risk is
    /// a probability and the lifetime finite, and place the risk in a tier.
    ///
    /// # Errors
    /// The back-end's validation errors, naming the customer.
    fn risk(&self, record: &Self::Record) -> Result<(f64, Option<f64>)>;

    /// Where the risk tiers start (the defaults unless set with
    /// [`ChurnScorer::with_tiers`]).
    fn tiers(&self) -> TierCuts {
        TierCuts::default()
    }

    /// This scorer with other tier cuts.
    fn with_tiers(self, cuts: TierCuts) -> Tiered<Self>
    where
        Self: Sized,
    {
        Tiered { scorer: self, cuts }
    }
}

/// A churn scorer with its own [`TierCuts`] (see [`ChurnScorer::with_tiers`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tiered<S> {
    scorer: S,
    cuts: TierCuts,
}

impl<S> Tiered<S> {
    /// The scorer.
    pub fn scorer(&self) -> &S {
        &self.scorer
    }
}

impl<S: ChurnScorer> ChurnScorer for Tiered<S> {
    type Record = S::Record;

    fn name(&self) -> &'static str {
        self.scorer.name()
    }

    fn risk(&self, record: &S::Record) -> Result<(f64, Option<f64>)> {
        self.scorer.risk(record)
    }

    fn tiers(&self) -> TierCuts {
        self.cuts
    }
}

impl<T: ChurnScorer + ?Sized> Score for T {
    type Record = T::Record;
    type Output = ChurnRisk;

    /// The churn risk of one record, tiered.
    ///
    /// # Errors
    /// The scorer's errors; [`Error::Overflow`] for a risk that is not a probability (NaN from
    /// extreme inputs) or a remaining lifetime that is not finite, naming the customer.
    fn score(&self, record: &T::Record) -> Result<ChurnRisk> {
        let (risk, life) = self.risk(record)?;
        let customer = record.customer_id();
        // Every back-end promises a probability; extreme inputs or a hand-made model could
        // still break that, and a NaN would otherwise land silently in the lowest tier.
        if !(0.0..=1.0).contains(&risk) {
            return Err(Error::Overflow {
                at: Position::of_customer(customer),
                quantity: "churn risk",
                value: risk,
            });
        }
        // JSON would write an infinite lifetime as null and read it back as None.
        if let Some(l) = life.filter(|l| !(l.is_finite() && *l >= 0.0)) {
            return Err(Error::Overflow {
                at: Position::of_customer(customer),
                quantity: "expected remaining lifetime",
                value: l,
            });
        }
        Ok(ChurnRisk {
            customer_id: customer.clone(),
            risk,
            tier: self.tiers().tier(risk),
            expected_remaining_lifetime: life,
        })
    }
}
