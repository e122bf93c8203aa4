#!/usr/bin/env python3
"""Model-diagnostics reference numbers from lifetimes 0.11.3 (plus mpmath/scipy references).

Usage (from the repository root; ~1 minute on 2 cores):
    /work/peer-venv/bin/python benches/peers/diagnostics_reference.py
        [--transactions src/datasets/cdnow_sample_transactions.txt]
        [--fits tests/data/clv_lifetimes_fits.json]
        [--out tests/data/diagnostics_lifetimes.json] [--seed 0] [--mc-n 200000]

Every model is evaluated at lifetimes' OWN MLE on CDNOW, read from `--fits`
(fits[model]["lifetimes_fit"]["params"] for model in bgnbd, mbgnbd, pnbd; written by
clv_reference.py) and set directly as `params_` on fresh fitters, as lifetimes' fit() does
(pd.Series in the order r, alpha, a, b / r, alpha, s, beta; alpha NOT rescaled).

Sections of the JSON (every convention is repeated in its `meta` block):
  cumulative          lifetimes.utils.expected_cumulative_transactions(model, tx, 'date',
                      'customer_id', t=546, freq='D', freq_multiplier=7, set_index_date=False)
                      (t is in `freq` units: 546 days = 78 weekly rows), actual and predicted.
  calibration_holdout lifetimes.utils.calibration_and_holdout_data(tx, 'customer_id', 'date',
                      calibration_period_end='1997-09-30', observation_period_end='1998-06-30',
                      freq='D', freq_multiplier=7); per-customer conditional expectations over the
                      holdout; the table plot_calibration_purchases_vs_holdout_purchases(model,
                      summary, n=7) draws; totals, RMSE, MAE.
  p_alive_matrix      BetaGeoFitter.conditional_probability_alive_matrix() with its defaults, as
                      plot_probability_alive_matrix calls it.
  pmf                 sum over customers of P(X(T_i) = n), n = 0..6 and the pooled rest, vs the
                      observed calibration counts.
  conditional_pmf     P(X(T, T+39] = n | x, t_x, T), n = 0..6, five histories: lifetimes
                      (Pareto/NBD) and mpmath posterior integrals (all three models).
  dert                discounted expected residual transactions, continuous discounting.
  p_alive_future      P(alive at T + t | x, t_x, T).

A Monte-Carlo sanity check of p_alive_future (BG/NBD, x = 0) is printed, not written.
Floats are written with repr() (shortest round-trip); mpmath results are rounded to float.
"""
import argparse
import json
import math
import os
import platform
import sys
import time
import warnings

import mpmath as mp
import numpy as np
import pandas as pd
import scipy
from scipy import integrate, special

import lifetimes
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import (calibration_and_holdout_data, expected_cumulative_transactions,
                             summary_data_from_transaction_data)

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
CAL_END = "1997-09-30"
OBS_END = "1998-06-30"
FREQ = "D"
FREQ_MULTIPLIER = 7
CUM_WEEKS = 78
CUM_T = CUM_WEEKS * FREQ_MULTIPLIER  # expected_cumulative_transactions' t is in `freq` units
PLOT_N = 7
HOLDOUT_T = 39.0
HISTORIES = [(2, 30.43, 38.86), (0, 0.0, 38.86), (2, 10.0, 38.86), (10, 38.0, 38.86), (1, 1.0, 38.86)]
PMF_N = list(range(7))
FUTURE_T = [0.0, 13.0, 39.0, 104.0]
DELTAS = [("ln(1.15)/52", math.log(1.15) / 52.0), ("0.01", 0.01)]
ORDER = {"bgnbd": ["r", "alpha", "a", "b"], "mbgnbd": ["r", "alpha", "a", "b"],
         "pnbd": ["r", "alpha", "s", "beta"]}
CLASSES = {"bgnbd": BetaGeoFitter, "mbgnbd": ModifiedBetaGeoFitter, "pnbd": ParetoNBDFitter}
MODELS = ["bgnbd", "mbgnbd", "pnbd"]
DPS = 30


def log(msg):
    print(msg, flush=True)


def flist(a):
    out = [float(v) for v in np.asarray(a, float).ravel()]
    assert all(math.isfinite(v) for v in out)
    return out


def relerr(a, b):
    a, b = float(a), float(b)
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


# ----------------------------------------------------------------------------- data, fitters

def read_transactions(path):
    tx = pd.read_csv(path, sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "n_cds", "dollar_value"],
                     dtype={"master_id": np.int64, "customer_id": np.int64, "date": str,
                            "n_cds": np.int64, "dollar_value": np.float64})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


def load_params(path):
    fits = json.load(open(path))
    params = {}
    for m in MODELS:
        p = fits[m]["lifetimes_fit"]["params"]
        params[m] = {k: float(p[k]) for k in ORDER[m]}
        log(f"params {m}: fits['{m}']['lifetimes_fit']['params'] = {params[m]}")
    return params


def make_fitter(key, params, data):
    m = CLASSES[key]()
    m.params_ = pd.Series([params[k] for k in ORDER[key]], index=ORDER[key], dtype=float)
    # what fit() would also set: the fitted data (used by the *_matrix defaults) and predict
    m.data = data
    m.predict = m.conditional_expected_number_of_purchases_up_to_time
    return m


# ----------------------------------------------------------------------------- mpmath models

def nbd_pmf(n, k, A, u):
    """P(N = n) when N | lam ~ Poisson(lam*u), lam ~ Gamma(k, rate A) (mpmath)."""
    if u == 0:
        return mp.mpf(1) if n == 0 else mp.mpf(0)
    return (mp.gamma(k + n) / (mp.gamma(k) * mp.factorial(n)) * (A / (A + u)) ** k
            * (u / (A + u)) ** n)


def gamma_pdf(lam, k, A):
    return A ** k * lam ** (k - 1) * mp.exp(-A * lam) / mp.gamma(k)


def beta_pdf(p, a, b):
    return p ** (a - 1) * (1 - p) ** (b - 1) / mp.beta(a, b)


def mp_params(params):
    return {k: mp.mpf(v) for k, v in params.items()}


def bg_posterior(key, P, x, T):
    """(k, A, a, b') of the posterior given alive at T: lam ~ Gamma(k, A), p ~ Beta(a, b')."""
    extra = 1 if key == "mbgnbd" else 0
    return P["r"] + x, P["alpha"] + mp.mpf(T), P["a"], P["b"] + x + extra


