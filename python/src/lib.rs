//! The `custseg._native` extension module: custseg for Python, Arrow in and Arrow out.
//!
//! Every function takes columns through the Arrow C data interface (pyarrow arrays and
//! tables, polars frames and series, anything with `__arrow_c_array__` or
//! `__arrow_c_stream__`; numpy arrays and pandas series through `pyarrow.array`), so no row is
//! converted in Python. The GIL is released while Rust computes. Errors are `custseg.Error`
//! subclasses carrying the row, line, customer and column the Rust error names. The Python
//! package (`python/custseg/__init__.py`) re-exports this module; `custseg.spark` builds the
//! Spark functions on it.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray, make_array};
use arrow_data::ArrayData;
use arrow_pyarrow::{FromPyArrow, IntoPyArrow, PyArrowType, Table};
use arrow_schema::{DataType, Field, Schema};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use custseg::arrow::{
    ScoreBatch, ToRecordBatch, TransactionColumns, Transactions, partial_histories,
    summaries_from_partial_histories, summaries_from_record_batches,
};
use custseg::churn::{Cohort, ShiftedBetaGeometric};
use custseg::clv::{
    BgBb, BgBbHistory, BgNbd, Discounting, GammaGamma, HistoryColumns, MbgNbd, ParetoNbd, Rft,
    RftData, SpendData, TransactionModel, Valuation,
};
use custseg::rfm::{Binning, FrequencyBasis, MonetaryBasis, RfmModel, RfmParams, SegmentScheme};
use custseg::segment::{
    BehavioralModel, BehavioralRecord, BehavioralSegmenter, Clustering, DbscanParams,
    DemographicField, DemographicModel, DemographicRecord, DemographicSegmenter,
    GaussianMixtureParams, GeoMode, GeoRecord, GeographicModel, GeographicSegmenter, KMeansParams,
    Points, PsychographicModel, PsychographicSegmenter, Strategy, SurveyItem, SurveyResponse,
};
use custseg::{
    Assign, CustomerId, CustomerSummary, Date, Error, ErrorKind, Fit, Position, PurchasePeriod,
    ReturnPolicy, Score, SummaryConfig, TimeUnit,
};

// ---------------------------------------------------------------------------------------
// Errors

pyo3::create_exception!(
    custseg,
    CustsegError,
    PyValueError,
    "Base of every custseg error. Attributes: `kind` ('data', 'parameter' or 'model'), `row`, \
     `line`, `customer`, `column` (None where the error has no such position) and `variant` \
     (the Rust error's name)."
);
pyo3::create_exception!(
    custseg,
    DataError,
    CustsegError,
    "The input data is at fault (a missing value, an inconsistent row, a negative amount)."
);
pyo3::create_exception!(
    custseg,
    ParameterError,
    CustsegError,
    "The call is at fault (a parameter out of range, a column of the wrong type)."
);
pyo3::create_exception!(
    custseg,
    ModelError,
    CustsegError,
    "The model is at fault (a fit that did not converge, a unit that does not match)."
);

/// A custseg error as the Python exception of its kind, with its position as attributes.
fn py_err(e: Error) -> PyErr {
    Python::attach(|py| {
        let err = match e.kind() {
            ErrorKind::Data => DataError::new_err(e.to_string()),
            ErrorKind::Parameter => ParameterError::new_err(e.to_string()),
            _ => ModelError::new_err(e.to_string()),
        };
        let value = err.value(py);
        let at = e.position().cloned().unwrap_or_default();
        let kind = match e.kind() {
            ErrorKind::Data => "data",
            ErrorKind::Parameter => "parameter",
            _ => "model",
        };
        let variant = format!("{e:?}");
        let variant = variant
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default()
            .to_string();
        // Setting attributes on a fresh exception cannot fail but for memory; the message
        // already says everything, so a failure here is not worth a second error.
        let _ = value.setattr("kind", kind);
        let _ = value.setattr("variant", variant);
        let _ = value.setattr("row", at.row());
        let _ = value.setattr("line", at.line());
        let _ = value.setattr("customer", at.customer());
        let _ = value.setattr("column", at.column());
        err
    })
}

trait OrPy<T> {
    fn or_py(self) -> PyResult<T>;
}

impl<T> OrPy<T> for custseg::Result<T> {
    fn or_py(self) -> PyResult<T> {
        self.map_err(py_err)
    }
}

fn parameter(name: &'static str, value: impl ToString, reason: impl Into<String>) -> PyErr {
    py_err(Error::InvalidParameter {
        name,
        value: value.to_string(),
        reason: reason.into(),
    })
}

// ---------------------------------------------------------------------------------------
// Arrow in and out

/// Any table-like object as record batches: a pyarrow Table or RecordBatchReader, a polars
/// DataFrame, anything with `__arrow_c_stream__`; a pyarrow RecordBatch; a pandas DataFrame
/// through `pyarrow.Table.from_pandas`.
fn batches_of(obj: &Bound<'_, PyAny>) -> PyResult<Vec<RecordBatch>> {
    let py = obj.py();
    let obj = if obj.hasattr("__arrow_c_stream__")? {
        obj.clone()
    } else if obj.hasattr("__arrow_c_array__")? {
        let pa = py.import("pyarrow")?;
        pa.getattr("Table")?
            .call_method1("from_batches", (PyList::new(py, [obj])?,))?
    } else {
        let pa = py.import("pyarrow")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("preserve_index", false)?;
        pa.getattr("Table")?
            .call_method("from_pandas", (obj,), Some(&kwargs))?
    };
    let table = Table::from_pyarrow_bound(&obj)?;
    Ok(table.into_inner().0)
}

/// Record batches as a pyarrow Table.
fn table_of<'py>(
    py: Python<'py>,
    batches: Vec<RecordBatch>,
    schema: Arc<Schema>,
) -> PyResult<Bound<'py, PyAny>> {
    Table::try_new(batches, schema)
        .map_err(|e| PyValueError::new_err(e.to_string()))?
        .into_pyarrow(py)
}

fn one_table<'py>(py: Python<'py>, batch: RecordBatch) -> PyResult<Bound<'py, PyAny>> {
    let schema = batch.schema();
    table_of(py, vec![batch], schema)
}

/// Any array-like as one Arrow array of the given pyarrow type (`"float64"`, `"uint32"`):
/// Arrow arrays in place, numpy arrays, pandas and polars series and lists through
/// `pyarrow.array`, chunked arrays combined; the cast is pyarrow's safe cast (a fractional
/// or negative count is refused). A null is a `DataError` naming its row and column.
fn array_of(obj: &Bound<'_, PyAny>, pa_type: &str, column: &str) -> PyResult<ArrayRef> {
    let py = obj.py();
    let pa = py.import("pyarrow")?;
    let mut arr = if obj.hasattr("__arrow_c_array__")? {
        obj.clone()
    } else {
        pa.call_method1("array", (obj,))?
    };
    if arr.hasattr("combine_chunks")? {
        arr = arr.call_method0("combine_chunks")?;
    }
    let target = pa.call_method0(pa_type)?;
    let arr = arr.call_method1("cast", (target,))?;
    let data = ArrayData::from_pyarrow_bound(&arr)?;
    let array = make_array(data);
    if let Some(row) = array
        .logical_nulls()
        .and_then(|n| n.iter().position(|valid| !valid))
    {
        return Err(py_err(Error::Missing {
            at: Position::at_row(row).with_column(column),
        }));
    }
    Ok(array)
}

fn f64s(obj: &Bound<'_, PyAny>, column: &str) -> PyResult<ArrayRef> {
    array_of(obj, "float64", column)
}

fn u32s(obj: &Bound<'_, PyAny>, column: &str) -> PyResult<ArrayRef> {
    array_of(obj, "uint32", column)
}

fn f64_values(a: &ArrayRef) -> &[f64] {
    a.as_primitive::<Float64Type>().values()
}

fn u32_values(a: &ArrayRef) -> &[u32] {
    a.as_primitive::<UInt32Type>().values()
}

fn f64_array<'py>(py: Python<'py>, values: Vec<f64>) -> PyResult<Bound<'py, PyAny>> {
    PyArrowType(Float64Array::from(values).into_data()).into_pyobject(py)
}

// ---------------------------------------------------------------------------------------
// Dates, units, settings

fn date_of(obj: &Bound<'_, PyAny>, what: &'static str) -> PyResult<Date> {
    let text: String = if obj.hasattr("isoformat")? {
        obj.call_method0("isoformat")?.extract()?
    } else {
        obj.str()?.extract()?
    };
    // A datetime's ISO form has a time after the date; the day is what counts.
    let day = text.get(..10).unwrap_or(&text);
    day.parse::<Date>()
        .map_err(|_| parameter(what, &text, "a date as YYYY-MM-DD or a datetime.date"))
}

fn unit_of(unit: &str) -> PyResult<TimeUnit> {
    match unit {
        "days" | "D" => Ok(TimeUnit::Days),
        "weeks" | "W" => Ok(TimeUnit::Weeks),
        "months" | "M" => Ok(TimeUnit::Months),
        other => Err(parameter("unit", other, "one of 'days', 'weeks', 'months'")),
    }
}

