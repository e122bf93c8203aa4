//! Customer portraits: one record per customer gathering what every model says about them,
//! and a portrait of each segment in plain words.
//!
//! A [`CustomerPortrait`] puts side by side the customer's lifecycle stage (from recency and
//! age, by [`LifecycleRules`]), value (CLV, its rank and a [`ValueTier`] from
//! [`ValueTiers`]), churn tier, RFM cell and segment, and the segment of every other model
//! given (behavioral, demographic, psychographic, geographic), with the tags of those
//! segments ("frequent", "high value", "urban" …). [`Portraits`] assembles them from the
//! models' batch outputs, checking that every output is about the same customers in the same
//! order. [`segment_portraits`] describes each segment in a sentence from its profile,
//! through a [`KAnonymity`] floor.

use serde::{Deserialize, Serialize};

use super::KAnonymity;
use crate::churn::{ChurnRisk, RiskTier};
use crate::clv::CustomerValue;
use crate::data::{CustomerId, CustomerSummary};
use crate::error::{Error, Position, Result};
use crate::rfm::{RfmCell, RfmScore, SegmentScheme};
use crate::segment::{GeoProfile, SegmentProfile};

/// Where a customer stands in their relationship with the business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LifecycleStage {
    /// First purchase recent: still in the onboarding window.
    New,
    /// Bought recently (and, with a purchase model, likely still alive).
    Active,
    /// Quiet for longer than usual, or recent but with a low P(alive).
    AtRisk,
    /// Quiet for long: to win back.
    Lapsed,
    /// Quiet for longer than the business considers a customer kept (or, when the rules
    /// say so, P(alive) near 0).
    Lost,
}

impl LifecycleStage {
    /// Every stage, from newest to lost.
    pub const ALL: [LifecycleStage; 5] = [
        LifecycleStage::New,
        LifecycleStage::Active,
        LifecycleStage::AtRisk,
        LifecycleStage::Lapsed,
        LifecycleStage::Lost,
    ];

    /// The stage in words ("at risk").
    pub fn label(self) -> &'static str {
        match self {
            LifecycleStage::New => "new",
            LifecycleStage::Active => "active",
            LifecycleStage::AtRisk => "at risk",
            LifecycleStage::Lapsed => "lapsed",
            LifecycleStage::Lost => "lost",
        }
    }
}

/// The lifecycle rules, in days at the observation end. With s the days since the last
/// purchase, A the days since the first and p the P(alive) of a purchase model (when
/// values are given), the first rule that holds decides:
///
/// 1. **lost**: s > `lost_after`, or p < `lost_below`;
/// 2. **new**: A ≤ `new_within` (the first purchase is recent);
/// 3. **active**: s ≤ `active_within` and p ≥ `at_risk_below`;
/// 4. **at risk**: s ≤ `lapsed_after` (including the recent buyers with p < `at_risk_below`);
/// 5. **lapsed**: otherwise (s ≤ `lost_after`).
///
/// Without a purchase model the P(alive) conditions are left out. The defaults are the
/// retail windows most CRM tools start from: new within 90 days, active within 90, at risk
/// to 180, lapsed to 365, lost after; P(alive) below 0.5 makes a recent buyer at risk, and
/// P(alive) alone never makes a customer lost (`lost_below` 0). On CDNOW the 18 customers
/// BG/NBD puts below 0.05 bought again within the 39 holdout weeks as often as the at-risk
/// ones (half of them): the model's near-zero P(alive) of a frequent buyer who paused is
/// not a loss. Set [`LifecycleRules::with_p_alive`] to use it.
///
/// ```
/// use custseg::report::{LifecycleRules, LifecycleStage};
/// let rules = LifecycleRules::default();
/// // 30 days quiet, first bought 400 days ago, no model: active.
/// assert_eq!(rules.stage(30.0, 400.0, None), LifecycleStage::Active);
/// // The same customer, whose model gives P(alive) 0.3: at risk.
/// assert_eq!(rules.stage(30.0, 400.0, Some(0.3)), LifecycleStage::AtRisk);
/// assert_eq!(rules.stage(200.0, 400.0, None), LifecycleStage::Lapsed);
/// assert_eq!(rules.stage(10.0, 60.0, None), LifecycleStage::New);
/// assert!(LifecycleRules::new(90.0, 180.0, 120.0, 365.0).is_err()); // windows out of order
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LifecycleRecord")]
pub struct LifecycleRules {
    new_within: f64,
    active_within: f64,
    lapsed_after: f64,
    lost_after: f64,
    at_risk_below: f64,
    lost_below: f64,
}

