//! Customer histories as columns: the fast input of batch scoring.
//!
//! A [`CustomerSummary`](crate::CustomerSummary) is ~120 bytes; scoring a million of them
//! reads 120 MB to use 24 bytes of each. [`HistoryColumns`] holds x, t_x and T as three
//! borrowed slices (from your own arrays, an ndarray, or Arrow buffers), checked once, and the
//! transaction models and [`Valuation`](super::Valuation) score them. Where an answer depends on the history only through x and T (the expected
//! purchases and CLV of a customer who is alive, in every model here), it is computed once
//! per distinct (x, T) — customers acquired on the same day with the same number of repeat
//! purchases share it — and scaled by each customer's own P(alive).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;

use super::data::Rft;
use crate::data::TimeUnit;
use crate::error::{Error, Position, Result};
use crate::simd::{Kernel, wide};

/// x, t_x and T of many customers, one per index, checked once when built: t_x and T
/// finite, 0 ≤ t_x ≤ T, and t_x = 0 where x = 0 (as [`Rft::new`] checks one history).
///
/// ```
/// use custseg::clv::{BgNbd, HistoryColumns, TransactionModel};
/// let x = [0, 2, 7];
/// let t_x = [0.0, 30.4, 35.0];
/// let t = [38.9, 38.9, 38.9];
/// let h = HistoryColumns::new(&x, &t_x, &t)?;
/// let m = BgNbd::new(0.243, 4.414, 0.793, 2.426)?;
/// let p = m.p_alive_columns(&h)?;
/// assert_eq!(p[0], 1.0);
/// assert!((p[1] - m.p_alive(&custseg::clv::Rft::new(2, 30.4, 38.9)?)?).abs() < 1e-14);
/// assert!(HistoryColumns::new(&x, &[0.0, 40.0, 1.0], &t).is_err()); // t_x past T at row 1
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct HistoryColumns<'a> {
    x: &'a [u32],
    t_x: &'a [f64],
    big_t: &'a [f64],
    unit: Option<TimeUnit>,
}

/// Whether (x, t_x, T) is a history: finite, 0 ≤ t_x ≤ T, and t_x = 0 without repeat
/// purchases. Branch-free, so that a loop of them vectorises.
#[inline(always)]
fn history_holds(x: u32, t_x: f64, big_t: f64) -> bool {
    t_x.is_finite() & big_t.is_finite() & (t_x >= 0.0) & (t_x <= big_t) & ((x > 0) | (t_x == 0.0))
}

/// The column to name for a history that does not [hold](history_holds): t_x when it is no
/// recency at all (not finite, negative) or not 0 without repeat purchases (the rule x = 0
/// sets is on t_x), T when T is not finite or t_x exceeds it.
fn broken_column(t_x: f64, big_t: f64) -> &'static str {
    let t_broken = !big_t.is_finite() || t_x > big_t;
    if t_x.is_finite() && t_x >= 0.0 && t_broken {
        "T"
    } else {
        "t_x"
    }
}

/// Whether every row of a chunk of columns (x, t_x, T) [holds](history_holds): a loop over
/// the three slices in step (no index to check against their lengths), which an AVX2 build
/// ([`wide`]) tests four rows a vector — the validation of ten million rows then reads the
/// columns at close to memory speed.
#[derive(Clone, Copy)]
struct Histories<'a>(&'a [u32], &'a [f64], &'a [f64]);

impl Kernel for Histories<'_> {
    type Out = bool;

    #[inline(always)]
    fn run(self) -> bool {
        self.0
            .iter()
            .zip(self.1)
            .zip(self.2)
            .fold(true, |all, ((&x, &t_x), &t)| all & history_holds(x, t_x, t))
    }
}

/// Rows checked per parallel task (and grouped per task when finding distinct (x, T)).
pub(crate) const CHUNK: usize = 1 << 14;

