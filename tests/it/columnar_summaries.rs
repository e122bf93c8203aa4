//! `CustomerSummaries::from_columns` against the log path it replaces
//! (`TransactionLog::from_columns` then `summarise`): the same summaries bit for bit, the same
//! customer order, late customers and report, and the same error for every bad input, on the
//! synthetic base, on CDNOW, on shuffled rows, on text and integer keys, and at any thread
//! count.

use custseg::datasets::{SyntheticConfig, cdnow_sample, cdnow_sample_config, synthetic};
use custseg::{
    CustomerKey, CustomerSummaries, Date, Error, PurchasePeriod, ReturnPolicy, SummaryConfig,
    SummaryWorkspace, TimeUnit, TransactionLog,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

/// Every field of every summary, floats by their bits (so −0.0 against 0.0 or a last-bit
/// difference fails), then late customers, report and configuration.
fn assert_identical(a: &CustomerSummaries, b: &CustomerSummaries, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: number of summaries");
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let fields = |s: &custseg::CustomerSummary| {
            (
                s.customer_id().to_string(),
                s.first_purchase(),
                s.last_purchase(),
                s.frequency(),
                s.transactions(),
                s.holdout_frequency(),
                s.holdout_transactions(),
                s.unit(),
                [
                    s.recency().to_bits(),
                    s.age().to_bits(),
                    s.monetary().to_bits(),
                    s.total_spend().to_bits(),
                    s.holdout_spend().to_bits(),
                ],
            )
        };
        assert_eq!(fields(x), fields(y), "{what}: summary {i}");
    }
    assert_eq!(
        a.late_customers(),
        b.late_customers(),
        "{what}: late customers"
    );
    assert_eq!(a.report(), b.report(), "{what}: report");
    assert_eq!(a.config(), b.config(), "{what}: config");
}

/// Both paths on the same columns: equal results, or equal errors.
fn check<K: CustomerKey>(
    keys: &[K],
    dates: &[Date],
    amounts: &[f64],
    returns: ReturnPolicy,
    cfg: &SummaryConfig,
    what: &str,
) -> Result<CustomerSummaries, Error> {
    let fast = CustomerSummaries::from_columns(keys, dates, amounts, returns, cfg);
    let slow =
        TransactionLog::from_columns(keys, dates, amounts, returns).and_then(|l| l.summarise(cfg));
    assert_same_outcome(&fast, &slow, what);
    fast
}

/// Equal results ([`assert_identical`]), or equal errors.
fn assert_same_outcome(
    a: &Result<CustomerSummaries, Error>,
    b: &Result<CustomerSummaries, Error>,
    what: &str,
) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert_identical(a, b, what),
        // By their debug form: an error holding a NaN value is not equal to itself.
        (Err(a), Err(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}"), "{what}: errors"),
        _ => panic!("{what}: {a:?} vs {b:?}"),
    }
}

/// Every unit and purchase period, with and without a holdout.
fn configs(obs: Date, holdout_end: Date) -> Vec<SummaryConfig> {
    let mut out = Vec::new();
    for unit in [TimeUnit::Days, TimeUnit::Weeks, TimeUnit::Months] {
        for period in [
            PurchasePeriod::Day,
            PurchasePeriod::Week,
            PurchasePeriod::Month,
        ] {
            let c = SummaryConfig::new(obs).with_unit(unit).with_period(period);
            out.push(c);
            out.push(c.with_holdout_end(holdout_end));
        }
    }
    out
}

/// The CDNOW sample as columns: rows in date order (stable, so each customer's same-day rows
/// keep their order) with the ids as text.
fn cdnow_columns() -> (Vec<String>, Vec<Date>, Vec<f64>) {
    let log = cdnow_sample();
    let mut rows: Vec<(Date, String, f64)> = Vec::new();
    for c in log.iter_customers() {
        for (&date, &amount) in c.dates.iter().zip(c.amounts) {
            rows.push((date, c.customer_id.to_string(), amount));
        }
    }
    rows.sort_by_key(|r| r.0);
    (
        rows.iter().map(|r| r.1.clone()).collect(),
        rows.iter().map(|r| r.0).collect(),
        rows.iter().map(|r| r.2).collect(),
    )
}

