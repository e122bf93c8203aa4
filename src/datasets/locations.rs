//! Seeded customer locations for geographic tests and benchmarks.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::geo::GeoPoint;

/// `n` locations: every other one near a random place of `around` (within ±0.5° of latitude
/// and longitude), the rest uniform on the sphere (mostly ocean: the hard case for a
/// nearest-city search, far from everything). Seeded and thread-count invariant (each point
/// has its own random stream).
///
/// ```
/// use custseg::datasets::scattered_locations;
/// use custseg::geo::GeoPoint;
/// let paris = GeoPoint::new(48.85341, 2.3488)?;
/// let pts = scattered_locations(1_000, &[paris], 7)?;
/// assert_eq!(pts.len(), 1_000);
/// assert!(pts[1].distance_km(&paris) < 80.0);
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for no place to scatter around, or more points than memory
/// could hold.
pub fn scattered_locations(n: usize, around: &[GeoPoint], seed: u64) -> Result<Vec<GeoPoint>> {
    if around.is_empty() {
        return Err(Error::InvalidParameter {
            name: "around",
            value: "[]".into(),
            reason: "at least one place".into(),
        });
    }
    if n > isize::MAX as usize / std::mem::size_of::<GeoPoint>() {
        return Err(Error::InvalidParameter {
            name: "n",
            value: n.to_string(),
            reason: "a number of points that fits in memory".into(),
        });
    }
    Ok((0..n)
        .into_par_iter()
        .map(|i| {
            let mut r = Xoshiro256PlusPlus::seed_from_u64(
                seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let (lat, lon) = if i % 2 == 0 {
                let z: f64 = r.gen_range(-1.0..1.0);
                (z.asin().to_degrees(), r.gen_range(-180.0..180.0))
            } else {
                let c = around[r.gen_range(0..around.len())];
                (
                    (c.lat() + r.gen_range(-0.5..0.5)).clamp(-90.0, 90.0),
                    (c.lon() + r.gen_range(-0.5..0.5)).clamp(-180.0, 180.0),
                )
            };
            GeoPoint::new(lat, lon).unwrap_or(GeoPoint::ORIGIN)
        })
        .collect())
}
