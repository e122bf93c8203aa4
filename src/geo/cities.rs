//! A caller's table of cities: the rows, and a reader for GeoNames-style CSV files.

use serde::{Deserialize, Serialize};

use super::GeoPoint;
use crate::error::{Error, Position, Result};

/// A city of the caller's table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct City {
    /// Name.
    pub name: String,
    /// Location.
    pub location: GeoPoint,
    /// Population.
    pub population: u64,
}

impl From<&crate::datasets::CityRecord> for City {
    fn from(c: &crate::datasets::CityRecord) -> Self {
        City {
            name: c.name.to_string(),
            // The embedded table holds valid coordinates.
            location: GeoPoint::new(c.latitude, c.longitude).unwrap_or(GeoPoint::ORIGIN),
            population: c.population,
        }
    }
}

impl City {
    /// Reads a comma-separated cities table with a header naming at least `name`,
    /// `latitude`, `longitude` and `population` (GeoNames' `cities15000` export has them);
    /// other columns are ignored, double-quoted fields may hold commas.
    ///
    /// # Errors
    /// [`Error::Parse`] naming the line and field of a missing column, a short line, or a
    /// value that is not a number or a valid coordinate.
    pub fn parse_csv(text: &str) -> Result<Vec<City>> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((_, header)) = lines.next() else {
            return Ok(Vec::new());
        };
        let header = split_csv(header);
        let col = |name: &'static str| {
            header
                .iter()
                .position(|h| h.trim() == name)
                .ok_or(Error::Parse {
                    at: Position::at_line(1).with_column(name),
                    value: String::new(),
                    reason: "no such column in the header".into(),
                })
        };
        let (name, lat, lon, pop) = (
            col("name")?,
            col("latitude")?,
            col("longitude")?,
            col("population")?,
        );
        lines
            .map(|(i, line)| {
                let f = split_csv(line);
                let get = |j: usize, field: &'static str| {
                    f.get(j).ok_or_else(|| Error::Parse {
                        at: Position::at_line(i + 1).with_column(field),
                        value: line.to_string(),
                        reason: "too few fields".into(),
                    })
                };
                let num = |j: usize, field: &'static str| -> Result<f64> {
                    let v = get(j, field)?;
                    v.trim().parse().map_err(|_| Error::Parse {
                        at: Position::at_line(i + 1).with_column(field),
                        value: v.clone(),
                        reason: "not a number".into(),
                    })
                };
                let location = GeoPoint::new(num(lat, "latitude")?, num(lon, "longitude")?)
                    .map_err(|e| Error::Parse {
                        at: Position::at_line(i + 1).with_column("latitude/longitude"),
                        value: line.to_string(),
                        reason: e.to_string(),
                    })?;
                let p = get(pop, "population")?;
                let population = p.trim().parse().map_err(|_| Error::Parse {
                    at: Position::at_line(i + 1).with_column("population"),
                    value: p.clone(),
                    reason: "not a non-negative integer".into(),
                })?;
                Ok(City {
                    name: get(name, "name")?.clone(),
                    location,
                    population,
                })
            })
            .collect()
    }
}

/// Fields of one CSV line; double quotes group a field and `""` inside them is a quote.
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}