#[derive(Deserialize)]
struct LifecycleRecord {
    new_within: f64,
    active_within: f64,
    lapsed_after: f64,
    lost_after: f64,
    at_risk_below: f64,
    lost_below: f64,
}

impl TryFrom<LifecycleRecord> for LifecycleRules {
    type Error = Error;
    fn try_from(r: LifecycleRecord) -> Result<Self> {
        LifecycleRules::new(r.new_within, r.active_within, r.lapsed_after, r.lost_after)?
            .with_p_alive(r.at_risk_below, r.lost_below)
    }
}

impl Default for LifecycleRules {
    /// New within 90 days, active within 90, lapsed after 180, lost after 365; a recent
    /// buyer with P(alive) below 0.5 at risk; no customer lost by P(alive) alone.
    fn default() -> Self {
        LifecycleRules {
            new_within: 90.0,
            active_within: 90.0,
            lapsed_after: 180.0,
            lost_after: 365.0,
            at_risk_below: 0.5,
            lost_below: 0.0,
        }
    }
}

impl LifecycleRules {
    /// Windows in days (the P(alive) cuts keep their defaults, 0.5 and 0).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless every window is finite and positive and
    /// `active_within` < `lapsed_after` < `lost_after`.
    pub fn new(
        new_within: f64,
        active_within: f64,
        lapsed_after: f64,
        lost_after: f64,
    ) -> Result<Self> {
        for (name, v) in [
            ("new_within", new_within),
            ("active_within", active_within),
            ("lapsed_after", lapsed_after),
            ("lost_after", lost_after),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::InvalidParameter {
                    name,
                    value: v.to_string(),
                    reason: "days: finite and > 0".into(),
                });
            }
        }
        if !(active_within < lapsed_after && lapsed_after < lost_after) {
            return Err(Error::InvalidParameter {
                name: "lapsed_after",
                value: format!("{active_within} / {lapsed_after} / {lost_after}"),
                reason: "active_within < lapsed_after < lost_after".into(),
            });
        }
        Ok(LifecycleRules {
            new_within,
            active_within,
            lapsed_after,
            lost_after,
            ..LifecycleRules::default()
        })
    }

    /// The P(alive) cuts: a recent buyer below `at_risk_below` is at risk, anyone below
    /// `lost_below` lost.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless 0 ≤ `lost_below` ≤ `at_risk_below` ≤ 1.
    pub fn with_p_alive(mut self, at_risk_below: f64, lost_below: f64) -> Result<Self> {
        if !((0.0..=1.0).contains(&at_risk_below)
            && (0.0..=1.0).contains(&lost_below)
            && lost_below <= at_risk_below)
        {
            return Err(Error::InvalidParameter {
                name: "at_risk_below",
                value: format!("{at_risk_below} / {lost_below}"),
                reason: "0 ≤ lost_below ≤ at_risk_below ≤ 1".into(),
            });
        }
        self.at_risk_below = at_risk_below;
        self.lost_below = lost_below;
        Ok(self)
    }

    /// The stage of a customer quiet for `days_since_last` days, whose first purchase was
    /// `days_since_first` days ago, with P(alive) `p_alive` if a purchase model is given.
    pub fn stage(
        &self,
        days_since_last: f64,
        days_since_first: f64,
        p_alive: Option<f64>,
    ) -> LifecycleStage {
        let p = p_alive.unwrap_or(1.0);
        if days_since_last > self.lost_after || p < self.lost_below {
            LifecycleStage::Lost
        } else if days_since_first <= self.new_within {
            LifecycleStage::New
        } else if days_since_last <= self.active_within && p >= self.at_risk_below {
            LifecycleStage::Active
        } else if days_since_last <= self.lapsed_after {
            LifecycleStage::AtRisk
        } else {
            LifecycleStage::Lapsed
        }
    }
}

