//! Geographic segmentation on real places: urbanicity around Paris and in rural Auvergne,
//! nearest-city lookups against brute force, and the region, density, k-means and
//! trade-area modes. The French cities of GeoNames' `cities15000` table ship in
//! `tests/data/geonames_fr.csv`; the full world table (`../shared/data`) is used when present.

use custseg::geo::GeoPoint;
use custseg::geo::{City, Urbanicity, UrbanicityRule, nearest_city, urbanicity};
use custseg::segment::{
    GeoMode, GeoRecord, GeographicModel, GeographicSegmenter, KMeansParams, Store,
    adjusted_rand_index,
};
use custseg::{Assign, Fit};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn french_cities() -> Vec<City> {
    let text = std::fs::read_to_string(format!(
        "{}/tests/data/geonames_fr.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    City::parse_csv(&text).unwrap()
}

fn world_cities() -> Option<Vec<City>> {
    let path = format!(
        "{}/../shared/data/geonames_cities15000.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path)
        .ok()
        .map(|t| City::parse_csv(&t).unwrap())
}

fn p(lat: f64, lon: f64) -> GeoPoint {
    GeoPoint::new(lat, lon).unwrap()
}

#[test]
fn paris_is_urban_its_ring_suburban_and_auvergne_rural() {
    let cities = french_cities();
    assert_eq!(cities.len(), 692);
    let rule = UrbanicityRule::default();
    // Notre-Dame de Paris.
    let centre = urbanicity(&[p(48.8530, 2.3499)], &cities, &rule);
    assert_eq!(centre[0].class, Urbanicity::Urban);
    // Twelve points 30 km from the centre of Paris (GeoNames' coordinates), every 30° of
    // bearing (destinations computed with the spherical direct formula in Python): all in
    // the suburban ring, whether Paris itself or a satellite town decides.
    let ring = [
        (49.1232, 2.3488),
        (49.0869, 2.5548),
        (48.9878, 2.7049),
        (48.8527, 2.7588),
        (48.7180, 2.7029),
        (48.6196, 2.5529),
        (48.5836, 2.3488),
        (48.6196, 2.1447),
        (48.7180, 1.9947),
        (48.8527, 1.9388),
        (48.9878, 1.9927),
        (49.0869, 2.1428),
    ];
    let ring: Vec<GeoPoint> = ring.iter().map(|&(a, b)| p(a, b)).collect();
    for (i, s) in urbanicity(&ring, &cities, &rule).iter().enumerate() {
        assert_eq!(s.class, Urbanicity::Suburban, "bearing {}°: {s:?}", i * 30);
    }
    // Due south (48.5836° N, 2.3488° E) Paris itself decides, at 30 km.
    let south = urbanicity(&ring[6..7], &cities, &rule)[0];
    assert_eq!(cities[south.city.unwrap()].name, "Paris");
    // (The coordinates are rounded to 4 decimals: a few metres.)
    assert!((south.distance_km.unwrap() - 30.0).abs() < 0.01);
    // Rural Auvergne: Allanche and Salers (Cantal), Murat, and the Aubrac plateau.
    let auvergne = [
        p(45.23, 2.93),
        p(45.1378, 2.4961),
        p(45.11, 2.87),
        p(44.95, 2.95),
    ];
    for s in urbanicity(&auvergne, &cities, &rule) {
        assert_eq!(s.class, Urbanicity::Rural, "{s:?}");
        assert!(s.city.is_none());
    }
    // Clermont-Ferrand's own centre is urban.
    let clermont = urbanicity(&[p(45.7797, 3.0868)], &cities, &rule);
    assert_eq!(clermont[0].class, Urbanicity::Urban);
}

/// The rule applied by brute force over every city.
fn brute_urbanicity(
    q: &GeoPoint,
    cities: &[City],
    rule: &UrbanicityRule,
) -> (Urbanicity, Option<usize>) {
    let mut best: Option<(f64, usize)> = None;
    for (i, c) in cities.iter().enumerate() {
        if c.population < rule.min_population() {
            continue;
        }
        let ratio =
            q.distance_km(&c.location) / (rule.urban_km() * (c.population as f64 / 1e5).sqrt());
        if ratio <= rule.suburban_factor() && best.is_none_or(|b| ratio < b.0) {
            best = Some((ratio, i));
        }
    }
    match best {
        Some((r, i)) if r <= 1.0 => (Urbanicity::Urban, Some(i)),
        Some((_, i)) => (Urbanicity::Suburban, Some(i)),
        None => (Urbanicity::Rural, None),
    }
}

#[test]
fn lookups_agree_with_brute_force() {
    let cities = world_cities().unwrap_or_else(french_cities);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    // 10,000 points: half anywhere on the globe (uniform on the sphere), half near cities.
    let points: Vec<GeoPoint> = (0..10_000)
        .map(|i| {
            if i % 2 == 0 {
                let z: f64 = rng.gen_range(-1.0..1.0);
                p(z.asin().to_degrees(), rng.gen_range(-180.0..180.0))
            } else {
                let c = &cities[rng.gen_range(0..cities.len())];
                let lat = (c.location.lat() + rng.gen_range(-0.3..0.3)).clamp(-90.0, 90.0);
                let lon = (c.location.lon() + rng.gen_range(-0.3..0.3)).clamp(-180.0, 180.0);
                p(lat, lon)
            }
        })
        .collect();
    let found = nearest_city(&points, &cities);
    // Brute force over the world's cities is the slow half of this test: every fifth query
    // (2,000, both kinds) is checked against it.
    for (q, f) in points.iter().zip(&found).step_by(5) {
        let (i, d) = f.unwrap();
        let brute = cities
            .iter()
            .map(|c| q.distance_km(&c.location))
            .fold(f64::INFINITY, f64::min);
        assert!((d - brute).abs() < 1e-6, "{q:?}: {d} vs {brute}");
        assert!((q.distance_km(&cities[i].location) - brute).abs() < 1e-6);
    }
    let rule = UrbanicityRule::default();
    let scores = urbanicity(&points[..2_000], &cities, &rule);
    for (q, s) in points.iter().zip(&scores) {
        let (class, city) = brute_urbanicity(q, &cities, &rule);
        assert_eq!(s.class, class, "{q:?}");
        if let (Some(a), Some(b)) = (s.city, city) {
            // Ties aside, the same deciding city.
            let ratio = |i: usize| {
                q.distance_km(&cities[i].location)
                    / (3.0 * (cities[i].population as f64 / 1e5).sqrt())
            };
            assert!((ratio(a) - ratio(b)).abs() < 1e-9);
        }
    }
}

/// Customers around three French cities (within ~5 km), plus scattered ones.
fn clustered(seed: u64) -> (Vec<GeoRecord>, Vec<usize>) {
    let centres = [(45.75, 4.85), (43.30, 5.38), (44.84, -0.58)]; // Lyon, Marseille, Bordeaux
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut records = Vec::new();
    let mut truth = Vec::new();
    for (c, (lat, lon)) in centres.iter().enumerate() {
        for i in 0..300 {
            let r = rng.gen_range(0.0..0.045);
            let a = rng.gen_range(0.0..std::f64::consts::TAU);
            records.push(GeoRecord::new(
                format!("c{c}-{i}"),
                lat + r * a.sin(),
                lon + r * a.cos() / lat.to_radians().cos(),
            ));
            truth.push(c);
        }
    }
    for i in 0..20 {
        records.push(GeoRecord::new(
            format!("far{i}"),
            rng.gen_range(46.0..49.0),
            rng.gen_range(0.0..3.0),
        ));
        truth.push(3);
    }
    (records, truth)
}

#[test]
fn density_and_kmeans_on_the_sphere() {
    let (records, truth) = clustered(3);
    let cities = french_cities();
    let density = GeographicSegmenter::new(GeoMode::Density {
        eps_km: 2.0,
        min_points: 10,
    })
    .unwrap()
    .with_cities(cities.clone());
    let pool = |t: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build()
            .unwrap()
    };
    let model = pool(1).install(|| density.fit(&records).unwrap().0);
    assert_eq!(pool(16).install(|| density.fit(&records).unwrap().0), model);
    assert_eq!(model.profiles().len(), 3);
    assert_eq!(model.noise(), 20);
    let labels = model.assign_batch(&records).unwrap();
    let assigned: Vec<usize> = labels[..900].iter().map(|l| l.unwrap()).collect();
    assert_eq!(adjusted_rand_index(&assigned, &truth[..900]).unwrap(), 1.0);
    assert!(labels[900..].iter().all(Option::is_none));
    let mut names: Vec<&str> = model.profiles().iter().map(|p| p.name.as_str()).collect();
    names.sort();
    assert!(
        names[0].starts_with("around Bordeaux")
            || names[0].contains("Bordeaux")
            || names[0].starts_with("around "),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.contains("Lyon") || n.contains("Villeurbanne")),
        "{names:?}"
    );
    assert!(names.iter().any(|n| n.contains("Marseille")), "{names:?}");
    for p in model.profiles() {
        assert_eq!(p.size, 300);
        assert!(p.mean_km < 5.0 && p.p90_km < 5.5, "{p:?}");
    }
    // A new customer in Lyon joins Lyon's segment; one in the Alps none.
    let lyon = model.assign(&GeoRecord::new("new", 45.751, 4.851)).unwrap();
    assert_eq!(lyon, labels[0]);
    assert_eq!(
        model.assign(&GeoRecord::new("alps", 45.9, 6.9)).unwrap(),
        None
    );

    let (km, _) = GeographicSegmenter::new(GeoMode::KMeans(KMeansParams::new(3).unwrap()))
        .unwrap()
        .fit(&records[..900])
        .unwrap();
    let l: Vec<usize> = km
        .assign_batch(&records[..900])
        .unwrap()
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(adjusted_rand_index(&l, &truth[..900]).unwrap(), 1.0);
    let back: GeographicModel =
        serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
    assert_eq!(back.assign_batch(&records).unwrap(), labels);
}

#[test]
fn regions_roll_up_and_trade_areas() {
    // Country › state › postal prefix: FR/11/75 large, FR/11/92 small, FR/84 small groups,
    // DE/BY small.
    let mut records = Vec::new();
    let mut add = |n: usize, codes: [&str; 3]| {
        for _ in 0..n {
            let i = records.len();
            let mut r = GeoRecord::new(format!("r{i}"), 48.0, 2.0);
            r.regions = codes
                .iter()
                .map(|c| (!c.is_empty()).then(|| c.to_string()))
                .collect();
            records.push(r);
        }
    };
    add(50, ["FR", "11", "75"]);
    add(4, ["FR", "11", "92"]);
    add(5, ["FR", "11", "93"]);
    add(6, ["FR", "84", "69"]);
    add(7, ["FR", "84", "38"]);
    add(3, ["DE", "BY", "80"]);
    add(2, ["", "", ""]);
    let (model, _) = GeographicSegmenter::new(GeoMode::Regions {
        depth: 3,
        min_size: 10,
    })
    .unwrap()
    .fit(&records)
    .unwrap();
    let names: Vec<(&str, usize)> = model
        .profiles()
        .iter()
        .map(|p| (p.name.as_str(), p.size))
        .collect();
    // FR/11/92 and 93 pool into FR › 11 › (other) = 9 < 10, which rolls up to FR › (other),
    // still 9, and on to the top "(other)" with DE (3) and the unknown (2); FR/84's two
    // small groups pool into FR › 84 › (other) = 13, large enough to stand.
    assert_eq!(
        names,
        [
            ("(other)", 14),
            ("FR › 11 › 75", 50),
            ("FR › 84 › (other)", 13)
        ]
    );
    assert_eq!(names.iter().map(|n| n.1).sum::<usize>(), records.len());
    let mut new = GeoRecord::new("new", 48.0, 2.0);
    new.regions = vec![Some("FR".into()), Some("11".into()), Some("91".into())];
    assert_eq!(model.assign(&new).unwrap(), Some(0));
    new.regions[1] = Some("84".into());
    assert_eq!(model.assign(&new).unwrap(), Some(2));

    let stores = vec![
        Store {
            name: "Lyon Part-Dieu".into(),
            location: p(45.7606, 4.8593),
        },
        Store {
            name: "Marseille Vieux-Port".into(),
            location: p(43.2951, 5.3744),
        },
    ];
    let (customers, _) = clustered(5);
    let (trade, _) = GeographicSegmenter::new(GeoMode::TradeAreas {
        stores: stores.clone(),
        radius_km: 15.0,
    })
    .unwrap()
    .fit(&customers)
    .unwrap();
    let sizes: Vec<(&str, usize)> = trade
        .profiles()
        .iter()
        .map(|p| (p.name.as_str(), p.size))
        .collect();
    assert_eq!(sizes[0], ("Lyon Part-Dieu", 300));
    assert_eq!(sizes[1], ("Marseille Vieux-Port", 300));
    assert_eq!(sizes[2].0, "outside trade areas");
    assert_eq!(sizes[2].1, 320);
}

#[test]
fn bad_locations_and_settings_are_errors() {
    let ok = GeographicSegmenter::new(GeoMode::KMeans(KMeansParams::new(2).unwrap())).unwrap();
    let mut records: Vec<GeoRecord> = (0..10)
        .map(|i| GeoRecord::new(format!("c{i}"), 45.0 + i as f64 * 0.1, 3.0))
        .collect();
    assert!(ok.fit(&[]).is_err());
    records[4].lat = 95.0;
    let e = ok.fit(&records).unwrap_err().to_string();
    assert!(e.contains("c4") && e.contains("latitude"), "{e}");
    records[4].lat = f64::NAN;
    assert!(ok.fit(&records).is_err());
    records[4].lat = 45.0;
    records[4].lon = -181.0;
    assert!(ok.fit(&records).is_err());
    records[4].lon = 3.0;
    records[5].customer_id = records[6].customer_id.clone();
    assert!(ok.fit(&records).is_err());
    records[5].customer_id = "c5".into();
    assert!(
        GeographicSegmenter::new(GeoMode::KMeans(KMeansParams::new(11).unwrap()))
            .unwrap()
            .fit(&records)
            .is_err()
    );
    // Urbanicity needs cities; invalid settings.
    let urb = GeographicSegmenter::new(GeoMode::Urbanicity(UrbanicityRule::default())).unwrap();
    assert!(urb.fit(&records).is_err());
    for mode in [
        GeoMode::Regions {
            depth: 0,
            min_size: 5,
        },
        GeoMode::Density {
            eps_km: -1.0,
            min_points: 5,
        },
        GeoMode::Density {
            eps_km: f64::NAN,
            min_points: 5,
        },
        GeoMode::TradeAreas {
            stores: vec![],
            radius_km: 5.0,
        },
    ] {
        assert!(GeographicSegmenter::new(mode.clone()).is_err(), "{mode:?}");
    }
    assert!(UrbanicityRule::new(3.0, 0.5, 15_000).is_err());
    // Urbanicity as a segmentation: three named segments; serde round trip; corrupt input.
    let (model, _) = urb.with_cities(french_cities()).fit(&records).unwrap();
    let names: Vec<&str> = model.profiles().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["urban", "suburban", "rural"]);
    let json = serde_json::to_string(&model).unwrap();
    let back: GeographicModel = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back.assign_batch(&records).unwrap(),
        model.assign_batch(&records).unwrap()
    );
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["cities"] = serde_json::json!([]);
    assert!(serde_json::from_value::<GeographicModel>(v).is_err());
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["profiles"].as_array_mut().unwrap().pop();
    assert!(serde_json::from_value::<GeographicModel>(v).is_err());
    // A cities table with a bad line names it.
    let e = City::parse_csv("name,latitude,longitude,population\nA,1,2,3\nB,x,2,3\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 3"), "{e}");
}
