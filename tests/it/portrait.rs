//! Customer and segment portraits: the lifecycle rules as documented, every model's answer
//! carried over unchanged, ranks and tiers, tags from the segment profiles, misaligned
//! inputs refused with their row and customer, and the privacy floor on segment portraits.

use custseg::churn::ModelChurn;
use custseg::clv::{BgNbd, CustomerValue, Discounting, GammaGamma, Valuation};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::report::{
    CustomerPortrait, KAnonymity, LifecycleRules, LifecycleStage, Portraits, SegmentLayer,
    SmallGroups, ValueTier, ValueTiers, segment_portraits,
};
use custseg::rfm::{RfmParams, SegmentScheme};
use custseg::segment::{BehavioralRecord, BehavioralSegmenter};
use custseg::{CustomerSummary, Date, Error, Fit, Score, SummaryRecord, TimeUnit};

/// A customer first seen `first` days and last seen `last` days before 2024-01-01, in days.
fn customer(id: &str, first: i64, last: i64) -> CustomerSummary {
    let end = Date::from_ymd(2024, 1, 1).unwrap();
    let repeat = u32::from(last < first);
    CustomerSummary::try_from(SummaryRecord {
        customer_id: id.into(),
        first_purchase: end.add_days(-first).unwrap(),
        last_purchase: end.add_days(-last).unwrap(),
        frequency: repeat,
        recency: (first - last) as f64,
        age: first as f64,
        unit: TimeUnit::Days,
        monetary: if repeat > 0 { 20.0 } else { 0.0 },
        total_spend: 40.0,
        transactions: repeat + 1,
        holdout_frequency: 0,
        holdout_spend: 0.0,
        holdout_transactions: 0,
    })
    .unwrap()
}

fn value(s: &CustomerSummary, clv: f64, p_alive: f64) -> CustomerValue {
    CustomerValue {
        customer_id: s.customer_id().clone(),
        p_alive,
        expected_purchases: 1.0,
        expected_spend: 20.0,
        clv,
    }
}

/// Each documented rule at and just past its window's edge (edges belong to the earlier
/// stage), with and without P(alive).
#[test]
fn lifecycle_stages_follow_the_documented_rules() {
    let cases = [
        // (first, last, P(alive), stage)
        (60, 60, None, LifecycleStage::New),
        (90, 0, None, LifecycleStage::New),
        (91, 0, None, LifecycleStage::Active),
        (400, 90, None, LifecycleStage::Active),
        (400, 91, None, LifecycleStage::AtRisk),
        (400, 180, None, LifecycleStage::AtRisk),
        (400, 181, None, LifecycleStage::Lapsed),
        (400, 365, None, LifecycleStage::Lapsed),
        (400, 366, None, LifecycleStage::Lost),
        // A recent buyer the model gives up on: at risk below 0.5, lost below 0.05.
        (400, 10, Some(0.5), LifecycleStage::Active),
        (400, 10, Some(0.49), LifecycleStage::AtRisk),
        (400, 10, Some(0.04), LifecycleStage::Lost),
        // Lost before new: a P(alive) of 0 outranks a recent first purchase.
        (30, 5, Some(0.0), LifecycleStage::Lost),
        (30, 5, Some(0.3), LifecycleStage::New),
    ];
    // By default P(alive) alone makes no one lost.
    assert_eq!(
        LifecycleRules::default().stage(10.0, 400.0, Some(0.0)),
        LifecycleStage::AtRisk
    );
    let rules = LifecycleRules::default().with_p_alive(0.5, 0.05).unwrap();
    for (i, &(first, last, p, stage)) in cases.iter().enumerate() {
        assert_eq!(
            rules.stage(last as f64, first as f64, p),
            stage,
            "case {i}: {first}/{last}/{p:?}"
        );
        // The same through the portraits, from a summary in days.
        let s = [customer(&format!("c{i}"), first, last)];
        let values: Vec<CustomerValue> = p.map(|p| value(&s[0], 1.0, p)).into_iter().collect();
        let mut portraits = Portraits::new(&s).with_rules(rules);
        if p.is_some() {
            portraits = portraits.with_values(&values);
        }
        let got = portraits.build().unwrap();
        assert_eq!(got[0].lifecycle, stage, "case {i} through the portraits");
        assert_eq!(got[0].days_since_last_purchase, last as f64);
        assert_eq!(got[0].days_since_first_purchase, first as f64);
    }
    // Other windows and cuts; invalid ones refused, also when deserialized.
    let tight = LifecycleRules::new(30.0, 30.0, 60.0, 120.0)
        .unwrap()
        .with_p_alive(0.8, 0.2)
        .unwrap();
    assert_eq!(tight.stage(45.0, 300.0, None), LifecycleStage::AtRisk);
    assert_eq!(tight.stage(10.0, 300.0, Some(0.7)), LifecycleStage::AtRisk);
    assert_eq!(tight.stage(130.0, 300.0, None), LifecycleStage::Lost);
    let json = serde_json::to_string(&tight).unwrap();
    assert_eq!(
        serde_json::from_str::<LifecycleRules>(&json).unwrap(),
        tight
    );
    let broken = json.replace("\"lost_after\":120.0", "\"lost_after\":50.0");
    assert_ne!(broken, json);
    assert!(serde_json::from_str::<LifecycleRules>(&broken).is_err());
    assert!(LifecycleRules::new(f64::NAN, 1.0, 2.0, 3.0).is_err());
    assert!(LifecycleRules::default().with_p_alive(0.2, 0.3).is_err());
    assert!(LifecycleRules::default().with_p_alive(1.5, 0.3).is_err());
    assert!(ValueTiers::new(0.0, 0.1, 0.5).is_err());
    assert!(ValueTiers::new(0.1, 0.2, 1.1).is_err());
}

