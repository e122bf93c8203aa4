//! Named RFM segments: ordered rules on score ranges, checked for gaps and overlaps.

use std::ops::RangeInclusive;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::model::{MAX_SCORES, RfmCell, RfmScore};
use crate::error::{Error, Position, Result};

/// One rule of a segment scheme: a segment name and an inclusive range of scores on each
/// dimension. Several rules may share a name (a segment made of several boxes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRule {
    /// The segment a matching customer belongs to.
    pub name: String,
    /// Recency scores, inclusive.
    pub recency: RangeInclusive<u8>,
    /// Frequency scores, inclusive.
    pub frequency: RangeInclusive<u8>,
    /// Monetary scores, inclusive.
    pub monetary: RangeInclusive<u8>,
}

impl SegmentRule {
    /// A rule from a name and three inclusive score ranges.
    pub fn new(
        name: impl Into<String>,
        recency: RangeInclusive<u8>,
        frequency: RangeInclusive<u8>,
        monetary: RangeInclusive<u8>,
    ) -> Self {
        SegmentRule {
            name: name.into(),
            recency,
            frequency,
            monetary,
        }
    }

    /// Whether a cell falls inside all three ranges.
    pub fn matches(&self, c: RfmCell) -> bool {
        self.recency.contains(&c.r) && self.frequency.contains(&c.f) && self.monetary.contains(&c.m)
    }
}

/// Which rule wins when several match a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Precedence {
    /// The first matching rule in the table's order (R `rfm` ≥ 0.2.2).
    #[default]
    FirstMatch,
    /// The last matching rule (R `rfm` ≤ 0.2.1, whose loop overwrote earlier assignments).
    LastMatch,
}

/// Where a rule table leaves cells to the fallback or lets rules compete.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Cells no rule matches: they go to the fallback segment.
    pub gaps: Vec<RfmCell>,
    /// Cells several rules match, with the indices of those rules (the precedence decides).
    pub overlaps: Vec<(RfmCell, Vec<usize>)>,
    /// Rules that win no cell at all (shadowed by others, or empty).
    pub unreachable_rules: Vec<usize>,
}

/// An index into [`SegmentScheme::segment_names`].
pub type SegmentId = u16;

/// A segment scheme: ordered rules on score ranges plus a fallback segment.
///
/// Built with [`SegmentScheme::new`], which validates the rules and computes the
/// [`Coverage`] — the cells left to the fallback (gaps) and the cells several rules claim
/// (overlaps) — or [`SegmentScheme::strict`], which refuses either. Every one of the n³ score
/// cells belongs to exactly one segment; the assignment is precomputed, so classifying a
/// customer is one table lookup. Deserializing rebuilds and re-validates the table.
///
/// ```
/// use custseg::rfm::{Precedence, RfmCell, SegmentRule, SegmentScheme};
/// let scheme = SegmentScheme::new(
///     3,
///     vec![
///         SegmentRule::new("best", 3..=3, 3..=3, 3..=3),
///         SegmentRule::new("recent", 3..=3, 1..=3, 1..=3),
///     ],
///     "rest",
///     Precedence::FirstMatch,
/// )?;
/// assert_eq!(scheme.segment_name(RfmCell { r: 3, f: 3, m: 3 })?, "best");
/// assert_eq!(scheme.segment_name(RfmCell { r: 3, f: 1, m: 2 })?, "recent");
/// assert_eq!(scheme.segment_name(RfmCell { r: 1, f: 1, m: 1 })?, "rest");
/// assert_eq!(scheme.coverage().gaps.len(), 27 - 9);
/// assert_eq!(scheme.coverage().overlaps.len(), 1);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SchemeRecord", into = "SchemeRecord")]
pub struct SegmentScheme {
    scores: u8,
    rules: Vec<SegmentRule>,
    fallback: String,
    precedence: Precedence,
    names: Vec<String>,
    /// Segment of every cell, indexed by `((r − 1)·n + f − 1)·n + m − 1`.
    lookup: Vec<SegmentId>,
    coverage: Coverage,
}

#[derive(Serialize, Deserialize)]
struct SchemeRecord {
    scores: u8,
    rules: Vec<SegmentRule>,
    fallback: String,
    precedence: Precedence,
}

