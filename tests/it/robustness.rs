//! Inputs that once panicked or lost data silently in the segmentation and report APIs:
//! each now has a defined answer (an error naming what was wrong, or a documented result).

use crate::{cluster, fit_strategy};
use custseg::Fit;
use custseg::report::{
    Aggregate, Column, KAnonymity, Migration, Refits, Report, ReportRow, stability,
};
use custseg::segment::{
    BehavioralSegmenter, Clustering, DemographicRecord, DemographicSegmenter, FactorLoadings,
    FeatureContrast, GaussianMixtureParams, GeoMode, GeographicSegmenter, KMeansParams,
    KPrototypesParams, MAX_REGION_DEPTH, MAX_SEGMENTS, Points, PsychographicSegmenter, RuleBands,
    SegmentProfile, Strategy, SurveyItem, adjusted_rand_index, silhouette,
};
use ndarray::{Array1, Array2, Array3, ShapeBuilder, array};

#[test]
fn demographic_bands_without_any_income_are_an_error() {
    let recs = vec![
        DemographicRecord {
            age: Some(30.0),
            ..DemographicRecord::new("a")
        },
        DemographicRecord {
            age: Some(50.0),
            ..DemographicRecord::new("b")
        },
    ];
    let err = DemographicSegmenter::bands().fit(&recs).unwrap_err();
    assert!(err.to_string().contains("income"), "{err}");
}

#[test]
fn segmenters_validate_when_deserialized() {
    let geo = r#"{"mode":{"Regions":{"depth":0,"min_size":5}},"cities":[]}"#;
    assert!(serde_json::from_str::<GeographicSegmenter>(geo).is_err());
    let deep = format!(
        r#"{{"mode":{{"Regions":{{"depth":{},"min_size":5}}}},"cities":[]}}"#,
        MAX_REGION_DEPTH + 1
    );
    assert!(serde_json::from_str::<GeographicSegmenter>(&deep).is_err());
    assert!(
        GeographicSegmenter::new(GeoMode::Regions {
            depth: usize::MAX,
            min_size: 1
        })
        .is_err()
    );
    assert!(
        GeographicSegmenter::new(GeoMode::Density {
            eps_km: 1.0,
            min_points: 1
        })
        .is_err()
    );
    // A valid one round-trips.
    let ok = GeographicSegmenter::new(GeoMode::Regions {
        depth: 2,
        min_size: 5,
    })
    .unwrap();
    let back: GeographicSegmenter =
        serde_json::from_str(&serde_json::to_string(&ok).unwrap()).unwrap();
    assert_eq!(back, ok);

    let behavioral = BehavioralSegmenter::new(3).unwrap();
    let mut v = serde_json::to_value(&behavioral).unwrap();
    assert_eq!(
        serde_json::from_value::<BehavioralSegmenter>(v.clone()).unwrap(),
        behavioral
    );
    v["strategy"] =
        serde_json::to_value(Strategy::KPrototypes(KPrototypesParams::new(3).unwrap())).unwrap();
    assert!(serde_json::from_value::<BehavioralSegmenter>(v).is_err());
    let items = vec![SurveyItem::new("q1"), SurveyItem::reversed("q2")];
    let survey = PsychographicSegmenter::new(items, 1.0, 5.0, 2).unwrap();
    let mut v = serde_json::to_value(&survey).unwrap();
    assert_eq!(
        serde_json::from_value::<PsychographicSegmenter>(v.clone()).unwrap(),
        survey
    );
    v["min_answers"] = serde_json::json!(0);
    assert!(serde_json::from_value::<PsychographicSegmenter>(v.clone()).is_err());
    v["min_answers"] = serde_json::json!(1);
    v["scale"] = serde_json::json!([5.0, 1.0]);
    assert!(serde_json::from_value::<PsychographicSegmenter>(v).is_err());

    let demo = serde_json::to_value(DemographicSegmenter::bands()).unwrap();
    let mut bad = demo.clone();
    bad["mode"]["Bands"]["income"] = serde_json::json!({"Cuts": {"cuts": [10.0], "labels": []}});
    assert!(serde_json::from_value::<DemographicSegmenter>(bad).is_err());
    assert_eq!(
        serde_json::from_value::<DemographicSegmenter>(demo).unwrap(),
        DemographicSegmenter::bands()
    );
}

