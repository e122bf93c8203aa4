//! k-prototypes for mixed numeric and categorical data (Huang 1998, "Extensions to the k-means
//! algorithm for clustering large data sets with categorical values").
//!
//! The dissimilarity of a point to a prototype is the squared Euclidean distance on the
//! numeric columns plus γ times the number of categorical columns where they differ; a
//! prototype is the mean of its points' numeric values and the mode of each categorical
//! column. Like the `kmodes` package, γ defaults to half the mean standard deviation of the
//! numeric columns. We run the batch (Lloyd-style) iteration — assign every point, then update
//! every prototype — seeded by k-means++ on the same dissimilarity, in parallel and
//! deterministically (ties go to the lowest level / prototype index).

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::kmeans::{MAX_ITERATIONS, MAX_RESTARTS, check_k, check_k_positive, count_in};
use crate::error::{Error, Position, Result, finite_non_negative};

/// Settings of k-prototypes, checked when built: k ≥ 1, at least one restart and iteration,
/// γ finite and ≥ 0 when given. Whether k fits the data is checked when fitting.
/// Deserializing runs the same checks.
///
/// ```
/// use custseg::segment::KPrototypesParams;
/// let p = KPrototypesParams::new(4)?.with_gamma(0.5)?.with_seed(2);
/// assert_eq!((p.k(), p.gamma(), p.n_init()), (4, Some(0.5), 5));
/// assert!(KPrototypesParams::new(4)?.with_gamma(-1.0).is_err());
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "KPrototypesRecord")]
pub struct KPrototypesParams {
    pub(crate) k: usize,
    pub(crate) gamma: Option<f64>,
    pub(crate) n_init: usize,
    pub(crate) max_iter: usize,
    pub(crate) seed: u64,
}

#[derive(Deserialize)]
struct KPrototypesRecord {
    k: usize,
    gamma: Option<f64>,
    n_init: usize,
    max_iter: usize,
    seed: u64,
}

impl TryFrom<KPrototypesRecord> for KPrototypesParams {
    type Error = Error;
    fn try_from(r: KPrototypesRecord) -> Result<Self> {
        let p = KPrototypesParams::new(r.k)?
            .with_n_init(r.n_init)?
            .with_max_iter(r.max_iter)?
            .with_seed(r.seed);
        match r.gamma {
            Some(g) => p.with_gamma(g),
            None => Ok(p),
        }
    }
}

impl KPrototypesParams {
    /// k clusters, default γ, 5 restarts, 100 iterations, seed 0.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for k = 0.
    pub fn new(k: usize) -> Result<Self> {
        check_k_positive(k)?;
        Ok(KPrototypesParams {
            k,
            gamma: None,
            n_init: 5,
            max_iter: 100,
            seed: 0,
        })
    }

    /// Sets the weight of a categorical mismatch (default: half the mean standard deviation
    /// of the numeric columns).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite γ.
    pub fn with_gamma(mut self, gamma: f64) -> Result<Self> {
        self.gamma = Some(finite_non_negative("gamma", gamma)?);
        Ok(self)
    }

    /// Sets the restarts (the lowest cost wins).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0 or more than [`MAX_RESTARTS`](super::MAX_RESTARTS).
    pub fn with_n_init(mut self, n_init: usize) -> Result<Self> {
        self.n_init = count_in("n_init", n_init, MAX_RESTARTS)?;
        Ok(self)
    }

    /// Sets the iteration budget per restart.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0 or more than [`MAX_ITERATIONS`](super::MAX_ITERATIONS).
    pub fn with_max_iter(mut self, max_iter: usize) -> Result<Self> {
        self.max_iter = count_in("max_iter", max_iter, MAX_ITERATIONS)?;
        Ok(self)
    }

    /// Sets the master seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Clusters.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Weight of a categorical mismatch (`None`: the default, from the data).
    pub fn gamma(&self) -> Option<f64> {
        self.gamma
    }

    /// Restarts.
    pub fn n_init(&self) -> usize {
        self.n_init
    }

    /// Iteration budget per restart.
    pub fn max_iter(&self) -> usize {
        self.max_iter
    }

    /// Master seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// A k-prototypes solution.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KPrototypesFit {
    /// Numeric part of each prototype.
    pub centers: Array2<f64>,
    /// Categorical part (level codes) of each prototype.
    pub modes: Array2<u32>,
    /// The γ used.
    pub gamma: f64,
    /// Cluster of every point.
    pub labels: Vec<usize>,
    /// Total dissimilarity of the points to their prototypes.
    pub cost: f64,
    /// Iterations of the winning restart.
    pub iterations: usize,
}

/// Dissimilarity of a point to a prototype.
pub(crate) fn dissimilarity(
    num: &[f64],
    cat: &[u32],
    center: &[f64],
    mode: &[u32],
    gamma: f64,
) -> f64 {
    let d: f64 = num.iter().zip(center).map(|(a, b)| (a - b) * (a - b)).sum();
    let m = cat.iter().zip(mode).filter(|(a, b)| a != b).count();
    d + gamma * m as f64
}

