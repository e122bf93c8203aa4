//! Segment migration between two snapshots, and the stability of a segmentation across
//! seeds and bootstrap samples.

use std::collections::HashMap;

use ndarray::{ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Aggregate, Column, Report, ReportRow};
use crate::data::CustomerId;
use crate::error::{Error, Position, Result};
use crate::segment::{Clusterer, Clustering, Points, adjusted_rand_index};

/// How customers moved between two segmentations of the same base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Migration {
    /// Segment names before.
    pub before: Vec<String>,
    /// Segment names after.
    pub after: Vec<String>,
    /// Customers in both snapshots: `counts[i][j]` moved from before-segment i to
    /// after-segment j. The last row and column stand for "no segment" (DBSCAN noise, too
    /// few survey answers …).
    pub counts: Vec<Vec<usize>>,
    /// Customers only in the second snapshot, per after-segment (last: no segment).
    pub new_customers: Vec<usize>,
    /// Customers only in the first snapshot, per before-segment (last: no segment).
    pub vanished: Vec<usize>,
}

/// Migration between two snapshots of (customer, segment) assignments.
///
/// ```
/// use custseg::report::migration;
/// let names = vec!["gold".to_string(), "silver".to_string()];
/// let before = [("a".into(), Some(0)), ("b".into(), Some(1)), ("c".into(), Some(1))];
/// let after = [("a".into(), Some(1)), ("b".into(), Some(1)), ("d".into(), Some(0))];
/// let m = migration(&before, &names, &after, &names)?;
/// assert_eq!(m.counts[0][1], 1); // a: gold → silver
/// assert_eq!(m.rate(1, 1), Some(1.0)); // every silver customer still there stayed silver
/// assert_eq!(m.vanished[1], 1); // c
/// assert_eq!(m.new_customers[0], 1); // d
/// let (up, down, same) = m.moves(&["gold", "silver"])?;
/// assert_eq!((up, down, same), (0, 1, 1));
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// [`Error::DuplicateCustomer`] for an id twice in a snapshot; [`Error::InvalidParameter`]
/// for a segment number without a name.
pub fn migration(
    before: &[(CustomerId, Option<usize>)],
    before_names: &[String],
    after: &[(CustomerId, Option<usize>)],
    after_names: &[String],
) -> Result<Migration> {
    let index = |snap: &[(CustomerId, Option<usize>)],
                 names: &[String],
                 what: &'static str|
     -> Result<HashMap<CustomerId, usize>> {
        let mut map = HashMap::with_capacity(snap.len());
        for (id, s) in snap {
            if s.is_some_and(|s| s >= names.len()) {
                return Err(Error::InvalidRecord {
                    at: Position::of_customer(id).with_column("segment"),
                    reason: format!(
                        "segment {s:?} has no name (0..{}) in the {what} snapshot",
                        names.len()
                    ),
                });
            }
            if map.insert(id.clone(), s.unwrap_or(names.len())).is_some() {
                return Err(Error::DuplicateCustomer {
                    at: Position::of_customer(id.to_string()),
                    what,
                });
            }
        }
        Ok(map)
    };
    let b = index(before, before_names, "first")?;
    let a = index(after, after_names, "second")?;
    let mut counts = vec![vec![0usize; after_names.len() + 1]; before_names.len() + 1];
    let mut vanished = vec![0usize; before_names.len() + 1];
    let mut new_customers = vec![0usize; after_names.len() + 1];
    for (id, &i) in &b {
        match a.get(id) {
            Some(&j) => counts[i][j] += 1,
            None => vanished[i] += 1,
        }
    }
    for (id, &j) in &a {
        if !b.contains_key(id) {
            new_customers[j] += 1;
        }
    }
    Ok(Migration {
        before: before_names.to_vec(),
        after: after_names.to_vec(),
        counts,
        new_customers,
        vanished,
    })
}

impl Migration {
    /// Share of the customers of before-segment `i` (still present) now in after-segment
    /// `j`; `None` when before-segment i kept nobody.
    pub fn rate(&self, i: usize, j: usize) -> Option<f64> {
        let row = self.counts.get(i)?;
        let total = row.iter().fold(0usize, |a, &c| a.saturating_add(c));
        (total > 0).then(|| *row.get(j).unwrap_or(&0) as f64 / total as f64)
    }

