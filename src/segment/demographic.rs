//! Demographic segmentation: customers grouped by who they are (age, gender, income,
//! education, occupation, household size, region, and columns of your own).
//!
//! Two modes:
//! - **Rule bands** — age bands × income tiers, the segments a marketing plan names up
//!   front. Age cuts are given (default 25, 35, 45, 55, 65); income tiers are either given
//!   or fitted as quantiles (default tertiles). A customer with no age or no income falls in
//!   an "unknown" band of its own: nothing is imputed.
//! - **k-prototypes** — data-driven segments over the numeric fields (standardised, income on
//!   a log scale) and the categorical ones together (Huang 1998). A missing category is a
//!   level of its own, "(missing)"; a missing number takes the training median, and how many
//!   were imputed per column is reported by the model.

use serde::{Deserialize, Serialize};

use super::features::{
    CategoricalFeature, Encoding, MissingNumeric, NumericFeature, Table, Transform,
};
use super::kprototypes::KPrototypesParams;
use super::model::{SegmentFitReport, SegmentModel, delegate_segment_model};
use super::profile::Vocabulary;
use super::strategy::{RuleBands, Strategy};
use crate::contract::only;
use crate::data::CustomerId;
use crate::error::{Error, Position, Result};
use crate::{Assign, Fit};

/// A standard demographic field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DemographicField {
    /// Age in years (numeric).
    Age,
    /// Gender (categorical).
    Gender,
    /// Income (numeric, any currency; enters k-prototypes on a log scale).
    Income,
    /// Education (categorical).
    Education,
    /// Occupation (categorical).
    Occupation,
    /// People in the household (numeric).
    HouseholdSize,
    /// Region (categorical).
    Region,
}

impl DemographicField {
    /// Every field, in record order.
    pub const ALL: [DemographicField; 7] = [
        DemographicField::Age,
        DemographicField::Gender,
        DemographicField::Income,
        DemographicField::Education,
        DemographicField::Occupation,
        DemographicField::HouseholdSize,
        DemographicField::Region,
    ];

    /// The column name.
    pub fn name(self) -> &'static str {
        match self {
            DemographicField::Age => "age",
            DemographicField::Gender => "gender",
            DemographicField::Income => "income",
            DemographicField::Education => "education",
            DemographicField::Occupation => "occupation",
            DemographicField::HouseholdSize => "household_size",
            DemographicField::Region => "region",
        }
    }

    fn is_numeric(self) -> bool {
        matches!(
            self,
            DemographicField::Age | DemographicField::Income | DemographicField::HouseholdSize
        )
    }
}

/// A value of a caller-defined extra column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DemographicValue {
    /// A number.
    Number(f64),
    /// A category.
    Category(String),
    /// Not known.
    Missing,
}

/// A caller-defined extra column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExtraColumn {
    /// Column name (must differ from the standard fields and the other extras).
    pub name: String,
    /// Numeric (true) or categorical (false).
    pub numeric: bool,
}

/// One customer's demographics; `None` where unknown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemographicRecord {
    /// The customer.
    pub customer_id: CustomerId,
    /// Age in years.
    pub age: Option<f64>,
    /// Gender.
    pub gender: Option<String>,
    /// Income.
    pub income: Option<f64>,
    /// Education.
    pub education: Option<String>,
    /// Occupation.
    pub occupation: Option<String>,
    /// People in the household.
    pub household_size: Option<f64>,
    /// Region.
    pub region: Option<String>,
    /// Values of the segmenter's extra columns, in order.
    pub extra: Vec<DemographicValue>,
}

impl DemographicRecord {
    /// A record with only the id (fill the fields you know).
    pub fn new(customer_id: impl Into<CustomerId>) -> Self {
        DemographicRecord {
            customer_id: customer_id.into(),
            age: None,
            gender: None,
            income: None,
            education: None,
            occupation: None,
            household_size: None,
            region: None,
            extra: Vec::new(),
        }
    }

    fn number(&self, f: DemographicField) -> Option<f64> {
        match f {
            DemographicField::Age => self.age,
            DemographicField::Income => self.income,
            DemographicField::HouseholdSize => self.household_size,
            _ => None,
        }
    }

