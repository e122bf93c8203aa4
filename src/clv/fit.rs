//! Maximum-likelihood fitting shared by every model.
//!
//! Parameters are estimated on the log scale (so they stay positive without constraints) by
//! minimising the mean negative log-likelihood over weighted rows, plus an optional L2 penalty
//! on the parameters themselves (lifetimes' `penalizer_coef` convention). Gradients are exact
//! (forward-mode automatic differentiation through the likelihood). Standard errors come from
//! the Hessian of the total log-likelihood in log parameters (forward differences of the exact
//! gradient), inverted and mapped back with the delta method: se(θ) = θ · se(ln θ).
//!
//! **Converge or say why.** A fit can run from several starts ([`MaxLikelihood::with_starts`]):
//! the default start and others drawn from a seeded generator, fitted in parallel, the best
//! likelihood kept (the lowest start index on a tie, so the answer does not depend on the
//! thread count). Every report carries a [`Convergence`] record: how many starts agreed on the
//! optimum and a diagnosis ([`FitWarning`]) of what is wrong with the answer when something
//! is — a flat likelihood, a parameter at a bound of the parameter space, starts that found
//! different maxima — each with [`FitWarning::advice`] in plain words.
//!
//! What is an error and what a warning: a fit that is unusable is an error — no start reached
//! a small gradient with a finite likelihood ([`Error::NotConverged`]), or every start ran
//! off past [`Convergence::MAX_PARAMETER`], where the likelihood is rounding noise
//! ([`Error::Diverged`]). A fit that converged to a boundary (a dropout rate → 0: nobody churns
//! in this data) or along a flat ridge (too few customers to pin a parameter down) is `Ok`,
//! with the warnings in its report: it is a true maximum, its predictions are those of the
//! model's limit, and the user can act on it (a penalty, another time unit, a longer
//! calibration period). Check `report.convergence.is_clean()` to refuse those too.

use std::fmt;
use std::marker::PhantomData;

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, finite_non_negative};
use crate::optim::{Minimum, Objective, minimize};
use crate::special::{Dual, Real};

/// Settings of a maximum-likelihood fit, valid once built (see [`MaxLikelihood`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FitOptions {
    pub(crate) l2_penalty: f64,
    pub(crate) max_iterations: u64,
    pub(crate) gradient_tolerance: f64,
    /// Optimizer runs, the first from the model's default start.
    pub(crate) starts: usize,
    /// Seed of the other starts.
    pub(crate) seed: u64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            l2_penalty: 0.0,
            max_iterations: 1_000,
            gradient_tolerance: 1e-6,
            starts: 1,
            seed: 0,
        }
    }
}

/// The most starts a fit accepts: each is a full fit, and a count beyond this is a slip.
const MAX_STARTS: usize = 1_000;

/// Half-width, in log parameters, of the box around the default start from which the extra
/// starts are drawn.
const START_SPREAD: f64 = 3.0;

/// How a likelihood model `M` is fitted: the unfitted parameters of BG/NBD, MBG/NBD,
/// Pareto/NBD, BG/BB, Gamma-Gamma and the shifted-beta-geometric model.
///
/// Get one from the model (`BgNbd::params()`, `GammaGamma::params()` …), change a setting
/// with a `with_*` method (each checks its value), and call [`Fit::fit`](crate::Fit::fit) with the model's data.
/// The defaults are plain maximum likelihood, 1,000 iterations, a gradient tolerance of
/// 1e-6 on the mean negative log-likelihood in log parameters, and one start (see
/// [`with_starts`](MaxLikelihood::with_starts) for more).
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
            .field("starts", &self.options.starts)
            .field("seed", &self.options.seed)
            .finish()
    }
}

/// The serialized form of fit settings: the numbers, checked by the `with_*` setters when
/// read back (so an edited file cannot carry a negative penalty or a zero budget). Settings
/// written before starts and seed existed read as one start, seed 0.
#[derive(Serialize, Deserialize)]
struct MaxLikelihoodRecord {
    l2_penalty: f64,
    max_iterations: u64,
    gradient_tolerance: f64,
    #[serde(default = "one_start")]
    starts: usize,
    #[serde(default)]
    seed: u64,
}

fn one_start() -> usize {
    1
}

// Written out rather than derived, like Clone: a derive would ask the same of `M`.
impl<M> Serialize for MaxLikelihood<M> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        MaxLikelihoodRecord {
            l2_penalty: self.options.l2_penalty,
            max_iterations: self.options.max_iterations,
            gradient_tolerance: self.options.gradient_tolerance,
            starts: self.options.starts,
            seed: self.options.seed,
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
            .and_then(|m| m.with_starts(r.starts))
            .map(|m| m.with_seed(r.seed))
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

