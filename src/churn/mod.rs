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
//! [`metrics`] has AUC-ROC, average precision, Brier score, log-loss, lift and capture.
//!
//! ```
//! use custseg::churn::{score_churn, RecencyRule, RiskTier, TierCuts};
//! use custseg::datasets::{cdnow_sample, cdnow_sample_config};
//! let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
//! // Inactive after 90 days without a purchase.
//! let rule = RecencyRule::fixed(90.0)?;
//! let risks = score_churn(&rule, summaries.as_slice(), &TierCuts::default())?;
//! let critical = risks.iter().filter(|r| r.tier == RiskTier::Critical).count();
//! assert!(critical > 1_000);
//! # Ok::<(), custseg::Error>(())
//! ```

mod logistic;
pub mod metrics;
mod model_based;
mod recency;
mod sbg;

pub use logistic::{Feature, LogisticChurn, LogisticChurnParams};
pub use model_based::{BtydModel, ModelChurn, OneTimeBuyers};
pub use recency::{Boundary, RecencyRule};
pub use sbg::{Cohort, ShiftedBetaGeometric};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

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

/// A churn scorer working from customer summaries.
pub trait ChurnScorer: Sync {
    /// The back-end's name.
    fn name(&self) -> &str;

    /// Risk in [0, 1] and, where available, the expected remaining lifetime.
    ///
    /// # Errors
    /// The back-end's validation errors, naming the customer.
    fn risk(&self, customer: &CustomerSummary) -> Result<(f64, Option<f64>)>;
}

/// Scores every customer in parallel; output in input order, independent of the thread count.
///
/// # Errors
/// The first error of the scorer, in input order; [`Error::NonFinite`] for a risk that is
/// not a probability (NaN from extreme inputs), naming the customer.
pub fn score_churn(
    scorer: &dyn ChurnScorer,
    customers: &[CustomerSummary],
    cuts: &TierCuts,
) -> Result<Vec<ChurnRisk>> {
    let results: Vec<Result<(f64, Option<f64>)>> =
        customers.par_iter().map(|c| scorer.risk(c)).collect();
    results
        .into_iter()
        .zip(customers)
        .enumerate()
        .map(|(row, (r, c))| {
            let (risk, life) = r?;
            // Every back-end promises a probability; extreme inputs or a hand-made model could
            // still break that, and a NaN would otherwise land silently in the lowest tier.
            if !(0.0..=1.0).contains(&risk) {
                return Err(Error::Overflow {
                    at: Position::at_row(row).with_customer(&c.customer_id),
                    quantity: "churn risk",
                    value: risk,
                });
            }
            Ok(ChurnRisk {
                customer_id: c.customer_id.clone(),
                risk,
                tier: cuts.tier(risk),
                expected_remaining_lifetime: life,
            })
        })
        .collect()
}