def bg_expected_mp(key, P, x, t_x, T, t):
    """lifetimes' conditional_expected_number_of_purchases_up_to_time, re-implemented in mpmath
    (BG/NBD: FHL 2005 eq. 10; MBG/NBD: lifetimes' Wagner-Hoppe form)."""
    r, al, a, b = P["r"], P["alpha"], P["a"], P["b"]
    x, t_x, T, t = mp.mpf(x), mp.mpf(t_x), mp.mpf(T), mp.mpf(t)
    z = t / (al + T + t)
    ratio = ((al + T) / (al + T + t)) ** (r + x)
    if key == "bgnbd":
        num = (a + b + x - 1) / (a - 1) * (1 - mp.hyp2f1(r + x, b + x, a + b + x - 1, z) * ratio)
        den = 1 + (a / (b + x - 1) * ((al + T) / (al + t_x)) ** (r + x) if x > 0 else 0)
    else:
        num = (a + b + x) / (a - 1) * (1 - mp.hyp2f1(r + x, b + x + 1, a + b + x, z) * ratio)
        den = 1 + a / (b + x) * ((al + T) / (al + t_x)) ** (r + x)
    return num / den


def bg_p_alive_mp(key, P, x, t_x, T):
    r, al, a, b = P["r"], P["alpha"], P["a"], P["b"]
    x, t_x, T = mp.mpf(x), mp.mpf(t_x), mp.mpf(T)
    if key == "bgnbd":
        if x == 0:
            return mp.mpf(1)
        return 1 / (1 + a / (b + x - 1) * ((al + T) / (al + t_x)) ** (r + x))
    return 1 / (1 + a / (b + x) * ((al + T) / (al + t_x)) ** (r + x))


def pnbd_p_alive_mp(P, x, t_x, T):
    """Pareto/NBD P(alive | x, t_x, T) from the likelihood split (note 009):
    alive part (al+T)^-(r+x) (be+T)^-s  vs  dead part int_{t_x}^T s (al+u)^-(r+x) (be+u)^-(s+1) du,
    the latter by mpmath quadrature (independent of lifetimes' 2F1 form)."""
    r, al, s, be = P["r"], P["alpha"], P["s"], P["beta"]
    x, t_x, T = mp.mpf(x), mp.mpf(t_x), mp.mpf(T)
    alive = (al + T) ** (-(r + x)) * (be + T) ** (-s)
    dead = mp.quad(lambda u: s * (al + u) ** (-(r + x)) * (be + u) ** (-(s + 1)), [t_x, T]) \
        if T > t_x else mp.mpf(0)
    return alive / (alive + dead)


def pnbd_expected_mp(P, pa, x, T, t):
    r, al, s, be = P["r"], P["alpha"], P["s"], P["beta"]
    x, T, t = mp.mpf(x), mp.mpf(T), mp.mpf(t)
    return pa * (r + x) * (be + T) / ((al + T) * (s - 1)) * (1 - ((be + T) / (be + T + t)) ** (s - 1))


# ----------------------------------------------------------------------------- JSON writer

def dump(obj, ind=0):
    """JSON with dicts indented and lists of scalars on one line (lists of lists: a row a line)."""
    sp = " " * ind
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f'{sp} {json.dumps(str(k))}: {dump(v, ind + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + sp + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return "[" + ", ".join(dump(v) for v in obj) + "]"
        items = [f"{sp} {dump(v, ind + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + sp + "]"
    if isinstance(obj, float):
        assert math.isfinite(obj), obj
        return repr(obj)
    if isinstance(obj, (bool, type(None), str)):
        return json.dumps(obj)
    if isinstance(obj, (int, np.integer)):
        return str(int(obj))
    if isinstance(obj, np.floating):
        return dump(float(obj))
    raise TypeError(type(obj))


# ----------------------------------------------------------------------------- sections

def section_cumulative(tx, fitters):
    log("== cumulative: expected_cumulative_transactions")
    args = dict(datetime_col="date", customer_id_col="customer_id", t=CUM_T, freq=FREQ,
                freq_multiplier=FREQ_MULTIPLIER, set_index_date=False)
    out = {"models": {}}
    actual = None
    first_day = tx.groupby("customer_id")["date"].min()
    cohorts = first_day.value_counts().sort_index()
    start = tx["date"].min()
    for key in MODELS:
        df = expected_cumulative_transactions(fitters[key], tx, **args)
        assert len(df) == CUM_WEEKS and list(df.index) == list(range(CUM_WEEKS))
        a = [int(v) for v in df["actual"]]
        if actual is None:
            actual = a
        assert a == actual
        pred = flist(df["predicted"])
        # Not lifetimes: the same sum with times (p - 1 - first_day)/7, i.e. aligned with the
        # actual count (repeat days up to and including p - 1, p = start + 7(k+1)).
        aligned = []
        for k in range(CUM_WEEKS):
            last = start + pd.Timedelta(days=FREQ_MULTIPLIER * (k + 1) - 1)
            m = cohorts.index <= last
            times = ((last - cohorts.index[m]).days.values / FREQ_MULTIPLIER).astype(float)
            e = np.asarray(fitters[key].expected_number_of_purchases_up_to_time(times), float)
            aligned.append(float((e * cohorts.values[m]).sum()))
        out["models"][key] = {"predicted": pred, "predicted_day_aligned_not_lifetimes": aligned}
        log(f"  {key}: week 39 actual {a[38]} predicted {pred[38]:.4f}; week 78 actual {a[-1]} "
            f"predicted {pred[-1]:.4f} (day-aligned {aligned[-1]:.4f})")
    dated = expected_cumulative_transactions(fitters["bgnbd"], tx, **{**args, "set_index_date": True})
    assert flist(dated["predicted"]) == out["models"]["bgnbd"]["predicted"]
    out["actual"] = actual
    out["index"] = list(range(CUM_WEEKS))
    out["index_dates_set_index_date_true"] = [str(p) for p in dated.index]
    out["meta"] = {
        "call": "lifetimes.utils.expected_cumulative_transactions(model, transactions, "
                f"datetime_col='date', customer_id_col='customer_id', t={CUM_T}, freq='D', "
                "freq_multiplier=7, set_index_date=False)",
        "args": {**args, "datetime_format": None},
        "transactions": "all CDNOW rows (1997-01-01..1998-06-30, calibration and holdout), "
                        "customer id = 2nd column, date = pd.to_datetime(yyyymmdd)",
        "t_units": f"t is in `freq` units (days): t = {CUM_T} days = {CUM_WEEKS} weeks -> "
                   f"{CUM_WEEKS} rows (t // freq_multiplier)",
        "start_date": str(start.date()),
        "actual": "row k (0-based) = number of repeat-purchase DAYS (same-day rows of a customer "
                  "merged, first purchase day excluded) on days start .. start + 7(k+1) - 1 "
                  "inclusive, i.e. the first k+1 whole weeks",
        "predicted": "row k = sum over first-purchase days d < p of n_d * "
                     "model.expected_number_of_purchases_up_to_time((p - d)/7), p = start + 7(k+1) "
                     "days, n_d = customers whose first purchase is on day d (unconditional "
                     "expectation: no calibration data involved)",
        "off_by_one": "predicted uses times (p - d)/7 while actual stops at day p - 1: in lifetimes' "
                      "summary convention (T = (last observed day - first day)/7) the matching time "
                      "is (p - 1 - d)/7, so predicted runs one day (1/7 week) ahead of actual for "
                      "every cohort, and a cohort whose first day is p - 1 already contributes "
                      "E[X(1/7)]. predicted_day_aligned_not_lifetimes uses (p - 1 - d)/7 instead "
                      "(computed here, NOT by lifetimes).",
        "index": "set_index_date=False: 0..77; set_index_date=True: date_periods[6:-1:7] = the last "
                 "day counted by `actual` (start + 7(k+1) - 1)",
        "plot_cumulative_transactions_quirk": "lifetimes.plotting.plot_cumulative_transactions does "
                                              "not pass freq_multiplier (daily rows with freq='D')",
    }
    return out


