//! The reproductions of the hostile-input sweep (issue 14), one per class: each must be an
//! answer or a typed error, never an abort, a panic, a hang or a NaN inside `Ok`.

use crate::fit_strategy;
use custseg::report::{Refits, stability};
use custseg::segment::{
    Clustering, DbscanParams, GaussianMixtureParams, KCriterion, KMeansParams, KSearch,
    MAX_COORDINATE, Points, Strategy, choose_k,
};
use custseg::{CustomerSummary, Date, Fit, Score, SummaryRecord, TimeUnit};
use ndarray::{Array2, ShapeBuilder, array};

fn no_cat(n: usize) -> Array2<u32> {
    Array2::zeros((n, 0))
}

/// A1, A5: coordinates whose squared distances overflow sent linfa's k-d tree into endless
/// recursion (a stack overflow) and its k-means++ into a panic; every distance-based
/// strategy now refuses them, naming the row and column, directly and through `choose_k`
/// and `stability`.
#[test]
fn coordinates_beyond_the_bound_are_refused_not_aborted() {
    let huge = Array2::from_shape_fn((17, 1), |(i, _)| if i % 2 == 0 { 1e308 } else { -1e308 });
    let strategies = [
        Strategy::Dbscan(DbscanParams::new(1.0, 2).unwrap()),
        Strategy::LinfaDbscan(DbscanParams::new(1.0, 2).unwrap()),
        Strategy::GaussianMixture(GaussianMixtureParams::new(2).unwrap()),
        Strategy::LinfaGaussianMixture(GaussianMixtureParams::new(2).unwrap()),
        Strategy::LinfaKMeans(KMeansParams::new(2).unwrap()),
        Strategy::KMeans(KMeansParams::new(2).unwrap()),
    ];
    for s in &strategies {
        let e = fit_strategy(s, huge.view(), no_cat(17).view()).unwrap_err();
        assert_eq!(
            e.position().and_then(|p| p.row()),
            Some(0),
            "{}: {e}",
            s.name()
        );
    }
    let spread = array![[0.0], [1e200], [1.0]];
    for s in &strategies {
        assert!(fit_strategy(s, spread.view(), no_cat(3).view()).is_err());
    }
    // At the bound itself the fit works.
    let edge = array![[0.0], [MAX_COORDINATE], [1.0], [-MAX_COORDINATE]];
    let (c, _) = fit_strategy(&strategies[3], edge.view(), no_cat(4).view()).unwrap();
    assert_eq!(c.segments(), 2);
    let search = KSearch::new(2..=3, KCriterion::Silhouette).unwrap();
    assert!(choose_k(huge.view(), KMeansParams::new, &search).is_err());
    let dbscan = DbscanParams::new(1.0, 2).unwrap();
    let refits = Refits::new(1, 1, 0).unwrap();
    assert!(stability(Points::numeric(huge.view()), &dbscan, &refits).is_err());
}

/// A2: a DBSCAN clustering edited to hold such points is refused when loaded, and queries
/// beyond the bound are refused when assigned.
#[test]
fn loaded_and_queried_points_beyond_the_bound_are_refused() {
    let x = Array2::from_shape_fn((80, 1), |(i, _)| (i % 40) as f64 * 0.01);
    let (c, _) = fit_strategy(
        &Strategy::Dbscan(DbscanParams::new(0.05, 3).unwrap()),
        x.view(),
        no_cat(80).view(),
    )
    .unwrap();
    let mut v = serde_json::to_value(&c).unwrap();
    v["Density"]["points"]["data"][0] = serde_json::json!(1e308);
    assert!(serde_json::from_value::<Clustering>(v).is_err());
    let far = array![[1e300]];
    assert!(c.assign_batch(far.view(), no_cat(1).view()).is_err());
    assert!(c.assign(far.row(0), no_cat(1).row(0)).is_err());
}

