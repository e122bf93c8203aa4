//! Behavioral segmentation: customers grouped by how they buy and engage.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::features::{NumericFeature, Table, Transform};
use super::kmeans::KMeansParams;
use super::model::{SegmentFitReport, SegmentModel, delegate_segment_model};
use super::profile::{SegmentProfile, Vocabulary};
use super::strategy::Strategy;
use crate::contract::only;
use crate::data::{CustomerId, CustomerSummary};
use crate::error::{Error, Position, Result};
use crate::{Assign, Fit};

/// One customer's behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehavioralRecord {
    /// The customer.
    pub customer_id: CustomerId,
    /// Days since the last purchase.
    pub recency_days: f64,
    /// Purchases (purchase periods).
    pub frequency: f64,
    /// Total spend.
    pub monetary: f64,
    /// Average order value.
    pub average_order_value: f64,
    /// Mean days between purchases; `None` for a single purchase (imputed with the median of
    /// the training customers, and counted).
    pub cadence_days: Option<f64>,
    /// Days since the first purchase.
    pub tenure_days: f64,
    /// Engagement counts (visits, sessions, e-mail opens, clicks …), as named in the
    /// segmenter; `None` where unknown (imputed with the training median, counted).
    pub engagement: Vec<Option<f64>>,
}

impl BehavioralRecord {
    /// The behaviour in a purchase summary (no engagement counts).
    pub fn from_summary(s: &CustomerSummary) -> Self {
        let days = s.unit.days();
        BehavioralRecord {
            customer_id: s.customer_id.clone(),
            recency_days: (s.time_since_last_purchase() * days).round(),
            frequency: s.purchase_periods() as f64,
            monetary: s.total_spend,
            average_order_value: s.average_order_value(),
            cadence_days: (s.frequency > 0).then(|| s.recency * days / s.frequency as f64),
            tenure_days: (s.age * days).round(),
            engagement: Vec::new(),
        }
    }
}

/// The fixed behavioral columns, before the engagement counts.
const BASE: [&str; 6] = [
    "recency_days",
    "frequency",
    "monetary",
    "average_order_value",
    "cadence_days",
    "tenure_days",
];

/// Unfitted behavioral segmentation: the clustering strategy and the engagement columns.
/// Every feature is log1p-transformed (counts, money and durations are skewed) and
/// standardised.
///
/// ```
/// use custseg::segment::{BehavioralRecord, BehavioralSegmenter};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
/// use custseg::{Assign, Fit};
/// let s = cdnow_sample().summarise(&cdnow_sample_config())?;
/// let records: Vec<BehavioralRecord> = s.iter().map(BehavioralRecord::from_summary).collect();
/// let (model, report) = BehavioralSegmenter::new(4)?.fit(&records)?;
/// assert_eq!(report.labels.len(), records.len());
/// assert_eq!(model.profiles().len(), 4);
/// let first = model.assign(&records[0])?;
/// assert!(first.is_some());
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BehavioralSegmenterRecord")]
pub struct BehavioralSegmenter {
    strategy: Strategy,
    engagement: Vec<String>,
}

/// The serde shape of [`BehavioralSegmenter`]: deserializing runs the builder's checks.
#[derive(Deserialize)]
struct BehavioralSegmenterRecord {
    strategy: Strategy,
    engagement: Vec<String>,
}

impl TryFrom<BehavioralSegmenterRecord> for BehavioralSegmenter {
    type Error = Error;
    fn try_from(r: BehavioralSegmenterRecord) -> Result<Self> {
        Ok(BehavioralSegmenter::new(1)?
            .with_strategy(r.strategy)?
            .with_engagement(r.engagement))
    }
}

impl BehavioralSegmenter {
    /// k segments by k-means (10 restarts, seed 0).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for k = 0.
    pub fn new(k: usize) -> Result<Self> {
        Ok(BehavioralSegmenter {
            strategy: Strategy::KMeans(KMeansParams::new(k)?),
            engagement: Vec::new(),
        })
    }