fn shuffled<T: Clone>(v: &[T], order: &[usize]) -> Vec<T> {
    order.iter().map(|&i| v[i].clone()).collect()
}

#[test]
fn synthetic_base_every_config() {
    let base = synthetic(&SyntheticConfig::new(3_000, 11)).unwrap();
    let rows = base.export_rows();
    let cfg = base.config.summary_config().unwrap();
    let holdout_end = cfg.holdout_end.unwrap();
    for c in configs(cfg.observation_end, holdout_end) {
        check(
            &rows.customer_keys,
            &rows.dates,
            &rows.amounts,
            ReturnPolicy::Error,
            &c,
            &format!("synthetic {c:?}"),
        )
        .unwrap();
    }
    // An observation end inside the data: late customers and purchases after the window.
    let early = SummaryConfig::new(cfg.observation_end.add_days(-300).unwrap())
        .with_holdout_end(cfg.observation_end.add_days(-100).unwrap());
    let s = check(
        &rows.customer_keys,
        &rows.dates,
        &rows.amounts,
        ReturnPolicy::Error,
        &early,
        "synthetic early",
    )
    .unwrap();
    assert!(!s.late_customers().is_empty());
    assert!(s.report().purchases_after_window > 0);
    assert!(s.report().holdout_purchases > 0);
}

#[test]
fn synthetic_base_large_enough_for_many_blocks() {
    // 40,000 customers: several hundred thousand rows, hundreds of partitions and several
    // chunks of 65,536 rows, in date order and shuffled.
    let base = synthetic(&SyntheticConfig::new(40_000, 5)).unwrap();
    let rows = base.export_rows();
    let cfg = base.config.summary_config().unwrap();
    let s = check(
        &rows.customer_keys,
        &rows.dates,
        &rows.amounts,
        ReturnPolicy::Error,
        &cfg,
        "synthetic 40k",
    )
    .unwrap();
    assert_eq!(s.len(), 40_000);
    let mut order: Vec<usize> = (0..rows.dates.len()).collect();
    order.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(9));
    let keys = shuffled(&rows.customer_keys, &order);
    let dates = shuffled(&rows.dates, &order);
    let amounts = shuffled(&rows.amounts, &order);
    check(
        &keys,
        &dates,
        &amounts,
        ReturnPolicy::Error,
        &cfg,
        "synthetic 40k shuffled",
    )
    .unwrap();
}

#[test]
fn cdnow_every_config_text_and_integer_keys_in_order_and_shuffled() {
    let (ids, dates, amounts) = cdnow_columns();
    let ints: Vec<u64> = ids.iter().map(|s| s.parse().unwrap()).collect();
    let standard = cdnow_sample_config();
    // The standard split gives the crate's published numbers either way.
    let s = check(
        &ints,
        &dates,
        &amounts,
        ReturnPolicy::Error,
        &standard,
        "cdnow standard",
    )
    .unwrap();
    assert_eq!(s.len(), 2_357);
    assert_eq!(s.iter().filter(|c| c.frequency() > 0).count(), 946);
    assert_identical(
        &s,
        &cdnow_sample().summarise(&standard).unwrap(),
        "cdnow vs the log in customer order",
    );
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(1997));
    let (sh_ids, sh_ints, sh_dates, sh_amounts) = (
        shuffled(&ids, &order),
        shuffled(&ints, &order),
        shuffled(&dates, &order),
        shuffled(&amounts, &order),
    );
    for c in configs(standard.observation_end, standard.holdout_end.unwrap()) {
        let what = format!("{c:?}");
        let a = check(&ints, &dates, &amounts, ReturnPolicy::Error, &c, &what).unwrap();
        let b = check(&ids, &dates, &amounts, ReturnPolicy::Error, &c, &what).unwrap();
        assert_identical(&a, &b, &format!("integer vs text keys {what}"));
        check(
            &sh_ints,
            &sh_dates,
            &sh_amounts,
            ReturnPolicy::Error,
            &c,
            &format!("shuffled integer keys {what}"),
        )
        .unwrap();
        check(
            &sh_ids,
            &sh_dates,
            &sh_amounts,
            ReturnPolicy::Error,
            &c,
            &format!("shuffled text keys {what}"),
        )
        .unwrap();
    }
}

