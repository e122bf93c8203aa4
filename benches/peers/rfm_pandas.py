#!/usr/bin/env python3
"""RFM scoring peer in plain pandas/numpy: CDNOW reference fixture + speed baseline.

An independent implementation of the crate's RFM spec, written straight from the spec
(not from the Rust code):

  * observation end E (inclusive); only rows with date <= E are used; every customer with
    at least one such row is scored;
  * recency_days = (E - last purchase date) in whole days;
  * frequency = number of DISTINCT purchase days (same-day rows are one purchase),
    frequency_repeat = frequency - 1;
  * monetary_total = sum of the amounts of the rows, monetary_mean = monetary_total / frequency;
  * n = 5 scores: edges = numpy.quantile(v, [0.2, 0.4, 0.6, 0.8]) (default 'linear', i.e.
    R/Hyndman-Fan type 7) over all scored customers, separately for each column, then
        f        = 1 + searchsorted(edges_frequency,        frequency,        side='left')
        m        = 1 + searchsorted(edges_monetary_total,   monetary_total,   side='left')
        r        = 5 - searchsorted(edges_recency,          recency_days,     side='left')
        f_repeat = 1 + searchsorted(edges_frequency_repeat, frequency_repeat, side='left')
        m_mean   = 1 + searchsorted(edges_monetary_mean,    monetary_mean,    side='left')
    (searchsorted 'left' = number of edges strictly below the value);
  * segments from (r, f, m), first matching rule wins (numpy.select keeps the first true
    condition): the "rfm package 0.3" table (default "Others") and the "five tiers" table
    (default "Other") -- see RFM_PACKAGE and five_tiers() below.

Usage
-----
1. CDNOW fixture (tests/data/cdnow_rfm_pandas.csv + cdnow_rfm_pandas_edges.json):

    /work/peer-venv/bin/python benches/peers/rfm_pandas.py \\
        --cdnow ../shared/data/cdnow_sample_transactions.txt \\
        --out tests/data/cdnow_rfm_pandas.csv \\
        --edges-out tests/data/cdnow_rfm_pandas_edges.json

   Input: the CDNOW 1/10th sample, whitespace separated, no header:
   master_id customer_id yyyymmdd n_cds dollar_value; the id is the 2nd column (1..2357).
   E = 1997-09-30 (change with --observation-end). Output columns, one row per customer
   sorted by id:
       id,recency_days,frequency,frequency_repeat,monetary_total,monetary_mean,
       r,f,m,f_repeat,m_mean,segment_rfm_package,segment_five_tiers
   Integers as integers, floats with repr() (shortest round-trip). The JSON holds the five
   edge arrays (keys recency, frequency, frequency_repeat, monetary_total, monetary_mean),
   floats with full precision. monetary_total is pandas' groupby sum (which uses Kahan
   compensated summation); the script checks it against a plain left-to-right sum in file
   order and prints how many customers differ in the last bits (stderr).

2. Speed peer:

    /work/peer-venv/bin/python benches/peers/rfm_pandas.py \\
        --csv /tmp/synth_rfm_10m.csv --observation-end 2025-06-30 --repeat 3

   Input: header customer_id,date,amount (integer ids, YYYY-MM-DD dates). Parsing and the
   string -> datetime64 conversion are NOT timed (parse_seconds, also on stderr). The timed
   part (best of N) is the whole RFM computation from the parsed DataFrame: filter date <= E,
   per-customer last date / distinct days / amount sum, recency days, the three r/f/m edge
   arrays, the r/f/m scores and the rfm-package segment (numpy.select). Distinct-day count
   idiom (--distinct): `drop_duplicates` (default) = drop_duplicates(['customer_id', 'date'])
   then groupby('customer_id').size(); about 2x faster than groupby(...)['date'].nunique()
   and than groupby([id, date]).size().groupby(level=0).size() on pandas 1.5.3. `numpy` =
   numpy.unique on an int64 (id * 100000 + day) key, faster still but needs non-negative
   integer ids. Prints one JSON line on stdout.

   Throwaway input (do not commit): 1M customers / 10M rows, dates 2024-01-01..2025-06-30,
   gamma amounts:

    /work/peer-venv/bin/python -c "
    import numpy as np, pandas as pd
    nc, n = 1_000_000, 10_000_000; rng = np.random.default_rng(42)
    c = rng.integers(1, nc + 1, n); c[:nc] = np.arange(1, nc + 1)
    d = (np.datetime64('2024-01-01') + rng.integers(0, 547, n).astype('timedelta64[D]')).astype(str)
    pd.DataFrame({'customer_id': c, 'date': d, 'amount': np.round(rng.gamma(2, 20, n), 2)}).to_csv('/tmp/synth_rfm_10m.csv', index=False)"
"""
import argparse
import csv
import json
import math
import platform
import sys
import time
from collections import defaultdict
from datetime import date as _date

