//! Squared distances between points and a few centres, many at once, bit for bit those of
//! [`sq_dist`](super::kmeans::sq_dist).
//!
//! k-means spends its time measuring points against a handful of centres: the k-means++
//! candidates and the k centres of the first assignment against every point, and a point
//! whose bounds fail against all k centres. One distance at a time, an 8-coordinate distance
//! is a short loop ending in a sum across vector lanes, and much of the work is that ending.
//! Two layouts put one distance in each lane instead, so that no lane is ever summed with
//! another:
//!
//! - [`Centres`]: a whole pass. Eight points at a time are turned coordinate-major in a
//!   small buffer and each centre is measured against all eight at once.
//! - [`Panel`]: one point against all k centres, the centres laid out coordinate-major four
//!   side by side.
//!
//! The sums are those of `sq_dist`, in its order (coordinate j into accumulator j mod 4, the
//! four accumulators added as (0 + 1) + (2 + 3), the coordinates after the last full four
//! added one by one), so the distances — and the clusterings built on them — are the same to
//! the last bit. The passes ask the cache for the rows ahead of them ([`prefetch`]) and run
//! in an AVX2 build where the CPU has it ([`wide`](crate::simd::wide)).

use super::kmeans::Rows;

/// Centres side by side in one group.
pub(super) const LANES: usize = 4;

/// Centres laid out for [`Panel::sq_dists`]: groups of [`LANES`] centres, each group
/// coordinate-major (coordinate j of the group's centres in consecutive lanes). Lanes past
/// the last centre hold zeros; their distances are computed and never read.
#[derive(Debug, Clone)]
pub(super) struct Panel {
    d: usize,
    m: usize,
    /// Group g's coordinate j at `t[g·d + j]`, one lane per centre.
    t: Vec<[f64; LANES]>,
}

impl Panel {
    /// The panel of `centres`, rows of `d` coordinates.
    pub(super) fn new<'a>(centres: impl IntoIterator<Item = &'a [f64]>, d: usize) -> Panel {
        let mut t = Vec::new();
        let mut m = 0;
        for c in centres {
            let (g, lane) = (m / LANES, m % LANES);
            if lane == 0 {
                t.resize(t.len() + d, [0.0; LANES]);
            }
            for (j, &v) in c[..d].iter().enumerate() {
                t[g * d + j][lane] = v;
            }
            m += 1;
        }
        Panel { d, m, t }
    }

    /// The panel of the rows of `flat` (row-major, `d` columns).
    pub(super) fn of_rows(flat: &[f64], d: usize) -> Panel {
        Panel::new(flat.chunks_exact(d.max(1)), d)
    }

    /// Room [`sq_dists`](Self::sq_dists) writes: the centres rounded up to whole groups.
    pub(super) fn padded(&self) -> usize {
        self.m.div_ceil(LANES) * LANES
    }

    /// The squared distances from `p` to every centre, into `out[..self.padded()]` (centre
    /// c at `out[c]`).
    #[inline(always)]
    pub(super) fn sq_dists(&self, p: &[f64], out: &mut [f64]) {
        // Indices rather than `chunks_exact`: its count is a division per call, and a call
        // is a few dozen operations.
        let d = self.d;
        let p = &p[..d];
        let groups = self.padded() / LANES;
        for g in 0..groups {
            let block = &self.t[g * d..(g + 1) * d];
            let s = lane_sq_dists::<LANES>(d, |j| {
                let (pj, row) = (p[j], &block[j]);
                std::array::from_fn(|c| pj - row[c])
            });
            out[g * LANES..(g + 1) * LANES].copy_from_slice(&s);
        }
    }

    /// The nearest centre of `p` and the distances (not squared) to the nearest and the
    /// second-nearest, ties to the lower index: what the tests' one-distance-at-a-time
    /// `nearest_two` gives over the same centres. `scratch` has room for [`padded`](Self::padded) values.
    #[inline(always)]
    pub(super) fn nearest_two(&self, p: &[f64], scratch: &mut [f64]) -> (usize, f64, f64) {
        self.sq_dists(p, scratch);
        nearest_two_of(&scratch[..self.m])
    }
}

/// The index of the smallest of squared distances and the square roots of the smallest and
/// the second smallest, ties to the lower index.
#[inline(always)]
pub(super) fn nearest_two_of(sq_dists: &[f64]) -> (usize, f64, f64) {
    let (mut a, mut d1, mut d2) = (0usize, f64::INFINITY, f64::INFINITY);
    for (c, &dist) in sq_dists.iter().enumerate() {
        take_nearer(c, dist, &mut a, &mut d1, &mut d2);
    }
    (a, d1.sqrt(), d2.sqrt())
}

