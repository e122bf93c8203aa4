//! Arrow in and out: transactions from Arrow arrays and record batches, summaries and scores
//! back as record batches (feature `arrow`).
//!
//! Customer data usually lives in columnar form — Parquet files, query engines, pandas and
//! polars frames — and [Apache Arrow](https://arrow.apache.org) is how those systems hand
//! columns to one another without copying. This module reads the three columns a log needs
//! and writes every result as a [`RecordBatch`], so the crate sits between an Arrow source and
//! an Arrow sink with no per-row conversion code on either side.
//!
//! **In.** [`Transactions`] reads a customer-key column, a date column and an amount column,
//! from three arrays or from named columns of one or more record batches, and builds a
//! [`TransactionLog`] ([`Transactions::to_log`]) or the summaries directly
//! ([`Transactions::summarise`], the fast columnar path of
//! [`CustomerSummaries::from_columns`]). Accepted types:
//!
//! | column | Arrow types | read as |
//! |---|---|---|
//! | customer key | `Int8`–`Int64`, `UInt8`–`UInt64` | the integer, grouped by direct indexing |
//! | | `Utf8`, `LargeUtf8`, `Utf8View`, and dictionaries of them | the text |
//! | date | `Date32`, `Date64` | the calendar day |
//! | | `Timestamp` of any unit, without a time zone | the calendar day of the wall-clock time |
//! | | `Timestamp` with a UTC or fixed-offset zone (`UTC`, `+02:00`, `-0500`) | the calendar day at that offset |
//! | amount | `Float64`, `Float32`, `Int8`–`Int64`, `UInt8`–`UInt64` | the number |
//! | | `Decimal32`, `Decimal64`, `Decimal128`, `Decimal256` | the nearest `f64` to the decimal (exact rounding below 2⁵³ units of the scale) |
//!
//! A null anywhere is an error naming its row and column ([`Error::Missing`]), never a row
//! silently dropped: a missing amount or date is a data problem the caller must decide about
//! (filter it in the query, or fill it). Rows are numbered from 0 across all the batches, in
//! order. Named time zones (`Europe/Paris`) are refused rather than guessed: cast the column to
//! UTC or to a fixed offset first.
//!
//! **Zero copy.** With one batch (or three arrays), `Int32`/`Int64`/`UInt32`/`UInt64` keys and
//! `Float64` amounts are read in place from Arrow's buffers; text keys are read as `&str`
//! slices of Arrow's buffer (a pointer and length per row, no string copied). Dates are always
//! converted (validated to years 1–9999, 4 bytes a row), other types are widened into a
//! buffer, and several batches are concatenated once per column.
//!
//! **Out.** [`ToRecordBatch`] turns summaries, RFM scores, customer values and churn risks into
//! a record batch with one row per customer and the customer id first, ready to write to
//! Parquet or hand to an engine. [`ScoreBatch`] builds a batch from any per-customer numbers
//! — P(alive) or expected purchases from a `_batch` call, segment labels from
//! [`Assign::assign_batch`](crate::Assign::assign_batch) — beside the customer ids.
//! [`summaries_from_record_batches`] reads summaries back (validated), so summaries computed
//! elsewhere can be fitted and scored here.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Date32Array, Float64Array, Int64Array, RecordBatch};
//! use custseg::arrow::{ToRecordBatch, TransactionColumns, Transactions};
//! use custseg::{Date, ReturnPolicy, SummaryConfig};
//!
//! let day = |s: &str| s.parse::<Date>().unwrap().days_since_epoch();
//! let batch = RecordBatch::try_from_iter([
//!     ("customer_id", Arc::new(Int64Array::from(vec![17, 4, 17])) as _),
//!     ("date", Arc::new(Date32Array::from(vec![day("2024-01-03"), day("2024-01-02"), day("2024-01-20")])) as _),
//!     ("amount", Arc::new(Float64Array::from(vec![5.0, 7.5, 2.0])) as _),
//! ])
//! .unwrap();
//! let batches = [batch];
//! let tx = Transactions::from_record_batches(&batches, &TransactionColumns::default())?;
//! let cfg = SummaryConfig::new("2024-01-31".parse()?);
//! let summaries = tx.summarise(ReturnPolicy::Error, &cfg)?;
//! assert_eq!((summaries[0].customer_id().as_str(), summaries[0].frequency()), ("17", 1));
//!
//! let out = summaries.to_record_batch()?;
//! assert_eq!(out.num_rows(), 2);
//! assert_eq!(out.schema().field(0).name(), "customer_id");
//! # Ok::<(), custseg::Error>(())
//! ```

/// The Arrow crates this module is built on, re-exported so callers build arrays of the same
/// version without naming it in their own manifest.
pub use {arrow_array, arrow_buffer, arrow_schema};

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type,
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, Date32Array, Float64Array, RecordBatch, StringArray,
    UInt8Array, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit as ArrowTimeUnit};

use crate::churn::{ChurnRisk, RiskTier};
use crate::clv::CustomerValue;
use crate::data::SummaryRecord;
use crate::error::{Error, Position, Result};
use crate::rfm::RfmScore;
use crate::{
    CustomerHistory, CustomerId, CustomerSummaries, CustomerSummary, Date, PurchaseDay,
    PurchaseHistories, ReturnPolicy, SummaryConfig, TimeUnit, TransactionLog,
};
use rayon::prelude::*;

/// The names of the three columns [`Transactions::from_record_batches`] reads.
///
/// The default names are `customer_id`, `date` and `amount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionColumns {
    customer_id: String,
    date: String,
    amount: String,
}

impl Default for TransactionColumns {
    fn default() -> Self {
        TransactionColumns::new("customer_id", "date", "amount")
    }
}

impl TransactionColumns {
    /// Columns with these names: the customer key, the purchase date, the amount.
    pub fn new(
        customer_id: impl Into<String>,
        date: impl Into<String>,
        amount: impl Into<String>,
    ) -> Self {
        TransactionColumns {
            customer_id: customer_id.into(),
            date: date.into(),
            amount: amount.into(),
        }
    }

    /// The customer-key column's name.
    pub fn customer_id(&self) -> &str {
        &self.customer_id
    }

    /// The date column's name.
    pub fn date(&self) -> &str {
        &self.date
    }

    /// The amount column's name.
    pub fn amount(&self) -> &str {
        &self.amount
    }
}

