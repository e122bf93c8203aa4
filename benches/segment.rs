//! Clustering strategies compared on the same planted data: every strategy on 100k × 8 and
//! 1M × 8 points (`datasets::blobs(&BlobsConfig::new(n, 8, 8).with_seed(2024))`, 8 clusters), plus k-means on
//! overlapping clusters (spread 3.0), where Lloyd iterates instead of converging at once.
//!
//! ```text
//! cargo bench --bench segment
//! CUSTSEG_BENCH_SIZES=100000 cargo bench --bench segment
//! CUSTSEG_BENCH_SLOW=1 cargo bench --bench segment     # also DBSCAN at 1M
//! ```
//!
//! k-prototypes runs on `datasets::mixed_blobs(&BlobsConfig::new(n, 5, 8).with_categorical(3, 6).with_seed(2024))`: the same number of
//! points and columns, 3 of them categorical. Rule bands (two median cuts) are the
//! no-learning baseline. linfa's strategies are slow at 1M points (k-means with 10 restarts
//! about 70 s a fit on 2 cores, DBSCAN minutes), so criterion's ten samples would take most of
//! an hour: at 1M they run only with `CUSTSEG_BENCH_SLOW=1`, and
//! `cargo run --release --example compare_strategies 1000000` times one fit of each.
//!
//! `benches/peers/compare.sh cluster` runs scikit-learn (KMeans, MiniBatchKMeans,
//! GaussianMixture) and kmodes (KPrototypes) on the same points, exported by
//! `examples/export_blobs.rs`, in the same session. `gmm_custseg` is our Gaussian mixture with
//! scikit-learn's defaults; `gmm_linfa` linfa's, kept for comparison.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use custseg::datasets::{BlobsConfig, blobs, mixed_blobs};
use custseg::segment::{
    DbscanParams, GaussianMixtureParams, KMeansParams, KPrototypesParams, MiniBatchParams,
    RuleBands, Strategy,
};
use ndarray::Array2;
use std::hint::black_box;

/// The strategy fitted on numeric and categorical columns, with the training labels.
fn fit_strategy<'a>(
    s: &Strategy,
    numeric: ndarray::ArrayView2<'a, f64>,
    categorical: ndarray::ArrayView2<'a, u32>,
) -> custseg::Result<(custseg::segment::Clustering, Vec<Option<usize>>)> {
    use custseg::Fit;
    s.fit(&custseg::segment::Points::mixed(numeric, categorical))
        .map(|(c, r)| (c, r.labels))
}

