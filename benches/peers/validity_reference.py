#!/usr/bin/env python3
"""Independent scikit-learn reference fixture for cluster-validity metrics.

Input CSV was produced by `examples/export_blobs numeric 2000 4 5 11`
(header f0,f1,f2,f3,label; floats printed shortest-round-trip by Rust).

Usage: validity_reference.py [CSV] [OUT_JSON]
"""
import json
import sys

import numpy as np
import pandas as pd
import sklearn
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_samples,
    silhouette_score,
)

csv_path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/b.csv"
out_path = (
    sys.argv[2] if len(sys.argv) > 2 else "/work/main/tests/data/sklearn_validity_reference.json"
)

df = pd.read_csv(csv_path, float_precision="round_trip")
X = df[["f0", "f1", "f2", "f3"]].to_numpy(dtype=np.float64)
planted = df["label"].to_numpy(dtype=np.int64)
idx = np.arange(len(planted))
perturbed = np.where(idx % 7 == 0, (planted + 1) % 5, planted)
merged = np.minimum(planted, 3)

labelings = {"planted": planted, "perturbed": perturbed, "merged": merged}

metrics = {}
for name, lab in labelings.items():
    metrics[name] = {
        "silhouette": float(silhouette_score(X, lab, metric="euclidean")),
        "calinski_harabasz": float(calinski_harabasz_score(X, lab)),
        "davies_bouldin": float(davies_bouldin_score(X, lab)),
    }

ari = {
    "planted_vs_perturbed": float(adjusted_rand_score(planted, perturbed)),
    "planted_vs_merged": float(adjusted_rand_score(planted, merged)),
    "perturbed_vs_merged": float(adjusted_rand_score(perturbed, merged)),
}

sil_samples = silhouette_samples(X, perturbed, metric="euclidean")

out = {
    "generator": "benches/peers/validity_reference.py (scikit-learn sklearn.metrics)",
    "source_csv": "examples/export_blobs numeric 2000 4 5 11",
    "sklearn_version": sklearn.__version__,
    "numpy_version": np.__version__,
    "pandas_version": pd.__version__,
    "n_samples": int(X.shape[0]),
    "n_features": int(X.shape[1]),
    "definitions": {
        "planted": "label column of the CSV (values 0..4)",
        "perturbed": "label_i = (planted_i + 1) % 5 if i % 7 == 0 else planted_i (i = 0-based row index)",
        "merged": "label_i = min(planted_i, 3) (merges clusters 3 and 4)",
        "silhouette": "sklearn.metrics.silhouette_score(X, labels, metric='euclidean'), exact, no sampling",
        "silhouette_samples_perturbed_first10": "sklearn.metrics.silhouette_samples(X, perturbed)[0:10]",
    },
    "metrics": metrics,
    "adjusted_rand": ari,
    "silhouette_samples_perturbed_first10": [float(v) for v in sil_samples[:10]],
}

with open(out_path, "w") as f:
    json.dump(out, f, indent=2)
    f.write("\n")
print(json.dumps(out, indent=2))
