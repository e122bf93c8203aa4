#!/usr/bin/env python3
"""Reference numbers for the CLV models from lifetimes 0.11.3 (an independent implementation).

Usage (from the repository root):
    /work/peer-venv/bin/python benches/peers/clv_reference.py \
        --transactions ../shared/data/cdnow_sample_transactions.txt \
        --donations ../shared/data/donations_bgbb.csv --out-dir tests/data

Writes (floats with repr(), i.e. shortest round-trip; counts as integers):

  cdnow_clv_lifetimes.csv   one row per CDNOW customer (sorted by id):
      id,x,t_x,T,zbar,                      full-precision calibration summary (weeks)
      bgnbd_p_alive,bgnbd_exp_1,bgnbd_exp_39,
      mbgnbd_p_alive,mbgnbd_exp_39,
      pnbd_p_alive,pnbd_exp_39,
      gg_exp_spend,                          conditional_expected_average_profit(x, zbar)
      clv_bgnbd,clv_pnbd                     GammaGammaFitter.customer_lifetime_value(model, x, t_x, T,
                                             zbar, time=12, discount_rate=0.01, freq='W')
    all at the PUBLISHED parameters (shared/data/README.md) set directly on the fitters.
  clv_lifetimes_unconditional.csv   `t,n,p`: BetaGeoFitter.probability_of_n_purchases_up_to_time(t, n)
      at the published BG/NBD parameters, t in {1,10,39,78}, n in 0..=10.
  clv_lifetimes_expected_new.csv    `model,t,expected`: expected_number_of_purchases_up_to_time(t)
      (a new customer, unconditional) for bgnbd, mbgnbd, pnbd at the published parameters.
  clv_lifetimes_fits.json   lifetimes' own MLE fits (CDNOW: BG/NBD, MBG/NBD, Pareto/NBD,
      Gamma-Gamma on repeaters; donations: BG/BB with weights), the FULL log-likelihood (formulas
      below, written here with scipy, not lifetimes' objective) at the fitted and at the published
      parameters, lifetimes' standard errors where it has them, a finite-difference check of them,
      and a tightly re-optimised ("polished") optimum of the full log-likelihood.

Full log-likelihoods (natural parameters; time in weeks; sums over customers, weighted by the
`weights` column for BG/BB):
  BG/NBD  (Fader, Hardie & Lee 2005, Marketing Science, eq. 6):
      L = Γ(r+x) α^r / Γ(r) · [ B(a, b+x)/B(a,b) · (α+T)^-(r+x)
                                 + 1{x>0} · B(a+1, b+x-1)/B(a,b) · (α+t_x)^-(r+x) ]
  MBG/NBD (Batislam, Denizel & Filiztekin 2007):
      L = Γ(r+x) α^r / Γ(r) · [ B(a, b+x+1)/B(a,b) · (α+T)^-(r+x)
                                 + B(a+1, b+x)/B(a,b) · (α+t_x)^-(r+x) ]        (x = 0 included)
  Pareto/NBD (Fader & Hardie 2005 note 009, eqs. 18-20):
      L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^-(r+x) (β+T)^-s + s/(r+s+x) · A0 ]
      A0 = F(t_x) - F(T),   α >= β: F(u) = 2F1(r+s+x, s+1; r+s+x+1; (α-β)/(α+u)) / (α+u)^(r+s+x)
                            α <  β: F(u) = 2F1(r+s+x, r+x; r+s+x+1; (β-α)/(β+u)) / (β+u)^(r+s+x)
      (checked against the integral s/(r+s+x)·A0 = ∫_{t_x}^{T} s (α+τ)^-(r+x) (β+τ)^-(s+1) dτ)
  These three are the likelihood of the observed purchase times (density w.r.t. the x repeat
  purchase times in weeks): NO constant is dropped, and there is no combinatorial constant.
  Gamma-Gamma (Fader, Hardie & Lee 2005 JMR / Fader & Hardie note 025): density of the mean
  repeat spend zbar given x, over repeaters (x > 0) only:
      f(zbar | p,q,γ,x) = Γ(px+q) / (Γ(px) Γ(q)) · γ^q · zbar^(px-1) · x^(px) / (γ + x·zbar)^(px+q)
      (every term included: the x^(px) Jacobian and zbar^(px-1) too).
  BG/BB (Fader, Hardie & Shang 2010, Marketing Science, eq. 5):
      L = B(α+x, β+n-x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
          + Σ_{i=0}^{n-t_x-1} B(α+x, β+t_x-x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)
      (likelihood of the specific 0/1 sequence; no binomial coefficient).

How these relate to lifetimes' `_negative_log_likelihood_` (the value at its optimum), checked below:
  BG/NBD, MBG/NBD: lifetimes minimises the MEAN negative LL in rescaled time (t / max(T)), so
      -nll·N = LL_full + (Σx)·ln(max T)   (the x purchase-time densities pick up 1/scale each).
  Pareto/NBD: same rescaling but divides by mean(weights) (=1), i.e. nll = -(LL_full + Σx·ln max T).
  Gamma-Gamma: -nll·N = LL_full exactly (N = number of repeaters).
  BG/BB: -nll·Σweights = LL_full up to lifetimes' +1e-15 added inside the log of the sum term.
"""
import argparse
import csv
import json
import os
import platform
import sys
import warnings