/// [`nearest_two_of`] for a block's points side by side, one per lane: `out[c][p]` is point
/// p's squared distance to centre c. Each lane's nearest centre and its smallest and second
/// smallest squared distances (not square-rooted), the centres taken in order, ties to the
/// lower index.
#[inline(always)]
pub(super) fn nearest_two_in_lanes(out: &[[f64; W]]) -> ([usize; W], [f64; W], [f64; W]) {
    let mut a = [0usize; W];
    let mut d1 = [f64::INFINITY; W];
    let mut d2 = [f64::INFINITY; W];
    for (c, dist) in out.iter().enumerate() {
        for p in 0..W {
            take_nearer(c, dist[p], &mut a[p], &mut d1[p], &mut d2[p]);
        }
    }
    (a, d1, d2)
}

/// One centre's turn in a nearest-two scan: centre `c` at squared distance `dist` becomes the
/// nearest (`a`, `d1`) when strictly nearer, and the second smallest distance `d2` follows.
/// Selects, not branches: which way the comparisons go is data, and branches on it are
/// mispredicted every few points. `d2` becomes the old `d1` when `dist` is nearer, `dist`
/// when it falls between, and stays otherwise: min(d2, max(d1, dist)), as d1 ≤ d2 and no
/// distance is NaN.
#[inline(always)]
fn take_nearer(c: usize, dist: f64, a: &mut usize, d1: &mut f64, d2: &mut f64) {
    let nearer = dist < *d1;
    let far = if nearer { *d1 } else { dist };
    *d2 = if far < *d2 { far } else { *d2 };
    *a = if nearer { c } else { *a };
    *d1 = if nearer { dist } else { *d1 };
}

/// `L` squared distances side by side, one per lane, each summed in
/// [`sq_dist`](super::kmeans::sq_dist)'s order: coordinate j's squared difference into
/// accumulator j mod 4, the accumulators added as (0 + 1) + (2 + 3), then the coordinates
/// after the last full four one by one. `diff(j)` gives coordinate j's `L` differences. The
/// one place [`Panel`] (lanes across centres) and [`Centres`] (lanes across points) sum, so
/// both stay `sq_dist` to the bit.
#[inline(always)]
fn lane_sq_dists<const L: usize>(d: usize, diff: impl Fn(usize) -> [f64; L]) -> [f64; L] {
    let full = d - d % 4;
    let mut acc = [[0.0f64; L]; 4];
    let mut j = 0;
    while j < full {
        for (l, a) in acc.iter_mut().enumerate() {
            let t = diff(j + l);
            for c in 0..L {
                a[c] += t[c] * t[c];
            }
        }
        j += 4;
    }
    let mut s: [f64; L] =
        std::array::from_fn(|c| (acc[0][c] + acc[1][c]) + (acc[2][c] + acc[3][c]));
    for j in full..d {
        let t = diff(j);
        for c in 0..L {
            s[c] += t[c] * t[c];
        }
    }
    s
}

/// Rows ahead of the current one that a pass asks the cache for.
pub(super) const AHEAD: usize = 64;

/// Asks the cache for rows `lo..hi` of `x` (clipped to the rows there are) ahead of their use:
/// a hint, with no effect on any result. The passes are a few dozen operations a row, too
/// few for the hardware's own prefetching to keep up on this kind of machine (measured:
/// k-means++ scoring passes 18 → 16 ms at 1M points, one thread).
#[inline(always)]
pub(super) fn prefetch(x: Rows<'_>, lo: usize, hi: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let len = x.flat.len();
        let (mut at, end) = ((lo * x.d).min(len), (hi * x.d).min(len));
        while at < end {
            // SAFETY: a prefetch reads nothing and faults on nothing; `at < len` keeps the
            // pointer inside the slice anyway. SSE is part of every x86-64 CPU.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    x.flat.as_ptr().add(at).cast(),
                )
            };
            // One hint per 64-byte line.
            at += 8;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (x, lo, hi);
}

/// Points per block of [`Blocks::next_block`].
pub(super) const W: usize = 8;

/// Centres measured against every point of a pass, points side by side: each block of [`W`]
/// points is turned coordinate-major (in a buffer that stays in registers and L1), and each
/// centre is then measured against all of them at once, one point per lane. The other way
/// round from [`Panel`], which suits one point against few centres; this suits a pass over
/// every point, where the centres are fixed and the points stream past.
#[derive(Debug, Clone)]
pub(super) struct Centres {
    d: usize,
    m: usize,
    flat: Vec<f64>,
}

