//! Customer lifetime value: the simple formula and the buy-till-you-die model family.
//!
//! TODO module docs.

mod bgbb;
mod bgnbd;
mod btyd;
mod data;
mod fit;
mod gamma_gamma;
mod mbgnbd;
mod model;
mod pareto_nbd;
mod simple;
mod value;

pub use bgbb::{BgBb, BgBbHistory};
pub use bgnbd::BgNbd;
pub use data::{Rft, RftData};
pub use fit::{FitOptions, FitReport};
pub use gamma_gamma::{GammaGamma, SpendData};
pub use mbgnbd::MbgNbd;
pub use model::TransactionModel;
pub use pareto_nbd::ParetoNbd;
pub use simple::{Lifetime, SimpleCltv};
pub use value::{CustomerValue, Discounting, customer_lifetime_value, value_customers};

use crate::error::{Error, Result};

/// Checks that named model parameters are finite and positive.
pub(crate) fn check_positive(params: &[(&'static str, f64)]) -> Result<()> {
    for &(name, v) in params {
        if !(v.is_finite() && v > 0.0) {
            return Err(Error::InvalidParameter {
                name,
                value: v.to_string(),
                reason: "a model parameter must be finite and positive".into(),
            });
        }
    }
    Ok(())
}