/// Value tiers by CLV rank, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ValueTier {
    /// The top share (5 % by default).
    Platinum,
    /// The next (to 20 %).
    Gold,
    /// The next (to 50 %).
    Silver,
    /// The rest.
    Bronze,
}

/// Where the value tiers end, as shares of the customers ranked by CLV: rank ≤
/// ⌈platinum·n⌉ is Platinum, then Gold to ⌈gold·n⌉, Silver to ⌈silver·n⌉, Bronze after.
/// Customers with equal CLV share a rank (the best of their places), so ties never split
/// across tiers.
///
/// ```
/// use custseg::report::{ValueTier, ValueTiers};
/// let tiers = ValueTiers::default(); // 5 %, 20 %, 50 %
/// assert_eq!(tiers.tier(5, 100), ValueTier::Platinum);
/// assert_eq!(tiers.tier(6, 100), ValueTier::Gold);
/// assert_eq!(tiers.tier(51, 100), ValueTier::Bronze);
/// assert!(ValueTiers::new(0.2, 0.1, 0.5).is_err());
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ValueTiersRecord")]
pub struct ValueTiers {
    platinum: f64,
    gold: f64,
    silver: f64,
}

#[derive(Deserialize)]
struct ValueTiersRecord {
    platinum: f64,
    gold: f64,
    silver: f64,
}

impl TryFrom<ValueTiersRecord> for ValueTiers {
    type Error = Error;
    fn try_from(r: ValueTiersRecord) -> Result<Self> {
        ValueTiers::new(r.platinum, r.gold, r.silver)
    }
}

impl Default for ValueTiers {
    /// Top 5 % Platinum, to 20 % Gold, to 50 % Silver.
    fn default() -> Self {
        ValueTiers {
            platinum: 0.05,
            gold: 0.2,
            silver: 0.5,
        }
    }
}

impl ValueTiers {
    /// Tiers ending at these shares of the customers.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless 0 < platinum ≤ gold ≤ silver ≤ 1.
    pub fn new(platinum: f64, gold: f64, silver: f64) -> Result<Self> {
        if !(platinum > 0.0 && platinum <= gold && gold <= silver && silver <= 1.0) {
            return Err(Error::InvalidParameter {
                name: "platinum",
                value: format!("{platinum} / {gold} / {silver}"),
                reason: "0 < platinum ≤ gold ≤ silver ≤ 1".into(),
            });
        }
        Ok(ValueTiers {
            platinum,
            gold,
            silver,
        })
    }

    /// The tier of rank `rank` (1 = highest CLV) among `customers`.
    pub fn tier(&self, rank: usize, customers: usize) -> ValueTier {
        let end = |share: f64| (share * customers as f64).ceil() as usize;
        if rank <= end(self.platinum) {
            ValueTier::Platinum
        } else if rank <= end(self.gold) {
            ValueTier::Gold
        } else if rank <= end(self.silver) {
            ValueTier::Silver
        } else {
            ValueTier::Bronze
        }
    }
}

/// What the value model says about a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValuePortrait {
    /// Discounted CLV over the valuation's horizon.
    pub clv: f64,
    /// Rank by CLV, 1 the highest; equal values share the best of their places.
    pub rank: usize,
    /// The tier of the rank.
    pub tier: ValueTier,
    /// P(alive) at the observation end.
    pub p_alive: f64,
    /// Expected purchases over the horizon.
    pub expected_purchases: f64,
}