    /// Uses another strategy (numeric strategies only: not k-prototypes).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for k-prototypes.
    pub fn with_strategy(mut self, strategy: Strategy) -> Result<Self> {
        if matches!(strategy, Strategy::KPrototypes(_)) {
            return Err(Error::InvalidParameter {
                name: "strategy",
                value: strategy.name().into(),
                reason: "behavioral features are numeric".into(),
            });
        }
        self.strategy = strategy;
        Ok(self)
    }

    /// Names the engagement counts every record carries, in order.
    pub fn with_engagement(mut self, names: Vec<String>) -> Self {
        self.engagement = names;
        self
    }

    fn table(&self, records: &[BehavioralRecord]) -> Result<Table> {
        table(&self.engagement, records)
    }
}

impl Fit for BehavioralSegmenter {
    type Data<'a> = [BehavioralRecord];
    type Model = BehavioralModel;
    type Report = SegmentFitReport;

    /// Fits the segmentation. Segments are named by value (high / mid / low, from the
    /// z-score of total spend) and activity (loyal, new, potential, regular, occasional,
    /// at risk, lost:
    /// from recency, frequency and tenure); rule bands keep their band labels.
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::LengthMismatch`] for a record with the wrong number of
    /// engagement counts; the feature and strategy errors (naming the row and column).
    fn fit(&self, records: &[BehavioralRecord]) -> Result<(BehavioralModel, SegmentFitReport)> {
        if records.is_empty() {
            return Err(Error::EmptyInput { what: "customers" });
        }
        let t = self.table(records)?;
        let names = column_names(&self.engagement);
        let specs: Vec<NumericFeature> = names
            .iter()
            .map(|n| NumericFeature::new(n, Transform::Log1p))
            .collect();
        let mut fit = SegmentModel::fit(&self.strategy, &specs, &[], &vocabulary(names.len()), &t)?;
        if !matches!(self.strategy, Strategy::RuleBands(_)) {
            for s in 0..fit.model.segments() {
                let name = behavioral_name(&fit.prepared_profiles[s]);
                fit.model.rename(s, &name)?;
            }
        }
        Ok((
            BehavioralModel {
                engagement: self.engagement.clone(),
                model: fit.model,
            },
            SegmentFitReport::new(fit.labels).with_objective(fit.objective),
        ))
    }
}

fn column_names(engagement: &[String]) -> Vec<String> {
    BASE.iter()
        .map(|s| s.to_string())
        .chain(engagement.iter().cloned())
        .collect()
}

fn vocabulary(columns: usize) -> Vec<Vocabulary> {
    let mut v = vec![
        // Many days since the last purchase is the low end of recency.
        Vocabulary::new("lapsed", "recent"),
        Vocabulary::new("frequent", "infrequent"),
        Vocabulary::new("high value", "low value"),
        Vocabulary::new("big baskets", "small baskets"),
        Vocabulary::new("slow cadence", "fast cadence"),
        Vocabulary::new("long-standing", "new"),
    ];
    while v.len() < columns {
        v.push(Vocabulary::new("engaged", "disengaged"));
    }
    v
}

fn table(engagement: &[String], records: &[BehavioralRecord]) -> Result<Table> {
    if let Some((i, r)) = records
        .iter()
        .enumerate()
        .find(|(_, r)| r.engagement.len() != engagement.len())
    {
        return Err(Error::LengthMismatch {
            what: if i == 0 {
                "engagement counts"
            } else {
                "engagement counts of a record"
            },
            expected: engagement.len(),
            got: r.engagement.len(),
        });
    }
    let col = |f: fn(&BehavioralRecord) -> Option<f64>| records.iter().map(f).collect::<Vec<_>>();
    let mut numeric = vec![
        col(|r| Some(r.recency_days)),
        col(|r| Some(r.frequency)),
        col(|r| Some(r.monetary)),
        col(|r| Some(r.average_order_value)),
        col(|r| r.cadence_days),
        col(|r| Some(r.tenure_days)),
    ];
    for j in 0..engagement.len() {
        numeric.push(records.iter().map(|r| r.engagement[j]).collect());
    }
    Ok(Table {
        numeric,
        categorical: Vec::new(),
    })
}

/// A name by value and activity, from the z-scores of the prepared (log-scale, standardised)
/// features: on raw values a few huge spenders or long-lapsed customers would swamp them.
fn behavioral_name(p: &SegmentProfile) -> String {
    let z = |name: &str| {
        p.features
            .iter()
            .find(|f| f.feature == name)
            .map_or(0.0, |f| f.z)
    };
    let (recency, frequency, value, tenure) = (
        z("recency_days"),
        z("frequency"),
        z("monetary"),
        z("tenure_days"),
    );
    let worth = if value > 0.5 {
        "high-value"
    } else if value < -0.5 {
        "low-value"
    } else {
        "mid-value"
    };
    let activity = if recency < -0.3 {
        // Bought recently.
        if frequency > 0.5 {
            "loyal"
        } else if tenure < -0.5 {
            "new"
        } else {
            "potential"
        }
    } else if recency > 0.3 {
        // Gone quiet: worth winning back when they bought often or spent much.
        if frequency > 0.0 || value > 0.5 {
            "at risk"
        } else {
            "lost"
        }
    } else if frequency > 0.5 {
        "regular"
    } else {
        "occasional"
    };
    format!("{worth} {activity}")
}

/// A fitted behavioral segmentation: the engagement columns and the [`SegmentModel`]
/// (feature preparation, clustering, named profiles). Plain serde data; deserializing
/// validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BehavioralModelRecord")]
pub struct BehavioralModel {
    engagement: Vec<String>,
    model: SegmentModel,
}

#[derive(Deserialize)]
struct BehavioralModelRecord {
    engagement: Vec<String>,
    model: SegmentModel,
}

impl TryFrom<BehavioralModelRecord> for BehavioralModel {
    type Error = Error;
    fn try_from(r: BehavioralModelRecord) -> Result<Self> {
        let expected = column_names(&r.engagement);
        let got: Vec<String> = r.model.features().numeric_names();
        if got != expected {
            return Err(Error::InvalidParameter {
                name: "behavioral model",
                value: "deserialized".into(),
                reason: format!(
                    "feature columns {got:?} are not the behavioral columns {expected:?}"
                ),
            });
        }
        Ok(BehavioralModel {
            engagement: r.engagement,
            model: r.model,
        })
    }
}

impl BehavioralModel {
    delegate_segment_model!("Segment profiles (size, share, per-feature contrast, name).");

    /// The prepared (transformed, scaled) features of records: the space the clustering works in.
    ///
    /// # Errors
    /// As [`BehavioralModel::assign_batch`].
    pub fn prepare(&self, records: &[BehavioralRecord]) -> Result<Array2<f64>> {
        Ok(self
            .model
            .prepare(&table(&self.engagement, records)?)?
            .numeric)
    }
}

impl Assign for BehavioralModel {
    type Record = BehavioralRecord;

    fn segments(&self) -> usize {
        self.model.segments()
    }

    /// The segment of one customer (`None`: noise under DBSCAN).
    ///
    /// # Errors
    /// As [`BehavioralModel::assign_batch`].
    fn assign(&self, r: &BehavioralRecord) -> Result<Option<usize>> {
        // The batch form's answer for one record, without a table (a live service assigns
        // one customer per event).
        if r.engagement.len() != self.engagement.len() {
            return only(self.assign_batch(std::slice::from_ref(r)));
        }
        let mut values = [None; 32];
        let n = 6 + r.engagement.len();
        if n > values.len() {
            return only(self.assign_batch(std::slice::from_ref(r)));
        }
        values[..6].copy_from_slice(&[
            Some(r.recency_days),
            Some(r.frequency),
            Some(r.monetary),
            Some(r.average_order_value),
            r.cadence_days,
            Some(r.tenure_days),
        ]);
        values[6..n].copy_from_slice(&r.engagement);
        self.model
            .assign_numeric_row(&values[..n])
            .map_err(|e| e.amend(Position::without_row))
    }

    /// Segments of many customers, in parallel, in input order.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] for a record with the wrong number of engagement counts; the
    /// feature errors (a NaN, a value ≤ −1 where log1p applies), naming the row and column.
    fn assign_batch(&self, records: &[BehavioralRecord]) -> Result<Vec<Option<usize>>> {
        self.model.assign_table(&table(&self.engagement, records)?)
    }
}
