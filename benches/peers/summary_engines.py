#!/usr/bin/env python3
"""Speed peers: per-customer summaries and RFM as polars and DuckDB group-bys.

Usage:
    python summary_engines.py --csv PATH --observation-end YYYY-MM-DD
        [--task summary|rfm|both] [--engines polars,duckdb] [--repeat N] [--check]
        [--check-rows N] [--show-queries]

Input: the CSV of examples/export_synthetic.rs (header `customer_id,date,amount`, integer
ids, dates YYYY-MM-DD, rows in date order, rows after the observation end included). Each
engine loads it once -- polars `read_csv` into a DataFrame, DuckDB `read_csv` into a table of
an in-memory database -- and that is NOT timed (`parse_seconds`, also on stderr). Timed, best
of --repeat (default 3), each engine at its default thread count (all cores):

  summary  custseg's calibration summary (`TransactionLog::summarise(SummaryConfig::new(E))`,
           days, weeks), which is lifetimes' summary_data_from_transaction_data(freq='D',
           freq_multiplier=7): rows with date <= E (inclusive); same-day rows are one purchase
           with their amounts summed; frequency = distinct purchase days - 1; recency t_x =
           (last day - first day) / 7; T = (E - first day) / 7; monetary = mean of the per-day
           sums of the repeat days = (total - first day's sum) / frequency, 0 when frequency
           is 0. Customers whose first row is after E get no row. Two group-bys: (customer,
           day), then customer.
  rfm      what rfm_pandas.py times: rows with date <= E; per customer recency_days = E - last
           day, frequency = distinct purchase days, monetary_total = sum of the rows; the
           quintile edges of each column (linear interpolation, numpy's default = R type 7;
           polars `quantile(..., 'linear')`, DuckDB `quantile_cont`); scores
           f = 1 + #{edges < f}, m = 1 + #{edges < m}, r = 5 - #{edges < recency}; and the
           R rfm package's segment (first matching rule, else 'Others').

The result is materialised inside the engine (polars: `collect()` to a DataFrame; DuckDB:
`CREATE OR REPLACE TEMP TABLE ... AS`), not converted to Python or numpy, and not sorted
(custseg keeps first-appearance order, lifetimes sorts by id). The query text is below, in
SUMMARY_SQL / RFM_SQL and polars_summary() / polars_rfm(); --show-queries prints the SQL and
polars' optimised plans.

--check (before timing): takes every customer with id % m == 0, m chosen so the subset has
about --check-rows rows (default 20000; 0 = the whole file), writes those rows to a temporary
CSV, loads it through the same two loaders, and asserts that
  * both engines' summaries equal lifetimes' summary_data_from_transaction_data(freq='D',
    freq_multiplier=7) on that subset: same customers, frequency identical, recency, T and
    monetary within 1e-9 (absolute);
  * both engines' RFM equal rfm_pandas.rfm() on that subset: recency_days and frequency
    identical, monetary_total within 1e-9, edges within 1e-9, r/f/m scores and segment
    identical, except for customers whose value lies within 1e-9 of an edge (the last bit
    of a sum decides there; counted as edge_ties_*, see compare_rfm()).
With both engines and --check, the two engines' full-file results (the last timed run) are also
compared with each other (same tolerances). The outcome goes to stderr and into the JSON.

Output: one JSON line per (engine, task) on stdout: peer, task, rows, customers, seconds_best,
seconds_all, parse_seconds, threads, peak_rss_mb (the process's peak resident set since the
engine started loading; Linux resets the high-water mark through /proc/self/clear_refs, so
with both engines in one process the second one's figure still holds what the first one left
allocated: rss_start_mb), versions.
"""
import argparse
import datetime as dt
import gc
import json
import os
import platform
import sys
import tempfile
import time

import duckdb
import numpy as np
import polars as pl