    /// Customers who moved up, down, or stayed, given the segments from best to worst (the
    /// same names in both snapshots; customers without a segment, or in segments not in
    /// the order, are not counted).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a name in the order that is in neither snapshot.
    pub fn moves(&self, order: &[&str]) -> Result<(usize, usize, usize)> {
        let rank = |names: &[String]| -> Vec<Option<usize>> {
            names
                .iter()
                .map(|n| order.iter().position(|o| o == n))
                .collect()
        };
        if let Some(o) = order
            .iter()
            .find(|o| !self.before.iter().chain(&self.after).any(|n| n == *o))
        {
            return Err(Error::InvalidParameter {
                name: "order",
                value: o.to_string(),
                reason: "a segment name of the snapshots".into(),
            });
        }
        let (rb, ra) = (rank(&self.before), rank(&self.after));
        let (mut up, mut down, mut same) = (0, 0, 0);
        for (i, row) in self.counts.iter().enumerate().take(self.before.len()) {
            for (j, &c) in row.iter().enumerate().take(self.after.len()) {
                match (rb[i], ra[j]) {
                    (Some(x), Some(y)) if y < x => up += c,
                    (Some(x), Some(y)) if y > x => down += c,
                    (Some(_), Some(_)) => same += c,
                    _ => {}
                }
            }
        }
        Ok((up, down, same))
    }

    /// The transitions as a report: one row per (before → after) pair with customers, and
    /// its rate within the before-segment; new and vanished customers as rows of their own.
    /// Guard it with [`Report::guarded`] before showing it.
    pub fn report(&self, title: &str) -> Report {
        let name = |names: &[String], i: usize| {
            names
                .get(i)
                .cloned()
                .unwrap_or_else(|| "(no segment)".into())
        };
        let mut rows = Vec::new();
        for (i, row) in self.counts.iter().enumerate() {
            for (j, &c) in row.iter().enumerate() {
                if c > 0 {
                    rows.push(ReportRow {
                        label: format!("{} → {}", name(&self.before, i), name(&self.after, j)),
                        customers: c,
                        values: vec![self.rate(i, j).map(|r| 100.0 * r)],
                    });
                }
            }
        }
        for (j, &c) in self.new_customers.iter().enumerate() {
            if c > 0 {
                rows.push(ReportRow {
                    label: format!("(new) → {}", name(&self.after, j)),
                    customers: c,
                    values: vec![None],
                });
            }
        }
        for (i, &c) in self.vanished.iter().enumerate() {
            if c > 0 {
                rows.push(ReportRow {
                    label: format!("{} → (gone)", name(&self.before, i)),
                    customers: c,
                    values: vec![None],
                });
            }
        }
        Report::new(
            title,
            vec![Column::new("% of segment", Aggregate::Mean, 1)],
            rows,
        )
    }
}

/// How stable a segmentation is: the adjusted Rand index between refits with other seeds,
/// and per segment the mean Jaccard similarity to its best match when refitted on bootstrap
/// samples (Hennig 2007; a segment below 0.5 is dissolving, above 0.75 stable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stability {
    /// ARI of each refit with another seed against the reference fit.
    pub seed_ari: Vec<f64>,
    /// ARI of each bootstrap refit against the reference (all points assigned by the refit).
    pub bootstrap_ari: Vec<f64>,
    /// Per reference segment, the mean over bootstraps of the best Jaccard similarity (empty
    /// without bootstraps).
    pub jaccard: Vec<f64>,
}

/// Most refits one stability check may run.
const MAX_REFITS: usize = 100_000;

/// How many refits a stability check runs: with other seeds, and on bootstrap samples drawn
/// with a master seed. Checked when built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RefitsRecord")]
pub struct Refits {
    seeds: usize,
    bootstraps: usize,
    seed: u64,
}

/// The serde shape of [`Refits`], checked by [`Refits::new`] before it becomes one.
#[derive(Deserialize)]
struct RefitsRecord {
    seeds: usize,
    bootstraps: usize,
    seed: u64,
}

impl TryFrom<RefitsRecord> for Refits {
    type Error = Error;
    fn try_from(r: RefitsRecord) -> Result<Self> {
        Refits::new(r.seeds, r.bootstraps, r.seed)
    }
}

impl Refits {
    /// `seeds` refits with seeds `seed + 1`, `seed + 2` …, and `bootstraps` refits on bootstrap
    /// samples drawn from `seed`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for no refit at all, or more than 100,000.
    pub fn new(seeds: usize, bootstraps: usize, seed: u64) -> Result<Self> {
        match seeds.checked_add(bootstraps) {
            Some(total) if (1..=MAX_REFITS).contains(&total) => Ok(Refits {
                seeds,
                bootstraps,
                seed,
            }),
            _ => Err(Error::InvalidParameter {
                name: "refits",
                value: format!("{seeds} seeds + {bootstraps} bootstraps"),
                reason: format!("between 1 and {MAX_REFITS} refits"),
            }),
        }
    }
}

