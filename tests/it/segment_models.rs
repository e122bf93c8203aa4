//! The typed segment models: behavioral (planted personas, CDNOW) and demographic (planted
//! segments, the real demographics of the BFI survey with its missing education values).

use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::segment::{
    BehavioralModel, BehavioralRecord, BehavioralSegmenter, Clustering, DemographicField,
    DemographicMode, DemographicModel, DemographicRecord, DemographicSegmenter, DemographicValue,
    ExtraColumn, IncomeTiers, KPrototypesParams, Strategy, adjusted_rand_index,
};
use custseg::{Assign, Fit};
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal, Normal};
use rand_xoshiro::Xoshiro256PlusPlus;

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// Majority planted label of each fitted segment.
fn majority(labels: &[usize], truth: &[usize], segments: usize, planted: usize) -> Vec<usize> {
    (0..segments)
        .map(|s| {
            let mut counts = vec![0; planted];
            for (l, t) in labels.iter().zip(truth) {
                if *l == s {
                    counts[*t] += 1;
                }
            }
            (0..planted).max_by_key(|&p| counts[p]).unwrap()
        })
        .collect()
}

/// Four planted behaviours: loyal high spenders, new customers, lapsing regulars, lost
/// one-timers. Each feature log-normal around the persona's typical value.
fn planted_behaviour(per: usize, seed: u64) -> (Vec<BehavioralRecord>, Vec<usize>) {
    // recency, purchases, spend, order value, cadence, tenure, web visits
    let personas: [[f64; 7]; 4] = [
        [8.0, 24.0, 2400.0, 100.0, 14.0, 700.0, 60.0],
        [6.0, 1.0, 45.0, 45.0, 0.0, 20.0, 12.0],
        [220.0, 9.0, 640.0, 70.0, 45.0, 620.0, 4.0],
        [480.0, 1.0, 30.0, 30.0, 0.0, 500.0, 0.5],
    ];
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let noise = LogNormal::new(0.0, 0.25).unwrap();
    let mut records = Vec::new();
    let mut truth = Vec::new();
    for (p, v) in personas.iter().enumerate() {
        for i in 0..per {
            let mut x = |j: usize| v[j] * noise.sample(&mut rng);
            let frequency = if v[1] <= 1.0 {
                1.0
            } else {
                x(1).round().max(2.0)
            };
            let spend = x(2);
            records.push(BehavioralRecord {
                customer_id: format!("p{p}-{i}").into(),
                recency_days: x(0).round(),
                frequency,
                monetary: spend,
                average_order_value: spend / frequency,
                cadence_days: (frequency > 1.0).then(|| x(4)),
                tenure_days: x(5).round(),
                // Some visit counts are unknown.
                engagement: vec![if i % 17 == 0 {
                    None
                } else {
                    Some(x(6).round())
                }],
            });
            truth.push(p);
        }
    }
    (records, truth)
}

#[test]
fn behavioral_recovers_planted_personas_and_names_them() {
    let (records, truth) = planted_behaviour(400, 7);
    let seg = BehavioralSegmenter::new(4)
        .unwrap()
        .with_engagement(vec!["web_visits".into()]);
    let (model, _) = seg.fit(&records).unwrap();
    let labels: Vec<usize> = model
        .assign_batch(&records)
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let ari = adjusted_rand_index(&labels, &truth).unwrap();
    assert!(ari >= 0.9, "ARI {ari}");
    // Names by value and activity: the loyal spenders, the new, the lapsing, the lost.
    let persona_of = majority(&labels, &truth, 4, 4);
    for (s, p) in persona_of.iter().enumerate() {
        let name = model.segment_name(s).unwrap();
        let expected = ["loyal", "new", "at risk", "lost"][*p];
        assert!(
            name.contains(expected),
            "segment {s} (persona {p}) named {name:?}"
        );
    }
    // Missing visit counts and single-purchase cadences were imputed and counted.
    let imputed = model.model().imputed();
    assert_eq!(imputed[4], ("cadence_days".to_string(), 800));
    assert_eq!(
        imputed[6],
        (
            "web_visits".to_string(),
            records.iter().filter(|r| r.engagement[0].is_none()).count()
        )
    );
    // Profiles: sizes add up, the loyal segment's spend index is far above 100.
    let profiles = model.profiles();
    assert_eq!(profiles.iter().map(|p| p.size).sum::<usize>(), 1600);
    let loyal = persona_of.iter().position(|&p| p == 0).unwrap();
    let spend = profiles[loyal]
        .features
        .iter()
        .find(|f| f.feature == "monetary")
        .unwrap();
    assert!(spend.index.unwrap() > 200.0 && spend.z > 1.0, "{spend:?}");
    assert_eq!(profiles[loyal].distinguishing(1).len(), 1);
}

