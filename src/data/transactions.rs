//! Transactions in: validated, customer-grouped and date-sorted.

use std::collections::HashMap;
use std::hash::Hash;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::customer_id::CustomerId;
use super::date::Date;
use super::grouping::{CHUNK, assemble, group_by_codes, group_by_keys};
use crate::error::{Error, Position, Result};
use crate::simd::{Kernel, wide};

/// One purchase (or, with a negative amount, one return) as it comes from a source system.
///
/// The id type is generic so rows can borrow their ids (`Transaction<&str>`) and avoid one
/// allocation per row; the log interns them either way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction<S = String> {
    /// The customer who bought.
    pub customer_id: S,
    /// The day of the purchase.
    pub date: Date,
    /// Money spent; negative for a return (see [`ReturnPolicy`]), zero allowed (free orders).
    pub amount: f64,
    /// Number of items, where the source has it.
    pub quantity: Option<u32>,
}

/// What to do with negative amounts (returns, refunds).
///
/// The default is [`ReturnPolicy::Error`]: a negative amount is more often a data problem than
/// a business event, so the caller must opt in to accepting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ReturnPolicy {
    /// Reject the log with [`Error::NegativeAmount`] naming the first negative row.
    #[default]
    Error,
    /// Leave returns out and count them (and their total) in the [`LogReport`].
    Drop,
    /// Treat a return as a correction of earlier spend by the same customer: it reduces the
    /// customer's latest purchase on or before its date, carrying any excess back to earlier
    /// purchases, and is not itself a purchase. A purchase reduced to zero remains a purchase
    /// (the visit happened). A return larger than everything bought up to its date is an
    /// [`Error::ReturnExceedsPurchases`]. Netting happens when a log is built, so for
    /// partitioned processing partition by customer, not by row, when the data has returns.
    /// Returned quantities are not netted.
    Net,
}

/// What happened to the rows while a log was built; nothing is dropped without a count here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogReport {
    /// Rows offered to the builder (accepted, dropped or netted).
    pub rows_read: usize,
    /// Purchase rows stored in the log.
    pub rows_kept: usize,
    /// Rows with an amount of exactly zero (kept: they are purchases).
    pub zero_amounts: usize,
    /// Returns left out under [`ReturnPolicy::Drop`].
    pub returns_dropped: usize,
    /// Sum of the amounts left out under [`ReturnPolicy::Drop`] (negative).
    pub amount_dropped: f64,
    /// Returns netted against earlier purchases under [`ReturnPolicy::Net`].
    pub returns_netted: usize,
    /// Sum of the netted returns (negative).
    pub amount_netted: f64,
}

/// A validated transaction log: every customer's purchases, sorted by date.
///
/// Build it with [`TransactionLog::builder`] (row by row), [`TransactionLog::from_transactions`]
/// (any iterator of [`Transaction`]) or [`TransactionLog::from_columns`] (parallel slices).
/// Input order does not matter. Customers are numbered densely in the order they first appear,
/// and their rows are stored contiguously and sorted by date (same-day rows keep their input
/// order), which lets every later stage work on customers in parallel.
///
/// ```
/// use custseg::{Date, ReturnPolicy, TransactionLog};
/// let d = |s: &str| s.parse::<Date>().unwrap();
/// let mut b = TransactionLog::builder().return_policy(ReturnPolicy::Net);
/// b.push("ann", d("2024-03-02"), 30.0)?;
/// b.push("bob", d("2024-01-15"), 12.5)?;
/// b.push("ann", d("2024-01-10"), 20.0)?;
/// b.push("ann", d("2024-03-05"), -10.0)?; // returns part of the 2 March purchase
/// let log = b.build()?;
/// assert_eq!(log.customers(), 2);
/// let ann = log.customer(0).unwrap();
/// assert_eq!(ann.customer_id.as_str(), "ann");
/// assert_eq!(ann.amounts, &[20.0, 20.0]);
/// assert_eq!(log.report().returns_netted, 1);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct TransactionLog {
    ids: Vec<CustomerId>,
    offsets: Vec<usize>,
    dates: Vec<Date>,
    amounts: Vec<f64>,
    quantities: Option<Vec<Option<u32>>>,
    report: LogReport,
}

/// One customer's rows in a [`TransactionLog`], sorted by date.
#[derive(Debug, Clone, Copy)]
pub struct CustomerTransactions<'a> {
    /// The customer.
    pub customer_id: &'a CustomerId,
    /// Purchase dates, ascending.
    pub dates: &'a [Date],
    /// Amounts, aligned with `dates`.
    pub amounts: &'a [f64],
    /// Quantities, aligned with `dates`, when any row of the log had one.
    pub quantities: Option<&'a [Option<u32>]>,
}

