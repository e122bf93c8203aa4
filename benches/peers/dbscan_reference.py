#!/usr/bin/env python3
"""scikit-learn DBSCAN reference fixture for custseg's DBSCAN.

What it computes
----------------
Four deterministic data sets (numpy ``default_rng`` with fixed seeds, or written out by
hand), each clustered with

    sklearn.cluster.DBSCAN(eps=EPS, min_samples=MIN_SAMPLES, metric='euclidean',
                           algorithm='auto').fit(X)

and written with its ``labels_`` and ``core_sample_indices_``:

  A  500 x 2: three Gaussian blobs (150 points each) plus 50 uniform noise points,
     shuffled; eps = 0.3, min_samples = 5.
  B  hand-made 2-D points (eps = 1.0, min_samples = 5) where border points are reachable
     from the core points of several clusters (see "border_cases" in the JSON and below).
  C  300 x 3 integer lattice points (300 distinct sites of a 10x10x10 grid, drawn and
     ordered by the rng): axis neighbours are at distance exactly 1.0 = eps, so the
     result pins down the "distance <= eps" convention; min_samples = 3, plus extra runs
     with min_samples 2 and 4 under "extra_runs".
  D  duplicates: a 60-point blob, 3 copies of one blob point, 5 identical points at
     (10, 10) (a cluster by themselves), 4 identical points at (20, 20) (noise),
     4 identical points at (0, -3) plus one at (0, -3.3); shuffled; eps = 0.5,
     min_samples = 5.

For the float data sets (A, D) the script checks that no pair distance is within a
relative 1e-9 of eps (|d^2 - eps^2| > 1e-9 * eps^2), so the fixture does not depend on how
the distance is rounded (sqrt(d^2) <= eps versus d^2 <= eps^2, summation order). In B the
closest pair distance to eps is written as "min_rel_gap_to_eps". In C the ties are exact:
integer coordinates, squared distances computed exactly.

sklearn conventions (scikit-learn 1.5.2, sklearn/cluster/_dbscan.py and
_dbscan_inner.pyx), which the fixture reflects:

  * Neighbourhoods come from NearestNeighbors(radius=eps).radius_neighbors(X) on X
    itself, so a point is in its own neighbourhood (distance 0). For algorithm='auto'
    with d <= 15 and euclidean metric NearestNeighbors picks a KD-tree ("fit_method" in
    the JSON); the KD-tree keeps a point when its reduced distance (squared euclidean)
    is <= eps^2 (binary tree query_radius: ``dist_pt <= reduced_r``), and the brute
    path (pairwise-distances reduction) also tests ``<= r_radius``: distance <= eps,
    inclusive. The script checks brute and ball_tree give the same labels.
  * Core point: n_neighbors >= min_samples, where n_neighbors counts the point itself
    (and every duplicate of it).
  * dbscan_inner: ``for i in range(n): if labels[i] != -1 or not is_core[i]: continue``;
    otherwise a new cluster number label_num (0, 1, 2, ... in this order) starts at i and
    is grown by a depth-first search with an explicit stack (push every still-unlabelled
    neighbour of a core point; when a popped point is still unlabelled it gets label_num
    and, only if it is core, its unlabelled neighbours are pushed; non-core points are
    labelled but not expanded). The whole cluster is labelled before the loop moves on.
    It is a DFS, not a BFS, but the traversal order never changes the result because
    labels are only ever written once (-1 -> label_num) and a whole cluster is finished
    before the next starts.
  * Hence: clusters = connected components of the core points under "distance <= eps",
    numbered 0, 1, 2, ... in increasing order of their lowest-index core point (the seed).
    A border point (non-core, within eps of at least one core point) gets the SMALLEST
    cluster number among the clusters having a core point within eps of it, i.e. the
    cluster whose lowest-index core point is smallest -- NOT the cluster of its
    lowest-index (or nearest, or last) core neighbour. A non-core point with no core
    point within eps is noise (-1). The border point's own index plays no role.
    The script asserts this rule on every data set.

B in detail (eps 1.0, min_samples 5; indices as in the JSON):
  * b = index 0 at (0, 0) has 3 neighbours (itself, core 6, core 12): border.
    Cluster 0 = {1..5, 12} (seed 1: a tight group around (-1.5, 0) plus core 12 at
    (-0.75, 0.05)); cluster 1 = {6..11} (seed 6: core 6 at (0.75, -0.05) plus a tight
    group around (1.5, 0)). Core 6 and core 12 are 1.5 apart, so the clusters do not merge.
    b's lowest-index core neighbour is 6 (cluster 1), but sklearn gives b label 0,
    because cluster 0's DFS from seed 1 reaches b (through core 12) before cluster 1 is
    started.
  * b2 = index 19 at (0, 10) is within eps of cores 18, 20 and 26 (4 neighbours with
    itself: border). Clusters: R = {13..17, 20} (seed 13, label 2), T = {18, 21..25}
    (seed 18, label 3), S = {26..31} (seed 26, label 4). b2 gets 2 (R), whereas its
    lowest-index core neighbour (18) is in T (3) and its last core neighbour (26) is in
    S (4).
  * index 32 at (-0.75, 0.9) is a border point of cluster 0 only (neighbour of core 12);
    indices 33, 34 at (5, 5) and (5.3, 5) are noise.

Run (from the repository root, with the peer venv of benches/peers/README.md):

    /work/peer-venv/bin/python benches/peers/dbscan_reference.py [OUT_JSON]

Default OUT_JSON is tests/data/sklearn_dbscan_reference.json; that output is committed as
tests/data/sklearn_dbscan_reference.json. Floats are written with Python's repr
(shortest round-trip), so they parse back to the exact float64 sklearn used.
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.cluster import DBSCAN
from sklearn.neighbors import NearestNeighbors


def sq_dists(X):
    diff = X[:, None, :] - X[None, :, :]
    return np.einsum("ijk,ijk->ij", diff, diff)


def min_rel_gap(X, eps):
    d2 = sq_dists(X)
    iu = np.triu_indices(len(X), 1)
    return float(np.min(np.abs(d2[iu] - eps * eps)) / (eps * eps))


def dataset_a():
    rng = np.random.default_rng(401)
    blobs = [
        rng.normal([-4.0, -3.0], 0.5, size=(150, 2)),
        rng.normal([3.0, 3.0], 0.6, size=(150, 2)),
        rng.normal([4.0, -4.0], 0.4, size=(150, 2)),
        rng.uniform(-8.0, 8.0, size=(50, 2)),
    ]
    X = np.vstack(blobs)
    X = X[rng.permutation(len(X))]
    return X, 0.3, 5, {"seed": 401}


def _group(cx, cy):
    # five points within 0.08 of (cx, cy): each has >= 5 neighbours among themselves
    return [(cx, cy), (cx + 0.08, cy), (cx - 0.08, cy), (cx, cy + 0.08), (cx, cy - 0.08)]


def dataset_b():
    pts = []
    # ---- configuration 1: two clusters, border point b (index 0) between them ----
    pts.append((0.0, 0.0))                 # 0: b, border, cores 6 (cluster 1) and 12 (cluster 0)
    pts += _group(-1.5, 0.0)               # 1..5: cluster 0 group (seed 1)
    pts.append((0.75, -0.05))              # 6: core of cluster 1, neighbour of b
    pts += _group(1.5, 0.0)                # 7..11: cluster 1 group
    pts.append((-0.75, 0.05))              # 12: core of cluster 0, neighbour of b
    # ---- configuration 2: three clusters around b2 = (0, 10) ----
    c = np.array([0.0, 10.0])

    def at(angle_deg, r):
        t = np.deg2rad(angle_deg)
        return (float(c[0] + r * np.cos(t)), float(c[1] + r * np.sin(t)))

    gr = at(90, 1.5)
    gt = at(330, 1.5)
    gs = at(210, 1.5)
    pts += _group(*gr)                     # 13..17: cluster R group (seed 13 -> label 2)
    pts.append(at(330, 0.75))              # 18: core of T, neighbour of b2 (seed of T -> 3)
    pts.append((0.0, 10.0))                # 19: b2, border, cores 18 (T), 20 (R), 26 (S)
    pts.append(at(90, 0.75))               # 20: core of R, neighbour of b2
    pts += _group(*gt)                     # 21..25: cluster T group
    pts.append(at(210, 0.75))              # 26: core of S, neighbour of b2 (seed of S -> 4)
    pts += _group(*gs)                     # 27..31: cluster S group
    # ---- extras ----
    pts.append((-0.75, 0.9))               # 32: border of cluster 0 only (core 12)
    pts.append((5.0, 5.0))                 # 33: noise
    pts.append((5.3, 5.0))                 # 34: noise
    X = np.array(pts, dtype=float)
    expected = {0: 0, 19: 2, 32: 0, 33: -1, 34: -1}
    return X, 1.0, 5, {"expected_border_labels": expected}


def dataset_c():
    rng = np.random.default_rng(403)
    sites = rng.choice(1000, size=300, replace=False)  # rng order, not sorted
    X = np.stack([sites // 100, (sites // 10) % 10, sites % 10], axis=1).astype(float)
    return X, 1.0, 3, {"seed": 403, "grid": "10x10x10, coordinates 0..9"}


def dataset_d():
    rng = np.random.default_rng(404)
    blob = rng.normal([0.0, 0.0], 0.3, size=(60, 2))
    parts = [
        blob,
        np.repeat(blob[:1], 3, axis=0),               # 3 more copies of blob point 0
        np.repeat([[10.0, 10.0]], 5, axis=0),         # 5 identical: a cluster of their own
        np.repeat([[20.0, 20.0]], 4, axis=0),         # 4 identical: noise (4 < 5)
        np.repeat([[0.0, -3.0]], 4, axis=0),          # 4 identical + 1 close point
        np.array([[0.0, -3.3]]),
    ]
    X = np.vstack(parts)
    X = X[rng.permutation(len(X))]
    return X, 0.5, 5, {"seed": 404}


def fit(X, eps, min_samples):
    db = DBSCAN(eps=eps, min_samples=min_samples, metric="euclidean", algorithm="auto").fit(X)
    for alg in ("brute", "ball_tree", "kd_tree"):
        other = DBSCAN(eps=eps, min_samples=min_samples, algorithm=alg).fit(X)
        assert np.array_equal(other.labels_, db.labels_), alg
        assert np.array_equal(other.core_sample_indices_, db.core_sample_indices_), alg
    fit_method = NearestNeighbors(radius=eps).fit(X)._fit_method
    return db.labels_, db.core_sample_indices_, fit_method


def check_rule(X, eps, min_samples, labels, core_idx):
    """Re-derive sklearn's result from the stated rule; return the multi-cluster border cases."""
    n = len(X)
    adj = sq_dists(X) <= eps * eps
    is_core = adj.sum(axis=1) >= min_samples
    assert np.array_equal(np.flatnonzero(is_core), core_idx)
    # components of the core graph, numbered by lowest core index
    comp = np.full(n, -1)
    nxt = 0
    for i in range(n):
        if not is_core[i] or comp[i] != -1:
            continue
        stack = [i]
        comp[i] = nxt
        while stack:
            p = stack.pop()
            for q in np.flatnonzero(adj[p] & is_core):
                if comp[q] == -1:
                    comp[q] = nxt
                    stack.append(q)
        nxt += 1
    cases = []
    for i in range(n):
        if is_core[i]:
            assert labels[i] == comp[i]
            continue
        cores = [int(j) for j in np.flatnonzero(adj[i] & is_core)]
        clusters = sorted({int(comp[j]) for j in cores})
        want = clusters[0] if clusters else -1
        assert labels[i] == want, (i, labels[i], want)
        if len(clusters) > 1:
            cases.append(
                {
                    "index": i,
                    "core_neighbours": cores,
                    "core_neighbour_labels": [int(comp[j]) for j in cores],
                    "label": int(labels[i]),
                }
            )
    return cases


