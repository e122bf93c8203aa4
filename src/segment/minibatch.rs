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
    CHUNK, MAX_ITERATIONS, MAX_RESTARTS, check_k, check_k_positive, count_in, seed_centers, sq_dist,
};
use crate::error::{Error, Position, Result};

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

/// Clusters the rows of `data` (finite values; checked) by mini-batch k-means. Reached
/// through [`Fit`](crate::Fit) on [`MiniBatchParams`] or
/// [`Strategy::MiniBatchKMeans`](super::Strategy).
///
/// # Errors
/// [`Error::InvalidParameter`] for k larger than the number of points; [`Error::NonFinite`]
/// naming the first row with a NaN or infinity.
pub(crate) fn minibatch_kmeans(
    data: ArrayView2<'_, f64>,
    params: &MiniBatchParams,
) -> Result<MiniBatchFit> {
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
    for _ in 0..params.n_init {
        let c = seed_centers(&sample, m, d, k, rng.r#gen());
        let flat_c = c.as_slice().unwrap_or(&[]);
        let cost: f64 = sample
            .chunks_exact(d.max(1))
            .map(|p| nearest(p, flat_c, d).1)
            .sum();
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
    let mut assigned: Vec<(usize, f64)> = Vec::with_capacity(batch);
    let (mut ewa, mut ewa_min, mut stale) = (f64::NAN, f64::INFINITY, 0usize);
    let mut steps = 0;
    let mut sums = vec![0.0f64; k * d];
    let mut counts = vec![0usize; k];
    while steps < max_steps {
        steps += 1;
        let idx: Vec<usize> = (0..batch).map(|_| rng.gen_range(0..n)).collect();
        let flat_c = centers.as_slice().unwrap_or(&[]);
        // Random reads from a large matrix wait on memory: assign the batch in parallel
        // (each point on its own), then sum in batch order so the result stays the same at
        // any thread count.
        idx.par_iter()
            .with_min_len(256)
            .map(|&i| nearest(x(i), flat_c, d))
            .collect_into_vec(&mut assigned);
        let batch_inertia: f64 = assigned.iter().map(|a| a.1).sum();
        sums.fill(0.0);
        counts.fill(0);
        for (&i, &(c, _)) in idx.iter().zip(&assigned) {
            counts[c] += 1;
            for (s, v) in sums[c * d..(c + 1) * d].iter_mut().zip(x(i)) {
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

    // Every point to its nearest centre, the inertia summed per fixed chunk in order.
    let flat_c = centers.as_slice().unwrap_or(&[]);
    let mut labels = vec![0usize; n];
    let chunk_inertia: Vec<f64> = labels
        .par_chunks_mut(CHUNK)
        .enumerate()
        .map(|(ch, out)| {
            let mut s = 0.0;
            for (j, l) in out.iter_mut().enumerate() {
                let (c, dist) = nearest(x(ch * CHUNK + j), flat_c, d);
                *l = c;
                s += dist;
            }
            s
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

/// The nearest centre of a point and the squared distance to it (ties: the lower index).
fn nearest(p: &[f64], centers: &[f64], d: usize) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (c, row) in centers.chunks_exact(d.max(1)).enumerate() {
        let dist = sq_dist(p, row);
        if dist < best.1 {
            best = (c, dist);
        }
    }
    best
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
}
