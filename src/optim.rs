//! Minimisation of smooth objectives of a few parameters, with argmin.
//!
//! The models' negative log-likelihoods are smooth in the log of their parameters and come
//! with exact gradients (forward-mode automatic differentiation), so the workhorse is
//! L-BFGS with a Moré–Thuente line search (argmin, the optimisation crate linfa already
//! builds). Where L-BFGS stops without a small gradient — a line search that fails far from the
//! optimum, typically — a Nelder–Mead simplex, which needs no gradient and cannot be misled by
//! one, restarts from the best point found and L-BFGS polishes again.

use std::cell::RefCell;

use argmin::core::{CostFunction, Error as ArgminError, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::neldermead::NelderMead;
use argmin::solver::quasinewton::LBFGS;

/// An objective: its value alone (cheap), and its value with gradient.
pub(crate) trait Objective {
    /// f(x).
    fn value(&self, x: &[f64]) -> f64;
    /// f(x) and ∇f(x).
    fn value_and_gradient(&self, x: &[f64]) -> (f64, Vec<f64>);
}

/// Where a minimisation ended.
#[derive(Debug, Clone)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub gradient: Vec<f64>,
    pub iterations: u64,
}

impl Minimum {
    pub fn gradient_norm(&self) -> f64 {
        self.gradient.iter().map(|g| g * g).sum::<f64>().sqrt()
    }
}

/// Adapts an [`Objective`] to argmin, caching the last gradient evaluation (argmin asks for
/// the cost and the gradient of the same point separately).
struct Problem<'a, O: Objective> {
    objective: &'a O,
    last: RefCell<Option<Evaluation>>,
}

/// A point with its value and gradient.
type Evaluation = (Vec<f64>, f64, Vec<f64>);

impl<O: Objective> CostFunction for Problem<'_, O> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, x: &Vec<f64>) -> Result<f64, ArgminError> {
        if let Some((p, v, _)) = &*self.last.borrow()
            && p == x
        {
            return Ok(*v);
        }
        Ok(finite_or_big(self.objective.value(x)))
    }
}

impl<O: Objective> Gradient for Problem<'_, O> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, x: &Vec<f64>) -> Result<Vec<f64>, ArgminError> {
        if let Some((p, _, g)) = &*self.last.borrow()
            && p == x
        {
            return Ok(g.clone());
        }
        let (v, g) = self.objective.value_and_gradient(x);
        let g: Vec<f64> = g
            .into_iter()
            .map(|d| if d.is_finite() { d } else { 0.0 })
            .collect();
        *self.last.borrow_mut() = Some((x.clone(), finite_or_big(v), g.clone()));
        Ok(g)
    }
}

/// The line search and the simplex need comparable numbers: an overflowed or undefined value
/// is treated as a very bad one.
fn finite_or_big(v: f64) -> f64 {
    if v.is_finite() { v } else { 1e300 }
}

fn lbfgs<O: Objective>(objective: &O, x0: &[f64], max_iters: u64, tol: f64) -> Option<Minimum> {
    let problem = Problem {
        objective,
        last: RefCell::new(None),
    };
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 7)
        .with_tolerance_grad(tol)
        .ok()?
        .with_tolerance_cost(0.0)
        .ok()?;
    let res = Executor::new(problem, solver)
        .configure(|s| s.param(x0.to_vec()).max_iters(max_iters))
        .run()
        .ok()?;
    let state = res.state();
    let x = state.get_best_param()?.clone();
    let iterations = state.get_iter();
    let (value, gradient) = objective.value_and_gradient(&x);
    Some(Minimum {
        x,
        value,
        gradient,
        iterations,
    })
}

fn nelder_mead<O: Objective>(objective: &O, x0: &[f64], max_iters: u64) -> Option<Vec<f64>> {
    let problem = Problem {
        objective,
        last: RefCell::new(None),
    };
    let mut simplex = vec![x0.to_vec()];
    for i in 0..x0.len() {
        let mut v = x0.to_vec();
        v[i] += 0.5;
        simplex.push(v);
    }
    let solver = NelderMead::new(simplex).with_sd_tolerance(1e-10).ok()?;
    let res = Executor::new(problem, solver)
        .configure(|s| s.max_iters(max_iters))
        .run()
        .ok()?;
    res.state().get_best_param().cloned()
}

/// Minimises `objective` from `x0`; returns the best point found, whether or not its
/// gradient is below `tol` (the caller decides what counts as converged).
pub(crate) fn minimize<O: Objective>(
    objective: &O,
    x0: &[f64],
    max_iters: u64,
    tol: f64,
) -> Minimum {
    let start = || {
        let (value, gradient) = objective.value_and_gradient(x0);
        Minimum {
            x: x0.to_vec(),
            value,
            gradient,
            iterations: 0,
        }
    };
    let first = lbfgs(objective, x0, max_iters, tol).unwrap_or_else(start);
    if first.gradient_norm() <= tol && first.value.is_finite() {
        return first;
    }
    let mut best = first;
    for _restart in 0..3 {
        let Some(x) = nelder_mead(objective, &best.x, max_iters) else {
            break;
        };
        let Some(polished) = lbfgs(objective, &x, max_iters, tol) else {
            break;
        };
        let iterations = best.iterations + polished.iterations;
        let improved = polished.value < best.value || !best.value.is_finite();
        if improved {
            best = Minimum {
                iterations,
                ..polished
            };
        } else {
            best.iterations = iterations;
        }
        if best.gradient_norm() <= tol {
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rosenbrock's valley, a standard hard case for line searches.
    struct Rosenbrock;
    impl Objective for Rosenbrock {
        fn value(&self, x: &[f64]) -> f64 {
            (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
        }
        fn value_and_gradient(&self, x: &[f64]) -> (f64, Vec<f64>) {
            let g0 = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
            let g1 = 200.0 * (x[1] - x[0] * x[0]);
            (self.value(x), vec![g0, g1])
        }
    }

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let m = minimize(&Rosenbrock, &[-1.2, 1.0], 1000, 1e-9);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6,
            "{:?}",
            m.x
        );
        assert!(m.gradient_norm() <= 1e-9);
    }
}
