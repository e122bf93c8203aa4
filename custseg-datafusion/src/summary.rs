//! `custseg_summary`: the per-customer summary as a SQL aggregate.
//!
//! ```sql
//! SELECT customer_id,
//!        custseg_summary(date, amount, DATE '1997-09-30', DATE '1998-06-30', 'weeks') AS s
//! FROM transactions
//! GROUP BY customer_id
//! ```
//!
//! Arguments: the purchase date (cast to `Date32`; a timestamp with a time zone gives the
//! date in that zone), the amount (cast to `Float64`), then constants: the observation end,
//! optionally the holdout end (`NULL` for none), the unit of recency and age (`'days'`,
//! `'weeks'` — the default — or `'months'`) and the purchase period (`'day'` — the default —,
//! `'week'` or `'month'`: purchases in one period count once).
//!
//! The result is a struct with the fields of a [`CustomerSummary`](custseg::CustomerSummary)
//! (see [`summary_fields`]), or `NULL` for a customer whose first purchase is after the
//! observation end (not a customer yet then). Read a field with `s['frequency']`.
//!
//! **State.** The aggregate's partial state is the crate's mergeable per-customer state, a
//! [`CustomerHistory`]: the customer's purchase days, each with its row count and its spend.
//! It travels as three columns: the first day and its spend as plain `Date32` / `Float64`
//! values when that day is a single row (as every row is when DataFusion skips partial
//! aggregation — then the state is the input columns themselves, no copy), and every other
//! day in a list of structs (`day`, `spend`, `residual`, `rows`; null when there is none).
//! The spend travels as a pair —
//! the running sum and the rounding errors so far — so a day's spend is the sum of its
//! amounts rounded once, whatever the order in which the engine meets the rows and merges
//! the partial states. Partitions summarise their rows, the states merge (days united,
//! same-day spend and rows added), and the merged history is summarised once at the end: the
//! result is the in-process [`TransactionLog::summarise`](custseg::TransactionLog::summarise)
//! of the same rows, bit for bit, which rounds each day's sum once too. (For amounts of
//! ordinary magnitudes; a day mixing amounts more than about 10¹⁵ apart in magnitude can
//! differ in the last bit.)
//!
//! **Errors.** A null date or amount, a negative or non-finite amount, a date outside years
//! 1–9999, and arguments that are not constants of the right kind are DataFusion errors
//! (execution or plan errors) that name the function, the value and the argument.

use std::sync::Arc;

use custseg::{
    CustomerHistory, CustomerId, Date, PurchaseDay, PurchasePeriod, SummaryConfig, TimeUnit,
};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Array, ListArray, StringArray,
    StructArray, UInt32Array,
};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Field, FieldRef, Fields, Float64Type, UInt32Type,
};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;

use crate::custseg_error;

/// The aggregate's name in SQL.
pub const NAME: &str = "custseg_summary";

/// The fields of the summary struct, in order: `frequency` (UInt32, x: repeat purchase
/// periods), `recency` (t_x), `age` (T), `monetary` (z̄, mean repeat spend), `total_spend`
/// (Float64), `transactions` (UInt32, rows), `first_purchase`, `last_purchase` (Date32),
/// `holdout_frequency` (UInt32), `holdout_spend` (Float64), `holdout_transactions` (UInt32),
/// `unit` (Utf8: `days`, `weeks` or `months`, the unit of recency and age).
pub fn summary_fields() -> Fields {
    Fields::from(vec![
        Field::new("frequency", DataType::UInt32, false),
        Field::new("recency", DataType::Float64, false),
        Field::new("age", DataType::Float64, false),
        Field::new("monetary", DataType::Float64, false),
        Field::new("total_spend", DataType::Float64, false),
        Field::new("transactions", DataType::UInt32, false),
        Field::new("first_purchase", DataType::Date32, false),
        Field::new("last_purchase", DataType::Date32, false),
        Field::new("holdout_frequency", DataType::UInt32, false),
        Field::new("holdout_spend", DataType::Float64, false),
        Field::new("holdout_transactions", DataType::UInt32, false),
        Field::new("unit", DataType::Utf8, false),
    ])
}

