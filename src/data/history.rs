//! Mergeable per-customer purchase state.
//!
//! A [`CustomerHistory`] is one customer's distinct purchase days, each with its spend and row
//! count. It is all a summary needs, it does not depend on the observation end, and two
//! histories of the same customer merge exactly (days are united, same-day spend and counts
//! added). So a log too large for one machine, or arriving in batches, can be split into
//! partitions in any way, each partition turned into [`PurchaseHistories`], the partial results
//! merged in any grouping, and the merged state summarised: the summaries equal those of one
//! pass over the whole log (up to the order of floating-point additions within a day). This
//! is the reduction a distributed engine runs (`aggregateByKey`, a combiner, a SQL aggregate).

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::customer_id::CustomerId;
use super::summary::{CustomerSummaries, PurchaseDay, SummaryConfig, days_of_rows, summarise_all};
use super::transactions::TransactionLog;
use crate::error::{Error, Position, Result};

/// One customer's purchase days, sorted and distinct: the mergeable per-customer state.
///
/// Deserializing validates it (see [`CustomerHistory::from_days`]).
///
/// ```
/// use custseg::{CustomerHistory, Date, PurchaseDay};
/// let day = |s: &str, spend: f64| PurchaseDay { date: s.parse().unwrap(), spend, transactions: 1 };
/// let mut a = CustomerHistory::from_days(vec![day("2024-01-01", 10.0), day("2024-02-01", 5.0)])?;
/// let b = CustomerHistory::from_days(vec![day("2024-02-01", 2.0), day("2024-03-01", 1.0)])?;
/// a.merge(&b)?;
/// assert_eq!(a.days().len(), 3);
/// assert_eq!(a.days()[1].spend, 7.0);
/// assert_eq!(a.days()[1].transactions, 2);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(try_from = "Vec<PurchaseDay>", into = "Vec<PurchaseDay>")]
pub struct CustomerHistory {
    days: Vec<PurchaseDay>,
}

impl TryFrom<Vec<PurchaseDay>> for CustomerHistory {
    type Error = Error;
    fn try_from(days: Vec<PurchaseDay>) -> Result<Self> {
        CustomerHistory::from_days(days)
    }
}

impl From<CustomerHistory> for Vec<PurchaseDay> {
    fn from(h: CustomerHistory) -> Self {
        h.days
    }
}

