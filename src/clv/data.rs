//! The inputs of the transaction models: validated (x, t_x, T) histories, compressed for
//! fitting.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{CustomerSummary, TimeUnit};
use crate::error::{Error, Position, Result};

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
    /// [`Error::InvalidRecord`] (without a position: the caller names the row or customer) for non-finite or negative times,
    /// t_x > T, or t_x ≠ 0 with x = 0.
    pub fn new(x: u32, t_x: f64, big_t: f64) -> Result<Self> {
        check(x, t_x, big_t).map_err(|reason| Error::InvalidRecord {
            at: Position::default(),
            reason,
        })?;
        // + 0.0 turns −0.0 into 0.0, so equal times have equal bits.
        Ok(Rft {
            x,
            t_x: t_x + 0.0,
            big_t: big_t + 0.0,
        })
    }

    /// A history known to be valid (checked columns).
    pub(crate) fn new_unchecked(x: u32, t_x: f64, big_t: f64) -> Self {
        Rft {
            x,
            t_x: t_x + 0.0,
            big_t: big_t + 0.0,
        }
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

/// Every weight of a weighted data set (customers sharing a history) finite and positive, or
/// an error naming the row of the first that is not.
pub(crate) fn check_weights(weights: impl Iterator<Item = f64>) -> Result<()> {
    for (row, w) in weights.enumerate() {
        if !(w.is_finite() && w > 0.0) {
            return Err(Error::InvalidRecord {
                at: Position::at_row(row).with_column("weight"),
                reason: format!("weight {w} must be finite and positive"),
            });
        }
    }
    Ok(())
}

/// A summary is a valid history by construction (its checks include [`Rft::new`]'s), so this
/// cannot fail.
impl From<&CustomerSummary> for Rft {
    fn from(s: &CustomerSummary) -> Rft {
        Rft {
            x: s.frequency,
            t_x: s.recency + 0.0,
            big_t: s.age + 0.0,
        }
    }
}

/// Histories of a set of customers, with identical (x, t_x, T) rows merged into one weighted
/// row: fitting cost then grows with the number of distinct histories, not of customers.
///
/// The distinct values of x, t_x and T, and of the pairs (x, t_x) and (x, T), are indexed as
/// well: a likelihood term that depends only on x, or on x and one time, is computed once per
/// distinct value rather than once per row. With day-resolution data most customers share
/// their acquisition day, so this saves most of the work.
#[derive(Debug, Clone, PartialEq)]
pub struct RftData {
    rows: Vec<(Rft, f64)>,
    customers: f64,
    unit: Option<TimeUnit>,
    index: RftIndex,
}

/// Indices of a row into the tables of distinct values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RowIndex {
    pub x: u32,
    pub t_x: u32,
    pub big_t: u32,
    pub x_t_x: u32,
    pub x_big_t: u32,
}

/// Tables of distinct values (in order of first appearance along the sorted rows) and every
/// row's indices into them.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RftIndex {
    pub xs: Vec<u32>,
    pub t_xs: Vec<f64>,
    pub big_ts: Vec<f64>,
    /// (index into xs, t_x value) pairs.
    pub x_t_x: Vec<(u32, f64)>,
    /// (index into xs, T value) pairs.
    pub x_big_t: Vec<(u32, f64)>,
    pub rows: Vec<RowIndex>,
}

impl RftIndex {
    /// Builds the tables from rows sorted by (x, t_x, T): x and (x, t_x) are numbered as they
    /// change along the rows; the other values through hash maps keyed by their bits.
    fn build(rows: &[(Rft, f64)]) -> Self {
        type Map<K> = HashMap<K, u32, foldhash::fast::FixedState>;
        fn intern<K: std::hash::Hash + Eq, V>(
            map: &mut Map<K>,
            table: &mut Vec<V>,
            k: K,
            v: V,
        ) -> u32 {
            let next = table.len() as u32;
            *map.entry(k).or_insert_with(|| {
                table.push(v);
                next
            })
        }
        let mut ix = RftIndex::default();
        let mut t_x_map: Map<u64> = Map::default();
        let mut big_t_map: Map<u64> = Map::default();
        let mut x_big_t_map: Map<(u32, u64)> = Map::default();
        ix.rows.reserve(rows.len());
        for (i, (r, _)) in rows.iter().enumerate() {
            let prev = i.checked_sub(1).map(|p| rows[p].0);
            if prev.is_none_or(|p| p.x != r.x) {
                ix.xs.push(r.x);
            }
            let xi = ix.xs.len() as u32 - 1;
            if prev.is_none_or(|p| p.x != r.x || p.t_x != r.t_x) {
                ix.x_t_x.push((xi, r.t_x));
            }
            ix.rows.push(RowIndex {
                x: xi,
                t_x: intern(&mut t_x_map, &mut ix.t_xs, r.t_x.to_bits(), r.t_x),
                big_t: intern(&mut big_t_map, &mut ix.big_ts, r.big_t.to_bits(), r.big_t),
                x_t_x: ix.x_t_x.len() as u32 - 1,
                x_big_t: intern(
                    &mut x_big_t_map,
                    &mut ix.x_big_t,
                    (xi, r.big_t.to_bits()),
                    (xi, r.big_t),
                ),
            });
        }
        ix
    }
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
        if let Some(s) = summaries.iter().find(|s| s.unit != unit) {
            return Err(Error::UnitMismatch {
                model: unit,
                data: s.unit,
            });
        }
        let rfts: Vec<(Rft, f64)> = summaries.par_iter().map(|s| (Rft::from(s), 1.0)).collect();
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
    /// [`Error::EmptyInput`]; [`Error::InvalidRecord`] naming the row of a weight that is not
    /// finite and positive.
    pub fn from_weighted(mut rows: Vec<(Rft, f64)>) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::EmptyInput { what: "customers" });
        }
        check_weights(rows.iter().map(|r| r.1))?;
        let customers: f64 = rows.iter().map(|r| r.1).sum();
        // Sorted, identical histories are adjacent; the order is canonical, so sums over rows
        // do not depend on the input order.
        // Non-negative floats order like their bit patterns, so the key is integers; with the
        // weight in the key the order is total, so the fast unstable sort is deterministic.
        rows.par_sort_unstable_by_key(|(r, w)| {
            (r.x, r.t_x.to_bits(), r.big_t.to_bits(), w.to_bits())
        });
        let mut merged: Vec<(Rft, f64)> = Vec::with_capacity(rows.len() / 2);
        for (r, w) in rows {
            match merged.last_mut() {
                Some(last) if last.0 == r => last.1 += w,
                _ => merged.push((r, w)),
            }
        }
        let index = RftIndex::build(&merged);
        Ok(RftData {
            rows: merged,
            customers,
            unit: None,
            index,
        })
    }

    /// The distinct histories with their weights, sorted by (x, t_x, T).
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

    pub(crate) fn index(&self) -> &RftIndex {
        &self.index
    }
}
