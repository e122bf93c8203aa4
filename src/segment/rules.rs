//! Segments explained as rules: a shallow decision tree fitted on the customers' features
//! that reproduces a segmentation, read back as one readable rule per leaf ("recency ≤ 32.5
//! and frequency > 3.5 → segment 2").
//!
//! Any segmentation can be explained this way: k-means clusters, RFM tiers, behavioral or
//! demographic segments. The tree is CART with the Gini impurity (as scikit-learn's
//! `DecisionTreeClassifier`): at each node, the split of one feature at the midpoint between
//! two neighbouring distinct values that most lowers the impurity, each side keeping at
//! least `min_leaf` customers, down to `max_depth`. How far the rules can be trusted is their
//! *fidelity*: the share of customers the rules place in their own segment.
//!
//! Written here rather than taken from linfa-trees: the rules must print exact thresholds
//! and their conditions per path (linfa-trees 0.8 does not expose its nodes' thresholds in a
//! stable form), and the tree-based segmentation by a target needs regression trees, which
//! it does not have. Ties between equally good splits go to the lowest feature index and the
//! lowest threshold, so the rules are the same at any thread count.

use std::fmt;

use ndarray::ArrayView2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::contract::Fit;
use crate::error::{Error, Position, Result};

/// Settings of the explaining tree, checked when built: depth 1 to [`MAX_RULE_DEPTH`], at
/// least one customer per leaf.
///
/// ```
/// use custseg::segment::{RuleTreeParams, SegmentedPoints};
/// use custseg::Fit;
/// use ndarray::array;
/// // Segment 1 is "x > 5", planted.
/// let x = array![[1.0], [2.0], [3.0], [7.0], [8.0], [9.0]];
/// let names = vec!["spend".to_string()];
/// let segments = [0, 0, 0, 1, 1, 1];
/// let data = SegmentedPoints::new(x.view(), &names, &segments)?;
/// let (rules, report) = RuleTreeParams::new().with_min_leaf(1)?.fit(&data)?;
/// assert_eq!(report.fidelity, 1.0);
/// assert_eq!(rules.to_string().lines().nth(1), Some("spend > 5 → segment 1 (3 customers, 100 % in it)"));
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RuleTreeRecord")]
pub struct RuleTreeParams {
    max_depth: usize,
    min_leaf: usize,
    min_gain: f64,
}

#[derive(Deserialize)]
struct RuleTreeRecord {
    max_depth: usize,
    min_leaf: usize,
    #[serde(default)]
    min_gain: f64,
}

impl TryFrom<RuleTreeRecord> for RuleTreeParams {
    type Error = Error;
    fn try_from(r: RuleTreeRecord) -> Result<Self> {
        RuleTreeParams::new()
            .with_max_depth(r.max_depth)?
            .with_min_leaf(r.min_leaf)?
            .with_min_gain(r.min_gain)
    }
}

/// Deepest explaining tree (rules longer than this are no longer read).
pub const MAX_RULE_DEPTH: usize = 12;

impl Default for RuleTreeParams {
    fn default() -> Self {
        RuleTreeParams::new()
    }
}

impl RuleTreeParams {
    /// Depth 3 (rules of at most three conditions), leaves of at least 10 customers, any
    /// split that lowers the impurity.
    pub fn new() -> Self {
        RuleTreeParams {
            max_depth: 3,
            min_leaf: 10,
            min_gain: 0.0,
        }
    }

    /// Sets the least a split must lower the impurity, as a share of the whole data's
    /// (scikit-learn's `min_impurity_decrease`, relative): splits that separate nothing
    /// worth a rule are not made.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a value outside [0, 1].
    pub fn with_min_gain(mut self, min_gain: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&min_gain) {
            return Err(Error::InvalidParameter {
                name: "min_gain",
                value: min_gain.to_string(),
                reason: "between 0 and 1".into(),
            });
        }
        self.min_gain = min_gain;
        Ok(self)
    }

    /// The least share of the impurity a split must remove.
    pub fn min_gain(&self) -> f64 {
        self.min_gain
    }

    /// Sets the depth: the most conditions a rule has.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0 or more than [`MAX_RULE_DEPTH`].
    pub fn with_max_depth(mut self, max_depth: usize) -> Result<Self> {
        if !(1..=MAX_RULE_DEPTH).contains(&max_depth) {
            return Err(Error::InvalidParameter {
                name: "max_depth",
                value: max_depth.to_string(),
                reason: format!("between 1 and {MAX_RULE_DEPTH}"),
            });
        }
        self.max_depth = max_depth;
        Ok(self)
    }

    /// Sets the fewest customers a leaf (a rule) may cover.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0.
    pub fn with_min_leaf(mut self, min_leaf: usize) -> Result<Self> {
        if min_leaf == 0 {
            return Err(Error::InvalidParameter {
                name: "min_leaf",
                value: "0".into(),
                reason: "at least 1".into(),
            });
        }
        self.min_leaf = min_leaf;
        Ok(self)
    }

    /// Depth.
    pub fn max_depth(&self) -> usize {
        self.max_depth
    }

    /// Fewest customers per leaf.
    pub fn min_leaf(&self) -> usize {
        self.min_leaf
    }
}

