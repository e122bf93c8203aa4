//! Maximum-likelihood fitting shared by every model.
//!
//! Parameters are estimated on the log scale (so they stay positive without constraints) by
//! minimising the mean negative log-likelihood over weighted rows, plus an optional L2 penalty
//! on the parameters themselves (lifetimes' `penalizer_coef` convention). Gradients are exact
//! (forward-mode automatic differentiation through the likelihood). Standard errors come from
//! the Hessian of the total log-likelihood in log parameters (forward differences of the exact
//! gradient), inverted and mapped back with the delta method: se(θ) = θ · se(ln θ).

use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, finite_non_negative};
use crate::optim::{Objective, minimize};
use crate::special::{Dual, Real};

/// Settings of a maximum-likelihood fit, valid once built (see [`MaxLikelihood`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FitOptions {
    pub(crate) l2_penalty: f64,
    pub(crate) max_iterations: u64,
    pub(crate) gradient_tolerance: f64,
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

/// How a likelihood model `M` is fitted: the unfitted parameters of BG/NBD, MBG/NBD,
/// Pareto/NBD, BG/BB, Gamma-Gamma and the shifted-beta-geometric model.
///
/// Get one from the model (`BgNbd::params()`, `GammaGamma::params()` …), change a setting
/// with a `with_*` method (each checks its value), and call [`Fit::fit`](crate::Fit::fit) with the model's data.
/// The defaults are plain maximum likelihood, 1,000 iterations and a gradient tolerance of
/// 1e-6 on the mean negative log-likelihood in log parameters.
///
/// ```
/// use custseg::Fit;
/// use custseg::clv::{BgNbd, RftData};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
///
/// let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
/// let data = RftData::from_summaries(&summaries)?;
/// // lifetimes' `penalizer_coef`: shrinks the parameters towards 0.
/// let (shrunk, _) = BgNbd::params().with_l2_penalty(0.001)?.fit(&data)?;
/// let (plain, _) = BgNbd::params().fit(&data)?;
/// assert!(shrunk.alpha() < plain.alpha());
/// assert!(BgNbd::params().with_max_iterations(0).is_err());
/// # Ok::<(), custseg::Error>(())
/// ```
pub struct MaxLikelihood<M> {
    options: FitOptions,
    model: PhantomData<fn() -> M>,
}

// Written out rather than derived: a derive would ask the same of `M`.
impl<M> Clone for MaxLikelihood<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for MaxLikelihood<M> {}

impl<M> PartialEq for MaxLikelihood<M> {
    fn eq(&self, other: &Self) -> bool {
        self.options == other.options
    }
}

impl<M> fmt::Debug for MaxLikelihood<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaxLikelihood")
            .field("model", &std::any::type_name::<M>())
            .field("l2_penalty", &self.options.l2_penalty)
            .field("max_iterations", &self.options.max_iterations)
            .field("gradient_tolerance", &self.options.gradient_tolerance)
            .finish()
    }
}

/// The serialized form of fit settings: the three numbers, checked by the `with_*` setters
/// when read back (so an edited file cannot carry a negative penalty or a zero budget).
#[derive(Serialize, Deserialize)]
struct MaxLikelihoodRecord {
    l2_penalty: f64,
    max_iterations: u64,
    gradient_tolerance: f64,
}

// Written out rather than derived, like Clone: a derive would ask the same of `M`.
impl<M> Serialize for MaxLikelihood<M> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        MaxLikelihoodRecord {
            l2_penalty: self.options.l2_penalty,
            max_iterations: self.options.max_iterations,
            gradient_tolerance: self.options.gradient_tolerance,
        }
        .serialize(s)
    }
}

impl<'de, M> Deserialize<'de> for MaxLikelihood<M> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r = MaxLikelihoodRecord::deserialize(d)?;
        MaxLikelihood::default()
            .with_l2_penalty(r.l2_penalty)
            .and_then(|m| m.with_max_iterations(r.max_iterations))
            .and_then(|m| m.with_gradient_tolerance(r.gradient_tolerance))
            .map_err(serde::de::Error::custom)
    }
}

