//! The CLV API's contracts: batches and views, thread-count invariance, penalties,
//! non-convergence, units and serde validation.

use custseg::clv::{
    BgBb, BgNbd, Discounting, GammaGamma, MbgNbd, ParetoNbd, Rft, RftData, SimpleCltv, SpendData,
    TransactionModel, Valuation,
};
use custseg::datasets::{SyntheticConfig, cdnow_sample, cdnow_sample_config, synthetic_summaries};
use custseg::{CustomerSummary, Error, SummaryConfig, TimeUnit};
use custseg::{Fit, Score};
use ndarray::Array1;

fn cdnow_summaries() -> Vec<custseg::CustomerSummary> {
    cdnow_sample()
        .summarise(&cdnow_sample_config())
        .unwrap()
        .into_vec()
}

#[test]
fn batches_views_and_single_calls_agree() {
    let s = cdnow_summaries();
    let (m, _) = BgNbd::params()
        .fit(&RftData::from_summaries(&s).unwrap())
        .unwrap();
    let p = m.p_alive_batch(&s).unwrap();
    let e = m.expected_purchases_batch(&s, 39.0).unwrap();
    let x: Array1<f64> = s.iter().map(|c| c.frequency() as f64).collect();
    let tx: Array1<f64> = s.iter().map(|c| c.recency()).collect();
    let t: Array1<f64> = s.iter().map(|c| c.age()).collect();
    let pv = m.p_alive_view(x.view(), tx.view(), t.view()).unwrap();
    let ev = m
        .expected_purchases_view(x.view(), tx.view(), t.view(), 39.0)
        .unwrap();
    for i in 0..s.len() {
        let c = Rft::from(&s[i]);
        assert_eq!(p[i], m.p_alive(&c).unwrap());
        assert_eq!(pv[i], p[i]);
        assert_eq!(e[i], m.expected_purchases(&c, 39.0).unwrap());
        assert_eq!(ev[i], e[i]);
    }
    // Bad views name the row.
    let mut bad = x.clone();
    bad[7] = 1.5;
    let err = m.p_alive_view(bad.view(), tx.view(), t.view()).unwrap_err();
    assert!(err.to_string().contains("row 7"), "{err}");
    assert!(matches!(
        m.p_alive_view(x.view(), tx.slice(ndarray::s![..5]), t.view()),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(m.expected_purchases_batch(&s, -1.0).is_err());
    assert!(m.expected_purchases_batch(&s, f64::NAN).is_err());
}

#[test]
fn fitting_and_scoring_are_thread_count_invariant() {
    let s = synthetic_summaries(&SyntheticConfig::new(30_000, 6))
        .unwrap()
        .into_vec();
    let run = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let data = RftData::from_summaries(&s).unwrap();
            let (bg, _) = BgNbd::params().fit(&data).unwrap();
            let (pn, _) = ParetoNbd::params().fit(&data).unwrap();
            let (gg, _) = GammaGamma::params()
                .fit(&SpendData::from_summaries(&s).unwrap())
                .unwrap();
            let disc = Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap();
            let values = Valuation::new(pn, gg, disc).score_batch(&s).unwrap();
            (bg, pn, gg, values)
        })
    };
    let one = run(1);
    let four = run(4);
    assert!(one == four, "results differ between 1 and 4 threads");
}

#[test]
fn penalty_shrinks_and_budget_exhaustion_is_an_error() {
    let data = RftData::from_summaries(&cdnow_summaries()).unwrap();
    let (plain, _) = BgNbd::params().fit(&data).unwrap();
    let (pen, rep) = BgNbd::params()
        .with_l2_penalty(0.1)
        .unwrap()
        .fit(&data)
        .unwrap();
    let norm = |m: &BgNbd| m.r().powi(2) + m.alpha().powi(2) + m.a().powi(2) + m.b().powi(2);
    assert!(norm(&pen) < norm(&plain));
    assert!(rep.log_likelihood < plain.total_log_likelihood(&data));
    let starved = ParetoNbd::params().with_max_iterations(1).unwrap();
    match starved.fit(&data) {
        Err(Error::NotConverged {
            model,
            gradient_norm,
            ..
        }) => {
            assert_eq!(model, "Pareto/NBD");
            assert!(gradient_norm > starved.gradient_tolerance());
        }
        other => panic!("expected NotConverged, got {other:?}"),
    }
}