    /// Runs the optimizer from `n` starts and keeps the best likelihood (default 1).
    ///
    /// The first start is the model's default one, so one start is exactly the fit without
    /// this setting. The others are drawn from a generator seeded by
    /// [`with_seed`](MaxLikelihood::with_seed): each log parameter uniformly within ±3 of
    /// the default start's, that is θ between e⁻³ ≈ 0.05 and e³ ≈ 20 times the default start
    /// (θ = 1 for every model). The starts are fitted in parallel and the one with the highest
    /// (penalised) likelihood among those that converged is kept, the lowest start on a tie:
    /// the same settings give the same fit at any thread count. The report's
    /// [`Convergence`] says how many starts agreed on that optimum.
    ///
    /// Worth it when a single start fails to converge, lands at a bound, or when you must
    /// know the optimum is not a local one; it costs `n` fits (in parallel).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for 0 or more than 1,000.
    ///
    /// ```
    /// use custseg::Fit;
    /// use custseg::clv::{BgNbd, RftData};
    /// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
    ///
    /// let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
    /// let data = RftData::from_summaries(&summaries)?;
    /// let (m, report) = BgNbd::params().with_starts(4)?.with_seed(7).fit(&data)?;
    /// let c = &report.convergence;
    /// assert_eq!(c.starts, 4);
    /// // Every start found the published optimum: it is well identified.
    /// assert_eq!(c.agreeing, 4);
    /// assert!(c.diagnosis.is_empty());
    /// assert!((m.r() - 0.2426).abs() < 1e-3);
    /// assert!(BgNbd::params().with_starts(0).is_err());
    /// # Ok::<(), custseg::Error>(())
    /// ```
    pub fn with_starts(mut self, n: usize) -> Result<Self> {
        if n == 0 || n > MAX_STARTS {
            return Err(Error::InvalidParameter {
                name: "starts",
                value: n.to_string(),
                reason: format!("from 1 to {MAX_STARTS}"),
            });
        }
        self.options.starts = n;
        Ok(self)
    }

    /// The seed of the extra starts (default 0); irrelevant with one start.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.options.seed = seed;
        self
    }

    /// The number of starts.
    pub fn starts(&self) -> usize {
        self.options.starts
    }

    /// The seed of the extra starts.
    pub fn seed(&self) -> u64 {
        self.options.seed
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

/// How a fit went: the likelihood, the uncertainty of the parameters and a convergence
/// record that says whether to trust them.
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
    /// Asymptotic covariance of the **log** parameters (ln θᵢ, in the order of
    /// `parameters`): the inverse of the Hessian of the total negative log-likelihood in log
    /// parameters. The covariance of θ itself is, by the delta method, θᵢ·θⱼ·cov(ln θᵢ,
    /// ln θⱼ); `standard_errors` are θᵢ·√cov(ln θᵢ, ln θᵢ). `None` when the Hessian is
    /// singular or not positive definite (a flat likelihood), and in reports written before
    /// this field existed.
    #[serde(default)]
    pub covariance: Option<Vec<Vec<f64>>>,
    /// How the optimizer got there: starts, agreement, and a diagnosis with advice. Reports
    /// written before this field existed read as one start with nothing diagnosed.
    #[serde(default)]
    pub convergence: Convergence,
}

/// Whether the optimum of a fit can be trusted, and if not, why.
///
/// With one start, `starts`, `converged` and `agreeing` are 1 and the diagnosis comes from
/// the shape of the likelihood at the optimum alone (flat directions, parameters at a bound).
/// With several ([`MaxLikelihood::with_starts`]), agreement says whether the optimum is well
/// identified: every start that converged should reach the same likelihood.
///
/// ```
/// use custseg::Fit;
/// use custseg::clv::{BgNbd, FitWarning, Rft, RftData};
///
/// // Nobody ever bought again: nothing in the data says how customers drop out.
/// let data = RftData::from_rfts(&[Rft::new(0, 0.0, 20.0)?, Rft::new(0, 0.0, 30.0)?])?;
/// let (_, report) = BgNbd::params().fit(&data)?;
/// let flat: Vec<&str> = report
///     .convergence
///     .diagnosis
///     .iter()
///     .filter_map(|w| match w {
///         FitWarning::FlatLikelihood { parameter, .. } => Some(parameter.as_str()),
///         _ => None,
///     })
///     .collect();
/// assert!(flat.contains(&"a") && flat.contains(&"b"));
/// for w in &report.convergence.diagnosis {
///     println!("{w}: {}", w.advice());
/// }
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// Optimizer runs (the settings' `starts`).
    pub starts: usize,
    /// Runs that stopped at a small gradient with a finite likelihood and every parameter
    /// within (0, [`Convergence::MAX_PARAMETER`]].
    pub converged: usize,
    /// Converged runs whose likelihood is within `tolerance` of the best, the best included.
    pub agreeing: usize,
    /// The run kept (0: the default start).
    pub best_start: usize,
    /// The total log-likelihood (without the penalty) where each run stopped, in start
    /// order, as computed (meaningless for a run that ran off past
    /// [`Convergence::MAX_PARAMETER`]); `None` where it was not finite.
    pub log_likelihoods: Vec<Option<f64>>,
    /// Highest minus lowest log-likelihood among the converged runs (0 for one).
    pub log_likelihood_spread: f64,
    /// The agreement tolerance, in total log-likelihood: [`Convergence::AGREEMENT_PER_CUSTOMER`]
    /// (or the gradient tolerance, if larger) times the customers, at least
    /// [`Convergence::AGREEMENT_LEAST`].
    pub tolerance: f64,
    /// Largest over smallest eigenvalue of the Hessian in log parameters; `None` when it is
    /// not positive definite. Large values mean a ridge: some combination of parameters is
    /// barely determined by the data.
    pub condition_number: Option<f64>,
    /// What is wrong with the optimum, if anything; empty for a clean fit.
    pub diagnosis: Vec<FitWarning>,
}