/// The name of a unit as the struct's `unit` field and the SQL argument write it.
pub(crate) fn unit_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Days => "days",
        TimeUnit::Months => "months",
        _ => "weeks",
    }
}

/// The unit named by text (the SQL argument, the struct's field).
pub(crate) fn parse_unit(text: &str) -> Option<TimeUnit> {
    match text.to_ascii_lowercase().as_str() {
        "days" | "day" => Some(TimeUnit::Days),
        "weeks" | "week" => Some(TimeUnit::Weeks),
        "months" | "month" => Some(TimeUnit::Months),
        _ => None,
    }
}

/// The per-customer summary aggregate (see the [module docs](self)).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct SummaryUdaf {
    signature: Signature,
}

impl Default for SummaryUdaf {
    fn default() -> Self {
        SummaryUdaf {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// The fields of a day in the state's list of further days.
fn day_fields() -> Fields {
    Fields::from(vec![
        Field::new("day", DataType::Date32, false),
        Field::new("spend", DataType::Float64, false),
        Field::new("residual", DataType::Float64, false),
        Field::new("rows", DataType::UInt32, false),
    ])
}

/// The type of the state's list of further days.
fn days_type() -> DataType {
    DataType::List(Arc::new(Field::new_list_field(
        DataType::Struct(day_fields()),
        false,
    )))
}

impl AggregateUDFImpl for SummaryUdaf {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(3..=6).contains(&arg_types.len()) {
            return plan_err!(
                "{NAME}(date, amount, observation_end [, holdout_end [, unit [, period]]]) takes 3 to 6 arguments, got {}",
                arg_types.len()
            );
        }
        let date_like = |t: &DataType| {
            matches!(
                t,
                DataType::Date32
                    | DataType::Date64
                    | DataType::Timestamp(..)
                    | DataType::Utf8
                    | DataType::LargeUtf8
                    | DataType::Utf8View
                    | DataType::Null
            )
        };
        for (i, name) in [(0, "date"), (2, "observation_end")] {
            if !date_like(&arg_types[i]) {
                return plan_err!("{NAME}: {name} must be a date, got {}", arg_types[i]);
            }
        }
        if arg_types.len() > 3 && !date_like(&arg_types[3]) {
            return plan_err!(
                "{NAME}: holdout_end must be a date or NULL, got {}",
                arg_types[3]
            );
        }
        if !(arg_types[1].is_numeric() || arg_types[1] == DataType::Null) {
            return plan_err!("{NAME}: amount must be a number, got {}", arg_types[1]);
        }
        let mut out = vec![DataType::Date32, DataType::Float64, DataType::Date32];
        if arg_types.len() > 3 {
            out.push(DataType::Date32);
        }
        out.extend(arg_types[out.len()..].iter().map(|_| DataType::Utf8));
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(summary_fields()))
    }

    fn is_nullable(&self) -> bool {
        true
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                format!("{}[day]", args.name),
                DataType::Date32,
                true,
            )),
            Arc::new(Field::new(
                format!("{}[spend]", args.name),
                DataType::Float64,
                true,
            )),
            Arc::new(Field::new(
                format!("{}[days]", args.name),
                days_type(),
                true,
            )),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(OneCustomer(Histories::new(config(&args)?))))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(Histories::new(config(&args)?)))
    }
}

