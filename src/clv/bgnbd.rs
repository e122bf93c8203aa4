//! BG/NBD: the beta-geometric / negative binomial distribution model (Fader, Hardie & Lee
//! 2005, "Counting your customers the easy way", Marketing Science 24(2)).
//!
//! While alive, a customer buys at a Poisson rate λ; after each repeat purchase they drop out
//! with probability p. Across customers λ ~ Gamma(r, α) and p ~ Beta(a, b). A customer with no
//! repeat purchase has had no chance to drop out, so the model gives them P(alive) = 1.

use serde::{Deserialize, Serialize};

use super::btyd::{
    BetaGeometric, BgLikelihood, beta_geometric_nbd, bg_ll_one, bg_total, expected_alive,
    expected_alive_path,
};
use super::check_positive;
use super::data::{Rft, RftData};
use super::fit::{FitReport, MaxLikelihood, fit};
use super::model::{TransactionModel, check_horizon};
use crate::data::TimeUnit;
use crate::error::{Error, Result};

/// A fitted BG/NBD model.
///
/// ```
/// use custseg::clv::{BgNbd, Rft, TransactionModel};
/// // The published CDNOW estimates (weeks).
/// let m = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?;
/// let c = Rft::new(2, 30.43, 38.86)?;
/// assert!((m.p_alive(&c)? - 0.726609).abs() < 1e-5);
/// assert!((m.expected_purchases(&c, 39.0)? - 1.225910).abs() < 1e-5);
/// // A customer without repeat purchases is alive for BG/NBD.
/// assert_eq!(m.p_alive(&Rft::new(0, 0.0, 38.86)?)?, 1.0);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BgNbdRecord")]
pub struct BgNbd {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    unit: Option<TimeUnit>,
}

#[derive(Deserialize)]
struct BgNbdRecord {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    unit: Option<TimeUnit>,
}

impl TryFrom<BgNbdRecord> for BgNbd {
    type Error = Error;
    fn try_from(v: BgNbdRecord) -> Result<Self> {
        Ok(BgNbd {
            unit: v.unit,
            ..BgNbd::new(v.r, v.alpha, v.a, v.b)?
        })
    }
}

impl BetaGeometric for BgNbd {
    const NAME: &'static str = "BG/NBD";
    const OFFSET: f64 = 0.0;
}

beta_geometric_nbd!(BgNbd);
