#!/usr/bin/env python3
"""Speed peer: lifetimes 0.11.3 BG/NBD and Pareto/NBD fitting, and BG/NBD + Gamma-Gamma scoring.

Usage:
    python clv_lifetimes.py --summaries CSV --mode fit   [--repeat N] [--pnbd-repeat M] [--skip-pnbd]
    python clv_lifetimes.py --summaries CSV --mode score [--repeat N] [--skip-clv]
    python clv_lifetimes.py --synthesize N --out CSV [--seed S]     (throwaway input, see below)

Input CSV header: `customer_id,frequency,recency,T,monetary_value` (times in weeks; monetary_value
is the mean repeat spend, 0 when frequency = 0). Parsing is NOT timed (reported as parse_seconds).

--mode fit:   times BetaGeoFitter().fit(frequency, recency, T) (best of --repeat, default 3) and
              ParetoNBDFitter().fit(frequency, recency, T) (best of --pnbd-repeat, default 1: it is a
              Nelder-Mead fit from a random start, seeded with --seed), separately; reports the
              fitted parameters and each run's time.
--mode score: at fixed parameters (the published CDNOW BG/NBD r 0.2426, alpha 4.4135, a 0.7929,
              b 2.4258 and Gamma-Gamma p 6.2488, q 3.7446, v 15.4477) times, best of --repeat:
                (i)   bgf.conditional_probability_alive(frequency, recency, T)
                (ii)  bgf.conditional_expected_number_of_purchases_up_to_time(39, frequency, recency, T)
                (iii) ggf.customer_lifetime_value(bgf, frequency, recency, T, monetary_value,
                                                   time=12, discount_rate=0.01, freq='W')
              separately, and their sum per run ("total"). Inputs are pandas Series (the columns
              of the parsed DataFrame), as a lifetimes user would pass them.
Prints one JSON line on stdout (with peak RSS); progress goes to stderr.

--synthesize N draws N customers from the BG/NBD model at the CDNOW parameters (T uniform on
[1, 78] weeks; x = min(Poisson(lambda T) arrivals, Geometric(p) repeat purchases before dropout),
t_x the x-th arrival time; monetary_value from Gamma-Gamma at the CDNOW p, q, v) and writes the CSV.
"""
import argparse
import json
import platform
import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd
import scipy
import lifetimes
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

BGNBD = dict(r=0.2426, alpha=4.4135, a=0.7929, b=2.4258)
GG = dict(p=6.2488, q=3.7446, v=15.4477)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def synthesize(n, path, seed):
    rng = np.random.default_rng(seed)
    T = rng.uniform(1.0, 78.0, n)
    lam = rng.gamma(BGNBD["r"], 1.0 / BGNBD["alpha"], n)
    p = rng.beta(BGNBD["a"], BGNBD["b"], n)
    arrivals = rng.poisson(lam * T)                 # purchases a never-dying customer makes in (0, T]
    repeats_before_death = rng.geometric(p)         # BG/NBD: dies after the j-th repeat w.p. p, j >= 1
    x = np.minimum(arrivals, repeats_before_death)
    # given n arrivals in (0, T], the x-th arrival time is T * Beta(x, n - x + 1)
    t_x = np.zeros(n)
    k = x > 0
    t_x[k] = T[k] * rng.beta(x[k], arrivals[k] - x[k] + 1)
    nu = rng.gamma(GG["q"], 1.0 / GG["v"], n)
    m = np.zeros(n)
    m[k] = rng.gamma(GG["p"] * x[k], 1.0 / (nu[k] * x[k]))  # mean of x Gamma(p, nu) amounts
    pd.DataFrame({"customer_id": np.arange(1, n + 1), "frequency": x, "recency": np.round(t_x, 6),
                  "T": np.round(T, 6), "monetary_value": np.round(m, 2)}).to_csv(path, index=False)
    log(f"wrote {n} customers to {path}: mean x {x.mean():.4f}, share x=0 {(x == 0).mean():.4f}")


