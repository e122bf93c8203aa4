#!/usr/bin/env bash
# custseg against its Python peer on the same synthetic base, in one run, with the ratio.
#
#   bash benches/peers/compare.sh summaries [customers]   # vs lifetimes' summary_data_from_transaction_data,
#                                                         # and polars / DuckDB group-bys (summary_engines.py)
#   bash benches/peers/compare.sh rfm [customers]         # vs pandas RFM (benches/peers/rfm_pandas.py),
#                                                         # and polars / DuckDB (summary_engines.py)
#   bash benches/peers/compare.sh clv [customers]         # vs lifetimes: fits on N (run once: its
#                                                         # Pareto/NBD fit takes ~5 minutes;
#                                                         # CUSTSEG_FIT_REPEAT=3 for best of 3),
#                                                         # scoring on 10 N from summaries and
#                                                         # from columns
#   bash benches/peers/compare.sh cluster ["100000 1000000"] # vs scikit-learn and kmodes
#   bash benches/peers/compare.sh geo [customers]         # nearest city vs scikit-learn BallTree;
#                                                         # density DBSCAN on the first 100k
#   bash benches/peers/compare.sh all [customers]         # summaries, rfm, clv, cluster (default
#                                                         # sizes) and geo in sequence, then one
#                                                         # markdown table of README's Performance rows
#   bash benches/peers/compare.sh table [customers]       # that table from the modes' last runs
#
# customers defaults to 1,000,000 (~9.5M rows). Needs the peer venv (benches/peers/README.md);
# PEER_PYTHON overrides its path. Both sides get the identical rows, written by
# examples/export_synthetic.rs. Peers: best of 3 on a parsed DataFrame (parsing not timed).
# custseg: the criterion mean of the `end_to_end` benchmark (columns in, results out).
# Every mode also writes its numbers to ${TMPDIR:-/tmp}/custseg_compare/<mode>.json; `all`
# builds its table from those files.
set -euo pipefail
cd "$(dirname "$0")/../.."
WHAT=${1:?usage: compare.sh summaries|rfm|clv|cluster|geo|all|table [customers]}
N=${2:-1000000}
PY=${PEER_PYTHON:-/work/peer-venv/bin/python}
CSV=${TMPDIR:-/tmp}/custseg_synthetic_$N.csv
CMP=${TMPDIR:-/tmp}/custseg_compare
mkdir -p "$CMP"
# Where criterion writes its estimates: under the cargo target directory, wherever that is.
export CRITERION_DIR=${CARGO_TARGET_DIR:-target}/criterion

if [ "$WHAT" = all ] || [ "$WHAT" = table ]; then
    # `table` prints the table from the modes' last runs without running them again.
    [ "$WHAT" = all ] && rm -f "$CMP/summaries.json" "$CMP/rfm.json" "$CMP/clv.json" "$CMP/cluster.json" "$CMP/geo.json"
    FAILED=""
    [ "$WHAT" = all ] && for w in summaries rfm clv cluster geo; do
        echo "=== compare.sh $w ==="
        if [ "$w" = cluster ]; then
            bash benches/peers/compare.sh cluster || FAILED="$FAILED $w"
        else
            bash benches/peers/compare.sh "$w" "$N" || FAILED="$FAILED $w"
        fi
    done
    if [ -n "$FAILED" ]; then
        echo "failed:$FAILED (their rows are missing below)" >&2
    fi
    echo
    "$PY" - "$CMP" "$(date -u +%Y-%m-%d)" "$(nproc)" "$N" <<'PYEOF'
import json, os, sys
cmp_dir, day, nproc, n = sys.argv[1:5]
rows, sizes = {}, []
for mode in ["summaries", "rfm", "clv", "cluster", "geo"]:
    path = os.path.join(cmp_dir, f"{mode}.json")
    if os.path.exists(path):
        d = json.load(open(path))
        rows.update({r["key"]: r for r in d["rows"]})
        if mode == "cluster":
            sizes = d["sizes"]
