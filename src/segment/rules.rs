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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RuleTreeRecord")]
pub struct RuleTreeParams {
    max_depth: usize,
    min_leaf: usize,
}

#[derive(Deserialize)]
struct RuleTreeRecord {
    max_depth: usize,
    min_leaf: usize,
}

impl TryFrom<RuleTreeRecord> for RuleTreeParams {
    type Error = Error;
    fn try_from(r: RuleTreeRecord) -> Result<Self> {
        RuleTreeParams::new()
            .with_max_depth(r.max_depth)?
            .with_min_leaf(r.min_leaf)
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
    /// Depth 3 (rules of at most three conditions), leaves of at least 10 customers.
    pub fn new() -> Self {
        RuleTreeParams {
            max_depth: 3,
            min_leaf: 10,
        }
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
        if segments.len() != n {
            return Err(Error::LengthMismatch {
                what: "segments",
                expected: n,
                got: segments.len(),
            });
        }
        if let Some(((i, j), v)) = features.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite {
                at: Position::at_row(i).with_column(names[j].clone()),
                value: *v,
            });
        }
        Ok(SegmentedPoints {
            features,
            names,
            segments,
        })
    }
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
    /// Share of them in `segment`.
    pub purity: f64,
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
pub struct SegmentRules {
    nodes: Vec<Node>,
    rules: Vec<Rule>,
    features: usize,
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
            writeln!(
                f,
                "{when} → segment {} ({} customers, {:.0} % in it)",
                r.segment,
                r.customers,
                100.0 * r.purity
            )?;
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
        let classes = data.segments.iter().max().map_or(0, |m| m + 1);
        if classes > super::profile::MAX_SEGMENTS {
            return Err(Error::InvalidRecord {
                at: Position::default().with_column("segment"),
                reason: format!(
                    "segment {} (at most {} segments)",
                    classes - 1,
                    super::profile::MAX_SEGMENTS
                ),
            });
        }
        let mut grower = Grower {
            flat,
            d,
            segments: data.segments,
            classes,
            params: *self,
            names: data.names,
            nodes: Vec::new(),
            rules: Vec::new(),
            depth: 0,
        };
        let rows: Vec<usize> = (0..n).collect();
        grower.grow(&rows, 0, &mut Vec::new());
        let correct: usize = grower
            .rules
            .iter()
            .map(|r| (r.purity * r.customers as f64).round() as usize)
            .sum();
        let report = RuleFitReport {
            fidelity: correct as f64 / n as f64,
            depth: grower.depth,
            rules: grower.rules.len(),
        };
        Ok((
            SegmentRules {
                nodes: grower.nodes,
                rules: grower.rules,
                features: d,
            },
            report,
        ))
    }
}

struct Grower<'a> {
    flat: &'a [f64],
    d: usize,
    segments: &'a [usize],
    classes: usize,
    params: RuleTreeParams,
    names: &'a [String],
    nodes: Vec<Node>,
    rules: Vec<Rule>,
    depth: usize,
}

/// The best split of a node: (weighted Gini impurity × n, feature, threshold, left size).
type Split = (f64, usize, f64, usize);

impl Grower<'_> {
    fn value(&self, row: usize, feature: usize) -> f64 {
        self.flat[row * self.d + feature]
    }

    fn counts(&self, rows: &[usize]) -> Vec<usize> {
        let mut c = vec![0; self.classes];
        for &r in rows {
            c[self.segments[r]] += 1;
        }
        c
    }

    /// Grows the node over `rows` (reordered: left rows first) and returns its index.
    fn grow(&mut self, rows: &[usize], depth: usize, path: &mut Vec<Condition>) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node::Leaf { rule: 0 });
        self.depth = self.depth.max(depth);
        let counts = self.counts(rows);
        let pure = counts.iter().filter(|&&c| c > 0).count() <= 1;
        let split = if depth < self.params.max_depth && !pure {
            self.best_split(rows, &counts)
        } else {
            None
        };
        let Some((_, feature, threshold, _)) = split else {
            // The majority segment, ties to the lowest.
            let (segment, hits) = counts
                .iter()
                .enumerate()
                .fold((0, 0), |b, (s, &c)| if c > b.1 { (s, c) } else { b });
            self.rules.push(Rule {
                conditions: tighten(path),
                segment,
                customers: rows.len(),
                purity: hits as f64 / rows.len().max(1) as f64,
            });
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
                let mut sorted: Vec<(f64, usize)> = rows
                    .iter()
                    .map(|&r| (self.value(r, feature), self.segments[r]))
                    .collect();
                sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                let mut left = vec![0usize; self.classes];
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
                    // The midpoint, as scikit-learn (falling back on a when it rounds to b).
                    let mut threshold = a + (b - a) / 2.0;
                    if threshold >= b {
                        threshold = a;
                    }
                    if best.is_none_or(|bs| impurity < bs.0) {
                        best = Some((impurity, feature, threshold, m));
                    }
                }
                best
            })
            .collect();
        let best = candidates
            .into_iter()
            .flatten()
            .fold(None, |b: Option<Split>, c| match b {
                Some(bs) if bs.0 <= c.0 => Some(bs),
                _ => Some(c),
            })?;
        // A split that does not lower the impurity explains nothing.
        (best.0 < parent - 1e-12 * parent.max(1.0)).then_some(best)
    }
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