/// A customer's RFM cell and the segment its scheme gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfmPortrait {
    /// The scores.
    pub cell: RfmCell,
    /// The segment's name in the scheme.
    pub segment: String,
}

/// A customer's segment in one segmentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentMembership {
    /// The segmentation ("behavioral", "geographic" …).
    pub model: String,
    /// The segment; `None` for a customer in none (DBSCAN noise, too few survey answers).
    pub segment: Option<usize>,
    /// Its name.
    pub name: Option<String>,
}

/// One customer, as every model given sees them. Plain serde data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerPortrait {
    /// The customer.
    pub customer_id: CustomerId,
    /// Lifecycle stage by the rules.
    pub lifecycle: LifecycleStage,
    /// Days from the last purchase to the observation end.
    pub days_since_last_purchase: f64,
    /// Days from the first purchase to the observation end.
    pub days_since_first_purchase: f64,
    /// Purchases (purchase periods) in the calibration period, the first included.
    pub purchases: u32,
    /// Total spend in the calibration period.
    pub revenue: f64,
    /// CLV, its rank and tier, P(alive) and expected purchases, when values are given.
    pub value: Option<ValuePortrait>,
    /// Churn risk tier, when churn scores are given.
    pub churn_tier: Option<RiskTier>,
    /// RFM cell and segment, when RFM scores are given.
    pub rfm: Option<RfmPortrait>,
    /// The customer's segment in every other segmentation given, in the order given.
    pub segments: Vec<SegmentMembership>,
    /// The tags of those segments, each once, in the order the segmentations were given.
    pub tags: Vec<String>,
}

/// One segmentation's labels for the portraits: a name for the model, each customer's
/// segment, and each segment's name and tags.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentLayer<'a> {
    model: String,
    labels: &'a [Option<usize>],
    names: Vec<String>,
    tags: Vec<Vec<String>>,
}

impl<'a> SegmentLayer<'a> {
    /// From any segment model's profiles ([`BehavioralModel::profiles`], demographic,
    /// psychographic …): names and tags from each profile.
    ///
    /// [`BehavioralModel::profiles`]: crate::segment::BehavioralModel::profiles
    pub fn from_profiles(
        model: &str,
        labels: &'a [Option<usize>],
        profiles: &[SegmentProfile],
    ) -> Self {
        SegmentLayer {
            model: model.into(),
            labels,
            names: profiles.iter().map(|p| p.name.clone()).collect(),
            tags: profiles.iter().map(|p| p.tags.clone()).collect(),
        }
    }

    /// From a geographic model's profiles: each segment's name is its tag ("urban",
    /// "rural", a region).
    pub fn from_geographic(labels: &'a [Option<usize>], profiles: &[GeoProfile]) -> Self {
        SegmentLayer {
            model: "geographic".into(),
            labels,
            names: profiles.iter().map(|p| p.name.clone()).collect(),
            tags: profiles.iter().map(|p| vec![p.name.clone()]).collect(),
        }
    }
}

