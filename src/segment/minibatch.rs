//! Mini-batch k-means (Sculley 2010, "Web-scale k-means clustering"), for bases too large
//! to iterate over whole.
//!
//! Each step draws a small random batch, assigns its points to the nearest centre and moves
//! every centre that received points towards their mean with a per-centre learning rate of
//! 1 / (points it has seen so far), so a centre settles as its count grows. The centres come
//! from k-means++ on a sample of `init_size` points (the best of `n_init` seedings, judged on
//! that sample). Steps stop after `max_iter` passes' worth of batches, or earlier when the
//! exponentially smoothed batch inertia has not improved for `max_no_improvement` steps (the
//! rules and defaults are scikit-learn's `MiniBatchKMeans`, without its random reassignment
//! of rarely hit centres). Every point is then labelled by its nearest centre in parallel.
//!
//! The steps are sequential and every draw comes from the seed, so the result does not
//! depend on the number of threads. The inertia is usually a little above a full k-means
//! fit's: mini-batch trades a small loss of quality for speed on large data.

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::kmeans::{
    CHUNK, MAX_ITERATIONS, MAX_RESTARTS, Rows, check_k, check_k_positive, count_in, seed_centers,
};
use super::panel::{Centres, nearest_two_in_lanes};
use crate::error::{Error, Result};
use crate::simd::{Kernel, wide};

/// Settings of mini-batch k-means (ours), checked when built: k ≥ 1, batches, passes and
/// seedings at least 1. Whether k fits the data is checked when fitting. Deserializing runs
/// the same checks.
///
/// ```
/// use custseg::segment::MiniBatchParams;
/// let p = MiniBatchParams::new(8)?.with_batch_size(2_048)?.with_seed(3);
/// assert_eq!((p.k(), p.batch_size(), p.seed()), (8, 2_048, 3));
/// assert!(MiniBatchParams::new(8)?.with_batch_size(0).is_err());
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MiniBatchRecord")]
pub struct MiniBatchParams {
    pub(crate) k: usize,
    pub(crate) batch_size: usize,
    pub(crate) max_iter: usize,
    pub(crate) max_no_improvement: usize,
    pub(crate) init_size: usize,
    pub(crate) n_init: usize,
    pub(crate) seed: u64,
}

#[derive(Deserialize)]
struct MiniBatchRecord {
    k: usize,
    batch_size: usize,
    max_iter: usize,
    max_no_improvement: usize,
    init_size: usize,
    n_init: usize,
    seed: u64,
}

impl TryFrom<MiniBatchRecord> for MiniBatchParams {
    type Error = Error;
    fn try_from(r: MiniBatchRecord) -> Result<Self> {
        Ok(MiniBatchParams::new(r.k)?
            .with_batch_size(r.batch_size)?
            .with_max_iter(r.max_iter)?
            .with_max_no_improvement(r.max_no_improvement)
            .with_init_size(r.init_size)
            .with_n_init(r.n_init)?
            .with_seed(r.seed))
    }
}

impl MiniBatchParams {
    /// k clusters, batches of 1,024, 100 passes at most, stop after 10 steps without
    /// improvement, one seeding on 3,072 points, seed 0 (scikit-learn's defaults).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for k = 0.
    pub fn new(k: usize) -> Result<Self> {
        check_k_positive(k)?;
        Ok(MiniBatchParams {
            k,
            batch_size: 1024,
            max_iter: 100,
            max_no_improvement: 10,
            init_size: 0,
            n_init: 1,
            seed: 0,
        })
    }

    /// Sets the points per batch.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0.
    pub fn with_batch_size(mut self, batch_size: usize) -> Result<Self> {
        self.batch_size = count_in("batch_size", batch_size, usize::MAX)?;
        Ok(self)
    }

    /// Sets the budget in passes over the data: at most `max_iter` × n / `batch_size` steps.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0 or more than [`MAX_ITERATIONS`](super::MAX_ITERATIONS).
    pub fn with_max_iter(mut self, max_iter: usize) -> Result<Self> {
        self.max_iter = count_in("max_iter", max_iter, MAX_ITERATIONS)?;
        Ok(self)
    }

