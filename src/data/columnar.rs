//! Customer summaries straight from columns of keys, dates and amounts, without building a
//! [`TransactionLog`] first.
//!
//! [`TransactionLog::from_columns`] followed by [`TransactionLog::summarise`] copies every row
//! into a customer-grouped, date-sorted log and then reads it again: worth it when the log is
//! kept (several observation ends, netted returns, per-customer access), wasted when only the
//! summaries are wanted. [`CustomerSummaries::from_columns`] gives the same summaries — bit for
//! bit, in the same customer order, with the same errors — in fewer passes over memory:
//!
//! 1. **Validate** the columns exactly as the log does (the same pass and errors), finding the
//!    range of the integer keys on the way. Integer keys become slots by subtracting the
//!    smallest key: direct indexing, no hashing.
//! 2. **Partition** the rows by slot into blocks of at most 4,096 slots. Each unit of 262,144
//!    input rows sorts its own rows by block (a counting sort, 12 bytes a row), so a block's
//!    rows end up in input order in a few contiguous runs. Each thread takes a contiguous
//!    share of the units and, on the way, marks the slots it sees in a bitmap and lists the
//!    first row of each; merged in row order, the lists number the customers by first
//!    appearance, exactly as the log does.
//! 3. **Fold** each block on its own, in a core's cache: its rows stream past once in input
//!    order, each into its customer's open day (a running two-sum) and [`DayFold`] — the fold
//!    the log path uses too. A customer one of whose rows arrives before the day already
//!    open is folded again from its rows, sorted by (date, input row): the log's order.
//! 4. **Write** the summaries in customer order, each from its customer's fold.
//!
//! The partitioned rows and the folds are the call's working memory, about as large as the
//! columns; a [`SummaryWorkspace`] keeps them from one call to the next, with the memory of
//! summaries handed back, so that repeated calls do not make the kernel map and clear it anew.
//!
//! Same-day rows are summed first, from zero, and the day sums then added day by day from the
//! customer's first day: the additions of the log path in the same order, which is what makes
//! the sums bit-identical. Chunks and blocks are fixed by the input and every reduction runs
//! in their order, so the result does not depend on the thread count.
//!
//! Text keys, integer keys spread over a range much wider than the number of customers, dates
//! spread over centuries, and returns netted under [`ReturnPolicy::Net`] take the log path
//! (build, then summarise), which gives the same result by definition.

use std::sync::OnceLock;

use rayon::prelude::*;

use super::date::Date;
use super::grouping::{CHUNK, check_returns_total};
use super::summary::{
    CustomerSummaries, CustomerSummary, DayFold, DaySum, FoldedDays, LateCustomer, SummaryConfig,
    SummaryReport, sums_overflowed,
};
use super::transactions::{CustomerKey, KeyRange, ReturnPolicy, TransactionLog, check_columns};
use crate::error::{Error, Result};
use crate::mem;
use crate::par::{offsets_from_counts, split_by_offsets_mut};