impl TryFrom<SchemeRecord> for SegmentScheme {
    type Error = Error;
    fn try_from(r: SchemeRecord) -> Result<Self> {
        SegmentScheme::new(r.scores, r.rules, r.fallback, r.precedence)
    }
}

impl From<SegmentScheme> for SchemeRecord {
    fn from(s: SegmentScheme) -> Self {
        SchemeRecord {
            scores: s.scores,
            rules: s.rules,
            fallback: s.fallback,
            precedence: s.precedence,
        }
    }
}

impl SegmentScheme {
    /// A scheme for scores 1..=`scores` from ordered rules and a fallback segment name.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `scores` is outside 2..=10, a rule has an empty name,
    /// or a range is empty or leaves 1..=`scores`; also when the fallback name is empty.
    pub fn new(
        scores: u8,
        rules: Vec<SegmentRule>,
        fallback: impl Into<String>,
        precedence: Precedence,
    ) -> Result<Self> {
        let fallback = fallback.into();
        if !(2..=MAX_SCORES).contains(&scores) {
            return Err(Error::InvalidParameter {
                name: "scores",
                value: scores.to_string(),
                reason: format!("between 2 and {MAX_SCORES}"),
            });
        }
        if fallback.is_empty() {
            return Err(Error::InvalidParameter {
                name: "fallback",
                value: String::new(),
                reason: "a segment name must not be empty".into(),
            });
        }
        for (i, rule) in rules.iter().enumerate() {
            let bad = |reason: String| {
                Err(Error::InvalidParameter {
                    name: "rules",
                    value: format!("rule {i} ({:?})", rule.name),
                    reason,
                })
            };
            if rule.name.is_empty() {
                return bad("a segment name must not be empty".into());
            }
            for (dim, r) in [
                ("recency", &rule.recency),
                ("frequency", &rule.frequency),
                ("monetary", &rule.monetary),
            ] {
                if r.is_empty() || *r.start() < 1 || *r.end() > scores {
                    return bad(format!(
                        "{dim} range {}..={} must be non-empty and within 1..={scores}",
                        r.start(),
                        r.end()
                    ));
                }
            }
        }
        // Segment ids are u16: more rules than that could name (with the fallback) would
        // give segments the wrong names.
        if rules.len() >= SegmentId::MAX as usize {
            return Err(Error::InvalidParameter {
                name: "rules",
                value: rules.len().to_string(),
                reason: format!("at most {} rules", SegmentId::MAX - 1),
            });
        }
        let mut names: Vec<String> = Vec::new();
        let mut id_of = |name: &str| -> SegmentId {
            match names.iter().position(|n| n == name) {
                Some(i) => i as SegmentId,
                None => {
                    names.push(name.to_string());
                    (names.len() - 1) as SegmentId
                }
            }
        };
        let rule_ids: Vec<SegmentId> = rules.iter().map(|r| id_of(&r.name)).collect();
        let fallback_id = id_of(&fallback);
        let n = scores;
        let mut lookup = Vec::with_capacity((n as usize).pow(3));
        let mut coverage = Coverage::default();
        let mut wins = vec![0usize; rules.len()];
        for r in 1..=n {
            for f in 1..=n {
                for m in 1..=n {
                    let cell = RfmCell { r, f, m };
                    let matching: Vec<usize> = (0..rules.len())
                        .filter(|&i| rules[i].matches(cell))
                        .collect();
                    let winner = match precedence {
                        Precedence::FirstMatch => matching.first(),
                        Precedence::LastMatch => matching.last(),
                    };
                    match winner {
                        Some(&i) => {
                            wins[i] += 1;
                            lookup.push(rule_ids[i]);
                        }
                        None => {
                            coverage.gaps.push(cell);
                            lookup.push(fallback_id);
                        }
                    }
                    if matching.len() > 1 {
                        coverage.overlaps.push((cell, matching));
                    }
                }
            }
        }
        coverage.unreachable_rules = (0..rules.len()).filter(|&i| wins[i] == 0).collect();
        Ok(SegmentScheme {
            scores,
            rules,
            fallback,
            precedence,
            names,
            lookup,
            coverage,
        })
    }

