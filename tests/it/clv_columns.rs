//! Columnar scoring: the same answers as the summaries' batch forms (to the last units of a
//! few logarithms), at any thread count, with the same errors where a row is bad.

use custseg::clv::{
    BgNbd, Discounting, GammaGamma, HistoryColumns, MbgNbd, ParetoNbd, Rft, TransactionModel,
    Valuation,
};
use custseg::datasets::{SyntheticConfig, cdnow_sample, cdnow_sample_config, synthetic_summaries};
use custseg::{CustomerSummary, Error, Score, TimeUnit};

struct Cols {
    x: Vec<u32>,
    t_x: Vec<f64>,
    t: Vec<f64>,
    z: Vec<f64>,
}

fn columns(s: &[CustomerSummary]) -> Cols {
    Cols {
        x: s.iter().map(|c| c.frequency()).collect(),
        t_x: s.iter().map(|c| c.recency()).collect(),
        t: s.iter().map(|c| c.age()).collect(),
        z: s.iter().map(|c| c.monetary()).collect(),
    }
}

/// A synthetic base of `n` customers (seed 11) and its columns.
fn synthetic_base(n: usize) -> (Vec<CustomerSummary>, Cols) {
    let base = synthetic_summaries(&SyntheticConfig::new(n, 11))
        .unwrap()
        .into_vec();
    let c = columns(&base);
    (base, c)
}

fn close(a: &[f64], b: &[f64], rel: f64, what: &str) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= rel * y.abs().max(1e-300),
            "{what} row {i}: {x} vs {y}"
        );
    }
}

/// BG/NBD, MBG/NBD and Pareto/NBD with their published CDNOW parameters, in weeks.
fn cdnow_models() -> (BgNbd, MbgNbd, ParetoNbd) {
    (
        BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)
            .unwrap()
            .with_unit(TimeUnit::Weeks),
        MbgNbd::new(0.525, 6.183, 0.891, 1.614)
            .unwrap()
            .with_unit(TimeUnit::Weeks),
        ParetoNbd::new(0.5534, 10.5802, 0.6061, 11.6562)
            .unwrap()
            .with_unit(TimeUnit::Weeks),
    )
}

/// On CDNOW and a synthetic base of 20,000, for BG/NBD, MBG/NBD and Pareto/NBD: P(alive),
/// expected purchases and the whole valuation from columns equal the summaries' batch forms.
#[test]
fn columns_agree_with_the_summaries() {
    let cdnow = cdnow_sample()
        .summarise(&cdnow_sample_config())
        .unwrap()
        .into_vec();
    let synthetic = synthetic_summaries(&SyntheticConfig::new(20_000, 7))
        .unwrap()
        .into_vec();
    for base in [&cdnow, &synthetic] {
        let c = columns(base);
        let h = HistoryColumns::new(&c.x, &c.t_x, &c.t)
            .unwrap()
            .with_unit(TimeUnit::Weeks);
        let (bg, mbg, pn) = cdnow_models();
        let models: [&dyn TransactionModel; 3] = [&bg, &mbg, &pn];
        for m in models {
            let want = m.p_alive_batch(base).unwrap();
            // P(alive) is a logistic of log odds of up to ~30 here: a unit in the last place
            // of a logarithm moves it by ~1e-14 relative.
            close(&m.p_alive_columns(&h).unwrap(), &want, 1e-13, m.name());
            let want = m.expected_purchases_batch(base, 39.0).unwrap();
            let got = m.expected_purchases_columns(&h, 39.0).unwrap();
            close(&got, &want, 1e-13, m.name());
        }
        // Pareto/NBD has no vectorised P(alive): the columns give its own values exactly.
        assert_eq!(
            pn.p_alive_columns(&h).unwrap(),
            pn.p_alive_batch(base).unwrap()
        );
        let valuation = Valuation::new(
            bg,
            GammaGamma::new(6.2488, 3.7446, 15.4477).unwrap(),
            Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap(),
        );
        let rows = valuation.score_batch(base).unwrap();
        let cols = valuation.value_columns(&h, &c.z).unwrap();
        let pick = |f: fn(&custseg::clv::CustomerValue) -> f64| -> Vec<f64> {
            rows.iter().map(f).collect()
        };
        close(&cols.p_alive, &pick(|v| v.p_alive), 1e-13, "value p_alive");
        close(&cols.clv, &pick(|v| v.clv), 1e-13, "clv");
        close(
            &cols.expected_purchases,
            &pick(|v| v.expected_purchases),
            1e-13,
            "expected purchases",
        );
        assert_eq!(cols.expected_spend, pick(|v| v.expected_spend));
    }
}