    /// Stops after this many steps without a better smoothed batch inertia (0: never).
    pub fn with_max_no_improvement(mut self, steps: usize) -> Self {
        self.max_no_improvement = steps;
        self
    }

    /// Sets the points sampled for the k-means++ seeding (0: 3 × `batch_size`, at least 3 k).
    pub fn with_init_size(mut self, init_size: usize) -> Self {
        self.init_size = init_size;
        self
    }

    /// Sets the seedings tried on the sample (the lowest inertia there wins).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0 or more than [`MAX_RESTARTS`](super::MAX_RESTARTS).
    pub fn with_n_init(mut self, n_init: usize) -> Result<Self> {
        self.n_init = count_in("n_init", n_init, MAX_RESTARTS)?;
        Ok(self)
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Clusters.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Points per batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Budget in passes over the data.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }

    /// Steps without improvement before stopping (0: never).
    pub fn max_no_improvement(&self) -> usize {
        self.max_no_improvement
    }

    /// Points sampled for the seeding (0: the default).
    pub fn init_size(&self) -> usize {
        self.init_size
    }

    /// Seedings tried.
    pub fn n_init(&self) -> usize {
        self.n_init
    }

    /// Seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Points in the seeding sample for n points.
    fn init_points(&self, n: usize) -> usize {
        let wanted = if self.init_size == 0 {
            (3 * self.batch_size).max(3 * self.k)
        } else {
            self.init_size.max(self.k)
        };
        wanted.min(n)
    }
}

/// A mini-batch k-means solution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MiniBatchFit {
    /// Centres, one row per cluster.
    pub centers: Array2<f64>,
    /// Cluster of every point (its nearest centre).
    pub labels: Vec<usize>,
    /// Sum of squared distances of all points to their centres.
    pub inertia: f64,
    /// Mini-batch steps taken.
    pub steps: usize,
}