impl CustomerSummaries {
    /// Summarises parallel columns of customer keys (integers or text), dates and amounts at
    /// the configured observation end, without building a [`TransactionLog`].
    ///
    /// The result is exactly that of
    /// `TransactionLog::from_columns(customer_ids, dates, amounts, returns)?.summarise(cfg)`:
    /// the same summaries bit for bit, customers in order of first appearance, the same late
    /// customers and report, and the same error for the same bad input. It is the faster way
    /// when only the summaries are wanted: integer keys (account numbers, database ids) are
    /// grouped by direct indexing rather than hashing, and the rows are never stored sorted,
    /// so it reads and writes far less memory. Build the log instead when it serves more than
    /// one summary (several observation ends, [`PurchaseHistories`](crate::PurchaseHistories),
    /// per-customer rows). Text keys, integer keys spread far wider than the number of
    /// customers, and netted returns take the log path inside, with the same result.
    ///
    /// Input order does not matter. Customers whose rows arrive in date order (a source
    /// system's export sorted by date, for one) are summarised in one streaming pass; only
    /// those whose rows do not are sorted. Runs in parallel; the result does not depend on the
    /// number of threads.
    ///
    /// ```
    /// use custseg::{CustomerSummaries, Date, ReturnPolicy, SummaryConfig, TransactionLog};
    /// let d = |s: &str| s.parse::<Date>().unwrap();
    /// let keys = [17u64, 4, 17, 17, 4];
    /// let dates = [d("2024-01-03"), d("2024-01-02"), d("2024-01-01"), d("2024-02-20"), d("2024-03-01")];
    /// let amounts = [5.0, 7.5, 2.0, 8.0, 3.0];
    /// let cfg = SummaryConfig::new(d("2024-01-31")).with_holdout_end(d("2024-03-31"));
    /// let summaries =
    ///     CustomerSummaries::from_columns(&keys, &dates, &amounts, ReturnPolicy::Error, &cfg)?;
    /// let first = &summaries[0];
    /// assert_eq!(first.customer_id().as_str(), "17");
    /// assert_eq!((first.frequency(), first.total_spend(), first.holdout_frequency()), (1, 7.0, 1));
    /// // The same as building the log first, to the last bit.
    /// let log = TransactionLog::from_columns(&keys, &dates, &amounts, ReturnPolicy::Error)?;
    /// assert_eq!(summaries, log.summarise(&cfg)?);
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`TransactionLog::from_columns`] (length mismatch, the first bad row with its
    /// position, no rows left, a netted return larger than the purchases before it), then
    /// those of [`TransactionLog::summarise`] (an invalid window, a customer whose spend sums
    /// overflow), in that order.
    pub fn from_columns<K: CustomerKey>(
        customer_ids: &[K],
        dates: &[Date],
        amounts: &[f64],
        returns: ReturnPolicy,
        cfg: &SummaryConfig,
    ) -> Result<CustomerSummaries> {
        let mut workspace = SummaryWorkspace::new();
        Self::from_columns_in(customer_ids, dates, amounts, returns, cfg, &mut workspace)
    }

    /// [`CustomerSummaries::from_columns`] with its working memory kept in `workspace` from
    /// one call to the next: the same result, bit for bit, for a service that summarises
    /// again and again (every few minutes, or one shard after another).
    ///
    /// A call with integer keys partitions every row by customer into buffers about as large
    /// as the columns themselves (12 bytes a row and 48 bytes a key in the keys' range), used
    /// once and freed, and writes the summaries (about 100 bytes a customer) into fresh
    /// memory. Fresh memory is not free: the operating system hands it over a page at a time
    /// and clears every page first, which costs about as much as writing the buffers — and
    /// more, and less predictably, when it cannot find huge pages. A workspace keeps the
    /// buffers, already mapped, for the next call, and [`SummaryWorkspace::recycle`] hands it
    /// the memory of summaries no longer needed. It grows to the largest input it has seen
    /// and holds that memory until it is dropped ([`SummaryWorkspace::bytes`] says how much).
    /// Inputs that take the log path (text keys, integer keys spread far wider than the
    /// customers, netted returns, dates spread over centuries) leave it no larger than it
    /// was.
    ///
    /// ```
    /// use custseg::{CustomerSummaries, Date, ReturnPolicy, SummaryConfig, SummaryWorkspace};
    /// let d = |s: &str| s.parse::<Date>().unwrap();
    /// let cfg = SummaryConfig::new(d("2024-03-31"));
    /// let mut workspace = SummaryWorkspace::new();
    /// for day in ["2024-01-05", "2024-02-05"] {
    ///     let (keys, dates, amounts) = ([1u64, 2, 1], [d("2024-01-02"), d(day), d(day)], [3.0, 4.0, 5.0]);
    ///     let again = CustomerSummaries::from_columns_in(
    ///         &keys, &dates, &amounts, ReturnPolicy::Error, &cfg, &mut workspace,
    ///     )?;
    ///     let fresh = CustomerSummaries::from_columns(&keys, &dates, &amounts, ReturnPolicy::Error, &cfg)?;
    ///     assert_eq!(again, fresh);
    /// }
    /// assert!(workspace.bytes() > 0);
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// Those of [`CustomerSummaries::from_columns`].
    pub fn from_columns_in<K: CustomerKey>(
        customer_ids: &[K],
        dates: &[Date],
        amounts: &[f64],
        returns: ReturnPolicy,
        cfg: &SummaryConfig,
        workspace: &mut SummaryWorkspace,
    ) -> Result<CustomerSummaries> {
        let checked = check_columns(customer_ids, dates, amounts, returns, true)?;
        let netting = returns == ReturnPolicy::Net && checked.negatives > 0;
        let dense = checked
            .key_range
            .and_then(|r| Dense::new(r, customer_ids.len()))
            .filter(|_| !netting);
        if let Some(dense) = dense {
            // The log's own checks, in its order: no rows left, then the dropped total.
            if checked.kept_per_chunk.iter().all(|&k| k == 0) {
                return Err(Error::EmptyInput {
                    what: "transactions",
                });
            }
            check_returns_total("dropped", checked.report.amount_dropped)?;
            cfg.validate()?;
            let columns = Columns {
                keys: customer_ids,
                dates,
                amounts,
                drop_returns: checked.drop_returns,
                dense,
            };
            if let Some(summaries) = columns.summarise(&checked.kept_per_chunk, cfg, workspace) {
                return summaries;
            }
        }
        TransactionLog::from_checked_columns(customer_ids, dates, amounts, returns, checked)?
            .summarise(cfg)
    }
}

/// Integer keys mapped to slots `0..range` by subtracting the smallest: direct indexing.
#[derive(Debug, Clone, Copy)]
struct Dense {
    /// `1 << 63` when the keys are read with the top bit flipped (signed keys around zero).
    flip: u64,
    /// The smallest key (as read).
    base: u64,
    /// Number of slots.
    range: usize,
}

