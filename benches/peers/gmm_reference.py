#!/usr/bin/env python3
"""scikit-learn GaussianMixture reference fixture for custseg's Gaussian mixture (EM).

What it computes
----------------
Three deterministic synthetic data sets (numpy ``default_rng`` with fixed seeds; the rows
are shuffled with a fixed permutation so blobs are not contiguous):

  A  600 x 2, k = 3: well-separated blobs of 300 / 200 / 100 points with different
     covariances; blob 0 is elongated (sd 3.0 and 0.5) and rotated by 30 degrees.
  B  900 x 4, k = 4: overlapping blobs with unequal weights (360 / 270 / 180 / 90 points,
     centres about 2 to 3 sd apart).
  C  400 x 3, k = 2: blob 0 (200 points) is nearly flat along the 3rd axis (sd 1e-4, i.e.
     variance 1e-8), so reg_covar (1e-6) dominates that variance; blob 1 (200 points) is
     an ordinary 3-D blob.

For every data set and every covariance_type in ("full", "diag", "spherical") it fits

    GaussianMixture(n_components=k, covariance_type=ct, tol=1e-12, max_iter=10000,
                    reg_covar=1e-6, weights_init=W0, means_init=M0, precisions_init=P0)

with a fully specified initial state, so no randomness enters the fit:

  W0 = uniform (1/k each);
  M0 = k data rows, one from each generating blob (the row index inside blob j is drawn
       with ``default_rng(seed + 1).choice``), listed in blob order; their row indices in
       the shuffled data are written as "init.mean_indices";
  initial covariances = the data's per-feature population variance v = X.var(axis=0)
       (ddof = 0), the same for every component, written in the shape of sklearn's
       covariances_ for the type: full -> (k, d, d) diag(v); diag -> (k, d) v;
       spherical -> (k,) mean(v). NO reg_covar is added to the initial covariances.
  P0 (precisions_init, also written as "init.precisions") = their inverses:
       full -> (k, d, d) diag(1 / v); diag -> (k, d) 1 / v; spherical -> (k,) 1 / mean(v).

Per data set it also fits GaussianMixture(k, covariance_type='full',
init_params='k-means++', random_state=0, tol=1e-10, max_iter=10000) (reg_covar default
1e-6) under "kmeanspp_full": only its converged optimum (score, weights, means,
covariances, labels) is meant to be compared, not its initialisation. Its components are
re-ordered by the first coordinate of the mean (ascending) and its labels are remapped to
that order.

sklearn conventions (scikit-learn 1.5.2, sklearn/mixture/_base.py and
_gaussian_mixture.py), which the fixture reflects:

  * One iteration = E-step on the current parameters, then M-step. ``lower_bound_`` is
    the mean per-sample log-likelihood log sum_j w_j N(x | mu_j, S_j) computed in the
    E-step of the LAST iteration, i.e. under the parameters from BEFORE the last M-step
    (for n_iter = 1: under the initial parameters). The returned weights_/means_/
    covariances_ come from that last M-step, so ``score(X)`` (mean log-likelihood under
    the returned parameters) generally differs from lower_bound_ (score >= lower_bound_
    by EM monotonicity; the gap is below tol once converged). Convergence test:
    |lower_bound - previous lower_bound| < tol, the previous bound of iteration 1 being
    -inf (so n_iter >= 2 whenever it converges).
  * M-step: nk = sum_i resp_ik + 10 * eps(float64); means = resp^T X / nk;
    weights = nk / sum(nk).
      full:      S_k = (sum_i resp_ik (x_i - mu_k)(x_i - mu_k)^T) / nk + reg_covar * I
      diag:      s_k = (resp^T (X*X)) / nk - 2 mu_k * (resp^T X) / nk + mu_k^2 + reg_covar
                 (one-pass formula, not sum resp (x - mu)^2)
      spherical: the diag vector above (reg_covar already included) averaged over the d
                 features, so the spherical variance carries exactly + reg_covar.
  * bic = -2 * score(X) * n + p * ln(n), aic = -2 * score(X) * n + 2 * p, with
    p = k*d (means) + (k - 1) (weights) + covariance parameters:
      full k*d*(d+1)/2, diag k*d, spherical k  (int() of the float sum).
  * predict(X) = argmax_k of log w_k + log N(x | mu_k, S_k) (first maximum on ties).

Run (from the repository root, with the peer venv of benches/peers/README.md):

    /work/peer-venv/bin/python benches/peers/gmm_reference.py [OUT_JSON]

Default OUT_JSON is tests/data/sklearn_gmm_reference.json next to this script's
repository; that output is committed as tests/data/sklearn_gmm_reference.json. Floats
are written with Python's repr (shortest round-trip), so they parse back to the exact
float64 sklearn used.
"""
import json
import os
import sys
import warnings

import numpy as np
import sklearn
from sklearn.mixture import GaussianMixture

