//! DBSCAN settings: clusters are density-connected points within a radius; points in sparse
//! regions are noise and get no segment.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Settings of DBSCAN, checked when built: a finite radius `eps` > 0 (in the prepared feature
/// space) and `min_points` ≥ 2 (the points a neighbourhood needs to be dense, itself
/// included). Deserializing runs the same checks.
///
/// ```
/// use custseg::segment::DbscanParams;
/// let p = DbscanParams::new(0.3, 5)?;
/// assert_eq!((p.eps(), p.min_points()), (0.3, 5));
/// assert!(DbscanParams::new(0.0, 5).is_err());
/// assert!(DbscanParams::new(0.3, 1).is_err());
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DbscanRecord")]
pub struct DbscanParams {
    pub(crate) eps: f64,
    pub(crate) min_points: usize,
}

#[derive(Deserialize)]
struct DbscanRecord {
    eps: f64,
    min_points: usize,
}

impl TryFrom<DbscanRecord> for DbscanParams {
    type Error = Error;
    fn try_from(r: DbscanRecord) -> Result<Self> {
        DbscanParams::new(r.eps, r.min_points)
    }
}

impl DbscanParams {
    /// Radius `eps` and density threshold `min_points`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `eps` not finite and > 0, or `min_points` < 2.
    pub fn new(eps: f64, min_points: usize) -> Result<Self> {
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::InvalidParameter {
                name: "eps",
                value: eps.to_string(),
                reason: "finite and > 0".into(),
            });
        }
        // A neighbourhood counts the point itself; one point alone is not a cluster.
        if min_points < 2 {
            return Err(Error::InvalidParameter {
                name: "min_points",
                value: min_points.to_string(),
                reason: "at least 2".into(),
            });
        }
        Ok(DbscanParams { eps, min_points })
    }

    /// Neighbourhood radius.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// Points a neighbourhood needs to be dense, itself included.
    pub fn min_points(&self) -> usize {
        self.min_points
    }
}