impl Default for Convergence {
    /// One start that converged, nothing diagnosed: what a report written before this
    /// record existed reads as.
    fn default() -> Self {
        Convergence {
            starts: 1,
            converged: 1,
            agreeing: 1,
            best_start: 0,
            log_likelihoods: Vec::new(),
            log_likelihood_spread: 0.0,
            tolerance: 0.0,
            condition_number: None,
            diagnosis: Vec::new(),
        }
    }
}

impl Convergence {
    /// A log parameter at least this far from 0 (θ below e⁻⁷ ≈ 0.0009 or above e⁷ ≈ 1,100)
    /// along which the likelihood is flat is reported as at a bound
    /// ([`FitWarning::AtBound`]) rather than as flat: the data cannot tell it from its limit.
    pub const BOUND_LOG: f64 = 7.0;

    /// A log parameter whose standard error exceeds this (the data cannot tell θ from e·θ or
    /// θ/e) is reported as flat ([`FitWarning::FlatLikelihood`]).
    pub const FLAT_LOG_SE: f64 = 1.0;

    /// Starts agree on the optimum when their log-likelihoods are within this much per
    /// customer of the best (or within the gradient tolerance per customer, if larger) …
    pub const AGREEMENT_PER_CUSTOMER: f64 = 1e-6;

    /// … and never closer than this in total log-likelihood, a difference no test could
    /// see.
    pub const AGREEMENT_LEAST: f64 = 1e-3;

    /// A parameter above this (or one that underflowed to 0) has run off: past it sums such
    /// as r + x lose the digits of x, the likelihood cannot be trusted, and the run does not
    /// count as converged (no parameter of a sensible time or money unit comes near).
    pub const MAX_PARAMETER: f64 = 1e10;

    /// Nothing diagnosed: a well-identified interior optimum.
    pub fn is_clean(&self) -> bool {
        self.diagnosis.is_empty()
    }

    /// Every converged start reached the optimum (always true for one start).
    pub fn starts_agree(&self) -> bool {
        self.agreeing == self.converged
    }
}

/// Something wrong with a fitted optimum, with what to try about it ([`FitWarning::advice`]).
///
/// `Display` says what was found and what it means; `advice` what to do. Parameters are named
/// by the paper's symbols, as in [`FitReport::parameters`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FitWarning {
    /// The likelihood barely changes along this parameter: the data cannot pin it down, and
    /// its standard error is huge or undefined (a singular Hessian).
    FlatLikelihood {
        /// The parameter.
        parameter: String,
        /// Standard error of ln θ; `None` when the Hessian is singular or not positive
        /// definite along this parameter.
        log_standard_error: Option<f64>,
    },
    /// The likelihood is highest at the edge of the parameter space: θ → 0 or θ → ∞ (|ln θ| ≥
    /// [`Convergence::BOUND_LOG`] with a flat likelihood beyond). The fitted value is a point on the way
    /// to the limit, not an estimate; predictions are those of the limiting model.
    AtBound {
        /// The parameter.
        parameter: String,
        /// Where the optimizer stopped.
        value: f64,
    },
    /// Starts that converged found different maxima, and either at most half of them reached
    /// the best or the default start (the single-start fit) ended at a lower one: the
    /// likelihood has local maxima, and the best found was kept.
    StartsDisagree {
        /// Converged starts that reached the best likelihood.
        agreeing: usize,
        /// Starts that converged.
        converged: usize,
        /// Best log-likelihood minus that of the best of the other maxima.
        gap: f64,
    },
    /// A start that stopped without converging had reached a higher likelihood than the fit
    /// kept: the optimum may lie further along its path, often at a bound.
    NotConverged {
        /// The start.
        start: usize,
        /// Its gradient norm where it stopped.
        gradient_norm: f64,
        /// Its log-likelihood where it stopped.
        log_likelihood: f64,
    },
}