def section_calibration_holdout(tx, fitters, fit_summary):
    log("== calibration_holdout: calibration_and_holdout_data")
    args = dict(customer_id_col="customer_id", datetime_col="date", calibration_period_end=CAL_END,
                observation_period_end=OBS_END, freq=FREQ, freq_multiplier=FREQ_MULTIPLIER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SettingWithCopyWarning inside lifetimes
        ch = calibration_and_holdout_data(tx, **args)
    ch = ch.sort_index()
    ids = [int(i) for i in ch.index]
    assert ids == sorted(ids) and len(ids) == len(fit_summary)
    # the calibration part is the summary the models were fitted on
    assert (ch["frequency_cal"].values == fit_summary["frequency"].values).all()
    assert np.array_equal(ch["recency_cal"].values, fit_summary["recency"].values)
    assert np.array_equal(ch["T_cal"].values, fit_summary["T"].values)
    fixture = os.path.join(ROOT, "tests", "data", "cdnow_holdout_lifetimes.csv")
    if os.path.exists(fixture):
        ref = pd.read_csv(fixture, float_precision="round_trip").set_index("id").sort_index()
        assert list(ref.index) == ids
        assert (ref["frequency_holdout"].values == ch["frequency_holdout"].values).all()
        assert np.array_equal(ref["T_cal"].values, ch["T_cal"].values)
        log(f"  matches {os.path.relpath(fixture, ROOT)} (frequency_holdout, T_cal)")
    dur = ch.iloc[0]["duration_holdout"]
    assert (ch["duration_holdout"] == dur).all() and dur == HOLDOUT_T
    actual = ch["frequency_holdout"].values.astype(float)
    out = {
        "customer_id": ids,
        "frequency_cal": [int(v) for v in ch["frequency_cal"]],
        "recency_cal": flist(ch["recency_cal"]),
        "T_cal": flist(ch["T_cal"]),
        "frequency_holdout": [int(v) for v in ch["frequency_holdout"]],
        "duration_holdout": float(dur),
        "total_actual_holdout": int(actual.sum()),
        "models": {},
    }
    for key in MODELS:
        m = fitters[key]
        pred = np.asarray(m.conditional_expected_number_of_purchases_up_to_time(
            dur, ch["frequency_cal"], ch["recency_cal"], ch["T_cal"]), float)
        # plot_calibration_purchases_vs_holdout_purchases(model, ch, kind='frequency_cal', n=7)
        summary = ch.copy()
        summary["model_predictions"] = pred
        g = summary.groupby("frequency_cal")[["frequency_holdout", "model_predictions"]].mean().iloc[:PLOT_N]
        cnt = summary.groupby("frequency_cal").size().iloc[:PLOT_N]
        assert list(cnt.index) == list(g.index)
        err = pred - actual
        out["models"][key] = {
            "predicted": flist(pred),
            "total_predicted": float(pred.sum()),
            "rmse": float(np.sqrt(np.mean(err ** 2))),
            "mae": float(np.mean(np.abs(err))),
            "plot_table": {
                "frequency_cal": [int(v) for v in g.index],
                "mean_frequency_holdout": flist(g["frequency_holdout"]),
                "mean_model_predictions": flist(g["model_predictions"]),
                "count": [int(v) for v in cnt.values],
            },
        }
        log(f"  {key}: total predicted {pred.sum():.4f} vs actual {int(actual.sum())}; "
            f"RMSE {out['models'][key]['rmse']:.6f} MAE {out['models'][key]['mae']:.6f}")
        log(f"    plot table x={list(g.index)} actual={np.round(g['frequency_holdout'].values, 4)} "
            f"pred={np.round(g['model_predictions'].values, 4)} n={list(cnt.values)}")
    out["meta"] = {
        "call": "lifetimes.utils.calibration_and_holdout_data(transactions, customer_id_col="
                "'customer_id', datetime_col='date', calibration_period_end='1997-09-30', "
                "observation_period_end='1998-06-30', freq='D', freq_multiplier=7) "
                "(no monetary_value_col)",
        "args": args,
        "order": "customers sorted by customer id (integer, 2nd column of the transactions file)",
        "calibration": "identical to the summary the fits were made on (asserted)",
        "frequency_holdout": "distinct purchase days in 1997-10-01..1998-06-30 (same-day rows once); "
                             "0 for customers without holdout rows",
        "duration_holdout": "(Period(1998-06-30) - Period(1997-09-30)).n / 7 = 273/7 = 39.0 for every "
                            "customer",
        "predicted": "model.conditional_expected_number_of_purchases_up_to_time(duration_holdout, "
                     "frequency_cal, recency_cal, T_cal) with the scalar duration_holdout of row 0, "
                     "as the plot does",
        "rmse_mae": "over all customers of predicted - frequency_holdout (unweighted)",
        "plot_table": "replicates lifetimes.plotting.plot_calibration_purchases_vs_holdout_purchases("
                      "model, summary, kind='frequency_cal', n=7): summary.groupby('frequency_cal')"
                      "[['frequency_holdout','model_predictions']].mean().iloc[:7] -- the first 7 "
                      "groups in sorted order of the DISTINCT frequency_cal values present (here 0..6), "
                      "no pooling of higher frequencies (customers with frequency_cal >= 7 are simply "
                      "not shown); count = group sizes (not used by the plot)",
    }
    return out, ch


def section_p_alive_matrix(bgf):
    log("== p_alive_matrix: BetaGeoFitter.conditional_probability_alive_matrix()")
    z = bgf.conditional_probability_alive_matrix()
    max_f = int(bgf.data["frequency"].max())
    max_r = int(bgf.data["T"].max())
    assert z.shape == (max_r + 1, max_f + 1)
    # spot check against conditional_probability_alive
    for tx_ in (0, 10, max_r):
        for f in (0, 1, max_f):
            v = float(bgf.conditional_probability_alive(float(f), float(tx_), float(max_r))[0])
            assert v == z[tx_, f], (tx_, f, v, z[tx_, f])
    log(f"  shape {z.shape} (rows recency 0..{max_r}, columns frequency 0..{max_f}); "
        f"z[{max_r}][{max_f}] = {z[max_r, max_f]:.6f}, z[0][1] = {z[0, 1]:.6g}")
    return {
        "max_frequency": max_f,
        "max_recency": max_r,
        "T": float(max_r),
        "matrix": [flist(row) for row in z],
        "meta": {
            "call": "BetaGeoFitter.conditional_probability_alive_matrix(max_frequency=None, "
                    "max_recency=None), as plot_probability_alive_matrix(model) calls it",
            "defaults": "max_frequency = int(model.data['frequency'].max()), max_recency = "
                        "int(model.data['T'].max()) (T truncated to an integer: 38.857 -> 38); "
                        "model.data = the calibration summary the fit used (frequency, recency, T); "
                        "note `max_frequency or default`: passing 0 means the default",
            "layout": "matrix[i][j] = conditional_probability_alive(frequency=j, recency=i, "
                      "T=max_recency): rows = recency 0..max_recency (weeks), columns = frequency "
                      "0..max_frequency; np.fromfunction(f, (max_frequency+1, max_recency+1), "
                      "T=max_recency).T. imshow draws row 0 (recency 0) at the top.",
            "cells": "frequency 0 gives 1.0 for every recency (lifetimes' np.where(frequency == 0, 1, ...)),"
                     " even for recency > 0 which no customer can have",
        },
    }


def section_pmf(fitters, params, fit_summary):
    log("== pmf: expected customers with n repeat purchases in calibration")
    N = len(fit_summary)
    Ts = fit_summary["T"].values
    uniq, counts = np.unique(Ts, return_counts=True)
    x = fit_summary["frequency"].values.astype(int)
    act = [int((x == n).sum()) for n in PMF_N] + [int((x >= 7).sum())]
    out = {"n": PMF_N + ["7+"], "actual": act, "models": {}}
    P = params["pnbd"]
    r, al, s, be = P["r"], P["alpha"], P["s"], P["beta"]

    def nbd(n, k, A, u):
        if u == 0:
            return float(n == 0)
        return math.exp(special.gammaln(k + n) - special.gammaln(k) - special.gammaln(n + 1)
                        + k * math.log(A / (A + u)) + n * math.log(u / (A + u)))

    def pnbd_uncond_quad(n, t):
        v = (be / (be + t)) ** s * nbd(n, r, al, t)
        v += integrate.quad(lambda u: s * be ** s * (be + u) ** (-s - 1) * nbd(n, r, al, u), 0, t,
                            epsabs=0, epsrel=1e-13, limit=200)[0]
        return v

    for key in MODELS:
        m = fitters[key]
        per_n, worst = [], 0.0
        mpP = mp_params(params[key])
        for n in PMF_N:
            tot = 0.0
            for T, c in zip(uniq, counts):
                if key == "pnbd":
                    v = float(m.conditional_probability_of_n_purchases_up_to_time(n, float(T), 0, 0, 0.0))
                    ref = pnbd_uncond_quad(n, float(T))
                else:
                    v = float(m.probability_of_n_purchases_up_to_time(float(T), n))
                    k, A, a, b = mpP["r"], mpP["alpha"], mpP["a"], mpP["b"]
                    tt = mp.mpf(float(T))
                    tail = 1 - mp.fsum(nbd_pmf(j, k, A, tt) for j in range(n))
                    if key == "bgnbd":  # n flips survived, or dropped at the n-th (n >= 1)
                        ref = nbd_pmf(n, k, A, tt) * mp.beta(a, b + n) / mp.beta(a, b)
                        if n > 0:
                            ref += mp.beta(a + 1, b + n - 1) / mp.beta(a, b) * tail
                    else:  # MBG: flips at time 0 and after each purchase: n+1 survived, or
                        # dropped at the flip after the n-th purchase (n = 0: at time 0)
                        ref = (nbd_pmf(n, k, A, tt) * mp.beta(a, b + n + 1) / mp.beta(a, b)
                               + mp.beta(a + 1, b + n) / mp.beta(a, b) * tail)
                worst = max(worst, relerr(v, ref))
                tot += c * v
            per_n.append(tot)
        exp_list = per_n + [N - sum(per_n)]
        out["models"][key] = {"expected": exp_list, "max_rel_diff_vs_independent": worst}
        log(f"  {key}: expected {np.round(exp_list, 2)} (per-customer max rel diff vs independent "
            f"{worst:.1e})")
    log(f"  actual   {act}")
    out["meta"] = {
        "definition": "expected[n] = sum over the 2357 calibration customers of P(X(T_i) = n), "
                      "n = 0..6; expected['7+'] = 2357 - sum(expected[0..6]); actual = number of "
                      "customers with frequency = n (n >= 7 pooled). T_i = calibration T in weeks "
                      "(summary_data_from_transaction_data, freq='D', freq_multiplier=7); evaluated "
                      "once per distinct T and weighted by its count",
        "bgnbd": "BetaGeoFitter.probability_of_n_purchases_up_to_time(t=T_i, n) (FHL 2005 eq. 8); "
                 "scalar t only: with an array t the finite sum over j < n broadcasts against t (n = 1: "
                 "silently wrong, even negative, values; n = len(t): wrong; otherwise ValueError); "
                 "n = 0 is fine",
        "mbgnbd": "ModifiedBetaGeoFitter.probability_of_n_purchases_up_to_time(t=T_i, n): it IS the "
                  "MBG/NBD pmf (drop-out chance at time 0 and after each purchase): B(a,b+n+1)/B(a,b) "
                  "NBD(n) + B(a+1,b+n)/B(a,b) (1 - sum_{j<n} NBD(j)), also for n = 0; kept",
        "pnbd": "lifetimes 0.11.3's ParetoNBDFitter has NO probability_of_n_purchases_up_to_time; "
                "used conditional_probability_of_n_purchases_up_to_time(n, t=T_i, frequency=0, "
                "recency=0, T=0) (a customer with no history = the unconditional pmf), checked "
                "against scipy quad of (be/(be+t))^s NBD(n;r,al,t) + int_0^t s be^s (be+u)^-(s+1) "
                "NBD(n;r,al,u) du",
        "independent_bg": "mpmath (dps 30) from the model, NBD(n) = NBD pmf with (r, al, t = T_i): "
                          "BG/NBD NBD(n) B(a,b+n)/B(a,b) + 1[n>=1] B(a+1,b+n-1)/B(a,b) (1 - sum_{j<n} "
                          "NBD(j)); MBG/NBD NBD(n) B(a,b+n+1)/B(a,b) + B(a+1,b+n)/B(a,b) (1 - "
                          "sum_{j<n} NBD(j))",
    }
    return out


def bg_conditional_pmf_mp(key, P, pa, x, T, t, ns):
    """P(X(T,T+t] = n | history) for BG/NBD (MBG/NBD), n in ns, by numerical integration over the
    posterior given alive. The 2-D integrand over (lam, p) is a sum of products f(lam) g(p) (lam
    and p are independent given alive), so each term is a product of two 1-D mpmath.quad
    integrals (Fubini). Returns (values, closed-form values, max rel diff)."""
    k, A, a, b = bg_posterior(key, P, x, T)
    t = mp.mpf(t)
    # Substitutions remove the integrable endpoint singularities of the densities (lam^(k-1) with
    # k = r = 0.24 for x = 0; p^(a-1)): lam = w^(1/k) makes Gamma(lam; k, A) dlam =
    # A^k e^(-A w^(1/k)) dw / (k Gamma(k)); p = v^(1/a) makes Beta(p; a, b) dp =
    # (1 - v^(1/a))^(b-1) dv / (a B(a, b)).
    cl = A ** k / (k * mp.gamma(k))
    cp = 1 / (a * mp.beta(a, b))
    wm = (k / A) ** k  # w at the posterior mean of lam

    def ilam(f):
        h = lambda w: cl * mp.exp(-A * w ** (1 / k)) * f(w ** (1 / k))
        return mp.quad(h, [0, wm, 4 * wm, 16 * wm, mp.inf])

    def ip(g):
        h = lambda v: cp * (1 - v ** (1 / a)) ** (b - 1) * g(v ** (1 / a))
        return mp.quad(h, [0, mp.mpf(1) / 2, 1])
    vals, closed = [], []
    for n in ns:
        pois = ilam(lambda lam: (lam * t) ** n * mp.exp(-lam * t) / mp.factorial(n))
        alive = pois * ip(lambda p: (1 - p) ** n)
        c_alive = nbd_pmf(n, k, A, t) * mp.beta(a, b + n) / mp.beta(a, b)
        if n >= 1:
            # P(Poisson(lam t) >= n) = regularized lower incomplete gamma P(n, lam t)
            tail = ilam(lambda lam: mp.gammainc(n, 0, lam * t, regularized=True))
            alive += tail * ip(lambda p: p * (1 - p) ** (n - 1))
            c_tail = 1 - mp.fsum(nbd_pmf(j, k, A, t) for j in range(n))
            c_alive += c_tail * mp.beta(a + 1, b + n - 1) / mp.beta(a, b)
        vals.append(pa * alive + (1 - pa) * (1 if n == 0 else 0))
        closed.append(pa * c_alive + (1 - pa) * (1 if n == 0 else 0))
    worst = max(float(abs(v - c) / abs(c)) for v, c in zip(vals, closed))
    return vals, closed, worst


def pnbd_conditional_pmf_mp(P, pa, x, T, t, ns):
    """Pareto/NBD P(X(T,T+t] = n | history) from the posterior given alive:
    lam ~ Gamma(r+x, al+T), mu ~ Gamma(s, be+T) independent; remaining lifetime Lomax.
    P_alive(n) = ((be+T)/(be+T+t))^s NBD(n; t) + int_0^t s (be+T)^s (be+T+u)^-(s+1) NBD(n; u) du."""
    r, al, s, be = P["r"], P["alpha"], P["s"], P["beta"]
    k, A, B = r + x, al + mp.mpf(T), be + mp.mpf(T)
    t = mp.mpf(t)
    out = []
    for n in ns:
        v = (B / (B + t)) ** s * nbd_pmf(n, k, A, t)
        v += mp.quad(lambda u: s * B ** s * (B + u) ** (-(s + 1)) * nbd_pmf(n, k, A, u), [0, t])
        out.append(pa * v + (1 - pa) * (1 if n == 0 else 0))
    return out


def section_conditional_pmf(fitters, params):
    log(f"== conditional_pmf: P(X(T, T+{HOLDOUT_T:g}] = n | x, t_x, T), n = 0..6")
    out = {"t": HOLDOUT_T, "n": PMF_N, "histories": [list(h) for h in HISTORIES], "models": {}}
    pn = fitters["pnbd"]
    P = mp_params(params["pnbd"])
    rows = []
    for (x, t_x, T) in HISTORIES:
        lt = [float(pn.conditional_probability_of_n_purchases_up_to_time(n, HOLDOUT_T, x, t_x, T))
              for n in PMF_N]
        pa_lt = float(np.atleast_1d(pn.conditional_probability_alive(x, t_x, T))[0])
        pa = pnbd_p_alive_mp(P, x, t_x, T)
        ref = [float(v) for v in pnbd_conditional_pmf_mp(P, pa, x, T, HOLDOUT_T, PMF_N)]
        rows.append({"lifetimes": lt, "mpmath_posterior": ref,
                     "p_alive_lifetimes": pa_lt, "p_alive_mpmath": float(pa),
                     "max_rel_diff": max(relerr(a, b) for a, b in zip(lt, ref)),
                     "sum_0_6": math.fsum(lt)})
        log(f"  pnbd {(x, t_x, T)}: lifetimes {np.round(lt, 6)} max rel diff vs mpmath "
            f"{rows[-1]['max_rel_diff']:.1e}; P(alive) rel diff {relerr(pa_lt, pa):.1e}")
    out["models"]["pnbd"] = rows
    for key in ("bgnbd", "mbgnbd"):
        m = fitters[key]
        Pk = mp_params(params[key])
        rows = []
        for (x, t_x, T) in HISTORIES:
            pa = float(np.atleast_1d(m.conditional_probability_alive(x, t_x, T))[0])
            vals, closed, worst = bg_conditional_pmf_mp(key, Pk, mp.mpf(pa), x, T, HOLDOUT_T, PMF_N)
            # check: the full pmf's mean (closed form, n up to 400) = lifetimes' E[X(T,T+39]]
            k, A, a, b = bg_posterior(key, Pk, x, T)
            e_lt = float(m.conditional_expected_number_of_purchases_up_to_time(HOLDOUT_T, x, t_x, T))
            e_pmf = bg_mean_from_pmf(k, A, a, b, mp.mpf(pa), mp.mpf(HOLDOUT_T))
            rows.append({"mpmath_posterior": [float(v) for v in vals],
                         "closed_form": [float(v) for v in closed],
                         "p_alive_lifetimes": pa,
                         "max_rel_diff_quad_vs_closed": worst,
                         "mean_of_pmf_closed_form": float(e_pmf),
                         "lifetimes_conditional_expected": e_lt,
                         "sum_0_6": float(mp.fsum(vals))})
            log(f"  {key} {(x, t_x, T)}: {np.round([float(v) for v in vals], 6)} quad vs closed "
                f"{worst:.1e}; pmf mean {float(e_pmf):.10f} vs lifetimes E {e_lt:.10f}")
        out["models"][key] = rows
    out["meta"] = {
        "histories": "(x, t_x, T) in weeks; rows of models[*] follow `histories`",
        "pnbd_lifetimes": "ParetoNBDFitter.conditional_probability_of_n_purchases_up_to_time(n, t=39, "
                          "frequency=x, recency=t_x, T=T) (Fader-Hardie note 028 eq. 16); argument "
                          "order is (n, t, ...), unlike the BG/NBD unconditional (t, n)",
        "pnbd_mpmath_posterior": "independent: P(alive) from the likelihood split with the dead part "
                                 "by mpmath.quad; given alive lam ~ Gamma(r+x, al+T), mu ~ Gamma(s, "
                                 "be+T): P_alive(n) = ((be+T)/(be+T+t))^s NBD(n;t) + int_0^t s (be+T)^s "
                                 "(be+T+u)^-(s+1) NBD(n;u) du (mpmath.quad, dps 30); mixed with "
                                 "(1 - P(alive)) 1[n=0]",
        "bg_mbg_mpmath_posterior": "P(X = n | H) = P(alive) P_alive(n) + (1 - P(alive)) 1[n = 0], "
                                   "P(alive) = lifetimes' conditional_probability_alive (float); given "
                                   "alive lam ~ Gamma(r+x, rate al+T), p ~ Beta(a, b+x) (MBG: b+x+1); "
                                   "P(N=n | lam,p) = Pois(n; lam t)(1-p)^n + 1[n>=1] p(1-p)^(n-1) "
                                   "P(Pois(lam t) >= n). The 2-D integral over (lam, p) is computed as "
                                   "sums of products of 1-D mpmath.quad integrals (the integrand is a "
                                   "sum of f(lam) g(p) terms, lam and p independent given alive; "
                                   "Fubini), mp.dps = 30, P(Pois >= n) = gammainc(n, 0, lam t, "
                                   "regularized=True)",
        "closed_form": "the same with the 1-D integrals in closed form: NBD pmf and Beta-function "
                       "ratios B(a, b'+n)/B(a,b'), B(a+1, b'+n-1)/B(a,b')",
        "mean_check": "sum_{n<=400} n P(n) from the closed form vs lifetimes' conditional_expected_"
                      "number_of_purchases_up_to_time(39, x, t_x, T)",
    }
    return out


def bg_mean_from_pmf(k, A, a, b, pa, t, nmax=400):
    cdf, mean = mp.mpf(0), mp.mpf(0)
    for n in range(nmax + 1):
        pn = nbd_pmf(n, k, A, t)
        tail = 1 - cdf
        pr = pn * mp.beta(a, b + n) / mp.beta(a, b)
        if n >= 1:
            pr += tail * mp.beta(a + 1, b + n - 1) / mp.beta(a, b)
        mean += n * pr
        cdf += pn
    return pa * mean


def section_dert(fitters, params):
    log("== dert: delta int_0^inf e^(-delta t) E[X(T, T+t] | H] dt")
    out = {"deltas": {name: d for name, d in DELTAS}, "histories": [list(h) for h in HISTORIES],
           "models": {}}
    worst_float = {}
    for key in MODELS:
        m = fitters[key]
        P = mp_params(params[key])
        rows = []
        wf = 0.0
        for (x, t_x, T) in HISTORIES:
            if key == "pnbd":
                pa = pnbd_p_alive_mp(P, x, t_x, T)
                E = lambda t, pa=pa, x=x, T=T: pnbd_expected_mp(P, pa, x, T, t)
            else:
                E = lambda t, x=x, t_x=t_x, T=T: bg_expected_mp(key, P, x, t_x, T, t)
            # precision of lifetimes' float formula against the mpmath re-implementation
            for t in (1.0, 39.0, 104.0, 1e3, 1e4, 1e5, 1e6):
                lt = float(m.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T))
                wf = max(wf, relerr(lt, E(t)))
            row = {}
            for name, d in DELTAS:
                dm = mp.mpf(d)
                val, err = mp.quad(lambda u: mp.exp(-u) * E(u / dm), [0, 1, 4, 16, 64, mp.inf],
                                   error=True)
                fl = integrate.quad(
                    lambda t: d * math.exp(-d * t) * float(
                        m.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T)),
                    0, np.inf, epsabs=0, epsrel=1e-12, limit=500)[0]
                r_ = {"mpmath_quad": float(val), "mpmath_quad_error_estimate": float(err),
                      "scipy_quad_lifetimes_float": fl}
                if key == "pnbd":
                    r, al, s, be = P["r"], P["alpha"], P["s"], P["beta"]
                    B = be + mp.mpf(T)
                    cf = pa * (r + x) / (al + T) * B ** s * dm ** (s - 1) * mp.hyperu(s, s, dm * B)
                    pa_f = float(np.atleast_1d(m.conditional_probability_alive(x, t_x, T))[0])
                    r_f, al_f, s_f, be_f = (params["pnbd"][k] for k in ORDER["pnbd"])
                    cf_f = (pa_f * (r_f + x) / (al_f + T) * (be_f + T) ** s_f * d ** (s_f - 1)
                            * special.hyperu(s_f, s_f, d * (be_f + T)))
                    r_["closed_form_fhl2005_mpmath"] = float(cf)
                    r_["closed_form_fhl2005_scipy_hyperu_lifetimes_p_alive"] = float(cf_f)
                    r_["rel_diff_quad_vs_closed_form"] = float(abs(val - cf) / cf)
                    log(f"  pnbd {(x, t_x, T)} delta={name}: quad {float(val):.15g} closed form "
                        f"{float(cf):.15g} rel diff {float(abs(val - cf) / cf):.1e} (scipy float "
                        f"closed form {relerr(cf_f, cf):.1e}, scipy quad {relerr(fl, cf):.1e})")
                else:
                    # structural check from the model: given alive, purchases arrive at rate lam
                    # while alive, alive until a purchase drops out: dE/dt = lam e^(-lam p t), so
                    # DERT = P(alive) E[lam/(delta + lam p)]; lam part in closed form
                    # E_lam[lam/(d + lam p)] = k z^k U(k+1, k+1, z)/p, z = A d/p; p by mpmath.quad.
                    k, A, a, b = bg_posterior(key, P, x, T)
                    pa = bg_p_alive_mp(key, P, x, t_x, T)

                    def g(p):
                        z = A * dm / p
                        return beta_pdf(p, a, b) * k * z ** k * mp.hyperu(k + 1, k + 1, z) / p
                    st = pa * mp.quad(g, [0, mp.mpf(1) / 2, 1])
                    r_["posterior_check_mpmath"] = float(st)
                    r_["rel_diff_quad_vs_posterior_check"] = float(abs(val - st) / st)
                    log(f"  {key} {(x, t_x, T)} delta={name}: quad {float(val):.15g} posterior "
                        f"check rel diff {float(abs(val - st) / st):.1e} (scipy quad of lifetimes' "
                        f"float {relerr(fl, val):.1e})")
                row[name] = r_
            rows.append(row)
        out["models"][key] = rows
        worst_float[key] = wf
    out["meta"] = {
        "definition": "DERT = int_0^inf e^(-delta t) dE[X(T,T+t] | x,t_x,T] = delta int_0^inf "
                      "e^(-delta t) E[X(T,T+t] | H] dt, continuous discounting per week; no margin, "
                      "no first-period adjustment",
        "deltas": "ln(1.15)/52 = math.log(1.15)/52.0 (float) and 0.01; mpmath uses these float values",
        "mpmath_quad": f"mp.dps = {DPS}; substitution u = delta t: int_0^inf e^(-u) E(u/delta) du by "
                       "mpmath.quad (tanh-sinh) on [0,1,4,16,64,inf]; E = lifetimes' conditional_"
                       "expected_number_of_purchases_up_to_time re-implemented in mpmath (BG/NBD FHL "
                       "2005 eq. 10; MBG/NBD lifetimes' form with 2F1(r+x, b+x+1; a+b+x; z) and "
                       "(a+b+x)/(a-1); Pareto/NBD note 009 eq. 41 with P(alive) from mpmath.quad)",
        "scipy_quad_lifetimes_float": "scipy.integrate.quad(delta e^(-delta t) * lifetimes' float "
                                      "E(t), 0, inf, epsrel=1e-12)",
        "lifetimes_float_precision": "max rel diff of lifetimes' float E(t) vs the mpmath "
                                     "re-implementation at t in {1,39,104,1e3,1e4,1e5,1e6}: "
                                     + ", ".join(f"{k} {v:.1e}" for k, v in worst_float.items()),
        "pnbd_closed_form": "Fader, Hardie & Lee (2005, JMR, 'RFM and CLV'): P(alive) (r+x)/(al+T) "
                            "(be+T)^s delta^(s-1) U(s, s; delta (be+T)), mpmath.hyperu; also with "
                            "scipy.special.hyperu and lifetimes' P(alive) in float",
        "bg_posterior_check": "P(alive) E[lam/(delta + lam p)] over lam ~ Gamma(r+x, al+T), p ~ "
                              "Beta(a, b+x) (MBG: b+x+1): lam in closed form (k z^k U(k+1,k+1,z)/p, "
                              "z = (al+T) delta/p), p by mpmath.quad; P(alive) in mpmath",
        "bg_note": "a < 1 for both BG fits, so E[X(T,T+t]] grows without bound (E[1/p] = inf); "
                   "DERT is finite",
    }
    return out