#[test]
fn units_are_checked_and_data_is_validated() {
    let weeks = cdnow_summaries();
    let (m, _) = BgNbd::params()
        .fit(&RftData::from_summaries(&weeks).unwrap())
        .unwrap();
    assert_eq!(m.unit(), Some(TimeUnit::Weeks));
    let days = cdnow_sample()
        .summarise(&SummaryConfig::new("1997-09-30".parse().unwrap()).with_unit(TimeUnit::Days))
        .unwrap()
        .into_vec();
    assert!(matches!(
        m.p_alive_batch(&days),
        Err(Error::UnitMismatch { .. })
    ));
    // One customer's value, as the batch of one: the unit is checked.
    let valuation = custseg::clv::Valuation::new(
        m,
        GammaGamma::new(6.2488, 3.7446, 15.4477).unwrap(),
        custseg::clv::Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap(),
    );
    assert!(matches!(
        valuation.score(&days[0]),
        Err(Error::UnitMismatch { .. })
    ));
    assert_eq!(
        valuation.score(&weeks[0]).unwrap(),
        valuation.score_batch(&weeks[..1]).unwrap()[0]
    );
    let mut mixed = weeks.clone();
    mixed[3] = days[3].clone();
    assert!(matches!(
        RftData::from_summaries(&mixed),
        Err(Error::UnitMismatch { .. })
    ));
    // A corrupt summary cannot be built, so no model ever sees one.
    let mut corrupt = weeks[9].clone().into_record();
    corrupt.recency = corrupt.age + 1.0;
    let e = CustomerSummary::try_from(corrupt.clone()).unwrap_err();
    assert_eq!(
        e.position().unwrap().customer(),
        Some(corrupt.customer_id.as_str())
    );
    assert!(matches!(
        RftData::from_summaries(&[]),
        Err(Error::EmptyInput { .. })
    ));
    assert!(RftData::from_weighted(vec![(Rft::new(0, 0.0, 1.0).unwrap(), 0.0)]).is_err());
    // Zero-spend repeaters are left out of the spend model and counted.
    let mut spend = weeks.clone();
    let i = spend.iter().position(|c| c.frequency() > 0).unwrap();
    let mut zero = spend[i].clone().into_record();
    zero.monetary = 0.0;
    spend[i] = CustomerSummary::try_from(zero.clone()).unwrap();
    let d = SpendData::from_summaries(&spend).unwrap();
    assert_eq!(d.excluded_zero_spend(), 1);
    zero.monetary = f64::NAN;
    assert!(CustomerSummary::try_from(zero).is_err());
}

#[test]
fn models_round_trip_through_serde_and_reject_corruption() {
    let bg = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)
        .unwrap()
        .with_unit(TimeUnit::Weeks);
    let json = serde_json::to_string(&bg).unwrap();
    assert_eq!(serde_json::from_str::<BgNbd>(&json).unwrap(), bg);
    assert!(serde_json::from_str::<BgNbd>(&json.replace("0.2426", "-0.2426")).is_err());
    let pn = ParetoNbd::new(0.5533, 10.5776, 0.6062, 11.668).unwrap();
    let json = serde_json::to_string(&pn).unwrap();
    assert_eq!(serde_json::from_str::<ParetoNbd>(&json).unwrap(), pn);
    assert!(serde_json::from_str::<ParetoNbd>(&json.replace("10.5776", "0.0")).is_err());
    let mbg = MbgNbd::new(0.5, 6.0, 0.9, 1.6).unwrap();
    assert_eq!(
        serde_json::from_str::<MbgNbd>(&serde_json::to_string(&mbg).unwrap()).unwrap(),
        mbg
    );
    let gg = GammaGamma::new(6.2, 3.7, 15.4).unwrap();
    assert_eq!(
        serde_json::from_str::<GammaGamma>(&serde_json::to_string(&gg).unwrap()).unwrap(),
        gg
    );
    assert!(serde_json::from_str::<GammaGamma>(r#"{"p":1,"q":-1,"gamma":1}"#).is_err());
    let bb = BgBb::new(1.2, 0.75, 0.66, 2.78).unwrap();
    assert_eq!(
        serde_json::from_str::<BgBb>(&serde_json::to_string(&bb).unwrap()).unwrap(),
        bb
    );
    assert!(serde_json::from_str::<Rft>(r#"{"x":0,"t_x":3.0,"big_t":5.0}"#).is_err());
    assert!(serde_json::from_str::<Discounting>(r#"{"step":0.0,"steps":3,"rate":0.01}"#).is_err());
    assert!(serde_json::from_str::<SimpleCltv>(
        r#"{"arpu":100.0,"lifetime":{"ChurnRate":0.0},"cac":1.0,"margin":1.0,"discount_rate":0.0}"#
    )
    .is_err());
}