import numpy as np
import pandas as pd
import scipy
from scipy import integrate, optimize
from scipy.special import betaln, gammaln, hyp2f1

import lifetimes
from lifetimes import (BetaGeoBetaBinomFitter, BetaGeoFitter, GammaGammaFitter,
                       ModifiedBetaGeoFitter, ParetoNBDFitter)
from lifetimes.utils import summary_data_from_transaction_data

CAL_END = "1997-09-30"

PUBLISHED = {
    "bgnbd": dict(r=0.2426, alpha=4.4135, a=0.7929, b=2.4258),
    "mbgnbd": dict(r=0.5248, alpha=6.1830, a=0.8914, b=1.6140),
    "pnbd": dict(r=0.5533, alpha=10.5776, s=0.6062, beta=11.6680),
    "gg": dict(p=6.2488, q=3.7446, v=15.4477),
    "bgbb": dict(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783),
}
ORDER = {
    "bgnbd": ["r", "alpha", "a", "b"],
    "mbgnbd": ["r", "alpha", "a", "b"],
    "pnbd": ["r", "alpha", "s", "beta"],
    "gg": ["p", "q", "v"],
    "bgbb": ["alpha", "beta", "gamma", "delta"],
}

# README (shared/data) per-customer table: (x, t_x, T) -> (P(alive), E[39 weeks]).
README_BGNBD = [
    ((2, 30.43, 38.86), (0.726609, 1.225910)),
    ((0, 0.0, 38.86), (1.000000, 0.194781)),
    ((2, 10.0, 38.86), (0.268538, 0.453069)),
    ((10, 38.0, 38.86), (0.921459, 6.705967)),
    ((10, 10.0, 38.86), (0.000185, 0.001350)),
    ((1, 1.0, 38.86), (0.187752, 0.179810)),
]
README_PNBD = [
    ((2, 30.43, 38.86), (0.869122, 1.455122)),
    ((0, 0.0, 38.86), (0.295107, 0.107063)),
    ((2, 10.0, 38.86), (0.268718, 0.449899)),
    ((10, 38.0, 38.86), (0.988637, 6.841407)),
]
README_GG = [24.6586, 18.9115, 35.1710]  # customers 1..3


def log(msg):
    print(msg, file=sys.stderr)


# ----------------------------------------------------------------------------- data

def cdnow_summary(path):
    tx = pd.read_csv(path, sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "n_cds", "dollar_value"],
                     dtype={"master_id": np.int64, "customer_id": np.int64, "date": str,
                            "n_cds": np.int64, "dollar_value": np.float64})
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = summary_data_from_transaction_data(
            tx, "customer_id", "date", monetary_value_col="dollar_value",
            observation_period_end=CAL_END, freq="D", freq_multiplier=7)
    s = s.sort_index()
    s.index.name = "id"
    s = s.rename(columns={"frequency": "x", "recency": "t_x", "monetary_value": "zbar"})
    s["x"] = s["x"].astype(np.int64)
    return s[["x", "t_x", "T", "zbar"]]


def check_against_rounded_summary(s, path):
    if not os.path.exists(path):
        log(f"(no {path}; skipping the check against the rounded summary)")
        return
    ref = pd.read_csv(path).set_index("ID").sort_index()
    assert list(ref.index) == list(s.index), "customer ids differ from cdnow_sample_summary.csv"
    assert (ref["x"].values == s["x"].values).all()
    for c in ["t_x", "T", "zbar"]:
        d = np.abs(ref[c].values - s[c].values).max()
        assert d <= 0.005 + 1e-9, f"{c} differs from the rounded summary by {d}"
    log(f"summary matches {path} (x exact, t_x/T/zbar within 0.005)")