/// Clusters points given by a numeric matrix and a categorical matrix of level codes (same
/// rows). Reached through [`Fit`](crate::Fit) on [`KPrototypesParams`] or
/// [`Strategy::KPrototypes`](super::Strategy).
///
/// # Errors
/// [`Error::LengthMismatch`] when the matrices differ in rows; [`Error::InvalidParameter`] for
/// k > n; [`Error::NonFinite`] for a NaN or infinity in the numeric part.
pub(crate) fn kprototypes(
    numeric: ArrayView2<'_, f64>,
    categorical: ArrayView2<'_, u32>,
    params: &KPrototypesParams,
) -> Result<KPrototypesFit> {
    let n = numeric.nrows();
    if categorical.nrows() != n {
        return Err(Error::LengthMismatch {
            what: "categorical rows",
            expected: n,
            got: categorical.nrows(),
        });
    }
    check_k(params.k, n)?;
    if let Some(((i, j), v)) = numeric.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite {
            at: Position::at_row(i).with_column(j.to_string()),
            value: *v,
        });
    }
    let gamma = match params.gamma {
        // Checked when the parameters were built.
        Some(g) => g,
        // kmodes: 0.5 × the mean standard deviation of the numeric columns.
        None => {
            let p = numeric.ncols();
            if p == 0 {
                1.0
            } else {
                0.5 * (0..p).map(|j| numeric.column(j).std(0.0)).sum::<f64>() / p as f64
            }
        }
    };
    let num = numeric.as_standard_layout();
    let mut cat = categorical.as_standard_layout().into_owned();
    // Sparse codes (a postcode as a number) would size the mode counters by the largest
    // code: such columns are ranked densely (order kept, so ties break as before) and the
    // modes mapped back at the end.
    let mut dictionaries: Vec<Option<Vec<u32>>> = vec![None; cat.ncols()];
    for (j, dict) in dictionaries.iter_mut().enumerate() {
        let mut col = cat.column_mut(j);
        if col.iter().any(|&v| v as usize >= n) {
            let mut codes: Vec<u32> = col.to_vec();
            codes.sort_unstable();
            codes.dedup();
            for v in col.iter_mut() {
                // Every value is among the codes.
                *v = codes.binary_search(v).unwrap_or(0) as u32;
            }
            *dict = Some(codes);
        }
    }
    let (dn, dc) = (num.ncols(), cat.ncols());
    let nf = num.as_slice().unwrap_or(&[]);
    let cf = cat.as_slice().unwrap_or(&[]);
    let xn = |i: usize| &nf[i * dn..(i + 1) * dn];
    let xc = |i: usize| &cf[i * dc..(i + 1) * dc];
    let levels: Vec<usize> = (0..dc)
        .map(|j| cat.column(j).iter().max().map_or(1, |&m| m as usize + 1))
        .collect();
    let mut best: Option<KPrototypesFit> = None;
    for run in 0..params.n_init {
        let seed = params.seed ^ (run as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        // k-means++ seeding on the mixed dissimilarity.
        let mut chosen = vec![rng.gen_range(0..n)];
        let mut closest: Vec<f64> = (0..n)
            .into_par_iter()
            .map(|i| dissimilarity(xn(i), xc(i), xn(chosen[0]), xc(chosen[0]), gamma))
            .collect();
        while chosen.len() < params.k {
            let total: f64 = closest.iter().sum();
            let target = rng.r#gen::<f64>() * total;
            let mut acc = 0.0;
            let mut pick = closest.iter().rposition(|&w| w > 0.0).unwrap_or(0);
            for (i, w) in closest.iter().enumerate() {
                acc += w;
                if acc > target {
                    pick = i;
                    break;
                }
            }
            chosen.push(pick);
            closest.par_iter_mut().enumerate().for_each(|(i, c)| {
                *c = c.min(dissimilarity(xn(i), xc(i), xn(pick), xc(pick), gamma))
            });
        }
        let mut centers = Array2::from_shape_fn((params.k, dn), |(c, j)| xn(chosen[c])[j]);
        let mut modes = Array2::from_shape_fn((params.k, dc), |(c, j)| xc(chosen[c])[j]);
        let mut labels = vec![usize::MAX; n];
        let mut iterations = 0;
        for it in 1..=params.max_iter {
            iterations = it;
            let new_labels: Vec<usize> = (0..n)
                .into_par_iter()
                .map(|i| nearest(xn(i), xc(i), &centers, &modes, gamma).0)
                .collect();
            let changed = new_labels != labels;
            labels = new_labels;
            if !changed {
                break;
            }
            update(
                &xn,
                &xc,
                n,
                dn,
                dc,
                &levels,
                &labels,
                &mut centers,
                &mut modes,
            );
        }
        let cost: f64 = (0..n)
            .into_par_iter()
            .map(|i| nearest(xn(i), xc(i), &centers, &modes, gamma).1)
            .collect::<Vec<_>>()
            .iter()
            .sum();
        if best.as_ref().is_none_or(|b| cost < b.cost) {
            best = Some(KPrototypesFit {
                centers,
                modes,
                gamma,
                labels,
                cost,
                iterations,
            });
        }
    }
    let mut best = best.ok_or(Error::EmptyInput { what: "restarts" })?;
    for (j, dict) in dictionaries.iter().enumerate() {
        if let Some(codes) = dict {
            for m in best.modes.column_mut(j) {
                *m = codes[*m as usize];
            }
        }
    }
    Ok(best)
}