impl Dense {
    /// The direct map of a key range, if it is small enough for per-slot bitmaps: at most two
    /// slots per row (plus a little, for tiny inputs), numbered by `u32`.
    fn new(r: KeyRange, rows: usize) -> Option<Dense> {
        let plain = r.max.checked_sub(r.min)?;
        let flipped = r.max_flipped.checked_sub(r.min_flipped)?;
        let (flip, base, span) = if flipped < plain {
            (1u64 << 63, r.min_flipped, flipped)
        } else {
            (0, r.min, plain)
        };
        let range = usize::try_from(span).ok()?.checked_add(1)?;
        let limit = rows.saturating_mul(2).saturating_add(1 << 16);
        (range <= limit && range <= u32::MAX as usize).then_some(Dense { flip, base, range })
    }

    /// The slot of a key.
    #[inline(always)]
    fn slot_of<K: CustomerKey>(&self, key: &K) -> usize {
        // Every key has an exact value (checked with the range), so the fallback is never
        // taken; it maps to slot 0 rather than out of range.
        let v = key.exact_u64().unwrap_or(self.base ^ self.flip);
        ((v ^ self.flip).wrapping_sub(self.base)) as usize
    }
}

/// The working memory of [`CustomerSummaries::from_columns_in`], kept from one call to the
/// next: the rows partitioned by customer and each customer's folded days, and the memory of
/// summaries handed back with [`SummaryWorkspace::recycle`]. Create one with
/// [`SummaryWorkspace::new`] (it holds nothing until its first call) and pass it to every
/// call; drop it to give the memory back.
#[derive(Default)]
pub struct SummaryWorkspace {
    meta: Vec<Meta>,
    amount: Vec<f64>,
    folds: Vec<FoldedDays>,
    /// The largest summaries handed back, overwritten in place by the next call that uses
    /// their memory.
    summaries: Vec<CustomerSummary>,
}

impl SummaryWorkspace {
    /// An empty workspace.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes of memory the workspace holds.
    pub fn bytes(&self) -> usize {
        self.meta.capacity() * size_of::<Meta>()
            + self.amount.capacity() * size_of::<f64>()
            + self.folds.capacity() * size_of::<FoldedDays>()
            + self.summaries.capacity() * size_of::<CustomerSummary>()
    }

    /// Takes back summaries that are no longer needed (an earlier call's, once they have been
    /// scored or stored): the next call writes its summaries into their memory rather than
    /// into fresh memory, which the operating system would clear first — at a million
    /// customers, about a tenth of a call. The memory goes with the summaries that call
    /// returns, so it is used only by a call that needs at least half of it (a much smaller
    /// call gets fresh memory and leaves the recycled memory in the workspace); of several
    /// summaries handed back, the workspace keeps the largest. They are kept as they are,
    /// ids included, until a call overwrites them in place: dropping each old summary where
    /// the new one is written costs nothing extra, where clearing them here would read them
    /// all once more.
    ///
    /// ```
    /// use custseg::{CustomerSummaries, Date, ReturnPolicy, SummaryConfig, SummaryWorkspace};
    /// let d = |s: &str| s.parse::<Date>().unwrap();
    /// let cfg = SummaryConfig::new(d("2024-03-31"));
    /// let (keys, dates, amounts) = ([7u64, 8, 7], [d("2024-01-02"), d("2024-01-09"), d("2024-02-01")], [3.0, 4.0, 5.0]);
    /// let mut workspace = SummaryWorkspace::new();
    /// let mut summaries = CustomerSummaries::from_columns_in(
    ///     &keys, &dates, &amounts, ReturnPolicy::Error, &cfg, &mut workspace,
    /// )?;
    /// for _ in 0..3 {
    ///     // ... score or store `summaries`, then hand them back for the next round.
    ///     workspace.recycle(summaries);
    ///     summaries = CustomerSummaries::from_columns_in(
    ///         &keys, &dates, &amounts, ReturnPolicy::Error, &cfg, &mut workspace,
    ///     )?;
    /// }
    /// assert_eq!(summaries[0].frequency(), 1);
    /// # Ok::<(), custseg::Error>(())
    /// ```
    pub fn recycle(&mut self, summaries: CustomerSummaries) {
        // Kept as they are, not cleared: the next call drops each old summary where it writes
        // the new one, in memory it loads anyway, where clearing them now would read all of
        // it once more (a twentieth of a call at a million customers).
        let v = summaries.into_vec();
        if v.capacity() > self.summaries.capacity() {
            self.summaries = v;
        }
    }

    /// Room for `rows` partitioned rows: the buffers of an earlier call when they are large
    /// enough (their old contents are overwritten, never read: the partition writes every
    /// row's place once), otherwise fresh ones.
    fn rows(&mut self, rows: usize) -> (&mut [Meta], &mut [f64]) {
        mem::grow_zeros(&mut self.meta, rows);
        mem::grow_zeros(&mut self.amount, rows);
        (&mut self.meta[..rows], &mut self.amount[..rows])
    }
}

/// Sizes, not contents: the buffers hold millions of numbers.
impl std::fmt::Debug for SummaryWorkspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SummaryWorkspace")
            .field("rows", &self.meta.len())
            .field("key_slots", &self.folds.capacity())
            .field("recycled_summaries", &self.summaries.capacity())
            .field("bytes", &self.bytes())
            .finish()
    }
}

