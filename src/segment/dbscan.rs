//! DBSCAN: clusters are density-connected points within a radius; points in sparse regions
//! are noise and get no segment.
//!
//! A point is *core* when at least `min_points` points (itself included) lie within `eps` of
//! it; core points within `eps` of each other belong to the same cluster, and so, through
//! chains of them, do all core points that density connects. A non-core point within `eps`
//! of some core point is a *border* point of that cluster; the rest is noise. The clusters
//! are scikit-learn's exactly (a test compares label for label): distances ≤ `eps` count,
//! clusters are numbered in the order of their lowest-indexed core point, and a border point
//! reachable from several clusters joins the lowest-numbered one (what scikit-learn's
//! index-ordered expansion does; a fitted clustering assigns new points by the same rule).
//!
//! Ours runs in three parallel passes over a k-d tree: count each point's neighbours up to
//! `min_points` (an early stop, so dense regions cost little); join core points within `eps`
//! with a concurrent union–find that always links the larger root under the smaller, so the
//! roots, and therefore the cluster numbers, are the lowest core indices whatever the thread
//! count or timing; then give each border point the lowest cluster among its core neighbours.
//! No neighbourhood is stored, so memory stays linear in the points.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU32, Ordering};

use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::kdtree::{Hit, KdTree, sq_dist};
use crate::error::{Error, Result};

/// Settings of DBSCAN, checked when built: a finite radius `eps` > 0 (in the prepared feature
/// space) and `min_points` ≥ 2 (the points a neighbourhood needs to be dense, itself
/// included). Deserializing runs the same checks.
///
/// ```
/// use custseg::segment::DbscanParams;
/// let p = DbscanParams::new(0.3, 5)?;
/// assert_eq!((p.eps(), p.min_points()), (0.3, 5));
/// assert!(DbscanParams::new(0.0, 5).is_err());
/// assert!(DbscanParams::new(0.3, 1).is_err());
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DbscanRecord")]
pub struct DbscanParams {
    pub(crate) eps: f64,
    pub(crate) min_points: usize,
}

#[derive(Deserialize)]
struct DbscanRecord {
    eps: f64,
    min_points: usize,
}

impl TryFrom<DbscanRecord> for DbscanParams {
    type Error = Error;
    fn try_from(r: DbscanRecord) -> Result<Self> {
        DbscanParams::new(r.eps, r.min_points)
    }
}

impl DbscanParams {
    /// Radius `eps` and density threshold `min_points`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for `eps` not finite and > 0, or `min_points` < 2.
    pub fn new(eps: f64, min_points: usize) -> Result<Self> {
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::InvalidParameter {
                name: "eps",
                value: eps.to_string(),
                reason: "finite and > 0".into(),
            });
        }
        // A neighbourhood counts the point itself; one point alone is not a cluster.
        if min_points < 2 {
            return Err(Error::InvalidParameter {
                name: "min_points",
                value: min_points.to_string(),
                reason: "at least 2".into(),
            });
        }
        Ok(DbscanParams { eps, min_points })
    }

    /// Neighbourhood radius.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// Points a neighbourhood needs to be dense, itself included.
    pub fn min_points(&self) -> usize {
        self.min_points
    }
}

/// What a DBSCAN fit found: every point's cluster (`None`: noise) and the core points.
pub(crate) struct DbscanFit {
    pub labels: Vec<Option<usize>>,
    /// Core points' rows and clusters, in index order.
    pub core_points: Array2<f64>,
    pub core_labels: Vec<usize>,
}

