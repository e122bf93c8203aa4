//! Special functions for the customer-base models, in log space where it matters.
//!
//! * [`ln_gamma`] is libm's `lgamma` (musl's implementation); [`digamma`] is ours.
//! * [`hyp2f1_unit`] sums 2F1(1, d; c; z) = Σ (d)ₙ/(c)ₙ zⁿ, the form every Gauss
//!   hypergeometric function of the Pareto/NBD likelihood takes after Euler's transformation:
//!   all terms positive, ratio below z.
//! * [`tanh_sinh`] integrates a function given by its logarithm over a finite interval with
//!   the double-exponential rule (Takahasi & Mori 1974), robust to endpoint singularities and
//!   to integrands concentrated near an endpoint. The models fall back on it where a series
//!   would converge too slowly.

mod real;

pub(crate) use real::{Dual, Real, ln_beta, log_add_exp, log_sub_exp};

/// ln Γ(x) for x > 0.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// ln |Γ(x)| and the sign of Γ(x), for any real x (Γ has poles at 0, −1, −2, …, where the
/// logarithm is +∞).
pub(crate) fn ln_gamma_signed(x: f64) -> (f64, f64) {
    let (v, sign) = libm::lgamma_r(x);
    (v, if sign < 0 { -1.0 } else { 1.0 })
}

/// ln |Γ(x + d) / Γ(x)| and its sign. Two large ln Γ values would cancel to a few digits
/// (ln Γ(10⁴) ≈ 8·10⁴); for x and x + d ≥ 10 the difference is written out instead, from
/// Stirling's series: (x − ½)·ln(1 + d/x) + d·ln(x + d) − d + the corrections' difference.
pub(crate) fn ln_gamma_ratio(x: f64, d: f64) -> (f64, f64) {
    if x >= 10.0 && x + d >= 10.0 {
        let v = (x - 0.5) * (d / x).ln_1p() + d * (x + d).ln() - d + stirling(x + d) - stirling(x);
        return (v, 1.0);
    }
    let (top, s_top) = ln_gamma_signed(x + d);
    let (bottom, s_bottom) = ln_gamma_signed(x);
    (top - bottom, s_top * s_bottom)
}

/// The digamma function ψ(x) = d ln Γ(x) / dx, for x > 0.
pub(crate) fn digamma(mut x: f64) -> f64 {
    // Shift to x ≥ 10 with ψ(x) = ψ(x + 1) − 1/x, then the asymptotic series with the
    // Bernoulli numbers up to B₁₄ (Abramowitz & Stegun 6.3.18): error below 1e-16 there.
    let mut acc = 0.0;
    while x < 10.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let x2 = 1.0 / (x * x);
    let series = x2
        * (1.0 / 12.0
            - x2 * (1.0 / 120.0
                - x2 * (1.0 / 252.0
                    - x2 * (1.0 / 240.0
                        - x2 * (1.0 / 132.0 - x2 * (691.0 / 32_760.0 - x2 / 12.0))))));
    acc + x.ln() - 0.5 / x - series
}

/// Largest number of terms a series may take before the caller falls back on quadrature.
#[cfg(test)]
const MAX_TERMS: usize = 5_000;

/// 2F1(1, d; c; z) = Σₙ (d)ₙ/(c)ₙ zⁿ for 0 < d < c and 0 ≤ z < 1, or `None` when the series
/// would need more than `max_terms` terms (z close to 1 with c − d small).
pub(crate) fn hyp2f1_unit<R: Real>(d: R, c: R, z: R, max_terms: usize) -> Option<R> {
    let mut term = R::cst(1.0);
    let mut sum = R::cst(1.0);
    for n in 0..max_terms {
        let k = n as f64;
        term = term * (d + k) / (c + k) * z;
        sum = sum + term;
        // Terms decrease with ratio below z, so the tail is below term · z / (1 − z).
        let tail = term.v() * z.v() / (1.0 - z.v());
        if tail <= 1e-16 * sum.v() {
            return Some(sum);
        }
    }
    None
}

