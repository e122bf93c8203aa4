//! Supervised churn risk: logistic regression on customer features.

use linfa::Dataset;
use linfa::traits::Fit as _;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::ChurnScorer;
use crate::Fit;
use crate::data::CustomerSummary;
use crate::error::{Error, Position, Result, finite_non_negative};
use crate::stats::column_mean_sd;

/// A feature computed from a customer summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Feature {
    /// Repeat purchases x.
    Frequency,
    /// Time of the last purchase since the first, t_x.
    Recency,
    /// Time since the first purchase, T.
    Age,
    /// Time since the last purchase, T − t_x.
    TimeSinceLastPurchase,
    /// Mean repeat spend z̄.
    Monetary,
    /// ln(1 + total spend): spend is skewed, its logarithm is closer to linear in the log-odds.
    LogTotalSpend,
    /// Transactions in the calibration period.
    Transactions,
}

impl Feature {
    /// The value for a summary.
    pub fn value(&self, s: &CustomerSummary) -> f64 {
        match self {
            Feature::Frequency => s.frequency as f64,
            Feature::Recency => s.recency,
            Feature::Age => s.age,
            Feature::TimeSinceLastPurchase => s.time_since_last_purchase(),
            Feature::Monetary => s.monetary,
            Feature::LogTotalSpend => s.total_spend.ln_1p(),
            Feature::Transactions => s.transactions as f64,
        }
    }

    fn name(&self) -> String {
        format!("{self:?}")
    }

    /// The usual set: frequency, recency, age, time since the last purchase, mean spend and
    /// log total spend.
    pub fn standard() -> Vec<Feature> {
        vec![
            Feature::Frequency,
            Feature::Recency,
            Feature::Age,
            Feature::TimeSinceLastPurchase,
            Feature::Monetary,
            Feature::LogTotalSpend,
        ]
    }
}

/// Settings of the logistic scorer: summary features, names of caller-supplied extra columns,
/// L2 penalty and iteration budget. Checked when built; deserializing runs the same checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LogisticParamsRecord")]
pub struct LogisticChurnParams {
    features: Vec<Feature>,
    extra_columns: Vec<String>,
    l2: f64,
    max_iterations: u64,
}

/// The serde shape of [`LogisticChurnParams`], checked before it becomes one.
#[derive(Deserialize)]
struct LogisticParamsRecord {
    features: Vec<Feature>,
    extra_columns: Vec<String>,
    l2: f64,
    max_iterations: u64,
}

impl TryFrom<LogisticParamsRecord> for LogisticChurnParams {
    type Error = Error;
    fn try_from(r: LogisticParamsRecord) -> Result<Self> {
        LogisticChurnParams::new(r.features)?
            .with_extra_columns(r.extra_columns)
            .with_l2(r.l2)?
            .with_max_iterations(r.max_iterations)
    }
}

impl LogisticChurnParams {
    /// Summary features, an L2 penalty of 1e-4 on standardised coefficients, 200 iterations.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty or repeated feature list.
    pub fn new(features: Vec<Feature>) -> Result<Self> {
        if features.is_empty() {
            return Err(Error::InvalidParameter {
                name: "features",
                value: "[]".into(),
                reason: "at least one feature".into(),
            });
        }
        for (i, f) in features.iter().enumerate() {
            if features[..i].contains(f) {
                return Err(Error::InvalidParameter {
                    name: "features",
                    value: format!("{f:?}"),
                    reason: "each feature once".into(),
                });
            }
        }
        Ok(LogisticChurnParams {
            features,
            extra_columns: Vec::new(),
            l2: 1e-4,
            max_iterations: 200,
        })
    }

    /// Names caller-supplied columns (given to the fit through
    /// [`LabelledCustomers::with_extra`] and to [`LogisticChurn::predict`]), one column per
    /// name, in this order.
    pub fn with_extra_columns(mut self, names: Vec<String>) -> Self {
        self.extra_columns = names;
        self
    }

    /// Sets the L2 penalty.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless finite and ≥ 0.
    pub fn with_l2(mut self, l2: f64) -> Result<Self> {
        self.l2 = finite_non_negative("l2", l2)?;
        Ok(self)
    }

