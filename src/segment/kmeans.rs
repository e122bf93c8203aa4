//! k-means: k-means++ seeding and Lloyd iterations accelerated with Hamerly's bounds, in
//! parallel and deterministic.
//!
//! Lloyd's algorithm alternates assigning each point to its nearest centre and moving each
//! centre to the mean of its points. Hamerly (2010, "Making k-means even faster") keeps, per
//! point, an upper bound on the distance to its own centre and a lower bound on the distance
//! to every other; when the upper bound is below both the lower bound and half the distance
//! from its centre to the nearest other centre, the point cannot change cluster and its
//! distances are not computed. After the first few iterations most points are skipped.
//!
//! The result is the plain Lloyd fixed point (the bounds only skip work that cannot change
//! it). Seeding is scikit-learn's greedy k-means++ (2 + ⌊ln k⌋ candidates per centre), the
//! stopping rule is scikit-learn's (centre movement, squared, at most `tol` × the mean
//! per-column variance, or no label change), and an emptied cluster is moved to the point
//! farthest from its centre. Every random draw comes from the seed and the restart's index,
//! and every sum is reduced over fixed chunks in order, so the result does not depend on the
//! number of threads.

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Position, Result, finite_non_negative};
use crate::par::ordered_sum;

/// Points per chunk of the parallel reductions (fixed: thread-count invariance).
pub(super) const CHUNK: usize = 4_096;

/// Settings of k-means (ours), checked when built: k ≥ 1, at least one restart and
/// iteration, a finite tolerance ≥ 0. Whether k fits the data (k ≤ the number of points) is
/// checked when fitting. Deserializing runs the same checks.
///
/// ```
/// use custseg::segment::KMeansParams;
/// let p = KMeansParams::new(8)?.with_n_init(3)?.with_seed(7);
/// assert_eq!((p.k(), p.n_init(), p.max_iter(), p.seed()), (8, 3, 300, 7));
/// assert!(KMeansParams::new(0).is_err());
/// assert!(KMeansParams::new(2)?.with_tol(f64::NAN).is_err());
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "KMeansRecord")]
pub struct KMeansParams {
    pub(crate) k: usize,
    pub(crate) n_init: usize,
    pub(crate) max_iter: usize,
    pub(crate) tol: f64,
    pub(crate) seed: u64,
}

#[derive(Deserialize)]
struct KMeansRecord {
    k: usize,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
}

impl TryFrom<KMeansRecord> for KMeansParams {
    type Error = Error;
    fn try_from(r: KMeansRecord) -> Result<Self> {
        Ok(KMeansParams::new(r.k)?
            .with_n_init(r.n_init)?
            .with_max_iter(r.max_iter)?
            .with_tol(r.tol)?
            .with_seed(r.seed))
    }
}

impl KMeansParams {
    /// k clusters, 10 restarts, 300 iterations, tol 1e-4, seed 0 (scikit-learn's defaults).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for k = 0.
    pub fn new(k: usize) -> Result<Self> {
        check_k_positive(k)?;
        Ok(KMeansParams {
            k,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
        })
    }

    /// Sets the number of independent k-means++ restarts (the lowest inertia wins).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0 or more than [`MAX_RESTARTS`].
    pub fn with_n_init(mut self, n_init: usize) -> Result<Self> {
        self.n_init = count_in("n_init", n_init, MAX_RESTARTS)?;
        Ok(self)
    }

    /// Sets the iteration budget per restart.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0 or more than [`MAX_ITERATIONS`].
    pub fn with_max_iter(mut self, max_iter: usize) -> Result<Self> {
        self.max_iter = count_in("max_iter", max_iter, MAX_ITERATIONS)?;
        Ok(self)
    }

    /// Sets the relative tolerance on centre movement (scikit-learn's `tol`: the squared
    /// movement is compared with `tol` × the mean column variance).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite tolerance.
    pub fn with_tol(mut self, tol: f64) -> Result<Self> {
        self.tol = finite_non_negative("tol", tol)?;
        Ok(self)
    }

    /// Sets the master seed (each restart draws from it and its index).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Clusters.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Independent restarts.
    pub fn n_init(&self) -> usize {
        self.n_init
    }