#[test]
fn every_integer_key_type_including_negative_keys() {
    let dates = [
        d("2024-01-03"),
        d("2024-01-01"),
        d("2024-01-02"),
        d("2024-01-01"),
        d("2024-02-10"),
    ];
    let amounts = [1.0, 2.0, 3.0, 4.0, 5.0];
    let cfg = SummaryConfig::new(d("2024-01-31")).with_holdout_end(d("2024-03-31"));
    let text = check(
        &["9", "-4", "9", "70", "-4"],
        &dates,
        &amounts,
        ReturnPolicy::Error,
        &cfg,
        "text",
    )
    .unwrap();
    let i64s = check(
        &[9i64, -4, 9, 70, -4],
        &dates,
        &amounts,
        ReturnPolicy::Error,
        &cfg,
        "i64",
    )
    .unwrap();
    let i32s = check(
        &[9i32, -4, 9, 70, -4],
        &dates,
        &amounts,
        ReturnPolicy::Error,
        &cfg,
        "i32",
    )
    .unwrap();
    assert_identical(&text, &i64s, "text vs i64");
    assert_identical(&text, &i32s, "text vs i32");
    assert_eq!(i64s[1].customer_id().as_str(), "-4");
    let u32s = [9u32, 4, 9, 70, 4];
    let usizes = [9usize, 4, 9, 70, 4];
    let a = check(&u32s, &dates, &amounts, ReturnPolicy::Error, &cfg, "u32").unwrap();
    let b = check(
        &usizes,
        &dates,
        &amounts,
        ReturnPolicy::Error,
        &cfg,
        "usize",
    )
    .unwrap();
    assert_identical(&a, &b, "u32 vs usize");
    // Borrowed keys and owned strings.
    let refs: Vec<&u64> = [9u64, 4, 9, 70, 4].iter().collect();
    check(&refs, &dates, &amounts, ReturnPolicy::Error, &cfg, "&u64").unwrap();
    let owned: Vec<String> = ["a", "b", "a", "c", "b"].map(String::from).to_vec();
    check(
        &owned,
        &dates,
        &amounts,
        ReturnPolicy::Error,
        &cfg,
        "String",
    )
    .unwrap();
    // Extreme and sparse keys (the log path inside) give the same answer.
    check(
        &[u64::MAX, 0, u64::MAX, 1 << 40, 0],
        &dates,
        &amounts,
        ReturnPolicy::Error,
        &cfg,
        "sparse u64",
    )
    .unwrap();
    check(
        &[i64::MIN, i64::MAX, i64::MIN, 0, -1],
        &dates,
        &amounts,
        ReturnPolicy::Error,
        &cfg,
        "extreme i64",
    )
    .unwrap();
}

#[test]
fn same_day_rows_are_summed_exactly_before_the_days() {
    // Amounts whose running sum depends on the order of the additions: a day's sum is
    // rounded once (so the order of its rows does not matter), then the days are added in
    // date order.
    let keys = [1u64, 1, 2, 1, 1, 2, 1];
    let dates = [
        d("2024-01-01"),
        d("2024-01-05"),
        d("2024-01-05"),
        d("2024-01-05"),
        d("2024-01-01"),
        d("2024-01-05"),
        d("2024-01-05"),
    ];
    let amounts = [0.1, 1e16, 0.3, 1.0, 0.2, -0.0, 1.0];
    for period in [PurchasePeriod::Day, PurchasePeriod::Week] {
        let cfg = SummaryConfig::new(d("2024-01-31")).with_period(period);
        let s = check(
            &keys,
            &dates,
            &amounts,
            ReturnPolicy::Error,
            &cfg,
            "same day",
        )
        .unwrap();
        assert_eq!(s[0].transactions(), 5);
        // Near 1e16 a running sum loses each 1.0 to rounding; the exact day sum 1e16 + 2 is
        // representable, and is what every order of the rows gives.
        let day1: f64 = 0.1 + 0.2;
        let day2: f64 = 1e16 + 2.0;
        assert_ne!(((0.0 + 1e16) + 1.0) + 1.0, day2);
        assert_eq!(s[0].total_spend().to_bits(), (day1 + day2).to_bits());
        let reordered = [1.0, 1.0, 0.3, 1e16, 0.2, -0.0, 0.1];
        let dates_reordered = [
            dates[3], dates[6], dates[2], dates[1], dates[4], dates[5], dates[0],
        ];
        let keys_reordered = [1u64, 1, 2, 1, 1, 2, 1];
        let r = check(
            &keys_reordered,
            &dates_reordered,
            &reordered,
            ReturnPolicy::Error,
            &cfg,
            "same day, reordered",
        )
        .unwrap();
        assert_eq!(r[0].total_spend().to_bits(), s[0].total_spend().to_bits());
        // A day of 0.3 and −0.0 sums to 0.3.
        assert_eq!(s[1].total_spend(), 0.3);
    }
    let s = check(
        &[5u64],
        &[d("2024-01-01")],
        &[-0.0],
        ReturnPolicy::Error,
        &SummaryConfig::new(d("2024-01-31")),
        "negative zero",
    )
    .unwrap();
    assert_eq!(s[0].total_spend().to_bits(), 0.0f64.to_bits());
}

