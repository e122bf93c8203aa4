//! RFM end to end on a synthetic base of 1M customers / ~9.5M transactions.
//!
//! ```text
//! cargo bench --bench rfm
//! ```
//!
//! `end_to_end` is what `benches/peers/rfm_pandas.py` times for pandas on the same rows
//! (`benches/peers/compare.sh rfm` runs both): date-ordered columns in, the calibration
//! period's RFM values, quantile edges, scores and the R `rfm` package's segment for every
//! customer out. `score_and_segment` starts from built summaries.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use custseg::rfm::{RfmParams, SegmentScheme};
use custseg::{Fit, ReturnPolicy, Score, SummaryConfig, TransactionLog};
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

    let mut g = c.benchmark_group("rfm");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rows.dates.len() as u64));
    g.bench_function(BenchmarkId::new("end_to_end", n), |b| {
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
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