    fn category(&self, f: DemographicField) -> Option<String> {
        match f {
            DemographicField::Gender => self.gender.clone(),
            DemographicField::Education => self.education.clone(),
            DemographicField::Occupation => self.occupation.clone(),
            DemographicField::Region => self.region.clone(),
            _ => None,
        }
    }
}

/// How income tiers are drawn in [`DemographicMode::Bands`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum IncomeTiers {
    /// Equal-count tiers fitted on the training incomes (3: tertiles "low", "middle",
    /// "high" income).
    Quantiles(usize),
    /// Fixed cut points and one label more than cuts.
    Cuts {
        /// Strictly increasing cut points: income v is in tier i when cutᵢ₋₁ ≤ v < cutᵢ.
        cuts: Vec<f64>,
        /// Tier labels.
        labels: Vec<String>,
    },
    /// No income tiers (age bands only).
    None,
}

/// How segments are formed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DemographicMode {
    /// Age bands × income tiers.
    Bands {
        /// Strictly increasing age cut points; empty for no age bands.
        age_cuts: Vec<f64>,
        /// Income tiers.
        income: IncomeTiers,
    },
    /// k-prototypes over every field in use.
    KPrototypes(KPrototypesParams),
}

/// Unfitted demographic segmentation: the mode, the standard fields in use and the extra
/// columns. Validated when built.
///
/// ```
/// use custseg::segment::{DemographicField, DemographicRecord, DemographicSegmenter};
/// use custseg::{Assign, Fit};
/// let records: Vec<DemographicRecord> = (0..60)
///     .map(|i| DemographicRecord {
///         age: Some(20.0 + i as f64),
///         income: (i % 7 != 0).then(|| 20_000.0 + 1_000.0 * i as f64),
///         gender: Some(if i % 2 == 0 { "female" } else { "male" }.into()),
///         ..DemographicRecord::new(format!("c{i}"))
///     })
///     .collect();
/// let (bands, _) = DemographicSegmenter::bands()
///     .with_fields(&[DemographicField::Age, DemographicField::Gender, DemographicField::Income])?
///     .fit(&records)?;
/// // Six age bands (with "age unknown": seven) × three income tiers and "income unknown".
/// assert_eq!(bands.profiles().len(), 7 * 4);
/// assert_eq!(bands.segment_name(bands.assign(&records[0])?.unwrap()), Some("< 25 · income unknown"));
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DemographicSegmenterRecord")]
pub struct DemographicSegmenter {
    mode: DemographicMode,
    fields: Vec<DemographicField>,
    extra: Vec<ExtraColumn>,
}

/// The serde shape of [`DemographicSegmenter`]: deserializing runs the same checks as
/// building one.
#[derive(Deserialize)]
struct DemographicSegmenterRecord {
    mode: DemographicMode,
    fields: Vec<DemographicField>,
    extra: Vec<ExtraColumn>,
}

impl TryFrom<DemographicSegmenterRecord> for DemographicSegmenter {
    type Error = Error;
    fn try_from(r: DemographicSegmenterRecord) -> Result<Self> {
        DemographicSegmenter::bands()
            .with_mode(r.mode)?
            .with_fields(&r.fields)?
            .with_extra(r.extra)
    }
}

impl DemographicSegmenter {
    /// Age bands at 25, 35, 45, 55, 65 × income tertiles, over every standard field.
    pub fn bands() -> Self {
        DemographicSegmenter {
            mode: DemographicMode::Bands {
                age_cuts: vec![25.0, 35.0, 45.0, 55.0, 65.0],
                income: IncomeTiers::Quantiles(3),
            },
            fields: DemographicField::ALL.to_vec(),
            extra: Vec::new(),
        }
    }

    /// k-prototypes with k segments (5 restarts, seed 0), over every standard field.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for k = 0.
    pub fn kprototypes(k: usize) -> Result<Self> {
        Self::bands().with_mode(DemographicMode::KPrototypes(KPrototypesParams::new(k)?))
    }