/// DBSCAN over the rows of `data` (finite, bounded: the caller checked).
///
/// # Errors
/// [`Error::InvalidParameter`] when there are more than u32::MAX points (indices are u32).
pub(crate) fn dbscan(data: ArrayView2<'_, f64>, p: &DbscanParams) -> Result<DbscanFit> {
    let n = data.nrows();
    if n > u32::MAX as usize {
        return Err(Error::InvalidParameter {
            name: "points",
            value: n.to_string(),
            reason: format!("DBSCAN takes at most {} points", u32::MAX),
        });
    }
    let data = data.as_standard_layout();
    let d = data.ncols();
    let flat = data.as_slice().unwrap_or(&[]);
    let row = |i: usize| &flat[i * d..(i + 1) * d];
    let r2 = p.eps * p.eps;
    let tree = KdTree::new(flat, d);
    // 1. Core points: min_points neighbours, counting stops there.
    let core: Vec<bool> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut count = 0;
            tree.visit(row(i), r2, |hit| {
                count += match hit {
                    Hit::Point(_) => 1,
                    Hit::Node(points) => points.len(),
                };
                if count >= p.min_points {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            count >= p.min_points
        })
        .collect();
    let core_idx: Vec<usize> = (0..n).filter(|&i| core[i]).collect();
    let core_points = data.select(Axis(0), &core_idx);
    let core_flat = core_points.as_slice().unwrap_or(&[]);
    let core_tree = KdTree::new(core_flat, d);
    // 2. Clusters: core points within eps joined, larger root under smaller. The core points
    // fall into groups already within eps of each other (tight k-d tree nodes, else single
    // points), each one cluster at once; then each group is joined to every group that has a
    // point within eps of one of its own. A pair of groups already joined is skipped before
    // any distance is taken, and a pair wholly within eps is joined without one, so dense
    // regions (a city's customers) do not cost the square of their size.
    let parent: Vec<AtomicU32> = (0..core_idx.len() as u32).map(AtomicU32::new).collect();
    let groups = core_tree.groups(r2);
    groups.par_iter().for_each(|g| {
        let own = core_tree.members(g);
        for &o in &own[1..] {
            union(&parent, own[0], o);
        }
    });
    let core_row = |c: u32| &core_flat[c as usize * d..(c as usize + 1) * d];
    let close_to_own =
        |own: &[u32], o: u32| own.iter().any(|&a| sq_dist(core_row(a), core_row(o)) <= r2);
    groups.par_iter().for_each(|g| {
        let own = core_tree.members(g);
        // A point farther than eps from the group's box is farther from all its points:
        // skipped before the scan of the group. (Without it, a point near one big group and
        // beside another could scan the whole group for each of the other's points.)
        let near_group = |o: u32| core_tree.sq_dist_to_group(g, core_row(o)) <= r2;
        core_tree.visit_near(g, r2, |points, tight, within| {
            if tight {
                // One cluster already: joined by the first of its points close to one of
                // ours; the scan stops as soon as another thread has joined them.
                if within {
                    if find(&parent, own[0]) != find(&parent, points[0]) {
                        union(&parent, own[0], points[0]);
                    }
                } else {
                    for &o in points {
                        if find(&parent, own[0]) == find(&parent, points[0]) {
                            break;
                        }
                        if near_group(o) && close_to_own(own, o) {
                            union(&parent, own[0], points[0]);
                            break;
                        }
                    }
                }
            } else {
                for &o in points {
                    if find(&parent, own[0]) != find(&parent, o)
                        && (within || near_group(o) && close_to_own(own, o))
                    {
                        union(&parent, own[0], o);
                    }
                }
            }
            ControlFlow::Continue(())
        });
    });
    // Roots are the lowest member of each cluster; clusters numbered in root order.
    let roots: Vec<u32> = (0..core_idx.len() as u32)
        .map(|c| find(&parent, c))
        .collect();
    let mut cluster_of_root = vec![u32::MAX; core_idx.len()];
    let mut clusters = 0u32;
    for (c, &r) in roots.iter().enumerate() {
        if r as usize == c {
            cluster_of_root[c] = clusters;
            clusters += 1;
        }
    }
    let core_labels: Vec<usize> = roots
        .iter()
        .map(|&r| cluster_of_root[r as usize] as usize)
        .collect();
    // 3. Every point: its own cluster if core, else the lowest cluster among its core
    // neighbours, else noise.
    let mut position = vec![u32::MAX; n];
    for (c, &i) in core_idx.iter().enumerate() {
        position[i] = c as u32;
    }
    let labels: Vec<Option<usize>> = (0..n)
        .into_par_iter()
        .map(|i| match position[i] {
            u32::MAX => lowest_cluster_within(&core_tree, &core_labels, row(i), r2),
            c => Some(core_labels[c as usize]),
        })
        .collect();
    Ok(DbscanFit {
        labels,
        core_points,
        core_labels,
    })
}

/// The lowest cluster among the core points within squared distance `r2` of `q`.
pub(crate) fn lowest_cluster_within(
    core: &KdTree<'_>,
    core_labels: &[usize],
    q: &[f64],
    r2: f64,
) -> Option<usize> {
    let mut best: Option<usize> = None;
    core.visit(q, r2, |hit| {
        let l = match hit {
            Hit::Point(c) => core_labels[c as usize],
            Hit::Node(points) => points
                .iter()
                .map(|&c| core_labels[c as usize])
                .min()
                .unwrap_or(usize::MAX),
        };
        best = Some(best.map_or(l, |b| b.min(l)));
        // Nothing is lower than cluster 0.
        if l == 0 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    best
}

/// The root of x, halving the path on the way (other threads may be linking concurrently:
/// a parent only ever moves to a smaller index, so every walk ends).
fn find(parent: &[AtomicU32], mut x: u32) -> u32 {
    loop {
        let p = parent[x as usize].load(Ordering::Acquire);
        if p == x {
            return x;
        }
        let g = parent[p as usize].load(Ordering::Acquire);
        if g != p {
            let _ = parent[x as usize].compare_exchange(p, g, Ordering::AcqRel, Ordering::Relaxed);
        }
        x = g;
    }
}

/// Joins the sets of a and b, the larger root linked under the smaller; retried when another
/// thread moved a root first.
fn union(parent: &[AtomicU32], a: u32, b: u32) {
    let (mut a, mut b) = (a, b);
    loop {
        a = find(parent, a);
        b = find(parent, b);
        if a == b {
            return;
        }
        let (hi, lo) = if a > b { (a, b) } else { (b, a) };
        if parent[hi as usize]
            .compare_exchange(hi, lo, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn matrix(v: &Value) -> Array2<f64> {
        let rows: Vec<Vec<f64>> = serde_json::from_value(v.clone()).expect("rows");
        let (n, d) = (rows.len(), rows[0].len());
        Array2::from_shape_vec((n, d), rows.concat()).expect("rectangular")
    }

    fn check(
        x: &Array2<f64>,
        eps: f64,
        min_samples: usize,
        labels: &Value,
        cores: Option<&Value>,
        what: &str,
    ) {
        let want: Vec<i64> = serde_json::from_value(labels.clone()).unwrap();
        let fit = dbscan(x.view(), &DbscanParams::new(eps, min_samples).unwrap()).unwrap();
        let got: Vec<i64> = fit
            .labels
            .iter()
            .map(|l| l.map_or(-1, |v| v as i64))
            .collect();
        // The same labels, numbers included (not just up to renaming).
        assert_eq!(got, want, "{what}");
        if let Some(cores) = cores {
            let want: Vec<usize> = serde_json::from_value(cores.clone()).unwrap();
            assert_eq!(fit.core_points.nrows(), want.len(), "{what}");
            assert_eq!(fit.core_points, x.select(Axis(0), &want), "{what}");
        }
    }

    /// scikit-learn's DBSCAN labels, number for number, and its core points
    /// (benches/peers/dbscan_reference.py): blobs with noise and a border point between two
    /// clusters (A), border points hand-placed between two and three clusters (B), an integer
    /// grid where 238 pairs lie at exactly eps (C, four min_samples), duplicated points (D).
    #[test]
    fn clusters_equal_scikit_learns() {
        let r: Value = serde_json::from_str(include_str!(
            "../../tests/data/sklearn_dbscan_reference.json"
        ))
        .unwrap();
        for (name, ds) in r["datasets"].as_object().unwrap() {
            let x = matrix(&ds["points"]);
            let eps = ds["eps"].as_f64().unwrap();
            let min = ds["min_samples"].as_u64().unwrap() as usize;
            check(
                &x,
                eps,
                min,
                &ds["labels"],
                Some(&ds["core_sample_indices"]),
                name,
            );
            for extra in ds["extra_runs"].as_array().into_iter().flatten() {
                let eps = extra["eps"].as_f64().unwrap();
                let min = extra["min_samples"].as_u64().unwrap() as usize;
                check(
                    &x,
                    eps,
                    min,
                    &extra["labels"],
                    extra.get("core_sample_indices"),
                    name,
                );
            }
        }
    }

    /// scikit-learn's algorithm written out plainly (all neighbourhoods by brute force, clusters
    /// grown from core points in index order) against ours on random data: dense and sparse,
    /// integer grids with ties at eps, 1 to 5 dimensions, small and large eps.
    #[test]
    fn clusters_equal_a_brute_force_dbscan() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(11);
        for round in 0..60 {
            let d = 1 + round % 5;
            let n = rng.gen_range(1..400);
            let grid = round % 3 == 0;
            let x = Array2::from_shape_fn((n, d), |_| {
                if grid {
                    rng.gen_range(0..8) as f64
                } else {
                    rng.r#gen::<f64>() * 10.0
                }
            });
            let eps = if grid { 1.0 } else { rng.gen_range(0.2..3.0) };
            let min = rng.gen_range(2..8);
            let near: Vec<Vec<usize>> = (0..n)
                .map(|i| {
                    (0..n)
                        .filter(|&j| {
                            let s = x
                                .row(i)
                                .iter()
                                .zip(x.row(j))
                                .fold(0.0, |s, (a, b)| s + (a - b) * (a - b));
                            s <= eps * eps
                        })
                        .collect()
                })
                .collect();
            let core: Vec<bool> = near.iter().map(|v| v.len() >= min).collect();
            let mut want: Vec<Option<usize>> = vec![None; n];
            let mut next = 0;
            for i in 0..n {
                if !core[i] || want[i].is_some() {
                    continue;
                }
                want[i] = Some(next);
                let mut stack = vec![i];
                while let Some(p) = stack.pop() {
                    for &q in &near[p] {
                        if want[q].is_none() {
                            want[q] = Some(next);
                            if core[q] {
                                stack.push(q);
                            }
                        }
                    }
                }
                next += 1;
            }
            let fit = dbscan(x.view(), &DbscanParams::new(eps, min).unwrap()).unwrap();
            assert_eq!(
                fit.labels, want,
                "round {round}: n {n} d {d} eps {eps} min {min}"
            );
        }
    }

    /// Two dense groups bridged by two points (0 … 0.5 · 1.4 … 2 at eps 1): one cluster. The
    /// join of the groups once scanned the whole of one group for every point of the other.
    #[test]
    fn bridged_dense_groups_are_one_cluster() {
        let mut v = vec![0.0; 20_000];
        v.extend([0.5, 1.4]);
        v.extend(std::iter::repeat_n(2.0, 20_000));
        let x = Array2::from_shape_vec((v.len(), 1), v).unwrap();
        let fit = dbscan(x.view(), &DbscanParams::new(1.0, 2).unwrap()).unwrap();
        assert!(fit.labels.iter().all(|l| *l == Some(0)));
    }

    /// The same clusters at 1, 2 and 8 threads (the union–find's links race; its roots
    /// cannot).
    #[test]
    fn thread_count_does_not_change_the_clusters() {
        let r: Value = serde_json::from_str(include_str!(
            "../../tests/data/sklearn_dbscan_reference.json"
        ))
        .unwrap();
        let x = matrix(&r["datasets"]["C"]["points"]);
        let p = DbscanParams::new(1.0, 2).unwrap();
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| dbscan(x.view(), &p).unwrap().labels)
        };
        let one = run(1);
        assert_eq!(run(2), one);
        assert_eq!(run(8), one);
    }
}