/// The `_into` forms write the allocating forms' values, bit for bit, into a buffer that
/// already holds other values (a previous batch's, or NaN), for each model; a buffer of the
/// wrong length, a unit mismatch, a bad horizon and an overflowing row are the same errors.
#[test]
fn scoring_into_a_buffer_gives_the_same_column() {
    let (_, c) = synthetic_base(50_000);
    let h = HistoryColumns::new(&c.x, &c.t_x, &c.t)
        .unwrap()
        .with_unit(TimeUnit::Weeks);
    let (bg, mbg, pn) = cdnow_models();
    let models: [&dyn TransactionModel; 3] = [&bg, &mbg, &pn];
    let mut out = vec![f64::NAN; h.len()];
    for m in models {
        let same_bits =
            |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
        let want = m.p_alive_columns(&h).unwrap();
        m.p_alive_columns_into(&h, &mut out).unwrap();
        assert!(same_bits(&want, &out), "{}", m.name());
        let want = m.expected_purchases_columns(&h, 39.0).unwrap();
        m.expected_purchases_columns_into(&h, 39.0, &mut out)
            .unwrap();
        assert!(same_bits(&want, &out), "{}", m.name());
        let mut short = vec![0.0; h.len() - 1];
        for e in [
            m.p_alive_columns_into(&h, &mut short).unwrap_err(),
            m.expected_purchases_columns_into(&h, 39.0, &mut short)
                .unwrap_err(),
        ] {
            assert!(
                matches!(
                    e,
                    Error::LengthMismatch {
                        what: "output",
                        expected: 50_000,
                        got: 49_999
                    }
                ),
                "{e}"
            );
        }
        // The errors in the allocating forms' order: the horizon, then the unit, then the
        // buffer.
        assert!(matches!(
            m.expected_purchases_columns_into(&h.with_unit(TimeUnit::Days), -1.0, &mut short),
            Err(Error::InvalidParameter { .. })
        ));
        let days = h.with_unit(TimeUnit::Days);
        assert!(matches!(
            m.p_alive_columns_into(&days, &mut short),
            Err(Error::UnitMismatch { .. })
        ));
        assert!(matches!(
            m.expected_purchases_columns_into(&days, 39.0, &mut short),
            Err(Error::UnitMismatch { .. })
        ));
    }
    // Under BG/NBD a customer without repeat purchases is alive for certain: exactly 1, as
    // the one-customer form says.
    bg.p_alive_columns_into(&h, &mut out).unwrap();
    let no_repeats: Vec<usize> = (0..h.len()).filter(|&i| c.x[i] == 0).collect();
    assert!(no_repeats.len() > 1_000);
    assert!(no_repeats.iter().all(|&i| out[i] == 1.0));
    // No customers: nothing to write, no error.
    let empty = HistoryColumns::new(&[], &[], &[]).unwrap();
    for m in models {
        m.p_alive_columns_into(&empty, &mut []).unwrap();
        m.expected_purchases_columns_into(&empty, 39.0, &mut [])
            .unwrap();
    }
    // α + t_x and α + T overflow to infinity at row 1: named by row, as the allocating form
    // names it.
    let (x, t_x, t) = ([1u32, 1], [1.0, 1e308], [2.0, 1.5e308]);
    let h = HistoryColumns::new(&x, &t_x, &t).unwrap();
    let m = BgNbd::new(1.0, 1.7e308, 1.0, 1.0).unwrap();
    let want = m.p_alive_columns(&h).unwrap_err();
    let got = m.p_alive_columns_into(&h, &mut [0.0; 2]).unwrap_err();
    assert_eq!(got.to_string(), want.to_string());
    assert_eq!(got.position().unwrap().row(), Some(1));
}

