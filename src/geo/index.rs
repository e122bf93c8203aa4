//! A static k-d tree over points on the sphere, stored as 3-D unit vectors.
//!
//! The straight-line (chord) distance between unit vectors grows monotonically with the
//! great-circle distance (chord = 2 sin(d / 2R)), so the nearest point by chord is the
//! nearest by great circle and a radius in kilometres becomes a chord radius exactly. A 3-D
//! tree has none of the trouble a latitude/longitude tree has at the poles and the
//! antimeridian.

use super::{EARTH_RADIUS_KM, GeoPoint};

/// Points per leaf: small enough to prune well, large enough to keep the tree shallow.
const LEAF: usize = 8;

/// A k-d tree over geographic points, built once, queried from many threads.
#[derive(Debug, Clone)]
pub struct SphereIndex {
    /// Unit vectors, reordered into tree order.
    xyz: Vec<[f64; 3]>,
    /// Original index of each reordered point.
    ids: Vec<usize>,
    /// Split axis of each internal node, in implicit (heap) layout over index ranges.
    nodes: Vec<Node>,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    start: usize,
    end: usize,
    axis: u8,
    split: f64,
    left: u32,
    right: u32,
}

const NONE: u32 = u32::MAX;

impl SphereIndex {
    /// Builds the index (points are assumed valid; see [`GeoPoint::new`]).
    pub fn new(points: &[GeoPoint]) -> Self {
        let mut xyz: Vec<[f64; 3]> = points.iter().map(|p| p.unit_vector()).collect();
        let mut ids: Vec<usize> = (0..points.len()).collect();
        let mut nodes = Vec::new();
        if !points.is_empty() {
            build(&mut xyz, &mut ids, 0, points.len(), &mut nodes);
        }
        SphereIndex { xyz, ids, nodes }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.xyz.len()
    }

    /// Whether the index holds no point.
    pub fn is_empty(&self) -> bool {
        self.xyz.is_empty()
    }

    /// The nearest point to `p` as (original index, great-circle km); ties go to the lower
    /// original index. `None` for an empty index.
    pub fn nearest(&self, p: &GeoPoint) -> Option<(usize, f64)> {
        if self.nodes.is_empty() {
            return None;
        }
        let q = p.unit_vector();
        let mut best = (f64::INFINITY, usize::MAX);
        self.nearest_in(0, &q, &mut best);
        Some((best.1, chord_to_km(best.0.sqrt())))
    }

    fn nearest_in(&self, node: u32, q: &[f64; 3], best: &mut (f64, usize)) {
        let n = self.nodes[node as usize];
        if n.left == NONE {
            for i in n.start..n.end {
                let d = sq(&self.xyz[i], q);
                let id = self.ids[i];
                if d < best.0 || (d == best.0 && id < best.1) {
                    *best = (d, id);
                }
            }
            return;
        }
        let diff = q[n.axis as usize] - n.split;
        let (near, far) = if diff < 0.0 {
            (n.left, n.right)
        } else {
            (n.right, n.left)
        };
        self.nearest_in(near, q, best);
        // `<=` so that an equally distant point with a lower index is still found.
        if diff * diff <= best.0 {
            self.nearest_in(far, q, best);
        }
    }

    /// Calls `f(original index, great-circle km)` for every point within `radius_km` of `p`
    /// (in tree order).
    pub fn within(&self, p: &GeoPoint, radius_km: f64, mut f: impl FnMut(usize, f64)) {
        if self.nodes.is_empty() || radius_km.is_nan() || radius_km < 0.0 {
            return;
        }
        let q = p.unit_vector();
        let chord = km_to_chord(radius_km);
        self.within_in(0, &q, chord * chord, &mut f);
    }

    fn within_in(&self, node: u32, q: &[f64; 3], r2: f64, f: &mut impl FnMut(usize, f64)) {
        let n = self.nodes[node as usize];
        if n.left == NONE {
            for i in n.start..n.end {
                let d = sq(&self.xyz[i], q);
                if d <= r2 {
                    f(self.ids[i], chord_to_km(d.sqrt()));
                }
            }
            return;
        }
        let diff = q[n.axis as usize] - n.split;
        let (near, far) = if diff < 0.0 {
            (n.left, n.right)
        } else {
            (n.right, n.left)
        };
        self.within_in(near, q, r2, f);
        if diff * diff <= r2 {
            self.within_in(far, q, r2, f);
        }
    }
}

