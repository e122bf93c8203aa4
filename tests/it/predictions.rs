//! Predictions beyond P(alive) and expected purchases: P(alive) at a future time, the
//! conditional distribution of future purchases, DERT and the value of a customer not yet
//! acquired. Each is checked against an independent reference (lifetimes where it has the
//! function, mpmath / scipy otherwise: `benches/peers/diagnostics_reference.py` →
//! `tests/data/diagnostics_lifetimes.json`) and against the model's other answers.

use custseg::clv::{
    BgNbd, Discounting, GammaGamma, MbgNbd, ParetoNbd, Rft, TransactionModel, Valuation,
};
use custseg::{Error, TimeUnit};

/// The published CDNOW estimates (weeks).
fn models() -> Vec<(&'static str, Box<dyn TransactionModel>)> {
    vec![
        (
            "bgnbd",
            Box::new(BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258).unwrap()),
        ),
        (
            "mbgnbd",
            Box::new(MbgNbd::new(0.5248, 6.1830, 0.8914, 1.6140).unwrap()),
        ),
        (
            "pnbd",
            Box::new(ParetoNbd::new(0.5533, 10.5776, 0.6062, 11.6680).unwrap()),
        ),
    ]
}

fn histories() -> Vec<Rft> {
    [
        (2, 30.43, 38.86),
        (0, 0.0, 38.86),
        (2, 10.0, 38.86),
        (10, 38.0, 38.86),
        (1, 1.0, 38.86),
        (10, 10.0, 38.86),
        (0, 0.0, 0.5),
        (60, 70.0, 70.5),
    ]
    .iter()
    .map(|&(x, tx, t)| Rft::new(x, tx, t).unwrap())
    .collect()
}

/// The conditional distribution of future purchases is a distribution whose mean is the
/// conditional expectation every model already reproduces lifetimes with.
#[test]
fn conditional_purchase_distribution_sums_to_one_with_the_expected_mean() {
    for (name, m) in models() {
        for c in histories() {
            for t in [1.0, 39.0, 200.0] {
                let mut total = 0.0;
                let mut mean = 0.0;
                let mut n = 0u32;
                // Walk until the remaining mass is negligible.
                while total < 1.0 - 1e-14 && n < 5_000 {
                    let p = m.conditional_probability_of_purchases(&c, t, n).unwrap();
                    assert!((0.0..=1.0).contains(&p), "{name} {c:?} {t} {n}: {p}");
                    total += p;
                    mean += n as f64 * p;
                    n += 1;
                }
                let expected = m.expected_purchases(&c, t).unwrap();
                assert!(
                    (total - 1.0).abs() < 1e-11,
                    "{name} {c:?} t {t}: sum {total}"
                );
                assert!(
                    (mean - expected).abs() <= 1e-7 * expected.max(1e-3),
                    "{name} {c:?} t {t}: mean {mean} vs E {expected}"
                );
            }
        }
    }
}

/// At t = 0 the future P(alive) is today's; it falls with t, to 0 far out.
#[test]
fn future_p_alive_starts_at_p_alive_and_falls() {
    for (name, m) in models() {
        for c in histories() {
            let now = m.p_alive(&c).unwrap();
            assert_eq!(m.p_alive_at(&c, 0.0).unwrap(), now, "{name} {c:?}");
            let mut last = now;
            for t in [1.0, 13.0, 39.0, 104.0, 1e4, 1e8] {
                let p = m.p_alive_at(&c, t).unwrap();
                assert!(
                    p <= last && p >= 0.0,
                    "{name} {c:?} t {t}: {p} after {last}"
                );
                last = p;
            }
            assert!(last < 0.05 * now.max(1e-300), "{name} {c:?}: {last}");
        }
    }
}

/// P(alive at T + t) = P(alive at T) · P(no dropout in t | alive): summed over every way the
/// next t can go, the conditional distribution of purchases is the same whether or not the
/// customer is still alive at the end — so P(X = 0 | alive) ≥ P(alive at T + t, no purchase)
/// is a bound the two functions must respect together, and for Pareto/NBD, whose dropout
/// does not depend on purchases, survival is exactly ((β + T) / (β + T + t))^s.
#[test]
fn future_p_alive_is_consistent_with_the_purchase_distribution() {
    let m = ParetoNbd::new(0.5533, 10.5776, 0.6062, 11.6680).unwrap();
    for c in histories() {
        for t in [13.0, 39.0] {
            let survival = m.p_alive_at(&c, t).unwrap() / m.p_alive(&c).unwrap();
            let exact = ((11.668 + c.big_t()) / (11.668 + c.big_t() + t)).powf(0.6062);
            assert!((survival - exact).abs() < 1e-14, "{c:?}");
        }
    }
    // BG/NBD: a customer without purchases in (T, T + t] cannot drop out in it, so
    // P(alive at T + t) ≥ P(alive at T) · P(X(t) = 0 | alive).
    for (name, m) in models().into_iter().take(2) {
        for c in histories() {
            for t in [13.0, 39.0] {
                let alive_later = m.p_alive_at(&c, t).unwrap();
                let p = m.p_alive(&c).unwrap();
                let none_bought = (m.conditional_probability_of_purchases(&c, t, 0).unwrap()
                    - (1.0 - p))
                    .max(0.0);
                assert!(alive_later >= none_bought - 1e-14, "{name} {c:?} {t}");
            }
        }
    }
}

