//! KPIs per segment and campaign ROI, joining any segmentation with the scorers.

use serde::{Deserialize, Serialize};

use super::{Aggregate, Column, Report, ReportRow};
use crate::error::{Error, Position, Result};

/// What is known of one customer's value: revenue, and whatever the scorers give.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct CustomerMetrics {
    /// Revenue in the period reported on.
    pub revenue: f64,
    /// Customer lifetime value.
    pub clv: Option<f64>,
    /// Churn risk in [0, 1].
    pub churn_risk: Option<f64>,
    /// Expected purchases over the horizon of the CLV model.
    pub expected_purchases: Option<f64>,
}

/// A campaign to cost against each segment: every customer in a segment is contacted;
/// `response_rate` of them respond (use the uplift over not contacting — the incremental
/// response measured against a control group — for an honest ROI), and each response is
/// worth `margin` × the customer's value (CLV where known, else revenue).
///
/// Valid once built (also when deserialized), so the KPI functions need not check it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CampaignRecord")]
pub struct Campaign {
    cost_per_contact: f64,
    response_rate: f64,
    segment_rates: Vec<(usize, f64)>,
    margin: f64,
}

#[derive(Deserialize)]
struct CampaignRecord {
    cost_per_contact: f64,
    response_rate: f64,
    segment_rates: Vec<(usize, f64)>,
    margin: f64,
}

impl TryFrom<CampaignRecord> for Campaign {
    type Error = Error;
    fn try_from(r: CampaignRecord) -> Result<Self> {
        let c = Campaign {
            cost_per_contact: r.cost_per_contact,
            response_rate: r.response_rate,
            segment_rates: r.segment_rates,
            margin: r.margin,
        };
        c.validate()?;
        Ok(c)
    }
}

impl Campaign {
    /// A campaign, validated.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite cost, or a rate or margin
    /// outside [0, 1].
    pub fn new(cost_per_contact: f64, response_rate: f64, margin: f64) -> Result<Self> {
        let c = Campaign {
            cost_per_contact,
            response_rate,
            segment_rates: Vec::new(),
            margin,
        };
        c.validate()?;
        Ok(c)
    }

    /// Another response rate for one segment.
    ///
    /// # Errors
    /// As [`Campaign::new`].
    pub fn with_segment_rate(mut self, segment: usize, rate: f64) -> Result<Self> {
        self.segment_rates.retain(|(s, _)| *s != segment);
        self.segment_rates.push((segment, rate));
        self.validate()?;
        Ok(self)
    }

    /// Cost of contacting one customer.
    pub fn cost_per_contact(&self) -> f64 {
        self.cost_per_contact
    }

    /// Expected response rate (or uplift) of a segment, in [0, 1]: its own rate if one was
    /// set, else the campaign's.
    pub fn response_rate(&self, segment: usize) -> f64 {
        self.rate(segment)
    }

    /// Share of a response's value that is profit, in [0, 1].
    pub fn margin(&self) -> f64 {
        self.margin
    }

    fn validate(&self) -> Result<()> {
        let unit = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        let valid = self.cost_per_contact.is_finite()
            && self.cost_per_contact >= 0.0
            && unit(self.response_rate)
            && unit(self.margin)
            && self.segment_rates.iter().all(|(_, r)| unit(*r));
        if !valid {
            return Err(Error::InvalidParameter {
                name: "campaign",
                value: format!("{self:?}"),
                reason: "cost ≥ 0 and finite; rates and margin in [0, 1]".into(),
            });
        }
        Ok(())
    }

    fn rate(&self, segment: usize) -> f64 {
        self.segment_rates
            .iter()
            .find(|(s, _)| *s == segment)
            .map_or(self.response_rate, |(_, r)| *r)
    }
}

/// One segment's KPIs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentKpi {
    /// Segment number (`None`: customers without a segment).
    pub segment: Option<usize>,
    /// Segment name.
    pub name: String,
    /// Customers.
    pub customers: usize,
    /// Share of all customers.
    pub share: f64,
    /// Revenue.
    pub revenue: f64,
    /// Share of all revenue.
    pub revenue_share: f64,
    /// Mean CLV of the customers with one (`None` when none has).
    pub mean_clv: Option<f64>,
    /// Total CLV of the customers with one.
    pub total_clv: Option<f64>,
    /// Mean churn risk.
    pub mean_churn_risk: Option<f64>,
    /// Mean expected purchases.
    pub mean_expected_purchases: Option<f64>,
    /// Campaign: expected responses.
    pub responses: Option<f64>,
    /// Campaign: cost.
    pub cost: Option<f64>,
    /// Campaign: expected profit from the responses (before cost).
    pub gain: Option<f64>,
    /// Campaign: (gain − cost) / cost (`None` for a free campaign).
    pub roi: Option<f64>,
    /// Campaign: priority by expected net profit (1 = contact first).
    pub priority: Option<usize>,
}