# ----------------------------------------------------------------------------- full log-likelihoods

def ll_bgnbd(params, x, t_x, T, w=None):
    r, alpha, a, b = params
    x = np.asarray(x, float)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    l1 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        l2 = np.where(x > 0,
                      betaln(a + 1, np.where(x > 0, b + x - 1, 1.0)) - betaln(a, b)
                      - (r + x) * np.log(alpha + t_x),
                      -np.inf)
    ll = base + np.logaddexp(l1, l2)
    return float(np.sum(ll if w is None else w * ll))


def ll_mbgnbd(params, x, t_x, T, w=None):
    r, alpha, a, b = params
    x = np.asarray(x, float)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    l1 = betaln(a, b + x + 1) - betaln(a, b) - (r + x) * np.log(alpha + T)
    l2 = betaln(a + 1, b + x) - betaln(a, b) - (r + x) * np.log(alpha + t_x)
    ll = base + np.logaddexp(l1, l2)
    return float(np.sum(ll if w is None else w * ll))


def _pnbd_log_term2(params, x, t_x, T):
    """log( s/(r+s+x) · A0 ) with A0 from note 009 eqs. 19-20 (hypergeometric form)."""
    r, alpha, s, beta = params
    x = np.asarray(x, float)
    rsx = r + s + x
    if alpha >= beta:
        m, b2, z = alpha, s + 1.0, alpha - beta
    else:
        m, b2, z = beta, r + x, beta - alpha
    lf_tx = np.log(hyp2f1(rsx, b2, rsx + 1.0, z / (m + t_x))) - rsx * np.log(m + t_x)
    lf_T = np.log(hyp2f1(rsx, b2, rsx + 1.0, z / (m + T))) - rsx * np.log(m + T)
    # A0 = exp(lf_tx) - exp(lf_T) >= 0 (0 when t_x == T)
    with np.errstate(divide="ignore"):
        log_a0 = lf_tx + np.log(-np.expm1(np.minimum(lf_T - lf_tx, 0.0)))
    return np.log(s) - np.log(rsx) + log_a0


def ll_pnbd_vec(params, x, t_x, T):
    r, alpha, s, beta = params
    x = np.asarray(x, float)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    l1 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    return base + np.logaddexp(l1, _pnbd_log_term2(params, x, t_x, T))


def ll_pnbd(params, x, t_x, T, w=None):
    ll = ll_pnbd_vec(params, x, t_x, T)
    return float(np.sum(ll if w is None else w * ll))


def pnbd_integral_check(params, x, t_x, T):
    """max relative difference of s/(r+s+x)·A0 between the 2F1 form and direct quadrature."""
    r, alpha, s, beta = params
    worst = 0.0
    hyp = np.exp(_pnbd_log_term2(params, x, t_x, T))
    for xi, ti, Ti, hi in zip(x, t_x, T, hyp):
        if Ti - ti <= 0:
            continue
        val, _ = integrate.quad(lambda u: s * (alpha + u) ** (-(r + xi)) * (beta + u) ** (-(s + 1)),
                                ti, Ti, epsabs=0, epsrel=1e-13, limit=200)
        worst = max(worst, abs(hi - val) / val)
    return worst


def ll_gg(params, x, zbar, w=None):
    p, q, v = params
    x = np.asarray(x, float)
    px = p * x
    ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1) * np.log(zbar)
          + px * np.log(x) - (px + q) * np.log(v + x * zbar))
    return float(np.sum(ll if w is None else w * ll))


def ll_bgbb(params, x, t_x, n, w):
    al, be, ga, de = params
    out = 0.0
    for xi, ti, ni, wi in zip(x, t_x, n, w):
        terms = [betaln(al + xi, be + ni - xi) - betaln(al, be) + betaln(ga, de + ni) - betaln(ga, de)]
        for i in range(int(ni - ti)):
            terms.append(betaln(al + xi, be + ti - xi + i) - betaln(al, be)
                         + betaln(ga + 1, de + ti + i) - betaln(ga, de))
        out += wi * float(np.logaddexp.reduce(terms))
    return out


