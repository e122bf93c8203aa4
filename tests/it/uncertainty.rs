//! Intervals for per-customer predictions: coverage by simulation from known parameters,
//! agreement between the delta method and the bootstraps on CDNOW, determinism.

use custseg::clv::{
    BgNbd, Bootstrap, BootstrapMethod, Discounting, GammaGamma, Interval, Rft, RftData, SpendData,
    TransactionModel, Uncertainty, Valuation,
};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::{Error, Fit, TimeUnit};
use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution, Exp, Gamma};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::with_threads;

/// The parameters the simulated bases are drawn from (CDNOW-like, weeks).
const TRUTH: [f64; 4] = [0.25, 4.0, 0.8, 2.5];

/// A BG/NBD customer base of `n` customers acquired over 12 weeks and observed to week 52,
/// times recorded in whole days as real summaries are.
fn simulate(n: usize, seed: u64) -> RftData {
    RftData::from_rfts(&simulate_rfts(n, seed)).unwrap()
}

fn simulate_rfts(n: usize, seed: u64) -> Vec<Rft> {
    let [r, alpha, a, b] = TRUTH;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let rate = Gamma::new(r, 1.0 / alpha).unwrap();
    let dropout = Beta::new(a, b).unwrap();
    (0..n)
        .map(|_| {
            let big_t = (52.0 - rng.gen_range(0.0..12.0) * 7.0 / 7.0f64).floor();
            let lambda: f64 = rate.sample(&mut rng);
            let p: f64 = dropout.sample(&mut rng);
            let (mut t, mut x, mut t_x) = (0.0, 0u32, 0.0);
            loop {
                t += Exp::new(lambda.max(1e-300)).unwrap().sample(&mut rng);
                if t > big_t {
                    break;
                }
                x += 1;
                t_x = (t * 7.0).floor() / 7.0;
                if rng.r#gen::<f64>() < p {
                    break;
                }
            }
            Rft::new(x, t_x, big_t).unwrap()
        })
        .collect()
}

/// The Gamma-Gamma parameters the simulated spend is drawn from (CDNOW-like).
const SPEND_TRUTH: [f64; 3] = [6.0, 4.0, 15.0];

/// A BG/NBD base as [`simulate`] makes it, each customer with a mean repeat spend from the
/// Gamma-Gamma model: ν ~ Gamma(q, rate γ) per customer, and the mean of x repeat purchases
/// each Gamma(p, rate ν) is Gamma(p x, rate ν x); 0 without repeat purchases.
fn simulate_with_spend(n: usize, seed: u64) -> Vec<(Rft, f64)> {
    let [p, q, g] = SPEND_TRUTH;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5eed_5eed);
    let nu_dist = Gamma::new(q, 1.0 / g).unwrap();
    simulate_rfts(n, seed)
        .into_iter()
        .map(|r| {
            let nu: f64 = nu_dist.sample(&mut rng);
            let z = if r.x() == 0 {
                0.0
            } else {
                let x = f64::from(r.x());
                Gamma::new(p * x, 1.0 / (nu * x)).unwrap().sample(&mut rng)
            };
            (r, z)
        })
        .collect()
}

fn covers(i: &Interval, truth: f64) -> bool {
    i.lower <= truth && truth <= i.upper
}

