//! Thread scaling of the batch APIs, and proof that their answers do not depend on it.
//!
//! ```text
//! cargo run --release --example thread_scaling [customers] [threads,threads,...]
//! ```
//!
//! Each task runs in a rayon pool of 1, 2, 4, 8 and 16 threads (those up to the machine's
//! cores, unless a list is given), best of 3 runs, and prints the time, the speedup over one
//! thread and whether the output is identical — bit for bit, compared through its JSON — to
//! the one-thread output. The tasks: summarising a synthetic base of `customers` (default
//! 1,000,000, ~9.5M transactions), RFM fit and scores, BG/NBD fit, P(alive) and CLV, churn
//! tiers, k-means (k = 8, 10 restarts) on 1M × 8 points, and the nearest of 692 French cities
//! (shipped in `tests/data`) for 1M locations.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

use custseg::churn::ModelChurn;
use custseg::clv::{
    BgNbd, Discounting, GammaGamma, RftData, SpendData, TransactionModel, Valuation,
};
use custseg::datasets::{BlobsConfig, SyntheticConfig, blobs, scattered_locations, synthetic};
use custseg::geo::GeoPoint;
use custseg::geo::{City, nearest_city};
use custseg::rfm::RfmParams;
use custseg::segment::{KMeansParams, Points};
use custseg::{Fit, Score};
use custseg::{ReturnPolicy, TimeUnit, TransactionLog};

/// A task: runs once, returns its wall-clock seconds and a fingerprint of its output.
type Task<'a> = (&'static str, Box<dyn Fn() -> (f64, u64) + Sync + 'a>);

/// Times `f` alone, then fingerprints its output (equal fingerprints: equal JSON) outside
/// the timing, serializing being far slower than most tasks.
fn timed<T: serde::Serialize>(f: impl FnOnce() -> T) -> (f64, u64) {
    let start = Instant::now();
    let out = f();
    let seconds = start.elapsed().as_secs_f64();
    let mut h = DefaultHasher::new();
    serde_json::to_vec(&out).expect("serializable").hash(&mut h);
    (seconds, h.finish())
}

fn main() -> custseg::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let threads: Vec<usize> = match args.get(2) {
        Some(list) => list.split(',').filter_map(|t| t.parse().ok()).collect(),
        None => [1, 2, 4, 8, 16]
            .into_iter()
            .filter(|&t| t <= cores)
            .collect(),
    };

    let base = synthetic(&SyntheticConfig::new(n, 2024))?;
    let rows = base.export_rows();
    let cfg = base.config.summary_config()?;
    let log = TransactionLog::from_columns(
        &rows.customer_keys,
        &rows.dates,
        &rows.amounts,
        ReturnPolicy::Error,
    )?;
    let summaries = log.summarise(&cfg)?;
    let customers = summaries.as_slice();
    let (bgnbd, _) = BgNbd::params().fit(&RftData::from_summaries(customers)?)?;
    let (spend, _) = GammaGamma::params().fit(&SpendData::from_summaries(customers)?)?;
    let horizon = Discounting::lifetimes(12, 0.01, TimeUnit::Weeks)?;
    let valuation = Valuation::new(bgnbd, spend, horizon);
    let churn = ModelChurn::new(bgnbd);
    let points = blobs(&BlobsConfig::new(1_000_000, 8, 8).with_seed(2024))?;
    let km8 = KMeansParams::new(8)?;
    let cities = City::parse_csv(include_str!("../tests/data/geonames_fr.csv"))?;
    let around: Vec<GeoPoint> = cities.iter().map(|c| c.location).collect();
    let locations = scattered_locations(1_000_000, &around, 2024)?;
    println!(
        "{} customers, {} transactions; {} cores; threads {:?}; best of 3\n",
        customers.len(),
        log.len(),
        cores,
        threads
    );

    let tasks: Vec<Task> = vec![
        (
            "summarise",
            Box::new(|| timed(|| log.summarise(&cfg).expect("valid window"))),
        ),
        (
            "RFM fit + scores",
            Box::new(|| {
                timed(|| {
                    let m = RfmParams::new(5)
                        .and_then(|p| p.fit(customers))
                        .map(|(m, _)| m)
                        .expect("fits");
                    m.score_batch(customers).expect("valid")
                })
            }),
        ),
        (
            "BG/NBD fit",
            Box::new(|| {
                timed(|| {
                    let data = RftData::from_summaries(customers).expect("valid");
                    BgNbd::params().fit(&data).expect("converges").0
                })
            }),
        ),
        (
            "P(alive)",
            Box::new(|| timed(|| bgnbd.p_alive_batch(customers).expect("valid"))),
        ),
        (
            "CLV 12 months",
            Box::new(|| timed(|| valuation.score_batch(customers).expect("valid"))),
        ),
        (
            "churn tiers",
            Box::new(|| timed(|| churn.score_batch(customers).expect("valid"))),
        ),
        (
            "k-means 1M x 8",
            Box::new(|| timed(|| km8.fit(&Points::numeric(points.data.view())).expect("fits"))),
        ),
        (
            "nearest city 1M",
            Box::new(|| timed(|| nearest_city(&locations, &cities))),
        ),
    ];

    println!(
        "{:<18} {:>7} {:>10} {:>8}  identical",
        "task", "threads", "seconds", "speedup"
    );
    for (name, task) in &tasks {
        let mut one = None;
        for &t in &threads {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .expect("a thread pool");
            let mut best = f64::INFINITY;
            let mut print = 0;
            for _ in 0..3 {
                let (seconds, p) = pool.install(task);
                best = best.min(seconds);
                print = p;
            }
            let (base_time, base_print) = *one.get_or_insert((best, print));
            println!(
                "{:<18} {:>7} {:>10.4} {:>7.2}x  {}",
                name,
                t,
                best,
                base_time / best,
                if print == base_print { "yes" } else { "NO" }
            );
            assert_eq!(print, base_print, "{name} differs at {t} threads");
        }
    }
    Ok(())
}
