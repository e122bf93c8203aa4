//! Factor extraction for survey items: principal components of the item correlations,
//! varimax rotation, the number of factors, and factor scores.

use linfa_linalg::eigh::Eigh;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How many factors to keep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FactorCount {
    /// Exactly this many.
    Fixed(usize),
    /// Kaiser's rule: as many as eigenvalues of the correlation matrix above 1.
    Kaiser,
    /// Horn's parallel analysis: the leading eigenvalues that exceed the `percentile` of the
    /// eigenvalues of `iterations` random normal data sets of the same size (seeded).
    Parallel {
        /// Random data sets.
        iterations: usize,
        /// Percentile of the random eigenvalues to beat (95 is usual).
        percentile: f64,
        /// Seed.
        seed: u64,
    },
}

impl FactorCount {
    /// Parallel analysis with 100 data sets, the 95th percentile and seed 0.
    pub fn parallel() -> Self {
        FactorCount::Parallel {
            iterations: 100,
            percentile: 95.0,
            seed: 0,
        }
    }
}

/// Rotation of the retained components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Rotation {
    /// Unrotated principal components.
    None,
    /// Varimax (Kaiser 1958) with Kaiser normalisation, as R's `stats::varimax`.
    Varimax,
}

/// The correlation matrix of standardised columns (mean 0, population sd 1).
pub(crate) fn correlation(z: ArrayView2<'_, f64>) -> Array2<f64> {
    let n = z.nrows() as f64;
    let mut r = z.t().dot(&z) / n;
    // Exact ones on the diagonal and exact symmetry, whatever the rounding.
    let p = r.nrows();
    for i in 0..p {
        r[[i, i]] = 1.0;
        for j in 0..i {
            let v = 0.5 * (r[[i, j]] + r[[j, i]]);
            r[[i, j]] = v;
            r[[j, i]] = v;
        }
    }
    r
}

/// Eigenvalues (descending) and eigenvectors (columns, each oriented so that its entries
/// sum to a non-negative number) of a symmetric matrix.
pub(crate) fn eigen_desc(r: &Array2<f64>) -> Result<(Array1<f64>, Array2<f64>)> {
    let (vals, vecs) = r.eigh().map_err(|e| Error::Solver {
        model: "eigen-decomposition of the item correlations",
        reason: e.to_string(),
    })?;
    let mut order: Vec<usize> = (0..vals.len()).collect();
    order.sort_by(|&a, &b| vals[b].total_cmp(&vals[a]).then(a.cmp(&b)));
    let sorted_vals = Array1::from_iter(order.iter().map(|&i| vals[i]));
    let mut sorted_vecs = vecs.select(Axis(1), &order);
    for mut col in sorted_vecs.columns_mut() {
        if col.sum() < 0.0 {
            col.mapv_inplace(|v| -v);
        }
    }
    Ok((sorted_vals, sorted_vecs))
}