/// The Gauss series Σₙ (a)ₙ(b)ₙ/((c)ₙ n!) zⁿ for 0 ≤ z < 1 and c > 0, or `None` when it has
/// not converged within [`MAX_TERMS`] terms (a reference for the models' specialised series).
#[cfg(test)]
pub(crate) fn hyp2f1_series<R: Real>(a: R, b: R, c: R, z: R) -> Option<R> {
    let mut term = R::cst(1.0);
    let mut sum = R::cst(1.0);
    let mut small = 0;
    for n in 0..MAX_TERMS {
        let k = n as f64;
        term = term * (a + k) * (b + k) / ((c + k) * (k + 1.0)) * z;
        sum = sum + term;
        if term.v() == 0.0 {
            return Some(sum);
        }
        // Once past the largest terms, the ratio tends to z: require a few small terms in a
        // row so that a sign change of (a + k) or (b + k) cannot end the sum early.
        if term.v().abs() <= 1e-17 * sum.v().abs() {
            small += 1;
            if small >= 3 && (a.v() + k).abs() > 1.0 && (b.v() + k).abs() > 1.0 {
                return Some(sum);
            }
        } else {
            small = 0;
        }
        if !sum.v().is_finite() {
            return None;
        }
    }
    None
}

/// ln ∫ₐᵇ f(x) dx by tanh-sinh quadrature, where `ln_f(x, x − a, b − x)` returns ln f(x)
/// (the distances to the ends let the integrand evaluate singular factors accurately).
/// Refines the step until two levels agree to ~1e-12; returns −∞ for an integral of zero.
pub(crate) fn tanh_sinh<R: Real>(a: f64, b: f64, ln_f: impl Fn(f64, f64, f64) -> R) -> R {
    let half = 0.5 * (b - a);
    if half <= 0.0 {
        return R::cst(f64::NEG_INFINITY);
    }
    let ln_half = half.ln();
    let pi2 = std::f64::consts::FRAC_PI_2;
    // One node at t: its log weight plus ln f there, or None when the node is negligible.
    let node = |t: f64| -> Option<R> {
        let u = pi2 * t.sinh();
        // Distances to the ends: half·(1 ∓ tanh u), computed without cancellation.
        let e = (-2.0 * u.abs()).exp();
        let near = half * 2.0 * e / (1.0 + e);
        let far = 2.0 * half - near;
        let (from_a, to_b) = if u >= 0.0 { (far, near) } else { (near, far) };
        if from_a <= 0.0 || to_b <= 0.0 {
            return None;
        }
        let x = if u >= 0.0 { b - to_b } else { a + from_a };
        let ln_cosh_u = u.abs() + (0.5 * (1.0 + e)).ln();
        let ln_w = ln_half + (pi2 * t.cosh()).ln() - 2.0 * ln_cosh_u;
        if ln_w < -745.0 {
            return None;
        }
        let v = ln_f(x, from_a, to_b);
        (v.v() > f64::NEG_INFINITY).then(|| v + ln_w)
    };
    let t_max = 4.0;
    let mut h = 1.0;
    let mut ln_sum = R::cst(f64::NEG_INFINITY);
    let mut k = 0.0;
    while k <= t_max {
        for t in if k == 0.0 { vec![0.0] } else { vec![k, -k] } {
            if let Some(v) = node(t) {
                ln_sum = log_add_exp(ln_sum, v);
            }
        }
        k += h;
    }
    let mut estimate = ln_sum + h.ln();
    for _level in 0..10 {
        h *= 0.5;
        let mut t = h;
        while t <= t_max {
            for s in [t, -t] {
                if let Some(v) = node(s) {
                    ln_sum = log_add_exp(ln_sum, v);
                }
            }
            t += 2.0 * h;
        }
        let next = ln_sum + h.ln();
        let converged = (next.v() - estimate.v()).abs() < 1e-12
            || (next.v() == f64::NEG_INFINITY && estimate.v() == f64::NEG_INFINITY);
        estimate = next;
        if converged {
            break;
        }
    }
    estimate
}

/// Most continued-fraction steps [`incomplete_beta`] takes. The fraction converges in about
/// √max(a, b) steps, so this covers shape parameters up to ~1e13; past it the function gives
/// up (`None`) rather than loop.
const MAX_FRACTION_STEPS: usize = 5_000_000;

/// The regularised incomplete beta function I_x(a, b) for a, b > 0 and 0 ≤ x ≤ 1, by its
/// continued fraction (modified Lentz), taken on the side where it converges fast. `y` is
/// 1 − x, given separately because the caller often knows it more accurately than 1 − x
/// rounds to (x = t/(α + t) with t ≫ α). `None` for arguments outside that domain or a
/// fraction that has not converged.
pub(crate) fn incomplete_beta(a: f64, b: f64, x: f64, y: f64) -> Option<f64> {
    if !(a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite() && (0.0..=1.0).contains(&x)) {
        return None;
    }
    if x == 0.0 || y == 0.0 {
        return Some(if x == 0.0 { 0.0 } else { 1.0 });
    }
    let ln_front = ln_beta_front(a, b, x, y);
    if x < (a + 1.0) / (a + b + 2.0) {
        Some(ln_front.exp() * beta_fraction(a, b, x)? / a)
    } else {
        Some(1.0 - ln_front.exp() * beta_fraction(b, a, y)? / b)
    }
}