#[test]
fn bad_rows_give_the_log_paths_errors_with_their_positions() {
    let cfg = SummaryConfig::new(d("2024-01-31"));
    let dates = [d("2024-01-01"), d("2024-01-02"), d("2024-01-03")];
    let row_of = |e: &Error| e.position().and_then(|p| p.row());
    for (bad, row) in [
        (f64::NAN, 1usize),
        (f64::INFINITY, 1),
        (f64::NEG_INFINITY, 1),
    ] {
        for returns in [ReturnPolicy::Error, ReturnPolicy::Drop, ReturnPolicy::Net] {
            let e = check(
                &[1u64, 2, 1],
                &dates,
                &[1.0, bad, 2.0],
                returns,
                &cfg,
                "non-finite",
            )
            .unwrap_err();
            assert!(matches!(e, Error::NonFinite { .. }), "{e}");
            assert_eq!(row_of(&e), Some(row));
            assert_eq!(e.position().and_then(|p| p.column()), Some("amount"));
            assert_eq!(e.position().and_then(|p| p.customer()), Some("2"));
        }
    }
    // The first bad row wins, whatever comes later.
    let e = check(
        &[1u64, 2, 1],
        &dates,
        &[-1.0, f64::NAN, 2.0],
        ReturnPolicy::Error,
        &cfg,
        "negative first",
    )
    .unwrap_err();
    assert!(matches!(e, Error::NegativeAmount { .. }), "{e}");
    assert_eq!(row_of(&e), Some(0));
    // Empty text ids.
    let e = check(
        &["a", ""],
        &dates[..2],
        &[1.0, 2.0],
        ReturnPolicy::Error,
        &cfg,
        "empty id",
    )
    .unwrap_err();
    assert_eq!(row_of(&e), Some(1));
    // Lengths.
    for (ds, am) in [
        (&dates[..2], &[1.0, 2.0, 3.0][..]),
        (&dates[..], &[1.0, 2.0][..]),
    ] {
        let e = check(&[1u64, 2, 3], ds, am, ReturnPolicy::Error, &cfg, "lengths").unwrap_err();
        assert!(matches!(e, Error::LengthMismatch { .. }), "{e}");
    }
    // Nothing left: no rows, or only dropped returns.
    let empty: [u64; 0] = [];
    let e = check(&empty, &[], &[], ReturnPolicy::Error, &cfg, "no rows").unwrap_err();
    assert!(matches!(e, Error::EmptyInput { .. }), "{e}");
    let e = check(
        &[1u64, 2],
        &dates[..2],
        &[-1.0, -2.0],
        ReturnPolicy::Drop,
        &cfg,
        "all dropped",
    )
    .unwrap_err();
    assert!(matches!(e, Error::EmptyInput { .. }), "{e}");
    // Dropped returns that sum beyond f64.
    let e = check(
        &[1u64, 2, 3],
        &dates,
        &[-f64::MAX, -f64::MAX, 1.0],
        ReturnPolicy::Drop,
        &cfg,
        "dropped overflow",
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidRecord { .. }), "{e}");
    // A netted return larger than the purchases before it (the log path inside).
    let e = check(
        &[1u64, 1],
        &dates[..2],
        &[1.0, -2.0],
        ReturnPolicy::Net,
        &cfg,
        "net",
    )
    .unwrap_err();
    assert!(matches!(e, Error::ReturnExceedsPurchases { .. }), "{e}");
    assert_eq!(row_of(&e), Some(1));
    // The window is checked after the rows, as the log path does.
    let bad_window = SummaryConfig::new(d("2024-01-31")).with_holdout_end(d("2024-01-31"));
    let e = check(
        &[1u64, 2],
        &dates[..2],
        &[1.0, 2.0],
        ReturnPolicy::Error,
        &bad_window,
        "w",
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidWindow(_)), "{e}");
    let e = check(
        &[1u64, 2],
        &dates[..2],
        &[1.0, f64::NAN],
        ReturnPolicy::Error,
        &bad_window,
        "w",
    )
    .unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e}");
    // Spend sums that overflow: the first such customer, by column.
    let e = check(
        &[7u64, 8, 8, 8],
        &[
            d("2024-01-01"),
            d("2024-01-01"),
            d("2024-01-02"),
            d("2024-01-03"),
        ],
        &[1.0, 1.0, f64::MAX, f64::MAX],
        ReturnPolicy::Error,
        &cfg,
        "overflow",
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidRecord { .. }), "{e}");
    assert_eq!(e.position().and_then(|p| p.customer()), Some("8"));
}