impl<M> Default for MaxLikelihood<M> {
    fn default() -> Self {
        MaxLikelihood {
            options: FitOptions::default(),
            model: PhantomData,
        }
    }
}

impl<M> MaxLikelihood<M> {
    /// Adds the penalty λ·Σθᵢ² to the mean negative log-likelihood (lifetimes'
    /// `penalizer_coef`; 0, the default, is plain maximum likelihood).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless λ is finite and ≥ 0.
    pub fn with_l2_penalty(mut self, lambda: f64) -> Result<Self> {
        self.options.l2_penalty = finite_non_negative("l2_penalty", lambda)?;
        Ok(self)
    }

    /// The iteration budget of each optimizer run (default 1,000).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0.
    pub fn with_max_iterations(mut self, iterations: u64) -> Result<Self> {
        if iterations == 0 {
            return Err(Error::InvalidParameter {
                name: "max_iterations",
                value: "0".into(),
                reason: "at least 1".into(),
            });
        }
        self.options.max_iterations = iterations;
        Ok(self)
    }

    /// The fit has converged when the gradient of the mean penalised negative
    /// log-likelihood in log parameters has at most this norm (default 1e-6).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless finite and > 0.
    pub fn with_gradient_tolerance(mut self, tolerance: f64) -> Result<Self> {
        if !(tolerance.is_finite() && tolerance > 0.0) {
            return Err(Error::InvalidParameter {
                name: "gradient_tolerance",
                value: tolerance.to_string(),
                reason: "finite and > 0".into(),
            });
        }
        self.options.gradient_tolerance = tolerance;
        Ok(self)
    }

    /// The penalty λ.
    pub fn l2_penalty(&self) -> f64 {
        self.options.l2_penalty
    }

    /// The iteration budget.
    pub fn max_iterations(&self) -> u64 {
        self.options.max_iterations
    }

    /// The gradient tolerance.
    pub fn gradient_tolerance(&self) -> f64 {
        self.options.gradient_tolerance
    }

    pub(crate) fn options(&self) -> &FitOptions {
        &self.options
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

/// Rows per parallel chunk of a likelihood sum: fixed, so sums do not depend on the thread
/// count.
pub(crate) const LIKELIHOOD_CHUNK: usize = 2_048;

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
    use crate::par::ordered_sum;

    /// Exponential waiting times: the MLE of the rate is n / Σt, with se = rate / √n.
    struct Exponential;
    impl Likelihood<1> for Exponential {
        type Data = [(f64, f64)];
        const NAME: &'static str = "exponential";
        const PARAMS: [&'static str; 1] = ["rate"];
        fn total<R: Real + Send + Sync>(p: &[R; 1], d: &[(f64, f64)]) -> R {
            ordered_sum(d.len(), LIKELIHOOD_CHUNK, |i| {
                (p[0].ln() - p[0] * d[i].0) * d[i].1
            })
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
        let p = MaxLikelihood::<Exponential>::default();
        assert!(p.with_l2_penalty(-1.0).is_err());
        assert!(p.with_l2_penalty(f64::NAN).is_err());
        assert!(p.with_max_iterations(0).is_err());
        assert!(p.with_gradient_tolerance(0.0).is_err());
        assert!(p.with_gradient_tolerance(f64::INFINITY).is_err());
        let p = p
            .with_l2_penalty(0.5)
            .unwrap()
            .with_max_iterations(7)
            .unwrap();
        assert_eq!((p.l2_penalty(), p.max_iterations()), (0.5, 7));
        assert!(matches!(
            fit::<Exponential, 1>(&[][..], [1.0], &FitOptions::default()),
            Err(Error::EmptyInput { .. })
        ));
    }
}