#[test]
fn behavioral_fit_is_thread_invariant_and_round_trips() {
    let (records, _) = planted_behaviour(300, 11);
    let seg = BehavioralSegmenter::new(5)
        .unwrap()
        .with_engagement(vec!["web_visits".into()]);
    let m1 = in_pool(1, || seg.fit(&records).unwrap().0);
    for t in [2, 16] {
        assert_eq!(
            in_pool(t, || seg.fit(&records).unwrap().0),
            m1,
            "{t} threads"
        );
    }
    let json = serde_json::to_string(&m1).unwrap();
    let back: BehavioralModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m1);
    assert_eq!(
        back.assign_batch(&records).unwrap(),
        m1.assign_batch(&records).unwrap()
    );
    // A corrupt model is an error: engagement columns that the features do not have, or a
    // clustering whose width does not match the prepared features.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["engagement"] = serde_json::json!([]);
    assert!(serde_json::from_value::<BehavioralModel>(v).is_err());
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["model"]["clustering"]["Centroids"]["centers"] =
        serde_json::json!({"v": 1, "dim": [5, 2], "data": vec![0.0; 10]});
    assert!(serde_json::from_value::<BehavioralModel>(v).is_err());
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["model"]["profiles"].as_array_mut().unwrap().pop();
    assert!(serde_json::from_value::<BehavioralModel>(v).is_err());
}

#[test]
fn behavioral_rejects_bad_records_and_settings() {
    let (mut records, _) = planted_behaviour(20, 3);
    let seg = BehavioralSegmenter::new(3)
        .unwrap()
        .with_engagement(vec!["web_visits".into()]);
    assert!(BehavioralSegmenter::new(0).is_err());
    assert!(seg.fit(&[]).is_err());
    assert!(
        BehavioralSegmenter::new(2)
            .unwrap()
            .with_strategy(Strategy::KPrototypes(KPrototypesParams::new(2).unwrap()))
            .is_err()
    );
    // k larger than the customers.
    assert!(
        BehavioralSegmenter::new(81)
            .unwrap()
            .with_engagement(vec!["web_visits".into()])
            .fit(&records)
            .is_err()
    );
    let (model, _) = seg.fit(&records).unwrap();
    let mut bad = records[5].clone();
    bad.monetary = f64::NAN;
    let e = model.assign(&bad).unwrap_err().to_string();
    assert!(e.contains("monetary"), "{e}");
    bad = records[5].clone();
    bad.engagement.clear();
    assert!(model.assign(&bad).is_err());
    records[9].recency_days = f64::INFINITY;
    let e = seg.fit(&records).unwrap_err().to_string();
    assert!(e.contains("row 9") && e.contains("recency_days"), "{e}");
    let mut m = model.clone();
    assert!(m.rename(3, "x").is_err());
    assert!(m.rename(0, " ").is_err());
    m.rename(0, "VIP").unwrap();
    assert_eq!(m.segment_name(0), Some("VIP"));
}

#[test]
fn behavioral_segments_of_cdnow() {
    let s = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let records: Vec<BehavioralRecord> = s.iter().map(BehavioralRecord::from_summary).collect();
    let (model, _) = BehavioralSegmenter::new(4).unwrap().fit(&records).unwrap();
    let labels = model.assign_batch(&records).unwrap();
    assert!(labels.iter().all(Option::is_some));
    let p = model.profiles();
    assert_eq!(p.iter().map(|p| p.size).sum::<usize>(), 2357);
    let mean = |p: &custseg::segment::SegmentProfile, f: &str| {
        p.features.iter().find(|x| x.feature == f).unwrap().mean
    };
    let argmax = |f: &str, sign: f64| {
        p.iter()
            .max_by(|a, b| (sign * mean(a, f)).total_cmp(&(sign * mean(b, f))))
            .unwrap()
            .segment
    };
    // The segment that buys most often also spends most and bought most recently, and is
    // named "high-value loyal"; the most lapsed segment is "lost" or "at risk".
    let best = argmax("frequency", 1.0);
    assert_eq!(best, argmax("monetary", 1.0));
    assert_eq!(best, argmax("recency_days", -1.0));
    assert_eq!(model.segment_name(best), Some("high-value loyal"));
    let lapsed = model.segment_name(argmax("recency_days", 1.0)).unwrap();
    assert!(
        lapsed.ends_with("lost") || lapsed.ends_with("at risk"),
        "{lapsed}"
    );
    // Six in ten bought once: most customers are in segments averaging under 2 purchases.
    let low: usize = p
        .iter()
        .filter(|s| mean(s, "frequency") < 2.0)
        .map(|s| s.size)
        .sum();
    assert!(low > 1400, "{low}");
    let mut names: Vec<&str> = p.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 4, "{names:?}");
}