#[test]
fn returns_dropped_or_netted_like_the_log() {
    let keys = [3u64, 1, 3, 2, 1, 3, 2];
    let dates = [
        d("2024-01-01"),
        d("2024-01-02"),
        d("2024-01-02"),
        d("2024-01-03"),
        d("2024-01-04"),
        d("2024-01-05"),
        d("2024-02-05"),
    ];
    let amounts = [10.0, -1.0, 5.0, -3.0, 4.0, -2.0, 6.0];
    let cfg = SummaryConfig::new(d("2024-01-31")).with_holdout_end(d("2024-03-31"));
    // Customer 1's first row is a return: dropped, customer 1 appears at row 4.
    let s = check(&keys, &dates, &amounts, ReturnPolicy::Drop, &cfg, "drop").unwrap();
    let ids: Vec<&str> = s.iter().map(|c| c.customer_id().as_str()).collect();
    assert_eq!(ids, ["3", "1"]);
    assert_eq!(s.late_customers().len(), 1);
    let s = check(&keys, &dates, &amounts, ReturnPolicy::Net, &cfg, "net").unwrap_err();
    assert!(matches!(s, Error::ReturnExceedsPurchases { .. }));
    let amounts = [10.0, 1.0, 5.0, 3.0, 4.0, -2.0, 6.0];
    check(&keys, &dates, &amounts, ReturnPolicy::Net, &cfg, "net ok").unwrap();
    // Net without any return takes the direct path.
    check(
        &keys,
        &dates,
        &amounts.map(f64::abs),
        ReturnPolicy::Net,
        &cfg,
        "net none",
    )
    .unwrap();
}

#[test]
fn late_customers_whose_rows_arrive_out_of_date_order() {
    // Customer 5's first row is after the observation end but a later row is before it: not
    // late. Customer 6 only buys after it: late, counted in the holdout.
    let keys = [5u64, 6, 5, 6, 7, 7];
    let dates = [
        d("2024-02-10"),
        d("2024-02-11"),
        d("2024-01-10"),
        d("2024-02-01"),
        d("2024-04-10"),
        d("2024-01-02"),
    ];
    let amounts = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let cfg = SummaryConfig::new(d("2024-01-31"))
        .with_holdout_end(d("2024-03-31"))
        .with_period(PurchasePeriod::Week);
    let s = check(&keys, &dates, &amounts, ReturnPolicy::Error, &cfg, "late").unwrap();
    let ids: Vec<&str> = s.iter().map(|c| c.customer_id().as_str()).collect();
    assert_eq!(ids, ["5", "7"]);
    assert_eq!(s.late_customers()[0].customer_id.as_str(), "6");
    assert_eq!(s.late_customers()[0].first_purchase, d("2024-02-01"));
    assert_eq!(s.report().purchases_after_window, 1);
}

