//! Reports: segment KPIs and campaign ROI, migration between snapshots, stability of a
//! segmentation, drift from the fitting snapshot, customer and segment portraits, and the
//! privacy guards every report passes through.
//!
//! A [`Report`] is a titled table — one row per segment (or transition), the number of
//! customers it describes, and numeric columns — that serializes with serde (JSON-ready) and
//! prints as an aligned text table. [`Report::guarded`] applies a [`KAnonymity`] floor: no
//! row describing fewer than k customers survives, and the report says how many rows and
//! customers were suppressed or merged.

mod drift;
mod kpi;
mod migration;
mod portrait;
mod privacy;

pub use drift::{DriftLevel, DriftParams, DriftReport, FeatureDrift};
pub use kpi::{Campaign, CustomerMetrics, SegmentKpi, kpi_report, segment_kpis};
pub use migration::{Migration, Refits, Stability, migration, stability};
pub use portrait::{
    CustomerPortrait, LifecycleRules, LifecycleStage, Portraits, RfmPortrait, SegmentLayer,
    SegmentMembership, SegmentPortrait, SegmentPortraits, ValuePortrait, ValueTier, ValueTiers,
    segment_portraits,
};
pub use privacy::{KAnonymity, MERGED_LABEL, Pseudonymizer, SmallGroups};

use serde::{Deserialize, Serialize};

/// How a column combines when rows merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Aggregate {
    /// Totals and counts: added.
    Sum,
    /// Means and rates: averaged, weighted by the rows' customers.
    Mean,
    /// Shares of the whole, in percent: added when rows merge. When rows are suppressed
    /// they become shares of the rows shown (the shares of the whole would give away how
    /// many customers the suppressed rows hold: 100 minus what is shown).
    Share,
}

/// A report column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Column {
    /// Header.
    pub name: String,
    /// How it merges.
    pub aggregate: Aggregate,
    /// Decimals shown in the text table.
    pub decimals: usize,
}

impl Column {
    /// A column.
    pub fn new(name: &str, aggregate: Aggregate, decimals: usize) -> Self {
        Column {
            name: name.into(),
            aggregate,
            decimals,
        }
    }
}

/// A report row: a label, the customers it describes, one value per column (`None`: not
/// available, printed as "–"; JSON `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    /// Segment (or transition) label.
    pub label: String,
    /// Customers described.
    pub customers: usize,
    /// Values, in column order.
    pub values: Vec<Option<f64>>,
}

/// A titled table of segment rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Title.
    pub title: String,
    /// Columns after the label and customer count.
    pub columns: Vec<Column>,
    /// Rows.
    pub rows: Vec<ReportRow>,
    /// The k-anonymity floor applied, if any.
    pub k_anonymity: Option<KAnonymity>,
    /// Rows suppressed by the floor (each described fewer than k customers; how many is
    /// exactly what the floor hides, so no count of them is kept).
    pub suppressed_rows: usize,
    /// Rows pooled into the merged row (0 when nothing was merged).
    pub merged_rows: usize,
}

impl Report {
    /// A report without a privacy floor yet.
    pub fn new(title: &str, columns: Vec<Column>, rows: Vec<ReportRow>) -> Self {
        Report {
            title: title.into(),
            columns,
            rows,
            k_anonymity: None,
            suppressed_rows: 0,
            merged_rows: 0,
        }
    }