small, big = (min(sizes), max(sizes)) if sizes else (None, None)
# The rows of README.md's "## Performance" table in its order, with polars and DuckDB added
# after lifetimes (summaries) and pandas (RFM).
order = ["summaries/lifetimes", "summaries/polars", "summaries/duckdb",
         "summaries/polars/reused", "summaries/duckdb/reused",
         "rfm/pandas", "rfm/polars", "rfm/duckdb",
         "clv/bgnbd", "clv/pnbd", "clv/scoring", "clv/p_alive", "clv/p_alive_into", "clv/expected_39",
         "clv/clv_12_months",
         f"cluster/num/kmeans_lloyd/{big}", f"cluster/overlap/kmeans_lloyd/{big}",
         f"cluster/num/minibatch/{big}", f"cluster/num/gmm/{small}",
         f"cluster/num/dbscan/{small}", f"cluster/flat/dbscan/{small}", f"cluster/flat/dbscan/{big}",
         "geo/density_dbscan", f"cluster/mixed/kprototypes/{small}", "geo/nearest_city"]
def secs(x):
    return f"{x:.3g} s"
def ratio(r):
    return (f"{r:.0f}" if r >= 10 else f"{r:.1f}" if r >= 1 else f"{r:.2f}") + "\u00d7"
print(f"compare.sh all, {day} (UTC), nproc {nproc}, {int(n):,} customers; ratio = peer time / "
      "custseg time (peers: best of their runs; custseg: criterion mean)")
print()
print("| task | peer | custseg | ratio |")
print("|---|---|---|---|")
missing = []
for key in dict.fromkeys(order):
    r = rows.get(key)
    if r is None:
        missing.append(key)
        continue
    o = r.get("custseg_seconds")
    peer = f"{r['peer']} {secs(r['peer_seconds'])}"
    if r.get("peer_note"):
        peer += f" ({r['peer_note']})"
    ours = secs(o) if o is not None else "\u2014"
    rat = ratio(r["peer_seconds"] / o) if o else "\u2014"
    print(f"| {r['task']} | {peer} | {ours} | {rat} |")
if missing:
    if not sizes:
        missing = [k for k in missing if not k.startswith("cluster/")] + ["cluster (no cluster.json)"]
    print(f"\nno numbers for: {', '.join(missing)}", file=sys.stderr)
PYEOF
    exit 0
fi

if [ "$WHAT" = geo ]; then
    CITIES=${CUSTSEG_GEONAMES:-../shared/data/geonames_cities15000.csv}
    PTS=${TMPDIR:-/tmp}/custseg_locations_$N.csv
    cargo run --quiet --release --example export_locations -- "$CITIES" "$N" 2024 "$PTS"
    "$PY" benches/peers/geo_balltree.py --cities "$CITIES" --points "$PTS" --repeat 3 \
        --dbscan-points 100000 > "$PTS.peer.json"
    CUSTSEG_GEONAMES=$CITIES CUSTSEG_BENCH_CUSTOMERS=$N cargo bench --quiet --bench geo
    "$PY" - "$N" "$PTS.peer.json" "$CMP/geo.json" <<'PYEOF'
import json, os, sys
n, peer = sys.argv[1], json.load(open(sys.argv[2]))
out_rows = []
def short(k):
    return f"{k / 1e6:.3g}M" if k >= 1e6 else f"{k / 1e3:.3g}k" if k >= 1e3 else str(k)
def ours(name, size):
    est = json.load(open(f"{os.environ.get('CRITERION_DIR', 'target/criterion')}/geo/{name}/{size}/new/estimates.json"))
    return est["mean"]["point_estimate"] / 1e9
o = ours("nearest_city", n)
p = peer["build_and_query_seconds_best"]
print(f"nearest city, {peer['points']:,} customers x {peer['cities']:,} cities (index build included)")
print(f"  {peer['peer']}: {p:.3f} s (best of 3, one thread)")
print(f"  custseg nearest_city: {o:.3f} s (criterion mean, all cores) -> {p / o:.1f}x")
print(f"  custseg urbanicity: {ours('urbanicity', n):.3f} s")
out_rows.append({"key": "geo/nearest_city", "peer": "BallTree (haversine)", "peer_seconds": p,
                 "custseg_seconds": o,
                 "task": f"nearest city, {short(peer['points'])} customers \u00d7 "
                         f"{peer['cities'] / 1e3:.0f}k cities (`geo`)"})
if "dbscan" in peer:
    m = peer["dbscan"]["points"]
    d = peer["dbscan"]["seconds_best"]
    o = ours("density_dbscan", m)
    print(f"density DBSCAN, {m:,} customers, 25 km, 10 customers (haversine ball tree vs 3-D chords)")
    print(f"  scikit-learn: {d:.3f} s ({peer['dbscan']['clusters']} clusters, {peer['dbscan']['noise']} noise)")
    print(f"  custseg density_dbscan: {o:.3f} s -> {d / o:.1f}x")
    out_rows.append({"key": "geo/density_dbscan", "peer": "scikit-learn (haversine ball tree)",
                     "peer_seconds": d, "custseg_seconds": o,
                     "task": f"density segments (DBSCAN), {short(m)} located customers, 25 km, "
                             "min 10 (`geo`)"})
