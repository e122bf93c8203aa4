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
//!
//! Where the time goes, and what keeps it down:
//!
//! - **Seeding** is most of a restart on well-separated data (Lloyd then stops after one or
//!   two rounds). Each new centre costs one pass over the data: the pass that scores the
//!   candidates also folds the previous pick into every point's nearest distance, and the
//!   sampling that needs the folded distances recomputes them for the one chunk it lands in.
//!   The restarts are seeded together, each step one pass for all of them (up to 16, within
//!   128 MiB of distances: all ten default restarts at a million points): one restart's
//!   pass is bound by reading the data, ten restarts' by the arithmetic, and ten seedings
//!   take ~300 instead of ~440 ms at 1M × 8, k = 8. Each restart keeps its own draws and
//!   sums, so it picks the seeds it would pick alone.
//! - **Whole passes** (seeding, the first assignment) measure a few centres against every
//!   point, eight points side by side in vector registers ([`Centres`]); a point whose
//!   bounds fail measures itself against all k centres, four centres side by side
//!   ([`Panel`]). Both sum in [`sq_dist`]'s order, so every distance is the same to the bit,
//!   and both loops run in an AVX2 build where the CPU has it ([`wide`]). The passes ask
//!   the cache for the rows ahead of them ([`prefetch`]): at a few dozen operations a row
//!   the hardware's own prefetching fell behind.
//! - **Centres** are the means of per-block sums (blocks of at least 256 points) kept from
//!   one round to the next: only a block where some point changed cluster is summed again,
//!   so the points the bounds settle are not read at all.

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, finite_non_negative};
use crate::mem;
use crate::par::ordered_sum;
use crate::simd::{Kernel, wide};

use super::panel::{AHEAD, Centres, Panel, W, nearest_two_in_lanes, prefetch};
use super::strategy::check_rows;

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
    /// Restarts are seeded together, up to 16 in one pass over the data per centre, while
    /// their distances (8 bytes a point a restart) fit in 128 MiB: at a million points the
    /// ten default restarts take 80 MB for it (freed before the Lloyd rounds), beyond ~8.4
    /// million points one restart is seeded at a time. The result is the same either way.
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

#[inline(always)]
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
    check_rows(data, false)?;
    let data = data.as_standard_layout();
    let d = data.ncols();
    let flat = data.as_slice().unwrap_or(&[]);
    let x = Rows { flat, d };
    // scikit-learn's absolute tolerance: tol times the mean of the columns' variances.
    let tol = params.tol * variance_mean(flat, n, d);
    let (b, labels) = restarts(x, n, params, tol, seeding_group(n, params.n_init))?;
    Ok(KMeansFit {
        centers: b.centers,
        labels: labels.into_iter().map(|l| l as usize).collect(),
        inertia: b.inertia,
        iterations: b.iterations,
    })
}

/// Runs every restart; returns the best one's result and labels (the first of least
/// inertia). Restarts are seeded `group` at a time, in one pass over the data per centre for
/// the whole group (see [`plus_plus_rows`]); each is then refined on its own, in order. The
/// result does not depend on `group`.
fn restarts(
    x: Rows<'_>,
    n: usize,
    params: &KMeansParams,
    tol: f64,
    group: usize,
) -> Result<(Run, Vec<u32>)> {
    let group = group.clamp(1, params.n_init.max(1));
    let mut ws = Workspace::new(n);
    let mut closest: Vec<Vec<f64>> = (0..group).map(|_| mem::zeros(n)).collect();
    let seed_of = |run: usize| params.seed ^ (run as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut best: Option<(Run, Vec<u32>)> = None;
    for first in (0..params.n_init).step_by(group) {
        let seeds: Vec<u64> = (first..(first + group).min(params.n_init))
            .map(seed_of)
            .collect();
        let seedings = plus_plus_rows(x, n, params.k, &seeds, &mut closest[..seeds.len()]);
        if first + group >= params.n_init {
            // The last seedings are done: their distances (up to the budget) are not held
            // through the Lloyd rounds.
            closest = Vec::new();
        }
        for rows in seedings {
            let fit = lloyd_hamerly(x, n, centres_at(x, &rows), params.max_iter, tol, &mut ws);
            match &mut best {
                Some((b, labels)) if fit.inertia < b.inertia => {
                    labels.copy_from_slice(&ws.labels);
                    *b = fit;
                }
                None => best = Some((fit, ws.labels.clone())),
                _ => {}
            }
        }
    }
    best.ok_or(Error::EmptyInput { what: "restarts" })
}

/// The mean of the columns' variances (divided by n) of the `n` rows of `flat`, `d` columns:
/// two passes over the rows (the means, then the squared deviations), each summed per chunk
/// and the chunks in order. Row by row rather than column by column: a column of a
/// row-major matrix is a strided walk that reads the whole matrix once per column.
fn variance_mean(flat: &[f64], n: usize, d: usize) -> f64 {
    if n == 0 || d == 0 {
        return 0.0;
    }
    // Each chunk's column sums of the rows' values, less `centre` and squared when `square`.
    let column_sums = |centre: &[f64], square: bool| -> Vec<f64> {
        let parts: Vec<Vec<f64>> = flat
            .par_chunks(CHUNK * d)
            .map(|rows| {
                let mut s = vec![0.0; d];
                for row in rows.chunks_exact(d) {
                    for ((acc, &v), &c) in s.iter_mut().zip(row).zip(centre) {
                        let t = v - c;
                        *acc += if square { t * t } else { t };
                    }
                }
                s
            })
            .collect();
        parts.iter().fold(vec![0.0; d], |mut t, p| {
            t.iter_mut().zip(p).for_each(|(a, b)| *a += b);
            t
        })
    };
    let means: Vec<f64> = column_sums(&vec![0.0; d], false)
        .into_iter()
        .map(|s| s / n as f64)
        .collect();
    let squares = column_sums(&means, true);
    squares.iter().map(|s| s / n as f64).sum::<f64>() / d as f64
}

/// k-means++ seeds for the `n` rows of `flat` (row-major, `d` columns): the same greedy
/// seeding the full k-means uses, for callers that seed on a sample (mini-batch k-means).
pub(super) fn seed_centers(flat: &[f64], n: usize, d: usize, k: usize, seed: u64) -> Array2<f64> {
    let x = Rows { flat, d };
    centres_at(x, &seed_rows(flat, n, d, k, seed))
}

/// The rows the k-means++ seeding of [`seed_centers`] picks, in the order picked (the
/// Gaussian mixture's k-means++ start makes each seed alone responsible for its component).
pub(super) fn seed_rows(flat: &[f64], n: usize, d: usize, k: usize, seed: u64) -> Vec<usize> {
    let x = Rows { flat, d };
    let mut closest = [mem::zeros(n)];
    plus_plus_rows(x, n, k, &[seed], &mut closest)
        .pop()
        .unwrap_or_default()
}

/// The points, row-major: row i is `flat[i·d..(i + 1)·d]`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rows<'a> {
    pub(super) flat: &'a [f64],
    pub(super) d: usize,
}