    /// The report with no row describing fewer than k customers: small rows suppressed, or
    /// merged into one [`MERGED_LABEL`] row (summing `Sum` columns, averaging `Mean`
    /// columns weighted by customers), which is itself suppressed if still below k.
    ///
    /// Nothing in the guarded report tells how many customers a suppressed row held: not
    /// the text, not the serialized form, and not the [`Aggregate::Share`] columns, which
    /// become shares of the rows shown. The floor protects this report on its own. Totals
    /// published elsewhere (a segment's size in another report) can reveal a suppressed row
    /// by subtraction; publish guarded reports whose totals do not overlap, or suppress more.
    ///
    /// ```
    /// use custseg::report::{Aggregate, Column, KAnonymity, Report, ReportRow, SmallGroups};
    /// let rows = [("big", 40), ("small", 3), ("tiny", 4)]
    ///     .iter()
    ///     .map(|(l, n)| ReportRow { label: l.to_string(), customers: *n, values: vec![Some(*n as f64 * 2.0)] })
    ///     .collect();
    /// let r = Report::new("spend", vec![Column::new("revenue", Aggregate::Sum, 0)], rows);
    /// let merged = r.clone().guarded(&KAnonymity::new(5, SmallGroups::Merge)?);
    /// assert_eq!(merged.rows.len(), 2); // "big" and the merged 7
    /// let suppressed = r.guarded(&KAnonymity::new(5, SmallGroups::Suppress)?);
    /// assert_eq!((suppressed.rows.len(), suppressed.suppressed_rows), (1, 2));
    /// # Ok::<(), custseg::Error>(())
    /// ```
    pub fn guarded(mut self, k: &KAnonymity) -> Report {
        let (keep, small): (Vec<ReportRow>, Vec<ReportRow>) =
            self.rows.into_iter().partition(|r| r.customers >= k.k());
        self.rows = keep;
        self.k_anonymity = Some(*k);
        // Saturating: counts come from callers and a report must print, not overflow.
        let small_customers = small
            .iter()
            .fold(0usize, |a, r| a.saturating_add(r.customers));
        if small.is_empty() {
            return self;
        }
        if k.small_groups() == SmallGroups::Merge && small_customers >= k.k() {
            let values = (0..self.columns.len())
                .map(|j| {
                    let known: Vec<(f64, f64)> = small
                        .iter()
                        .filter_map(|r| {
                            r.values
                                .get(j)
                                .copied()
                                .flatten()
                                .map(|v| (v, r.customers as f64))
                        })
                        .collect();
                    if known.is_empty() {
                        return None;
                    }
                    match self.columns[j].aggregate {
                        Aggregate::Sum | Aggregate::Share => Some(known.iter().map(|x| x.0).sum()),
                        Aggregate::Mean => {
                            let total: f64 = known.iter().map(|x| x.1).sum();
                            (total > 0.0)
                                .then(|| known.iter().map(|(v, n)| v * n).sum::<f64>() / total)
                        }
                    }
                })
                .collect();
            self.merged_rows = small.len();
            self.rows.push(ReportRow {
                label: MERGED_LABEL.into(),
                customers: small_customers,
                values,
            });
        } else {
            self.suppressed_rows = self.suppressed_rows.saturating_add(small.len());
            self.reshare();
        }
        self
    }

    /// Share columns as shares of the rows shown, so that 100 minus their sum no longer
    /// measures what was suppressed.
    fn reshare(&mut self) {
        for (j, c) in self.columns.iter().enumerate() {
            if c.aggregate != Aggregate::Share {
                continue;
            }
            let shown: f64 = self
                .rows
                .iter()
                .filter_map(|r| r.values.get(j).copied().flatten())
                .sum();
            for r in &mut self.rows {
                if let Some(v) = r.values.get_mut(j) {
                    *v = v.map(|v| 100.0 * v / shown).filter(|v| v.is_finite());
                }
            }
        }
    }
}

