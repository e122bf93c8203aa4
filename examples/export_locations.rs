//! Writes the benchmark's customer locations and cities as CSV for the Python peer
//! (`benches/peers/geo_balltree.py`).
//!
//! ```text
//! cargo run --release --example export_locations -- <cities.csv> <n> <seed> <out.csv>
//! ```
//!
//! The locations are `datasets::scattered_locations(n, cities, seed)`, as in
//! `benches/geo.rs`: header `lat,lon`, shortest round-trip decimals.

use std::fs::File;
use std::io::{BufWriter, Write};

use custseg::datasets::scattered_locations;
use custseg::geo::City;
use custseg::geo::GeoPoint;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [cities, n, seed, out] = args.as_slice() else {
        return Err("usage: export_locations <cities.csv> <n> <seed> <out.csv>".into());
    };
    let cities = City::parse_csv(&std::fs::read_to_string(cities)?)?;
    let around: Vec<GeoPoint> = cities.iter().map(|c| c.location).collect();
    let points = scattered_locations(n.parse()?, &around, seed.parse()?)?;
    let mut w = BufWriter::new(File::create(out)?);
    writeln!(w, "lat,lon")?;
    for p in &points {
        writeln!(w, "{},{}", p.lat(), p.lon())?;
    }
    w.flush()?;
    eprintln!("wrote {} locations to {out}", points.len());
    Ok(())
}
