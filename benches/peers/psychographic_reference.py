#!/usr/bin/env python
"""Independent Python reference for the crate's psychographic factor analysis (BFI, 25 items).

Run from the repository root:

    /work/peer-venv/bin/python benches/peers/psychographic_reference.py

Reads  tests/data/bfi_big_five.csv
Writes tests/data/bfi_factor_reference.json

Deterministic: no unseeded randomness (parallel analysis uses numpy default_rng(0),
sklearn FactorAnalysis uses random_state=0). See DEFINITIONS below for every choice.
"""
import json
import os
import platform
import sys
from importlib.metadata import version as pkg_version

import numpy as np
import pandas as pd
import scipy
import sklearn
from factor_analyzer import FactorAnalyzer
from factor_analyzer.rotator import Rotator
from sklearn.decomposition import FactorAnalysis

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "tests", "data", "bfi_big_five.csv")
OUT = os.path.join(ROOT, "tests", "data", "bfi_factor_reference.json")

TRAITS = ["A", "C", "E", "N", "O"]
ITEMS = [f"{t}{i}" for t in TRAITS for i in range(1, 6)]
REVERSE_KEYED = ["A1", "C4", "C5", "E1", "E2", "O2", "O5"]
N_FACTORS = 5
EXPECTED_MISSING = 508  # in the 25 items; the whole file has 731 (= 508 + 223 in `education`)
EXPECTED_MISSING_FILE = 731
PA_N_SETS = 100
PA_SEED = 0
PA_PERCENTILE = 95.0
VARIMAX_EPS_PRIMARY = 1e-12
VARIMAX_EPS_R_DEFAULT = 1e-5
VARIMAX_MAX_ITER = 10000

DEFINITIONS = {
    "items": "The 25 columns A1..A5, C1..C5, E1..E5, N1..N5, O1..O5 in that order; id, gender, education, age are not used. All 2800 rows are kept.",
    "imputation": "Per-item MEAN imputation: every empty cell of an item is replaced by the arithmetic mean of that item's observed (non-missing) answers over all 2800 rows (item_means). No listwise deletion. The 508 missing item cells are counted per item (missing_per_item; asserted). NOTE: 731 is the missing-cell count of the WHOLE file (508 in the items + 223 in `education`, none in gender/age/id); both totals are asserted.",
    "reverse_keying": "NONE. Reverse-keyed items (A1 C4 C5 E1 E2 O2 O5) are used as answered, so they load with the opposite sign to their trait's other items.",
    "standardisation": "z = (x_imputed - mean(x_imputed)) / sd(x_imputed), population sd (ddof=0), per item. Mean of the imputed column equals the observed mean. Used as input for sklearn FactorAnalysis; the correlation matrix is the same for imputed or standardised data.",
    "correlation": "Pearson correlation matrix of the 25 imputed items (numpy.corrcoef, columns as variables). Eigen-decomposition by numpy.linalg.eigh, eigenvalues sorted descending. kaiser_count = number of eigenvalues > 1.",
    "pca_loadings": "Unrotated PCA loadings for the first 5 components: eigenvector_k * sqrt(eigenvalue_k) of the correlation matrix (eigh eigenvector sign as returned, before rotation).",
    "varimax": "Own numpy implementation of R stats::varimax: Kaiser normalisation (each row divided by sqrt of its communality = row sum of squares; de-normalised after), gamma=1, start T=I, iterate z=xT; B = x' (z^3 - z diag(colSums(z^2))/p); SVD B=U S V'; T=UV'; d=sum(S); stop when d < d_prev*(1+eps). Primary result `loadings` uses eps=1e-12 (tight convergence; max 10000 iterations); `loadings_eps_1e-5` uses R's default eps=1e-5. Cross-checked against factor_analyzer.rotator.Rotator(method='varimax') (its defaults: normalize=True i.e. Kaiser, tol=1e-5 with the same d<d_prev*(1+tol) rule, max_iter=500).",
    "sign_and_order": "Rotated matrices are stored as produced ('loadings', column order/sign arbitrary), and also as 'loadings_by_trait': columns reordered to A,C,E,N,O by the trait mapping and each column's sign flipped so that the sum of its own trait's 5 loadings is positive (for N that means all N items positive; reverse-keyed items then come out negative).",
    "ml_varimax": "factor_analyzer.FactorAnalyzer(n_factors=5, rotation='varimax', method='ml', use_smc=True) fitted on the 2800x25 imputed (not standardised; no NaN, so its own imputation never applies) numpy array. Rotation inside uses Rotator defaults (Kaiser normalize=True, tol=1e-5). Stored: loadings_, get_communalities(), get_uniquenesses(), get_factor_variance() = (SS loadings, proportion, cumulative).",
    "sklearn_fa_varimax": "sklearn.decomposition.FactorAnalysis(n_components=5, rotation='varimax', random_state=0) on the standardised (ddof=0) matrix; loadings = components_.T. NOTE: sklearn's varimax has NO Kaiser normalisation (tol=1e-6, max_iter=100) and the FA itself is the iterated SVD ML algorithm (svd_method='randomized' by default, tol=1e-2, max_iter=1000).",
    "trait_mapping": "For a 25x5 loadings matrix, column j is assigned to the trait t maximising sum_{items i of t} |L[i,j]| (per column argmax; 'bijective' says whether the 5 columns map to 5 distinct traits). Each item's factor = argmax_j |L[i,j]|. on_own_factor = (trait mapped to that column == item's first letter). items_on_own_factor counts them (expected >= 22 of 25).",
    "reverse_keyed_sign": "For each of A1 C4 C5 E1 E2 O2 O5: the sign of its loading on its trait's column versus the majority sign of the loadings of the OTHER 4 items of the same trait on that column (these 4 may include other reverse-keyed items, e.g. C5 for C4). 'opposite' expected.",
    "tucker": "Tucker congruence between pca_varimax['loadings'] and ml_varimax loadings for each trait's mapped column: phi = sum(x*y)/sqrt(sum(x^2)*sum(y^2)), sign flipped so phi is positive (i.e. |phi|).",
    "parallel_analysis": "Horn (1965): rng = numpy.random.default_rng(0); 100 data sets, each rng.standard_normal((2800, 25)) drawn in sequence; eigenvalues (numpy.linalg.eigvalsh of numpy.corrcoef) sorted descending; per position the 95th percentile (numpy.percentile, linear interpolation) and the mean. n_factors = number of LEADING observed eigenvalues strictly above the criterion (counting stops at the first that is not).",
}