/// Random small columns and configuration: dense and sparse integer keys, any row order,
/// same-day rows, zeros and returns under every policy, every unit and period, holdout or
/// not, windows before, inside and after the data.
#[allow(clippy::type_complexity)]
fn random_case(
    rng: &mut Xoshiro256PlusPlus,
) -> (Vec<u64>, Vec<Date>, Vec<f64>, ReturnPolicy, SummaryConfig) {
    let start = d("2023-01-01");
    let n = rng.gen_range(0..300);
    let customers = rng.gen_range(1..40u64);
    let spread = if rng.gen_bool(0.2) { 1_000_003 } else { 1 };
    let keys: Vec<u64> = (0..n)
        .map(|_| rng.gen_range(0..customers) * spread + 17)
        .collect();
    let span = rng.gen_range(1..500);
    let mut dates: Vec<Date> = (0..n)
        .map(|_| start.add_days(rng.gen_range(0..span)).unwrap())
        .collect();
    if rng.gen_bool(0.5) {
        dates.sort();
    }
    let amounts: Vec<f64> = (0..n)
        .map(|_| match rng.gen_range(0..10) {
            0 => 0.0,
            1 => -rng.gen_range(0.01..5.0),
            2 => 1e15,
            _ => (rng.gen_range(1..100_000) as f64) / 100.0,
        })
        .collect();
    let returns = [ReturnPolicy::Error, ReturnPolicy::Drop, ReturnPolicy::Net][rng.gen_range(0..3)];
    let obs = start.add_days(rng.gen_range(-10..span + 10)).unwrap();
    let mut cfg = SummaryConfig::new(obs)
        .with_unit([TimeUnit::Days, TimeUnit::Weeks, TimeUnit::Months][rng.gen_range(0..3)])
        .with_period(
            [
                PurchasePeriod::Day,
                PurchasePeriod::Week,
                PurchasePeriod::Month,
            ][rng.gen_range(0..3)],
        );
    if rng.gen_bool(0.5) {
        cfg = cfg.with_holdout_end(obs.add_days(rng.gen_range(0..200)).unwrap());
    }
    (keys, dates, amounts, returns, cfg)
}

/// Random small inputs with a fixed seed ([`random_case`]), with integer and text keys.
#[test]
fn randomized_inputs_agree_with_the_log() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(20_240_101);
    for case in 0..400 {
        let (keys, dates, amounts, returns, cfg) = random_case(&mut rng);
        let what = format!("case {case}");
        check(&keys, &dates, &amounts, returns, &cfg, &what).ok();
        let text: Vec<String> = keys.iter().map(|k| format!("k{k}")).collect();
        check(&text, &dates, &amounts, returns, &cfg, &what).ok();
    }
}

/// `from_columns_in` through `workspace`, asserted to give what a fresh `from_columns` gives.
fn through_workspace<K: CustomerKey>(
    keys: &[K],
    (dates, amounts, returns, cfg): (&[Date], &[f64], ReturnPolicy, &SummaryConfig),
    workspace: &mut SummaryWorkspace,
    what: &str,
) -> Result<CustomerSummaries, Error> {
    let fresh = CustomerSummaries::from_columns(keys, dates, amounts, returns, cfg);
    let reused = CustomerSummaries::from_columns_in(keys, dates, amounts, returns, cfg, workspace);
    assert_same_outcome(&reused, &fresh, what);
    reused
}

