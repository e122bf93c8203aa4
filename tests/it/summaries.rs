//! Customer summaries against published and independent reference numbers, mergeability of
//! the per-customer state, and thread-count invariance.

use std::collections::BTreeMap;

use custseg::datasets::{CDNOW_CALIBRATION_END, cdnow_sample, cdnow_sample_config};
use custseg::{
    CustomerSummaries, CustomerSummary, Date, Error, PurchaseHistories, PurchasePeriod,
    ReturnPolicy, SummaryConfig, TimeUnit, TransactionLog,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn by_id(s: &CustomerSummaries) -> BTreeMap<String, CustomerSummary> {
    s.iter()
        .map(|c| (c.customer_id().to_string(), c.clone()))
        .collect()
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// The published CDNOW summary (`shared/data/cdnow_sample_summary.csv`, copied to tests/data):
/// x exactly, t_x, T and z̄ within the file's 2-decimal rounding.
#[test]
fn cdnow_calibration_summary_matches_published_table() {
    let summaries = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let ours = by_id(&summaries);
    let reference = csv_rows(include_str!("../data/cdnow_sample_summary.csv"));
    assert_eq!(reference.len(), 2_357);
    assert_eq!(ours.len(), 2_357);
    // 0.005 is the rounding of the file; ties like 22.345 → "22.35" sit exactly on it.
    let tol = 0.005 + 1e-9;
    for row in &reference {
        let s = &ours[&row[0]];
        let x: u32 = row[1].parse().unwrap();
        let (t_x, big_t, zbar): (f64, f64, f64) = (
            row[2].parse().unwrap(),
            row[3].parse().unwrap(),
            row[4].parse().unwrap(),
        );
        assert_eq!(s.frequency(), x, "customer {}", row[0]);
        assert!(
            (s.recency() - t_x).abs() <= tol,
            "customer {} t_x {} vs {t_x}",
            row[0],
            s.recency()
        );
        assert!(
            (s.age() - big_t).abs() <= tol,
            "customer {} T {} vs {big_t}",
            row[0],
            s.age()
        );
        assert!(
            (s.monetary() - zbar).abs() <= tol,
            "customer {} zbar {} vs {zbar}",
            row[0],
            s.monetary()
        );
    }
    // Every customer is acquired in 1997 Q1: no late customers.
    assert!(summaries.late_customers().is_empty());
    assert_eq!(summaries.holdout_length(), Some(39.0));
}

/// Calibration and holdout against lifetimes' `calibration_and_holdout_data` run on the same
/// file (benches/peers/make_cdnow_fixtures.py wrote tests/data/cdnow_holdout_lifetimes.csv at
/// full precision).
#[test]
fn cdnow_holdout_matches_lifetimes() {
    let summaries = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let ours = by_id(&summaries);
    let reference = csv_rows(include_str!("../data/cdnow_holdout_lifetimes.csv"));
    assert_eq!(reference.len(), 2_357);
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    let (mut active, mut holdout_purchases) = (0, 0);
    for row in &reference {
        let s = &ours[&row[0]];
        let f = |i: usize| row[i].parse::<f64>().unwrap();
        assert_eq!(s.frequency() as f64, f(1), "customer {}", row[0]);
        assert!(
            close(s.recency(), f(2)) && close(s.age(), f(3)),
            "customer {}",
            row[0]
        );
        assert!(
            close(s.monetary(), f(4)),
            "customer {}: {} vs {}",
            row[0],
            s.monetary(),
            f(4)
        );
        assert_eq!(s.holdout_frequency() as f64, f(5), "customer {}", row[0]);
        assert_eq!(s.holdout_transactions() as f64, f(8), "customer {}", row[0]);
        assert!(close(s.holdout_spend(), f(9)), "customer {}", row[0]);
        // lifetimes' holdout monetary value is the mean per raw row, not per purchase day.
        if s.holdout_transactions() > 0 {
            assert!(close(
                s.holdout_spend() / s.holdout_transactions() as f64,
                f(6)
            ));
        }
        active += usize::from(s.holdout_frequency() > 0);
        holdout_purchases += s.holdout_frequency() as usize;
    }
    // lifetimes' fixture: 1,673 of 2,357 customers buy nothing in the holdout.
    assert_eq!(active, 2_357 - 1_673);
    assert_eq!(summaries.report().holdout_purchases, holdout_purchases);
    assert_eq!(summaries.report().purchases_after_window, 0);
}

/// Hand-checked customer 1 of the sample: rows 1997-01-01 29.33, 1997-01-18 29.73,
/// 1997-08-02 14.96 (calibration) and 1997-12-12 26.48 (holdout).
#[test]
fn cdnow_customer_one_by_hand() {
    let summaries = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let s = &by_id(&summaries)["1"];
    assert_eq!(s.first_purchase(), d("1997-01-01"));
    assert_eq!(s.last_purchase(), d("1997-08-02"));
    assert_eq!(s.frequency(), 2);
    assert_eq!(s.recency(), 213.0 / 7.0);
    assert_eq!(s.age(), 272.0 / 7.0);
    assert!((s.monetary() - (29.73 + 14.96) / 2.0).abs() < 1e-12);
    assert!((s.total_spend() - (29.33 + 29.73 + 14.96)).abs() < 1e-12);
    assert_eq!(
        (
            s.transactions(),
            s.holdout_frequency(),
            s.holdout_transactions()
        ),
        (3, 1, 1)
    );
    assert_eq!(s.holdout_spend(), 26.48);
    assert!((s.time_since_last_purchase() - 59.0 / 7.0).abs() < 1e-12);
}

#[test]
fn time_units_scale_every_span() {
    let log = cdnow_sample();
    let weeks = log.summarise(&cdnow_sample_config()).unwrap();
    for (unit, factor) in [(TimeUnit::Days, 7.0), (TimeUnit::Months, 7.0 / 30.4375)] {
        let other = log
            .summarise(&cdnow_sample_config().with_unit(unit))
            .unwrap();
        for (a, b) in weeks.iter().zip(other.iter()) {
            assert_eq!(a.frequency(), b.frequency());
            assert!((a.recency() * factor - b.recency()).abs() < 1e-9);
            assert!((a.age() * factor - b.age()).abs() < 1e-9);
        }
    }
}

/// Weekly grouping: purchases in one ISO week are one purchase, times between week starts.
#[test]
fn weekly_and_monthly_periods_group_purchases() {
    // 2024-01-01 is a Monday.
    let log = TransactionLog::from_columns(
        &["a", "a", "a", "a"],
        &[
            d("2024-01-01"),
            d("2024-01-03"),
            d("2024-01-17"),
            d("2024-02-02"),
        ],
        &[1.0, 2.0, 4.0, 8.0],
        ReturnPolicy::Error,
    )
    .unwrap();
    let cfg = SummaryConfig::new(d("2024-02-29")).with_unit(TimeUnit::Weeks);
    let w = log
        .summarise(&cfg.with_period(PurchasePeriod::Week))
        .unwrap()
        .into_vec()
        .remove(0);
    assert_eq!(w.frequency(), 2); // weeks of 1 Jan, 15 Jan, 29 Jan
    assert_eq!(w.recency(), 4.0);
    assert_eq!(w.age(), 8.0); // week of 26 Feb
    assert_eq!(w.monetary(), 6.0);
    let m = log
        .summarise(&cfg.with_period(PurchasePeriod::Month))
        .unwrap()
        .into_vec()
        .remove(0);
    assert_eq!(m.frequency(), 1);
    assert_eq!(m.recency(), 31.0 / 7.0);
    assert_eq!(m.monetary(), 8.0);
    let day = log.summarise(&cfg).unwrap().into_vec().remove(0);
    assert_eq!(day.frequency(), 3);
}

/// Customers first seen after the observation end are listed, not dropped; purchases after the
/// holdout are counted.
#[test]
fn late_customers_and_purchases_after_the_window_are_accounted_for() {
    let log = TransactionLog::from_columns(
        &["a", "a", "a", "late", "late"],
        &[
            d("2024-01-01"),
            d("2024-03-01"),
            d("2024-06-01"),
            d("2024-02-10"),
            d("2024-02-11"),
        ],
        &[1.0, 2.0, 3.0, 4.0, 5.0],
        ReturnPolicy::Error,
    )
    .unwrap();
    let cfg = SummaryConfig::new(d("2024-01-31")).with_holdout_end(d("2024-03-31"));
    let s = log.summarise(&cfg).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s.late_customers().len(), 1);
    assert_eq!(s.late_customers()[0].customer_id.as_str(), "late");
    assert_eq!(s.late_customers()[0].first_purchase, d("2024-02-10"));
    let r = s.report();
    assert_eq!((r.customers, r.late_customers), (1, 1));
    assert_eq!(
        (
            r.calibration_purchases,
            r.holdout_purchases,
            r.purchases_after_window
        ),
        (1, 3, 1)
    );
    // Without a holdout, everything after the observation end is outside the window.
    let s = log.summarise(&SummaryConfig::new(d("2024-01-31"))).unwrap();
    assert_eq!(s.report().purchases_after_window, 4);
    assert_eq!(s.as_slice()[0].holdout_frequency(), 0);
}

#[test]
fn holdout_must_end_after_observation_end() {
    let log = cdnow_sample();
    for end in [CDNOW_CALIBRATION_END, d("1997-01-01")] {
        let e = log
            .summarise(&SummaryConfig::new(CDNOW_CALIBRATION_END).with_holdout_end(end))
            .unwrap_err();
        assert!(matches!(e, Error::InvalidWindow(_)), "{e}");
    }
}

fn assert_same(a: &CustomerSummaries, b: &CustomerSummaries) {
    let (a, b) = (by_id(a), by_id(b));
    assert_eq!(a.len(), b.len());
    for (id, x) in &a {
        let y = &b[id];
        let close = |u: f64, v: f64| (u - v).abs() <= 1e-9 * u.abs().max(1.0);
        assert_eq!(
            (
                x.frequency(),
                x.first_purchase(),
                x.last_purchase(),
                x.transactions()
            ),
            (
                y.frequency(),
                y.first_purchase(),
                y.last_purchase(),
                y.transactions()
            ),
            "customer {id}"
        );
        assert_eq!(
            (x.recency(), x.age()),
            (y.recency(), y.age()),
            "customer {id}"
        );
        assert_eq!(
            (x.holdout_frequency(), x.holdout_transactions()),
            (y.holdout_frequency(), y.holdout_transactions())
        );
        // Same-day amounts may be added in another order across partitions.
        assert!(
            close(x.monetary(), y.monetary()) && close(x.total_spend(), y.total_spend()),
            "customer {id}"
        );
        assert!(close(x.holdout_spend(), y.holdout_spend()), "customer {id}");
    }
}

/// Splits the CDNOW rows at random into k partitions, summarises each partition's histories
/// and merges them: equal to one pass, for several seeds and partition counts.
#[test]
fn cdnow_random_partitions_merge_to_one_pass() {
    let log = cdnow_sample();
    let cfg = cdnow_sample_config();
    let one_pass = log.summarise(&cfg).unwrap();
    let rows: Vec<(String, Date, f64)> = log
        .iter_customers()
        .flat_map(|c| {
            let id = c.customer_id.to_string();
            c.dates
                .iter()
                .zip(c.amounts)
                .map(move |(&dt, &a)| (id.clone(), dt, a))
                .collect::<Vec<_>>()
        })
        .collect();
    for (seed, k) in [(1u64, 2usize), (2, 3), (3, 7), (4, 16)] {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut parts: Vec<Vec<&(String, Date, f64)>> = vec![Vec::new(); k];
        for r in &rows {
            parts[rng.gen_range(0..k)].push(r);
        }
        let mut merged = PurchaseHistories::default();
        for p in parts.iter().filter(|p| !p.is_empty()) {
            let ids: Vec<&str> = p.iter().map(|r| r.0.as_str()).collect();
            let dates: Vec<Date> = p.iter().map(|r| r.1).collect();
            let amounts: Vec<f64> = p.iter().map(|r| r.2).collect();
            let part =
                TransactionLog::from_columns(&ids, &dates, &amounts, ReturnPolicy::Error).unwrap();
            merged.merge(PurchaseHistories::from_log(&part)).unwrap();
        }
        assert_same(&merged.summarise(&cfg).unwrap(), &one_pass);
    }
    // Through histories without splitting: exactly equal, floating point included.
    assert_eq!(
        PurchaseHistories::from_log(&log).summarise(&cfg).unwrap(),
        one_pass
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any log, any split into partitions, any merge order: the merged state summarises to the
    /// one-pass summaries.
    #[test]
    fn merge_of_any_partition_equals_one_pass(
        rows in prop::collection::vec((0u8..12, 0i64..120, 0u32..10_000, 0usize..5), 1..150),
        obs in 30i64..100,
        holdout in 1i64..40,
        weekly in any::<bool>(),
    ) {
        let start = d("2024-01-01");
        let date = |o: i64| start.add_days(o).unwrap();
        let ids: Vec<String> = rows.iter().map(|r| format!("c{}", r.0)).collect();
        let dates: Vec<Date> = rows.iter().map(|r| date(r.1)).collect();
        let amounts: Vec<f64> = rows.iter().map(|r| r.2 as f64 / 100.0).collect();
        let log = TransactionLog::from_columns(&ids, &dates, &amounts, ReturnPolicy::Error).unwrap();
        let period = if weekly { PurchasePeriod::Week } else { PurchasePeriod::Day };
        let cfg = SummaryConfig::new(date(obs)).with_holdout_end(date(obs + holdout)).with_period(period);
        let one_pass = log.summarise(&cfg).unwrap();
        let mut parts: Vec<PurchaseHistories> = Vec::new();
        for p in 0..5 {
            let idx: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].3 == p).collect();
            if idx.is_empty() { continue; }
            let part = TransactionLog::from_columns(
                &idx.iter().map(|&i| ids[i].as_str()).collect::<Vec<_>>(),
                &idx.iter().map(|&i| dates[i]).collect::<Vec<_>>(),
                &idx.iter().map(|&i| amounts[i]).collect::<Vec<_>>(),
                ReturnPolicy::Error,
            ).unwrap();
            parts.push(PurchaseHistories::from_log(&part));
        }
        // Merge right to left, a different grouping from the input order.
        let mut merged = PurchaseHistories::default();
        for p in parts.into_iter().rev() {
            let mut next = p;
            next.merge(merged).unwrap();
            merged = next;
        }
        assert_same(&merged.summarise(&cfg).unwrap(), &one_pass);
        prop_assert_eq!(
            one_pass.len() + one_pass.late_customers().len(),
            log.customers()
        );
    }
}