/// The constant arguments as a summary configuration, checked once per query.
fn config(args: &AccumulatorArgs) -> Result<SummaryConfig> {
    let literal = |i: usize, what: &str| -> Result<Option<ScalarValue>> {
        let Some(expr) = args.exprs.get(i) else {
            return Ok(None);
        };
        match expr.downcast_ref::<Literal>() {
            Some(lit) if lit.value().is_null() => Ok(None),
            Some(lit) => Ok(Some(lit.value().clone())),
            None => plan_err!("{NAME}: {what} must be a constant, not a column or expression"),
        }
    };
    let date = |i: usize, what: &str| -> Result<Option<Date>> {
        match literal(i, what)? {
            None => Ok(None),
            Some(ScalarValue::Date32(Some(d))) => Date::from_days_since_epoch(i64::from(d))
                .map(Some)
                .map_err(|e| custseg_error(NAME, e)),
            Some(other) => plan_err!("{NAME}: {what} must be a date, got {other}"),
        }
    };
    let text = |i: usize, what: &str| -> Result<Option<String>> {
        match literal(i, what)? {
            None => Ok(None),
            Some(v) => match v.try_as_str() {
                Some(Some(s)) => Ok(Some(s.to_string())),
                _ => plan_err!("{NAME}: {what} must be text, got {v}"),
            },
        }
    };
    let Some(end) = date(2, "observation_end")? else {
        return plan_err!("{NAME}: observation_end must not be NULL");
    };
    let mut cfg = SummaryConfig::new(end);
    if let Some(h) = date(3, "holdout_end")? {
        cfg = cfg.with_holdout_end(h);
    }
    if let Some(u) = text(4, "unit")? {
        let Some(unit) = parse_unit(&u) else {
            return plan_err!("{NAME}: unit must be 'days', 'weeks' or 'months', got '{u}'");
        };
        cfg = cfg.with_unit(unit);
    }
    if let Some(p) = text(5, "period")? {
        let period = match p.to_ascii_lowercase().as_str() {
            "day" | "days" => PurchasePeriod::Day,
            "week" | "weeks" => PurchasePeriod::Week,
            "month" | "months" => PurchasePeriod::Month,
            _ => return plan_err!("{NAME}: period must be 'day', 'week' or 'month', got '{p}'"),
        };
        cfg = cfg.with_period(period);
    }
    cfg.validate().map_err(|e| custseg_error(NAME, e))?;
    Ok(cfg)
}

/// One purchase day of one group: its spend kept exactly as a pair (the rounded running
/// sum and the rounding errors so far, Knuth's two-sum), so that a day's spend is its
/// amounts' sum rounded once whatever the order in which rows and partial states arrive —
/// the rounding the crate's in-process summaries use.
#[derive(Debug, Clone, Copy)]
struct Day {
    day: i32,
    rows: u32,
    spend: f64,
    residual: f64,
}

impl Day {
    /// A day read from a partial state, checked as a row is: a date the crate knows, a
    /// finite spend and residual, a spend not negative, at least one row.
    fn checked(self) -> Result<Day> {
        day_of(self.day)?;
        let fine = self.spend.is_finite()
            && self.residual.is_finite()
            && self.spend >= 0.0
            && self.rows > 0;
        if !fine {
            return exec_err!("{NAME}: a partial state holds an invalid day");
        }
        Ok(self)
    }
}

/// A row, or a day of a partial state, in the arena: 16 bytes. Nearly every entry is one
/// row (one transaction, no residual), and the arena's size is what costs at scale (its
/// fresh pages); a day that is more than one row is kept in the side table of
/// [`Histories::extras`], its index written into `spend` as −(index + 1) (a spend is never
/// negative).
#[derive(Debug, Clone, Copy)]
struct Entry {
    group: u32,
    day: i32,
    spend: f64,
}

impl Entry {
    /// The entry of a day of group `group`, its details in `extras` unless it is one row.
    fn new(group: u32, d: Day, extras: &mut Vec<Day>) -> Entry {
        let spend = if d.rows == 1 && d.residual == 0.0 {
            d.spend
        } else {
            extras.push(d);
            -(extras.len() as f64)
        };
        Entry {
            group,
            day: d.day,
            spend,
        }
    }

    /// The day this entry stands for.
    fn day(&self, extras: &[Day]) -> Day {
        if self.spend >= 0.0 {
            Day {
                day: self.day,
                rows: 1,
                spend: self.spend,
                residual: 0.0,
            }
        } else {
            extras[(-self.spend) as usize - 1]
        }
    }
}

