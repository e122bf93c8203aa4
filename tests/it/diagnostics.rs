//! Holdout diagnostics on CDNOW against lifetimes (`benches/peers/diagnostics_reference.py`
//! → `tests/data/diagnostics_lifetimes.json`), at lifetimes' fitted parameters.

use custseg::clv::{
    AliveMatrix, BgNbd, ConditionalExpectations, FitReport, FrequencyFit, MbgNbd, ModelComparison,
    ParetoNbd, RftData, Tracking, TransactionModel,
};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::{Error, Fit, TimeUnit};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("../data/diagnostics_lifetimes.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn close(got: f64, want: f64, rel: f64) -> bool {
    (got - want).abs() <= rel * want.abs().max(1e-12)
}

/// Runs `check` with each of lifetimes' three fitted models, by the fixture's key.
fn with_models(f: &Value, mut check: impl FnMut(&str, &dyn TransactionModel)) {
    let p = |m: &str, k: &str| f["meta"]["params"][m][k].as_f64().unwrap();
    let bg = BgNbd::new(
        p("bgnbd", "r"),
        p("bgnbd", "alpha"),
        p("bgnbd", "a"),
        p("bgnbd", "b"),
    )
    .unwrap()
    .with_unit(TimeUnit::Weeks);
    let mbg = MbgNbd::new(
        p("mbgnbd", "r"),
        p("mbgnbd", "alpha"),
        p("mbgnbd", "a"),
        p("mbgnbd", "b"),
    )
    .unwrap()
    .with_unit(TimeUnit::Weeks);
    let pnbd = ParetoNbd::new(
        p("pnbd", "r"),
        p("pnbd", "alpha"),
        p("pnbd", "s"),
        p("pnbd", "beta"),
    )
    .unwrap()
    .with_unit(TimeUnit::Weeks);
    check("bgnbd", &bg);
    check("mbgnbd", &mbg);
    check("pnbd", &pnbd);
}

/// Weekly tracking over the 78 weeks: the actual repeat purchases are lifetimes' exactly;
/// the expected ones are lifetimes' `expected_number_of_purchases_up_to_time` summed over
/// the cohorts at the summaries' time convention (`predicted_day_aligned_not_lifetimes`:
/// lifetimes' own curve runs one day ahead, see `Tracking`).
#[test]
fn tracking_curves_match_lifetimes() {
    let f = fixture();
    let c = &f["cumulative"];
    let actual = floats(&c["actual"]);
    let log = cdnow_sample();
    let cfg = cdnow_sample_config();
    with_models(&f, |name, m| {
        let t = Tracking::weekly(m, &log, &cfg).unwrap();
        assert_eq!(t.period_ends.len(), 78);
        assert_eq!(t.calibration_periods, 39);
        assert_eq!(t.period_ends[77].to_string(), "1998-06-30");
        assert_eq!(t.cumulative_actual, actual, "{name}");
        let want = floats(&c["models"][name]["predicted_day_aligned_not_lifetimes"]);
        for (k, (&got, &w)) in t.cumulative_expected.iter().zip(&want).enumerate() {
            assert!(close(got, w, 1e-11), "{name} week {k}: {got} vs {w}");
        }
        // Incremental curves add up to the cumulative ones.
        let sum: f64 = t.expected.iter().sum();
        assert!(close(sum, t.cumulative_expected[77], 1e-12));
        assert_eq!(t.actual.iter().sum::<f64>(), actual[77]);
    });
}

/// The calibration-vs-holdout table (lifetimes' plot groups 0 … 6), the per-customer RMSE
/// and MAE and the holdout totals.
#[test]
fn conditional_expectations_match_lifetimes() {
    let f = fixture();
    let ch = &f["calibration_holdout"];
    let summaries = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    with_models(&f, |name, m| {
        let got = ConditionalExpectations::new(m, summaries.as_slice(), 39.0, 7).unwrap();
        let want = &ch["models"][name];
        assert_eq!(
            got.total_actual,
            ch["total_actual_holdout"].as_f64().unwrap()
        );
        assert!(close(
            got.total_expected,
            want["total_predicted"].as_f64().unwrap(),
            1e-11
        ));
        assert!(
            close(got.rmse, want["rmse"].as_f64().unwrap(), 1e-11),
            "{name}"
        );
        assert!(
            close(got.mae, want["mae"].as_f64().unwrap(), 1e-11),
            "{name}"
        );
        let table = &want["plot_table"];
        let (counts, actual, expected) = (
            floats(&table["count"]),
            floats(&table["mean_frequency_holdout"]),
            floats(&table["mean_model_predictions"]),
        );
        for g in 0..7 {
            let row = &got.groups[g];
            assert_eq!((row.frequency, row.pooled), (g as u32, false));
            assert_eq!(row.customers as f64, counts[g]);
            assert!(close(row.mean_actual, actual[g], 1e-12), "{name} {g}");
            assert!(close(row.mean_expected, expected[g], 1e-11), "{name} {g}");
        }
        // lifetimes drops the customers with 7 or more; here they are the pooled last group.
        let last = &got.groups[7];
        assert!(last.pooled && last.frequency == 7);
        assert_eq!(last.customers, 2_357 - counts.iter().sum::<f64>() as usize);
        assert!(close(
            got.total_relative_error,
            (got.total_expected - 1_882.0) / 1_882.0,
            1e-15
        ));
    });
}