impl FitWarning {
    /// What to try, in plain words.
    pub fn advice(&self) -> String {
        match self {
            FitWarning::FlatLikelihood { parameter, .. } => format!(
                "{parameter} is not determined by this data: use more customers or a longer \
                 calibration period, or add a small L2 penalty (with_l2_penalty) to settle it; \
                 do not read meaning into its value"
            ),
            FitWarning::AtBound { parameter, .. } => format!(
                "the data sit at a limit of the model (a dropout parameter there: nobody seems \
                 to churn within the calibration period). Try a longer calibration period and \
                 check churn on a holdout; if {parameter} is a rate or scale, another time \
                 unit; an L2 penalty (with_l2_penalty) keeps it finite"
            ),
            FitWarning::StartsDisagree { .. } => "the likelihood has several maxima: run more \
                 starts (with_starts) to be sure the best is found, or add a small L2 penalty"
                .into(),
            FitWarning::NotConverged { .. } => "raise max_iterations, or add an L2 penalty if \
                 the parameters run off to a bound"
                .into(),
        }
    }
}

impl fmt::Display for FitWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FitWarning::FlatLikelihood {
                parameter,
                log_standard_error: Some(se),
            } => write!(
                f,
                "flat likelihood along {parameter}: standard error of ln {parameter} is {se:.3}"
            ),
            FitWarning::FlatLikelihood { parameter, .. } => write!(
                f,
                "flat likelihood along {parameter}: the Hessian is singular, no standard error"
            ),
            FitWarning::AtBound { parameter, value } => {
                let toward = if *value < 1.0 { "0" } else { "infinity" };
                write!(
                    f,
                    "boundary solution: {parameter} = {value:.3e} is on its way to {toward}"
                )
            }
            FitWarning::StartsDisagree {
                agreeing,
                converged,
                gap,
            } => write!(
                f,
                "starts disagree: {agreeing} of {converged} converged starts reached the best \
                 log-likelihood, the next maximum is {gap:.4} lower"
            ),
            FitWarning::NotConverged {
                start,
                gradient_norm,
                log_likelihood,
            } => write!(
                f,
                "start {start} stopped without converging (gradient norm {gradient_norm:.3e}) \
                 at a higher log-likelihood, {log_likelihood}, than the fit kept"
            ),
        }
    }
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

/// Where one start of a fit stopped.
struct Run<const N: usize> {
    min: Minimum,
    params: [f64; N],
    log_likelihood: f64,
    /// A small gradient, a finite likelihood and every parameter in range.
    converged: bool,
    /// The first parameter out of range (0, [`Convergence::MAX_PARAMETER`]].
    ran_off: Option<usize>,
}

/// The `k`-th start in log parameters: the default one for k = 0, otherwise uniform within
/// ±[`START_SPREAD`] of it, from a generator seeded by the master seed and k alone (so a
/// start does not depend on which thread draws it).
fn start_point(theta0: &[f64], seed: u64, k: usize) -> Vec<f64> {
    if k == 0 {
        return theta0.to_vec();
    }
    let mut rng =
        Xoshiro256PlusPlus::seed_from_u64(seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    theta0
        .iter()
        .map(|t| t + rng.gen_range(-START_SPREAD..=START_SPREAD))
        .collect()
}

fn run<M: Likelihood<N>, const N: usize>(
    objective: &MeanNll<'_, M, N>,
    theta0: &[f64],
    opts: &FitOptions,
) -> Run<N> {
    let min = minimize(
        objective,
        theta0,
        opts.max_iterations,
        opts.gradient_tolerance,
    );
    let params: [f64; N] = std::array::from_fn(|i| min.x[i].exp());
    let log_likelihood = objective.sum_ll(&params);
    let gradient_norm = min.gradient_norm();
    // A NaN gradient norm must count as not converged, hence the explicit comparison.
    let small = gradient_norm.partial_cmp(&opts.gradient_tolerance)
        != Some(std::cmp::Ordering::Greater)
        && gradient_norm.is_finite();
    let ran_off = params
        .iter()
        .position(|p| !(*p > 0.0 && *p <= Convergence::MAX_PARAMETER));
    let converged =
        small && log_likelihood.is_finite() && min.value.is_finite() && ran_off.is_none();
    Run {
        min,
        params,
        log_likelihood,
        converged,
        ran_off,
    }
}

/// The index of the run with the lowest objective among those `keep` accepts, the lowest
/// index on a tie.
fn best_run<const N: usize>(runs: &[Run<N>], keep: impl Fn(&Run<N>) -> bool) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (k, r) in runs.iter().enumerate() {
        if keep(r) && best.is_none_or(|b| r.min.value < runs[b].min.value) {
            best = Some(k);
        }
    }
    best
}