impl<'a> Rows<'a> {
    /// Row `i`.
    #[inline(always)]
    pub(super) fn at(self, i: usize) -> &'a [f64] {
        &self.flat[i * self.d..(i + 1) * self.d]
    }

    /// Rows `lo..hi`, as their own `Rows`.
    #[inline(always)]
    pub(super) fn range(self, lo: usize, hi: usize) -> Rows<'a> {
        Rows {
            flat: &self.flat[lo * self.d..hi * self.d],
            d: self.d,
        }
    }
}

/// Buffers reused by every restart's Lloyd rounds: fresh multi-megabyte buffers would cost
/// page faults on every restart, a large share of a restart's time on well-separated data.
struct Workspace {
    labels: Vec<u32>,
    upper: Vec<f64>,
    lower: Vec<f64>,
}

impl Workspace {
    fn new(n: usize) -> Self {
        // Tens of megabytes at a million points: huge pages spare most of the page faults.
        Workspace {
            labels: mem::zeros(n),
            upper: mem::zeros(n),
            lower: mem::zeros(n),
        }
    }
}

/// One restart's result; its labels stay in the workspace.
struct Run {
    centers: Array2<f64>,
    inertia: f64,
    iterations: usize,
}

/// The working memory of the seedings of one group together: each holds every point's
/// distance to its nearest chosen centre (8 bytes a point).
const SEEDING_BUDGET: usize = 128 << 20;

/// The most restarts seeded together: ten restarts' pass is already bound by the arithmetic,
/// and more centres in one pass only spill its per-block distances out of the L1 cache.
const MAX_SEEDING_GROUP: usize = 16;

/// How many of `n_init` restarts over `n` points are seeded together: as many as
/// [`MAX_SEEDING_GROUP`] while their distances fit [`SEEDING_BUDGET`] (all ten default
/// restarts up to ~1.6 million points), one at a time beyond ~8.4 million points (2^23).
fn seeding_group(n: usize, n_init: usize) -> usize {
    (SEEDING_BUDGET / n.max(1).saturating_mul(8))
        .min(MAX_SEEDING_GROUP)
        .clamp(1, n_init.max(1))
}

/// The centres at `rows` of `x`, in that order.
fn centres_at(x: Rows<'_>, rows: &[usize]) -> Array2<f64> {
    let mut centers = Array2::zeros((rows.len(), x.d));
    for (c, &r) in rows.iter().enumerate() {
        centers
            .row_mut(c)
            .assign(&ndarray::ArrayView1::from(x.at(r)));
    }
    centers
}

