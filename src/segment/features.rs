//! Feature preparation: transforms, scaling, encodings and missing values, fitted once and
//! stored with the model so that new customers are prepared exactly like the training set.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Position, Result};
use crate::stats::mean_sd;

/// Scaling of a numeric column (after its transform).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Scaling {
    /// As is.
    None,
    /// (v − mean) / standard deviation.
    Standard,
    /// (v − min) / (max − min).
    MinMax,
    /// (v − median) / interquartile range: robust to outliers such as a few huge spenders.
    Robust,
}

/// A transform applied before scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Transform {
    /// As is.
    None,
    /// ln(1 + v), for skewed counts and money (v must be > −1).
    Log1p,
}

/// What a missing numeric value becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MissingNumeric {
    /// A missing value is an error naming the row and column.
    Error,
    /// The training median (of the transformed values); counted in the fit report.
    Median,
}

/// A numeric column's preparation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericFeature {
    /// Column name.
    pub name: String,
    /// Transform.
    pub transform: Transform,
    /// Scaling.
    pub scaling: Scaling,
    /// Missing-value policy.
    pub missing: MissingNumeric,
}

impl NumericFeature {
    /// A column with the given transform, standard scaling and median imputation.
    pub fn new(name: &str, transform: Transform) -> Self {
        NumericFeature {
            name: name.into(),
            transform,
            scaling: Scaling::Standard,
            missing: MissingNumeric::Median,
        }
    }
}

/// How a categorical column enters the model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Encoding {
    /// One 0/1 column per level seen in training (an unseen level: all zeros).
    OneHot,
    /// The level's position in this order, as a number (an unseen level is an error).
    Ordinal(Vec<String>),
    /// Kept categorical (level codes) for k-prototypes; an unseen level gets a code of its own
    /// that matches no prototype.
    Native,
}

/// A categorical column's preparation. A missing value is always a level of its own,
/// "(missing)": nothing is dropped or guessed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalFeature {
    /// Column name.
    pub name: String,
    /// Encoding.
    pub encoding: Encoding,
}

/// The label a missing categorical value gets.
pub const MISSING_LEVEL: &str = "(missing)";

/// Columns of raw values: numeric and categorical, `None` for missing, one entry per row.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Table {
    /// Numeric columns (column-major).
    pub numeric: Vec<Vec<Option<f64>>>,
    /// Categorical columns (column-major).
    pub categorical: Vec<Vec<Option<String>>>,
}

impl Table {
    /// Rows.
    pub fn rows(&self) -> usize {
        self.numeric
            .first()
            .map(Vec::len)
            .or_else(|| self.categorical.first().map(Vec::len))
            .unwrap_or(0)
    }
}

/// Prepared data: the numeric design matrix (transformed, scaled, one-hot and ordinal columns
/// included) and the native categorical codes.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// Numeric matrix, one row per customer.
    pub numeric: Array2<f64>,
    /// Categorical codes, one row per customer (no columns when none is native).
    pub categorical: Array2<u32>,
}

/// The preparation learned from training data: plain data, stored in every fitted model.
/// Per numeric column: the spec, the training median (of transformed values, for
/// imputation), the centre and the scale; per categorical column: the spec and the levels.
/// Deserializing validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FittedFeaturesRecord")]
pub struct FittedFeatures {
    numeric: Vec<(NumericFeature, f64, f64, f64)>,
    categorical: Vec<(CategoricalFeature, Vec<String>)>,
    imputed: Vec<usize>,
}

#[derive(Deserialize)]
struct FittedFeaturesRecord {
    numeric: Vec<(NumericFeature, f64, f64, f64)>,
    categorical: Vec<(CategoricalFeature, Vec<String>)>,
    imputed: Vec<usize>,
}

impl TryFrom<FittedFeaturesRecord> for FittedFeatures {
    type Error = Error;
    fn try_from(r: FittedFeaturesRecord) -> Result<Self> {
        let bad = |column: &str, reason: &str| Error::InvalidParameter {
            name: "fitted features",
            value: column.to_string(),
            reason: reason.into(),
        };
        if r.imputed.len() != r.numeric.len() {
            return Err(bad("imputed", "one count per numeric column"));
        }
        for (f, median, center, scale) in &r.numeric {
            if !(median.is_finite() && center.is_finite() && scale.is_finite() && *scale > 0.0) {
                return Err(bad(
                    &f.name,
                    "median, centre and scale must be finite, scale > 0",
                ));
            }
        }
        for (f, levels) in &r.categorical {
            let mut sorted = levels.clone();
            sorted.sort();
            sorted.dedup();
            if levels.is_empty() || sorted.len() != levels.len() {
                return Err(bad(&f.name, "levels must be non-empty and distinct"));
            }
            if matches!(&f.encoding, Encoding::Ordinal(order) if order != levels) {
                return Err(bad(&f.name, "ordinal levels must be the encoding's order"));
            }
        }
        Ok(FittedFeatures {
            numeric: r.numeric,
            categorical: r.categorical,
            imputed: r.imputed,
        })
    }
}