fn unit_name(unit: TimeUnit) -> &'static str {
    match unit {
        TimeUnit::Days => "days",
        TimeUnit::Weeks => "weeks",
        TimeUnit::Months => "months",
        // The crate's enum is non-exhaustive; a unit added there is named by its Debug form.
        _ => "other",
    }
}

fn period_of(period: &str) -> PyResult<PurchasePeriod> {
    match period {
        "day" => Ok(PurchasePeriod::Day),
        "week" => Ok(PurchasePeriod::Week),
        "month" => Ok(PurchasePeriod::Month),
        other => Err(parameter("period", other, "one of 'day', 'week', 'month'")),
    }
}

fn returns_of(returns: &str) -> PyResult<ReturnPolicy> {
    match returns {
        "error" => Ok(ReturnPolicy::Error),
        "drop" => Ok(ReturnPolicy::Drop),
        "net" => Ok(ReturnPolicy::Net),
        other => Err(parameter("returns", other, "one of 'error', 'drop', 'net'")),
    }
}

fn config_of(
    observation_end: &Bound<'_, PyAny>,
    holdout_end: Option<&Bound<'_, PyAny>>,
    unit: &str,
    period: &str,
) -> PyResult<SummaryConfig> {
    let mut cfg = SummaryConfig::new(date_of(observation_end, "observation_end")?)
        .with_unit(unit_of(unit)?)
        .with_period(period_of(period)?);
    if let Some(h) = holdout_end {
        cfg = cfg.with_holdout_end(date_of(h, "holdout_end")?);
    }
    Ok(cfg)
}

fn json_loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("json")?.call_method1("loads", (text,))
}

fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// What `__reduce__` returns: `custseg._from_json(cls, json)` rebuilds the model. Pickling
/// (Spark ships models from the driver to the executors this way, multiprocessing too) goes
/// through the same checked JSON as `to_json` / `from_json`.
type Reduced<'py> = (Bound<'py, PyAny>, (Bound<'py, PyAny>, String));

fn reduce<'py, T: pyo3::PyClass>(slf: &Bound<'py, T>, json: String) -> PyResult<Reduced<'py>> {
    let py = slf.py();
    let restore = py.import("custseg")?.getattr("_from_json")?;
    Ok((restore, (slf.as_any().get_type().into_any(), json)))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &'static str) -> PyResult<T> {
    // Deserializing runs the same checks as the constructors: an invalid model is refused.
    serde_json::from_str(text).map_err(|e| parameter(what, "JSON", e.to_string()))
}

// ---------------------------------------------------------------------------------------
// Summaries

/// Per-customer summaries (x, t_x, T, z̄, totals and holdout activity), held in Rust.
///
/// `to_arrow()` gives them as a pyarrow Table (one row per customer, `customer_id` first);
/// `Summaries.from_arrow(table, unit)` reads such a table back, checked. Every model's `fit`
/// and scoring method takes a `Summaries` where lifetimes takes frequency, recency and T.
#[pyclass(module = "custseg", name = "Summaries", frozen, skip_from_py_object)]
struct PySummaries {
    rows: Arc<Vec<CustomerSummary>>,
    unit: TimeUnit,
}

impl PySummaries {
    fn new(rows: Vec<CustomerSummary>, unit: TimeUnit) -> Self {
        PySummaries {
            rows: Arc::new(rows),
            unit,
        }
    }

    /// Mean repeat spend z̄, one per customer.
    fn monetary_column(&self) -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(
            self.rows.iter().map(|c| c.monetary()),
        ))
    }

    fn columns(&self) -> Columns {
        let s = &self.rows;
        Columns {
            summaries: Some(self.rows.clone()),
            x: Arc::new(arrow_array::UInt32Array::from_iter_values(
                s.iter().map(|c| c.frequency()),
            )),
            t_x: Arc::new(Float64Array::from_iter_values(
                s.iter().map(|c| c.recency()),
            )),
            t: Arc::new(Float64Array::from_iter_values(s.iter().map(|c| c.age()))),
            monetary: Some(self.monetary_column()),
            unit: Some(self.unit),
        }
    }
}

#[pymethods]
impl PySummaries {
    /// Reads summaries from a table with the columns `to_arrow()` writes, checked row by row.
    #[staticmethod]
    #[pyo3(signature = (table, unit = "weeks"))]
    fn from_arrow(py: Python<'_>, table: &Bound<'_, PyAny>, unit: &str) -> PyResult<Self> {
        let batches = batches_of(table)?;
        let unit = unit_of(unit)?;
        let rows = py
            .detach(|| summaries_from_record_batches(&batches, unit))
            .or_py()?;
        Ok(PySummaries::new(rows, unit))
    }

    /// The summaries as a pyarrow Table: customer_id, first_purchase, last_purchase,
    /// frequency (x), recency (t_x), age (T), monetary (z̄), total_spend, transactions,
    /// holdout_frequency, holdout_spend, holdout_transactions; the unit in the schema
    /// metadata under `custseg.unit`.
    fn to_arrow<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let batch = py.detach(|| self.rows.to_record_batch()).or_py()?;
        one_table(py, batch)
    }

    /// The unit of recency and age: 'days', 'weeks' or 'months'.
    #[getter]
    fn unit(&self) -> &'static str {
        unit_name(self.unit)
    }

    /// Repeat purchases x, as a pyarrow UInt32 array.
    #[getter]
    fn frequency<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyArrowType(self.columns().x.to_data()).into_pyobject(py)
    }

    /// Time of the last purchase t_x, as a pyarrow Float64 array.
    #[getter]
    fn recency<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyArrowType(self.columns().t_x.to_data()).into_pyobject(py)
    }

    /// Age T (time from the first purchase to the observation end), as a pyarrow Float64 array.
    #[getter]
    #[allow(non_snake_case)]
    fn T<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyArrowType(self.columns().t.to_data()).into_pyobject(py)
    }

    /// Mean repeat spend z̄, as a pyarrow Float64 array.
    #[getter]
    fn monetary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyArrowType(self.monetary_column().to_data()).into_pyobject(py)
    }

    /// The customer ids, as a pyarrow string array.
    #[getter]
    fn customer_id<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let ids = StringArray::from_iter_values(self.rows.iter().map(|c| c.customer_id().as_str()));
        PyArrowType(ids.into_data()).into_pyobject(py)
    }

    fn __len__(&self) -> usize {
        self.rows.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "Summaries({} customers, unit='{}')",
            self.rows.len(),
            unit_name(self.unit)
        )
    }

    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.to_arrow(py)?
            .call_method1("__arrow_c_stream__", (requested_schema,))
    }
}

fn transaction_columns(customer_id: &str, date: &str, amount: &str) -> TransactionColumns {
    TransactionColumns::new(customer_id, date, amount)
}

/// Summarises a transaction table at an observation end.
///
/// `transactions`: a pyarrow Table, polars or pandas DataFrame (anything Arrow) with a
/// customer-key column (integers or text), a date column (date32/64 or timestamps without a
/// named time zone) and an amount column (floats, integers or decimals). `returns`: 'error'
/// (a negative amount is an error naming its row), 'drop' or 'net'. `unit`: the unit of
/// recency and age ('days', 'weeks', 'months'); `period`: what counts as one purchase
/// ('day', 'week', 'month'). Returns `Summaries`.
#[pyfunction]
#[pyo3(signature = (transactions, observation_end, *, holdout_end = None, unit = "weeks",
    period = "day", returns = "error", customer_id = "customer_id", date = "date",
    amount = "amount"))]
#[allow(clippy::too_many_arguments)]
fn summarise(
    py: Python<'_>,
    transactions: &Bound<'_, PyAny>,
    observation_end: &Bound<'_, PyAny>,
    holdout_end: Option<&Bound<'_, PyAny>>,
    unit: &str,
    period: &str,
    returns: &str,
    customer_id: &str,
    date: &str,
    amount: &str,
) -> PyResult<PySummaries> {
    let cfg = config_of(observation_end, holdout_end, unit, period)?;
    let returns = returns_of(returns)?;
    let batches = batches_of(transactions)?;
    let names = transaction_columns(customer_id, date, amount);
    let summaries = py
        .detach(|| {
            let tx = Transactions::from_record_batches(&batches, &names)?;
            tx.summarise(returns, &cfg)
        })
        .or_py()?;
    Ok(PySummaries::new(summaries.into_vec(), cfg.unit))
}

/// The map side of a distributed summary: one partition of transactions as a partial history
/// (a pyarrow Table of customer_id, date, spend, residual, transactions — one row per
/// customer and day). Partials of any split of the rows, brought together by customer, merge
/// exactly with `summarise_partials`. `returns` is 'error' or 'drop' ('net' needs every row of
/// a customer in one partition).
#[pyfunction]
#[pyo3(signature = (transactions, *, returns = "error", customer_id = "customer_id",
    date = "date", amount = "amount"))]
fn partial_summaries<'py>(
    py: Python<'py>,
    transactions: &Bound<'py, PyAny>,
    returns: &str,
    customer_id: &str,
    date: &str,
    amount: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let returns = returns_of(returns)?;
    let batches = batches_of(transactions)?;
    if batches.is_empty() || batches.iter().all(|b| b.num_rows() == 0) {
        let empty = partial_histories_schema();
        return table_of(py, vec![], empty);
    }
    let names = transaction_columns(customer_id, date, amount);
    let batch = py
        .detach(|| {
            let tx = Transactions::from_record_batches(&batches, &names)?;
            partial_histories(&tx, returns)
        })
        .or_py()?;
    one_table(py, batch)
}