def run(X, eps, min_samples):
    labels, core, fit_method = fit(X, eps, min_samples)
    cases = check_rule(X, eps, min_samples, labels, core)
    n_clusters = int(labels.max()) + 1 if len(labels) else 0
    n_core = len(core)
    n_noise = int(np.sum(labels == -1))
    rec = {
        "eps": eps,
        "min_samples": min_samples,
        "fit_method": fit_method,
        "labels": labels.tolist(),
        "core_sample_indices": core.tolist(),
        "n_clusters": n_clusters,
        "n_core": n_core,
        "n_border": len(labels) - n_core - n_noise,
        "n_noise": n_noise,
        "border_cases": cases,
    }
    return rec


# ---- compact JSON (as in gmm_reference.py) ----
def _is_scalar(v):
    return isinstance(v, (int, float, bool, str)) or v is None


def dumps(obj, ind=0):
    pad = " " * ind
    if _is_scalar(obj):
        if isinstance(obj, float) and not np.isfinite(obj):
            raise ValueError("non-finite float")
        return json.dumps(obj)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad} {json.dumps(str(k))}: {dumps(v, ind + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(_is_scalar(v) for v in obj):
            return "[" + ", ".join(dumps(v) for v in obj) + "]"
        if all(isinstance(v, (list, tuple)) and all(_is_scalar(u) for u in v) for v in obj):
            rows = [pad + "  " + dumps(v) for v in obj]
            return "[\n" + ",\n".join(rows) + "\n" + pad + " ]"
        rows = [pad + "  " + dumps(v, ind + 2) for v in obj]
        return "[\n" + ",\n".join(rows) + "\n" + pad + " ]"
    raise TypeError(type(obj))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(
        os.path.join(here, "..", "..", "tests", "data", "sklearn_dbscan_reference.json")
    )
    out_path = sys.argv[1] if len(sys.argv) > 1 else default_out

    datasets = {}
    for name, maker in (("A", dataset_a), ("B", dataset_b), ("C", dataset_c), ("D", dataset_d)):
        X, eps, ms, meta = maker()
        gap = min_rel_gap(X, eps)
        if name in ("A", "D"):
            assert gap > 1e-9, (name, gap)
        if name == "C":
            assert gap == 0.0  # exact ties at eps
        rec = run(X, eps, ms)
        ds = {"n": len(X), "d": X.shape[1]}
        ds.update({k: v for k, v in meta.items() if k != "expected_border_labels"})
        ds["min_rel_gap_to_eps"] = gap
        ds["points"] = X.tolist()
        ds.update(rec)
        if name == "B":
            for i, lab in meta["expected_border_labels"].items():
                assert rec["labels"][i] == lab, (i, rec["labels"][i], lab)
        if name == "C":
            d2 = sq_dists(X)
            iu = np.triu_indices(len(X), 1)
            ds["n_pairs_at_exactly_eps"] = int(np.sum(d2[iu] == 1.0))
            strict = DBSCAN(eps=np.nextafter(1.0, 0.0), min_samples=ms).fit(X)
            ds["n_clusters_if_strict_lt"] = int(strict.labels_.max()) + 1
            ds["extra_runs"] = []
            for ms2 in (2, 4):
                r2 = run(X, eps, ms2)
                r2.pop("fit_method")
                ds["extra_runs"].append(r2)
        if name == "D":
            _, inv, cnt = np.unique(X, axis=0, return_inverse=True, return_counts=True)
            dup_groups = []
            for g in np.flatnonzero(cnt > 1):
                dup_groups.append([int(i) for i in np.flatnonzero(inv.ravel() == g)])
            ds["duplicate_groups"] = dup_groups
        datasets[name] = ds
        print(
            f"{name}: n={len(X)} eps={eps} min_samples={ms} clusters={rec['n_clusters']} "
            f"core={rec['n_core']} border={rec['n_border']} noise={rec['n_noise']} "
            f"multi-cluster borders={len(rec['border_cases'])} gap={gap:.3g} "
            f"fit_method={rec['fit_method']}",
            file=sys.stderr,
        )

    out = {
        "generator": "benches/peers/dbscan_reference.py (sklearn.cluster.DBSCAN)",
        "env": {
            "python": sys.version.split()[0],
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
        },
        "notes": [
            "DBSCAN(eps, min_samples, metric='euclidean', algorithm='auto'); brute and"
            " ball_tree checked to give the same labels.",
            "Neighbourhood = {j : ||x_i - x_j|| <= eps}, inclusive, and includes i itself;"
            " core iff |neighbourhood| >= min_samples.",
            "Clusters are numbered 0,1,.. by their lowest-index core point; a border point"
            " takes the smallest cluster number among the clusters with a core point within"
            " eps; noise = -1.",
            "border_cases lists the non-core points within eps of core points of more than"
            " one cluster.",
            "min_rel_gap_to_eps = min over pairs of |d^2 - eps^2| / eps^2 (0 in C: exact"
            " ties by construction).",
        ],
        "datasets": datasets,
    }
    text = dumps(out) + "\n"
    with open(out_path, "w") as f:
        f.write(text)
    back = json.loads(text)
    assert back["datasets"]["A"]["points"] == datasets["A"]["points"]
    print(f"wrote {out_path} ({len(text.encode())} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