/// One workspace carried through hundreds of calls — inputs larger and smaller than the one
/// before, so its buffers hold an earlier call's rows; errors; inputs that take the log path;
/// each result recycled into the next call — changes nothing: every result and error is that
/// of a fresh call. Then the synthetic base, large enough for many blocks: its buffers are
/// reused by a smaller call and by the same call again, recycled summaries are written into
/// when they fit, and inputs that leave the columnar path after partitioning (dates spread
/// over millennia, keys spread wider than the customers) leave the workspace no larger.
#[test]
fn a_workspace_carried_across_calls_changes_nothing() {
    let mut workspace = SummaryWorkspace::new();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(77);
    for case in 0..300 {
        let (keys, dates, amounts, returns, cfg) = random_case(&mut rng);
        let columns = (&dates[..], &amounts[..], returns, &cfg);
        let what = format!("case {case}");
        if let Ok(r) = through_workspace(&keys, columns, &mut workspace, &what) {
            workspace.recycle(r);
        }
        let text: Vec<String> = keys.iter().map(|k| format!("k{k}")).collect();
        through_workspace(
            &text,
            columns,
            &mut workspace,
            &format!("{what}, text keys"),
        )
        .ok();
    }
    let base = synthetic(&SyntheticConfig::new(30_000, 5)).unwrap();
    let rows = base.export_rows();
    let cfg = base.config.summary_config().unwrap();
    let (keys, dates, amounts) = (&rows.customer_keys, &rows.dates, &rows.amounts);
    assert!(keys.len() > 4 * (1 << 16), "more than one partition unit");
    let small = synthetic(&SyntheticConfig::new(2_000, 5))
        .unwrap()
        .export_rows();
    let call = |keys: &[u64], dates: &[Date], amounts: &[f64], workspace: &mut _, what: &str| {
        let columns = (dates, amounts, ReturnPolicy::Error, &cfg);
        through_workspace(keys, columns, workspace, what).unwrap()
    };
    let first = call(keys, dates, amounts, &mut workspace, "synthetic");
    let first_at = first.as_ptr();
    workspace.recycle(first);
    let held = workspace.bytes();
    // A smaller input: the partition's buffers are reused, and the recycled summaries (far
    // more than it needs) stay in the workspace; its own, recycled, are the smaller and go.
    let second = call(
        &small.customer_keys,
        &small.dates,
        &small.amounts,
        &mut workspace,
        "small",
    );
    assert_ne!(second.as_ptr(), first_at);
    workspace.recycle(second);
    assert_eq!(workspace.bytes(), held, "{workspace:?}");
    // The first input again: written into the first result's memory.
    let third = call(keys, dates, amounts, &mut workspace, "synthetic again");
    assert_eq!(third.as_ptr(), first_at);
    let held = workspace.bytes();
    // Inputs that leave the columnar path after partitioning take the log path with the same
    // result and leave the workspace as it was: two dates millennia apart in one partition
    // unit, and a few customers whose keys span far more than four slots a customer…
    // n customers with one purchase each, all on one day but the first two, 8,900 years apart.
    let millennia_apart = |n: usize| {
        let mut days = vec![d("2024-01-01"); n];
        (days[0], days[1]) = (d("0100-01-01"), d("9000-01-01"));
        ((0..n as u64).collect::<Vec<u64>>(), days, vec![1.0; n])
    };
    let n = 200_000;
    let (dense, days, spend) = millennia_apart(n);
    call(&dense, &days, &spend, &mut workspace, "millennia apart");
    assert_eq!(workspace.bytes(), held, "{workspace:?}");
    let few: Vec<u64> = (0..n as u64).map(|i| (i % 4) * 100_000).collect();
    let same_day = vec![d("2024-01-01"); n];
    call(&few, &same_day, &spend, &mut workspace, "sparse keys");
    assert_eq!(workspace.bytes(), held, "{workspace:?}");
    // …and with more rows than the workspace holds, the buffers grown for them are let go.
    let (dense, days, spend) = millennia_apart(keys.len() + 100_000);
    call(
        &dense,
        &days,
        &spend,
        &mut workspace,
        "more rows, millennia apart",
    );
    assert!(workspace.bytes() <= held, "{workspace:?}");
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let base = synthetic(&SyntheticConfig::new(5_000, 3)).unwrap();
    let rows = base.export_rows();
    let cfg = base.config.summary_config().unwrap();
    let mut order: Vec<usize> = (0..rows.dates.len()).collect();
    order.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(4));
    // Half the rows shuffled: some customers in date order, some not.
    order[..rows.dates.len() / 2].sort();
    let keys = shuffled(&rows.customer_keys, &order);
    let dates = shuffled(&rows.dates, &order);
    let amounts = shuffled(&rows.amounts, &order);
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                CustomerSummaries::from_columns(&keys, &dates, &amounts, ReturnPolicy::Error, &cfg)
                    .unwrap()
            })
    };
    let one = run(1);
    assert_identical(&one, &run(2), "1 vs 2 threads");
    assert_identical(&one, &run(3), "1 vs 3 threads");
    check(&keys, &dates, &amounts, ReturnPolicy::Error, &cfg, "vs log").unwrap();
}