/// ln(xᵃ (1 − x)ᵇ / B(a, b)). With both shapes large the direct form subtracts numbers of
/// size a·ln a and loses digits; there it is written (as TOMS 708's `brcomp` does) around
/// the mode x₀ = a/(a + b): −a·φ(x/x₀) − b·φ((1 − x)/(1 − x₀)) + ½·ln(ab / (2π(a + b))) − Δ,
/// with φ(u) = u − 1 − ln u and Δ the Stirling corrections of the three gamma functions
/// (used for a, b ≥ 10).
fn ln_beta_front(a: f64, b: f64, x: f64, y: f64) -> f64 {
    // ln x and ln y from whichever of x, y is the smaller (the other is 1 − it).
    let (ln_x, ln_y) = if x <= y {
        (x.ln(), (-x).ln_1p())
    } else {
        ((-y).ln_1p(), y.ln())
    };
    let (small, big) = (a.min(b), a.max(b));
    if small < 10.0 {
        // ln B(a, b) = ln Γ(small) + [ln Γ(big) − ln Γ(big + small)]; with big large the
        // bracket is the difference of two huge numbers, written instead (TOMS 708's
        // `algdiv`) as −(big − ½)·ln(1 + small/big) − small·ln(big + small) + small plus the
        // Stirling corrections.
        let ln_beta = if big >= 10.0 {
            ln_gamma(small) - (big - 0.5) * (small / big).ln_1p() - small * (big + small).ln()
                + small
                + stirling(big)
                - stirling(big + small)
        } else {
            real::ln_beta(a, b)
        };
        return a * ln_x + b * ln_y - ln_beta;
    }
    // φ(1 + w) = w − ln(1 + w), by its series where the difference would cancel.
    let phi = |w: f64| -> f64 {
        if w.abs() < 0.1 {
            let (mut term, mut sum) = (-w, 0.0);
            for k in 2..60 {
                term *= -w;
                let add = term / k as f64;
                sum += add;
                if add.abs() <= 1e-17 * sum.abs() {
                    break;
                }
            }
            sum
        } else {
            w - w.ln_1p()
        }
    };
    let total = a + b;
    // x/x₀ − 1 = ((a + b)x − a)/a, and likewise for 1 − x.
    let wx = (total * x - a) / a;
    let wy = (total * y - b) / b;
    let corrections = stirling(a) + stirling(b) - stirling(total);
    -a * phi(wx) - b * phi(wy) + 0.5 * (a / total * b / (2.0 * std::f64::consts::PI)).ln()
        - corrections
}

/// Stirling's correction ln Γ(z) − [(z − ½) ln z − z + ½ ln 2π], to 1e-16 for z ≥ 10.
fn stirling(z: f64) -> f64 {
    let z2 = 1.0 / (z * z);
    let tail = 1.0 / 1188.0 - z2 * (691.0 / 360_360.0 - z2 / 156.0);
    (1.0 / 12.0 - z2 * (1.0 / 360.0 - z2 * (1.0 / 1260.0 - z2 * (1.0 / 1680.0 - z2 * tail)))) / z
}