/// `(s, e)` with `s = fl(a + b)` and `s + e = a + b` exactly.
fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// A row's amount must be finite and not negative.
fn check_amount(date: Date, amount: f64) -> Result<()> {
    if !(amount.is_finite() && amount >= 0.0) {
        return exec_err!(
            "{NAME}: amount {amount} on {date} is negative or not finite; \
             filter returns out (WHERE amount >= 0) or net them first"
        );
    }
    Ok(())
}

/// Every group's days in one flat arena. Rows and merged states are appended as they come
/// (no per-group allocation, no search per row: a group's days are a few among millions of
/// groups, and the engine meets them in date order, group after group); the days are put in
/// (group, date) order and same-day entries added only when a result or a state is asked
/// for, by a counting sort on the group and a sort of each group's few days.
#[derive(Debug)]
struct Histories {
    cfg: SummaryConfig,
    groups: usize,
    entries: Vec<Entry>,
    /// The days of entries that are more than one row.
    extras: Vec<Day>,
}

/// Groups' days after [`Histories::take`]: the entries, and their indices in group order
/// (group g's are `order[starts[g]..starts[g + 1]]`). Sorting 4-byte indices instead of
/// moving the entries spares a second arena as large as the first, whose fresh pages cost
/// more in the kernel's zeroing than the sort itself at 10M customers; each group's few days
/// are gathered, put in date order and merged when its result is written.
struct Grouped {
    entries: Vec<Entry>,
    extras: Vec<Day>,
    starts: Vec<u32>,
    order: Vec<u32>,
}

impl Grouped {
    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Group g's days, ascending and distinct (same-day entries added), into `out`.
    fn days_into(&self, g: usize, out: &mut Vec<Day>) -> Result<()> {
        out.clear();
        let (from, to) = (self.starts[g] as usize, self.starts[g + 1] as usize);
        out.extend(
            self.order[from..to]
                .iter()
                .map(|&i| self.entries[i as usize].day(&self.extras)),
        );
        if !out.is_sorted_by_key(|e| e.day) {
            out.sort_by_key(|e| e.day);
        }
        let mut kept = 0;
        for i in 0..out.len() {
            let d = out[i];
            if kept > 0 && out[kept - 1].day == d.day {
                let x = &mut out[kept - 1];
                let (s, e) = two_sum(x.spend, d.spend);
                let residual = x.residual + d.residual + e;
                let Some(rows) = x.rows.checked_add(d.rows) else {
                    return exec_err!("{NAME}: more than {} rows on {}", u32::MAX, day_of(d.day)?);
                };
                if !(s + residual).is_finite() {
                    return exec_err!("{NAME}: the spend on {} is not finite", day_of(d.day)?);
                }
                (x.spend, x.residual, x.rows) = (s, residual, rows);
            } else {
                out[kept] = d;
                kept += 1;
            }
        }
        out.truncate(kept);
        Ok(())
    }
}

impl Histories {
    fn new(cfg: SummaryConfig) -> Self {
        Histories {
            cfg,
            groups: 0,
            entries: Vec::new(),
            extras: Vec::new(),
        }
    }

    fn grow(&mut self, total_num_groups: usize) -> Result<()> {
        if total_num_groups > u32::MAX as usize {
            return exec_err!("{NAME}: more than {} groups in one partition", u32::MAX);
        }
        self.groups = self.groups.max(total_num_groups);
        Ok(())
    }

    /// The first `n` groups' days (all of them for `EmitTo::All`), grouped and merged; the
    /// groups left are renumbered from 0.
    fn take(&mut self, emit_to: EmitTo) -> Result<Grouped> {
        let n = match emit_to {
            EmitTo::All => self.groups,
            EmitTo::First(n) => n.min(self.groups),
        };
        let (entries, extras) = if n == self.groups {
            (
                std::mem::take(&mut self.entries),
                std::mem::take(&mut self.extras),
            )
        } else {
            // Each side gets its own side table, so that a streamed aggregation (one emit
            // per batch of finished groups) neither keeps the emitted groups' days nor
            // copies them at every emit.
            let extras = std::mem::take(&mut self.extras);
            let (mut taken, mut taken_extras) = (Vec::new(), Vec::new());
            let mut kept = Vec::with_capacity(self.entries.len());
            for e in self.entries.drain(..) {
                let day = e.day(&extras);
                if (e.group as usize) < n {
                    taken.push(Entry::new(e.group, day, &mut taken_extras));
                } else {
                    kept.push(Entry::new(e.group - n as u32, day, &mut self.extras));
                }
            }
            self.entries = kept;
            (taken, taken_extras)
        };
        self.groups -= n;
        group_days(entries, extras, n)
    }

