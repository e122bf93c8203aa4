//! Customer lifetime value: the simple formula and the buy-till-you-die model family.
//!
//! **The simple formula** ([`SimpleCltv`]) is what a business case uses: average revenue per
//! user × expected lifetime − acquisition cost, with an optional margin, discount rate and a
//! lifetime implied by a churn rate.
//!
//! **The probabilistic models** explain each customer's purchase history, summarised as
//! (x repeat purchases, the last at t_x, observed for T — an [`Rft`]), by two hidden
//! quantities: how often they buy while active, and how likely they are to stop. Fitting one to
//! a customer base gives, per customer, the probability that they are still active
//! ([`TransactionModel::p_alive`]) and the purchases to expect in any future period
//! ([`TransactionModel::expected_purchases`]):
//!
//! | model | when customers stop | paper |
//! |---|---|---|
//! | [`BgNbd`] | after a repeat purchase, with probability p | Fader, Hardie & Lee (2005) |
//! | [`MbgNbd`] | after any purchase, the first included | Batislam, Denizel & Filiztekin (2007) |
//! | [`ParetoNbd`] | at any moment, at an exponential rate | Schmittlein, Morrison & Colombo (1987) |
//! | [`BgBb`] | before a discrete opportunity (yearly donations) | Fader, Hardie & Shang (2010) |
//!
//! [`GammaGamma`] models what a transaction is worth, and a [`Valuation`] combines a
//! transaction model with it into a discounted CLV per customer ([`Discounting`] documents the
//! convention and reproduces lifetimes' `customer_lifetime_value`).
//!
//! **Fitting** is maximum likelihood ([`MaxLikelihood`], returning a [`FitReport`]): parameters on the log
//! scale, exact gradients by automatic differentiation, L-BFGS (argmin) with Nelder–Mead
//! restarts when it stalls — L-BFGS because the likelihoods are smooth with four parameters
//! and exact gradients make it converge in a few dozen evaluations, Nelder–Mead because it
//! cannot be misled by a poorly scaled line search. Identical histories are merged into
//! weighted rows first. The fitted models are plain serde data, validated on deserialization.
//! Seeded starts ([`MaxLikelihood::with_starts`], fitted in parallel) guard against local
//! maxima, and every report's [`Convergence`] says whether to trust the optimum: a
//! [`FitWarning`] for a flat likelihood, a parameter at a bound or starts that disagree, each
//! with advice; a fit that did not converge or ran off is an error.
//!
//! **Scoring millions of customers** goes fastest from columns: [`HistoryColumns`] borrows
//! x, t_x and T as slices (checked once), and [`TransactionModel::p_alive_columns`],
//! [`TransactionModel::expected_purchases_columns`] and [`Valuation::value_columns`] score
//! them in parallel, vectorised where the model allows. A service that scores batch after
//! batch keeps one output buffer and calls the `_into` forms
//! ([`TransactionModel::p_alive_columns_into`]): a fresh column of ten million values costs
//! the kernel a fifth to a quarter of the call to map and clear.
//!
//! ```
//! use custseg::{Fit, Score};
//! use custseg::clv::{BgNbd, Discounting, GammaGamma, RftData, SpendData, Valuation};
//! use custseg::datasets::{cdnow_sample, cdnow_sample_config};
//! use custseg::TimeUnit;
//!
//! let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
//! let (bgnbd, report) = BgNbd::params().fit(&RftData::from_summaries(summaries.as_slice())?)?;
//! assert!((report.log_likelihood - -9582.43).abs() < 0.01);
//! let (spend, _) = GammaGamma::params().fit(&SpendData::from_summaries(summaries.as_slice())?)?;
//! let twelve_months = Discounting::lifetimes(12, 0.01, TimeUnit::Weeks)?;
//! let values = Valuation::new(bgnbd, spend, twelve_months).score_batch(&summaries)?;
//! assert_eq!(values.len(), 2_357);
//! # Ok::<(), custseg::Error>(())
//! ```

mod bgbb;
mod bgnbd;
pub(crate) mod btyd;
pub(crate) mod columns;
mod data;
mod diagnostics;
pub(crate) mod fit;
mod gamma_gamma;
mod mbgnbd;
mod model;
mod pareto_nbd;
mod simple;
pub(crate) mod uncertainty;
mod value;

pub use bgbb::{BgBb, BgBbHistory};
pub use bgnbd::BgNbd;
pub use columns::HistoryColumns;
pub use data::{Rft, RftData};
pub use diagnostics::{
    AliveMatrix, ConditionalExpectations, DiscreteTracking, FrequencyFit, FrequencyGroup,
    ModelComparison, Tracking,
};
pub use fit::{Convergence, FitReport, FitWarning, MaxLikelihood};
pub use gamma_gamma::{GammaGamma, SpendData};
pub use mbgnbd::MbgNbd;
pub use model::TransactionModel;
pub use pareto_nbd::ParetoNbd;
pub use simple::{Lifetime, SimpleCltv};
pub use uncertainty::{Bootstrap, BootstrapMethod, Interval, Parametric, Uncertainty};
pub use value::{CustomerValue, Discounting, Valuation, ValueColumns};

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
