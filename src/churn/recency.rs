//! The recency rule: inactive after too long without a purchase.

use serde::{Deserialize, Serialize};

use super::ChurnScorer;
use crate::data::CustomerSummary;
use crate::error::{Error, Result};

/// Whether a customer exactly at the threshold counts as churned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Boundary {
    /// Churned when the time since the last purchase is strictly greater than the threshold
    /// (a customer at exactly 90 days of a 90-day rule is still active).
    #[default]
    Exclusive,
    /// Churned when the time is greater than or equal to the threshold.
    Inclusive,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum Threshold {
    Fixed { days: f64 },
    Relative { multiple: f64, fallback_days: f64 },
}

/// A customer is inactive (risk 1) when the days since their last purchase exceed a fixed
/// threshold, or `multiple` times their own mean time between purchases (t_x / x); active
/// (risk 0) otherwise. Customers without a repeat purchase have no inter-purchase time and
/// are judged by `fallback_days`. Days since the last purchase are counted to the
/// observation end, as in RFM recency.
///
/// ```
/// use custseg::churn::{Boundary, RecencyRule};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
/// use custseg::Score;
/// let s = cdnow_sample().summarise(&cdnow_sample_config())?;
/// let c1 = &s.as_slice()[0]; // last purchase 59 days before the end
/// assert_eq!(RecencyRule::fixed(59.0)?.score(c1)?.risk, 0.0);
/// assert_eq!(RecencyRule::fixed(59.0)?.with_boundary(Boundary::Inclusive).score(c1)?.risk, 1.0);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RuleRecord")]
pub struct RecencyRule {
    threshold: Threshold,
    boundary: Boundary,
}

#[derive(Deserialize)]
struct RuleRecord {
    threshold: Threshold,
    boundary: Boundary,
}

impl TryFrom<RuleRecord> for RecencyRule {
    type Error = Error;
    fn try_from(r: RuleRecord) -> Result<Self> {
        let rule = match r.threshold {
            Threshold::Fixed { days } => RecencyRule::fixed(days)?,
            Threshold::Relative {
                multiple,
                fallback_days,
            } => RecencyRule::relative(multiple, fallback_days)?,
        };
        Ok(rule.with_boundary(r.boundary))
    }
}

fn positive(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name,
            value: v.to_string(),
            reason: "finite and > 0".into(),
        })
    }
}

impl RecencyRule {
    /// Inactive after `days` days without a purchase.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `days` is finite and positive.
    pub fn fixed(days: f64) -> Result<Self> {
        positive("days", days)?;
        Ok(RecencyRule {
            threshold: Threshold::Fixed { days },
            boundary: Boundary::default(),
        })
    }

    /// Inactive after `multiple` × the customer's mean time between purchases, or after
    /// `fallback_days` for customers without a repeat purchase.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless both are finite and positive.
    pub fn relative(multiple: f64, fallback_days: f64) -> Result<Self> {
        positive("multiple", multiple)?;
        positive("fallback_days", fallback_days)?;
        Ok(RecencyRule {
            threshold: Threshold::Relative {
                multiple,
                fallback_days,
            },
            boundary: Boundary::default(),
        })
    }

    /// Sets the boundary semantics (default [`Boundary::Exclusive`]).
    pub fn with_boundary(mut self, boundary: Boundary) -> Self {
        self.boundary = boundary;
        self
    }

    /// The threshold in days for a customer.
    fn threshold_days(&self, s: &CustomerSummary) -> f64 {
        match self.threshold {
            Threshold::Fixed { days } => days,
            Threshold::Relative {
                multiple,
                fallback_days,
            } => {
                if s.frequency == 0 {
                    fallback_days
                } else {
                    multiple * s.recency * s.unit.days() / s.frequency as f64
                }
            }
        }
    }
}

impl ChurnScorer for RecencyRule {
    type Record = CustomerSummary;

    fn name(&self) -> &'static str {
        match self.threshold {
            Threshold::Fixed { .. } => "recency rule (fixed)",
            Threshold::Relative { .. } => "recency rule (relative)",
        }
    }

    fn risk(&self, s: &CustomerSummary) -> Result<(f64, Option<f64>)> {
        s.validate()?;
        // Times are whole days divided by the unit: rounding recovers the day count exactly.
        let days = (s.time_since_last_purchase() * s.unit.days()).round();
        let limit = self.threshold_days(s);
        let churned = match self.boundary {
            Boundary::Exclusive => days > limit,
            Boundary::Inclusive => days >= limit,
        };
        Ok((if churned { 1.0 } else { 0.0 }, None))
    }
}