/// The number of factors under a rule, given the observed eigenvalues and the data size.
pub(crate) fn factor_count(
    rule: FactorCount,
    eigenvalues: &Array1<f64>,
    n: usize,
) -> Result<usize> {
    let p = eigenvalues.len();
    let m = match rule {
        FactorCount::Fixed(m) => m,
        FactorCount::Kaiser => eigenvalues.iter().take_while(|&&v| v > 1.0).count(),
        FactorCount::Parallel {
            iterations,
            percentile,
            seed,
        } => {
            if iterations == 0 || !(0.0..=100.0).contains(&percentile) {
                return Err(Error::InvalidParameter {
                    name: "parallel analysis",
                    value: format!("{iterations} iterations, percentile {percentile}"),
                    reason: "at least one iteration and a percentile in [0, 100]".into(),
                });
            }
            let random: Vec<Array1<f64>> = (0..iterations)
                .into_par_iter()
                .map(|it| {
                    let mut rng = Xoshiro256PlusPlus::seed_from_u64(
                        seed ^ (it as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    );
                    let mut x = Array2::<f64>::from_shape_simple_fn((n, p), || {
                        StandardNormal.sample(&mut rng)
                    });
                    standardise_columns(&mut x);
                    eigen_desc(&correlation(x.view())).map(|(v, _)| v)
                })
                .collect::<Result<_>>()?;
            let threshold: Vec<f64> = (0..p)
                .map(|j| {
                    let mut v: Vec<f64> = random.iter().map(|r| r[j]).collect();
                    v.sort_by(f64::total_cmp);
                    let h = percentile / 100.0 * (v.len() - 1) as f64;
                    let lo = h.floor() as usize;
                    let hi = (lo + 1).min(v.len() - 1);
                    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
                })
                .collect();
            eigenvalues
                .iter()
                .zip(&threshold)
                .take_while(|(e, t)| e > t)
                .count()
        }
    };
    if m == 0 || m > p {
        return Err(Error::InvalidParameter {
            name: "factors",
            value: m.to_string(),
            reason: format!("between 1 and the {p} items (the rule {rule:?} gave {m})"),
        });
    }
    Ok(m)
}

/// Centres and scales every column to mean 0 and population sd 1 (a constant column stays 0).
pub(crate) fn standardise_columns(x: &mut Array2<f64>) {
    let n = x.nrows() as f64;
    for mut col in x.columns_mut() {
        let mean = col.sum() / n;
        let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
        let sd = if sd > 0.0 { sd } else { 1.0 };
        col.mapv_inplace(|v| (v - mean) / sd);
    }
}

/// Varimax rotation with Kaiser normalisation: returns the rotation matrix T (m × m,
/// orthogonal) such that `loadings · T` is the rotated solution. Iterates the SVD form of
/// the varimax criterion until it improves by less than `eps` (relative).
pub(crate) fn varimax(loadings: &Array2<f64>, eps: f64, max_iter: usize) -> Result<Array2<f64>> {
    let (p, m) = loadings.dim();
    let mut t = Array2::<f64>::eye(m);
    if m < 2 {
        return Ok(t);
    }
    // Kaiser normalisation: rows scaled to unit communality, so items with small
    // communalities weigh as much as the others.
    let mut x = loadings.clone();
    for mut row in x.rows_mut() {
        let h = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        if h > 0.0 {
            row.mapv_inplace(|v| v / h);
        }
    }
    let mut d = 0.0;
    for _ in 0..max_iter {
        let z = x.dot(&t);
        let col_sq: Array1<f64> = z.mapv(|v| v * v).sum_axis(Axis(0)) / p as f64;
        let target =
            Array2::from_shape_fn((p, m), |(i, j)| z[[i, j]].powi(3) - z[[i, j]] * col_sq[j]);
        let b = x.t().dot(&target);
        // T = B (BᵀB)^(−1/2) = U Vᵀ of the SVD of B; the criterion is the sum of the
        // singular values, √ of the eigenvalues of BᵀB.
        let (vals, vecs) = eigen_desc(&b.t().dot(&b))?;
        if vals.iter().any(|&v| v <= 0.0) {
            break;
        }
        let inv_sqrt = Array2::from_diag(&vals.mapv(|v| 1.0 / v.sqrt()));
        t = b.dot(&vecs).dot(&inv_sqrt).dot(&vecs.t());
        let d_past = d;
        d = vals.iter().map(|v| v.sqrt()).sum::<f64>();
        if d < d_past * (1.0 + eps) {
            break;
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varimax_matches_an_independent_implementation() {
        // A simple structure with small cross-loadings, rotated by 25°; the expected result is
        // R's stats::varimax algorithm (Kaiser normalisation, eps 1e-12) run in numpy.
        let mixed = ndarray::array![
            [0.76730806, -0.24746383],
            [0.61328454, -0.34114817],
            [0.83680792, -0.33504105],
            [0.34420174, 0.50152285],
            [0.29277922, 0.74617714],
            [0.29583278, 0.63441545]
        ];
        let expected = ndarray::array![
            [0.80021003, 0.09830521],
            [0.69989252, -0.05148263],
            [0.90010389, 0.0480935],
            [0.1012707, 0.59978683],
            [-0.04830532, 0.80010412],
            [0.00148274, 0.69999843]
        ];
        let t = varimax(&mixed, 1e-12, 1000).unwrap();
        let back = mixed.dot(&t);
        assert!(
            (&back - &expected).iter().all(|v| v.abs() < 1e-6),
            "{back:?}"
        );
        // T is orthogonal.
        let tt = t.t().dot(&t);
        assert!((tt - Array2::<f64>::eye(2)).iter().all(|v| v.abs() < 1e-12));
    }
}