/// Four planted demographic segments with some missing values.
fn planted_demographics(
    per: usize,
    seed: u64,
    with_extra: bool,
) -> (Vec<DemographicRecord>, Vec<usize>) {
    let spec = [
        (24.0f64, 25_000.0f64, "female", "bachelor", "north"),
        (41.0, 75_000.0, "male", "master", "south"),
        (57.0, 45_000.0, "female", "secondary", "east"),
        (72.0, 28_000.0, "male", "primary", "west"),
    ];
    let levels = |s: &str| -> Vec<String> {
        let all = match s {
            "female" | "male" => vec!["female", "male"],
            "north" | "south" | "east" | "west" => vec!["north", "south", "east", "west"],
            _ => vec!["primary", "secondary", "bachelor", "master"],
        };
        all.into_iter().map(String::from).collect()
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut records = Vec::new();
    let mut truth = Vec::new();
    for (p, (age, income, gender, edu, region)) in spec.iter().enumerate() {
        let age_d = Normal::new(*age, 3.5).unwrap();
        let income_d = LogNormal::new(income.ln(), 0.2).unwrap();
        for i in 0..per {
            // The planted level with probability 0.8, otherwise any level.
            let mut pick = |planted: &str| {
                if rng.r#gen::<f64>() < 0.8 {
                    planted.to_string()
                } else {
                    let l = levels(planted);
                    l[rng.gen_range(0..l.len())].clone()
                }
            };
            let (g, e, r) = (pick(gender), pick(edu), pick(region));
            records.push(DemographicRecord {
                age: Some(age_d.sample(&mut rng).round()),
                income: (i % 23 != 0).then(|| income_d.sample(&mut rng).round()),
                gender: Some(g),
                education: (i % 19 != 0).then_some(e),
                region: Some(r),
                household_size: Some(1.0 + (i % 4) as f64),
                extra: if with_extra {
                    vec![DemographicValue::Number(rng.gen_range(0.0..1.0))]
                } else {
                    vec![]
                },
                ..DemographicRecord::new(format!("d{p}-{i}"))
            });
            truth.push(p);
        }
    }
    (records, truth)
}

fn demographic_kproto(k: usize) -> DemographicSegmenter {
    DemographicSegmenter::kprototypes(k)
        .unwrap()
        .with_fields(&[
            DemographicField::Age,
            DemographicField::Gender,
            DemographicField::Income,
            DemographicField::Education,
            DemographicField::Region,
        ])
        .unwrap()
}

#[test]
fn demographic_kprototypes_recovers_planted_segments() {
    let (records, truth) = planted_demographics(400, 5, false);
    let seg = demographic_kproto(4);
    let (model, _) = seg.fit(&records).unwrap();
    let labels: Vec<usize> = model
        .assign_batch(&records)
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let ari = adjusted_rand_index(&labels, &truth).unwrap();
    assert!(ari >= 0.9, "ARI {ari}");
    // Missing incomes imputed (and counted); missing education is a level of its own.
    let missing_income = records.iter().filter(|r| r.income.is_none()).count();
    assert_eq!(
        model.imputed(),
        [
            ("age".to_string(), 0),
            ("income".to_string(), missing_income)
        ]
    );
    let missing_edu: f64 = model
        .profiles()
        .iter()
        .map(|p| {
            p.size as f64
                * p.features
                    .iter()
                    .find(|f| f.feature == "education=(missing)")
                    .unwrap()
                    .mean
        })
        .sum();
    assert_eq!(
        missing_edu.round() as usize,
        records.iter().filter(|r| r.education.is_none()).count()
    );
    // The oldest planted segment is named older, the youngest younger.
    let persona_of = majority(&labels, &truth, 4, 4);
    for (s, p) in persona_of.iter().enumerate() {
        let name = model.segment_name(s).unwrap();
        if *p == 0 {
            assert!(name.contains("younger"), "{name}");
        }
        if *p == 3 {
            assert!(name.contains("older"), "{name}");
        }
    }
    // Thread invariance and serde.
    for t in [1, 16] {
        assert_eq!(in_pool(t, || seg.fit(&records).unwrap().0), model);
    }
    let back: DemographicModel =
        serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
    assert_eq!(back, model);
}