def varimax(L, eps=VARIMAX_EPS_PRIMARY, normalize=True, max_iter=VARIMAX_MAX_ITER):
    """R stats::varimax (gamma=1). Returns (rotated loadings, rotation matrix, iterations)."""
    x = np.array(L, dtype=float)
    p, k = x.shape
    if normalize:
        sc = np.sqrt((x ** 2).sum(axis=1))
        x = x / sc[:, None]
    T = np.eye(k)
    d = 0.0
    it = 0
    for it in range(1, max_iter + 1):
        z = x @ T
        B = x.T @ (z ** 3 - z * ((z ** 2).sum(axis=0) / p))
        U, S, Vt = np.linalg.svd(B)
        T = U @ Vt
        d_past, d = d, S.sum()
        if d < d_past * (1 + eps):
            break
    z = x @ T
    if normalize:
        z = z * sc[:, None]
    return z, T, it


def trait_analysis(L):
    L = np.asarray(L)
    absL = np.abs(L)
    sums = np.array([[absL[5 * t:5 * t + 5, j].sum() for j in range(L.shape[1])] for t in range(5)])  # trait x col
    col_trait = [TRAITS[int(np.argmax(sums[:, j]))] for j in range(L.shape[1])]
    bijective = len(set(col_trait)) == L.shape[1]
    trait_col = {}
    for j, t in enumerate(col_trait):
        trait_col.setdefault(t, j)
    item_col = [int(np.argmax(absL[i])) for i in range(25)]
    own = [col_trait[item_col[i]] == ITEMS[i][0] for i in range(25)]
    rev = {}
    for it in REVERSE_KEYED:
        t = it[0]
        i = ITEMS.index(it)
        if t not in trait_col:
            rev[it] = {"result": "trait has no column"}
            continue
        j = trait_col[t]
        others = [ITEMS.index(o) for o in ITEMS if o[0] == t and o != it]
        pos = int(sum(L[o, j] > 0 for o in others))
        neg = int(sum(L[o, j] < 0 for o in others))
        maj = 1 if pos > neg else (-1 if neg > pos else 0)
        s = int(np.sign(L[i, j]))
        rev[it] = {
            "column": j,
            "loading": float(L[i, j]),
            "others_positive": pos,
            "others_negative": neg,
            "result": "tie" if maj == 0 else ("opposite" if s == -maj else "same"),
        }
    # by-trait reordering (only well defined when bijective)
    by_trait = None
    if bijective:
        cols = [trait_col[t] for t in TRAITS]
        M = L[:, cols].copy()
        for c, t in enumerate(TRAITS):
            if M[5 * c:5 * c + 5, c].sum() < 0:
                M[:, c] = -M[:, c]
        by_trait = M
    return {
        "column_trait_abs_sums": sums.T.tolist(),  # rows = columns, cols = A,C,E,N,O
        "column_to_trait": col_trait,
        "bijective": bijective,
        "item_factor_column": dict(zip(ITEMS, item_col)),
        "item_on_own_factor": dict(zip(ITEMS, own)),
        "items_on_own_factor": int(sum(own)),
        "items_off_own_factor": [ITEMS[i] for i in range(25) if not own[i]],
        "reverse_keyed_sign": rev,
        "reverse_keyed_all_opposite": all(v.get("result") == "opposite" for v in rev.values()),
    }, trait_col, by_trait