/// A3, A4: column-major (Fortran-order) views made linfa-nn panic ("views should be
/// contiguous") in the DBSCAN fit and in assigning a batch to a model with more than 64 core
/// points; they now give what the row-major layout gives.
#[test]
fn column_major_views_cluster_like_row_major_ones() {
    let n = 200;
    let values: Vec<f64> = (0..2 * n)
        .map(|i| ((i * 37) % 101) as f64 * 0.01 + if i % 2 == 0 { 0.0 } else { 5.0 })
        .collect();
    let fortran = Array2::from_shape_vec((n, 2).f(), values).unwrap();
    let standard = fortran.as_standard_layout().into_owned();
    for dbscan in [
        Strategy::Dbscan(DbscanParams::new(0.3, 4).unwrap()),
        Strategy::LinfaDbscan(DbscanParams::new(0.3, 4).unwrap()),
    ] {
        let (c, labels) = fit_strategy(&dbscan, fortran.view(), no_cat(n).view()).unwrap();
        let (c2, labels2) = fit_strategy(&dbscan, standard.view(), no_cat(n).view()).unwrap();
        assert_eq!((&c, &labels), (&c2, &labels2));
        let Clustering::Density { points, .. } = &c else {
            panic!("DBSCAN gives a density clustering")
        };
        assert!(
            points.nrows() > 64,
            "the k-d tree path: {} core points",
            points.nrows()
        );
        assert_eq!(
            c.assign_batch(fortran.view(), no_cat(n).view()).unwrap(),
            c.assign_batch(standard.view(), no_cat(n).view()).unwrap()
        );
    }
}

/// W3: a point exactly between two clusters went to one cluster when assigned alone and to
/// the other in a batch (the k-d tree returned either tie); both now take the lowest segment
/// among the core points within eps (scikit-learn's rule for border points).
#[test]
fn dbscan_ties_agree_one_by_one_and_in_a_batch() {
    let x = Array2::from_shape_fn((80, 1), |(i, _)| if i < 40 { 0.0 } else { 2.0 });
    let (c, _) = fit_strategy(
        &Strategy::Dbscan(DbscanParams::new(1.0, 5).unwrap()),
        x.view(),
        no_cat(80).view(),
    )
    .unwrap();
    let queries = Array2::from_shape_fn((70, 1), |(i, _)| if i % 2 == 0 { 1.0 } else { 1.5 });
    let batch = c.assign_batch(queries.view(), no_cat(70).view()).unwrap();
    let single: Vec<Option<usize>> = (0..70)
        .map(|i| c.assign(queries.row(i), no_cat(1).row(0)).unwrap())
        .collect();
    assert_eq!(batch, single);
    assert_eq!(batch[0], Some(0));
}

/// A7, H5: edited settings with counts at the integer limits are refused when read, before
/// any work or arithmetic on them.
#[test]
fn counts_at_the_integer_limits_are_refused() {
    let mut v = serde_json::to_value(KMeansParams::new(3).unwrap()).unwrap();
    v["n_init"] = serde_json::json!(usize::MAX);
    assert!(serde_json::from_value::<KMeansParams>(v).is_err());
    let strategy = serde_json::json!({"KMeans": {"k": 3, "n_init": usize::MAX, "max_iter": 300,
        "tol": 1e-4, "seed": 0}});
    assert!(serde_json::from_value::<Strategy>(strategy).is_err());
    let bands = serde_json::json!({"Bands": {"bands": [[usize::MAX, [1.0], ["a", "b"]]]}});
    assert!(serde_json::from_value::<Clustering>(bands).is_err());
    let many: Vec<(usize, Vec<f64>, Vec<String>)> = (0..65)
        .map(|c| (c, vec![0.0], vec!["a".into(), "b".into()]))
        .collect();
    assert!(custseg::segment::RuleBands::new(many).is_err());
    let day: Date = "2024-01-01".parse().unwrap();
    assert!(day.add_days(i64::MAX).is_err());
    assert!(day.add_days(i64::MIN).is_err());
}