json.dump({"mode": "geo", "customers": int(n), "peer": peer, "rows": out_rows},
          open(sys.argv[3], "w"), indent=1)
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
    "$PY" - "$OUT/peers.jsonl" "$CMP/cluster.json" "$SIZES" <<'PYEOF'
import json, os, sys
peers = [json.loads(l) for l in open(sys.argv[1])]
out_rows = []
def short(k):
    return f"{k / 1e6:.3g}M" if k >= 1e6 else f"{k / 1e3:.3g}k" if k >= 1e3 else str(k)
def task(kind, algo, n, p):
    n = short(int(n))
    if kind == "overlap":
        return f"k-means, k = 8, 10 restarts, {n} \u00d7 8, overlapping (`cluster`)"
    if algo in ("kmeans_lloyd", "kmeans_elkan"):
        return f"k-means, k = 8, 10 restarts, {n} \u00d7 8, separated (`cluster`)"
    if algo == "minibatch":
        return f"mini-batch k-means, {n} \u00d7 8, batches of 4,096 (`cluster`)"
    if algo == "gmm":
        return f"Gaussian mixture, {n} \u00d7 8, k = 8, full covariances (`cluster`)"
    if algo == "dbscan":
        e = p.get("params", {})
        return (f"DBSCAN, {n} \u00d7 {p.get('dims')}, eps {e.get('eps')}, "
                f"min {e.get('min_samples')} (`cluster`)")
    if algo == "kprototypes":
        return (f"k-prototypes, {n} \u00d7 ({p['num_cols']} numeric + {p['cat_cols']} "
                "categorical), k = 8 (`cluster`)")
    return f"{kind} {algo}, {n} (`cluster`)"
def ours(name, n):
    path = f"{os.environ.get('CRITERION_DIR', 'target/criterion')}/segment/{name}/{n}/new/estimates.json"
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
    out_rows.append({"key": f"cluster/{kind}/{algo}/{n}", "task": task(kind, algo, n, p),
                     "peer": "kmodes" if algo == "kprototypes" else "scikit-learn",
                     "peer_note": f"{p['n_steps']} steps" if "n_steps" in p else None,
                     "peer_seconds": t, "custseg_seconds": o, "custseg_benchmark": name})
json.dump({"mode": "cluster", "sizes": [int(x) for x in sys.argv[3].split()], "rows": out_rows},
          open(sys.argv[2], "w"), indent=1)
PYEOF
    exit 0
fi

if [ "$WHAT" = clv ]; then
    FIT_CSV=${TMPDIR:-/tmp}/custseg_summaries_$N.csv
    SCORE_N=$((N * 10))
    SCORE_CSV=${TMPDIR:-/tmp}/custseg_summaries_${SCORE_N}_score.csv
    cargo run --quiet --release --example export_summaries -- "$N" 2024 "$FIT_CSV"
    cargo run --quiet --release --example export_summaries -- "$SCORE_N" 2025 "$SCORE_CSV"
    "$PY" benches/peers/clv_lifetimes.py --summaries "$FIT_CSV" --mode fit --repeat ${CUSTSEG_FIT_REPEAT:-1} > "$FIT_CSV.peer.json"
    "$PY" benches/peers/clv_lifetimes.py --summaries "$SCORE_CSV" --mode score --repeat 3 > "$SCORE_CSV.peer.json"
    CUSTSEG_BENCH_CUSTOMERS=$N CUSTSEG_BENCH_SCORE_CUSTOMERS=$SCORE_N cargo bench --quiet --bench clv
    "$PY" - "$N" "$SCORE_N" "$FIT_CSV.peer.json" "$SCORE_CSV.peer.json" "$CMP/clv.json" <<'PYEOF'
import json, os, sys
n, m, fit_path, score_path = sys.argv[1:5]
out_rows = []
def short(k):
    return f"{k / 1e6:.3g}M" if k >= 1e6 else f"{k / 1e3:.3g}k" if k >= 1e3 else str(k)
def ours(name, size):
    est = json.load(open(f"{os.environ.get('CRITERION_DIR', 'target/criterion')}/clv/{name}/{size}/new/estimates.json"))
    return est["mean"]["point_estimate"] / 1e9