/// Customers' features with their names and segments: what rules are fitted on.
#[derive(Debug, Clone, Copy)]
pub struct SegmentedPoints<'a> {
    features: ArrayView2<'a, f64>,
    names: &'a [String],
    segments: &'a [usize],
}

impl<'a> SegmentedPoints<'a> {
    /// One row of features per customer, one name per column, one segment per customer.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] when the names or segments do not match the rows and
    /// columns; [`Error::EmptyInput`] for no customers or no features; [`Error::NonFinite`]
    /// naming the row and column of a NaN or infinite feature.
    pub fn new(
        features: ArrayView2<'a, f64>,
        names: &'a [String],
        segments: &'a [usize],
    ) -> Result<Self> {
        check_features(features, names, segments.len(), "segments")?;
        Ok(SegmentedPoints {
            features,
            names,
            segments,
        })
    }
}

/// Checks features against their names and the number of per-customer values.
fn check_features(
    features: ArrayView2<'_, f64>,
    names: &[String],
    values: usize,
    what: &'static str,
) -> Result<()> {
    let (n, d) = features.dim();
    if n == 0 || d == 0 {
        return Err(Error::EmptyInput {
            what: "customers and features",
        });
    }
    if names.len() != d {
        return Err(Error::LengthMismatch {
            what: "feature names",
            expected: d,
            got: names.len(),
        });
    }
    if values != n {
        return Err(Error::LengthMismatch {
            what,
            expected: n,
            got: values,
        });
    }
    if let Some(((i, j), v)) = features.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite {
            at: Position::at_row(i).with_column(names[j].clone()),
            value: *v,
        });
    }
    Ok(())
}

/// Which side of a threshold a condition keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    /// feature ≤ threshold.
    AtMost,
    /// feature > threshold.
    Above,
}

/// One condition of a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// The feature's column.
    pub feature: usize,
    /// Its name.
    pub name: String,
    /// The side kept.
    pub side: Side,
    /// The threshold (a midpoint between two neighbouring values seen in training).
    pub threshold: f64,
}

/// One rule: the conditions of a leaf (the tightest per feature and side), the segment most
/// of its customers are in, and how many are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The conditions, all of which hold (none: everyone).
    pub conditions: Vec<Condition>,
    /// The segment the rule assigns.
    pub segment: usize,
    /// Training customers the rule covers.
    pub customers: usize,
    /// Share of them in `segment` (1 for a tree segmenting by a target: a leaf is a segment).
    pub purity: f64,
    /// For a tree segmenting by a target: the target's mean over the leaf's customers.
    pub target_mean: Option<f64>,
}

/// A node of the tree: a split or a leaf (a rule).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Node {
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    Leaf {
        rule: usize,
    },
}

/// The fitted rules: a decision tree and one rule per leaf. Assigns new customers with
/// [`segment_of`](Self::segment_of); prints one rule per line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SegmentRulesRecord")]
pub struct SegmentRules {
    nodes: Vec<Node>,
    rules: Vec<Rule>,
    features: usize,
}

/// The serde shape of [`SegmentRules`], checked before it becomes one: a tree whose children
/// come after their parent (so a walk ends), indices in range, finite thresholds.
#[derive(Deserialize)]
struct SegmentRulesRecord {
    nodes: Vec<Node>,
    rules: Vec<Rule>,
    features: usize,
}

