#!/usr/bin/env python3
"""custseg's Python package vs lifetimes 0.11.3 (and pymc-marketing's MAP fit): same data, same run.

Usage (the peer venv, with pyarrow and the custseg wheel installed, see benches/peers/README.md):
    python python_compare.py [--customers N] [--repeat R] [--seed S]
                             [--skip-pymc] [--pymc-customers M] [--pymc-repeat K]
                             [--pymc-priors both|flat|default] [--pymc-python PATH]
    python python_compare.py --pymc --summaries CSV [--repeat K] [--pymc-priors ...]
                             (the pymc-marketing part alone, run in /work/pymc-venv)

Data: N customers (default 1,000,000), integer ids 1..N, drawn from the BG/NBD process at
r 2, alpha 4.5 (a week), a 0.8, b 8 (`TRUE`, see `synthesize`): first purchases on uniform days of
2021-01-01..2022-07-01 (the observation end, inclusive), ~9.5 rows per customer in all; amounts
Gamma(2, 20) rounded to cents; rows in date order. numpy, seeded with --seed. Drawing them and
building the pandas DataFrame (datetime64[ns] dates) and the pyarrow Table (date32 dates) is not
timed (`data_seconds`).

Steps, each timed best of --repeat (default 2) per engine, with the ratio lifetimes / custseg:
  1. summaries: lifetimes `summary_data_from_transaction_data(df, 'customer_id', 'date',
     monetary_value_col='amount', observation_period_end=..., freq='D', freq_multiplier=7)` on the
     pandas DataFrame vs `custseg.summarise(table, ..., unit='weeks')` on the pyarrow Table (the
     ratio); custseg on the pandas DataFrame (pandas -> Arrow conversion included) is reported too.
     Check: same customers, frequency equal, recency, T, monetary within 1e-9.
  2. fit: `BetaGeoFitter().fit(f, r, T)` vs `custseg.BgNbd.fit(f, r, T)` on the same numpy columns
     (lifetimes' summaries); both parameter sets, and the full log-likelihood of each set computed
     by both libraries (lifetimes' `_negative_log_likelihood` x n, on unscaled times, and
     `BgNbd.log_likelihood`). `BgNbd.fit(Summaries)` is timed too.
  3. score at the published CDNOW parameters (BG/NBD r 0.2426, alpha 4.4135, a 0.7929, b 2.4258;
     Gamma-Gamma p 6.2488, q 3.7446, v 15.4477): lifetimes `conditional_probability_alive(f, r, T)`
     + `GammaGammaFitter.customer_lifetime_value(bgf, f, r, T, m, time=12, discount_rate=0.01,
     freq='W')` (pandas Series, as a lifetimes user passes them) vs custseg `BgNbd.p_alive(f, r, T)`
     + `custseg.clv(bg, gg, f, r, T, m, months=12, discount_rate=0.01, unit='weeks')` (the numpy
     arrays behind those Series); each part and their sum ("total", the ratio). Check: P(alive) and
     CLV within rel 1e-6 (+ abs 1e-12). custseg on `Summaries` is timed too.
  4. pymc-marketing (unless --skip-pymc): the first M summaries (--pymc-customers, default all N;
     ids are unrelated to behaviour, so this is a random subset) are written to a CSV and this
     script is rerun with --pymc under --pymc-python (default /work/pymc-venv/bin/python, see
     requirements-pymc.txt). It times `BetaGeoModel(model_config=...)` `.build_model(data)` and
     `.fit(method='map')` (pm.find_MAP, L-BFGS-B) separately, best of --pymc-repeat (default
     --repeat), for `flat` priors (HalfFlat r, alpha, a, b: the MAP is the maximum-likelihood fit,
     comparable with ours) and/or the model's `default` priors (what a pymc-marketing user gets).
     The first run includes pytensor's C compilation unless ~/.pytensor caches it. custseg's fit on
     the same M customers is timed here for the ratio pymc / custseg and the parameters compared.

Prints one JSON line on stdout (sizes, versions, times, ratios, checks, peak RSS); progress goes to
stderr. peak_rss_mb of a step is the process's VmHWM over that step (reset through
/proc/self/clear_refs before it; it includes what the process already held, `rss_before_mb`).
"""
import argparse
import contextlib
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings

BGNBD = dict(r=0.2426, alpha=4.4135, a=0.7929, b=2.4258)
GG = dict(p=6.2488, q=3.7446, v=15.4477)
START = "2021-01-01"
DAYS = 547              # 2021-01-01 .. 2022-07-01 inclusive
TRUE = dict(r=2.0, alpha=4.5, a=0.8, b=8.0)   # the BG/NBD the transactions are drawn from
SUMMARY_TOL = 1e-9
SCORE_RTOL, SCORE_ATOL = 1e-6, 1e-12


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _status_mb(key):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _reset_hwm():
    """Resets VmHWM (Linux >= 4.0); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def timed(fn, repeat, label):
    """Best of `repeat` runs of fn(); returns (last output, {seconds_best, seconds_all, peak})."""
    times, out, peak = [], None, None
    rss_before = _status_mb("VmRSS")
    for i in range(max(1, repeat)):
        out = None
        gc.collect()
        can_reset = _reset_hwm()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        hwm = _status_mb("VmHWM") if can_reset else None
        if hwm is not None:
            peak = hwm if peak is None else max(peak, hwm)
        log(f"{label} run {i + 1}: {times[-1]:.3f} s")
    return out, {"seconds_best": min(times), "seconds_all": times, "peak_rss_mb": peak,
                 "rss_before_mb": rss_before}


def rel_diff(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# ---------------------------------------------------------------------------------------------
# pymc-marketing part (runs in the pymc venv: imports nothing of the peer venv)

def pymc_main(args):
    import numpy as np
    import pandas as pd
    import scipy
    import pymc
    import pytensor
    import pymc_marketing
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel

    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    df = pd.read_csv(args.summaries, float_precision="round_trip",
                     dtype={"frequency": np.int64, "recency": np.float64, "T": np.float64})
    expect = ["customer_id", "frequency", "recency", "T"]
    if list(df.columns[:4]) != expect:
        sys.exit(f"expected header {','.join(expect)}, got {list(df.columns)}")
    parse_s = time.perf_counter() - t0
    log(f"pymc: parse {parse_s:.3f} s ({len(df)} customers)")

    configs = {
        "flat": {k: Prior("HalfFlat") for k in ("r", "alpha", "a", "b")},
        "default": None,
    }
    which = ["flat", "default"] if args.pymc_priors == "both" else [args.pymc_priors]
    res = {"peer": "pymc-marketing BetaGeoModel.fit(method='map')", "customers": int(len(df)),
           "parse_seconds": parse_s}
    for name in which:
        builds, maps, totals, params = [], [], [], None
        for i in range(max(1, args.repeat)):
            gc.collect()
            with contextlib.redirect_stdout(sys.stderr):
                t1 = time.perf_counter()
                model = BetaGeoModel(model_config=configs[name])
                model.build_model(df)
                t2 = time.perf_counter()
                model.fit(method="map", progressbar=False)
                t3 = time.perf_counter()
            builds.append(t2 - t1)
            maps.append(t3 - t2)
            totals.append(t3 - t1)
            post = model.idata.posterior
            params = {}
            for k in ("r", "alpha", "a", "b"):
                if k in post:
                    params[k] = float(np.asarray(post[k]).ravel()[0])
            if "a" not in params and "phi_dropout" in post:   # default priors: a, b deterministic
                phi = float(np.asarray(post["phi_dropout"]).ravel()[0])
                kappa = float(np.asarray(post["kappa_dropout"]).ravel()[0])
                params["a"], params["b"] = phi * kappa, (1.0 - phi) * kappa
            log(f"pymc {name} priors run {i + 1}: build {builds[-1]:.3f} s, find_MAP {maps[-1]:.3f} s,"
                f" total {totals[-1]:.3f} s; {params}")
            del model
        res[name] = {"seconds_best": min(totals), "seconds_all": totals,
                     "build_seconds_all": builds, "map_seconds_all": maps, "params": params}
    res["peak_rss_mb"] = peak_rss_mb()
    res["versions"] = {"python": platform.python_version(), "pymc_marketing": pymc_marketing.__version__,
                       "pymc": pymc.__version__, "pytensor": pytensor.__version__,
                       "numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__}
    print(json.dumps(res), flush=True)


# ---------------------------------------------------------------------------------------------
# lifetimes vs custseg (the peer venv)

def synthesize(n, seed):
    """Transactions of n customers drawn from the BG/NBD process at TRUE (seeded numpy).

    Customer i's first purchase is on a uniform day of the DAYS; from there to the observation
    end (T_i weeks) repeat purchases arrive at rate lambda_i ~ Gamma(r, 1/alpha) a week, and after
    each one the customer drops out with probability p_i ~ Beta(a, b): x_i = min(Poisson(lambda_i
    T_i) arrivals, Geometric(p_i)) repeat purchases, at the first x_i of the arrivals' uniform
    order statistics on (0, T_i] (exponential spacings S_k / S_{arrivals+1}), each on the day it
    falls in. Amounts Gamma(2, 20) rounded to cents. Rows in date order.
    """
    import numpy as np
    rng = np.random.default_rng(seed)
    first = rng.integers(0, DAYS, n)
    T = (DAYS - 1 - first) / 7.0
    lam = rng.gamma(TRUE["r"], 1.0 / TRUE["alpha"], n)
    p = rng.beta(TRUE["a"], TRUE["b"], n)
    arrivals = rng.poisson(lam * T)
    x = np.minimum(arrivals, rng.geometric(p))
    owner = np.repeat(np.arange(n), x)
    cs = np.cumsum(rng.exponential(1.0, len(owner)))
    ends = np.cumsum(x)
    s_k = cs - np.repeat(np.concatenate(([0.0], cs))[ends - x], x)   # spacings summed per customer
    s_x = np.zeros(n)
    s_x[x > 0] = s_k[ends[x > 0] - 1]
    s_total = s_x + rng.gamma(arrivals - x + 1.0, 1.0)               # S_{arrivals+1}
    t = s_k * np.repeat(T / s_total, x)                               # weeks after the first purchase
    cust = np.concatenate((np.arange(1, n + 1, dtype=np.int64), owner + 1))
    day = np.minimum(np.concatenate((first, first[owner] + np.floor(t * 7.0).astype(np.int64))), DAYS - 1)
    amount = np.round(rng.gamma(2.0, 20.0, len(cust)), 2)
    order = np.argsort(day, kind="stable")
    return cust[order], day[order], amount[order]


def check_summaries(summ, s):
    """lifetimes' summary DataFrame (indexed by customer_id) vs custseg's Summaries."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    ids = pc.cast(s.customer_id, pa.int64()).to_numpy()
    o = np.argsort(ids, kind="stable")
    lt = summ.sort_index()
    same_ids = bool(len(ids) == len(lt) and np.array_equal(ids[o], lt.index.to_numpy(np.int64)))
    out = {"customers_lifetimes": int(len(lt)), "customers_custseg": int(len(ids)), "same_ids": same_ids}
    if not same_ids:
        out["ok"] = False
        return out
    freq_c = s.frequency.to_numpy()[o].astype(np.int64)
    out["frequency_mismatches"] = int((freq_c != lt["frequency"].to_numpy().astype(np.int64)).sum())
    for name, col, lcol in (("recency", s.recency, "recency"), ("T", s.T, "T"),
                            ("monetary", s.monetary, "monetary_value")):
        d = np.abs(col.to_numpy()[o] - lt[lcol].to_numpy(np.float64))
        out[f"{name}_max_abs_diff"] = float(d.max()) if len(d) else 0.0
    out["tolerance"] = SUMMARY_TOL
    out["ok"] = bool(out["frequency_mismatches"] == 0 and all(
        out[f"{c}_max_abs_diff"] <= SUMMARY_TOL for c in ("recency", "T", "monetary")))
    return out