#[test]
fn histories_serde_round_trip_and_reject_corrupt_state() {
    let h = PurchaseHistories::from_log(&cdnow_sample());
    let json = serde_json::to_string(&h).unwrap();
    let back: PurchaseHistories = serde_json::from_str(&json).unwrap();
    assert_eq!(back, h);
    let bad_order = r#"[["a",[{"date":"2024-01-02","spend":1.0,"transactions":1},{"date":"2024-01-01","spend":1.0,"transactions":1}]]]"#;
    assert!(serde_json::from_str::<PurchaseHistories>(bad_order).is_err());
    let negative = r#"[["a",[{"date":"2024-01-02","spend":-1.0,"transactions":1}]]]"#;
    assert!(serde_json::from_str::<PurchaseHistories>(negative).is_err());
    let duplicate = r#"[["a",[{"date":"2024-01-02","spend":1.0,"transactions":1}]],["a",[{"date":"2024-01-03","spend":1.0,"transactions":1}]]]"#;
    assert!(serde_json::from_str::<PurchaseHistories>(duplicate).is_err());
    let empty = r#"[["a",[]]]"#;
    assert!(serde_json::from_str::<PurchaseHistories>(empty).is_err());
}

#[test]
fn summaries_serde_round_trip_and_validate() {
    let s = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let back: CustomerSummaries = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    let one = serde_json::to_value(&s.as_slice()[0]).unwrap();
    let mut corrupt = one.clone();
    corrupt["recency"] = serde_json::json!(1000.0);
    let e = serde_json::from_value::<CustomerSummary>(corrupt).unwrap_err();
    assert!(e.to_string().contains("recency"), "{e}");
    let mut corrupt = one;
    corrupt["monetary"] = serde_json::json!(-1.0);
    assert!(serde_json::from_value::<CustomerSummary>(corrupt).is_err());
}

