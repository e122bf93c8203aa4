//! Transactions in: validated, customer-grouped and date-sorted.

use std::collections::HashMap;
use std::hash::Hash;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::customer_id::CustomerId;
use super::date::Date;
use crate::error::{Error, Result};
use crate::par::{offsets_from_counts, split_by_offsets_mut};

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

    /// A log from parts already grouped by customer and sorted by date, with valid amounts
    /// (crate generators only).
    pub(crate) fn from_grouped_parts(
        ids: Vec<CustomerId>,
        offsets: Vec<usize>,
        dates: Vec<Date>,
        amounts: Vec<f64>,
        quantities: Option<Vec<Option<u32>>>,
    ) -> TransactionLog {
        debug_assert_eq!(offsets.len(), ids.len() + 1);
        debug_assert!(amounts.iter().all(|a| a.is_finite() && *a >= 0.0));
        debug_assert!(
            offsets
                .windows(2)
                .all(|w| w[0] < w[1] && dates[w[0]..w[1]].is_sorted())
        );
        let report = LogReport {
            rows_read: dates.len(),
            rows_kept: dates.len(),
            zero_amounts: amounts.iter().filter(|&&a| a == 0.0).count(),
            ..LogReport::default()
        };
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
}

macro_rules! int_key {
    ($($t:ty),*) => {$(
        impl CustomerKey for $t {
            fn to_customer_id(&self) -> CustomerId {
                CustomerId::from(self.to_string())
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
}

/// Validated rows before sorting: the common input of every way to build a log.
struct Staged {
    ids: Vec<CustomerId>,
    cust: Vec<u32>,
    dates: Vec<Date>,
    amounts: Vec<f64>,
    quantities: Option<Vec<Option<u32>>>,
    /// Input row of each staged row, where the two differ (rows were dropped).
    rows: Option<Vec<usize>>,
    returns: usize,
    report: LogReport,
}

/// Checks one row's id and amount under `policy`; `Ok(true)` when it is a return to drop.
fn check_row(
    row: usize,
    key: &(impl CustomerKey + ?Sized),
    amount: f64,
    policy: ReturnPolicy,
) -> Result<bool> {
    if key.is_empty_key() {
        return Err(Error::EmptyCustomerId { row });
    }
    if !amount.is_finite() {
        return Err(Error::NonFinite {
            row,
            customer: key.to_customer_id().to_string(),
            field: "amount",
            value: amount,
        });
    }
    if amount < 0.0 {
        match policy {
            ReturnPolicy::Error => {
                return Err(Error::NegativeAmount {
                    row,
                    customer: key.to_customer_id().to_string(),
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
        let bad = (0..n)
            .into_par_iter()
            .find_first(|&i| check_row(i, &customer_ids[i], amounts[i], returns).is_err());
        if let Some(i) = bad {
            check_row(i, &customer_ids[i], amounts[i], returns)?;
        }
        let mut report = LogReport {
            rows_read: n,
            zero_amounts: amounts.par_iter().filter(|&&a| a == 0.0).count(),
            ..LogReport::default()
        };
        let negatives = amounts.par_iter().filter(|&&a| a < 0.0).count();
        let (keys, dates, amounts, rows): KeptColumns<'_, K> =
            if returns == ReturnPolicy::Drop && negatives > 0 {
                report.returns_dropped = negatives;
                report.amount_dropped = amounts.iter().filter(|&&a| a < 0.0).sum();
                let rows: Vec<usize> = (0..n).filter(|&i| amounts[i] >= 0.0).collect();
                (
                    rows.iter().map(|&i| &customer_ids[i]).collect(),
                    rows.iter().map(|&i| dates[i]).collect(),
                    rows.iter().map(|&i| amounts[i]).collect(),
                    Some(rows),
                )
            } else {
                (
                    customer_ids.iter().collect(),
                    dates.to_vec(),
                    amounts.to_vec(),
                    None,
                )
            };
        let (ids, cust) = intern_parallel(&keys);
        build_staged(Staged {
            ids,
            cust,
            dates,
            amounts,
            quantities: None,
            rows,
            returns: if returns == ReturnPolicy::Net {
                negatives
            } else {
                0
            },
            report,
        })
    }
}

/// The columns that survive [`ReturnPolicy::Drop`], with each kept row's input row.
type KeptColumns<'a, K> = (Vec<&'a K>, Vec<Date>, Vec<f64>, Option<Vec<usize>>);

/// Rows per interning chunk: fixed, so chunk boundaries never depend on the thread count.
const INTERN_CHUNK: usize = 1 << 16;

/// Dense customer numbers in order of first appearance, computed in parallel: each chunk
/// interns locally, then chunks are merged in input order, which gives exactly the numbering
/// of a sequential pass.
fn intern_parallel<K: CustomerKey>(keys: &[&K]) -> (Vec<CustomerId>, Vec<u32>) {
    let locals: Vec<(Vec<&K>, Vec<u32>)> = keys
        .par_chunks(INTERN_CHUNK)
        .map(|chunk| {
            let mut map: HashMap<&K, u32> = HashMap::with_capacity(chunk.len() / 4);
            let mut distinct: Vec<&K> = Vec::new();
            let mut codes = Vec::with_capacity(chunk.len());
            for &k in chunk {
                let next = distinct.len() as u32;
                let c = *map.entry(k).or_insert_with(|| {
                    distinct.push(k);
                    next
                });
                codes.push(c);
            }
            (distinct, codes)
        })
        .collect();
    let mut global: HashMap<&K, u32> = HashMap::new();
    let mut ids: Vec<CustomerId> = Vec::new();
    let remaps: Vec<Vec<u32>> = locals
        .iter()
        .map(|(distinct, _)| {
            distinct
                .iter()
                .map(|&k| {
                    let next = ids.len() as u32;
                    *global.entry(k).or_insert_with(|| {
                        ids.push(k.to_customer_id());
                        next
                    })
                })
                .collect()
        })
        .collect();
    let mut cust = vec![0u32; keys.len()];
    cust.par_chunks_mut(INTERN_CHUNK)
        .zip(locals.par_iter().zip(remaps.par_iter()))
        .for_each(|(out, ((_, codes), remap))| {
            for (o, &c) in out.iter_mut().zip(codes) {
                *o = remap[c as usize];
            }
        });
    (ids, cust)
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

    /// Reserves room for `rows` more rows.
    pub fn reserve(&mut self, rows: usize) {
        self.cust.reserve(rows);
        self.dates.reserve(rows);
        self.amounts.reserve(rows);
        self.rows.reserve(rows);
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
        let identity = self.rows.len() == self.report.rows_read;
        build_staged(Staged {
            ids: self.ids,
            cust: self.cust,
            dates: self.dates,
            amounts: self.amounts,
            quantities: self.any_quantity.then_some(self.quantities),
            rows: (!identity).then_some(self.rows),
            returns: self.returns,
            report: self.report,
        })
    }
}

fn build_staged(s: Staged) -> Result<TransactionLog> {
    let n = s.cust.len();
    let k = s.ids.len();
    if n == 0 {
        return Err(Error::EmptyInput {
            what: "transactions",
        });
    }
    // Counting sort by customer (stable), then each customer's rows by date.
    let mut counts = vec![0usize; k];
    for &c in &s.cust {
        counts[c as usize] += 1;
    }
    let mut offsets = offsets_from_counts(counts);
    let mut next = offsets[..k].to_vec();
    let mut perm = vec![0u32; n];
    for (i, &c) in s.cust.iter().enumerate() {
        let slot = &mut next[c as usize];
        perm[*slot] = i as u32;
        *slot += 1;
    }
    drop(next);
    let dates = &s.dates;
    split_by_offsets_mut(&mut perm, &offsets)
        .into_par_iter()
        .for_each(|rows| {
            if !rows.is_sorted_by_key(|&i| dates[i as usize]) {
                rows.sort_unstable_by_key(|&i| (dates[i as usize], i));
            }
        });
    let mut out_dates: Vec<Date> = perm.par_iter().map(|&i| dates[i as usize]).collect();
    let mut out_amounts: Vec<f64> = perm.par_iter().map(|&i| s.amounts[i as usize]).collect();
    let mut out_qty: Option<Vec<Option<u32>>> = s
        .quantities
        .as_ref()
        .map(|q| perm.par_iter().map(|&i| q[i as usize]).collect());

    let mut report = s.report;
    if s.returns > 0 {
        let row_of = |staged: u32| match &s.rows {
            Some(r) => r[staged as usize],
            None => staged as usize,
        };
        let (netted, amount) = net_returns(
            &s.ids,
            &offsets,
            &out_dates,
            &mut out_amounts,
            &perm,
            &row_of,
        )?;
        report.returns_netted = netted;
        report.amount_netted = amount;
        let keep: Vec<bool> = out_amounts.par_iter().map(|&a| a >= 0.0).collect();
        let new_counts: Vec<usize> = offsets
            .windows(2)
            .map(|w| keep[w[0]..w[1]].iter().filter(|&&b| b).count())
            .collect();
        offsets = offsets_from_counts(new_counts);
        retain_by(&mut out_dates, &keep);
        retain_by(&mut out_amounts, &keep);
        if let Some(q) = out_qty.as_mut() {
            retain_by(q, &keep);
        }
    }
    report.rows_kept = out_dates.len();
    Ok(TransactionLog {
        ids: s.ids,
        offsets,
        dates: out_dates,
        amounts: out_amounts,
        quantities: out_qty,
        report,
    })
}

fn retain_by<T>(v: &mut Vec<T>, keep: &[bool]) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// Applies [`ReturnPolicy::Net`] customer by customer; returns how many returns were netted and
/// their total. The error reported is the failing return with the smallest input row, whatever
/// the thread count.
fn net_returns(
    ids: &[CustomerId],
    offsets: &[usize],
    dates: &[Date],
    amounts: &mut [f64],
    perm: &[u32],
    row_of: &(dyn Fn(u32) -> usize + Sync),
) -> Result<(usize, f64)> {
    let results: Vec<std::result::Result<(usize, f64), Error>> =
        split_by_offsets_mut(amounts, offsets)
            .into_par_iter()
            .enumerate()
            .map(|(c, amts)| {
                let lo = offsets[c];
                net_customer(
                    &ids[c],
                    &dates[lo..lo + amts.len()],
                    amts,
                    &perm[lo..lo + amts.len()],
                    row_of,
                )
            })
            .collect();
    let mut total = (0usize, 0.0f64);
    let mut first_err: Option<Error> = None;
    for r in results {
        match r {
            Ok((n, a)) => {
                total.0 += n;
                total.1 += a;
            }
            Err(e) => {
                let row_of = |e: &Error| match e {
                    Error::ReturnExceedsPurchases { row, .. } => *row,
                    _ => usize::MAX,
                };
                if first_err.as_ref().is_none_or(|f| row_of(&e) < row_of(f)) {
                    first_err = Some(e);
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(total),
    }
}

fn net_customer(
    id: &CustomerId,
    dates: &[Date],
    amounts: &mut [f64],
    perm: &[u32],
    row_of: &(dyn Fn(u32) -> usize + Sync),
) -> Result<(usize, f64)> {
    let (mut netted, mut total) = (0usize, 0.0f64);
    // Purchases that still have money left, latest on top; a day's purchases are all pushed
    // before its returns are applied, so a return can net against a same-day purchase that
    // appeared later in the input.
    let mut open: Vec<usize> = Vec::new();
    let mut spent_so_far = 0.0f64;
    let mut i = 0;
    while i < dates.len() {
        let mut end = i;
        while end < dates.len() && dates[end] == dates[i] {
            if amounts[end] > 0.0 {
                open.push(end);
                spent_so_far += amounts[end];
            }
            end += 1;
        }
        for j in i..end {
            let value = amounts[j];
            if value >= 0.0 {
                continue;
            }
            let available = spent_so_far;
            let mut remaining = -value;
            // Sums of cents in binary floating point leave residues of ~1e-17; anything below
            // this is rounding, not money.
            let eps = 1e-9 * value.abs().max(1.0);
            while remaining > eps {
                let Some(&top) = open.last() else { break };
                let take = amounts[top].min(remaining);
                amounts[top] -= take;
                remaining -= take;
                spent_so_far -= take;
                if amounts[top] <= eps {
                    amounts[top] = 0.0;
                    open.pop();
                }
            }
            if remaining > eps {
                return Err(Error::ReturnExceedsPurchases {
                    row: row_of(perm[j]),
                    customer: id.to_string(),
                    value,
                    available,
                    date: dates[j],
                });
            }
            netted += 1;
            total += value;
        }
        i = end;
    }
    Ok((netted, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
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
            Err(Error::EmptyCustomerId { row: 1 })
        );
        let e = b.push("c", d("2024-01-01"), f64::NAN).unwrap_err();
        assert!(
            matches!(
                e,
                Error::NonFinite {
                    row: 2,
                    field: "amount",
                    ..
                }
            ),
            "{e}"
        );
        let e = b.push("c", d("2024-01-01"), f64::NEG_INFINITY).unwrap_err();
        assert!(matches!(e, Error::NonFinite { row: 3, .. }));
        let e = b.push("c", d("2024-01-01"), -5.0).unwrap_err();
        assert!(e.to_string().contains("row 4 (customer c)"), "{e}");
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
                row,
                customer,
                value,
                available,
                ..
            } => {
                assert_eq!(
                    (row, customer.as_str(), value, available),
                    (2, "b", -2.5, 2.0)
                );
            }
            other => panic!("unexpected {other:?}"),
        }
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