/// KPIs of every segment (and of the customers without one, if any), with campaign ROI and
/// a CLV-based priority when a campaign is given.
///
/// ```
/// use custseg::report::{Campaign, CustomerMetrics, segment_kpis};
/// let labels = [Some(0), Some(0), Some(1), None];
/// let v = |revenue, clv| CustomerMetrics { revenue, clv: Some(clv), ..Default::default() };
/// let values = [v(100.0, 300.0), v(50.0, 100.0), v(10.0, 20.0), v(5.0, 5.0)];
/// let names = ["loyal".to_string(), "lapsed".to_string()];
/// let kpis = segment_kpis(&labels, &names, &values, Some(&Campaign::new(2.0, 0.1, 0.5)?))?;
/// assert_eq!(kpis[0].revenue_share, 150.0 / 165.0);
/// assert_eq!(kpis[0].mean_clv, Some(200.0));
/// // Two contacts at 2.0; 0.2 responses worth 0.5 × 200 each.
/// assert_eq!(kpis[0].roi, Some((0.2 * 100.0 - 4.0) / 4.0));
/// assert_eq!(kpis[0].priority, Some(1));
/// assert_eq!(kpis[2].name, "(no segment)");
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// [`Error::LengthMismatch`] when labels and values differ in length;
/// [`Error::InvalidRecord`] naming the row of a label without a name, a NaN or infinite
/// value, or a churn risk outside [0, 1]; [`Error::Overflow`] naming the KPI row and figure
/// when a total passes f64.
pub fn segment_kpis(
    labels: &[Option<usize>],
    names: &[String],
    values: &[CustomerMetrics],
    campaign: Option<&Campaign>,
) -> Result<Vec<SegmentKpi>> {
    if labels.len() != values.len() {
        return Err(Error::LengthMismatch {
            what: "customer values",
            expected: labels.len(),
            got: values.len(),
        });
    }
    for (i, (l, v)) in labels.iter().zip(values).enumerate() {
        let bad = |reason: String| {
            Err(Error::InvalidRecord {
                at: Position::at_row(i),
                reason,
            })
        };
        if l.is_some_and(|s| s >= names.len()) {
            return bad(format!(
                "segment {} has no name ({} names)",
                l.unwrap_or(0),
                names.len()
            ));
        }
        let finite = [Some(v.revenue), v.clv, v.churn_risk, v.expected_purchases];
        if finite.iter().flatten().any(|x| !x.is_finite()) {
            return bad(format!("non-finite value in {v:?}"));
        }
        if v.churn_risk.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
            return bad(format!("churn risk {:?} outside [0, 1]", v.churn_risk));
        }
    }
    let n = labels.len();
    let total_revenue: f64 = values.iter().map(|v| v.revenue).sum();
    let groups: Vec<Option<usize>> = (0..names.len())
        .map(Some)
        .chain(labels.iter().any(Option::is_none).then_some(None))
        .collect();
    let mean = |xs: &[f64]| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
    let mut kpis: Vec<SegmentKpi> = groups
        .into_iter()
        .map(|g| {
            let members: Vec<&CustomerMetrics> = labels
                .iter()
                .zip(values)
                .filter(|(l, _)| **l == g)
                .map(|(_, v)| v)
                .collect();
            let clv: Vec<f64> = members.iter().filter_map(|v| v.clv).collect();
            let risk: Vec<f64> = members.iter().filter_map(|v| v.churn_risk).collect();
            let purchases: Vec<f64> = members
                .iter()
                .filter_map(|v| v.expected_purchases)
                .collect();
            let revenue: f64 = members.iter().map(|v| v.revenue).sum();
            let mut k = SegmentKpi {
                segment: g,
                name: g.map_or_else(|| "(no segment)".to_string(), |s| names[s].clone()),
                customers: members.len(),
                share: if n > 0 {
                    members.len() as f64 / n as f64
                } else {
                    0.0
                },
                revenue,
                revenue_share: if total_revenue != 0.0 {
                    revenue / total_revenue
                } else {
                    0.0
                },
                mean_clv: mean(&clv),
                total_clv: (!clv.is_empty()).then(|| clv.iter().sum()),
                mean_churn_risk: mean(&risk),
                mean_expected_purchases: mean(&purchases),
                responses: None,
                cost: None,
                gain: None,
                roi: None,
                priority: None,
            };
            if let (Some(c), Some(s)) = (campaign, g) {
                let value = k.mean_clv.unwrap_or(if k.customers > 0 {
                    revenue / k.customers as f64
                } else {
                    0.0
                });
                let responses = k.customers as f64 * c.rate(s);
                let cost = k.customers as f64 * c.cost_per_contact;
                let gain = responses * value * c.margin;
                k.responses = Some(responses);
                k.cost = Some(cost);
                k.gain = Some(gain);
                k.roi = (cost > 0.0).then(|| (gain - cost) / cost);
            }
            k
        })
        .collect();
    // Totals of values near f64::MAX overflow (two revenues of 1e308): an error naming the
    // segment and the figure rather than an infinity, or a NaN share, inside Ok.
    for (row, k) in kpis.iter().enumerate() {
        let figures = [
            ("share", Some(k.share)),
            ("revenue", Some(k.revenue)),
            ("revenue_share", Some(k.revenue_share)),
            ("mean_clv", k.mean_clv),
            ("total_clv", k.total_clv),
            ("mean_churn_risk", k.mean_churn_risk),
            ("mean_expected_purchases", k.mean_expected_purchases),
            ("responses", k.responses),
            ("cost", k.cost),
            ("gain", k.gain),
            ("roi", k.roi),
        ];
        if let Some((column, Some(value))) = figures
            .into_iter()
            .find(|(_, v)| v.is_some_and(|v| !v.is_finite()))
        {
            return Err(Error::Overflow {
                at: Position::at_row(row).with_column(column),
                quantity: "segment KPI",
                value,
            });
        }
    }
    if campaign.is_some() {
        let mut order: Vec<usize> = (0..kpis.len())
            .filter(|&i| kpis[i].segment.is_some())
            .collect();
        let net = |k: &SegmentKpi| k.gain.unwrap_or(0.0) - k.cost.unwrap_or(0.0);
        order.sort_by(|&a, &b| net(&kpis[b]).total_cmp(&net(&kpis[a])).then(a.cmp(&b)));
        for (rank, i) in order.into_iter().enumerate() {
            kpis[i].priority = Some(rank + 1);
        }
    }
    Ok(kpis)
}