/// Assembles [`CustomerPortrait`]s from the summaries and any of: values (CLV), churn
/// scores, RFM scores with a segment scheme, and segment layers. Every output must hold one
/// entry per summary, about the same customer, in the same order (as every batch API here
/// returns them).
///
/// ```
/// use custseg::clv::{BgNbd, Discounting, GammaGamma, Valuation};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
/// use custseg::report::{LifecycleStage, Portraits};
/// use custseg::rfm::{RfmParams, SegmentScheme};
/// use custseg::{Fit, Score, TimeUnit};
/// let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
/// let valuation = Valuation::new(
///     BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?.with_unit(TimeUnit::Weeks),
///     GammaGamma::new(6.2488, 3.7446, 15.4477)?,
///     Discounting::lifetimes(12, 0.01, TimeUnit::Weeks)?,
/// );
/// let values = valuation.score_batch(&summaries)?;
/// let (rfm, _) = RfmParams::new(5)?.fit(summaries.as_slice())?;
/// let scores = rfm.score_batch(summaries.as_slice())?;
/// let scheme = SegmentScheme::rfm_package();
/// let portraits = Portraits::new(summaries.as_slice())
///     .with_values(&values)
///     .with_rfm(&scores, &scheme)
///     .build()?;
/// let best = portraits.iter().find(|p| p.value.as_ref().unwrap().rank == 1).unwrap();
/// assert_eq!(best.lifecycle, LifecycleStage::Active);
/// assert_eq!(best.rfm.as_ref().unwrap().segment, "Champions");
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Portraits<'a> {
    summaries: &'a [CustomerSummary],
    rules: LifecycleRules,
    tiers: ValueTiers,
    values: Option<&'a [CustomerValue]>,
    churn: Option<&'a [ChurnRisk]>,
    rfm: Option<(&'a [RfmScore], &'a SegmentScheme)>,
    layers: Vec<SegmentLayer<'a>>,
}

impl<'a> Portraits<'a> {
    /// Portraits of these customers, with the default lifecycle rules and value tiers.
    pub fn new(summaries: &'a [CustomerSummary]) -> Self {
        Portraits {
            summaries,
            rules: LifecycleRules::default(),
            tiers: ValueTiers::default(),
            values: None,
            churn: None,
            rfm: None,
            layers: Vec::new(),
        }
    }

    /// Other lifecycle rules.
    pub fn with_rules(mut self, rules: LifecycleRules) -> Self {
        self.rules = rules;
        self
    }

    /// Other value tiers.
    pub fn with_tiers(mut self, tiers: ValueTiers) -> Self {
        self.tiers = tiers;
        self
    }

    /// Values from a [`Valuation`](crate::clv::Valuation): CLV, rank, tier, and P(alive)
    /// for the lifecycle rules.
    pub fn with_values(mut self, values: &'a [CustomerValue]) -> Self {
        self.values = Some(values);
        self
    }

    /// Churn scores (any churn scorer's).
    pub fn with_churn(mut self, churn: &'a [ChurnRisk]) -> Self {
        self.churn = Some(churn);
        self
    }

    /// RFM scores and the scheme that names their segments.
    pub fn with_rfm(mut self, scores: &'a [RfmScore], scheme: &'a SegmentScheme) -> Self {
        self.rfm = Some((scores, scheme));
        self
    }

    /// Another segmentation.
    pub fn with_segments(mut self, layer: SegmentLayer<'a>) -> Self {
        self.layers.push(layer);
        self
    }