impl TransactionLog {
    /// A builder that takes rows one at a time.
    pub fn builder() -> TransactionLogBuilder {
        TransactionLogBuilder::default()
    }

    /// Builds a log from any iterator of transactions.
    ///
    /// # Errors
    /// The first row that fails validation (see [`TransactionLogBuilder::push`]) and the errors
    /// of [`TransactionLogBuilder::build`].
    pub fn from_transactions<I, S>(rows: I, returns: ReturnPolicy) -> Result<TransactionLog>
    where
        I: IntoIterator<Item = Transaction<S>>,
        S: AsRef<str>,
    {
        let mut b = TransactionLog::builder().return_policy(returns);
        for t in rows {
            b.push_row(t.customer_id.as_ref(), t.date, t.amount, t.quantity)?;
        }
        b.build()
    }

    /// Number of purchase rows.
    pub fn len(&self) -> usize {
        self.dates.len()
    }

    /// Always `false`: building an empty log is an error.
    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }

    /// Number of distinct customers.
    pub fn customers(&self) -> usize {
        self.ids.len()
    }

    /// Customer ids in order of first appearance.
    pub fn customer_ids(&self) -> &[CustomerId] {
        &self.ids
    }

    /// The rows of the customer with dense index `index`, if it exists.
    pub fn customer(&self, index: usize) -> Option<CustomerTransactions<'_>> {
        (index < self.ids.len()).then(|| self.customer_at(index))
    }

    fn customer_at(&self, index: usize) -> CustomerTransactions<'_> {
        let (lo, hi) = (self.offsets[index], self.offsets[index + 1]);
        CustomerTransactions {
            customer_id: &self.ids[index],
            dates: &self.dates[lo..hi],
            amounts: &self.amounts[lo..hi],
            quantities: self.quantities.as_ref().map(|q| &q[lo..hi]),
        }
    }

    /// Every customer's rows, in index order.
    pub fn iter_customers(&self) -> impl ExactSizeIterator<Item = CustomerTransactions<'_>> + '_ {
        (0..self.ids.len()).map(|i| self.customer_at(i))
    }

    /// Earliest purchase date in the log.
    pub fn first_date(&self) -> Date {
        // Each customer's first row is their earliest; a log always has a customer.
        self.offsets[..self.ids.len()]
            .iter()
            .map(|&o| self.dates[o])
            .min()
            .unwrap_or(Date::MIN)
    }

    /// Latest purchase date in the log.
    pub fn last_date(&self) -> Date {
        self.offsets[1..]
            .iter()
            .map(|&o| self.dates[o - 1])
            .max()
            .unwrap_or(Date::MAX)
    }

    /// Sum of all amounts in the log (after netting).
    pub fn total_amount(&self) -> f64 {
        self.amounts.iter().sum()
    }

    /// What happened to the rows while the log was built.
    pub fn report(&self) -> &LogReport {
        &self.report
    }

    /// A log from parts already validated, grouped by customer (every customer with a row) and
    /// sorted by date: the last step of every way to build a log.
    pub(crate) fn from_grouped_parts(
        ids: Vec<CustomerId>,
        offsets: Vec<usize>,
        dates: Vec<Date>,
        amounts: Vec<f64>,
        quantities: Option<Vec<Option<u32>>>,
        report: LogReport,
    ) -> TransactionLog {
        debug_assert_eq!(offsets.len(), ids.len() + 1);
        debug_assert!(amounts.iter().all(|a| a.is_finite() && *a >= 0.0));
        debug_assert!(
            offsets
                .windows(2)
                .all(|w| w[0] < w[1] && dates[w[0]..w[1]].is_sorted())
        );
        TransactionLog {
            ids,
            offsets,
            dates,
            amounts,
            quantities,
            report,
        }
    }

    pub(crate) fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    pub(crate) fn dates(&self) -> &[Date] {
        &self.dates
    }

    pub(crate) fn amounts(&self) -> &[f64] {
        &self.amounts
    }
}

/// A type usable as a customer key in [`TransactionLog::from_columns`]: text or an integer.
///
/// Keys are hashed while the log is built and converted to a [`CustomerId`] once per distinct
/// customer, so integer keys never allocate per row.
pub trait CustomerKey: Hash + Eq + Sync {
    /// The key as a customer id.
    fn to_customer_id(&self) -> CustomerId;
    /// Whether the key is empty text (rejected: an empty id names nobody).
    fn is_empty_key(&self) -> bool {
        false
    }
    /// The key as a `u64` that is distinct for distinct keys of this type, where one exists
    /// (integers). It lets the log group rows by a plain integer instead of hashing and
    /// comparing keys.
    fn exact_u64(&self) -> Option<u64> {
        None
    }
}