def numerical_se(f, theta):
    """Standard errors from a central finite-difference Hessian of -f at theta (natural params)."""
    theta = np.asarray(theta, float)
    k = len(theta)
    h = 1e-4 * np.abs(theta)
    H = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            def g(di, dj):
                t = theta.copy()
                t[i] += di
                t[j] += dj
                return -f(t)
            H[i, j] = H[j, i] = (g(h[i], h[j]) - g(h[i], -h[j]) - g(-h[i], h[j]) + g(-h[i], -h[j])) \
                / (4 * h[i] * h[j])
    return np.sqrt(np.diag(np.linalg.inv(H)))


def polish(f, theta0):
    """Maximise f over log-parameters from theta0 with tight tolerances (not lifetimes)."""
    obj = lambda lt: -f(np.exp(lt))
    res = optimize.minimize(obj, np.log(theta0), method="Nelder-Mead",
                            options=dict(xatol=1e-11, fatol=1e-11, maxiter=40000, maxfev=80000))
    res2 = optimize.minimize(obj, res.x, method="BFGS", options=dict(gtol=1e-9))
    best = res2 if res2.fun <= res.fun else res
    return np.exp(best.x), -best.fun


# ----------------------------------------------------------------------------- fitters at fixed params

def fixed(cls, key, predict=True):
    m = cls()
    m.params_ = pd.Series(PUBLISHED[key], dtype=float)[ORDER[key]]
    if predict:
        # fit() sets `predict`; customer_lifetime_value() calls model.predict(t, x, t_x, T).
        m.predict = m.conditional_expected_number_of_purchases_up_to_time
    return m


def bgnbd_decimal(params, x, t_x, T, t, digits=50):
    """BG/NBD P(alive) and E[X(t) | x, t_x, T] (FHL 2005 eq. 10) in 50-digit decimal arithmetic
    (2F1 by its power series) -- an implementation independent of lifetimes and scipy."""
    from decimal import Decimal as D, localcontext
    with localcontext() as ctx:
        ctx.prec = digits
        r, al, a, b = (D(repr(float(v))) for v in params)
        x, tx, T, t = D(int(x)), D(repr(float(t_x))), D(repr(float(T))), D(repr(float(t)))
        pw = lambda u, e: (e * u.ln()).exp()
        aa, bb, cc, z = r + x, b + x, a + b + x - 1, t / (al + T + t)
        hyp, term, k = D(1), D(1), 0
        while True:
            term = term * (aa + k) * (bb + k) / ((cc + k) * (k + 1)) * z
            hyp += term
            k += 1
            if abs(term) < D(10) ** -(digits - 5):
                break
        odds = a / (b + x - 1) * pw((al + T) / (al + tx), r + x) if x > 0 else D(0)
        num = (a + b + x - 1) / (a - 1) * (1 - pw((al + T) / (al + T + t), r + x) * hyp)
        return float(1 / (1 + odds)), float(num / (1 + odds))