/// 90 % intervals cover the prediction at the true parameters 85–95 % of the time, over
/// 200 simulated bases of 2,000 customers: the delta method and the parametric bootstrap,
/// for P(alive) and the expected purchases of two histories.
#[test]
fn ninety_percent_intervals_cover_the_truth_about_ninety_percent_of_the_time() {
    let truth = BgNbd::new(TRUTH[0], TRUTH[1], TRUTH[2], TRUTH[3]).unwrap();
    let histories = [
        Rft::new(2, 30.0, 45.0).unwrap(),
        Rft::new(6, 40.0, 50.0).unwrap(),
    ];
    let sims = 200;
    // [delta P(alive), delta E, bootstrap P(alive), bootstrap E] per history.
    let mut hits = [[0usize; 4]; 2];
    for s in 0..sims {
        let data = simulate(2_000, 1_000 + s);
        let (m, report) = BgNbd::params().fit(&data).unwrap();
        let u = Uncertainty::new(m, &report).unwrap();
        let draws = Bootstrap::new(200, s, BootstrapMethod::Parametric)
            .unwrap()
            .draw(&m, &report, &data)
            .unwrap();
        let boot_p = Bootstrap::intervals(&m, &draws, &histories, 0.9, |m, c| m.p_alive(c));
        let boot_e = Bootstrap::intervals(&m, &draws, &histories, 0.9, |m, c| {
            m.expected_purchases(c, 26.0)
        });
        let (boot_p, boot_e) = (boot_p.unwrap(), boot_e.unwrap());
        for (h, c) in histories.iter().enumerate() {
            let p = truth.p_alive(c).unwrap();
            let e = truth.expected_purchases(c, 26.0).unwrap();
            hits[h][0] += covers(&u.p_alive(c, 0.9).unwrap(), p) as usize;
            hits[h][1] += covers(&u.expected_purchases(c, 26.0, 0.9).unwrap(), e) as usize;
            hits[h][2] += covers(&boot_p[h], p) as usize;
            hits[h][3] += covers(&boot_e[h], e) as usize;
        }
    }
    for (h, row) in hits.iter().enumerate() {
        for (k, &n) in row.iter().enumerate() {
            let coverage = n as f64 / sims as f64;
            eprintln!("history {h}, interval {k}: coverage {coverage}");
            assert!(
                (0.85..=0.95).contains(&coverage),
                "history {h}, interval {k}: coverage {coverage}"
            );
        }
    }
}

/// On CDNOW the three intervals tell the same story: the nonparametric bootstrap (refits
/// on resampled customers) has widths within a factor 1.6 of the delta method's, and every
/// interval holds its estimate.
#[test]
fn delta_and_bootstrap_intervals_agree_on_cdnow() {
    let s = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let data = RftData::from_summaries(s.as_slice()).unwrap();
    let (m, report) = BgNbd::params().fit(&data).unwrap();
    let u = Uncertainty::new(m, &report).unwrap();
    let customers = [
        Rft::new(2, 30.43, 38.86).unwrap(),
        Rft::new(10, 38.0, 38.86).unwrap(),
        Rft::new(1, 1.0, 38.86).unwrap(),
    ];
    for method in [BootstrapMethod::Parametric, BootstrapMethod::Nonparametric] {
        let draws = Bootstrap::new(100, 3, method)
            .unwrap()
            .draw(&m, &report, &data)
            .unwrap();
        assert_eq!(draws.len(), 100);
        assert!(draws.iter().all(|d| d.unit() == Some(TimeUnit::Weeks)));
        let boot = Bootstrap::intervals(&m, &draws, &customers, 0.9, |m, c| {
            m.expected_purchases(c, 39.0)
        })
        .unwrap();
        for (c, b) in customers.iter().zip(&boot) {
            let d = u.expected_purchases(c, 39.0, 0.9).unwrap();
            assert_eq!(b.estimate, d.estimate);
            assert!(
                b.lower <= b.estimate && b.estimate <= b.upper,
                "{method:?} {b:?}"
            );
            assert!(d.lower < d.estimate && d.estimate < d.upper, "{d:?}");
            let ratio = (b.upper - b.lower) / (d.upper - d.lower);
            assert!(
                (1.0 / 1.6..1.6).contains(&ratio),
                "{method:?} {c:?}: {ratio}"
            );
        }
    }
}

/// The same seed gives the same draws at 1 and 4 threads, for both methods.
#[test]
fn bootstrap_draws_do_not_depend_on_the_thread_count() {
    let s = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let data = RftData::from_summaries(s.as_slice()).unwrap();
    let (m, report) = BgNbd::params().fit(&data).unwrap();
    for method in [BootstrapMethod::Parametric, BootstrapMethod::Nonparametric] {
        let run = |threads: usize| {
            with_threads(threads, || {
                Bootstrap::new(24, 11, method)
                    .unwrap()
                    .draw(&m, &report, &data)
                    .unwrap()
            })
        };
        assert_eq!(run(1), run(4), "{method:?}");
    }
}