TOL = 1e-9
QUANTILES = [0.2, 0.4, 0.6, 0.8]
# (score column, value column, edges key)
SCORES = [("r", "recency_days", "recency"), ("f", "frequency", "frequency"),
          ("m", "monetary_total", "monetary_total")]

# ----------------------------------------------------------------------------- the queries
# Loading (not timed). {path} is the CSV.

DUCKDB_LOAD_SQL = """
CREATE OR REPLACE TABLE tx AS
SELECT * FROM read_csv('{path}', header = true,
                       columns = {{'customer_id': 'BIGINT', 'date': 'DATE', 'amount': 'DOUBLE'}})
"""


def polars_load(path):
    return pl.read_csv(path, schema={"customer_id": pl.Int64, "date": pl.Date, "amount": pl.Float64})


# Per-customer summary. {obs_end} is the observation end, YYYY-MM-DD, inclusive.
# DATE - DATE is a BIGINT number of days; `/` on integers is float division in DuckDB.

SUMMARY_SQL = """
CREATE OR REPLACE TEMP TABLE summary AS
WITH days AS (
    SELECT customer_id, date, sum(amount) AS spend
    FROM tx
    WHERE date <= DATE '{obs_end}'
    GROUP BY customer_id, date
)
SELECT customer_id,
       count(*) - 1                                   AS frequency,
       (max(date) - min(date)) / 7                    AS recency,
       (DATE '{obs_end}' - min(date)) / 7             AS T,
       CASE WHEN count(*) > 1
            THEN (sum(spend) - arg_min(spend, date)) / (count(*) - 1)
            ELSE 0.0 END                              AS monetary
FROM days
GROUP BY customer_id
"""


def polars_summary(tx: pl.LazyFrame, obs_end: dt.date) -> pl.LazyFrame:
    """The polars twin of SUMMARY_SQL."""
    days = (
        tx.filter(pl.col("date") <= obs_end)
        .group_by("customer_id", "date")
        .agg(spend=pl.col("amount").sum())
    )
    return (
        days.group_by("customer_id")
        .agg(
            periods=pl.len(),
            first=pl.col("date").min(),
            last=pl.col("date").max(),
            total=pl.col("spend").sum(),
            first_spend=pl.col("spend").get(pl.col("date").arg_min()),
        )
        .select(
            "customer_id",
            frequency=pl.col("periods") - 1,
            recency=(pl.col("last") - pl.col("first")).dt.total_days() / 7,
            T=(pl.lit(obs_end) - pl.col("first")).dt.total_days() / 7,
            monetary=pl.when(pl.col("periods") > 1)
            .then((pl.col("total") - pl.col("first_spend")) / (pl.col("periods") - 1))
            .otherwise(0.0),
        )
    )


# RFM scores and the R rfm package's segments (rfm_pandas.RFM_PACKAGE, first match wins).