/// DERT grows as the discount rate falls and lies between the undiscounted expectation over
/// a horizon short enough for discounting not to matter and the undiscounted expectation
/// over a very long one.
#[test]
fn dert_orders_with_the_rate_and_the_expected_purchases() {
    for (name, m) in models() {
        for c in histories() {
            let mut last = 0.0;
            for rate in [1.0, 0.1, 0.01, 1.15f64.ln() / 52.0, 1e-3] {
                let d = m.dert(&c, rate).unwrap();
                assert!(d > last, "{name} {c:?} rate {rate}: {d} after {last}");
                // Every purchase in the first 1/δ counts at least e^−1 of itself.
                let near = m.expected_purchases(&c, 1.0 / rate).unwrap();
                assert!(d >= near * (-1.0f64).exp() * (1.0 - 1e-12), "{name} {c:?}");
                last = d;
            }
        }
    }
}

/// The value of a customer not yet acquired is the value of a history just started — no
/// repeat purchase, observed for no time, spending the population mean — by the existing
/// per-customer path (MBG/NBD's dropout at the first purchase included in both).
#[test]
fn value_of_a_new_customer_is_a_just_started_history() {
    let spend = GammaGamma::new(6.2488, 3.7446, 15.4477).unwrap();
    let disc = Discounting::lifetimes(24, 0.01, TimeUnit::Weeks).unwrap();
    fn check<M: TransactionModel>(name: &str, m: M, spend: GammaGamma, disc: Discounting) {
        let just_started = Rft::new(0, 0.0, 0.0).unwrap();
        let v = Valuation::new(m, spend, disc);
        let new = v.value_of_new_customer().unwrap();
        let existing = v.clv_of(&just_started, 0.0).unwrap();
        assert!(
            (new - existing).abs() <= 1e-12 * existing,
            "{name}: {new} vs {existing}"
        );
        let purchases = v.model().expected_purchases_new(24.0 * 4.345).unwrap();
        let mean = spend.population_mean_spend().unwrap();
        // Discounting only lowers it, by at most the last step's factor.
        assert!(new < purchases * mean && new > purchases * mean / 1.01f64.powi(24));
    }
    check(
        "bgnbd",
        BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258).unwrap(),
        spend,
        disc,
    );
    check(
        "mbgnbd",
        MbgNbd::new(0.5248, 6.1830, 0.8914, 1.6140).unwrap(),
        spend,
        disc,
    );
    check(
        "pnbd",
        ParetoNbd::new(0.5533, 10.5776, 0.6062, 11.6680).unwrap(),
        spend,
        disc,
    );
}

#[test]
fn bad_arguments_are_errors() {
    let c = Rft::new(2, 30.43, 38.86).unwrap();
    for (_, m) in models() {
        for rate in [0.0, -0.1, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                m.dert(&c, rate),
                Err(Error::InvalidParameter { name: "rate", .. })
            ));
        }
        for t in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                m.p_alive_at(&c, t),
                Err(Error::InvalidParameter { name: "t", .. })
            ));
            assert!(matches!(
                m.conditional_probability_of_purchases(&c, t, 1),
                Err(Error::InvalidParameter { name: "t", .. })
            ));
        }
    }
    let no_mean = Valuation::new(
        BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258).unwrap(),
        GammaGamma::new(6.2488, 0.5, 15.4477).unwrap(),
        Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap(),
    );
    assert!(matches!(
        no_mean.value_of_new_customer(),
        Err(Error::InvalidParameter { name: "q", .. })
    ));
}

/// Extreme but valid parameters and histories answer with a number in range or an error,
/// never NaN in an `Ok`, and within a bounded time (DERT's quadrature gives up after about
/// 256 evaluations of the expectation rather than refine for seconds).
#[test]
fn extreme_inputs_answer_or_fail_cleanly() {
    let grid = [1e-8, 1.0, 1e8];
    let cs = [
        Rft::new(0, 0.0, 0.0).unwrap(),
        Rft::new(0, 0.0, 1e9).unwrap(),
        Rft::new(100_000, 1.0, 1e6).unwrap(),
        Rft::new(100_000, 1e6, 1e6).unwrap(),
    ];
    for &r in &grid {
        for &alpha in &grid {
            for &a in &grid {
                let ms: [Box<dyn TransactionModel>; 3] = [
                    Box::new(BgNbd::new(r, alpha, a, 1.0 / a).unwrap()),
                    Box::new(MbgNbd::new(r, alpha, a, 1.0 / a).unwrap()),
                    Box::new(ParetoNbd::new(r, alpha, a, 1.0 / a).unwrap()),
                ];
                for m in &ms {
                    for c in &cs {
                        // DERT integrates the expectation, at up to a millisecond an
                        // evaluation at these extremes: on the middle shape only (the
                        // extremes of every parameter still meet in it).
                        let dert = (a == 1.0).then(|| m.dert(c, 1e-3));
                        for v in [
                            Some(m.p_alive_at(c, 1e6)),
                            Some(m.conditional_probability_of_purchases(c, 1e3, 3)),
                            dert,
                        ]
                        .into_iter()
                        .flatten()
                        .flatten()
                        {
                            assert!(v.is_finite() && v >= 0.0, "{} {c:?}: {v}", m.name());
                        }
                    }
                }
            }
        }
    }
}