import numpy as np
import pandas as pd

QUANTILES = [0.2, 0.4, 0.6, 0.8]
N_SCORES = 5

# (name, R lo-hi, F lo-hi, M lo-hi), first match wins, else "Others".
RFM_PACKAGE = [
    ("Champions",          (5, 5), (5, 5), (5, 5)),
    ("Potential Loyalist", (3, 5), (3, 5), (2, 5)),
    ("Loyal Customers",    (2, 4), (2, 4), (2, 4)),
    ("Promising",          (3, 4), (1, 3), (3, 5)),
    ("New Customers",      (4, 5), (1, 3), (1, 5)),
    ("Can't Lose Them",    (1, 2), (3, 4), (4, 5)),
    ("At Risk",            (1, 2), (2, 5), (4, 5)),
    ("Need Attention",     (1, 3), (3, 5), (3, 5)),
    ("About To Sleep",     (2, 3), (1, 3), (1, 4)),
    ("Lost",               (1, 1), (1, 5), (1, 5)),
]
RFM_PACKAGE_DEFAULT = "Others"
FIVE_TIERS_DEFAULT = "Other"


def edges_of(v):
    return np.quantile(v, QUANTILES)


def score_up(edges, v):
    return 1 + np.searchsorted(edges, v, side="left")


def score_down(edges, v):
    return N_SCORES - np.searchsorted(edges, v, side="left")


def segment_rfm_package(r, f, m):
    conds = [
        (r >= rl) & (r <= rh) & (f >= fl) & (f <= fh) & (m >= ml) & (m <= mh)
        for _, (rl, rh), (fl, fh), (ml, mh) in RFM_PACKAGE
    ]
    return np.select(conds, [name for name, *_ in RFM_PACKAGE], default=RFM_PACKAGE_DEFAULT)


def five_tiers(r, f, m):
    top_r, top_f, top_m = r >= 4, f >= 4, m >= 4
    conds = [
        top_r & top_f & top_m,
        top_r & top_f & ~top_m,
        top_r & ~top_f & top_m,
        (r == 1) & (f == 1) & (m <= 2),
        (r <= 2) & ~top_f & ~top_m,
    ]
    return np.select(conds, ["Gold", "Value", "Growth", "Lost", "Dormant"],
                     default=FIVE_TIERS_DEFAULT)


def distinct_days(d, id_col, date_col, how):
    """Number of distinct purchase days per customer, indexed by sorted customer id."""
    if how == "drop_duplicates":
        return d.drop_duplicates([id_col, date_col]).groupby(id_col, sort=True).size()
    # how == "numpy": one int64 key per (customer, day), numpy.unique, count per customer.
    # Needs non-negative integer ids below ~9e13 (days since 1970 < 100_000).
    ids = d[id_col].to_numpy()
    days = d[date_col].to_numpy().astype("datetime64[D]").astype(np.int64)
    u_ids, counts = np.unique(np.unique(ids.astype(np.int64) * 100_000 + days) // 100_000,
                              return_counts=True)
    return pd.Series(counts, index=pd.Index(u_ids, name=id_col))


def rfm(df, obs_end, id_col="customer_id", date_col="date", amount_col="amount", full=False,
        distinct="drop_duplicates"):
    """The whole RFM computation from a parsed frame (date column already datetime64).

    full=False computes what the speed peer times (r, f, m + rfm-package segment);
    full=True adds frequency_repeat / monetary_mean scores and the five-tier segment.
    Returns (table indexed by customer id, sorted; dict of edge arrays).
    """
    d = df[df[date_col] <= obs_end]
    g = d.groupby(id_col, sort=True)
    last = g[date_col].max()
    total = g[amount_col].sum()
    freq = distinct_days(d, id_col, date_col, distinct)
    assert freq.index.equals(last.index)
    out = pd.DataFrame({
        "recency_days": (obs_end - last).dt.days.astype(np.int64),
        "frequency": freq.astype(np.int64),
        "monetary_total": total,
    })
    rec = out["recency_days"].to_numpy()
    fr = out["frequency"].to_numpy()
    mt = out["monetary_total"].to_numpy()
    edges = {
        "recency": edges_of(rec),
        "frequency": edges_of(fr),
        "monetary_total": edges_of(mt),
    }
    r = score_down(edges["recency"], rec)
    f = score_up(edges["frequency"], fr)
    m = score_up(edges["monetary_total"], mt)
    out["r"], out["f"], out["m"] = r, f, m
    out["segment_rfm_package"] = segment_rfm_package(r, f, m)
    if full:
        frr = fr - 1
        mm = mt / fr
        edges["frequency_repeat"] = edges_of(frr)
        edges["monetary_mean"] = edges_of(mm)
        out["frequency_repeat"] = frr
        out["monetary_mean"] = mm
        out["f_repeat"] = score_up(edges["frequency_repeat"], frr)
        out["m_mean"] = score_up(edges["monetary_mean"], mm)
        out["segment_five_tiers"] = five_tiers(r, f, m)
    return out, edges


