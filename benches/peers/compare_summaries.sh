#!/usr/bin/env bash
# Summaries of the same synthetic base by custseg and by lifetimes, in one run, and the ratio.
#
#   bash benches/peers/compare_summaries.sh [customers]      # default 1,000,000 (~9.5M rows)
#
# Needs the peer venv (benches/peers/README.md); PEER_PYTHON overrides its path. Times:
# lifetimes' summary_data_from_transaction_data, best of 3, on a parsed DataFrame; custseg's
# criterion `summaries/end_to_end` (columns in, TransactionLog built, calibration summaries
# out), mean. Both get the identical rows (examples/export_synthetic.rs writes them).
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-1000000}
PY=${PEER_PYTHON:-/work/peer-venv/bin/python}
CSV=${TMPDIR:-/tmp}/custseg_synthetic_$N.csv

OBS=$(cargo run --quiet --release --example export_synthetic -- "$N" 2024 "$CSV")
echo "observation end: $OBS"
"$PY" benches/peers/summary_lifetimes.py --csv "$CSV" --observation-end "$OBS" --repeat 3 \
    > "$CSV.peer.json"
CUSTSEG_BENCH_CUSTOMERS=$N cargo bench --quiet --bench summaries -- "end_to_end|summarise_calibration"
"$PY" - "$CSV.peer.json" "$N" <<'PYEOF'
import json, sys
peer = json.load(open(sys.argv[1]))
n = sys.argv[2]
def ours(name):
    est = json.load(open(f"target/criterion/summaries/{name}/{n}/new/estimates.json"))
    return est["mean"]["point_estimate"] / 1e9
e2e, summ = ours("end_to_end"), ours("summarise_calibration")
print(f"rows {peer['rows']:,}, customers {peer['customers']:,}")
print(f"lifetimes summary_data_from_transaction_data: {peer['seconds_best']:.3f} s (best of {len(peer['seconds_all'])})")
print(f"custseg end_to_end (build log + summarise):    {e2e:.3f} s  -> {peer['seconds_best'] / e2e:.1f}x faster")
print(f"custseg summarise (log already built):          {summ:.3f} s  -> {peer['seconds_best'] / summ:.1f}x faster")
PYEOF
