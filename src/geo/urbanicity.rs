//! Urban, suburban or rural: a gravity-style rule on a table of cities, and the nearest city
//! to a location.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::cities::City;
use super::{GeoPoint, SphereIndex};
use crate::error::{Error, Result};

/// Urban / suburban / rural, by a gravity-style rule on the caller's cities.
///
/// A city of population P reaches `urban_km × √(P / 100,000)` km as its urban radius, and
/// `suburban_factor` times that as its suburban radius: with the defaults (3 km, × 3) a city
/// of 100,000 is urban within 3 km and suburban within 9 km; Paris (2.1 million) within 14 km
/// and 42 km. A customer takes the most urban class any city within reach gives; cities
/// smaller than `min_population` are ignored. The square root makes the radius grow like a
/// city's extent (population ∝ area at a given density).
///
/// Checked when built (and when deserialized).
///
/// ```
/// use custseg::geo::UrbanicityRule;
/// let rule = UrbanicityRule::new(2.0, 4.0, 50_000)?;
/// assert_eq!((rule.urban_km(), rule.suburban_factor(), rule.min_population()), (2.0, 4.0, 50_000));
/// assert!(UrbanicityRule::new(3.0, 0.5, 15_000).is_err()); // suburbs inside the city
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UrbanicityRuleRecord")]
pub struct UrbanicityRule {
    urban_km: f64,
    suburban_factor: f64,
    min_population: u64,
}

/// The serde shape of [`UrbanicityRule`], checked before it becomes one.
#[derive(Deserialize)]
struct UrbanicityRuleRecord {
    urban_km: f64,
    suburban_factor: f64,
    min_population: u64,
}

impl TryFrom<UrbanicityRuleRecord> for UrbanicityRule {
    type Error = Error;
    fn try_from(r: UrbanicityRuleRecord) -> Result<Self> {
        UrbanicityRule::new(r.urban_km, r.suburban_factor, r.min_population)
    }
}

impl Default for UrbanicityRule {
    fn default() -> Self {
        UrbanicityRule {
            urban_km: 3.0,
            suburban_factor: 3.0,
            min_population: 15_000,
        }
    }
}

impl UrbanicityRule {
    /// The urban radius of a city of 100,000 in km, the suburban radius as a multiple of it,
    /// and the smallest population that counts as a city.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless `urban_km` is finite and > 0 and `suburban_factor`
    /// finite and ≥ 1.
    pub fn new(urban_km: f64, suburban_factor: f64, min_population: u64) -> Result<Self> {
        if !(urban_km.is_finite()
            && urban_km > 0.0
            && suburban_factor.is_finite()
            && suburban_factor >= 1.0)
        {
            return Err(Error::InvalidParameter {
                name: "urbanicity rule",
                value: format!("{urban_km} km × {suburban_factor}"),
                reason: "urban_km finite and > 0, suburban_factor finite and ≥ 1".into(),
            });
        }
        Ok(UrbanicityRule {
            urban_km,
            suburban_factor,
            min_population,
        })
    }

    /// Urban radius of a city of 100,000, km.
    pub fn urban_km(&self) -> f64 {
        self.urban_km
    }

    /// Suburban radius as a multiple of the urban radius.
    pub fn suburban_factor(&self) -> f64 {
        self.suburban_factor
    }

    /// Cities below this population are ignored.
    pub fn min_population(&self) -> u64 {
        self.min_population
    }

    fn urban_radius(&self, population: u64) -> f64 {
        self.urban_km * (population as f64 / 100_000.0).sqrt()
    }
}

/// Urban, suburban or rural.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Urbanicity {
    /// Within a city's urban radius.
    Urban,
    /// Within a city's suburban radius.
    Suburban,
    /// Beyond every city's reach.
    Rural,
}

impl Urbanicity {
    /// "urban", "suburban" or "rural".
    pub fn name(self) -> &'static str {
        match self {
            Urbanicity::Urban => "urban",
            Urbanicity::Suburban => "suburban",
            Urbanicity::Rural => "rural",
        }
    }
}

/// The urbanicity of one location, with the city that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UrbanicityScore {
    /// The class.
    pub class: Urbanicity,
    /// Index of the deciding city (the one with the smallest distance / urban radius), if
    /// any city is within suburban reach.
    pub city: Option<usize>,
    /// Distance to that city, km.
    pub distance_km: Option<f64>,
    /// Distance over that city's urban radius (≤ 1 urban, ≤ suburban factor suburban).
    pub ratio: Option<f64>,
}

