//! Churn scorers: the sBG numbers of Fader & Hardie (2007), the recency rule's boundaries, the
//! one-time-buyer policies, the logistic wrapper's orientation, and the holdout evaluation.

use custseg::churn::metrics::{brier, lift_at, roc_auc};
use custseg::churn::{
    Boundary, ChurnRisk, ChurnScorer, Cohort, Feature, LabelledCustomers, LogisticChurn,
    LogisticChurnParams, ModelChurn, RecencyRule, RiskTier, ShiftedBetaGeometric, TierCuts,
};
use custseg::clv::{BgNbd, MbgNbd, ParetoNbd, RftData};
use custseg::datasets::{SyntheticConfig, cdnow_sample, cdnow_sample_config, synthetic_summaries};
use custseg::{CustomerId, CustomerSummary};
use custseg::{Fit, Score};

const REGULAR: [f64; 13] = [
    100.0, 63.1, 46.8, 38.2, 32.6, 28.9, 26.2, 24.1, 22.3, 20.7, 19.4, 18.3, 17.3,
];
const HIGH_END: [f64; 13] = [
    100.0, 86.9, 74.3, 65.3, 59.3, 55.1, 51.7, 49.1, 46.8, 44.5, 42.7, 40.9, 39.4,
];

/// Years 0–7 of a cohort of 1,000 (the survivors at year 7 censored).
fn cohort(percent: &[f64]) -> Cohort {
    Cohort::new(percent[..8].iter().map(|p| p * 10.0).collect()).unwrap()
}

#[test]
fn sbg_reproduces_fader_hardie_2007() {
    let cases = [
        (
            REGULAR,
            0.704,
            1.182,
            -1680.265,
            0.170,
            [2.9644, 4.1031, 5.8941],
        ),
        (
            HIGH_END,
            0.668,
            3.806,
            -1611.158,
            0.378,
            [5.4145, 5.9014, 6.8967],
        ),
    ];
    for (data, alpha, beta, ll, s12, derl) in cases {
        let c = cohort(&data);
        let (m, rep) = ShiftedBetaGeometric::params().fit(&c).unwrap();
        assert!((m.alpha() - alpha).abs() < 5e-4, "alpha {}", m.alpha());
        assert!((m.beta() - beta).abs() < 5e-4, "beta {}", m.beta());
        assert!(
            (rep.log_likelihood - ll).abs() < 1e-3,
            "LL {}",
            rep.log_likelihood
        );
        assert!(
            (m.survival(12) - s12).abs() < 5e-4,
            "S(12) {}",
            m.survival(12)
        );
        for (renewals, want) in [0u32, 1, 4].into_iter().zip(derl) {
            let got = m.derl(0.1, renewals).unwrap();
            assert!(
                (got - want).abs() < 5e-4,
                "DERL n = {}: {got} vs {want}",
                renewals + 1
            );
        }
        // Retention rises with tenure: the heterogeneity the model captures.
        assert!((1..12).all(|t| m.retention(t + 1) > m.retention(t)));
        assert!((m.churn_risk(0) - (1.0 - m.retention(1))).abs() < 1e-15);
    }
    // The likelihood itself, with no optimizer involved.
    let high = cohort(&HIGH_END);
    let at = |a, b| {
        ShiftedBetaGeometric::new(a, b)
            .unwrap()
            .log_likelihood(&high)
    };
    assert!((at(1.0, 1.0) - -2115.55).abs() < 5e-3, "{}", at(1.0, 1.0));
    assert!(
        (at(0.01, 0.01) - -2741.70).abs() < 5e-3,
        "{}",
        at(0.01, 0.01)
    );
    // Invalid cohorts are errors naming the period.
    let e = Cohort::new(vec![100.0, 80.0, 90.0]).unwrap_err();
    assert_eq!(e.position().and_then(|p| p.row()), Some(2), "{e}");
    assert_eq!(e.kind(), custseg::ErrorKind::Data);
    assert!(Cohort::new(vec![100.0]).is_err());
    assert!(Cohort::new(vec![0.0, 0.0]).is_err());
    assert!(
        ShiftedBetaGeometric::new(1.0, 2.0)
            .unwrap()
            .derl(0.0, 0)
            .is_err()
    );
}

fn summaries() -> Vec<CustomerSummary> {
    cdnow_sample()
        .summarise(&cdnow_sample_config())
        .unwrap()
        .into_vec()
}

