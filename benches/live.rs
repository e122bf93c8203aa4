//! Real-time updates: one purchase recorded into a customer's history, the customer
//! summarised again and rescored (P(alive), expected purchases and 12-month CLV by BG/NBD and
//! Gamma-Gamma), one event after another on one thread. The throughput line is the rate per
//! core (the issue's target: 1M updates with rescoring a second).
//!
//! ```text
//! cargo bench --bench live
//! ```
//!
//! Events: the CDNOW sample's purchases, replayed in date order into empty histories, at the
//! calibration end (1997-09-30).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use custseg::clv::{BgNbd, Discounting, GammaGamma, Valuation};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::{CustomerHistory, Score, TimeUnit};
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
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
