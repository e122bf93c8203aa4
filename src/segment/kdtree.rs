//! A k-d tree for radius queries (DBSCAN's neighbourhoods), built over borrowed row-major
//! points.
//!
//! Each node splits its points at the median of its widest coordinate and keeps their
//! bounding box; a query visits only the nodes whose box comes within the radius. A visit
//! can stop early (counting neighbours up to a threshold). Distances are squared sums taken
//! coordinate by coordinate in order, and a point is within the radius when that sum is ≤ r²,
//! scikit-learn's convention, so ties on a grid land the same way.

use std::ops::ControlFlow;

/// Points per leaf: below this, scanning beats descending.
const LEAF: usize = 24;

/// A k-d tree over `n` points of `d` coordinates.
pub(crate) struct KdTree<'a> {
    d: usize,
    points: &'a [f64],
    /// Point indices, permuted so every node's points are contiguous.
    order: Vec<u32>,
    nodes: Vec<Node>,
    /// Per node, its bounding box: d minima then d maxima.
    boxes: Vec<f64>,
    /// Per node, the squared diagonal of its box: no two of its points are farther apart.
    diameters: Vec<f64>,
}

/// A group of points within the radius of each other: a node's, or one point.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Group {
    /// The points of a node.
    Node(u32),
    /// One point.
    Point(u32),
}

/// What a visit reports: one point within the radius, or a whole node within it.
pub(crate) enum Hit<'t> {
    /// A point within the radius.
    Point(u32),
    /// Every point of a node is within the radius.
    Node(&'t [u32]),
}

struct Node {
    start: u32,
    end: u32,
    /// Children's indices in `nodes` (0: a leaf; the root is never a child).
    left: u32,
    right: u32,
    /// The split: coordinate and the median value (left holds the smaller values).
    dim: u32,
    value: f64,
}

/// A depth-first stack on the stack: a visit per query must not allocate. A node's children
/// replace it, so the stack never holds more than the depth + 1 nodes, and the depth is at
/// most 32 (median splits halve ≤ 2³² points down to leaves).
struct Stack {
    items: [u32; 64],
    len: usize,
}

impl Stack {
    fn root() -> Self {
        Stack {
            items: [0; 64],
            len: 1,
        }
    }

    #[inline]
    fn push(&mut self, v: u32) {
        self.items[self.len] = v;
        self.len += 1;
    }

    #[inline]
    fn pop(&mut self) -> Option<u32> {
        self.len = self.len.checked_sub(1)?;
        Some(self.items[self.len])
    }
}

/// Squared distance from q to the box [lo, hi]: a lower bound of its distance to every
/// point in the box, rounding included (rounding is monotone).
#[inline]
fn point_box_sq_dist(q: &[f64], lo: &[f64], hi: &[f64]) -> f64 {
    let mut s = 0.0;
    for ((&x, &l), &h) in q.iter().zip(lo).zip(hi) {
        let t = if x < l {
            l - x
        } else if x > h {
            x - h
        } else {
            0.0
        };
        s += t * t;
    }
    s
}

/// Squared Euclidean distance, coordinates summed in order.
#[inline]
pub(crate) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        let t = x - y;
        s += t * t;
    }
    s
}

impl<'a> KdTree<'a> {
    /// Builds the tree over the rows of `points` (row-major, `d` columns, finite values).
    pub(crate) fn new(points: &'a [f64], d: usize) -> Self {
        let n = points.len().checked_div(d).unwrap_or(0);
        let mut tree = KdTree {
            d,
            points,
            order: (0..n as u32).collect(),
            nodes: Vec::with_capacity(2 * n / LEAF + 1),
            boxes: Vec::with_capacity((2 * n / LEAF + 1) * 2 * d),
            diameters: Vec::with_capacity(2 * n / LEAF + 1),
        };
        if n > 0 {
            tree.build(0, n);
        }
        tree
    }