def check_scores(a, b):
    import numpy as np
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = np.abs(a - b)
    scale = np.maximum(np.abs(a), np.abs(b))
    bad = d > SCORE_RTOL * scale + SCORE_ATOL
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, d / np.where(scale > 0, scale, 1.0), 0.0)
    return {"max_rel_diff": float(rel.max()) if len(rel) else 0.0,
            "max_abs_diff": float(d.max()) if len(d) else 0.0,
            "violations": int(bad.sum()), "nonfinite": int((~np.isfinite(a) | ~np.isfinite(b)).sum()),
            "ok": bool(not bad.any() and np.isfinite(a).all() and np.isfinite(b).all())}


def bgnbd_loglik_lifetimes(params, f, r, T):
    """Full BG/NBD log-likelihood with lifetimes' own formula, on unscaled times."""
    import numpy as np
    from lifetimes import BetaGeoFitter
    lp = np.log([params["r"], params["alpha"], params["a"], params["b"]])
    return float(-BetaGeoFitter._negative_log_likelihood(lp, f, r, T, np.ones(len(f)), 0.0) * len(f))


def param_diffs(ours, theirs):
    return {k: rel_diff(ours[k], theirs[k]) for k in ("r", "alpha", "a", "b") if k in theirs}


def run_pymc(args, summ, n_customers, tmpdir):
    """Writes the summaries, fits ours on them, runs the --pymc mode in the pymc venv."""
    import numpy as np
    import custseg
    n_p = min(args.pymc_customers or n_customers, n_customers)
    sub = summ.iloc[:n_p]
    path = os.path.join(tmpdir, f"summaries_{n_p}.csv")
    t0 = time.perf_counter()
    out = sub[["frequency", "recency", "T"]].reset_index()
    out["frequency"] = out["frequency"].astype(np.int64)
    out.to_csv(path, index=False)
    log(f"pymc: wrote {n_p} summaries to {path} in {time.perf_counter() - t0:.3f} s")
    f, r, T = (sub[c].to_numpy(np.float64) for c in ("frequency", "recency", "T"))
    ours, t_ours = timed(lambda: custseg.BgNbd.fit(f, r, T), args.repeat, f"custseg BgNbd.fit ({n_p})")
    res = {"customers": int(n_p), "custseg": dict(t_ours, params=ours.params,
                                                   log_likelihood=ours.report["log_likelihood"])}
    cmd = [args.pymc_python, os.path.abspath(__file__), "--pymc", "--summaries", path,
           "--repeat", str(args.pymc_repeat or args.repeat), "--pymc-priors", args.pymc_priors]
    log("pymc: " + " ".join(cmd))
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=args.pymc_timeout)
    except subprocess.TimeoutExpired:
        res["error"] = f"timed out after {args.pymc_timeout} s"
        return res
    except OSError as e:
        res["error"] = f"could not start {args.pymc_python}: {e}"
        return res
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        res["error"] = f"exit status {p.returncode}"
        return res
    peer = json.loads(lines[-1])
    res["pymc"] = peer
    for name in ("flat", "default"):
        if name in peer:
            pp = peer[name]["params"]
            res[f"{name}_param_rel_diff"] = param_diffs(ours.params, pp)
            res[f"{name}_ratio_pymc_over_custseg"] = peer[name]["seconds_best"] / t_ours["seconds_best"]
            if all(k in pp for k in ("r", "alpha", "a", "b")):
                res[f"{name}_log_likelihood_custseg_formula"] = custseg.BgNbd(**pp).log_likelihood(f, r, T)
    return res