impl TryFrom<SegmentRulesRecord> for SegmentRules {
    type Error = Error;
    fn try_from(r: SegmentRulesRecord) -> Result<Self> {
        let corrupt = |reason: &str| Error::InvalidRecord {
            at: Position::default().with_column("rules"),
            reason: format!("corrupt rules: {reason}"),
        };
        if r.features == 0 || r.nodes.is_empty() || r.rules.is_empty() {
            return Err(corrupt("no features, nodes or rules"));
        }
        for (id, node) in r.nodes.iter().enumerate() {
            match *node {
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    let child = |c: usize| c > id && c < r.nodes.len();
                    if feature >= r.features
                        || !threshold.is_finite()
                        || !child(left)
                        || !child(right)
                    {
                        return Err(corrupt(
                            "a split names a missing feature or child, or an infinite threshold",
                        ));
                    }
                }
                Node::Leaf { rule } => {
                    if rule >= r.rules.len() {
                        return Err(corrupt("a leaf names a missing rule"));
                    }
                }
            }
        }
        for rule in &r.rules {
            let bad_condition = rule
                .conditions
                .iter()
                .any(|c| c.feature >= r.features || !c.threshold.is_finite());
            if bad_condition
                || !(0.0..=1.0).contains(&rule.purity)
                || rule.target_mean.is_some_and(|m| !m.is_finite())
            {
                return Err(corrupt(
                    "a rule with a missing feature or an out-of-range value",
                ));
            }
        }
        Ok(SegmentRules {
            nodes: r.nodes,
            rules: r.rules,
            features: r.features,
        })
    }
}

/// How well the rules reproduce the segmentation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RuleFitReport {
    /// Share of training customers the rules place in their own segment.
    pub fidelity: f64,
    /// Depth of the tree (the longest rule).
    pub depth: usize,
    /// Rules (leaves).
    pub rules: usize,
}

impl SegmentRules {
    /// The rules, in tree order (left, "≤", first).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rules that assign `segment`.
    pub fn rules_for(&self, segment: usize) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |r| r.segment == segment)
    }

    /// The segment the rules assign to one customer's features.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] for the wrong number of features; [`Error::NonFinite`] for a
    /// NaN or infinite one.
    pub fn segment_of(&self, features: &[f64]) -> Result<usize> {
        if features.len() != self.features {
            return Err(Error::LengthMismatch {
                what: "features",
                expected: self.features,
                got: features.len(),
            });
        }
        if let Some((j, v)) = features.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                at: Position::default().with_column(j.to_string()),
                value: *v,
            });
        }
        Ok(self.rules[self.leaf(features)].segment)
    }

    fn leaf(&self, x: &[f64]) -> usize {
        let mut at = 0;
        loop {
            match self.nodes[at] {
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => at = if x[feature] <= threshold { left } else { right },
                Node::Leaf { rule } => return rule,
            }
        }
    }
}

impl fmt::Display for SegmentRules {
    /// One rule per line: "recency ≤ 32.5 and frequency > 3.5 → segment 2 (412 customers,
    /// 99 % in it)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.rules {
            let conditions: Vec<String> = r
                .conditions
                .iter()
                .map(|c| {
                    let op = if c.side == Side::AtMost { "≤" } else { ">" };
                    format!("{} {op} {}", c.name, round_for_humans(c.threshold))
                })
                .collect();
            let when = if conditions.is_empty() {
                "everyone".to_string()
            } else {
                conditions.join(" and ")
            };
            match r.target_mean {
                Some(mean) => writeln!(
                    f,
                    "{when} → segment {} ({} customers, mean {})",
                    r.segment,
                    r.customers,
                    round_for_humans(mean)
                )?,
                None => writeln!(
                    f,
                    "{when} → segment {} ({} customers, {:.0} % in it)",
                    r.segment,
                    r.customers,
                    100.0 * r.purity
                )?,
            }
        }
        Ok(())
    }
}