# ----------------------------------------------------------------------------- fixture

FIXTURE_COLS = ["recency_days", "frequency", "frequency_repeat", "monetary_total",
                "monetary_mean", "r", "f", "m", "f_repeat", "m_mean",
                "segment_rfm_package", "segment_five_tiers"]
FLOAT_COLS = {"monetary_total", "monetary_mean"}
STR_COLS = {"segment_rfm_package", "segment_five_tiers"}


def read_cdnow(path):
    tx = pd.read_csv(
        path, sep=r"\s+", header=None,
        names=["master_id", "customer_id", "date", "n_cds", "dollar_value"],
        dtype={"master_id": np.int64, "customer_id": np.int64, "date": str,
               "n_cds": np.int64, "dollar_value": np.float64},
    )
    tx["date"] = pd.to_datetime(tx["date"], format="%Y%m%d")
    return tx


def naive_check(path, obs_end, out):
    """Recompute the per-customer columns with plain Python (no pandas) and compare."""
    e = obs_end.date()
    days = defaultdict(set)
    last = {}
    tot = defaultdict(float)
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            cid, ds, amt = int(parts[1]), parts[2], float(parts[4])
            dt = _date(int(ds[:4]), int(ds[4:6]), int(ds[6:8]))
            if dt > e:
                continue
            days[cid].add(dt)
            last[cid] = max(last.get(cid, dt), dt)
            tot[cid] += amt  # left-to-right in file order
    ids = sorted(days)
    assert ids == list(out.index), "customer set differs"
    assert [(e - last[c]).days for c in ids] == list(out["recency_days"])
    assert [len(days[c]) for c in ids] == list(out["frequency"])
    naive = np.array([tot[c] for c in ids])
    pd_tot = out["monetary_total"].to_numpy()
    assert np.allclose(naive, pd_tot, rtol=1e-12, atol=1e-9)
    n_bits = int((naive != pd_tot).sum())
    # Would the scores change if the naive sums were used?
    e_n = edges_of(naive)
    m_n = score_up(e_n, naive)
    mm_n = score_up(edges_of(naive / out["frequency"].to_numpy()), naive / out["frequency"].to_numpy())
    return n_bits, int((m_n != out["m"].to_numpy()).sum()), int((mm_n != out["m_mean"].to_numpy()).sum())


def spec_check(out, edges):
    """Cross-check the vectorised scores/segments with a scalar re-implementation."""
    def n_below(ed, x):
        return sum(1 for e in ed if e < x)

    for cid, row in out.iterrows():
        assert row["r"] == 5 - n_below(edges["recency"], row["recency_days"])
        assert row["f"] == 1 + n_below(edges["frequency"], row["frequency"])
        assert row["m"] == 1 + n_below(edges["monetary_total"], row["monetary_total"])
        assert row["f_repeat"] == 1 + n_below(edges["frequency_repeat"], row["frequency_repeat"])
        assert row["m_mean"] == 1 + n_below(edges["monetary_mean"], row["monetary_mean"])
        r, f, m = row["r"], row["f"], row["m"]
        seg = RFM_PACKAGE_DEFAULT
        for name, (rl, rh), (fl, fh), (ml, mh) in RFM_PACKAGE:
            if rl <= r <= rh and fl <= f <= fh and ml <= m <= mh:
                seg = name
                break
        assert row["segment_rfm_package"] == seg, (cid, seg)
        top = lambda s: s >= 4
        if top(r) and top(f) and top(m):
            t = "Gold"
        elif top(r) and top(f) and not top(m):
            t = "Value"
        elif top(r) and not top(f) and top(m):
            t = "Growth"
        elif r == 1 and f == 1 and m <= 2:
            t = "Lost"
        elif r <= 2 and not top(f) and not top(m):
            t = "Dormant"
        else:
            t = FIVE_TIERS_DEFAULT
        assert row["segment_five_tiers"] == t, (cid, t)