    /// Another mode.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for age cuts or income cuts that are not finite and
    /// strictly increasing, labels that do not number one more than the cuts, fewer than 2
    /// quantile tiers, k = 0, or no restart.
    pub fn with_mode(mut self, mode: DemographicMode) -> Result<Self> {
        let bad = |name: &'static str, value: String, reason: &str| {
            Err(Error::InvalidParameter {
                name,
                value,
                reason: reason.into(),
            })
        };
        match &mode {
            DemographicMode::Bands { age_cuts, income } => {
                if !increasing(age_cuts) {
                    return bad(
                        "age_cuts",
                        format!("{age_cuts:?}"),
                        "finite and strictly increasing",
                    );
                }
                match income {
                    IncomeTiers::Quantiles(q) if *q < 2 => {
                        return bad("income tiers", q.to_string(), "at least 2 quantile tiers");
                    }
                    IncomeTiers::Cuts { cuts, labels }
                        if !increasing(cuts) || labels.len() != cuts.len() + 1 =>
                    {
                        return bad(
                            "income cuts",
                            format!("{cuts:?}"),
                            "finite, strictly increasing, and one label more than cuts",
                        );
                    }
                    _ => {}
                }
            }
            // Checked when built.
            DemographicMode::KPrototypes(_) => {}
        }
        self.mode = mode;
        Ok(self)
    }

    /// The standard fields to use (others in the records are ignored). Every field in use
    /// needs at least one known value in the training records.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for no field (and no extra column) or a repeated field.
    pub fn with_fields(mut self, fields: &[DemographicField]) -> Result<Self> {
        let mut seen = fields.to_vec();
        seen.sort_by_key(|f| f.name());
        seen.dedup();
        if seen.len() != fields.len() {
            return Err(Error::InvalidParameter {
                name: "fields",
                value: format!("{fields:?}"),
                reason: "each field once".into(),
            });
        }
        self.fields = fields.to_vec();
        Ok(self)
    }

    /// Caller-defined columns every record carries in `extra`, in this order.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty name or one used twice or by a standard field.
    pub fn with_extra(mut self, extra: Vec<ExtraColumn>) -> Result<Self> {
        let mut names: Vec<&str> = DemographicField::ALL.iter().map(|f| f.name()).collect();
        for c in &extra {
            if c.name.is_empty() || names.contains(&c.name.as_str()) {
                return Err(Error::InvalidParameter {
                    name: "extra column",
                    value: c.name.clone(),
                    reason: "a non-empty name not used by another column".into(),
                });
            }
            names.push(&c.name);
        }
        self.extra = extra;
        Ok(self)
    }

    fn fitted_bands(
        &self,
        age_cuts: &[f64],
        income: &IncomeTiers,
        records: &[DemographicRecord],
    ) -> Result<Bands> {
        let age = if self.fields.contains(&DemographicField::Age) && !age_cuts.is_empty() {
            Some(Banding::new(
                age_cuts.to_vec(),
                age_labels(age_cuts),
                "age unknown",
            ))
        } else {
            None
        };
        let income = match income {
            _ if !self.fields.contains(&DemographicField::Income) => None,
            IncomeTiers::None => None,
            IncomeTiers::Cuts { cuts, labels } => {
                Some(Banding::new(cuts.clone(), labels.clone(), "income unknown"))
            }
            IncomeTiers::Quantiles(q) => {
                let mut v: Vec<f64> = records.iter().filter_map(|r| r.income).collect();
                if v.is_empty() {
                    return Err(Error::InvalidParameter {
                        name: "income",
                        value: format!("{} records, none with an income", records.len()),
                        reason: "income tiers need known incomes: leave the income field out \
                                 or give incomes"
                            .into(),
                    });
                }
                v.sort_by(f64::total_cmp);
                // Cut at the q-quantiles (no more tiers than known incomes); repeated values
                // merge tiers rather than split equal incomes across them.
                let q = (*q).min(v.len());
                let mut cuts: Vec<f64> = (1..q).map(|i| v[(i * v.len()) / q]).collect();
                cuts.dedup();
                let labels = income_labels(cuts.len() + 1);
                Some(Banding::new(cuts, labels, "income unknown"))
            }
        };
        if age.is_none() && income.is_none() {
            return Err(Error::InvalidParameter {
                name: "mode",
                value: "bands".into(),
                reason:
                    "band mode needs the age field with age cuts or the income field with tiers"
                        .into(),
            });
        }
        Ok(Bands { age, income })
    }
}

impl Fit for DemographicSegmenter {
    type Data<'a> = [DemographicRecord];
    type Model = DemographicModel;
    type Report = SegmentFitReport;

