//! Scoring functions: a fitted model (its JSON, a constant) applied to summary columns.
//!
//! | function | arguments | result |
//! |---|---|---|
//! | `custseg_p_alive` | `(summary, model)` or `(x, t_x, T, model)` | Float64 |
//! | `custseg_expected_purchases` | `(summary, t, model)` or `(x, t_x, T, t, model)` | Float64: purchases in the next `t` units |
//! | `custseg_clv` | `(summary, valuation)` or `(x, t_x, T, monetary, valuation)` | Float64 |
//! | `custseg_rfm_cell` | `(summary, rfm_model)` | Utf8, e.g. `'545'` |
//! | `custseg_rfm_segment` | `(summary, rfm_model [, scheme])` | Utf8, the segment's name (the R `rfm` package's scheme by default) |
//! | `custseg_churn_risk` | `(summary, model)` | Float64: 1 − P(alive) |
//! | `custseg_churn_tier` | `(summary, model)` | Utf8: `low`, `medium`, `high`, `critical` |
//!
//! `summary` is the struct [`custseg_summary`](crate::summary) returns; a `NULL` summary (a
//! customer not acquired by the observation end) scores `NULL`. `model` is a
//! [`PurchaseModel`]'s JSON, `valuation` a [`ValuationSpec`]'s,
//! `rfm_model` an [`RfmModel`]'s and `scheme` a [`SegmentScheme`]'s; each is parsed and
//! checked once per batch. The numbers are those of the crate's batch API on the same
//! summaries (`p_alive_batch`, `expected_purchases_batch`, `Valuation::score_batch`, …);
//! the `(x, t_x, T)` forms take the crate's columnar path (`p_alive_columns`, …), equal to
//! it within 1e-13.
//!
//! Nulls in the `(x, t_x, T)` columns, NaN, negative or inconsistent histories (t_x > T, a
//! fractional x), a model that does not parse, a model fitted in another unit than the
//! summaries, and a horizon that is not a constant are DataFusion errors naming the row and
//! column where they have one.

use std::sync::Arc;

use custseg::churn::{ModelChurn, RiskTier};
use custseg::clv::{HistoryColumns, TransactionModel, Valuation};
use custseg::rfm::{RfmModel, SegmentScheme};
use custseg::{CustomerId, CustomerSummary, Date, Score, SummaryRecord};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array, StringArray, StructArray};
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, UInt32Type};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use crate::custseg_error;
use crate::models::{PurchaseModel, ValuationSpec, with_model};
use crate::summary::{parse_unit, summary_fields};

/// What a scoring function computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    PAlive,
    ExpectedPurchases,
    Clv,
    RfmCell,
    RfmSegment,
    ChurnRisk,
    ChurnTier,
}

impl Kind {
    pub(crate) const ALL: [Kind; 7] = [
        Kind::PAlive,
        Kind::ExpectedPurchases,
        Kind::Clv,
        Kind::RfmCell,
        Kind::RfmSegment,
        Kind::ChurnRisk,
        Kind::ChurnTier,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::PAlive => "custseg_p_alive",
            Kind::ExpectedPurchases => "custseg_expected_purchases",
            Kind::Clv => "custseg_clv",
            Kind::RfmCell => "custseg_rfm_cell",
            Kind::RfmSegment => "custseg_rfm_segment",
            Kind::ChurnRisk => "custseg_churn_risk",
            Kind::ChurnTier => "custseg_churn_tier",
        }
    }

    fn usage(self) -> &'static str {
        match self {
            Kind::PAlive => "(summary, model) or (x, t_x, T, model)",
            Kind::ExpectedPurchases => "(summary, t, model) or (x, t_x, T, t, model)",
            Kind::Clv => "(summary, valuation) or (x, t_x, T, monetary, valuation)",
            Kind::RfmCell | Kind::ChurnRisk | Kind::ChurnTier => "(summary, model)",
            Kind::RfmSegment => "(summary, rfm_model [, scheme])",
        }
    }

    fn returns_text(self) -> bool {
        matches!(self, Kind::RfmCell | Kind::RfmSegment | Kind::ChurnTier)
    }

    /// The number of number columns (x, t_x, T and, for CLV, z̄) of the columnar form, if
    /// there is one.
    fn columnar_arity(self) -> Option<usize> {
        match self {
            Kind::PAlive | Kind::ExpectedPurchases => Some(3),
            Kind::Clv => Some(4),
            _ => None,
        }
    }
}