/// Greedy k-means++ (Arthur & Vassilvitskii 2007; scikit-learn's variant with
/// 2 + ⌊ln k⌋ candidates per step, keeping the one that lowers the potential most): the
/// rows it picks, in the order picked, for each of `seeds` (one seeding per seed, each
/// with its own random draws; `closest` has one buffer of `n` values per seed).
///
/// Seeding dominates k-means on well-separated data (Lloyd then converges in a couple of
/// iterations), and a pass over the data for a few centres is bound by memory, not by the
/// arithmetic. So each step makes one pass for every seeding at once: the pass scores every
/// seeding's candidates and folds each seeding's previous pick into its distances to the
/// nearest centre. A seeding's values are those it would have alone — its own draws, its
/// own sums in their own order — so restarts seeded together pick the rows they would pick
/// one at a time; they only share the reading of the data. Sums run over fixed chunks in
/// a fixed order, so the result does not depend on the threads.
fn plus_plus_rows<'a>(
    x: Rows<'a>,
    n: usize,
    k: usize,
    seeds: &[u64],
    closest: &mut [Vec<f64>],
) -> Vec<Vec<usize>> {
    let runs = seeds.len();
    debug_assert!(closest.len() == runs && closest.iter().all(|c| c.len() == n));
    let mut rngs: Vec<Xoshiro256PlusPlus> = seeds
        .iter()
        .map(|&s| Xoshiro256PlusPlus::seed_from_u64(s))
        .collect();
    let trials = 2 + (k as f64).ln().floor() as usize;
    let firsts: Vec<usize> = rngs.iter_mut().map(|r| r.gen_range(0..n)).collect();
    let mut rows: Vec<Vec<usize>> = firsts
        .iter()
        .map(|&f| {
            let mut v = Vec::with_capacity(k);
            v.push(f);
            v
        })
        .collect();
    // Per seeding and point: squared distance to the nearest chosen centre, the first one's
    // to begin with. (Skipping points by the triangle inequality, as accelerated k-means++
    // variants do, measured no faster here: the data-dependent branch costs what the
    // skipped distances save.)
    let mut chunk_potential = vec![vec![0.0; n.div_ceil(CHUNK)]; runs];
    let mut potential = first_distances(x, closest, &mut chunk_potential, &firsts);
    // Each seeding's centre chosen last, not yet folded into its `closest`: the scoring pass
    // that picks a centre already has every chunk's potential with it (the candidate's
    // column), so the next step samples from those sums and folds the centre in while it
    // scores its own candidates — one pass over the data per centre instead of two. The
    // values and the order of every sum are those of folding first, so the seeds are the
    // same. (Every seeding has one from the second step on, none before: empty, or one per
    // seeding.)
    let mut pending: Vec<usize> = Vec::new();
    for _ in 1..k {
        let candidates: Vec<Vec<usize>> = (0..runs)
            .map(|r| {
                (0..trials)
                    .map(|_| {
                        let u = rngs[r].r#gen::<f64>();
                        sample_d2(
                            x,
                            &closest[r],
                            &chunk_potential[r],
                            potential[r],
                            u,
                            pending.get(r).copied(),
                        )
                    })
                    .collect()
            })
            .collect();
        // Every seeding's candidates, then its pending centre: the potential after adding
        // each candidate, for all of them in one pass.
        let with_pending = !pending.is_empty();
        let centres = Centres::new(
            candidates
                .iter()
                .enumerate()
                .flat_map(|(r, c)| c.iter().chain(pending.get(r)))
                .map(|&r| x.at(r)),
            x.d,
        );
        let per_chunk: Vec<Vec<f64>> = chunks_of_each(closest)
            .into_par_iter()
            .enumerate()
            .map(|(ch, closest)| {
                let len = closest.first().map_or(0, |c| c.len());
                wide(Score {
                    x: x.range(ch * CHUNK, ch * CHUNK + len),
                    closest,
                    centres: &centres,
                    trials,
                    pending: with_pending,
                })
            })
            .collect();
        pending.clear();
        for r in 0..runs {
            // The first candidate of least potential.
            let potential_with =
                |t: usize| -> f64 { per_chunk.iter().map(|s| s[r * trials + t]).sum() };
            let best = (1..trials).fold((potential_with(0), 0), |b, t| {
                let pot = potential_with(t);
                if pot < b.0 { (pot, t) } else { b }
            });
            for (cp, s) in chunk_potential[r].iter_mut().zip(&per_chunk) {
                *cp = s[r * trials + best.1];
            }
            potential[r] = best.0;
            rows[r].push(candidates[r][best.1]);
            pending.push(candidates[r][best.1]);
        }
    }
    rows
}

/// The same chunk of each buffer: `out[ch][r]` is chunk `ch` (of [`CHUNK`] values) of
/// `buffers[r]`. The buffers have the same length.
fn chunks_of_each(buffers: &mut [Vec<f64>]) -> Vec<Vec<&mut [f64]>> {
    let chunks = buffers.first().map_or(0, |b| b.len().div_ceil(CHUNK));
    let mut out: Vec<Vec<&mut [f64]>> = (0..chunks)
        .map(|_| Vec::with_capacity(buffers.len()))
        .collect();
    for b in buffers.iter_mut() {
        for (o, c) in out.iter_mut().zip(b.chunks_mut(CHUNK)) {
            o.push(c);
        }
    }
    out
}

/// Sets every point's squared distance to its nearest centre, in each seeding's `closest`,
/// to its distance to that seeding's first centre in `first` (what lowering it from
/// infinity would give, without writing the infinity first), and returns each seeding's
/// potential, the sum of those distances, also kept per chunk for [`sample_d2`].
fn first_distances<'a>(
    x: Rows<'a>,
    closest: &mut [Vec<f64>],
    chunk_potential: &mut [Vec<f64>],
    first: &[usize],
) -> Vec<f64> {
    let centres = Centres::new(first.iter().map(|&r| x.at(r)), x.d);
    let per_chunk: Vec<Vec<f64>> = chunks_of_each(closest)
        .into_par_iter()
        .enumerate()
        .map(|(ch, closest)| {
            let len = closest.first().map_or(0, |c| c.len());
            wide(FirstDistances {
                x: x.range(ch * CHUNK, ch * CHUNK + len),
                closest,
                centres: &centres,
            })
        })
        .collect();
    chunk_potential
        .iter_mut()
        .enumerate()
        .map(|(r, cp)| {
            for (v, s) in cp.iter_mut().zip(&per_chunk) {
                *v = s[r];
            }
            cp.iter().sum()
        })
        .collect()
}