    /// The portraits, in the summaries' order.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when an output has not one entry per summary;
    /// [`Error::InvalidRecord`] naming the row and customer where an output is about
    /// another customer, where a value is not finite, or where a segment label has no
    /// segment; the errors of [`SegmentScheme::segment_name`] for a cell outside the scheme.
    pub fn build(&self) -> Result<Vec<CustomerPortrait>> {
        let n = self.summaries.len();
        let ids = |what: &'static str, got: Vec<&CustomerId>| -> Result<()> {
            if got.len() != n {
                return Err(Error::LengthMismatch {
                    what,
                    expected: n,
                    got: got.len(),
                });
            }
            for (row, (s, id)) in self.summaries.iter().zip(got).enumerate() {
                if s.customer_id() != id {
                    return Err(Error::InvalidRecord {
                        at: Position::at_row(row).with_customer(s.customer_id()),
                        reason: format!("the {what} at this row are for customer {id}"),
                    });
                }
            }
            Ok(())
        };
        if let Some(v) = self.values {
            ids("values", v.iter().map(|v| &v.customer_id).collect())?;
            if let Some((row, v)) = v
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.clv.is_finite() && v.p_alive.is_finite()))
            {
                return Err(Error::InvalidRecord {
                    at: Position::at_row(row)
                        .with_customer(&v.customer_id)
                        .with_column("clv"),
                    reason: format!("CLV {} and P(alive) {} must be finite", v.clv, v.p_alive),
                });
            }
        }
        if let Some(c) = self.churn {
            ids("churn scores", c.iter().map(|c| &c.customer_id).collect())?;
        }
        if let Some((scores, _)) = self.rfm {
            ids(
                "RFM scores",
                scores.iter().map(|s| &s.customer_id).collect(),
            )?;
        }
        for layer in &self.layers {
            if layer.labels.len() != n {
                return Err(Error::LengthMismatch {
                    what: "segment labels",
                    expected: n,
                    got: layer.labels.len(),
                });
            }
            if let Some((row, l)) = layer
                .labels
                .iter()
                .enumerate()
                .find_map(|(i, l)| l.filter(|&l| l >= layer.names.len()).map(|l| (i, l)))
            {
                return Err(Error::InvalidRecord {
                    at: Position::at_row(row)
                        .with_customer(self.summaries[row].customer_id())
                        .with_column(layer.model.as_str()),
                    reason: format!(
                        "segment {l}: the {} model has {} segments",
                        layer.model,
                        layer.names.len()
                    ),
                });
            }
        }
        let ranks = self.values.map(clv_ranks);
        (0..n)
            .map(|i| {
                let s = &self.summaries[i];
                let days = s.unit().days();
                let value = self.values.map(|v| {
                    let rank = ranks.as_ref().map_or(0, |r| r[i]);
                    ValuePortrait {
                        clv: v[i].clv,
                        rank,
                        tier: self.tiers.tier(rank, n),
                        p_alive: v[i].p_alive,
                        expected_purchases: v[i].expected_purchases,
                    }
                });
                // Summaries hold times in their unit (days / 7 for weeks); back in days they
                // are rounded to a millionth of a day, so that 90 days quiet is 90, not
                // 90.00000000000001 and past a 90-day window.
                let in_days = |t: f64| (t * days * 1e6).round() / 1e6;
                let since_last = in_days(s.time_since_last_purchase());
                let since_first = in_days(s.age());
                let rfm = match self.rfm {
                    Some((scores, scheme)) => Some(RfmPortrait {
                        cell: scores[i].cell,
                        segment: scheme.segment_name(scores[i].cell)?.to_string(),
                    }),
                    None => None,
                };
                let mut tags: Vec<String> = Vec::new();
                let segments = self
                    .layers
                    .iter()
                    .map(|layer| {
                        let segment = layer.labels[i];
                        if let Some(seg) = segment {
                            for t in &layer.tags[seg] {
                                if !tags.contains(t) {
                                    tags.push(t.clone());
                                }
                            }
                        }
                        SegmentMembership {
                            model: layer.model.clone(),
                            segment,
                            name: segment.map(|seg| layer.names[seg].clone()),
                        }
                    })
                    .collect();
                Ok(CustomerPortrait {
                    customer_id: s.customer_id().clone(),
                    lifecycle: self.rules.stage(
                        since_last,
                        since_first,
                        value.as_ref().map(|v| v.p_alive),
                    ),
                    days_since_last_purchase: since_last,
                    days_since_first_purchase: since_first,
                    purchases: s.frequency().saturating_add(1),
                    revenue: s.total_spend(),
                    value,
                    churn_tier: self.churn.map(|c| c[i].tier),
                    rfm,
                    segments,
                    tags,
                })
            })
            .collect()
    }
}

/// Rank of every customer by CLV, 1 the highest; equal values share the best of their
/// places ("1224" ranking), so the order of the input never decides a tie.
fn clv_ranks(values: &[CustomerValue]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].clv.total_cmp(&values[a].clv));
    let mut ranks = vec![0; values.len()];
    for (place, &i) in order.iter().enumerate() {
        ranks[i] = match place {
            0 => 1,
            _ if values[order[place - 1]].clv == values[i].clv => ranks[order[place - 1]],
            _ => place + 1,
        };
    }
    ranks
}