/// Rows per unit of the partitioning: a multiple of the validation chunk.
const UNIT: usize = 4 * CHUNK;

/// Slots per customer above which the per-slot folds cost more memory than the log path.
const MAX_SLOTS_PER_CUSTOMER: usize = 4;

/// The validated columns with dense integer keys.
struct Columns<'a, K> {
    keys: &'a [K],
    dates: &'a [Date],
    amounts: &'a [f64],
    drop_returns: bool,
    dense: Dense,
}

/// Where the rows of one chunk landed: sorted by block, with the offsets of each block's run,
/// and the chunk's earliest date, from which the rows count their dates.
struct ChunkRuns {
    offsets: Vec<u32>,
    date_base: i32,
    /// Whether every date of the chunk fits the bits a row has for it.
    dates_fit: bool,
}

/// The slots one share of the rows saw, and the first row of each, in row order (and the
/// share's scratch space for a unit's slots).
struct Sightings {
    seen: Vec<u64>,
    firsts: Vec<(u32, u32)>,
    slots: Vec<u32>,
}

/// A unit's number and the places its partitioned rows go.
type UnitRows<'m> = (usize, &'m mut [Meta], &'m mut [f64]);

/// A partitioned row: its slot within the block in the high `shift` bits, its date as days
/// after its chunk's earliest date in the others. The amount is stored alongside.
type Meta = u32;