/// Customer keys as read: in place where Arrow's buffer already holds the type.
#[derive(Debug)]
enum Keys<'a> {
    I32(Cow<'a, [i32]>),
    I64(Cow<'a, [i64]>),
    U32(Cow<'a, [u32]>),
    U64(Cow<'a, [u64]>),
    Text(Vec<&'a str>),
}

/// Transaction rows read from Arrow: customer keys, dates and amounts, validated for nulls,
/// types and dates, ready to become a [`TransactionLog`] or [`CustomerSummaries`].
///
/// Borrows the arrays it reads in place (see the [module docs](self) for which), so it lives
/// no longer than they do.
#[derive(Debug)]
pub struct Transactions<'a> {
    keys: Keys<'a>,
    dates: Vec<Date>,
    amounts: Cow<'a, [f64]>,
}

impl<'a> Transactions<'a> {
    /// Reads three arrays of equal length: customer keys, dates and amounts.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the lengths differ; [`Error::Missing`] for the first null
    /// (row and column named); [`Error::InvalidParameter`] for an unsupported type or time
    /// zone; [`Error::InvalidRecord`] for a date outside years 1–9999.
    pub fn from_arrays(
        customer_id: &'a dyn Array,
        date: &'a dyn Array,
        amount: &'a dyn Array,
    ) -> Result<Self> {
        let names = TransactionColumns::default();
        Transactions::from_parts(&[customer_id], &[date], &[amount], &names)
    }

    /// Reads the named columns of one or more record batches, rows numbered from 0 across the
    /// batches in order.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] without batches; [`Error::InvalidParameter`] when a batch lacks
    /// a column, a column's type differs between batches, or a type or time zone is not
    /// supported; then the errors of [`Transactions::from_arrays`].
    pub fn from_record_batches(
        batches: &'a [RecordBatch],
        columns: &TransactionColumns,
    ) -> Result<Self> {
        if batches.is_empty() {
            return Err(Error::EmptyInput {
                what: "record batches",
            });
        }
        let pick = |name: &str| -> Result<Vec<&'a dyn Array>> {
            let mut out: Vec<&'a dyn Array> = Vec::with_capacity(batches.len());
            for (b, batch) in batches.iter().enumerate() {
                let col = batch
                    .column_by_name(name)
                    .ok_or_else(|| Error::InvalidParameter {
                        name: "column",
                        value: name.to_string(),
                        reason: format!(
                            "record batch {b} has no such column (it has {})",
                            column_names(batch)
                        ),
                    })?;
                if let Some(first) = out.first()
                    && first.data_type() != col.data_type()
                {
                    return Err(Error::InvalidParameter {
                        name: "column",
                        value: name.to_string(),
                        reason: format!(
                            "its type is {} in batch 0 but {} in batch {b}",
                            first.data_type(),
                            col.data_type()
                        ),
                    });
                }
                out.push(col.as_ref());
            }
            Ok(out)
        };
        let keys = pick(&columns.customer_id)?;
        let dates = pick(&columns.date)?;
        let amounts = pick(&columns.amount)?;
        Transactions::from_parts(&keys, &dates, &amounts, columns)
    }

    fn from_parts(
        keys: &[&'a dyn Array],
        dates: &[&'a dyn Array],
        amounts: &[&'a dyn Array],
        names: &TransactionColumns,
    ) -> Result<Self> {
        let rows: usize = keys.iter().map(|a| a.len()).sum();
        for (what, parts) in [("date column", dates), ("amount column", amounts)] {
            let got: usize = parts.iter().map(|a| a.len()).sum();
            if got != rows {
                return Err(Error::LengthMismatch {
                    what,
                    got,
                    expected: rows,
                });
            }
        }
        // Nulls first, row by row across the three columns, so the error names the first row
        // with a missing value whatever its column.
        check_nulls(
            &[
                (keys, names.customer_id()),
                (dates, names.date()),
                (amounts, names.amount()),
            ],
            rows,
        )?;
        Ok(Transactions {
            keys: read_keys(keys, names.customer_id())?,
            dates: read_dates(dates, names.date())?,
            amounts: read_amounts(amounts, names.amount())?,
        })
    }

    /// Number of rows read.
    pub fn len(&self) -> usize {
        self.dates.len()
    }

    /// Whether no rows were read.
    pub fn is_empty(&self) -> bool {
        self.dates.is_empty()
    }

    /// The dates read, one per row.
    pub fn dates(&self) -> &[Date] {
        &self.dates
    }

    /// The amounts read, one per row.
    pub fn amounts(&self) -> &[f64] {
        &self.amounts
    }

    /// Builds the transaction log, exactly as [`TransactionLog::from_columns`] would from the
    /// same keys, dates and amounts.
    ///
    /// # Errors
    /// Those of [`TransactionLog::from_columns`].
    pub fn to_log(&self, returns: ReturnPolicy) -> Result<TransactionLog> {
        self.with_keys(
            |k, d, a| TransactionLog::from_columns(k, d, a, returns),
            |k, d, a| TransactionLog::from_columns(k, d, a, returns),
            |k, d, a| TransactionLog::from_columns(k, d, a, returns),
            |k, d, a| TransactionLog::from_columns(k, d, a, returns),
            |k, d, a| TransactionLog::from_columns(k, d, a, returns),
        )
    }

    /// Summarises the rows at the configured observation end, exactly as
    /// [`CustomerSummaries::from_columns`] would from the same keys, dates and amounts (the
    /// fast path for integer keys).
    ///
    /// # Errors
    /// Those of [`CustomerSummaries::from_columns`].
    pub fn summarise(
        &self,
        returns: ReturnPolicy,
        cfg: &SummaryConfig,
    ) -> Result<CustomerSummaries> {
        self.with_keys(
            |k, d, a| CustomerSummaries::from_columns(k, d, a, returns, cfg),
            |k, d, a| CustomerSummaries::from_columns(k, d, a, returns, cfg),
            |k, d, a| CustomerSummaries::from_columns(k, d, a, returns, cfg),
            |k, d, a| CustomerSummaries::from_columns(k, d, a, returns, cfg),
            |k, d, a| CustomerSummaries::from_columns(k, d, a, returns, cfg),
        )
    }

    /// Calls the function for the key type read (one closure per type, because the columnar
    /// builders are generic over the key).
    #[allow(clippy::type_complexity)]
    fn with_keys<T>(
        &self,
        i32s: impl FnOnce(&[i32], &[Date], &[f64]) -> Result<T>,
        i64s: impl FnOnce(&[i64], &[Date], &[f64]) -> Result<T>,
        u32s: impl FnOnce(&[u32], &[Date], &[f64]) -> Result<T>,
        u64s: impl FnOnce(&[u64], &[Date], &[f64]) -> Result<T>,
        text: impl FnOnce(&[&str], &[Date], &[f64]) -> Result<T>,
    ) -> Result<T> {
        let (d, a) = (&self.dates[..], &self.amounts[..]);
        match &self.keys {
            Keys::I32(k) => i32s(k, d, a),
            Keys::I64(k) => i64s(k, d, a),
            Keys::U32(k) => u32s(k, d, a),
            Keys::U64(k) => u64s(k, d, a),
            Keys::Text(k) => text(k, d, a),
        }
    }
}

fn column_names(batch: &RecordBatch) -> String {
    let names: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    names.join(", ")
}

/// The first null over the columns, by row and then column order.
fn check_nulls(columns: &[(&[&dyn Array], &str)], rows: usize) -> Result<()> {
    let mut first: Option<(usize, usize)> = None;
    for (c, (parts, _)) in columns.iter().enumerate() {
        let mut base = 0;
        for part in *parts {
            if let Some(nulls) = part.logical_nulls()
                && nulls.null_count() > 0
                && let Some(i) = nulls.iter().position(|valid| !valid)
            {
                if first.is_none_or(|(r, _)| base + i < r) {
                    first = Some((base + i, c));
                }
                break;
            }
            base += part.len();
        }
    }
    debug_assert!(first.is_none_or(|(r, _)| r < rows));
    match first {
        Some((row, c)) => Err(Error::Missing {
            at: Position::at_row(row).with_column(columns[c].1),
        }),
        None => Ok(()),
    }
}

fn unsupported(column: &str, data_type: &DataType, accepted: &str) -> Error {
    Error::InvalidParameter {
        name: "column type",
        value: format!("{column}: {data_type}"),
        reason: format!("not supported; accepted: {accepted}"),
    }
}

/// The values of one primitive column over its parts: borrowed from a single part, else
/// concatenated once.
fn primitive_values<'a, T: ArrowPrimitiveType>(parts: &[&'a dyn Array]) -> Cow<'a, [T::Native]> {
    if let [one] = parts {
        Cow::Borrowed(one.as_primitive::<T>().values())
    } else {
        let mut v = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
        for p in parts {
            v.extend_from_slice(p.as_primitive::<T>().values());
        }
        Cow::Owned(v)
    }
}

/// The values of one primitive column widened to another type.
fn widened<T: ArrowPrimitiveType, U>(parts: &[&dyn Array], f: impl Fn(T::Native) -> U) -> Vec<U> {
    let mut v = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        v.extend(p.as_primitive::<T>().values().iter().map(|&x| f(x)));
    }
    v
}

const KEY_TYPES: &str =
    "Int8–Int64, UInt8–UInt64, Utf8, LargeUtf8, Utf8View, or a dictionary of text";

fn read_keys<'a>(parts: &[&'a dyn Array], column: &str) -> Result<Keys<'a>> {
    let data_type = parts[0].data_type();
    Ok(match data_type {
        DataType::Int32 => Keys::I32(primitive_values::<Int32Type>(parts)),
        DataType::Int64 => Keys::I64(primitive_values::<Int64Type>(parts)),
        DataType::UInt32 => Keys::U32(primitive_values::<UInt32Type>(parts)),
        DataType::UInt64 => Keys::U64(primitive_values::<UInt64Type>(parts)),
        DataType::Int8 => Keys::I32(Cow::Owned(widened::<Int8Type, _>(parts, i32::from))),
        DataType::Int16 => Keys::I32(Cow::Owned(widened::<Int16Type, _>(parts, i32::from))),
        DataType::UInt8 => Keys::U32(Cow::Owned(widened::<UInt8Type, _>(parts, u32::from))),
        DataType::UInt16 => Keys::U32(Cow::Owned(widened::<UInt16Type, _>(parts, u32::from))),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(..) => {
            let mut text = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
            for p in parts {
                push_text(&mut text, *p, column)?;
            }
            Keys::Text(text)
        }
        other => return Err(unsupported(column, other, KEY_TYPES)),
    })
}