    /// Iteration budget per restart.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }

    /// Relative tolerance on centre movement.
    pub fn tol(&self) -> f64 {
        self.tol
    }

    /// Master seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// k ≥ 1: every clustering parameter set's first check.
pub(crate) fn check_k_positive(k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::InvalidParameter {
            name: "k",
            value: "0".into(),
            reason: "at least one cluster".into(),
        });
    }
    Ok(())
}

/// Most restarts (or seedings) one fit may run: each is a whole clustering, so a value read
/// from an edited file (usize::MAX) would make a fit that never returns.
pub const MAX_RESTARTS: usize = 1_000;

/// Most iterations (or passes) per restart.
pub const MAX_ITERATIONS: usize = 1_000_000;

/// A count setting that must be at least 1 and at most `max` (restarts, iterations).
pub(crate) fn count_in(name: &'static str, value: usize, max: usize) -> Result<usize> {
    if value == 0 || value > max {
        return Err(Error::InvalidParameter {
            name,
            value: value.to_string(),
            reason: format!("between 1 and {max}"),
        });
    }
    Ok(value)
}

/// k between 1 and the number of points: what every strategy checks against the data.
pub(super) fn check_k(k: usize, n: usize) -> Result<()> {
    if k == 0 || k > n {
        return Err(Error::InvalidParameter {
            name: "k",
            value: k.to_string(),
            reason: format!("between 1 and the {n} points"),
        });
    }
    Ok(())
}

/// A k-means solution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KMeansFit {
    /// Centres, one row per cluster.
    pub centers: Array2<f64>,
    /// Cluster of every point.
    pub labels: Vec<usize>,
    /// Sum of squared distances of the points to their centres.
    pub inertia: f64,
    /// Lloyd iterations of the winning restart.
    pub iterations: usize,
}

#[inline]
pub(super) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    // Four independent accumulators: a strict left-to-right sum cannot be vectorised
    // (floating-point addition is not associative), four lanes can. The order is fixed, so
    // results are still bit-for-bit reproducible.
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            let t = x[l] - y[l];
            acc[l] += t * t;
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in ra.iter().zip(rb) {
        s += (x - y) * (x - y);
    }
    s
}

/// Clusters the rows of `data` (finite values; checked). Reached through
/// [`Fit`](crate::Fit) on [`KMeansParams`] or [`Strategy::KMeans`](super::Strategy).
///
/// # Errors
/// [`Error::InvalidParameter`] for k larger than the number of points; [`Error::NonFinite`]
/// naming the first row with a NaN or infinity.
pub(crate) fn kmeans(data: ArrayView2<'_, f64>, params: &KMeansParams) -> Result<KMeansFit> {
    let n = data.nrows();
    check_k(params.k, n)?;
    if let Some(((i, j), v)) = data.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite {
            at: Position::at_row(i).with_column(j.to_string()),
            value: *v,
        });
    }
    let data = data.as_standard_layout();
    let d = data.ncols();
    let flat = data.as_slice().unwrap_or(&[]);
    let x = |i: usize| &flat[i * d..(i + 1) * d];
    // scikit-learn's absolute tolerance: tol times the mean of the columns' variances.
    let variance_mean = (0..d)
        .map(|j| {
            let col = data.column(j);
            let mean = col.mean().unwrap_or(0.0);
            col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64
        })
        .sum::<f64>()
        / d.max(1) as f64;
    let tol = params.tol * variance_mean;
    let mut ws = Workspace::new(n);
    let mut best: Option<(Run, Vec<u32>)> = None;
    for run in 0..params.n_init {
        let seed = params.seed ^ (run as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let centers = kmeans_plus_plus(&x, n, d, params.k, seed, &mut ws);
        let fit = lloyd_hamerly(&x, n, d, centers, params.max_iter, tol, &mut ws);
        match &mut best {
            Some((b, labels)) if fit.inertia < b.inertia => {
                labels.copy_from_slice(&ws.labels);
                *b = fit;
            }
            None => best = Some((fit, ws.labels.clone())),
            _ => {}
        }
    }
    let (b, labels) = best.ok_or(Error::EmptyInput { what: "restarts" })?;
    Ok(KMeansFit {
        centers: b.centers,
        labels: labels.into_iter().map(|l| l as usize).collect(),
        inertia: b.inertia,
        iterations: b.iterations,
    })
}