    /// Fits the segmentation.
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::InvalidParameter`] for no column in use;
    /// [`Error::InvalidRecord`] for a column in use with no known value (naming the column),
    /// or a record whose extra values do not match the extra columns (naming the customer and
    /// column); [`Error::NonFinite`] for
    /// a NaN or infinite number; [`Error::DuplicateCustomer`] for an id seen twice; k larger
    /// than the number of customers.
    fn fit(&self, records: &[DemographicRecord]) -> Result<(DemographicModel, SegmentFitReport)> {
        if records.is_empty() {
            return Err(Error::EmptyInput { what: "customers" });
        }
        if self.fields.is_empty() && self.extra.is_empty() {
            return Err(Error::InvalidParameter {
                name: "fields",
                value: "[]".into(),
                reason: "at least one column".into(),
            });
        }
        check_records(records, &self.fields, &self.extra)?;
        let mut ids: Vec<&CustomerId> = records.iter().map(|r| &r.customer_id).collect();
        ids.sort();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::DuplicateCustomer {
                at: Position::of_customer(w[0].to_string()),
                what: "demographic records",
            });
        }
        let (bands, kproto) = match &self.mode {
            DemographicMode::Bands { age_cuts, income } => {
                (Some(self.fitted_bands(age_cuts, income, records)?), None)
            }
            DemographicMode::KPrototypes(p) => (None, Some(*p)),
        };
        let layout = Layout {
            fields: self.fields.clone(),
            extra: self.extra.clone(),
            bands,
        };
        let (num, cat, vocab) = layout.specs();
        let table = layout.table(records);
        let strategy = match (kproto, &layout.bands) {
            (Some(p), _) => Strategy::KPrototypes(p),
            (None, Some(b)) => Strategy::RuleBands(b.rule_bands(num.len())),
            (None, None) => {
                return Err(Error::InvalidParameter {
                    name: "mode",
                    value: format!("{:?}", self.mode),
                    reason: "neither bands nor k-prototypes".into(),
                });
            }
        };
        let fit = SegmentModel::fit(&strategy, &num, &cat, &vocab, &table)?;
        Ok((
            DemographicModel {
                layout,
                model: fit.model,
            },
            SegmentFitReport::new(fit.labels).with_objective(fit.objective),
        ))
    }
}

fn increasing(cuts: &[f64]) -> bool {
    cuts.iter().all(|c| c.is_finite()) && cuts.windows(2).all(|w| w[0] < w[1])
}

fn age_labels(cuts: &[f64]) -> Vec<String> {
    let mut labels = vec![format!("< {}", cuts[0])];
    for w in cuts.windows(2) {
        labels.push(format!("{}–{}", w[0], w[1] - 1.0));
    }
    labels.push(format!("{}+", cuts[cuts.len() - 1]));
    labels
}

fn income_labels(tiers: usize) -> Vec<String> {
    match tiers {
        1 => vec!["income".into()],
        2 => vec!["lower income".into(), "higher income".into()],
        3 => vec![
            "low income".into(),
            "middle income".into(),
            "high income".into(),
        ],
        t => (1..=t).map(|i| format!("income tier {i}/{t}")).collect(),
    }
}

fn check_records(
    records: &[DemographicRecord],
    fields: &[DemographicField],
    extra: &[ExtraColumn],
) -> Result<()> {
    for (row, r) in records.iter().enumerate() {
        let at = || Position::at_row(row).with_customer(&r.customer_id);
        let bad = |reason: String| Err(Error::InvalidRecord { at: at(), reason });
        let bad_in = |column: &str, reason: String| {
            Err(Error::InvalidRecord {
                at: at().with_column(column),
                reason,
            })
        };
        if r.extra.len() != extra.len() {
            return bad(format!(
                "{} extra values for {} extra columns",
                r.extra.len(),
                extra.len()
            ));
        }
        for (v, c) in r.extra.iter().zip(extra) {
            match v {
                DemographicValue::Number(x) if !c.numeric => {
                    return bad_in(&c.name, format!("number {x} in a categorical column"));
                }
                DemographicValue::Category(s) if c.numeric => {
                    return bad_in(&c.name, format!("category {s:?} in a numeric column"));
                }
                _ => {}
            }
        }
        for f in fields.iter().filter(|f| f.is_numeric()) {
            if let Some(v) = r.number(*f).filter(|v| !v.is_finite() || *v < 0.0) {
                return bad_in(
                    f.name(),
                    format!("{v} is not a finite, non-negative number"),
                );
            }
        }
    }
    Ok(())
}

/// A banded field: cuts, labels and the label of an unknown value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Banding {
    cuts: Vec<f64>,
    labels: Vec<String>,
    unknown: String,
}

impl Banding {
    fn new(cuts: Vec<f64>, labels: Vec<String>, unknown: &str) -> Self {
        Banding {
            cuts,
            labels,
            unknown: unknown.into(),
        }
    }

    fn label(&self, v: Option<f64>) -> String {
        match v {
            Some(v) => self.labels[self.cuts.partition_point(|&c| c <= v)].clone(),
            None => self.unknown.clone(),
        }
    }

    /// Every label in band order, "unknown" last.
    fn order(&self) -> Vec<String> {
        let mut o = self.labels.clone();
        o.push(self.unknown.clone());
        o
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Bands {
    age: Option<Banding>,
    income: Option<Banding>,
}

impl Bands {
    fn bandings(&self) -> Vec<(&'static str, &Banding)> {
        let mut b = Vec::new();
        if let Some(a) = &self.age {
            b.push(("age_band", a));
        }
        if let Some(i) = &self.income {
            b.push(("income_tier", i));
        }
        b
    }

    /// Bands on the ordinal band columns. Every other categorical column is native (kept
    /// out of the numeric matrix), so the band columns follow the numeric ones.
    fn rule_bands(&self, numeric_columns: usize) -> RuleBands {
        RuleBands {
            bands: self
                .bandings()
                .iter()
                .enumerate()
                .map(|(i, (_, b))| {
                    let order = b.order();
                    let cuts = (1..order.len()).map(|c| c as f64 - 0.5).collect();
                    (numeric_columns + i, cuts, order)
                })
                .collect(),
        }
    }

    fn validate(&self) -> Result<()> {
        for (name, b) in self.bandings() {
            if !increasing(&b.cuts) || b.labels.len() != b.cuts.len() + 1 {
                return Err(Error::InvalidParameter {
                    name: "demographic model",
                    value: name.into(),
                    reason: "band cuts must be strictly increasing with one label more than cuts"
                        .into(),
                });
            }
        }
        Ok(())
    }
}

/// What the model needs to turn records into a table: fields, extras and fitted bands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Layout {
    fields: Vec<DemographicField>,
    extra: Vec<ExtraColumn>,
    bands: Option<Bands>,
}

impl Layout {
    fn specs(
        &self,
    ) -> (
        Vec<NumericFeature>,
        Vec<CategoricalFeature>,
        Vec<Vocabulary>,
    ) {
        let mut num = Vec::new();
        let mut vocab = Vec::new();
        // Native in both modes: k-prototypes matches levels; band mode profiles them only.
        let cat_encoding = Encoding::Native;
        let mut cat = Vec::new();
        for f in &self.fields {
            if f.is_numeric() {
                let t = if *f == DemographicField::Income {
                    Transform::Log1p
                } else {
                    Transform::None
                };
                num.push(NumericFeature {
                    missing: MissingNumeric::Median,
                    ..NumericFeature::new(f.name(), t)
                });
                vocab.push(match f {
                    DemographicField::Age => Vocabulary::new("older", "younger"),
                    DemographicField::Income => Vocabulary::new("high income", "low income"),
                    _ => Vocabulary::new("large households", "small households"),
                });
            } else {
                cat.push(CategoricalFeature {
                    name: f.name().into(),
                    encoding: cat_encoding.clone(),
                });
            }
        }
        for c in &self.extra {
            if c.numeric {
                num.push(NumericFeature::new(&c.name, Transform::None));
                vocab.push(Vocabulary::new(
                    &format!("high {}", c.name),
                    &format!("low {}", c.name),
                ));
            } else {
                cat.push(CategoricalFeature {
                    name: c.name.clone(),
                    encoding: cat_encoding.clone(),
                });
            }
        }
        if let Some(b) = &self.bands {
            for (name, banding) in b.bandings() {
                cat.push(CategoricalFeature {
                    name: name.into(),
                    encoding: Encoding::Ordinal(banding.order()),
                });
            }
        }
        (num, cat, vocab)
    }

    fn table(&self, records: &[DemographicRecord]) -> Table {
        let mut t = Table::default();
        for f in &self.fields {
            if f.is_numeric() {
                t.numeric
                    .push(records.iter().map(|r| r.number(*f)).collect());
            } else {
                t.categorical
                    .push(records.iter().map(|r| r.category(*f)).collect());
            }
        }
        for (j, c) in self.extra.iter().enumerate() {
            let col = records.iter().map(|r| r.extra.get(j));
            if c.numeric {
                t.numeric.push(
                    col.map(|v| match v {
                        Some(DemographicValue::Number(x)) => Some(*x),
                        _ => None,
                    })
                    .collect(),
                );
            } else {
                t.categorical.push(
                    col.map(|v| match v {
                        Some(DemographicValue::Category(s)) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
                );
            }
        }
        if let Some(b) = &self.bands {
            if let Some(a) = &b.age {
                t.categorical
                    .push(records.iter().map(|r| Some(a.label(r.age))).collect());
            }
            if let Some(i) = &b.income {
                t.categorical
                    .push(records.iter().map(|r| Some(i.label(r.income))).collect());
            }
        }
        t
    }
}

/// A fitted demographic segmentation. Plain serde data; deserializing validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DemographicModelRecord")]
pub struct DemographicModel {
    layout: Layout,
    model: SegmentModel,
}

#[derive(Deserialize)]
struct DemographicModelRecord {
    layout: Layout,
    model: SegmentModel,
}

impl TryFrom<DemographicModelRecord> for DemographicModel {
    type Error = Error;
    fn try_from(r: DemographicModelRecord) -> Result<Self> {
        if let Some(b) = &r.layout.bands {
            b.validate()?;
        }
        let (num, cat, _) = r.layout.specs();
        let num_names: Vec<String> = num.iter().map(|f| f.name.clone()).collect();
        let got_num: Vec<String> = r.model.features().numeric_names();
        let mut cat_names: Vec<String> = cat.iter().map(|f| f.name.clone()).collect();
        let mut got_cat: Vec<String> = r
            .model
            .features()
            .native_levels()
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        got_cat.extend(
            r.model
                .features()
                .output_names()
                .into_iter()
                .skip(got_num.len()),
        );
        cat_names.sort();
        got_cat.sort();
        if num_names != got_num || cat_names != got_cat {
            return Err(Error::InvalidParameter {
                name: "demographic model",
                value: "deserialized".into(),
                reason: "the fitted features are not the layout's columns".into(),
            });
        }
        Ok(DemographicModel {
            layout: r.layout,
            model: r.model,
        })
    }
}

impl DemographicModel {
    delegate_segment_model!(
        "Segment profiles: size, share, and per column the segment mean against the overall mean — numbers as given, categories as the share of each level (\"gender=female\")."
    );

    /// Missing numeric values imputed with the training median, per column (k-prototypes;
    /// band mode bands unknown values instead and imputes only for the unused numeric
    /// matrix). Missing categories are the "(missing)" level and are never imputed.
    pub fn imputed(&self) -> Vec<(String, usize)> {
        self.model.features().imputed()
    }
}

impl Assign for DemographicModel {
    type Record = DemographicRecord;

    fn segments(&self) -> usize {
        self.model.segments()
    }

    /// The segment of one customer.
    ///
    /// # Errors
    /// As [`DemographicModel::assign_batch`].
    fn assign(&self, record: &DemographicRecord) -> Result<Option<usize>> {
        only(self.assign_batch(std::slice::from_ref(record)))
    }

    /// Segments of many customers, in parallel, in input order. A category not seen in
    /// training matches no prototype's level (k-prototypes) and no one-hot column (bands).
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] for extra values that do not match the extra columns or a
    /// negative or non-finite number, naming the customer.
    fn assign_batch(&self, records: &[DemographicRecord]) -> Result<Vec<Option<usize>>> {
        check_records(records, &self.layout.fields, &self.layout.extra)?;
        self.model.assign_table(&self.layout.table(records))
    }
}