#[test]
fn mismatched_or_missing_columns_are_errors() {
    let num = array![[0.0], [1.0], [2.0]];
    let cat = Array2::<u32>::zeros((1, 1));
    let bands = RuleBands::new(vec![(0, vec![1.0], vec!["lo".into(), "hi".into()])]).unwrap();
    assert!(fit_strategy(&Strategy::RuleBands(bands.clone()), num.view(), cat.view()).is_err());
    let km = Strategy::KMeans(KMeansParams::new(2).unwrap());
    assert!(
        stability(
            Points::mixed(num.view(), cat.view()),
            &km,
            &Refits::new(0, 2, 1).unwrap()
        )
        .is_err()
    );
    // No numeric column: a numeric strategy has nothing to cluster.
    let none = Array2::<f64>::zeros((5, 0));
    let no_cat = Array2::<u32>::zeros((5, 0));
    for s in [
        km,
        Strategy::LinfaKMeans(KMeansParams::new(2).unwrap().with_n_init(1).unwrap()),
        Strategy::GaussianMixture(GaussianMixtureParams::new(2).unwrap()),
        Strategy::LinfaGaussianMixture(GaussianMixtureParams::new(2).unwrap()),
    ] {
        assert!(
            fit_strategy(&s, none.view(), no_cat.view()).is_err(),
            "{}",
            s.name()
        );
    }
    // RuleBands on a row without the banded column.
    assert!(bands.segment_of(Array1::<f64>::zeros(0).view()).is_err());
    assert_eq!(bands.segment_of(array![5.0].view()).unwrap(), 1);
    // A band without labels cannot be built.
    assert!(RuleBands::new(vec![(0, vec![], vec![])]).is_err());
}

#[test]
fn hand_built_and_corrupt_clusterings_are_errors() {
    let x = array![[0.0], [1.0]];
    let no_cat = Array2::<u32>::zeros((2, 0));
    // Clusterings come from a fit or from JSON, which checks that the parts agree.

    let density = serde_json::json!({"Density": {
        "points": to_json(&array![[0.0], [1.0]]), "labels": [], "eps": 1.0}});
    assert!(serde_json::from_value::<Clustering>(density).is_err());
    let mixture = serde_json::json!({"Mixture": {
        "weights": to_json(&array![0.5, 0.5]), "means": to_json(&array![[0.0]]),
        "precision_chol": to_json(&Array3::<f64>::ones((1, 1, 1)))}});
    assert!(serde_json::from_value::<Clustering>(mixture).is_err());
    // A cluster number no core point could have, and band combinations past the bound.
    let mut v = serde_json::json!({"Density": {
        "points": to_json(&array![[0.0]]), "labels": [0], "eps": 1.0}});
    let good: Clustering = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(
        good.assign_batch(x.view(), no_cat.view()).unwrap(),
        [Some(0), Some(0)]
    );
    v["Density"]["labels"] = serde_json::json!([usize::MAX]);
    let err = serde_json::from_value::<Clustering>(v).unwrap_err();
    assert!(err.to_string().contains("cluster number"), "{err}");
    let many: Vec<(usize, Vec<f64>, Vec<String>)> = (0..21)
        .map(|c| (c, vec![0.0], vec!["a".into(), "b".into()]))
        .collect();
    assert!(2usize.pow(21) > MAX_SEGMENTS);
    assert!(RuleBands::new(many.clone()).is_err());
    let bands = serde_json::json!({"Bands": {"bands": many}});
    assert!(serde_json::from_value::<Clustering>(bands).is_err());
    // Column-major prototypes (swapped in through `&mut`) assign like row-major ones.
    let centers = Array2::from_shape_vec((2, 2).f(), vec![0.0, 10.0, 0.0, 10.0]).unwrap();
    let standard: Clustering = serde_json::from_value(serde_json::json!({"Prototypes": {
        "centers": to_json(&centers.as_standard_layout().into_owned()),
        "modes": to_json(&array![[0u32], [1]]), "gamma": 0.0}}))
    .unwrap();
    let mut column_major = standard.clone();
    if let Clustering::Prototypes { centers: c, .. } = &mut column_major {
        *c = centers;
    }
    let pts = array![[9.0, 9.0], [1.0, 1.0]];
    let cats = array![[0u32], [0]];
    assert_eq!(
        column_major.assign_batch(pts.view(), cats.view()).unwrap(),
        standard.assign_batch(pts.view(), cats.view()).unwrap()
    );
    assert_eq!(
        standard.assign_batch(pts.view(), cats.view()).unwrap(),
        vec![Some(1), Some(0)]
    );
}