/// k-means++ seeds for the `n` rows of `flat` (row-major, `d` columns): the same greedy
/// seeding the full k-means uses, for callers that seed on a sample (mini-batch k-means).
pub(super) fn seed_centers(flat: &[f64], n: usize, d: usize, k: usize, seed: u64) -> Array2<f64> {
    let x = |i: usize| &flat[i * d..(i + 1) * d];
    kmeans_plus_plus(&x, n, d, k, seed, &mut Workspace::new(n))
}

/// The rows the k-means++ seeding of [`seed_centers`] picks, in the order picked (the
/// Gaussian mixture's k-means++ start makes each seed alone responsible for its component).
pub(super) fn seed_rows(flat: &[f64], n: usize, d: usize, k: usize, seed: u64) -> Vec<usize> {
    let x = |i: usize| &flat[i * d..(i + 1) * d];
    plus_plus_rows(&x, n, k, seed, &mut Workspace::new(n))
}

/// Buffers reused by every restart: fresh multi-megabyte buffers would cost page faults on
/// every restart, a large share of a restart's time on well-separated data.
struct Workspace {
    closest: Vec<f64>,
    labels: Vec<u32>,
    upper: Vec<f64>,
    lower: Vec<f64>,
}

impl Workspace {
    fn new(n: usize) -> Self {
        Workspace {
            closest: vec![0.0; n],
            labels: vec![0; n],
            upper: vec![0.0; n],
            lower: vec![0.0; n],
        }
    }
}

/// One restart's result; its labels stay in the workspace.
struct Run {
    centers: Array2<f64>,
    inertia: f64,
    iterations: usize,
}

/// Greedy k-means++ (Arthur & Vassilvitskii 2007; scikit-learn's variant with
/// 2 + ⌊ln k⌋ candidates per step, keeping the one that lowers the potential most).
///
/// Seeding dominates k-means on well-separated data (Lloyd then converges in a couple of
/// iterations), so each step makes two passes over the data: one that scores every
/// candidate at once, one that updates the distances to the nearest centre in place. Sums
/// run over fixed chunks in a fixed order, so the result does not depend on the threads.
fn kmeans_plus_plus<'a>(
    x: &(impl Fn(usize) -> &'a [f64] + Sync),
    n: usize,
    d: usize,
    k: usize,
    seed: u64,
    ws: &mut Workspace,
) -> Array2<f64> {
    let rows = plus_plus_rows(x, n, k, seed, ws);
    let mut centers = Array2::zeros((k, d));
    for (c, &r) in rows.iter().enumerate() {
        centers.row_mut(c).assign(&ndarray::ArrayView1::from(x(r)));
    }
    centers
}

/// The rows greedy k-means++ picks, in the order picked (see [`kmeans_plus_plus`]).
fn plus_plus_rows<'a>(
    x: &(impl Fn(usize) -> &'a [f64] + Sync),
    n: usize,
    k: usize,
    seed: u64,
    ws: &mut Workspace,
) -> Vec<usize> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let trials = 2 + (k as f64).ln().floor() as usize;
    let first = rng.gen_range(0..n);
    let mut rows = Vec::with_capacity(k);
    rows.push(first);
    // Per point: squared distance to the nearest chosen centre. (Skipping points by the
    // triangle inequality, as accelerated k-means++ variants do, measured no faster here:
    // the data-dependent branch costs what the skipped distances save.)
    let closest = &mut ws.closest;
    closest.fill(f64::INFINITY);
    let mut chunk_potential = vec![0.0; n.div_ceil(CHUNK)];
    let mut potential = absorb_center(x, closest, &mut chunk_potential, first);
    for _ in 1..k {
        let candidates: Vec<usize> = (0..trials)
            .map(|_| sample_d2(closest, &chunk_potential, potential, rng.r#gen::<f64>()))
            .collect();
        // The potential after adding each candidate, all candidates in one pass.
        let per_chunk: Vec<Vec<f64>> = closest
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(ch, cl)| {
                let mut s = vec![0.0; trials];
                for (j, &v) in cl.iter().enumerate() {
                    let xi = x(ch * CHUNK + j);
                    for (acc, &cand) in s.iter_mut().zip(&candidates) {
                        *acc += v.min(sq_dist(xi, x(cand)));
                    }
                }
                s
            })
            .collect();
        let mut best = (f64::INFINITY, candidates[0]);
        for (t, &cand) in candidates.iter().enumerate() {
            let pot: f64 = per_chunk.iter().map(|s| s[t]).sum();
            if pot < best.0 {
                best = (pot, cand);
            }
        }
        let new = best.1;
        rows.push(new);
        potential = absorb_center(x, closest, &mut chunk_potential, new);
    }
    rows
}

