//! A seeded fuzz harness over the public entry points that take user data or a serialized
//! model (issue 14). Every call runs under `catch_unwind` with a time bound, and every `Ok`
//! is checked for NaN and infinities (through its `Debug` form, which prints them as `NaN`
//! and `inf`). Inputs are drawn from a pool of hostile numbers (0, −0, subnormals, ±1e308,
//! NaN, ±∞, integer limits) mixed with ordinary ones, so each run covers the boundaries.
//!
//! CI runs `FUZZ_ROUNDS` rounds per target (seconds in all); set `CUSTSEG_FUZZ_ROUNDS` for a
//! longer run, and `CUSTSEG_FUZZ_SEED` to start elsewhere. A failure names the target, the
//! round and the seed, so it can be replayed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use custseg::churn::{ModelChurn, RecencyRule};
use custseg::clv::{
    BgNbd, Discounting, GammaGamma, MbgNbd, ParetoNbd, Rft, RftData, TransactionModel, Valuation,
};
use custseg::rfm::{RfmModel, RfmParams};
use custseg::segment::{
    BehavioralRecord, BehavioralSegmenter, Clustering, CovarianceType, DbscanParams,
    GaussianMixtureParams, KMeansParams, KPrototypesParams, MiniBatchParams, Points, RuleBands,
    Strategy, calinski_harabasz, davies_bouldin, silhouette,
};
use custseg::{
    CustomerId, CustomerSummary, Date, Fit, ReturnPolicy, Score, SummaryConfig, SummaryRecord,
    TimeUnit, TransactionLog,
};
use ndarray::{Array2, ShapeBuilder};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Rounds per target in CI: enough to reach every pool value in every position many times
/// over, within seconds at the test profile's opt-level 1.
const FUZZ_ROUNDS: usize = 60;

/// The most one call may take. Far above what any call needs; a call that passes it is a
/// hang (work unbounded in some input), not a slow machine. 60 s: the slowest call, a
/// 10,000-step CLV of two customers at extreme parameters (round 12 of seed 24300: every step
/// a quadrature), takes 10.8 s alone in the test profile and passed 20 s on a 2-core machine
/// running two other builds. Bounded, but a slow path worth removing.
const CALL_BOUND: Duration = Duration::from_secs(60);