/// The same input gives the same output at 1, 2 and 4 threads, building the log included.
#[test]
fn thread_count_does_not_change_results() {
    let base =
        custseg::datasets::synthetic(&custseg::datasets::SyntheticConfig::new(20_000, 3)).unwrap();
    let cfg = base.config.summary_config().unwrap();
    let mut rows: Vec<(String, Date, f64)> = Vec::new();
    for c in base.transactions.iter_customers() {
        for (&dt, &a) in c.dates.iter().zip(c.amounts) {
            rows.push((c.customer_id.to_string(), dt, a));
        }
    }
    rows.sort_by_key(|r| r.1); // date order, as a source system would give it
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
            let dates: Vec<Date> = rows.iter().map(|r| r.1).collect();
            let amounts: Vec<f64> = rows.iter().map(|r| r.2).collect();
            let log =
                TransactionLog::from_columns(&ids, &dates, &amounts, ReturnPolicy::Error).unwrap();
            let synth = custseg::datasets::synthetic(&base.config).unwrap();
            (
                log.summarise(&cfg).unwrap(),
                synth.transactions.summarise(&cfg).unwrap(),
                synth.customers,
            )
        })
    };
    let one = run(1);
    for t in [2, 4] {
        let other = run(t);
        assert_eq!(one.0, other.0, "{t} threads");
        assert_eq!(one.1, other.1, "{t} threads");
        assert_eq!(one.2, other.2, "{t} threads");
    }
}
