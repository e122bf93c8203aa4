//! Real-time updates: one purchase recorded into a customer's history, the customer
//! summarised again and rescored, one event after another on one thread. The throughput line
//! is the rate per core (the target: 1M updates with rescoring a second).
//!
//! - `record_summarise_score`: P(alive), expected purchases and 12-month CLV (BG/NBD and
//!   Gamma-Gamma; the CLV's twelve discounted steps are most of the time);
//! - `record_summarise_all_scores`: the same plus the RFM cell against fitted edges, the
//!   churn tier from P(alive) and the behavioral segment (k-means, 4 segments).
//!
//! ```text
//! cargo bench --bench live
//! ```
//!
//! Events: the CDNOW sample's purchases, replayed in date order into empty histories, at the
//! calibration end (1997-09-30).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use custseg::churn::ModelChurn;
use custseg::clv::{BgNbd, Discounting, GammaGamma, Valuation};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::rfm::RfmParams;
use custseg::segment::{BehavioralRecord, BehavioralSegmenter};
use custseg::{Assign, CustomerHistory, Fit, Score, TimeUnit};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let log = cdnow_sample();
    let cfg = cdnow_sample_config();
    let mut events: Vec<(usize, custseg::Date, f64)> = Vec::new();
    for cust in 0..log.customer_ids().len() {
        let rows = log.customer(cust).expect("in range");
        for (d, a) in rows.dates.iter().zip(rows.amounts) {
            if *d <= cfg.observation_end {
                events.push((cust, *d, *a));
            }
        }
    }
    events.sort_by_key(|e| e.1);
    let ids = log.customer_ids().to_vec();
    let valuation = Valuation::new(
        BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)
            .expect("valid")
            .with_unit(TimeUnit::Weeks),
        GammaGamma::new(6.2488, 3.7446, 15.4477).expect("valid"),
        Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).expect("valid"),
    );
    let mut g = c.benchmark_group("live");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function(
        BenchmarkId::new("record_summarise_score", events.len()),
        |b| {
            b.iter(|| {
                let mut histories = vec![CustomerHistory::default(); ids.len()];
                let mut total = 0.0;
                for &(cust, date, amount) in &events {
                    let h = &mut histories[cust];
                    h.record(date, amount).expect("valid event");
                    let summary = h.summarise(&ids[cust], &cfg).expect("summarises");
                    total += valuation.score(&summary).expect("scores").clv;
                }
                black_box(total)
            })
        },
    );
    let summaries = log.summarise(&cfg).expect("summarises");
    let (rfm, _) = RfmParams::new(5)
        .expect("valid")
        .fit(summaries.as_slice())
        .expect("fits");
    let churn = ModelChurn::new(
        BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)
            .expect("valid")
            .with_unit(TimeUnit::Weeks),
    );
    let records: Vec<BehavioralRecord> = summaries
        .iter()
        .map(BehavioralRecord::from_summary)
        .collect();
    let (segments, _) = BehavioralSegmenter::new(4)
        .expect("valid")
        .fit(&records)
        .expect("fits");
    g.bench_function(
        BenchmarkId::new("record_summarise_all_scores", events.len()),
        |b| {
            b.iter(|| {
                let mut histories = vec![CustomerHistory::default(); ids.len()];
                let mut total = 0.0;
                let mut tally = 0usize;
                for &(cust, date, amount) in &events {
                    let h = &mut histories[cust];
                    h.record(date, amount).expect("valid event");
                    let summary = h.summarise(&ids[cust], &cfg).expect("summarises");
                    total += valuation.score(&summary).expect("scores").clv;
                    let cell = rfm.score(&summary).expect("scores").cell;
                    let tier = churn.score(&summary).expect("scores").tier;
                    let segment = segments
                        .assign(&BehavioralRecord::from_summary(&summary))
                        .expect("assigns");
                    tally += cell.r as usize + tier as usize + segment.unwrap_or(0);
                }
                black_box((total, tally))
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