    /// Sets the iteration budget of the solver.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0.
    pub fn with_max_iterations(mut self, max_iterations: u64) -> Result<Self> {
        if max_iterations == 0 {
            return Err(Error::InvalidParameter {
                name: "max_iterations",
                value: "0".into(),
                reason: "at least 1".into(),
            });
        }
        self.max_iterations = max_iterations;
        Ok(self)
    }

    fn matrix(
        &self,
        customers: &[CustomerSummary],
        extra: Option<ArrayView2<'_, f64>>,
    ) -> Result<Array2<f64>> {
        build_matrix(&self.features, &self.extra_columns, customers, extra)
    }
}

/// What a logistic churn model learns from: customers, their outcomes, and optionally
/// extra columns (one row per customer, one column per name given to
/// [`LogisticChurnParams::with_extra_columns`]).
#[derive(Debug, Clone, Copy)]
pub struct LabelledCustomers<'a> {
    customers: &'a [CustomerSummary],
    extra: Option<ArrayView2<'a, f64>>,
    churned: &'a [bool],
}

impl<'a> LabelledCustomers<'a> {
    /// Customers and whether each churned (lengths are checked when fitting).
    pub fn new(customers: &'a [CustomerSummary], churned: &'a [bool]) -> Self {
        LabelledCustomers {
            customers,
            extra: None,
            churned,
        }
    }

    /// The same customers with extra columns.
    pub fn with_extra(mut self, extra: ArrayView2<'a, f64>) -> Self {
        self.extra = Some(extra);
        self
    }
}

/// How a logistic churn fit went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LogisticFitReport {
    /// Customers fitted on.
    pub customers: usize,
    /// Of which churned.
    pub churned: usize,
    /// Log-likelihood of the outcomes under the fitted model (without the penalty).
    pub log_likelihood: f64,
}

impl Fit for LogisticChurnParams {
    type Data<'a> = LabelledCustomers<'a>;
    type Model = LogisticChurn;
    type Report = LogisticFitReport;

    /// Fits on customers with known outcomes (`churned[i]` for customer i), with optional
    /// extra columns (one row per customer). Features are standardised with the training
    /// means and standard deviations, which the model stores.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`]; [`Error::EmptyInput`]; [`Error::InvalidRecord`] (column
    /// "churned") when only one outcome occurs; [`Error::InvalidParameter`] when the extra
    /// columns do not match their names;
    /// [`Error::NonFinite`] for a non-finite feature value (naming customer and feature);
    /// [`Error::Solver`], carrying linfa's message, when linfa's solver fails (it does not
    /// report convergence itself).
    fn fit(&self, data: &LabelledCustomers<'_>) -> Result<(LogisticChurn, LogisticFitReport)> {
        let LabelledCustomers {
            customers,
            extra,
            churned,
        } = *data;
        if churned.len() != customers.len() {
            return Err(Error::LengthMismatch {
                what: "churned",
                expected: customers.len(),
                got: churned.len(),
            });
        }
        if customers.is_empty() {
            return Err(Error::EmptyInput { what: "customers" });
        }
        let positives = churned.iter().filter(|&&c| c).count();
        if positives == 0 || positives == churned.len() {
            return Err(Error::InvalidRecord {
                at: Position::in_column("churned"),
                reason: format!(
                    "{positives} of {} churned; both churned and retained customers are needed",
                    churned.len()
                ),
            });
        }
        let raw = self.matrix(customers, extra)?;
        let k = raw.ncols();
        let mut means = Vec::with_capacity(k);
        let mut stds = Vec::with_capacity(k);
        for j in 0..k {
            let col = raw.column(j);
            // Values near f64::MAX overflow the plain formulas, not the statistics; a spread
            // past f64 cannot be standardised (and would not reload as JSON).
            let (m, sd) = column_mean_sd(col).ok_or_else(|| {
                let name = match self.features.get(j) {
                    Some(f) => f.name(),
                    None => self.extra_columns[j - self.features.len()].clone(),
                };
                Error::InvalidRecord {
                    at: Position::in_column(name),
                    reason: "values too far apart to standardise in f64".into(),
                }
            })?;
            means.push(m);
            // A constant column carries no information; scaling it by 1 keeps it at 0.
            stds.push(if sd > 0.0 { sd } else { 1.0 });
        }
        let z = standardise(&raw, &means, &stds);
        let targets: Array1<bool> = churned.iter().copied().collect();
        let fitted = LogisticRegression::default()
            .alpha(self.l2)
            .max_iterations(self.max_iterations)
            .fit(&Dataset::new(z, targets))
            .map_err(|e| Error::Solver {
                model: "logistic regression",
                reason: e.to_string(),
            })?;
        // linfa models the probability of its "positive" class, the larger label; orient the
        // coefficients so that they always give P(churn).
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        let model = LogisticChurn {
            features: self.features.clone(),
            extra_columns: self.extra_columns.clone(),
            means,
            stds,
            weights: fitted.params().iter().map(|w| sign * w).collect(),
            intercept: sign * fitted.intercept(),
        };
        // In input order, so the sum does not depend on the thread count.
        // ln σ(η) = −softplus(−η), ln(1 − σ(η)) = −softplus(η): finite where a
        // probability rounded to 0 or 1 would give −∞.
        let log_likelihood = (0..raw.nrows())
            .map(|i| {
                let eta = model.log_odds(raw.row(i).iter().copied());
                -softplus(if churned[i] { -eta } else { eta })
            })
            .sum();
        let report = LogisticFitReport {
            customers: customers.len(),
            churned: positives,
            log_likelihood,
        };
        Ok((model, report))
    }
}