REG_COVAR = 1e-6
TOL = 1e-12
MAX_ITER = 10000
COV_TYPES = ("full", "diag", "spherical")


def rot(deg):
    t = np.deg2rad(deg)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


def make_blobs(seed, specs):
    """specs: list of (n, mean, cov). Returns shuffled X, true blob labels."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for j, (n, mean, cov) in enumerate(specs):
        xs.append(rng.multivariate_normal(np.asarray(mean, float), np.asarray(cov, float), n))
        ys.append(np.full(n, j))
    X = np.vstack(xs)
    y = np.concatenate(ys)
    perm = rng.permutation(len(y))
    return X[perm], y[perm]


def dataset_a():
    r = rot(30.0)
    cov0 = r @ np.diag([3.0**2, 0.5**2]) @ r.T
    specs = [
        (300, [0.0, 0.0], cov0),
        (200, [12.0, 8.0], [[1.0, 0.3], [0.3, 0.8]]),
        (100, [-6.0, 10.0], [[0.25, 0.0], [0.0, 0.25]]),
    ]
    X, y = make_blobs(101, specs)
    return X, y, 3, 101


def dataset_b():
    specs = [
        (360, [0.0, 0.0, 0.0, 0.0], np.eye(4)),
        (270, [2.5, 0.5, 0.0, 1.0], np.diag([1.5, 0.7, 1.0, 1.2])),
        (180, [0.5, 2.5, 1.5, -0.5], [[1.0, 0.4, 0.0, 0.0],
                                      [0.4, 1.0, 0.2, 0.0],
                                      [0.0, 0.2, 0.8, 0.0],
                                      [0.0, 0.0, 0.0, 0.6]]),
        (90, [-2.0, 1.5, -1.5, 2.0], np.diag([0.5, 0.5, 0.5, 0.5])),
    ]
    X, y = make_blobs(202, specs)
    return X, y, 4, 202


def dataset_c():
    specs = [
        (200, [0.0, 0.0, 1.0], np.diag([1.0, 1.0, 1e-8])),  # flat along axis 2
        (200, [4.0, 3.0, 2.0], np.diag([1.0, 0.8, 0.6])),
    ]
    X, y = make_blobs(303, specs)
    return X, y, 2, 303


def initial_state(X, y, k, seed, ct):
    rng = np.random.default_rng(seed + 1)
    idx = []
    for j in range(k):
        members = np.flatnonzero(y == j)
        idx.append(int(rng.choice(members)))
    means = X[idx].copy()
    d = X.shape[1]
    v = X.var(axis=0)
    weights = np.full(k, 1.0 / k)
    if ct == "full":
        cov = np.array([np.diag(v) for _ in range(k)])
        prec = np.array([np.diag(1.0 / v) for _ in range(k)])
    elif ct == "diag":
        cov = np.tile(v, (k, 1))
        prec = 1.0 / cov
    elif ct == "spherical":
        cov = np.full(k, v.mean())
        prec = 1.0 / cov
    else:
        raise ValueError(ct)
    assert cov.shape == {"full": (k, d, d), "diag": (k, d), "spherical": (k,)}[ct]
    return idx, weights, means, cov, prec


def n_parameters(k, d, ct):
    cov = {"full": k * d * (d + 1) / 2.0, "diag": k * d, "spherical": k}[ct]
    return int(cov + k * d + k - 1)


def fit_fixed(X, y, k, seed, ct):
    idx, w0, m0, c0, p0 = initial_state(X, y, k, seed, ct)
    gm = GaussianMixture(
        n_components=k,
        covariance_type=ct,
        tol=TOL,
        max_iter=MAX_ITER,
        reg_covar=REG_COVAR,
        weights_init=w0,
        means_init=m0,
        precisions_init=p0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning must not pass silently
        gm.fit(X)
    n, d = X.shape
    score = float(gm.score(X))
    p = n_parameters(k, d, ct)
    assert p == gm._n_parameters()
    bic = float(gm.bic(X))
    aic = float(gm.aic(X))
    assert np.isclose(bic, -2 * score * n + p * np.log(n), rtol=0, atol=1e-9 * abs(bic))
    rec = {
        "init": {
            "mean_indices": idx,
            "weights": w0.tolist(),
            "means": m0.tolist(),
            "covariances": c0.tolist(),
            "precisions": p0.tolist(),
        },
        "reg_covar": REG_COVAR,
        "tol": TOL,
        "max_iter": MAX_ITER,
        "converged": bool(gm.converged_),
        "n_iter": int(gm.n_iter_),
        "lower_bound": float(gm.lower_bound_),
        "score": score,
        "n_parameters": p,
        "weights": gm.weights_.tolist(),
        "means": gm.means_.tolist(),
        "covariances": gm.covariances_.tolist(),
        "labels": gm.predict(X).tolist(),
        "bic": bic,
        "aic": aic,
    }
    return gm, rec


def fit_kmeanspp(X, k):
    gm = GaussianMixture(
        n_components=k,
        covariance_type="full",
        init_params="k-means++",
        random_state=0,
        tol=1e-10,
        max_iter=10000,
    )
    gm.fit(X)
    order = np.argsort(gm.means_[:, 0], kind="stable")
    remap = np.empty(k, dtype=int)
    remap[order] = np.arange(k)
    labels = remap[gm.predict(X)]
    return {
        "params": {
            "covariance_type": "full",
            "init_params": "k-means++",
            "random_state": 0,
            "tol": 1e-10,
            "max_iter": 10000,
            "reg_covar": gm.reg_covar,
        },
        "converged": bool(gm.converged_),
        "n_iter": int(gm.n_iter_),
        "lower_bound": float(gm.lower_bound_),
        "score": float(gm.score(X)),
        "weights": gm.weights_[order].tolist(),
        "means": gm.means_[order].tolist(),
        "covariances": gm.covariances_[order].tolist(),
        "labels": labels.tolist(),
        "note": "components sorted by means[:, 0] ascending; labels remapped to that order",
    }


# ---- compact JSON: scalar lists on one line, lists of scalar lists one row per line ----
def _is_scalar(v):
    return isinstance(v, (int, float, bool, str)) or v is None


def _check_finite(v):
    if isinstance(v, float) and not np.isfinite(v):
        raise ValueError("non-finite float in output")


def dumps(obj, ind=0):
    pad = " " * ind
    if _is_scalar(obj):
        _check_finite(obj)
        return json.dumps(obj)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{pad} {json.dumps(k)}: {dumps(v, ind + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(_is_scalar(v) for v in obj):
            for v in obj:
                _check_finite(v)
            return "[" + ", ".join(json.dumps(v) for v in obj) + "]"
        if all(isinstance(v, (list, tuple)) and all(_is_scalar(u) for u in v) for v in obj):
            rows = [pad + "  " + dumps(v) for v in obj]
            return "[\n" + ",\n".join(rows) + "\n" + pad + " ]"
        rows = [pad + "  " + dumps(v, ind + 2) for v in obj]
        return "[\n" + ",\n".join(rows) + "\n" + pad + " ]"
    raise TypeError(type(obj))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_out = os.path.normpath(
        os.path.join(here, "..", "..", "tests", "data", "sklearn_gmm_reference.json")
    )
    out_path = sys.argv[1] if len(sys.argv) > 1 else default_out

    datasets = {}
    for name, maker in (("A", dataset_a), ("B", dataset_b), ("C", dataset_c)):
        X, y, k, seed = maker()
        n, d = X.shape
        ds = {
            "n": n,
            "d": d,
            "k": k,
            "seed": seed,
            "true_labels": y.tolist(),
            "points": X.tolist(),
        }
        for ct in COV_TYPES:
            gm, rec = fit_fixed(X, y, k, seed, ct)
            if name == "A" and ct == "full":
                rec["score_samples_first10"] = gm.score_samples(X[:10]).tolist()
            ds[ct] = rec
            print(
                f"{name} {ct:9s} n_iter={rec['n_iter']:5d} converged={rec['converged']} "
                f"score={rec['score']!r} lower_bound={rec['lower_bound']!r} "
                f"score-lb={rec['score'] - rec['lower_bound']:.3e}",
                file=sys.stderr,
            )
        ds["kmeanspp_full"] = fit_kmeanspp(X, k)
        kp = ds["kmeanspp_full"]
        print(
            f"{name} kmeanspp  n_iter={kp['n_iter']:5d} converged={kp['converged']} "
            f"score={kp['score']!r}",
            file=sys.stderr,
        )
        datasets[name] = ds

    out = {
        "generator": "benches/peers/gmm_reference.py (sklearn.mixture.GaussianMixture)",
        "env": {
            "python": sys.version.split()[0],
            "sklearn": sklearn.__version__,
            "numpy": np.__version__,
        },
        "notes": [
            "score = gmm.score(X): mean per-sample log-likelihood under the returned parameters.",
            "lower_bound = sklearn lower_bound_: mean log-likelihood from the E-step of the last"
            " iteration, i.e. under the parameters BEFORE the last M-step.",
            "init.covariances are X.var(axis=0) (ddof=0) with no reg_covar; init.precisions are"
            " their inverses (what was passed as precisions_init).",
            "M-step adds reg_covar to the diagonal (full), to each variance (diag), and the"
            " spherical variance is the mean of the regularised diag variances.",
            "n_parameters: k*d + k-1 + {full: k*d*(d+1)/2, diag: k*d, spherical: k};"
            " bic = -2*score*n + p*ln(n); aic = -2*score*n + 2p.",
            "true_labels = generating blob of each row (init.mean_indices row j is from blob j).",
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
