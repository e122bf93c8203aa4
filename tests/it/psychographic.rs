//! Psychographic segmentation on the BFI survey (2,800 people, 25 Big Five items, 508
//! missing answers): the five-factor structure, against an independent numpy /
//! factor_analyzer reference (`benches/peers/psychographic_reference.py`).

use custseg::segment::{
    FactorCount, PsychographicModel, PsychographicSegmenter, Rotation, SurveyItem, SurveyResponse,
};
use custseg::{Assign, Fit};
use serde_json::Value;

const REVERSED: [&str; 7] = ["A1", "C4", "C5", "E1", "E2", "O2", "O5"];
const TRAITS: [char; 5] = ['A', 'C', 'E', 'N', 'O'];

fn bfi() -> (Vec<String>, Vec<SurveyResponse>) {
    let text = std::fs::read_to_string(format!(
        "{}/tests/data/bfi_big_five.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let items: Vec<String> = header[1..26].iter().map(|s| s.to_string()).collect();
    let responses = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            SurveyResponse {
                customer_id: f[0].into(),
                answers: f[1..26]
                    .iter()
                    .map(|v| (!v.is_empty()).then(|| v.parse().unwrap()))
                    .collect(),
                tags: Vec::new(),
            }
        })
        .collect();
    (items, responses)
}

fn reference() -> Value {
    let path = format!(
        "{}/tests/data/bfi_factor_reference.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn segmenter(items: &[String], reverse: bool, k: usize) -> PsychographicSegmenter {
    let items = items
        .iter()
        .map(|n| {
            if reverse && REVERSED.contains(&n.as_str()) {
                SurveyItem::reversed(n)
            } else {
                SurveyItem::new(n)
            }
        })
        .collect();
    PsychographicSegmenter::new(items, 1.0, 6.0, k)
        .unwrap()
        .with_factors(FactorCount::Fixed(5))
        .unwrap()
        .with_min_answers(1)
        .unwrap()
}

/// For each factor, the trait whose five items load most on it (by sum of |loading|).
fn factor_traits(model: &PsychographicModel) -> Vec<char> {
    let l = &model.loadings().loadings;
    (0..l.ncols())
        .map(|f| {
            *TRAITS
                .iter()
                .max_by(|a, b| {
                    let sum = |t: char| {
                        (0..25)
                            .filter(|&i| TRAITS[i / 5] == t)
                            .map(|i| l[[i, f]].abs())
                            .sum::<f64>()
                    };
                    sum(**a).total_cmp(&sum(**b))
                })
                .unwrap()
        })
        .collect()
}

fn tucker(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f64 = a.iter().map(|x| x * x).sum();
    let nb: f64 = b.iter().map(|x| x * x).sum();
    (dot / (na * nb).sqrt()).abs()
}

#[test]
fn five_factor_varimax_recovers_the_big_five() {
    let (items, responses) = bfi();
    let (model, _) = segmenter(&items, false, 4).fit(&responses).unwrap();
    let r = reference();
    let l = model.loadings();
    // Missing answers: 508 item cells, imputed with the item mean and counted.
    assert_eq!(l.imputed.iter().map(|(_, c)| c).sum::<usize>(), 508);
    assert!(model.excluded().is_empty());
    // The correlation eigenvalues equal numpy's.
    for (ours, theirs) in l
        .eigenvalues
        .iter()
        .zip(r["correlation_eigenvalues"].as_array().unwrap())
    {
        assert!(
            (ours - theirs.as_f64().unwrap()).abs() < 1e-9,
            "{ours} vs {theirs}"
        );
    }
    // Every factor belongs to a different trait, and at least 22 of the 25 items (the
    // acceptance bar; the solution gives all 25) load most on their own trait's factor.
    let traits = factor_traits(&model);
    let mut distinct = traits.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 5, "{traits:?}");
    let own = (0..25)
        .filter(|&i| traits[l.main_factor(i).unwrap()] == TRAITS[i / 5])
        .count();
    assert!(own >= 22, "{own} of 25 on their own factor");
    assert_eq!(own, 25);
    // Reverse-keyed items load with the opposite sign to their trait's other items.
    for (i, item) in items.iter().enumerate() {
        let f = traits.iter().position(|&t| t == TRAITS[i / 5]).unwrap();
        let others: f64 = (0..25)
            .filter(|&j| j / 5 == i / 5 && !REVERSED.contains(&items[j].as_str()))
            .map(|j| l.loadings[[j, f]])
            .sum();
        let opposite = l.loadings[[i, f]] * others < 0.0;
        assert_eq!(opposite, REVERSED.contains(&item.as_str()), "{item}");
    }
    // The same loadings as the reference PCA + varimax (Kaiser normalisation), and close to
    // maximum-likelihood factor analysis (Tucker's congruence per factor).
    for (key, min_congruence, max_diff) in
        [("pca_varimax", 0.999_999, 1e-5), ("ml_varimax", 0.96, 1.0)]
    {
        let by_trait = &r[key]["loadings_by_trait"]["values"];
        for (t, trait_) in TRAITS.iter().enumerate() {
            let f = traits.iter().position(|x| x == trait_).unwrap();
            let ours: Vec<f64> = (0..25).map(|i| l.loadings[[i, f]]).collect();
            let theirs: Vec<f64> = (0..25).map(|i| by_trait[i][t].as_f64().unwrap()).collect();
            let phi = tucker(&ours, &theirs);
            assert!(phi >= min_congruence, "{key} {trait_}: congruence {phi}");
            let sign = if ours.iter().zip(&theirs).map(|(a, b)| a * b).sum::<f64>() < 0.0 {
                -1.0
            } else {
                1.0
            };
            let diff = ours
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (sign * a - b).abs())
                .fold(0.0, f64::max);
            assert!(diff < max_diff, "{key} {trait_}: max difference {diff}");
        }
    }
    // The loadings table prints one row per item.
    assert_eq!(l.to_string().lines().count(), 26);
}