def fixture(args):
    obs_end = pd.Timestamp(args.observation_end)
    tx = read_cdnow(args.cdnow)
    out, edges = rfm(tx, obs_end, amount_col="dollar_value", full=True)
    out.index.name = "id"
    assert (out["frequency_repeat"] == out["frequency"] - 1).all()
    alt, _ = rfm(tx, obs_end, amount_col="dollar_value", distinct="numpy")
    assert (alt["frequency"] == out["frequency"]).all() and alt.index.equals(out.index)
    spec_check(out, edges)
    n_bits, n_m, n_mm = naive_check(args.cdnow, obs_end, out)
    print(f"customers: {len(out)}; monetary_total differs from a naive file-order sum in the "
          f"last bits for {n_bits} customers (m changes for {n_m}, m_mean for {n_mm})",
          file=sys.stderr)

    with open(args.out, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["id"] + FIXTURE_COLS)
        for cid, row in zip(out.index, out[FIXTURE_COLS].itertuples(index=False)):
            vals = [int(cid)]
            for c, v in zip(FIXTURE_COLS, row):
                if c in FLOAT_COLS:
                    assert math.isfinite(v)
                    vals.append(repr(float(v)))
                elif c in STR_COLS:
                    vals.append(str(v))
                else:
                    vals.append(int(v))
            w.writerow(vals)
    keys = ["recency", "frequency", "frequency_repeat", "monetary_total", "monetary_mean"]
    with open(args.edges_out, "w") as fh:
        json.dump({k: [float(x) for x in edges[k]] for k in keys}, fh, indent=2)
        fh.write("\n")

    summary = {"edges": {k: [float(x) for x in edges[k]] for k in keys}}
    for c in ["r", "f", "m", "f_repeat", "m_mean"]:
        vc = out[c].value_counts()
        summary[c] = {s: int(vc.get(s, 0)) for s in range(1, N_SCORES + 1)}
    for c in ["segment_rfm_package", "segment_five_tiers"]:
        summary[c] = {k: int(v) for k, v in out[c].value_counts().items()}
    print(json.dumps(summary, indent=1), file=sys.stderr)


# ------------------------------------------------------------------------------- speed

def speed(args):
    t0 = time.perf_counter()
    df = pd.read_csv(args.csv, dtype={"amount": np.float64})
    if list(df.columns[:3]) != ["customer_id", "date", "amount"]:
        sys.exit(f"expected header customer_id,date,amount, got {list(df.columns)}")
    df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d")
    obs_end = pd.Timestamp(args.observation_end)
    parse_s = time.perf_counter() - t0
    print(f"parse: {parse_s:.3f} s ({len(df)} rows, customer_id dtype {df['customer_id'].dtype})",
          file=sys.stderr)

    times, out = [], None
    for _ in range(max(1, args.repeat)):
        t = time.perf_counter()
        out, _edges = rfm(df, obs_end, distinct=args.distinct)
        times.append(time.perf_counter() - t)
        print(f"run: {times[-1]:.3f} s", file=sys.stderr)

    print(json.dumps({
        "peer": "pandas RFM",
        "rows": int(len(df)),
        "customers": int(len(out)),
        "seconds_best": min(times),
        "seconds_all": times,
        "parse_seconds": parse_s,
        "distinct_days": args.distinct,
        "versions": {
            "python": platform.python_version(),
            "pandas": pd.__version__,
            "numpy": np.__version__,
        },
    }))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cdnow", help="CDNOW transactions file (fixture mode)")
    ap.add_argument("--out", help="fixture CSV path")
    ap.add_argument("--edges-out", help="fixture edges JSON path")
    ap.add_argument("--csv", help="customer_id,date,amount CSV (speed mode)")
    ap.add_argument("--observation-end", default=None,
                    help="YYYY-MM-DD, inclusive (fixture default 1997-09-30; required for --csv)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--distinct", choices=["drop_duplicates", "numpy"], default="drop_duplicates",
                    help="distinct-day idiom in speed mode (default drop_duplicates)")
    args = ap.parse_args()
    if args.cdnow:
        if not (args.out and args.edges_out):
            ap.error("--cdnow needs --out and --edges-out")
        if args.observation_end is None:
            args.observation_end = "1997-09-30"
        fixture(args)
    elif args.csv:
        if args.observation_end is None:
            ap.error("--csv needs --observation-end")
        speed(args)
    else:
        ap.error("give --cdnow (fixture) or --csv (speed)")


if __name__ == "__main__":
    main()