#[test]
fn recency_rule_boundaries_and_relative_thresholds() {
    let s = summaries();
    // Customer 1: purchases on days 0, 17 and 213 of a 272-day window: x = 2, 59 days idle,
    // mean gap 213/2 = 106.5 days.
    let c1 = &s[0];
    for (days, exclusive, inclusive) in [(58.0, 1.0, 1.0), (59.0, 0.0, 1.0), (60.0, 0.0, 0.0)] {
        let rule = RecencyRule::fixed(days).unwrap();
        assert_eq!(rule.risk(c1).unwrap().0, exclusive, "{days} days, >");
        assert_eq!(
            rule.with_boundary(Boundary::Inclusive).risk(c1).unwrap().0,
            inclusive,
            "{days} days, ≥"
        );
    }
    // 59 days idle against 0.5 × 106.5 = 53.25: inactive; against 0.6 × 106.5 = 63.9: active.
    assert_eq!(
        RecencyRule::relative(0.5, 30.0)
            .unwrap()
            .risk(c1)
            .unwrap()
            .0,
        1.0
    );
    assert_eq!(
        RecencyRule::relative(0.6, 30.0)
            .unwrap()
            .risk(c1)
            .unwrap()
            .0,
        0.0
    );
    // A one-time buyer is judged by the fallback: customer 3 bought once, 272 days ago.
    let c3 = &s[2];
    assert_eq!(c3.frequency(), 0);
    assert_eq!(
        RecencyRule::relative(2.0, 300.0)
            .unwrap()
            .risk(c3)
            .unwrap()
            .0,
        0.0
    );
    assert_eq!(
        RecencyRule::relative(2.0, 200.0)
            .unwrap()
            .risk(c3)
            .unwrap()
            .0,
        1.0
    );
    assert!(RecencyRule::fixed(0.0).is_err());
    assert!(RecencyRule::relative(1.0, f64::NAN).is_err());
}

#[test]
fn one_time_buyer_policies() {
    let s = summaries();
    let data = RftData::from_summaries(&s).unwrap();
    let (bg, _) = BgNbd::params().fit(&data).unwrap();
    let (mbg, _) = MbgNbd::params().fit(&data).unwrap();
    let as_is = ModelChurn::new(bg);
    let fallback = ModelChurn::new(bg).with_fallback(mbg);
    let blend = ModelChurn::new(bg).with_recency_half_life(180.0).unwrap();
    for c in &s {
        let (r0, _) = as_is.risk(c).unwrap();
        let (r1, _) = fallback.risk(c).unwrap();
        let (r2, _) = blend.risk(c).unwrap();
        if c.frequency() == 0 {
            assert_eq!(r0, 0.0, "BG/NBD: one-time buyers are alive");
            assert!(r1 > 0.0 && r1 < 1.0);
            let days = c.time_since_last_purchase() * 7.0;
            assert!((r2 - (1.0 - 0.5f64.powf(days / 180.0))).abs() < 1e-12);
        } else {
            assert_eq!(r0, r1);
            assert_eq!(r0, r2);
        }
    }
    // Expected remaining lifetime: P(alive) times the posterior mean, where finite.
    let (pn, _) = ParetoNbd::params().fit(&data).unwrap();
    let pareto = ModelChurn::new(pn);
    // CDNOW's s = 0.61 < 1: the mean lifetime is infinite, so none is reported.
    assert!(pareto.risk(&s[0]).unwrap().1.is_none());
    let long_lived = ParetoNbd::new(pn.r(), pn.alpha(), 2.5, pn.beta()).unwrap();
    let scorer = ModelChurn::new(long_lived);
    let (risk, life) = scorer.risk(&s[0]).unwrap();
    let expected = (1.0 - risk) * (long_lived.beta() + s[0].age()) / 1.5;
    assert!((life.unwrap() - expected).abs() < 1e-9);
    assert!(ModelChurn::new(bg).with_recency_half_life(-1.0).is_err());
}