def section_p_alive_future(fitters, params):
    log("== p_alive_future: P(alive at T + t | H)")
    out = {"t": FUTURE_T, "histories": [list(h) for h in HISTORIES], "models": {}}
    for key in MODELS:
        m = fitters[key]
        P = mp_params(params[key])
        rows, worst = [], 0.0
        for (x, t_x, T) in HISTORIES:
            pa = float(np.atleast_1d(m.conditional_probability_alive(x, t_x, T))[0])
            vals = []
            for t in FUTURE_T:
                if key == "pnbd":
                    v = mp.mpf(pa) * ((P["beta"] + T) / (P["beta"] + T + t)) ** P["s"]
                else:
                    k, A, a, b = bg_posterior(key, P, x, T)
                    q = mp.quad(lambda p: (A / (A + p * t)) ** k * beta_pdf(p, a, b),
                                [0, mp.mpf(1) / 2, 1])
                    cf = mp.hyp2f1(k, a, a + b, -mp.mpf(t) / A)
                    worst = max(worst, float(abs(q - cf) / cf))
                    v = mp.mpf(pa) * q
                vals.append(float(v))
            rows.append({"p_alive_at_T_lifetimes": pa, "p_alive_future": vals})
            log(f"  {key} {(x, t_x, T)}: {np.round(vals, 6)}")
        out["models"][key] = rows
        if key != "pnbd":
            out.setdefault("quad_vs_2f1_max_rel_diff", {})[key] = worst
    out["meta"] = {
        "bgnbd": "P(alive at T) * E[exp(-lam p t)], lam ~ Gamma(r+x, rate al+T), p ~ Beta(a, b+x): "
                 "mpmath.quad (dps 30) over p of ((al+T)/(al+T+p t))^(r+x) Beta(p; a, b+x); "
                 "checked against 2F1(r+x, a; a+b+x; -t/(al+T))",
        "mbgnbd": "the same with Beta(a, b+x+1), P(alive) from ModifiedBetaGeoFitter",
        "pnbd": "P(alive) ((be+T)/(be+T+t))^s",
        "p_alive": "lifetimes' conditional_probability_alive(x, t_x, T) (float), t = 0 gives it back",
    }
    return out