/// Appends the text of a string array (or a dictionary of strings) as slices of its buffer.
fn push_text<'a>(out: &mut Vec<&'a str>, array: &'a dyn Array, column: &str) -> Result<()> {
    match array.data_type() {
        DataType::Utf8 => out.extend(string_values(array.as_string::<i32>())),
        DataType::LargeUtf8 => out.extend(string_values(array.as_string::<i64>())),
        DataType::Utf8View => {
            let a = array.as_string_view();
            out.extend((0..a.len()).map(|i| a.value(i)));
        }
        DataType::Dictionary(_, value_type)
            if matches!(
                value_type.as_ref(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            let dict = array.as_any_dictionary();
            let mut values = Vec::with_capacity(dict.values().len());
            push_text(&mut values, dict.values().as_ref(), column)?;
            // A key can point at a null value even where the key itself is valid; nulls were
            // checked on the logical (resolved) nulls, so every key used here names text.
            out.extend(dict.normalized_keys().into_iter().map(|k| values[k]));
        }
        other => return Err(unsupported(column, other, KEY_TYPES)),
    }
    Ok(())
}

fn string_values<O: arrow_array::OffsetSizeTrait>(
    a: &arrow_array::GenericStringArray<O>,
) -> impl Iterator<Item = &str> + '_ {
    (0..a.len()).map(|i| a.value(i))
}

const DATE_TYPES: &str =
    "Date32, Date64, or Timestamp without a time zone or with UTC or a fixed offset";

const DAY_SECONDS: i64 = 86_400;

fn read_dates(parts: &[&dyn Array], column: &str) -> Result<Vec<Date>> {
    let data_type = parts[0].data_type();
    // Each type becomes a day count: Date32 already is one; the rest are ticks since the
    // epoch, shifted by the zone's offset and floored to whole days (floor, not truncation,
    // so 23:00 on 1969-12-31 stays on that day).
    let (per_day, offset_seconds): (i64, i64) = match data_type {
        DataType::Date32 => (1, 0),
        DataType::Date64 => (DAY_SECONDS * 1_000, 0),
        DataType::Timestamp(unit, tz) => {
            let per_second = match unit {
                ArrowTimeUnit::Second => 1,
                ArrowTimeUnit::Millisecond => 1_000,
                ArrowTimeUnit::Microsecond => 1_000_000,
                ArrowTimeUnit::Nanosecond => 1_000_000_000,
            };
            let offset = match tz {
                None => 0,
                Some(tz) => fixed_offset_seconds(tz).ok_or_else(|| Error::InvalidParameter {
                    name: "time zone",
                    value: format!("{column}: {tz}"),
                    reason: "only UTC and fixed offsets (+02:00) are read; a named zone's \
                             offset depends on the date: cast the column to UTC or a fixed \
                             offset first"
                        .into(),
                })?,
            };
            (DAY_SECONDS * per_second, offset * per_second)
        }
        other => return Err(unsupported(column, other, DATE_TYPES)),
    };
    let ticks: Cow<[i64]> = match data_type {
        DataType::Date32 => Cow::Owned(widened::<Date32Type, _>(parts, i64::from)),
        DataType::Date64 => primitive_values::<Date64Type>(parts),
        DataType::Timestamp(ArrowTimeUnit::Second, _) => {
            primitive_values::<TimestampSecondType>(parts)
        }
        DataType::Timestamp(ArrowTimeUnit::Millisecond, _) => {
            primitive_values::<TimestampMillisecondType>(parts)
        }
        DataType::Timestamp(ArrowTimeUnit::Microsecond, _) => {
            primitive_values::<TimestampMicrosecondType>(parts)
        }
        DataType::Timestamp(ArrowTimeUnit::Nanosecond, _) => {
            primitive_values::<TimestampNanosecondType>(parts)
        }
        _ => unreachable!("checked above"),
    };
    ticks
        .iter()
        .enumerate()
        .map(|(row, &t)| {
            // i128: the offset cannot overflow whatever the tick.
            let days = (i128::from(t) + i128::from(offset_seconds)).div_euclid(i128::from(per_day));
            i64::try_from(days)
                .ok()
                .and_then(|d| Date::from_days_since_epoch(d).ok())
                .ok_or_else(|| Error::InvalidRecord {
                    at: Position::at_row(row).with_column(column),
                    reason: format!(
                        "date {t} ({data_type}) is {days} days from 1970-01-01, outside years 1–9999"
                    ),
                })
        })
        .collect()
}