macro_rules! int_key {
    ($($t:ty),*) => {$(
        impl CustomerKey for $t {
            fn to_customer_id(&self) -> CustomerId {
                #[allow(irrefutable_let_patterns, clippy::unnecessary_fallible_conversions)]
                if let Ok(n) = u64::try_from(*self) {
                    CustomerId::from(n)
                } else {
                    CustomerId::from(self.to_string())
                }
            }
            fn exact_u64(&self) -> Option<u64> {
                // A sign-extending cast is injective within one integer type.
                Some(*self as u64)
            }
        }
    )*};
}
int_key!(u32, u64, i32, i64, usize);

impl CustomerKey for str {
    fn to_customer_id(&self) -> CustomerId {
        CustomerId::from(self)
    }
    fn is_empty_key(&self) -> bool {
        self.is_empty()
    }
}

impl CustomerKey for String {
    fn to_customer_id(&self) -> CustomerId {
        CustomerId::from(self.as_str())
    }
    fn is_empty_key(&self) -> bool {
        self.is_empty()
    }
}

impl CustomerKey for CustomerId {
    fn to_customer_id(&self) -> CustomerId {
        self.clone()
    }
    fn is_empty_key(&self) -> bool {
        self.as_str().is_empty()
    }
}

impl<K: CustomerKey + ?Sized> CustomerKey for &K {
    fn to_customer_id(&self) -> CustomerId {
        (**self).to_customer_id()
    }
    fn is_empty_key(&self) -> bool {
        (**self).is_empty_key()
    }
    fn exact_u64(&self) -> Option<u64> {
        (**self).exact_u64()
    }
}

/// Checks one row's id and amount under `policy`; `Ok(true)` when it is a return to drop.
fn check_row(
    row: usize,
    key: &(impl CustomerKey + ?Sized),
    amount: f64,
    policy: ReturnPolicy,
) -> Result<bool> {
    if key.is_empty_key() {
        return Err(Error::EmptyCustomerId {
            at: Position::at_row(row),
        });
    }
    if !amount.is_finite() {
        return Err(Error::NonFinite {
            at: Position::at_row(row)
                .with_customer(key.to_customer_id().to_string())
                .with_column("amount"),
            value: amount,
        });
    }
    if amount < 0.0 {
        match policy {
            ReturnPolicy::Error => {
                return Err(Error::NegativeAmount {
                    at: Position::at_row(row).with_customer(key.to_customer_id().to_string()),
                    value: amount,
                });
            }
            ReturnPolicy::Drop => return Ok(true),
            ReturnPolicy::Net => {}
        }
    }
    Ok(false)
}

fn too_many_rows(n: usize) -> Result<()> {
    if n > u32::MAX as usize {
        return Err(Error::InvalidParameter {
            name: "rows",
            value: n.to_string(),
            reason: "a log holds at most 4,294,967,295 rows; split it and merge histories".into(),
        });
    }
    Ok(())
}

impl TransactionLog {
    /// Builds a log from parallel columns of customer keys (text or integers), dates and
    /// amounts. Validation and id interning run in parallel; the result does not depend on the
    /// number of threads.
    ///
    /// ```
    /// use custseg::{Date, ReturnPolicy, TransactionLog};
    /// let d = |s: &str| s.parse::<Date>().unwrap();
    /// let log = TransactionLog::from_columns(
    ///     &[17u64, 4, 17],
    ///     &[d("2024-01-03"), d("2024-01-02"), d("2024-01-01")],
    ///     &[5.0, 7.5, 2.0],
    ///     ReturnPolicy::Error,
    /// )?;
    /// assert_eq!(log.customer_ids()[0].as_str(), "17");
    /// assert_eq!(log.customer(0).unwrap().amounts, &[2.0, 5.0]);
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the columns differ in length; the row errors of
    /// [`TransactionLogBuilder::push`] for the first bad row; the errors of
    /// [`TransactionLogBuilder::build`].
    pub fn from_columns<K: CustomerKey>(
        customer_ids: &[K],
        dates: &[Date],
        amounts: &[f64],
        returns: ReturnPolicy,
    ) -> Result<TransactionLog> {
        let checked = check_columns(customer_ids, dates, amounts, returns, false)?;
        TransactionLog::from_checked_columns(customer_ids, dates, amounts, returns, checked)
    }

