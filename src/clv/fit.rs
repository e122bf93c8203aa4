//! Maximum-likelihood fitting shared by every model.
//!
//! Parameters are estimated on the log scale (so they stay positive without constraints) by
//! minimising the mean negative log-likelihood over weighted rows, plus an optional L2 penalty
//! on the parameters themselves (lifetimes' `penalizer_coef` convention). Gradients are exact
//! (forward-mode automatic differentiation through the likelihood). Standard errors come from
//! the Hessian of the total log-likelihood in log parameters (central differences of the exact
//! gradient), inverted and mapped back with the delta method: se(θ) = θ · se(ln θ).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::optim::{Objective, minimize};
use crate::special::{Dual, Real};

/// Settings of a maximum-likelihood fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// Coefficient λ of the penalty λ·Σθᵢ² added to the mean negative log-likelihood
    /// (0: plain maximum likelihood).
    pub l2_penalty: f64,
    /// Iteration budget of each optimizer run.
    pub max_iterations: u64,
    /// The fit converged when the gradient of the mean penalised negative log-likelihood with
    /// respect to the log parameters has at most this norm.
    pub gradient_tolerance: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            l2_penalty: 0.0,
            max_iterations: 1_000,
            gradient_tolerance: 1e-6,
        }
    }
}

impl FitOptions {
    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a negative or non-finite penalty, no iterations, or a
    /// non-positive tolerance.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: String, reason: &str| {
            Err(Error::InvalidParameter {
                name,
                value,
                reason: reason.into(),
            })
        };
        if !(self.l2_penalty.is_finite() && self.l2_penalty >= 0.0) {
            return bad("l2_penalty", self.l2_penalty.to_string(), "finite and ≥ 0");
        }
        if self.max_iterations == 0 {
            return bad("max_iterations", "0".into(), "at least 1");
        }
        if !(self.gradient_tolerance.is_finite() && self.gradient_tolerance > 0.0) {
            return bad(
                "gradient_tolerance",
                self.gradient_tolerance.to_string(),
                "finite and > 0",
            );
        }
        Ok(())
    }
}

/// How a fit went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// The model fitted.
    pub model: String,
    /// Total log-likelihood at the estimate (without the penalty), constants included.
    pub log_likelihood: f64,
    /// Optimizer iterations.
    pub iterations: u64,
    /// Norm of the gradient of the mean penalised negative log-likelihood (log parameters).
    pub gradient_norm: f64,
    /// Customers (total weight) in the data.
    pub customers: f64,
    /// Distinct rows after merging identical histories.
    pub distinct_rows: usize,
    /// Parameter names, in the order of `standard_errors`.
    pub parameters: Vec<String>,
    /// Asymptotic standard errors; `None` when the Hessian is not positive definite.
    pub standard_errors: Vec<Option<f64>>,
}

/// A model's log-likelihood over a data set, generic over the number type so that the same
/// code gives values and exact gradients.
pub(crate) trait Likelihood<const N: usize> {
    /// The data the model is fitted on.
    type Data: Sync + ?Sized;
    const NAME: &'static str;
    const PARAMS: [&'static str; N];
    /// Σ weight · ln L over the data.
    fn total<R: Real + Send + Sync>(p: &[R; N], data: &Self::Data) -> R;
    /// Total weight (customers).
    fn weight(data: &Self::Data) -> f64;
    /// Distinct rows.
    fn rows(data: &Self::Data) -> usize;
}

/// Rows per parallel chunk: fixed, so sums do not depend on the thread count.
const CHUNK: usize = 2_048;

/// Σ f(i) over 0..n in parallel, in fixed chunks reduced in order (thread-count invariant).
pub(crate) fn par_sum<R: Real + Send + Sync>(n: usize, f: impl Fn(usize) -> R + Sync) -> R {
    let chunks = n.div_ceil(CHUNK);
    let partial: Vec<R> = (0..chunks)
        .into_par_iter()
        .map(|c| {
            let lo = c * CHUNK;
            let hi = (lo + CHUNK).min(n);
            (lo..hi).fold(R::cst(0.0), |acc, i| acc + f(i))
        })
        .collect();
    partial.into_iter().fold(R::cst(0.0), |a, b| a + b)
}

struct MeanNll<'a, M: Likelihood<N>, const N: usize> {
    data: &'a M::Data,
    total_weight: f64,
    penalty: f64,
}

