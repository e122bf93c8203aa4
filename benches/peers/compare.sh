#!/usr/bin/env bash
# custseg against its Python peer on the same synthetic base, in one run, with the ratio.
#
#   bash benches/peers/compare.sh summaries [customers]   # vs lifetimes' summary_data_from_transaction_data
#   bash benches/peers/compare.sh rfm [customers]         # vs pandas RFM (benches/peers/rfm_pandas.py)
#   bash benches/peers/compare.sh clv [customers]         # vs lifetimes: fits on N, scoring on 10 N
#   bash benches/peers/compare.sh cluster ["100000 1000000"] # vs scikit-learn and kmodes
#   bash benches/peers/compare.sh geo [customers]         # nearest city vs scikit-learn BallTree;
#                                                         # density DBSCAN on the first 100k
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

if [ "$WHAT" = geo ]; then
    CITIES=${CUSTSEG_GEONAMES:-../shared/data/geonames_cities15000.csv}
    PTS=${TMPDIR:-/tmp}/custseg_locations_$N.csv
    cargo run --quiet --release --example export_locations -- "$CITIES" "$N" 2024 "$PTS"
    "$PY" benches/peers/geo_balltree.py --cities "$CITIES" --points "$PTS" --repeat 3 \
        --dbscan-points 100000 > "$PTS.peer.json"
    CUSTSEG_GEONAMES=$CITIES CUSTSEG_BENCH_CUSTOMERS=$N cargo bench --quiet --bench geo
    "$PY" - "$N" "$PTS.peer.json" <<'PYEOF'
import json, sys
n, peer = sys.argv[1], json.load(open(sys.argv[2]))
def ours(name, size):
    est = json.load(open(f"target/criterion/geo/{name}/{size}/new/estimates.json"))
    return est["mean"]["point_estimate"] / 1e9
o = ours("nearest_city", n)
p = peer["build_and_query_seconds_best"]
print(f"nearest city, {peer['points']:,} customers x {peer['cities']:,} cities (index build included)")
print(f"  {peer['peer']}: {p:.3f} s (best of 3, one thread)")
print(f"  custseg nearest_city: {o:.3f} s (criterion mean, all cores) -> {p / o:.1f}x")
print(f"  custseg urbanicity: {ours('urbanicity', n):.3f} s")
if "dbscan" in peer:
    m = peer["dbscan"]["points"]
    d = peer["dbscan"]["seconds_best"]
    o = ours("density_dbscan", m)
    print(f"density DBSCAN, {m:,} customers, 25 km, 10 customers (haversine ball tree vs 3-D chords)")
    print(f"  scikit-learn: {d:.3f} s ({peer['dbscan']['clusters']} clusters, {peer['dbscan']['noise']} noise)")
    print(f"  custseg density_dbscan: {o:.3f} s -> {d / o:.1f}x")
PYEOF
    exit 0
fi

if [ "$WHAT" = cluster ]; then
    # Every size: blobs(n, 8, 8, 1.0, 2024) for KMeans (lloyd, elkan), MiniBatchKMeans and
    # GaussianMixture; blobs(n, 8, 8, 3.0, 2024) (overlapping) for KMeans lloyd. kmodes'
    # KPrototypes (pure Python, ~3 minutes a fit at 100k) on mixed_blobs at the smallest size.
    SIZES=${2:-100000 1000000}
    OUT=${TMPDIR:-/tmp}/custseg_cluster
    mkdir -p "$OUT"
    : > "$OUT/peers.jsonl"
    SMALLEST=$(echo $SIZES | tr ' ' '\n' | sort -n | head -1)
    for n in $SIZES; do
        cargo run --quiet --release --example export_blobs -- numeric "$n" 8 8 2024 "$OUT/num_$n.csv"
        cargo run --quiet --release --example export_blobs -- numeric "$n" 8 8 2024 "$OUT/overlap_$n.csv" 3.0
        # DBSCAN at eps 1.5 in 8-D keeps every neighbourhood (thousands of points each) in
        # scikit-learn: 18 s at 100k, out of memory at 1M. The 2-D set below runs at every size.
        ALGOS=kmeans_lloyd,kmeans_elkan,minibatch,gmm
        [ "$n" -le 100000 ] && ALGOS=$ALGOS,dbscan
        "$PY" benches/peers/cluster_peers.py --csv "$OUT/num_$n.csv" --k 8 --repeat 3 --n-init 10 --algos "$ALGOS" \
            | sed "s/^{/{\"data\": \"num_$n\", /" >> "$OUT/peers.jsonl"
        "$PY" benches/peers/cluster_peers.py --csv "$OUT/overlap_$n.csv" --k 8 --repeat 3 --n-init 10 \
            --algos kmeans_lloyd | sed "s/^{/{\"data\": \"overlap_$n\", /" >> "$OUT/peers.jsonl"
        cargo run --quiet --release --example export_blobs -- numeric "$n" 2 8 2024 "$OUT/flat_$n.csv"
        "$PY" benches/peers/cluster_peers.py --csv "$OUT/flat_$n.csv" --k 8 --repeat 2 \
            --algos dbscan --eps 0.05 --min-samples 10 | sed "s/^{/{\"data\": \"flat_$n\", /" >> "$OUT/peers.jsonl"
        if [ "$n" = "$SMALLEST" ]; then
            cargo run --quiet --release --example export_blobs -- mixed "$n" 5 3 8 6 2024 "$OUT/mixed_$n.csv"
            "$PY" benches/peers/cluster_peers.py --mixed "$OUT/mixed_$n.csv" --k 8 --num-cols 5 \
                --cat-cols 3 --repeat 1 --n-init 1 | sed "s/^{/{\"data\": \"mixed_$n\", /" >> "$OUT/peers.jsonl"
        fi
    done
    CUSTSEG_BENCH_SIZES=$(echo $SIZES | tr ' ' ',') cargo bench --quiet --bench segment
    "$PY" - "$OUT/peers.jsonl" <<'PYEOF'