#[test]
fn labels_out_of_range_are_errors_not_lost_rows() {
    let x = array![[0.0], [1.0], [5.0], [6.0]];
    assert!(silhouette(x.view(), &[0, 0, 1, usize::MAX]).is_err());
    assert!(silhouette(x.view(), &[0, 0, 1, 1]).is_ok());
    // One point: any two labellings agree.
    assert_eq!(adjusted_rand_index(&[0], &[0]).unwrap(), 1.0);
}

#[test]
fn sparse_category_codes_are_ranked_not_allocated() {
    // Postcodes as numbers: the largest code would size the counters at 4 billion.
    let num = Array2::from_shape_fn((40, 1), |(i, _)| if i < 20 { 0.0 } else { 10.0 });
    let cat = Array2::from_shape_fn(
        (40, 1),
        |(i, _)| {
            if i < 20 { 75_001u32 } else { 4_000_000_000 }
        },
    );
    let fit = cluster(
        &KPrototypesParams::new(2).unwrap(),
        Points::mixed(num.view(), cat.view()),
    )
    .unwrap();
    let mut modes: Vec<u32> = fit.modes_and_gamma().0.column(0).to_vec();
    modes.sort();
    assert_eq!(modes, [75_001, 4_000_000_000]);
    assert_eq!(
        fit.labels[0] == fit.labels[19],
        fit.labels[20] == fit.labels[39]
    );
    assert_ne!(fit.labels[0], fit.labels[39]);
    // kmeans on the same numbers, as a cross-check of the numeric split.
    let km = cluster(&KMeansParams::new(2).unwrap(), Points::numeric(num.view())).unwrap();
    assert_eq!(adjusted_rand_index(&km.labels, &fit.labels).unwrap(), 1.0);
}

#[test]
fn hand_built_reports_and_loadings_print() {
    let two = vec![
        Column::new("a", Aggregate::Sum, 0),
        Column::new("b", Aggregate::Sum, 70_000),
    ];
    let short = Report::new(
        "t",
        two,
        vec![ReportRow {
            label: "x".into(),
            customers: 3,
            values: vec![Some(1.0)],
        }],
    );
    let text = short.to_string();
    assert!(text.lines().nth(2).unwrap().ends_with('–'), "{text}");
    // Saturating counts.
    let huge = Report::new(
        "t",
        vec![],
        vec![
            ReportRow {
                label: "x".into(),
                customers: usize::MAX - 1,
                values: vec![],
            },
            ReportRow {
                label: "y".into(),
                customers: usize::MAX - 1,
                values: vec![],
            },
        ],
    )
    .guarded(&KAnonymity::new(usize::MAX, custseg::report::SmallGroups::Suppress).unwrap());
    assert_eq!(huge.suppressed_rows, 2);
    let m = Migration {
        before: vec!["a".into()],
        after: vec!["a".into()],
        counts: vec![vec![usize::MAX, 1]],
        new_customers: vec![0, 0],
        vanished: vec![0, 0],
    };
    assert!(m.rate(0, 0).is_some());
    // Profiles with different features: each value under its own feature's column.
    let profile = |name: &str, features: &[(&str, f64)]| SegmentProfile {
        segment: 0,
        name: name.into(),
        size: 20,
        share: 0.5,
        features: features
            .iter()
            .map(|(f, m)| FeatureContrast {
                feature: f.to_string(),
                mean: *m,
                overall_mean: 1.0,
                index: None,
                z: 0.0,
            })
            .collect(),
        tags: Vec::new(),
    };
    let ps = [profile("p", &[("a", 1.0)]), profile("q", &[("b", 2.0)])];
    let r = Report::from(&ps[..]);
    assert_eq!(r.columns.len(), 3);
    assert_eq!(r.rows[1].values, vec![Some(50.0), None, Some(2.0)]);
    // Loadings with fewer rows than items print "–".
    let l = FactorLoadings {
        items: vec!["q1".into()],
        factors: vec!["f1".into()],
        loadings: Array2::zeros((0, 1)),
        eigenvalues: vec![],
        communalities: vec![],
        imputed: vec![],
    };
    assert!(l.to_string().contains('–'));
}