    /// Like [`SegmentScheme::new`], but a table with gaps, overlaps or unreachable rules is an
    /// error: for rule sets meant to partition the cells exactly.
    ///
    /// # Errors
    /// As [`SegmentScheme::new`], and [`Error::InvalidParameter`] describing the first gap,
    /// overlap or unreachable rule.
    pub fn strict(
        scores: u8,
        rules: Vec<SegmentRule>,
        fallback: impl Into<String>,
    ) -> Result<Self> {
        let s = SegmentScheme::new(scores, rules, fallback, Precedence::FirstMatch)?;
        let c = &s.coverage;
        let problem = if let Some(g) = c.gaps.first() {
            Some(format!(
                "{} cells match no rule, e.g. {}",
                c.gaps.len(),
                g.code()
            ))
        } else if let Some((cell, rules)) = c.overlaps.first() {
            Some(format!(
                "{} cells match several rules, e.g. {} matches rules {rules:?}",
                c.overlaps.len(),
                cell.code()
            ))
        } else {
            c.unreachable_rules
                .first()
                .map(|i| format!("rule {i} ({}) matches no cell", s.rules[*i].name))
        };
        match problem {
            Some(reason) => Err(Error::InvalidParameter {
                name: "rules",
                value: format!("{} rules", s.rules.len()),
                reason,
            }),
            None => Ok(s),
        }
    }

    /// The five tiers of our domain documents, for scores 1..=`scores`.
    ///
    /// With "top" meaning a score above 60% of the scale (4–5 of 5) and "bottom" a score up to
    /// 40% of it (1–2 of 5), in this order, first match winning:
    ///
    /// | tier | R | F | M | why |
    /// |---|---|---|---|---|
    /// | Gold | top | top | top | the best customers on every count |
    /// | Value | top | top | not top | the loyal, active core whose spend can still grow |
    /// | Growth | top | not top | top | recent big spenders who do not buy often yet |
    /// | Lost | 1 | 1 | bottom | long ago, no repeat purchase, little money: the lowest corner |
    /// | Dormant | bottom | not top | not top | long ago, infrequent, modest spend, not yet lost |
    /// | Other | — | — | — | everything else: new one-time buyers, middling recency, … |
    ///
    /// Lost is tested before Dormant because its cells are a subset of Dormant's. Gold, Value
    /// and Growth are disjoint by construction.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless 2 ≤ `scores` ≤ 10.
    pub fn five_tiers(scores: u8) -> Result<Self> {
        let n = scores as u32;
        // top: s > 0.6 n; bottom: s ≤ 0.4 n (integer arithmetic, exact).
        let top = (3 * n / 5 + 1).min(n) as u8;
        let bottom = ((2 * n / 5) as u8).max(1);
        let below_top = top.saturating_sub(1).max(1);
        let rules = vec![
            SegmentRule::new("Gold", top..=scores, top..=scores, top..=scores),
            SegmentRule::new("Value", top..=scores, top..=scores, 1..=below_top),
            SegmentRule::new("Growth", top..=scores, 1..=below_top, top..=scores),
            SegmentRule::new("Lost", 1..=1, 1..=1, 1..=bottom),
            SegmentRule::new("Dormant", 1..=bottom, 1..=below_top, 1..=below_top),
        ];
        SegmentScheme::new(scores, rules, "Other", Precedence::FirstMatch)
    }

    /// The ten segments of the R package `rfm` (version 0.3, `rfm_segment`'s documented
    /// example), on 5-point scores, with its semantics: ranges inclusive (`dplyr::between`),
    /// rules applied in order and a customer keeps the first segment they match (the
    /// `!segment %in% segment_names` guard added in 0.2.2), everyone else "Others".
    pub fn rfm_package() -> Self {
        let rules = vec![
            SegmentRule::new("Champions", 5..=5, 5..=5, 5..=5),
            SegmentRule::new("Potential Loyalist", 3..=5, 3..=5, 2..=5),
            SegmentRule::new("Loyal Customers", 2..=4, 2..=4, 2..=4),
            SegmentRule::new("Promising", 3..=4, 1..=3, 3..=5),
            SegmentRule::new("New Customers", 4..=5, 1..=3, 1..=5),
            SegmentRule::new("Can't Lose Them", 1..=2, 3..=4, 4..=5),
            SegmentRule::new("At Risk", 1..=2, 2..=5, 4..=5),
            SegmentRule::new("Need Attention", 1..=3, 3..=5, 3..=5),
            SegmentRule::new("About To Sleep", 2..=3, 1..=3, 1..=4),
            SegmentRule::new("Lost", 1..=1, 1..=5, 1..=5),
        ];
        // Constant rules with non-empty names and ranges inside 1..=5: `new` cannot reject
        // them (a unit test builds this scheme).
        SegmentScheme::new(5, rules, "Others", Precedence::FirstMatch)
            .expect("the rfm package's rules are valid")
    }