fn partial_histories_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("date", DataType::Date32, false),
        Field::new("spend", DataType::Float64, false),
        Field::new("residual", DataType::Float64, false),
        Field::new("transactions", DataType::Int64, false),
    ]))
}

/// The reduce side: merges partial histories (`partial_summaries`, from any partitioning)
/// and summarises every customer; equal to `summarise` over all the rows at once, to the bit.
#[pyfunction]
#[pyo3(signature = (partials, observation_end, *, holdout_end = None, unit = "weeks",
    period = "day"))]
fn summarise_partials(
    py: Python<'_>,
    partials: &Bound<'_, PyAny>,
    observation_end: &Bound<'_, PyAny>,
    holdout_end: Option<&Bound<'_, PyAny>>,
    unit: &str,
    period: &str,
) -> PyResult<PySummaries> {
    let cfg = config_of(observation_end, holdout_end, unit, period)?;
    let batches = batches_of(partials)?;
    let summaries = py
        .detach(|| summaries_from_partial_histories(&batches, &cfg))
        .or_py()?;
    Ok(PySummaries::new(summaries.into_vec(), cfg.unit))
}

/// The CDNOW sample (2,357 customers, 6,919 purchases) as a pyarrow Table of customer_id
/// (int64), date (date32) and amount (float64): the data the literature publishes its
/// numbers on. Its calibration ends 1997-09-30, its holdout 1998-06-30.
#[pyfunction]
fn cdnow_sample(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let log = custseg::datasets::cdnow_sample();
    let (mut ids, mut days, mut amounts) = (Vec::new(), Vec::new(), Vec::new());
    for c in log.iter_customers() {
        // The bundled file's ids are digits only (its first column), so the parse cannot
        // fail; the default only keeps a panic out of the bindings.
        let id: i64 = c.customer_id.as_str().parse().unwrap_or_default();
        for (d, a) in c.dates.iter().zip(c.amounts) {
            ids.push(id);
            days.push(d.days_since_epoch());
            amounts.push(*a);
        }
    }
    let batch = RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(arrow_array::Int64Array::from(ids)) as ArrayRef,
        ),
        (
            "date",
            Arc::new(arrow_array::Date32Array::from(days)) as ArrayRef,
        ),
        ("amount", Arc::new(Float64Array::from(amounts)) as ArrayRef),
    ])
    .map_err(|e| PyValueError::new_err(e.to_string()))?;
    one_table(py, batch)
}

// ---------------------------------------------------------------------------------------
// Histories as columns

/// x, t_x, T (and z̄ when known) as Arrow columns, from `Summaries` or three arrays.
struct Columns {
    /// The summaries the columns came from, when they did: fitting reads them directly (so
    /// the data records their time unit).
    summaries: Option<Arc<Vec<CustomerSummary>>>,
    x: ArrayRef,
    t_x: ArrayRef,
    t: ArrayRef,
    monetary: Option<ArrayRef>,
    unit: Option<TimeUnit>,
}

impl Columns {
    fn history(&self) -> custseg::Result<HistoryColumns<'_>> {
        let h = HistoryColumns::new(
            u32_values(&self.x),
            f64_values(&self.t_x),
            f64_values(&self.t),
        )?;
        Ok(match self.unit {
            Some(u) => h.with_unit(u),
            None => h,
        })
    }

    fn rft_data(&self) -> custseg::Result<RftData> {
        if let Some(s) = &self.summaries {
            return RftData::from_summaries(s);
        }
        let (x, t_x, t) = (
            u32_values(&self.x),
            f64_values(&self.t_x),
            f64_values(&self.t),
        );
        let mut rows = Vec::with_capacity(x.len());
        for i in 0..x.len() {
            let r = Rft::new(x[i], t_x[i], t[i]).map_err(|e| e.amend_row(i))?;
            rows.push((r, 1.0));
        }
        RftData::from_weighted(rows)
    }
}

/// Adds a row to an error's position.
trait AmendRow {
    fn amend_row(self, row: usize) -> Error;
}

impl AmendRow for Error {
    fn amend_row(self, row: usize) -> Error {
        match self {
            Error::InvalidRecord { at, reason } => Error::InvalidRecord {
                at: at.with_row(row),
                reason,
            },
            other => other,
        }
    }
}

/// `frequency` is a `Summaries` (then recency and T are None) or the x column beside t_x
/// and T.
fn columns_of(
    frequency: &Bound<'_, PyAny>,
    recency: Option<&Bound<'_, PyAny>>,
    t: Option<&Bound<'_, PyAny>>,
) -> PyResult<Columns> {
    if let Ok(s) = frequency.cast::<PySummaries>() {
        if recency.is_some() || t.is_some() {
            return Err(parameter(
                "recency",
                "given",
                "pass Summaries alone, or frequency, recency and T as columns",
            ));
        }
        return Ok(s.get().columns());
    }
    let (Some(recency), Some(t)) = (recency, t) else {
        return Err(parameter(
            "frequency",
            "a column alone",
            "pass Summaries, or frequency, recency and T as columns",
        ));
    };
    Ok(Columns {
        summaries: None,
        x: u32s(frequency, "frequency")?,
        t_x: f64s(recency, "recency")?,
        t: f64s(t, "T")?,
        monetary: None,
        unit: None,
    })
}

fn report_dict<'py>(py: Python<'py>, report: &Option<String>) -> PyResult<Bound<'py, PyAny>> {
    match report {
        Some(r) => json_loads(py, r),
        None => Ok(py.None().into_bound(py)),
    }
}

fn fit_options<M>(
    mut params: custseg::clv::MaxLikelihood<M>,
    l2_penalty: f64,
    starts: usize,
    seed: u64,
    max_iterations: Option<u64>,
) -> PyResult<custseg::clv::MaxLikelihood<M>> {
    params = params
        .with_l2_penalty(l2_penalty)
        .or_py()?
        .with_starts(starts)
        .or_py()?
        .with_seed(seed);
    if let Some(n) = max_iterations {
        params = params.with_max_iterations(n).or_py()?;
    }
    Ok(params)
}

// ---------------------------------------------------------------------------------------
// BG/NBD, MBG/NBD, Pareto/NBD

macro_rules! transaction_model {
    ($py_name:literal, $ty:ident, $rust:ty, [$($p:ident),+], $doc:literal) => {
        #[doc = $doc]
        #[pyclass(module = "custseg", name = $py_name, frozen, skip_from_py_object)]
        #[derive(Clone)]
        struct $ty {
            model: $rust,
            report: Option<String>,
        }

        #[pymethods]
        impl $ty {
            /// The model at given parameters.
            #[new]
            fn new($($p: f64),+) -> PyResult<Self> {
                Ok($ty { model: <$rust>::new($($p),+).or_py()?, report: None })
            }

            /// Fits by maximum likelihood on `Summaries`, or on frequency, recency and T
            /// columns (as lifetimes' `fit(frequency, recency, T)`). `l2_penalty` as
            /// lifetimes' `penalizer_coef`; `starts` > 1 runs seeded starts in parallel and
            /// keeps the best. The fit report is in `.report`.
            #[staticmethod]
            #[pyo3(signature = (frequency, recency = None, T = None, *, l2_penalty = 0.0,
                starts = 1, seed = 0, max_iterations = None))]
            #[allow(non_snake_case, clippy::too_many_arguments)]
            fn fit(
                py: Python<'_>,
                frequency: &Bound<'_, PyAny>,
                recency: Option<&Bound<'_, PyAny>>,
                T: Option<&Bound<'_, PyAny>>,
                l2_penalty: f64,
                starts: usize,
                seed: u64,
                max_iterations: Option<u64>,
            ) -> PyResult<Self> {
                let cols = columns_of(frequency, recency, T)?;
                let params = fit_options(<$rust>::params(), l2_penalty, starts, seed, max_iterations)?;
                let (model, report) = py
                    .detach(|| {
                        let data = cols.rft_data()?;
                        params.fit(&data)
                    })
                    .or_py()?;
                Ok($ty { model, report: Some(to_json(&report)?) })
            }

            /// The parameters, by name.
            #[getter]
            fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                let v = serde_json::to_value(&self.model)
                    .map_err(|e| PyValueError::new_err(e.to_string()))?;
                let d = PyDict::new(py);
                $( d.set_item(stringify!($p), v[stringify!($p)].as_f64())?; )+
                Ok(d.into_any())
            }

            /// The fit report (log-likelihood, standard errors, convergence, warnings) as a
            /// dict; None for a model built from parameters.
            #[getter]
            fn report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                report_dict(py, &self.report)
            }

            /// P(alive) at the observation end of each customer (pyarrow Float64 array).
            #[pyo3(signature = (frequency, recency = None, T = None))]
            #[allow(non_snake_case)]
            fn p_alive<'py>(
                &self,
                py: Python<'py>,
                frequency: &Bound<'py, PyAny>,
                recency: Option<&Bound<'py, PyAny>>,
                T: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let cols = columns_of(frequency, recency, T)?;
                let p = py
                    .detach(|| self.model.p_alive_columns(&cols.history()?))
                    .or_py()?;
                f64_array(py, p)
            }

            /// Expected purchases in the next `t` units of each customer, given the history
            /// (lifetimes' `conditional_expected_number_of_purchases_up_to_time`).
            #[pyo3(signature = (t, frequency, recency = None, T = None))]
            #[allow(non_snake_case)]
            fn expected_purchases<'py>(
                &self,
                py: Python<'py>,
                t: f64,
                frequency: &Bound<'py, PyAny>,
                recency: Option<&Bound<'py, PyAny>>,
                T: Option<&Bound<'py, PyAny>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let cols = columns_of(frequency, recency, T)?;
                let e = py
                    .detach(|| self.model.expected_purchases_columns(&cols.history()?, t))
                    .or_py()?;
                f64_array(py, e)
            }

            /// Expected purchases of a just-acquired customer in `t` units.
            fn expected_purchases_new(&self, t: f64) -> PyResult<f64> {
                self.model.expected_purchases_new(t).or_py()
            }

            /// Total log-likelihood of the histories (every constant included).
            #[pyo3(signature = (frequency, recency = None, T = None))]
            #[allow(non_snake_case)]
            fn log_likelihood(
                &self,
                py: Python<'_>,
                frequency: &Bound<'_, PyAny>,
                recency: Option<&Bound<'_, PyAny>>,
                T: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<f64> {
                let cols = columns_of(frequency, recency, T)?;
                py.detach(|| Ok(self.model.total_log_likelihood(&cols.rft_data()?)))
                    .or_py()
            }

            /// The model as the JSON the Rust crate reads and writes.
            fn to_json(&self) -> PyResult<String> {
                to_json(&self.model)
            }

            /// A model from its JSON, checked as the constructor checks.
            #[staticmethod]
            fn from_json(text: &str) -> PyResult<Self> {
                Ok($ty { model: from_json(text, $py_name)?, report: None })
            }

            fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
                reduce(slf, slf.get().to_json()?)
            }

            fn __repr__(&self) -> PyResult<String> {
                Ok(format!("{}({})", $py_name, to_json(&self.model)?))
            }

            fn __eq__(&self, other: &Self) -> bool {
                self.model == other.model
            }
        }

        impl ScoreModel for $ty {
            type Model = $rust;
            fn model(&self) -> &$rust {
                &self.model
            }
        }
    };
}