#[test]
fn bad_settings_are_errors() {
    let s = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let data = RftData::from_summaries(s.as_slice()).unwrap();
    let (m, mut report) = BgNbd::params().fit(&data).unwrap();
    let u = Uncertainty::new(m, &report).unwrap();
    let c = Rft::new(2, 30.43, 38.86).unwrap();
    for level in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(matches!(
            u.p_alive(&c, level),
            Err(Error::InvalidParameter { name: "level", .. })
        ));
    }
    assert!(Bootstrap::new(5, 0, BootstrapMethod::Parametric).is_err());
    // A fit without a covariance (flat likelihood) has no intervals.
    report.covariance = None;
    assert!(matches!(
        Uncertainty::new(m, &report),
        Err(Error::InvalidParameter { name: "report", .. })
    ));
    // BG/NBD's one-time buyers are alive for sure: the interval is the point.
    let one_time = u.p_alive(&Rft::new(0, 0.0, 38.86).unwrap(), 0.9).unwrap();
    assert_eq!((one_time.lower, one_time.upper), (1.0, 1.0));
}

/// The CLV interval carries both fits' uncertainty: wider than with the spend model held
/// fixed, and it holds the estimate, which is `Valuation::clv_of`'s.
#[test]
fn clv_intervals_add_the_spend_models_uncertainty() {
    let s = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let (m, report) = BgNbd::params()
        .fit(&RftData::from_summaries(s.as_slice()).unwrap())
        .unwrap();
    let (spend, spend_report) = GammaGamma::params()
        .fit(&SpendData::from_summaries(s.as_slice()).unwrap())
        .unwrap();
    let year = Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap();
    let u = Uncertainty::new(m, &report).unwrap();
    let c = Rft::new(2, 30.43, 38.86).unwrap();
    let both = u.clv(&spend, &spend_report, &year, &c, 30.0, 0.9).unwrap();
    let fixed_spend = u
        .positive(0.9, |m| Valuation::new(*m, spend, year).clv_of(&c, 30.0))
        .unwrap();
    assert_eq!(
        both.estimate,
        Valuation::new(m, spend, year).clv_of(&c, 30.0).unwrap()
    );
    assert_eq!(both.estimate, fixed_spend.estimate);
    assert!(both.lower < fixed_spend.lower && fixed_spend.upper < both.upper);
    // A report without a covariance is refused.
    let mut flat = spend_report.clone();
    flat.covariance = None;
    assert!(matches!(
        u.clv(&spend, &flat, &year, &c, 30.0, 0.9),
        Err(Error::InvalidParameter {
            name: "spend_report",
            ..
        })
    ));
}