    /// The groups' days without consuming them (a single-group aggregate may be evaluated
    /// twice).
    fn peek(&self) -> Result<Grouped> {
        group_days(self.entries.clone(), self.extras.clone(), self.groups)
    }
}

/// The entries' indices in group order: a counting sort (one pass to count, one to place;
/// the placing writes are independent of each other, so their cache misses overlap).
fn group_days(entries: Vec<Entry>, extras: Vec<Day>, groups: usize) -> Result<Grouped> {
    if entries.len() > u32::MAX as usize {
        return exec_err!("{NAME}: more than {} rows in one partition", u32::MAX);
    }
    let mut starts = vec![0u32; groups + 1];
    for e in &entries {
        starts[e.group as usize + 1] += 1;
    }
    for g in 0..groups {
        starts[g + 1] += starts[g];
    }
    let mut next = starts.clone();
    let mut order = vec![0u32; entries.len()];
    for (i, e) in entries.iter().enumerate() {
        let slot = &mut next[e.group as usize];
        order[*slot as usize] = i as u32;
        *slot += 1;
    }
    Ok(Grouped {
        entries,
        extras,
        starts,
        order,
    })
}

/// The date and amount columns, nulls refused.
fn rows(values: &[ArrayRef]) -> Result<(&Date32Array, &Float64Array)> {
    let (dates, amounts) = (&values[0], &values[1]);
    for (a, what) in [(dates, "date"), (amounts, "amount")] {
        if let Some(i) = a.logical_nulls().and_then(|n| n.iter().position(|v| !v)) {
            return exec_err!("{NAME}: {what} is NULL in row {i} of a batch; filter or fill it");
        }
    }
    Ok((
        dates.as_primitive::<Date32Type>(),
        amounts.as_primitive::<Float64Type>(),
    ))
}

fn day_of(days: i32) -> Result<Date> {
    Date::from_days_since_epoch(i64::from(days)).map_err(|e| custseg_error(NAME, e))
}

fn included(filter: Option<&BooleanArray>, i: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(i) && f.value(i))
}

