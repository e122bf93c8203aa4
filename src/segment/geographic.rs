//! Geographic segmentation: where customers are.
//!
//! Five modes, one model:
//! - **Regions** — customers grouped by their region codes (country › state › postal prefix
//!   …) at a chosen depth; a group smaller than `min_size` rolls up into its parent's
//!   "(other)" group, so small regions are neither dropped nor reported alone.
//! - **Density** — DBSCAN with a radius in km. Points become 3-D unit vectors, where the
//!   straight-line (chord) distance is an exact monotone function of the great-circle
//!   distance, so linfa's DBSCAN and its k-d tree work unchanged with eps = chord(km).
//! - **k-means on the sphere** — k-means on the unit vectors; segment centres are the
//!   normalised means.
//! - **Urbanicity** — urban / suburban / rural from the nearby cities of a table the caller
//!   supplies (see [`UrbanicityRule`]).
//! - **Trade areas** — each customer to the nearest store within a radius; beyond it,
//!   "outside trade areas".
//!
//! Profiles give each segment's size, share, centre, mean and 90th-percentile distance to the
//! centre, and the nearest city to the centre when a cities table is given; density and
//! k-means segments are named after that city.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::dbscan::DbscanParams;
use super::features::{NumericFeature, Scaling, Table, Transform};
use super::kmeans::KMeansParams;
use super::model::{SegmentFitReport, SegmentModel};
use super::profile::rename_segment;
use super::strategy::Strategy;
use crate::contract::only;
use crate::data::CustomerId;
use crate::error::{Error, Position, Result};
use crate::geo::{
    City, CityTiers, GeoPoint, SphereIndex, Urbanicity, UrbanicityRule, km_to_chord, urbanicity,
};
use crate::{Assign, Fit};

/// One customer's location.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoRecord {
    /// The customer.
    pub customer_id: CustomerId,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Region codes from the widest to the narrowest (e.g. country, state, postal prefix);
    /// `None` where unknown. Only the Regions mode reads them.
    pub regions: Vec<Option<String>>,
}

impl GeoRecord {
    /// A record without region codes.
    pub fn new(customer_id: impl Into<CustomerId>, lat: f64, lon: f64) -> Self {
        GeoRecord {
            customer_id: customer_id.into(),
            lat,
            lon,
            regions: Vec::new(),
        }
    }

    fn point(&self) -> Result<GeoPoint> {
        GeoPoint::new(self.lat, self.lon).map_err(|e| {
            let at = Position::of_customer(&self.customer_id);
            match e {
                // A coordinate out of range is this record's data, in that field.
                Error::InvalidParameter {
                    name,
                    value,
                    reason,
                } => Error::InvalidRecord {
                    at: at.with_column(name),
                    reason: format!("{value}: {reason}"),
                },
                other => other.amend(|_| at),
            }
        })
    }
}

/// A store (or branch, depot …) for trade areas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Store {
    /// Name or id.
    pub name: String,
    /// Location.
    pub location: GeoPoint,
}

/// How customers are grouped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum GeoMode {
    /// By region codes, to `depth` codes; groups under `min_size` roll up.
    Regions {
        /// Codes used (1 = the widest only; at most [`MAX_REGION_DEPTH`]).
        depth: usize,
        /// Smallest group reported on its own.
        min_size: usize,
    },
    /// DBSCAN with a radius in km.
    Density {
        /// Neighbourhood radius, km.
        eps_km: f64,
        /// Customers a neighbourhood needs to be dense (at least 2).
        min_points: usize,
    },
    /// k-means on unit vectors.
    KMeans(KMeansParams),
    /// Urban / suburban / rural against the segmenter's cities.
    Urbanicity(UrbanicityRule),
    /// Nearest store within a radius.
    TradeAreas {
        /// The stores.
        stores: Vec<Store>,
        /// Largest distance to a store, km.
        radius_km: f64,
    },
}

/// Unfitted geographic segmentation, validated when built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GeographicSegmenterRecord")]
pub struct GeographicSegmenter {
    mode: GeoMode,
    cities: Vec<City>,
}

/// The serde shape of [`GeographicSegmenter`]: deserializing runs the same checks as
/// building one.
#[derive(Deserialize)]
struct GeographicSegmenterRecord {
    mode: GeoMode,
    cities: Vec<City>,
}

impl TryFrom<GeographicSegmenterRecord> for GeographicSegmenter {
    type Error = Error;
    fn try_from(r: GeographicSegmenterRecord) -> Result<Self> {
        Ok(GeographicSegmenter::new(r.mode)?.with_cities(r.cities))
    }
}