/// A Python model class and the Rust transaction model inside it.
trait ScoreModel {
    type Model: TransactionModel + Clone + Send + Sync;
    fn model(&self) -> &Self::Model;
}

transaction_model!(
    "BgNbd",
    PyBgNbd,
    BgNbd,
    [r, alpha, a, b],
    "BG/NBD (Fader, Hardie & Lee 2005): purchases at a gamma-distributed rate, dropout after \
     any purchase with a beta-distributed probability. lifetimes' BetaGeoFitter."
);
transaction_model!(
    "MbgNbd",
    PyMbgNbd,
    MbgNbd,
    [r, alpha, a, b],
    "MBG/NBD (Batislam et al. 2007): BG/NBD whose customers may also drop out at time zero. \
     lifetimes' ModifiedBetaGeoFitter."
);
transaction_model!(
    "ParetoNbd",
    PyParetoNbd,
    ParetoNbd,
    [r, alpha, s, beta],
    "Pareto/NBD (Schmittlein, Morrison & Colombo 1987): purchases at a gamma-distributed \
     rate, lifetimes exponential with a gamma-distributed rate. lifetimes' ParetoNBDFitter."
);

// ---------------------------------------------------------------------------------------
// Gamma-Gamma and CLV

/// Gamma-Gamma spend model (Fader, Hardie & Lee 2005): each customer's mean transaction value
/// around their own gamma-distributed mean. lifetimes' GammaGammaFitter.
#[pyclass(module = "custseg", name = "GammaGamma", frozen, skip_from_py_object)]
#[derive(Clone)]
struct PyGammaGamma {
    model: GammaGamma,
    report: Option<String>,
}

fn spend_columns(
    frequency: &Bound<'_, PyAny>,
    monetary: Option<&Bound<'_, PyAny>>,
) -> PyResult<(ArrayRef, ArrayRef)> {
    if let Ok(s) = frequency.cast::<PySummaries>() {
        let s = s.get();
        return Ok((s.columns().x, s.monetary_column()));
    }
    let Some(monetary) = monetary else {
        return Err(parameter(
            "monetary",
            "missing",
            "pass Summaries, or frequency and monetary columns",
        ));
    };
    Ok((u32s(frequency, "frequency")?, f64s(monetary, "monetary")?))
}

#[pymethods]
impl PyGammaGamma {
    /// The model at given parameters p, q and gamma (lifetimes' p, q, v).
    #[new]
    fn new(p: f64, q: f64, gamma: f64) -> PyResult<Self> {
        Ok(PyGammaGamma {
            model: GammaGamma::new(p, q, gamma).or_py()?,
            report: None,
        })
    }

    /// Fits on `Summaries` or on frequency and monetary (mean repeat spend) columns; customers
    /// without a repeat purchase or with zero spend are left out (counted in the report).
    #[staticmethod]
    #[pyo3(signature = (frequency, monetary = None, *, l2_penalty = 0.0, starts = 1, seed = 0))]
    fn fit(
        py: Python<'_>,
        frequency: &Bound<'_, PyAny>,
        monetary: Option<&Bound<'_, PyAny>>,
        l2_penalty: f64,
        starts: usize,
        seed: u64,
    ) -> PyResult<Self> {
        let (x, z) = spend_columns(frequency, monetary)?;
        let params = fit_options(GammaGamma::params(), l2_penalty, starts, seed, None)?;
        let (model, report) = py
            .detach(|| {
                let (x, z) = (u32_values(&x), f64_values(&z));
                let rows: Vec<((f64, f64), f64)> = x
                    .iter()
                    .zip(z)
                    .filter(|(x, z)| **x > 0 && **z > 0.0)
                    .map(|(x, z)| ((f64::from(*x), *z), 1.0))
                    .collect();
                params.fit(&SpendData::from_weighted(rows)?)
            })
            .or_py()?;
        Ok(PyGammaGamma {
            model,
            report: Some(to_json(&report)?),
        })
    }

    /// The parameters p, q, gamma.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = PyDict::new(py);
        d.set_item("p", self.model.p())?;
        d.set_item("q", self.model.q())?;
        d.set_item("gamma", self.model.gamma())?;
        Ok(d.into_any())
    }

    /// The fit report as a dict (None for a model built from parameters).
    #[getter]
    fn report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        report_dict(py, &self.report)
    }

    /// Expected mean transaction value of each customer (lifetimes'
    /// `conditional_expected_average_profit`).
    #[pyo3(signature = (frequency, monetary = None))]
    fn expected_spend<'py>(
        &self,
        py: Python<'py>,
        frequency: &Bound<'py, PyAny>,
        monetary: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (x, z) = spend_columns(frequency, monetary)?;
        let out = py
            .detach(|| {
                u32_values(&x)
                    .iter()
                    .zip(f64_values(&z))
                    .enumerate()
                    .map(|(i, (x, z))| {
                        self.model
                            .expected_spend(*x, *z)
                            .map_err(|e| e.amend_row(i))
                    })
                    .collect::<custseg::Result<Vec<f64>>>()
            })
            .or_py()?;
        f64_array(py, out)
    }

    /// The model as the JSON the Rust crate reads and writes.
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.model)
    }

    /// A model from its JSON, checked.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PyGammaGamma {
            model: from_json(text, "GammaGamma")?,
            report: None,
        })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        reduce(slf, slf.get().to_json()?)
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(format!("GammaGamma({})", to_json(&self.model)?))
    }
}

fn value_table<'py, M: TransactionModel + Clone + Send + Sync>(
    py: Python<'py>,
    model: &M,
    spend: &GammaGamma,
    cols: &Columns,
    discounting: Discounting,
) -> PyResult<Bound<'py, PyAny>> {
    let monetary = cols
        .monetary
        .as_ref()
        .ok_or_else(|| parameter("monetary", "missing", "CLV needs the mean repeat spend"))?;
    let v = py
        .detach(|| {
            Valuation::new(model.clone(), *spend, discounting)
                .value_columns(&cols.history()?, f64_values(monetary))
        })
        .or_py()?;
    let batch = RecordBatch::try_from_iter([
        (
            "p_alive",
            Arc::new(Float64Array::from(v.p_alive)) as ArrayRef,
        ),
        (
            "expected_purchases",
            Arc::new(Float64Array::from(v.expected_purchases)) as ArrayRef,
        ),
        (
            "expected_spend",
            Arc::new(Float64Array::from(v.expected_spend)) as ArrayRef,
        ),
        ("clv", Arc::new(Float64Array::from(v.clv)) as ArrayRef),
    ])
    .map_err(|e| PyValueError::new_err(e.to_string()))?;
    one_table(py, batch)
}

/// Customer lifetime value: a transaction model (BgNbd, MbgNbd, ParetoNbd) for purchases, a
/// GammaGamma for spend, discounted monthly over `months` at `discount_rate` a month as
/// lifetimes' `customer_lifetime_value` (`unit` is the unit of recency and T). Takes
/// `Summaries` or the frequency, recency, T and monetary columns. Returns a pyarrow Table of
/// p_alive, expected_purchases (over the horizon), expected_spend and clv.
#[pyfunction]
#[pyo3(signature = (model, spend, frequency, recency = None, T = None, monetary = None, *,
    months = 12, discount_rate = 0.01, unit = None))]
