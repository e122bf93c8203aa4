//! Planted clusters for testing and benchmarking segmentation strategies.

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

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

/// `n` points in `dims` dimensions around `k` centres drawn uniformly in [−10, 10]^dims, each
/// coordinate with standard deviation `spread` (1.0 gives well-separated clusters), cluster
/// sizes equal up to one. Like scikit-learn's `make_blobs`; seeded and thread-count
/// invariant (each point has its own random stream).
///
/// ```
/// let b = custseg::datasets::blobs(1_000, 3, 4, 1.0, 7)?;
/// assert_eq!(b.data.dim(), (1_000, 3));
/// assert_eq!(b.labels.iter().filter(|&&l| l == 0).count(), 250);
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for n, dims or k of zero, k > n, or a spread that is not finite
/// and positive.
pub fn blobs(n: usize, dims: usize, k: usize, spread: f64, seed: u64) -> Result<Blobs> {
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

/// Numeric blobs as [`blobs`], plus `cat_dims` categorical columns with `levels` levels: in
/// each column every cluster has its own favourite level, taken with probability 0.7, else a
/// level drawn uniformly.
///
/// # Errors
/// As [`blobs`], and [`Error::InvalidParameter`] for fewer than two levels.
pub fn mixed_blobs(
    n: usize,
    num_dims: usize,
    cat_dims: usize,
    k: usize,
    levels: u32,
    seed: u64,
) -> Result<MixedBlobs> {
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
    let b = blobs(n, num_dims, k, 1.0, seed)?;
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
