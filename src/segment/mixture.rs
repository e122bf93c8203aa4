//! Gaussian mixture settings: k components with full covariances, fitted by EM (linfa's
//! implementation today), each point going to its most probable component.

use serde::{Deserialize, Serialize};

use super::kmeans::check_k_positive;
use crate::error::{Error, Result};

/// Settings of the Gaussian mixture, checked when built (k ≥ 1; whether k fits the data is
/// checked when fitting). Deserializing runs the same checks.
///
/// ```
/// use custseg::segment::GaussianMixtureParams;
/// let p = GaussianMixtureParams::new(3)?.with_seed(5);
/// assert_eq!((p.k(), p.seed()), (3, 5));
/// assert!(GaussianMixtureParams::new(0).is_err());
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "MixtureRecord")]
pub struct GaussianMixtureParams {
    pub(crate) k: usize,
    pub(crate) seed: u64,
}

#[derive(Deserialize)]
struct MixtureRecord {
    k: usize,
    seed: u64,
}

impl TryFrom<MixtureRecord> for GaussianMixtureParams {
    type Error = Error;
    fn try_from(r: MixtureRecord) -> Result<Self> {
        Ok(GaussianMixtureParams::new(r.k)?.with_seed(r.seed))
    }
}

impl GaussianMixtureParams {
    /// k components, seed 0.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for k = 0.
    pub fn new(k: usize) -> Result<Self> {
        check_k_positive(k)?;
        Ok(GaussianMixtureParams { k, seed: 0 })
    }

    /// Sets the seed of the initialisation.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Components.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}