/// Refits a clusterer with other seeds and on bootstrap samples (in parallel; seeded, so the
/// same at any thread count) and compares with the reference fit. Points without a segment
/// (DBSCAN noise) count as a group of their own. Any [`Clusterer`] works.
///
/// ```
/// use custseg::datasets::{BlobsConfig, blobs};
/// use custseg::report::{Refits, stability};
/// use custseg::segment::{KMeansParams, Points};
/// let b = blobs(&BlobsConfig::new(300, 2, 3).with_spread(0.3).with_seed(1))?;
/// let s = stability(Points::numeric(b.data.view()), &KMeansParams::new(3)?, &Refits::new(2, 4, 9)?)?;
/// assert!(s.jaccard.iter().all(|&j| j > 0.9)); // well-separated blobs: every segment stable
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// The clusterer's errors.
pub fn stability<C: Clusterer>(
    points: Points<'_>,
    clusterer: &C,
    refits: &Refits,
) -> Result<Stability> {
    let (numeric, categorical) = (points.numeric_columns(), points.categorical_columns());
    let Refits {
        seeds,
        bootstraps,
        seed,
    } = *refits;
    let n = numeric.nrows();
    let (reference, ref_report) = clusterer.fit(&points)?;
    let ref_labels = ref_report.labels;
    let flat = |l: &[Option<usize>], k: usize| -> Vec<usize> {
        l.iter().map(|x| x.unwrap_or(k)).collect()
    };
    let k_ref = reference.segments();
    let truth = flat(&ref_labels, k_ref);
    let seed_ari = (1..=seeds as u64)
        .into_par_iter()
        .map(|s| {
            let (c, r) = clusterer.reseeded(seed.wrapping_add(s)).fit(&points)?;
            adjusted_rand_index(&truth, &flat(&r.labels, c.segments()))
        })
        .collect::<Result<Vec<f64>>>()?;
    let boots: Vec<(f64, Vec<f64>)> = (0..bootstraps as u64)
        .into_par_iter()
        .map(|b| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(
                seed ^ (b + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let idx: Vec<usize> = (0..n).map(|_| rng.gen_range(0..n)).collect();
            let num = numeric.select(Axis(0), &idx);
            let cat = if categorical.ncols() > 0 {
                categorical.select(Axis(0), &idx)
            } else {
                categorical.to_owned()
            };
            let (c, _) = clusterer.fit(&Points::mixed(num.view(), cat.view()))?;
            let labels = assign_all(&c, numeric, categorical)?;
            let k = c.segments();
            let l = flat(&labels, k);
            let ari = adjusted_rand_index(&truth, &l)?;
            let jac = (0..k_ref)
                .map(|s| best_jaccard(&truth, s, &l, k + 1))
                .collect();
            Ok((ari, jac))
        })
        .collect::<Result<_>>()?;
    // Without bootstraps there is nothing to average: no entry rather than a NaN.
    let jaccard = if boots.is_empty() {
        Vec::new()
    } else {
        (0..k_ref)
            .map(|s| boots.iter().map(|b| b.1[s]).sum::<f64>() / boots.len() as f64)
            .collect()
    };
    Ok(Stability {
        seed_ari,
        bootstrap_ari: boots.iter().map(|b| b.0).collect(),
        jaccard,
    })
}

fn assign_all(
    c: &Clustering,
    numeric: ArrayView2<'_, f64>,
    categorical: ArrayView2<'_, u32>,
) -> Result<Vec<Option<usize>>> {
    c.assign_batch(numeric, categorical)
}

/// Largest Jaccard similarity between reference segment `s` and any segment of `other`.
fn best_jaccard(reference: &[usize], s: usize, other: &[usize], k_other: usize) -> f64 {
    let size_s = reference.iter().filter(|&&r| r == s).count();
    let mut inter = vec![0usize; k_other];
    let mut size_o = vec![0usize; k_other];
    for (&r, &o) in reference.iter().zip(other) {
        size_o[o] += 1;
        if r == s {
            inter[o] += 1;
        }
    }
    (0..k_other)
        .map(|o| {
            let union = size_s + size_o[o] - inter[o];
            if union == 0 {
                0.0
            } else {
                inter[o] as f64 / union as f64
            }
        })
        .fold(0.0, f64::max)
}