/// N3: a fit must never produce what loading rejects. Values near f64::MAX overflowed the
/// plain means and spreads into infinities that JSON writes as null; the statistics now fall
/// back to scaled forms, and what cannot be represented at all is an error naming the column.
#[test]
fn fits_on_extreme_values_reload_or_refuse() {
    use custseg::churn::{Feature, LabelledCustomers, LogisticChurn, LogisticChurnParams};
    use custseg::segment::{
        BehavioralModel, BehavioralRecord, BehavioralSegmenter, DemographicField, DemographicModel,
        DemographicRecord, DemographicSegmenter, PsychographicModel, PsychographicSegmenter,
        SurveyItem, SurveyResponse,
    };
    use serde::{Serialize, de::DeserializeOwned};

    /// `Ok` fits reload from their own JSON; errors name a column.
    fn reloads<M: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug, R>(
        what: &str,
        fit: custseg::Result<(M, R)>,
    ) -> bool {
        match fit {
            Ok((m, _)) => {
                let json = serde_json::to_string(&m).unwrap();
                let back: M = serde_json::from_str(&json)
                    .unwrap_or_else(|e| panic!("{what}: the fitted model does not reload: {e}"));
                assert_eq!(back, m, "{what}");
                true
            }
            Err(e) => {
                assert!(e.position().is_some(), "{what}: {e}");
                false
            }
        }
    }
    let mut records: Vec<BehavioralRecord> = (0..10)
        .map(|i| BehavioralRecord {
            customer_id: format!("c{i}").into(),
            recency_days: i as f64,
            frequency: 1.0 + i as f64,
            monetary: 10.0 * i as f64,
            average_order_value: 5.0,
            cadence_days: Some(3.0),
            tenure_days: 100.0,
            engagement: vec![],
        })
        .collect();
    records[0].recency_days = 1e308;
    records[1].recency_days = 1e308;
    let seg = BehavioralSegmenter::new(2).unwrap();
    assert!(reloads::<BehavioralModel, _>(
        "behavioral",
        seg.fit(&records)
    ));

    let mut people: Vec<DemographicRecord> = (0..10)
        .map(|i| DemographicRecord {
            age: Some(20.0 + i as f64),
            income: Some(1000.0 * i as f64),
            gender: Some(if i % 2 == 0 { "f" } else { "m" }.into()),
            ..DemographicRecord::new(format!("d{i}"))
        })
        .collect();
    people[0].age = Some(1e308);
    people[1].age = Some(1e308);
    let fields = [
        DemographicField::Age,
        DemographicField::Income,
        DemographicField::Gender,
    ];
    for seg in [
        DemographicSegmenter::bands(),
        DemographicSegmenter::kprototypes(2).unwrap(),
    ] {
        let seg = seg.with_fields(&fields).unwrap();
        reloads::<DemographicModel, _>("demographic", seg.fit(&people));
    }

    let items: Vec<SurveyItem> = ["a", "b", "c"].map(SurveyItem::new).into();
    let responses: Vec<SurveyResponse> = (0..30)
        .map(|i| SurveyResponse {
            customer_id: format!("s{i}").into(),
            answers: (0..3)
                .map(|j| Some(((i * 7 + j * 3) % 11) as f64 * 9e306))
                .collect(),
            tags: vec![],
        })
        .collect();
    let seg = PsychographicSegmenter::new(items, 0.0, 1e308, 2)
        .unwrap()
        .with_factors(custseg::segment::FactorCount::Fixed(1))
        .unwrap();
    reloads::<PsychographicModel, _>("psychographic", seg.fit(&responses));

    let summaries = custseg::datasets::cdnow_sample()
        .summarise(&custseg::datasets::cdnow_sample_config())
        .unwrap()
        .into_vec();
    let churned: Vec<bool> = (0..summaries.len()).map(|i| i % 3 == 0).collect();
    let extra = Array2::from_shape_fn(
        (summaries.len(), 1),
        |(i, _)| {
            if i < 2 { 1e300 } else { i as f64 }
        },
    );
    let params = LogisticChurnParams::new(Feature::standard())
        .unwrap()
        .with_extra_columns(vec!["age".into()]);
    let data = LabelledCustomers::new(&summaries, &churned).with_extra(extra.view());
    let fit = params.fit(&data);
    if let Ok((_, report)) = &fit {
        assert!(report.log_likelihood.is_finite(), "{report:?}");
    }
    assert!(reloads::<LogisticChurn, _>("logistic", fit));
}