#[allow(non_snake_case, clippy::too_many_arguments)]
fn clv<'py>(
    py: Python<'py>,
    model: &Bound<'py, PyAny>,
    spend: PyRef<'py, PyGammaGamma>,
    frequency: &Bound<'py, PyAny>,
    recency: Option<&Bound<'py, PyAny>>,
    T: Option<&Bound<'py, PyAny>>,
    monetary: Option<&Bound<'py, PyAny>>,
    months: u32,
    discount_rate: f64,
    unit: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut cols = columns_of(frequency, recency, T)?;
    if let Some(m) = monetary {
        cols.monetary = Some(f64s(m, "monetary")?);
    }
    let unit = match (unit, cols.unit) {
        (Some(u), _) => unit_of(u)?,
        (None, Some(u)) => u,
        (None, None) => TimeUnit::Weeks,
    };
    let discounting = Discounting::lifetimes(months, discount_rate, unit).or_py()?;
    if let Ok(m) = model.cast::<PyBgNbd>() {
        value_table(py, m.get().model(), &spend.model, &cols, discounting)
    } else if let Ok(m) = model.cast::<PyMbgNbd>() {
        value_table(py, m.get().model(), &spend.model, &cols, discounting)
    } else if let Ok(m) = model.cast::<PyParetoNbd>() {
        value_table(py, m.get().model(), &spend.model, &cols, discounting)
    } else {
        Err(parameter(
            "model",
            model.get_type().name()?,
            "a BgNbd, MbgNbd or ParetoNbd",
        ))
    }
}

// ---------------------------------------------------------------------------------------
// BG/BB

/// BG/BB (Fader, Hardie & Shang 2010) for discrete-time histories: x purchases in n
/// opportunities, the last at t_x. lifetimes' BetaGeoBetaBinomFitter.
#[pyclass(module = "custseg", name = "BgBb", frozen, skip_from_py_object)]
#[derive(Clone)]
struct PyBgBb {
    model: BgBb,
    report: Option<String>,
}

fn bgbb_histories(
    frequency: &Bound<'_, PyAny>,
    recency: &Bound<'_, PyAny>,
    n_periods: &Bound<'_, PyAny>,
) -> PyResult<(ArrayRef, ArrayRef, ArrayRef)> {
    Ok((
        u32s(frequency, "frequency")?,
        u32s(recency, "recency")?,
        u32s(n_periods, "n_periods")?,
    ))
}

fn histories_of(x: &ArrayRef, t_x: &ArrayRef, n: &ArrayRef) -> custseg::Result<Vec<BgBbHistory>> {
    let (x, t_x, n) = (u32_values(x), u32_values(t_x), u32_values(n));
    if t_x.len() != x.len() || n.len() != x.len() {
        return Err(Error::LengthMismatch {
            what: "BG/BB columns",
            expected: x.len(),
            got: t_x.len().min(n.len()),
        });
    }
    (0..x.len())
        .map(|i| BgBbHistory::new(x[i], t_x[i], n[i]).map_err(|e| e.amend_row(i)))
        .collect()
}

#[pymethods]
impl PyBgBb {
    /// The model at given parameters.
    #[new]
    fn new(alpha: f64, beta: f64, gamma: f64, delta: f64) -> PyResult<Self> {
        Ok(PyBgBb {
            model: BgBb::new(alpha, beta, gamma, delta).or_py()?,
            report: None,
        })
    }

    /// Fits on histories (frequency x, recency t_x, n_periods n), each weighted by `weights`
    /// (the number of customers with that history; 1 each when None).
    #[staticmethod]
    #[pyo3(signature = (frequency, recency, n_periods, weights = None, *, starts = 1, seed = 0))]
    fn fit(
        py: Python<'_>,
        frequency: &Bound<'_, PyAny>,
        recency: &Bound<'_, PyAny>,
        n_periods: &Bound<'_, PyAny>,
        weights: Option<&Bound<'_, PyAny>>,
        starts: usize,
        seed: u64,
    ) -> PyResult<Self> {
        let (x, t_x, n) = bgbb_histories(frequency, recency, n_periods)?;
        let w = weights.map(|w| f64s(w, "weights")).transpose()?;
        let params = fit_options(BgBb::params(), 0.0, starts, seed, None)?;
        let (model, report) = py
            .detach(|| {
                let h = histories_of(&x, &t_x, &n)?;
                let rows: Vec<(BgBbHistory, f64)> = match &w {
                    Some(w) => h.into_iter().zip(f64_values(w).iter().copied()).collect(),
                    None => h.into_iter().map(|h| (h, 1.0)).collect(),
                };
                params.fit(&rows[..])
            })
            .or_py()?;
        Ok(PyBgBb {
            model,
            report: Some(to_json(&report)?),
        })
    }

    /// The parameters alpha, beta, gamma, delta.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = PyDict::new(py);
        d.set_item("alpha", self.model.alpha())?;
        d.set_item("beta", self.model.beta())?;
        d.set_item("gamma", self.model.gamma())?;
        d.set_item("delta", self.model.delta())?;
        Ok(d.into_any())
    }

    /// The fit report as a dict (None for a model built from parameters).
    #[getter]
    fn report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        report_dict(py, &self.report)
    }

    /// P(alive) after the last opportunity of each history.
    fn p_alive<'py>(
        &self,
        py: Python<'py>,
        frequency: &Bound<'py, PyAny>,
        recency: &Bound<'py, PyAny>,
        n_periods: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (x, t_x, n) = bgbb_histories(frequency, recency, n_periods)?;
        let p = py
            .detach(|| self.model.p_alive_batch(&histories_of(&x, &t_x, &n)?))
            .or_py()?;
        f64_array(py, p)
    }

    /// Expected purchases in the next `n_star` opportunities of each history.
    fn expected_purchases<'py>(
        &self,
        py: Python<'py>,
        n_star: u32,
        frequency: &Bound<'py, PyAny>,
        recency: &Bound<'py, PyAny>,
        n_periods: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (x, t_x, n) = bgbb_histories(frequency, recency, n_periods)?;
        let e = py
            .detach(|| {
                self.model
                    .expected_purchases_batch(&histories_of(&x, &t_x, &n)?, n_star)
            })
            .or_py()?;
        f64_array(py, e)
    }

    /// The model as the JSON the Rust crate reads and writes.
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.model)
    }

    /// A model from its JSON, checked.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PyBgBb {
            model: from_json(text, "BgBb")?,
            report: None,
        })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        reduce(slf, slf.get().to_json()?)
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(format!("BgBb({})", to_json(&self.model)?))
    }
}

// ---------------------------------------------------------------------------------------
// sBG

/// Shifted beta-geometric (Fader & Hardie 2007) for contractual churn: each subscriber
/// renews every period with their own beta-distributed probability.
#[pyclass(
    module = "custseg",
    name = "ShiftedBetaGeometric",
    frozen,
    skip_from_py_object
)]
#[derive(Clone)]
struct PySbg {
    model: ShiftedBetaGeometric,
    report: Option<String>,
}

#[pymethods]
impl PySbg {
    /// The model at given alpha and beta.
    #[new]
    fn new(alpha: f64, beta: f64) -> PyResult<Self> {
        Ok(PySbg {
            model: ShiftedBetaGeometric::new(alpha, beta).or_py()?,
            report: None,
        })
    }

    /// Fits on a cohort: the number (or share) of subscribers still active at the start and
    /// after each period, e.g. [1000, 631, 468, 382, 326].
    #[staticmethod]
    fn fit(py: Python<'_>, survivors: Vec<f64>) -> PyResult<Self> {
        let (model, report) = py
            .detach(|| ShiftedBetaGeometric::params().fit(&Cohort::new(survivors)?))
            .or_py()?;
        Ok(PySbg {
            model,
            report: Some(to_json(&report)?),
        })
    }

    /// The parameters alpha and beta.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = PyDict::new(py);
        d.set_item("alpha", self.model.alpha())?;
        d.set_item("beta", self.model.beta())?;
        Ok(d.into_any())
    }

    /// The fit report as a dict (None for a model built from parameters).
    #[getter]
    fn report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        report_dict(py, &self.report)
    }

    /// Share of a cohort still active after `t` periods.
    fn survival(&self, t: u32) -> f64 {
        self.model.survival(t)
    }

    /// Retention rate of period `t` (survivors of t over survivors of t − 1).
    fn retention(&self, t: u32) -> f64 {
        self.model.retention(t)
    }

    /// Discounted expected residual lifetime of a subscriber who has renewed `renewals` times.
    fn derl(&self, discount_rate: f64, renewals: u32) -> PyResult<f64> {
        self.model.derl(discount_rate, renewals).or_py()
    }

    /// The model as the JSON the Rust crate reads and writes.
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.model)
    }

    /// A model from its JSON, checked.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PySbg {
            model: from_json(text, "ShiftedBetaGeometric")?,
            report: None,
        })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        reduce(slf, slf.get().to_json()?)
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(format!("ShiftedBetaGeometric({})", to_json(&self.model)?))
    }
}

