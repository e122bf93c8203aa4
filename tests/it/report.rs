//! Reports: KPIs and campaign ROI, migration between snapshots, stability, pseudonyms and
//! the k-anonymity floor (a property test over random reports).

use custseg::datasets::{BlobsConfig, blobs, cdnow_sample, cdnow_sample_config};
use custseg::report::{
    Aggregate, Campaign, Column, CustomerMetrics, KAnonymity, MERGED_LABEL, Pseudonymizer, Refits,
    Report, ReportRow, SmallGroups, kpi_report, migration, segment_kpis, stability,
};
use custseg::rfm::{RfmParams, SegmentScheme};
use custseg::segment::{KMeansParams, Points, Strategy};
use custseg::{CustomerId, Fit, Score, SummaryConfig};
use ndarray::Array2;
use proptest::prelude::*;

#[test]
fn pseudonyms_are_keyed_hmac_sha256() {
    // Known answers from Python's hmac.new(key, id, sha256).hexdigest()[:32].
    let p = Pseudonymizer::new(b"a secret key of 32 bytes or more!").unwrap();
    assert_eq!(
        p.pseudonym("customer 42"),
        "43e94c4cfed1225ed37ab0857fd7cb27"
    );
    let q = Pseudonymizer::new(b"0123456789abcdef").unwrap();
    assert_eq!(q.pseudonym(""), "496dc93fa2d26eae500ec0bc37a12270");
    assert_eq!(
        q.pseudonym("Müller-Łódź"),
        "fe47a3d38a79e10f690497a06f2f298a"
    );
    // Another key, another pseudonym; the key shows nowhere.
    assert_ne!(p.pseudonym("customer 42"), q.pseudonym("customer 42"));
    assert!(!format!("{q:?}").contains("0123456789abcdef"));
    let e = Pseudonymizer::new(b"short").unwrap_err().to_string();
    assert!(!e.contains("short"), "{e}");
    let id = CustomerId::from("00042");
    assert_eq!(p.customer_id(&id).as_ref(), p.pseudonym("00042"));
}

fn report_of(sizes: &[usize]) -> Report {
    let rows = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| ReportRow {
            label: format!("s{i}"),
            customers: n,
            values: vec![
                Some(n as f64 * 3.0),
                Some(i as f64),
                Some(100.0 * n as f64 / sizes.iter().sum::<usize>().max(1) as f64),
            ],
        })
        .collect();
    Report::new(
        "test",
        vec![
            Column::new("total", Aggregate::Sum, 0),
            Column::new("mean", Aggregate::Mean, 2),
            Column::new("share %", Aggregate::Share, 1),
        ],
        rows,
    )
}