def mat(M):
    return {"rows": ITEMS, "values": np.asarray(M).tolist()}


def match_cols(A, B):
    """Max abs difference between A and B after matching B's columns (perm + sign) to A's."""
    from itertools import permutations
    k = A.shape[1]
    best = np.inf
    for perm in permutations(range(k)):
        Bp = B[:, perm]
        signs = np.sign((A * Bp).sum(axis=0))
        signs[signs == 0] = 1
        best = min(best, np.abs(A - Bp * signs).max())
    return float(best)


def main():
    df = pd.read_csv(DATA)
    assert len(df) == 2800, len(df)
    X = df[ITEMS].astype(float)
    missing = X.isna().sum()
    assert int(missing.sum()) == EXPECTED_MISSING, int(missing.sum())
    missing_file = int(df.isna().sum().sum())
    assert missing_file == EXPECTED_MISSING_FILE, missing_file
    assert int(df["education"].isna().sum()) == EXPECTED_MISSING_FILE - EXPECTED_MISSING
    means = X.mean(axis=0, skipna=True)
    Xi = X.fillna(means).to_numpy()
    assert not np.isnan(Xi).any()
    Z = (Xi - Xi.mean(axis=0)) / Xi.std(axis=0, ddof=0)

    R = np.corrcoef(Xi, rowvar=False)
    w, V = np.linalg.eigh(R)
    order = np.argsort(w)[::-1]
    w, V = w[order], V[:, order]
    kaiser = int((w > 1).sum())

    # --- PCA + varimax
    L0 = V[:, :N_FACTORS] * np.sqrt(w[:N_FACTORS])
    Lv, Tv, it_tight = varimax(L0, eps=VARIMAX_EPS_PRIMARY)
    Lv5, _, it_r = varimax(L0, eps=VARIMAX_EPS_R_DEFAULT)
    rot = Rotator(method="varimax")
    Lfa = rot.fit_transform(L0)
    pca_ta, pca_tc, pca_bt = trait_analysis(Lv)

    # --- ML FA (factor_analyzer)
    fa = FactorAnalyzer(n_factors=N_FACTORS, rotation="varimax", method="ml", use_smc=True)
    fa.fit(Xi)
    Lml = fa.loadings_
    ml_ta, ml_tc, ml_bt = trait_analysis(Lml)
    fvar = fa.get_factor_variance()

    # --- sklearn FA
    skfa = FactorAnalysis(n_components=N_FACTORS, rotation="varimax", random_state=0)
    skfa.fit(Z)
    Lsk = skfa.components_.T
    sk_ta, _, sk_bt = trait_analysis(Lsk)

    # --- Tucker congruence PCA-varimax vs ML-varimax
    tucker = {}
    for t in TRAITS:
        if t in pca_tc and t in ml_tc:
            x, y = Lv[:, pca_tc[t]], Lml[:, ml_tc[t]]
            tucker[t] = float(abs((x * y).sum()) / np.sqrt((x ** 2).sum() * (y ** 2).sum()))

    # --- Parallel analysis
    rng = np.random.default_rng(PA_SEED)
    rand_eigs = np.empty((PA_N_SETS, 25))
    for s in range(PA_N_SETS):
        G = rng.standard_normal((Xi.shape[0], 25))
        rand_eigs[s] = np.sort(np.linalg.eigvalsh(np.corrcoef(G, rowvar=False)))[::-1]
    p95 = np.percentile(rand_eigs, PA_PERCENTILE, axis=0)
    pmean = rand_eigs.mean(axis=0)

    def leading_above(crit):
        n = 0
        for a, b in zip(w, crit):
            if a > b:
                n += 1
            else:
                break
        return n

    out = {
        "source": "tests/data/bfi_big_five.csv",
        "script": "benches/peers/psychographic_reference.py",
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "pandas": pd.__version__,
            "scikit-learn": sklearn.__version__,
            "factor_analyzer": pkg_version("factor_analyzer"),
        },
        "definitions": DEFINITIONS,
        "n_rows": int(Xi.shape[0]),
        "items": ITEMS,
        "reverse_keyed_items": REVERSE_KEYED,
        "preprocessing": {
            "item_means": dict(zip(ITEMS, map(float, means.to_numpy()))),
            "item_sd_ddof0_after_imputation": dict(zip(ITEMS, map(float, Xi.std(axis=0, ddof=0)))),
            "missing_per_item": dict(zip(ITEMS, map(int, missing.to_numpy()))),
            "missing_total": int(missing.sum()),
            "missing_total_whole_file": missing_file,
            "missing_education": int(df["education"].isna().sum()),
            "complete_cases_25_items": int((~X.isna().any(axis=1)).sum()),
        },
        "correlation_matrix": mat(R),
        "correlation_eigenvalues": w.tolist(),
        "kaiser_count": kaiser,
        "pca_varimax": {
            "unrotated_loadings": mat(L0),
            "loadings": mat(Lv),
            "loadings_eps": VARIMAX_EPS_PRIMARY,
            "iterations": it_tight,
            "rotation_matrix": Tv.tolist(),
            "loadings_eps_1e-5": mat(Lv5),
            "iterations_eps_1e-5": it_r,
            "max_abs_diff_eps_1e-12_vs_1e-5": float(np.abs(Lv - Lv5).max()),
            "factor_analyzer_rotator_loadings": mat(Lfa),
            "factor_analyzer_rotator_normalize": bool(rot.normalize),
            "factor_analyzer_rotator_tol": float(rot.tol),
            "max_abs_diff_own_vs_factor_analyzer_matched": match_cols(Lv, Lfa),
            "max_abs_diff_own_eps_1e-5_vs_factor_analyzer_matched": match_cols(Lv5, Lfa),
            "communalities": (Lv ** 2).sum(axis=1).tolist(),
            "loadings_by_trait": mat(pca_bt) if pca_bt is not None else None,
            "trait_analysis": pca_ta,
        },
        "ml_varimax": {
            "loadings": mat(Lml),
            "communalities": fa.get_communalities().tolist(),
            "uniquenesses": fa.get_uniquenesses().tolist(),
            "factor_variance": {
                "ss_loadings": fvar[0].tolist(),
                "proportion_var": fvar[1].tolist(),
                "cumulative_var": fvar[2].tolist(),
            },
            "loadings_by_trait": mat(ml_bt) if ml_bt is not None else None,
            "trait_analysis": ml_ta,
        },
        "sklearn_fa_varimax": {
            "loadings": mat(Lsk),
            "noise_variance": skfa.noise_variance_.tolist(),
            "n_iter": int(skfa.n_iter_),
            "loadings_by_trait": mat(sk_bt) if sk_bt is not None else None,
            "trait_analysis": sk_ta,
        },
        "tucker_congruence_pca_vs_ml": tucker,
        "parallel_analysis": {
            "n_sets": PA_N_SETS,
            "seed": PA_SEED,
            "percentile": PA_PERCENTILE,
            "random_eigenvalues_p95": p95.tolist(),
            "random_eigenvalues_mean": pmean.tolist(),
            "n_factors_p95": leading_above(p95),
            "n_factors_mean": leading_above(pmean),
        },
    }
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")

    # short summary
    print("eigenvalues[:8]", np.round(w[:8], 6).tolist())
    print("kaiser", kaiser, "PA p95", out["parallel_analysis"]["n_factors_p95"],
          "PA mean", out["parallel_analysis"]["n_factors_mean"])
    print("varimax iterations eps1e-12", it_tight, "eps1e-5", it_r,
          "own-vs-FA rotator maxdiff", out["pca_varimax"]["max_abs_diff_own_vs_factor_analyzer_matched"],
          "(eps1e-5:", out["pca_varimax"]["max_abs_diff_own_eps_1e-5_vs_factor_analyzer_matched"], ")")
    for name, ta in (("pca_varimax", pca_ta), ("ml_varimax", ml_ta), ("sklearn_fa_varimax", sk_ta)):
        print(name, "map", ta["column_to_trait"], "bij", ta["bijective"], "own", ta["items_on_own_factor"],
              "off", ta["items_off_own_factor"],
              "rev", {k: v["result"] for k, v in ta["reverse_keyed_sign"].items()})
    print("tucker", tucker)
    print("wrote", OUT)


if __name__ == "__main__":
    sys.exit(main())
