//! Segments explained as rules: planted rule-defined segments come back as the rules that
//! made them.

use custseg::Fit;
use custseg::segment::{RuleTreeParams, SegmentedPoints, Side};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// Four segments planted by rules on two of five features (the others noise):
/// recency ≤ 30 and purchases > 4 → 0 (loyal); recency ≤ 30 and purchases ≤ 4 → 1 (new);
/// recency > 30 and spend > 200 → 2 (lapsed big spenders); recency > 30, spend ≤ 200 → 3.
/// The tree finds them with fidelity ≥ 0.98 and thresholds within 5 % of the planted ones
/// (and never splits on noise),
/// the same at 1 and 2 threads, and assigns new customers by the same rules.
#[test]
fn planted_rules_are_recovered() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(17);
    let n = 4_000;
    let x = Array2::from_shape_fn((n, 5), |(_, j)| match j {
        0 => rng.gen_range(0.0..120.0),   // recency, days
        1 => rng.gen_range(0..15) as f64, // purchases
        2 => rng.gen_range(0.0..600.0),   // spend
        _ => rng.r#gen::<f64>(),          // noise
    });
    let truth = |r: &[f64]| match (r[0] <= 30.0, r[1] > 4.0, r[2] > 200.0) {
        (true, true, _) => 0,
        (true, false, _) => 1,
        (false, _, true) => 2,
        (false, _, false) => 3,
    };
    let segments: Vec<usize> = x
        .rows()
        .into_iter()
        .map(|r| truth(r.as_slice().unwrap()))
        .collect();
    let names: Vec<String> = ["recency", "purchases", "spend", "noise a", "noise b"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let data = SegmentedPoints::new(x.view(), &names, &segments).unwrap();
    // Depth 3, the default: a greedy tree (CART, as scikit-learn's) splits on spend first,
    // the biggest single gain, so the planted depth-2 structure takes one level more.
    let params = RuleTreeParams::new();
    let (rules, report) = params.fit(&data).unwrap();
    let text = rules.to_string();
    assert!(
        report.fidelity >= 0.98,
        "fidelity {}\n{text}",
        report.fidelity
    );
    assert!(report.depth <= 3 && report.rules <= 8, "{text}");
    let planted = [(0, 30.0), (1, 4.0), (2, 200.0)];
    for rule in rules.rules() {
        for c in &rule.conditions {
            let (_, want) = planted
                .iter()
                .find(|p| p.0 == c.feature)
                .expect("a planted feature");
            // Purchases are integers: the planted cut "> 4" is any threshold in [4, 5).
            let ok = if c.feature == 1 {
                (4.0..5.0).contains(&c.threshold)
            } else {
                (c.threshold - want).abs() <= 0.05 * want
            };
            assert!(ok, "{c:?}\n{text}");
        }
    }
    // The loyal segment's rules read "recency ≤ … and purchases > …" (and a spend side).
    for loyal in rules.rules_for(0) {
        let has = |f: usize, side: Side| {
            loyal
                .conditions
                .iter()
                .any(|c| c.feature == f && c.side == side)
        };
        assert!(has(0, Side::AtMost) && has(1, Side::Above), "{text}");
    }
    // New customers follow the rules; the fit is the same at 1 and 2 threads.
    let agree = (0..n)
        .filter(|&i| rules.segment_of(x.row(i).as_slice().unwrap()).unwrap() == segments[i])
        .count();
    assert!(agree as f64 >= 0.98 * n as f64);
    let at = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| params.fit(&data).unwrap().0)
    };
    assert_eq!(at(1), at(2));
    // Serde round trip; bad inputs are errors.
    let back: custseg::segment::SegmentRules =
        serde_json::from_str(&serde_json::to_string(&rules).unwrap()).unwrap();
    assert_eq!(back, rules);
    // Edited rules that would index out of range or loop are refused when loaded.
    let mut v = serde_json::to_value(&rules).unwrap();
    v["nodes"][0]["Split"]["left"] = serde_json::json!(0);
    assert!(serde_json::from_value::<custseg::segment::SegmentRules>(v).is_err());
    let empty = serde_json::json!({"nodes": [], "rules": [], "features": 1});
    assert!(serde_json::from_value::<custseg::segment::SegmentRules>(empty).is_err());
    // A segment number past the profile limit is a data error, not an overflow.
    let huge = vec![0, usize::MAX];
    let two = x.slice(ndarray::s![..2, ..]);
    let e = params
        .fit(&SegmentedPoints::new(two, &names, &huge).unwrap())
        .unwrap_err();
    assert_eq!(e.position().and_then(|p| p.row()), Some(1), "{e}");
    assert!(rules.segment_of(&[1.0, f64::NAN, 0.0, 0.0, 0.0]).is_err());
    assert!(rules.segment_of(&[1.0]).is_err());
    assert!(SegmentedPoints::new(x.view(), &names[..2], &segments).is_err());
    assert!(RuleTreeParams::new().with_max_depth(0).is_err());
}

/// Segmenting by a target: a CLV planted as three levels by recency and purchases (plus
/// noise) comes back as segments whose rules cut within 5 % of the planted thresholds and
/// whose means are the planted levels; R² near the planted share of variance.
#[test]
fn segments_by_a_target_recover_planted_levels() {
    use custseg::segment::{TargetPoints, TargetTreeParams};
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
    let n = 3_000;
    let x = Array2::from_shape_fn((n, 3), |(_, j)| match j {
        0 => rng.gen_range(0.0..120.0),
        1 => rng.gen_range(0..15) as f64,
        _ => rng.r#gen::<f64>(),
    });
    let level = |r: &[f64]| match (r[0] <= 30.0, r[1] > 4.0) {
        (true, true) => 300.0,
        (true, false) => 120.0,
        (false, _) => 20.0,
    };
    let clv: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| level(r.as_slice().unwrap()) + rng.gen_range(-5.0..5.0))
        .collect();
    let names: Vec<String> = ["recency", "purchases", "noise"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let data = TargetPoints::new(x.view(), &names, &clv).unwrap();
    let (tree, report) = TargetTreeParams::new()
        .with_max_depth(2)
        .unwrap()
        .fit(&data)
        .unwrap();
    let text = tree.to_string();
    assert!(report.r_squared > 0.99, "R² {}\n{text}", report.r_squared);
    assert_eq!(report.segments, 3, "{text}");
    for rule in tree.rules() {
        let mean = rule.target_mean.unwrap();
        assert!(
            [300.0, 120.0, 20.0].iter().any(|l| (mean - l).abs() < 1.0),
            "{text}"
        );
        for c in &rule.conditions {
            let ok = match c.feature {
                0 => (c.threshold - 30.0).abs() <= 1.5,
                1 => (4.0..5.0).contains(&c.threshold),
                _ => false,
            };
            assert!(ok, "{c:?}\n{text}");
        }
    }
    // Each customer's segment is the rule that covers them.
    let seg = tree.segment_of(&[10.0, 9.0, 0.5]).unwrap();
    assert_eq!(
        tree.rules()[seg].target_mean.map(|m| m.round()),
        Some(300.0)
    );
    let bad = [1.0, f64::NAN, 2.0];
    assert!(TargetPoints::new(x.view(), &names, &clv[..3]).is_err());
    assert!(TargetPoints::new(x.slice(ndarray::s![..3, ..]), &names, &bad).is_err());
}