fn rounds() -> usize {
    std::env::var("CUSTSEG_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(FUZZ_ROUNDS)
}

fn base_seed() -> u64 {
    std::env::var("CUSTSEG_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED)
}

/// Hostile and ordinary numbers.
const POOL: [f64; 22] = [
    0.0,
    -0.0,
    5e-324,
    1e-300,
    1e-9,
    0.5,
    1.0,
    2.0,
    3.7,
    10.0,
    52.0,
    365.0,
    1e6,
    1e100,
    1e200,
    1e308,
    -1.0,
    -1e308,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MAX,
];

struct Draw(Xoshiro256PlusPlus);

impl Draw {
    fn num(&mut self) -> f64 {
        if self.0.gen_bool(0.6) {
            POOL[self.0.gen_range(0..POOL.len())]
        } else {
            self.0.gen_range(-5.0..100.0)
        }
    }

    /// A positive number, often extreme.
    fn positive(&mut self) -> f64 {
        let v = self.num().abs();
        if v > 0.0 { v } else { 1.0 }
    }

    fn count(&mut self) -> u32 {
        match self.0.gen_range(0..6) {
            0 => 0,
            1 => u32::MAX,
            2 => self.0.gen_range(0..5),
            _ => self.0.gen_range(0..200),
        }
    }
}

/// Runs `f` under `catch_unwind` and the time bound; an `Ok` must hold no NaN or infinity.
fn call<T: std::fmt::Debug>(
    target: &str,
    round: usize,
    seed: u64,
    f: impl FnOnce() -> custseg::Result<T>,
) -> Option<T> {
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(f));
    let took = started.elapsed();
    assert!(
        took < CALL_BOUND,
        "{target}, round {round}, seed {seed}: took {took:?}"
    );
    match outcome {
        Err(_) => panic!("{target}, round {round}, seed {seed}: panicked"),
        Ok(Err(_)) => None,
        Ok(Ok(v)) => {
            let text = format!("{v:?}");
            let bad = text
                .split(|c: char| !(c.is_ascii_alphanumeric()))
                .any(|w| w == "NaN" || w == "inf");
            assert!(
                !bad,
                "{target}, round {round}, seed {seed}: NaN or inf in Ok: {text:.400}"
            );
            Some(v)
        }
    }
}

/// The single-customer answers: the same kind of error as the batch forms, or finite values.
fn singles(
    what: &str,
    m: &dyn TransactionModel,
    customers: &[CustomerSummary],
    t: f64,
    round: usize,
    seed: u64,
) {
    for c in customers {
        let rft = Rft::from(c);
        call(what, round, seed, || m.p_alive(&rft));
        call(what, round, seed, || m.expected_purchases(&rft, t));
    }
    call(what, round, seed, || m.expected_purchases_new(t));
}

/// Summaries built through the checked record, from hostile fields; the invalid ones are
/// refused at construction, the rest go to the models.
fn summaries(d: &mut Draw, n: usize) -> Vec<CustomerSummary> {
    (0..n)
        .filter_map(|i| {
            let frequency = d.count();
            let age = d.num();
            let recency = if frequency == 0 { 0.0 } else { d.num() };
            let record = SummaryRecord {
                customer_id: format!("c{i}").into(),
                first_purchase: Date::from_ymd(2020, 1, 1).ok()?,
                last_purchase: Date::from_ymd(2021, 1, 1).ok()?,
                frequency,
                recency,
                age,
                unit: TimeUnit::Weeks,
                monetary: if frequency == 0 { 0.0 } else { d.positive() },
                total_spend: d.positive(),
                transactions: frequency.saturating_add(1),
                holdout_frequency: 0,
                holdout_spend: 0.0,
                holdout_transactions: 0,
            };
            CustomerSummary::try_from(record).ok()
        })
        .collect()
}

#[test]
fn fuzz_transactions_and_summaries() {
    let seed = base_seed();
    let mut d = Draw(Xoshiro256PlusPlus::seed_from_u64(seed));
    for round in 0..rounds() {
        let n = d.0.gen_range(1..40);
        let ids: Vec<String> = (0..n)
            .map(|_| format!("k{}", d.0.gen_range(0..8)))
            .collect();
        let dates: Vec<Date> = (0..n)
            .map(|_| {
                let day = match d.0.gen_range(0..4) {
                    0 => -719_162,
                    1 => 2_932_896,
                    _ => d.0.gen_range(18_000..19_000),
                };
                Date::from_days_since_epoch(day).unwrap_or(Date::from_ymd(2020, 1, 1).unwrap())
            })
            .collect();
        let amounts: Vec<f64> = (0..n).map(|_| d.num()).collect();
        let policy = [ReturnPolicy::Error, ReturnPolicy::Drop, ReturnPolicy::Net][round % 3];
        let Some(log) = call("log", round, seed, || {
            TransactionLog::from_columns(&ids, &dates, &amounts, policy)
        }) else {
            continue;
        };
        let end = dates[d.0.gen_range(0..n)];
        let cfg = SummaryConfig::new(end).with_unit(TimeUnit::Days);
        call("summarise", round, seed, || log.summarise(&cfg));
    }
}

#[test]
fn fuzz_purchase_models_and_valuation() {
    let seed = base_seed() ^ 1;
    let mut d = Draw(Xoshiro256PlusPlus::seed_from_u64(seed));
    for round in 0..rounds() {
        let customers = summaries(&mut d, 12);
        let p = [d.positive(), d.positive(), d.positive(), d.positive()];
        let t = d.num().abs().min(1e6);
        let n = d.count().min(1_000_000);
        if let Ok(m) = BgNbd::new(p[0], p[1], p[2], p[3]) {
            call("BG/NBD P(alive)", round, seed, || {
                m.p_alive_batch(&customers)
            });
            call("BG/NBD E[X]", round, seed, || {
                m.expected_purchases_batch(&customers, t)
            });
            call("BG/NBD P(X=n)", round, seed, || {
                m.probability_of_purchases_new(t, n)
            });
            call("BG/NBD churn", round, seed, || {
                ModelChurn::new(m).score_batch(&customers)
            });
            if let Ok(spend) = GammaGamma::new(d.positive(), d.positive(), d.positive()) {
                let steps = d.0.gen_range(1..25);
                if let Ok(disc) = Discounting::new(d.positive().min(52.0), steps, 0.01) {
                    call("CLV", round, seed, || {
                        Valuation::new(m, spend, disc).score_batch(&customers)
                    });
                }
                // The longest horizon accepted (H3: far horizons were a quadrature each), in
                // every third round: up to 10,000 steps a customer is the slowest call here.
                let few = &customers[..customers.len().min(2)];
                for mbg in [false, true].into_iter().filter(|_| round % 3 == 0) {
                    let disc = Discounting::new(4.345, 10_000, 0.01).unwrap();
                    let m2 = MbgNbd::new(p[0], p[1], p[2], p[3]);
                    call("CLV, longest horizon", round, seed, || match (mbg, m2) {
                        (false, _) => Valuation::new(m, spend, disc).score_batch(few),
                        (true, Ok(m2)) => Valuation::new(m2, spend, disc).score_batch(few),
                        (true, Err(e)) => Err(e),
                    });
                }
            }
        }
        if let Ok(m) = MbgNbd::new(p[0], p[1], p[2], p[3]) {
            call("MBG/NBD P(alive)", round, seed, || {
                m.p_alive_batch(&customers)
            });
            call("MBG/NBD P(X=n)", round, seed, || {
                m.probability_of_purchases_new(t, n)
            });
        }
        if let Ok(m) = ParetoNbd::new(p[0], p[1], p[2], p[3]) {
            call("Pareto/NBD P(alive)", round, seed, || {
                m.p_alive_batch(&customers)
            });
            call("Pareto/NBD E[X]", round, seed, || {
                m.expected_purchases_batch(&customers, t)
            });
            singles("Pareto/NBD", &m, &customers, t, round, seed);
        }
        if let Ok(m) = BgNbd::new(p[0], p[1], p[2], p[3]) {
            singles("BG/NBD", &m, &customers, t, round, seed);
        }
        if !customers.is_empty() {
            call("RFM", round, seed, || {
                let (model, _) = RfmParams::new(5)?.fit(&customers)?;
                model.score_batch(&customers)
            });
            if let Ok(rule) = RecencyRule::fixed(d.num()) {
                call("recency rule", round, seed, || rule.score_batch(&customers));
            }
            call("BG/NBD fit", round, seed, || {
                let data = RftData::from_summaries(&customers)?;
                BgNbd::params().with_max_iterations(50)?.fit(&data)
            });
        }
    }
}

#[test]
fn fuzz_clustering_and_indices() {
    let seed = base_seed() ^ 2;
    let mut d = Draw(Xoshiro256PlusPlus::seed_from_u64(seed));
    for round in 0..rounds() {
        let (n, cols) = (d.0.gen_range(1..60), d.0.gen_range(1..4));
        let values: Vec<f64> = (0..n * cols)
            .map(|_| {
                if d.0.gen_bool(0.9) {
                    d.0.gen_range(-3.0..3.0)
                } else {
                    d.num()
                }
            })
            .collect();
        // Row-major or column-major, as callers' views come.
        let x = if d.0.gen_bool(0.5) {
            Array2::from_shape_vec((n, cols), values).unwrap()
        } else {
            Array2::from_shape_vec((n, cols).f(), values).unwrap()
        };
        let cat = Array2::from_shape_fn((n, 1), |(i, _)| (i % 3) as u32);
        let k = d.0.gen_range(1..6);
        let strategies = [
            Strategy::KMeans(KMeansParams::new(k).unwrap()),
            Strategy::MiniBatchKMeans(MiniBatchParams::new(k).unwrap()),
            Strategy::LinfaKMeans(KMeansParams::new(k).unwrap().with_n_init(2).unwrap()),
            Strategy::GaussianMixture(GaussianMixtureParams::new(k).unwrap()),
            Strategy::GaussianMixture(
                GaussianMixtureParams::new(k)
                    .unwrap()
                    .with_covariance(CovarianceType::Spherical),
            ),
            Strategy::LinfaGaussianMixture(GaussianMixtureParams::new(k).unwrap()),
            Strategy::Dbscan(DbscanParams::new(d.0.gen_range(0.05..2.0), 3).unwrap()),
            Strategy::LinfaDbscan(DbscanParams::new(d.0.gen_range(0.05..2.0), 3).unwrap()),
            Strategy::KPrototypes(KPrototypesParams::new(k).unwrap()),
            Strategy::RuleBands(
                RuleBands::new(vec![(0, vec![0.0], vec!["low".into(), "high".into()])]).unwrap(),
            ),
        ];
        for s in &strategies {
            let points = Points::mixed(x.view(), cat.view());
            let Some((clustering, report)) = call(s.name(), round, seed, || s.fit(&points)) else {
                continue;
            };
            let cat = if matches!(s, Strategy::KPrototypes(_)) {
                cat.clone()
            } else {
                Array2::zeros((n, 0))
            };
            call("assign", round, seed, || {
                clustering.assign_batch(x.view(), cat.view())
            });
            // The fitted clustering reloads from its own JSON, and an edited copy is
            // refused or works.
            let json = serde_json::to_string(&clustering).unwrap();
            let back: Clustering = serde_json::from_str(&json).unwrap_or_else(|e| {
                panic!("{}, round {round}, seed {seed}: no reload: {e}", s.name())
            });
            assert_eq!(back, clustering);
            let edited = edit_a_number(&json, &mut d);
            if let Ok(c) = serde_json::from_str::<Clustering>(&edited) {
                call("edited assign", round, seed, || {
                    c.assign_batch(x.view(), cat.view())
                });
            }
            let labels: Vec<usize> = report.labels.iter().map(|l| l.unwrap_or(0)).collect();
            call("silhouette", round, seed, || silhouette(x.view(), &labels));
            call("CH", round, seed, || calinski_harabasz(x.view(), &labels));
            call("DB", round, seed, || davies_bouldin(x.view(), &labels));
        }
    }
}

#[test]
fn fuzz_segmenters_and_models_from_json() {
    let seed = base_seed() ^ 3;
    let mut d = Draw(Xoshiro256PlusPlus::seed_from_u64(seed));
    for round in 0..rounds() {
        let customers = summaries(&mut d, 20);
        let mut records: Vec<BehavioralRecord> = customers
            .iter()
            .map(BehavioralRecord::from_summary)
            .collect();
        for r in records.iter_mut().take(3) {
            r.recency_days = d.num();
            r.monetary = d.num();
        }
        let k = d.0.gen_range(1..4);
        if let Some((model, _)) = call("behavioral fit", round, seed, || {
            BehavioralSegmenter::new(k)?.fit(&records)
        }) {
            let json = serde_json::to_string(&model).unwrap();
            assert!(
                serde_json::from_str::<custseg::segment::BehavioralModel>(&json).is_ok(),
                "round {round}, seed {seed}: behavioral model does not reload"
            );
        }
        if let Some((rfm, _)) = call("RFM fit", round, seed, || {
            RfmParams::new(4)?.fit(&customers)
        }) {
            let json = serde_json::to_string(&rfm).unwrap();
            let edited = edit_a_number(&json, &mut d);
            if let Ok(m) = serde_json::from_str::<RfmModel>(&edited) {
                call("edited RFM", round, seed, || m.score_batch(&customers));
            }
        }
        let bg = BgNbd::new(0.24, 4.41, 0.79, 2.43).unwrap();
        let edited = edit_a_number(&serde_json::to_string(&bg).unwrap(), &mut d);
        if let Ok(m) = serde_json::from_str::<BgNbd>(&edited) {
            call("edited BG/NBD", round, seed, || m.p_alive_batch(&customers));
        }
    }
}

/// The JSON with one of its numbers replaced by a hostile one (JSON has no NaN: the pool's
/// non-finite values become the largest finite ones).
fn edit_a_number(json: &str, d: &mut Draw) -> String {
    let starts: Vec<usize> = json
        .char_indices()
        .filter(|&(i, c)| {
            (c.is_ascii_digit() || c == '-')
                && !json[..i].ends_with(|p: char| p.is_ascii_alphanumeric() || p == '.')
        })
        .map(|(i, _)| i)
        .collect();
    if starts.is_empty() {
        return json.to_string();
    }
    let at = starts[d.0.gen_range(0..starts.len())];
    let end = json[at..]
        .find(|c: char| !(c.is_ascii_digit() || "-+.eE".contains(c)))
        .map_or(json.len(), |e| at + e);
    let v = d.num();
    let v = if v.is_finite() {
        v
    } else {
        f64::MAX.copysign(v)
    };
    let text = if d.0.gen_bool(0.3) {
        format!("{}", d.count())
    } else {
        format!("{v:e}")
    };
    format!("{}{}{}", &json[..at], text, &json[end..])
}

#[test]
fn fuzz_text_inputs_and_discrete_models() {
    use custseg::churn::{Cohort, ShiftedBetaGeometric};
    use custseg::clv::{BgBb, BgBbHistory};
    use custseg::datasets::parse_cdnow;
    use custseg::geo::{City, GeoPoint};
    let seed = base_seed() ^ 4;
    let mut d = Draw(Xoshiro256PlusPlus::seed_from_u64(seed));
    const PIECES: [&str; 14] = [
        "0001",
        "2024-02-29",
        "1997-13-01",
        "19970101",
        " ",
        ",",
        "\n",
        "-",
        "1e308",
        "NaN",
        "00:00:00",
        "T",
        "99999999999999999999",
        "é",
    ];
    for round in 0..rounds() {
        let text: String = (0..d.0.gen_range(0..24))
            .map(|_| PIECES[d.0.gen_range(0..PIECES.len())])
            .collect();
        call("Date", round, seed, || text.parse::<Date>());
        call("CDNOW", round, seed, || parse_cdnow(&text));
        call("cities", round, seed, || City::parse_csv(&text));
        call("GeoPoint", round, seed, || GeoPoint::new(d.num(), d.num()));

        let histories: Vec<(BgBbHistory, f64)> = (0..d.0.gen_range(1..6))
            .filter_map(|_| {
                let n = d.0.gen_range(0..60);
                let t_x = d.0.gen_range(0..=n);
                let x = if t_x == 0 { 0 } else { d.0.gen_range(1..=t_x) };
                BgBbHistory::new(x, t_x, n)
                    .ok()
                    .map(|h| (h, d.positive().min(1e6)))
            })
            .collect();
        if let Ok(m) = BgBb::new(d.positive(), d.positive(), d.positive(), d.positive()) {
            let hs: Vec<BgBbHistory> = histories.iter().map(|h| h.0).collect();
            call("BG/BB P(alive)", round, seed, || m.p_alive_batch(&hs));
            call("BG/BB E[X]", round, seed, || {
                m.expected_purchases_batch(&hs, d.count().min(10_000))
            });
            for h in &hs {
                call("BG/BB single", round, seed, || m.p_alive(h));
            }
        }
        call("BG/BB fit", round, seed, || {
            BgBb::params().with_max_iterations(30)?.fit(&histories[..])
        });
        if let Ok(sbg) = ShiftedBetaGeometric::new(d.positive(), d.positive()) {
            let t = d.count();
            call("sBG", round, seed, || {
                Ok((sbg.survival(t), sbg.retention(t), sbg.churn_risk(t)))
            });
            call("sBG DERL", round, seed, || {
                sbg.derl(d.positive().min(10.0), t)
            });
        }
        let survivors: Vec<f64> = (0..d.0.gen_range(1..6)).map(|_| d.num()).collect();
        call("cohort", round, seed, || {
            let cohort = Cohort::new(survivors.clone())?;
            ShiftedBetaGeometric::params()
                .with_max_iterations(30)?
                .fit(&cohort)
        });
    }
}

#[test]
fn fuzz_typed_segmenters_churn_and_reports() {
    use custseg::churn::{Feature, LabelledCustomers, LogisticChurnParams};
    use custseg::report::{CustomerMetrics, KAnonymity, kpi_report, migration, segment_kpis};
    use custseg::segment::{
        DemographicRecord, DemographicSegmenter, GeoMode, GeoRecord, GeographicSegmenter,
    };
    let seed = base_seed() ^ 5;
    let mut d = Draw(Xoshiro256PlusPlus::seed_from_u64(seed));
    for round in 0..rounds() {
        let n = d.0.gen_range(2..30);
        let people: Vec<DemographicRecord> = (0..n)
            .map(|i| DemographicRecord {
                age: d.0.gen_bool(0.8).then(|| d.num()),
                income: d.0.gen_bool(0.8).then(|| d.num()),
                gender: Some(["f", "m", "x"][i % 3].into()),
                ..DemographicRecord::new(format!("p{i}"))
            })
            .collect();
        for seg in [
            DemographicSegmenter::bands(),
            DemographicSegmenter::kprototypes(2).unwrap(),
        ] {
            call("demographic", round, seed, || seg.fit(&people));
        }
        let places: Vec<GeoRecord> = (0..n)
            .map(|i| GeoRecord {
                customer_id: format!("g{i}").into(),
                lat: if d.0.gen_bool(0.8) {
                    d.0.gen_range(-90.0..90.0)
                } else {
                    d.num()
                },
                lon: if d.0.gen_bool(0.8) {
                    d.0.gen_range(-180.0..180.0)
                } else {
                    d.num()
                },
                regions: vec![],
            })
            .collect();
        let modes = [
            GeoMode::KMeans(KMeansParams::new(2).unwrap()),
            GeoMode::Density {
                eps_km: d.positive(),
                min_points: 2,
            },
        ];
        for mode in modes {
            if let Ok(seg) = GeographicSegmenter::new(mode) {
                call("geographic", round, seed, || seg.fit(&places));
            }
        }
        let customers = summaries(&mut d, n);
        let churned: Vec<bool> = (0..customers.len()).map(|i| i % 2 == 0).collect();
        call("logistic", round, seed, || {
            LogisticChurnParams::new(Feature::standard())?
                .with_max_iterations(30)?
                .fit(&LabelledCustomers::new(&customers, &churned))
        });
        let metrics: Vec<CustomerMetrics> = (0..n)
            .map(|_| CustomerMetrics {
                revenue: d.num(),
                clv: d.0.gen_bool(0.5).then(|| d.num()),
                churn_risk: d.0.gen_bool(0.5).then(|| d.num()),
                expected_purchases: None,
            })
            .collect();
        let labels: Vec<Option<usize>> = (0..n).map(|i| (i % 4 != 3).then_some(i % 3)).collect();
        let names: Vec<String> = ["a", "b", "c"].map(String::from).into();
        if let Some(kpis) = call("KPIs", round, seed, || {
            segment_kpis(&labels, &names, &metrics, None)
        }) {
            let k = KAnonymity::new(d.0.gen_range(1..8), custseg::report::SmallGroups::Suppress)
                .unwrap();
            let report = kpi_report("kpis", &kpis).guarded(&k);
            let _ = report.to_string();
        }
        let snapshot = |d: &mut Draw| -> Vec<(custseg::CustomerId, Option<usize>)> {
            (0..n)
                .map(|i| (format!("c{i}").into(), d.0.gen_bool(0.9).then_some(i % 3)))
                .collect()
        };
        let (before, after) = (snapshot(&mut d), snapshot(&mut d));
        call("migration", round, seed, || {
            migration(&before, &names, &after, &names)
        });
    }
}

#[test]
fn fuzz_experiments() {
    use custseg::experiment::{AbTest, Correction, ExperimentDesign, Outcome, sample_size};
    let seed = base_seed() ^ 6;
    let mut d = Draw(Xoshiro256PlusPlus::seed_from_u64(seed));
    for round in 0..rounds() {
        let n = d.0.gen_range(1..150);
        // Hostile but valid values in most rounds; an invalid row (arm 2, a negative or NaN
        // revenue) in one round in ten.
        let mut outcomes: Vec<Outcome> = (0..n)
            .map(|_| Outcome {
                segment: d.0.gen_range(0..3),
                arm: d.0.gen_range(0..2),
                converted: d.0.gen_bool(0.3),
                revenue: match d.positive() {
                    _ if d.0.gen_bool(0.5) => 0.0,
                    v if v.is_finite() => v,
                    _ => f64::MAX,
                },
            })
            .collect();
        if d.0.gen_bool(0.1) {
            let i = d.0.gen_range(0..n);
            outcomes[i].arm = 2;
            outcomes[i].revenue = d.num();
        }
        let correction = [
            Correction::None,
            Correction::Holm,
            Correction::BenjaminiHochberg,
        ][d.0.gen_range(0..3)];
        let alpha = if d.0.gen_bool(0.5) { 0.05 } else { d.num() };
        let boot = [0, 10, 200][d.0.gen_range(0..3)];
        call("A/B analysis", round, seed, || {
            AbTest::new(alpha)?
                .with_correction(correction)
                .with_bootstrap(boot, round as u64)?
                .analyse(&outcomes)
        });
        if let Ok(report) = AbTest::new(0.05).and_then(|t| t.analyse(&outcomes)) {
            let cost = d.num();
            call("ROI", round, seed, || report.overall.roi(cost));
        }
        let (p, u, a, w, r) = (d.num(), d.num(), d.num(), d.num(), d.num());
        call("sample size", round, seed, || sample_size(p, u, a, w, r));
        let customers: Vec<(CustomerId, usize)> = (0..n)
            .map(|_| {
                (
                    CustomerId::from(format!("k{}", d.0.gen_range(0..80))),
                    d.0.gen_range(0..4),
                )
            })
            .collect();
        let shares = (d.num(), d.num());
        call("assignment", round, seed, || {
            ExperimentDesign::new(
                vec![("a".into(), shares.0), ("b".into(), shares.1)],
                round as u64,
            )?
            .assign(&customers)
        });
    }
}