/// Clusters the rows of `data` by mini-batch k-means. Reached through [`Fit`](crate::Fit)
/// on [`MiniBatchParams`] or [`Strategy::MiniBatchKMeans`](super::Strategy), both of which
/// check the rows first (finite and within
/// [`MAX_COORDINATE`](super::MAX_COORDINATE), naming the first bad one): not checked again
/// here, where a second pass over the points would be a tenth of the fit.
///
/// # Errors
/// [`Error::InvalidParameter`] for k larger than the number of points.
pub(crate) fn minibatch_kmeans(
    data: ArrayView2<'_, f64>,
    params: &MiniBatchParams,
) -> Result<MiniBatchFit> {
    let n = data.nrows();
    check_k(params.k, n)?;
    // Every caller has at least one column (`fit_strategy` refuses none): with none, the
    // batches below would gather nothing.
    debug_assert!(data.ncols() > 0, "mini-batch k-means needs a column");
    let data = data.as_standard_layout();
    let d = data.ncols();
    let flat = data.as_slice().unwrap_or(&[]);
    let x = |i: usize| &flat[i * d..(i + 1) * d];
    let k = params.k;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(params.seed);

    // Seeding on a sample drawn without replacement; each seeding judged on that sample.
    let m = params.init_points(n);
    let sample: Vec<f64> = rand::seq::index::sample(&mut rng, n, m)
        .into_iter()
        .flat_map(|i| x(i).iter().copied())
        .collect();
    let mut centers = Array2::zeros((k, d));
    let mut best = f64::INFINITY;
    let mut sample_labels = vec![0usize; m];
    for _ in 0..params.n_init {
        let c = seed_centers(&sample, m, d, k, rng.r#gen());
        let cost = wide(Nearest {
            x: Rows { flat: &sample, d },
            centres: &Centres::of_rows(c.as_slice().unwrap_or(&[]), d),
            labels: &mut sample_labels,
            dists: None,
        });
        if cost < best {
            best = cost;
            centers = c;
        }
    }

    // Steps.
    let batch = params.batch_size.min(n);
    let max_steps = (params.max_iter.saturating_mul(n) / batch).max(1);
    let alpha = (2.0 * batch as f64 / (n as f64 + 1.0)).min(1.0);
    let mut seen = vec![0.0f64; k];
    // The batch's points, gathered, with each one's nearest centre and distance to it.
    let mut points = vec![0.0f64; batch * d];
    let mut labels_b = vec![0usize; batch];
    let mut dists_b = vec![0.0f64; batch];
    let (mut ewa, mut ewa_min, mut stale) = (f64::NAN, f64::INFINITY, 0usize);
    let mut steps = 0;
    let mut sums = vec![0.0f64; k * d];
    let mut counts = vec![0usize; k];
    while steps < max_steps {
        steps += 1;
        let idx: Vec<usize> = (0..batch).map(|_| rng.gen_range(0..n)).collect();
        let centres = Centres::of_rows(centers.as_slice().unwrap_or(&[]), d);
        // Random reads from a large matrix wait on memory: each fixed share of the batch
        // gathers its points (loads that do not wait on each other, so the misses overlap)
        // and measures them against the centres a block at a time; then everything is summed
        // in batch order, so the result stays the same at any thread count.
        points
            .par_chunks_mut(STEP_SHARE * d.max(1))
            .zip(labels_b.par_chunks_mut(STEP_SHARE))
            .zip(dists_b.par_chunks_mut(STEP_SHARE))
            .zip(idx.par_chunks(STEP_SHARE))
            .for_each(|(((pts, labels), dists), ids)| {
                for (row, &i) in pts.chunks_exact_mut(d.max(1)).zip(ids) {
                    row.copy_from_slice(x(i));
                }
                wide(Nearest {
                    x: Rows { flat: pts, d },
                    centres: &centres,
                    labels,
                    dists: Some(dists),
                });
            });
        let batch_inertia: f64 = dists_b.iter().sum();
        sums.fill(0.0);
        counts.fill(0);
        for (p, &c) in points.chunks_exact(d.max(1)).zip(&labels_b) {
            counts[c] += 1;
            for (s, v) in sums[c * d..(c + 1) * d].iter_mut().zip(p) {
                *s += v;
            }
        }
        for c in 0..k {
            if counts[c] == 0 {
                continue;
            }
            let before = seen[c];
            seen[c] += counts[c] as f64;
            for (j, centre) in centers.row_mut(c).iter_mut().enumerate() {
                *centre = (*centre * before + sums[c * d + j]) / seen[c];
            }
        }
        // Early stop on the smoothed mean batch inertia, as scikit-learn does. The first
        // batch measures the seeding, not the steps: starting the average there would have
        // it fall for about 1/alpha steps before it can stall.
        if steps == 1 {
            continue;
        }
        let per_point = batch_inertia / batch as f64;
        ewa = if ewa.is_nan() {
            per_point
        } else {
            ewa * (1.0 - alpha) + per_point * alpha
        };
        if ewa < ewa_min {
            ewa_min = ewa;
            stale = 0;
        } else {
            stale += 1;
            if params.max_no_improvement > 0 && stale >= params.max_no_improvement {
                break;
            }
        }
    }

    // Every point to its nearest centre, the inertia summed per fixed chunk in order. The
    // points stream past the centres a block at a time (`Centres`: the distances of
    // `sq_dist` to the bit, one point per vector lane), which is most of a fit's time done
    // several times faster than one point against one centre at a time.
    let all = Rows { flat, d };
    let centres = Centres::of_rows(centers.as_slice().unwrap_or(&[]), d);
    let mut labels = vec![0usize; n];
    let chunk_inertia: Vec<f64> = labels
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(ch, out)| {
            wide(Nearest {
                x: all.range(ch * CHUNK, ch * CHUNK + out.len()),
                centres: &centres,
                labels: out,
                dists: None,
            })
        })
        .collect();
    let inertia = chunk_inertia.iter().sum();
    Ok(MiniBatchFit {
        centers,
        labels,
        inertia,
        steps,
    })
}

/// Points of a batch per parallel share of a mini-batch step.
const STEP_SHARE: usize = 512;

/// Each point's nearest centre (ties: the lower index), and the sum of the squared distances
/// to them in point order; each distance too, when `dists` is given. The points stream past
/// the centres a block at a time ([`Centres`]: the distances of `sq_dist` to the bit, one
/// point per vector lane).
struct Nearest<'a, 'b> {
    x: Rows<'a>,
    centres: &'b Centres,
    labels: &'b mut [usize],
    dists: Option<&'b mut [f64]>,
}