/// Equal CLVs share the best of their places and therefore a tier; ranks skip after a tie.
#[test]
fn equal_values_share_a_rank_and_a_tier() {
    let s: Vec<CustomerSummary> = (0..10)
        .map(|i| customer(&format!("c{i}"), 400, 10))
        .collect();
    let clvs = [5.0, 9.0, 9.0, 1.0, 7.0, 7.0, 7.0, 0.0, 2.0, 3.0];
    let values: Vec<CustomerValue> = s.iter().zip(clvs).map(|(s, c)| value(s, c, 0.9)).collect();
    let got = Portraits::new(&s)
        .with_values(&values)
        .with_tiers(ValueTiers::new(0.1, 0.2, 0.5).unwrap())
        .build()
        .unwrap();
    let ranks: Vec<usize> = got.iter().map(|p| p.value.as_ref().unwrap().rank).collect();
    assert_eq!(ranks, [6, 1, 1, 9, 3, 3, 3, 10, 8, 7]);
    let tiers: Vec<ValueTier> = got.iter().map(|p| p.value.as_ref().unwrap().tier).collect();
    // Top 10 % is rank 1 (both 9s), 20 % rank 2, 50 % rank 5.
    use ValueTier::*;
    assert_eq!(
        tiers,
        [
            Bronze, Platinum, Platinum, Bronze, Silver, Silver, Silver, Bronze, Bronze, Bronze
        ]
    );
}

