//! Customer summaries of a synthetic base of 1M customers / ~9.5M transactions.
//!
//! ```text
//! cargo bench --bench summaries
//! CUSTSEG_BENCH_CUSTOMERS=100000 cargo bench --bench summaries   # a smaller base
//! ```
//!
//! The rows are handed over in date order (how a source system exports them), with integer
//! customer keys, so that building the log has to intern and sort for real. `end_to_end` is
//! what `benches/peers/summary_lifetimes.py` measures for lifetimes on the same rows
//! (`benches/peers/compare.sh summaries` runs both and prints the ratio): columns in,
//! calibration summaries out.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use custseg::{PurchaseHistories, ReturnPolicy, SummaryConfig, TransactionLog};
use std::hint::black_box;

mod common;

fn bench(c: &mut Criterion) {
    let n = common::customers();
    let (base, rows) = common::base();
    let with_holdout = base.config.summary_config().expect("valid window");
    // The peer's call: calibration only, up to the observation end.
    let calibration = SummaryConfig::new(with_holdout.observation_end);
    let text_keys: Vec<String> = rows
        .customer_keys
        .iter()
        .map(|k| format!("C{k:07}"))
        .collect();
    let log = TransactionLog::from_columns(
        &rows.customer_keys,
        &rows.dates,
        &rows.amounts,
        ReturnPolicy::Error,
    )
    .expect("valid rows");

    let mut g = c.benchmark_group("summaries");
    g.sample_size(10);
    g.throughput(Throughput::Elements(log.len() as u64));
    g.bench_function(BenchmarkId::new("end_to_end", n), |b| {
        b.iter(|| {
            let log = TransactionLog::from_columns(
                black_box(&rows.customer_keys),
                &rows.dates,
                &rows.amounts,
                ReturnPolicy::Error,
            )
            .expect("valid rows");
            log.summarise(&calibration).expect("valid window")
        })
    });
    g.bench_function(BenchmarkId::new("build_log_u64_keys", n), |b| {
        b.iter(|| {
            TransactionLog::from_columns(
                black_box(&rows.customer_keys),
                &rows.dates,
                &rows.amounts,
                ReturnPolicy::Error,
            )
            .expect("valid rows")
        })
    });
    g.bench_function(BenchmarkId::new("build_log_text_keys", n), |b| {
        b.iter(|| {
            TransactionLog::from_columns(
                black_box(&text_keys),
                &rows.dates,
                &rows.amounts,
                ReturnPolicy::Error,
            )
            .expect("valid rows")
        })
    });
    g.bench_function(BenchmarkId::new("summarise_calibration", n), |b| {
        b.iter(|| {
            black_box(&log)
                .summarise(&calibration)
                .expect("valid window")
        })
    });
    g.bench_function(BenchmarkId::new("summarise_with_holdout", n), |b| {
        b.iter(|| {
            black_box(&log)
                .summarise(&with_holdout)
                .expect("valid window")
        })
    });
    g.bench_function(BenchmarkId::new("histories_from_log", n), |b| {
        b.iter(|| PurchaseHistories::from_log(black_box(&log)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