def fmt(v):
    return repr(float(v))


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--transactions", required=True)
    ap.add_argument("--donations", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--summary-check", default=None,
                    help="rounded summary to check against (default: cdnow_sample_summary.csv "
                         "next to --transactions)")
    ap.add_argument("--seed", type=int, default=0, help="np.random seed (Pareto/NBD start point)")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    s = cdnow_summary(args.transactions)
    check_against_rounded_summary(
        s, args.summary_check or os.path.join(os.path.dirname(args.transactions),
                                              "cdnow_sample_summary.csv"))
    x, t_x, T, zbar = s["x"], s["t_x"], s["T"], s["zbar"]
    N = len(s)

    bgf = fixed(BetaGeoFitter, "bgnbd")
    mbg = fixed(ModifiedBetaGeoFitter, "mbgnbd")
    pnf = fixed(ParetoNBDFitter, "pnbd")
    ggf = fixed(GammaGammaFitter, "gg", predict=False)

    # ---------------------------------------------------------------- (a) per customer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pnbd predict(0) -> log(0) inside CLV (harmless, = 0)
        cols = {
            "bgnbd_p_alive": bgf.conditional_probability_alive(x.values, t_x.values, T.values),
            "bgnbd_exp_1": bgf.conditional_expected_number_of_purchases_up_to_time(1, x, t_x, T),
            "bgnbd_exp_39": bgf.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T),
            "mbgnbd_p_alive": mbg.conditional_probability_alive(x.values, t_x.values, T.values),
            "mbgnbd_exp_39": mbg.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T),
            "pnbd_p_alive": pnf.conditional_probability_alive(x.values, t_x.values, T.values),
            "pnbd_exp_39": pnf.conditional_expected_number_of_purchases_up_to_time(39, x, t_x, T),
            "gg_exp_spend": ggf.conditional_expected_average_profit(x, zbar),
            "clv_bgnbd": ggf.customer_lifetime_value(bgf, x, t_x, T, zbar, time=12,
                                                     discount_rate=0.01, freq="W"),
            "clv_pnbd": ggf.customer_lifetime_value(pnf, x, t_x, T, zbar, time=12,
                                                    discount_rate=0.01, freq="W"),
        }
    cols = {k: np.asarray(v, float) for k, v in cols.items()}
    for k, v in cols.items():
        assert v.shape == (N,) and np.isfinite(v).all(), k

    # Self-checks: GG for x = 0 is the population mean v·p/(q-1); CLV recomputed by hand.
    p_, q_, v_ = (PUBLISHED["gg"][k] for k in "pqv")
    pop_mean = v_ * p_ / (q_ - 1)
    assert np.allclose(cols["gg_exp_spend"][x.values == 0], pop_mean, rtol=1e-14)
    months = np.arange(1, 13)
    for key, model in (("clv_bgnbd", bgf), ("clv_pnbd", pnf)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cum = [np.zeros(N)] + [np.asarray(model.conditional_expected_number_of_purchases_up_to_time(
                4.345 * k, x, t_x, T), float) for k in months]
        hand = sum(cols["gg_exp_spend"] * (cum[k] - cum[k - 1]) / 1.01 ** k for k in months)
        assert np.allclose(hand, cols[key], rtol=1e-12), key

    path = os.path.join(args.out_dir, "cdnow_clv_lifetimes.csv")
    names = list(cols)
    with open(path, "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["id", "x", "t_x", "T", "zbar"] + names)
        for i, cid in enumerate(s.index):
            wr.writerow([str(int(cid)), str(int(x.iloc[i])), fmt(t_x.iloc[i]), fmt(T.iloc[i]),
                         fmt(zbar.iloc[i])] + [fmt(cols[k][i]) for k in names])
    log(f"wrote {path} ({N} customers)")

    # README checks (rounded t_x / T as printed there)
    readme = {"bgnbd": [], "pnbd": [], "gg": []}
    for (xx, tt, TT), (pa, e39) in README_BGNBD:
        a = float(bgf.conditional_probability_alive(xx, tt, TT)[0])
        e = float(bgf.conditional_expected_number_of_purchases_up_to_time(39, xx, tt, TT))
        da, de = bgnbd_decimal([PUBLISHED["bgnbd"][k] for k in ORDER["bgnbd"]], xx, tt, TT, 39)
        assert abs(da - a) <= 1e-12 and abs(de - e) <= 1e-11 * max(1.0, e), (xx, tt, TT, da, a, de, e)
        readme["bgnbd"].append(dict(x=xx, t_x=tt, T=TT, p_alive=a, readme_p_alive=pa,
                                    exp_39=e, readme_exp_39=e39,
                                    p_alive_decimal50=da, exp_39_decimal50=de))
    for (xx, tt, TT), (pa, e39) in README_PNBD:
        a = float(pnf.conditional_probability_alive(xx, tt, TT))
        e = float(pnf.conditional_expected_number_of_purchases_up_to_time(39, xx, tt, TT))
        readme["pnbd"].append(dict(x=xx, t_x=tt, T=TT, p_alive=a, readme_p_alive=pa,
                                   exp_39=e, readme_exp_39=e39))
    for i, g in enumerate(README_GG):
        readme["gg"].append(dict(id=i + 1, exp_spend=float(cols["gg_exp_spend"][i]), readme=g))
    worst = 0.0
    for m in ("bgnbd", "pnbd"):
        for row in readme[m]:
            for k in ("p_alive", "exp_39"):
                # README values have 6 decimals: absolute 5e-7 is their rounding
                d = abs(row[k] - row["readme_" + k])
                worst = max(worst, d)
                log(f"README {m} ({row['x']}, {row['t_x']}, {row['T']}) {k}: lifetimes {row[k]:.9f} "
                    f"README {row['readme_' + k]:.6f} |diff| {d:.2e}")
    for row in readme["gg"]:
        d = abs(row["exp_spend"] - row["readme"])
        log(f"README gg customer {row['id']}: lifetimes {row['exp_spend']:.6f} README {row['readme']} "
            f"|diff| {d:.2e}")
    log(f"README per-customer table: worst |diff| {worst:.2e} (6-decimal rounding = 5e-7); "
        "lifetimes' BG/NBD rows agree with a 50-digit evaluation to 1e-11")

    # ---------------------------------------------------------------- (b) unconditional
    ts = [1, 10, 39, 78]
    path = os.path.join(args.out_dir, "clv_lifetimes_unconditional.csv")
    with open(path, "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["t", "n", "p"])
        for t in ts:
            for n in range(11):
                wr.writerow([str(t), str(n), fmt(bgf.probability_of_n_purchases_up_to_time(t, n))])
    log(f"wrote {path}")
    path = os.path.join(args.out_dir, "clv_lifetimes_expected_new.csv")
    with open(path, "w", newline="") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(["model", "t", "expected"])
        for key, m in (("bgnbd", bgf), ("mbgnbd", mbg), ("pnbd", pnf)):
            for t in ts:
                wr.writerow([key, str(t), fmt(m.expected_number_of_purchases_up_to_time(t))])
    log(f"wrote {path}")

    # ---------------------------------------------------------------- (c) fits
    X, TX, TT, Z = x.values, t_x.values, T.values, zbar.values
    rep = X > 0
    don = pd.read_csv(args.donations)
    dX, dTX, dN, dW = (don[c].values for c in ("frequency", "recency", "periods", "weights"))

    llf = {
        "bgnbd": lambda th: ll_bgnbd(th, X, TX, TT),
        "mbgnbd": lambda th: ll_mbgnbd(th, X, TX, TT),
        "pnbd": lambda th: ll_pnbd(th, X, TX, TT),
        "gg": lambda th: ll_gg(th, X[rep], Z[rep]),
        "bgbb": lambda th: ll_bgbb(th, dX, dTX, dN, dW),
    }
    sum_x, max_T = float(X.sum()), float(TT.max())

    fits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.random.seed(args.seed)
        fits["bgnbd"] = BetaGeoFitter().fit(X, TX, TT)
        fits["mbgnbd"] = ModifiedBetaGeoFitter().fit(X, TX, TT)
        fits["pnbd"] = ParetoNBDFitter().fit(X, TX, TT)
        fits["gg"] = GammaGammaFitter().fit(X[rep], Z[rep])
        fits["bgbb"] = BetaGeoBetaBinomFitter().fit(dX, dTX, dN, weights=dW)

    n_obs = {"bgnbd": N, "mbgnbd": N, "pnbd": N, "gg": int(rep.sum()), "bgbb": int(dW.sum())}
    out = {
        "meta": {
            "generated_by": "benches/peers/clv_reference.py",
            "versions": {"python": platform.python_version(), "lifetimes": lifetimes.__version__,
                         "pandas": pd.__version__, "numpy": np.__version__,
                         "scipy": scipy.__version__},
            "cdnow": {"customers": N, "repeaters": int(rep.sum()), "sum_x": sum_x, "max_T": max_T,
                      "time_unit": "weeks", "calibration_end": CAL_END,
                      "summary": "lifetimes summary_data_from_transaction_data(freq='D', "
                                 "freq_multiplier=7, monetary_value_col='dollar_value'), "
                                 "customer id = 2nd column"},
            "donations": {"rows": int(len(don)), "donors": int(dW.sum())},
            "pnbd_seed": args.seed,
            "ll_formulas": {
                "bgnbd": "FHL 2005 eq.6: ln[G(r+x)a^r/G(r)] + ln[B(a,b+x)/B(a,b)(al+T)^-(r+x) "
                         "+ 1{x>0} B(a+1,b+x-1)/B(a,b)(al+t_x)^-(r+x)]; no constant dropped",
                "mbgnbd": "Batislam et al. 2007: ln[G(r+x)al^r/G(r)] + ln[B(a,b+x+1)/B(a,b)"
                          "(al+T)^-(r+x) + B(a+1,b+x)/B(a,b)(al+t_x)^-(r+x)]; no constant dropped",
                "pnbd": "FH note 009 eq.18-20: ln[G(r+x)al^r be^s/G(r)] + ln[(al+T)^-(r+x)(be+T)^-s "
                        "+ s/(r+s+x) A0]; no constant dropped",
                "gg": "sum over x>0 of ln f(zbar|p,q,v,x) = lnG(px+q)-lnG(px)-lnG(q)+q ln v+(px-1) ln zbar"
                      "+px ln x-(px+q) ln(v+x zbar); every term included",
                "bgbb": "FHS 2010 eq.5, weighted by `weights`: ln[B(al+x,be+n-x)/B(al,be) B(ga,de+n)/B(ga,de)"
                        " + sum_{i=0}^{n-t_x-1} B(al+x,be+t_x-x+i)/B(al,be) B(ga+1,de+t_x+i)/B(ga,de)]; "
                        "no binomial coefficient",
            },
            "lifetimes_objective_relation": {
                "bgnbd": "-nll*N = LL_full + sum_x*ln(max_T)",
                "mbgnbd": "-nll*N = LL_full + sum_x*ln(max_T)",
                "pnbd": "-nll = LL_full + sum_x*ln(max_T) (divides by mean(weights)=1, not N)",
                "gg": "-nll*N_repeaters = LL_full",
                "bgbb": "-nll*sum(weights) = LL_full (+ effect of lifetimes' 1e-15 in the sum term)",
            },
        },
    }
    for key, m in fits.items():
        names_ = ORDER[key]
        theta = np.array([float(m.params_[k]) for k in names_])
        pub = np.array([PUBLISHED[key][k] for k in names_])
        ll_fit, ll_pub = llf[key](theta), llf[key](pub)
        nll = float(m._negative_log_likelihood_)
        if key in ("bgnbd", "mbgnbd"):
            rel = -nll * N - sum_x * np.log(max_T)
        elif key == "pnbd":
            rel = -nll - sum_x * np.log(max_T)
        else:
            rel = -nll * n_obs[key]
        assert abs(rel - ll_fit) < 1e-6 * abs(ll_fit), (key, rel, ll_fit)
        se_lt = None
        if getattr(m, "_hessian_", None) is not None:
            se_lt = {k: float(m.summary.loc[k, "se(coef)"]) for k in names_}
        se_num = numerical_se(llf[key], theta)
        pol_theta, pol_ll = polish(llf[key], theta)
        out[key] = {
            "n": n_obs[key],
            "lifetimes_fit": {
                "params": {k: float(v) for k, v in zip(names_, theta)},
                "ll_full": ll_fit,
                "lifetimes_negative_log_likelihood_": nll,
                "ll_full_from_lifetimes_objective": float(rel),
                "se_lifetimes": se_lt,
                "se_numerical_hessian_of_ll_full": {k: float(v) for k, v in zip(names_, se_num)},
            },
            "published": {"params": PUBLISHED[key], "ll_full": ll_pub},
            "polished_not_lifetimes": {
                "params": {k: float(v) for k, v in zip(names_, pol_theta)},
                "ll_full": pol_ll,
                "note": "tight Nelder-Mead + BFGS on the full LL over log-params, started at "
                        "lifetimes' fit; an upper reference for the optimum",
            },
        }
        log(f"{key}: lifetimes {dict(zip(names_, np.round(theta, 6)))} LL {ll_fit:.6f}; "
            f"published LL {ll_pub:.6f}; polished LL {pol_ll:.6f}; se {se_lt}")
    # Pareto/NBD: the 2F1 form of A0 against direct quadrature, at the published params.
    out["meta"]["pnbd_A0_quadrature_max_rel_diff"] = pnbd_integral_check(
        [PUBLISHED["pnbd"][k] for k in ORDER["pnbd"]], X, TX, TT)
    log(f"pnbd A0 2F1 vs quadrature: max rel diff {out['meta']['pnbd_A0_quadrature_max_rel_diff']:.2e}")
    out["meta"]["readme_checks"] = readme
    out["meta"]["gg_x0_convention"] = (
        "conditional_expected_average_profit(0, zbar) = population mean v*p/(q-1) "
        f"= {pop_mean!r} at the published params (zbar is ignored when x = 0)")
    out["meta"]["clv_convention"] = (
        "customer_lifetime_value(model, ..., time=12, discount_rate=0.01, freq='W'): "
        "sum_{k=1..12} gg_exp_spend * (E[t=4.345k] - E[t=4.345(k-1)]) / 1.01^k, E = "
        "model.predict = conditional_expected_number_of_purchases_up_to_time; months of 4.345 weeks")

    path = os.path.join(args.out_dir, "clv_lifetimes_fits.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
