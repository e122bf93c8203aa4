#!/usr/bin/env python3
"""scipy / statsmodels reference fixture for the A/B-testing module.

Output: tests/data/abtest_reference.json (path relative to the repo root; an
explicit path may be given as the only argument).

Run (from the repo root, peers venv of benches/peers/requirements.txt, which
pins statsmodels 0.14.1 on top of numpy 1.24.4 / scipy 1.10.1 / pandas 1.5.3):

    /work/peer-venv/bin/python benches/peers/abtest_reference.py

Fully deterministic (numpy default_rng with fixed seeds); every float is written
by Python's json module, i.e. repr() = shortest round-trip decimal, so a Rust
parse gives back the exact f64. No NaN/Inf is written (allow_nan=False).

Sections of the JSON
--------------------
"quantiles"
    scipy.stats.norm.ppf(p), norm.cdf(x), norm.sf(x) and
    scipy.stats.t.ppf(p, df), t.cdf(x, df), t.sf(x, df) for
    p in P_GRID, x in X_GRID, df in DF_GRID (non-integer df: Welch).

"experiment"
    A synthetic experiment, 3 segments (loyal, new, lapsed) x 2 arms
    (control, treatment), unbalanced cell sizes in 250..400. Per customer:
    segment, arm, converted (0/1) and revenue (0 when not converted, else a
    lognormal amount rounded to cents), written as four parallel arrays
    ("rows"). An uplift is planted only in "new" (conversion 0.10 -> 0.20,
    same revenue distribution for converters; 0.16 was tried first, but with
    these cell sizes its power is only ~55% and that draw gave p = 0.063 and
    no rejection anywhere, which exercises no reject branch). All statistics
    are computed from the rounded revenue exactly as written.
    Note: scipy's t.ppf(0.5, df) is not exactly 0 for every df (7.3e-17 at
    df = 2.5); compare quantiles with a tolerance.

    For each segment and for "overall" (all segments pooled), with t =
    treatment, c = control:
      arms.<arm>: n, conversions, conversion_rate = conversions / n,
          revenue_mean (per customer, non-converters count as 0),
          revenue_std (sample std, ddof=1).
      conversion:
          uplift_abs = p_t - p_c
          wald_ci_95 = statsmodels.stats.proportion.confint_proportions_2indep(
              ct, nt, cc, nc, method='wald', compare='diff', alpha=0.05)
              = uplift_abs -/+ norm.isf(0.025) *
                sqrt(p_t(1-p_t)/nt + p_c(1-p_c)/nc)          (unpooled SE)
          z, p_value = statsmodels.stats.proportion.proportions_ztest(
              [ct, cc], [nt, nc])   (two-sided, POOLED SE:
              z = (p_t - p_c) / sqrt(pp(1-pp)(1/nt + 1/nc)),
              pp = (ct + cc)/(nt + nc), p = 2 * norm.sf(|z|))
          uplift_rel = p_t / p_c - 1
          rel_ci_95 = confint_proportions_2indep(ct, nt, cc, nc,
              method='log', compare='ratio', alpha=0.05) minus 1
              ('log' = no 0.5 continuity adjustment, unlike the default
              'log-adjusted'):
              exp(log(p_t/p_c) -/+ norm.isf(0.025) *
                  sqrt(1/ct - 1/nt + 1/cc - 1/nc)) - 1
      revenue:
          diff = mean_t - mean_c
          t, p_value = scipy.stats.ttest_ind(rev_t, rev_c, equal_var=False)
          se = sqrt(s_t^2/nt + s_c^2/nc)    (s = ddof=1 std)
          df = se^4 / ((s_t^2/nt)^2/(nt-1) + (s_c^2/nc)^2/(nc-1))
              (Welch-Satterthwaite, by hand: scipy 1.10 does not return df;
              the script asserts diff/se == scipy's t and
              2*t.sf(|t|, df) == scipy's p to 1e-12)
          ci_95 = diff -/+ scipy.stats.t.ppf(0.975, df) * se

    "multiple_testing": across the three segments (not overall), in the
    order of "segments", statsmodels.stats.multitest.multipletests(pvals,
    alpha=0.05, method=m) for m in ('holm', 'fdr_bh'): pvals_corrected and
    reject, for the conversion p-values and for the revenue p-values.

"sample_size"
    Per-arm (n1) sample size of a two-proportion z-test, baseline p1,
    absolute MDE d, p2 = p1 + d, n2 = r * n1:
        pbar = (p1 + r p2) / (1 + r)
        n1 = (z_a sqrt((1 + 1/r) pbar (1-pbar))
              + z_b sqrt(p1(1-p1) + p2(1-p2)/r))^2 / d^2
    with z_a = norm.ppf(1 - alpha/2) (two-sided) or norm.ppf(1 - alpha)
    (one-sided), z_b = norm.ppf(power). Not rounded up.
    statsmodels equivalent (matches to ~1e-15 relative, asserted <= 1e-9):
        statsmodels.stats.proportion.samplesize_proportions_2indep_onetail(
            diff=-d, prop2=p1 + d, power=power, ratio=r, alpha=alpha,
            alternative=alt)
    (statsmodels' sample 1 is the one with nobs1 and prop1 = prop2 + diff, so
    the baseline has to be statsmodels' sample 1.) The "natural-looking" call
    samplesize_proportions_2indep_onetail(diff=d, prop2=p1, ratio=r, ...) is
    also written ("statsmodels_swapped"): it equals n1 only when r == 1 (it is
    then the n of the arm of size nobs1 = the treatment arm).
    For reference also the Cohen's-h solution
        statsmodels.stats.power.NormalIndPower().solve_power(
            effect_size=proportion_effectsize(p2, p1), nobs1=None,
            alpha=alpha, power=power, ratio=r, alternative=alt)
    (arcsine-transformed, root-found; differs from the formula above).
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
    samplesize_proportions_2indep_onetail,
)

REPO = Path(__file__).resolve().parents[2]
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "tests" / "data" / "abtest_reference.json"

P_GRID = [0.5, 0.9, 0.95, 0.975, 0.99, 0.999, 1e-10, 0.025]
X_GRID = [-8.0, -1.96, 0.0, 0.5, 3.0, 8.0]
DF_GRID = [1.0, 2.5, 7.0, 30.7, 1000.0]

SEGMENTS = ["loyal", "new", "lapsed"]
ARMS = ["control", "treatment"]
# (segment, arm) -> (n, conversion probability, lognormal mu, lognormal sigma)
CELLS = {
    ("loyal", "control"): (384, 0.30, math.log(60.0), 0.6),
    ("loyal", "treatment"): (317, 0.30, math.log(60.0), 0.6),
    ("new", "control"): (342, 0.10, math.log(35.0), 0.8),
    ("new", "treatment"): (396, 0.20, math.log(35.0), 0.8),
    ("lapsed", "control"): (263, 0.05, math.log(45.0), 0.7),
    ("lapsed", "treatment"): (289, 0.05, math.log(45.0), 0.7),
}
SEED = 20240917


def f(x):
    """numpy scalar -> Python float (exact), refusing non-finite values."""
    x = float(x)
    assert math.isfinite(x), x
    return x


def quantiles():
    out = {
        "p": P_GRID,
        "x": X_GRID,
        "df": DF_GRID,
        "norm_ppf": [f(stats.norm.ppf(p)) for p in P_GRID],
        "norm_cdf": [f(stats.norm.cdf(x)) for x in X_GRID],
        "norm_sf": [f(stats.norm.sf(x)) for x in X_GRID],
        "t": [],
    }
    for df in DF_GRID:
        out["t"].append(
            {
                "df": df,
                "ppf": [f(stats.t.ppf(p, df)) for p in P_GRID],
                "cdf": [f(stats.t.cdf(x, df)) for x in X_GRID],
                "sf": [f(stats.t.sf(x, df)) for x in X_GRID],
            }
        )
    return out


def simulate():
    seg, arm, conv, rev = [], [], [], []
    for i, ((s, a), (n, p, mu, sigma)) in enumerate(CELLS.items()):
        rng = np.random.default_rng([SEED, i])
        c = (rng.random(n) < p).astype(np.int64)
        amount = rng.lognormal(mean=mu, sigma=sigma, size=n)
        r = np.where(c == 1, np.round(amount, 2), 0.0)
        # canonical cents: go through the decimal string so the written value
        # and the analysed value are the same f64
        r = [float(f"{v:.2f}") for v in r]
        seg += [s] * n
        arm += [a] * n
        conv += [int(v) for v in c]
        rev += r
    return seg, arm, np.array(conv, dtype=np.int64), np.array(rev, dtype=np.float64)


def analyse(conv_t, rev_t, conv_c, rev_c):
    nt, nc = len(conv_t), len(conv_c)
    ct, cc = int(conv_t.sum()), int(conv_c.sum())
    assert ct > 0 and cc > 0  # log risk-ratio CI needs non-zero counts
    pt, pc = ct / nt, cc / nc
    arms = {}
    for name, cv, rv in (("control", conv_c, rev_c), ("treatment", conv_t, rev_t)):
        arms[name] = {
            "n": len(cv),
            "conversions": int(cv.sum()),
            "conversion_rate": f(cv.sum() / len(cv)),
            "revenue_mean": f(np.mean(rv)),
            "revenue_std": f(np.std(rv, ddof=1)),
        }

    wl, wu = confint_proportions_2indep(ct, nt, cc, nc, method="wald", compare="diff", alpha=0.05)
    z, pz = proportions_ztest([ct, cc], [nt, nc])
    rl, ru = confint_proportions_2indep(ct, nt, cc, nc, method="log", compare="ratio", alpha=0.05)
    # hand checks of the documented formulas
    zc = stats.norm.isf(0.025)
    se_u = math.sqrt(pt * (1 - pt) / nt + pc * (1 - pc) / nc)
    assert abs(wl - (pt - pc - zc * se_u)) < 1e-12 and abs(wu - (pt - pc + zc * se_u)) < 1e-12
    pp = (ct + cc) / (nt + nc)
    zh = (pt - pc) / math.sqrt(pp * (1 - pp) * (1 / nt + 1 / nc))
    assert abs(z - zh) < 1e-12 and abs(pz - 2 * stats.norm.sf(abs(zh))) < 1e-14
    sl = math.sqrt(1 / ct - 1 / nt + 1 / cc - 1 / nc)
    assert abs(rl - math.exp(math.log(pt / pc) - zc * sl)) < 1e-12
    conversion = {
        "uplift_abs": f(pt - pc),
        "wald_ci_95": [f(wl), f(wu)],
        "z": f(z),
        "p_value": f(pz),
        "uplift_rel": f(pt / pc - 1),
        "rel_ci_95": [f(rl - 1), f(ru - 1)],
    }

    tstat, pt_val = stats.ttest_ind(rev_t, rev_c, equal_var=False)
    diff = float(np.mean(rev_t) - np.mean(rev_c))
    vt = np.var(rev_t, ddof=1) / nt
    vc = np.var(rev_c, ddof=1) / nc
    se = math.sqrt(vt + vc)
    df = (vt + vc) ** 2 / (vt**2 / (nt - 1) + vc**2 / (nc - 1))
    assert abs(diff / se - tstat) <= 1e-12 * max(1.0, abs(tstat)), (diff / se, tstat)
    assert abs(2 * stats.t.sf(abs(tstat), df) - pt_val) <= 1e-12, (pt_val,)
    q = stats.t.ppf(0.975, df)
    revenue = {
        "diff": f(diff),
        "se": f(se),
        "t": f(tstat),
        "df": f(df),
        "p_value": f(pt_val),
        "t_crit_975": f(q),
        "ci_95": [f(diff - q * se), f(diff + q * se)],
    }
    return {"arms": arms, "conversion": conversion, "revenue": revenue}


def experiment():
    seg, arm, conv, rev = simulate()
    seg_a, arm_a = np.array(seg), np.array(arm)
    results = {}
    for s in SEGMENTS + ["overall"]:
        m = np.ones(len(seg), dtype=bool) if s == "overall" else seg_a == s
        t = m & (arm_a == "treatment")
        c = m & (arm_a == "control")
        results[s] = analyse(conv[t], rev[t], conv[c], rev[c])

    mt = {"segments": SEGMENTS, "alpha": 0.05}
    for metric in ("conversion", "revenue"):
        pv = [results[s][metric]["p_value"] for s in SEGMENTS]
        mt[metric] = {"p_values": pv}
        for method in ("holm", "fdr_bh"):
            reject, padj, _, _ = multipletests(pv, alpha=0.05, method=method)
            mt[metric][method] = {
                "p_adjusted": [f(v) for v in padj],
                "reject": [bool(v) for v in reject],
            }
    return {
        "seed": SEED,
        "cells": [
            {"segment": s, "arm": a, "n": n, "p_conversion": p, "lognormal_mu": mu, "lognormal_sigma": sg}
            for (s, a), (n, p, mu, sg) in CELLS.items()
        ],
        "rows": {
            "segment": seg,
            "arm": arm,
            "converted": [int(v) for v in conv],
            "revenue": [float(v) for v in rev],
        },
        "results": results,
        "multiple_testing": mt,
    }


SS_CASES = [
    # p1, d, alpha, power, ratio, alternative
    (0.10, 0.02, 0.05, 0.8, 1.0, "two-sided"),
    (0.10, 0.02, 0.05, 0.9, 1.0, "two-sided"),
    (0.03, 0.005, 0.05, 0.8, 1.0, "two-sided"),
    (0.5, 0.05, 0.01, 0.8, 2.0, "two-sided"),
    (0.2, -0.04, 0.05, 0.8, 1.0, "two-sided"),
    (0.10, 0.02, 0.05, 0.8, 1.0, "larger"),
    (0.10, 0.03, 0.05, 0.8, 0.5, "two-sided"),
]


def classic_n1(p1, d, alpha, power, r, alt):
    p2 = p1 + d
    pbar = (p1 + r * p2) / (1 + r)
    za = stats.norm.ppf(1 - alpha / 2) if alt == "two-sided" else stats.norm.ppf(1 - alpha)
    zb = stats.norm.ppf(power)
    num = za * math.sqrt((1 + 1 / r) * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / r)
    return num**2 / d**2


def sample_size():
    out = []
    for p1, d, alpha, power, r, alt in SS_CASES:
        p2 = p1 + d
        n_classic = classic_n1(p1, d, alpha, power, r, alt)
        n_sm = samplesize_proportions_2indep_onetail(
            diff=-d, prop2=p1 + d, power=power, ratio=r, alpha=alpha, alternative=alt
        )
        n_sm_swapped = samplesize_proportions_2indep_onetail(
            diff=d, prop2=p1, power=power, ratio=r, alpha=alpha, alternative=alt
        )
        rel = abs(n_sm - n_classic) / n_classic
        assert rel <= 1e-9, (p1, d, rel)
        h = proportion_effectsize(p2, p1)
        n_h = NormalIndPower().solve_power(
            effect_size=h, nobs1=None, alpha=alpha, power=power, ratio=r, alternative=alt
        )
        out.append(
            {
                "p1": p1,
                "d": d,
                "p2": f(p2),
                "alpha": alpha,
                "power": power,
                "ratio": r,
                "alternative": alt,
                "n1_classic": f(n_classic),
                "n1_statsmodels": f(n_sm),
                "statsmodels_rel_diff": f(rel),
                "statsmodels_swapped": f(n_sm_swapped),
                "cohens_h": f(h),
                "n1_normalindpower_h": f(n_h),
            }
        )
    return out


def main():
    doc = {
        "generator": "benches/peers/abtest_reference.py",
        "versions": {
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "statsmodels": statsmodels.__version__,
        },
        "quantiles": quantiles(),
        "experiment": experiment(),
        "sample_size": sample_size(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w") as fh:
        json.dump(doc, fh, allow_nan=False, indent=1)
        fh.write("\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