    /// The rest of [`TransactionLog::from_columns`] once [`check_columns`] has passed.
    pub(crate) fn from_checked_columns<K: CustomerKey>(
        customer_ids: &[K],
        dates: &[Date],
        amounts: &[f64],
        returns: ReturnPolicy,
        checked: CheckedColumns,
    ) -> Result<TransactionLog> {
        let drop_returns = checked.drop_returns;
        let include = |i: usize| !drop_returns || amounts[i] >= 0.0;
        let to_net = if returns == ReturnPolicy::Net {
            checked.negatives
        } else {
            0
        };
        let grouped = group_by_keys(customer_ids, dates, amounts, include, to_net > 0);
        assemble(grouped, None, to_net, &|i| i as usize, checked.report)
    }
}

/// What [`check_columns`] learned about valid columns.
pub(crate) struct CheckedColumns {
    /// The log report as far as validation fills it (rows read, zeros, dropped returns).
    pub report: LogReport,
    /// Whether rows with negative amounts are left out (`ReturnPolicy::Drop` and some exist).
    pub drop_returns: bool,
    /// Rows with a negative amount.
    pub negatives: usize,
    /// Rows kept in each chunk of [`CHUNK`] rows (all of them unless returns are dropped).
    pub kept_per_chunk: Vec<usize>,
    /// The range of the integer keys, when every key has an exact `u64` and it was asked for.
    pub key_range: Option<KeyRange>,
}

/// The smallest and largest integer key, seen two ways: as plain `u64`s and with the top bit
/// flipped (which orders sign-extended negative integers before positive ones, so that a
/// small range of signed keys around zero stays small).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyRange {
    pub min: u64,
    pub max: u64,
    pub min_flipped: u64,
    pub max_flipped: u64,
}

impl KeyRange {
    const EMPTY: KeyRange = KeyRange {
        min: u64::MAX,
        max: 0,
        min_flipped: u64::MAX,
        max_flipped: 0,
    };

    #[inline(always)]
    fn add(&mut self, v: u64) {
        let f = v ^ (1 << 63);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.min_flipped = self.min_flipped.min(f);
        self.max_flipped = self.max_flipped.max(f);
    }

    #[inline(always)]
    fn merge(&mut self, o: &KeyRange) {
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.min_flipped = self.min_flipped.min(o.min_flipped);
        self.max_flipped = self.max_flipped.max(o.max_flipped);
    }
}

/// Validates parallel columns the way [`TransactionLog::from_columns`] does and counts what
/// the log report needs, in one parallel pass over fixed chunks reduced in chunk order (so
/// the sums do not depend on the thread count). With `want_key_range`, the same pass finds
/// the range of integer keys.
///
/// # Errors
/// [`Error::LengthMismatch`]; [`Error::InvalidParameter`] for more than `u32::MAX` rows; the
/// row errors of [`TransactionLogBuilder::push`] for the first bad row.
pub(crate) fn check_columns<K: CustomerKey>(
    customer_ids: &[K],
    dates: &[Date],
    amounts: &[f64],
    returns: ReturnPolicy,
    want_key_range: bool,
) -> Result<CheckedColumns> {
    let n = customer_ids.len();
    for (what, got) in [("dates", dates.len()), ("amounts", amounts.len())] {
        if got != n {
            return Err(Error::LengthMismatch {
                what,
                expected: n,
                got,
            });
        }
    }
    too_many_rows(n)?;
    // Integer keys say so on the first key; a key type that has exact values for only some
    // keys gets no range (the chunk reports it).
    let want_key_range = want_key_range
        && customer_ids
            .first()
            .is_some_and(|k| k.exact_u64().is_some());
    let stats: Vec<ChunkStats> = customer_ids
        .par_chunks(CHUNK)
        .zip(amounts.par_chunks(CHUNK))
        .enumerate()
        .map(|(ci, (ks, am))| {
            let mut st = ChunkStats {
                rows: ks.len(),
                ..ChunkStats::default()
            };
            // Counts and checks in branch-free loops the compiler vectorises; the first bad
            // row is looked for only in a chunk that has one.
            let mut non_finite = false;
            for &a in am {
                non_finite |= !a.is_finite();
                st.zeros += usize::from(a == 0.0);
                st.negatives += usize::from(a < 0.0);
            }
            if st.negatives > 0 {
                for &a in am {
                    if a < 0.0 {
                        st.negative_sum += a;
                    }
                }
            }
            let bad = non_finite
                || (st.negatives > 0 && returns == ReturnPolicy::Error)
                || ks.iter().any(|k| k.is_empty_key());
            if bad {
                st.first_bad = ks
                    .iter()
                    .zip(am)
                    .position(|(k, &a)| check_row(0, k, a, returns).is_err())
                    .map(|j| ci * CHUNK + j);
            }
            if want_key_range {
                (st.keys, st.inexact_key) = wide(KeyRangeOf(ks));
            }
            st
        })
        .collect();
    if let Some(i) = stats.iter().find_map(|s| s.first_bad) {
        check_row(i, &customer_ids[i], amounts[i], returns)?;
    }
    let negatives: usize = stats.iter().map(|s| s.negatives).sum();
    let mut report = LogReport {
        rows_read: n,
        zero_amounts: stats.iter().map(|s| s.zeros).sum(),
        ..LogReport::default()
    };
    let drop_returns = returns == ReturnPolicy::Drop && negatives > 0;
    if drop_returns {
        report.returns_dropped = negatives;
        report.amount_dropped = stats.iter().map(|s| s.negative_sum).sum();
    }
    let exact = want_key_range && n > 0 && !stats.iter().any(|s| s.inexact_key);
    let key_range = exact.then(|| {
        let mut r = KeyRange::EMPTY;
        for s in &stats {
            r.merge(&s.keys);
        }
        r
    });
    Ok(CheckedColumns {
        report,
        drop_returns,
        negatives,
        kept_per_chunk: stats
            .iter()
            .map(|s| s.rows - if drop_returns { s.negatives } else { 0 })
            .collect(),
        key_range,
    })
}