// ---------------------------------------------------------------------------------------
// RFM

/// RFM scores: recency, frequency and monetary value binned into 1..scores on a fitting
/// snapshot (quantiles, or thresholds you give), and named segments.
#[pyclass(module = "custseg", name = "RfmModel", frozen, skip_from_py_object)]
#[derive(Clone)]
struct PyRfm {
    model: RfmModel,
}

fn binning(thresholds: Option<Vec<f64>>) -> Binning {
    thresholds.map_or(Binning::Quantiles, Binning::Thresholds)
}

fn summaries_arg(obj: &Bound<'_, PyAny>) -> PyResult<Arc<Vec<CustomerSummary>>> {
    if let Ok(s) = obj.cast::<PySummaries>() {
        return Ok(s.get().rows.clone());
    }
    let batches = batches_of(obj)?;
    let rows = summaries_from_record_batches(&batches, TimeUnit::Weeks).or_py()?;
    Ok(Arc::new(rows))
}

fn scheme_of(scheme: &str, scores: u8) -> PyResult<SegmentScheme> {
    match scheme {
        "rfm_package" => Ok(SegmentScheme::rfm_package()),
        "five_tiers" => SegmentScheme::five_tiers(scores).or_py(),
        other => Err(parameter(
            "scheme",
            other,
            "'rfm_package' (the R rfm package's eleven segments, 5 scores) or 'five_tiers'",
        )),
    }
}

#[pymethods]
impl PyRfm {
    /// Learns the bin edges from `Summaries` (or a summaries table). Every dimension is
    /// binned by quantiles unless thresholds are given (recency in days). `frequency_basis`:
    /// 'purchases' (every purchase period) or 'repeat'; `monetary_basis`: 'total' or 'mean'.
    #[staticmethod]
    #[pyo3(signature = (summaries, *, scores = 5, recency_thresholds = None,
        frequency_thresholds = None, monetary_thresholds = None, frequency_basis = "purchases",
        monetary_basis = "total"))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        summaries: &Bound<'_, PyAny>,
        scores: u8,
        recency_thresholds: Option<Vec<f64>>,
        frequency_thresholds: Option<Vec<f64>>,
        monetary_thresholds: Option<Vec<f64>>,
        frequency_basis: &str,
        monetary_basis: &str,
    ) -> PyResult<Self> {
        let fb = match frequency_basis {
            "purchases" => FrequencyBasis::PurchasePeriods,
            "repeat" => FrequencyBasis::RepeatPurchases,
            other => {
                return Err(parameter(
                    "frequency_basis",
                    other,
                    "'purchases' or 'repeat'",
                ));
            }
        };
        let mb = match monetary_basis {
            "total" => MonetaryBasis::TotalSpend,
            "mean" => MonetaryBasis::MeanPerPurchase,
            other => return Err(parameter("monetary_basis", other, "'total' or 'mean'")),
        };
        let params = RfmParams::new(scores)
            .or_py()?
            .with_recency(binning(recency_thresholds))
            .or_py()?
            .with_frequency(binning(frequency_thresholds))
            .or_py()?
            .with_monetary(binning(monetary_thresholds))
            .or_py()?
            .with_frequency_basis(fb)
            .with_monetary_basis(mb);
        let rows = summaries_arg(summaries)?;
        let (model, _) = py.detach(|| params.fit(&rows[..])).or_py()?;
        Ok(PyRfm { model })
    }

    /// The bin edges learnt: a dict of recency, frequency and monetary edges.
    #[getter]
    fn edges<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = PyDict::new(py);
        d.set_item("recency", self.model.recency_edges().to_vec())?;
        d.set_item("frequency", self.model.frequency_edges().to_vec())?;
        d.set_item("monetary", self.model.monetary_edges().to_vec())?;
        Ok(d.into_any())
    }

    /// Scores every customer: a pyarrow Table of customer_id, recency_days, frequency,
    /// monetary, revenue, r, f, m, rfm_cell and, with `scheme` ('rfm_package' or
    /// 'five_tiers'), the segment name.
    #[pyo3(signature = (summaries, *, scheme = None))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        summaries: &Bound<'py, PyAny>,
        scheme: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let rows = summaries_arg(summaries)?;
        let scheme = scheme
            .map(|s| scheme_of(s, self.model.scores()))
            .transpose()?;
        let batch = py
            .detach(|| {
                let scores = self.model.score_batch(&rows[..])?;
                let batch = scores.to_record_batch()?;
                let Some(scheme) = scheme else {
                    return Ok(batch);
                };
                let names = scores
                    .iter()
                    .map(|s| scheme.segment_name(s.cell).map(str::to_string))
                    .collect::<custseg::Result<Vec<String>>>()?;
                let mut fields = batch.schema().fields().to_vec();
                fields.push(Arc::new(Field::new("segment", DataType::Utf8, false)));
                let mut columns = batch.columns().to_vec();
                columns.push(Arc::new(StringArray::from(names)));
                RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| {
                    Error::InvalidParameter {
                        name: "record batch",
                        value: String::new(),
                        reason: e.to_string(),
                    }
                })
            })
            .or_py()?;
        one_table(py, batch)
    }

    /// The model as the JSON the Rust crate reads and writes.
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.model)
    }

    /// A model from its JSON, checked.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PyRfm {
            model: from_json(text, "RfmModel")?,
        })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        reduce(slf, slf.get().to_json()?)
    }

    fn __repr__(&self) -> String {
        format!("RfmModel(scores={})", self.model.scores())
    }
}

// ---------------------------------------------------------------------------------------
// Segmenters

/// A numeric matrix (rows × columns, row-major) from a 2-D numpy array, a list of rows, or a
/// table of numeric columns.
fn matrix_of(obj: &Bound<'_, PyAny>) -> PyResult<(Vec<f64>, usize, usize)> {
    let py = obj.py();
    if obj.hasattr("__arrow_c_stream__")? && !obj.hasattr("__array__")? {
        let batches = batches_of(obj)?;
        let Some(first) = batches.first() else {
            return Err(py_err(Error::EmptyInput { what: "rows" }));
        };
        let cols = first.num_columns();
        let mut columns: Vec<Vec<f64>> = vec![Vec::new(); cols];
        let pa = py.import("pyarrow")?;
        for b in &batches {
            for (c, col) in b.columns().iter().enumerate() {
                let arr = PyArrowType(col.to_data()).into_pyobject(py)?;
                let name = b.schema().field(c).name().clone();
                let a = array_of(&arr, "float64", &name)?;
                columns[c].extend_from_slice(f64_values(&a));
            }
        }
        drop(pa);
        let rows = columns.first().map_or(0, Vec::len);
        let mut out = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            out.extend(columns.iter().map(|c| c[r]));
        }
        return Ok((out, rows, cols));
    }
    let np = py.import("numpy")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("dtype", "float64")?;
    let arr = np.call_method("ascontiguousarray", (obj,), Some(&kwargs))?;
    let shape: Vec<usize> = arr.getattr("shape")?.extract()?;
    let [rows, cols] = shape[..] else {
        return Err(parameter(
            "features",
            format!("shape {shape:?}"),
            "a 2-D matrix: one row per customer, one column per feature",
        ));
    };
    let flat = arr.call_method0("ravel")?;
    let a = f64s(&flat, "features")?;
    Ok((f64_values(&a).to_vec(), rows, cols))
}

/// A clustering fitted on a numeric matrix: k-means, Gaussian mixture or DBSCAN (custseg's
/// own; scikit-learn's results), or any `Strategy` given as the crate's JSON.
#[pyclass(module = "custseg", name = "Clustering", frozen, skip_from_py_object)]
#[derive(Clone)]
struct PyClustering {
    model: Clustering,
    labels: Vec<Option<usize>>,
}

fn strategy_of(
    method: &str,
    k: Option<usize>,
    seed: u64,
    eps: Option<f64>,
    min_samples: usize,
) -> PyResult<Strategy> {
    let need_k = || k.ok_or_else(|| parameter("k", "None", format!("{method} needs k")));
    Ok(match method {
        "kmeans" => Strategy::KMeans(KMeansParams::new(need_k()?).or_py()?.with_seed(seed)),
        "gmm" => Strategy::GaussianMixture(
            GaussianMixtureParams::new(need_k()?)
                .or_py()?
                .with_seed(seed),
        ),
        "dbscan" => {
            let eps = eps.ok_or_else(|| parameter("eps", "None", "DBSCAN needs eps"))?;
            Strategy::Dbscan(DbscanParams::new(eps, min_samples).or_py()?)
        }
        json if json.trim_start().starts_with('{') => from_json(json, "strategy")?,
        other => {
            return Err(parameter(
                "method",
                other,
                "'kmeans', 'gmm', 'dbscan' or a Strategy as JSON",
            ));
        }
    })
}