impl CustomerHistory {
    /// A history from purchase days.
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] unless the days are strictly increasing, every spend is finite
    /// and not negative, and every day has at least one transaction. The error has no
    /// position because a history does not carry its id; [`PurchaseHistories`] names it.
    pub fn from_days(days: Vec<PurchaseDay>) -> Result<Self> {
        validate_days(&days).map_err(|reason| Error::InvalidRecord {
            at: Position::default(),
            reason,
        })?;
        Ok(CustomerHistory { days })
    }

    /// The purchase days, ascending.
    pub fn days(&self) -> &[PurchaseDay] {
        &self.days
    }

    /// Records one purchase as it arrives: `amount` is added to that day (a new day is
    /// inserted in date order). Events may arrive in any order: the history, and every
    /// summary and score taken from it, is the one the whole log gives, whatever the order.
    /// An event recorded twice counts twice, as a log row repeated counts twice: the
    /// history keeps no event ids, so dropping duplicates is the caller's (keyed on their
    /// event id) before recording.
    ///
    /// ```
    /// use custseg::{CustomerHistory, CustomerSummary, SummaryConfig, TimeUnit};
    /// let mut h = CustomerHistory::default();
    /// h.record("2024-03-01".parse()?, 20.0)?;
    /// h.record("2024-01-01".parse()?, 10.0)?; // out of order
    /// let cfg = SummaryConfig::new("2024-06-30".parse()?).with_unit(TimeUnit::Days);
    /// let s: CustomerSummary = h.summarise(&"ann".into(), &cfg)?;
    /// assert_eq!((s.frequency(), s.recency(), s.age()), (1, 60.0, 181.0));
    /// # Ok::<(), custseg::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] naming the column for an amount that is negative or not
    /// finite, or a day whose rows or spend would overflow; the history is then unchanged.
    pub fn record(&mut self, date: crate::Date, amount: f64) -> Result<()> {
        if !(amount.is_finite() && amount >= 0.0) {
            return Err(Error::InvalidRecord {
                at: Position::in_column("amount"),
                reason: format!("amount {amount} (finite and ≥ 0)"),
            });
        }
        match self.days.binary_search_by(|d| d.date.cmp(&date)) {
            Ok(i) => {
                let day = &mut self.days[i];
                let transactions =
                    day.transactions
                        .checked_add(1)
                        .ok_or_else(|| Error::InvalidRecord {
                            at: Position::in_column("transactions"),
                            reason: format!("{date}: more than u32::MAX rows"),
                        })?;
                let spend = day.spend + amount;
                if !spend.is_finite() {
                    return Err(Error::InvalidRecord {
                        at: Position::in_column("spend"),
                        reason: format!("{date}: {} + {amount} is not finite", day.spend),
                    });
                }
                (day.transactions, day.spend) = (transactions, spend);
            }
            Err(i) => self.days.insert(
                i,
                PurchaseDay {
                    date,
                    spend: amount,
                    transactions: 1,
                },
            ),
        }
        Ok(())
    }

    /// This customer's summary at the configured observation end: the same summary
    /// [`PurchaseHistories::summarise`] (and [`TransactionLog::summarise`]) gives, for one
    /// customer, without the others — what a service rescoring a customer after each event
    /// needs.
    ///
    /// # Errors
    /// [`Error::InvalidWindow`] for a holdout ending on or before the observation end;
    /// [`Error::InvalidRecord`] naming the customer when they have no purchase on or before
    /// the observation end (not yet a customer then), or when their spend sums overflow.
    pub fn summarise(
        &self,
        customer_id: &CustomerId,
        cfg: &SummaryConfig,
    ) -> Result<crate::CustomerSummary> {
        cfg.validate()?;
        let mut days = self.days.iter().copied();
        let first = match days.next() {
            Some(d) if d.date <= cfg.observation_end => d,
            _ => {
                return Err(Error::InvalidRecord {
                    at: Position::default()
                        .with_customer(customer_id)
                        .with_column("date"),
                    reason: format!("no purchase on or before {}", cfg.observation_end),
                });
            }
        };
        let s = super::summary::summarise_days(customer_id, first, days, cfg);
        if super::summary::sums_overflowed(&s) {
            return Err(Error::InvalidRecord {
                at: Position::default()
                    .with_customer(customer_id)
                    .with_column("spend"),
                reason: "spend sums overflow".into(),
            });
        }
        Ok(s)
    }

    /// Adds another partition's days of the same customer.
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] naming the column when a day's combined transaction rows pass
    /// `u32::MAX` or its combined spend is not finite; the history is then left as it was.
    pub fn merge(&mut self, other: &CustomerHistory) -> Result<()> {
        if other.days.is_empty() {
            return Ok(());
        }
        if self.days.last().is_none_or(|l| l.date < other.days[0].date) {
            self.days.extend_from_slice(&other.days);
            return Ok(());
        }
        let mut merged = Vec::with_capacity(self.days.len() + other.days.len());
        let (mut i, mut j) = (0, 0);
        let (a, b) = (&self.days, &other.days);
        while i < a.len() || j < b.len() {
            let next = match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if x.date == y.date => {
                    i += 1;
                    j += 1;
                    // A merge is exact or an error: a saturated count would be a wrong
                    // summary nobody is told about.
                    let transactions =
                        x.transactions.checked_add(y.transactions).ok_or_else(|| {
                            Error::InvalidRecord {
                                at: Position::in_column("transactions"),
                                reason: format!(
                                    "{}: {} + {} rows overflow u32",
                                    x.date, x.transactions, y.transactions
                                ),
                            }
                        })?;
                    let spend = x.spend + y.spend;
                    if !spend.is_finite() {
                        return Err(Error::InvalidRecord {
                            at: Position::in_column("spend"),
                            reason: format!("{}: {} + {} is not finite", x.date, x.spend, y.spend),
                        });
                    }
                    PurchaseDay {
                        date: x.date,
                        spend,
                        transactions,
                    }
                }
                (Some(x), Some(y)) if x.date < y.date => {
                    i += 1;
                    *x
                }
                (Some(x), None) => {
                    i += 1;
                    *x
                }
                (_, Some(y)) => {
                    j += 1;
                    *y
                }
                (None, None) => break,
            };
            merged.push(next);
        }
        self.days = merged;
        Ok(())
    }
}

fn validate_days(days: &[PurchaseDay]) -> std::result::Result<(), String> {
    for (i, d) in days.iter().enumerate() {
        if !d.spend.is_finite() || d.spend < 0.0 {
            return Err(format!(
                "day {}: spend {} is not a finite amount ≥ 0",
                d.date, d.spend
            ));
        }
        if d.transactions == 0 {
            return Err(format!(
                "day {}: a purchase day needs at least one transaction",
                d.date
            ));
        }
        if i > 0 && days[i - 1].date >= d.date {
            return Err(format!("day {}: days must be strictly increasing", d.date));
        }
    }
    Ok(())
}