impl GroupsAccumulator for Histories {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups)?;
        let (dates, amounts) = rows(values)?;
        self.entries.reserve(group_indices.len());
        for (i, &g) in group_indices.iter().enumerate() {
            if !included(opt_filter, i) {
                continue;
            }
            let (day, amount) = (dates.value(i), amounts.value(i));
            check_amount(day_of(day)?, amount)?;
            // One row: never a side-table entry (its amount is not negative).
            self.entries.push(Entry {
                group: g as u32,
                day,
                spend: amount,
            });
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let grouped = self.take(emit_to)?;
        summaries_array(&grouped, &self.cfg)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let grouped = self.take(emit_to)?;
        state_arrays(&grouped)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups)?;
        let [first, first_spend, more] = values else {
            return exec_err!(
                "{NAME}: a partial state has {} columns, not 3",
                values.len()
            );
        };
        // A state of another layout (a node running another version, say) is an error,
        // not a panic on a downcast.
        let bad = || exec_err!("{NAME}: a partial state is not of this version's layout");
        let (Some(first), Some(first_spend), Some(more)) = (
            first.as_primitive_opt::<Date32Type>(),
            first_spend.as_primitive_opt::<Float64Type>(),
            more.as_list_opt::<i32>(),
        ) else {
            return bad();
        };
        let Some(days) = more.values().as_struct_opt() else {
            return bad();
        };
        let [d, s, r, n] = days.columns() else {
            return bad();
        };
        let (Some(d), Some(s), Some(r), Some(n)) = (
            d.as_primitive_opt::<Date32Type>(),
            s.as_primitive_opt::<Float64Type>(),
            r.as_primitive_opt::<Float64Type>(),
            n.as_primitive_opt::<UInt32Type>(),
        ) else {
            return bad();
        };
        let offsets = more.value_offsets();
        self.entries.reserve(group_indices.len());
        for (i, &g) in group_indices.iter().enumerate() {
            let g = g as u32;
            if first.is_valid(i) {
                if first_spend.is_null(i) {
                    return exec_err!("{NAME}: a partial state's first day has no spend");
                }
                let day = Day {
                    day: first.value(i),
                    rows: 1,
                    spend: first_spend.value(i),
                    residual: 0.0,
                };
                let entry = Entry::new(g, day.checked()?, &mut self.extras);
                self.entries.push(entry);
            }
            if more.is_null(i) {
                continue;
            }
            for k in offsets[i] as usize..offsets[i + 1] as usize {
                let day = Day {
                    day: d.value(k),
                    rows: n.value(k),
                    spend: s.value(k),
                    residual: r.value(k),
                };
                let entry = Entry::new(g, day.checked()?, &mut self.extras);
                self.entries.push(entry);
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Each row its own one-day history, checked as recording it would check it: the
        // input columns are the state's first day and spend as they are (a row the filter
        // drops becomes a null), and there are no further days.
        let (dates, amounts) = rows(values)?;
        for i in 0..dates.len() {
            if included(opt_filter, i) {
                check_amount(day_of(dates.value(i))?, amounts.value(i))?;
            }
        }
        let (first, spend): (ArrayRef, ArrayRef) = match opt_filter {
            None => (Arc::new(dates.clone()), Arc::new(amounts.clone())),
            Some(_) => {
                let keep = |i: usize| included(opt_filter, i);
                (
                    Arc::new(Date32Array::from_iter(
                        (0..dates.len()).map(|i| keep(i).then(|| dates.value(i))),
                    )),
                    Arc::new(Float64Array::from_iter(
                        (0..amounts.len()).map(|i| keep(i).then(|| amounts.value(i))),
                    )),
                )
            }
        };
        Ok(vec![
            first,
            spend,
            datafusion::arrow::array::new_null_array(&days_type(), dates.len()),
        ])
    }

    fn size(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.extras.capacity() * std::mem::size_of::<Day>()
    }
}

/// Grouped days as the partial state's three columns: each group's first day inline when
/// it is a single row, every other day in the list.
fn state_arrays(grouped: &Grouped) -> Result<Vec<ArrayRef>> {
    let n = grouped.len();
    let mut first = Vec::with_capacity(n);
    let mut first_spend = Vec::with_capacity(n);
    let mut lengths = Vec::with_capacity(n);
    let (mut days, mut spend) = (Vec::new(), Vec::new());
    let (mut residual, mut rows) = (Vec::new(), Vec::new());
    let mut buffer = Vec::new();
    for g in 0..n {
        grouped.days_into(g, &mut buffer)?;
        let inline = buffer.first().filter(|d| d.rows == 1 && d.residual == 0.0);
        first.push(inline.map(|d| d.day));
        first_spend.push(inline.map(|d| d.spend));
        let rest = &buffer[usize::from(inline.is_some())..];
        lengths.push(rest.len());
        for d in rest {
            days.push(d.day);
            spend.push(d.spend);
            residual.push(d.residual);
            rows.push(d.rows);
        }
    }
    let children: Vec<ArrayRef> = vec![
        Arc::new(Date32Array::from(days)),
        Arc::new(Float64Array::from(spend)),
        Arc::new(Float64Array::from(residual)),
        Arc::new(UInt32Array::from(rows)),
    ];
    let more = ListArray::try_new(
        Arc::new(Field::new_list_field(DataType::Struct(day_fields()), false)),
        OffsetBuffer::<i32>::from_lengths(lengths),
        Arc::new(StructArray::try_new(day_fields(), children, None)?),
        None,
    )?;
    Ok(vec![
        Arc::new(Date32Array::from(first)),
        Arc::new(Float64Array::from(first_spend)),
        Arc::new(more),
    ])
}