/// H1: P(X(t) = n) with t = 1e9 and n = u32::MAX walked a billion-term negative binomial
/// bulk (over 90 s); the tail is now an incomplete beta function, and the answer is a
/// probability.
#[test]
fn purchase_probabilities_at_huge_horizons_return_at_once() {
    use custseg::clv::{BgNbd, MbgNbd, TransactionModel};
    let bg = BgNbd::new(1.0, 5.18e-6, 0.0909, 1.399).unwrap();
    let mbg = MbgNbd::new(1.0, 5.18e-6, 0.0909, 1.399).unwrap();
    for (t, n) in [(1e9, u32::MAX), (1e9, 1_000_000), (1e12, 0)] {
        for p in [
            bg.probability_of_purchases_new(t, n),
            mbg.probability_of_purchases_new(t, n),
        ] {
            let p = p.unwrap();
            assert!((0.0..=1.0).contains(&p), "P(X({t}) = {n}) = {p}");
        }
    }
}

/// H3: a CLV over the documented maximum horizon (10,000 monthly steps) for a customer with a
/// huge purchase rate and a small dropout shape took 33 s (BG/NBD) and 80 s (MBG/NBD): past
/// u = t/(α + T) ≈ 99 every step was a quadrature, and one that missed the mass near p = 0
/// (5e-4 of the answer at a = 0.09). Far horizons now take the connection formula of 2F1; the
/// values are mpmath's, every one of the 10,000 terms summed at 30 digits
/// (benches/peers/long_clv_reference.py).
#[test]
#[allow(clippy::excessive_precision)] // mpmath's 17 digits, as printed
fn clv_over_the_longest_horizon_matches_mpmath() {
    use custseg::clv::{BgNbd, Discounting, GammaGamma, MbgNbd, TransactionModel, Valuation};
    fn check<M: TransactionModel>(model: M, want: (f64, f64, f64)) {
        let (p_alive, discounted, total) = want;
        let record = SummaryRecord {
            customer_id: "heavy".into(),
            first_purchase: Date::from_ymd(2020, 1, 1).unwrap(),
            last_purchase: Date::from_ymd(2020, 1, 5).unwrap(),
            frequency: 20,
            recency: 0.53,
            age: 2.0,
            unit: TimeUnit::Weeks,
            monetary: 30.0,
            total_spend: 630.0,
            transactions: 21,
            holdout_frequency: 0,
            holdout_spend: 0.0,
            holdout_transactions: 0,
        };
        let customer = CustomerSummary::try_from(record).unwrap();
        let spend = GammaGamma::new(6.25, 3.74, 15.44).unwrap();
        let longest = Discounting::new(4.345, 10_000, 0.01).unwrap();
        let v = Valuation::new(model, spend, longest)
            .score(&customer)
            .unwrap();
        let close = |got: f64, want: f64| (got - want).abs() <= 1e-12 * want;
        assert!(close(v.p_alive, p_alive), "{} vs {p_alive}", v.p_alive);
        assert!(
            close(v.clv / v.expected_spend, p_alive * discounted),
            "{v:?}"
        );
        assert!(close(v.expected_purchases, p_alive * total), "{v:?}");
    }
    let (r, alpha, a, b) = (1.0, 5.18e-6, 0.0909, 1.399);
    #[rustfmt::skip]
    check(BgNbd::new(r, alpha, a, b).unwrap(), (1.7348976651603313e-10, 2952.0515178164786, 202002.2743474199));
    #[rustfmt::skip]
    check(MbgNbd::new(r, alpha, a, b).unwrap(), (1.819945837367037e-10, 2964.2416255894671, 202859.75391120854));
}