fn build_matrix(
    features: &[Feature],
    extra_names: &[String],
    customers: &[CustomerSummary],
    extra: Option<ArrayView2<'_, f64>>,
) -> Result<Array2<f64>> {
    let n = customers.len();
    let n_extra = extra.map_or(0, |e| e.ncols());
    if n_extra != extra_names.len() {
        return Err(Error::InvalidParameter {
            name: "extra columns",
            value: format!("{n_extra} columns"),
            reason: format!("{} names were given", extra_names.len()),
        });
    }
    if let Some(e) = extra
        && e.nrows() != n
    {
        return Err(Error::LengthMismatch {
            what: "extra column rows",
            expected: n,
            got: e.nrows(),
        });
    }
    let k = features.len() + n_extra;
    let mut m = Array2::zeros((n, k));
    for (i, s) in customers.iter().enumerate() {
        for (j, f) in features.iter().enumerate() {
            m[[i, j]] = f.value(s);
        }
        if let Some(e) = extra {
            for j in 0..n_extra {
                m[[i, features.len() + j]] = e[[i, j]];
            }
        }
    }
    if let Some((idx, v)) = m.indexed_iter().find(|(_, v)| !v.is_finite()) {
        let (i, j) = idx;
        let field = match features.get(j) {
            Some(f) => f.name(),
            None => extra_names[j - features.len()].clone(),
        };
        return Err(Error::NonFinite {
            at: Position::at_row(i)
                .with_customer(customers[i].customer_id.to_string())
                .with_column(field),
            value: *v,
        });
    }
    Ok(m)
}

fn standardise(raw: &Array2<f64>, means: &[f64], stds: &[f64]) -> Array2<f64> {
    let mut z = raw.clone();
    for (j, mut col) in z.columns_mut().into_iter().enumerate() {
        col.mapv_inplace(|v| z_score(v, means[j], stds[j]));
    }
    z
}

/// (v − m)/s, from the quotients when the difference overflows (v and m near ±f64::MAX).
fn z_score(v: f64, m: f64, s: f64) -> f64 {
    let z = (v - m) / s;
    if z.is_finite() { z } else { v / s - m / s }
}

/// ln(1 + eˣ) without overflow.
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// A fitted logistic churn model: feature scaling and coefficients, plain data. It always
/// predicts P(churn).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LogisticRecord")]
pub struct LogisticChurn {
    features: Vec<Feature>,
    extra_columns: Vec<String>,
    means: Vec<f64>,
    stds: Vec<f64>,
    weights: Vec<f64>,
    intercept: f64,
}