/// The histories of a customer base (or of one partition of it), keyed by customer id.
///
/// ```
/// use custseg::{Date, PurchaseHistories, ReturnPolicy, SummaryConfig, TransactionLog};
/// let d = |s: &str| s.parse::<Date>().unwrap();
/// // Two partitions of one log, split by row, not by customer.
/// let p1 = TransactionLog::from_columns(&["a", "b"], &[d("2024-01-01"), d("2024-01-03")], &[5.0, 1.0], ReturnPolicy::Error)?;
/// let p2 = TransactionLog::from_columns(&["a", "a"], &[d("2024-01-01"), d("2024-01-08")], &[2.0, 4.0], ReturnPolicy::Error)?;
/// let mut merged = PurchaseHistories::from_log(&p1);
/// merged.merge(PurchaseHistories::from_log(&p2))?;
/// let a = merged.summarise(&SummaryConfig::new(d("2024-01-31")))?.into_vec().remove(0);
/// assert_eq!((a.frequency(), a.total_spend(), a.transactions()), (1, 11.0, 3));
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(
    try_from = "Vec<(CustomerId, CustomerHistory)>",
    into = "Vec<(CustomerId, CustomerHistory)>"
)]
pub struct PurchaseHistories {
    ids: Vec<CustomerId>,
    histories: Vec<CustomerHistory>,
    index: HashMap<CustomerId, usize>,
}

impl TryFrom<Vec<(CustomerId, CustomerHistory)>> for PurchaseHistories {
    type Error = Error;
    fn try_from(v: Vec<(CustomerId, CustomerHistory)>) -> Result<Self> {
        let mut h = PurchaseHistories::default();
        for (id, hist) in v {
            if hist.days.is_empty() {
                return Err(Error::InvalidRecord {
                    at: Position::of_customer(id.to_string()),
                    reason: "a history needs at least one purchase day".into(),
                });
            }
            if h.index.contains_key(&id) {
                return Err(Error::DuplicateCustomer {
                    at: Position::of_customer(id.to_string()),
                    what: "purchase histories",
                });
            }
            h.insert_new(id, hist);
        }
        Ok(h)
    }
}

impl From<PurchaseHistories> for Vec<(CustomerId, CustomerHistory)> {
    fn from(h: PurchaseHistories) -> Self {
        h.ids.into_iter().zip(h.histories).collect()
    }
}

impl PurchaseHistories {
    /// The histories of every customer in a log, built in parallel.
    pub fn from_log(log: &TransactionLog) -> Self {
        let (offsets, dates, amounts) = (log.offsets(), log.dates(), log.amounts());
        let histories: Vec<CustomerHistory> = (0..log.customers())
            .into_par_iter()
            .map(|c| {
                let (lo, hi) = (offsets[c], offsets[c + 1]);
                CustomerHistory {
                    days: days_of_rows(&dates[lo..hi], &amounts[lo..hi]).collect(),
                }
            })
            .collect();
        let ids = log.customer_ids().to_vec();
        let index = ids.iter().cloned().zip(0..).collect();
        PurchaseHistories {
            ids,
            histories,
            index,
        }
    }

    fn insert_new(&mut self, id: CustomerId, hist: CustomerHistory) {
        self.index.insert(id.clone(), self.ids.len());
        self.ids.push(id);
        self.histories.push(hist);
    }

    /// Merges another partition's histories into these. Customers new to `self` are appended in
    /// `other`'s order.
    ///
    /// # Errors
    /// As [`CustomerHistory::merge`], naming the customer; the customers before it are then
    /// merged, it and the rest are not.
    pub fn merge(&mut self, other: PurchaseHistories) -> Result<()> {
        for (id, hist) in other.ids.into_iter().zip(other.histories) {
            match self.index.get(&id) {
                Some(&i) => self.histories[i]
                    .merge(&hist)
                    .map_err(|e| e.amend(|at| at.with_customer(&id)))?,
                None => self.insert_new(id, hist),
            }
        }
        Ok(())
    }

    /// Number of customers.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there is no customer.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The history of one customer.
    pub fn get(&self, customer_id: &str) -> Option<&CustomerHistory> {
        self.index.get(customer_id).map(|&i| &self.histories[i])
    }

    /// Every customer with their history, in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&CustomerId, &CustomerHistory)> + '_ {
        self.ids.iter().zip(&self.histories)
    }

    /// Summarises every customer at the configured observation end, in parallel; equal to
    /// [`TransactionLog::summarise`] on the log the histories came from.
    ///
    /// # Errors
    /// [`Error::InvalidWindow`] when the holdout ends on or before the observation end;
    /// [`Error::InvalidRecord`] naming a customer whose spend sums overflow to infinity.
    pub fn summarise(&self, cfg: &SummaryConfig) -> Result<CustomerSummaries> {
        cfg.validate()?;
        summarise_all(&self.ids, cfg, |c, after| {
            let days = &self.histories[c].days;
            let from = after.map_or(0, |a| days.partition_point(|d| d.date <= a));
            days[from..].iter().copied()
        })
    }
}