/// The range of a chunk's integer keys, and whether a key had no exact integer value: four
/// ranges side by side (independent compare chains, which an AVX2 build turns into vector
/// compares and blends), merged at the end. Minima and maxima are exact, so the lanes'
/// order does not matter.
struct KeyRangeOf<'a, K>(&'a [K]);

impl<K: CustomerKey> Kernel for KeyRangeOf<'_, K> {
    type Out = (KeyRange, bool);

    #[inline(always)]
    fn run(self) -> (KeyRange, bool) {
        let mut lanes = [KeyRange::EMPTY; 4];
        let mut inexact = false;
        let mut add = |lane: &mut KeyRange, k: &K| match k.exact_u64() {
            Some(v) => lane.add(v),
            None => inexact = true,
        };
        let mut quads = self.0.chunks_exact(4);
        for quad in &mut quads {
            for (lane, k) in lanes.iter_mut().zip(quad) {
                add(lane, k);
            }
        }
        for k in quads.remainder() {
            add(&mut lanes[0], k);
        }
        let mut r = KeyRange::EMPTY;
        for lane in &lanes {
            r.merge(lane);
        }
        (r, inexact)
    }
}

/// Per-chunk results of the validation pass of [`check_columns`].
struct ChunkStats {
    rows: usize,
    first_bad: Option<usize>,
    zeros: usize,
    negatives: usize,
    negative_sum: f64,
    keys: KeyRange,
    inexact_key: bool,
}

impl Default for ChunkStats {
    fn default() -> Self {
        ChunkStats {
            rows: 0,
            first_bad: None,
            zeros: 0,
            negatives: 0,
            negative_sum: 0.0,
            keys: KeyRange::EMPTY,
            inexact_key: false,
        }
    }
}

/// Takes rows one at a time, validating each, and sorts them into a [`TransactionLog`].
///
/// Ids are interned as they arrive; consecutive rows of the same customer skip the hash lookup.
/// Any order is accepted. For large columnar inputs [`TransactionLog::from_columns`] is faster:
/// it validates and interns in parallel.
#[derive(Debug, Default)]
pub struct TransactionLogBuilder {
    policy: ReturnPolicy,
    intern: HashMap<CustomerId, u32>,
    ids: Vec<CustomerId>,
    last: Option<u32>,
    cust: Vec<u32>,
    dates: Vec<Date>,
    amounts: Vec<f64>,
    quantities: Vec<Option<u32>>,
    any_quantity: bool,
    /// Input row of each staged row (rows can be rejected or dropped in between).
    rows: Vec<usize>,
    returns: usize,
    report: LogReport,
}

