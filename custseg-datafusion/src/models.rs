//! Fitted models as they arrive in SQL: JSON text, parsed and checked once per batch.

use custseg::clv::{BgNbd, Discounting, GammaGamma, MbgNbd, ParetoNbd, Valuation};
use serde::{Deserialize, Serialize};

/// A fitted purchase model, tagged with its kind: BG/NBD and MBG/NBD have the same
/// parameters, so the JSON names which one it is.
///
/// ```
/// use custseg::clv::BgNbd;
/// use custseg_datafusion::PurchaseModel;
/// let json = PurchaseModel::from(BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?).to_json();
/// assert!(json.starts_with(r#"{"bg_nbd":{"r":0.2426"#));
/// assert_eq!(PurchaseModel::from_json(&json)?, PurchaseModel::BgNbd(BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseModel {
    /// BG/NBD.
    BgNbd(BgNbd),
    /// MBG/NBD.
    MbgNbd(MbgNbd),
    /// Pareto/NBD.
    ParetoNbd(ParetoNbd),
}

impl From<BgNbd> for PurchaseModel {
    fn from(m: BgNbd) -> Self {
        PurchaseModel::BgNbd(m)
    }
}

impl From<MbgNbd> for PurchaseModel {
    fn from(m: MbgNbd) -> Self {
        PurchaseModel::MbgNbd(m)
    }
}

impl From<ParetoNbd> for PurchaseModel {
    fn from(m: ParetoNbd) -> Self {
        PurchaseModel::ParetoNbd(m)
    }
}

impl PurchaseModel {
    /// The JSON text the SQL functions take.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("models serialize to JSON")
    }

    /// Parses the JSON text (the parameters are checked as when the model was built).
    ///
    /// # Errors
    /// The parse or validation error.
    pub fn from_json(json: &str) -> serde_json::Result<Self> {
        serde_json::from_str(json)
    }
}

/// Calls `$body` with `$m` bound to the concrete model inside a [`PurchaseModel`], so each
/// model runs its own (monomorphised) code.
macro_rules! with_model {
    ($model:expr, $m:ident => $body:expr) => {
        match $model {
            $crate::models::PurchaseModel::BgNbd($m) => $body,
            $crate::models::PurchaseModel::MbgNbd($m) => $body,
            $crate::models::PurchaseModel::ParetoNbd($m) => $body,
        }
    };
}
pub(crate) use with_model;

/// The JSON of a CLV valuation for SQL: a purchase model (tagged), the Gamma-Gamma spend
/// model and the discounting — the fields of [`Valuation`], with the model tagged.
///
/// ```
/// use custseg::clv::{BgNbd, Discounting, GammaGamma, Valuation};
/// use custseg::TimeUnit;
/// use custseg_datafusion::ValuationSpec;
/// let v = Valuation::new(
///     BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?,
///     GammaGamma::new(6.2488, 3.7446, 15.4477)?,
///     Discounting::lifetimes(12, 0.01, TimeUnit::Weeks)?,
/// );
/// let json = ValuationSpec::from(v).to_json();
/// assert!(json.contains(r#""model":{"bg_nbd""#));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValuationSpec {
    /// The purchase model.
    pub model: PurchaseModel,
    /// The spend model.
    pub spend: GammaGamma,
    /// The horizon and discount rate.
    pub discounting: Discounting,
}

impl<M: Into<PurchaseModel> + Copy> From<Valuation<M>> for ValuationSpec {
    fn from(v: Valuation<M>) -> Self {
        ValuationSpec {
            model: (*v.model()).into(),
            spend: *v.spend(),
            discounting: *v.discounting(),
        }
    }
}

impl ValuationSpec {
    /// The JSON text `custseg_clv` takes.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("valuations serialize to JSON")
    }
}