/// The KPIs as a report (guard it with [`Report::guarded`] before showing it).
pub fn kpi_report(title: &str, kpis: &[SegmentKpi]) -> Report {
    let mut columns = vec![
        Column::new("share %", Aggregate::Share, 1),
        Column::new("revenue", Aggregate::Sum, 0),
        Column::new("revenue %", Aggregate::Share, 1),
        Column::new("mean CLV", Aggregate::Mean, 2),
        Column::new("total CLV", Aggregate::Sum, 0),
        Column::new("churn risk", Aggregate::Mean, 3),
        Column::new("exp. purchases", Aggregate::Mean, 2),
    ];
    let campaign = kpis.iter().any(|k| k.roi.is_some() || k.cost.is_some());
    if campaign {
        columns.push(Column::new("cost", Aggregate::Sum, 0));
        columns.push(Column::new("net profit", Aggregate::Sum, 0));
        columns.push(Column::new("ROI", Aggregate::Mean, 2));
        columns.push(Column::new("priority", Aggregate::Mean, 0));
    }
    let rows = kpis
        .iter()
        .map(|k| {
            let mut values = vec![
                Some(100.0 * k.share),
                Some(k.revenue),
                Some(100.0 * k.revenue_share),
                k.mean_clv,
                k.total_clv,
                k.mean_churn_risk,
                k.mean_expected_purchases,
            ];
            if campaign {
                values.push(k.cost);
                values.push(k.gain.zip(k.cost).map(|(g, c)| g - c));
                values.push(k.roi);
                values.push(k.priority.map(|p| p as f64));
            }
            ReportRow {
                label: k.name.clone(),
                customers: k.customers,
                values,
            }
        })
        .collect();
    Report::new(title, columns, rows)
}