proptest! {
    /// No guarded report shows a row below k, and no suppressed size can be read or derived
    /// from it: every customer is shown, merged, or in a row counted only as "fewer than k";
    /// the text and the JSON hold no suppressed total, and shares add up to 100 over the
    /// rows shown (so 100 minus them measures nothing hidden).
    #[test]
    fn no_report_row_below_k(sizes in prop::collection::vec(0usize..40, 0..30), k in 1usize..25, merge in any::<bool>()) {
        let small = if merge { SmallGroups::Merge } else { SmallGroups::Suppress };
        let guard = KAnonymity::new(k, small).unwrap();
        let g = report_of(&sizes).guarded(&guard);
        prop_assert!(g.rows.iter().all(|r| r.customers >= k));
        let shown: usize = g.rows.iter().map(|r| r.customers).sum();
        let total: usize = sizes.iter().sum();
        let hidden = total - shown;
        prop_assert!(hidden <= g.suppressed_rows * (k - 1));
        let hidden_rows = sizes.iter().filter(|&&n| n > 0 && n < k).count();
        if g.suppressed_rows > 0 {
            prop_assert_eq!(g.suppressed_rows, sizes.iter().filter(|&&n| n < k).count());
            let shares: f64 = g.rows.iter().filter_map(|r| r.values[2]).sum();
            prop_assert!(g.rows.is_empty() || (shares - 100.0).abs() < 1e-9, "{}", shares);
            // Neither the text nor the JSON carries the hidden total (when it is not also
            // the number of a shown thing: rows, k, or a shown size).
            let json = serde_json::to_string(&g).unwrap();
            prop_assert!(!json.contains("suppressed_customers"));
            let text = g.to_string();
            let footnote = text.lines().last().unwrap_or("");
            let innocent = [g.suppressed_rows, k];
            if hidden_rows > 0 && !innocent.contains(&hidden) {
                let told = footnote
                    .split(|c: char| !c.is_ascii_digit())
                    .any(|w| w == hidden.to_string());
                prop_assert!(!told, "{footnote}");
            }
        }
        if let Some(m) = g.rows.iter().find(|r| r.label == MERGED_LABEL) {
            prop_assert!(merge);
            // Sums add up; means are weighted by customers.
            let small: Vec<(usize, usize)> = sizes.iter().copied().enumerate().filter(|(_, n)| *n < k).collect();
            prop_assert_eq!(m.values[0], Some(small.iter().map(|(_, n)| *n as f64 * 3.0).sum::<f64>()));
        }
        // The text table never prints a suppressed label.
        let text = g.to_string();
        for (i, &n) in sizes.iter().enumerate() {
            if n < k {
                let label = format!("s{i} ");
                prop_assert!(!text.lines().any(|l| l.starts_with(&label)));
            }
        }
    }
}

#[test]
fn kpis_and_migration_on_cdnow() {
    let cfg = cdnow_sample_config();
    let cal = cdnow_sample().summarise(&cfg).unwrap();
    let (rfm, _) = RfmParams::new(5).unwrap().fit(cal.as_slice()).unwrap();
    let scheme = SegmentScheme::five_tiers(5).unwrap();
    let names: Vec<String> = scheme
        .segment_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let seg_of = |scores: &[custseg::rfm::RfmScore]| -> Vec<Option<usize>> {
        scheme
            .assign(scores)
            .unwrap()
            .into_iter()
            .map(|id| Some(id as usize))
            .collect()
    };
    let before = seg_of(&rfm.score_batch(cal.as_slice()).unwrap());
    // The same RFM model applied at the end of the holdout.
    let end = SummaryConfig {
        observation_end: cfg.window_end(),
        holdout_end: None,
        ..cfg
    };
    let later = cdnow_sample().summarise(&end).unwrap();
    let after = seg_of(&rfm.score_batch(later.as_slice()).unwrap());
    let ids =
        |s: &custseg::CustomerSummaries, l: &[Option<usize>]| -> Vec<(CustomerId, Option<usize>)> {
            s.iter()
                .map(|c| c.customer_id().clone())
                .zip(l.iter().copied())
                .collect()
        };
    let m = migration(&ids(&cal, &before), &names, &ids(&later, &after), &names).unwrap();
    let moved: usize = m.counts.iter().flatten().sum();
    assert_eq!(moved, 2357);
    // Every cell against a direct count over the customers, matched by id.
    let later_of: std::collections::HashMap<CustomerId, Option<usize>> =
        ids(&later, &after).into_iter().collect();
    let mut direct = vec![vec![0usize; names.len() + 1]; names.len() + 1];
    for (id, b) in ids(&cal, &before) {
        let a = later_of[&id];
        direct[b.unwrap_or(names.len())][a.unwrap_or(names.len())] += 1;
    }
    assert_eq!(m.counts, direct);
    assert_eq!(m.new_customers.iter().sum::<usize>(), 0);
    let order = ["Gold", "Value", "Growth", "Other", "Dormant", "Lost"];
    let (up, down, same) = m.moves(&order).unwrap();
    assert_eq!(up + down + same, 2357);
    // Seven in ten customers do not buy in the holdout: recency scores fall, so more
    // customers move down than up.
    assert!(down > up, "up {up} down {down}");
    let guarded = m
        .report("RFM tier migration")
        .guarded(&KAnonymity::default());
    assert!(guarded.rows.iter().all(|r| r.customers >= 10));

    // KPIs: revenue in the holdout by calibration segment, with CLV-free values.
    let values: Vec<CustomerMetrics> = cal
        .iter()
        .map(|c| CustomerMetrics {
            revenue: c.holdout_spend(),
            ..Default::default()
        })
        .collect();
    let campaign = Campaign::new(1.5, 0.05, 0.3).unwrap();
    let kpis = segment_kpis(&before, &names, &values, Some(&campaign)).unwrap();
    let share: f64 = kpis.iter().map(|k| k.revenue_share).sum();
    assert!((share - 1.0).abs() < 1e-12);
    assert_eq!(kpis.iter().map(|k| k.customers).sum::<usize>(), 2357);
    // Each segment's revenue, cost and ROI against the arithmetic done here by hand: with no
    // CLV, a response is worth the segment's mean revenue.
    for k in &kpis {
        let s = k.segment.unwrap();
        let members: Vec<usize> = (0..before.len())
            .filter(|&i| before[i] == Some(s))
            .collect();
        let revenue: f64 = members.iter().map(|&i| values[i].revenue).sum();
        assert_eq!(k.customers, members.len());
        assert!((k.revenue - revenue).abs() < 1e-9 * (1.0 + revenue));
        if members.is_empty() {
            continue;
        }
        let n = members.len() as f64;
        let (cost, gain) = (1.5 * n, 0.05 * n * (revenue / n) * 0.3);
        assert!((k.cost.unwrap() - cost).abs() < 1e-9);
        assert!(
            (k.roi.unwrap() - (gain - cost) / cost).abs() < 1e-9,
            "{}",
            k.name
        );
    }
    let mut priorities: Vec<usize> = kpis.iter().filter_map(|k| k.priority).collect();
    priorities.sort();
    assert_eq!(priorities, (1..=priorities.len()).collect::<Vec<_>>());
    let report = kpi_report("KPIs", &kpis).guarded(&KAnonymity::default());
    assert!(report.to_string().contains("ROI"));
    let json = serde_json::to_string(&report).unwrap();
    assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
}