/// A threshold printed with at most four significant digits after the point (the exact
/// value stays in the data).
fn round_for_humans(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

impl Fit for RuleTreeParams {
    type Data<'a> = SegmentedPoints<'a>;
    type Model = SegmentRules;
    type Report = RuleFitReport;

    /// Grows the tree and reads its rules.
    fn fit(&self, data: &SegmentedPoints<'_>) -> Result<(SegmentRules, RuleFitReport)> {
        let x = data.features.as_standard_layout();
        let (n, d) = x.dim();
        let flat = x.as_slice().unwrap_or(&[]);
        let largest = data.segments.iter().copied().max().unwrap_or(0);
        if largest >= super::profile::MAX_SEGMENTS {
            let row = data
                .segments
                .iter()
                .position(|&s| s == largest)
                .unwrap_or(0);
            return Err(Error::InvalidRecord {
                at: Position::at_row(row).with_column("segment"),
                reason: format!(
                    "segment {largest} (at most {} segments)",
                    super::profile::MAX_SEGMENTS
                ),
            });
        }
        let classes = largest + 1;
        let (model, depth) = grow_tree(
            flat,
            d,
            data.names,
            Target::Segments(data.segments, classes),
            self,
        );
        let correct: usize = model
            .rules
            .iter()
            .map(|r| (r.purity * r.customers as f64).round() as usize)
            .sum();
        let report = RuleFitReport {
            fidelity: correct as f64 / n as f64,
            depth,
            rules: model.rules.len(),
        };
        Ok((model, report))
    }
}

/// Grows a tree over the rows of `flat` and reads its rules: (rules, depth).
fn grow_tree(
    flat: &[f64],
    d: usize,
    names: &[String],
    target: Target<'_>,
    params: &RuleTreeParams,
) -> (SegmentRules, usize) {
    let n = flat.len() / d.max(1);
    let mut grower = Grower {
        flat,
        d,
        target,
        params: *params,
        names,
        nodes: Vec::new(),
        rules: Vec::new(),
        depth: 0,
        min_decrease: 0.0,
    };
    let rows: Vec<usize> = (0..n).collect();
    grower.min_decrease = params.min_gain * grower.impurity(&rows);
    grower.grow(&rows, 0, &mut Vec::new());
    (
        SegmentRules {
            nodes: grower.nodes,
            rules: grower.rules,
            features: d,
        },
        grower.depth,
    )
}

/// Settings of a segmentation by a target (CLV, churn risk, holdout spend …): a regression
/// tree whose leaves are the segments, each the customers that one rule covers, with the
/// target's mean. The same checks and defaults as [`RuleTreeParams`] (depth 3: up to eight
/// segments). A 0/1 target (churned or not) gives segments by churn rate.
///
/// ```
/// use custseg::segment::{TargetPoints, TargetTreeParams};
/// use custseg::Fit;
/// use ndarray::array;
/// let x = array![[1.0], [2.0], [3.0], [7.0], [8.0], [9.0]];
/// let names = vec!["purchases".to_string()];
/// let clv = [10.0, 12.0, 11.0, 90.0, 95.0, 100.0];
/// let data = TargetPoints::new(x.view(), &names, &clv)?;
/// let (tree, report) = TargetTreeParams::new().with_min_leaf(2)?.fit(&data)?;
/// assert_eq!(tree.rules().len(), 2);
/// assert_eq!(tree.rules()[1].target_mean, Some(95.0));
/// assert!(report.r_squared > 0.99);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TargetTreeParams {
    tree: RuleTreeParams,
}

impl Default for TargetTreeParams {
    fn default() -> Self {
        TargetTreeParams::new()
    }
}

impl TargetTreeParams {
    /// Depth 3, segments of at least 10 customers, splits that explain at least 1 % of the
    /// target's variance (without it, a tree keeps splitting noise into segments that
    /// differ by nothing).
    pub fn new() -> Self {
        TargetTreeParams {
            tree: RuleTreeParams {
                min_gain: 0.01,
                ..RuleTreeParams::new()
            },
        }
    }

    /// As [`RuleTreeParams::with_min_gain`]: the least share of the target's variance a split
    /// must explain.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a value outside [0, 1].
    pub fn with_min_gain(self, min_gain: f64) -> Result<Self> {
        Ok(TargetTreeParams {
            tree: self.tree.with_min_gain(min_gain)?,
        })
    }

    /// As [`RuleTreeParams::with_max_depth`].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0 or more than [`MAX_RULE_DEPTH`].
    pub fn with_max_depth(self, max_depth: usize) -> Result<Self> {
        Ok(TargetTreeParams {
            tree: self.tree.with_max_depth(max_depth)?,
        })
    }

    /// As [`RuleTreeParams::with_min_leaf`]: the fewest customers a segment may have.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0.
    pub fn with_min_leaf(self, min_leaf: usize) -> Result<Self> {
        Ok(TargetTreeParams {
            tree: self.tree.with_min_leaf(min_leaf)?,
        })
    }