/// H2: BG/BB fits on a million opportunities took minutes (four log-gammas per dropout
/// term, per history, per evaluation). The terms now follow from each other by a ratio, a
/// history holds at most 10,000 opportunities and a fit at most a million dropout terms.
#[test]
fn bgbb_fits_are_bounded() {
    use custseg::clv::{BgBb, BgBbHistory};
    assert!(BgBbHistory::new(1, 1, 1_000_000).is_err());
    let data = [
        (BgBbHistory::new(1, 1, 10_000).unwrap(), 1.0),
        (BgBbHistory::new(3, 9_000, 10_000).unwrap(), 1.0),
    ];
    // Two customers cannot pin four parameters down: converged or not, the answer is quick
    // and typed.
    match BgBb::params().fit(&data[..]) {
        Ok((m, report)) => assert!(report.log_likelihood.is_finite(), "{m:?}"),
        Err(e) => assert_eq!(e.kind(), custseg::ErrorKind::Model, "{e}"),
    }
    let many = vec![(BgBbHistory::new(1, 1, 10_000).unwrap(), 1.0); 101];
    let e = BgBb::params().fit(&many[..]).unwrap_err();
    assert_eq!(e.position().and_then(|p| p.column()), Some("n"), "{e}");
}

/// W5: merging two partitions whose rows on one day pass u32::MAX saturated the count
/// silently; it is an error naming the customer and column, and the history is unchanged.
#[test]
fn merges_are_exact_or_errors() {
    use custseg::{CustomerHistory, PurchaseDay, PurchaseHistories};
    let day = |transactions: u32, spend: f64| PurchaseDay {
        date: "2024-01-01".parse().unwrap(),
        spend,
        transactions,
    };
    let mut a = CustomerHistory::from_days(vec![day(u32::MAX, 1.0)]).unwrap();
    let before = a.clone();
    let e = a
        .merge(&CustomerHistory::from_days(vec![day(1, 1.0)]).unwrap())
        .unwrap_err();
    assert_eq!(
        e.position().and_then(|p| p.column()),
        Some("transactions"),
        "{e}"
    );
    assert_eq!(a, before);
    let big = CustomerHistory::from_days(vec![day(1, f64::MAX)]).unwrap();
    let mut b = CustomerHistory::from_days(vec![day(1, f64::MAX)]).unwrap();
    let e = b.merge(&big).unwrap_err();
    assert_eq!(e.position().and_then(|p| p.column()), Some("spend"), "{e}");
    let json = r#"[["ann",[{"date":"2024-01-01","spend":1.0,"transactions":4294967295}]]]"#;
    let mut h: PurchaseHistories = serde_json::from_str(json).unwrap();
    let other: PurchaseHistories = serde_json::from_str(json).unwrap();
    let e = h.merge(other).unwrap_err();
    assert_eq!(e.position().and_then(|p| p.customer()), Some("ann"), "{e}");
}

/// N4: validity indices returned NaN for a NaN row or for coordinates whose squares
/// overflow, and Davies-Bouldin infinity for coincident centroids. The coordinates are
/// refused as the strategies refuse them, naming row and column; coincident centroids and
/// zero dispersion follow scikit-learn's conventions (0 and 1).
#[test]
fn validity_indices_are_finite_or_errors() {
    use custseg::segment::{calinski_harabasz, davies_bouldin, silhouette};
    let nan = array![[0.0], [f64::NAN], [1.0], [2.0]];
    let e = silhouette(nan.view(), &[0, 0, 1, 1]).unwrap_err();
    assert_eq!(e.position().and_then(|p| p.row()), Some(1));
    let huge = array![[-1e308], [-1e308], [-1e308], [1.0]];
    for index in [silhouette, calinski_harabasz, davies_bouldin] {
        assert!(index(huge.view(), &[0, 0, 1, 1]).is_err());
    }
    let same = array![[0.0], [0.0], [0.0], [0.0]];
    assert_eq!(davies_bouldin(same.view(), &[0, 0, 1, 1]).unwrap(), 0.0);
    assert_eq!(calinski_harabasz(same.view(), &[0, 0, 1, 1]).unwrap(), 1.0);
    assert_eq!(silhouette(same.view(), &[0, 0, 1, 1]).unwrap(), 0.0);
}