/// The offset of `UTC`-like names and fixed offsets `±hh:mm`, `±hhmm`, `±hh`, in seconds.
fn fixed_offset_seconds(tz: &str) -> Option<i64> {
    if matches!(
        tz,
        "UTC" | "utc" | "Z" | "z" | "Etc/UTC" | "GMT" | "Etc/GMT"
    ) {
        return Some(0);
    }
    let (sign, rest) = match tz.as_bytes().first()? {
        b'+' => (1, &tz[1..]),
        b'-' => (-1, &tz[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|&c| c != ':').collect();
    let colons = rest.len() - digits.len();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || colons > 1 {
        return None;
    }
    let (h, m) = match digits.len() {
        2 if colons == 0 => (digits.parse::<i64>().ok()?, 0),
        4 if colons == 0 || rest.as_bytes().get(2) == Some(&b':') => (
            digits[..2].parse::<i64>().ok()?,
            digits[2..].parse::<i64>().ok()?,
        ),
        _ => return None,
    };
    (h <= 23 && m <= 59).then_some(sign * (h * 3_600 + m * 60))
}

const AMOUNT_TYPES: &str = "Float64, Float32, Int8–Int64, UInt8–UInt64, Decimal32–Decimal256";

fn read_amounts<'a>(parts: &[&'a dyn Array], column: &str) -> Result<Cow<'a, [f64]>> {
    let data_type = parts[0].data_type();
    Ok(match data_type {
        DataType::Float64 => primitive_values::<Float64Type>(parts),
        DataType::Float32 => Cow::Owned(widened::<Float32Type, _>(parts, f64::from)),
        DataType::Int8 => Cow::Owned(widened::<Int8Type, _>(parts, f64::from)),
        DataType::Int16 => Cow::Owned(widened::<Int16Type, _>(parts, f64::from)),
        DataType::Int32 => Cow::Owned(widened::<Int32Type, _>(parts, f64::from)),
        DataType::Int64 => Cow::Owned(widened::<Int64Type, _>(parts, |v| v as f64)),
        DataType::UInt8 => Cow::Owned(widened::<UInt8Type, _>(parts, f64::from)),
        DataType::UInt16 => Cow::Owned(widened::<UInt16Type, _>(parts, f64::from)),
        DataType::UInt32 => Cow::Owned(widened::<UInt32Type, _>(parts, f64::from)),
        DataType::UInt64 => Cow::Owned(widened::<UInt64Type, _>(parts, |v| v as f64)),
        DataType::Decimal32(_, s) => {
            let s = *s;
            Cow::Owned(widened::<Decimal32Type, _>(parts, |v| {
                decimal(f64::from(v), s)
            }))
        }
        DataType::Decimal64(_, s) => {
            let s = *s;
            Cow::Owned(widened::<Decimal64Type, _>(parts, |v| decimal(v as f64, s)))
        }
        DataType::Decimal128(_, s) => {
            let s = *s;
            Cow::Owned(widened::<Decimal128Type, _>(parts, |v| {
                decimal(v as f64, s)
            }))
        }
        DataType::Decimal256(_, s) => {
            let s = *s;
            Cow::Owned(widened::<Decimal256Type, _>(parts, |v| {
                // Through i128 when it fits (every value a 128-bit decimal holds: one
                // rounding); beyond, high · 2¹²⁸ + low, where |v| ≥ 2¹²⁷ keeps the sum's
                // rounding relative to v (adding the parts of a small negative v would
                // cancel).
                match v.to_i128() {
                    Some(small) => decimal(small as f64, s),
                    None => {
                        let (low, high) = v.to_parts();
                        decimal(high as f64 * 2f64.powi(128) + low as f64, s)
                    }
                }
            }))
        }
        other => return Err(unsupported(column, other, AMOUNT_TYPES)),
    })
}

/// An unscaled decimal divided by 10^scale: one correctly rounded division for scales up to
/// 22 (where 10^scale is exact), so the nearest `f64` to the decimal when the unscaled value
/// is exact.
fn decimal(unscaled: f64, scale: i8) -> f64 {
    if scale >= 0 {
        unscaled / 10f64.powi(i32::from(scale))
    } else {
        unscaled * 10f64.powi(-i32::from(scale))
    }
}

/// A result as an Arrow [`RecordBatch`]: one row per customer, the customer id first.
pub trait ToRecordBatch {
    /// The record batch.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] only if Arrow refuses the batch (not expected: the schema
    /// is fixed by the type).
    fn to_record_batch(&self) -> Result<RecordBatch>;
}

fn batch(
    columns: Vec<(&str, ArrayRef, bool)>,
    metadata: HashMap<String, String>,
) -> Result<RecordBatch> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, a, nullable)| Field::new(*name, a.data_type().clone(), *nullable))
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, metadata));
    RecordBatch::try_new(schema, columns.into_iter().map(|(_, a, _)| a).collect()).map_err(|e| {
        Error::InvalidParameter {
            name: "record batch",
            value: String::new(),
            reason: e.to_string(),
        }
    })
}

fn ids<'a>(ids: impl Iterator<Item = &'a CustomerId>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(ids.map(CustomerId::as_str)))
}

fn f64s<T>(rows: &[T], f: impl Fn(&T) -> f64) -> ArrayRef {
    Arc::new(Float64Array::from_iter_values(rows.iter().map(f)))
}

fn u32s<T>(rows: &[T], f: impl Fn(&T) -> u32) -> ArrayRef {
    Arc::new(UInt32Array::from_iter_values(rows.iter().map(f)))
}