/// The nonparametric bootstrap of the whole pipeline — BG/NBD and Gamma-Gamma refitted on the
/// same resampled customers — covers the truth: 90 % intervals of the expected purchases and
/// of the CLV of three customers (a one-time buyer among them, valued at the population's
/// mean spend) contain the value at the true parameters of both models 85–95 % of the time.
///
/// Sizes, for ≤ 30 s in the test profile on 2 cores (measured 20 s): SIMS bases of CUSTOMERS
/// customers, DRAWS draws each, SIMS × (DRAWS + 1) pairs of fits. The coverage estimate's
/// Monte-Carlo standard error is √(0.9 · 0.1 / SIMS) = 2.1 points with SIMS = 200, so 85–95 %
/// is ±2.4 standard errors around 90 %. 30 draws are few for a 90 % interval, but with the
/// (B + 1)·p order statistics `Bootstrap::intervals` takes, few draws cost width and
/// stability, not coverage (numpy's quantiles covered 85–86 % here at 40 draws).
#[test]
fn nonparametric_bootstrap_of_the_whole_pipeline_covers_the_truth() {
    const SIMS: u64 = 200;
    const CUSTOMERS: usize = 600;
    const DRAWS: usize = 30;
    let truth = Valuation::new(
        BgNbd::new(TRUTH[0], TRUTH[1], TRUTH[2], TRUTH[3]).unwrap(),
        GammaGamma::new(SPEND_TRUTH[0], SPEND_TRUTH[1], SPEND_TRUTH[2]).unwrap(),
        Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap(),
    );
    let histories = [
        (Rft::new(2, 30.0, 45.0).unwrap(), 30.0),
        (Rft::new(6, 40.0, 50.0).unwrap(), 40.0),
        (Rft::new(0, 0.0, 45.0).unwrap(), 0.0),
    ];
    let started = std::time::Instant::now();
    // [expected purchases, CLV] per history.
    let mut hits = [[0usize; 2]; 3];
    for s in 0..SIMS {
        let customers = simulate_with_spend(CUSTOMERS, 5_000 + s);
        let rfts: Vec<Rft> = customers.iter().map(|c| c.0).collect();
        let (m, report) = BgNbd::params()
            .fit(&RftData::from_rfts(&rfts).unwrap())
            .unwrap();
        let spend_rows: Vec<((f64, f64), f64)> = customers
            .iter()
            .filter(|(r, z)| r.x() > 0 && *z > 0.0)
            .map(|(r, z)| ((f64::from(r.x()), *z), 1.0))
            .collect();
        let (g, spend_report) = GammaGamma::params()
            .fit(&SpendData::from_weighted(spend_rows).unwrap())
            .unwrap();
        let valuation = Valuation::new(m, g, *truth.discounting());
        let draws = Bootstrap::new(DRAWS, s, BootstrapMethod::Nonparametric)
            .unwrap()
            .draw_valuations(&valuation, &report, &spend_report, &customers)
            .unwrap();
        let e = Bootstrap::intervals(&valuation, &draws, &histories, 0.9, |v, (c, _)| {
            v.model().expected_purchases(c, 26.0)
        })
        .unwrap();
        let clv = Bootstrap::intervals(&valuation, &draws, &histories, 0.9, |v, (c, z)| {
            v.clv_of(c, *z)
        })
        .unwrap();
        for (h, (c, z)) in histories.iter().enumerate() {
            let want_e = truth.model().expected_purchases(c, 26.0).unwrap();
            let want_clv = truth.clv_of(c, *z).unwrap();
            hits[h][0] += covers(&e[h], want_e) as usize;
            hits[h][1] += covers(&clv[h], want_clv) as usize;
        }
    }
    eprintln!(
        "nonparametric coverage: {SIMS} bases × {CUSTOMERS} customers × {DRAWS} draws in {:.1?}",
        started.elapsed()
    );
    for (h, row) in hits.iter().enumerate() {
        for (k, &n) in row.iter().enumerate() {
            let coverage = n as f64 / SIMS as f64;
            eprintln!("history {h}, {}: coverage {coverage}", ["E", "CLV"][k]);
            assert!(
                (0.85..=0.95).contains(&coverage),
                "history {h}, {}: coverage {coverage}",
                ["E", "CLV"][k]
            );
        }
    }
}