impl<K: CustomerKey> Columns<'_, K> {
    #[inline(always)]
    fn kept(&self, row: usize) -> bool {
        !self.drop_returns || self.amounts[row] >= 0.0
    }

    /// Customers in order of first appearance, as (slot, first row), from the sightings of
    /// consecutive shares of the rows: a share's first rows are new unless an earlier share
    /// saw the slot. Each share's list is filtered by the union of the earlier shares' bitmaps,
    /// all in parallel; the result is the log's numbering whatever the number of shares.
    fn merge_sightings(shares: Vec<Sightings>) -> Vec<(u32, u32)> {
        let mut before: Vec<Vec<u64>> = Vec::with_capacity(shares.len());
        for (s, share) in shares
            .iter()
            .enumerate()
            .take(shares.len().saturating_sub(1))
        {
            let union = if s == 0 {
                share.seen.clone()
            } else {
                before[s - 1]
                    .iter()
                    .zip(&share.seen)
                    .map(|(a, b)| a | b)
                    .collect()
            };
            before.push(union);
        }
        let mut shares = shares.into_iter().map(|sh| sh.firsts);
        let Some(mut customers) = shares.next() else {
            return Vec::new();
        };
        let later: Vec<Vec<(u32, u32)>> = shares
            .zip(&before)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|(firsts, seen)| {
                firsts
                    .into_iter()
                    .filter(|&(k, _)| (seen[k as usize / 64] >> (k % 64)) & 1 == 0)
                    .collect()
            })
            .collect();
        for l in later {
            customers.extend(l);
        }
        customers
    }

    /// Sorts one chunk's kept rows by block into `meta` and `amount`, input order within a
    /// block: a count of each block's rows, then a copy of each row to its block's run. The
    /// counting pass also records, in `sightings`, the slots this share of the rows sees for
    /// the first time.
    #[allow(clippy::too_many_arguments)]
    fn scatter_chunk(
        &self,
        chunk: usize,
        meta: &mut [Meta],
        amount: &mut [f64],
        shift: u32,
        blocks: usize,
        sightings: &mut Sightings,
    ) -> ChunkRuns {
        let lo = chunk * UNIT;
        let hi = (lo + UNIT).min(self.keys.len());
        // The unit's dates span (dropped rows included: a wider span is still a valid base).
        let (first, last) = self.dates[lo..hi]
            .iter()
            .fold((i32::MAX, i32::MIN), |(a, b), d| {
                let day = d.days_since_epoch();
                (a.min(day), b.max(day))
            });
        let date_bits = 32 - shift;
        let dates_fit = first > last || ((last as i64 - first as i64) >> date_bits) == 0;
        // Each kept row's slot, once; the count of each block's rows; the slots seen first.
        // The loops work on plain slices: through `&mut Vec` the compiler reloads each
        // vector's pointer and length after every store (a store might have changed them).
        sightings.slots.clear();
        sightings.slots.resize(hi - lo, 0);
        let slots = &mut sightings.slots[..];
        let mut kept = 0;
        let mut offsets = vec![0u32; blocks + 1];
        let counts = &mut offsets[..];
        let seen = &mut sightings.seen[..];
        for (row, key) in (lo..hi).zip(&self.keys[lo..hi]) {
            if !self.kept(row) {
                continue;
            }
            let k = self.dense.slot_of(key);
            slots[kept] = k as u32;
            kept += 1;
            counts[(k >> shift) + 1] += 1;
            let (w, bit) = (k / 64, 1u64 << (k % 64));
            if seen[w] & bit == 0 {
                seen[w] |= bit;
                sightings.firsts.push((k as u32, row as u32));
            }
        }
        for b in 1..=blocks {
            offsets[b] += offsets[b - 1];
        }
        if dates_fit {
            let mut next = offsets[..blocks].to_vec();
            let next = &mut next[..];
            let local = (1u32 << shift) - 1;
            // Each kept row to the end of its block's run. Every row kept (no returns dropped:
            // the common case) walks the three columns in step, which the compiler keeps in
            // registers; otherwise the kept rows are picked out first.
            let mut put = |k: u32, date: &Date, a: f64| {
                let at = &mut next[(k >> shift) as usize];
                let days = date.days_since_epoch().wrapping_sub(first) as u32;
                let i = *at as usize;
                meta[i] = ((k & local) << date_bits) | days;
                amount[i] = a;
                *at += 1;
            };
            let (dates, amounts) = (&self.dates[lo..hi], &self.amounts[lo..hi]);
            if kept == hi - lo {
                for ((&k, date), &a) in slots.iter().zip(dates).zip(amounts) {
                    put(k, date, a);
                }
            } else {
                let rows = (0..hi - lo).filter(|&j| self.kept(lo + j));
                for (j, &k) in rows.zip(&slots[..kept]) {
                    put(k, &dates[j], amounts[j]);
                }
            }
        }
        ChunkRuns {
            offsets,
            date_base: first,
            dates_fit,
        }
    }

    /// The summaries, or `None` when this path does not fit the data (keys too sparse among
    /// the customers, dates spread over more than a row can store).
    fn summarise(
        &self,
        kept_per_chunk: &[usize],
        cfg: &SummaryConfig,
        workspace: &mut SummaryWorkspace,
    ) -> Option<Result<CustomerSummaries>> {
        let range = self.dense.range;
        let shift = block_shift(range);
        let blocks = range.div_ceil(1 << shift);
        // Units of several validation chunks: a block's rows then come in fewer, longer runs.
        let kept_per_unit: Vec<usize> = kept_per_chunk
            .chunks(UNIT / CHUNK)
            .map(|c| c.iter().sum())
            .collect();
        let chunk_lo = offsets_from_counts(kept_per_unit.iter().copied());
        let kept = chunk_lo.last().copied().unwrap_or(0);
        // Written once by the partitioning threads: fresh buffers are mapped in huge pages,
        // which spares most of their page faults.
        let grown = workspace.meta.len() < kept;
        let (meta, amount) = workspace.rows(kept);
        // Consecutive shares of the chunks, one per thread: each numbers the customers it sees
        // first in its own bitmap while it partitions its chunks.
        let chunks = kept_per_unit.len();
        let shares = rayon::current_num_threads().clamp(1, chunks.max(1));
        let mut parts: Vec<Vec<UnitRows<'_>>> = (0..shares).map(|_| Vec::new()).collect();
        let pieces = split_by_offsets_mut(meta, &chunk_lo)
            .into_iter()
            .zip(split_by_offsets_mut(amount, &chunk_lo));
        for (c, (m, a)) in pieces.enumerate() {
            parts[c * shares / chunks.max(1)].push((c, m, a));
        }
        let words = range.div_ceil(64);
        let scattered: Vec<(Sightings, Vec<ChunkRuns>)> = parts
            .into_par_iter()
            .map(|part| {
                let mut sightings = Sightings {
                    seen: vec![0; words],
                    firsts: Vec::new(),
                    slots: Vec::with_capacity(UNIT),
                };
                let runs = part
                    .into_iter()
                    .map(|(c, m, a)| self.scatter_chunk(c, m, a, shift, blocks, &mut sightings))
                    .collect::<Vec<_>>();
                (sightings, runs)
            })
            .collect();
        let (sightings, runs): (Vec<Sightings>, Vec<Vec<ChunkRuns>>) =
            scattered.into_iter().unzip();
        let runs: Vec<ChunkRuns> = runs.into_iter().flatten().collect();
        let customers = Self::merge_sightings(sightings);
        if !runs.iter().all(|r| r.dates_fit)
            || range > customers.len() * MAX_SLOTS_PER_CUSTOMER + (1 << 16)
        {
            // The log path takes over: buffers this call grew for nothing are not held
            // through it (nor kept in the workspace).
            if grown {
                (workspace.meta, workspace.amount) = (Vec::new(), Vec::new());
            }
            return None;
        }
        let SummaryWorkspace {
            meta,
            amount,
            folds,
            summaries,
        } = workspace;
        let rows = Partitioned {
            cfg,
            shift,
            range,
            meta: &meta[..kept],
            amount: &amount[..kept],
            chunk_lo,
            runs,
            stats: (0..blocks).map(|_| OnceLock::new()).collect(),
        };
        Some(self.write(&customers, rows, folds, summaries))
    }

    /// Folds every slot and writes the summaries in customer order.
    fn write(
        &self,
        customers: &[(u32, u32)],
        rows: Partitioned<'_, '_>,
        folds: &mut Vec<FoldedDays>,
        recycled: &mut Vec<CustomerSummary>,
    ) -> Result<CustomerSummaries> {
        let cfg = rows.cfg;
        // One fold per slot, written straight into place (into the workspace's buffer when it
        // is large enough: `collect_into_vec` keeps a vector's memory); a run of slots that
        // starts inside a block folds that whole block (its counts are kept once).
        mem::reserve_fresh(folds, rows.range);
        (0..rows.range)
            .into_par_iter()
            .with_min_len(1 << rows.shift)
            .map_init(|| Cursor::new(&rows), |cur, slot| cur.fold_at(slot))
            .collect_into_vec(folds);
        let folds = &folds[..];
        let mut report = SummaryReport::default();
        let mut late_slots: Vec<u64> = Vec::with_capacity(rows.range.div_ceil(64));
        let mut overflowed = false;
        for st in rows.stats {
            let st = st.into_inner().unwrap_or_default();
            report.calibration_purchases += st.calibration_purchases;
            report.holdout_purchases += st.holdout_purchases;
            report.purchases_after_window += st.purchases_after_window;
            late_slots.extend(st.late);
            overflowed |= st.overflowed;
        }
        let is_late = |slot: u32| (late_slots[slot as usize / 64] >> (slot % 64)) & 1 == 1;
        let any_late = late_slots.iter().any(|&w| w != 0);
        let on_time: Vec<(u32, u32)>;
        let order = if any_late {
            on_time = customers
                .par_iter()
                .filter(|c| !is_late(c.0))
                .copied()
                .collect();
            &on_time[..]
        } else {
            customers
        };
        // Into recycled summaries' memory when there is enough of it and not more than twice
        // enough (the result keeps it), otherwise into fresh memory; recycled memory too small
        // for this call is let go first. Recycled summaries are overwritten in place, each
        // old one dropped where the new one is written, and the vector extended past them.
        let n = order.len();
        let mut summaries = if recycled.capacity() <= n.saturating_mul(2) {
            std::mem::take(recycled)
        } else {
            Vec::new()
        };
        if summaries.capacity() < n {
            mem::reserve_fresh(&mut summaries, n);
        }
        summaries.truncate(n);
        let summary = |g: &mut Gather<'_>, i: usize| {
            g.fold(i)
                .summary(self.keys[order[i].1 as usize].to_customer_id(), cfg)
        };
        let old = summaries.len();
        summaries
            .par_iter_mut()
            .enumerate()
            .for_each_init(|| Gather::new(order, folds), |g, (i, s)| *s = summary(g, i));
        summaries.par_extend(
            (old..n)
                .into_par_iter()
                .map_init(|| Gather::new(order, folds), |g, i| summary(g, i)),
        );
        let late: Vec<LateCustomer> = if any_late {
            customers
                .iter()
                .filter(|c| is_late(c.0))
                .map(|&(slot, row)| LateCustomer {
                    customer_id: self.keys[row as usize].to_customer_id(),
                    first_purchase: folds[slot as usize].first_date(),
                })
                .collect()
        } else {
            Vec::new()
        };
        report.customers = summaries.len();
        report.late_customers = late.len();
        if overflowed && let Some(bad) = summaries.par_iter().find_first(|s| sums_overflowed(s)) {
            bad.validate()?;
        }
        Ok(CustomerSummaries::from_parts(*cfg, summaries, late, report))
    }
}