impl<'a> HistoryColumns<'a> {
    /// Columns of repeat purchases x, recency t_x and age T.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the columns differ in length; [`Error::InvalidRecord`]
    /// naming the row and column of the first inconsistent history.
    pub fn new(x: &'a [u32], t_x: &'a [f64], big_t: &'a [f64]) -> Result<Self> {
        let n = x.len();
        for (what, got) in [("t_x", t_x.len()), ("T", big_t.len())] {
            if got != n {
                return Err(Error::LengthMismatch {
                    what,
                    expected: n,
                    got,
                });
            }
        }
        // Chunks of plain loops (a test per index through rayon's iterator costs more than
        // the test), the first bad row of the first chunk that has one; the rule broken is
        // found again only for a bad row.
        let bad = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let rows = c * CHUNK..((c + 1) * CHUNK).min(n);
                let chunk = Histories(&x[rows.clone()], &t_x[rows.clone()], &big_t[rows.clone()]);
                if wide(chunk) {
                    None
                } else {
                    (0..chunk.0.len())
                        .find(|&i| !history_holds(chunk.0[i], chunk.1[i], chunk.2[i]))
                        .map(|i| rows.start + i)
                }
            })
            .find_first(Option::is_some)
            .flatten();
        if let Some(row) = bad {
            Rft::new(x[row], t_x[row], big_t[row]).map_err(|e| {
                e.amend(|at| {
                    at.with_row(row)
                        .with_column(broken_column(t_x[row], big_t[row]))
                })
            })?;
        }
        Ok(HistoryColumns {
            x,
            t_x,
            big_t,
            unit: None,
        })
    }

    /// Records the time unit of t_x and T: scoring with a model fitted in another unit is
    /// then an error.
    pub fn with_unit(mut self, unit: TimeUnit) -> Self {
        self.unit = Some(unit);
        self
    }

    /// Customers.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// No customers.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Repeat purchases x.
    pub fn x(&self) -> &'a [u32] {
        self.x
    }

    /// Recency t_x.
    pub fn t_x(&self) -> &'a [f64] {
        self.t_x
    }

    /// Age T.
    pub fn big_t(&self) -> &'a [f64] {
        self.big_t
    }

    /// The unit, when recorded.
    pub fn unit(&self) -> Option<TimeUnit> {
        self.unit
    }

    /// Row i as a history (valid by construction).
    pub(crate) fn rft(&self, i: usize) -> Rft {
        Rft::new_unchecked(self.x[i], self.t_x[i], self.big_t[i])
    }

    /// [`Error::UnitMismatch`] when both units are known and differ.
    pub(crate) fn check_unit(&self, model: Option<TimeUnit>) -> Result<()> {
        match (model, self.unit) {
            (Some(m), Some(d)) if m != d => Err(Error::UnitMismatch { model: m, data: d }),
            _ => Ok(()),
        }
    }
}

/// Multiplicative hashing of small keys (x and the bits of T): the std hasher is built to
/// resist adversarial keys, which a table private to one call does not need, and costs
/// several times more per row.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type KeyMap<V> = HashMap<(u32, u64), V, BuildHasherDefault<KeyHasher>>;

/// Ages (T) a chunk numbers directly, and the x below which their keys have a direct slot:
/// real bases have few distinct ages (days since the first purchase) and small x, so most
/// rows find their key number with one probe of a small table and one indexed load.
const DENSE_AGES: usize = 256;
/// See [`DENSE_AGES`].
const DENSE_X: usize = 64;
/// A direct slot not yet given a key number (a chunk has fewer than 2^16 − 1 keys).
const NO_KEY: u16 = u16::MAX;

/// The first [`DENSE_AGES`] distinct ages of a chunk (their bits), numbered in order of
/// first appearance: open addressing with linear probing, twice as many slots as ages.
struct AgeSlots {
    bits: Vec<u64>,
    number: Vec<u16>,
    len: usize,
}

impl AgeSlots {
    /// No age in the table: the bits of a NaN, which a checked T never is.
    const EMPTY: u64 = u64::MAX;
    const SLOTS: usize = 2 * DENSE_AGES;

    fn new() -> Self {
        AgeSlots {
            bits: vec![Self::EMPTY; Self::SLOTS],
            number: vec![0; Self::SLOTS],
            len: 0,
        }
    }

    /// The number of the age with these bits, given one if there is room; `None` once
    /// [`DENSE_AGES`] ages are numbered and this is another.
    fn slot(&mut self, t: u64) -> Option<usize> {
        let mut i = (t.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 55) as usize;
        loop {
            let b = self.bits[i];
            if b == t {
                return Some(self.number[i] as usize);
            }
            if b == Self::EMPTY {
                if self.len == DENSE_AGES {
                    return None;
                }
                self.bits[i] = t;
                self.number[i] = self.len as u16;
                self.len += 1;
                return Some(self.len - 1);
            }
            i = (i + 1) % Self::SLOTS;
        }
    }
}

// The age table's hash keeps the top 9 bits: one per slot.
const _: () = assert!(AgeSlots::SLOTS == 1 << 9);
// Key numbers stay below NO_KEY.
const _: () = assert!(CHUNK < NO_KEY as usize);

/// One chunk's rows numbered by key: each row's number among the chunk's keys, and the
/// chunk's distinct keys (x, bits of T) in order of first appearance.
type ChunkKeys = (Vec<u16>, Vec<(u32, u64)>);