/// Lowers every point's squared distance to its nearest centre by the new centre `new`
/// (a point at infinity takes the distance outright) and returns the new potential, the
/// sum of those distances, kept per chunk for [`sample_d2`].
fn absorb_center<'a>(
    x: &(impl Fn(usize) -> &'a [f64] + Sync),
    closest: &mut [f64],
    chunk_potential: &mut [f64],
    new: usize,
) -> f64 {
    closest
        .par_chunks_mut(CHUNK)
        .zip(chunk_potential.par_iter_mut())
        .enumerate()
        .for_each(|(ch, (cl, cp))| {
            let mut s = 0.0;
            for (j, v) in cl.iter_mut().enumerate() {
                *v = v.min(sq_dist(x(ch * CHUNK + j), x(new)));
                s += *v;
            }
            *cp = s;
        });
    chunk_potential.iter().sum()
}

/// The index whose cumulative weight first exceeds u · total, found through the chunk sums
/// (all points weight 0: index 0).
fn sample_d2(weights: &[f64], chunk_sums: &[f64], total: f64, u: f64) -> usize {
    if total <= 0.0 {
        return 0;
    }
    let target = u * total;
    let mut acc = 0.0;
    for (ch, &cs) in chunk_sums.iter().enumerate() {
        if acc + cs > target {
            let chunk = &weights[ch * CHUNK..((ch + 1) * CHUNK).min(weights.len())];
            for (j, w) in chunk.iter().enumerate() {
                acc += w;
                if acc > target {
                    return ch * CHUNK + j;
                }
            }
            // Rounding: the running sum fell just short of the chunk sum.
            return ch * CHUNK + chunk.iter().rposition(|&w| w > 0.0).unwrap_or(0);
        }
        acc += cs;
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

/// Per-chunk result of an assignment pass: coordinate sums and counts per cluster of the
/// chunk's points (for the next centres), and how many points changed cluster.
struct ChunkPass {
    sums: Vec<f64>,
    counts: Vec<usize>,
    changed: usize,
}

/// Reduces chunk results in chunk order (so the sums do not depend on the threads).
fn reduce_passes(parts: Vec<ChunkPass>, k: usize, d: usize) -> (Vec<f64>, Vec<usize>, usize) {
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    let mut changed = 0;
    for p in parts {
        for (a, b) in sums.iter_mut().zip(p.sums) {
            *a += b;
        }
        for (a, b) in counts.iter_mut().zip(p.counts) {
            *a += b;
        }
        changed += p.changed;
    }
    (sums, counts, changed)
}

/// Lloyd iterations with Hamerly's bounds from the given centres.
///
/// Each iteration is one pass over the data: it reassigns the points whose bounds do not
/// rule a change out and, in the same pass, sums every point into its cluster for the next
/// centres. On overlapping clusters, where the bounds rarely prune and Lloyd needs dozens of
/// rounds, the pass is memory-bound, so fusing the two halves halves the traffic.
fn lloyd_hamerly<'a>(
    x: &(impl Fn(usize) -> &'a [f64] + Sync),
    n: usize,
    d: usize,
    centers: Array2<f64>,
    max_iter: usize,
    tol: f64,
    ws: &mut Workspace,
) -> Run {
    let k = centers.nrows();
    let mut c: Vec<f64> = centers.iter().copied().collect();
    let (labels, upper, lower) = (&mut ws.labels, &mut ws.upper, &mut ws.lower);
    let accumulate = |sums: &mut [f64], counts: &mut [usize], l: usize, p: &[f64]| {
        counts[l] += 1;
        for (acc, v) in sums[l * d..(l + 1) * d].iter_mut().zip(p) {
            *acc += v;
        }
    };
    // Exact first assignment, with the sums of the first clusters.
    let parts: Vec<ChunkPass> = labels
        .par_chunks_mut(CHUNK)
        .zip(upper.par_chunks_mut(CHUNK))
        .zip(lower.par_chunks_mut(CHUNK))
        .enumerate()
        .map(|(ch, ((lab, up), lo))| {
            let mut sums = vec![0.0; k * d];
            let mut counts = vec![0usize; k];
            for j in 0..lab.len() {
                let p = x(ch * CHUNK + j);
                let (a, d1, d2) = nearest_two(p, &c, d);
                lab[j] = a as u32;
                up[j] = d1;
                lo[j] = d2;
                accumulate(&mut sums, &mut counts, a, p);
            }
            ChunkPass {
                sums,
                counts,
                changed: 0,
            }
        })
        .collect();
    let (mut sums, mut counts, _) = reduce_passes(parts, k, d);
    let mut iterations = 0;
    for it in 1..=max_iter {
        iterations = it;
        let mut new_c = c.clone();
        let mut empty = Vec::new();
        for cl in 0..k {
            if counts[cl] == 0 {
                empty.push(cl);
            } else {
                for j in 0..d {
                    new_c[cl * d + j] = sums[cl * d + j] / counts[cl] as f64;
                }
            }
        }
        // Emptied clusters take the points farthest from their centres, one each.
        if !empty.is_empty() {
            let mut far: Vec<(f64, usize)> = (0..n)
                .into_par_iter()
                .map(|i| {
                    let l = labels[i] as usize;
                    (sq_dist(x(i), &c[l * d..(l + 1) * d]), i)
                })
                .collect();
            far.par_sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for (cl, &(_, i)) in empty.iter().zip(&far) {
                new_c[cl * d..(cl + 1) * d].copy_from_slice(x(i));
            }
        }
        let shifts: Vec<f64> = (0..k)
            .map(|cl| sq_dist(&c[cl * d..(cl + 1) * d], &new_c[cl * d..(cl + 1) * d]).sqrt())
            .collect();
        let total_shift: f64 = shifts.iter().map(|s| s * s).sum();
        c = new_c;
        // Bounds follow the centres: the own-centre distance can grow by its shift, the
        // distance to any other centre shrink by at most the largest other shift.
        let (max1, arg1) =
            shifts.iter().enumerate().fold(
                (0.0f64, 0usize),
                |m, (cl, &s)| if s > m.0 { (s, cl) } else { m },
            );
        let max2 = shifts
            .iter()
            .enumerate()
            .filter(|&(cl, _)| cl != arg1)
            .fold(0.0f64, |m, (_, &s)| m.max(s));
        // Half the distance from each centre to its nearest other centre.
        let half_gap: Vec<f64> = (0..k)
            .map(|a| {
                (0..k)
                    .filter(|&b| b != a)
                    .map(|b| sq_dist(&c[a * d..(a + 1) * d], &c[b * d..(b + 1) * d]).sqrt())
                    .fold(f64::INFINITY, f64::min)
                    / 2.0
            })
            .collect();
        let parts: Vec<ChunkPass> = labels
            .par_chunks_mut(CHUNK)
            .zip(upper.par_chunks_mut(CHUNK))
            .zip(lower.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(ch, ((lab, up), lo))| {
                let mut sums = vec![0.0; k * d];
                let mut counts = vec![0usize; k];
                let mut changed = 0;
                for j in 0..lab.len() {
                    let p = x(ch * CHUNK + j);
                    let l = lab[j] as usize;
                    up[j] += shifts[l];
                    lo[j] -= if l == arg1 { max2 } else { max1 };
                    let m = half_gap[l].max(lo[j]);
                    if up[j] > m {
                        up[j] = sq_dist(p, &c[l * d..(l + 1) * d]).sqrt();
                        if up[j] > m {
                            let (a, d1, d2) = nearest_two(p, &c, d);
                            changed += usize::from(a != l);
                            lab[j] = a as u32;
                            up[j] = d1;
                            lo[j] = d2;
                        }
                    }
                    accumulate(&mut sums, &mut counts, lab[j] as usize, p);
                }
                ChunkPass {
                    sums,
                    counts,
                    changed,
                }
            })
            .collect();
        let (s, m, changed) = reduce_passes(parts, k, d);
        sums = s;
        counts = m;
        if changed == 0 || total_shift <= tol {
            break;
        }
    }
    // The bounds keep every label exact for the final centres; the inertia needs only the
    // distance to the own centre.
    let inertia = ordered_sum(n, CHUNK, |i| {
        let l = labels[i] as usize;
        sq_dist(x(i), &c[l * d..(l + 1) * d])
    });
    Run {
        centers: Array2::from_shape_vec((k, d), c).unwrap_or_else(|_| Array2::zeros((k, d))),
        inertia,
        iterations,
    }
}

/// The nearest centre of a point, and the distances (not squared) to the nearest and the
/// second-nearest centre; ties go to the lower index. `centers` is k rows of d values.
pub(super) fn nearest_two(p: &[f64], centers: &[f64], d: usize) -> (usize, f64, f64) {
    let (mut a, mut d1, mut d2) = (0usize, f64::INFINITY, f64::INFINITY);
    for (c, row) in centers.chunks_exact(d.max(1)).enumerate() {
        let dist = sq_dist(p, row);
        if dist < d1 {
            d2 = d1;
            d1 = dist;
            a = c;
        } else if dist < d2 {
            d2 = dist;
        }
    }
    (a, d1.sqrt(), d2.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::{BlobsConfig, blobs};

    /// The bounds only skip work: plain Lloyd from the same seeds gives the same centres.
    #[test]
    fn hamerly_equals_plain_lloyd() {
        let b = blobs(&BlobsConfig::new(3_000, 5, 6).with_spread(2.5).with_seed(9)).unwrap();
        let flat = b.data.as_slice().unwrap();
        let x = |i: usize| &flat[i * 5..(i + 1) * 5];
        let mut ws = Workspace::new(3_000);
        let init = kmeans_plus_plus(&x, 3_000, 5, 6, 42, &mut ws);
        let fast = lloyd_hamerly(&x, 3_000, 5, init.clone(), 500, 0.0, &mut ws);
        // Plain Lloyd, written out.
        let mut c = init;
        for _ in 0..500 {
            let mut sums = [0.0; 30];
            let mut counts = [0usize; 6];
            for i in 0..3_000 {
                let l = (0..6)
                    .min_by(|&a, &b| {
                        sq_dist(x(i), c.row(a).as_slice().unwrap())
                            .total_cmp(&sq_dist(x(i), c.row(b).as_slice().unwrap()))
                    })
                    .unwrap();
                counts[l] += 1;
                for j in 0..5 {
                    sums[l * 5 + j] += x(i)[j];
                }
            }
            let mut next = c.clone();
            for k in 0..6 {
                for j in 0..5 {
                    if counts[k] > 0 {
                        next[[k, j]] = sums[k * 5 + j] / counts[k] as f64;
                    }
                }
            }
            if next == c {
                break;
            }
            c = next;
        }
        assert!((&fast.centers - &c).iter().all(|v| v.abs() < 1e-9));
    }

    #[test]
    fn invalid_inputs_are_errors() {
        let b = blobs(&BlobsConfig::new(10, 2, 2).with_seed(1)).unwrap();
        assert!(kmeans(b.data.view(), &KMeansParams::new(11).unwrap()).is_err());
        assert!(KMeansParams::new(0).is_err());
        let mut bad = b.data.clone();
        bad[[3, 1]] = f64::NAN;
        let e = kmeans(bad.view(), &KMeansParams::new(2).unwrap()).unwrap_err();
        assert!(e.to_string().contains("row 3"), "{e}");
        // k = n: every point its own cluster, inertia 0.
        let fit = kmeans(
            b.data.view(),
            &KMeansParams::new(10).unwrap().with_n_init(1).unwrap(),
        )
        .unwrap();
        assert!(fit.inertia < 1e-12);
    }
}