/// N1: single-customer functions at valid extreme parameters returned Ok(inf) or Ok(NaN)
/// where the batch forms gave typed errors; they now give the same kind of error.
#[test]
fn single_customer_functions_agree_with_the_batch_forms() {
    use custseg::ErrorKind;
    use custseg::churn::ShiftedBetaGeometric;
    use custseg::clv::{BgNbd, GammaGamma, TransactionModel};
    let gg = GammaGamma::new(1e200, 2.0, 1e200).unwrap();
    for r in [
        gg.population_mean_spend(),
        gg.expected_spend(0, 1.0),
        gg.expected_spend(1, 1.0),
    ] {
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Model);
    }
    let sbg = ShiftedBetaGeometric::new(1e-150, 5e-324).unwrap();
    match sbg.derl(0.01, 0) {
        Ok(v) => assert!(v.is_finite()),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Model, "{e}"),
    }
    let bg = BgNbd::new(1e308, 2.0, 105.17, 0.5).unwrap();
    match bg.probability_of_purchases_new(95.28, 2) {
        Ok(p) => assert!((0.0..=1.0).contains(&p)),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Model, "{e}"),
    }
}

/// N4: KPIs over revenues near f64::MAX summed to infinity inside Ok.
#[test]
fn kpis_over_huge_revenues_are_finite_or_errors() {
    use custseg::report::{CustomerMetrics, segment_kpis};
    let values: Vec<CustomerMetrics> = (0..4)
        .map(|_| CustomerMetrics {
            revenue: 1e308,
            clv: Some(1e308),
            churn_risk: Some(0.5),
            expected_purchases: Some(1.0),
        })
        .collect();
    let labels = [Some(0), Some(0), Some(1), Some(1)];
    let names = vec!["a".to_string(), "b".to_string()];
    match segment_kpis(&labels, &names, &values, None) {
        Ok(kpis) => {
            let text = format!("{kpis:?}");
            assert!(!text.contains("inf") && !text.contains("NaN"), "{text}");
        }
        Err(e) => assert!(e.position().is_some(), "{e}"),
    }
}

/// N1: single-customer P(alive) returned NaN at valid extreme parameters (Pareto/NBD with
/// r = 1e308) where the batch form reported Overflow; both now give the error.
#[test]
fn single_p_alive_agrees_with_the_batch() {
    use custseg::ErrorKind;
    use custseg::clv::{ParetoNbd, Rft, TransactionModel};
    let m = ParetoNbd::new(1e308, 2.0, 0.5, 3.0).unwrap();
    for c in [
        Rft::new(0, 0.0, 10.0).unwrap(),
        Rft::new(4, 7.5, 10.0).unwrap(),
    ] {
        match m.p_alive(&c) {
            Ok(p) => assert!((0.0..=1.0).contains(&p)),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Model, "{e}"),
        }
        match m.expected_purchases(&c, 52.0) {
            Ok(e) => assert!(e.is_finite()),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Model, "{e}"),
        }
    }
}

/// Sweep of 2026-12-05, S1: P(churn in period 1) of an sBG cohort with β below ~1e-16 was ∞
/// (β + 1 − 1 rounded to 0, and ln B(α + 1, 0) = ∞); it is α/(α + β), and every period's
/// probability is S(t − 1) − S(t).
#[test]
fn churn_probabilities_at_tiny_shapes_are_probabilities() {
    use custseg::churn::ShiftedBetaGeometric;
    for (a, b, first) in [
        (1.0, 1e-17, 1.0),
        (5e-324, 5e-324, 0.5),
        (1e15, 5e-324, 1.0),
    ] {
        let m = ShiftedBetaGeometric::new(a, b).unwrap();
        assert_eq!(m.churn_probability(1), first, "{a} {b}");
        for t in 2..6 {
            let p = m.churn_probability(t);
            assert!((0.0..=1.0).contains(&p), "{a} {b} {t}: {p}");
        }
    }
    // Published-scale shapes (Fader & Hardie's "regular" cohort): the same as the survival's
    // differences, period 1 included.
    let m = ShiftedBetaGeometric::new(0.704, 1.182).unwrap();
    for t in 1..8 {
        let want = m.survival(t - 1) - m.survival(t);
        assert!((m.churn_probability(t) - want).abs() < 1e-14, "{t}");
    }
}

