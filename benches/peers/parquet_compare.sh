#!/usr/bin/env bash
# Per-customer summaries of one synthetic Parquet log, every engine in one run (issue 16):
# custseg's aggregate in DataFusion (`custseg_summary` in GROUP BY), DataFusion's own operators
# running the peers' query (for reference: the engine without the aggregate), the crate in process
# (Parquet → Arrow batches → custseg::arrow::Transactions), DuckDB (read_parquet) and polars
# (scan_parquet) running summary_engines.py's equivalent query. Each engine runs in its own
# process, reads the file inside the timed query, and reports rows/s and its peak resident
# memory (VmHWM); best of REPEAT runs in the process. With ROUNDS > 1 the whole sweep runs
# again, engines interleaved, so that a slow spell of a noisy machine falls on every engine
# alike: the table takes each engine's best over all rounds and prints each round's ratios.
#
#   bash benches/peers/parquet_compare.sh [customers] [repeat] [rounds]
#
# customers defaults to 10,000,000 (~100M rows, ~1.3 GB of Parquet, written once to
# ${TMPDIR:-/tmp}/custseg_tx_<customers>.parquet by the example's `write` mode: one million
# customers at a time, seeds 2024 + chunk). Needs the peer venv (benches/peers/README.md);
# PEER_PYTHON overrides its path. Prints one JSON line per engine, then a markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-10000000}
REPEAT=${2:-2}
ROUNDS=${3:-1}
PY=${PEER_PYTHON:-/work/peer-venv/bin/python}
FILE=${TMPDIR:-/tmp}/custseg_tx_$N.parquet
OUT=${TMPDIR:-/tmp}/custseg_compare
mkdir -p "$OUT"

cargo build --release -p custseg-datafusion --example parquet_summaries
BIN=target/release/examples/parquet_summaries
[ -n "${CARGO_TARGET_DIR:-}" ] && BIN=$CARGO_TARGET_DIR/release/examples/parquet_summaries
if [ ! -f "$FILE" ]; then
    "$BIN" write "$N" "$FILE.tmp" > "$FILE.end" && mv "$FILE.tmp" "$FILE"
fi
END=$(cat "$FILE.end")

: > "$OUT/parquet.jsonl"
for round in $(seq "$ROUNDS"); do
    for engine in datafusion datafusion-sql in-process; do
        "$BIN" "$engine" "$FILE" "$REPEAT" | sed "s/^{/{\"round\": $round, /" \
            | tee -a "$OUT/parquet.jsonl"
    done
    for engine in duckdb polars; do
        "$PY" benches/peers/parquet_engines.py --parquet "$FILE" --observation-end "$END" \
            --engine "$engine" --repeat "$REPEAT" | sed "s/^{/{\"round\": $round, /" \
            | tee -a "$OUT/parquet.jsonl"
    done
done

"$PY" - "$OUT/parquet.jsonl" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
name = lambda r: r["engine"] + (f" {r['version']}" if "version" in r else "")
rows = {}
for r in runs:  # each engine's best round, in the order they ran
    if name(r) not in rows or r["seconds_best"] < rows[name(r)]["seconds_best"]:
        rows[name(r)] = r
best = min(r["seconds_best"] for r in rows.values())
first = next(iter(rows.values()))
print(f"\n{first['rows']:,} rows, {max(r['customers'] for r in rows.values()):,} customers, "
      f"best of {max(r['round'] for r in runs)} round(s)\n")
print("| engine | seconds (best) | rows/s | peak memory | vs fastest |")
print("|---|---|---|---|---|")
for n, r in rows.items():
    print(f"| {n} | {r['seconds_best']:.2f} | {r['rows_per_second']/1e6:.1f} M | "
          f"{r['peak_rss_mb']/1024:.2f} GiB | {r['seconds_best']/best:.2f}× |")
print("\nEach round, custseg datafusion's time over each peer's:")
for k in sorted({r["round"] for r in runs}):
    this = {name(r): r["seconds_best"] for r in runs if r["round"] == k}
    ours = this.get("custseg datafusion")
    print(f"  round {k}: " + ", ".join(
        f"{n} {ours / t:.2f}" for n, t in this.items() if n != "custseg datafusion"))
PY
