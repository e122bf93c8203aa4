//! Planted clusters for testing and benchmarking segmentation strategies.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Points around planted centres, with the planted labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Blobs {
    /// One row per point.
    pub data: Array2<f64>,
    /// The planted cluster of each point.
    pub labels: Vec<usize>,
    /// The planted centres, one row per cluster.
    pub centers: Array2<f64>,
}

/// Settings of the planted-cluster generators [`blobs`] and [`mixed_blobs`]. Build with
/// [`BlobsConfig::new`] and the `with_*` methods; like [`SyntheticConfig`](super::SyntheticConfig),
/// the values are validated when the points are generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlobsConfig {
    /// Number of points.
    pub points: usize,
    /// Numeric dimensions.
    pub dims: usize,
    /// Planted clusters (sizes equal up to one).
    pub clusters: usize,
    /// Standard deviation of every coordinate around its centre (1.0 gives well-separated
    /// clusters; the centres are drawn in [−10, 10]^dims).
    pub spread: f64,
    /// Categorical columns (for [`mixed_blobs`]; [`blobs`] ignores them).
    pub categorical_dims: usize,
    /// Levels of each categorical column (at least 2).
    pub levels: u32,
    /// Master seed.
    pub seed: u64,
}

impl BlobsConfig {
    /// `points` points in `dims` dimensions around `clusters` centres; spread 1.0, seed 0, no
    /// categorical column (4 levels once some are asked for).
    pub fn new(points: usize, dims: usize, clusters: usize) -> Self {
        BlobsConfig {
            points,
            dims,
            clusters,
            spread: 1.0,
            categorical_dims: 0,
            levels: 4,
            seed: 0,
        }
    }

    /// Sets the spread (standard deviation per coordinate).
    pub fn with_spread(mut self, spread: f64) -> Self {
        self.spread = spread;
        self
    }

    /// Sets the number of categorical columns and their levels (for [`mixed_blobs`]).
    pub fn with_categorical(mut self, dims: usize, levels: u32) -> Self {
        self.categorical_dims = dims;
        self.levels = levels;
        self
    }

    /// Sets the seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// `points` points in `dims` dimensions around `clusters` centres drawn uniformly in
/// [−10, 10]^dims, each coordinate with standard deviation `spread`, cluster sizes equal up to
/// one. Like scikit-learn's `make_blobs`; seeded and thread-count invariant (each point has
/// its own random stream).
///
/// ```
/// use custseg::datasets::{BlobsConfig, blobs};
/// let b = blobs(&BlobsConfig::new(1_000, 3, 4).with_seed(7))?;
/// assert_eq!(b.data.dim(), (1_000, 3));
/// assert_eq!(b.labels.iter().filter(|&&l| l == 0).count(), 250);
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for points, dims or clusters of zero, more clusters than
/// points, or a spread that is not finite and positive.
pub fn blobs(config: &BlobsConfig) -> Result<Blobs> {
    let (n, dims, k, spread, seed) = (
        config.points,
        config.dims,
        config.clusters,
        config.spread,
        config.seed,
    );
    let bad = |name: &'static str, value: String, reason: &str| {
        Err(Error::InvalidParameter {
            name,
            value,
            reason: reason.into(),
        })
    };
    if n == 0 || dims == 0 || k == 0 {
        return bad("n, dims, k", format!("{n}, {dims}, {k}"), "all at least 1");
    }
    if k > n {
        return bad("k", k.to_string(), "at most the number of points");
    }
    // A matrix ndarray could not even shape, let alone allocate.
    if n.checked_mul(dims)
        .is_none_or(|cells| cells > isize::MAX as usize / 8)
    {
        return bad(
            "n, dims",
            format!("{n} × {dims}"),
            "a matrix that fits in memory",
        );
    }
    if !(spread.is_finite() && spread > 0.0) {
        return bad("spread", spread.to_string(), "finite and > 0");
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let centers = Array2::from_shape_fn((k, dims), |_| rng.gen_range(-10.0..10.0));
    let noise = Normal::new(0.0, spread).map_err(|e| Error::InvalidParameter {
        name: "spread",
        value: spread.to_string(),
        reason: e.to_string(),
    })?;
    let labels: Vec<usize> = (0..n).map(|i| i % k).collect();
    let rows: Vec<Vec<f64>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut r = Xoshiro256PlusPlus::seed_from_u64(
                seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xB10B,
            );
            (0..dims)
                .map(|j| centers[[labels[i], j]] + noise.sample(&mut r))
                .collect()
        })
        .collect();
    let data = Array2::from_shape_fn((n, dims), |(i, j)| rows[i][j]);
    Ok(Blobs {
        data,
        labels,
        centers,
    })
}

/// Mixed numeric and categorical planted clusters (for k-prototypes).
#[derive(Debug, Clone, PartialEq)]
pub struct MixedBlobs {
    /// Numeric columns, one row per point.
    pub numeric: Array2<f64>,
    /// Categorical columns as level codes 0..levels.
    pub categorical: Array2<u32>,
    /// The planted cluster of each point.
    pub labels: Vec<usize>,
}

/// Numeric blobs as [`blobs`], plus `categorical_dims` categorical columns with `levels`
/// levels: in each column every cluster has its own favourite level, taken with probability
/// 0.7, else a level drawn uniformly.
///
/// ```
/// use custseg::datasets::{BlobsConfig, mixed_blobs};
/// let b = mixed_blobs(&BlobsConfig::new(600, 2, 3).with_categorical(4, 5).with_seed(1))?;
/// assert_eq!((b.numeric.ncols(), b.categorical.ncols()), (2, 4));
/// assert!(b.categorical.iter().all(|&l| l < 5));
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// As [`blobs`], and [`Error::InvalidParameter`] for fewer than two levels.
pub fn mixed_blobs(config: &BlobsConfig) -> Result<MixedBlobs> {
    let (n, cat_dims, levels, seed) = (
        config.points,
        config.categorical_dims,
        config.levels,
        config.seed,
    );
    if levels < 2 {
        return Err(Error::InvalidParameter {
            name: "levels",
            value: levels.to_string(),
            reason: "at least 2".into(),
        });
    }
    if n.checked_mul(cat_dims)
        .is_none_or(|cells| cells > isize::MAX as usize / 4)
    {
        return Err(Error::InvalidParameter {
            name: "n, cat_dims",
            value: format!("{n} × {cat_dims}"),
            reason: "a matrix that fits in memory".into(),
        });
    }
    let b = blobs(config)?;
    let favourite = |c: usize, j: usize| ((c * 7 + j * 3) as u32) % levels;
    let rows: Vec<Vec<u32>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut r = Xoshiro256PlusPlus::seed_from_u64(
                seed ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03) ^ 0xCA7,
            );
            (0..cat_dims)
                .map(|j| {
                    if r.r#gen::<f64>() < 0.7 {
                        favourite(b.labels[i], j)
                    } else {
                        r.gen_range(0..levels)
                    }
                })
                .collect()
        })
        .collect();
    let categorical = Array2::from_shape_fn((n, cat_dims), |(i, j)| rows[i][j]);
    Ok(MixedBlobs {
        numeric: b.data,
        categorical,
        labels: b.labels,
    })
}