/// The summaries of histories as the struct column (null for a customer not acquired by the
/// observation end, or a group with no rows).
fn summaries_array(grouped: &Grouped, cfg: &SummaryConfig) -> Result<ArrayRef> {
    let n = grouped.len();
    let mut valid = Vec::with_capacity(n);
    let mut x = Vec::with_capacity(n);
    let (mut t_x, mut big_t, mut z, mut total) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut tx = Vec::with_capacity(n);
    let (mut first, mut last) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut hx, mut hspend, mut htx) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    // A history does not carry its key (the GROUP BY column does); an error names none.
    let nobody = CustomerId::from("(this group)");
    // One buffer of days lent to each group's history in turn: no allocation per group.
    let mut buffer: Vec<PurchaseDay> = Vec::new();
    let mut days = Vec::new();
    for g in 0..n {
        grouped.days_into(g, &mut days)?;
        buffer.clear();
        for e in &days {
            buffer.push(PurchaseDay {
                date: day_of(e.day)?,
                spend: e.spend + e.residual,
                transactions: e.rows,
            });
        }
        let h = CustomerHistory::from_days(buffer).map_err(|e| custseg_error(NAME, e))?;
        let acquired = h
            .days()
            .first()
            .is_some_and(|d| d.date <= cfg.observation_end);
        let s = if acquired {
            Some(
                h.summarise(&nobody, cfg)
                    .map_err(|e| custseg_error(NAME, e))?,
            )
        } else {
            None
        };
        valid.push(s.is_some());
        x.push(s.as_ref().map_or(0, |s| s.frequency()));
        t_x.push(s.as_ref().map_or(0.0, |s| s.recency()));
        big_t.push(s.as_ref().map_or(0.0, |s| s.age()));
        z.push(s.as_ref().map_or(0.0, |s| s.monetary()));
        total.push(s.as_ref().map_or(0.0, |s| s.total_spend()));
        tx.push(s.as_ref().map_or(0, |s| s.transactions()));
        first.push(
            s.as_ref()
                .map_or(0, |s| s.first_purchase().days_since_epoch()),
        );
        last.push(
            s.as_ref()
                .map_or(0, |s| s.last_purchase().days_since_epoch()),
        );
        hx.push(s.as_ref().map_or(0, |s| s.holdout_frequency()));
        hspend.push(s.as_ref().map_or(0.0, |s| s.holdout_spend()));
        htx.push(s.as_ref().map_or(0, |s| s.holdout_transactions()));
        buffer = h.into();
    }
    let unit = unit_name(cfg.unit);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from(x)),
        Arc::new(Float64Array::from(t_x)),
        Arc::new(Float64Array::from(big_t)),
        Arc::new(Float64Array::from(z)),
        Arc::new(Float64Array::from(total)),
        Arc::new(UInt32Array::from(tx)),
        Arc::new(Date32Array::from(first)),
        Arc::new(Date32Array::from(last)),
        Arc::new(UInt32Array::from(hx)),
        Arc::new(Float64Array::from(hspend)),
        Arc::new(UInt32Array::from(htx)),
        Arc::new(StringArray::from_iter_values(std::iter::repeat_n(unit, n))),
    ];
    Ok(Arc::new(StructArray::try_new(
        summary_fields(),
        columns,
        Some(NullBuffer::from(valid)),
    )?))
}

/// The aggregate without grouping (`SELECT custseg_summary(...) FROM t`): one group.
#[derive(Debug)]
struct OneCustomer(Histories);