mod data_and_scores {
    use custseg::churn::ShiftedBetaGeometric;
    use custseg::clv::{BgNbd, Discounting, GammaGamma, RftData, SpendData, Valuation};
    use custseg::datasets::{cdnow_sample, cdnow_sample_config};
    use custseg::rfm::RfmParams;
    use custseg::{
        CustomerSummary, Date, Error, PurchaseHistories, ReturnPolicy, SummaryConfig,
        TransactionLog,
    };
    use custseg::{Fit, Score};

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn a_return_with_nothing_bought_before_is_an_error_however_small() {
        let r = TransactionLog::from_columns(
            &["a", "b"],
            &[d("2024-01-01"), d("2024-01-02")],
            &[5.0, -1e-10],
            ReturnPolicy::Net,
        );
        assert!(
            matches!(r, Err(Error::ReturnExceedsPurchases { .. })),
            "{r:?}"
        );
    }

    #[test]
    fn overflowing_sums_and_counts_are_errors_or_saturate() {
        // Spend sums that overflow to infinity: an error naming the customer.
        let log = TransactionLog::from_columns(
            &["a", "a", "a", "b"],
            &[
                d("2024-01-01"),
                d("2024-01-05"),
                d("2024-01-09"),
                d("2024-01-02"),
            ],
            &[1e308, 1e308, 1e308, 3.0],
            ReturnPolicy::Error,
        )
        .unwrap();
        let err = log
            .summarise(&SummaryConfig::new(d("2024-02-01")))
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidRecord { at, .. } if at.customer() == Some("a")),
            "{err}"
        );
        // Row counts beyond u32 (a corrupt history) saturate instead of overflowing.
        let json = r#"[["a",[{"date":"2024-01-01","spend":1.0,"transactions":4294967295},
            {"date":"2024-01-02","spend":1.0,"transactions":4294967295}]]]"#;
        let h: PurchaseHistories = serde_json::from_str(json).unwrap();
        let s = h.summarise(&SummaryConfig::new(d("2024-02-01"))).unwrap();
        assert_eq!(s.as_slice()[0].transactions(), u32::MAX);
        // purchase_periods of the largest frequency does not overflow.
        let cal = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
        let mut big = cal.as_slice()[0].clone().into_record();
        big.frequency = u32::MAX;
        big.transactions = u32::MAX;
        // Fewer rows than purchase periods: refused, and counting them did not overflow.
        assert!(CustomerSummary::try_from(big.clone()).is_err());
        big.holdout_frequency = 0;
        let mut fine = cal
            .as_slice()
            .iter()
            .find(|s| s.frequency() > 0)
            .unwrap()
            .clone()
            .into_record();
        fine.frequency = u32::MAX - 1;
        fine.transactions = u32::MAX;
        let fine = CustomerSummary::try_from(fine).unwrap();
        assert_eq!(fine.purchase_periods(), u64::from(u32::MAX));
    }

    #[test]
    fn rfm_params_and_values_are_checked() {
        let mut v = serde_json::to_value(RfmParams::new(5).unwrap()).unwrap();
        v["recency"] = serde_json::json!({"Thresholds": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]});
        assert!(serde_json::from_value::<RfmParams>(v).is_err());
        // An age finite in weeks but infinite in days.
        let cal = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
        let mut customers = cal.as_slice().to_vec();
        let one_time = customers.iter().position(|c| c.frequency() == 0).unwrap();
        let mut old = customers[one_time].clone().into_record();
        old.age = 1e308;
        customers[one_time] = CustomerSummary::try_from(old).unwrap();
        let err = RfmParams::new(4).unwrap().fit(&customers).unwrap_err();
        assert!(err.to_string().contains("days since"), "{err}");
        assert_eq!(err.position().unwrap().row(), Some(one_time), "{err}");
        // Scoring the batch names the same row and customer.
        let (model, _) = RfmParams::new(4).unwrap().fit(cal.as_slice()).unwrap();
        let scored = model.score_batch(&customers).unwrap_err();
        assert_eq!(scored.to_string(), err.to_string());
        assert_eq!(
            scored.position().unwrap().customer(),
            Some(customers[one_time].customer_id().as_str())
        );
    }

    #[test]
    fn extreme_parameters_give_errors_not_nan() {
        let sbg = ShiftedBetaGeometric::new(1e-20, 1e-20).unwrap();
        assert!((sbg.retention(1) - 0.5).abs() < 1e-12);
        assert!(sbg.churn_risk(0).is_finite());
        assert!(ShiftedBetaGeometric::new(1e308, 1e308).is_err());
        // Published-scale parameters keep their retention (β + t − 1)/(α + β + t − 1).
        let fh = ShiftedBetaGeometric::new(0.668, 3.806).unwrap();
        assert!((fh.retention(3) - (3.806 + 2.0) / (0.668 + 3.806 + 2.0)).abs() < 1e-15);

        assert!(Discounting::new(1.0, u32::MAX, 0.01).is_err());
        assert!(Discounting::new(1.0, Discounting::MAX_STEPS, 0.01).is_ok());
        let cal = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
        let customers = cal.as_slice();
        let (bg, _) = BgNbd::params()
            .fit(&RftData::from_summaries(customers).unwrap())
            .unwrap();
        let (gg, _) = GammaGamma::params()
            .fit(&SpendData::from_summaries(customers).unwrap())
            .unwrap();
        // A rate near −1 compounds to infinity within 200 steps.
        let wild = Discounting::new(1.0, 200, -0.999_999_99).unwrap();
        let err = Valuation::new(bg, gg, wild)
            .score_batch(customers)
            .unwrap_err();
        assert!(matches!(err, Error::Overflow { .. }), "{err}");
        assert_eq!(err.kind(), custseg::ErrorKind::Model);
    }
}