/// The folds of customers in output order, fetched a batch at a time: the folds sit in slot
/// order, so each is a cache miss, and a tight loop of independent loads overlaps the misses
/// that one summary at a time would wait for in turn.
struct Gather<'a> {
    order: &'a [(u32, u32)],
    folds: &'a [FoldedDays],
    start: usize,
    batch: Vec<FoldedDays>,
}

impl<'a> Gather<'a> {
    const BATCH: usize = 64;

    fn new(order: &'a [(u32, u32)], folds: &'a [FoldedDays]) -> Self {
        Gather {
            order,
            folds,
            start: 0,
            batch: Vec::with_capacity(Self::BATCH),
        }
    }

    /// The fold of the customer at output position `i`.
    #[inline]
    fn fold(&mut self, i: usize) -> &FoldedDays {
        if i < self.start || i >= self.start + self.batch.len() {
            self.start = i;
            self.batch.clear();
            let end = (i + Self::BATCH).min(self.order.len());
            let folds = self.folds;
            self.batch.extend(
                self.order[i..end]
                    .iter()
                    .map(|&(slot, _)| folds[slot as usize]),
            );
        }
        &self.batch[i - self.start]
    }
}

/// log2 of the slots per block: at most 4,096 (a block's running state then stays in a
/// core's cache), at least 64, and at most 4,096 blocks.
fn block_shift(range: usize) -> u32 {
    let wanted = (range / 64).clamp(64, 4096).next_power_of_two();
    let needed = range.div_ceil(4096).next_power_of_two();
    wanted.max(needed).trailing_zeros()
}

/// The counts of one block's customers for the report, and which of them are late.
#[derive(Default)]
struct BlockStats {
    calibration_purchases: usize,
    holdout_purchases: usize,
    purchases_after_window: usize,
    /// Bitmap over the block's slots: customers with no purchase by the observation end.
    late: Vec<u64>,
    overflowed: bool,
}