#[test]
fn demographic_extra_columns_and_record_errors() {
    let (mut records, _) = planted_demographics(30, 2, true);
    let extra = vec![ExtraColumn {
        name: "loyalty_score".into(),
        numeric: true,
    }];
    let seg = demographic_kproto(3).with_extra(extra.clone()).unwrap();
    let (model, _) = seg.fit(&records).unwrap();
    assert!(
        model.profiles()[0]
            .features
            .iter()
            .any(|f| f.feature == "loyalty_score")
    );
    // Extra columns: a standard name, a repeated name.
    assert!(
        demographic_kproto(3)
            .with_extra(vec![ExtraColumn {
                name: "age".into(),
                numeric: true
            }])
            .is_err()
    );
    assert!(
        demographic_kproto(3)
            .with_extra(vec![extra[0].clone(), extra[0].clone()])
            .is_err()
    );
    assert!(
        demographic_kproto(3)
            .with_fields(&[DemographicField::Age, DemographicField::Age])
            .is_err()
    );
    // A category in a numeric extra column names the customer.
    let mut bad = records[3].clone();
    bad.extra = vec![DemographicValue::Category("gold".into())];
    let e = model.assign(&bad).unwrap_err().to_string();
    assert!(
        e.contains(bad.customer_id.as_ref()) && e.contains("loyalty_score"),
        "{e}"
    );
    bad.extra = vec![];
    assert!(model.assign(&bad).is_err());
    // Negative or NaN ages, duplicate ids, a field with no value at all, k > n.
    bad = records[3].clone();
    bad.age = Some(-4.0);
    assert!(model.assign(&bad).is_err());
    bad.age = Some(f64::NAN);
    assert!(model.assign(&bad).is_err());
    let mut dup = records.clone();
    dup[7].customer_id = dup[8].customer_id.clone();
    assert!(seg.fit(&dup).is_err());
    let no_occupation = demographic_kproto(3)
        .with_fields(&[DemographicField::Age, DemographicField::Occupation])
        .unwrap()
        .with_extra(extra.clone());
    // Occupation is unknown for everyone: a level "(missing)" for all, a legitimate (if
    // useless) column; household size unknown for everyone is an error.
    assert!(no_occupation.unwrap().fit(&records).is_ok());
    let no_household = demographic_kproto(3)
        .with_fields(&[DemographicField::Age, DemographicField::HouseholdSize])
        .unwrap()
        .with_extra(extra)
        .unwrap();
    for r in &mut records {
        r.household_size = None;
    }
    let e = no_household.fit(&records).unwrap_err().to_string();
    assert!(e.contains("household_size"), "{e}");
    assert!(
        demographic_kproto(121)
            .fit(&planted_demographics(30, 2, false).0)
            .is_err()
    );
    assert!(demographic_kproto(3).fit(&[]).is_err());
    assert!(DemographicSegmenter::kprototypes(0).is_err());
    assert!(
        DemographicSegmenter::bands()
            .with_mode(DemographicMode::Bands {
                age_cuts: vec![30.0, 20.0],
                income: IncomeTiers::None
            })
            .is_err()
    );
}

/// The BFI survey's demographics: gender (1 male, 2 female), education (1–5, 223 missing),
/// age.
fn bfi() -> Vec<DemographicRecord> {
    let text = std::fs::read_to_string(format!(
        "{}/tests/data/bfi_big_five.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (id, gender, education, age) = (col("id"), col("gender"), col("education"), col("age"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            DemographicRecord {
                age: Some(f[age].parse().unwrap()),
                gender: Some(match f[gender] {
                    "1" => "male".to_string(),
                    "2" => "female".to_string(),
                    g => panic!("gender {g}"),
                }),
                education: (!f[education].is_empty())
                    .then(|| format!("education {}", f[education])),
                ..DemographicRecord::new(f[id])
            }
        })
        .collect()
}

const BFI_FIELDS: [DemographicField; 3] = [
    DemographicField::Age,
    DemographicField::Gender,
    DemographicField::Education,
];

