//! MBG/NBD: the modified BG/NBD (Batislam, Denizel & Filiztekin 2007, "Empirical validation
//! and comparison of models for customer base analysis", IJRM 24(3)).
//!
//! As BG/NBD, except that a customer may also drop out right after the first purchase, so a
//! customer with no repeat purchase does not get P(alive) = 1: their P(alive) falls with the
//! time since that purchase.

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

/// A fitted MBG/NBD model.
///
/// ```
/// use custseg::clv::{MbgNbd, Rft, TransactionModel};
/// // The CDNOW estimates (weeks), as lifetimes fits them.
/// let m = MbgNbd::new(0.5248, 6.1830, 0.8914, 1.6140)?;
/// let one_timer = Rft::new(0, 0.0, 38.86)?;
/// // Unlike BG/NBD, a customer without repeat purchases may have dropped out.
/// assert!(m.p_alive(&one_timer)? < 1.0);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MbgNbdRecord")]
pub struct MbgNbd {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    unit: Option<TimeUnit>,
}

#[derive(Deserialize)]
struct MbgNbdRecord {
    r: f64,
    alpha: f64,
    a: f64,
    b: f64,
    unit: Option<TimeUnit>,
}

impl TryFrom<MbgNbdRecord> for MbgNbd {
    type Error = Error;
    fn try_from(v: MbgNbdRecord) -> Result<Self> {
        Ok(MbgNbd {
            unit: v.unit,
            ..MbgNbd::new(v.r, v.alpha, v.a, v.b)?
        })
    }
}

impl BetaGeometric for MbgNbd {
    const NAME: &'static str = "MBG/NBD";
    const OFFSET: f64 = 1.0;
}

beta_geometric_nbd!(MbgNbd);