/// S2: a discounting step of 5e-324 (or 1e-300 against an age of 1e15) gives horizons u =
/// t/(α + T) whose (1 + u) rounds to 1: the 2F1 series then gave 0 and every step fell to a
/// quadrature on subnormal numbers, ~4 ms each, and one CLV took 20–37 s. Such horizons now
/// take the Taylor series in u; the values are below the undiscounted expectation over the
/// horizon, itself the purchase rate's mean times the horizon to first order.
#[test]
fn subnormal_discounting_steps_value_at_once() {
    use custseg::clv::{BgNbd, Discounting, GammaGamma, MbgNbd, Rft, TransactionModel, Valuation};
    fn check<M: TransactionModel + Clone>(model: M, r: f64, alpha: f64) {
        let spend = GammaGamma::new(6.2488, 3.7446, 15.4477).unwrap();
        for (step, c) in [
            (5e-324, Rft::new(2, 30.0, 40.0).unwrap()),
            (1e-300, Rft::new(2, 30.0, 1e15).unwrap()),
        ] {
            let d = Discounting::new(step, 10_000, 0.01).unwrap();
            let v = Valuation::new(model.clone(), spend, d);
            let end = step * 10_000.0;
            let new = v.value_of_new_customer().unwrap();
            let bound =
                model.expected_purchases_new(end).unwrap() * spend.population_mean_spend().unwrap();
            // Subnormal values carry a few digits: a few units of slack in the last place.
            assert!(
                new >= 0.0 && new <= bound * (1.0 + 1e-9) + 1e-321,
                "{new} vs {bound}"
            );
            let clv = v.clv_of(&c, 10.0).unwrap();
            let bound = model.expected_purchases(&c, end).unwrap()
                * spend.expected_spend(c.x(), 10.0).unwrap();
            assert!(
                clv >= 0.0 && clv <= bound * (1.0 + 1e-9) + 1e-321,
                "{clv} vs {bound}"
            );
        }
        // Tiny steps in normal numbers: each step's increment is the purchase rate's mean
        // (r + x)/(α + T) times the step, so the CLV is P(alive) · spend · that rate · step ·
        // Σ 1.01^(−j), to the Taylor series' precision.
        let c = Rft::new(2, 30.0, 40.0).unwrap();
        let step = 1e-200;
        let d = Discounting::new(step, 10_000, 0.01).unwrap();
        let clv = Valuation::new(model.clone(), spend, d)
            .clv_of(&c, 10.0)
            .unwrap();
        let discount: f64 = (1..=10_000).map(|j| 1.01f64.powi(-j)).sum();
        let want = model.p_alive(&c).unwrap() * spend.expected_spend(2, 10.0).unwrap() * (r + 2.0)
            / (alpha + 40.0)
            * step
            * discount;
        assert!((clv - want).abs() <= 1e-12 * want, "{clv} vs {want}");
    }
    check(
        BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap(),
        0.243,
        4.414,
    );
    check(
        MbgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap(),
        0.243,
        4.414,
    );
}