def monte_carlo_bg_x0(params, T, t, n, seed):
    """BG/NBD population: customers with no repeat purchase in (0, T]; share alive at T + t."""
    r, al, a, b = (params["bgnbd"][k] for k in ORDER["bgnbd"])
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / al, n)
    p = rng.beta(a, b, n)
    keep = rng.poisson(lam * T) == 0          # no repeat purchase -> no drop-out chance -> alive
    m = rng.poisson(lam[keep] * t)            # purchases the customer would make in (T, T+t]
    alive = rng.binomial(m, p[keep]) == 0     # alive iff none of them was followed by a drop-out
    return float(alive.mean()), int(keep.sum())


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--transactions", default=os.path.join(ROOT, "src", "datasets",
                                                           "cdnow_sample_transactions.txt"))
    ap.add_argument("--fits", default=os.path.join(ROOT, "tests", "data", "clv_lifetimes_fits.json"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data", "diagnostics_lifetimes.json"))
    ap.add_argument("--seed", type=int, default=0, help="Monte-Carlo seed (printed check only)")
    ap.add_argument("--mc-n", type=int, default=200_000)
    args = ap.parse_args()
    mp.mp.dps = DPS
    t0 = time.time()

    params = load_params(args.fits)
    tx = read_transactions(args.transactions)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = summary_data_from_transaction_data(tx, "customer_id", "date",
                                               observation_period_end=CAL_END, freq=FREQ,
                                               freq_multiplier=FREQ_MULTIPLIER).sort_index()
    data = pd.DataFrame({"frequency": s["frequency"].values, "recency": s["recency"].values,
                         "T": s["T"].values, "weights": np.ones(len(s))}, index=s.index)
    assert len(data) == 2357 and int(data["frequency"].sum()) == 2457
    fitters = {k: make_fitter(k, params[k], data) for k in MODELS}
    log(f"{len(tx)} rows, {len(data)} customers, sum x = {int(data['frequency'].sum())}")

    out = {"meta": {
        "generated_by": "benches/peers/diagnostics_reference.py",
        "versions": {"python": platform.python_version(), "lifetimes": lifetimes.__version__,
                     "pandas": pd.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
                     "mpmath": mp.__version__},
        "data": "CDNOW 1/10 sample, src/datasets/cdnow_sample_transactions.txt (whitespace separated, "
                "no header: master_id customer_id yyyymmdd n_cds dollar_value); customer id = 2nd "
                "column; dates pd.to_datetime(format='%Y%m%d')",
        "time_unit": "weeks (lifetimes freq='D', freq_multiplier=7)",
        "calibration": f"through {CAL_END} inclusive; holdout 1997-10-01..{OBS_END} (39 weeks)",
        "calibration_summary": "summary_data_from_transaction_data(tx, 'customer_id', 'date', "
                               f"observation_period_end='{CAL_END}', freq='D', freq_multiplier=7); "
                               "2357 customers, sum x = 2457; set as model.data",
        "params_source": "tests/data/clv_lifetimes_fits.json: fits[m]['lifetimes_fit']['params'] for "
                         "m in bgnbd, mbgnbd, pnbd (lifetimes' own MLE on CDNOW)",
        "params": params,
        "fitters": "fresh BetaGeoFitter / ModifiedBetaGeoFitter / ParetoNBDFitter with params_ = "
                   "pd.Series(values, index=[r, alpha, a, b] or [r, alpha, s, beta]); data = the "
                   "calibration summary (frequency, recency, T, weights=1); predict = conditional_"
                   "expected_number_of_purchases_up_to_time (as fit() sets)",
        "histories": "(x, t_x, T) = " + ", ".join(str(h) for h in HISTORIES),
        "mpmath_dps": DPS,
        "float_format": "repr (shortest round-trip); mpmath results rounded to the nearest float",
    }}
    out["cumulative"] = section_cumulative(tx, fitters)
    log(f"  [{time.time() - t0:.1f}s]")
    out["calibration_holdout"], _ = section_calibration_holdout(tx, fitters, data)
    log(f"  [{time.time() - t0:.1f}s]")
    out["p_alive_matrix"] = section_p_alive_matrix(fitters["bgnbd"])
    out["pmf"] = section_pmf(fitters, params, data)
    log(f"  [{time.time() - t0:.1f}s]")
    out["conditional_pmf"] = section_conditional_pmf(fitters, params)
    log(f"  [{time.time() - t0:.1f}s]")
    out["dert"] = section_dert(fitters, params)
    log(f"  [{time.time() - t0:.1f}s]")
    out["p_alive_future"] = section_p_alive_future(fitters, params)

    T0, t39 = 38.86, 39.0
    mc, kept = monte_carlo_bg_x0(params, T0, t39, args.mc_n, args.seed)
    formula = out["p_alive_future"]["models"]["bgnbd"][1]["p_alive_future"][FUTURE_T.index(t39)]
    se = math.sqrt(formula * (1 - formula) / kept)
    log(f"Monte Carlo BG/NBD x=0, T={T0}: {args.mc_n} simulated, {kept} with no repeat purchase; "
        f"alive at T+39: MC {mc:.5f} vs formula {formula:.5f} (diff {(mc - formula) / se:+.2f} SE)")
    assert abs(mc - formula) < 5 * se

    # agreement checks
    for row in out["dert"]["models"]["pnbd"]:
        for name, _ in DELTAS:
            assert row[name]["rel_diff_quad_vs_closed_form"] < 1e-10
    for key in ("bgnbd", "mbgnbd"):
        for row in out["dert"]["models"][key]:
            for name, _ in DELTAS:
                assert row[name]["rel_diff_quad_vs_posterior_check"] < 1e-10
        for row in out["conditional_pmf"]["models"][key]:
            assert row["max_rel_diff_quad_vs_closed"] < 1e-20
            assert relerr(row["mean_of_pmf_closed_form"], row["lifetimes_conditional_expected"]) < 1e-9
    for row in out["conditional_pmf"]["models"]["pnbd"]:
        assert row["max_rel_diff"] < 1e-9

    with open(args.out, "w") as f:
        f.write(dump(out))
        f.write("\n")
    json.load(open(args.out))  # valid JSON
    ch = out["calibration_holdout"]
    log("== summary")
    log(f"holdout purchases: actual {ch['total_actual_holdout']}; predicted " + ", ".join(
        f"{k} {ch['models'][k]['total_predicted']:.3f}" for k in MODELS))
    log("cumulative week 78: actual {}; predicted {}".format(out["cumulative"]["actual"][-1], ", ".join(
        f"{k} {out['cumulative']['models'][k]['predicted'][-1]:.3f}" for k in MODELS)))
    log(f"wrote {os.path.relpath(args.out, ROOT)} in {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