impl Centres {
    /// The centres `rows` of `d` coordinates.
    pub(super) fn new<'a>(rows: impl IntoIterator<Item = &'a [f64]>, d: usize) -> Centres {
        let mut flat = Vec::new();
        let mut m = 0;
        for r in rows {
            flat.extend_from_slice(&r[..d]);
            m += 1;
        }
        Centres { d, m, flat }
    }

    /// The centres in the rows of `flat` (row-major, `d` columns).
    pub(super) fn of_rows(flat: &[f64], d: usize) -> Centres {
        Centres::new(flat.chunks_exact(d.max(1)), d)
    }

    /// Calls `f(i, dists)` for each of the `n` points of `x` in order, `dists[c]` the squared
    /// distance from point i to centre c — [`sq_dist`](super::kmeans::sq_dist)'s value to the
    /// bit. The tests' way through [`Blocks::next_block`].
    #[cfg(test)]
    pub(super) fn for_each_point(&self, x: Rows<'_>, n: usize, mut f: impl FnMut(usize, &[f64])) {
        let mut dists = vec![0.0; self.m];
        let mut blocks = self.blocks();
        while let Some((first, w, out)) = blocks.next_block(x, n) {
            for p in 0..w {
                for (dc, o) in dists.iter_mut().zip(out) {
                    *dc = o[p];
                }
                f(first + p, &dists);
            }
        }
    }

    /// The buffers to measure the points of a pass a block of [`W`] at a time with
    /// [`Blocks::next_block`]. Each kernel loops over the blocks itself rather than passing its
    /// per-block work to a loop here as a closure: a closure the compiler does not inline is
    /// compiled apart from the vectorised kernel that calls it, without its instruction set.
    /// A caller that sums over the points can keep its running sums in registers for a block
    /// rather than in memory from one point to the next.
    pub(super) fn blocks(&self) -> Blocks<'_> {
        Blocks {
            centres: self,
            at: 0,
            tmp: vec![[0.0; W]; self.d],
            out: vec![[0.0; W]; self.m],
        }
    }
}

/// A block of points at a time against fixed [`Centres`] (see [`Centres::blocks`]).
pub(super) struct Blocks<'c> {
    centres: &'c Centres,
    /// The first point of the next block of [`Blocks::next_block`].
    at: usize,
    /// The block's points, coordinate-major.
    tmp: Vec<[f64; W]>,
    /// `out[c][p]`: squared distance from point p of the block to centre c.
    out: Vec<[f64; W]>,
}