/// The deepest region hierarchy [`GeoMode::Regions`] accepts (country, state, county,
/// postcode … rarely pass six levels).
pub const MAX_REGION_DEPTH: usize = 32;

impl GeographicSegmenter {
    /// A segmenter in the given mode (urbanicity needs [`GeographicSegmenter::with_cities`]).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a depth of 0 or above [`MAX_REGION_DEPTH`], a min_size
    /// of 0, a radius that is not finite and positive, min_points below 2, k of 0, an invalid urbanicity rule, no store, or two stores
    /// with one name.
    pub fn new(mode: GeoMode) -> Result<Self> {
        let bad = |name: &'static str, value: String, reason: &str| {
            Err(Error::InvalidParameter {
                name,
                value,
                reason: reason.into(),
            })
        };
        match &mode {
            GeoMode::Regions { depth, min_size }
                if *depth == 0 || *depth > MAX_REGION_DEPTH || *min_size == 0 =>
            {
                return bad(
                    "regions",
                    format!("depth {depth}, min_size {min_size}"),
                    "depth 1 to MAX_REGION_DEPTH (32), min_size at least 1",
                );
            }
            GeoMode::Density { eps_km, min_points }
                if !(eps_km.is_finite() && *eps_km > 0.0) || *min_points < 2 =>
            {
                return bad(
                    "density",
                    format!("eps {eps_km} km, {min_points} points"),
                    "eps finite and > 0, min_points ≥ 2",
                );
            }
            // Checked when built.
            GeoMode::Urbanicity(_) => {}
            GeoMode::TradeAreas { stores, radius_km } => {
                let mut names: Vec<&str> = stores.iter().map(|s| s.name.as_str()).collect();
                names.sort();
                if stores.is_empty() || names.windows(2).any(|w| w[0] == w[1]) {
                    return bad(
                        "stores",
                        format!("{} stores", stores.len()),
                        "at least one, with distinct names",
                    );
                }
                if !(radius_km.is_finite() && *radius_km > 0.0) {
                    return bad("radius_km", radius_km.to_string(), "finite and > 0");
                }
            }
            _ => {}
        }
        Ok(GeographicSegmenter {
            mode,
            cities: Vec::new(),
        })
    }

    /// A cities table: needed for urbanicity, used to name density and k-means segments.
    pub fn with_cities(mut self, cities: Vec<City>) -> Self {
        self.cities = cities;
        self
    }

    fn fit_vectors(
        &self,
        strategy: &Strategy,
        points: &[GeoPoint],
    ) -> Result<(Fitted, Vec<Option<usize>>, Vec<String>)> {
        let table = vector_table(points);
        let specs = ["x", "y", "z"].map(|n| NumericFeature {
            scaling: Scaling::None,
            ..NumericFeature::new(n, Transform::None)
        });
        let fit = SegmentModel::fit(strategy, &specs, &[], &[], &table)?;
        let names = (0..fit.model.segments())
            .map(|s| format!("cluster {s}"))
            .collect();
        Ok((Fitted::Vectors(Box::new(fit.model)), fit.labels, names))
    }
}

impl Fit for GeographicSegmenter {
    type Data<'a> = [GeoRecord];
    type Model = GeographicModel;
    type Report = SegmentFitReport;