    /// The score scale the scheme is defined on.
    pub fn scores(&self) -> u8 {
        self.scores
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[SegmentRule] {
        &self.rules
    }

    /// The fallback segment's name.
    pub fn fallback(&self) -> &str {
        &self.fallback
    }

    /// Which rule wins on overlaps.
    pub fn precedence(&self) -> Precedence {
        self.precedence
    }

    /// Distinct segment names: rules' names in order of first appearance, then the fallback
    /// (unless a rule already has its name). [`SegmentId`]s index this list.
    pub fn segment_names(&self) -> &[String] {
        &self.names
    }

    /// Gaps, overlaps and unreachable rules of the table.
    pub fn coverage(&self) -> &Coverage {
        &self.coverage
    }

    /// The segment of a cell.
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] (column "cell") when a score is outside 1..=`scores`.
    pub fn segment_of(&self, c: RfmCell) -> Result<SegmentId> {
        let n = self.scores;
        if [c.r, c.f, c.m].iter().any(|s| !(1..=n).contains(s)) {
            return Err(Error::InvalidRecord {
                at: Position::in_column("cell"),
                reason: format!(
                    "{}: scores must be within 1..={n} for this scheme",
                    c.code()
                ),
            });
        }
        let n = n as usize;
        let i = ((c.r as usize - 1) * n + c.f as usize - 1) * n + c.m as usize - 1;
        Ok(self.lookup[i])
    }

    /// The segment name of a cell.
    ///
    /// # Errors
    /// As [`SegmentScheme::segment_of`].
    pub fn segment_name(&self, c: RfmCell) -> Result<&str> {
        Ok(&self.names[self.segment_of(c)? as usize])
    }

    /// The segment of every score, in order.
    ///
    /// # Errors
    /// As [`SegmentScheme::segment_of`], for the first score out of range (scores from a
    /// model with more levels than the scheme).
    pub fn assign(&self, scores: &[RfmScore]) -> Result<Vec<SegmentId>> {
        // In parallel, marking a score out of range with an id no scheme has (segment ids are
        // below `SegmentId::MAX`); the first such score, in order, gives the error.
        let ids: Vec<SegmentId> = scores
            .par_iter()
            .map(|s| self.segment_of(s.cell).unwrap_or(SegmentId::MAX))
            .collect();
        if let Some(i) = ids.par_iter().position_first(|&id| id == SegmentId::MAX) {
            self.segment_of(scores[i].cell)?;
        }
        Ok(ids)
    }

