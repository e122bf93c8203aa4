//! Numbers that carry their own derivatives.
//!
//! Each model's log-likelihood is written once, generically over [`Real`]. Evaluated with
//! `f64` it is the plain likelihood; evaluated with [`Dual<N>`] (a value and its N partial
//! derivatives, forward-mode automatic differentiation) the same code yields the exact
//! gradient — including through the hypergeometric series and quadratures of the Pareto/NBD
//! likelihood — with no hand-derived formula to get wrong.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::{digamma, ln_gamma};

/// The arithmetic the likelihoods need.
pub(crate) trait Real:
    Copy
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
{
    /// A constant.
    fn cst(v: f64) -> Self;
    /// The value (derivatives dropped).
    fn v(self) -> f64;
    /// Natural logarithm.
    fn ln(self) -> Self;
    /// Exponential.
    fn exp(self) -> Self;
    /// ln Γ(x), x > 0.
    fn ln_gamma(self) -> Self;
    /// ln(1 + x), accurate near 0.
    fn ln_1p(self) -> Self;
    /// eˣ − 1, accurate near 0.
    fn exp_m1(self) -> Self;
}

impl Real for f64 {
    fn cst(v: f64) -> Self {
        v
    }
    fn v(self) -> f64 {
        self
    }
    fn ln(self) -> Self {
        f64::ln(self)
    }
    fn exp(self) -> Self {
        f64::exp(self)
    }
    fn ln_gamma(self) -> Self {
        ln_gamma(self)
    }
    fn ln_1p(self) -> Self {
        f64::ln_1p(self)
    }
    fn exp_m1(self) -> Self {
        f64::exp_m1(self)
    }
}

/// A value with N partial derivatives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Dual<const N: usize> {
    pub v: f64,
    pub d: [f64; N],
}

impl<const N: usize> Dual<N> {
    /// The i-th variable at value v.
    pub fn var(v: f64, i: usize) -> Self {
        let mut d = [0.0; N];
        d[i] = 1.0;
        Dual { v, d }
    }

    /// Applies the chain rule: value f, derivative f' of the outer function.
    fn chain(self, f: f64, df: f64) -> Self {
        let mut d = self.d;
        for x in &mut d {
            *x *= df;
        }
        Dual { v: f, d }
    }
}

impl<const N: usize> Add for Dual<N> {
    type Output = Self;
    fn add(mut self, o: Self) -> Self {
        self.v += o.v;
        for (a, b) in self.d.iter_mut().zip(o.d) {
            *a += b;
        }
        self
    }
}

impl<const N: usize> Sub for Dual<N> {
    type Output = Self;
    fn sub(mut self, o: Self) -> Self {
        self.v -= o.v;
        for (a, b) in self.d.iter_mut().zip(o.d) {
            *a -= b;
        }
        self
    }
}

impl<const N: usize> Mul for Dual<N> {
    type Output = Self;
    fn mul(self, o: Self) -> Self {
        let mut d = [0.0; N];
        for (i, x) in d.iter_mut().enumerate() {
            *x = self.d[i] * o.v + self.v * o.d[i];
        }
        Dual { v: self.v * o.v, d }
    }
}

impl<const N: usize> Div for Dual<N> {
    type Output = Self;
    fn div(self, o: Self) -> Self {
        let q = self.v / o.v;
        let mut d = [0.0; N];
        for (i, x) in d.iter_mut().enumerate() {
            *x = (self.d[i] - q * o.d[i]) / o.v;
        }
        Dual { v: q, d }
    }
}

impl<const N: usize> Neg for Dual<N> {
    type Output = Self;
    fn neg(self) -> Self {
        self.chain(-self.v, -1.0)
    }
}

impl<const N: usize> Add<f64> for Dual<N> {
    type Output = Self;
    fn add(mut self, o: f64) -> Self {
        self.v += o;
        self
    }
}

impl<const N: usize> Sub<f64> for Dual<N> {
    type Output = Self;
    fn sub(mut self, o: f64) -> Self {
        self.v -= o;
        self
    }
}

impl<const N: usize> Mul<f64> for Dual<N> {
    type Output = Self;
    fn mul(self, o: f64) -> Self {
        self.chain(self.v * o, o)
    }
}

impl<const N: usize> Div<f64> for Dual<N> {
    type Output = Self;
    fn div(self, o: f64) -> Self {
        self.chain(self.v / o, 1.0 / o)
    }
}

impl<const N: usize> Real for Dual<N> {
    fn cst(v: f64) -> Self {
        Dual { v, d: [0.0; N] }
    }
    fn v(self) -> f64 {
        self.v
    }
    fn ln(self) -> Self {
        self.chain(self.v.ln(), 1.0 / self.v)
    }
    fn exp(self) -> Self {
        let e = self.v.exp();
        self.chain(e, e)
    }
    fn ln_gamma(self) -> Self {
        self.chain(ln_gamma(self.v), digamma(self.v))
    }
    fn ln_1p(self) -> Self {
        self.chain(self.v.ln_1p(), 1.0 / (1.0 + self.v))
    }
    fn exp_m1(self) -> Self {
        self.chain(self.v.exp_m1(), self.v.exp())
    }
}

/// ln(eᵃ + eᵇ) without overflow.
pub(crate) fn log_add_exp<R: Real>(a: R, b: R) -> R {
    if a.v() >= b.v() {
        if b.v() == f64::NEG_INFINITY {
            return a;
        }
        a + (b - a).exp().ln_1p()
    } else {
        if a.v() == f64::NEG_INFINITY {
            return b;
        }
        b + (a - b).exp().ln_1p()
    }
}

/// ln(eᵃ − eᵇ) for a > b: ln(eᵃ) + ln(1 − e^{b−a}).
pub(crate) fn log_sub_exp<R: Real>(a: R, b: R) -> R {
    if b.v() == f64::NEG_INFINITY {
        return a;
    }
    a + (-(b - a).exp_m1()).ln()
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
pub(crate) fn ln_beta<R: Real>(a: R, b: R) -> R {
    a.ln_gamma() + b.ln_gamma() - (a + b).ln_gamma()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AD derivative of a composite expression equals a central difference.
    #[test]
    fn dual_derivatives_match_finite_differences() {
        fn f<R: Real>(x: R, y: R) -> R {
            let t = (x * y + 1.5).ln() - (x / (y + 2.0)).exp_m1() + (x * 0.3).ln_1p();
            t * x.ln_gamma() - ln_beta(x, y) + log_add_exp(x, y) + log_sub_exp(y + 3.0, x)
        }
        let (x, y) = (1.7, 0.45);
        let d = f(Dual::<2>::var(x, 0), Dual::<2>::var(y, 1));
        assert!((d.v - f(x, y)).abs() < 1e-14);
        let h = 1e-6;
        let dx = (f(x + h, y) - f(x - h, y)) / (2.0 * h);
        let dy = (f(x, y + h) - f(x, y - h)) / (2.0 * h);
        assert!((d.d[0] - dx).abs() < 1e-7, "{} vs {dx}", d.d[0]);
        assert!((d.d[1] - dy).abs() < 1e-7, "{} vs {dy}", d.d[1]);
    }
}
