//! Writes the calibration summaries of a synthetic base as CSV for the Python peers.
//!
//! ```text
//! cargo run --release --example export_summaries -- [customers] [seed] [path]
//! ```
//!
//! Defaults: 1,000,000 customers, seed 2024 (the benchmarks' seed), `summaries.csv`. Header
//! `customer_id,frequency,recency,T,monetary_value` (weeks; monetary_value is the mean repeat
//! spend, 0 without repeat purchases): the summaries `benches/clv.rs` fits and scores.

use std::fs::File;
use std::io::{BufWriter, Write};

use custseg::datasets::{SyntheticConfig, synthetic_summaries};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let seed: u64 = args.next().map_or(Ok(2024), |a| a.parse())?;
    let path = args.next().unwrap_or_else(|| "summaries.csv".to_string());
    let summaries = synthetic_summaries(&SyntheticConfig::new(customers, seed))?;
    let mut out = BufWriter::new(File::create(&path)?);
    writeln!(out, "customer_id,frequency,recency,T,monetary_value")?;
    for s in summaries.iter() {
        writeln!(
            out,
            "{},{},{},{},{}",
            s.customer_id(),
            s.frequency(),
            s.recency(),
            s.age(),
            s.monetary()
        )?;
    }
    out.flush()?;
    eprintln!("wrote {} summaries to {path}", summaries.len());
    Ok(())
}