    /// Per segment: customers, share, mean values and scores, revenue and revenue share.
    /// Segments without customers are listed with a count of zero.
    ///
    /// # Errors
    /// As [`SegmentScheme::assign`]; [`Error::NonFinite`] / [`Error::InvalidRecord`] for a
    /// score (built by hand) with a value or revenue that is not finite, or negative;
    /// [`Error::InvalidRecord`] (column "revenue") for revenues that sum to infinity.
    pub fn summarise(&self, scores: &[RfmScore]) -> Result<SegmentSummary> {
        let ids = self.assign(scores)?;
        for (row, sc) in scores.iter().enumerate() {
            for (field, v) in [
                ("recency_days", sc.values.recency_days),
                ("frequency", sc.values.frequency),
                ("monetary", sc.values.monetary),
                ("revenue", sc.revenue),
            ] {
                if !v.is_finite() {
                    return Err(Error::NonFinite {
                        at: Position::at_row(row)
                            .with_customer(sc.customer_id.to_string())
                            .with_column(field),
                        value: v,
                    });
                }
                if v < 0.0 {
                    return Err(Error::InvalidRecord {
                        at: Position::at_row(row)
                            .with_customer(&sc.customer_id)
                            .with_column(field),
                        reason: format!("{v} must not be negative"),
                    });
                }
            }
        }
        let k = self.names.len();
        let mut acc = vec![[0.0f64; 7]; k];
        let mut counts = vec![0usize; k];
        for (s, &id) in scores.iter().zip(&ids) {
            let a = &mut acc[id as usize];
            counts[id as usize] += 1;
            a[0] += s.values.recency_days;
            a[1] += s.values.frequency;
            a[2] += s.values.monetary;
            a[3] += s.cell.r as f64;
            a[4] += s.cell.f as f64;
            a[5] += s.cell.m as f64;
            a[6] += s.revenue;
        }
        let total_revenue: f64 = acc.iter().map(|a| a[6]).sum();
        if !total_revenue.is_finite() {
            return Err(Error::InvalidRecord {
                at: Position::in_column("revenue"),
                reason: format!("the revenues sum to {total_revenue}, not a finite number"),
            });
        }
        let n = scores.len();
        let rows = (0..k)
            .map(|i| {
                let c = counts[i];
                let mean = |j: usize| (c > 0).then(|| acc[i][j] / c as f64);
                SegmentRow {
                    segment: self.names[i].clone(),
                    customers: c,
                    share: if n > 0 { c as f64 / n as f64 } else { 0.0 },
                    mean_recency_days: mean(0),
                    mean_frequency: mean(1),
                    mean_monetary: mean(2),
                    mean_r: mean(3),
                    mean_f: mean(4),
                    mean_m: mean(5),
                    revenue: acc[i][6],
                    revenue_share: if total_revenue > 0.0 {
                        acc[i][6] / total_revenue
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        Ok(SegmentSummary { rows })
    }
}

/// One segment's line in a [`SegmentSummary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentRow {
    /// Segment name.
    pub segment: String,
    /// Customers in the segment.
    pub customers: usize,
    /// Share of all customers.
    pub share: f64,
    /// Mean days since the last purchase (`None` for an empty segment).
    pub mean_recency_days: Option<f64>,
    /// Mean frequency.
    pub mean_frequency: Option<f64>,
    /// Mean monetary value.
    pub mean_monetary: Option<f64>,
    /// Mean recency score.
    pub mean_r: Option<f64>,
    /// Mean frequency score.
    pub mean_f: Option<f64>,
    /// Mean monetary score.
    pub mean_m: Option<f64>,
    /// Total spend of the segment's customers.
    pub revenue: f64,
    /// Share of all customers' total spend.
    pub revenue_share: f64,
}

/// Per-segment statistics of a scored customer base, in the scheme's segment order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentSummary {
    /// One row per segment.
    pub rows: Vec<SegmentRow>,
}

/// How many customers got each score, per dimension (index 0 is score 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreCounts {
    /// Recency score counts.
    pub recency: Vec<usize>,
    /// Frequency score counts.
    pub frequency: Vec<usize>,
    /// Monetary score counts.
    pub monetary: Vec<usize>,
    /// Scores outside 1..=levels (from a model with more levels, or built by hand), counted
    /// here rather than dropped unseen; one per dimension and customer.
    #[serde(default)]
    pub out_of_range: usize,
}

impl ScoreCounts {
    /// Counts the scores of a batch on a 1..=`levels` scale; scores outside it are counted
    /// in `out_of_range`.
    pub fn of(scores: &[RfmScore], levels: u8) -> Self {
        let mut c = ScoreCounts {
            recency: vec![0; levels as usize],
            frequency: vec![0; levels as usize],
            monetary: vec![0; levels as usize],
            out_of_range: 0,
        };
        let mut outside = 0;
        for s in scores {
            for (v, x) in [
                (&mut c.recency, s.cell.r),
                (&mut c.frequency, s.cell.f),
                (&mut c.monetary, s.cell.m),
            ] {
                match (x as usize).checked_sub(1).and_then(|i| v.get_mut(i)) {
                    Some(slot) => *slot += 1,
                    None => outside += 1,
                }
            }
        }
        c.out_of_range = outside;
        c
    }

    /// Scores no customer received, per dimension ("R", "F", "M"), e.g. the frequency scores
    /// skipped when most customers bought once.
    pub fn empty_scores(&self) -> Vec<(&'static str, u8)> {
        [
            ("R", &self.recency),
            ("F", &self.frequency),
            ("M", &self.monetary),
        ]
        .into_iter()
        .flat_map(|(d, v)| {
            v.iter()
                .enumerate()
                .filter(|(_, c)| **c == 0)
                .map(move |(i, _)| (d, i as u8 + 1))
        })
        .collect()
    }
}
