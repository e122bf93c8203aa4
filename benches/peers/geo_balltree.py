#!/usr/bin/env python3
"""Nearest city for many customers with scikit-learn's BallTree (haversine metric).

    python geo_balltree.py --cities CITIES.csv --points POINTS.csv [--repeat 3] [--check N]

CITIES.csv: GeoNames-style table with latitude, longitude columns (e.g.
shared/data/geonames_cities15000.csv). POINTS.csv: `lat,lon` from
`cargo run --release --example export_locations`. Times (best of R): building the tree, and
building plus querying k=1 for every point (BallTree.query is single-threaded; there is no
n_jobs). Distances are reported in km on a sphere of radius 6371.0088 km, as custseg uses.
--check N writes the nearest city index and distance of the first N points for comparison.
--dbscan-points M also runs DBSCAN(eps = 25 km / R, min_samples = 10, metric='haversine',
algorithm='ball_tree') on the first M points (the geographic segmenter's density mode in
benches/geo.rs) and reports its time, clusters and noise.
One JSON line on stdout.
"""

import argparse
import json
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.neighbors import BallTree

R = 6371.0088


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cities", required=True)
    p.add_argument("--points", required=True)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--check", type=int, default=0)
    p.add_argument("--dbscan-points", type=int, default=0)
    a = p.parse_args()
    cities = pd.read_csv(a.cities, float_precision="round_trip", keep_default_na=False)
    pts = pd.read_csv(a.points, float_precision="round_trip")
    c = np.radians(cities[["latitude", "longitude"]].to_numpy(dtype=float))
    x = np.radians(pts[["lat", "lon"]].to_numpy(dtype=float))
    build, total = [], []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        tree = BallTree(c, metric="haversine")
        t1 = time.perf_counter()
        dist, idx = tree.query(x, k=1)
        t2 = time.perf_counter()
        build.append(t1 - t0)
        total.append(t2 - t0)
    rec = {
        "peer": f"sklearn {sklearn.__version__} BallTree(metric='haversine').query(k=1)",
        "cities": int(len(c)),
        "points": int(len(x)),
        "build_seconds_best": min(build),
        "build_and_query_seconds_best": min(total),
        "seconds_all": total,
    }
    if a.dbscan_points:
        from sklearn.cluster import DBSCAN

        sub = x[: a.dbscan_points]
        times, model = [], None
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            model = DBSCAN(eps=25.0 / R, min_samples=10, metric="haversine", algorithm="ball_tree").fit(sub)
            times.append(time.perf_counter() - t0)
        labels = model.labels_
        rec["dbscan"] = {
            "points": int(len(sub)),
            "seconds_best": min(times),
            "seconds_all": times,
            "clusters": int(labels.max() + 1),
            "noise": int((labels < 0).sum()),
        }
    if a.check:
        rec["check"] = [[int(i), float(d * R)] for i, d in zip(idx[: a.check, 0], dist[: a.check, 0])]
    print(json.dumps(rec))


if __name__ == "__main__":
    main()
