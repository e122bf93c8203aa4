#!/usr/bin/env python3
"""Speed peers on a Parquet file: per-customer summaries by DuckDB and polars, reading the
file inside the timed query (as custseg's DataFusion aggregate does).

Usage:
    python parquet_engines.py --parquet PATH --observation-end YYYY-MM-DD
        [--engine duckdb|polars] [--repeat N]

The file is the one `cargo run --release -p custseg-datafusion --example parquet_summaries --
write N PATH` writes (customer_id Int64, date Date32, amount Float64). The queries are
summary_engines.py's (SUMMARY_SQL, polars_summary): the summary of custseg's
`SummaryConfig::new(E)` in days and weeks, with DuckDB reading `read_parquet(PATH)` and polars
`scan_parquet(PATH)`, the result materialised in the engine (DuckDB: a temp table; polars: a
collected DataFrame). One engine per process (run the script once per engine) so the peak
resident memory (VmHWM) is that engine's alone. Prints one JSON line: engine, rows,
customers, seconds_best, seconds_all, rows_per_second, peak_rss_mb, threads, version.
"""
import argparse
import datetime as dt
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from summary_engines import SUMMARY_SQL, polars_summary, rss_read  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parquet", required=True)
    ap.add_argument("--observation-end", required=True)
    ap.add_argument("--engine", choices=["duckdb", "polars"], required=True)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    obs_end = dt.date.fromisoformat(a.observation_end)
    times = []
    if a.engine == "duckdb":
        import duckdb

        con = duckdb.connect()
        con.execute(f"CREATE OR REPLACE VIEW tx AS SELECT * FROM read_parquet('{a.parquet}')")
        rows = con.execute("SELECT count(*) FROM tx").fetchone()[0]
        sql = SUMMARY_SQL.format(obs_end=obs_end.isoformat())
        for _ in range(a.repeat):
            t = time.perf_counter()
            con.execute(sql)
            times.append(time.perf_counter() - t)
        customers = con.execute("SELECT count(*) FROM summary").fetchone()[0]
        version, threads = duckdb.__version__, con.execute(
            "SELECT current_setting('threads')").fetchone()[0]
    else:
        import polars as pl

        rows = pl.scan_parquet(a.parquet).select(pl.len()).collect().item()
        for _ in range(a.repeat):
            t = time.perf_counter()
            out = polars_summary(pl.scan_parquet(a.parquet), obs_end).collect()
            times.append(time.perf_counter() - t)
        customers = out.height
        version, threads = pl.__version__, pl.thread_pool_size()
    best = min(times)
    print(json.dumps({
        "engine": a.engine, "version": version, "rows": rows, "customers": customers,
        "seconds_best": round(best, 4), "seconds_all": [round(t, 4) for t in times],
        "rows_per_second": round(rows / best), "peak_rss_mb": round(rss_read()),
        "threads": threads,
    }))


if __name__ == "__main__":
    main()
