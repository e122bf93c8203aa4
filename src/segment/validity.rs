//! Cluster-validity metrics and the choice of k.
//!
//! * [`silhouette`]: mean over points of (b − a)/max(a, b), a the mean distance to the own
//!   cluster, b to the nearest other cluster (points alone in their cluster score 0, as in
//!   scikit-learn). Exact is O(n²); [`silhouette_sampled`] averages it over a seeded random
//!   sample of points (distances still to all points), as scikit-learn's `sample_size` does.
//! * [`calinski_harabasz`]: between- over within-cluster dispersion, scaled by degrees of
//!   freedom (higher is better).
//! * [`davies_bouldin`]: mean over clusters of the worst (sᵢ + sⱼ)/dᵢⱼ (lower is better).
//! * [`adjusted_rand_index`]: agreement of two labellings corrected for chance (1 = identical
//!   up to renaming, about 0 for independent labellings).

use std::collections::HashMap;

use ndarray::ArrayView2;
use rand::SeedableRng;
use rand::seq::index::sample;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::strategy::check_rows;
use crate::error::{Error, Position, Result};

fn check(data: &ArrayView2<'_, f64>, labels: &[usize]) -> Result<usize> {
    if data.nrows() != labels.len() {
        return Err(Error::LengthMismatch {
            what: "labels",
            expected: data.nrows(),
            got: labels.len(),
        });
    }
    if labels.is_empty() {
        return Err(Error::EmptyInput { what: "points" });
    }
    // A NaN made every index NaN, and coordinates past ±MAX_COORDINATE overflow the sums of
    // squares: both are refused as the clustering strategies refuse them.
    check_rows(*data, true)?;
    // Cluster numbers index per-cluster sums: a partition of n points has fewer than n.
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, l)| **l >= labels.len()) {
        return Err(Error::InvalidRecord {
            at: Position::at_row(i).with_column("label"),
            reason: format!(
                "cluster {l}: clusters are numbered 0 to {} (one per point at most)",
                labels.len() - 1
            ),
        });
    }
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let used = {
        let mut seen = vec![false; k];
        for &l in labels {
            seen[l] = true;
        }
        seen.iter().filter(|&&s| s).count()
    };
    if used < 2 {
        return Err(Error::InvalidRecord {
            at: Position::in_column("labels"),
            reason: format!("{used} cluster; validity metrics need at least two"),
        });
    }
    Ok(k)
}