impl Accumulator for OneCustomer {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let groups = vec![0; values[0].len()];
        self.0.update_batch(values, &groups, None, 1)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        // Evaluating does not consume: a single-group aggregate may be asked twice.
        self.0.grow(1)?;
        let a = summaries_array(&self.0.peek()?, &self.0.cfg)?;
        ScalarValue::try_from_array(&a, 0)
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>() + self.0.size()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.0.grow(1)?;
        state_arrays(&self.0.peek()?)?
            .iter()
            .map(|a| ScalarValue::try_from_array(a, 0))
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let groups = vec![0; states.first().map_or(0, |s| s.len())];
        self.0.merge_batch(states, &groups, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int32Array;
    use datafusion::arrow::datatypes::Int32Type;

    fn histories() -> Histories {
        Histories::new(SummaryConfig::new("2024-06-30".parse().unwrap()))
    }

    /// Rows of three groups; group 1 has two rows on one day.
    fn rows_of(h: &mut Histories) {
        let dates = Date32Array::from(vec![19_700, 19_705, 19_701, 19_701, 19_710]);
        let amounts = Float64Array::from(vec![10.0, 5.5, 0.1, 0.2, 7.0]);
        let values: Vec<ArrayRef> = vec![Arc::new(dates), Arc::new(amounts)];
        h.update_batch(&values, &[0, 0, 1, 1, 2], None, 3).unwrap();
    }

    /// The state taken from one accumulator and merged into another gives the same
    /// summaries; emitting the first group, then the rest, gives the same as all at once.
    #[test]
    fn states_and_partial_emits_round_trip() {
        let mut all = histories();
        rows_of(&mut all);
        let want = all.evaluate(EmitTo::All).unwrap();

        let mut source = histories();
        rows_of(&mut source);
        let state = source.state(EmitTo::All).unwrap();
        // Group 1's day of two rows travels in the list, the others inline.
        assert_eq!(state[0].null_count(), 1);
        let mut merged = histories();
        merged.merge_batch(&state, &[0, 1, 2], 3).unwrap();
        assert_eq!(
            merged.evaluate(EmitTo::All).unwrap().to_data(),
            want.to_data()
        );

        let mut split = histories();
        rows_of(&mut split);
        let first = split.evaluate(EmitTo::First(1)).unwrap();
        let rest = split.evaluate(EmitTo::All).unwrap();
        assert_eq!(first.to_data(), want.slice(0, 1).to_data());
        assert_eq!(rest.to_data(), want.slice(1, 2).to_data());

        // The same with the day of two rows in the side table, on either side of a split.
        for at in [1, 2] {
            let mut split = histories();
            split.merge_batch(&state, &[0, 1, 2], 3).unwrap();
            assert_eq!(split.extras.len(), 1);
            let first = split.evaluate(EmitTo::First(at)).unwrap();
            assert_eq!(split.extras.len(), usize::from(at == 1));
            let rest = split.evaluate(EmitTo::All).unwrap();
            assert_eq!(first.to_data(), want.slice(0, at).to_data());
            assert_eq!(rest.to_data(), want.slice(at, 3 - at).to_data());
        }
    }

    /// A state of another layout — a node on another version — is an error, not a panic.
    #[test]
    fn a_state_of_another_layout_is_an_error() {
        let list_of_ints: ArrayRef =
            Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
                Some(vec![Some(1)]),
            ]));
        let layouts: Vec<Vec<ArrayRef>> = vec![
            vec![
                Arc::new(Date32Array::from(vec![19_700])),
                Arc::new(Float64Array::from(vec![1.0])),
                list_of_ints.clone(),
            ],
            vec![
                Arc::new(Int32Array::from(vec![19_700])),
                Arc::new(Float64Array::from(vec![1.0])),
                new_null_array_of_days(),
            ],
            vec![
                list_of_ints.clone(),
                list_of_ints.clone(),
                list_of_ints.clone(),
                list_of_ints,
            ],
        ];
        for values in layouts {
            let err = histories().merge_batch(&values, &[0], 1).unwrap_err();
            assert!(err.to_string().contains(NAME), "{err}");
        }
    }

    fn new_null_array_of_days() -> ArrayRef {
        datafusion::arrow::array::new_null_array(&days_type(), 1)
    }
}