RFM_SQL = """
CREATE OR REPLACE TEMP TABLE rfm AS
WITH vals AS (
    SELECT customer_id,
           DATE '{obs_end}' - max(date) AS recency_days,
           count(DISTINCT date)         AS frequency,
           sum(amount)                  AS monetary_total
    FROM tx
    WHERE date <= DATE '{obs_end}'
    GROUP BY customer_id
),
edges AS (
    SELECT quantile_cont(recency_days,   [0.2, 0.4, 0.6, 0.8]) AS er,
           quantile_cont(frequency,      [0.2, 0.4, 0.6, 0.8]) AS ef,
           quantile_cont(monetary_total, [0.2, 0.4, 0.6, 0.8]) AS em
    FROM vals
),
scored AS (
    SELECT vals.*,
           5 - ((recency_days > er[1])::INT + (recency_days > er[2])::INT
              + (recency_days > er[3])::INT + (recency_days > er[4])::INT) AS r,
           1 + ((frequency > ef[1])::INT + (frequency > ef[2])::INT
              + (frequency > ef[3])::INT + (frequency > ef[4])::INT) AS f,
           1 + ((monetary_total > em[1])::INT + (monetary_total > em[2])::INT
              + (monetary_total > em[3])::INT + (monetary_total > em[4])::INT) AS m
    FROM vals CROSS JOIN edges
)
SELECT *,
       CASE
           WHEN r BETWEEN 5 AND 5 AND f BETWEEN 5 AND 5 AND m BETWEEN 5 AND 5 THEN 'Champions'
           WHEN r BETWEEN 3 AND 5 AND f BETWEEN 3 AND 5 AND m BETWEEN 2 AND 5 THEN 'Potential Loyalist'
           WHEN r BETWEEN 2 AND 4 AND f BETWEEN 2 AND 4 AND m BETWEEN 2 AND 4 THEN 'Loyal Customers'
           WHEN r BETWEEN 3 AND 4 AND f BETWEEN 1 AND 3 AND m BETWEEN 3 AND 5 THEN 'Promising'
           WHEN r BETWEEN 4 AND 5 AND f BETWEEN 1 AND 3 AND m BETWEEN 1 AND 5 THEN 'New Customers'
           WHEN r BETWEEN 1 AND 2 AND f BETWEEN 3 AND 4 AND m BETWEEN 4 AND 5 THEN 'Can''t Lose Them'
           WHEN r BETWEEN 1 AND 2 AND f BETWEEN 2 AND 5 AND m BETWEEN 4 AND 5 THEN 'At Risk'
           WHEN r BETWEEN 1 AND 3 AND f BETWEEN 3 AND 5 AND m BETWEEN 3 AND 5 THEN 'Need Attention'
           WHEN r BETWEEN 2 AND 3 AND f BETWEEN 1 AND 3 AND m BETWEEN 1 AND 4 THEN 'About To Sleep'
           WHEN r BETWEEN 1 AND 1 AND f BETWEEN 1 AND 5 AND m BETWEEN 1 AND 5 THEN 'Lost'
           ELSE 'Others'
       END AS segment
FROM scored
"""

# (name, R lo-hi, F lo-hi, M lo-hi), as rfm_pandas.RFM_PACKAGE (--check asserts they agree).
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


def polars_rfm(tx: pl.LazyFrame, obs_end: dt.date) -> pl.LazyFrame:
    """The polars twin of RFM_SQL: the edges are scalar quantile expressions over the
    per-customer values, broadcast against every customer."""
    def n_above(c):
        return pl.sum_horizontal(
            [(pl.col(c) > pl.col(c).quantile(q, interpolation="linear")).cast(pl.Int8)
             for q in QUANTILES])

    def within(c, lo, hi):
        return pl.col(c).is_between(lo, hi)

    segment = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    for name, (rl, rh), (fl, fh), (ml, mh) in RFM_PACKAGE:
        segment = segment.when(within("r", rl, rh) & within("f", fl, fh) & within("m", ml, mh)) \
            .then(pl.lit(name))
    segment = segment.otherwise(pl.lit("Others"))

    return (
        tx.filter(pl.col("date") <= obs_end)
        .group_by("customer_id")
        .agg(
            last=pl.col("date").max(),
            frequency=pl.col("date").n_unique(),
            monetary_total=pl.col("amount").sum(),
        )
        .select(
            "customer_id",
            recency_days=(pl.lit(obs_end) - pl.col("last")).dt.total_days(),
            frequency="frequency",
            monetary_total="monetary_total",
        )
        .with_columns(
            r=5 - n_above("recency_days"),
            f=1 + n_above("frequency"),
            m=1 + n_above("monetary_total"),
        )
        .with_columns(segment=segment)
    )


# ----------------------------------------------------------------------------- engines