    fn row(&self, i: u32) -> &'a [f64] {
        let i = i as usize;
        &self.points[i * self.d..(i + 1) * self.d]
    }

    /// Builds the node over order[start..end] and returns its index.
    fn build(&mut self, start: usize, end: usize) -> u32 {
        let d = self.d;
        let id = self.nodes.len() as u32;
        let mut lo = vec![f64::INFINITY; d];
        let mut hi = vec![f64::NEG_INFINITY; d];
        for &i in &self.order[start..end] {
            let r = &self.points[i as usize * d..(i as usize + 1) * d];
            for j in 0..d {
                lo[j] = lo[j].min(r[j]);
                hi[j] = hi[j].max(r[j]);
            }
        }
        self.boxes.extend_from_slice(&lo);
        self.boxes.extend_from_slice(&hi);
        self.diameters.push(sq_dist(&lo, &hi));
        self.nodes.push(Node {
            start: start as u32,
            end: end as u32,
            left: 0,
            right: 0,
            dim: 0,
            value: 0.0,
        });
        let widest = (0..d)
            .max_by(|&a, &b| (hi[a] - lo[a]).total_cmp(&(hi[b] - lo[b])))
            .unwrap_or(0);
        // A leaf when small, or when every point coincides (no split separates them).
        if end - start <= LEAF || hi[widest] - lo[widest] <= 0.0 {
            return id;
        }
        let mid = start + (end - start) / 2;
        let (points, d) = (self.points, self.d);
        // Ties broken by index, so the tree (and every visit order) is the same on every run.
        self.order[start..end].select_nth_unstable_by(mid - start, |&a, &b| {
            let (va, vb) = (
                points[a as usize * d + widest],
                points[b as usize * d + widest],
            );
            va.total_cmp(&vb).then(a.cmp(&b))
        });
        let value = points[self.order[mid] as usize * d + widest];
        let left = self.build(start, mid);
        let right = self.build(mid, end);
        let node = &mut self.nodes[id as usize];
        (node.left, node.right, node.dim, node.value) = (left, right, widest as u32, value);
        id
    }

    /// Squared distance from q to node's bounding box.
    #[inline]
    fn box_sq_dist(&self, node: usize, q: &[f64]) -> f64 {
        let d = self.d;
        let b = &self.boxes[node * 2 * d..(node + 1) * 2 * d];
        point_box_sq_dist(q, &b[..d], &b[d..])
    }

    /// Squared distance from q to the farthest corner of node's box: no point of the node is
    /// farther. (Rounding is monotone, so the computed bound holds for the computed
    /// distances too, as does the box diagonal for any two of its points.)
    #[inline]
    fn box_sq_reach(&self, node: usize, q: &[f64]) -> f64 {
        let d = self.d;
        let b = &self.boxes[node * 2 * d..(node + 1) * 2 * d];
        let mut s = 0.0;
        for j in 0..d {
            let t = (q[j] - b[j]).abs().max((b[d + j] - q[j]).abs());
            s += t * t;
        }
        s
    }

    /// A partition of the points into groups whose members all lie within squared distance
    /// `r2` of each other: the maximal tight nodes (box diagonal within r2), and every other
    /// point alone. Each group is the points of a node (`Some(node)`) or one point.
    pub(crate) fn groups(&self, r2: f64) -> Vec<Group> {
        let mut out = Vec::new();
        let mut stack = vec![0usize];
        while let Some(id) = stack.pop() {
            let Some(node) = self.nodes.get(id) else {
                continue;
            };
            if self.diameters[id] <= r2 {
                out.push(Group::Node(id as u32));
            } else if node.left == 0 {
                let points = &self.order[node.start as usize..node.end as usize];
                out.extend(points.iter().map(|&i| Group::Point(i)));
            } else {
                stack.push(node.right as usize);
                stack.push(node.left as usize);
            }
        }
        out
    }

    /// A group's points.
    pub(crate) fn members<'t>(&'t self, g: &'t Group) -> &'t [u32] {
        match g {
            Group::Node(id) => {
                let node = &self.nodes[*id as usize];
                &self.order[node.start as usize..node.end as usize]
            }
            Group::Point(i) => std::slice::from_ref(i),
        }
    }

    /// Squared distance from a point to a group's bounding box (a lower bound of its
    /// distance to every point of the group, rounding included).
    pub(crate) fn sq_dist_to_group(&self, g: &Group, q: &[f64]) -> f64 {
        let (lo, hi) = self.group_box(g);
        point_box_sq_dist(q, lo, hi)
    }

    /// A group's bounding box (minima, maxima).
    fn group_box<'t>(&'t self, g: &Group) -> (&'t [f64], &'t [f64]) {
        let d = self.d;
        match g {
            Group::Node(id) => {
                let b = &self.boxes[*id as usize * 2 * d..(*id as usize + 1) * 2 * d];
                (&b[..d], &b[d..])
            }
            Group::Point(i) => (self.row(*i), self.row(*i)),
        }
    }

    /// Reports, for group `g`, every tight node or leaf whose box comes within squared
    /// distance `r2` of g's box, with `within` set when every point of it is within r2 of
    /// every point of g (the farthest corners are). Nodes are tight (all points within r2 of
    /// each other) or leaves.
    pub(crate) fn visit_near(
        &self,
        g: &Group,
        r2: f64,
        mut f: impl FnMut(&[u32], bool, bool) -> ControlFlow<()>,
    ) {
        if self.nodes.is_empty() {
            return;
        }
        let d = self.d;
        let (glo, ghi) = self.group_box(g);
        let mut stack = Stack::root();
        while let Some(id) = stack.pop() {
            let id = id as usize;
            let b = &self.boxes[id * 2 * d..(id + 1) * 2 * d];
            let (lo, hi) = (&b[..d], &b[d..]);
            let (mut near, mut far) = (0.0, 0.0);
            for j in 0..d {
                let gap = (lo[j] - ghi[j]).max(glo[j] - hi[j]).max(0.0);
                near += gap * gap;
                let span = (hi[j] - glo[j]).abs().max((ghi[j] - lo[j]).abs());
                far += span * span;
            }
            if near > r2 {
                continue;
            }
            let node = &self.nodes[id];
            let tight = self.diameters[id] <= r2;
            if tight || node.left == 0 {
                let points = &self.order[node.start as usize..node.end as usize];
                if f(points, tight, far <= r2).is_break() {
                    return;
                }
            } else {
                stack.push(node.right);
                stack.push(node.left);
            }
        }
    }

    /// Reports every point within squared distance `r2` of `q` (≤), in a fixed order, until
    /// `f` breaks: a node wholly within the radius as one [`Hit::Node`], other points one by
    /// one. Children are visited the side holding q first, so a count that stops early stops
    /// sooner.
    pub(crate) fn visit(&self, q: &[f64], r2: f64, mut f: impl FnMut(Hit<'_>) -> ControlFlow<()>) {
        if self.nodes.is_empty() {
            return;
        }
        let mut stack = Stack::root();
        while let Some(id) = stack.pop() {
            let id = id as usize;
            if self.box_sq_dist(id, q) > r2 {
                continue;
            }
            let node = &self.nodes[id];
            let points = &self.order[node.start as usize..node.end as usize];
            let leaf = node.left == 0;
            if self.box_sq_reach(id, q) <= r2 {
                if f(Hit::Node(points)).is_break() {
                    return;
                }
            } else if leaf {
                for &i in points {
                    if sq_dist(q, self.row(i)) <= r2 && f(Hit::Point(i)).is_break() {
                        return;
                    }
                }
            } else if q[node.dim as usize] < node.value {
                stack.push(node.right);
                stack.push(node.left);
            } else {
                stack.push(node.left);
                stack.push(node.right);
            }
        }
    }

    /// Calls `f(index)` for every point within squared distance `r2` of `q` (≤), in a fixed
    /// order, until `f` breaks.
    #[cfg(test)]
    pub(crate) fn within(&self, q: &[f64], r2: f64, mut f: impl FnMut(u32) -> ControlFlow<()>) {
        if self.nodes.is_empty() {
            return;
        }
        let mut stack = Stack::root();
        while let Some(id) = stack.pop() {
            let id = id as usize;
            // The box bound rounds like the distances (same sums of squares of differences),
            // and a box distance never exceeds a member's: no point within r2 is pruned.
            if self.box_sq_dist(id, q) > r2 {
                continue;
            }
            let node = &self.nodes[id];
            if node.left == 0 {
                for &i in &self.order[node.start as usize..node.end as usize] {
                    if sq_dist(q, self.row(i)) <= r2 && f(i).is_break() {
                        return;
                    }
                }
            } else {
                stack.push(node.right);
                stack.push(node.left);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    /// Radius queries equal a brute-force scan, ties at exactly r included, on random points
    /// and on an integer grid (many exact ties).
    #[test]
    fn radius_queries_equal_brute_force() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        for (n, d, grid) in [
            (500, 2, false),
            (400, 3, true),
            (300, 8, false),
            (60, 1, true),
        ] {
            let pts: Vec<f64> = (0..n * d)
                .map(|_| {
                    if grid {
                        rng.gen_range(0..6) as f64
                    } else {
                        rng.r#gen::<f64>() * 10.0
                    }
                })
                .collect();
            let tree = KdTree::new(&pts, d);
            for q in 0..n {
                let qr = &pts[q * d..(q + 1) * d];
                for r2 in [0.0, 1.0, 2.0, 4.0] {
                    let mut got = Vec::new();
                    tree.within(qr, r2, |i| {
                        got.push(i as usize);
                        ControlFlow::Continue(())
                    });
                    got.sort_unstable();
                    let mut seen = Vec::new();
                    tree.visit(qr, r2, |h| {
                        match h {
                            Hit::Point(i) => seen.push(i as usize),
                            Hit::Node(points) => seen.extend(points.iter().map(|&i| i as usize)),
                        }
                        ControlFlow::Continue(())
                    });
                    seen.sort_unstable();
                    assert_eq!(seen, got, "visit");
                    let want: Vec<usize> = (0..n)
                        .filter(|&i| sq_dist(qr, &pts[i * d..(i + 1) * d]) <= r2)
                        .collect();
                    assert_eq!(got, want, "n {n} d {d} q {q} r2 {r2}");
                }
            }
        }
    }
}