/// Every kept row, partitioned by block of slots.
struct Partitioned<'c, 'w> {
    cfg: &'c SummaryConfig,
    shift: u32,
    range: usize,
    /// Each row's slot within its block and date (see [`Meta`]), and its amount, chunk after
    /// chunk, each chunk's rows sorted by block.
    meta: &'w [Meta],
    amount: &'w [f64],
    chunk_lo: Vec<usize>,
    runs: Vec<ChunkRuns>,
    stats: Vec<OnceLock<BlockStats>>,
}

impl Partitioned<'_, '_> {
    /// Calls `f(slot in block, date, amount)` on each row of block `b`, in input order.
    #[inline(always)]
    fn for_each_row(&self, b: usize, mut f: impl FnMut(usize, Date, f64)) {
        let date_bits = 32 - self.shift;
        let date_mask = (1u32 << date_bits) - 1;
        for (r, &lo) in self.runs.iter().zip(&self.chunk_lo) {
            let run = lo + r.offsets[b] as usize..lo + r.offsets[b + 1] as usize;
            for (&m, &a) in self.meta[run.clone()].iter().zip(&self.amount[run]) {
                // An offset from the chunk's earliest date: one of the chunk's dates.
                let date = Date::from_epoch_days(r.date_base.wrapping_add((m & date_mask) as i32));
                f((m >> date_bits) as usize, date, a);
            }
        }
    }
}

/// A worker's view of one block at a time: the block's rows grouped by slot, and each
/// slot's folded days, reused from block to block (all of it fits a core's cache).
struct Cursor<'r, 'c> {
    rows: &'r Partitioned<'c, 'r>,
    block: Option<usize>,
    /// Each slot's state while the block's rows stream past.
    streams: Vec<Stream>,
    folds: Vec<FoldedDays>,
    /// The rows of the block's unsorted slots: (slot in block, date, amount).
    unsorted: Vec<(u32, Date, f64)>,
}

impl<'r, 'c> Cursor<'r, 'c> {
    fn new(rows: &'r Partitioned<'c, 'r>) -> Self {
        Cursor {
            rows,
            block: None,
            streams: Vec::new(),
            folds: Vec::new(),
            unsorted: Vec::new(),
        }
    }

    /// The folded days of slot `slot`.
    #[inline]
    fn fold_at(&mut self, slot: usize) -> FoldedDays {
        let b = slot >> self.rows.shift;
        if self.block != Some(b) {
            self.fold_block(b);
        }
        self.folds[slot - (b << self.rows.shift)]
    }

    /// Folds every slot of block `b` and records the block's counts. The block's rows stream
    /// past once, in input order, each into its slot's [`Stream`]: a row of the open day is
    /// added to its two-sum, a later day closes the open one into the slot's [`DayFold`].
    /// Customers whose rows arrive in date order (a date-ordered export: all of them) are
    /// folded in that one pass; a slot that meets a row earlier than its open day is redone
    /// from its rows, sorted by (date, input row) — the log's order.
    fn fold_block(&mut self, b: usize) {
        let rows = self.rows;
        let cfg = rows.cfg;
        let count = (rows.range - (b << rows.shift)).min(1 << rows.shift);
        self.streams.clear();
        self.streams.resize(count, Stream::EMPTY);
        // A plain slice in the row loop: through `&mut Vec` the compiler reloads the vector's
        // pointer and length after every store (a store might have changed them).
        let streams = &mut self.streams[..];
        let mut any_unsorted = false;
        rows.for_each_row(b, |i, date, amount| {
            any_unsorted |= streams[i].add(date, amount, cfg);
        });
        if any_unsorted {
            self.redo_unsorted(b);
        }
        let obs = cfg.observation_end;
        let mut st = BlockStats {
            late: vec![0; count.div_ceil(64)],
            ..BlockStats::default()
        };
        self.folds.clear();
        for (i, &s) in self.streams.iter().enumerate() {
            let Some(fold) = s.finish(cfg) else {
                self.folds.push(FoldedDays::EMPTY);
                continue;
            };
            st.purchases_after_window += fold.after_window_periods() as usize;
            st.holdout_purchases += fold.holdout_periods() as usize;
            if fold.first_date() > obs {
                st.late[i / 64] |= 1 << (i % 64);
            } else {
                st.calibration_purchases += fold.calibration_periods() as usize;
                st.overflowed |= fold.sums_overflowed();
            }
            self.folds.push(fold.folded());
        }
        self.block = Some(b);
        rows.stats[b].get_or_init(|| st);
    }

    /// Folds again, from their rows, the slots of block `b` that met a row out of date order:
    /// their rows gathered in input order, sorted stably by (slot, date) — the log's order
    /// within a customer — and streamed into a fresh [`Stream`] each.
    fn redo_unsorted(&mut self, b: usize) {
        let cfg = self.rows.cfg;
        let streams = &self.streams;
        let unsorted = &mut self.unsorted;
        unsorted.clear();
        self.rows.for_each_row(b, |i, date, amount| {
            if streams[i].phase == Phase::Unsorted {
                unsorted.push((i as u32, date, amount));
            }
        });
        unsorted.sort_by_key(|r| (r.0, r.1));
        for run in unsorted.chunk_by(|x, y| x.0 == y.0) {
            let mut s = Stream::EMPTY;
            for &(_, date, amount) in run {
                // In date order now: never out of order again.
                s.add(date, amount, cfg);
            }
            self.streams[run[0].0 as usize] = s;
        }
    }
}