/// The index whose cumulative weight first exceeds u · total, found through the chunk sums
/// (all points weight 0: index 0). A point's weight is its entry of `closest`, lowered by
/// its distance to `pending` (a centre the chunk sums include but `closest` does not yet):
/// only the one chunk the walk ends in needs those distances.
fn sample_d2<'a>(
    x: Rows<'a>,
    closest: &[f64],
    chunk_sums: &[f64],
    total: f64,
    u: f64,
    pending: Option<usize>,
) -> usize {
    let weight = |i: usize| match pending {
        Some(p) => closest[i].min(sq_dist(x.at(i), x.at(p))),
        None => closest[i],
    };
    let last_positive = |from: usize, to: usize| (from..to).rev().find(|&i| weight(i) > 0.0);
    if total <= 0.0 {
        return 0;
    }
    let target = u * total;
    let mut acc = 0.0;
    for (ch, &cs) in chunk_sums.iter().enumerate() {
        if acc + cs > target {
            let end = ((ch + 1) * CHUNK).min(closest.len());
            for i in ch * CHUNK..end {
                acc += weight(i);
                if acc > target {
                    return i;
                }
            }
            // Rounding: the running sum fell just short of the chunk sum.
            return last_positive(ch * CHUNK, end).unwrap_or(ch * CHUNK);
        }
        acc += cs;
    }
    last_positive(0, closest.len()).unwrap_or(0)
}

/// Points per block of cached cluster sums: a power of two dividing [`CHUNK`], at least four
/// points per cluster so the cache stays under a quarter of the data's size.
fn sum_block(k: usize) -> usize {
    (4 * k).next_power_of_two().clamp(256, CHUNK)
}

/// Each block's per-cluster coordinate sums and counts, kept from one pass to the next: a
/// block none of whose points changed cluster has the sums it had, so its data need not be
/// read again.
struct BlockSums {
    sums: Vec<f64>,
    counts: Vec<u32>,
}

impl BlockSums {
    /// The sums of every cluster over all blocks, added block by block in order (so they do
    /// not depend on the threads), and the counts.
    fn totals(&self, k: usize, d: usize) -> (Vec<f64>, Vec<usize>) {
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0usize; k];
        for (bs, bc) in self
            .sums
            .chunks_exact(k * d)
            .zip(self.counts.chunks_exact(k))
        {
            for (a, b) in sums.iter_mut().zip(bs) {
                *a += b;
            }
            for (a, &b) in counts.iter_mut().zip(bc) {
                *a += b as usize;
            }
        }
        (sums, counts)
    }
}

/// Sums the points of one block (rows from `first`) into their clusters' sums and counts.
fn sum_into<'a>(x: Rows<'a>, first: usize, labels: &[u32], sums: &mut [f64], counts: &mut [u32]) {
    let d = x.d;
    sums.fill(0.0);
    counts.fill(0);
    for (j, &l) in labels.iter().enumerate() {
        let l = l as usize;
        counts[l] += 1;
        for (acc, v) in sums[l * d..(l + 1) * d].iter_mut().zip(x.at(first + j)) {
            *acc += v;
        }
    }
}