fn transform(f: &NumericFeature, v: f64, row: usize) -> Result<f64> {
    let bad = || Error::NonFinite {
        at: Position::at_row(row).with_column(f.name.as_str()),
        value: v,
    };
    if !v.is_finite() {
        return Err(bad());
    }
    match f.transform {
        Transform::None => Ok(v),
        Transform::Log1p if v > -1.0 => Ok(v.ln_1p()),
        Transform::Log1p => Err(Error::InvalidRecord {
            at: Position::at_row(row).with_column(f.name.as_str()),
            reason: format!("{v}: log1p needs values > −1"),
        }),
    }
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = p * (sorted.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

impl FittedFeatures {
    /// Learns the preparation from a table and prepares it.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when columns differ in length or in number from the specs;
    /// [`Error::EmptyInput`]; [`Error::NonFinite`] or [`Error::InvalidRecord`] naming the
    /// row and column of a bad value or of a missing one under [`MissingNumeric::Error`], or a
    /// column with no value at all.
    pub fn fit(
        numeric: &[NumericFeature],
        categorical: &[CategoricalFeature],
        table: &Table,
    ) -> Result<(FittedFeatures, Prepared)> {
        check_shape(numeric.len(), categorical.len(), table)?;
        let n = table.rows();
        if n == 0 {
            return Err(Error::EmptyInput { what: "rows" });
        }
        for f in categorical {
            if let Encoding::Ordinal(order) = &f.encoding {
                let mut sorted = order.clone();
                sorted.sort();
                sorted.dedup();
                if order.is_empty() || sorted.len() != order.len() {
                    return Err(Error::InvalidParameter {
                        name: "ordinal order",
                        value: f.name.clone(),
                        reason: "levels must be non-empty and distinct".into(),
                    });
                }
            }
        }
        let mut fitted_num = Vec::new();
        let mut imputed = Vec::new();
        for (f, col) in numeric.iter().zip(&table.numeric) {
            let mut values = Vec::with_capacity(n);
            for (i, v) in col.iter().enumerate() {
                match v {
                    Some(v) => values.push(transform(f, *v, i)?),
                    None if f.missing == MissingNumeric::Error => {
                        return Err(Error::InvalidRecord {
                            at: Position::at_row(i).with_column(f.name.as_str()),
                            reason: "missing value, and this column's policy is \
                                     MissingNumeric::Error"
                                .into(),
                        });
                    }
                    None => {}
                }
            }
            if values.is_empty() {
                return Err(Error::InvalidRecord {
                    at: Position::in_column(f.name.clone()),
                    reason: "every value is missing".into(),
                });
            }
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let median = quantile(&sorted, 0.5);
            // Values near f64::MAX have a finite mean and spread that the plain sums
            // overflow to; a spread past f64::MAX (±1e308) cannot be scaled at all.
            let too_wide = || Error::InvalidRecord {
                at: Position::in_column(f.name.clone()),
                reason: format!(
                    "values from {} to {} are too far apart to scale",
                    sorted[0],
                    sorted[sorted.len() - 1]
                ),
            };
            let (mean, sd) = mean_sd(&values).ok_or_else(too_wide)?;
            // A constant column scales by 1: it carries no information but must not divide by 0.
            let nonzero = |s: f64| if s > 0.0 { s } else { 1.0 };
            let (center, scale) = match f.scaling {
                Scaling::None => (0.0, 1.0),
                Scaling::Standard => (mean, nonzero(sd)),
                Scaling::MinMax => (sorted[0], nonzero(sorted[sorted.len() - 1] - sorted[0])),
                Scaling::Robust => (
                    median,
                    nonzero(quantile(&sorted, 0.75) - quantile(&sorted, 0.25)),
                ),
            };
            if !(median.is_finite() && center.is_finite() && scale.is_finite()) {
                return Err(too_wide());
            }
            imputed.push(n - values.len());
            fitted_num.push((f.clone(), median, center, scale));
        }
        let fitted_cat = categorical
            .iter()
            .zip(&table.categorical)
            .map(|(f, col)| {
                let levels = match &f.encoding {
                    Encoding::Ordinal(order) => order.clone(),
                    _ => {
                        let mut l: Vec<String> = col
                            .iter()
                            .map(|v| v.clone().unwrap_or_else(|| MISSING_LEVEL.into()))
                            .collect();
                        l.sort();
                        l.dedup();
                        l
                    }
                };
                (f.clone(), levels)
            })
            .collect();
        let fitted = FittedFeatures {
            numeric: fitted_num,
            categorical: fitted_cat,
            imputed,
        };
        let prepared = fitted.transform(table)?;
        Ok((fitted, prepared))
    }

    /// Prepares new rows exactly as the training rows were.
    ///
    /// # Errors
    /// As [`FittedFeatures::fit`]; an ordinal level not in the order is an error naming it.
    pub fn transform(&self, table: &Table) -> Result<Prepared> {
        check_shape(self.numeric.len(), self.categorical.len(), table)?;
        let n = table.rows();
        let width = self.output_names().len();
        let mut num = Array2::<f64>::zeros((n, width));
        let native: Vec<usize> = (0..self.categorical.len())
            .filter(|&j| self.categorical[j].0.encoding == Encoding::Native)
            .collect();
        let mut cat = Array2::<u32>::zeros((n, native.len()));
        for (j, ((f, median, center, scale), col)) in
            self.numeric.iter().zip(&table.numeric).enumerate()
        {
            for (i, v) in col.iter().enumerate() {
                let t = match v {
                    Some(v) => transform(f, *v, i)?,
                    None if f.missing == MissingNumeric::Error => {
                        return Err(Error::InvalidRecord {
                            at: Position::at_row(i).with_column(f.name.as_str()),
                            reason: "missing value, and this column's policy is \
                                     MissingNumeric::Error"
                                .into(),
                        });
                    }
                    None => *median,
                };
                num[[i, j]] = (t - center) / scale;
            }
        }
        let mut out_col = self.numeric.len();
        let mut native_col = 0;
        for ((f, levels), col) in self.categorical.iter().zip(&table.categorical) {
            let level_of = |v: &Option<String>| -> String {
                v.clone().unwrap_or_else(|| MISSING_LEVEL.into())
            };
            match &f.encoding {
                Encoding::OneHot => {
                    for (i, v) in col.iter().enumerate() {
                        if let Some(p) = levels.iter().position(|l| *l == level_of(v)) {
                            num[[i, out_col + p]] = 1.0;
                        }
                    }
                    out_col += levels.len();
                }
                Encoding::Ordinal(order) => {
                    for (i, v) in col.iter().enumerate() {
                        let l = level_of(v);
                        let p = order.iter().position(|o| *o == l).ok_or_else(|| {
                            Error::InvalidRecord {
                                at: Position::at_row(i).with_column(f.name.as_str()),
                                reason: format!("level {l:?} is not in the ordinal order"),
                            }
                        })?;
                        num[[i, out_col]] = p as f64;
                    }
                    out_col += 1;
                }
                Encoding::Native => {
                    for (i, v) in col.iter().enumerate() {
                        let l = level_of(v);
                        cat[[i, native_col]] =
                            levels.iter().position(|x| *x == l).unwrap_or(levels.len()) as u32;
                    }
                    native_col += 1;
                }
            }
        }
        Ok(Prepared {
            numeric: num,
            categorical: cat,
        })
    }

    /// One row of numeric values prepared as [`FittedFeatures::transform`] prepares a row
    /// of a table (the same arithmetic, the same errors at row 0), into `out`; `None` when
    /// the preparation has categorical columns or `out` is not one slot per numeric column
    /// (the caller then builds a table).
    pub(crate) fn transform_numeric_row(
        &self,
        values: &[Option<f64>],
        out: &mut [f64],
    ) -> Option<Result<()>> {
        if !self.categorical.is_empty()
            || values.len() != self.numeric.len()
            || out.len() != self.numeric.len()
        {
            return None;
        }
        for ((o, v), (f, median, center, scale)) in out.iter_mut().zip(values).zip(&self.numeric) {
            let t = match v {
                Some(v) => match transform(f, *v, 0) {
                    Ok(t) => t,
                    Err(e) => return Some(Err(e)),
                },
                None if f.missing == MissingNumeric::Error => {
                    return Some(Err(Error::InvalidRecord {
                        at: Position::at_row(0).with_column(f.name.as_str()),
                        reason: "missing value, and this column's policy is \
                                 MissingNumeric::Error"
                            .into(),
                    }));
                }
                None => *median,
            };
            *o = (t - center) / scale;
        }
        Some(Ok(()))
    }

    /// Names of the numeric matrix's columns (one-hot columns as "name=level").
    pub fn output_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.numeric.iter().map(|f| f.0.name.clone()).collect();
        for (f, levels) in &self.categorical {
            match f.encoding {
                Encoding::OneHot => names.extend(levels.iter().map(|l| format!("{}={l}", f.name))),
                Encoding::Ordinal(_) => names.push(f.name.clone()),
                Encoding::Native => {}
            }
        }
        names
    }

    /// Levels of the native categorical columns, in code order.
    pub fn native_levels(&self) -> Vec<(String, Vec<String>)> {
        self.categorical
            .iter()
            .filter(|(f, _)| f.encoding == Encoding::Native)
            .map(|(f, l)| (f.name.clone(), l.clone()))
            .collect()
    }

    /// Renames a numeric column (names are labels only; nothing else changes).
    pub(crate) fn rename_numeric(&mut self, old: &str, new: &str) {
        for f in &mut self.numeric {
            if f.0.name == old {
                f.0.name = new.to_string();
            }
        }
    }

    /// Names of the numeric input columns, in order.
    pub fn numeric_names(&self) -> Vec<String> {
        self.numeric.iter().map(|f| f.0.name.clone()).collect()
    }

    /// Missing values imputed per numeric column when fitting.
    pub fn imputed(&self) -> Vec<(String, usize)> {
        self.numeric
            .iter()
            .zip(&self.imputed)
            .map(|(f, &c)| (f.0.name.clone(), c))
            .collect()
    }
}

fn check_shape(num: usize, cat: usize, table: &Table) -> Result<()> {
    if table.numeric.len() != num {
        return Err(Error::LengthMismatch {
            what: "numeric columns",
            expected: num,
            got: table.numeric.len(),
        });
    }
    if table.categorical.len() != cat {
        return Err(Error::LengthMismatch {
            what: "categorical columns",
            expected: cat,
            got: table.categorical.len(),
        });
    }
    let n = table.rows();
    for len in table
        .numeric
        .iter()
        .map(Vec::len)
        .chain(table.categorical.iter().map(Vec::len))
    {
        if len != n {
            return Err(Error::LengthMismatch {
                what: "column rows",
                expected: n,
                got: len,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalings_encodings_and_missing_values() {
        let table = Table {
            numeric: vec![vec![Some(1.0), Some(3.0), None, Some(5.0)]],
            categorical: vec![
                vec![Some("b".into()), Some("a".into()), None, Some("a".into())],
                vec![
                    Some("lo".into()),
                    Some("hi".into()),
                    Some("mid".into()),
                    Some("lo".into()),
                ],
                vec![Some("x".into()), None, Some("y".into()), Some("x".into())],
            ],
        };
        let num = [NumericFeature::new("v", Transform::None)];
        let cat = [
            CategoricalFeature {
                name: "c".into(),
                encoding: Encoding::OneHot,
            },
            CategoricalFeature {
                name: "o".into(),
                encoding: Encoding::Ordinal(vec!["lo".into(), "mid".into(), "hi".into()]),
            },
            CategoricalFeature {
                name: "n".into(),
                encoding: Encoding::Native,
            },
        ];
        let (fitted, p) = FittedFeatures::fit(&num, &cat, &table).unwrap();
        assert_eq!(
            fitted.output_names(),
            ["v", "c=(missing)", "c=a", "c=b", "o"]
        );
        // Median of 1, 3, 5 imputed; standard scaling with mean 3, sd √(8/3).
        let sd = (8.0f64 / 3.0).sqrt();
        assert!((p.numeric[[2, 0]] - 0.0).abs() < 1e-12);
        assert!((p.numeric[[0, 0]] + 2.0 / sd).abs() < 1e-12);
        assert_eq!(fitted.imputed(), [("v".to_string(), 1)]);
        assert_eq!(p.numeric.row(2).to_vec()[1..4], [1.0, 0.0, 0.0]);
        assert_eq!(p.numeric.column(4).to_vec(), [0.0, 2.0, 1.0, 0.0]);
        assert_eq!(p.categorical.column(0).to_vec(), [1, 0, 2, 1]);
        // An unseen native level gets a code of its own; an unknown ordinal level is an error.
        let mut new = table.clone();
        new.categorical[2][0] = Some("z".into());
        assert_eq!(fitted.transform(&new).unwrap().categorical[[0, 0]], 3);
        new.categorical[1][0] = Some("huge".into());
        assert!(fitted.transform(&new).is_err());
        // Strict missing policy and bad values.
        let strict = [NumericFeature {
            missing: MissingNumeric::Error,
            ..num[0].clone()
        }];
        assert!(FittedFeatures::fit(&strict, &cat, &table).is_err());
        let mut nan = table.clone();
        nan.numeric[0][1] = Some(f64::NAN);
        assert!(FittedFeatures::fit(&num, &cat, &nan).is_err());
        let log = [NumericFeature::new("v", Transform::Log1p)];
        let mut neg = table.clone();
        neg.numeric[0][0] = Some(-2.0);
        assert!(FittedFeatures::fit(&log, &cat, &neg).is_err());
    }
}
