//! Shared set-up of the benchmarks: the synthetic base every group measures.
// Each benchmark compiles this module on its own and uses part of it.
#![allow(dead_code)]

use custseg::datasets::{ExportedRows, SyntheticBase, SyntheticConfig, synthetic};

/// The seed shared with `examples/export_synthetic.rs`, so the Python peers see the same rows.
pub const SEED: u64 = 2024;

/// Customers in the base: `CUSTSEG_BENCH_CUSTOMERS`, default 1,000,000 (~9.5M transactions).
pub fn customers() -> usize {
    std::env::var("CUSTSEG_BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// The base and its rows in date order with integer keys, as a source system exports them.
pub fn base() -> (SyntheticBase, ExportedRows) {
    let base = synthetic(&SyntheticConfig::new(customers(), SEED)).expect("valid configuration");
    let rows = base.export_rows();
    eprintln!(
        "base: {} customers, {} transactions, {} threads",
        base.customers.len(),
        rows.dates.len(),
        rayon::current_num_threads()
    );
    (base, rows)
}