/// Churners in the minority: the wrapper still returns P(churn), not the probability of the
/// majority class that linfa reports.
#[test]
fn logistic_returns_p_churn_whichever_class_is_larger() {
    let s = synthetic_summaries(&SyntheticConfig::new(6_000, 17))
        .unwrap()
        .into_vec();
    let params = LogisticChurnParams::new(Feature::standard()).unwrap();
    let mut rates = Vec::new();
    for threshold in [2.0, 30.0] {
        // Churned: no holdout purchase and a long idle spell — a minority with the higher
        // threshold, a majority with the lower one.
        let churned: Vec<bool> = s
            .iter()
            .map(|c| c.holdout_frequency() == 0 && c.time_since_last_purchase() > threshold)
            .collect();
        let rate = churned.iter().filter(|&&c| c).count() as f64 / s.len() as f64;
        rates.push(rate);
        let (model, _) = params.fit(&LabelledCustomers::new(&s, &churned)).unwrap();
        let p = model.predict(&s, None).unwrap();
        let mean: f64 = p.iter().sum::<f64>() / p.len() as f64;
        assert!(
            (mean - rate).abs() < 0.02,
            "threshold {threshold}: mean P {mean} vs rate {rate}"
        );
        assert!(roc_auc(&churned, &p).unwrap() > 0.85);
        // The idle spell raises the risk.
        let idle = model
            .feature_names()
            .iter()
            .position(|f| f == "TimeSinceLastPurchase")
            .unwrap();
        assert!(model.coefficients()[idle] > 0.0);
    }
    // One setting makes churners the majority, the other the minority.
    assert!(rates[0] > 0.5 && rates[1] < 0.5, "{rates:?}");
    // Extra columns: a pure-noise column gets a small weight; names are checked.
    let noise: ndarray::Array2<f64> =
        ndarray::Array2::from_shape_fn((s.len(), 1), |(i, _)| ((i * 7919) % 101) as f64);
    let churned: Vec<bool> = s.iter().map(|c| c.holdout_frequency() == 0).collect();
    let with_extra = params.clone().with_extra_columns(vec!["noise".into()]);
    let (m, _) = with_extra
        .fit(&LabelledCustomers::new(&s, &churned).with_extra(noise.view()))
        .unwrap();
    assert_eq!(m.feature_names().last().unwrap(), "noise");
    assert!(
        m.risk(&s[0]).is_err(),
        "a model with extra columns needs them"
    );
    assert!(
        params
            .fit(&LabelledCustomers::new(&s, &churned).with_extra(noise.view()))
            .is_err()
    );
    assert!(
        params
            .fit(&LabelledCustomers::new(&s, &vec![false; s.len()]))
            .is_err()
    );
    assert!(
        params
            .fit(&LabelledCustomers::new(&s, &churned[..10]))
            .is_err()
    );
    let json = serde_json::to_string(&m).unwrap();
    assert_eq!(serde_json::from_str::<LogisticChurn>(&json).unwrap(), m);
    assert!(
        serde_json::from_str::<LogisticChurn>(
            &json.replace("\"intercept\":", "\"intercept\":1e999,\"x\":")
        )
        .is_err()
    );
}

/// Holdout evaluation on CDNOW: next-period churners ranked by each back-end. BG/NBD taken as
/// is ranks worse than chance — it calls every one-time buyer alive, and they are the likeliest
/// churners — which is why the scorer has a one-time-buyer policy.
#[test]
fn cdnow_holdout_evaluation() {
    let s = summaries();
    let churned: Vec<bool> = s.iter().map(|c| c.holdout_frequency() == 0).collect();
    let data = RftData::from_summaries(&s).unwrap();
    let (bg, _) = BgNbd::params().fit(&data).unwrap();
    let (mbg, _) = MbgNbd::params().fit(&data).unwrap();
    let (pn, _) = ParetoNbd::params().fit(&data).unwrap();
    let cuts = TierCuts::default();
    let scorers: Vec<(Box<dyn ChurnScorer<Record = CustomerSummary>>, f64)> = vec![
        (Box::new(ModelChurn::new(bg)), 0.0),
        (Box::new(ModelChurn::new(bg).with_fallback(mbg)), 0.7),
        (Box::new(ModelChurn::new(pn)), 0.7),
        (Box::new(RecencyRule::fixed(120.0).unwrap()), 0.6),
    ];
    for (scorer, floor) in &scorers {
        let risks = scorer.score_batch(&s).unwrap();
        let r: Vec<f64> = risks.iter().map(|x| x.risk).collect();
        let auc = roc_auc(&churned, &r).unwrap();
        let b = brier(&churned, &r).unwrap();
        let lift = lift_at(&churned, &r, 0.1).unwrap();
        eprintln!(
            "{}: AUC {auc:.3}, Brier {b:.3}, lift@10% {lift:.2}",
            scorer.name()
        );
        if *floor == 0.0 {
            assert!(auc < 0.5, "{}: AUC {auc}", scorer.name());
        } else {
            assert!(auc > *floor, "{}: AUC {auc}", scorer.name());
            // A probability model is never worse than the base rate given to everyone (the
            // recency rule's 0/1 risks are not probabilities).
            let rate = churned.iter().filter(|&&c| c).count() as f64 / churned.len() as f64;
            if !scorer.name().starts_with("recency") {
                assert!(
                    b <= rate * (1.0 - rate) + 0.01,
                    "{}: Brier {b}",
                    scorer.name()
                );
            }
        }
        assert!(risks.iter().all(|x| x.tier == cuts.tier(x.risk)));
    }
}