/// The nearest prototype and the dissimilarity to it.
pub(crate) fn nearest(
    num: &[f64],
    cat: &[u32],
    centers: &Array2<f64>,
    modes: &Array2<u32>,
    gamma: f64,
) -> (usize, f64) {
    let mut best = (0usize, f64::INFINITY);
    for c in 0..centers.nrows() {
        // Rows of a matrix built by hand may not be contiguous: copy those rather than
        // compare against nothing.
        let (centre, mode) = (centers.row(c), modes.row(c));
        let (centre_owned, mode_owned);
        let centre = match centre.as_slice() {
            Some(s) => s,
            None => {
                centre_owned = centre.to_vec();
                &centre_owned
            }
        };
        let mode = match mode.as_slice() {
            Some(s) => s,
            None => {
                mode_owned = mode.to_vec();
                &mode_owned
            }
        };
        let d = dissimilarity(num, cat, centre, mode, gamma);
        if d < best.1 {
            best = (c, d);
        }
    }
    best
}

/// New prototypes: numeric means and categorical modes of each cluster (an empty cluster
/// keeps its prototype).
#[allow(clippy::too_many_arguments)]
fn update<'a>(
    xn: &(impl Fn(usize) -> &'a [f64] + Sync),
    xc: &(impl Fn(usize) -> &'a [u32] + Sync),
    n: usize,
    dn: usize,
    dc: usize,
    levels: &[usize],
    labels: &[usize],
    centers: &mut Array2<f64>,
    modes: &mut Array2<u32>,
) {
    let k = centers.nrows();
    let offsets: Vec<usize> = levels
        .iter()
        .scan(0, |acc, &l| {
            let o = *acc;
            *acc += l;
            Some(o)
        })
        .collect();
    let total_levels: usize = levels.iter().sum();
    const CHUNK: usize = 4_096;
    let parts: Vec<(Vec<f64>, Vec<usize>, Vec<usize>)> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut sums = vec![0.0; k * dn];
            let mut counts = vec![0usize; k];
            let mut freq = vec![0usize; k * total_levels];
            let start = c * CHUNK;
            for (i, &l) in labels[start..((c + 1) * CHUNK).min(n)].iter().enumerate() {
                let i = start + i;
                counts[l] += 1;
                for (s, v) in sums[l * dn..(l + 1) * dn].iter_mut().zip(xn(i)) {
                    *s += v;
                }
                for (j, &v) in xc(i).iter().enumerate() {
                    freq[l * total_levels + offsets[j] + v as usize] += 1;
                }
            }
            (sums, counts, freq)
        })
        .collect();
    let mut sums = vec![0.0; k * dn];
    let mut counts = vec![0usize; k];
    let mut freq = vec![0usize; k * total_levels];
    for (s, m, f) in parts {
        sums.iter_mut().zip(s).for_each(|(a, b)| *a += b);
        counts.iter_mut().zip(m).for_each(|(a, b)| *a += b);
        freq.iter_mut().zip(f).for_each(|(a, b)| *a += b);
    }
    for c in 0..k {
        if counts[c] == 0 {
            continue;
        }
        for j in 0..dn {
            centers[[c, j]] = sums[c * dn + j] / counts[c] as f64;
        }
        for j in 0..dc {
            let base = c * total_levels + offsets[j];
            let f = &freq[base..base + levels[j]];
            // The most frequent level, the lowest code on ties.
            let mode = f
                .iter()
                .enumerate()
                .fold(
                    (0usize, 0usize),
                    |m, (lv, &cnt)| if cnt > m.1 { (lv, cnt) } else { m },
                )
                .0;
            modes[[c, j]] = mode as u32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasets::{BlobsConfig, mixed_blobs};
    use crate::segment::adjusted_rand_index;

    #[test]
    fn recovers_planted_mixed_clusters() {
        let b = mixed_blobs(
            &BlobsConfig::new(2_000, 5, 4)
                .with_categorical(3, 6)
                .with_seed(11),
        )
        .unwrap();
        let fit = kprototypes(
            b.numeric.view(),
            b.categorical.view(),
            &KPrototypesParams::new(4).unwrap(),
        )
        .unwrap();
        assert!(adjusted_rand_index(&fit.labels, &b.labels).unwrap() > 0.95);
        // Default γ: half the mean standard deviation of the numeric columns.
        let sd: f64 = (0..5).map(|j| b.numeric.column(j).std(0.0)).sum::<f64>() / 5.0;
        assert!((fit.gamma - 0.5 * sd).abs() < 1e-12);
    }
}