#[test]
fn unrealistic_personas_are_errors_not_hangs() {
    use custseg::datasets::{PurchaseProcess, SyntheticConfig, synthetic};
    let mut cfg = SyntheticConfig::new(3, 1);
    for p in &mut cfg.personas {
        p.purchases = PurchaseProcess {
            r: 1e300,
            alpha: 1e-300,
            a: 1e-300,
            b: 1e300,
        };
    }
    assert!(synthetic(&cfg).is_err());
    let mut cfg = SyntheticConfig::new(3, 1);
    for p in &mut cfg.personas {
        p.spend.p = 1e308;
        p.spend.q = 1.0;
        p.spend.gamma = 1.0;
    }
    assert!(synthetic(&cfg).is_err());
}

#[test]
fn absurd_sizes_and_hand_built_scores_are_errors() {
    use custseg::datasets::{BlobsConfig, blobs, cdnow_sample, cdnow_sample_config, mixed_blobs};
    use custseg::rfm::{RfmParams, SegmentScheme};
    use custseg::{Fit, Score};
    assert!(blobs(&BlobsConfig::new(1, usize::MAX, 1)).is_err());
    assert!(mixed_blobs(&BlobsConfig::new(1, 1, 1).with_categorical(1 << 62, 2)).is_err());
    let mut builder = custseg::TransactionLog::builder();
    builder.reserve(usize::MAX);
    let cal = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let mut scores = RfmParams::new(5)
        .unwrap()
        .fit(cal.as_slice())
        .unwrap()
        .0
        .score_batch(cal.as_slice())
        .unwrap();
    let scheme = SegmentScheme::rfm_package();
    assert!(scheme.summarise(&scores).is_ok());
    scores[3].revenue = f64::NAN;
    assert!(scheme.summarise(&scores).is_err());
    scores[3].revenue = 1e308;
    scores[4].revenue = 1e308;
    assert!(scheme.summarise(&scores).is_err());
}

#[test]
fn huge_counts_are_cheap_or_refused() {
    use custseg::clv::{BgBbHistory, BgNbd, TransactionModel};
    let bg = BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap();
    // The tail sum stops once its terms stop counting: u32::MAX costs what 100 does.
    let p = bg.probability_of_purchases_new(39.0, u32::MAX).unwrap();
    assert!((0.0..1e-12).contains(&p), "{p}");
    let p3 = bg.probability_of_purchases_new(39.0, 3).unwrap();
    assert!(p3 > 0.0 && p3 < 1.0);
    assert!(BgBbHistory::new(0, 0, u32::MAX).is_err());
    assert!(BgBbHistory::new(0, 0, BgBbHistory::MAX_OPPORTUNITIES).is_ok());
}