/// One scoring function (see the [module docs](self)).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ScoreUdf {
    kind: Kind,
    signature: Signature,
}

impl ScoreUdf {
    pub(crate) fn new(kind: Kind) -> Self {
        ScoreUdf {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
    )
}

impl ScalarUDFImpl for ScoreUdf {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.kind.name();
        let usage = self.kind.usage();
        let n = arg_types.len();
        let bad = || plan_err!("{name}{usage}: got ({})", display_types(arg_types));
        if n < 2 || !is_text(&arg_types[n - 1]) {
            return bad();
        }
        let numeric = |t: &DataType| t.is_numeric() || *t == DataType::Null;
        // The summary-struct form: a struct first, then the horizon where there is one.
        if let DataType::Struct(_) = &arg_types[0] {
            let extra = match self.kind {
                Kind::ExpectedPurchases => 1,
                _ => 0,
            };
            let with_scheme = self.kind == Kind::RfmSegment && n == 3 && is_text(&arg_types[1]);
            if n != 2 + extra && !with_scheme {
                return bad();
            }
            if extra == 1 && !numeric(&arg_types[1]) {
                return bad();
            }
            let mut out = vec![arg_types[0].clone()];
            out.extend(std::iter::repeat_n(DataType::Float64, extra));
            out.extend(std::iter::repeat_n(DataType::Utf8, n - 1 - extra));
            return Ok(out);
        }
        let Some(columns) = self.kind.columnar_arity() else {
            return bad();
        };
        let horizon = usize::from(self.kind == Kind::ExpectedPurchases);
        if n != columns + horizon + 1 || !arg_types[..n - 1].iter().all(numeric) {
            return bad();
        }
        let mut out = vec![DataType::Float64; n - 1];
        out.push(DataType::Utf8);
        Ok(out)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(if self.kind.returns_text() {
            DataType::Utf8
        } else {
            DataType::Float64
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.kind.name();
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let text = |i: usize, what: &str| -> Result<String> {
            match &args.args[i] {
                ColumnarValue::Scalar(v) => match v.try_as_str() {
                    Some(Some(s)) => Ok(s.to_string()),
                    _ => exec_err!("{name}: {what} must be JSON text, got {v}"),
                },
                ColumnarValue::Array(_) => {
                    exec_err!("{name}: {what} must be a constant (the model's JSON), not a column")
                }
            }
        };
        let number = |i: usize, what: &str| -> Result<f64> {
            match &args.args[i] {
                ColumnarValue::Scalar(ScalarValue::Float64(Some(v))) => Ok(*v),
                other => exec_err!("{name}: {what} must be a constant number, got {other:?}"),
            }
        };
        let last = args.args.len() - 1;
        let out: ArrayRef = if let DataType::Struct(_) = arrays[0].data_type() {
            let summaries = read_summaries(name, arrays[0].as_struct())?;
            let valid: Vec<CustomerSummary> = summaries.iter().flatten().cloned().collect();
            let e = |err| custseg_error(name, err);
            match self.kind {
                Kind::PAlive => {
                    let m = parse_model(name, &text(last, "model")?)?;
                    let v = with_model!(m, m => m.p_alive_batch(&valid).map_err(e)?);
                    scatter_f64(&summaries, v)
                }
                Kind::ExpectedPurchases => {
                    let m = parse_model(name, &text(last, "model")?)?;
                    let t = number(1, "t")?;
                    let v = with_model!(m, m => m.expected_purchases_batch(&valid, t).map_err(e)?);
                    scatter_f64(&summaries, v)
                }
                Kind::Clv => {
                    let spec = parse_valuation(name, &text(last, "valuation")?)?;
                    let v = with_model!(spec.model, m => {
                        Valuation::new(m, spec.spend, spec.discounting).score_batch(&valid).map_err(e)?
                    });
                    scatter_f64(&summaries, v.into_iter().map(|c| c.clv).collect())
                }
                Kind::RfmCell | Kind::RfmSegment => {
                    let model: RfmModel = parse_json(name, "rfm_model", &text(1, "rfm_model")?)?;
                    let scores = model.score_batch(&valid).map_err(e)?;
                    let labels: Vec<String> = if self.kind == Kind::RfmCell {
                        scores.iter().map(|s| s.cell.code()).collect()
                    } else {
                        let scheme = if last == 2 {
                            parse_json(name, "scheme", &text(2, "scheme")?)?
                        } else {
                            SegmentScheme::rfm_package()
                        };
                        scores
                            .iter()
                            .map(|s| scheme.segment_name(s.cell).map(str::to_string))
                            .collect::<custseg::Result<_>>()
                            .map_err(e)?
                    };
                    scatter_text(&summaries, labels)
                }
                Kind::ChurnRisk | Kind::ChurnTier => {
                    let m = parse_model(name, &text(last, "model")?)?;
                    let risks =
                        with_model!(m, m => ModelChurn::new(m).score_batch(&valid).map_err(e)?);
                    if self.kind == Kind::ChurnRisk {
                        scatter_f64(&summaries, risks.iter().map(|r| r.risk).collect())
                    } else {
                        let tiers = risks
                            .iter()
                            .map(|r| tier_name(r.tier).to_string())
                            .collect();
                        scatter_text(&summaries, tiers)
                    }
                }
            }
        } else {
            let columns = self.kind.columnar_arity().unwrap_or(3);
            let f = |i: usize| arrays[i].as_primitive::<Float64Type>();
            let names = ["x", "t_x", "T", "monetary"];
            for (i, col) in names.iter().enumerate().take(columns) {
                if let Some(r) = first_null(arrays[i].as_ref()) {
                    return exec_err!("{name}: {col} is NULL in row {r} of a batch");
                }
            }
            let x = counts(name, f(0))?;
            let h = HistoryColumns::new(&x, f(1).values(), f(2).values())
                .map_err(|err| custseg_error(name, err))?;
            let e = |err| custseg_error(name, err);
            let v = match self.kind {
                Kind::PAlive => {
                    let m = parse_model(name, &text(last, "model")?)?;
                    with_model!(m, m => m.p_alive_columns(&h).map_err(e)?)
                }
                Kind::ExpectedPurchases => {
                    let m = parse_model(name, &text(last, "model")?)?;
                    let t = number(3, "t")?;
                    with_model!(m, m => m.expected_purchases_columns(&h, t).map_err(e)?)
                }
                _ => {
                    let spec = parse_valuation(name, &text(last, "valuation")?)?;
                    let z = f(3).values();
                    with_model!(spec.model, m => {
                        Valuation::new(m, spec.spend, spec.discounting).value_columns(&h, z).map_err(e)?.clv
                    })
                }
            };
            Arc::new(Float64Array::from(v))
        };
        debug_assert_eq!(out.len(), rows);
        Ok(ColumnarValue::Array(out))
    }
}

fn display_types(types: &[DataType]) -> String {
    types
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn first_null(a: &dyn Array) -> Option<usize> {
    a.logical_nulls().and_then(|n| n.iter().position(|v| !v))
}

/// Repeat-purchase counts from a Float64 column: whole, non-negative, at most `u32::MAX`.
fn counts(name: &str, x: &Float64Array) -> Result<Vec<u32>> {
    x.values()
        .iter()
        .enumerate()
        .map(|(row, &v)| {
            if v.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&v) {
                Ok(v as u32)
            } else {
                exec_err!(
                    "{name}: x = {v} in row {row} of a batch is not a whole number of purchases ≥ 0"
                )
            }
        })
        .collect()
}

fn parse_json<T: serde::de::DeserializeOwned>(name: &str, what: &str, json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| {
        datafusion::error::DataFusionError::Execution(format!("{name}: {what} JSON: {e}"))
    })
}

fn parse_model(name: &str, json: &str) -> Result<PurchaseModel> {
    parse_json(name, "model", json)
}

fn parse_valuation(name: &str, json: &str) -> Result<ValuationSpec> {
    parse_json(name, "valuation", json)
}

fn tier_name(t: RiskTier) -> &'static str {
    match t {
        RiskTier::Low => "low",
        RiskTier::Medium => "medium",
        RiskTier::High => "high",
        _ => "critical",
    }
}