/// Cities grouped by population tier (powers of 4), each tier with its own index and
/// reach, so that a megacity's 100-km suburban radius does not make every query scan the
/// hundreds of small towns within 100 km.
#[derive(Debug, Clone)]
pub(crate) struct CityTiers {
    tiers: Vec<(SphereIndex, Vec<usize>, f64)>,
}

/// The tiers are a cache derived from the cities and the rule: any two are equal.
impl PartialEq for CityTiers {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl CityTiers {
    pub(crate) fn new(cities: &[City], rule: &UrbanicityRule) -> Self {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (i, c) in cities.iter().enumerate() {
            if c.population < rule.min_population.max(1) {
                continue;
            }
            let tier = ((c.population as f64).log(4.0).floor().max(0.0)) as usize;
            if groups.len() <= tier {
                groups.resize(tier + 1, Vec::new());
            }
            groups[tier].push(i);
        }
        let tiers = groups
            .into_iter()
            .filter(|g| !g.is_empty())
            .map(|g| {
                let pts: Vec<GeoPoint> = g.iter().map(|&i| cities[i].location).collect();
                let max_pop = g.iter().map(|&i| cities[i].population).max().unwrap_or(0);
                let reach = rule.urban_radius(max_pop) * rule.suburban_factor;
                (SphereIndex::new(&pts), g, reach)
            })
            .collect();
        CityTiers { tiers }
    }

    pub(crate) fn score(
        &self,
        p: &GeoPoint,
        cities: &[City],
        rule: &UrbanicityRule,
    ) -> UrbanicityScore {
        let mut best: Option<(f64, usize, f64)> = None;
        for (index, ids, reach) in &self.tiers {
            index.within(p, *reach, |j, d| {
                let i = ids[j];
                let ratio = d / rule.urban_radius(cities[i].population);
                let better = match best {
                    None => true,
                    Some((r, bi, _)) => ratio < r || (ratio == r && i < bi),
                };
                if ratio <= rule.suburban_factor && better {
                    best = Some((ratio, i, d));
                }
            });
        }
        match best {
            Some((ratio, i, d)) => UrbanicityScore {
                class: if ratio <= 1.0 {
                    Urbanicity::Urban
                } else {
                    Urbanicity::Suburban
                },
                city: Some(i),
                distance_km: Some(d),
                ratio: Some(ratio),
            },
            None => UrbanicityScore {
                class: Urbanicity::Rural,
                city: None,
                distance_km: None,
                ratio: None,
            },
        }
    }
}

/// Urbanicity of many locations against a cities table, in parallel.
///
/// ```
/// use custseg::geo::GeoPoint;
/// use custseg::geo::{City, Urbanicity, UrbanicityRule, urbanicity};
/// let cities = vec![City { name: "Paris".into(), location: GeoPoint::new(48.85341, 2.3488)?, population: 2_138_551 }];
/// let here = [GeoPoint::new(48.86, 2.35)?, GeoPoint::new(48.58, 2.35)?, GeoPoint::new(45.0, 3.0)?];
/// let s = urbanicity(&here, &cities, &UrbanicityRule::default());
/// let classes: Vec<Urbanicity> = s.iter().map(|s| s.class).collect();
/// assert_eq!(classes, [Urbanicity::Urban, Urbanicity::Suburban, Urbanicity::Rural]);
/// # Ok::<(), custseg::Error>(())
/// ```
pub fn urbanicity(
    points: &[GeoPoint],
    cities: &[City],
    rule: &UrbanicityRule,
) -> Vec<UrbanicityScore> {
    // The rule was checked when built, so there is nothing left to refuse.
    let tiers = CityTiers::new(cities, rule);
    points
        .par_iter()
        .map(|p| tiers.score(p, cities, rule))
        .collect()
}

/// The nearest city to each location, as (city index, km), in parallel; `None` for an empty
/// table.
pub fn nearest_city(points: &[GeoPoint], cities: &[City]) -> Vec<Option<(usize, f64)>> {
    let index = SphereIndex::new(&cities.iter().map(|c| c.location).collect::<Vec<_>>());
    points.par_iter().map(|p| index.nearest(p)).collect()
}