/// Lloyd iterations with Hamerly's bounds from the given centres.
///
/// Each iteration is one pass over the bounds: it reassigns the points whose bounds do not
/// rule a change out. The next centres are the means of the clusters, summed per block of
/// points and kept: only a block where some point changed cluster is summed again. On
/// overlapping clusters, where Lloyd needs dozens of rounds, the passes are memory-bound and
/// most points keep their cluster, so reading the data only for the points the bounds do not
/// settle and for the blocks that changed saves most of the traffic.
fn lloyd_hamerly<'a>(
    x: Rows<'a>,
    n: usize,
    centers: Array2<f64>,
    max_iter: usize,
    tol: f64,
    ws: &mut Workspace,
) -> Run {
    let (k, d) = (centers.nrows(), x.d);
    let kd = k * d;
    let mut c: Vec<f64> = centers.iter().copied().collect();
    let (labels, upper, lower) = (&mut ws.labels, &mut ws.upper, &mut ws.lower);
    let size = sum_block(k);
    let blocks = n.div_ceil(size);
    let mut cache = BlockSums {
        sums: vec![0.0; blocks * kd],
        counts: vec![0; blocks * k],
    };
    let per_chunk = CHUNK / size;
    let centres = Centres::of_rows(&c, d);
    // Exact first assignment, with the sums of the first clusters.
    labels
        .par_chunks_mut(CHUNK)
        .zip(upper.par_chunks_mut(CHUNK))
        .zip(lower.par_chunks_mut(CHUNK))
        .zip(cache.sums.par_chunks_mut(per_chunk * kd))
        .zip(cache.counts.par_chunks_mut(per_chunk * k))
        .enumerate()
        .for_each(|(ch, ((((lab, up), lo), bs), bc))| {
            wide(Assign {
                x: x.range(ch * CHUNK, ch * CHUNK + lab.len()),
                centres: &centres,
                labels: lab,
                upper: up,
                lower: lo,
            });
            let blocks = lab
                .chunks(size)
                .zip(bs.chunks_mut(kd))
                .zip(bc.chunks_mut(k));
            for (b, ((lb, s), m)) in blocks.enumerate() {
                sum_into(x, ch * CHUNK + b * size, lb, s, m);
            }
        });
    let (mut sums, mut counts) = cache.totals(k, d);
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
                    (sq_dist(x.at(i), &c[l * d..(l + 1) * d]), i)
                })
                .collect();
            far.par_sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            for (cl, &(_, i)) in empty.iter().zip(&far) {
                new_c[cl * d..(cl + 1) * d].copy_from_slice(x.at(i));
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
        let panel = Panel::of_rows(&c, d);
        let moves = Moves {
            shifts,
            half_gap,
            arg1,
            max1,
            max2,
        };
        let changed: usize = labels
            .par_chunks_mut(CHUNK)
            .zip(upper.par_chunks_mut(CHUNK))
            .zip(lower.par_chunks_mut(CHUNK))
            .zip(cache.sums.par_chunks_mut(per_chunk * kd))
            .zip(cache.counts.par_chunks_mut(per_chunk * k))
            .enumerate()
            .map(|(ch, ((((lab, up), lo), bs), bc))| {
                wide(Reassign {
                    x: x.range(ch * CHUNK, ch * CHUNK + lab.len()),
                    panel: &panel,
                    centers: &c,
                    moves: &moves,
                    block: size,
                    labels: lab,
                    upper: up,
                    lower: lo,
                    block_sums: bs,
                    block_counts: bc,
                })
            })
            .sum();
        (sums, counts) = cache.totals(k, d);
        if changed == 0 || total_shift <= tol {
            break;
        }
    }
    // The bounds keep every label exact for the final centres; the inertia needs only the
    // distance to the own centre.
    let inertia = ordered_sum(n, CHUNK, |i| {
        let l = labels[i] as usize;
        sq_dist(x.at(i), &c[l * d..(l + 1) * d])
    });
    Run {
        centers: Array2::from_shape_vec((k, d), c).unwrap_or_else(|_| Array2::zeros((k, d))),
        inertia,
        iterations,
    }
}

/// One chunk of a k-means++ scoring pass for several seedings: for each (its `trials`
/// candidates, then its pending centre when `pending`, in the centres' order), folds the
/// pending centre into each point's distance to the seeding's nearest centre, and sums per
/// candidate the distances the points would have with it added. Returns the sums, seeding
/// after seeding.
struct Score<'a, 'b> {
    x: Rows<'a>,
    closest: Vec<&'b mut [f64]>,
    centres: &'b Centres,
    trials: usize,
    pending: bool,
}

impl Kernel for Score<'_, '_> {
    type Out = Vec<f64>;

    #[inline(always)]
    fn run(self) -> Vec<f64> {
        let (trials, pending) = (self.trials, self.pending);
        let per = trials + usize::from(pending);
        let mut closest = self.closest;
        let len = closest.first().map_or(0, |c| c.len());
        let mut s = vec![0.0; trials * closest.len()];
        // Block by block in this loop, not in a closure: the per-block work is too large for
        // the compiler to inline a closure of it into the vectorised kernel.
        let mut blocks = self.centres.blocks();
        while let Some((first, w, out)) = blocks.next_block(self.x, len) {
            for ((cl, s), out) in closest
                .iter_mut()
                .zip(s.chunks_mut(trials))
                .zip(out.chunks(per))
            {
                let v = &mut cl[first..first + w];
                if pending {
                    for (v, &dp) in v.iter_mut().zip(&out[trials]) {
                        *v = v.min(dp);
                    }
                }
                // Up to W candidates' running sums side by side in registers, each still
                // added one point after another: the candidates' additions overlap instead
                // of waiting on each other. (Distances are sums of squares, never NaN, so
                // `<` picks what `f64::min` would.)
                for (sums, group) in s.chunks_mut(W).zip(out[..trials].chunks(W)) {
                    let mut acc = [0.0f64; W];
                    acc[..sums.len()].copy_from_slice(sums);
                    let mut tile = [[0.0f64; W]; W];
                    for (c, dc) in group.iter().enumerate() {
                        for (p, &dp) in dc.iter().enumerate() {
                            tile[p][c] = dp;
                        }
                    }
                    for (&v, row) in v.iter().zip(&tile) {
                        for c in 0..W {
                            acc[c] += if row[c] < v { row[c] } else { v };
                        }
                    }
                    sums.copy_from_slice(&acc[..sums.len()]);
                }
            }
        }
        s
    }
}

/// One chunk of the first pass for several seedings: each point's distance to a seeding's
/// nearest centre set to its distance to the seeding's first centre (centre r for seeding
/// r), and each seeding's sum of them, added point after point.
struct FirstDistances<'a, 'b> {
    x: Rows<'a>,
    closest: Vec<&'b mut [f64]>,
    centres: &'b Centres,
}