impl<M: Likelihood<N>, const N: usize> MeanNll<'_, M, N> {
    fn sum_ll<R: Real + Send + Sync>(&self, p: &[R; N]) -> R {
        M::total(p, self.data)
    }
}

impl<M: Likelihood<N>, const N: usize> Objective for MeanNll<'_, M, N> {
    fn value(&self, theta: &[f64]) -> f64 {
        let p: [f64; N] = std::array::from_fn(|i| theta[i].exp());
        let penalty: f64 = p.iter().map(|v| v * v).sum::<f64>() * self.penalty;
        -self.sum_ll(&p) / self.total_weight + penalty
    }

    fn value_and_gradient(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        // Differentiate with respect to the log parameters directly.
        let p: [Dual<N>; N] = std::array::from_fn(|i| Dual::var(theta[i], i).exp());
        let penalty = p.iter().fold(Dual::cst(0.0), |acc, v| acc + *v * *v) * self.penalty;
        let f = -self.sum_ll(&p) / self.total_weight + penalty;
        (f.v, f.d.to_vec())
    }
}

/// Fits model `M` by maximum likelihood from `start` (natural scale).
pub(crate) fn fit<M: Likelihood<N>, const N: usize>(
    data: &M::Data,
    start: [f64; N],
    opts: &FitOptions,
) -> Result<([f64; N], FitReport)> {
    opts.validate()?;
    if M::rows(data) == 0 {
        return Err(Error::EmptyInput { what: "customers" });
    }
    let total_weight = M::weight(data);
    let objective = MeanNll::<M, N> {
        data,
        total_weight,
        penalty: opts.l2_penalty,
    };
    let theta0: Vec<f64> = start.iter().map(|v| v.ln()).collect();
    let best = minimize(
        &objective,
        &theta0,
        opts.max_iterations,
        opts.gradient_tolerance,
    );
    let params: [f64; N] = std::array::from_fn(|i| best.x[i].exp());
    let log_likelihood = objective.sum_ll(&params);
    let gradient_norm = best.gradient_norm();
    // A NaN gradient norm must count as not converged, hence the explicit comparison.
    let small = gradient_norm.partial_cmp(&opts.gradient_tolerance)
        != Some(std::cmp::Ordering::Greater)
        && gradient_norm.is_finite();
    if !small || !log_likelihood.is_finite() {
        return Err(Error::NotConverged {
            model: M::NAME,
            iterations: best.iterations,
            gradient_norm,
            log_likelihood,
        });
    }
    let standard_errors = standard_errors(&objective, &best.x, &params);
    Ok((
        params,
        FitReport {
            model: M::NAME.into(),
            log_likelihood,
            iterations: best.iterations,
            gradient_norm,
            customers: total_weight,
            distinct_rows: M::rows(data),
            parameters: M::PARAMS.iter().map(|s| s.to_string()).collect(),
            standard_errors,
        },
    ))
}