    /// Depth.
    pub fn max_depth(&self) -> usize {
        self.tree.max_depth
    }

    /// Fewest customers per segment.
    pub fn min_leaf(&self) -> usize {
        self.tree.min_leaf
    }
}

/// Customers' features with their names and a target value each: what a segmentation by a
/// target is fitted on.
#[derive(Debug, Clone, Copy)]
pub struct TargetPoints<'a> {
    features: ArrayView2<'a, f64>,
    names: &'a [String],
    target: &'a [f64],
}

impl<'a> TargetPoints<'a> {
    /// One row of features per customer, one name per column, one target value per customer.
    ///
    /// # Errors
    /// As [`SegmentedPoints::new`]; [`Error::NonFinite`] naming the row of a NaN or infinite
    /// target, and [`Error::Overflow`] when the target's spread overflows (values near
    /// f64's limit).
    pub fn new(
        features: ArrayView2<'a, f64>,
        names: &'a [String],
        target: &'a [f64],
    ) -> Result<Self> {
        check_features(features, names, target.len(), "target")?;
        if let Some((i, v)) = target.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                at: Position::at_row(i).with_column("target"),
                value: *v,
            });
        }
        // Sums of squares of centred values must stay finite.
        let m = target.iter().map(|v| v / target.len() as f64).sum::<f64>();
        let spread: f64 = target.iter().map(|v| (v - m).powi(2)).sum();
        if !spread.is_finite() {
            return Err(Error::Overflow {
                at: Position::default().with_column("target"),
                quantity: "target variance",
                value: spread,
            });
        }
        Ok(TargetPoints {
            features,
            names,
            target,
        })
    }
}

/// How a segmentation by a target went.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TargetFitReport {
    /// Share of the target's variance the segments explain (R²; 0 for a constant target).
    pub r_squared: f64,
    /// Depth of the tree.
    pub depth: usize,
    /// Segments (leaves).
    pub segments: usize,
}

impl Fit for TargetTreeParams {
    type Data<'a> = TargetPoints<'a>;
    type Model = SegmentRules;
    type Report = TargetFitReport;

    /// Grows the regression tree; its leaves are the segments (numbered in tree order).
    fn fit(&self, data: &TargetPoints<'_>) -> Result<(SegmentRules, TargetFitReport)> {
        let x = data.features.as_standard_layout();
        let d = x.ncols();
        let flat = x.as_slice().unwrap_or(&[]);
        let (model, depth) =
            grow_tree(flat, d, data.names, Target::Values(data.target), &self.tree);
        let y = data.target;
        let all: Vec<usize> = (0..y.len()).collect();
        let mean = mean_of(y, &all);
        let total: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
        let within: f64 = (0..y.len())
            .map(|i| {
                let rule = &model.rules[model.leaf(&flat[i * d..(i + 1) * d])];
                (y[i] - rule.target_mean.unwrap_or(mean)).powi(2)
            })
            .sum();
        let r_squared = if total > 0.0 {
            1.0 - within / total
        } else {
            0.0
        };
        let report = TargetFitReport {
            r_squared,
            depth,
            segments: model.rules.len(),
        };
        Ok((model, report))
    }
}

/// What a tree separates: given segments (explaining them) or a target's values (segmenting
/// by it).
#[derive(Clone, Copy)]
enum Target<'a> {
    Segments(&'a [usize], usize),
    Values(&'a [f64]),
}

struct Grower<'a> {
    flat: &'a [f64],
    d: usize,
    target: Target<'a>,
    params: RuleTreeParams,
    names: &'a [String],
    nodes: Vec<Node>,
    rules: Vec<Rule>,
    depth: usize,
    /// The least absolute decrease of impurity a split must bring (min_gain × the root's).
    min_decrease: f64,
}

/// The best split of a node: (weighted Gini impurity × n, feature, threshold, left size).
type Split = (f64, usize, f64, usize);

