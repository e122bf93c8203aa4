//! Writes planted clusters as CSV for the Python clustering peers.
//!
//! ```text
//! cargo run --release --example export_blobs -- numeric <n> <dims> <k> <seed> <path> [spread]
//! cargo run --release --example export_blobs -- mixed <n> <num_dims> <cat_dims> <k> <levels> <seed> <path>
//! ```
//!
//! Numeric: header `f0,…,f{dims−1},label` (`datasets::blobs`, spread 1.0 unless given). Mixed: header
//! `f0,…,c0,…,label` (`datasets::mixed_blobs`), categorical levels as integers. These are the
//! data `benches/segment.rs` and `examples/compare_strategies.rs` use.

use std::fs::File;
use std::io::{BufWriter, Write};

use custseg::datasets::{BlobsConfig, blobs, mixed_blobs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| -> Result<usize, Box<dyn std::error::Error>> {
        Ok(args.get(i).ok_or("missing argument")?.parse()?)
    };
    let mut header = Vec::new();
    let (rows, path): (Vec<Vec<String>>, String) = match args.first().map(String::as_str) {
        Some("numeric") => {
            let (n, d, k, seed) = (num(1)?, num(2)?, num(3)?, num(4)? as u64);
            let spread: f64 = args.get(6).map_or(Ok(1.0), |s| s.parse())?;
            let b = blobs(
                &BlobsConfig::new(n, d, k)
                    .with_spread(spread)
                    .with_seed(seed),
            )?;
            header.extend((0..d).map(|j| format!("f{j}")));
            let rows = (0..n)
                .map(|i| {
                    let mut r: Vec<String> = b.data.row(i).iter().map(|v| v.to_string()).collect();
                    r.push(b.labels[i].to_string());
                    r
                })
                .collect();
            (
                rows,
                args.get(5).cloned().unwrap_or_else(|| "blobs.csv".into()),
            )
        }
        Some("mixed") => {
            let (n, nd, cd, k, levels, seed) = (
                num(1)?,
                num(2)?,
                num(3)?,
                num(4)?,
                num(5)? as u32,
                num(6)? as u64,
            );
            let b = mixed_blobs(
                &BlobsConfig::new(n, nd, k)
                    .with_categorical(cd, levels)
                    .with_seed(seed),
            )?;
            header.extend((0..nd).map(|j| format!("f{j}")));
            header.extend((0..cd).map(|j| format!("c{j}")));
            let rows = (0..n)
                .map(|i| {
                    let mut r: Vec<String> =
                        b.numeric.row(i).iter().map(|v| v.to_string()).collect();
                    r.extend(b.categorical.row(i).iter().map(|v| v.to_string()));
                    r.push(b.labels[i].to_string());
                    r
                })
                .collect();
            (
                rows,
                args.get(7).cloned().unwrap_or_else(|| "mixed.csv".into()),
            )
        }
        _ => return Err("usage: export_blobs numeric|mixed ...".into()),
    };
    header.push("label".into());
    let mut out = BufWriter::new(File::create(&path)?);
    writeln!(out, "{}", header.join(","))?;
    for r in rows {
        writeln!(out, "{}", r.join(","))?;
    }
    out.flush()?;
    eprintln!("wrote {path}");
    Ok(())
}