impl Kernel for FirstDistances<'_, '_> {
    type Out = Vec<f64>;

    #[inline(always)]
    fn run(self) -> Vec<f64> {
        let mut closest = self.closest;
        let len = closest.first().map_or(0, |c| c.len());
        let mut s = vec![0.0; closest.len()];
        let mut blocks = self.centres.blocks();
        while let Some((first, w, out)) = blocks.next_block(self.x, len) {
            for ((cl, s), dc) in closest.iter_mut().zip(s.iter_mut()).zip(out) {
                let mut acc = *s;
                for (v, &dc) in cl[first..first + w].iter_mut().zip(dc) {
                    *v = dc;
                    acc += dc;
                }
                *s = acc;
            }
        }
        s
    }
}

/// One chunk of the exact first assignment: each point's nearest centre and its distances
/// to the nearest and second-nearest (Hamerly's first bounds).
struct Assign<'a, 'b> {
    x: Rows<'a>,
    centres: &'b Centres,
    labels: &'b mut [u32],
    upper: &'b mut [f64],
    lower: &'b mut [f64],
}

impl Kernel for Assign<'_, '_> {
    type Out = ();

    #[inline(always)]
    fn run(self) {
        let (labels, upper, lower) = (self.labels, self.upper, self.lower);
        let n = labels.len();
        let mut blocks = self.centres.blocks();
        while let Some((first, w, out)) = blocks.next_block(self.x, n) {
            let (a, d1, d2) = nearest_two_in_lanes(out);
            for p in 0..w {
                labels[first + p] = a[p] as u32;
                upper[first + p] = d1[p].sqrt();
                lower[first + p] = d2[p].sqrt();
            }
        }
    }
}

/// How far the centres moved in one iteration, as Hamerly's bounds need it.
struct Moves {
    /// Each centre's move.
    shifts: Vec<f64>,
    /// Half the distance from each (moved) centre to its nearest other centre.
    half_gap: Vec<f64>,
    /// The centre that moved most, its move, and the largest move of the others.
    arg1: usize,
    max1: f64,
    max2: f64,
}

/// One chunk of a Hamerly iteration: moves each point's bounds with the centres, measures
/// the points the bounds do not settle, and sums again the blocks where a point changed
/// cluster. Returns how many changed.
struct Reassign<'a, 'b> {
    x: Rows<'a>,
    panel: &'b Panel,
    centers: &'b [f64],
    moves: &'b Moves,
    block: usize,
    labels: &'b mut [u32],
    upper: &'b mut [f64],
    lower: &'b mut [f64],
    block_sums: &'b mut [f64],
    block_counts: &'b mut [u32],
}

impl Kernel for Reassign<'_, '_> {
    type Out = usize;

    #[inline(always)]
    fn run(self) -> usize {
        let (x, d, size) = (self.x, self.x.d, self.block);
        let k = self.moves.shifts.len();
        let mv = self.moves;
        let mut changed = 0;
        let mut dist = vec![0.0; self.panel.padded()];
        let blocks = self
            .labels
            .chunks_mut(size)
            .zip(self.upper.chunks_mut(size))
            .zip(self.lower.chunks_mut(size))
            .zip(self.block_sums.chunks_mut(k * d))
            .zip(self.block_counts.chunks_mut(k));
        for (b, ((((lab, up), lo), s), m)) in blocks.enumerate() {
            let first = b * size;
            let mut moved = false;
            for j in 0..lab.len() {
                prefetch(x, first + j + AHEAD / 4, first + j + AHEAD / 4 + 1);
                let l = lab[j] as usize;
                up[j] += mv.shifts[l];
                lo[j] -= if l == mv.arg1 { mv.max2 } else { mv.max1 };
                let bound = mv.half_gap[l].max(lo[j]);
                if up[j] > bound {
                    let p = x.at(first + j);
                    up[j] = sq_dist(p, &self.centers[l * d..(l + 1) * d]).sqrt();
                    if up[j] > bound {
                        let (a, d1, d2) = self.panel.nearest_two(p, &mut dist);
                        moved |= a != l;
                        changed += usize::from(a != l);
                        lab[j] = a as u32;
                        up[j] = d1;
                        lo[j] = d2;
                    }
                }
            }
            if moved {
                sum_into(x, first, lab, s, m);
            }
        }
        changed
    }
}