def timed(fn, repeat, label):
    times, out = [], None
    for i in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        log(f"{label} run {i + 1}: {times[-1]:.3f} s")
    return out, times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--summaries")
    ap.add_argument("--mode", choices=["fit", "score"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pnbd-repeat", type=int, default=1)
    ap.add_argument("--skip-pnbd", action="store_true")
    ap.add_argument("--skip-clv", action="store_true",
                    help="score mode: time P(alive) and E[purchases in 39 weeks] only (the CLV "
                         "takes ~2 minutes a run on 10M customers)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--synthesize", type=int, metavar="N")
    ap.add_argument("--out")
    args = ap.parse_args()

    if args.synthesize:
        if not args.out:
            ap.error("--synthesize needs --out")
        synthesize(args.synthesize, args.out, args.seed)
        return
    if not (args.summaries and args.mode):
        ap.error("--summaries and --mode are required")

    t0 = time.perf_counter()
    df = pd.read_csv(args.summaries, dtype={"frequency": np.int64, "recency": np.float64,
                                            "T": np.float64, "monetary_value": np.float64})
    expect = ["customer_id", "frequency", "recency", "T", "monetary_value"]
    if list(df.columns[:5]) != expect:
        sys.exit(f"expected header {','.join(expect)}, got {list(df.columns)}")
    df = df.set_index("customer_id")
    f, r, T, m = df["frequency"], df["recency"], df["T"], df["monetary_value"]
    parse_s = time.perf_counter() - t0
    n = len(df)
    log(f"parse: {parse_s:.3f} s ({n} customers)")

    res = {"peer": f"lifetimes {args.mode}", "mode": args.mode, "customers": int(n),
           "parse_seconds": parse_s}
    warnings.simplefilter("ignore")

    if args.mode == "fit":
        bgf, t_bg = timed(lambda: BetaGeoFitter().fit(f, r, T), args.repeat, "BetaGeoFitter.fit")
        res["bgnbd"] = {"seconds_best": min(t_bg), "seconds_all": t_bg,
                        "params": {k: float(v) for k, v in bgf.params_.items()},
                        "lifetimes_negative_log_likelihood_": float(bgf._negative_log_likelihood_)}
        if not args.skip_pnbd:
            np.random.seed(args.seed)
            pnf, t_pn = timed(lambda: ParetoNBDFitter().fit(f, r, T), args.pnbd_repeat,
                              "ParetoNBDFitter.fit")
            res["pnbd"] = {"seconds_best": min(t_pn), "seconds_all": t_pn,
                           "params": {k: float(v) for k, v in pnf.params_.items()},
                           "lifetimes_negative_log_likelihood_": float(pnf._negative_log_likelihood_)}
    else:
        bgf = BetaGeoFitter()
        bgf.params_ = pd.Series(BGNBD)[["r", "alpha", "a", "b"]]
        bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # set by fit() normally
        ggf = GammaGammaFitter()
        ggf.params_ = pd.Series(GG)[["p", "q", "v"]]
        parts = {
            "p_alive": lambda: bgf.conditional_probability_alive(f, r, T),
            "expected_39": lambda: bgf.conditional_expected_number_of_purchases_up_to_time(39, f, r, T),
            "clv_12_months": lambda: ggf.customer_lifetime_value(bgf, f, r, T, m, time=12,
                                                                 discount_rate=0.01, freq="W"),
        }
        if args.skip_clv:
            del parts["clv_12_months"]
        per = {k: [] for k in parts}
        totals = []
        checks = {}
        for i in range(max(1, args.repeat)):
            tot = 0.0
            for k, fn in parts.items():
                t1 = time.perf_counter()
                out = fn()
                dt = time.perf_counter() - t1
                per[k].append(dt)
                tot += dt
                checks[k] = float(np.asarray(out, float).sum())
            totals.append(tot)
            log(f"score run {i + 1}: " + ", ".join(f"{k} {per[k][-1]:.3f} s" for k in parts)
                + f", total {tot:.3f} s")
        for k in parts:
            res[k] = {"seconds_best": min(per[k]), "seconds_all": per[k], "sum_of_outputs": checks[k]}
        if not args.skip_clv:
            res["total"] = {"seconds_best": min(totals), "seconds_all": totals}
        res["params"] = {"bgnbd": BGNBD, "gg": GG}

    res["peak_rss_mb"] = peak_rss_mb()
    res["versions"] = {"python": platform.python_version(), "lifetimes": lifetimes.__version__,
                       "pandas": pd.__version__, "numpy": np.__version__, "scipy": scipy.__version__}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