def rss_reset():
    """Resets the kernel's peak-RSS mark (Linux >= 4.0); returns the current RSS in MB."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
    return rss_read("VmRSS")


def rss_read(field="VmHWM"):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Polars:
    name = "polars"

    def load(self, path):
        self.df = polars_load(path)
        return len(self.df)

    def threads(self):
        return pl.thread_pool_size()

    def version(self):
        return pl.__version__

    def run(self, task, obs_end):
        lf = self.df.lazy()
        q = polars_summary(lf, obs_end) if task == "summary" else polars_rfm(lf, obs_end)
        self.result = q.collect()

    def count(self, task):
        return len(self.result)

    def fetch(self, task):
        """The last result as numpy columns sorted by customer id (RFM: with the edges,
        recomputed by the query's own quantile expression on the values)."""
        d = self.result.sort("customer_id")
        out = {c: d[c].to_numpy() for c in d.columns}
        if task == "rfm":
            out["edges"] = {k: [d[v].quantile(q, interpolation="linear") for q in QUANTILES]
                            for _, v, k in SCORES}
        return out

    def explain(self, task, obs_end):
        lf = self.df.lazy()
        q = polars_summary(lf, obs_end) if task == "summary" else polars_rfm(lf, obs_end)
        return q.explain()

    def close(self):
        self.df = self.result = None


class DuckDB:
    name = "duckdb"

    def load(self, path):
        self.con = duckdb.connect(":memory:")
        self.con.execute(DUCKDB_LOAD_SQL.format(path=path.replace("'", "''")))
        return self.con.execute("SELECT count(*) FROM tx").fetchone()[0]

    def threads(self):
        return int(self.con.execute("SELECT current_setting('threads')").fetchone()[0])

    def version(self):
        return duckdb.__version__

    def run(self, task, obs_end):
        sql = SUMMARY_SQL if task == "summary" else RFM_SQL
        self.con.execute(sql.format(obs_end=obs_end.isoformat()))

    def count(self, task):
        return self.con.execute(f"SELECT count(*) FROM {self.table(task)}").fetchone()[0]

    @staticmethod
    def table(task):
        return "summary" if task == "summary" else "rfm"

    def fetch(self, task):
        """As Polars.fetch, the edges by the query's quantile_cont on the stored values."""
        t = self.table(task)
        out = self.con.execute(f"SELECT * FROM {t} ORDER BY customer_id").fetchnumpy()
        if task == "rfm":
            out["edges"] = {k: self.con.execute(
                f"SELECT quantile_cont({v}, [0.2, 0.4, 0.6, 0.8]) FROM {t}").fetchone()[0]
                for _, v, k in SCORES}
        return out

    def close(self):
        self.con.close()


ENGINES = {"polars": Polars, "duckdb": DuckDB}

# ----------------------------------------------------------------------------- checks


def compare_summary(a, b, what):
    """a, b: dicts of numpy columns sorted by id (customer_id, frequency, recency, T, monetary)."""
    assert np.array_equal(np.asarray(a["customer_id"]), np.asarray(b["customer_id"])), \
        f"{what}: customer sets differ ({len(a['customer_id'])} vs {len(b['customer_id'])})"
    assert np.array_equal(np.asarray(a["frequency"], dtype=np.int64),
                          np.asarray(b["frequency"], dtype=np.int64)), f"{what}: frequency differs"
    worst = {}
    for c in ["recency", "T", "monetary"]:
        d = float(np.max(np.abs(np.asarray(a[c], dtype=float) - np.asarray(b[c], dtype=float)),
                         initial=0.0))
        worst[c] = d
        assert d <= TOL, f"{what}: {c} differs by {d}"
    return worst


def compare_rfm(a, b, what):
    """a, b: dicts of numpy columns sorted by id, each with its own quintile edges under
    "edges". Values must agree (integers exactly, monetary_total within TOL), edges within
    TOL; scores and segments must be identical except for customers whose value lies within
    TOL of an edge: there the last bit of a sum (pandas' groupby sum is Kahan-compensated, the
    engines' are not, and each sums in its own order) or of an interpolated edge decides the
    score. Those are counted ("edge_ties"), every other difference fails the check."""
    assert np.array_equal(np.asarray(a["customer_id"]), np.asarray(b["customer_id"])), \
        f"{what}: customer sets differ"
    for c in ["recency_days", "frequency"]:
        assert np.array_equal(np.asarray(a[c], dtype=np.int64), np.asarray(b[c], dtype=np.int64)), \
            f"{what}: {c} differs"
    d = float(np.max(np.abs(np.asarray(a["monetary_total"]) - np.asarray(b["monetary_total"])),
                     initial=0.0))
    assert d <= TOL, f"{what}: monetary_total differs by {d}"
    worst = {"monetary_total": d}
    flipped = np.zeros(len(a["customer_id"]), dtype=bool)
    for s, v, k in SCORES:
        ea, eb = np.asarray(a["edges"][k], dtype=float), np.asarray(b["edges"][k], dtype=float)
        e = float(np.max(np.abs(ea - eb)))
        worst[f"edges_{k}"] = e
        assert e <= TOL, f"{what}: {k} edges differ by {e}: {ea.tolist()} vs {eb.tolist()}"
        diff = np.asarray(a[s], dtype=np.int64) != np.asarray(b[s], dtype=np.int64)
        edges = np.concatenate([ea, eb])
        near = np.zeros_like(diff)
        for x in (np.asarray(a[v], dtype=float), np.asarray(b[v], dtype=float)):
            near |= (np.abs(x[:, None] - edges[None, :]) <= TOL).any(axis=1)
        unexplained = int((diff & ~near).sum())
        assert unexplained == 0, f"{what}: score {s} differs for {unexplained} customers off the edges"
        worst[f"edge_ties_{s}"] = int(diff.sum())
        flipped |= diff
    seg = np.asarray(a["segment"]).astype(str) != np.asarray(b["segment"]).astype(str)
    n = int((seg & ~flipped).sum())
    assert n == 0, f"{what}: segment differs for {n} customers with the same scores"
    worst["edge_ties_segment"] = int(seg.sum())
    return worst


def subset_csv(path, check_rows):
    """Writes the rows of every customer with id % m == 0 to a temporary CSV; returns its
    path, row count and m."""
    full = polars_load(path)
    m = 1
    if check_rows and len(full) > check_rows:
        m = max(1, round(len(full) / check_rows))
    sub = full.filter(pl.col("customer_id") % m == 0) if m > 1 else full
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="summary_engines_check_")
    os.close(fd)
    sub.write_csv(tmp)
    return tmp, len(sub), m