#[test]
fn extreme_model_parameters_are_errors_or_bounded() {
    use custseg::clv::{BgBb, GammaGamma, Lifetime, SimpleCltv};
    let bgbb = BgBb::new(1e-8, 1e-8, 0.2, 1e8).unwrap();
    assert!(bgbb.expected_purchases_new(10).unwrap() >= 0.0);
    let gg = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
    assert!(gg.expected_spend(u32::MAX, 1e308).is_err());
    assert!(gg.expected_spend(3, 40.0).unwrap().is_finite());
    assert!(SimpleCltv::new(1e308, Lifetime::Periods(10.0), 0.0).is_err());
    assert!(SimpleCltv::new(1e308, Lifetime::Periods(1.0), 0.0).is_ok());
}

#[test]
fn cdnow_parse_errors_name_the_line() {
    let err = custseg::datasets::parse_cdnow("\n\n00004 0001 19970101 2 -1.0").unwrap_err();
    assert!(
        matches!(&err, custseg::Error::Parse { at, .. } if at.line() == Some(3)),
        "{err}"
    );
}

/// Any serde value as JSON (to build serialized models by hand).
fn to_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap()
}

/// Every checked parameter set refuses, when read from JSON, what its constructor refuses:
/// an edited configuration file cannot reach an algorithm unchecked.
#[test]
fn edited_parameter_json_is_checked() {
    use custseg::churn::{Feature, LogisticChurnParams};
    use custseg::geo::UrbanicityRule;
    use custseg::segment::{
        DbscanParams, GaussianMixtureParams, KCriterion, KSearch, MiniBatchParams,
    };
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    /// The value round-trips; with `field` set to `bad` it is refused.
    fn refused<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(
        good: T,
        field: &str,
        bad: Value,
    ) {
        let mut v = serde_json::to_value(&good).unwrap();
        assert_eq!(serde_json::from_value::<T>(v.clone()).unwrap(), good);
        v[field] = bad;
        let err = serde_json::from_value::<T>(v.clone());
        assert!(err.is_err(), "{v} was accepted");
    }
    refused(KMeansParams::new(3).unwrap(), "k", json!(0));
    refused(KMeansParams::new(3).unwrap(), "n_init", json!(0));
    refused(KMeansParams::new(3).unwrap(), "tol", json!(-1.0));
    refused(MiniBatchParams::new(3).unwrap(), "batch_size", json!(0));
    refused(KPrototypesParams::new(3).unwrap(), "gamma", json!(-2.0));
    refused(GaussianMixtureParams::new(3).unwrap(), "k", json!(0));
    refused(
        GaussianMixtureParams::new(3).unwrap(),
        "reg_covar",
        json!(-1.0),
    );
    refused(GaussianMixtureParams::new(3).unwrap(), "n_init", json!(0));
    refused(DbscanParams::new(0.5, 4).unwrap(), "eps", json!(0.0));
    refused(DbscanParams::new(0.5, 4).unwrap(), "min_points", json!(1));
    refused(
        RuleBands::new(vec![(0, vec![1.0], vec!["lo".into(), "hi".into()])]).unwrap(),
        "bands",
        json!([[0, [2.0, 1.0], ["a", "b", "c"]]]),
    );
    let search = KSearch::new(2..=5, KCriterion::Silhouette).unwrap();
    refused(search, "ks", json!({"start": 1, "end": 5}));
    refused(Refits::new(2, 2, 0).unwrap(), "seeds", json!(usize::MAX));
    let logistic = LogisticChurnParams::new(Feature::standard()).unwrap();
    refused(logistic.clone(), "l2", json!(-1.0));
    refused(logistic.clone(), "features", json!([]));
    refused(logistic, "max_iterations", json!(0));
    refused(UrbanicityRule::default(), "suburban_factor", json!(0.5));
    let ml = custseg::clv::BgNbd::params().with_l2_penalty(0.01).unwrap();
    refused(ml, "l2_penalty", json!(-0.01));
    refused(ml, "max_iterations", json!(0));
    refused(ml, "gradient_tolerance", json!(0.0));
}