fit, score = json.load(open(fit_path)), json.load(open(score_path))
print(f"fits on {fit['customers']:,} customers (custseg: criterion mean; lifetimes: best run)")
for key, name in [("bgnbd", "fit_bgnbd"), ("pnbd", "fit_pareto_nbd")]:
    if key in fit:
        p, o = fit[key]["seconds_best"], ours(name, n)
        print(f"  {key}: lifetimes {p:.2f} s, custseg {o:.3f} s -> {p / o:.0f}x")
        label = {"bgnbd": "BG/NBD", "pnbd": "Pareto/NBD"}[key]
        out_rows.append({"key": f"clv/{key}", "peer": "lifetimes", "peer_seconds": p,
                         "custseg_seconds": o,
                         "task": f"{label} fit, {short(fit['customers'])} customers (`clv`)"})
print(f"scoring {score['customers']:,} customers (custseg: from summaries / from columns)")
total_o, total_c = 0.0, 0.0
labels = {"p_alive": "P(alive)", "expected_39": "E[purchases in 39 weeks]",
          "clv_12_months": "12-month CLV"}
for key, name in [("p_alive", "p_alive"), ("expected_39", "expected_purchases_39"), ("clv_12_months", "clv_12_months")]:
    p, o, c = score[key]["seconds_best"], ours(name, m), ours(name + "_columns", m)
    total_o += o
    total_c += c
    print(f"  {key}: lifetimes {p:.2f} s, custseg {o:.3f} s -> {p / o:.0f}x; "
          f"columns {c:.3f} s -> {p / c:.0f}x")
    out_rows.append({"key": f"clv/{key}", "peer": "lifetimes", "peer_seconds": p,
                     "custseg_seconds": c,
                     "task": f"{labels[key]}, {short(score['customers'])} customers, "
                             "from columns (`clv`)"})
# P(alive) into a buffer kept from call to call (`p_alive_columns_into`): what a service
# scoring batch after batch pays, without a fresh column for the kernel to map and clear.
p, i = score["p_alive"]["seconds_best"], ours("p_alive_columns_into", m)
print(f"  p_alive into a kept buffer: lifetimes {p:.2f} s, custseg {i:.4f} s -> {p / i:.1f}x")
out_rows.append({"key": "clv/p_alive_into", "peer": "lifetimes", "peer_seconds": p,
                 "custseg_seconds": i,
                 "task": "the same into a buffer kept from call to call (`clv`)"})
p = score["total"]["seconds_best"]
print(f"  total: lifetimes {p:.2f} s, custseg {total_o:.3f} s -> {p / total_o:.1f}x; "
      f"columns {total_c:.3f} s -> {p / total_c:.1f}x")
out_rows.append({"key": "clv/scoring", "peer": "lifetimes", "peer_seconds": p,
                 "custseg_seconds": total_o,
                 "task": f"P(alive) + expected purchases + CLV, {short(score['customers'])} "
                         "customers, from summaries (`clv`)"})
json.dump({"mode": "clv", "customers": int(n), "score_customers": int(m), "fit": fit,
           "score": score, "rows": out_rows}, open(sys.argv[5], "w"), indent=1)
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
    # polars and DuckDB, each on all cores; --check first asserts both equal lifetimes (and
    # rfm_pandas) on a ~20k-row subset of the same file.
    "$PY" benches/peers/summary_engines.py --csv "$CSV" --observation-end "$OBS" --repeat 3 \
        --task summary --check > "$CSV.engines.jsonl"
    FILTER="end_to_end|summarise_calibration"
    ;;
rfm)
    "$PY" benches/peers/rfm_pandas.py --csv "$CSV" --observation-end "$OBS" --repeat 3 \
        > "$CSV.peer.json"
    "$PY" benches/peers/rfm_pandas.py --csv "$CSV" --observation-end "$OBS" --repeat 3 \
        --distinct numpy > "$CSV.peer2.json"
    "$PY" benches/peers/summary_engines.py --csv "$CSV" --observation-end "$OBS" --repeat 3 \
        --task rfm --check > "$CSV.engines.jsonl"
    FILTER="end_to_end|score_and_segment"
    ;;