/// On CDNOW with every model: each answer is the model's own, ranks count the customers
/// valued higher, tags are the segment's, stages follow the dates, and the stages mean
/// something: the share who bought again in the holdout falls from active to lapsed.
#[test]
fn cdnow_portraits_carry_every_model() {
    let cfg = cdnow_sample_config();
    let summaries = cdnow_sample().summarise(&cfg).unwrap();
    let s = summaries.as_slice();
    let bgnbd = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)
        .unwrap()
        .with_unit(TimeUnit::Weeks);
    let values = Valuation::new(
        bgnbd,
        GammaGamma::new(6.2488, 3.7446, 15.4477).unwrap(),
        Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap(),
    )
    .score_batch(&summaries)
    .unwrap();
    let churn = ModelChurn::new(bgnbd).score_batch(&summaries).unwrap();
    let (rfm, _) = RfmParams::new(5).unwrap().fit(s).unwrap();
    let scores = rfm.score_batch(s).unwrap();
    let scheme = SegmentScheme::rfm_package();
    let records: Vec<BehavioralRecord> = s.iter().map(BehavioralRecord::from_summary).collect();
    let (behavioral, fit) = BehavioralSegmenter::new(4).unwrap().fit(&records).unwrap();
    let portraits = Portraits::new(s)
        .with_values(&values)
        .with_churn(&churn)
        .with_rfm(&scores, &scheme)
        .with_segments(SegmentLayer::from_profiles(
            "behavioral",
            &fit.labels,
            behavioral.profiles(),
        ))
        .build()
        .unwrap();
    assert_eq!(portraits.len(), s.len());
    let rules = LifecycleRules::default();
    let mut per_stage = [(0usize, 0usize); 5];
    for (i, p) in portraits.iter().enumerate() {
        assert_eq!(&p.customer_id, s[i].customer_id());
        let v = p.value.as_ref().unwrap();
        assert_eq!((v.clv, v.p_alive), (values[i].clv, values[i].p_alive));
        let higher = values.iter().filter(|w| w.clv > values[i].clv).count();
        assert_eq!(v.rank, higher + 1);
        assert_eq!(p.churn_tier, Some(churn[i].tier));
        let rfm_p = p.rfm.as_ref().unwrap();
        assert_eq!(rfm_p.cell, scores[i].cell);
        assert_eq!(rfm_p.segment, scheme.segment_name(scores[i].cell).unwrap());
        let seg = fit.labels[i].unwrap();
        assert_eq!(p.segments[0].segment, Some(seg));
        assert_eq!(p.tags, behavioral.profiles()[seg].tags);
        // Days from the dates themselves (CDNOW's purchase period is the day).
        let last = cfg.observation_end.days_since(s[i].last_purchase()) as f64;
        let first = cfg.observation_end.days_since(s[i].first_purchase()) as f64;
        assert!((p.days_since_last_purchase - last).abs() < 1e-9);
        assert!((p.days_since_first_purchase - first).abs() < 1e-9);
        assert_eq!(
            p.lifecycle,
            rules.stage(last, first, Some(values[i].p_alive))
        );
        let k = LifecycleStage::ALL
            .iter()
            .position(|&x| x == p.lifecycle)
            .unwrap();
        per_stage[k].0 += 1;
        per_stage[k].1 += usize::from(s[i].holdout_frequency() > 0);
    }
    // Tiers: the top 5 % of 2,357 is ranks 1..=118.
    let platinum = portraits
        .iter()
        .filter(|p| p.value.as_ref().unwrap().tier == ValueTier::Platinum)
        .count();
    assert!((118..=120).contains(&platinum), "{platinum}");
    let rate = |k: usize| per_stage[k].1 as f64 / per_stage[k].0 as f64;
    let (active, at_risk, lapsed) = (rate(1), rate(2), rate(3));
    assert!(per_stage[1].0 > 100 && per_stage[2].0 > 100 && per_stage[3].0 > 100);
    assert!(
        active > at_risk && at_risk > lapsed,
        "holdout buyers by stage {per_stage:?}"
    );
    // At least one behavioral segment has tags, and every tag is a vocabulary word.
    assert!(behavioral.profiles().iter().any(|p| !p.tags.is_empty()));
    // Serde round trip of a portrait.
    let json = serde_json::to_string(&portraits[0]).unwrap();
    assert_eq!(
        serde_json::from_str::<CustomerPortrait>(&json).unwrap(),
        portraits[0]
    );
}