/// The same bits at 1 and 2 threads (the distinct (x, T) are numbered by first appearance).
#[test]
fn columns_are_thread_count_invariant() {
    let (_, c) = synthetic_base(40_000);
    let h = HistoryColumns::new(&c.x, &c.t_x, &c.t).unwrap();
    let valuation = Valuation::new(
        BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258).unwrap(),
        GammaGamma::new(6.2488, 3.7446, 15.4477).unwrap(),
        Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap(),
    );
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| valuation.value_columns(&h, &c.z).unwrap())
    };
    assert_eq!(run(1), run(2));
}

/// In columns of 100,000 good histories, one or two bad rows — each rule broken, at the
/// start, the end, a chunk boundary and a vector lane's every position — are found: the
/// error names the first bad row and its column, as a row-by-row check would.
#[test]
fn the_first_bad_row_is_found_anywhere_in_long_columns() {
    let n = 100_000;
    let x: Vec<u32> = (0..n).map(|i| (i % 7) as u32).collect();
    let t: Vec<f64> = (0..n).map(|i| 20.0 + (i % 13) as f64).collect();
    let t_x: Vec<f64> = (0..n)
        .map(|i| if x[i] == 0 { 0.0 } else { (i % 11) as f64 })
        .collect();
    assert!(HistoryColumns::new(&x, &t_x, &t).is_ok());
    // (row, column and value made bad, the column the error names)
    let breaks: [(&str, f64, &str); 5] = [
        ("t_x", f64::NAN, "t_x"),
        ("t_x", -1.0, "t_x"),
        ("t_x", 1e9, "T"),
        ("T", f64::INFINITY, "T"),
        ("x", 0.0, "t_x"),
    ];
    let mut rows: Vec<usize> = (0..6).collect();
    rows.extend([16_383, 16_384, 16_385, 65_537, n - 2, n - 1]);
    for (k, &(column, value, named)) in breaks.iter().enumerate() {
        for (j, &row) in rows.iter().enumerate() {
            let (mut x, mut t_x, mut t) = (x.clone(), t_x.clone(), t.clone());
            let mut spoil = |row: usize| match column {
                "t_x" => t_x[row] = value,
                "T" => t[row] = value,
                // No repeat purchase but a positive recency.
                _ => (x[row], t_x[row]) = (0, 3.0),
            };
            spoil(row);
            // A second bad row later on changes nothing.
            let later = rows[(j + 1 + k) % rows.len()];
            if later > row {
                spoil(later);
            }
            let err = HistoryColumns::new(&x, &t_x, &t).unwrap_err();
            let at = err.position().unwrap();
            assert_eq!(
                (at.row(), at.column()),
                (Some(row), Some(named)),
                "{column} = {value} at row {row}: {err}"
            );
        }
    }
}