/// Fits model `M` by maximum likelihood from `start` (natural scale) and, with
/// `opts.starts` > 1, from as many seeded starts around it; keeps the best converged run.
///
/// Unusable fits are errors. When no run converged: [`Error::NotConverged`] for the run with
/// the highest likelihood among those whose parameters stayed in range, or
/// [`Error::Diverged`] when every run ran off (naming the first). A boundary or flat optimum
/// within range is a real maximum and comes back `Ok`, diagnosed in the report's
/// [`Convergence`].
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
    let runs: Vec<Run<N>> = if opts.starts <= 1 {
        vec![run(&objective, &theta0, opts)]
    } else {
        // Collected in start order, whatever thread ran which start.
        (0..opts.starts)
            .into_par_iter()
            .map(|k| run(&objective, &start_point(&theta0, opts.seed, k), opts))
            .collect()
    };
    let Some(chosen) = best_run(&runs, |r| r.converged) else {
        let Some(k) = best_run(&runs, |r| r.ran_off.is_none() && r.min.value.is_finite()) else {
            // Every run ran off: the first tells where.
            let (r, i) = runs
                .iter()
                .find_map(|r| r.ran_off.map(|i| (r, i)))
                .unwrap_or((&runs[0], 0));
            return Err(Error::Diverged {
                model: M::NAME,
                parameter: M::PARAMS[i],
                value: r.params[i],
                log_likelihood: r.log_likelihood,
            });
        };
        let r = &runs[k];
        return Err(Error::NotConverged {
            model: M::NAME,
            iterations: r.min.iterations,
            gradient_norm: r.min.gradient_norm(),
            log_likelihood: r.log_likelihood,
        });
    };
    let best = &runs[chosen];
    let params = best.params;
    let curvature = Curvature::at(&objective, &best.min.x);
    let standard_errors = curvature.standard_errors(&params);
    let covariance = curvature.covariance();
    let convergence = convergence::<N>(
        &runs,
        chosen,
        &curvature,
        (total_weight * Convergence::AGREEMENT_PER_CUSTOMER.max(opts.gradient_tolerance))
            .max(Convergence::AGREEMENT_LEAST),
        &M::PARAMS,
    );
    Ok((
        params,
        FitReport {
            model: M::NAME.into(),
            log_likelihood: best.log_likelihood,
            iterations: best.min.iterations,
            gradient_norm: best.min.gradient_norm(),
            customers: total_weight,
            distinct_rows: M::rows(data),
            parameters: M::PARAMS.iter().map(|s| s.to_string()).collect(),
            standard_errors,
            covariance,
            convergence,
        },
    ))
}

