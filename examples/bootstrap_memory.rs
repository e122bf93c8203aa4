//! Bootstrap intervals for a large customer base in bounded memory.
//!
//! ```sh
//! cargo run --release --example bootstrap_memory -- 10000000 200
//! ```
//!
//! Fits BG/NBD on CDNOW, draws parameters (parametric bootstrap), and computes 90 % intervals
//! of P(alive) for N customers (CDNOW's histories repeated) under every draw, then prints the
//! peak resident memory. A draws × customers array would take N × draws × 8 bytes (16 GB for
//! 10M × 200); the intervals reduce each customer's draws to two quantiles as they are
//! computed, so the peak is the customers' histories and their intervals, not the draws.

use custseg::Fit;
use custseg::clv::{BgNbd, Bootstrap, BootstrapMethod, Rft, RftData, TransactionModel};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use std::time::Instant;

/// Peak resident set size of this process in MiB (Linux), if known.
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() -> Result<(), custseg::Error> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let draws: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let s = cdnow_sample().summarise(&cdnow_sample_config())?;
    let data = RftData::from_summaries(s.as_slice())?;
    let (model, report) = BgNbd::params().fit(&data)?;
    let base: Vec<Rft> = s.iter().map(Rft::from).collect();
    let customers: Vec<Rft> = base.iter().copied().cycle().take(n).collect();
    let before = peak_mib();
    let start = Instant::now();
    let params =
        Bootstrap::new(draws, 42, BootstrapMethod::Parametric)?.draw(&model, &report, &data)?;
    let intervals = Bootstrap::intervals(&model, &params, &customers, 0.9, |m, c| m.p_alive(c))?;
    let secs = start.elapsed().as_secs_f64();
    let width: f64 = intervals.iter().map(|i| i.upper - i.lower).sum::<f64>() / n as f64;
    println!("{n} customers × {draws} draws: {secs:.1} s, mean 90 % width of P(alive) {width:.4}");
    println!(
        "peak memory {:.0} MiB (before scoring {:.0} MiB); a draws × customers array alone: {:.0} MiB",
        peak_mib().unwrap_or(f64::NAN),
        before.unwrap_or(f64::NAN),
        (n * draws * 8) as f64 / 1048576.0
    );
    Ok(())
}