/// The distinct (x, T) of a table's rows, numbered in order of first appearance (so the
/// numbering does not depend on the thread count), and each row's number. Chunks of
/// [`CHUNK`] rows number their own keys in parallel, in a table that stays in cache (a
/// chunk's numbers fit 16 bits); the chunks' keys are then merged in chunk order. A model
/// whose answer for a live customer depends on x and T only computes it once per key
/// ([`XAgeKeys::values`]) and reads it back per row ([`XAgeKeys::chunk`]).
pub(crate) struct XAgeKeys {
    /// Per chunk: each row's number among the chunk's keys, and those keys' global numbers.
    chunks: Vec<(Vec<u16>, Vec<u32>)>,
    /// The distinct keys (x, bits of T) in order of first appearance.
    distinct: Vec<(u32, u64)>,
}

impl XAgeKeys {
    /// The keys of the rows of `h`.
    pub(crate) fn new(h: &HistoryColumns<'_>) -> Self {
        let n = h.len();
        let locals: Vec<ChunkKeys> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let rows = c * CHUNK..((c + 1) * CHUNK).min(n);
                let mut ages = AgeSlots::new();
                let mut dense = vec![NO_KEY; DENSE_AGES * DENSE_X];
                let mut map: KeyMap<u16> = KeyMap::default();
                let mut keys = Vec::new();
                let idx = rows
                    .map(|i| {
                        let key = (h.x[i], h.big_t[i].to_bits());
                        // Small x at one of the chunk's first ages: a direct slot; the rest
                        // (many distinct ages, large x) through the hash table. A key always
                        // takes the same way, so it has one number.
                        let slot = match ages.slot(key.1) {
                            Some(a) if (key.0 as usize) < DENSE_X => {
                                Some(&mut dense[a * DENSE_X + key.0 as usize])
                            }
                            _ => None,
                        };
                        match slot {
                            Some(s) if *s != NO_KEY => *s,
                            Some(s) => {
                                keys.push(key);
                                *s = (keys.len() - 1) as u16;
                                *s
                            }
                            None => *map.entry(key).or_insert_with(|| {
                                keys.push(key);
                                (keys.len() - 1) as u16
                            }),
                        }
                    })
                    .collect();
                (idx, keys)
            })
            .collect();
        let mut global: KeyMap<u32> = KeyMap::default();
        let mut distinct: Vec<(u32, u64)> = Vec::new();
        let chunks = locals
            .into_iter()
            .map(|(idx, keys)| {
                let remap = keys
                    .iter()
                    .map(|k| {
                        *global.entry(*k).or_insert_with(|| {
                            distinct.push(*k);
                            (distinct.len() - 1) as u32
                        })
                    })
                    .collect();
                (idx, remap)
            })
            .collect();
        XAgeKeys { chunks, distinct }
    }

    /// `f(x, T)` for each distinct key, in parallel, in key order.
    pub(crate) fn values<T: Send>(&self, f: impl Fn(u32, f64) -> T + Sync) -> Vec<T> {
        self.distinct
            .par_iter()
            .map(|&(x, t)| f(x, f64::from_bits(t)))
            .collect()
    }

    /// The key numbers of the rows of chunk `c` (rows `c · CHUNK ..`), in row order.
    pub(crate) fn chunk(&self, c: usize) -> impl Iterator<Item = usize> + '_ {
        let (idx, remap) = &self.chunks[c];
        idx.iter().map(move |&l| remap[l as usize] as usize)
    }
}

/// The column, or [`Error::Overflow`] naming its first non-finite row.
pub(crate) fn finite_or_row(quantity: &'static str, values: Vec<f64>) -> Result<Vec<f64>> {
    all_finite(quantity, &values)?;
    Ok(values)
}

/// [`Error::Overflow`] naming the first non-finite value of a column written in place.
pub(crate) fn all_finite(quantity: &'static str, values: &[f64]) -> Result<()> {
    let first = values.par_iter().position_first(|v| !v.is_finite());
    overflow_at(quantity, values, first)
}

/// [`Error::Overflow`] naming `first_bad`, the first non-finite row of `values`, found by the
/// caller (a pass that already reads every value).
pub(crate) fn overflow_at(
    quantity: &'static str,
    values: &[f64],
    first_bad: Option<usize>,
) -> Result<()> {
    match first_bad {
        Some(row) => Err(Error::Overflow {
            at: Position::at_row(row),
            quantity,
            value: values[row],
        }),
        None => Ok(()),
    }
}

/// [`Error::LengthMismatch`] unless a caller's output column has a row per history.
pub(crate) fn check_output(h: &HistoryColumns<'_>, out: &[f64]) -> Result<()> {
    if out.len() == h.len() {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what: "output",
            expected: h.len(),
            got: out.len(),
        })
    }
}