#[test]
fn factor_count_rules_and_reverse_keying() {
    let (items, responses) = bfi();
    let r = reference();
    let (kaiser, _) = segmenter(&items, false, 3)
        .with_factors(FactorCount::Kaiser)
        .unwrap()
        .fit(&responses)
        .unwrap();
    assert_eq!(
        kaiser.loadings().factors.len() as u64,
        r["kaiser_count"].as_u64().unwrap()
    );
    let (parallel, _) = segmenter(&items, false, 3)
        .with_factors(FactorCount::parallel())
        .unwrap()
        .fit(&responses)
        .unwrap();
    assert_eq!(
        parallel.loadings().factors.len() as u64,
        r["parallel_analysis"]["n_factors_p95"].as_u64().unwrap()
    );
    // Reverse-keyed, every item of a trait loads with the same sign.
    let (keyed, _) = segmenter(&items, true, 3).fit(&responses).unwrap();
    let traits = factor_traits(&keyed);
    let l = &keyed.loadings().loadings;
    for (t, trait_) in TRAITS.iter().enumerate() {
        let f = traits.iter().position(|x| x == trait_).unwrap();
        let signs: Vec<bool> = (0..5).map(|i| l[[t * 5 + i, f]] > 0.0).collect();
        assert!(signs.iter().all(|&s| s == signs[0]), "{trait_}: {signs:?}");
    }
    // Unrotated components: the first one is the general factor, explaining most.
    let (unrotated, _) = segmenter(&items, false, 3)
        .with_rotation(Rotation::None)
        .fit(&responses)
        .unwrap();
    let col_var = |m: &PsychographicModel, f: usize| {
        (0..25)
            .map(|i| m.loadings().loadings[[i, f]].powi(2))
            .sum::<f64>()
    };
    assert!(
        (col_var(&unrotated, 0) - r["correlation_eigenvalues"][0].as_f64().unwrap()).abs() < 1e-9
    );
}