fn dates<T>(rows: &[T], f: impl Fn(&T) -> Date) -> ArrayRef {
    Arc::new(Date32Array::from_iter_values(
        rows.iter().map(|r| f(r).days_since_epoch()),
    ))
}

/// The name of a time unit in the schema metadata.
fn unit_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Days => "days",
        TimeUnit::Weeks => "weeks",
        TimeUnit::Months => "months",
    }
}

/// The schema metadata key that records the unit of `recency` and `age`.
pub const UNIT_METADATA_KEY: &str = "custseg.unit";

/// Columns `customer_id` (Utf8), `first_purchase`, `last_purchase` (Date32), `frequency`
/// (UInt32, x), `recency` (t_x), `age` (T), `monetary` (z̄), `total_spend` (Float64),
/// `transactions`, `holdout_frequency` (UInt32), `holdout_spend` (Float64),
/// `holdout_transactions` (UInt32); the time unit in the schema metadata under
/// [`UNIT_METADATA_KEY`] (`days`, `weeks` or `months`). An empty slice gives a batch of no
/// rows (with the default unit, weeks).
impl ToRecordBatch for [CustomerSummary] {
    fn to_record_batch(&self) -> Result<RecordBatch> {
        let s = self;
        let unit = s.first().map_or(TimeUnit::Weeks, |c| c.unit);
        if let Some(other) = s.iter().find(|c| c.unit != unit) {
            return Err(Error::UnitMismatch {
                model: unit,
                data: other.unit,
            });
        }
        batch(
            vec![
                ("customer_id", ids(s.iter().map(|c| &c.customer_id)), false),
                ("first_purchase", dates(s, |c| c.first_purchase), false),
                ("last_purchase", dates(s, |c| c.last_purchase), false),
                ("frequency", u32s(s, |c| c.frequency), false),
                ("recency", f64s(s, |c| c.recency), false),
                ("age", f64s(s, |c| c.age), false),
                ("monetary", f64s(s, |c| c.monetary), false),
                ("total_spend", f64s(s, |c| c.total_spend), false),
                ("transactions", u32s(s, |c| c.transactions), false),
                ("holdout_frequency", u32s(s, |c| c.holdout_frequency), false),
                ("holdout_spend", f64s(s, |c| c.holdout_spend), false),
                (
                    "holdout_transactions",
                    u32s(s, |c| c.holdout_transactions),
                    false,
                ),
            ],
            HashMap::from([(UNIT_METADATA_KEY.to_string(), unit_name(unit).to_string())]),
        )
    }
}

/// As for a slice of summaries, with the configuration's unit even when there are no
/// customers.
impl ToRecordBatch for CustomerSummaries {
    fn to_record_batch(&self) -> Result<RecordBatch> {
        let b = self.as_slice().to_record_batch()?;
        let mut metadata = b.schema_ref().metadata().clone();
        metadata.insert(
            UNIT_METADATA_KEY.to_string(),
            unit_name(self.config().unit).to_string(),
        );
        let schema = Arc::new(Schema::new_with_metadata(
            b.schema_ref().fields().clone(),
            metadata,
        ));
        b.with_schema(schema).map_err(|e| Error::InvalidParameter {
            name: "record batch",
            value: String::new(),
            reason: e.to_string(),
        })
    }
}

/// Columns `customer_id`, `recency_days`, `frequency`, `monetary` (the values scored),
/// `revenue` (Float64), `r`, `f`, `m` (UInt8, the scores) and `rfm_cell` (Utf8, e.g. `"545"`).
impl ToRecordBatch for [RfmScore] {
    fn to_record_batch(&self) -> Result<RecordBatch> {
        let s = self;
        let u8s = |f: fn(&RfmScore) -> u8| -> ArrayRef {
            Arc::new(UInt8Array::from_iter_values(s.iter().map(f)))
        };
        batch(
            vec![
                ("customer_id", ids(s.iter().map(|c| &c.customer_id)), false),
                ("recency_days", f64s(s, |c| c.values.recency_days), false),
                ("frequency", f64s(s, |c| c.values.frequency), false),
                ("monetary", f64s(s, |c| c.values.monetary), false),
                ("revenue", f64s(s, |c| c.revenue), false),
                ("r", u8s(|c| c.cell.r), false),
                ("f", u8s(|c| c.cell.f), false),
                ("m", u8s(|c| c.cell.m), false),
                (
                    "rfm_cell",
                    Arc::new(StringArray::from_iter_values(
                        s.iter().map(|c| c.cell.code()),
                    )),
                    false,
                ),
            ],
            HashMap::new(),
        )
    }
}

/// Columns `customer_id`, `p_alive`, `expected_purchases`, `expected_spend`, `clv`
/// (Float64).
impl ToRecordBatch for [CustomerValue] {
    fn to_record_batch(&self) -> Result<RecordBatch> {
        let s = self;
        batch(
            vec![
                ("customer_id", ids(s.iter().map(|c| &c.customer_id)), false),
                ("p_alive", f64s(s, |c| c.p_alive), false),
                (
                    "expected_purchases",
                    f64s(s, |c| c.expected_purchases),
                    false,
                ),
                ("expected_spend", f64s(s, |c| c.expected_spend), false),
                ("clv", f64s(s, |c| c.clv), false),
            ],
            HashMap::new(),
        )
    }
}

/// Columns `customer_id`, `risk` (Float64), `tier` (Utf8: `low`, `medium`, `high`,
/// `critical`) and `expected_remaining_lifetime` (Float64, null where the scorer gives none).
impl ToRecordBatch for [ChurnRisk] {
    fn to_record_batch(&self) -> Result<RecordBatch> {
        let s = self;
        let tier = |t: RiskTier| match t {
            RiskTier::Low => "low",
            RiskTier::Medium => "medium",
            RiskTier::High => "high",
            RiskTier::Critical => "critical",
        };
        batch(
            vec![
                ("customer_id", ids(s.iter().map(|c| &c.customer_id)), false),
                ("risk", f64s(s, |c| c.risk), false),
                (
                    "tier",
                    Arc::new(StringArray::from_iter_values(
                        s.iter().map(|c| tier(c.tier)),
                    )),
                    false,
                ),
                (
                    "expected_remaining_lifetime",
                    Arc::new(Float64Array::from_iter(
                        s.iter().map(|c| c.expected_remaining_lifetime),
                    )),
                    true,
                ),
            ],
            HashMap::new(),
        )
    }
}

impl<T> ToRecordBatch for Vec<T>
where
    [T]: ToRecordBatch,
{
    fn to_record_batch(&self) -> Result<RecordBatch> {
        self.as_slice().to_record_batch()
    }
}

