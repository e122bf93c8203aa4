//! Every clustering strategy on the same planted data: time, inertia, silhouette (sampled),
//! Calinski-Harabasz, Davies-Bouldin and adjusted Rand index against the planted labels.
//!
//! ```text
//! cargo run --release --example compare_strategies [n] [spread]
//! ```
//!
//! The data: `datasets::blobs(&BlobsConfig::new(n, 8, 8).with_spread(spread).with_seed(2024))` — n points (default 100,000) in 8
//! dimensions around 8 planted centres, each coordinate with standard deviation `spread`
//! (default 1.0: well separated; 3.0 makes the clusters overlap and k-means iterate).
//! k-prototypes needs categorical columns, so it runs on `datasets::mixed_blobs(&BlobsConfig::new(n, 5, 8).with_categorical(3, 6).with_seed(//! 2024))` (5 numeric + 3 categorical columns, same size); its metrics are on the 5 numeric
//! columns. Rule bands cut the first two columns at their medians (4 segments): the
//! no-learning baseline. DBSCAN's eps is set from the spread.
//!
//! Inertia is the sum of squared distances of the points to their segment's mean (DBSCAN
//! noise left out), whatever the strategy, so the rows compare. Times are wall-clock of one
//! fit on all cores; the criterion benchmark `cargo bench --bench segment` measures the same
//! fits properly.

use std::time::Instant;

use custseg::Fit;
use custseg::datasets::{BlobsConfig, blobs, mixed_blobs};
use custseg::segment::{
    DbscanParams, GaussianMixtureParams, KMeansParams, KPrototypesParams, MiniBatchParams, Points,
    RuleBands, Strategy, adjusted_rand_index, calinski_harabasz, davies_bouldin,
    silhouette_sampled,
};
use ndarray::{Array2, ArrayView2};

fn inertia(data: ArrayView2<'_, f64>, labels: &[usize]) -> f64 {
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let d = data.ncols();
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    for (i, &l) in labels.iter().enumerate() {
        counts[l] += 1;
        for j in 0..d {
            sums[l * d + j] += data[[i, j]];
        }
    }
    labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            (0..d)
                .map(|j| (data[[i, j]] - sums[l * d + j] / counts[l] as f64).powi(2))
                .sum::<f64>()
        })
        .sum()
}

fn median(data: ArrayView2<'_, f64>, column: usize) -> f64 {
    let mut v = data.column(column).to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), custseg::Error> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let spread: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1.0);
    let b = blobs(
        &BlobsConfig::new(n, 8, 8)
            .with_spread(spread)
            .with_seed(2024),
    )?;
    let mixed = mixed_blobs(
        &BlobsConfig::new(n, 5, 8)
            .with_categorical(3, 6)
            .with_seed(2024),
    )?;
    let no_cat = Array2::<u32>::zeros((n, 0));
    let bands = RuleBands::new(vec![
        (
            0,
            vec![median(b.data.view(), 0)],
            vec!["f0 low".into(), "f0 high".into()],
        ),
        (
            1,
            vec![median(b.data.view(), 1)],
            vec!["f1 low".into(), "f1 high".into()],
        ),
    ])?;
    let strategies = [
        Strategy::KMeans(KMeansParams::new(8)?),
        Strategy::KMeans(KMeansParams::new(8)?.with_n_init(1)?),
        Strategy::MiniBatchKMeans(MiniBatchParams::new(8)?),
        Strategy::LinfaKMeans(KMeansParams::new(8)?.with_n_init(10)?),
        Strategy::GaussianMixture(GaussianMixtureParams::new(8)?),
        Strategy::LinfaGaussianMixture(GaussianMixtureParams::new(8)?),
        Strategy::Dbscan(DbscanParams::new(1.5 * spread, 10)?),
        Strategy::LinfaDbscan(DbscanParams::new(1.5 * spread, 10)?),
        Strategy::KPrototypes(KPrototypesParams::new(8)?),
        Strategy::RuleBands(bands),
    ];
    println!(
        "{n} points × 8 columns, 8 planted clusters, spread {spread}, {} threads\n",
        rayon::current_num_threads()
    );
    println!(
        "{:<34} {:>9} {:>5} {:>8} {:>14} {:>10} {:>12} {:>7} {:>7}",
        "strategy", "seconds", "segs", "noise", "inertia", "silhouette", "CH", "DB", "ARI"
    );
    for s in &strategies {
        let (data, cat, truth) = match s {
            Strategy::KPrototypes(_) => (
                mixed.numeric.view(),
                mixed.categorical.view(),
                &mixed.labels,
            ),
            _ => (b.data.view(), no_cat.view(), &b.labels),
        };
        let t = Instant::now();
        let (clustering, fit) = s.fit(&Points::mixed(data, cat))?;
        let labels = fit.labels;
        let seconds = t.elapsed().as_secs_f64();
        // Metrics on the points with a segment (DBSCAN noise left out).
        let kept: Vec<usize> = (0..n).filter(|&i| labels[i].is_some()).collect();
        let noise = n - kept.len();
        let sub = data.select(ndarray::Axis(0), &kept);
        let l: Vec<usize> = kept.iter().filter_map(|&i| labels[i]).collect();
        let t_truth: Vec<usize> = kept.iter().map(|&i| truth[i]).collect();
        let label = match s {
            Strategy::KMeans(p) => format!("{} n_init={}", s.name(), p.n_init()),
            Strategy::LinfaKMeans(p) => format!("{} n_init={}", s.name(), p.n_init()),
            _ => s.name().to_string(),
        };
        let metrics = if clustering.segments() >= 2 && l.len() > clustering.segments() {
            Some((
                silhouette_sampled(sub.view(), &l, 10_000, 0)?,
                calinski_harabasz(sub.view(), &l)?,
                davies_bouldin(sub.view(), &l)?,
            ))
        } else {
            None
        };
        let (sil, ch, db) = metrics.unwrap_or((f64::NAN, f64::NAN, f64::NAN));
        println!(
            "{label:<34} {seconds:>9.3} {:>5} {noise:>8} {:>14.1} {sil:>10.4} {ch:>12.0} {db:>7.4} {:>7.4}",
            clustering.segments(),
            inertia(sub.view(), &l),
            adjusted_rand_index(&l, &t_truth)?
        );
    }
    Ok(())
}