impl Grower<'_> {
    fn value(&self, row: usize, feature: usize) -> f64 {
        self.flat[row * self.d + feature]
    }

    /// The node's impurity on the split scale: n·Gini for segments, the sum of squared
    /// deviations for a target.
    fn impurity(&self, rows: &[usize]) -> f64 {
        match self.target {
            Target::Segments(..) => {
                let c = self.counts(rows);
                let m = rows.len();
                if m == 0 {
                    0.0
                } else {
                    m as f64 - c.iter().map(|&v| (v * v) as f64).sum::<f64>() / m as f64
                }
            }
            Target::Values(y) => {
                let centre = mean_of(y, rows);
                rows.iter().map(|&r| (y[r] - centre).powi(2)).sum()
            }
        }
    }

    fn counts(&self, rows: &[usize]) -> Vec<usize> {
        let Target::Segments(segments, classes) = self.target else {
            return Vec::new();
        };
        let mut c = vec![0; classes];
        for &r in rows {
            c[segments[r]] += 1;
        }
        c
    }

    /// A leaf's rule: the majority segment and its share, or, for a target, a segment of its
    /// own with the target's mean.
    fn leaf_rule(&self, rows: &[usize], counts: &[usize], conditions: Vec<Condition>) -> Rule {
        match self.target {
            Target::Segments(..) => {
                // The majority segment, ties to the lowest.
                let (segment, hits) = counts
                    .iter()
                    .enumerate()
                    .fold((0, 0), |b, (s, &c)| if c > b.1 { (s, c) } else { b });
                Rule {
                    conditions,
                    segment,
                    customers: rows.len(),
                    purity: hits as f64 / rows.len().max(1) as f64,
                    target_mean: None,
                }
            }
            Target::Values(y) => Rule {
                conditions,
                segment: self.rules.len(),
                customers: rows.len(),
                purity: 1.0,
                target_mean: Some(mean_of(y, rows)),
            },
        }
    }

    /// Grows the node over `rows` (reordered: left rows first) and returns its index.
    fn grow(&mut self, rows: &[usize], depth: usize, path: &mut Vec<Condition>) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node::Leaf { rule: 0 });
        self.depth = self.depth.max(depth);
        let counts = self.counts(rows);
        let pure = match self.target {
            Target::Segments(..) => counts.iter().filter(|&&c| c > 0).count() <= 1,
            Target::Values(y) => rows.iter().all(|&r| y[r] == y[rows[0]]),
        };
        let split = if depth < self.params.max_depth && !pure {
            match self.target {
                Target::Segments(..) => self.best_split(rows, &counts),
                Target::Values(y) => self.best_value_split(rows, y),
            }
        } else {
            None
        };
        let Some((_, feature, threshold, _)) = split else {
            let rule = self.leaf_rule(rows, &counts, tighten(path));
            self.rules.push(rule);
            self.nodes[id] = Node::Leaf {
                rule: self.rules.len() - 1,
            };
            return id;
        };
        // Stable partition: left (≤ threshold) first, each side in its previous order.
        let (left, right): (Vec<usize>, Vec<usize>) = rows
            .iter()
            .partition(|&&r| self.value(r, feature) <= threshold);
        let name = self.names[feature].clone();
        let condition = |side| Condition {
            feature,
            name: name.clone(),
            side,
            threshold,
        };
        path.push(condition(Side::AtMost));
        let l = self.grow(&left, depth + 1, path);
        path.pop();
        path.push(condition(Side::Above));
        let r = self.grow(&right, depth + 1, path);
        path.pop();
        self.nodes[id] = Node::Split {
            feature,
            threshold,
            left: l,
            right: r,
        };
        id
    }

    /// The split of one feature that most lowers the Gini impurity with both sides ≥
    /// min_leaf, over all features in parallel; ties to the lowest feature, then threshold.
    fn best_split(&self, rows: &[usize], counts: &[usize]) -> Option<Split> {
        let n = rows.len();
        let min_leaf = self.params.min_leaf;
        if n < 2 * min_leaf {
            return None;
        }
        let gini_n = |c: &[usize], m: usize| -> f64 {
            // m · Gini = m − Σc²/m.
            if m == 0 {
                return 0.0;
            }
            m as f64 - c.iter().map(|&v| (v * v) as f64).sum::<f64>() / m as f64
        };
        let parent = gini_n(counts, n);
        let candidates: Vec<Option<Split>> = (0..self.d)
            .into_par_iter()
            .map(|feature| {
                let Target::Segments(segments, _) = self.target else {
                    return None;
                };
                let mut sorted: Vec<(f64, usize)> = rows
                    .iter()
                    .map(|&r| (self.value(r, feature), segments[r]))
                    .collect();
                sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let mut left = vec![0usize; counts.len()];
                let mut right = counts.to_vec();
                let mut best: Option<Split> = None;
                for i in 0..n - 1 {
                    let s = sorted[i].1;
                    left[s] += 1;
                    right[s] -= 1;
                    let (a, b) = (sorted[i].0, sorted[i + 1].0);
                    let m = i + 1;
                    if a == b || m < min_leaf || n - m < min_leaf {
                        continue;
                    }
                    let impurity = gini_n(&left, m) + gini_n(&right, n - m);
                    let threshold = midpoint(a, b);
                    if best.is_none_or(|bs| impurity < bs.0) {
                        best = Some((impurity, feature, threshold, m));
                    }
                }
                best
            })
            .collect();
        let best = lowest_split(candidates)?;
        // A split that does not lower the impurity explains nothing.
        (best.0 < parent - 1e-12 * parent.max(1.0) && parent - best.0 >= self.min_decrease)
            .then_some(best)
    }
}