/// A record batch of per-customer numbers beside the customer ids: P(alive), expected
/// purchases or any other `_batch` answer, and segment labels.
///
/// Columns are added in order after `customer_id`; every column must have one value per
/// customer and a name not used before.
///
/// ```
/// use custseg::arrow::ScoreBatch;
/// use custseg::clv::{BgNbd, TransactionModel};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
///
/// let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
/// let model = BgNbd::new(0.243, 4.414, 0.793, 2.426)?;
/// let batch = ScoreBatch::new(summaries.iter().map(|s| s.customer_id()))
///     .with_column("p_alive", model.p_alive_batch(&summaries)?)?
///     .with_column("expected_purchases_39", model.expected_purchases_batch(&summaries, 39.0)?)?
///     .finish()?;
/// assert_eq!(batch.num_rows(), summaries.len());
/// assert_eq!(batch.num_columns(), 3);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ScoreBatch {
    ids: ArrayRef,
    rows: usize,
    columns: Vec<(String, ArrayRef, bool)>,
}

impl ScoreBatch {
    /// A batch of these customers, in this order, with no score yet.
    pub fn new<'a>(customer_ids: impl IntoIterator<Item = &'a CustomerId>) -> Self {
        let ids = ids(customer_ids.into_iter());
        ScoreBatch {
            rows: ids.len(),
            ids,
            columns: Vec::new(),
        }
    }

    fn push(mut self, name: &str, array: ArrayRef, nullable: bool) -> Result<Self> {
        if array.len() != self.rows {
            return Err(Error::LengthMismatch {
                what: "score column",
                got: array.len(),
                expected: self.rows,
            });
        }
        if name == "customer_id" || self.columns.iter().any(|(n, _, _)| n == name) {
            return Err(Error::InvalidParameter {
                name: "column",
                value: name.to_string(),
                reason: "the name is already used in this batch".into(),
            });
        }
        self.columns.push((name.to_string(), array, nullable));
        Ok(self)
    }

    /// Adds a column of numbers (Float64).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when there is not one value per customer;
    /// [`Error::InvalidParameter`] when the name is taken.
    pub fn with_column(self, name: &str, values: impl AsRef<[f64]>) -> Result<Self> {
        let a = Arc::new(Float64Array::from(values.as_ref().to_vec()));
        self.push(name, a, false)
    }

    /// Adds a column of segment labels (UInt32, null where the model assigned none).
    ///
    /// # Errors
    /// As [`ScoreBatch::with_column`]; [`Error::InvalidParameter`] for a label beyond
    /// `u32::MAX`.
    pub fn with_segments(self, name: &str, labels: impl AsRef<[Option<usize>]>) -> Result<Self> {
        let labels = labels.as_ref();
        let mut out = Vec::with_capacity(labels.len());
        for l in labels {
            out.push(match l {
                Some(l) => Some(u32::try_from(*l).map_err(|_| Error::InvalidParameter {
                    name: "segment label",
                    value: l.to_string(),
                    reason: "at most 4,294,967,295".into(),
                })?),
                None => None,
            });
        }
        let a = Arc::new(UInt32Array::from(out));
        self.push(name, a, true)
    }

    /// Adds a column of text, e.g. segment names (Utf8).
    ///
    /// # Errors
    /// As [`ScoreBatch::with_column`].
    pub fn with_text<S: AsRef<str>>(self, name: &str, values: impl AsRef<[S]>) -> Result<Self> {
        let a = Arc::new(StringArray::from_iter_values(
            values.as_ref().iter().map(|s| s.as_ref()),
        ));
        self.push(name, a, false)
    }

    /// The record batch.
    ///
    /// # Errors
    /// As [`ToRecordBatch::to_record_batch`].
    pub fn finish(self) -> Result<RecordBatch> {
        let mut columns = vec![("customer_id", self.ids, false)];
        columns.extend(
            self.columns
                .iter()
                .map(|(n, a, null)| (n.as_str(), a.clone(), *null)),
        );
        batch(columns, HashMap::new())
    }
}

/// Reads summaries back from record batches with the columns [`ToRecordBatch`] writes for
/// them (any order; extra columns ignored), each row checked as
/// `CustomerSummary::try_from(SummaryRecord)` checks it.
///
/// The unit is `unit`; a batch whose metadata records another unit under
/// [`UNIT_METADATA_KEY`] is refused.
///
/// # Errors
/// [`Error::InvalidParameter`] for a missing column or a column of another type;
/// [`Error::UnitMismatch`] for metadata naming another unit; [`Error::Missing`] for a null;
/// [`Error::InvalidRecord`] (row, customer and column named) for an inconsistent row.
pub fn summaries_from_record_batches(
    batches: &[RecordBatch],
    unit: TimeUnit,
) -> Result<Vec<CustomerSummary>> {
    let mut out = Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
    let mut base = 0;
    for batch in batches {
        if let Some(u) = batch.schema_ref().metadata().get(UNIT_METADATA_KEY)
            && u != unit_name(unit)
        {
            let recorded = [TimeUnit::Days, TimeUnit::Weeks, TimeUnit::Months]
                .into_iter()
                .find(|t| unit_name(*t) == u);
            return Err(match recorded {
                Some(model) => Error::UnitMismatch { model, data: unit },
                None => Error::InvalidParameter {
                    name: UNIT_METADATA_KEY,
                    value: u.clone(),
                    reason: "one of days, weeks, months".into(),
                },
            });
        }
        let col = |name: &'static str, want: DataType| -> Result<&ArrayRef> {
            let a = batch
                .column_by_name(name)
                .ok_or_else(|| Error::InvalidParameter {
                    name: "column",
                    value: name.to_string(),
                    reason: format!("summaries need it (the batch has {})", column_names(batch)),
                })?;
            if *a.data_type() != want {
                return Err(Error::InvalidParameter {
                    name: "column type",
                    value: format!("{name}: {}", a.data_type()),
                    reason: format!("summaries store it as {want}"),
                });
            }
            if let Some(i) = a.logical_nulls().and_then(|n| n.iter().position(|v| !v)) {
                return Err(Error::Missing {
                    at: Position::at_row(base + i).with_column(name),
                });
            }
            Ok(a)
        };
        // Text ids in any of Arrow's three string layouts (engines differ in which they emit).
        let id_column = batch.column_by_name("customer_id");
        let id_type = id_column.map_or(DataType::Utf8, |c| c.data_type().clone());
        let id_type = match id_type {
            DataType::LargeUtf8 | DataType::Utf8View => id_type,
            _ => DataType::Utf8,
        };
        let ids = col("customer_id", id_type)?;
        let id = |i: usize| -> &str {
            match ids.data_type() {
                DataType::LargeUtf8 => ids.as_string::<i64>().value(i),
                DataType::Utf8View => ids.as_string_view().value(i),
                _ => ids.as_string::<i32>().value(i),
            }
        };
        let date = |n| Ok::<_, Error>(col(n, DataType::Date32)?.as_primitive::<Date32Type>());
        let count = |n| Ok::<_, Error>(col(n, DataType::UInt32)?.as_primitive::<UInt32Type>());
        let num = |n| Ok::<_, Error>(col(n, DataType::Float64)?.as_primitive::<Float64Type>());
        let (first, last) = (date("first_purchase")?, date("last_purchase")?);
        let (x, tx, n) = (
            count("frequency")?,
            count("transactions")?,
            count("holdout_frequency")?,
        );
        let hx = count("holdout_transactions")?;
        let (recency, age, monetary) = (num("recency")?, num("age")?, num("monetary")?);
        let (total, hspend) = (num("total_spend")?, num("holdout_spend")?);
        for i in 0..batch.num_rows() {
            let row = base + i;
            let day = |a: &arrow_array::Date32Array, name: &str| {
                Date::from_days_since_epoch(i64::from(a.value(i))).map_err(|_| {
                    Error::InvalidRecord {
                        at: Position::at_row(row).with_column(name),
                        reason: format!("day {} is outside years 1–9999", a.value(i)),
                    }
                })
            };
            let record = SummaryRecord {
                customer_id: CustomerId::from(id(i)),
                first_purchase: day(first, "first_purchase")?,
                last_purchase: day(last, "last_purchase")?,
                frequency: x.value(i),
                recency: recency.value(i),
                age: age.value(i),
                unit,
                monetary: monetary.value(i),
                total_spend: total.value(i),
                transactions: tx.value(i),
                holdout_frequency: n.value(i),
                holdout_spend: hspend.value(i),
                holdout_transactions: hx.value(i),
            };
            out.push(CustomerSummary::try_from(record).map_err(|e| e.amend(|p| p.with_row(row)))?);
        }
        base += batch.num_rows();
    }
    Ok(out)
}