#[test]
fn kpi_and_migration_errors() {
    let names = vec!["a".to_string()];
    let v = CustomerMetrics::default();
    assert!(segment_kpis(&[Some(0)], &names, &[], None).is_err());
    assert!(segment_kpis(&[Some(1)], &names, &[v], None).is_err());
    let nan = CustomerMetrics {
        revenue: f64::NAN,
        ..v
    };
    assert!(segment_kpis(&[Some(0)], &names, &[nan], None).is_err());
    let risky = CustomerMetrics {
        churn_risk: Some(1.5),
        ..v
    };
    assert!(segment_kpis(&[Some(0)], &names, &[risky], None).is_err());
    assert!(Campaign::new(-1.0, 0.1, 0.5).is_err());
    assert!(Campaign::new(1.0, 1.1, 0.5).is_err());
    assert!(
        Campaign::new(1.0, 0.1, 0.5)
            .unwrap()
            .with_segment_rate(0, -0.1)
            .is_err()
    );
    let snap = vec![
        (CustomerId::from("x"), Some(0)),
        (CustomerId::from("x"), Some(0)),
    ];
    assert!(migration(&snap, &names, &snap[..1], &names).is_err());
    let m = migration(&snap[..1], &names, &snap[..1], &names).unwrap();
    assert!(m.moves(&["nope"]).is_err());
    assert!(KAnonymity::new(0, SmallGroups::Merge).is_err());
}

