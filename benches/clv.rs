//! CLV models on synthetic bases: fitting BG/NBD and Pareto/NBD on 1M customers, and scoring
//! P(alive), expected purchases and CLV for 10M customers.
//!
//! ```text
//! cargo bench --bench clv
//! CUSTSEG_BENCH_CUSTOMERS=100000 CUSTSEG_BENCH_SCORE_CUSTOMERS=1000000 cargo bench --bench clv
//! ```
//!
//! `benches/peers/compare.sh clv` runs lifetimes on the same summaries (written by
//! `examples/export_summaries.rs`) in the same session. Fits start from the summaries and
//! include merging identical histories; scoring uses the published CDNOW BG/NBD and
//! Gamma-Gamma parameters, as the peer does: P(alive), expected purchases in 39 weeks, and
//! CLV over 12 months at 1% a month in lifetimes' convention. The `_columns` benchmarks score
//! the same customers from columns (`HistoryColumns`: x, t_x, T and z̄ as slices), the fast
//! path: 24 bytes read per customer instead of a summary, expectations and CLV paths once per
//! distinct (x, T). `p_alive_columns_into` scores into one buffer kept across iterations
//! (`TransactionModel::p_alive_columns_into`), the form for a service that scores batch after
//! batch: it spares the page faults of a fresh 80 MB column at 10M customers.
//!
//! `clv_10000_steps` values the CDNOW sample (its own fitted BG/NBD and Gamma-Gamma) over the
//! longest horizon `Discounting` accepts, 10,000 monthly steps at 1 %: the far horizons,
//! where E[purchases] is the connection formula of 2F1 rather than a quadrature per step
//! (this took 150 s before, 43 s with the shared series alone).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use custseg::TimeUnit;
use custseg::clv::SpendData;
use custseg::clv::{
    BgNbd, Discounting, GammaGamma, HistoryColumns, ParetoNbd, RftData, TransactionModel, Valuation,
};
use custseg::datasets::{SyntheticConfig, cdnow_sample, cdnow_sample_config, synthetic_summaries};
use custseg::{Fit, Score};
use std::hint::black_box;

mod common;

fn score_customers() -> usize {
    std::env::var("CUSTSEG_BENCH_SCORE_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000)
}

fn bench(c: &mut Criterion) {
    let n = common::customers();
    let fit_base = synthetic_summaries(&SyntheticConfig::new(n, common::SEED))
        .expect("valid configuration")
        .into_vec();
    let data = RftData::from_summaries(&fit_base).expect("valid summaries");
    eprintln!(
        "fit base: {} customers, {} distinct histories, {} threads",
        fit_base.len(),
        data.rows().len(),
        rayon::current_num_threads()
    );

    let mut g = c.benchmark_group("clv");
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("fit_bgnbd", n), |b| {
        b.iter(|| {
            let data = RftData::from_summaries(black_box(&fit_base)).expect("valid summaries");
            BgNbd::params().fit(&data).expect("converges")
        })
    });
    g.bench_function(BenchmarkId::new("fit_pareto_nbd", n), |b| {
        b.iter(|| {
            let data = RftData::from_summaries(black_box(&fit_base)).expect("valid summaries");
            ParetoNbd::params().fit(&data).expect("converges")
        })
    });
    drop(fit_base);

    let m = score_customers();
    let scored = synthetic_summaries(&SyntheticConfig::new(m, common::SEED + 1))
        .expect("valid configuration")
        .into_vec();
    eprintln!("scoring base: {} customers", scored.len());
    let bg = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)
        .expect("valid parameters")
        .with_unit(TimeUnit::Weeks);
    let gg = GammaGamma::new(6.2488, 3.7446, 15.4477).expect("valid parameters");
    let disc = Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).expect("valid discounting");
    let valuation = Valuation::new(bg, gg, disc);
    g.bench_function(BenchmarkId::new("p_alive", m), |b| {
        b.iter(|| bg.p_alive_batch(black_box(&scored)).expect("valid"))
    });
    g.bench_function(BenchmarkId::new("expected_purchases_39", m), |b| {
        b.iter(|| {
            bg.expected_purchases_batch(black_box(&scored), 39.0)
                .expect("valid")
        })
    });
    g.bench_function(BenchmarkId::new("clv_12_months", m), |b| {
        b.iter(|| valuation.score_batch(black_box(&scored)).expect("valid"))
    });
    // The columnar forms on the same customers: x, t_x, T and z̄ as slices (what a caller
    // holding Arrow or ndarray columns passes), checked inside every iteration.
    let x: Vec<u32> = scored.iter().map(|c| c.frequency()).collect();
    let t_x: Vec<f64> = scored.iter().map(|c| c.recency()).collect();
    let big_t: Vec<f64> = scored.iter().map(|c| c.age()).collect();
    let z: Vec<f64> = scored.iter().map(|c| c.monetary()).collect();
    drop(scored);
    let columns = || {
        HistoryColumns::new(black_box(&x), &t_x, &big_t)
            .expect("valid")
            .with_unit(TimeUnit::Weeks)
    };
    g.bench_function(BenchmarkId::new("p_alive_columns", m), |b| {
        b.iter(|| bg.p_alive_columns(&columns()).expect("valid"))
    });
    // The same into one buffer kept across iterations, as a service scoring batch after
    // batch would: no fresh column to fault in (checked columns as above).
    let mut p_alive = vec![0.0; x.len()];
    g.bench_function(BenchmarkId::new("p_alive_columns_into", m), |b| {
        b.iter(|| {
            bg.p_alive_columns_into(&columns(), &mut p_alive)
                .expect("valid")
        })
    });
    g.bench_function(BenchmarkId::new("expected_purchases_39_columns", m), |b| {
        b.iter(|| {
            bg.expected_purchases_columns(&columns(), 39.0)
                .expect("valid")
        })
    });
    g.bench_function(BenchmarkId::new("clv_12_months_columns", m), |b| {
        b.iter(|| valuation.value_columns(&columns(), &z).expect("valid"))
    });

    let cdnow = cdnow_sample()
        .summarise(&cdnow_sample_config())
        .expect("valid sample");
    let (bg, _) = BgNbd::params()
        .fit(&RftData::from_summaries(cdnow.as_slice()).expect("valid"))
        .expect("converges");
    let (gg, _) = GammaGamma::params()
        .fit(&SpendData::from_summaries(cdnow.as_slice()).expect("valid"))
        .expect("converges");
    let longest = Discounting::new(4.345, 10_000, 0.01).expect("valid discounting");
    let valuation = Valuation::new(bg, gg, longest);
    g.bench_function(BenchmarkId::new("clv_10000_steps", cdnow.len()), |b| {
        b.iter(|| valuation.score_batch(black_box(&cdnow)).expect("valid"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