/// The columns of a partial history: `customer_id` (Utf8), `date` (Date32), `spend` and
/// `residual` (Float64: the day's running sum and its rounding errors, so a merge rounds
/// once), `transactions` (Int64: rows that day; signed because engines such as Spark have no
/// unsigned types).
pub const PARTIAL_HISTORY_COLUMNS: [&str; 5] =
    ["customer_id", "date", "spend", "residual", "transactions"];

/// The mergeable per-customer state of one partition of a transaction log, as a record batch
/// of one row per customer and purchase day ([`PARTIAL_HISTORY_COLUMNS`]).
///
/// This is the map side of a distributed summary (Spark's `mapInArrow`, a Flight service, any
/// engine without the DataFusion aggregate): each partition of the rows, in any split, becomes
/// a partial history; the partials are shuffled by customer and
/// [`summaries_from_partial_histories`] merges them. The merged summaries equal
/// [`Transactions::summarise`] over all the rows at once, to the bit: a day's spend travels as
/// its running sum plus its rounding errors, so the merge still rounds once.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Date32Array, Float64Array, Int64Array, RecordBatch};
/// use custseg::arrow::{partial_histories, summaries_from_partial_histories, Transactions};
/// use custseg::{ReturnPolicy, SummaryConfig};
///
/// let part = |ids: Vec<i64>, days: Vec<i32>, amounts: Vec<f64>| {
///     let (k, d, a) = (Int64Array::from(ids), Date32Array::from(days), Float64Array::from(amounts));
///     let tx = Transactions::from_arrays(&k, &d, &a)?;
///     partial_histories(&tx, ReturnPolicy::Error)
/// };
/// // Two partitions split row by row: customer 7 bought on day 19_800 in both.
/// let a = part(vec![7, 8], vec![19_800, 19_801], vec![0.1, 5.0])?;
/// let b = part(vec![7, 7], vec![19_800, 19_830], vec![0.2, 1.0])?;
/// let cfg = SummaryConfig::new(custseg::Date::from_days_since_epoch(19_900)?);
/// let merged = summaries_from_partial_histories(&[a, b], &cfg)?;
/// let seven = merged.iter().find(|s| s.customer_id().as_str() == "7").unwrap();
/// assert_eq!((seven.frequency(), seven.transactions()), (1, 3));
/// assert_eq!(seven.total_spend(), 1.3); // 0.1 + 0.2 rounded once, then + 1.0
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for [`ReturnPolicy::Net`]: netting a return against earlier
/// purchases needs every row of the customer, so with returns to net, repartition the rows
/// by customer and summarise each partition whole; then the errors of
/// [`Transactions::to_log`].
pub fn partial_histories(tx: &Transactions<'_>, returns: ReturnPolicy) -> Result<RecordBatch> {
    if returns == ReturnPolicy::Net {
        return Err(Error::InvalidParameter {
            name: "returns",
            value: "Net".into(),
            reason: "netting needs every row of a customer in one partition: repartition by \
                     customer and summarise whole partitions, or use Error or Drop"
                .into(),
        });
    }
    let log = tx.to_log(returns)?;
    let (offsets, dates, amounts) = (log.offsets(), log.dates(), log.amounts());
    let days = dates.len();
    let mut ids = arrow_array::builder::StringBuilder::with_capacity(days, days * 8);
    let (mut day, mut spend, mut residual, mut rows) = (
        Vec::with_capacity(days),
        Vec::with_capacity(days),
        Vec::with_capacity(days),
        Vec::with_capacity(days),
    );
    for (c, id) in log.customer_ids().iter().enumerate() {
        let (lo, hi) = (offsets[c], offsets[c + 1]);
        for (date, sum, errors, n) in
            crate::data::day_sums_of_rows(&dates[lo..hi], &amounts[lo..hi])
        {
            ids.append_value(id.as_str());
            day.push(date.days_since_epoch());
            spend.push(sum);
            residual.push(errors);
            rows.push(i64::from(n));
        }
    }
    batch(
        vec![
            ("customer_id", Arc::new(ids.finish()), false),
            ("date", Arc::new(Date32Array::from(day)), false),
            ("spend", Arc::new(Float64Array::from(spend)), false),
            ("residual", Arc::new(Float64Array::from(residual)), false),
            (
                "transactions",
                Arc::new(arrow_array::Int64Array::from(rows)),
                false,
            ),
        ],
        HashMap::new(),
    )
}

/// One row of a partial history, read and checked.
#[derive(Clone, Copy)]
struct PartialDay {
    day: i32,
    spend: f64,
    residual: f64,
    rows: u64,
}