/// The agreement of the runs and the diagnosis of the one kept.
fn convergence<const N: usize>(
    runs: &[Run<N>],
    chosen: usize,
    curvature: &Curvature,
    tolerance: f64,
    names: &[&'static str; N],
) -> Convergence {
    let best = &runs[chosen];
    // Compared on what was minimised (the penalised mean), scaled to the total.
    let gap_of = |r: &Run<N>| (r.min.value - best.min.value) * curvature.total_weight;
    let converged: Vec<&Run<N>> = runs.iter().filter(|r| r.converged).collect();
    let agreeing = converged.iter().filter(|r| gap_of(r) <= tolerance).count();
    let lls: Vec<f64> = converged.iter().map(|r| r.log_likelihood).collect();
    let spread = lls.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - lls.iter().copied().fold(f64::INFINITY, f64::min);
    let mut diagnosis = Vec::new();
    // A run that stopped early higher up the likelihood than the fit kept (one that ran
    // off is not believed: its likelihood is computed past the range where it is reliable).
    if let Some(k) = best_run(runs, |r| {
        !r.converged
            && r.ran_off.is_none()
            && r.log_likelihood.is_finite()
            && r.min.gradient_norm().is_finite()
            && gap_of(r) < -tolerance
    }) {
        diagnosis.push(FitWarning::NotConverged {
            start: k,
            gradient_norm: runs[k].min.gradient_norm(),
            log_likelihood: runs[k].log_likelihood,
        });
    }
    // Lower maxima matter when they are common (the best might be one of few) or when the
    // default start ended at one (a single-start fit would have been wrong).
    let default_lower = runs[0].converged && gap_of(&runs[0]) > tolerance;
    if agreeing < converged.len() && (2 * agreeing <= converged.len() || default_lower) {
        let runner_up = converged
            .iter()
            .filter(|r| gap_of(r) > tolerance)
            .map(|r| gap_of(r))
            .fold(f64::INFINITY, f64::min);
        diagnosis.push(FitWarning::StartsDisagree {
            agreeing,
            converged: converged.len(),
            gap: runner_up,
        });
    }
    let flat = curvature.flat();
    for i in 0..N {
        let ln_theta = best.min.x[i];
        if ln_theta.abs() >= Convergence::BOUND_LOG && flat[i] {
            diagnosis.push(FitWarning::AtBound {
                parameter: names[i].into(),
                value: best.params[i],
            });
        }
    }
    for i in 0..N {
        if flat[i] && best.min.x[i].abs() < Convergence::BOUND_LOG {
            diagnosis.push(FitWarning::FlatLikelihood {
                parameter: names[i].into(),
                log_standard_error: curvature.log_standard_error(i),
            });
        }
    }
    Convergence {
        starts: runs.len(),
        converged: converged.len(),
        agreeing,
        best_start: chosen,
        log_likelihoods: runs
            .iter()
            .map(|r| r.log_likelihood.is_finite().then_some(r.log_likelihood))
            .collect(),
        log_likelihood_spread: if spread.is_finite() { spread } else { 0.0 },
        tolerance,
        condition_number: curvature.condition_number(),
        diagnosis,
    }
}

/// The Hessian of the total negative log-likelihood in log parameters at an optimum, with
/// what follows from it.
struct Curvature {
    total_weight: f64,
    /// The inverse (`None` when numerically singular).
    inverse: Option<Vec<Vec<f64>>>,
    /// Eigenvalues, ascending, and their unit eigenvectors (`vectors[k]` for `values[k]`).
    values: Vec<f64>,
    vectors: Vec<Vec<f64>>,
}

impl Curvature {
    /// Forward differences of the exact gradient: N + 1 gradient evaluations, accurate to
    /// ~1e-5 relative, far below the standard errors' own uncertainty.
    fn at<M: Likelihood<N>, const N: usize>(objective: &MeanNll<'_, M, N>, theta: &[f64]) -> Self {
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
        let hess: Vec<Vec<f64>> = (0..N)
            .map(|i| (0..N).map(|j| 0.5 * (hess[i][j] + hess[j][i])).collect())
            .collect();
        let (values, vectors) = symmetric_eigen(&hess);
        Curvature {
            total_weight: objective.total_weight,
            inverse: invert(hess),
            values,
            vectors,
        }
    }

    fn positive_definite(&self) -> bool {
        self.values.iter().all(|v| v.is_finite() && *v > 0.0)
    }

    /// Delta-method standard errors: se(θ) = θ · se(ln θ), where the inverse has a positive
    /// diagonal.
    fn standard_errors(&self, params: &[f64]) -> Vec<Option<f64>> {
        match &self.inverse {
            Some(inv) => (0..params.len())
                .map(|i| (inv[i][i] > 0.0).then(|| params[i] * inv[i][i].sqrt()))
                .collect(),
            None => vec![None; params.len()],
        }
    }

    /// The covariance of the log parameters, when the Hessian is positive definite: the
    /// inverse made exactly symmetric (elimination leaves the two triangles a rounding apart;
    /// the diagonal, and so the standard errors, is unchanged).
    fn covariance(&self) -> Option<Vec<Vec<f64>>> {
        let inv = self.inverse.as_ref()?;
        let finite = inv.iter().flatten().all(|v| v.is_finite());
        (self.positive_definite() && finite).then(|| {
            (0..inv.len())
                .map(|i| {
                    (0..inv.len())
                        .map(|j| 0.5 * (inv[i][j] + inv[j][i]))
                        .collect()
                })
                .collect()
        })
    }

    fn log_standard_error(&self, i: usize) -> Option<f64> {
        self.covariance().map(|c| c[i][i].sqrt())
    }

    fn condition_number(&self) -> Option<f64> {
        let (lo, hi) = (self.values.first()?, self.values.last()?);
        let k = hi / lo;
        (self.positive_definite() && k.is_finite()).then_some(k)
    }

    /// Which log parameters the data cannot pin down: a standard error above
    /// [`Convergence::FLAT_LOG_SE`]; without a covariance, those with a large share in an eigenvector of
    /// a flat direction (an eigenvalue ≤ 0, or one whose implied standard error is above the
    /// limit).
    fn flat(&self) -> Vec<bool> {
        let n = self.values.len();
        if let Some(c) = self.covariance() {
            return (0..n)
                .map(|i| c[i][i].sqrt() > Convergence::FLAT_LOG_SE)
                .collect();
        }
        let scale = self
            .values
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()))
            .max(f64::MIN_POSITIVE);
        let mut flat = vec![false; n];
        for (value, vector) in self.values.iter().zip(&self.vectors) {
            let flat_direction = !value.is_finite()
                || *value <= 1e-12 * scale
                || 1.0 / value.sqrt() > Convergence::FLAT_LOG_SE;
            if flat_direction {
                for (i, v) in vector.iter().enumerate() {
                    // At least half of an even share (1/√N) of the unit vector.
                    if v.abs() >= 0.5 / (n as f64).sqrt() {
                        flat[i] = true;
                    }
                }
            }
        }
        flat
    }
}

