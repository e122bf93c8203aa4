//! Writes a synthetic customer base as CSV for the Python peers.
//!
//! ```text
//! cargo run --release --example export_synthetic -- [customers] [seed] [path]
//! ```
//!
//! Defaults: 1,000,000 customers, seed 2024 (the benchmarks' seed), `synthetic.csv`. The file
//! has the header `customer_id,date,amount`, rows in date order with integer customer keys —
//! exactly the rows `benches/summaries.rs` builds its log from. The last line printed is the
//! calibration end, which the peers take as their observation end.

use std::fs::File;
use std::io::{BufWriter, Write};

use custseg::datasets::{SyntheticConfig, synthetic};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let customers: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let seed: u64 = args.next().map_or(Ok(2024), |a| a.parse())?;
    let path = args.next().unwrap_or_else(|| "synthetic.csv".to_string());

    let base = synthetic(&SyntheticConfig::new(customers, seed))?;
    let rows = base.export_rows();
    let mut out = BufWriter::new(File::create(&path)?);
    writeln!(out, "customer_id,date,amount")?;
    for i in 0..rows.dates.len() {
        writeln!(
            out,
            "{},{},{}",
            rows.customer_keys[i], rows.dates[i], rows.amounts[i]
        )?;
    }
    out.flush()?;
    eprintln!(
        "wrote {} rows of {} customers to {path}",
        rows.dates.len(),
        base.transactions.customers()
    );
    println!("{}", base.config.observation_end()?);
    Ok(())
}