impl std::fmt::Display for Report {
    /// An aligned text table, with a footnote on the privacy floor.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // f64 has 17 significant digits; more decimals print noise (and a huge precision
        // is a formatting error).
        let cell = |v: Option<f64>, d: usize| {
            let d = d.min(17);
            v.map_or_else(|| "–".to_string(), |v| format!("{v:.d$}"))
        };
        let mut header = vec!["segment".to_string(), "customers".to_string()];
        header.extend(self.columns.iter().map(|c| c.name.clone()));
        let body: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                // One cell per column whatever the row holds: a short row (built by hand)
                // prints "–" for what it lacks rather than breaking the table.
                let mut line = vec![r.label.clone(), r.customers.to_string()];
                line.extend(
                    self.columns
                        .iter()
                        .enumerate()
                        .map(|(j, c)| cell(r.values.get(j).copied().flatten(), c.decimals)),
                );
                line
            })
            .collect();
        let widths: Vec<usize> = (0..header.len())
            .map(|j| {
                body.iter()
                    .map(|l| l[j].chars().count())
                    .chain([header[j].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        writeln!(f, "{}", self.title)?;
        let line = |f: &mut std::fmt::Formatter<'_>, l: &[String]| -> std::fmt::Result {
            for (j, s) in l.iter().enumerate() {
                let pad = widths[j] - s.chars().count();
                if j == 0 {
                    write!(f, "{s}{}", " ".repeat(pad))?;
                } else {
                    write!(f, "  {}{s}", " ".repeat(pad))?;
                }
            }
            writeln!(f)
        };
        line(f, &header)?;
        for l in &body {
            line(f, l)?;
        }
        if let Some(k) = self.k_anonymity {
            if self.suppressed_rows > 0 {
                let plural = |n: usize, one: &'static str, many: &'static str| {
                    if n == 1 { one } else { many }
                };
                let shares = self.columns.iter().any(|c| c.aggregate == Aggregate::Share);
                writeln!(
                    f,
                    "({} {} with fewer than {} customers each suppressed{})",
                    self.suppressed_rows,
                    plural(self.suppressed_rows, "row", "rows"),
                    k.k(),
                    if shares {
                        "; shares are of the rows shown"
                    } else {
                        ""
                    },
                )?;
            }
            if self.merged_rows > 0 {
                writeln!(
                    f,
                    "({} rows with fewer than {} customers merged)",
                    self.merged_rows,
                    k.k()
                )?;
            }
        }
        Ok(())
    }
}

/// An RFM segment table as a report, to guard and print like any other. Empty segments are
/// left out; the rows keep the scheme's order.
impl From<&crate::rfm::SegmentSummary> for Report {
    fn from(t: &crate::rfm::SegmentSummary) -> Self {
        let columns = vec![
            Column::new("share %", Aggregate::Share, 1),
            Column::new("revenue %", Aggregate::Share, 1),
            Column::new("days since", Aggregate::Mean, 0),
            Column::new("purchases", Aggregate::Mean, 2),
            Column::new("spend", Aggregate::Mean, 2),
        ];
        let rows = t
            .rows
            .iter()
            .filter(|r| r.customers > 0)
            .map(|r| ReportRow {
                label: r.segment.clone(),
                customers: r.customers,
                values: vec![
                    Some(100.0 * r.share),
                    Some(100.0 * r.revenue_share),
                    r.mean_recency_days,
                    r.mean_frequency,
                    r.mean_monetary,
                ],
            })
            .collect();
        Report::new("RFM segments", columns, rows)
    }
}

/// Segment profiles as a report: share and the segment mean of every feature. Columns are
/// the features in order of first appearance; a profile without one shows "–" there.
impl From<&[crate::segment::SegmentProfile]> for Report {
    fn from(profiles: &[crate::segment::SegmentProfile]) -> Self {
        let mut features: Vec<&str> = Vec::new();
        for f in profiles.iter().flat_map(|p| &p.features) {
            if !features.contains(&f.feature.as_str()) {
                features.push(&f.feature);
            }
        }
        let columns = std::iter::once(Column::new("share %", Aggregate::Share, 1))
            .chain(features.iter().map(|f| Column::new(f, Aggregate::Mean, 2)))
            .collect();
        let rows = profiles
            .iter()
            .map(|p| ReportRow {
                label: p.name.clone(),
                customers: p.size,
                values: std::iter::once(Some(100.0 * p.share))
                    .chain(features.iter().map(|name| {
                        p.features
                            .iter()
                            .find(|f| f.feature == *name)
                            .map(|f| f.mean)
                    }))
                    .collect(),
            })
            .collect();
        Report::new("Segment profiles", columns, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::KAnonymity;
    use crate::segment::{Vocabulary, profiles};
    use ndarray::Array2;

    /// Profiles: one column per feature after the share, segment means as values (the
    /// profile builder is internal, so this lives here rather than in the integration tests).
    #[test]
    fn profiles_become_one_row_per_segment() {
        // Profiles: one column per feature after the share, segment means as values.
        let x = Array2::from_shape_fn((12, 2), |(i, j)| {
            (i % 3) as f64 * 10.0 + j as f64 + i as f64 * 0.01
        });
        let labels: Vec<Option<usize>> = (0..12).map(|i| Some(i % 3)).collect();
        let names = vec!["a".to_string(), "b".to_string()];
        let vocab = vec![
            Vocabulary::new("high a", "low a"),
            Vocabulary::new("high b", "low b"),
        ];
        let p = profiles(x.view(), &names, &vocab, &labels, 3).unwrap();
        let report = Report::from(&p[..]);
        let headers: Vec<&str> = report.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(headers, ["share %", "a", "b"]);
        for (row, s) in report.rows.iter().zip(0..3) {
            let mean_a: f64 = (0..12)
                .filter(|i| i % 3 == s)
                .map(|i| x[[i, 0]])
                .sum::<f64>()
                / 4.0;
            assert_eq!(row.customers, 4);
            assert!((row.values[0].unwrap() - 100.0 / 3.0).abs() < 1e-9);
            assert!((row.values[1].unwrap() - mean_a).abs() < 1e-12);
        }
        // Four customers a segment: the default floor of 10 leaves one merged row of 12.
        let guarded = report.guarded(&KAnonymity::default());
        assert_eq!(guarded.rows.len(), 1);
        assert_eq!((guarded.rows[0].customers, guarded.merged_rows), (12, 3));
    }
}