/// Where a slot stands while its block's rows stream past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No row yet.
    Empty,
    /// The first day open, nothing folded yet.
    First,
    /// A day open, the days before it folded.
    Open,
    /// A row came before the open day: the slot is folded again from its rows.
    Unsorted,
}

/// A slot's state while its block's rows stream past: the day still open, summed as
/// [`day_sums_of_rows`](super::summary::day_sums_of_rows) sums a day, and the fold of the
/// days closed before it.
#[derive(Debug, Clone, Copy)]
struct Stream {
    fold: DayFold,
    day: DaySum,
    phase: Phase,
}

impl Stream {
    const EMPTY: Stream = Stream {
        fold: DayFold::EMPTY,
        day: DaySum::first(Date::MIN, 0.0),
        phase: Phase::Empty,
    };

    /// Takes the slot's next row in input order; `true` when it comes before the open day
    /// (the slot is then marked to be redone, and its later rows are ignored).
    #[inline(always)]
    fn add(&mut self, date: Date, amount: f64, cfg: &SummaryConfig) -> bool {
        match self.phase {
            Phase::Empty => {
                self.day = DaySum::first(date, amount);
                self.phase = Phase::First;
            }
            Phase::Unsorted => {}
            _ if date == self.day.date => self.day.add(amount),
            _ if date > self.day.date => {
                self.close_day(cfg);
                self.day = DaySum::first(date, amount);
            }
            _ => {
                self.phase = Phase::Unsorted;
                return true;
            }
        }
        false
    }

    /// Folds the open day.
    #[inline(always)]
    fn close_day(&mut self, cfg: &SummaryConfig) {
        if self.phase == Phase::First {
            self.fold = DayFold::first_day(self.day.day(), cfg);
            self.phase = Phase::Open;
        } else {
            self.fold.push(self.day.day(), cfg);
        }
    }

    /// The slot's fold with its open day closed; `None` for a slot without rows.
    fn finish(mut self, cfg: &SummaryConfig) -> Option<DayFold> {
        match self.phase {
            Phase::First | Phase::Open => {
                self.close_day(cfg);
                Some(self.fold)
            }
            Phase::Empty | Phase::Unsorted => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Summaries handed back are overwritten in place by a call that fits their memory: each
    /// old summary is dropped where the new one is written (shared text ids let go), the ones
    /// past the call's customers are dropped, the vector is extended past the old ones, and
    /// every result is a fresh call's.
    #[test]
    fn recycled_summaries_are_dropped_where_they_are_overwritten() {
        let cfg = SummaryConfig::new(Date::from_epoch_days(19_400));
        // `n` customers with two purchases each, keys made by `key`.
        fn rows<K>(n: usize, key: impl Fn(usize) -> K) -> (Vec<K>, Vec<Date>, Vec<f64>) {
            let keys = (0..2 * n).map(|r| key(r % n)).collect();
            let dates = (0..2 * n)
                .map(|r| Date::from_epoch_days(19_000 + r as i32 / 7))
                .collect();
            let amounts = (0..2 * n).map(|r| (r % 13) as f64 + 0.25).collect();
            (keys, dates, amounts)
        }
        let text = rows(1_000, |c| {
            format!("an-account-code-too-long-to-inline-{c:05}")
        });
        let texts =
            CustomerSummaries::from_columns(&text.0, &text.1, &text.2, ReturnPolicy::Error, &cfg)
                .unwrap();
        let (first, last) = (
            texts[0].customer_id().clone(),
            texts[999].customer_id().clone(),
        );
        assert_eq!((first.shared_by(), last.shared_by()), (Some(2), Some(2)));
        let at = texts.as_ptr();
        let mut workspace = SummaryWorkspace::new();
        workspace.recycle(texts);
        assert_eq!(first.shared_by(), Some(2), "held by the workspace");
        let mut previous = None;
        // Fewer customers than recycled (overwritten, the rest dropped), then more than the
        // result left behind but within its memory (overwritten, then extended).
        for n in [600, 900] {
            if let Some(p) = previous.take() {
                workspace.recycle(p);
            }
            let (keys, dates, amounts) = rows(n, |c| c as u64 * 3);
            let again = CustomerSummaries::from_columns_in(
                &keys,
                &dates,
                &amounts,
                ReturnPolicy::Error,
                &cfg,
                &mut workspace,
            )
            .unwrap();
            let fresh =
                CustomerSummaries::from_columns(&keys, &dates, &amounts, ReturnPolicy::Error, &cfg)
                    .unwrap();
            assert_eq!(again, fresh, "{n} customers");
            assert_eq!(again.len(), n);
            assert_eq!(
                again.as_ptr(),
                at,
                "{n} customers: written into the recycled memory"
            );
            previous = Some(again);
        }
        assert_eq!((first.shared_by(), last.shared_by()), (Some(1), Some(1)));
    }
}