fn sq(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

/// Great-circle distance (km) for a chord between unit vectors.
pub(crate) fn chord_to_km(chord: f64) -> f64 {
    2.0 * EARTH_RADIUS_KM * (chord / 2.0).min(1.0).asin()
}

/// Chord between unit vectors for a great-circle distance (km); capped at the diameter.
pub(crate) fn km_to_chord(km: f64) -> f64 {
    let half_angle = (km / (2.0 * EARTH_RADIUS_KM)).min(std::f64::consts::FRAC_PI_2);
    2.0 * half_angle.sin()
}

fn build(
    xyz: &mut [[f64; 3]],
    ids: &mut [usize],
    start: usize,
    end: usize,
    nodes: &mut Vec<Node>,
) -> u32 {
    let me = nodes.len() as u32;
    nodes.push(Node {
        start,
        end,
        axis: 0,
        split: 0.0,
        left: NONE,
        right: NONE,
    });
    if end - start <= LEAF {
        return me;
    }
    // Split on the widest axis at the median.
    let mut axis = 0;
    let mut widest = -1.0;
    for a in 0..3 {
        let (lo, hi) = xyz[start..end]
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v[a]), hi.max(v[a]))
            });
        if hi - lo > widest {
            widest = hi - lo;
            axis = a;
        }
    }
    let mid = (start + end) / 2;
    // Sort the range by the axis (ties by original index, so the tree is deterministic).
    let mut order: Vec<usize> = (start..end).collect();
    order.sort_by(|&i, &j| {
        xyz[i][axis]
            .total_cmp(&xyz[j][axis])
            .then(ids[i].cmp(&ids[j]))
    });
    let sorted_xyz: Vec<[f64; 3]> = order.iter().map(|&i| xyz[i]).collect();
    let sorted_ids: Vec<usize> = order.iter().map(|&i| ids[i]).collect();
    xyz[start..end].copy_from_slice(&sorted_xyz);
    ids[start..end].copy_from_slice(&sorted_ids);
    let split = xyz[mid][axis];
    let left = build(xyz, ids, start, mid, nodes);
    let right = build(xyz, ids, mid, end, nodes);
    let n = &mut nodes[me as usize];
    n.axis = axis as u8;
    n.split = split;
    n.left = left;
    n.right = right;
    me
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_and_within_agree_with_brute_force() {
        // A deterministic spread of points, poles and antimeridian included.
        let pts: Vec<GeoPoint> = (0..2_000)
            .map(|i| {
                let lat = -90.0 + 180.0 * ((i * 7919) % 2_000) as f64 / 1_999.0;
                let lon = -180.0 + 360.0 * ((i * 104_729) % 2_000) as f64 / 2_000.0;
                GeoPoint::new(lat, lon).unwrap()
            })
            .collect();
        let index = SphereIndex::new(&pts);
        for j in 0..300 {
            let q = GeoPoint::new(-89.5 + (j as f64 * 0.597), -179.9 + j as f64 * 1.2).unwrap();
            let brute = pts
                .iter()
                .enumerate()
                .map(|(i, p)| (q.distance_km(p), i))
                .fold((f64::INFINITY, 0), |b, c| if c.0 < b.0 { c } else { b });
            let (i, d) = index.nearest(&q).unwrap();
            assert!((d - brute.0).abs() < 1e-6, "{d} vs {}", brute.0);
            assert!(i == brute.1 || (pts[i].distance_km(&q) - brute.0).abs() < 1e-9);
            let mut found = Vec::new();
            index.within(&q, 500.0, |i, _| found.push(i));
            found.sort();
            let expected: Vec<usize> = (0..pts.len())
                .filter(|&i| pts[i].distance_km(&q) <= 500.0 - 1e-9)
                .collect();
            for e in &expected {
                assert!(found.contains(e));
            }
            assert!(
                found
                    .iter()
                    .all(|&i| pts[i].distance_km(&q) <= 500.0 + 1e-9)
            );
        }
        assert!(SphereIndex::new(&[]).nearest(&pts[0]).is_none());
    }
}