fn sizes() -> Vec<usize> {
    std::env::var("CUSTSEG_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100_000, 1_000_000])
}

fn slow() -> bool {
    std::env::var("CUSTSEG_BENCH_SLOW").is_ok_and(|v| v == "1")
}

fn median(v: ndarray::ArrayView1<'_, f64>) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("segment");
    g.sample_size(10);
    for n in sizes() {
        let b = blobs(&BlobsConfig::new(n, 8, 8).with_seed(2024)).expect("valid blobs");
        let mixed = mixed_blobs(
            &BlobsConfig::new(n, 5, 8)
                .with_categorical(3, 6)
                .with_seed(2024),
        )
        .expect("valid blobs");
        let no_cat = Array2::<u32>::zeros((n, 0));
        let bands = RuleBands::new(vec![
            (
                0,
                vec![median(b.data.column(0))],
                vec!["low".into(), "high".into()],
            ),
            (
                1,
                vec![median(b.data.column(1))],
                vec!["low".into(), "high".into()],
            ),
        ])
        .expect("valid");
        let mut numeric = vec![
            (
                "kmeans_custseg_ninit10",
                Strategy::KMeans(KMeansParams::new(8).expect("valid")),
            ),
            (
                "kmeans_custseg_ninit1",
                Strategy::KMeans(
                    KMeansParams::new(8)
                        .expect("valid")
                        .with_n_init(1)
                        .expect("valid"),
                ),
            ),
            // The settings compare.sh gives scikit-learn's MiniBatchKMeans (batches of 4,096,
            // best of 3 seedings); early stopping makes the step count vary with the seed.
            (
                "kmeans_minibatch",
                Strategy::MiniBatchKMeans(
                    MiniBatchParams::new(8)
                        .and_then(|p| p.with_batch_size(4096))
                        .and_then(|p| p.with_n_init(3))
                        .expect("valid"),
                ),
            ),
            ("rule_bands", Strategy::RuleBands(bands)),
            // scikit-learn's GaussianMixture defaults (full, one k-means start, tol 1e-3).
            (
                "gmm_custseg",
                Strategy::GaussianMixture(GaussianMixtureParams::new(8).expect("valid")),
            ),
        ];
        // scikit-learn's DBSCAN settings in compare.sh (eps 1.5, min_samples 10); in 8-D every
        // neighbourhood holds thousands of points, so only up to 100k (the peer's limit too).
        if n <= 100_000 {
            numeric.push((
                "dbscan_custseg",
                Strategy::Dbscan(DbscanParams::new(1.5, 10).expect("valid")),
            ));
        }
        // linfa's strategies at 1M only on request (see the module docs).
        let all = n <= 100_000 || slow();
        if all {
            numeric.push((
                "kmeans_linfa_ninit10",
                Strategy::LinfaKMeans(
                    KMeansParams::new(8)
                        .expect("valid")
                        .with_n_init(10)
                        .expect("valid"),
                ),
            ));
            numeric.push((
                "gmm_linfa",
                Strategy::LinfaGaussianMixture(GaussianMixtureParams::new(8).expect("valid")),
            ));
            numeric.push((
                "dbscan_linfa",
                Strategy::LinfaDbscan(DbscanParams::new(1.5, 10).expect("valid")),
            ));
        }
        // DBSCAN where it is used most, on low-dimensional dense data (locations are 3-D
        // chords): 8 planted clusters in 2-D, eps 0.05, min_points 10 (compare.sh runs
        // scikit-learn's DBSCAN on the same points).
        let flat = blobs(&BlobsConfig::new(n, 2, 8).with_seed(2024)).expect("valid blobs");
        let dbscan_2d = Strategy::Dbscan(DbscanParams::new(0.05, 10).expect("valid"));
        let no_cat_2d = Array2::<u32>::zeros((n, 0));
        g.bench_function(BenchmarkId::new("dbscan_custseg_2d", n), |bench| {
            bench.iter(|| {
                fit_strategy(black_box(&dbscan_2d), flat.data.view(), no_cat_2d.view())
                    .expect("fits")
            })
        });
        for (name, s) in &numeric {
            g.bench_function(BenchmarkId::new(*name, n), |bench| {
                bench.iter(|| {
                    fit_strategy(black_box(s), b.data.view(), no_cat.view()).expect("fits")
                })
            });
        }
        let kp = Strategy::KPrototypes(KPrototypesParams::new(8).expect("valid"));
        g.bench_function(BenchmarkId::new("kprototypes_ninit5", n), |bench| {
            bench.iter(|| {
                fit_strategy(
                    black_box(&kp),
                    mixed.numeric.view(),
                    mixed.categorical.view(),
                )
                .expect("fits")
            })
        });
        let kp1 = Strategy::KPrototypes(
            KPrototypesParams::new(8)
                .and_then(|p| p.with_n_init(1))
                .expect("valid"),
        );
        g.bench_function(BenchmarkId::new("kprototypes_ninit1", n), |bench| {
            bench.iter(|| {
                fit_strategy(
                    black_box(&kp1),
                    mixed.numeric.view(),
                    mixed.categorical.view(),
                )
                .expect("fits")
            })
        });
        // Overlapping clusters: Lloyd iterates (dozens of rounds), so this measures the
        // iterations rather than the seeding.
        let hard = blobs(&BlobsConfig::new(n, 8, 8).with_spread(3.0).with_seed(2024))
            .expect("valid blobs");
        let mut overlap = vec![(
            "overlap_kmeans_custseg_ninit10",
            Strategy::KMeans(KMeansParams::new(8).expect("valid")),
        )];
        if all {
            overlap.push((
                "overlap_kmeans_linfa_ninit10",
                Strategy::LinfaKMeans(
                    KMeansParams::new(8)
                        .expect("valid")
                        .with_n_init(10)
                        .expect("valid"),
                ),
            ));
        }
        for (name, s) in overlap {
            g.bench_function(BenchmarkId::new(name, n), |bench| {
                bench.iter(|| {
                    fit_strategy(black_box(&s), hard.data.view(), no_cat.view()).expect("fits")
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