/// Delta-method standard errors from the numerical Hessian of the total negative
/// log-likelihood in log parameters (forward differences of the exact gradient: N + 1
/// gradient evaluations, accurate to ~1e-5 relative, far below the standard errors' own
/// uncertainty).
fn standard_errors<M: Likelihood<N>, const N: usize>(
    objective: &MeanNll<'_, M, N>,
    theta: &[f64],
    params: &[f64; N],
) -> Vec<Option<f64>> {
    let h = 1e-5;
    let grad = |t: &[f64]| -> Vec<f64> {
        let (_, g) = objective.value_and_gradient(t);
        g.into_iter().map(|v| v * objective.total_weight).collect()
    };
    let g0 = grad(theta);
    let mut hess = vec![vec![0.0; N]; N];
    for i in 0..N {
        let mut up = theta.to_vec();
        up[i] += h;
        let gu = grad(&up);
        for j in 0..N {
            hess[i][j] = (gu[j] - g0[j]) / h;
        }
    }
    let symmetric: Vec<Vec<f64>> = (0..N)
        .map(|i| (0..N).map(|j| 0.5 * (hess[i][j] + hess[j][i])).collect())
        .collect();
    let hess = symmetric;
    match invert(hess) {
        Some(inv) => (0..N)
            .map(|i| (inv[i][i] > 0.0).then(|| params[i] * inv[i][i].sqrt()))
            .collect(),
        None => vec![None; N],
    }
}

/// Gauss–Jordan inversion with partial pivoting; `None` when (numerically) singular.
fn invert(mut a: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut inv: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    let scale = a
        .iter()
        .flatten()
        .fold(0.0f64, |m, v| m.max(v.abs()))
        .max(f64::MIN_POSITIVE);
    for col in 0..n {
        let pivot = (col..n).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() <= 1e-13 * scale || !a[pivot][col].is_finite() {
            return None;
        }
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let d = a[col][col];
        for j in 0..n {
            a[col][j] /= d;
            inv[col][j] /= d;
        }
        for r in 0..n {
            if r != col {
                let f = a[r][col];
                for j in 0..n {
                    a[r][j] -= f * a[col][j];
                    inv[r][j] -= f * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exponential waiting times: the MLE of the rate is n / Σt, with se = rate / √n.
    struct Exponential;
    impl Likelihood<1> for Exponential {
        type Data = [(f64, f64)];
        const NAME: &'static str = "exponential";
        const PARAMS: [&'static str; 1] = ["rate"];
        fn total<R: Real + Send + Sync>(p: &[R; 1], d: &[(f64, f64)]) -> R {
            par_sum(d.len(), |i| (p[0].ln() - p[0] * d[i].0) * d[i].1)
        }
        fn weight(d: &[(f64, f64)]) -> f64 {
            d.iter().map(|r| r.1).sum()
        }
        fn rows(d: &[(f64, f64)]) -> usize {
            d.len()
        }
    }

    #[test]
    fn fits_a_known_likelihood_with_standard_errors() {
        let rows: Vec<(f64, f64)> = vec![(0.5, 3.0), (2.0, 1.0), (1.25, 4.0)];
        let (p, rep) = fit::<Exponential, 1>(&rows[..], [1.0], &FitOptions::default()).unwrap();
        let (n, sum) = (8.0, 0.5 * 3.0 + 2.0 + 1.25 * 4.0);
        assert!((p[0] - n / sum).abs() < 1e-7, "{}", p[0]);
        let se = rep.standard_errors[0].unwrap();
        assert!((se - p[0] / n.sqrt()).abs() < 1e-6, "{se}");
        assert_eq!((rep.customers, rep.distinct_rows), (8.0, 3));
        assert!((rep.log_likelihood - (n * p[0].ln() - p[0] * sum)).abs() < 1e-9);
    }

    #[test]
    fn options_are_validated() {
        let rows = [(1.0, 1.0)];
        for bad in [
            FitOptions {
                l2_penalty: -1.0,
                ..Default::default()
            },
            FitOptions {
                max_iterations: 0,
                ..Default::default()
            },
            FitOptions {
                gradient_tolerance: 0.0,
                ..Default::default()
            },
        ] {
            assert!(fit::<Exponential, 1>(&rows[..], [1.0], &bad).is_err());
        }
        assert!(matches!(
            fit::<Exponential, 1>(&[][..], [1.0], &FitOptions::default()),
            Err(Error::EmptyInput { .. })
        ));
    }
}