/// The continued fraction of I_x(a, b) (Numerical Recipes' `betacf`).
fn beta_fraction(a: f64, b: f64, x: f64) -> Option<f64> {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=MAX_FRACTION_STEPS {
        let m = m as f64;
        let m2 = 2.0 * m;
        for aa in [
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ] {
            d = 1.0 + aa * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + aa / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        // The last factor applied is d·c of the odd step; converged when it is 1.
        if (d * c - 1.0).abs() < 1e-15 {
            return h.is_finite().then_some(h);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_beta_matches_closed_forms() {
        for &x in &[1e-9f64, 0.01, 0.3, 0.5, 0.77, 0.999] {
            for &a in &[0.5, 1.0, 2.5, 40.0] {
                // I_x(a, 1) = x^a and I_x(1, b) = 1 − (1 − x)^b.
                let want = x.powf(a);
                let got = incomplete_beta(a, 1.0, x, 1.0 - x).unwrap();
                assert!(
                    (got - want).abs() <= 1e-13 * want,
                    "I_{x}({a}, 1) = {got}, not {want}"
                );
                let want = 1.0 - (1.0 - x).powf(a);
                assert!((incomplete_beta(1.0, a, x, 1.0 - x).unwrap() - want).abs() < 1e-13);
            }
        }
        for &a in &[0.3, 7.0, 10.0, 100.0, 1e6, 1e9] {
            // The fraction takes ~√a steps; their rounding adds up to ~1e-11 at a = 1e9.
            let tol = if a > 1e6 { 1e-10 } else { 1e-12 };
            let got = incomplete_beta(a, a, 0.5, 0.5);
            assert!(
                got.is_some_and(|v| (v - 0.5).abs() < tol),
                "I_0.5({a}, {a}) = {got:?}"
            );
        }
        assert_eq!(incomplete_beta(2.0, 3.0, 0.0, 1.0), Some(0.0));
        assert_eq!(incomplete_beta(-1.0, 3.0, 0.5, 0.5), None);
    }

    #[test]
    fn digamma_known_values() {
        // ψ(1) = −γ, ψ(1/2) = −γ − 2 ln 2, ψ(10) = H₉ − γ.
        let euler = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + euler).abs() < 1e-14);
        assert!((digamma(0.5) + euler + 2.0 * 2f64.ln()).abs() < 1e-14);
        let h9: f64 = (1..10).map(|k| 1.0 / k as f64).sum();
        assert!((digamma(10.0) - (h9 - euler)).abs() < 1e-14);
        // Against the derivative of ln Γ.
        for x in [1e-3f64, 0.3, 2.5, 17.0, 1234.5] {
            let h = 1e-5 * x;
            let fd = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert!(
                (digamma(x) - fd).abs() < 1e-6 * digamma(x).abs().max(1.0),
                "x = {x}"
            );
        }
    }

    #[test]
    fn unit_series_matches_closed_forms() {
        // 2F1(1, 1; 2; z) = −ln(1 − z)/z.
        for z in [0.0f64, 0.1, 0.5, 0.9, 0.99] {
            let v = hyp2f1_unit(1.0, 2.0, z, MAX_TERMS).unwrap();
            let exact = if z == 0.0 { 1.0 } else { -(1.0 - z).ln() / z };
            assert!((v - exact).abs() < 1e-13 * exact, "z = {z}");
        }
        // 2F1(1, d; d; z) = 1/(1 − z) in the limit c → d; c slightly above d converges too.
        assert!(hyp2f1_unit(3.0, 3.0 + 1e-9, 0.999_999_9, MAX_TERMS).is_none());
    }

    #[test]
    fn general_series_matches_closed_forms() {
        // 2F1(a, b; b; z) = (1 − z)^(−a); 2F1(−2, b; c; z) is a polynomial.
        let v = hyp2f1_series(0.7, 2.3, 2.3, 0.6).unwrap();
        assert!((v - 0.4f64.powf(-0.7)).abs() < 1e-13);
        let (b, c, z) = (1.5, 2.5, 0.3);
        let poly = 1.0 - 2.0 * b / c * z + (b * (b + 1.0)) / (c * (c + 1.0)) * z * z;
        assert!((hyp2f1_series(-2.0, b, c, z).unwrap() - poly).abs() < 1e-15);
    }

    #[test]
    fn tanh_sinh_integrates_singular_and_peaked_functions() {
        // ∫₀¹ x^(−1/2) dx = 2, with the singularity handled through the distance to 0.
        let v: f64 = tanh_sinh(0.0, 1.0, |_, xa, _| -0.5 * xa.ln());
        assert!((v.exp() - 2.0).abs() < 1e-10, "{}", v.exp());
        // ∫₀¹⁰⁰⁰⁰ (1 + τ)^(−10001) dτ = (1 − 10001^(−10000)) / 10000: mass within 1e-4 of 0.
        let v: f64 = tanh_sinh(0.0, 10_000.0, |x, _, _| -10_001.0 * x.ln_1p());
        assert!((v - (1e-4f64).ln()).abs() < 1e-9, "{v}");
        // Beta integral: ∫₀¹ x^(a−1)(1−x)^(b−1) = B(a, b), with a, b < 1.
        let (a, b) = (0.3, 0.6);
        let v: f64 = tanh_sinh(0.0, 1.0, |_, xa, bx| {
            (a - 1.0) * xa.ln() + (b - 1.0) * bx.ln()
        });
        assert!(
            (v - ln_beta(a, b)).abs() < 1e-10,
            "{v} vs {}",
            ln_beta(a, b)
        );
    }
}
