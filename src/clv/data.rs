//! The inputs of the transaction models: validated (x, t_x, T) histories, compressed for
//! fitting.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::data::{CustomerSummary, TimeUnit};
use crate::error::{Error, Result};

/// A customer's history as the buy-till-you-die models see it: `x` repeat purchases, the last
/// at `t_x`, observed for `T` since the first purchase (all times in one unit).
///
/// Construction validates: finite, non-negative times, t_x ≤ T, and t_x = 0 when x = 0; so a
/// model's predictions on an `Rft` are always defined.
///
/// ```
/// use custseg::clv::Rft;
/// let c = Rft::new(2, 30.43, 38.86)?;
/// assert_eq!((c.x(), c.t_x(), c.big_t()), (2, 30.43, 38.86));
/// assert!(Rft::new(0, 1.0, 5.0).is_err()); // no repeat purchase, but a recency
/// assert!(Rft::new(3, 6.0, 5.0).is_err()); // last purchase after the end
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RftRecord")]
pub struct Rft {
    x: u32,
    t_x: f64,
    big_t: f64,
}

#[derive(Deserialize)]
struct RftRecord {
    x: u32,
    t_x: f64,
    big_t: f64,
}

impl TryFrom<RftRecord> for Rft {
    type Error = Error;
    fn try_from(r: RftRecord) -> Result<Self> {
        Rft::new(r.x, r.t_x, r.big_t)
    }
}

impl Rft {
    /// A validated history.
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] (customer "(rft)") for non-finite or negative times,
    /// t_x > T, or t_x ≠ 0 with x = 0.
    pub fn new(x: u32, t_x: f64, big_t: f64) -> Result<Self> {
        check(x, t_x, big_t).map_err(|reason| Error::InvalidRecord {
            customer: "(rft)".into(),
            reason,
        })?;
        Ok(Rft { x, t_x, big_t })
    }

    /// Repeat purchases x.
    pub fn x(&self) -> u32 {
        self.x
    }

    /// Time of the last purchase since the first, t_x.
    pub fn t_x(&self) -> f64 {
        self.t_x
    }

    /// Time observed since the first purchase, T.
    pub fn big_t(&self) -> f64 {
        self.big_t
    }
}

fn check(x: u32, t_x: f64, big_t: f64) -> std::result::Result<(), String> {
    if !(t_x.is_finite() && big_t.is_finite() && t_x >= 0.0 && big_t >= 0.0) {
        return Err(format!(
            "t_x = {t_x} and T = {big_t} must be finite and not negative"
        ));
    }
    if t_x > big_t {
        return Err(format!("t_x = {t_x} exceeds T = {big_t}"));
    }
    if x == 0 && t_x != 0.0 {
        return Err(format!(
            "x = 0 but t_x = {t_x}; without repeat purchases t_x is 0"
        ));
    }
    Ok(())
}

impl TryFrom<&CustomerSummary> for Rft {
    type Error = Error;
    fn try_from(s: &CustomerSummary) -> Result<Self> {
        check(s.frequency, s.recency, s.age).map_err(|reason| Error::InvalidRecord {
            customer: s.customer_id.to_string(),
            reason,
        })?;
        Ok(Rft {
            x: s.frequency,
            t_x: s.recency,
            big_t: s.age,
        })
    }
}

/// Histories of a set of customers, with identical (x, t_x, T) rows merged into one weighted
/// row: fitting cost then grows with the number of distinct histories, not of customers.
#[derive(Debug, Clone, PartialEq)]
pub struct RftData {
    rows: Vec<(Rft, f64)>,
    customers: f64,
    unit: Option<TimeUnit>,
}

impl RftData {
    /// From summaries (all in one time unit).
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::InvalidRecord`] for an inconsistent summary (naming
    /// the customer); [`Error::UnitMismatch`] when summaries mix time units.
    pub fn from_summaries(summaries: &[CustomerSummary]) -> Result<Self> {
        let first = summaries
            .first()
            .ok_or(Error::EmptyInput { what: "customers" })?;
        let unit = first.unit;
        let mut rfts = Vec::with_capacity(summaries.len());
        for s in summaries {
            if s.unit != unit {
                return Err(Error::UnitMismatch {
                    model: unit,
                    data: s.unit,
                });
            }
            rfts.push((Rft::try_from(s)?, 1.0));
        }
        let mut d = RftData::from_weighted(rfts)?;
        d.unit = Some(unit);
        Ok(d)
    }

    /// From histories, each counted once.
    ///
    /// # Errors
    /// [`Error::EmptyInput`].
    pub fn from_rfts(rfts: &[Rft]) -> Result<Self> {
        RftData::from_weighted(rfts.iter().map(|r| (*r, 1.0)).collect())
    }

    /// From histories with weights (numbers of customers; aggregated data).
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::InvalidParameter`] for a weight that is not finite and
    /// positive.
    pub fn from_weighted(rows: Vec<(Rft, f64)>) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::EmptyInput { what: "customers" });
        }
        if let Some((i, (_, w))) = rows
            .iter()
            .enumerate()
            .find(|(_, (_, w))| !(w.is_finite() && *w > 0.0))
        {
            return Err(Error::InvalidParameter {
                name: "weights",
                value: w.to_string(),
                reason: format!("row {i}: a weight must be finite and positive"),
            });
        }
        let mut index: HashMap<(u32, u64, u64), usize> = HashMap::new();
        let mut merged: Vec<(Rft, f64)> = Vec::new();
        let mut customers = 0.0;
        for (r, w) in rows {
            customers += w;
            let key = (r.x, r.t_x.to_bits(), r.big_t.to_bits());
            match index.get(&key) {
                Some(&i) => merged[i].1 += w,
                None => {
                    index.insert(key, merged.len());
                    merged.push((r, w));
                }
            }
        }
        // A canonical order, so sums over rows do not depend on the input order.
        merged.sort_by(|a, b| {
            (a.0.x, a.0.t_x, a.0.big_t)
                .partial_cmp(&(b.0.x, b.0.t_x, b.0.big_t))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Ok(RftData {
            rows: merged,
            customers,
            unit: None,
        })
    }

    /// The distinct histories with their weights.
    pub fn rows(&self) -> &[(Rft, f64)] {
        &self.rows
    }

    /// Total weight (customers).
    pub fn customers(&self) -> f64 {
        self.customers
    }

    /// The time unit, when the data came from summaries.
    pub fn unit(&self) -> Option<TimeUnit> {
        self.unit
    }
}
