"""Reference population stability indices (PSI) for src/report/drift.rs, with numpy.

PSI between a reference sample (the customers a model was fitted on) and a current one:
bins are the reference's deciles (numpy.quantile, linear interpolation), duplicate edges
merged; a value goes to bin i when edge[i-1] < value <= edge[i] (numpy.digitize with
right=True on the inner edges); each bin's share is floored at 1e-4 so an empty bin does not
make the index infinite; PSI = sum (current - reference) * ln(current / reference).
Segment shares use the same formula on counts per segment.

    /work/peer-venv/bin/python benches/peers/drift_reference.py > tests/data/drift_reference.json
"""
import json

import numpy as np

FLOOR = 1e-4


def psi_values(ref, cur, bins=10):
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    inner = edges[1:-1]
    r = np.bincount(np.digitize(ref, inner, right=True), minlength=len(inner) + 1) / len(ref)
    c = np.bincount(np.digitize(cur, inner, right=True), minlength=len(inner) + 1) / len(cur)
    r, c = np.maximum(r, FLOOR), np.maximum(c, FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def psi_counts(ref, cur):
    r = np.asarray(ref, float) / np.sum(ref)
    c = np.asarray(cur, float) / np.sum(cur)
    r, c = np.maximum(r, FLOOR), np.maximum(c, FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


rng = np.random.default_rng(2026)
ref = np.round(rng.gamma(2.0, 30.0, 600), 2)
cases = {
    "same": np.round(rng.gamma(2.0, 30.0, 500), 2),
    "shifted": np.round(rng.gamma(2.0, 30.0, 500) + 15.0, 2),
    "spread": np.round(rng.gamma(1.0, 70.0, 500), 2),
    # Integer-valued with ties at the edges, and values outside the reference's range.
    "ties": np.round(rng.gamma(2.0, 30.0, 500) / 20.0) * 20.0,
}
out = {
    "generator": "benches/peers/drift_reference.py (numpy %s)" % np.__version__,
    "bins": 10,
    "floor": FLOOR,
    "reference": ref.tolist(),
    "cases": {k: {"current": v.tolist(), "psi": psi_values(ref, v)} for k, v in cases.items()},
    "segments": {
        "reference": [120, 300, 180, 0],
        "current": [100, 260, 240, 5],
        "psi": psi_counts([120, 300, 180, 0], [100, 260, 240, 5]),
    },
}
ties_ref = np.round(ref / 20.0) * 20.0
out["tied_reference"] = {
    "reference": ties_ref.tolist(),
    "current": cases["ties"].tolist(),
    "psi": psi_values(ties_ref, cases["ties"]),
}
print(json.dumps(out))