/// The fixture's models: lifetimes' CDNOW fits, by the fixture's key.
fn fixture_models(f: &serde_json::Value) -> Vec<(&'static str, Box<dyn TransactionModel>)> {
    let p = |m: &str, k: &str| f["meta"]["params"][m][k].as_f64().unwrap();
    vec![
        (
            "bgnbd",
            Box::new(
                BgNbd::new(
                    p("bgnbd", "r"),
                    p("bgnbd", "alpha"),
                    p("bgnbd", "a"),
                    p("bgnbd", "b"),
                )
                .unwrap(),
            ),
        ),
        (
            "mbgnbd",
            Box::new(
                MbgNbd::new(
                    p("mbgnbd", "r"),
                    p("mbgnbd", "alpha"),
                    p("mbgnbd", "a"),
                    p("mbgnbd", "b"),
                )
                .unwrap(),
            ),
        ),
        (
            "pnbd",
            Box::new(
                ParetoNbd::new(
                    p("pnbd", "r"),
                    p("pnbd", "alpha"),
                    p("pnbd", "s"),
                    p("pnbd", "beta"),
                )
                .unwrap(),
            ),
        ),
    ]
}

fn fixture() -> serde_json::Value {
    serde_json::from_str(include_str!("../data/diagnostics_lifetimes.json")).unwrap()
}

fn history(v: &serde_json::Value) -> Rft {
    Rft::new(
        v[0].as_u64().unwrap() as u32,
        v[1].as_f64().unwrap(),
        v[2].as_f64().unwrap(),
    )
    .unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1e-300)
}

/// P(X(T, T + 39] = n | history), n = 0..6: lifetimes' Pareto/NBD function, and for
/// BG/NBD and MBG/NBD mpmath's integral over the posterior (lifetimes has none).
#[test]
fn conditional_purchase_distribution_matches_lifetimes_and_mpmath() {
    let f = fixture();
    let cp = &f["conditional_pmf"];
    let t = cp["t"].as_f64().unwrap();
    for (name, m) in fixture_models(&f) {
        for (i, h) in cp["histories"].as_array().unwrap().iter().enumerate() {
            let c = history(h);
            let row = &cp["models"][name][i];
            let want = if name == "pnbd" {
                floats(&row["lifetimes"])
            } else {
                floats(&row["mpmath_posterior"])
            };
            for (n, &w) in want.iter().enumerate() {
                let got = m
                    .conditional_probability_of_purchases(&c, t, n as u32)
                    .unwrap();
                assert!(close(got, w, 1e-11), "{name} {c:?} n {n}: {got} vs {w}");
            }
        }
    }
}

/// DERT at 15 % a year and at 1 % a week against mpmath's quadrature of the conditional
/// expectation (and, for Pareto/NBD, FHL's closed form with mpmath's hyperu).
#[test]
fn dert_matches_the_mpmath_reference() {
    let f = fixture();
    let d = &f["dert"];
    for (name, m) in fixture_models(&f) {
        for (i, h) in d["histories"].as_array().unwrap().iter().enumerate() {
            let c = history(h);
            for key in ["ln(1.15)/52", "0.01"] {
                let rate = d["deltas"][key].as_f64().unwrap();
                let want = d["models"][name][i][key]["mpmath_quad"].as_f64().unwrap();
                let got = m.dert(&c, rate).unwrap();
                assert!(
                    close(got, want, 1e-10),
                    "{name} {c:?} {key}: {got} vs {want}"
                );
            }
        }
    }
}

/// P(alive) 0, 13, 39 and 104 weeks after the calibration end against mpmath's integral over
/// the posterior (BG/NBD, MBG/NBD) and the closed form (Pareto/NBD).
#[test]
fn future_p_alive_matches_the_mpmath_reference() {
    let f = fixture();
    let pa = &f["p_alive_future"];
    let ts = floats(&pa["t"]);
    for (name, m) in fixture_models(&f) {
        for (i, h) in pa["histories"].as_array().unwrap().iter().enumerate() {
            let c = history(h);
            let want = floats(&pa["models"][name][i]["p_alive_future"]);
            for (&t, &w) in ts.iter().zip(&want) {
                let got = m.p_alive_at(&c, t).unwrap();
                assert!(close(got, w, 1e-11), "{name} {c:?} t {t}: {got} vs {w}");
            }
        }
    }
}