/// Whole-pipeline draws: the same at 1 and 4 threads for both methods; the parametric draws'
/// purchase models are `draw`'s; the nonparametric ones refit the spend model (it varies
/// across draws) and their CLV intervals are wider than with the spend model held fixed.
#[test]
fn valuation_draws_refit_both_models_and_do_not_depend_on_the_thread_count() {
    let s = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let data = RftData::from_summaries(s.as_slice()).unwrap();
    let (m, report) = BgNbd::params().fit(&data).unwrap();
    let (g, spend_report) = GammaGamma::params()
        .fit(&SpendData::from_summaries(s.as_slice()).unwrap())
        .unwrap();
    let year = Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap();
    let valuation = Valuation::new(m, g, year);
    let customers: Vec<(Rft, f64)> = s.iter().map(|c| (Rft::from(c), c.monetary())).collect();
    for method in [BootstrapMethod::Parametric, BootstrapMethod::Nonparametric] {
        let boot = Bootstrap::new(24, 11, method).unwrap();
        let run = |threads: usize| {
            with_threads(threads, || {
                boot.draw_valuations(&valuation, &report, &spend_report, &customers)
                    .unwrap()
            })
        };
        let one = run(1);
        assert_eq!(one, run(4), "{method:?}");
        assert_eq!(one.len(), 24);
        assert!(
            one.iter()
                .all(|v| v.model().unit() == Some(TimeUnit::Weeks))
        );
        assert!(one.iter().all(|v| v.discounting() == &year));
        let spends: Vec<f64> = one.iter().map(|v| v.spend().p()).collect();
        assert!(spends.iter().any(|&p| p != spends[0]), "{method:?}");
        if method == BootstrapMethod::Parametric {
            let models = boot.draw(&m, &report, &data).unwrap();
            let drawn: Vec<BgNbd> = one.iter().map(|v| *v.model()).collect();
            assert_eq!(drawn, models);
        }
    }
    // The customers' order does not matter to the nonparametric draws.
    let boot = Bootstrap::new(20, 5, BootstrapMethod::Nonparametric).unwrap();
    let forward = boot
        .draw_valuations(&valuation, &report, &spend_report, &customers)
        .unwrap();
    let reversed: Vec<(Rft, f64)> = customers.iter().rev().copied().collect();
    let backward = boot
        .draw_valuations(&valuation, &report, &spend_report, &reversed)
        .unwrap();
    assert_eq!(forward, backward);
    // With the spend model refitted too, the CLV draws carry its uncertainty: a one-time
    // buyer, valued at the population's mean spend pγ/(q − 1), has a wider interval than
    // with the spend model held at its estimate.
    let c = [(Rft::new(0, 0.0, 38.86).unwrap(), 0.0)];
    let draws = Bootstrap::new(100, 3, BootstrapMethod::Nonparametric)
        .unwrap()
        .draw_valuations(&valuation, &report, &spend_report, &customers)
        .unwrap();
    let both =
        Bootstrap::intervals(&valuation, &draws, &c, 0.9, |v, (r, z)| v.clv_of(r, *z)).unwrap()[0];
    let fixed_spend = Bootstrap::intervals(&valuation, &draws, &c, 0.9, |v, (r, z)| {
        Valuation::new(*v.model(), g, year).clv_of(r, *z)
    })
    .unwrap()[0];
    assert_eq!(both.estimate, valuation.clv_of(&c[0].0, 0.0).unwrap());
    assert!(both.lower <= both.estimate && both.estimate <= both.upper);
    assert!(
        both.upper - both.lower > fixed_spend.upper - fixed_spend.lower,
        "{both:?} vs {fixed_spend:?}"
    );
    // The spread of ln CLV over all the draws (steadier than two quantiles): the spend
    // model's share adds to the purchase model's.
    let spread = |values: Vec<f64>| {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
    };
    let (r, _) = c[0];
    let var_both = spread(
        draws
            .iter()
            .map(|v| v.clv_of(&r, 0.0).unwrap().ln())
            .collect(),
    );
    let var_fixed = spread(
        draws
            .iter()
            .map(|v| {
                Valuation::new(*v.model(), g, year)
                    .clv_of(&r, 0.0)
                    .unwrap()
                    .ln()
            })
            .collect(),
    );
    let var_spend = spread(
        draws
            .iter()
            .map(|v| v.spend().population_mean_spend().unwrap().ln())
            .collect(),
    );
    eprintln!("var ln CLV: refitted {var_both}, fixed {var_fixed}, ln spend {var_spend}");
    assert!(
        var_spend > 0.0 && var_both > var_fixed,
        "{var_both} vs {var_fixed}"
    );
    // Bad inputs.
    assert!(matches!(
        boot.draw_valuations(&valuation, &report, &spend_report, &[]),
        Err(Error::EmptyInput { .. })
    ));
    let mut bad = customers.clone();
    bad[7].1 = f64::NAN;
    let err = boot
        .draw_valuations(&valuation, &report, &spend_report, &bad)
        .unwrap_err();
    assert_eq!(err.position().and_then(|p| p.row()), Some(7));
    let mut flat = spend_report.clone();
    flat.covariance = None;
    assert!(matches!(
        Bootstrap::new(20, 5, BootstrapMethod::Parametric)
            .unwrap()
            .draw_valuations(&valuation, &report, &flat, &customers),
        Err(Error::InvalidParameter {
            name: "spend_report",
            ..
        })
    ));
}