*) echo "unknown comparison: $WHAT" >&2; exit 2 ;;
esac
CUSTSEG_BENCH_CUSTOMERS=$N cargo bench --quiet --bench "$WHAT" -- "$FILTER"
"$PY" - "$WHAT" "$N" "$CSV.peer.json" "$CSV.peer2.json" "$CSV.engines.jsonl" "$CMP/$WHAT.json" <<'PYEOF'
import json, os, sys
what, n, peer_path, peer2_path, engines_path, out_path = sys.argv[1:7]
def ours(name):
    est = json.load(open(f"{os.environ.get('CRITERION_DIR', 'target/criterion')}/{what}/{name}/{n}/new/estimates.json"))
    return est["mean"]["point_estimate"] / 1e9
def short(k):
    return f"{k / 1e6:.3g}M" if k >= 1e6 else f"{k / 1e3:.3g}k" if k >= 1e3 else str(k)
def versus(r):
    return f"custseg {r:.1f}x faster" if r >= 1 else f"custseg {1 / r:.1f}x slower"
peers = [json.load(open(peer_path))]
p2 = json.load(open(peer2_path))
if "none" not in p2:
    p2["peer"] += " (numpy.unique distinct days)"
    peers.append(p2)
engines = [json.loads(l) for l in open(engines_path) if l.strip()]
names = {"polars": "polars", "duckdb": "DuckDB"}
e2e = ours("end_to_end")
print(f"rows {peers[0]['rows']:,}, customers {peers[0]['customers']:,}")
print(f"custseg {what}/end_to_end: {e2e:.3f} s (criterion mean)")
for p in peers:
    print(f"  {p['peer']}: {p['seconds_best']:.3f} s best of {len(p['seconds_all'])} -> {versus(p['seconds_best'] / e2e)}")
for p in engines:
    r = p["seconds_best"] / e2e
    print(f"  {names[p['peer']]} {p['versions'][p['peer']]} ({p['threads']} threads): "
          f"{p['seconds_best']:.3f} s best of {len(p['seconds_all'])} (parse {p['parse_seconds']:.2f} s "
          f"not timed, peak RSS {p['peak_rss_mb']:.0f} MB) -> ratio {r:.2f}, {versus(r)}")
if engines and "check" in engines[0]:
    c = engines[0]["check"]
    print(f"  (polars and DuckDB equal lifetimes' summaries and rfm_pandas on {c['subset_rows']:,} rows "
          f"/ {c['customers']:,} customers of this file)")
reused = None
if what == "summaries":
    # The same call as a service repeats it: one SummaryWorkspace kept across calls and each
    # result recycled (no fresh memory for the kernel to map and clear every call).
    reused = ours("end_to_end_reused_workspace")
    print(f"custseg {what}/end_to_end_reused_workspace: {reused:.3f} s (criterion mean)")
    for p in engines:
        r = p["seconds_best"] / reused
        print(f"  {names[p['peer']]}: {p['seconds_best']:.3f} s -> ratio {r:.2f}, {versus(r)}")
second = "summarise_calibration" if what == "summaries" else "score_and_segment"
o2 = ours(second)
print(f"custseg {what}/{second} (from built log/summaries): {o2:.3f} s")
if what == "summaries":
    task = (f"summaries, {short(int(n))} customers / {short(peers[0]['rows'])} rows "
            "(`summaries`)")
    first = "lifetimes"
else:
    task = f"RFM scores and segments, {short(int(n))} customers (`rfm`)"
    first = "pandas"
out_rows = [{"key": f"{what}/{first}", "task": task, "peer": first,
             "peer_seconds": peers[0]["seconds_best"], "custseg_seconds": e2e}]
for p in engines:
    out_rows.append({"key": f"{what}/{p['peer']}", "task": task,
                     "peer": names[p["peer"]],
                     "peer_note": f"{p['versions'][p['peer']]}, {p['threads']} threads",
                     "peer_seconds": p["seconds_best"], "custseg_seconds": e2e})
if reused is not None:
    for p in engines:
        out_rows.append({"key": f"{what}/{p['peer']}/reused",
                         "task": task.replace("(`summaries`)", "(`summaries`, repeated with one `SummaryWorkspace`)"),
                         "peer": names[p["peer"]],
                         "peer_note": f"{p['versions'][p['peer']]}, {p['threads']} threads",
                         "peer_seconds": p["seconds_best"], "custseg_seconds": reused})
json.dump({"mode": what, "customers": int(n), "custseg_end_to_end": e2e,
           "custseg_end_to_end_reused_workspace": reused,
           f"custseg_{second}": o2, "peers": peers, "engines": engines, "rows": out_rows},
          open(out_path, "w"), indent=1)
PYEOF