#[test]
fn segments_on_factor_scores() {
    let (items, mut responses) = bfi();
    for (i, r) in responses.iter_mut().enumerate() {
        if i % 3 == 0 {
            r.tags.push("outdoors".into());
        }
    }
    let seg = segmenter(&items, true, 4);
    let pool = |t: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap()
    };
    let mut model = pool(1).install(|| seg.fit(&responses).unwrap().0);
    assert_eq!(pool(16).install(|| seg.fit(&responses).unwrap().0), model);
    let labels = model.assign_batch(&responses).unwrap();
    assert!(labels.iter().all(Option::is_some));
    let sizes: Vec<usize> = model.profiles().iter().map(|p| p.size).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 2800);
    // Profiles carry the factor means and the tag share; names come from the factors.
    let p = &model.profiles()[0];
    assert_eq!(p.features.len(), 5 + 2);
    assert!(p.features.iter().any(|f| f.feature == "tag outdoors=yes"));
    assert!(
        model
            .profiles()
            .iter()
            .all(|p| p.name.contains('F') || p.name == "average")
    );
    // Naming a factor renames it in the loadings, the profiles and the segment names.
    model.rename_factor(0, "neuroticism").unwrap();
    assert_eq!(model.loadings().factors[0], "neuroticism");
    assert!(
        model.profiles()[0]
            .features
            .iter()
            .any(|f| f.feature == "neuroticism")
    );
    assert!(
        model
            .profiles()
            .iter()
            .any(|p| p.name.contains("neuroticism")),
        "{:?}",
        model.profiles()
    );
    assert!(model.rename_factor(1, "neuroticism").is_err());
    assert!(model.rename_factor(9, "x").is_err());
    // Serde round trip, and a corrupt model.
    let json = serde_json::to_string(&model).unwrap();
    let back: PsychographicModel = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back.assign_batch(&responses).unwrap(),
        model.assign_batch(&responses).unwrap()
    );
    let mut v: Value = serde_json::from_str(&json).unwrap();
    v["scoring"]["sds"][3] = Value::from(0.0);
    assert!(serde_json::from_value::<PsychographicModel>(v).is_err());
    let mut v: Value = serde_json::from_str(&json).unwrap();
    v["layout"]["factor_names"][0] = Value::from("other");
    assert!(serde_json::from_value::<PsychographicModel>(v).is_err());
    // Scores are standardised on the fitted customers.
    let scores = model.scores(&responses).unwrap();
    let first: Vec<f64> = scores.iter().map(|s| s.as_ref().unwrap()[0]).collect();
    let mean = first.iter().sum::<f64>() / 2800.0;
    let var = first.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 2800.0;
    assert!(
        mean.abs() < 1e-9 && (var - 1.0).abs() < 1e-9,
        "{mean} {var}"
    );
}

#[test]
fn missing_and_bad_answers() {
    let (items, mut responses) = bfi();
    responses.truncate(300);
    // Too few answers: left out of the fit and reported; assigned no segment.
    responses[5].answers = vec![None; 25];
    responses[6].answers[..20].fill(None);
    let seg = PsychographicSegmenter::new(
        items.iter().map(|n| SurveyItem::new(n)).collect(),
        1.0,
        6.0,
        3,
    )
    .unwrap()
    .with_factors(FactorCount::Fixed(5))
    .unwrap();
    let (model, _) = seg.fit(&responses).unwrap();
    let excluded: Vec<(String, usize)> = model
        .excluded()
        .iter()
        .map(|(id, n)| (id.to_string(), *n))
        .collect();
    assert_eq!(
        excluded,
        [
            (responses[5].customer_id.to_string(), 0),
            (responses[6].customer_id.to_string(), 5)
        ]
    );
    let labels = model.assign_batch(&responses).unwrap();
    assert_eq!((labels[5], labels[6]), (None, None));
    assert_eq!(labels.iter().filter(|l| l.is_some()).count(), 298);
    // Off the scale, wrong count, duplicates.
    let mut bad = responses.clone();
    bad[9].answers[3] = Some(7.0);
    let e = seg.fit(&bad).unwrap_err().to_string();
    assert!(
        e.contains(bad[9].customer_id.as_ref()) && e.contains("A4"),
        "{e}"
    );
    bad[9].answers[3] = Some(f64::NAN);
    assert!(model.assign(&bad[9]).is_err());
    bad[9].answers.pop();
    assert!(seg.fit(&bad).is_err());
    let mut dup = responses.clone();
    dup[1].customer_id = dup[2].customer_id.clone();
    assert!(seg.fit(&dup).is_err());
    // An item everybody answered alike has no variance: an error naming it.
    let mut flat = responses.clone();
    for r in &mut flat {
        r.answers[0] = Some(3.0);
    }
    let e = seg.fit(&flat).unwrap_err().to_string();
    assert!(e.contains("A1"), "{e}");
    // Settings.
    assert!(PsychographicSegmenter::new(vec![SurveyItem::new("a")], 1.0, 5.0, 2).is_err());
    assert!(
        PsychographicSegmenter::new(
            vec![SurveyItem::new("a"), SurveyItem::new("a")],
            1.0,
            5.0,
            2
        )
        .is_err()
    );
    assert!(
        PsychographicSegmenter::new(
            vec![SurveyItem::new("a"), SurveyItem::new("b")],
            5.0,
            1.0,
            2
        )
        .is_err()
    );
    assert!(seg.clone().with_factors(FactorCount::Fixed(26)).is_err());
    assert!(seg.clone().with_min_answers(0).is_err());
    assert!(seg.fit(&[]).is_err());
}