fn dist(a: ndarray::ArrayView1<'_, f64>, b: ndarray::ArrayView1<'_, f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

fn silhouette_of(
    data: &ArrayView2<'_, f64>,
    labels: &[usize],
    k: usize,
    sizes: &[usize],
    i: usize,
) -> f64 {
    let mut sums = vec![0.0; k];
    let xi = data.row(i);
    for (j, &l) in labels.iter().enumerate() {
        if j != i {
            sums[l] += dist(xi, data.row(j));
        }
    }
    let own = labels[i];
    if sizes[own] <= 1 {
        return 0.0;
    }
    let a = sums[own] / (sizes[own] - 1) as f64;
    let b = (0..k)
        .filter(|&c| c != own && sizes[c] > 0)
        .map(|c| sums[c] / sizes[c] as f64)
        .fold(f64::INFINITY, f64::min);
    if a.max(b) == 0.0 {
        0.0
    } else {
        (b - a) / a.max(b)
    }
}

fn sizes_of(labels: &[usize], k: usize) -> Vec<usize> {
    let mut sizes = vec![0; k];
    for &l in labels {
        sizes[l] += 1;
    }
    sizes
}

/// Exact mean silhouette (O(n²) distances, in parallel).
///
/// # Errors
/// [`Error::LengthMismatch`], [`Error::EmptyInput`], or [`Error::InvalidRecord`] (column
/// "labels") for fewer than two clusters; [`Error::NonFinite`] or [`Error::InvalidRecord`]
/// naming the row and column of a coordinate that is not finite or is beyond
/// ±[`MAX_COORDINATE`](super::MAX_COORDINATE).
pub fn silhouette(data: ArrayView2<'_, f64>, labels: &[usize]) -> Result<f64> {
    let k = check(&data, labels)?;
    let sizes = sizes_of(labels, k);
    let s: Vec<f64> = (0..labels.len())
        .into_par_iter()
        .map(|i| silhouette_of(&data, labels, k, &sizes, i))
        .collect();
    Ok(s.iter().sum::<f64>() / s.len() as f64)
}

/// Mean silhouette over `sample` points drawn with `seed` (all points when `sample` ≥ n).
///
/// # Errors
/// As [`silhouette`].
pub fn silhouette_sampled(
    data: ArrayView2<'_, f64>,
    labels: &[usize],
    sample_size: usize,
    seed: u64,
) -> Result<f64> {
    let k = check(&data, labels)?;
    let n = labels.len();
    if sample_size >= n {
        return silhouette(data, labels);
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut idx = sample(&mut rng, n, sample_size.max(2)).into_vec();
    idx.sort_unstable();
    // Silhouette within the sample (scikit-learn's definition with sample_size).
    let sub = data.select(ndarray::Axis(0), &idx);
    let sub_labels: Vec<usize> = idx.iter().map(|&i| labels[i]).collect();
    if sizes_of(&sub_labels, k).iter().filter(|&&s| s > 0).count() < 2 {
        return silhouette(data, labels);
    }
    silhouette(sub.view(), &sub_labels)
}

/// Calinski–Harabasz index.
///
/// # Errors
/// As [`silhouette`], and [`Error::InvalidRecord`] (column "labels") when every point is its
/// own cluster.
pub fn calinski_harabasz(data: ArrayView2<'_, f64>, labels: &[usize]) -> Result<f64> {
    let k = check(&data, labels)?;
    let n = labels.len();
    let d = data.ncols();
    let sizes = sizes_of(labels, k);
    let used = sizes.iter().filter(|&&s| s > 0).count();
    if used >= n {
        return Err(Error::InvalidRecord {
            at: Position::in_column("labels"),
            reason: format!("{used} clusters for {n} points; the index needs fewer clusters"),
        });
    }
    let mean = data
        .mean_axis(ndarray::Axis(0))
        .unwrap_or_else(|| ndarray::Array1::zeros(d));
    let centroids = centroids(&data, labels, &sizes);
    let between: f64 = (0..k)
        .map(|c| sizes[c] as f64 * dist(centroids.row(c), mean.view()).powi(2))
        .sum();
    let within: f64 = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| dist(data.row(i), centroids.row(l)).powi(2))
        .sum();
    // Every point on its centroid: scikit-learn's convention, 1.
    if within == 0.0 {
        return Ok(1.0);
    }
    Ok(between * (n - used) as f64 / (within * (used - 1) as f64))
}

/// Mean of each cluster (a zero row for an empty one).
fn centroids(
    data: &ArrayView2<'_, f64>,
    labels: &[usize],
    sizes: &[usize],
) -> ndarray::Array2<f64> {
    let mut centroids = ndarray::Array2::<f64>::zeros((sizes.len(), data.ncols()));
    for (i, &l) in labels.iter().enumerate() {
        centroids.row_mut(l).scaled_add(1.0, &data.row(i));
    }
    for (mut row, &size) in centroids.rows_mut().into_iter().zip(sizes) {
        if size > 0 {
            row.mapv_inplace(|v| v / size as f64);
        }
    }
    centroids
}

/// Davies–Bouldin index.
///
/// # Errors
/// As [`silhouette`].
pub fn davies_bouldin(data: ArrayView2<'_, f64>, labels: &[usize]) -> Result<f64> {
    let k = check(&data, labels)?;
    let sizes = sizes_of(labels, k);
    let centroids = centroids(&data, labels, &sizes);
    let mut scatter = vec![0.0; k];
    for (i, &l) in labels.iter().enumerate() {
        scatter[l] += dist(data.row(i), centroids.row(l));
    }
    let used: Vec<usize> = (0..k).filter(|&c| sizes[c] > 0).collect();
    for &c in &used {
        scatter[c] /= sizes[c] as f64;
    }
    let total: f64 = used
        .iter()
        .map(|&i| {
            used.iter()
                .filter(|&&j| j != i)
                .map(|&j| {
                    // Coincident centroids count as infinitely far apart, as in
                    // scikit-learn (the pair then adds nothing instead of an infinity).
                    let dij = dist(centroids.row(i), centroids.row(j));
                    if dij == 0.0 {
                        0.0
                    } else {
                        (scatter[i] + scatter[j]) / dij
                    }
                })
                .fold(0.0f64, f64::max)
        })
        .sum();
    Ok(total / used.len() as f64)
}

/// Adjusted Rand index of two labellings of the same points (Hubert & Arabie 1985).
///
/// # Errors
/// [`Error::LengthMismatch`] or [`Error::EmptyInput`].
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> Result<f64> {
    if a.len() != b.len() {
        return Err(Error::LengthMismatch {
            what: "labels",
            expected: a.len(),
            got: b.len(),
        });
    }
    if a.is_empty() {
        return Err(Error::EmptyInput { what: "labels" });
    }
    let mut table: HashMap<(usize, usize), f64> = HashMap::new();
    let mut rows: HashMap<usize, f64> = HashMap::new();
    let mut cols: HashMap<usize, f64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *table.entry((x, y)).or_default() += 1.0;
        *rows.entry(x).or_default() += 1.0;
        *cols.entry(y).or_default() += 1.0;
    }
    let c2 = |v: f64| v * (v - 1.0) / 2.0;
    let index: f64 = table.values().map(|&v| c2(v)).sum();
    let sum_a: f64 = rows.values().map(|&v| c2(v)).sum();
    let sum_b: f64 = cols.values().map(|&v| c2(v)).sum();
    let total = c2(a.len() as f64);
    if total == 0.0 {
        // A single point: every labelling of it agrees.
        return Ok(1.0);
    }
    let expected = sum_a * sum_b / total;
    let max = 0.5 * (sum_a + sum_b);
    if max == expected {
        // Both labellings put everything in one cluster (or each point alone): identical.
        return Ok(1.0);
    }
    Ok((index - expected) / (max - expected))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn known_values() {
        // Two tight pairs far apart: silhouette close to 1.
        let x = array![[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]];
        let s = silhouette(x.view(), &[0, 0, 1, 1]).unwrap();
        let a = 1.0;
        let b = (10.0 + 101f64.sqrt()) / 2.0;
        assert!((s - (b - a) / b).abs() < 1e-12);
        // CH by hand: between = 4 · 25 = 100, within = 4 · 0.25 = 1, (n − k)/(k − 1) = 2.
        assert!((calinski_harabasz(x.view(), &[0, 0, 1, 1]).unwrap() - 200.0).abs() < 1e-9);
        // DB: scatters 0.5 each, centroid distance 10: (0.5 + 0.5)/10.
        assert!((davies_bouldin(x.view(), &[0, 0, 1, 1]).unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(
            adjusted_rand_index(&[0, 0, 1, 1], &[5, 5, 3, 3]).unwrap(),
            1.0
        );
        // scikit-learn: adjusted_rand_score([0,0,1,1],[0,0,1,2]) = 0.5714285714285715.
        assert!(
            (adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]).unwrap() - 0.571_428_571_428_571_5)
                .abs()
                < 1e-12
        );
        assert!(silhouette(x.view(), &[0, 0, 0, 0]).is_err());
        assert!(silhouette(x.view(), &[0, 0, 1]).is_err());
    }
}
