#!/usr/bin/env python3
"""Clustering peers for custseg: scikit-learn k-means / mini-batch / GMM and kmodes k-prototypes.

Three modes (one JSON line per run on stdout, notes on stderr):

Numeric speed/quality peer, on a CSV from `examples/export_blobs numeric ...`
(header f0..f{d-1},label):

    python cluster_peers.py --csv PATH --k K \
        [--algos kmeans_lloyd,kmeans_elkan,minibatch,gmm,dbscan] [--repeat 3] [--n-init 10]
        [--eps 1.5] [--min-samples 10]

  kmeans_lloyd / kmeans_elkan: KMeans(init='k-means++', n_init=N, max_iter=300, tol=1e-4,
      random_state=0, algorithm='lloyd' | 'elkan').
  minibatch: MiniBatchKMeans(batch_size=4096 [sklearn >= 1.4 default is 1024], n_init=3,
      random_state=0, other defaults: max_iter=100, tol=0.0, max_no_improvement=10,
      reassignment_ratio=0.01, compute_labels=True). Its inertia is recomputed on the full
      data (-score(X)); sklearn's own inertia_ is also full-data with compute_labels=True.
  gmm: GaussianMixture(n_components=K, covariance_type='full', random_state=0), other
      defaults (n_init=1, max_iter=100, tol=1e-3, reg_covar=1e-6, init_params='kmeans').
  dbscan: DBSCAN(eps=EPS, min_samples=M), other defaults (euclidean, algorithm='auto' = a
      k-d tree here, n_jobs=None: one thread for the neighbourhoods). Reports the number of
      clusters, core and noise points and the ARI of the non-noise points.
  Only the fit is timed (best of R; every repeat is a fresh estimator with the same seed, so
  the same result). Quality: inertia, n_iter_, silhouette (sample_size=10000,
  random_state=0), Calinski-Harabasz and Davies-Bouldin on all points, ARI vs `label`;
  GMM: BIC, mean log-likelihood per point (score), n_iter_, converged_, ARI.

Mixed speed/quality peer, on a CSV from `examples/export_blobs mixed ...`
(header f0..,c0..,label; categorical columns are integer codes):

    python cluster_peers.py --mixed PATH --k K --num-cols 5 --cat-cols 3 [--repeat 3] [--n-init 1]

  KPrototypes(n_clusters=K, init='Cao', n_init=N [kmodes default is 10; the speed peer uses
  1], random_state=0, n_jobs=1), other defaults (max_iter=100, gamma=None). With gamma=None
  kmodes sets gamma = 0.5 * np.mean(Xnum.std(axis=0)) (population std, ddof=0; kmodes
  0.12.2 kprototypes.py, k_prototypes()). Reports cost_, gamma (as used by kmodes and
  recomputed here), n_iter_, ARI.

Reference fixture for the crate's tests (tests/data/sklearn_kmeans_reference.json):

    python cluster_peers.py --make-reference \
        --export-blobs ../../target/release/examples/export_blobs \
        --out ../../tests/data/sklearn_kmeans_reference.json

CSV floats are parsed with float_precision='round_trip' so the data are bit-identical to
the f64 values the Rust side generated (Rust's Display prints shortest round-trip).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import sklearn
import threadpoolctl
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)
from sklearn.mixture import GaussianMixture

THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def env_info():
    """Versions and thread settings (threadpoolctl sees the pools sklearn actually uses)."""
    info = {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "thread_env": {v: os.environ.get(v) for v in THREAD_ENV},
        "threadpools": [
            {k: d.get(k) for k in ("user_api", "internal_api", "prefix", "version", "num_threads")}
            for d in threadpoolctl.threadpool_info()
        ],
    }
    try:
        from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

        info["sklearn_openmp_threads"] = int(_openmp_effective_n_threads())
    except Exception:  # pragma: no cover - private helper
        pass
    try:
        import kmodes

        info["kmodes"] = kmodes.__version__
    except Exception:
        info["kmodes"] = None
    return info


def read_csv(path):
    t0 = time.perf_counter()
    df = pd.read_csv(path, float_precision="round_trip")
    return df, time.perf_counter() - t0


def best_of(repeat, fit):
    """Run fit() `repeat` times; return (last result, all wall times)."""
    times, res = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fit()
        times.append(time.perf_counter() - t0)
    return res, times


def cluster_quality(X, labels, y):
    out = {"ari": float(adjusted_rand_score(y, labels))}
    if len(np.unique(labels)) > 1:
        out["silhouette_10k"] = float(
            silhouette_score(X, labels, sample_size=min(10000, X.shape[0]), random_state=0)
        )
        out["calinski_harabasz"] = float(calinski_harabasz_score(X, labels))
        out["davies_bouldin"] = float(davies_bouldin_score(X, labels))
    return out


def run_numeric(args):
    df, parse_s = read_csv(args.csv)
    feats = [c for c in df.columns if c != "label"]
    X = np.ascontiguousarray(df[feats].to_numpy(dtype=np.float64))
    y = df["label"].to_numpy()
    base = {
        "mode": "numeric",
        "csv": os.path.abspath(args.csv),
        "n": int(X.shape[0]),
        "dims": int(X.shape[1]),
        "k": args.k,
        "repeat": args.repeat,
        "parse_seconds": parse_s,
    }
    print(f"parsed {args.csv}: {X.shape} in {parse_s:.2f} s", file=sys.stderr)
    for algo in args.algos.split(","):
        rec = dict(base, algo=algo)
        if algo in ("kmeans_lloyd", "kmeans_elkan"):
            params = dict(
                n_clusters=args.k,
                init="k-means++",
                n_init=args.n_init,
                max_iter=300,
                tol=1e-4,
                random_state=0,
                algorithm=algo.split("_")[1],
            )
            model, times = best_of(args.repeat, lambda: KMeans(**params).fit(X))
            rec.update(
                params=params,
                inertia=float(model.inertia_),
                n_iter=int(model.n_iter_),
                **cluster_quality(X, model.labels_, y),
            )
        elif algo == "minibatch":
            params = dict(
                n_clusters=args.k,
                init="k-means++",
                batch_size=4096,
                n_init=3,
                random_state=0,
                max_iter=100,
                tol=0.0,
                max_no_improvement=10,
                reassignment_ratio=0.01,
            )
            model, times = best_of(args.repeat, lambda: MiniBatchKMeans(**params).fit(X))
            labels = model.predict(X)
            rec.update(
                params=params,
                batch_size_note="sklearn>=1.4 default batch_size is 1024; 4096 used here",
                inertia=float(-model.score(X)),
                inertia_sklearn_attr=float(model.inertia_),
                n_iter=int(model.n_iter_),
                n_steps=int(model.n_steps_),
                **cluster_quality(X, labels, y),
            )
        elif algo == "gmm":
            params = dict(n_components=args.k, covariance_type="full", random_state=0)
            model, times = best_of(args.repeat, lambda: GaussianMixture(**params).fit(X))
            labels = model.predict(X)
            rec.update(
                params=params,
                defaults="n_init=1 max_iter=100 tol=1e-3 reg_covar=1e-6 init_params=kmeans",
                bic=float(model.bic(X)),
                mean_log_likelihood=float(model.score(X)),
                n_iter=int(model.n_iter_),
                converged=bool(model.converged_),
                ari=float(adjusted_rand_score(y, labels)),
            )
        elif algo == "dbscan":
            from sklearn.cluster import DBSCAN

            params = dict(eps=args.eps, min_samples=args.min_samples)
            model, times = best_of(args.repeat, lambda: DBSCAN(**params).fit(X))
            labels = model.labels_
            kept = labels >= 0
            rec.update(
                params=params,
                clusters=int(labels.max() + 1),
                core=int(len(model.core_sample_indices_)),
                noise=int((~kept).sum()),
                ari=float(adjusted_rand_score(y[kept], labels[kept])) if kept.any() else None,
            )
        else:
            raise SystemExit(f"unknown algo {algo!r}")
        rec.update(fit_seconds_best=min(times), fit_seconds_all=times, env=env_info())
        print(f"{algo}: best {min(times):.3f} s of {times}", file=sys.stderr)
        print(json.dumps(rec), flush=True)


def kprototypes_fit(Xmix, cat_idx, k, n_init):
    from kmodes.kprototypes import KPrototypes

    return KPrototypes(
        n_clusters=k, init="Cao", n_init=n_init, random_state=0, n_jobs=1
    ).fit(Xmix, categorical=cat_idx)


def load_mixed(path, num_cols, cat_cols):
    df, parse_s = read_csv(path)
    num = [f"f{j}" for j in range(num_cols)]
    cat = [f"c{j}" for j in range(cat_cols)]
    missing = [c for c in num + cat + ["label"] if c not in df.columns]
    if missing:
        raise SystemExit(f"{path}: missing columns {missing}")
    # One float array (codes 0..levels-1 are exact); kmodes splits it by `categorical`.
    Xmix = df[num + cat].to_numpy(dtype=np.float64)
    cat_idx = list(range(num_cols, num_cols + cat_cols))
    return Xmix, cat_idx, df["label"].to_numpy(), parse_s


def run_mixed(args):
    Xmix, cat_idx, y, parse_s = load_mixed(args.mixed, args.num_cols, args.cat_cols)
    print(f"parsed {args.mixed}: {Xmix.shape} in {parse_s:.2f} s", file=sys.stderr)
    n_init = args.n_init if args.n_init is not None else 1
    model, times = best_of(
        args.repeat, lambda: kprototypes_fit(Xmix, cat_idx, args.k, n_init)
    )
    Xnum = Xmix[:, : args.num_cols]
    rec = {
        "mode": "mixed",
        "algo": "kprototypes",
        "csv": os.path.abspath(args.mixed),
        "n": int(Xmix.shape[0]),
        "num_cols": args.num_cols,
        "cat_cols": args.cat_cols,
        "k": args.k,
        "repeat": args.repeat,
        "parse_seconds": parse_s,
        "params": dict(n_clusters=args.k, init="Cao", n_init=n_init, random_state=0, n_jobs=1),
        "defaults": "kmodes default n_init=10, max_iter=100, gamma=None -> 0.5*mean(std(Xnum, ddof=0))",
        "cost": float(model.cost_),
        "gamma": float(model.gamma),
        "gamma_recomputed": float(0.5 * np.mean(Xnum.std(axis=0))),
        "n_iter": int(model.n_iter_),
        "ari": float(adjusted_rand_score(y, model.labels_)),
        "fit_seconds_best": min(times),
        "fit_seconds_all": times,
        "env": env_info(),
    }
    print(f"kprototypes: best {min(times):.3f} s of {times}", file=sys.stderr)
    print(json.dumps(rec), flush=True)


# ---------------------------------------------------------------------------------------
# Reference fixture
# ---------------------------------------------------------------------------------------

REF_KMEANS = dict(
    init="k-means++", n_init=50, max_iter=1000, tol=1e-10, algorithm="lloyd", random_state=0
)


def kmeans_reference(X, y, k):
    """KMeans with REF_KMEANS, recording every run's inertia by wrapping sklearn's
    single-run Lloyd (KMeans.fit looks it up as a module global on each fit)."""
    import sklearn.cluster._kmeans as km

    runs = []
    orig = km._kmeans_single_lloyd

    def recording(*a, **kw):
        labels, inertia, centers, n_iter = orig(*a, **kw)
        runs.append({"inertia": float(inertia), "n_iter": int(n_iter)})
        return labels, inertia, centers, n_iter

    km._kmeans_single_lloyd = recording
    try:
        best = KMeans(n_clusters=k, **REF_KMEANS).fit(X)
        runs50 = list(runs)
        runs.clear()
        best10 = KMeans(n_clusters=k, **dict(REF_KMEANS, n_init=10)).fit(X)
        runs10 = list(runs)
    finally:
        km._kmeans_single_lloyd = orig
    assert len(runs50) == 50 and len(runs10) == 10
    # The first 10 of the 50 runs use the same k-means++ draws as n_init=10.
    assert [r["inertia"] for r in runs10] == [r["inertia"] for r in runs50[:10]]
    inertias = [r["inertia"] for r in runs50]
    return {
        "best_inertia": float(best.inertia_),
        "min_run_inertia": min(inertias),
        "best_n_iter": int(best.n_iter_),
        "n_init10_best_inertia": float(best10.inertia_),
        "inertias_sorted": sorted(inertias),
        "runs_in_order": runs50,
        "distinct_inertias_rel_1e-9": int(
            len(np.unique(np.round(np.array(inertias) / min(inertias), 9)))
        ),
        "best_centers": best.cluster_centers_.tolist(),
        "best_centers_sorted_lex": sorted(best.cluster_centers_.tolist()),
        "ari_best_vs_labels": float(adjusted_rand_score(y, best.labels_)),
        "sklearn_internal_tol": float(np.mean(np.var(X, axis=0)) * REF_KMEANS["tol"]),
    }


def shrink_towards_origin(X, y, factor):
    """x' = x - (1 - 1/factor) * m_label with m_label the per-label mean, summed row by row
    in file order (what a plain Rust loop does), so the transform is bit-reproducible."""
    labels = np.unique(y)
    means = np.zeros((len(labels), X.shape[1]))
    for li, lab in enumerate(labels):
        s = np.zeros(X.shape[1])
        cnt = 0
        for row in X[y == lab]:
            s = s + row
            cnt += 1
        means[li] = s / float(cnt)
    c = 1.0 - 1.0 / factor  # 0.75, exact
    Xs = X - c * means[np.searchsorted(labels, y)]
    return np.ascontiguousarray(Xs), means


def make_reference(args):
    exe = os.path.abspath(args.export_blobs)
    out = {
        "generator": "benches/peers/cluster_peers.py --make-reference",
        "env": {k: v for k, v in env_info().items() if k in ("python", "sklearn", "numpy", "pandas", "kmodes")},
        "kmeans_params": REF_KMEANS,
        "notes": [
            "inertia = sum of squared Euclidean distances to the nearest centre (sklearn inertia_).",
            "best_inertia is sklearn's inertia_ for n_init=50; it keeps a run only if its inertia is lower "
            "AND its partition differs, so it can exceed min_run_inertia by rounding noise.",
            "runs_in_order: inertia and n_iter of each of the 50 Lloyd runs in sklearn's order "
            "(k-means++ draws from one RandomState(0)); the first 10 are exactly the n_init=10 runs.",
            "sklearn runs Lloyd on mean-centred data; tol is scaled to tol*mean(var(X)) "
            "(sklearn_internal_tol); centres are reported in the original coordinates.",
            "best_centers are in sklearn's cluster order; best_centers_sorted_lex sorts rows lexicographically.",
        ],
        "datasets": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        specs = [
            ("a_numeric_2000_4_5_11", ["numeric", "2000", "4", "5", "11"], 5, None),
            ("b_numeric_3000_6_8_3", ["numeric", "3000", "6", "8", "3"], 8, None),
            ("b_numeric_3000_6_8_3_div4", ["numeric", "3000", "6", "8", "3"], 8, "div4"),
            ("b_numeric_3000_6_8_3_shrink4", ["numeric", "3000", "6", "8", "3"], 8, "shrink4"),
        ]
        for name, cmd, k, transform in specs:
            path = os.path.join(tmp, name + ".csv")
            subprocess.run([exe, *cmd, path], check=True, capture_output=True)
            df, _ = read_csv(path)
            feats = [c for c in df.columns if c != "label"]
            X = np.ascontiguousarray(df[feats].to_numpy(dtype=np.float64))
            y = df["label"].to_numpy()
            entry = {"export_blobs_args": cmd, "n": int(X.shape[0]), "dims": int(X.shape[1]), "k": k}
            if transform == "div4":
                X = X / 4.0  # exact in binary floating point (power of two)
                entry["transform"] = (
                    "x / 4.0 for every feature coordinate (exact in f64); labels unchanged. "
                    "NOTE: a uniform rescale does not change the cluster geometry: inertia is "
                    "exactly 1/16 of the unscaled one and clusters stay separated."
                )
            elif transform == "shrink4":
                X, means = shrink_towards_origin(X, y, 4.0)
                entry["transform"] = (
                    "centre offsets divided by 4, noise unchanged: m_l = per-label mean of the "
                    "exported rows (sequential f64 sum over the rows with label l in file order, "
                    "then / count), x' = x - 0.75 * m_l (one f64 multiply, one subtract, no FMA). "
                    "Bit-reproducible from the CSV or from datasets::blobs(3000, 6, 8, 1.0, 3)."
                )
                entry["label_means_before_transform"] = means.tolist()
                entry["transformed_data_sum"] = float(np.sum(X))
                entry["transformed_first_row"] = X[0].tolist()
            else:
                entry["transform"] = None
            entry.update(kmeans_reference(X, y, k))
            out["datasets"][name] = entry
            print(f"{name}: best {entry['best_inertia']:.6f} ari {entry['ari_best_vs_labels']:.4f}", file=sys.stderr)

        cmd = ["mixed", "2000", "5", "3", "4", "6", "11"]
        path = os.path.join(tmp, "mixed.csv")
        subprocess.run([exe, *cmd, path], check=True, capture_output=True)
        Xmix, cat_idx, y, _ = load_mixed(path, 5, 3)
        model = kprototypes_fit(Xmix, cat_idx, 4, 10)
        Xnum = Xmix[:, :5]
        out["datasets"]["mixed_2000_5_3_4_6_11"] = {
            "export_blobs_args": cmd,
            "params": dict(n_clusters=4, init="Cao", n_init=10, random_state=0, n_jobs=1,
                           max_iter=100, gamma=None),
            "numeric_columns": [0, 1, 2, 3, 4],
            "categorical_columns": cat_idx,
            "cost": float(model.cost_),
            "cost_definition": "sum over points of squared Euclidean distance (numeric) + "
                               "gamma * number of mismatched categorical attributes",
            "gamma": float(model.gamma),
            "gamma_formula": "0.5 * np.mean(Xnum.std(axis=0))  (numpy std, ddof=0)",
            "gamma_recomputed": float(0.5 * np.mean(Xnum.std(axis=0))),
            "n_iter": int(model.n_iter_),
            "ari_vs_labels": float(adjusted_rand_score(y, model.labels_)),
            "centroids": model.cluster_centroids_.tolist(),
        }
        print(f"mixed: cost {model.cost_:.6f} gamma {model.gamma:.6f}", file=sys.stderr)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--csv", help="numeric CSV (f0..,label)")
    mode.add_argument("--mixed", help="mixed CSV (f0..,c0..,label)")
    mode.add_argument("--make-reference", action="store_true")
    p.add_argument("--k", type=int)
    p.add_argument("--algos", default="kmeans_lloyd,kmeans_elkan,minibatch,gmm,dbscan")
    p.add_argument("--eps", type=float, default=1.5, help="DBSCAN radius")
    p.add_argument("--min-samples", type=int, default=10, help="DBSCAN min_samples")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--n-init", type=int, default=None,
                   help="KMeans n_init (default 10); KPrototypes n_init (default 1)")
    p.add_argument("--num-cols", type=int, default=5)
    p.add_argument("--cat-cols", type=int, default=3)
    p.add_argument("--export-blobs", default="target/release/examples/export_blobs")
    p.add_argument("--out", default="tests/data/sklearn_kmeans_reference.json")
    args = p.parse_args()
    if args.make_reference:
        make_reference(args)
        return
    if args.k is None:
        p.error("--k is required")
    if args.csv:
        if args.n_init is None:
            args.n_init = 10
        run_numeric(args)
    else:
        run_mixed(args)


if __name__ == "__main__":
    main()
