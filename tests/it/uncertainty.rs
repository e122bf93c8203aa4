//! Intervals for per-customer predictions: coverage by simulation from known parameters,
//! agreement between the delta method and the bootstraps on CDNOW, determinism.

use custseg::clv::{
    BgNbd, Bootstrap, BootstrapMethod, Interval, Rft, RftData, TransactionModel, Uncertainty,
};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::{Error, Fit, TimeUnit};
use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution, Exp, Gamma};
use rand_xoshiro::Xoshiro256PlusPlus;

/// The parameters the simulated bases are drawn from (CDNOW-like, weeks).
const TRUTH: [f64; 4] = [0.25, 4.0, 0.8, 2.5];

/// A BG/NBD customer base of `n` customers acquired over 12 weeks and observed to week 52,
/// times recorded in whole days as real summaries are.
fn simulate(n: usize, seed: u64) -> RftData {
    let [r, alpha, a, b] = TRUTH;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let rate = Gamma::new(r, 1.0 / alpha).unwrap();
    let dropout = Beta::new(a, b).unwrap();
    let rfts: Vec<Rft> = (0..n)
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
        .collect();
    RftData::from_rfts(&rfts).unwrap()
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
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
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
    use custseg::clv::{Discounting, GammaGamma, SpendData, Valuation};
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