impl Grower<'_> {
    /// The split of one feature that most lowers the sum of squared deviations of the target
    /// (variance reduction, as scikit-learn's `DecisionTreeRegressor`), both sides ≥
    /// min_leaf; ties to the lowest feature, then threshold. Values are centred on the
    /// node's mean first, so the prefix sums of squares do not cancel.
    fn best_value_split(&self, rows: &[usize], y: &[f64]) -> Option<Split> {
        let n = rows.len();
        let min_leaf = self.params.min_leaf;
        if n < 2 * min_leaf {
            return None;
        }
        let centre = mean_of(y, rows);
        let sse = |sum: f64, sq: f64, m: usize| sq - sum * sum / m as f64;
        let (total, total_sq) = rows.iter().fold((0.0, 0.0), |(s, q), &r| {
            let v = y[r] - centre;
            (s + v, q + v * v)
        });
        let parent = sse(total, total_sq, n);
        let candidates: Vec<Option<Split>> = (0..self.d)
            .into_par_iter()
            .map(|feature| {
                let mut sorted: Vec<(f64, f64)> = rows
                    .iter()
                    .map(|&r| (self.value(r, feature), y[r] - centre))
                    .collect();
                sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
                let (mut ls, mut lq) = (0.0, 0.0);
                let mut best: Option<Split> = None;
                for i in 0..n - 1 {
                    let v = sorted[i].1;
                    ls += v;
                    lq += v * v;
                    let (a, b) = (sorted[i].0, sorted[i + 1].0);
                    let m = i + 1;
                    if a == b || m < min_leaf || n - m < min_leaf {
                        continue;
                    }
                    let impurity = sse(ls, lq, m) + sse(total - ls, total_sq - lq, n - m);
                    let threshold = midpoint(a, b);
                    if best.is_none_or(|bs| impurity < bs.0) {
                        best = Some((impurity, feature, threshold, m));
                    }
                }
                best
            })
            .collect();
        let best = lowest_split(candidates)?;
        (best.0 < parent - 1e-12 * parent.max(f64::MIN_POSITIVE)
            && parent - best.0 >= self.min_decrease)
            .then_some(best)
    }
}

/// The best of the features' best splits: the lowest impurity, ties to the lowest feature
/// (candidates come in feature order).
fn lowest_split(candidates: Vec<Option<Split>>) -> Option<Split> {
    candidates
        .into_iter()
        .flatten()
        .fold(None, |b: Option<Split>, c| match b {
            Some(bs) if bs.0 <= c.0 => Some(bs),
            _ => Some(c),
        })
}

/// The threshold between two neighbouring distinct values: their midpoint, as scikit-learn
/// (the lower value when the midpoint rounds to the upper one).
fn midpoint(a: f64, b: f64) -> f64 {
    let m = a + (b - a) / 2.0;
    if m >= b { a } else { m }
}

/// The mean of y over rows.
fn mean_of(y: &[f64], rows: &[usize]) -> f64 {
    rows.iter().map(|&r| y[r] / rows.len() as f64).sum()
}

/// The path's conditions with the tightest bound per feature and side.
fn tighten(path: &[Condition]) -> Vec<Condition> {
    let mut out: Vec<Condition> = Vec::new();
    for c in path {
        match out
            .iter_mut()
            .find(|o| o.feature == c.feature && o.side == c.side)
        {
            Some(o) => {
                o.threshold = match c.side {
                    Side::AtMost => o.threshold.min(c.threshold),
                    Side::Above => o.threshold.max(c.threshold),
                }
            }
            None => out.push(c.clone()),
        }
    }
    out
}
