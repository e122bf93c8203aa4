//! RFM end to end on a synthetic base of 1M customers / ~9.5M transactions.
//!
//! ```text
//! cargo bench --bench rfm
//! ```
//!
//! Every measurement starts from the same date-ordered columns (integer keys) or from the same
//! summaries, all validation included.
//!
//! * `end_to_end` is the fastest public path from columns to segments: summaries with
//!   [`CustomerSummaries::from_columns`], then [`RfmParams`] fitted (quantile edges), every
//!   customer scored with [`Score::score_batch`] and segmented with
//!   [`SegmentScheme::assign`] (the R `rfm` package's segments). It is what
//!   `benches/peers/rfm_pandas.py` times for pandas, and `summary_engines.py` for polars and
//!   DuckDB, on the same rows (`benches/peers/compare.sh rfm` runs them all).
//! * `log_then_rfm` is the same result with the summaries built through a
//!   [`TransactionLog`] (`from_columns`, then `summarise`).
//! * `score_and_segment` starts from built summaries: fit, score and segment; `fit`,
//!   `score_batch` and `assign` are its parts.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use custseg::rfm::{RfmParams, SegmentScheme};
use custseg::{CustomerSummaries, Fit, ReturnPolicy, Score, SummaryConfig, TransactionLog};
use std::hint::black_box;

mod common;

fn bench(c: &mut Criterion) {
    let n = common::customers();
    let (base, rows) = common::base();
    let obs = base.config.observation_end().expect("valid window");
    let cfg = SummaryConfig::new(obs);
    let params = RfmParams::new(5).expect("5 scores");
    let scheme = SegmentScheme::rfm_package();
    let summaries = base.transactions.summarise(&cfg).expect("valid window");
    let (model, _) = params.fit(summaries.as_slice()).expect("valid summaries");
    let scores = model
        .score_batch(summaries.as_slice())
        .expect("valid summaries");

    let mut g = c.benchmark_group("rfm");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rows.dates.len() as u64));
    g.bench_function(BenchmarkId::new("end_to_end", n), |b| {
        b.iter(|| {
            let summaries = CustomerSummaries::from_columns(
                black_box(&rows.customer_keys),
                &rows.dates,
                &rows.amounts,
                ReturnPolicy::Error,
                &cfg,
            )
            .expect("valid rows");
            let (model, _) = params.fit(summaries.as_slice()).expect("valid summaries");
            let scores = model
                .score_batch(summaries.as_slice())
                .expect("valid summaries");
            let segments = scheme.assign(&scores).expect("5-point scores");
            (scores, segments)
        })
    });
    g.bench_function(BenchmarkId::new("log_then_rfm", n), |b| {
        b.iter(|| {
            let log = TransactionLog::from_columns(
                black_box(&rows.customer_keys),
                &rows.dates,
                &rows.amounts,
                ReturnPolicy::Error,
            )
            .expect("valid rows");
            let summaries = log.summarise(&cfg).expect("valid window");
            let (model, _) = params.fit(summaries.as_slice()).expect("valid summaries");
            let scores = model
                .score_batch(summaries.as_slice())
                .expect("valid summaries");
            let segments = scheme.assign(&scores).expect("5-point scores");
            (scores, segments)
        })
    });
    g.bench_function(BenchmarkId::new("score_and_segment", n), |b| {
        b.iter(|| {
            let s = black_box(summaries.as_slice());
            let (model, _) = params.fit(s).expect("valid summaries");
            let scores = model.score_batch(s).expect("valid summaries");
            scheme.assign(&scores).expect("5-point scores")
        })
    });
    g.bench_function(BenchmarkId::new("fit", n), |b| {
        b.iter(|| {
            params
                .fit(black_box(summaries.as_slice()))
                .expect("valid summaries")
        })
    });
    g.bench_function(BenchmarkId::new("score_batch", n), |b| {
        b.iter(|| {
            model
                .score_batch(black_box(summaries.as_slice()))
                .expect("valid summaries")
        })
    });
    g.bench_function(BenchmarkId::new("assign", n), |b| {
        b.iter(|| scheme.assign(black_box(&scores)).expect("5-point scores"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
