//! Geographic lookups for 1M customers against the 34k places of GeoNames' `cities15000`:
//! nearest city and urbanicity.
//!
//! ```text
//! cargo bench --bench geo
//! CUSTSEG_BENCH_CUSTOMERS=100000 cargo bench --bench geo
//! ```
//!
//! Cities: `CUSTSEG_GEONAMES` or `../shared/data/geonames_cities15000.csv`; without either,
//! the French subset in `tests/data/geonames_fr.csv` (692 places; the figures then are not
//! the 34k-city ones, and the bench says so). Customers: `datasets::scattered_locations(n,
//! cities, 2024)`, half near cities, half anywhere on the globe.
//! `benches/peers/compare.sh geo` runs scikit-learn's BallTree (haversine) on the same points
//! in the same session.
//!
//! `density_dbscan` is the geographic segmenter's density mode (DBSCAN on 3-D unit vectors,
//! eps 25 km as a chord, 10 customers) on the first 100k of the customers; the peer is
//! scikit-learn's DBSCAN with the haversine metric (a ball tree) on the same points.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use custseg::Fit;
use custseg::datasets::scattered_locations;
use custseg::geo::{City, UrbanicityRule, nearest_city, urbanicity};
use custseg::geo::{GeoPoint, SphereIndex};
use custseg::segment::{GeoMode, GeoRecord, GeographicSegmenter};
use std::hint::black_box;

mod common;

fn cities() -> Vec<City> {
    let root = env!("CARGO_MANIFEST_DIR");
    let path = std::env::var("CUSTSEG_GEONAMES")
        .unwrap_or_else(|_| format!("{root}/../shared/data/geonames_cities15000.csv"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        eprintln!("{path} not found: using the French subset (692 places)");
        std::fs::read_to_string(format!("{root}/tests/data/geonames_fr.csv"))
            .expect("shipped subset")
    });
    City::parse_csv(&text).expect("valid cities table")
}

fn bench(c: &mut Criterion) {
    let n = common::customers();
    let cities = cities();
    let around: Vec<GeoPoint> = cities.iter().map(|c| c.location).collect();
    let points = scattered_locations(n, &around, common::SEED).expect("places given");
    eprintln!(
        "{} customers, {} cities, {} threads",
        points.len(),
        cities.len(),
        rayon::current_num_threads()
    );
    let mut g = c.benchmark_group("geo");
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("index_build", cities.len()), |b| {
        b.iter(|| SphereIndex::new(black_box(&around)))
    });
    // Index build included: this is the whole job a caller asks for.
    g.bench_function(BenchmarkId::new("nearest_city", n), |b| {
        b.iter(|| nearest_city(black_box(&points), &cities))
    });
    let rule = UrbanicityRule::default();
    g.bench_function(BenchmarkId::new("urbanicity", n), |b| {
        b.iter(|| urbanicity(black_box(&points), &cities, &rule))
    });
    let m = n.min(100_000);
    let records: Vec<GeoRecord> = points[..m]
        .iter()
        .enumerate()
        .map(|(i, p)| GeoRecord::new(format!("c{i}"), p.lat(), p.lon()))
        .collect();
    let density = GeographicSegmenter::new(GeoMode::Density {
        eps_km: 25.0,
        min_points: 10,
    })
    .expect("valid mode");
    g.bench_function(BenchmarkId::new("density_dbscan", m), |b| {
        b.iter(|| density.fit(black_box(&records[..])).expect("fits"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