impl Blocks<'_> {
    /// The next block of the `n` points of `x`, from the first: its first point, its `w` ≤
    /// [`W`] points, and their distances to every centre as [`measure`](Self::measure) gives
    /// them; `None` after the last. A kernel's loop is
    /// `while let Some((first, w, out)) = blocks.next_block(x, n) { … }`.
    #[inline(always)]
    pub(super) fn next_block(
        &mut self,
        x: Rows<'_>,
        n: usize,
    ) -> Option<(usize, usize, &[[f64; W]])> {
        let first = self.at;
        if first >= n {
            return None;
        }
        let w = (n - first).min(W);
        self.at = first + w;
        Some((first, w, self.measure(x, first, w)))
    }

    /// The squared distances from the `w` ≤ [`W`] points of `x` from point `first` to every
    /// centre: `out[c][p]` for point `first + p` and centre c,
    /// [`sq_dist`](super::kmeans::sq_dist)'s value to the bit (lanes past `w` hold distances
    /// of zero points, never to be read).
    #[inline(always)]
    fn measure(&mut self, x: Rows<'_>, first: usize, w: usize) -> &[[f64; W]] {
        let d = self.centres.d;
        let tmp = &mut self.tmp[..];
        prefetch(x, first + AHEAD, first + AHEAD + W);
        for (p, r) in (first..first + w).map(|row| x.at(row)).enumerate() {
            for (col, &v) in tmp.iter_mut().zip(r) {
                col[p] = v;
            }
        }
        if w < W {
            // The last, partial block: its empty lanes are measured and never read.
            for col in tmp.iter_mut() {
                col[w..].fill(0.0);
            }
        }
        let tmp = &self.tmp[..];
        for (c, o) in self.out.iter_mut().enumerate() {
            let cc = &self.centres.flat[c * d..(c + 1) * d];
            *o = lane_sq_dists(d, |j| {
                let (cj, col) = (cc[j], &tmp[j]);
                std::array::from_fn(|p| col[p] - cj)
            });
        }
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::super::kmeans::{Rows, nearest_two, sq_dist};
    use super::*;
    use crate::simd::{Kernel, wide};
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Every dimension from 1 to 13 (whole groups of four coordinates and remainders), 1 to 11
    /// centres (whole and partial groups), values over twelve orders of magnitude.
    #[test]
    fn panel_distances_are_sq_dist_to_the_bit() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        for d in 1..14 {
            for m in 1..12 {
                let mut draw = |n: usize| -> Vec<f64> {
                    (0..n)
                        .map(|_| rng.gen_range(-1.0..1.0) * 10f64.powi(rng.gen_range(-6..6)))
                        .collect()
                };
                let centres = draw(m * d);
                let panel = Panel::of_rows(&centres, d);
                let mut out = vec![f64::NAN; panel.padded()];
                for _ in 0..20 {
                    let p = draw(d);
                    panel.sq_dists(&p, &mut out);
                    for c in 0..m {
                        let want = sq_dist(&p, &centres[c * d..(c + 1) * d]);
                        assert_eq!(out[c].to_bits(), want.to_bits(), "d {d} m {m} c {c}");
                    }
                    let got = panel.nearest_two(&p, &mut out);
                    let want = nearest_two(&p, &centres, d);
                    assert_eq!(got.0, want.0);
                    assert_eq!(got.1.to_bits(), want.1.to_bits());
                    assert_eq!(got.2.to_bits(), want.2.to_bits());
                }
            }
        }
    }

    /// Points in blocks: every count of points (whole and partial blocks), dimensions 1 to 13.
    #[test]
    fn block_distances_are_sq_dist_to_the_bit() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(6);
        for d in 1..14 {
            for (m, n) in [(1, 1), (3, 7), (5, 8), (8, 13)] {
                let mut draw = |n: usize| -> Vec<f64> {
                    (0..n)
                        .map(|_| rng.gen_range(-1.0..1.0) * 10f64.powi(rng.gen_range(-6..6)))
                        .collect()
                };
                let centres = draw(m * d);
                let points = draw(n * d);
                let x = Rows { flat: &points, d };
                let cs = Centres::new(centres.chunks_exact(d), d);
                let mut seen = 0;
                cs.for_each_point(x, n, |i, dists| {
                    assert_eq!(i, seen);
                    seen += 1;
                    for c in 0..m {
                        let want = sq_dist(x.at(i), &centres[c * d..(c + 1) * d]);
                        assert_eq!(dists[c].to_bits(), want.to_bits(), "d {d} m {m} i {i}");
                    }
                });
                assert_eq!(seen, n);
            }
        }
    }

    /// Every distance of a pass, in the plain build and through [`wide`] (the AVX2 build on
    /// a CPU that has it): the same bits.
    #[test]
    fn wide_builds_give_the_same_bits() {
        struct AllDistances<'a> {
            x: Rows<'a>,
            n: usize,
            centres: &'a Centres,
            panel: &'a Panel,
        }
        impl Kernel for AllDistances<'_> {
            type Out = Vec<u64>;
            #[inline(always)]
            fn run(self) -> Vec<u64> {
                let mut bits = Vec::new();
                let mut scratch = vec![0.0; self.panel.padded()];
                self.centres.for_each_point(self.x, self.n, |i, dists| {
                    bits.extend(dists.iter().map(|v| v.to_bits()));
                    self.panel.sq_dists(self.x.at(i), &mut scratch);
                    bits.extend(scratch.iter().map(|v| v.to_bits()));
                });
                bits
            }
        }
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        for d in [1, 3, 4, 8, 11] {
            let (m, n) = (9, 37);
            let draw = |rng: &mut Xoshiro256PlusPlus, n: usize| -> Vec<f64> {
                (0..n)
                    .map(|_| rng.gen_range(-1.0..1.0) * 10f64.powi(rng.gen_range(-6..6)))
                    .collect()
            };
            let (c, p) = (draw(&mut rng, m * d), draw(&mut rng, n * d));
            let centres = Centres::new(c.chunks_exact(d), d);
            let panel = Panel::of_rows(&c, d);
            let x = Rows { flat: &p, d };
            let kernel = || AllDistances {
                x,
                n,
                centres: &centres,
                panel: &panel,
            };
            assert_eq!(kernel().run(), wide(kernel()), "d {d}");
        }
    }

    /// Ties go to the lower index, as in the scalar form.
    #[test]
    fn ties_go_to_the_first_centre() {
        let centres = [1.0, 1.0, -1.0, -1.0, 1.0, 1.0];
        let panel = Panel::of_rows(&centres, 2);
        let mut out = vec![0.0; panel.padded()];
        let (a, d1, d2) = panel.nearest_two(&[0.9, 0.9], &mut out);
        assert_eq!(a, 0);
        assert_eq!(d1, d2);
    }
}
