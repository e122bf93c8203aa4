//! Customer summaries of a synthetic base of 1M customers / ~9.5M transactions.
//!
//! ```text
//! cargo bench --bench summaries
//! CUSTSEG_BENCH_CUSTOMERS=100000 cargo bench --bench summaries   # a smaller base
//! ```
//!
//! The rows are handed over in date order (how a source system exports them), with integer
//! customer keys. Every measurement starts from the same columns and includes all validation.
//!
//! * `end_to_end` is the fastest public path from columns to summaries,
//!   [`CustomerSummaries::from_columns`]: validation, numbering customers by first appearance,
//!   grouping and summarising, without building a log. It is what
//!   `benches/peers/compare.sh summaries` sets against lifetimes, polars and DuckDB on the same
//!   rows (columns in, calibration summaries out).
//! * `end_to_end_reused_workspace` is the same call through
//!   [`CustomerSummaries::from_columns_in`] with one `SummaryWorkspace` kept across the
//!   iterations, as a service summarising repeatedly would, each result handed back with
//!   `SummaryWorkspace::recycle` once used: the partition's buffers and the summaries' memory
//!   are not mapped and cleared by the kernel again each time.
//! * `log_then_summarise` is the same result through a [`TransactionLog`]:
//!   `TransactionLog::from_columns` (validate, intern, sort by customer and date), then
//!   `summarise`. `build_log_*` and `summarise_*` are its two halves.
//! * `text_keys_from_columns` is `CustomerSummaries::from_columns` with text keys, which take
//!   the log path inside (hashing, not direct indexing).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use custseg::{
    CustomerSummaries, PurchaseHistories, ReturnPolicy, SummaryConfig, SummaryWorkspace,
    TransactionLog,
};
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
            CustomerSummaries::from_columns(
                black_box(&rows.customer_keys),
                &rows.dates,
                &rows.amounts,
                ReturnPolicy::Error,
                &calibration,
            )
            .expect("valid rows")
        })
    });
    // A service summarising again and again keeps one workspace: the partition's buffers
    // stay mapped from one call to the next, and each round's summaries, once used, are
    // handed back for the next round to write into.
    let mut workspace = SummaryWorkspace::new();
    g.bench_function(BenchmarkId::new("end_to_end_reused_workspace", n), |b| {
        b.iter(|| {
            let summaries = CustomerSummaries::from_columns_in(
                black_box(&rows.customer_keys),
                &rows.dates,
                &rows.amounts,
                ReturnPolicy::Error,
                &calibration,
                &mut workspace,
            )
            .expect("valid rows");
            workspace.recycle(black_box(summaries));
        })
    });
    g.bench_function(BenchmarkId::new("end_to_end_with_holdout", n), |b| {
        b.iter(|| {
            CustomerSummaries::from_columns(
                black_box(&rows.customer_keys),
                &rows.dates,
                &rows.amounts,
                ReturnPolicy::Error,
                &with_holdout,
            )
            .expect("valid rows")
        })
    });
    g.bench_function(BenchmarkId::new("log_then_summarise", n), |b| {
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
    g.bench_function(BenchmarkId::new("text_keys_from_columns", n), |b| {
        b.iter(|| {
            CustomerSummaries::from_columns(
                black_box(&text_keys),
                &rows.dates,
                &rows.amounts,
                ReturnPolicy::Error,
                &calibration,
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