import json, os, sys
peers = [json.loads(l) for l in open(sys.argv[1])]
def ours(name, n):
    path = f"target/criterion/segment/{name}/{n}/new/estimates.json"
    if not os.path.exists(path):
        return None
    return json.load(open(path))["mean"]["point_estimate"] / 1e9
pairs = {
    ("num", "kmeans_lloyd"): "kmeans_custseg_ninit10",
    ("num", "kmeans_elkan"): "kmeans_custseg_ninit10",
    ("num", "minibatch"): "kmeans_minibatch",
    ("num", "gmm"): "gmm_custseg",
    ("num", "dbscan"): "dbscan_custseg",
    ("flat", "dbscan"): "dbscan_custseg_2d",
    ("overlap", "kmeans_lloyd"): "overlap_kmeans_custseg_ninit10",
    ("mixed", "kprototypes"): "kprototypes_ninit1",
}
print("peer (best of its runs) vs custseg (criterion mean), same data, same session")
for p in peers:
    kind, n = p["data"].rsplit("_", 1)
    algo = p.get("algo", "kprototypes")
    name = pairs.get((kind, algo))
    o = ours(name, n) if name else None
    t = p["fit_seconds_best"]
    q = p.get("inertia", p.get("cost", float("nan")))
    line = f"  {p['data']:>16} {algo:>13}: peer {t:8.3f} s (quality {q:.6g})"
    if o is not None:
        line += f"  custseg {name} {o:8.3f} s -> {t / o:6.1f}x"
    print(line)
PYEOF
    exit 0
fi

if [ "$WHAT" = clv ]; then
    FIT_CSV=${TMPDIR:-/tmp}/custseg_summaries_$N.csv
    SCORE_N=$((N * 10))
    SCORE_CSV=${TMPDIR:-/tmp}/custseg_summaries_${SCORE_N}_score.csv
    cargo run --quiet --release --example export_summaries -- "$N" 2024 "$FIT_CSV"
    cargo run --quiet --release --example export_summaries -- "$SCORE_N" 2025 "$SCORE_CSV"
    "$PY" benches/peers/clv_lifetimes.py --summaries "$FIT_CSV" --mode fit --repeat 3 > "$FIT_CSV.peer.json"
    "$PY" benches/peers/clv_lifetimes.py --summaries "$SCORE_CSV" --mode score --repeat 3 > "$SCORE_CSV.peer.json"
    CUSTSEG_BENCH_CUSTOMERS=$N CUSTSEG_BENCH_SCORE_CUSTOMERS=$SCORE_N cargo bench --quiet --bench clv
    "$PY" - "$N" "$SCORE_N" "$FIT_CSV.peer.json" "$SCORE_CSV.peer.json" <<'PYEOF'
import json, sys
n, m, fit_path, score_path = sys.argv[1:5]
def ours(name, size):
    est = json.load(open(f"target/criterion/clv/{name}/{size}/new/estimates.json"))
    return est["mean"]["point_estimate"] / 1e9
fit, score = json.load(open(fit_path)), json.load(open(score_path))
print(f"fits on {fit['customers']:,} customers (custseg: criterion mean; lifetimes: best run)")
for key, name in [("bgnbd", "fit_bgnbd"), ("pnbd", "fit_pareto_nbd")]:
    if key in fit:
        p, o = fit[key]["seconds_best"], ours(name, n)
        print(f"  {key}: lifetimes {p:.2f} s, custseg {o:.3f} s -> {p / o:.0f}x")
print(f"scoring {score['customers']:,} customers")
total_o = 0.0
for key, name in [("p_alive", "p_alive"), ("expected_39", "expected_purchases_39"), ("clv_12_months", "clv_12_months")]:
    p, o = score[key]["seconds_best"], ours(name, m)
    total_o += o
    print(f"  {key}: lifetimes {p:.2f} s, custseg {o:.3f} s -> {p / o:.0f}x")
p = score["total"]["seconds_best"]
print(f"  total: lifetimes {p:.2f} s, custseg {total_o:.3f} s -> {p / total_o:.1f}x")
PYEOF
    exit 0
fi

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