#[test]
fn stability_separates_stable_from_arbitrary_segments() {
    let clear = blobs(&BlobsConfig::new(1200, 2, 3).with_spread(0.5).with_seed(8)).unwrap();
    let no_cat = Array2::<u32>::zeros((1200, 0));
    let km = |k| Strategy::KMeans(KMeansParams::new(k).unwrap().with_n_init(2).unwrap());
    let s = stability(
        Points::mixed(clear.data.view(), no_cat.view()),
        &km(3),
        &Refits::new(4, 8, 1).unwrap(),
    )
    .unwrap();
    assert!(s.seed_ari.iter().all(|&a| a > 0.99), "{s:?}");
    assert!(s.jaccard.iter().all(|&j| j > 0.95), "{s:?}");
    // Six segments cut into three real clusters: some are arbitrary and dissolve.
    let over = stability(
        Points::mixed(clear.data.view(), no_cat.view()),
        &km(6),
        &Refits::new(4, 8, 1).unwrap(),
    )
    .unwrap();
    assert!(
        over.jaccard.iter().cloned().fold(f64::INFINITY, f64::min) < 0.75,
        "{over:?}"
    );
    // Same seed, same answer at any thread count.
    let pool = |t: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap()
    };
    let a = pool(1).install(|| {
        stability(
            Points::mixed(clear.data.view(), no_cat.view()),
            &km(3),
            &Refits::new(2, 3, 9).unwrap(),
        )
        .unwrap()
    });
    let b = pool(16).install(|| {
        stability(
            Points::mixed(clear.data.view(), no_cat.view()),
            &km(3),
            &Refits::new(2, 3, 9).unwrap(),
        )
        .unwrap()
    });
    assert_eq!(a, b);
    assert!(Refits::new(0, 0, 1).is_err());
    assert!(Refits::new(usize::MAX, 1, 1).is_err());
}

#[test]
fn rfm_tables_and_profiles_pass_the_floor() {
    let cal = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let (rfm, _) = RfmParams::new(5).unwrap().fit(cal.as_slice()).unwrap();
    let scores = rfm.score_batch(cal.as_slice()).unwrap();
    let table = SegmentScheme::rfm_package().summarise(&scores).unwrap();
    let report = Report::from(&table);
    // Empty segments are left out; every customer is in some row.
    assert!(report.rows.iter().all(|r| r.customers > 0));
    assert_eq!(report.rows.iter().map(|r| r.customers).sum::<usize>(), 2357);
    // The R rfm scheme leaves segments below 10 customers on CDNOW; the floor merges them.
    assert!(report.rows.iter().any(|r| r.customers < 10));
    let guarded = report.guarded(&KAnonymity::default());
    assert!(guarded.rows.iter().all(|r| r.customers >= 10));
    // Merged rather than suppressed here, so every customer is still shown.
    assert_eq!(guarded.suppressed_rows, 0);
    assert_eq!(
        guarded.rows.iter().map(|r| r.customers).sum::<usize>(),
        2357
    );
    // Shares of the merged row are the sum of the merged segments' shares.
    let merged = guarded
        .rows
        .iter()
        .find(|r| r.label == MERGED_LABEL)
        .unwrap();
    let small: Vec<_> = table
        .rows
        .iter()
        .filter(|r| r.customers > 0 && r.customers < 10)
        .collect();
    let share: f64 = small.iter().map(|r| 100.0 * r.share).sum();
    assert!((merged.values[0].unwrap() - share).abs() < 1e-9);
}

#[test]
fn floors_and_campaigns_are_valid_once_built_also_from_json() {
    let floor = KAnonymity::new(5, SmallGroups::Suppress).unwrap();
    let json = serde_json::to_string(&floor).unwrap();
    assert_eq!(serde_json::from_str::<KAnonymity>(&json).unwrap(), floor);
    // A floor of 0 would show every row: refused, as `new` refuses it.
    assert!(serde_json::from_str::<KAnonymity>(&json.replace("5", "0")).is_err());
    assert!(KAnonymity::new(0, SmallGroups::Merge).is_err());
    let c = Campaign::new(2.0, 0.1, 0.3)
        .unwrap()
        .with_segment_rate(1, 0.2)
        .unwrap();
    assert_eq!((c.response_rate(0), c.response_rate(1)), (0.1, 0.2));
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(serde_json::from_str::<Campaign>(&json).unwrap(), c);
    assert!(serde_json::from_str::<Campaign>(&json.replace("2.0", "-2.0")).is_err());
    assert!(serde_json::from_str::<Campaign>(&json.replace("0.2", "1.5")).is_err());
}