impl TransactionLogBuilder {
    /// Sets the policy for negative amounts (default [`ReturnPolicy::Error`]).
    pub fn return_policy(mut self, policy: ReturnPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Reserves room for `rows` more rows (a hint: a request the allocator cannot meet is
    /// ignored).
    pub fn reserve(&mut self, rows: usize) {
        // A hint, not a demand: a request the allocator cannot meet is ignored (the vectors
        // then grow as rows arrive) rather than aborting.
        let _ = self.cust.try_reserve(rows);
        let _ = self.dates.try_reserve(rows);
        let _ = self.amounts.try_reserve(rows);
        let _ = self.rows.try_reserve(rows);
    }

    /// Adds one row.
    ///
    /// # Errors
    /// [`Error::EmptyCustomerId`]; [`Error::NonFinite`] for a NaN or infinite amount;
    /// [`Error::NegativeAmount`] for a negative amount under [`ReturnPolicy::Error`]. Each names
    /// the row (counted from 0 over every call). A rejected row is not stored.
    pub fn push(&mut self, customer_id: &str, date: Date, amount: f64) -> Result<()> {
        self.push_row(customer_id, date, amount, None)
    }

    /// Adds one row with an item count.
    ///
    /// # Errors
    /// As [`TransactionLogBuilder::push`].
    pub fn push_with_quantity(
        &mut self,
        customer_id: &str,
        date: Date,
        amount: f64,
        quantity: u32,
    ) -> Result<()> {
        self.push_row(customer_id, date, amount, Some(quantity))
    }

    fn push_row(
        &mut self,
        customer_id: &str,
        date: Date,
        amount: f64,
        quantity: Option<u32>,
    ) -> Result<()> {
        let row = self.report.rows_read;
        self.report.rows_read += 1;
        if check_row(row, customer_id, amount, self.policy)? {
            self.report.returns_dropped += 1;
            self.report.amount_dropped += amount;
            return Ok(());
        }
        if amount < 0.0 {
            self.returns += 1;
        } else if amount == 0.0 {
            self.report.zero_amounts += 1;
        }
        too_many_rows(self.cust.len() + 1)?;
        let c = self.intern_id(customer_id);
        self.cust.push(c);
        self.dates.push(date);
        self.amounts.push(amount);
        if quantity.is_some() && !self.any_quantity {
            self.any_quantity = true;
            self.quantities.resize(self.cust.len() - 1, None);
        }
        if self.any_quantity {
            self.quantities.push(quantity);
        }
        self.rows.push(row);
        Ok(())
    }

    fn intern_id(&mut self, customer_id: &str) -> u32 {
        if let Some(last) = self.last
            && self.ids[last as usize].as_str() == customer_id
        {
            return last;
        }
        let c = match self.intern.get(customer_id) {
            Some(&c) => c,
            None => {
                // Fewer customers than rows, and rows are capped at u32::MAX.
                let c = self.ids.len() as u32;
                let id = CustomerId::from(customer_id);
                self.intern.insert(id.clone(), c);
                self.ids.push(id);
                c
            }
        };
        self.last = Some(c);
        c
    }

    /// Sorts the rows by customer and date, applies the return policy and returns the log.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] when no purchase row remains; [`Error::ReturnExceedsPurchases`]
    /// under [`ReturnPolicy::Net`] for the earliest (by input row) return that exceeds what the
    /// customer had bought up to its date.
    pub fn build(self) -> Result<TransactionLog> {
        let grouped = group_by_codes(self.ids, &self.cust, &self.dates, &self.amounts);
        let rows = self.rows;
        assemble(
            grouped,
            self.any_quantity.then_some(&self.quantities[..]),
            self.returns,
            &|i| rows[i as usize],
            self.report,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    /// The four-lane key range, plain and AVX2, equals one key at a time: unsigned keys
    /// with and without the top bit, signed keys around zero, lengths not a multiple of four.
    #[test]
    fn key_ranges_side_by_side_equal_one_at_a_time() {
        fn one_at_a_time<K: CustomerKey>(keys: &[K]) -> KeyRange {
            let mut r = KeyRange::EMPTY;
            keys.iter().for_each(|k| r.add(k.exact_u64().unwrap()));
            r
        }
        let mut z = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            z = z
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            z
        };
        for n in [0, 1, 3, 4, 7, 64, 1001] {
            let wild: Vec<u64> = (0..n).map(|_| next()).collect();
            let low: Vec<u64> = wild.iter().map(|v| v >> 40).collect();
            let signed: Vec<i64> = low.iter().map(|&v| v as i64 - (1 << 23)).collect();
            for keys in [&wild, &low] {
                let want = (one_at_a_time(keys), false);
                assert_eq!(KeyRangeOf(&keys[..]).run(), want, "n {n}");
                assert_eq!(wide(KeyRangeOf(&keys[..])), want, "n {n}");
            }
            let want = (one_at_a_time(&signed), false);
            assert_eq!(wide(KeyRangeOf(&signed[..])), want, "n {n}");
        }
        let text = ["a".to_string(), "b".to_string()];
        assert!(wide(KeyRangeOf(&text[..])).1);
    }

    #[test]
    fn sorts_by_customer_then_date_keeping_same_day_input_order() {
        let rows = vec![
            Transaction {
                customer_id: "b",
                date: d("2024-01-05"),
                amount: 1.0,
                quantity: None,
            },
            Transaction {
                customer_id: "a",
                date: d("2024-01-09"),
                amount: 2.0,
                quantity: Some(3),
            },
            Transaction {
                customer_id: "b",
                date: d("2024-01-01"),
                amount: 3.0,
                quantity: None,
            },
            Transaction {
                customer_id: "b",
                date: d("2024-01-05"),
                amount: 4.0,
                quantity: None,
            },
        ];
        let log = TransactionLog::from_transactions(rows, ReturnPolicy::Error).unwrap();
        assert_eq!(log.customer_ids()[0].as_str(), "b");
        let b = log.customer(0).unwrap();
        assert_eq!(
            b.dates,
            &[d("2024-01-01"), d("2024-01-05"), d("2024-01-05")]
        );
        assert_eq!(b.amounts, &[3.0, 1.0, 4.0]);
        assert_eq!(b.quantities.unwrap(), &[None, None, None]);
        assert_eq!(log.customer(1).unwrap().quantities.unwrap(), &[Some(3)]);
        assert!(log.customer(2).is_none());
        assert_eq!(log.first_date(), d("2024-01-01"));
        assert_eq!(log.last_date(), d("2024-01-09"));
    }

    #[test]
    fn rejects_bad_rows_naming_them() {
        let mut b = TransactionLog::builder();
        b.push("a", d("2024-01-01"), 1.0).unwrap();
        assert_eq!(
            b.push("", d("2024-01-01"), 1.0),
            Err(Error::EmptyCustomerId {
                at: Position::at_row(1)
            })
        );
        let e = b.push("c", d("2024-01-01"), f64::NAN).unwrap_err();
        assert!(
            matches!(e, Error::NonFinite { .. })
                && e.position().and_then(|p| p.row()) == Some(2)
                && e.position().and_then(|p| p.column()) == Some("amount"),
            "{e}"
        );
        let e = b.push("c", d("2024-01-01"), f64::NEG_INFINITY).unwrap_err();
        assert!(matches!(e, Error::NonFinite { .. }));
        assert_eq!(e.position().and_then(|p| p.row()), Some(3));
        let e = b.push("c", d("2024-01-01"), -5.0).unwrap_err();
        assert!(e.to_string().contains("row 4, customer c"), "{e}");
        // The rejected rows were not stored.
        let log = b.build().unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log.report().rows_read, 5);
    }

    #[test]
    fn empty_and_length_mismatch() {
        assert_eq!(
            TransactionLog::builder().build().unwrap_err(),
            Error::EmptyInput {
                what: "transactions"
            }
        );
        let e = TransactionLog::from_columns(&["a"], &[], &[1.0], ReturnPolicy::Error);
        assert!(matches!(
            e,
            Err(Error::LengthMismatch { what: "dates", .. })
        ));
        // Dropping every row leaves nothing: also an error, not an empty log.
        let e =
            TransactionLog::from_columns(&["a"], &[d("2024-01-01")], &[-1.0], ReturnPolicy::Drop);
        assert!(matches!(e, Err(Error::EmptyInput { .. })));
    }

    #[test]
    fn zero_amounts_are_kept_and_counted() {
        let log = TransactionLog::from_columns(
            &["a", "a", "b"],
            &[d("2024-01-01"), d("2024-01-02"), d("2024-01-02")],
            &[0.0, 5.0, 0.0],
            ReturnPolicy::Error,
        )
        .unwrap();
        assert_eq!(log.len(), 3);
        assert_eq!(log.report().zero_amounts, 2);
    }

    #[test]
    fn drop_policy_counts_returns() {
        let log = TransactionLog::from_columns(
            &["a", "a", "b", "c"],
            &[
                d("2024-01-01"),
                d("2024-01-02"),
                d("2024-01-02"),
                d("2024-01-03"),
            ],
            &[10.0, -4.0, 3.0, -1.5],
            ReturnPolicy::Drop,
        )
        .unwrap();
        assert_eq!(log.len(), 2);
        // "c" had only a return: it never becomes a customer.
        assert_eq!(log.customers(), 2);
        let r = log.report();
        assert_eq!((r.rows_read, r.rows_kept, r.returns_dropped), (4, 2, 2));
        assert_eq!(r.amount_dropped, -5.5);
    }

    #[test]
    fn net_policy_reduces_latest_purchases_first_and_carries_back() {
        let log = TransactionLog::from_columns(
            &["a", "a", "a", "a", "a"],
            &[
                d("2024-01-01"),
                d("2024-01-05"),
                d("2024-01-07"),
                d("2024-01-10"),
                d("2024-01-07"),
            ],
            &[10.0, 6.0, -8.0, 3.0, 1.0],
            ReturnPolicy::Net,
        )
        .unwrap();
        let a = log.customer(0).unwrap();
        // The return of 8 on 7 January first takes the same-day 1.0 (listed after it), then 6.0
        // from 5 January, then 1.0 from 1 January. The later purchase of 10 January is untouched.
        assert_eq!(a.amounts, &[9.0, 0.0, 0.0, 3.0]);
        assert_eq!(a.dates.len(), 4);
        assert_eq!(log.report().returns_netted, 1);
        assert_eq!(log.report().amount_netted, -8.0);
        assert_eq!(log.total_amount(), 12.0);
    }

    #[test]
    fn net_policy_rejects_returns_larger_than_purchases() {
        let e = TransactionLog::from_columns(
            &["a", "b", "b", "a"],
            &[
                d("2024-01-02"),
                d("2024-01-01"),
                d("2024-01-03"),
                d("2024-01-01"),
            ],
            &[5.0, 2.0, -2.5, -1.0],
            ReturnPolicy::Net,
        )
        .unwrap_err();
        // Both customers fail; the earliest row (2, customer b) is reported. a's return on
        // 1 January precedes a's only purchase, so it fails too (row 3).
        match e {
            Error::ReturnExceedsPurchases {
                at,
                value,
                available,
                ..
            } => {
                assert_eq!(
                    (at.row(), at.customer(), value, available),
                    (Some(2), Some("b"), -2.5, 2.0)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn builder_names_input_rows_after_rejected_and_dropped_rows() {
        let mut b = TransactionLog::builder().return_policy(ReturnPolicy::Net);
        b.push("a", d("2024-01-01"), 5.0).unwrap();
        assert!(b.push("a", d("2024-01-02"), f64::NAN).is_err()); // row 1, not stored
        b.push_with_quantity("b", d("2024-01-03"), 1.0, 2).unwrap();
        b.push("a", d("2024-01-04"), -6.0).unwrap(); // row 3
        match b.build().unwrap_err() {
            Error::ReturnExceedsPurchases { at, .. } => {
                assert_eq!((at.row(), at.customer()), (Some(3), Some("a")));
            }
            other => panic!("unexpected {other:?}"),
        }
        let mut b = TransactionLog::builder().return_policy(ReturnPolicy::Drop);
        b.push("a", d("2024-01-01"), 5.0).unwrap();
        b.push("a", d("2024-01-02"), -1.0).unwrap();
        b.push_with_quantity("a", d("2024-01-03"), 2.0, 4).unwrap();
        let log = b.build().unwrap();
        let a = log.customer(0).unwrap();
        assert_eq!(a.amounts, &[5.0, 2.0]);
        assert_eq!(a.quantities.unwrap(), &[None, Some(4)]);
        assert_eq!(log.report().returns_dropped, 1);
    }

    #[test]
    fn integer_and_text_keys_give_the_same_log() {
        let dates = [
            d("2024-01-03"),
            d("2024-01-01"),
            d("2024-01-02"),
            d("2024-01-01"),
        ];
        let amounts = [1.0, 2.0, 3.0, 4.0];
        let ints =
            TransactionLog::from_columns(&[9i64, -4, 9, 70], &dates, &amounts, ReturnPolicy::Error)
                .unwrap();
        let text = TransactionLog::from_columns(
            &["9", "-4", "9", "70"],
            &dates,
            &amounts,
            ReturnPolicy::Error,
        )
        .unwrap();
        assert_eq!(ints.customer_ids(), text.customer_ids());
        assert_eq!(ints.customer_ids()[1].as_str(), "-4");
        for (x, y) in ints.iter_customers().zip(text.iter_customers()) {
            assert_eq!((x.dates, x.amounts), (y.dates, y.amounts));
        }
        assert_eq!(ints.customer(0).unwrap().amounts, &[3.0, 1.0]);
    }

    #[test]
    fn exact_full_return_is_accepted_despite_rounding() {
        let log = TransactionLog::from_columns(
            &["a", "a", "a", "a"],
            &[
                d("2024-01-01"),
                d("2024-01-01"),
                d("2024-01-01"),
                d("2024-01-02"),
            ],
            &[0.1, 0.2, 0.4, -0.7],
            ReturnPolicy::Net,
        )
        .unwrap();
        assert!(log.customer(0).unwrap().amounts.iter().all(|&a| a == 0.0));
    }
}