#[derive(Deserialize)]
struct LogisticRecord {
    features: Vec<Feature>,
    extra_columns: Vec<String>,
    means: Vec<f64>,
    stds: Vec<f64>,
    weights: Vec<f64>,
    intercept: f64,
}

impl TryFrom<LogisticRecord> for LogisticChurn {
    type Error = Error;
    fn try_from(r: LogisticRecord) -> Result<Self> {
        let k = r.features.len() + r.extra_columns.len();
        let lens_ok = r.means.len() == k && r.stds.len() == k && r.weights.len() == k;
        let finite = r.means.iter().chain(&r.weights).all(|v| v.is_finite())
            && r.intercept.is_finite()
            && r.stds.iter().all(|s| s.is_finite() && *s > 0.0);
        if !(lens_ok && finite && k > 0) {
            return Err(Error::InvalidParameter {
                name: "logistic churn model",
                value: format!("{k} features"),
                reason: "one finite mean, positive scale and finite weight per feature".into(),
            });
        }
        Ok(LogisticChurn {
            features: r.features,
            extra_columns: r.extra_columns,
            means: r.means,
            stds: r.stds,
            weights: r.weights,
            intercept: r.intercept,
        })
    }
}

impl LogisticChurn {
    /// Feature names in coefficient order (summary features, then extra columns).
    pub fn feature_names(&self) -> Vec<String> {
        self.features
            .iter()
            .map(Feature::name)
            .chain(self.extra_columns.iter().cloned())
            .collect()
    }

    /// Coefficients on the standardised features (positive: more churn).
    pub fn coefficients(&self) -> &[f64] {
        &self.weights
    }

    /// Intercept on the standardised scale.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// P(churn) of customers, with the extra columns the model was fitted with.
    ///
    /// # Errors
    /// As [`LogisticChurnParams::fit`] for the feature matrix; [`Error::Overflow`] naming
    /// the customer whose features meet as ∞ − ∞.
    pub fn predict(
        &self,
        customers: &[CustomerSummary],
        extra: Option<ArrayView2<'_, f64>>,
    ) -> Result<Vec<f64>> {
        let m = build_matrix(&self.features, &self.extra_columns, customers, extra)?;
        let p: Vec<f64> = (0..m.nrows())
            .into_par_iter()
            .map(|i| self.probability(m.row(i).iter().copied()))
            .collect();
        // Finite features can still meet as +∞ − ∞ in the linear predictor.
        if let Some(row) = p.iter().position(|v| v.is_nan()) {
            let mut at = Position::at_row(row);
            if let Some(c) = customers.get(row) {
                at = at.with_customer(&c.customer_id);
            }
            return Err(Error::Overflow {
                at,
                quantity: "churn probability",
                value: f64::NAN,
            });
        }
        Ok(p)
    }

    fn probability(&self, row: impl Iterator<Item = f64>) -> f64 {
        1.0 / (1.0 + (-self.log_odds(row)).exp())
    }

    /// The linear predictor η, P(churn) = 1/(1 + e^−η).
    fn log_odds(&self, row: impl Iterator<Item = f64>) -> f64 {
        row.zip(self.means.iter().zip(&self.stds).zip(&self.weights))
            .fold(self.intercept, |acc, (v, ((m, s), w))| {
                acc + w * z_score(v, *m, *s)
            })
    }
}

impl ChurnScorer for LogisticChurn {
    type Record = CustomerSummary;

    fn name(&self) -> &'static str {
        "logistic regression"
    }

    /// P(churn) from summary features; a model with extra columns cannot score a summary
    /// alone.
    fn risk(&self, s: &CustomerSummary) -> Result<(f64, Option<f64>)> {
        if !self.extra_columns.is_empty() {
            return Err(Error::InvalidParameter {
                name: "extra columns",
                value: self.extra_columns.join(", "),
                reason: "this model needs them: use LogisticChurn::predict".into(),
            });
        }
        let values: Vec<f64> = self.features.iter().map(|f| f.value(s)).collect();
        if let Some((j, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                at: Position::of_customer(&s.customer_id).with_column(self.features[j].name()),
                value: *v,
            });
        }
        Ok((self.probability(values.into_iter()), None))
    }
}