/// The calibration frequency distribution: actual counts, and Σᵢ P(X(Tᵢ) = n) against
/// lifetimes' `probability_of_n_purchases_up_to_time` (BG/NBD, MBG/NBD) and its Pareto/NBD
/// conditional function at an empty history.
#[test]
fn frequency_distribution_matches_lifetimes() {
    let f = fixture();
    let pmf = &f["pmf"];
    let summaries = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let actual = floats(&pmf["actual"]);
    with_models(&f, |name, m| {
        let got = FrequencyFit::new(m, summaries.as_slice(), 7).unwrap();
        assert_eq!(got.frequency, (0..=7).collect::<Vec<u32>>());
        assert_eq!(got.actual, actual);
        let want = floats(&pmf["models"][name]["expected"]);
        for (n, (&g, &w)) in got.expected.iter().zip(&want).enumerate() {
            assert!(close(g, w, 1e-10), "{name} n {n}: {g} vs {w}");
        }
        let chi: f64 = actual
            .iter()
            .zip(&want)
            .map(|(a, e)| (a - e) * (a - e) / e)
            .sum();
        assert!(close(got.chi_square, chi, 1e-8), "{name}");
    });
}

/// lifetimes' `conditional_probability_alive_matrix` for BG/NBD (T = 38, frequencies 0 …
/// 29).
#[test]
fn alive_matrix_matches_lifetimes() {
    let f = fixture();
    let pm = &f["p_alive_matrix"];
    let p = |k: &str| f["meta"]["params"]["bgnbd"][k].as_f64().unwrap();
    let m = BgNbd::new(p("r"), p("alpha"), p("a"), p("b")).unwrap();
    let max_f = pm["max_frequency"].as_u64().unwrap() as u32;
    let grid = AliveMatrix::new(&m, max_f, pm["T"].as_f64().unwrap()).unwrap();
    let want = pm["matrix"].as_array().unwrap();
    assert_eq!(grid.p_alive.len(), want.len());
    for (i, (row, w)) in grid.p_alive.iter().zip(want).enumerate() {
        for (j, (&g, &w)) in row.iter().zip(&floats(w)).enumerate() {
            assert!(close(g, w, 1e-12), "recency {i} frequency {j}: {g} vs {w}");
        }
    }
}

/// AIC and BIC from a fit report, and the likelihood-ratio test's guards. BG/NBD against
/// MBG/NBD on CDNOW (not nested: compared by AIC) and a nested pair built from one fit.
#[test]
fn information_criteria_and_the_likelihood_ratio_test() {
    let s = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let data = RftData::from_summaries(s.as_slice()).unwrap();
    let (_, bg) = BgNbd::params().fit(&data).unwrap();
    let (_, pnbd) = ParetoNbd::params().fit(&data).unwrap();
    assert!(close(bg.aic(), 8.0 - 2.0 * bg.log_likelihood, 1e-15));
    assert!(close(
        bg.bic(),
        4.0 * 2_357f64.ln() - 2.0 * bg.log_likelihood,
        1e-15
    ));
    // Same number of parameters: no likelihood-ratio test between them.
    assert!(matches!(
        ModelComparison::likelihood_ratio(&bg, &pnbd),
        Err(Error::InvalidParameter { .. })
    ));
    // A 3-parameter restriction 4 log-likelihood units worse: χ²(1) tail at 8.
    let mut smaller: FitReport = bg.clone();
    smaller.parameters.pop();
    smaller.standard_errors.pop();
    smaller.log_likelihood -= 4.0;
    let t = ModelComparison::likelihood_ratio(&smaller, &bg).unwrap();
    assert_eq!(t.degrees_of_freedom, 1);
    assert!(close(t.statistic, 8.0, 1e-12));
    // scipy.stats.chi2.sf(8, 1)
    assert!(
        close(t.p_value, 0.004677734981047177, 1e-12),
        "{}",
        t.p_value
    );
    let mut other_data = smaller.clone();
    other_data.customers += 1.0;
    assert!(ModelComparison::likelihood_ratio(&other_data, &bg).is_err());
}

/// Bad inputs are errors naming the argument; a model in days is refused on weekly data.
#[test]
fn diagnostics_refuse_bad_inputs() {
    let log = cdnow_sample();
    let cfg = cdnow_sample_config();
    let m = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258).unwrap();
    assert!(matches!(
        Tracking::new(&m, &log, &cfg, 0),
        Err(Error::InvalidParameter {
            name: "period_days",
            ..
        })
    ));
    assert!(Tracking::new(&m, &log, &cfg, 10_000).is_err());
    let days = m.with_unit(TimeUnit::Days);
    assert!(matches!(
        Tracking::weekly(&days, &log, &cfg),
        Err(Error::UnitMismatch { .. })
    ));
    let s = log.summarise(&cfg).unwrap();
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(ConditionalExpectations::new(&m, s.as_slice(), bad, 7).is_err());
    }
    assert!(ConditionalExpectations::new(&m, s.as_slice(), 39.0, 0).is_err());
    assert!(ConditionalExpectations::new(&m, &[], 39.0, 7).is_err());
    assert!(FrequencyFit::new(&m, s.as_slice(), 0).is_err());
    assert!(FrequencyFit::new(&days, s.as_slice(), 7).is_err());
    assert!(AliveMatrix::new(&m, 10, f64::NAN).is_err());
    assert!(AliveMatrix::new(&m, 10, -1.0).is_err());
}
