#!/usr/bin/env bash
# custseg against its Python peer on the same synthetic base, in one run, with the ratio.
#
#   bash benches/peers/compare.sh summaries [customers]   # vs lifetimes' summary_data_from_transaction_data
#   bash benches/peers/compare.sh rfm [customers]         # vs pandas RFM (benches/peers/rfm_pandas.py)
#
# customers defaults to 1,000,000 (~9.5M rows). Needs the peer venv (benches/peers/README.md);
# PEER_PYTHON overrides its path. Both sides get the identical rows, written by
# examples/export_synthetic.rs. Peers: best of 3 on a parsed DataFrame (parsing not timed).
# custseg: the criterion mean of the `end_to_end` benchmark (columns in, results out).
set -euo pipefail
cd "$(dirname "$0")/../.."
WHAT=${1:?usage: compare.sh summaries|rfm [customers]}
N=${2:-1000000}
PY=${PEER_PYTHON:-/work/peer-venv/bin/python}
CSV=${TMPDIR:-/tmp}/custseg_synthetic_$N.csv

OBS=$(cargo run --quiet --release --example export_synthetic -- "$N" 2024 "$CSV")
echo "observation end: $OBS"
case "$WHAT" in
summaries)
    "$PY" benches/peers/summary_lifetimes.py --csv "$CSV" --observation-end "$OBS" --repeat 3 \
        > "$CSV.peer.json"
    "$PY" -c 'import json,sys; print(json.dumps({"none": True}))' > "$CSV.peer2.json"
    FILTER="end_to_end|summarise_calibration"
    ;;
rfm)
    "$PY" benches/peers/rfm_pandas.py --csv "$CSV" --observation-end "$OBS" --repeat 3 \
        > "$CSV.peer.json"
    "$PY" benches/peers/rfm_pandas.py --csv "$CSV" --observation-end "$OBS" --repeat 3 \
        --distinct numpy > "$CSV.peer2.json"
    FILTER="end_to_end|score_and_segment"
    ;;
*) echo "unknown comparison: $WHAT" >&2; exit 2 ;;
esac
CUSTSEG_BENCH_CUSTOMERS=$N cargo bench --quiet --bench "$WHAT" -- "$FILTER"
"$PY" - "$WHAT" "$N" "$CSV.peer.json" "$CSV.peer2.json" <<'PYEOF'
import json, sys
what, n, peer_path, peer2_path = sys.argv[1:5]
def ours(name):
    est = json.load(open(f"target/criterion/{what}/{name}/{n}/new/estimates.json"))
    return est["mean"]["point_estimate"] / 1e9
peers = [json.load(open(peer_path))]
p2 = json.load(open(peer2_path))
if "none" not in p2:
    p2["peer"] += " (numpy.unique distinct days)"
    peers.append(p2)
e2e = ours("end_to_end")
print(f"rows {peers[0]['rows']:,}, customers {peers[0]['customers']:,}")
print(f"custseg {what}/end_to_end: {e2e:.3f} s (criterion mean)")
for p in peers:
    print(f"  {p['peer']}: {p['seconds_best']:.3f} s best of {len(p['seconds_all'])} -> custseg {p['seconds_best'] / e2e:.1f}x faster")
second = "summarise_calibration" if what == "summaries" else "score_and_segment"
print(f"custseg {what}/{second} (from built log/summaries): {ours(second):.3f} s")
PYEOF