#[test]
fn scoring_is_thread_count_invariant_and_serde_validates() {
    let s = synthetic_summaries(&SyntheticConfig::new(20_000, 5))
        .unwrap()
        .into_vec();
    let scorer = ModelChurn::new(ParetoNbd::new(0.8, 6.0, 1.5, 40.0).unwrap());
    let run = |t| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap()
            .install(|| scorer.score_batch(&s).unwrap())
    };
    assert!(run(1) == run(4));
    let risk = ChurnRisk {
        customer_id: CustomerId::from("a"),
        risk: 0.4,
        tier: RiskTier::Medium,
        expected_remaining_lifetime: Some(3.0),
    };
    let json = serde_json::to_string(&risk).unwrap();
    assert_eq!(serde_json::from_str::<ChurnRisk>(&json).unwrap(), risk);
    assert!(serde_json::from_str::<ChurnRisk>(&json.replace("0.4", "1.4")).is_err());
    assert!(
        serde_json::from_str::<TierCuts>(r#"{"medium":0.6,"high":0.5,"critical":0.9}"#).is_err()
    );
    assert!(serde_json::from_str::<Cohort>("[10.0, 12.0]").is_err());
    let json = serde_json::to_string(&scorer).unwrap();
    assert_eq!(
        serde_json::from_str::<ModelChurn<ParetoNbd>>(&json).unwrap(),
        scorer
    );
    assert!(serde_json::from_str::<ModelChurn<ParetoNbd>>(&json.replace("40.0", "-40.0")).is_err());
}

#[test]
fn subscribers_score_through_the_same_contract() {
    use custseg::churn::Subscriber;
    // Fader & Hardie (2007), "regular" customers.
    let sbg = ShiftedBetaGeometric::new(0.704, 1.182).unwrap();
    let subs: Vec<Subscriber> = (0..5)
        .map(|r| Subscriber {
            customer_id: CustomerId::from(format!("s{r}").as_str()),
            renewals: r,
        })
        .collect();
    let cuts = TierCuts::new(0.1, 0.2, 0.3).unwrap();
    let risks = sbg.with_tiers(cuts).score_batch(&subs).unwrap();
    for (s, r) in subs.iter().zip(&risks) {
        assert_eq!(r.customer_id, s.customer_id);
        assert_eq!(r.risk, sbg.churn_risk(s.renewals));
        assert_eq!(r.tier, cuts.tier(r.risk));
        assert_eq!(
            r.expected_remaining_lifetime,
            sbg.expected_residual_lifetime(s.renewals)
        );
    }
    // The risk of not renewing falls with tenure (heterogeneity sorts the cohort).
    assert!(risks.windows(2).all(|w| w[1].risk < w[0].risk));
}

#[test]
fn an_infinite_remaining_lifetime_is_an_error_not_a_silent_null() {
    // β near the largest float and s just above 1: E[lifetime] = (β + T) / (s − 1) overflows.
    let pn = ParetoNbd::new(0.8, 6.0, 1.000_000_000_000_000_2, 1e308).unwrap();
    let s = summaries();
    let e = ModelChurn::new(pn).score(&s[0]).unwrap_err();
    assert!(
        matches!(
            e,
            custseg::Error::Overflow {
                quantity: "expected remaining lifetime",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.position().unwrap().customer(),
        Some(s[0].customer_id().as_str())
    );
}
