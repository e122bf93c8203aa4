//! The simple CLTV formula of our domain documents: CLTV = ARPU × expected lifetime − CAC.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How long a customer stays, in periods of the ARPU.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Lifetime {
    /// A lifetime given directly.
    Periods(f64),
    /// A lifetime implied by a constant churn rate per period: 1 / churn periods on average
    /// (geometric survival).
    ChurnRate(f64),
}

/// CLTV = ARPU × margin × lifetime − CAC, optionally discounted.
///
/// Without discounting the lifetime enters as given (or 1/churn). With a discount rate d per
/// period, revenue of period k is discounted by (1 + d)^k: a fixed lifetime of L periods is
/// worth the annuity (1 − (1 + d)^−L)/d periods of revenue, and a churn rate c gives the
/// expected discounted lifetime Σₖ (1 − c)^(k−1)/(1 + d)^k = 1/(c + d).
///
/// ```
/// use custseg::clv::{Lifetime, SimpleCltv};
/// // ARPU 100 per month, 24 months, acquisition cost 50: 100 × 24 − 50.
/// let v = SimpleCltv::new(100.0, Lifetime::Periods(24.0), 50.0)?;
/// assert_eq!(v.value(), 2_350.0);
/// // A 4% monthly churn rate implies 25 months on average: 100 × 25 − 50.
/// let v = SimpleCltv::new(100.0, Lifetime::ChurnRate(0.04), 50.0)?;
/// assert!((v.value() - 2_450.0).abs() < 1e-9);
/// // With a 60% gross margin and 4% monthly churn (25 months on average).
/// let v = SimpleCltv::new(100.0, Lifetime::ChurnRate(0.04), 50.0)?.with_margin(0.6)?;
/// assert!((v.value() - 1_450.0).abs() < 1e-9);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SimpleRecord")]
pub struct SimpleCltv {
    arpu: f64,
    lifetime: Lifetime,
    cac: f64,
    margin: f64,
    discount_rate: f64,
}

#[derive(Deserialize)]
struct SimpleRecord {
    arpu: f64,
    lifetime: Lifetime,
    cac: f64,
    margin: f64,
    discount_rate: f64,
}

impl TryFrom<SimpleRecord> for SimpleCltv {
    type Error = Error;
    fn try_from(r: SimpleRecord) -> Result<Self> {
        SimpleCltv::new(r.arpu, r.lifetime, r.cac)?
            .with_margin(r.margin)?
            .with_discount_rate(r.discount_rate)
    }
}

fn bad(name: &'static str, v: f64, reason: &str) -> Error {
    Error::InvalidParameter {
        name,
        value: v.to_string(),
        reason: reason.into(),
    }
}

impl SimpleCltv {
    /// ARPU (average revenue per user per period), lifetime and CAC (acquisition cost);
    /// margin 1, no discounting.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite ARPU or CAC, a non-positive
    /// lifetime, a churn rate outside (0, 1], or an ARPU × lifetime that overflows.
    pub fn new(arpu: f64, lifetime: Lifetime, cac: f64) -> Result<Self> {
        if !(arpu.is_finite() && arpu >= 0.0) {
            return Err(bad("arpu", arpu, "finite and ≥ 0"));
        }
        if !(cac.is_finite() && cac >= 0.0) {
            return Err(bad("cac", cac, "finite and ≥ 0"));
        }
        match lifetime {
            Lifetime::Periods(l) if !(l.is_finite() && l > 0.0) => {
                return Err(bad("lifetime", l, "finite and > 0 periods"));
            }
            Lifetime::ChurnRate(c) if !(c > 0.0 && c <= 1.0) => {
                return Err(bad("churn_rate", c, "in (0, 1]"));
            }
            _ => {}
        }
        // Margin ≤ 1 and discounting only shrink the value: if the undiscounted revenue is
        // finite, every later value is.
        let periods = match lifetime {
            Lifetime::Periods(l) => l,
            Lifetime::ChurnRate(c) => 1.0 / c,
        };
        if !(arpu * periods).is_finite() {
            return Err(bad("arpu", arpu, "ARPU × lifetime must be finite"));
        }
        Ok(SimpleCltv {
            arpu,
            lifetime,
            cac,
            margin: 1.0,
            discount_rate: 0.0,
        })
    }

    /// Sets the gross margin applied to revenue.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] outside [0, 1].
    pub fn with_margin(mut self, margin: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&margin) {
            return Err(bad("margin", margin, "in [0, 1]"));
        }
        self.margin = margin;
        Ok(self)
    }

    /// Sets the discount rate per period.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless finite and ≥ 0.
    pub fn with_discount_rate(mut self, rate: f64) -> Result<Self> {
        if !(rate.is_finite() && rate >= 0.0) {
            return Err(bad("discount_rate", rate, "finite and ≥ 0"));
        }
        self.discount_rate = rate;
        Ok(self)
    }

    /// Expected (discounted) lifetime in periods.
    pub fn effective_lifetime(&self) -> f64 {
        let d = self.discount_rate;
        match self.lifetime {
            Lifetime::Periods(l) if d == 0.0 => l,
            Lifetime::Periods(l) => -(-l * d.ln_1p()).exp_m1() / d,
            Lifetime::ChurnRate(c) => 1.0 / (c + d),
        }
    }

    /// The CLTV.
    pub fn value(&self) -> f64 {
        self.arpu * self.margin * self.effective_lifetime() - self.cac
    }
}