/// S3: a discount rate near −1 multiplies the factor by ~1e16 a step; it overflowed within
/// ~20 steps, and the other 9,980 were still evaluated (3–10 s) before the overflow was
/// reported. The walk now stops there.
#[test]
fn a_rate_near_minus_one_overflows_at_once() {
    use custseg::clv::{BgNbd, Discounting, GammaGamma, Rft, Valuation};
    let d = Discounting::new(1.0, 10_000, -0.999_999_999_999_999_9).unwrap();
    let v = Valuation::new(
        BgNbd::new(0.243, 4.414, 0.793, 2.426).unwrap(),
        GammaGamma::new(6.2488, 3.7446, 15.4477).unwrap(),
        d,
    );
    let c = Rft::new(u32::MAX, 0.0, 0.0).unwrap();
    for e in [
        v.clv_of(&c, 10.0).unwrap_err(),
        v.clv_of(&Rft::new(2, 30.0, 40.0).unwrap(), 10.0)
            .unwrap_err(),
        v.value_of_new_customer().unwrap_err(),
    ] {
        assert!(matches!(e, custseg::Error::Overflow { .. }), "{e}");
    }
}

/// S4: segment counts whose total passes `u64::MAX` wrapped the total to 0 and the PSI to
/// NaN inside `Ok`; the totals are summed in 128 bits, and the shares are those of smaller
/// counts in the same proportions.
#[test]
fn share_psi_of_huge_counts_is_finite() {
    use custseg::report::DriftParams;
    let p = DriftParams::new();
    let huge = p.share_psi(&[u64::MAX, 1], &[1, u64::MAX]).unwrap();
    let small = p.share_psi(&[1 << 40, 0], &[0, 1 << 40]).unwrap();
    assert!(huge.is_finite() && huge > 0.0);
    assert_eq!(huge, small);
    let even = p.share_psi(&[u64::MAX; 4], &[u64::MAX; 4]).unwrap();
    assert_eq!(even, 0.0);
}

/// S5: a direction whose squared length overflows or underflows (1e200, 1e-200, f64::MAX)
/// came back `None`; it is the point the vector points to.
#[test]
fn directions_of_any_finite_length_are_points() {
    use custseg::geo::GeoPoint;
    let at = |v: [f64; 3]| {
        let p = GeoPoint::from_vector(v).unwrap();
        (p.lat(), p.lon())
    };
    let diagonal = (1.0 / 3f64.sqrt()).asin().to_degrees();
    for s in [1.0, 1e200, 1e-200, 1e-310] {
        let (lat, lon) = at([s, s, s]);
        assert!(
            (lat - diagonal).abs() < 1e-12 && (lon - 45.0).abs() < 1e-12,
            "{s}"
        );
        assert_eq!(at([s, 0.0, 0.0]), (0.0, 0.0), "{s}");
        assert_eq!(at([0.0, 0.0, -s]), (-90.0, 0.0), "{s}");
    }
    assert_eq!(at([f64::MAX, 0.0, 0.0]), (0.0, 0.0));
    assert_eq!(at([0.0, -f64::MAX, 0.0]), (0.0, -90.0));
    for bad in [[0.0; 3], [f64::NAN, 1.0, 0.0], [f64::INFINITY, 0.0, 0.0]] {
        assert!(GeoPoint::from_vector(bad).is_none(), "{bad:?}");
    }
}

/// S6: a BG/NBD fit of three extreme rows took 10 s to report its divergence: each of the
/// optimiser's evaluations of the likelihood sent two maps of a handful of values through
/// the thread pool. Small maps now stay on the calling thread; the verdict is the same.
#[test]
fn fits_of_a_few_extreme_rows_end_in_an_error() {
    use custseg::clv::{BgNbd, ParetoNbd, Rft, RftData};
    let rows = [
        Rft::new(u32::MAX, 1e15, 1e15).unwrap(),
        Rft::new(0, 0.0, 1e15).unwrap(),
        Rft::new(3, 1e-300, 1e300).unwrap(),
    ];
    let data = RftData::from_rfts(&rows).unwrap();
    for e in [
        BgNbd::params().fit(&data).map(|_| ()).unwrap_err(),
        ParetoNbd::params().fit(&data).map(|_| ()).unwrap_err(),
    ] {
        assert!(
            matches!(
                e,
                custseg::Error::Diverged { .. } | custseg::Error::NotConverged { .. }
            ),
            "{e}"
        );
    }
}