/// Values computed for the non-null summaries, placed back among the nulls.
fn scatter_f64(summaries: &[Option<CustomerSummary>], values: Vec<f64>) -> ArrayRef {
    let mut v = values.into_iter();
    Arc::new(Float64Array::from_iter(
        summaries.iter().map(|s| s.as_ref().and_then(|_| v.next())),
    ))
}

fn scatter_text(summaries: &[Option<CustomerSummary>], values: Vec<String>) -> ArrayRef {
    let mut v = values.into_iter();
    Arc::new(StringArray::from_iter(
        summaries.iter().map(|s| s.as_ref().and_then(|_| v.next())),
    ))
}

/// The summaries of a struct column as `custseg_summary` writes it (a null struct is
/// `None`), each checked as `CustomerSummary::try_from(SummaryRecord)` checks it.
fn read_summaries(name: &str, s: &StructArray) -> Result<Vec<Option<CustomerSummary>>> {
    let want = summary_fields();
    for f in want.iter() {
        match s.column_by_name(f.name()) {
            Some(c) if c.data_type() == f.data_type() => {}
            Some(c) => {
                return exec_err!(
                    "{name}: the summary's field {} is {}, expected {} (pass the struct custseg_summary returns)",
                    f.name(),
                    c.data_type(),
                    f.data_type()
                );
            }
            None => {
                return exec_err!(
                    "{name}: the summary has no field {} (pass the struct custseg_summary returns)",
                    f.name()
                );
            }
        }
    }
    let col = |n: &str| s.column_by_name(n).expect("checked above");
    let u32s = |n: &str| col(n).as_primitive::<UInt32Type>().clone();
    let f64s = |n: &str| col(n).as_primitive::<Float64Type>().clone();
    let days = |n: &str| col(n).as_primitive::<Date32Type>().clone();
    let (x, tx, hx, htx) = (
        u32s("frequency"),
        u32s("transactions"),
        u32s("holdout_frequency"),
        u32s("holdout_transactions"),
    );
    let (recency, age, z, total, hspend) = (
        f64s("recency"),
        f64s("age"),
        f64s("monetary"),
        f64s("total_spend"),
        f64s("holdout_spend"),
    );
    let (first, last) = (days("first_purchase"), days("last_purchase"));
    let unit = col("unit").as_string::<i32>().clone();
    let anonymous = CustomerId::from("(this row)");
    (0..s.len())
        .map(|row| {
            if s.is_null(row) {
                return Ok(None);
            }
            let at = |what: &str| format!("{name}: row {row} of a batch: {what}");
            let Some(u) = parse_unit(unit.value(row)) else {
                return exec_err!("{}", at(&format!("unit '{}'", unit.value(row))));
            };
            let day = |a: &datafusion::arrow::array::Date32Array| {
                Date::from_days_since_epoch(i64::from(a.value(row)))
                    .map_err(|e| datafusion::error::DataFusionError::Execution(at(&e.to_string())))
            };
            let record = SummaryRecord {
                customer_id: anonymous.clone(),
                first_purchase: day(&first)?,
                last_purchase: day(&last)?,
                frequency: x.value(row),
                recency: recency.value(row),
                age: age.value(row),
                unit: u,
                monetary: z.value(row),
                total_spend: total.value(row),
                transactions: tx.value(row),
                holdout_frequency: hx.value(row),
                holdout_spend: hspend.value(row),
                holdout_transactions: htx.value(row),
            };
            CustomerSummary::try_from(record)
                .map(Some)
                .map_err(|e| datafusion::error::DataFusionError::Execution(at(&e.to_string())))
        })
        .collect()
}