def compare_main(args):
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import scipy
    import lifetimes
    import custseg
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    warnings.simplefilter("ignore")
    n = args.customers
    t0 = time.perf_counter()
    cust, day, amount = synthesize(n, args.seed)
    dates = np.datetime64(START, "D") + day
    table = pa.table({"customer_id": cust, "date": pa.array(dates.astype("datetime64[D]")),
                      "amount": amount})
    df = pd.DataFrame({"customer_id": cust, "date": dates.astype("datetime64[ns]"), "amount": amount})
    del cust, day, amount, dates
    obs_end = np.datetime64(START, "D") + (DAYS - 1)
    obs_end_s = str(obs_end)
    data_s = time.perf_counter() - t0
    log(f"data: {len(df)} rows, {n} customers, dates {START}..{obs_end_s}, built in {data_s:.3f} s")
    res = {"benchmark": "python_compare", "customers": n, "rows": int(len(df)), "seed": args.seed,
           "true_params": TRUE,
           "repeat": args.repeat, "observation_end": obs_end_s, "data_seconds": data_s,
           "cpus": os.cpu_count()}

    # 1. summaries ------------------------------------------------------------------------------
    obs_ts = pd.Timestamp(obs_end_s)
    summ, t_lt = timed(lambda: summary_data_from_transaction_data(
        df, "customer_id", "date", monetary_value_col="amount", observation_period_end=obs_ts,
        freq="D", freq_multiplier=7), args.repeat, "lifetimes summary_data_from_transaction_data")
    s, t_cs = timed(lambda: custseg.summarise(table, obs_end_s, unit="weeks"), args.repeat,
                    "custseg summarise (pyarrow Table)")
    s_pd, t_cs_pd = timed(lambda: custseg.summarise(df, obs_end_s, unit="weeks"), args.repeat,
                          "custseg summarise (pandas DataFrame)")
    chk = check_summaries(summ, s)
    chk_pd = check_summaries(summ, s_pd)
    log(f"summaries check: {chk}")
    del s_pd
    res["summaries"] = {"lifetimes": t_lt, "custseg_arrow": t_cs, "custseg_pandas": t_cs_pd,
                        "ratio_lifetimes_over_custseg": t_lt["seconds_best"] / t_cs["seconds_best"],
                        "ratio_lifetimes_over_custseg_pandas": t_lt["seconds_best"] / t_cs_pd["seconds_best"],
                        "check": chk, "check_pandas_input": chk_pd}
    del df, table
    gc.collect()

    # 2. fit --------------------------------------------------------------------------------------
    f, r, T, m = (summ[c].to_numpy(np.float64) for c in ("frequency", "recency", "T", "monetary_value"))
    bgf, t_lt = timed(lambda: BetaGeoFitter().fit(f, r, T), args.repeat, "lifetimes BetaGeoFitter.fit")
    bg, t_cs = timed(lambda: custseg.BgNbd.fit(f, r, T), args.repeat, "custseg BgNbd.fit (numpy)")
    _, t_cs_s = timed(lambda: custseg.BgNbd.fit(s), args.repeat, "custseg BgNbd.fit (Summaries)")
    p_lt = {k: float(v) for k, v in bgf.params_.items()}
    p_cs = bg.params
    rep = bg.report
    ll = {
        "lifetimes_params": {"lifetimes_formula": bgnbd_loglik_lifetimes(p_lt, f, r, T),
                             "custseg_formula": custseg.BgNbd(**p_lt).log_likelihood(f, r, T)},
        "custseg_params": {"lifetimes_formula": bgnbd_loglik_lifetimes(p_cs, f, r, T),
                           "custseg_formula": bg.log_likelihood(f, r, T)},
    }
    res["fit"] = {
        "lifetimes": dict(t_lt, params=p_lt),
        "custseg": dict(t_cs, params=p_cs, log_likelihood=rep["log_likelihood"],
                        iterations=rep.get("iterations"), gradient_norm=rep.get("gradient_norm"),
                        diagnosis=rep.get("convergence", {}).get("diagnosis")),
        "custseg_summaries": t_cs_s,
        "ratio_lifetimes_over_custseg": t_lt["seconds_best"] / t_cs["seconds_best"],
        "log_likelihood": ll,
        "check": {"param_rel_diff": param_diffs(p_cs, p_lt),
                  "log_likelihood_custseg_minus_lifetimes":
                      ll["custseg_params"]["custseg_formula"] - ll["lifetimes_params"]["custseg_formula"]},
    }
    log(f"fit: lifetimes {p_lt}, custseg {p_cs}, log-likelihoods {ll}")

    # 3. P(alive) + 12-month CLV at fixed parameters ----------------------------------------------
    fS, rS, TS, mS = (summ[c] for c in ("frequency", "recency", "T", "monetary_value"))
    lbg = BetaGeoFitter()
    lbg.params_ = pd.Series(BGNBD)[["r", "alpha", "a", "b"]]
    lbg.predict = lbg.conditional_expected_number_of_purchases_up_to_time  # set by fit() normally
    lgg = GammaGammaFitter()
    lgg.params_ = pd.Series(GG)[["p", "q", "v"]]
    cbg = custseg.BgNbd(**BGNBD)
    cgg = custseg.GammaGamma(GG["p"], GG["q"], GG["v"])
    engines = {
        "lifetimes": {
            "p_alive": lambda: lbg.conditional_probability_alive(fS, rS, TS),
            "clv_12_months": lambda: lgg.customer_lifetime_value(lbg, fS, rS, TS, mS, time=12,
                                                                 discount_rate=0.01, freq="W"),
        },
        "custseg": {
            "p_alive": lambda: cbg.p_alive(f, r, T),
            "clv_12_months": lambda: custseg.clv(cbg, cgg, f, r, T, m, months=12, discount_rate=0.01,
                                                 unit="weeks"),
        },
        "custseg_summaries": {
            "p_alive": lambda: cbg.p_alive(s),
            "clv_12_months": lambda: custseg.clv(cbg, cgg, s, months=12, discount_rate=0.01),
        },
    }
    score = {}
    outs = {}
    for eng, parts in engines.items():
        per = {k: [] for k in parts}
        totals = []
        gc.collect()
        for i in range(max(1, args.repeat)):
            tot = 0.0
            for k, fn in parts.items():
                outs[(eng, k)] = None
                t1 = time.perf_counter()
                outs[(eng, k)] = fn()
                dt = time.perf_counter() - t1
                per[k].append(dt)
                tot += dt
            totals.append(tot)
            log(f"{eng} score run {i + 1}: " + ", ".join(f"{k} {per[k][-1]:.3f} s" for k in parts)
                + f", total {tot:.3f} s")
        score[eng] = {k: {"seconds_best": min(v), "seconds_all": v} for k, v in per.items()}
        score[eng]["total"] = {"seconds_best": min(totals), "seconds_all": totals}
    lt_p = np.asarray(outs[("lifetimes", "p_alive")], np.float64)
    lt_clv = np.asarray(outs[("lifetimes", "clv_12_months")], np.float64)
    cs_p = outs[("custseg", "p_alive")].to_numpy()
    cs_tab = outs[("custseg", "clv_12_months")]
    cs_clv = cs_tab.column("clv").to_numpy()
    ss_clv = outs[("custseg_summaries", "clv_12_months")].column("clv").to_numpy()
    score["ratio_lifetimes_over_custseg"] = (score["lifetimes"]["total"]["seconds_best"]
                                             / score["custseg"]["total"]["seconds_best"])
    score["check"] = {
        "p_alive": check_scores(lt_p, cs_p),
        "clv_12_months": check_scores(lt_clv, cs_clv),
        "clv_table_p_alive_vs_p_alive": check_scores(cs_tab.column("p_alive").to_numpy(), cs_p),
        "clv_sum_summaries_vs_columns_rel_diff": rel_diff(float(ss_clv.sum()), float(cs_clv.sum())),
        "tolerance": {"rtol": SCORE_RTOL, "atol": SCORE_ATOL},
        "sum_p_alive": float(cs_p.sum()), "sum_clv": float(cs_clv.sum()),
    }
    score["params"] = {"bgnbd": BGNBD, "gg": GG}
    res["score"] = score
    log(f"score check: {score['check']}")
    del outs, cs_tab

    # 4. pymc-marketing ----------------------------------------------------------------------------
    if args.skip_pymc:
        res["pymc"] = "skipped"
    else:
        with tempfile.TemporaryDirectory(prefix="custseg_pymc_") as tmpdir:
            res["pymc"] = run_pymc(args, summ, n, tmpdir)

    res["checks_ok"] = bool(res["summaries"]["check"]["ok"] and res["summaries"]["check_pandas_input"]["ok"]
                            and score["check"]["p_alive"]["ok"] and score["check"]["clv_12_months"]["ok"])
    res["peak_rss_mb"] = peak_rss_mb()
    res["versions"] = {"python": platform.python_version(), "custseg": custseg.__version__,
                       "lifetimes": lifetimes.__version__, "pandas": pd.__version__,
                       "numpy": np.__version__, "scipy": scipy.__version__, "pyarrow": pa.__version__}
    line = json.dumps(res)
    log("ratios lifetimes/custseg: summaries {:.1f}x, fit {:.1f}x, p_alive+clv {:.1f}x".format(
        res["summaries"]["ratio_lifetimes_over_custseg"], res["fit"]["ratio_lifetimes_over_custseg"],
        res["score"]["ratio_lifetimes_over_custseg"]) + f"; checks_ok {res['checks_ok']}")
    pm = res["pymc"]
    if isinstance(pm, dict):
        for name in ("flat", "default"):
            if f"{name}_ratio_pymc_over_custseg" in pm:
                log(f"pymc-marketing MAP ({name} priors, {pm['customers']} customers): "
                    f"{pm['pymc'][name]['seconds_best']:.3f} s, pymc/custseg "
                    f"{pm[f'{name}_ratio_pymc_over_custseg']:.1f}x, param rel diff "
                    f"{max(pm[f'{name}_param_rel_diff'].values()):.2e}")
        if "error" in pm:
            log(f"pymc-marketing: {pm['error']}")
    print(line, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-pymc", action="store_true")
    ap.add_argument("--pymc-customers", type=int, default=0,
                    help="customers for the pymc-marketing fit (default: all)")
    ap.add_argument("--pymc-repeat", type=int, default=0, help="default: --repeat")
    ap.add_argument("--pymc-priors", choices=["both", "flat", "default"], default="both")
    ap.add_argument("--pymc-python", default="/work/pymc-venv/bin/python")
    ap.add_argument("--pymc-timeout", type=float, default=3600.0)
    ap.add_argument("--pymc", action="store_true", help="run the pymc-marketing part only (pymc venv)")
    ap.add_argument("--summaries", help="with --pymc: CSV customer_id,frequency,recency,T")
    args = ap.parse_args()
    if args.pymc:
        if not args.summaries:
            ap.error("--pymc needs --summaries")
        pymc_main(args)
    else:
        compare_main(args)


if __name__ == "__main__":
    main()