impl Kernel for Nearest<'_, '_> {
    type Out = f64;

    #[inline(always)]
    fn run(self) -> f64 {
        let (labels, mut dists) = (self.labels, self.dists);
        let n = labels.len();
        let mut s = 0.0;
        let mut blocks = self.centres.blocks();
        while let Some((first, w, out)) = blocks.next_block(self.x, n) {
            // The second nearest is not needed here; it costs two selects a centre.
            let (label, best, _) = nearest_two_in_lanes(out);
            for p in 0..w {
                labels[first + p] = label[p];
                if let Some(dists) = dists.as_deref_mut() {
                    dists[first + p] = best[p];
                }
                s += best[p];
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::{BlobsConfig, blobs};

    /// Centres move to the running mean of the points they were given: one centre, batches
    /// covering the data exactly once in total, lands on the data mean.
    #[test]
    fn one_centre_converges_to_the_mean() {
        let b = blobs(&BlobsConfig::new(5_000, 3, 4).with_spread(2.0).with_seed(3)).unwrap();
        let fit = minibatch_kmeans(
            b.data.view(),
            &MiniBatchParams::new(1)
                .unwrap()
                .with_batch_size(500)
                .unwrap()
                .with_max_no_improvement(0),
        )
        .unwrap();
        let mean = b.data.mean_axis(ndarray::Axis(0)).unwrap();
        for (c, m) in fit.centers.row(0).iter().zip(mean.iter()) {
            assert!((c - m).abs() < 0.1, "{c} vs {m}");
        }
        assert_eq!(fit.steps, 100 * 5_000 / 500);
    }

    /// Every point labelled with its nearest centre by `sq_dist` (ties to the lower index),
    /// and the inertia the chunks' sums of those distances added in order: what the block
    /// kernels give, checked against the plain one-point-one-centre loop, with a dimension
    /// that is not a multiple of four and batches that end in a partial share; and the whole
    /// fit the same at one thread and at three.
    #[test]
    fn labels_and_inertia_are_the_plain_nearest_centres() {
        use super::super::kmeans::sq_dist;
        let b = blobs(&BlobsConfig::new(CHUNK + 4_321, 5, 6).with_seed(11)).unwrap();
        let params = MiniBatchParams::new(6)
            .unwrap()
            .with_batch_size(STEP_SHARE * 3 + 100)
            .unwrap()
            .with_n_init(2)
            .unwrap();
        let fit = minibatch_kmeans(b.data.view(), &params).unwrap();
        let flat = b.data.as_slice().unwrap();
        let centres = fit.centers.as_slice().unwrap();
        let nearest = |p: &[f64]| {
            let mut best = (0, f64::INFINITY);
            for (c, row) in centres.chunks_exact(5).enumerate() {
                let dist = sq_dist(p, row);
                if dist < best.1 {
                    best = (c, dist);
                }
            }
            best
        };
        let mut chunk_sums = Vec::new();
        for (ch, points) in flat.chunks(CHUNK * 5).enumerate() {
            let mut s = 0.0;
            for (j, p) in points.chunks_exact(5).enumerate() {
                let (c, dist) = nearest(p);
                assert_eq!(fit.labels[ch * CHUNK + j], c, "point {}", ch * CHUNK + j);
                s += dist;
            }
            chunk_sums.push(s);
        }
        let inertia: f64 = chunk_sums.iter().sum();
        assert_eq!(fit.inertia.to_bits(), inertia.to_bits());
        assert!(fit.steps > 1);
        // The same fit, to the bit, at one thread and at three (shares and sums are fixed by
        // the input, not by the threads).
        for threads in [1, 3] {
            let again = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| minibatch_kmeans(b.data.view(), &params).unwrap());
            assert_eq!(again.labels, fit.labels, "{threads} threads");
            assert_eq!(again.steps, fit.steps, "{threads} threads");
            assert_eq!(again.inertia.to_bits(), fit.inertia.to_bits());
            assert!(
                again
                    .centers
                    .iter()
                    .zip(fit.centers.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{threads} threads"
            );
        }
    }
}