def run_check(path, obs_end, engines, check_rows):
    import warnings

    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import rfm_pandas

    assert [(n, *b) for n, *b in rfm_pandas.RFM_PACKAGE] == [(n, *b) for n, *b in RFM_PACKAGE], \
        "RFM_PACKAGE differs from rfm_pandas.RFM_PACKAGE"

    tmp, rows, m = subset_csv(path, check_rows)
    try:
        pdf = pd.read_csv(tmp, dtype={"amount": np.float64})
        pdf["date"] = pd.to_datetime(pdf["date"], format="%Y-%m-%d")
        end = pd.Timestamp(obs_end)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lt = summary_data_from_transaction_data(
                pdf, "customer_id", "date", monetary_value_col="amount",
                observation_period_end=end, freq="D", freq_multiplier=7)
        lt = lt.sort_index()
        ref_summary = {"customer_id": lt.index.to_numpy(), "frequency": lt["frequency"].to_numpy(),
                       "recency": lt["recency"].to_numpy(), "T": lt["T"].to_numpy(),
                       "monetary": lt["monetary_value"].to_numpy()}
        pr, pedges = rfm_pandas.rfm(pdf, end)
        ref_rfm = {"customer_id": pr.index.to_numpy(), "recency_days": pr["recency_days"].to_numpy(),
                   "frequency": pr["frequency"].to_numpy(),
                   "monetary_total": pr["monetary_total"].to_numpy(),
                   "r": pr["r"].to_numpy(), "f": pr["f"].to_numpy(), "m": pr["m"].to_numpy(),
                   "segment": pr["segment_rfm_package"].to_numpy(), "edges": pedges}
        report = {"subset_rows": rows, "subset_id_modulus": m, "customers": int(len(lt)),
                  "repeat_customers": int((lt["frequency"] > 0).sum()), "worst": {}}
        for name in engines:
            e = ENGINES[name]()
            e.load(tmp)
            e.run("summary", obs_end)
            report["worst"][f"{name}_summary_vs_lifetimes"] = compare_summary(
                e.fetch("summary"), ref_summary, f"{name} summary vs lifetimes")
            e.run("rfm", obs_end)
            report["worst"][f"{name}_rfm_vs_pandas"] = compare_rfm(
                e.fetch("rfm"), ref_rfm, f"{name} RFM vs rfm_pandas")
            e.close()
    finally:
        os.unlink(tmp)
    print(f"check OK on {rows} rows / {report['customers']} customers "
          f"({report['repeat_customers']} with repeat purchases; ids % {m} == 0): "
          f"{json.dumps(report['worst'])}", file=sys.stderr)
    return report


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--observation-end", required=True, help="YYYY-MM-DD, inclusive")
    ap.add_argument("--task", choices=["summary", "rfm", "both"], default="both")
    ap.add_argument("--engines", default="polars,duckdb")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--check-rows", type=int, default=20000)
    ap.add_argument("--show-queries", action="store_true")
    args = ap.parse_args()

    obs_end = dt.date.fromisoformat(args.observation_end)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ENGINES:
            ap.error(f"unknown engine {e!r} (polars, duckdb)")
    tasks = ["summary", "rfm"] if args.task == "both" else [args.task]

    check = None
    if args.check:
        check = run_check(args.csv, obs_end, engines, args.check_rows)
        gc.collect()

    results = {}
    for name in engines:
        rss0 = rss_reset()
        eng = ENGINES[name]()
        t0 = time.perf_counter()
        rows = eng.load(args.csv)
        parse_s = time.perf_counter() - t0
        print(f"{name}: parse {parse_s:.3f} s ({rows} rows)", file=sys.stderr)
        for task in tasks:
            if args.show_queries:
                text = (SUMMARY_SQL if task == "summary" else RFM_SQL).format(
                    obs_end=obs_end.isoformat()) if name == "duckdb" else eng.explain(task, obs_end)
                print(f"--- {name} {task}\n{text}", file=sys.stderr)
            times = []
            for _ in range(max(1, args.repeat)):
                t = time.perf_counter()
                eng.run(task, obs_end)
                times.append(time.perf_counter() - t)
            customers = eng.count(task)
            print(f"{name} {task}: best {min(times):.3f} s of {[round(x, 3) for x in times]}",
                  file=sys.stderr)
            rec = {
                "peer": name,
                "task": task,
                "rows": int(rows),
                "customers": int(customers),
                "seconds_best": min(times),
                "seconds_all": times,
                "parse_seconds": parse_s,
                "threads": eng.threads(),
                "peak_rss_mb": round(rss_read(), 1),
                "rss_start_mb": round(rss0, 1),
                "versions": {"python": platform.python_version(), name: eng.version()},
            }
            if check is not None:
                rec["check"] = check
            if args.check and len(engines) > 1:
                results[(name, task)] = eng.fetch(task)
            print(json.dumps(rec), flush=True)
        eng.close()
        del eng
        gc.collect()

    if args.check and len(engines) > 1:
        a, b = engines[0], engines[1]
        for task in tasks:
            cmp = compare_summary if task == "summary" else compare_rfm
            worst = cmp(results[(a, task)], results[(b, task)], f"{a} vs {b} {task} (full file)")
            print(f"full file: {a} and {b} {task} agree: {json.dumps(worst)}", file=sys.stderr)


if __name__ == "__main__":
    main()