/// Bad rows are refused with their row and column; extreme histories (log odds past the
/// vectorised range) get the model's own answer; units are checked.
#[test]
fn columns_check_their_rows_and_units() {
    let x = [0, 3, 2];
    let err = HistoryColumns::new(&x, &[0.0, 5.0, 9.0], &[10.0, 10.0, 8.0]).unwrap_err();
    let at = err.position().unwrap();
    assert_eq!((at.row(), at.column()), (Some(2), Some("T")), "{err}");
    let err = HistoryColumns::new(&x, &[1.0, 5.0, 1.0], &[10.0, 10.0, 8.0]).unwrap_err();
    assert_eq!(err.position().unwrap().row(), Some(0), "{err}");
    let err = HistoryColumns::new(&x, &[0.0, f64::NAN, 1.0], &[10.0, 10.0, 8.0]).unwrap_err();
    let at = err.position().unwrap();
    assert_eq!((at.row(), at.column()), (Some(1), Some("t_x")), "{err}");
    assert!(matches!(
        HistoryColumns::new(&x, &[0.0], &[1.0]),
        Err(Error::LengthMismatch { .. })
    ));
    // A heavy buyer long gone: log odds far past 700, P(alive) 0 as the model says.
    let x = [5_000, 1, 0];
    let t_x = [0.5, 1e-300, 0.0];
    let t = [1e6, 2.0, 3.0];
    let h = HistoryColumns::new(&x, &t_x, &t).unwrap();
    let bg = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258).unwrap();
    let got = bg.p_alive_columns(&h).unwrap();
    for i in 0..3 {
        let want = bg.p_alive(&Rft::new(x[i], t_x[i], t[i]).unwrap()).unwrap();
        assert!((got[i] - want).abs() <= 1e-14, "{i}: {} vs {want}", got[i]);
    }
    assert_eq!(got[0], 0.0);
    let days = h.with_unit(TimeUnit::Days);
    let weekly = bg.with_unit(TimeUnit::Weeks);
    assert!(matches!(
        weekly.p_alive_columns(&days),
        Err(Error::UnitMismatch { .. })
    ));
    let valuation = Valuation::new(
        bg,
        GammaGamma::new(6.2488, 3.7446, 15.4477).unwrap(),
        Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap(),
    );
    let err = valuation
        .value_columns(&h, &[10.0, f64::NAN, 0.0])
        .unwrap_err();
    let at = err.position().unwrap();
    assert_eq!(
        (at.row(), at.column()),
        (Some(1), Some("monetary")),
        "{err}"
    );
    assert!(valuation.value_columns(&h, &[1.0]).is_err());
}

/// lifetimes' own numbers on CDNOW (tests/data/cdnow_clv_lifetimes.csv, as the row forms'
/// test reads them), straight from columns: P(alive), 39-week expectations and 12-month CLV.
#[test]
fn columns_reproduce_lifetimes_on_cdnow() {
    let rows: Vec<Vec<f64>> = include_str!("../data/cdnow_clv_lifetimes.csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let x: Vec<u32> = rows.iter().map(|r| r[1] as u32).collect();
    let t_x: Vec<f64> = rows.iter().map(|r| r[2]).collect();
    let t: Vec<f64> = rows.iter().map(|r| r[3]).collect();
    let z: Vec<f64> = rows.iter().map(|r| r[4]).collect();
    let h = HistoryColumns::new(&x, &t_x, &t).unwrap();
    let bg = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258).unwrap();
    let mbg = MbgNbd::new(0.5248, 6.1830, 0.8914, 1.6140).unwrap();
    let pnbd = ParetoNbd::new(0.5533, 10.5776, 0.6062, 11.6680).unwrap();
    let column = |k: usize| -> Vec<f64> { rows.iter().map(|r| r[5 + k]).collect() };
    close(
        &bg.p_alive_columns(&h).unwrap(),
        &column(0),
        1e-6,
        "bg p_alive",
    );
    let e39 = bg.expected_purchases_columns(&h, 39.0).unwrap();
    close(&e39, &column(2), 1e-6, "bg 39");
    close(
        &mbg.p_alive_columns(&h).unwrap(),
        &column(3),
        1e-6,
        "mbg p_alive",
    );
    let e39 = mbg.expected_purchases_columns(&h, 39.0).unwrap();
    close(&e39, &column(4), 1e-6, "mbg 39");
    close(
        &pnbd.p_alive_columns(&h).unwrap(),
        &column(5),
        1e-6,
        "pnbd p_alive",
    );
    let e39 = pnbd.expected_purchases_columns(&h, 39.0).unwrap();
    close(&e39, &column(6), 1e-6, "pnbd 39");
    let gg = GammaGamma::new(6.2488, 3.7446, 15.4477).unwrap();
    let disc = Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap();
    let v = Valuation::new(bg, gg, disc).value_columns(&h, &z).unwrap();
    close(&v.expected_spend, &column(7), 1e-6, "spend");
    close(&v.clv, &column(8), 1e-6, "bg clv");
    let v = Valuation::new(pnbd, gg, disc)
        .value_columns(&h, &z)
        .unwrap();
    close(&v.clv, &column(9), 1e-6, "pnbd clv");
}