#[pymethods]
impl PyClustering {
    /// Fits `method` ('kmeans', 'gmm', 'dbscan', or a Strategy's JSON) on `features` (a 2-D
    /// numpy array or a table of numeric columns, one row per customer).
    #[staticmethod]
    #[pyo3(signature = (features, method = "kmeans", *, k = None, seed = 0, eps = None,
        min_samples = 5))]
    fn fit(
        py: Python<'_>,
        features: &Bound<'_, PyAny>,
        method: &str,
        k: Option<usize>,
        seed: u64,
        eps: Option<f64>,
        min_samples: usize,
    ) -> PyResult<Self> {
        let strategy = strategy_of(method, k, seed, eps, min_samples)?;
        let (values, rows, cols) = matrix_of(features)?;
        let (model, report) = py
            .detach(|| {
                let m = ndarray_of(values, rows, cols)?;
                strategy.fit(&Points::numeric(m.view()))
            })
            .or_py()?;
        Ok(PyClustering {
            model,
            labels: report.labels,
        })
    }

    /// The segment of every training row (None: DBSCAN noise), as a pyarrow array.
    #[getter]
    fn labels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        labels_array(py, &self.labels)
    }

    /// Number of segments.
    #[getter]
    fn segments(&self) -> usize {
        self.model.segments()
    }

    /// The segment of each row of `features` (None: DBSCAN noise).
    fn assign<'py>(
        &self,
        py: Python<'py>,
        features: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (values, rows, cols) = matrix_of(features)?;
        let labels = py
            .detach(|| {
                let m = ndarray_of(values, rows, cols)?;
                let none = ndarray::Array2::<u32>::zeros((rows, 0));
                self.model.assign_batch(m.view(), none.view())
            })
            .or_py()?;
        labels_array(py, &labels)
    }

    /// The model as the JSON the Rust crate reads and writes.
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.model)
    }

    /// A model from its JSON, checked.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PyClustering {
            model: from_json(text, "Clustering")?,
            labels: Vec::new(),
        })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        reduce(slf, slf.get().to_json()?)
    }

    fn __repr__(&self) -> String {
        format!("Clustering({} segments)", self.model.segments())
    }
}

fn ndarray_of(values: Vec<f64>, rows: usize, cols: usize) -> custseg::Result<ndarray::Array2<f64>> {
    ndarray::Array2::from_shape_vec((rows, cols), values).map_err(|e| Error::InvalidParameter {
        name: "features",
        value: format!("{rows} × {cols}"),
        reason: e.to_string(),
    })
}

fn labels_array<'py>(py: Python<'py>, labels: &[Option<usize>]) -> PyResult<Bound<'py, PyAny>> {
    let a = arrow_array::Int64Array::from_iter(labels.iter().map(|l| l.map(|v| v as i64)));
    PyArrowType(a.into_data()).into_pyobject(py)
}

/// Behavioral segments of customers from their purchase summaries (recency, frequency,
/// spend, order value, cadence, tenure), by k-means or another strategy, with named
/// profiles.
#[pyclass(
    module = "custseg",
    name = "BehavioralModel",
    frozen,
    skip_from_py_object
)]
#[derive(Clone)]
struct PyBehavioral {
    model: BehavioralModel,
    labels: Vec<Option<usize>>,
}

#[pymethods]
impl PyBehavioral {
    /// Fits k segments on `Summaries` (k-means, 10 restarts, `seed`), or by `method` ('gmm',
    /// or a Strategy's JSON).
    #[staticmethod]
    #[pyo3(signature = (summaries, k, *, method = "kmeans", seed = 0))]
    fn fit(
        py: Python<'_>,
        summaries: &Bound<'_, PyAny>,
        k: usize,
        method: &str,
        seed: u64,
    ) -> PyResult<Self> {
        let rows = summaries_arg(summaries)?;
        let strategy = strategy_of(method, Some(k), seed, None, 5)?;
        let segmenter = BehavioralSegmenter::new(k)
            .or_py()?
            .with_strategy(strategy)
            .or_py()?;
        let (model, report) = py
            .detach(|| {
                let records: Vec<BehavioralRecord> =
                    rows.iter().map(BehavioralRecord::from_summary).collect();
                segmenter.fit(&records[..])
            })
            .or_py()?;
        Ok(PyBehavioral {
            model,
            labels: report.labels,
        })
    }

    /// The segment of every training customer, as a pyarrow array.
    #[getter]
    fn labels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        labels_array(py, &self.labels)
    }

    /// The segment names, by segment number.
    #[getter]
    fn names(&self) -> Vec<String> {
        (0..self.model.segments())
            .map(|s| self.model.segment_name(s).unwrap_or_default().to_string())
            .collect()
    }

    /// The segment of each customer of `summaries`.
    fn assign<'py>(
        &self,
        py: Python<'py>,
        summaries: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let rows = summaries_arg(summaries)?;
        let labels = py
            .detach(|| {
                let records: Vec<BehavioralRecord> =
                    rows.iter().map(BehavioralRecord::from_summary).collect();
                self.model.assign_batch(&records)
            })
            .or_py()?;
        labels_array(py, &labels)
    }

    /// The model as the JSON the Rust crate reads and writes.
    fn to_json(&self) -> PyResult<String> {
        to_json(&self.model)
    }

    /// A model from its JSON, checked.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Ok(PyBehavioral {
            model: from_json(text, "BehavioralModel")?,
            labels: Vec::new(),
        })
    }

    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        reduce(slf, slf.get().to_json()?)
    }

    fn __repr__(&self) -> String {
        format!("BehavioralModel({:?})", self.names())
    }
}

// ---------------------------------------------------------------------------------------
// Demographic, geographic and psychographic segments

/// A table-like object as a pyarrow Table (`pyarrow.table` takes pandas, polars, dicts).
fn pa_table<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    obj.py().import("pyarrow")?.call_method1("table", (obj,))
}

/// A column of a pyarrow Table cast to `pa_type`, nulls kept; None when the table lacks it.
fn column_of(table: &Bound<'_, PyAny>, name: &str, pa_type: &str) -> PyResult<Option<ArrayRef>> {
    let names: Vec<String> = table.getattr("column_names")?.extract()?;
    if !names.iter().any(|n| n == name) {
        return Ok(None);
    }
    let pa = table.py().import("pyarrow")?;
    let col = table
        .call_method1("column", (name,))?
        .call_method0("combine_chunks")?
        .call_method1("cast", (pa.call_method0(pa_type)?,))?;
    Ok(Some(make_array(ArrayData::from_pyarrow_bound(&col)?)))
}

fn required_f64s(table: &Bound<'_, PyAny>, name: &str) -> PyResult<ArrayRef> {
    let col = column_of(table, name, "float64")?
        .ok_or_else(|| parameter("column", name, "the table needs it (a numeric column)"))?;
    if let Some(row) = col.logical_nulls().and_then(|n| n.iter().position(|v| !v)) {
        return Err(py_err(Error::Missing {
            at: Position::at_row(row).with_column(name),
        }));
    }
    Ok(col)
}

/// The customer ids of a table's `customer_id` column as text, or the row numbers.
fn ids_of(table: &Bound<'_, PyAny>, rows: usize) -> PyResult<Vec<CustomerId>> {
    match column_of(table, "customer_id", "string")? {
        Some(ids) => {
            let ids = ids.as_string::<i32>();
            (0..ids.len())
                .map(|i| {
                    if ids.is_null(i) {
                        Err(py_err(Error::Missing {
                            at: Position::at_row(i).with_column("customer_id"),
                        }))
                    } else {
                        Ok(CustomerId::from(ids.value(i)))
                    }
                })
                .collect()
        }
        None => Ok((0..rows)
            .map(|i| CustomerId::from(i.to_string().as_str()))
            .collect()),
    }
}

fn opt_f64(col: &Option<ArrayRef>, i: usize) -> Option<f64> {
    col.as_ref()
        .filter(|c| c.is_valid(i))
        .map(|c| c.as_primitive::<Float64Type>().value(i))
}

fn opt_text(col: &Option<ArrayRef>, i: usize) -> Option<String> {
    col.as_ref()
        .filter(|c| c.is_valid(i))
        .map(|c| c.as_string::<i32>().value(i).to_string())
}

fn option<'py, T: FromPyObjectOwned<'py>>(
    options: Option<&Bound<'py, PyDict>>,
    name: &str,
) -> PyResult<Option<T>> {
    match options.map(|o| o.get_item(name)).transpose()?.flatten() {
        Some(v) if !v.is_none() => Ok(Some(v.extract().map_err(Into::into)?)),
        _ => Ok(None),
    }
}

use pyo3::conversion::FromPyObjectOwned;