#[test]
fn bfi_age_bands() {
    let people = bfi();
    assert_eq!(people.len(), 2800);
    let (model, _) = DemographicSegmenter::bands()
        .with_fields(&BFI_FIELDS)
        .unwrap()
        .fit(&people)
        .unwrap();
    // No income field: age bands only, plus "age unknown".
    let names: Vec<&str> = (0..model.profiles().len())
        .map(|s| model.segment_name(s).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "< 25",
            "25–34",
            "35–44",
            "45–54",
            "55–64",
            "65+",
            "age unknown"
        ]
    );
    let cuts = [25.0, 35.0, 45.0, 55.0, 65.0];
    for (s, p) in model.profiles().iter().enumerate() {
        let expected = people
            .iter()
            .filter(|r| cuts.partition_point(|&c| c <= r.age.unwrap()) == s)
            .count();
        assert_eq!(p.size, expected, "{}", p.name);
    }
    // Education is missing for 223 people: counted as its own level, not dropped.
    let missing: f64 = model
        .profiles()
        .iter()
        .map(|p| {
            p.size as f64
                * p.features
                    .iter()
                    .find(|f| f.feature == "education=(missing)")
                    .unwrap()
                    .mean
        })
        .sum();
    assert_eq!(missing.round(), 223.0);
    // Band mode imputes nothing.
    assert_eq!(model.imputed(), [("age".to_string(), 0)]);
    // A new person of 30 with unknown gender and education lands in 25–34.
    let newcomer = DemographicRecord {
        age: Some(30.0),
        ..DemographicRecord::new("new")
    };
    assert_eq!(model.assign(&newcomer).unwrap(), Some(1));
    let unknown = DemographicRecord::new("unknown age");
    assert_eq!(model.assign(&unknown).unwrap(), Some(6));
}

#[test]
fn bfi_kprototypes() {
    let people = bfi();
    let seg = DemographicSegmenter::kprototypes(4)
        .unwrap()
        .with_fields(&BFI_FIELDS)
        .unwrap();
    let model = in_pool(1, || seg.fit(&people).unwrap().0);
    assert_eq!(in_pool(16, || seg.fit(&people).unwrap().0), model);
    // One numeric column, standardised (no age is missing): kmodes' default weight is
    // 0.5 × its standard deviation = 0.5.
    let Clustering::Prototypes { gamma, .. } = model.model().clustering() else {
        panic!("k-prototypes expected")
    };
    assert!((gamma - 0.5).abs() < 1e-12, "{gamma}");
    let labels = model.assign_batch(&people).unwrap();
    assert!(labels.iter().all(Option::is_some));
    let sizes: Vec<usize> = model.profiles().iter().map(|p| p.size).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 2800);
    assert!(sizes.iter().all(|&s| s > 100), "{sizes:?}");
    // Segments differ in age: the oldest segment's mean age is well above the youngest's.
    let ages: Vec<f64> = model
        .profiles()
        .iter()
        .map(|p| p.features[0].mean)
        .collect();
    let (lo, hi) = ages
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(hi - lo > 15.0, "{ages:?}");
    let back: DemographicModel =
        serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
    assert_eq!(back.assign_batch(&people).unwrap(), labels);
}

#[test]
fn income_tiers_and_corrupt_demographic_models() {
    let (records, _) = planted_demographics(100, 9, false);
    let (model, _) = DemographicSegmenter::bands()
        .with_fields(&[DemographicField::Age, DemographicField::Income])
        .unwrap()
        .fit(&records)
        .unwrap();
    // Six age bands and "age unknown" × three tertiles and "income unknown".
    assert_eq!(model.profiles().len(), 7 * 4);
    let tier_sizes: Vec<usize> = (0..4)
        .map(|t| {
            model
                .profiles()
                .iter()
                .filter(|p| p.segment % 4 == t)
                .map(|p| p.size)
                .sum()
        })
        .collect();
    let known = records.iter().filter(|r| r.income.is_some()).count();
    assert_eq!(tier_sizes[3], 400 - known);
    for &s in &tier_sizes[..3] {
        assert!(
            (s as f64 - known as f64 / 3.0).abs() <= 2.0,
            "{tier_sizes:?}"
        );
    }
    let (fixed, _) = DemographicSegmenter::bands()
        .with_mode(DemographicMode::Bands {
            age_cuts: vec![],
            income: IncomeTiers::Cuts {
                cuts: vec![50_000.0],
                labels: vec!["under 50k".into(), "50k+".into()],
            },
        })
        .unwrap()
        .with_fields(&[DemographicField::Income])
        .unwrap()
        .fit(&records)
        .unwrap();
    assert_eq!(fixed.segment_name(1), Some("50k+"));
    let json = serde_json::to_string(&model).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["layout"]["bands"]["age"]["labels"]
        .as_array_mut()
        .unwrap()
        .pop();
    assert!(serde_json::from_value::<DemographicModel>(v).is_err());
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["layout"]["fields"] = serde_json::json!(["Age"]);
    assert!(serde_json::from_value::<DemographicModel>(v).is_err());
}