/// One segment described in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentPortrait {
    /// Segment number.
    pub segment: usize,
    /// Its name.
    pub name: String,
    /// Customers.
    pub customers: usize,
    /// Share of the customers with a segment.
    pub share: f64,
    /// Its tags.
    pub tags: Vec<String>,
    /// The portrait: size, share and the features that set the segment apart against the
    /// average customer.
    pub text: String,
}

/// Segment portraits behind a privacy floor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentPortraits {
    /// The segments with at least k customers, in segment order.
    pub portraits: Vec<SegmentPortrait>,
    /// The floor applied.
    pub k_anonymity: KAnonymity,
    /// Segments left out for describing fewer than k customers (a text cannot be merged:
    /// with [`SmallGroups::Merge`](super::SmallGroups::Merge) they are left out too).
    pub suppressed: usize,
}

/// Each segment in a sentence from its profile: its size and share, then the (up to) three
/// features that set it apart most (|z| > 0.5), each as a multiple of the average
/// customer's ("monetary 3.0× (218 against 73.45)"; a feature whose average is 0 gives
/// both values). Segments of fewer than `floor.k()` customers are left out.
///
/// ```
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
/// use custseg::report::{KAnonymity, segment_portraits};
/// use custseg::segment::{BehavioralRecord, BehavioralSegmenter};
/// use custseg::Fit;
/// let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
/// let records: Vec<BehavioralRecord> =
///     summaries.iter().map(BehavioralRecord::from_summary).collect();
/// let (model, _) = BehavioralSegmenter::new(4)?.fit(&records)?;
/// let portraits = segment_portraits(model.profiles(), &KAnonymity::default());
/// assert_eq!(portraits.portraits.len() + portraits.suppressed, 4);
/// assert!(portraits.portraits[0].text.contains("customers"));
/// # Ok::<(), custseg::Error>(())
/// ```
pub fn segment_portraits(profiles: &[SegmentProfile], floor: &KAnonymity) -> SegmentPortraits {
    let (shown, small): (Vec<&SegmentProfile>, Vec<&SegmentProfile>) =
        profiles.iter().partition(|p| p.size >= floor.k());
    let portraits = shown
        .into_iter()
        .map(|p| SegmentPortrait {
            segment: p.segment,
            name: p.name.clone(),
            customers: p.size,
            share: p.share,
            tags: p.tags.clone(),
            text: portrait_text(p),
        })
        .collect();
    SegmentPortraits {
        portraits,
        k_anonymity: *floor,
        suppressed: small.len(),
    }
}

fn portrait_text(p: &SegmentProfile) -> String {
    let mut text = format!(
        "{}: {} customers ({:.1} %).",
        p.name,
        p.size,
        100.0 * p.share
    );
    let apart: Vec<String> = p
        .distinguishing(3)
        .into_iter()
        .filter(|f| f.z.abs() > 0.5)
        .map(|f| {
            let ratio = (f.overall_mean != 0.0)
                .then(|| f.mean / f.overall_mean)
                .filter(|r| r.is_finite() && *r > 0.0);
            match ratio {
                Some(r) => format!(
                    "{} {} ({} against {})",
                    f.feature,
                    multiple(r),
                    number(f.mean),
                    number(f.overall_mean)
                ),
                None => format!(
                    "{} {} (average {})",
                    f.feature,
                    number(f.mean),
                    number(f.overall_mean)
                ),
            }
        })
        .collect();
    if apart.is_empty() {
        text.push_str(" Close to the average customer on every feature.");
    } else {
        text.push_str(" Against the average customer: ");
        text.push_str(&apart.join("; "));
        text.push('.');
    }
    text
}

/// "2.4×" above the average, "0.31×" below (two significant digits either way).
fn multiple(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}×")
    } else if r >= 1.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.2}×")
    }
}

/// A value with as many decimals as its size calls for.
fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}