/// The common verbs of the segment models: labels, names, assign, JSON, pickling.
macro_rules! segment_model {
    ($py_name:literal, $ty:ident, $model:ty, $doc:literal) => {
        #[doc = $doc]
        #[pyclass(module = "custseg", name = $py_name, frozen, skip_from_py_object)]
        #[derive(Clone)]
        struct $ty {
            model: $model,
            labels: Vec<Option<usize>>,
        }

        #[pymethods]
        impl $ty {
            /// Fits on `data` with the options documented in the class docstring; `segmenter`
            /// (the Rust segmenter as JSON) overrides them all.
            #[staticmethod]
            #[pyo3(signature = (data, **options))]
            fn fit(
                py: Python<'_>,
                data: &Bound<'_, PyAny>,
                options: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<Self> {
                let segmenter = match option::<String>(options, "segmenter")? {
                    Some(json) => from_json(&json, "segmenter")?,
                    None => Self::segmenter(data, options)?,
                };
                let records = Self::records(data, options)?;
                let (model, report) = py.detach(|| segmenter.fit(&records[..])).or_py()?;
                Ok($ty {
                    model,
                    labels: report.labels,
                })
            }

            /// The segment of every training record (None: noise, or too few answers).
            #[getter]
            fn labels<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                labels_array(py, &self.labels)
            }

            /// The segment names, by segment number.
            #[getter]
            fn names(&self) -> Vec<String> {
                (0..self.model.segments())
                    .map(|s| self.model.segment_name(s).unwrap_or_default().to_string())
                    .collect()
            }

            /// The segment of each record of `data` (the same layout as for `fit`).
            #[pyo3(signature = (data, **options))]
            fn assign<'py>(
                &self,
                py: Python<'py>,
                data: &Bound<'py, PyAny>,
                options: Option<&Bound<'py, PyDict>>,
            ) -> PyResult<Bound<'py, PyAny>> {
                let records = Self::records(data, options)?;
                let labels = py.detach(|| self.model.assign_batch(&records)).or_py()?;
                labels_array(py, &labels)
            }

            /// The model as the JSON the Rust crate reads and writes.
            fn to_json(&self) -> PyResult<String> {
                to_json(&self.model)
            }

            /// A model from its JSON, checked.
            #[staticmethod]
            fn from_json(text: &str) -> PyResult<Self> {
                Ok($ty {
                    model: from_json(text, $py_name)?,
                    labels: Vec::new(),
                })
            }

            fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
                reduce(slf, slf.get().to_json()?)
            }

            fn __repr__(&self) -> String {
                format!("{}({:?})", $py_name, self.names())
            }
        }
    };
}

segment_model!(
    "DemographicModel",
    PyDemographic,
    DemographicModel,
    "Demographic segments from a table with any of the columns age, income, household_size \
     (numbers), gender, education, occupation, region (text), nulls allowed (imputed and \
     counted), and customer_id. Options: `k` for k-prototypes over every field (seed 0), \
     else age bands by 25/35/45/55/65 and income terciles; `segmenter` (JSON) for any other."
);

impl PyDemographic {
    fn segmenter(
        data: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<DemographicSegmenter> {
        let s = match option::<usize>(options, "k")? {
            Some(k) => DemographicSegmenter::kprototypes(k).or_py()?,
            None => DemographicSegmenter::bands(),
        };
        // The fields are the table's columns among the standard ones.
        let names: Vec<String> = pa_table(data)?.getattr("column_names")?.extract()?;
        let fields: Vec<DemographicField> = DemographicField::ALL
            .into_iter()
            .filter(|f| names.iter().any(|n| n == f.name()))
            .collect();
        s.with_fields(&fields).or_py()
    }

    fn records(
        data: &Bound<'_, PyAny>,
        _options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Vec<DemographicRecord>> {
        let t = pa_table(data)?;
        let rows: usize = t.getattr("num_rows")?.extract()?;
        let ids = ids_of(&t, rows)?;
        let num = |n| column_of(&t, n, "float64");
        let text = |n| column_of(&t, n, "string");
        let (age, income, household) = (num("age")?, num("income")?, num("household_size")?);
        let (gender, education) = (text("gender")?, text("education")?);
        let (occupation, region) = (text("occupation")?, text("region")?);
        Ok(ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| {
                let mut r = DemographicRecord::new(id);
                r.age = opt_f64(&age, i);
                r.income = opt_f64(&income, i);
                r.household_size = opt_f64(&household, i);
                r.gender = opt_text(&gender, i);
                r.education = opt_text(&education, i);
                r.occupation = opt_text(&occupation, i);
                r.region = opt_text(&region, i);
                r
            })
            .collect())
    }
}

segment_model!(
    "GeographicModel",
    PyGeographic,
    GeographicModel,
    "Geographic segments of customers' locations: a table with lat and lon (degrees) and \
     customer_id. Options: `method` 'density' (DBSCAN on the sphere: `eps_km`, \
     `min_points`) or 'kmeans' (`k`, `seed`); `segmenter` (JSON) for regions, urbanicity or \
     trade areas."
);

impl PyGeographic {
    fn segmenter(
        _data: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<GeographicSegmenter> {
        let method = option::<String>(options, "method")?.unwrap_or_else(|| "density".into());
        let mode = match method.as_str() {
            "density" => GeoMode::Density {
                eps_km: option::<f64>(options, "eps_km")?
                    .ok_or_else(|| parameter("eps_km", "None", "density needs eps_km"))?,
                min_points: option::<usize>(options, "min_points")?.unwrap_or(5),
            },
            "kmeans" => {
                let k = option::<usize>(options, "k")?
                    .ok_or_else(|| parameter("k", "None", "kmeans needs k"))?;
                let seed = option::<u64>(options, "seed")?.unwrap_or(0);
                GeoMode::KMeans(KMeansParams::new(k).or_py()?.with_seed(seed))
            }
            other => return Err(parameter("method", other, "'density' or 'kmeans'")),
        };
        GeographicSegmenter::new(mode).or_py()
    }

    fn records(
        data: &Bound<'_, PyAny>,
        _options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Vec<GeoRecord>> {
        let t = pa_table(data)?;
        let (lat, lon) = (required_f64s(&t, "lat")?, required_f64s(&t, "lon")?);
        let ids = ids_of(&t, lat.len())?;
        let (lat, lon) = (f64_values(&lat), f64_values(&lon));
        Ok(ids
            .into_iter()
            .enumerate()
            .map(|(i, id)| GeoRecord::new(id, lat[i], lon[i]))
            .collect())
    }
}

segment_model!(
    "PsychographicModel",
    PyPsychographic,
    PsychographicModel,
    "Psychographic segments from survey answers: a matrix (one row per respondent, one \
     column per item; NaN for unanswered) and options `items` (names; a leading '-' marks a \
     reverse-worded item), `scale` (min, max of the answer scale, default (1, 5)), `k` \
     segments; answers are reduced to factors (as many as the parallel analysis keeps) and \
     clustered."
);

impl PyPsychographic {
    fn segmenter(
        _data: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PsychographicSegmenter> {
        let items: Vec<String> = option(options, "items")?
            .ok_or_else(|| parameter("items", "None", "the item names, one per column"))?;
        let (min, max) = option::<(f64, f64)>(options, "scale")?.unwrap_or((1.0, 5.0));
        let k = option::<usize>(options, "k")?
            .ok_or_else(|| parameter("k", "None", "the number of segments"))?;
        let items = items
            .iter()
            .map(|n| match n.strip_prefix('-') {
                Some(name) => SurveyItem {
                    name: name.to_string(),
                    reverse: true,
                },
                None => SurveyItem::new(n),
            })
            .collect();
        PsychographicSegmenter::new(items, min, max, k).or_py()
    }

    fn records(
        data: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Vec<SurveyResponse>> {
        let (values, rows, cols) = matrix_of(data)?;
        let ids: Option<Vec<String>> = option(options, "customer_ids")?;
        Ok((0..rows)
            .map(|r| SurveyResponse {
                customer_id: ids.as_ref().and_then(|v| v.get(r)).map_or_else(
                    || CustomerId::from(r.to_string().as_str()),
                    |s| CustomerId::from(s.as_str()),
                ),
                answers: values[r * cols..(r + 1) * cols]
                    .iter()
                    .map(|v| v.is_finite().then_some(*v))
                    .collect(),
                tags: Vec::new(),
            })
            .collect())
    }
}

/// Any per-customer numbers beside the customer ids of `summaries`, as a pyarrow Table
/// (columns named by the dict's keys, in order).
#[pyfunction]
fn score_table<'py>(
    py: Python<'py>,
    summaries: PyRef<'py, PySummaries>,
    columns: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut b = ScoreBatch::new(summaries.rows.iter().map(|c| c.customer_id()));
    for (name, values) in columns.iter() {
        let name: String = name.extract()?;
        let a = f64s(&values, &name)?;
        b = b.with_column(&name, f64_values(&a)).or_py()?;
    }
    one_table(py, b.finish().or_py()?)
}

/// The version of the Rust crate inside.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<CustsegError>())?;
    m.add("DataError", py.get_type::<DataError>())?;
    m.add("ParameterError", py.get_type::<ParameterError>())?;
    m.add("ModelError", py.get_type::<ModelError>())?;
    m.add_class::<PySummaries>()?;
    m.add_class::<PyBgNbd>()?;
    m.add_class::<PyMbgNbd>()?;
    m.add_class::<PyParetoNbd>()?;
    m.add_class::<PyGammaGamma>()?;
    m.add_class::<PyBgBb>()?;
    m.add_class::<PySbg>()?;
    m.add_class::<PyRfm>()?;
    m.add_class::<PyClustering>()?;
    m.add_class::<PyBehavioral>()?;
    m.add_class::<PyDemographic>()?;
    m.add_class::<PyGeographic>()?;
    m.add_class::<PyPsychographic>()?;
    m.add_function(wrap_pyfunction!(summarise, m)?)?;
    m.add_function(wrap_pyfunction!(partial_summaries, m)?)?;
    m.add_function(wrap_pyfunction!(summarise_partials, m)?)?;
    m.add_function(wrap_pyfunction!(cdnow_sample, m)?)?;
    m.add_function(wrap_pyfunction!(clv, m)?)?;
    m.add_function(wrap_pyfunction!(score_table, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    Ok(())
}