    /// Fits the segmentation.
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::InvalidRecord`] for a location out of range or NaN
    /// (naming the customer); [`Error::DuplicateCustomer`]; [`Error::InvalidParameter`] for
    /// urbanicity without cities, or k larger than the number of customers.
    fn fit(&self, records: &[GeoRecord]) -> Result<(GeographicModel, SegmentFitReport)> {
        if records.is_empty() {
            return Err(Error::EmptyInput { what: "locations" });
        }
        let points = points_of(records)?;
        let mut ids: Vec<&CustomerId> = records.iter().map(|r| &r.customer_id).collect();
        ids.sort();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::DuplicateCustomer {
                at: Position::of_customer(w[0].to_string()),
                what: "locations",
            });
        }
        let (fitted, labels, names) = match &self.mode {
            GeoMode::Regions { depth, min_size } => {
                let keys: Vec<Vec<String>> =
                    records.iter().map(|r| region_key(r, *depth)).collect();
                let groups = roll_up(&keys, *depth, *min_size);
                let labels: Vec<Option<usize>> = keys.iter().map(|k| groups.lookup(k)).collect();
                let names = groups.names();
                (Fitted::Regions(groups), labels, names)
            }
            GeoMode::Density { eps_km, min_points } => {
                let strategy =
                    Strategy::Dbscan(DbscanParams::new(km_to_chord(*eps_km), *min_points)?);
                self.fit_vectors(&strategy, &points)?
            }
            GeoMode::KMeans(p) => self.fit_vectors(&Strategy::KMeans(*p), &points)?,
            GeoMode::Urbanicity(rule) => {
                if self.cities.is_empty() {
                    return Err(Error::InvalidParameter {
                        name: "cities",
                        value: "none".into(),
                        reason: "urbanicity needs a cities table (with_cities)".into(),
                    });
                }
                let scores = urbanicity(&points, &self.cities, rule);
                let labels = scores.iter().map(|s| Some(s.class as usize)).collect();
                let names = [Urbanicity::Urban, Urbanicity::Suburban, Urbanicity::Rural]
                    .iter()
                    .map(|u| u.name().to_string())
                    .collect();
                (Fitted::Urbanicity(*rule), labels, names)
            }
            GeoMode::TradeAreas { stores, radius_km } => {
                let labels = trade_areas(&points, stores, *radius_km);
                let mut names: Vec<String> = stores.iter().map(|s| s.name.clone()).collect();
                names.push("outside trade areas".into());
                let labels = labels
                    .into_iter()
                    .map(|l| Some(l.unwrap_or(stores.len())))
                    .collect();
                (
                    Fitted::TradeAreas(stores.clone(), *radius_km),
                    labels,
                    names,
                )
            }
        };
        let profiles = geo_profiles(&points, &labels, &names, &self.cities);
        let mut model = GeographicModel {
            fitted,
            profiles,
            cities: self.cities.clone(),
            noise: labels.iter().filter(|l| l.is_none()).count(),
            tiers: std::sync::OnceLock::new(),
        };
        if matches!(self.mode, GeoMode::Density { .. } | GeoMode::KMeans(_)) {
            model.name_after_cities();
        }
        Ok((model, SegmentFitReport::new(labels)))
    }
}

fn points_of(records: &[GeoRecord]) -> Result<Vec<GeoPoint>> {
    records
        .iter()
        .enumerate()
        .map(|(row, r)| r.point().map_err(|e| e.amend(|at| at.with_row(row))))
        .collect()
}

fn vector_table(points: &[GeoPoint]) -> Table {
    let v: Vec<[f64; 3]> = points.iter().map(GeoPoint::unit_vector).collect();
    Table {
        numeric: (0..3)
            .map(|j| v.iter().map(|x| Some(x[j])).collect())
            .collect(),
        categorical: Vec::new(),
    }
}

fn trade_areas(points: &[GeoPoint], stores: &[Store], radius_km: f64) -> Vec<Option<usize>> {
    let index = SphereIndex::new(&stores.iter().map(|s| s.location).collect::<Vec<_>>());
    points
        .par_iter()
        .map(|p| {
            index
                .nearest(p)
                .filter(|&(_, d)| d <= radius_km)
                .map(|(i, _)| i)
        })
        .collect()
}

const MISSING_REGION: &str = "(missing)";
const OTHER_REGION: &str = "(other)";

fn region_key(r: &GeoRecord, depth: usize) -> Vec<String> {
    (0..depth)
        .map(|j| {
            r.regions
                .get(j)
                .cloned()
                .flatten()
                .unwrap_or_else(|| MISSING_REGION.into())
        })
        .collect()
}

/// Region groups after rolling small ones up: every kept key (possibly ending in "(other)")
/// and its segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct RegionGroups {
    depth: usize,
    keys: Vec<Vec<String>>,
}

impl RegionGroups {
    /// The segment of a full-depth key: the key itself if kept, else the "(other)" group of
    /// its nearest kept ancestor level.
    fn lookup(&self, key: &[String]) -> Option<usize> {
        for len in (0..=key.len()).rev() {
            let mut k: Vec<String> = key[..len].to_vec();
            if len < key.len() {
                k.push(OTHER_REGION.into());
            }
            if let Some(i) = self.keys.iter().position(|x| *x == k) {
                return Some(i);
            }
        }
        None
    }

    fn names(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.join(" › ")).collect()
    }
}

/// Keeps full-depth groups of at least `min_size`; pools the rest by parent into
/// "parent › (other)", rolling further up while a pool is still too small; the last pool,
/// at the top, is kept whatever its size so that no customer is lost.
fn roll_up(keys: &[Vec<String>], depth: usize, min_size: usize) -> RegionGroups {
    use std::collections::BTreeMap;
    let mut counts: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for k in keys {
        *counts.entry(k.clone()).or_default() += 1;
    }
    let mut kept = Vec::new();
    // Pending: small groups at the current level, by their prefix.
    let mut pending: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for (k, c) in counts {
        if c >= min_size {
            kept.push(k);
        } else {
            *pending.entry(k[..depth - 1].to_vec()).or_default() += c;
        }
    }
    for level in (0..depth).rev() {
        let mut next: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        for (prefix, c) in pending {
            if c >= min_size || level == 0 {
                let mut k = prefix;
                k.push(OTHER_REGION.into());
                kept.push(k);
            } else {
                let parent = prefix[..level - 1].to_vec();
                *next.entry(parent).or_default() += c;
            }
        }
        pending = next;
    }
    kept.sort();
    RegionGroups { depth, keys: kept }
}

/// A geographic segment's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeoProfile {
    /// Segment number.
    pub segment: usize,
    /// Name.
    pub name: String,
    /// Customers.
    pub size: usize,
    /// Share of the customers with a segment.
    pub share: f64,
    /// Centre (normalised mean of the unit vectors); `None` for an empty segment or one
    /// spread evenly around the globe.
    pub centre: Option<GeoPoint>,
    /// Mean distance to the centre, km.
    pub mean_km: f64,
    /// 90th percentile of the distance to the centre, km.
    pub p90_km: f64,
    /// Nearest city to the centre (index in the cities table) and its distance, km.
    pub nearest_city: Option<(usize, f64)>,
}

fn geo_profiles(
    points: &[GeoPoint],
    labels: &[Option<usize>],
    names: &[String],
    cities: &[City],
) -> Vec<GeoProfile> {
    let k = names.len();
    let assigned = labels.iter().filter(|l| l.is_some()).count().max(1);
    let index = SphereIndex::new(&cities.iter().map(|c| c.location).collect::<Vec<_>>());
    (0..k)
        .map(|s| {
            let members: Vec<&GeoPoint> = points
                .iter()
                .zip(labels)
                .filter(|(_, l)| **l == Some(s))
                .map(|(p, _)| p)
                .collect();
            let mut sum = [0.0; 3];
            for p in &members {
                let v = p.unit_vector();
                for j in 0..3 {
                    sum[j] += v[j];
                }
            }
            let centre = if members.is_empty() {
                None
            } else {
                GeoPoint::from_vector(sum)
            };
            let mut d: Vec<f64> = centre.map_or(Vec::new(), |c| {
                members.iter().map(|p| p.distance_km(&c)).collect()
            });
            d.sort_by(f64::total_cmp);
            GeoProfile {
                segment: s,
                name: names[s].clone(),
                size: members.len(),
                share: members.len() as f64 / assigned as f64,
                centre,
                mean_km: if d.is_empty() {
                    0.0
                } else {
                    d.iter().sum::<f64>() / d.len() as f64
                },
                p90_km: d
                    .get((d.len() * 9 / 10).min(d.len().saturating_sub(1)))
                    .copied()
                    .unwrap_or(0.0),
                nearest_city: centre.and_then(|c| index.nearest(&c)),
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Fitted {
    Regions(RegionGroups),
    Vectors(Box<SegmentModel>),
    Urbanicity(UrbanicityRule),
    TradeAreas(Vec<Store>, f64),
}

/// A fitted geographic segmentation. Plain serde data; deserializing validates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GeographicModelRecord")]
pub struct GeographicModel {
    fitted: Fitted,
    profiles: Vec<GeoProfile>,
    cities: Vec<City>,
    noise: usize,
    /// City index for urbanicity, built on first use (not serialized).
    #[serde(skip)]
    tiers: std::sync::OnceLock<CityTiers>,
}

#[derive(Deserialize)]
struct GeographicModelRecord {
    fitted: Fitted,
    profiles: Vec<GeoProfile>,
    cities: Vec<City>,
    noise: usize,
}

impl TryFrom<GeographicModelRecord> for GeographicModel {
    type Error = Error;
    fn try_from(r: GeographicModelRecord) -> Result<Self> {
        let segments = match &r.fitted {
            Fitted::Regions(g) => {
                if g.depth == 0
                    || g.depth > MAX_REGION_DEPTH
                    || g.keys.iter().any(|k| k.is_empty() || k.len() > g.depth)
                {
                    return Err(corrupt("region keys deeper than the depth"));
                }
                g.keys.len()
            }
            Fitted::Vectors(m) => {
                if m.features().output_names() != ["x", "y", "z"] {
                    return Err(corrupt("a location model works on x, y, z"));
                }
                m.segments()
            }
            // The rule was checked when deserialized.
            Fitted::Urbanicity(_) => {
                if r.cities.is_empty() {
                    return Err(corrupt("urbanicity without cities"));
                }
                3
            }
            Fitted::TradeAreas(stores, radius) => {
                if stores.is_empty() || !(radius.is_finite() && *radius > 0.0) {
                    return Err(corrupt("trade areas need stores and a positive radius"));
                }
                stores.len() + 1
            }
        };
        if r.profiles.len() != segments
            || r.profiles.iter().enumerate().any(|(i, p)| p.segment != i)
        {
            return Err(corrupt("one profile per segment, in order"));
        }
        if r.profiles
            .iter()
            .any(|p| p.nearest_city.is_some_and(|(c, _)| c >= r.cities.len()))
        {
            return Err(corrupt("a profile names a city not in the table"));
        }
        Ok(GeographicModel {
            fitted: r.fitted,
            profiles: r.profiles,
            cities: r.cities,
            noise: r.noise,
            tiers: std::sync::OnceLock::new(),
        })
    }
}

fn corrupt(reason: &str) -> Error {
    Error::InvalidParameter {
        name: "geographic model",
        value: "deserialized".into(),
        reason: reason.into(),
    }
}

impl GeographicModel {
    /// Segment profiles.
    pub fn profiles(&self) -> &[GeoProfile] {
        &self.profiles
    }

    /// The name of a segment.
    pub fn segment_name(&self, segment: usize) -> Option<&str> {
        self.profiles.get(segment).map(|p| p.name.as_str())
    }

    /// Renames a segment.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a segment that does not exist or an empty name.
    pub fn rename(&mut self, segment: usize, name: &str) -> Result<()> {
        let segments = self.profiles.len();
        let slot = self.profiles.get_mut(segment).map(|p| &mut p.name);
        rename_segment(slot, segment, segments, name)
    }

    /// Training customers with no segment (DBSCAN noise).
    pub fn noise(&self) -> usize {
        self.noise
    }

    /// Names density and k-means segments "around <nearest city>" (repeated names get a
    /// number).
    fn name_after_cities(&mut self) {
        let mut used: Vec<String> = Vec::new();
        for p in &mut self.profiles {
            if let Some((c, _)) = p.nearest_city {
                let base = format!("around {}", self.cities[c].name);
                let n = used.iter().filter(|u| **u == base).count();
                used.push(base.clone());
                p.name = if n == 0 {
                    base
                } else {
                    format!("{base} ({})", n + 1)
                };
            }
        }
    }
}

impl Assign for GeographicModel {
    type Record = GeoRecord;

    fn segments(&self) -> usize {
        self.profiles.len()
    }

    /// The segment of one customer (`None`: DBSCAN noise, or a region the fit never saw
    /// rolling up to no group).
    ///
    /// # Errors
    /// As [`GeographicModel::assign_batch`].
    fn assign(&self, record: &GeoRecord) -> Result<Option<usize>> {
        only(self.assign_batch(std::slice::from_ref(record)))
    }

    /// Segments of many customers, in parallel, in input order.
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] for a location out of range or NaN, naming the customer.
    fn assign_batch(&self, records: &[GeoRecord]) -> Result<Vec<Option<usize>>> {
        let points = points_of(records)?;
        Ok(match &self.fitted {
            Fitted::Regions(g) => records
                .par_iter()
                .map(|r| g.lookup(&region_key(r, g.depth)))
                .collect(),
            Fitted::Vectors(m) => m.assign_table(&vector_table(&points))?,
            Fitted::Urbanicity(rule) => {
                let tiers = self
                    .tiers
                    .get_or_init(|| CityTiers::new(&self.cities, rule));
                points
                    .par_iter()
                    .map(|p| Some(tiers.score(p, &self.cities, rule).class as usize))
                    .collect()
            }
            Fitted::TradeAreas(stores, radius) => trade_areas(&points, stores, *radius)
                .into_iter()
                .map(|l| Some(l.unwrap_or(stores.len())))
                .collect(),
        })
    }
}