/// The nearest centre of a point, and the distances (not squared) to the nearest and the
/// second-nearest centre; ties go to the lower index. `centers` is k rows of d values. The
/// plain form — one distance at a time, then a stable sort — that [`Panel::nearest_two`]
/// and the first assignment must equal.
#[cfg(test)]
pub(super) fn nearest_two(p: &[f64], centers: &[f64], d: usize) -> (usize, f64, f64) {
    let mut dists: Vec<(f64, usize)> = centers
        .chunks_exact(d.max(1))
        .map(|row| sq_dist(p, row))
        .zip(0..)
        .collect();
    // Stable: among equal distances the lower index stays first.
    dists.sort_by(|a, b| a.0.total_cmp(&b.0));
    let second = dists.get(1).map_or(f64::INFINITY, |s| s.0);
    (dists[0].1, dists[0].0.sqrt(), second.sqrt())
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
        let x = Rows { flat, d: 5 };
        let mut ws = Workspace::new(3_000);
        let init = seed_centers(flat, 3_000, 5, 6, 42);
        let fast = lloyd_hamerly(x, 3_000, init.clone(), 500, 0.0, &mut ws);
        // Plain Lloyd, written out.
        let mut c = init;
        for _ in 0..500 {
            let mut sums = [0.0; 30];
            let mut counts = [0usize; 6];
            for i in 0..3_000 {
                let l = (0..6)
                    .min_by(|&a, &b| {
                        sq_dist(x.at(i), c.row(a).as_slice().unwrap())
                            .total_cmp(&sq_dist(x.at(i), c.row(b).as_slice().unwrap()))
                    })
                    .unwrap();
                counts[l] += 1;
                for j in 0..5 {
                    sums[l * 5 + j] += x.at(i)[j];
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

    /// The one-pass-per-centre seeding picks the rows the two-pass form picks (score the
    /// candidates; then fold the winner into every point's distance), written out here the
    /// plain way: the same draws, the same sums in the same order.
    #[test]
    fn fused_seeding_equals_the_two_pass_form() {
        fn two_pass(flat: &[f64], n: usize, d: usize, k: usize, seed: u64) -> Vec<usize> {
            let x = |i: usize| &flat[i * d..(i + 1) * d];
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let trials = 2 + (k as f64).ln().floor() as usize;
            let first = rng.gen_range(0..n);
            let mut rows = vec![first];
            let mut closest = vec![f64::INFINITY; n];
            let chunk_sums = |closest: &[f64]| -> Vec<f64> {
                closest
                    .chunks(CHUNK)
                    .map(|c| c.iter().fold(0.0, |s, v| s + v))
                    .collect()
            };
            let absorb = |closest: &mut Vec<f64>, c: usize| {
                for (i, v) in closest.iter_mut().enumerate() {
                    *v = v.min(sq_dist(x(i), x(c)));
                }
            };
            absorb(&mut closest, first);
            for _ in 1..k {
                let sums = chunk_sums(&closest);
                let total: f64 = sums.iter().sum();
                let candidates: Vec<usize> = (0..trials)
                    .map(|_| {
                        let target = rng.r#gen::<f64>() * total;
                        let mut acc = 0.0;
                        for (ch, &cs) in sums.iter().enumerate() {
                            if acc + cs > target {
                                let end = ((ch + 1) * CHUNK).min(n);
                                for (i, &w) in closest.iter().enumerate().take(end).skip(ch * CHUNK)
                                {
                                    acc += w;
                                    if acc > target {
                                        return i;
                                    }
                                }
                                return (ch * CHUNK..end)
                                    .rev()
                                    .find(|&i| closest[i] > 0.0)
                                    .unwrap_or(ch * CHUNK);
                            }
                            acc += cs;
                        }
                        (0..n).rev().find(|&i| closest[i] > 0.0).unwrap_or(0)
                    })
                    .collect();
                let mut best = (f64::INFINITY, candidates[0]);
                for &cand in &candidates {
                    let with: Vec<f64> = closest
                        .iter()
                        .enumerate()
                        .map(|(i, v)| v.min(sq_dist(x(i), x(cand))))
                        .collect();
                    let pot: f64 = chunk_sums(&with).iter().sum();
                    if pot < best.0 {
                        best = (pot, cand);
                    }
                }
                rows.push(best.1);
                absorb(&mut closest, best.1);
            }
            rows
        }
        for (n, d, k, seed) in [(9_000, 3, 8, 1), (20_000, 5, 12, 2), (500, 2, 30, 3)] {
            let b = blobs(&BlobsConfig::new(n, d, 6).with_spread(2.0).with_seed(seed)).unwrap();
            let flat = b.data.as_slice().unwrap();
            let fused = seed_rows(flat, n, d, k, seed);
            assert_eq!(fused, two_pass(flat, n, d, k, seed), "n {n} d {d} k {k}");
            // Seeded together, each seeding picks what it picks alone.
            let seeds = [seed, seed + 100, seed ^ 0xABCD, 7];
            let mut closest: Vec<Vec<f64>> = seeds.iter().map(|_| vec![0.0; n]).collect();
            let together = plus_plus_rows(Rows { flat, d }, n, k, &seeds, &mut closest);
            for (&s, rows) in seeds.iter().zip(&together) {
                assert_eq!(
                    *rows,
                    two_pass(flat, n, d, k, s),
                    "n {n} d {d} k {k} seed {s}"
                );
            }
        }
    }

    /// Several chunks of points (the parallel split), blocks of sums dirtied and kept over
    /// many rounds (overlapping clusters): the same centres, labels and inertia to the bit at
    /// 1, 2 and 16 threads.
    #[test]
    fn many_chunks_are_thread_invariant() {
        let b = blobs(&BlobsConfig::new(20_000, 5, 6).with_spread(3.0).with_seed(4)).unwrap();
        let p = KMeansParams::new(6).unwrap().with_n_init(2).unwrap();
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| kmeans(b.data.view(), &p).unwrap())
        };
        let one = run(1);
        assert!(one.iterations > 3, "{} rounds", one.iterations);
        for t in [2, 16] {
            let other = run(t);
            assert_eq!(other.labels, one.labels, "{t} threads");
            assert_eq!(
                other.inertia.to_bits(),
                one.inertia.to_bits(),
                "{t} threads"
            );
            let bits = |c: &Array2<f64>| c.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&other.centers), bits(&one.centers), "{t} threads");
        }
    }

    /// Restarts seeded together, in groups that divide the restarts or not, give the fit of
    /// restarts seeded one at a time, to the bit. With k above the blobs' count the restarts
    /// end in different local optima, so the best of the first j restarts changes with j:
    /// each restart's seeds (not only the first one's) are checked that way.
    #[test]
    fn restarts_seeded_together_equal_one_at_a_time() {
        // Three wide blobs in two dimensions, nine clusters: no one best partition.
        let b = blobs(&BlobsConfig::new(9_000, 2, 3).with_spread(6.0).with_seed(11)).unwrap();
        let flat = b.data.as_slice().unwrap();
        let x = Rows { flat, d: 2 };
        let bits = |r: &Run| {
            let mut v: Vec<u64> = r.centers.iter().map(|c| c.to_bits()).collect();
            v.extend([r.inertia.to_bits(), r.iterations as u64]);
            v
        };
        let mut best_inertias = Vec::new();
        for n_init in 1..=7 {
            let p = KMeansParams::new(9)
                .unwrap()
                .with_n_init(n_init)
                .unwrap()
                .with_seed(3);
            let tol = p.tol * variance_mean(flat, 9_000, 2);
            let (one, one_labels) = restarts(x, 9_000, &p, tol, 1).unwrap();
            for group in [2, 3, 7, 50] {
                let (g, labels) = restarts(x, 9_000, &p, tol, group).unwrap();
                assert_eq!(bits(&g), bits(&one), "{n_init} restarts, group {group}");
                assert_eq!(labels, one_labels, "{n_init} restarts, group {group}");
            }
            best_inertias.push(one.inertia);
        }
        best_inertias.dedup();
        assert!(best_inertias.len() >= 3, "{best_inertias:?}");
        assert_eq!(seeding_group(1_000_000, 10), 10);
        assert_eq!(seeding_group(1_000_000, 1_000), 16);
        assert_eq!(seeding_group(2_000_000, 10), 8);
        assert_eq!(seeding_group(1 << 23, 10), 2);
        assert_eq!(seeding_group((1 << 23) + 1, 10), 1);
        assert_eq!(seeding_group(usize::MAX, 10), 1);
        assert_eq!(seeding_group(0, 0), 1);
    }

    /// The first assignment, eight points side by side, gives each point the plain nearest
    /// centre and distances, ties to the lower index: on points that sit on a centre (one of
    /// them on a centre given twice: an exact tie) or halfway between two, in the plain build
    /// and the AVX2 one, and for partial blocks.
    #[test]
    fn first_assignment_is_the_plain_nearest_two() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(21);
        let d = 3;
        let mut centres: Vec<f64> = (0..5 * d).map(|_| rng.gen_range(-2.0..2.0)).collect();
        // Centre 4 repeats centre 1.
        let copy: Vec<f64> = centres[d..2 * d].to_vec();
        centres[4 * d..5 * d].copy_from_slice(&copy);
        let mut points: Vec<f64> = (0..203 * d).map(|_| rng.gen_range(-3.0..3.0)).collect();
        // Points on centres 0 and 1 (= 4), and halfway between centres 2 and 3.
        points[..d].copy_from_slice(&centres[..d]);
        points[d..2 * d].copy_from_slice(&copy);
        for j in 0..d {
            points[2 * d + j] = (centres[2 * d + j] + centres[3 * d + j]) / 2.0;
        }
        let cs = Centres::of_rows(&centres, d);
        for n in [203, 8, 5] {
            let x = Rows {
                flat: &points[..n * d],
                d,
            };
            let (mut labels, mut upper, mut lower) = (vec![0; n], vec![0.0; n], vec![0.0; n]);
            let assign = |labels: &mut [u32], upper: &mut [f64], lower: &mut [f64], avx2: bool| {
                let k = Assign {
                    x,
                    centres: &cs,
                    labels,
                    upper,
                    lower,
                };
                if avx2 { wide(k) } else { k.run() }
            };
            for avx2 in [false, true] {
                // Nothing left from the other build can pass for this one's output.
                labels.fill(u32::MAX);
                upper.fill(f64::NAN);
                lower.fill(f64::NAN);
                assign(&mut labels, &mut upper, &mut lower, avx2);
                for i in 0..n {
                    let (a, d1, d2) = nearest_two(x.at(i), &centres, d);
                    assert_eq!(labels[i] as usize, a, "point {i} of {n}");
                    assert_eq!(upper[i].to_bits(), d1.to_bits(), "point {i} of {n}");
                    assert_eq!(lower[i].to_bits(), d2.to_bits(), "point {i} of {n}");
                }
            }
            assert_eq!((labels[0], upper[0]), (0, 0.0));
            assert_eq!((labels[1], upper[1], lower[1]), (1, 0.0, 0.0));
        }
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