/// Eigenvalues (ascending) and unit eigenvectors of a small symmetric matrix, by cyclic
/// Jacobi rotations (Golub & Van Loan, Matrix Computations, §8.5).
fn symmetric_eigen(a: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut a = a.to_vec();
    // Columns of v are the eigenvectors.
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    if a.iter().flatten().all(|x| x.is_finite()) {
        for _sweep in 0..100 {
            let off: f64 = (0..n)
                .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
                .map(|(i, j)| a[i][j] * a[i][j])
                .sum();
            let diag: f64 = (0..n).map(|i| a[i][i] * a[i][i]).sum();
            if off <= 1e-30 * diag || off == 0.0 {
                break;
            }
            for p in 0..n {
                for q in p + 1..n {
                    if a[p][q] == 0.0 {
                        continue;
                    }
                    let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                    let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                    let c = 1.0 / (t * t + 1.0).sqrt();
                    let s = t * c;
                    // A ← JᵀAJ, V ← VJ, with J the rotation in the (p, q) plane.
                    let rotate = |x: f64, y: f64| (c * x - s * y, s * x + c * y);
                    for row in a.iter_mut().chain(v.iter_mut()) {
                        (row[p], row[q]) = rotate(row[p], row[q]);
                    }
                    let (upper, lower) = a.split_at_mut(q);
                    for (x, y) in upper[p].iter_mut().zip(lower[0].iter_mut()) {
                        (*x, *y) = rotate(*x, *y);
                    }
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| a[x][x].total_cmp(&a[y][y]));
    let values = order.iter().map(|&k| a[k][k]).collect();
    let vectors = order
        .iter()
        .map(|&k| (0..n).map(|i| v[i][k]).collect())
        .collect();
    (values, vectors)
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

    /// Only the product of the two parameters matters: a ridge, flat along ln p₀ − ln p₁.
    struct Product;
    impl Likelihood<2> for Product {
        type Data = [(f64, f64)];
        const NAME: &'static str = "product";
        const PARAMS: [&'static str; 2] = ["p0", "p1"];
        fn total<R: Real + Send + Sync>(p: &[R; 2], d: &[(f64, f64)]) -> R {
            let rate = p[0] * p[1];
            ordered_sum(d.len(), LIKELIHOOD_CHUNK, |i| {
                (rate.ln() - rate * d[i].0) * d[i].1
            })
        }
        fn weight(d: &[(f64, f64)]) -> f64 {
            d.iter().map(|r| r.1).sum()
        }
        fn rows(d: &[(f64, f64)]) -> usize {
            d.len()
        }
    }

    /// ln L = −w·θ^(−K/10) rises towards 0 as θ → ∞: slowly for K = 1 (the optimizer runs
    /// past any sensible value), fast for K = 10 (it stops at a large, finite θ).
    struct Rising<const K: u32>;
    impl<const K: u32> Likelihood<1> for Rising<K> {
        type Data = [(f64, f64)];
        const NAME: &'static str = "rising";
        const PARAMS: [&'static str; 1] = ["theta"];
        fn total<R: Real + Send + Sync>(p: &[R; 1], d: &[(f64, f64)]) -> R {
            let v = (p[0].ln() * (-(K as f64) / 10.0)).exp();
            ordered_sum(d.len(), LIKELIHOOD_CHUNK, |i| -v * d[i].1)
        }
        fn weight(d: &[(f64, f64)]) -> f64 {
            d.iter().map(|r| r.1).sum()
        }
        fn rows(d: &[(f64, f64)]) -> usize {
            d.len()
        }
    }

    #[test]
    fn covariance_and_convergence_of_a_clean_fit() {
        let rows: Vec<(f64, f64)> = vec![(0.5, 3.0), (2.0, 1.0), (1.25, 4.0)];
        let (p, rep) = fit::<Exponential, 1>(&rows[..], [1.0], &FitOptions::default()).unwrap();
        let cov = rep.covariance.as_ref().unwrap();
        // se(θ) = θ·√var(ln θ), from the same inverse.
        assert_eq!(rep.standard_errors[0], Some(p[0] * cov[0][0].sqrt()));
        // var(ln θ) = 1/n for the exponential.
        assert!((cov[0][0] - 1.0 / 8.0).abs() < 1e-5, "{cov:?}");
        let c = &rep.convergence;
        assert_eq!(
            (c.starts, c.converged, c.agreeing, c.best_start),
            (1, 1, 1, 0)
        );
        assert!(c.is_clean() && c.starts_agree());
        assert_eq!(c.condition_number, Some(1.0));
        assert_eq!(c.log_likelihoods, vec![Some(rep.log_likelihood)]);
        let many = FitOptions {
            starts: 9,
            seed: 3,
            ..FitOptions::default()
        };
        let (q, rep9) = fit::<Exponential, 1>(&rows[..], [1.0], &many).unwrap();
        assert!((q[0] - p[0]).abs() < 1e-7);
        assert_eq!((rep9.convergence.starts, rep9.convergence.agreeing), (9, 9));
        assert!(rep9.convergence.log_likelihood_spread < 1e-9);
    }

    #[test]
    fn a_ridge_is_flat_and_has_no_covariance() {
        let rows: Vec<(f64, f64)> = vec![(0.5, 3.0), (2.0, 1.0)];
        let (p, rep) = fit::<Product, 2>(&rows[..], [1.0, 1.0], &FitOptions::default()).unwrap();
        assert!((p[0] * p[1] - 4.0 / 3.5).abs() < 1e-6, "{p:?}");
        assert_eq!(rep.covariance, None);
        assert_eq!(rep.convergence.condition_number, None);
        let flat = |name: &str| FitWarning::FlatLikelihood {
            parameter: name.into(),
            log_standard_error: None,
        };
        assert_eq!(rep.convergence.diagnosis, [flat("p0"), flat("p1")]);
    }

    #[test]
    fn boundary_solutions_are_warnings_and_runaways_errors() {
        let rows: Vec<(f64, f64)> = vec![(0.0, 5.0)];
        let opts = FitOptions::default();
        // Fast: the gradient vanishes at a large, finite θ.
        let (p, rep) = fit::<Rising<10>, 1>(&rows[..], [1.0], &opts).unwrap();
        assert!(p[0] > 1e3 && p[0] <= Convergence::MAX_PARAMETER, "{p:?}");
        assert!(
            matches!(
                &rep.convergence.diagnosis[..],
                [FitWarning::AtBound { parameter, value }] if parameter == "theta" && *value == p[0]
            ),
            "{rep:?}"
        );
        // Slow: it runs off.
        match fit::<Rising<1>, 1>(&rows[..], [1.0], &opts) {
            Err(Error::Diverged {
                model, parameter, ..
            }) => assert_eq!((model, parameter), ("rising", "theta")),
            other => panic!("{other:?}"),
        }
        // So does every one of several starts.
        let many = FitOptions { starts: 4, ..opts };
        assert!(matches!(
            fit::<Rising<1>, 1>(&rows[..], [1.0], &many),
            Err(Error::Diverged { .. })
        ));
    }

    #[test]
    fn starts_are_seeded_per_index() {
        let theta0 = [0.0, 1.0, -2.0];
        assert_eq!(start_point(&theta0, 7, 0), theta0);
        let a = start_point(&theta0, 7, 3);
        assert_eq!(a, start_point(&theta0, 7, 3));
        assert_ne!(a, start_point(&theta0, 8, 3));
        assert_ne!(a, start_point(&theta0, 7, 4));
        for (x, t) in a.iter().zip(theta0) {
            assert!((x - t).abs() <= START_SPREAD);
        }
    }

    #[test]
    fn ties_go_to_the_lowest_start() {
        let run = |value: f64, converged: bool| Run::<1> {
            min: Minimum {
                x: vec![0.0],
                value,
                gradient: vec![0.0],
                iterations: 1,
            },
            params: [1.0],
            log_likelihood: -value,
            converged,
            ran_off: None,
        };
        let runs = [
            run(2.0, true),
            run(1.0, false),
            run(1.5, true),
            run(1.5, true),
        ];
        assert_eq!(best_run(&runs, |r| r.converged), Some(2));
        assert_eq!(best_run(&runs, |_| true), Some(1));
        assert_eq!(best_run(&runs, |_| false), None);
    }

    #[test]
    fn jacobi_eigen_decomposes_symmetric_matrices() {
        let (values, vectors) = symmetric_eigen(&[vec![2.0, 1.0], vec![1.0, 2.0]]);
        assert!((values[0] - 1.0).abs() < 1e-14 && (values[1] - 3.0).abs() < 1e-14);
        assert!((vectors[0][0] + vectors[0][1]).abs() < 1e-14);
        let a = vec![
            vec![4.0, 1.0, -2.0, 0.5],
            vec![1.0, 3.0, 0.0, 1.0],
            vec![-2.0, 0.0, 5.0, -1.0],
            vec![0.5, 1.0, -1.0, 1e-9],
        ];
        let (values, vectors) = symmetric_eigen(&a);
        assert!(values.windows(2).all(|w| w[0] <= w[1]));
        for (l, v) in values.iter().zip(&vectors) {
            for i in 0..4 {
                let av: f64 = (0..4).map(|j| a[i][j] * v[j]).sum();
                assert!((av - l * v[i]).abs() < 1e-12, "{av} vs {}", l * v[i]);
            }
        }
        // Not finite: left as it is, no rotation.
        let (values, _) = symmetric_eigen(&[vec![f64::NAN, 0.0], vec![0.0, 1.0]]);
        assert!(values.iter().any(|v| v.is_nan()));
    }

    #[test]
    fn options_are_validated() {
        let p = MaxLikelihood::<Exponential>::default();
        assert!(p.with_l2_penalty(-1.0).is_err());
        assert!(p.with_l2_penalty(f64::NAN).is_err());
        assert!(p.with_max_iterations(0).is_err());
        assert!(p.with_gradient_tolerance(0.0).is_err());
        assert!(p.with_gradient_tolerance(f64::INFINITY).is_err());
        assert!(p.with_starts(0).is_err());
        assert!(p.with_starts(MAX_STARTS + 1).is_err());
        assert_eq!(p.with_starts(MAX_STARTS).unwrap().starts(), MAX_STARTS);
        assert_eq!((p.starts(), p.seed()), (1, 0));
        assert_eq!(p.with_seed(9).seed(), 9);
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