/// Outputs about other customers, of another length or with labels past the segments are
/// refused with where they went wrong.
#[test]
fn misaligned_outputs_are_refused_with_their_row() {
    let s: Vec<CustomerSummary> = (0..4)
        .map(|i| customer(&format!("c{i}"), 400, 10 * i))
        .collect();
    let mut values: Vec<CustomerValue> = s.iter().map(|c| value(c, 1.0, 0.9)).collect();
    values.swap(2, 3);
    let err = Portraits::new(&s).with_values(&values).build().unwrap_err();
    let at = err.position().unwrap();
    assert_eq!((at.row(), at.customer()), (Some(2), Some("c2")), "{err}");
    let err = Portraits::new(&s)
        .with_values(&values[..3])
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LengthMismatch {
                expected: 4,
                got: 3,
                ..
            }
        ),
        "{err}"
    );
    values.swap(2, 3);
    values[1].clv = f64::NAN;
    let err = Portraits::new(&s).with_values(&values).build().unwrap_err();
    assert_eq!(err.position().unwrap().row(), Some(1), "{err}");
    let labels = [Some(0), None, Some(2), Some(0)];
    let records: Vec<BehavioralRecord> = s.iter().map(BehavioralRecord::from_summary).collect();
    let (model, _) = BehavioralSegmenter::new(2).unwrap().fit(&records).unwrap();
    let err = Portraits::new(&s)
        .with_segments(SegmentLayer::from_profiles(
            "behavioral",
            &labels,
            model.profiles(),
        ))
        .build()
        .unwrap_err();
    let at = err.position().unwrap();
    assert_eq!(
        (at.row(), at.column()),
        (Some(2), Some("behavioral")),
        "{err}"
    );
    // A customer in no segment has no tags and no segment name.
    let ok_labels = [Some(0), None, Some(1), Some(0)];
    let got = Portraits::new(&s)
        .with_segments(SegmentLayer::from_profiles(
            "behavioral",
            &ok_labels,
            model.profiles(),
        ))
        .build()
        .unwrap();
    assert_eq!(got[1].segments[0].name, None);
    assert!(got[1].tags.is_empty());
}

/// Segment portraits: every figure in the text is the profile's, and segments below the
/// floor are left out and counted.
#[test]
fn segment_portraits_describe_each_segment_behind_the_floor() {
    let summaries = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let records: Vec<BehavioralRecord> = summaries
        .iter()
        .map(BehavioralRecord::from_summary)
        .collect();
    let (model, _) = BehavioralSegmenter::new(4).unwrap().fit(&records).unwrap();
    let profiles = model.profiles();
    let all = segment_portraits(
        profiles,
        &KAnonymity::new(1, SmallGroups::Suppress).unwrap(),
    );
    assert_eq!((all.portraits.len(), all.suppressed), (4, 0));
    for (p, profile) in all.portraits.iter().zip(profiles) {
        assert!(
            p.text
                .starts_with(&format!("{}: {} customers", profile.name, profile.size)),
            "{}",
            p.text
        );
        let top = profile.distinguishing(1)[0];
        if top.z.abs() > 0.5 {
            let ratio = top.mean / top.overall_mean;
            let shown = if ratio >= 10.0 {
                format!("{ratio:.0}×")
            } else if ratio >= 1.0 {
                format!("{ratio:.1}×")
            } else {
                format!("{ratio:.2}×")
            };
            assert!(p.text.contains(&shown), "{shown} in {}", p.text);
        }
    }
    // A floor above the smallest segment leaves it out, whatever the small-group policy.
    let smallest = profiles.iter().map(|p| p.size).min().unwrap();
    for small in [SmallGroups::Suppress, SmallGroups::Merge] {
        let guarded = segment_portraits(profiles, &KAnonymity::new(smallest + 1, small).unwrap());
        let below = profiles.iter().filter(|p| p.size <= smallest).count();
        assert_eq!(guarded.suppressed, below);
        assert_eq!(guarded.portraits.len(), 4 - below);
        assert!(guarded.portraits.iter().all(|p| p.customers > smallest));
    }
}