/// Merges partial histories ([`partial_histories`], from any partitioning of the rows) and
/// summarises every customer at the configured observation end. Customers come out in the
/// order they first appear in the batches.
///
/// # Errors
/// [`Error::InvalidParameter`] for a missing column or one of another type (`customer_id`
/// as Utf8, LargeUtf8 or Utf8View; `transactions` as Int32, Int64 or UInt32); [`Error::Missing`]
/// for a null; [`Error::InvalidRecord`] naming the row, customer and column of a negative or
/// non-finite spend, a day outside years 1–9999 or fewer than one transaction;
/// [`Error::Overflow`] for a day whose merged spend or row count overflows; then the errors
/// of [`PurchaseHistories::summarise`](crate::PurchaseHistories::summarise).
pub fn summaries_from_partial_histories(
    batches: &[RecordBatch],
    cfg: &SummaryConfig,
) -> Result<CustomerSummaries> {
    cfg.validate()?;
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(CustomerId, Vec<PartialDay>)> = Vec::new();
    let mut base = 0;
    for batch in batches {
        let column = |name: &str| -> Result<&ArrayRef> {
            let a = batch
                .column_by_name(name)
                .ok_or_else(|| Error::InvalidParameter {
                    name: "column",
                    value: name.to_string(),
                    reason: format!(
                        "partial histories need it (the batch has {})",
                        column_names(batch)
                    ),
                })?;
            if let Some(i) = a.logical_nulls().and_then(|n| n.iter().position(|v| !v)) {
                return Err(Error::Missing {
                    at: Position::at_row(base + i).with_column(name),
                });
            }
            Ok(a)
        };
        let typed = |name: &str, want: DataType| -> Result<&ArrayRef> {
            let a = column(name)?;
            if *a.data_type() != want {
                return Err(Error::InvalidParameter {
                    name: "column type",
                    value: format!("{name}: {}", a.data_type()),
                    reason: format!("partial histories store it as {want}"),
                });
            }
            Ok(a)
        };
        let ids = column("customer_id")?;
        if !matches!(
            ids.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) {
            return Err(unsupported(
                "customer_id",
                ids.data_type(),
                "Utf8, LargeUtf8, Utf8View",
            ));
        }
        let id = |i: usize| -> &str {
            match ids.data_type() {
                DataType::LargeUtf8 => ids.as_string::<i64>().value(i),
                DataType::Utf8View => ids.as_string_view().value(i),
                _ => ids.as_string::<i32>().value(i),
            }
        };
        let days = typed("date", DataType::Date32)?.as_primitive::<Date32Type>();
        let spend = typed("spend", DataType::Float64)?.as_primitive::<Float64Type>();
        let residual = typed("residual", DataType::Float64)?.as_primitive::<Float64Type>();
        let counts = column("transactions")?;
        let count: Box<dyn Fn(usize) -> i64> = match counts.data_type() {
            DataType::Int64 => Box::new(|i| counts.as_primitive::<Int64Type>().value(i)),
            DataType::Int32 => Box::new(|i| i64::from(counts.as_primitive::<Int32Type>().value(i))),
            DataType::UInt32 => {
                Box::new(|i| i64::from(counts.as_primitive::<UInt32Type>().value(i)))
            }
            other => return Err(unsupported("transactions", other, "Int32, Int64, UInt32")),
        };
        for i in 0..batch.num_rows() {
            let key = id(i);
            let at = |column: &str| {
                Position::at_row(base + i)
                    .with_customer(key)
                    .with_column(column)
            };
            let d = PartialDay {
                day: days.value(i),
                spend: spend.value(i),
                residual: residual.value(i),
                rows: u64::try_from(count(i)).unwrap_or(0),
            };
            if Date::from_days_since_epoch(i64::from(d.day)).is_err() {
                return Err(Error::InvalidRecord {
                    at: at("date"),
                    reason: format!("day {} is outside years 1–9999", d.day),
                });
            }
            if !(d.spend.is_finite() && d.residual.is_finite() && d.spend + d.residual >= 0.0) {
                return Err(Error::InvalidRecord {
                    at: at("spend"),
                    reason: format!(
                        "spend {} + residual {} (finite and ≥ 0)",
                        d.spend, d.residual
                    ),
                });
            }
            if d.rows == 0 {
                return Err(Error::InvalidRecord {
                    at: at("transactions"),
                    reason: format!("{} rows (at least one)", count(i)),
                });
            }
            let g = match index.get(key) {
                Some(&g) => g,
                None => {
                    index.insert(key.to_string(), groups.len());
                    groups.push((CustomerId::from(key), Vec::new()));
                    groups.len() - 1
                }
            };
            groups[g].1.push(d);
        }
        base += batch.num_rows();
    }
    let histories = groups
        .into_par_iter()
        .map(|(id, mut days)| {
            let history = merge_partial_days(&mut days)
                .and_then(CustomerHistory::from_days)
                .map_err(|e| e.amend(|p| p.with_customer(&id)))?;
            Ok((id, history))
        })
        .collect::<Result<Vec<_>>>()?;
    PurchaseHistories::try_from(histories)?.summarise(cfg)
}

/// One customer's partial days sorted and united: same-day sums added with their rounding
/// errors kept, each day rounded once at the end.
fn merge_partial_days(days: &mut [PartialDay]) -> Result<Vec<PurchaseDay>> {
    days.sort_by_key(|d| d.day);
    let mut out: Vec<PurchaseDay> = Vec::with_capacity(days.len());
    let mut i = 0;
    while i < days.len() {
        let mut acc = days[i];
        i += 1;
        while i < days.len() && days[i].day == acc.day {
            let d = days[i];
            let (s, e) = crate::data::two_sum(acc.spend, d.spend);
            (acc.spend, acc.residual) = (s, acc.residual + d.residual + e);
            acc.rows = acc.rows.saturating_add(d.rows);
            i += 1;
        }
        let date = Date::from_days_since_epoch(i64::from(acc.day))?;
        let transactions = u32::try_from(acc.rows).map_err(|_| Error::Overflow {
            at: Position::in_column("transactions"),
            quantity: "rows of one day",
            value: acc.rows as f64,
        })?;
        let spend = crate::error::finite_or_overflow("spend of one day", acc.spend + acc.residual)?;
        out.push(PurchaseDay {
            date,
            spend,
            transactions,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_offsets() {
        assert_eq!(fixed_offset_seconds("UTC"), Some(0));
        assert_eq!(fixed_offset_seconds("+02:00"), Some(7_200));
        assert_eq!(fixed_offset_seconds("-0530"), Some(-19_800));
        assert_eq!(fixed_offset_seconds("+05"), Some(18_000));
        assert_eq!(fixed_offset_seconds("+24:00"), None);
        assert_eq!(fixed_offset_seconds("+2:00"), None);
        assert_eq!(fixed_offset_seconds("Europe/Paris"), None);
        assert_eq!(fixed_offset_seconds("+02::0"), None);
        assert_eq!(fixed_offset_seconds("+"), None);
    }

    #[test]
    fn decimals_round_once() {
        assert_eq!(decimal(1999.0, 2), 19.99);
        assert_eq!(decimal(5.0, -3), 5_000.0);
        assert_eq!(decimal(-7.0, 1), -0.7);
    }
}
