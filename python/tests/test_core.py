"""The package's own behaviour: inputs it accepts, errors it raises, models it round-trips."""

import datetime
import pickle
import threading
import time

import numpy as np
import pyarrow as pa
import pytest

import custseg

END, HOLDOUT = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def tx():
    return custseg.cdnow_sample()


@pytest.fixture(scope="module")
def summaries(tx):
    return custseg.summarise(tx, END, holdout_end=HOLDOUT)


def test_cdnow_summaries_have_the_published_counts(tx, summaries):
    assert tx.num_rows == 6919
    assert len(summaries) == 2357
    x = summaries.frequency.to_numpy()
    assert (x > 0).sum() == 946
    assert x.sum() == 2457
    t = summaries.to_arrow()
    assert t.column_names[:4] == ["customer_id", "first_purchase", "last_purchase", "frequency"]
    assert t.schema.metadata[b"custseg.unit"] == b"weeks"
    assert summaries.unit == "weeks"
    # The table reads back to the same summaries.
    back = custseg.Summaries.from_arrow(t, unit="weeks")
    assert back.to_arrow().equals(t)
    # Arrow consumers take Summaries directly (PyCapsule stream).
    assert pa.table(summaries).equals(t)


def test_every_table_kind_gives_the_same_summaries(tx, summaries):
    want = summaries.to_arrow()
    pandas_df = tx.to_pandas()
    text_keys = tx.set_column(0, "customer_id", pa.compute.cast(tx["customer_id"], pa.string()))
    timestamps = tx.set_column(1, "date", pa.compute.cast(tx["date"], pa.timestamp("us")))
    for source in [
        pandas_df,
        tx.to_batches()[0] if len(tx.to_batches()) == 1 else tx.combine_chunks().to_batches()[0],
        pa.RecordBatchReader.from_batches(tx.schema, tx.to_batches()),
        text_keys,
        timestamps,
    ]:
        got = custseg.summarise(source, END, holdout_end=HOLDOUT).to_arrow()
        assert got.equals(want)
    dates = custseg.summarise(
        tx, datetime.date(1997, 9, 30), holdout_end=datetime.datetime(1998, 6, 30, 12, 0)
    )
    assert dates.to_arrow().equals(want)
    renamed = tx.rename_columns(["cust", "day", "value"])
    got = custseg.summarise(
        renamed, END, holdout_end=HOLDOUT, customer_id="cust", date="day", amount="value"
    )
    assert got.to_arrow().equals(want)


def test_partials_of_any_split_merge_to_the_one_pass_summaries(tx, summaries):
    want = summaries.to_arrow().sort_by("customer_id")
    n = tx.num_rows
    for parts in [2, 3, 7]:
        # Rows dealt round-robin: every customer's days are spread over the parts.
        idx = np.arange(n)
        pieces = [
            custseg.partial_summaries(tx.take(pa.array(idx[idx % parts == p])))
            for p in range(parts)
        ]
        assert pieces[0].column_names == [
            "customer_id", "date", "spend", "residual", "transactions",
        ]
        merged = custseg.summarise_partials(
            pa.concat_tables(pieces[::-1]), END, holdout_end=HOLDOUT
        )
        assert merged.to_arrow().sort_by("customer_id").equals(want)
    with pytest.raises(custseg.ParameterError) as e:
        custseg.partial_summaries(tx, returns="net")
    assert "repartition by customer" in str(e.value)


def test_errors_name_the_row_customer_and_column(tx):
    amounts = tx["amount"].to_pylist()
    amounts[17] = None
    with_null = tx.set_column(2, "amount", pa.array(amounts, pa.float64()))
    with pytest.raises(custseg.DataError) as e:
        custseg.summarise(with_null, END)
    assert (e.value.row, e.value.column, e.value.kind) == (17, "amount", "data")
    assert isinstance(e.value, custseg.Error) and isinstance(e.value, ValueError)

    amounts = tx["amount"].to_pylist()
    amounts[5] = -3.0
    negative = tx.set_column(2, "amount", pa.array(amounts, pa.float64()))
    with pytest.raises(custseg.DataError) as e:
        custseg.summarise(negative, END)
    assert e.value.row == 5 and e.value.variant == "NegativeAmount"
    # The same rows with returns dropped summarise.
    assert len(custseg.summarise(negative, END, returns="drop")) == 2357

    with pytest.raises(custseg.ParameterError) as e:
        custseg.summarise(tx, END, unit="fortnights")
    assert e.value.kind == "parameter"
    with pytest.raises(custseg.ParameterError):
        custseg.summarise(tx, "30/09/1997")
    with pytest.raises(custseg.ParameterError) as e:
        custseg.summarise(tx.drop_columns(["amount"]), END)
    assert "amount" in str(e.value)

    # Histories that cannot be: t_x past T, at row 2.
    with pytest.raises(custseg.DataError) as e:
        custseg.BgNbd(0.24, 4.4, 0.79, 2.4).p_alive([1, 2, 3], [1.0, 2.0, 9.0], [5.0, 5.0, 5.0])
    assert e.value.row == 2
    # Parameters out of range.
    with pytest.raises(custseg.ParameterError):
        custseg.BgNbd(-1.0, 4.4, 0.79, 2.4)


def test_models_fit_score_and_round_trip_through_json_and_pickle(summaries):
    bg = custseg.BgNbd.fit(summaries)
    assert bg.report["log_likelihood"] == pytest.approx(-9582.4292, abs=1e-3)
    p = bg.p_alive(summaries)
    assert isinstance(p, pa.Array) and len(p) == 2357
    # The column form equals the Summaries form.
    same = bg.p_alive(summaries.frequency, summaries.recency, summaries.T)
    assert same.equals(p)
    # numpy and lists are accepted where a column is.
    np_form = bg.p_alive(
        summaries.frequency.to_numpy().astype(float),
        summaries.recency.to_numpy(),
        summaries.T.to_numpy(),
    )
    assert np_form.equals(p)
    for model in [
        bg,
        custseg.MbgNbd.fit(summaries),
        custseg.ParetoNbd.fit(summaries),
        custseg.GammaGamma.fit(summaries),
        custseg.BgBb(1.2, 0.75, 0.66, 2.78),
        custseg.ShiftedBetaGeometric(0.704, 1.182),
        custseg.RfmModel.fit(summaries),
        custseg.BehavioralModel.fit(summaries, 4),
        custseg.Clustering.fit(np.random.default_rng(0).normal(size=(300, 3)), k=3),
    ]:
        text = model.to_json()
        again = type(model).from_json(text)
        assert again.to_json() == text
        assert pickle.loads(pickle.dumps(model)).to_json() == text
    with pytest.raises(custseg.ParameterError):
        custseg.BgNbd.from_json('{"r": -1, "alpha": 4.4, "a": 0.79, "b": 2.4}')
    # A model keeps the unit of the summaries it was fitted on.
    assert '"Weeks"' in bg.to_json() or '"weeks"' in bg.to_json().lower()


def test_clv_and_the_other_models_answer(summaries):
    bg = custseg.BgNbd(0.2426, 4.4135, 0.7929, 2.4258)
    gg = custseg.GammaGamma(6.2488, 3.7446, 15.4477)
    v = custseg.clv(bg, gg, summaries, months=12, discount_rate=0.01)
    assert v.column_names == ["p_alive", "expected_purchases", "expected_spend", "clv"]
    assert v.num_rows == 2357
    assert np.isfinite(v["clv"].to_numpy()).all()
    # Columns and Summaries agree.
    cols = custseg.clv(
        bg, gg, summaries.frequency, summaries.recency, summaries.T, summaries.monetary
    )
    assert cols.equals(v)

    bb = custseg.BgBb.fit([0, 1, 6, 3], [0, 1, 6, 5], [6, 6, 6, 6], [3464, 1091, 1203, 200])
    assert set(bb.params) == {"alpha", "beta", "gamma", "delta"}
    assert len(bb.p_alive([2, 6], [3, 6], [6, 6])) == 2

    # Fader & Hardie (2007), the "regular" cohort: alpha 0.704, beta 1.182 published.
    sbg = custseg.ShiftedBetaGeometric.fit([1000, 631, 468, 382, 326, 289, 262, 241])
    assert sbg.params["alpha"] == pytest.approx(0.704, abs=1e-3)
    assert sbg.params["beta"] == pytest.approx(1.182, abs=1e-3)
    assert 0 < sbg.survival(3) < 1

    seg = custseg.BehavioralModel.fit(summaries, 4, seed=1)
    labels = seg.labels.to_numpy(zero_copy_only=False)
    assert len(labels) == 2357 and set(labels) == {0, 1, 2, 3}
    assert seg.assign(summaries).equals(seg.labels)
    assert len(seg.names) == 4

    pts = np.vstack([np.zeros((50, 2)), np.full((50, 2), 10.0)]) + np.random.default_rng(
        3
    ).normal(scale=0.1, size=(100, 2))
    km = custseg.Clustering.fit(pts, "kmeans", k=2, seed=7)
    lab = km.labels.to_numpy()
    assert len(set(lab[:50])) == 1 and len(set(lab[50:])) == 1 and lab[0] != lab[99]
    db = custseg.Clustering.fit(pts, "dbscan", eps=1.0, min_samples=5)
    assert db.segments == 2
    table = pa.table({"a": pts[:, 0], "b": pts[:, 1]})
    assert custseg.Clustering.fit(table, "gmm", k=2, seed=7).segments == 2

    scores = custseg.score_table(summaries, {"p_alive": bg.p_alive(summaries)})
    assert scores.column_names == ["customer_id", "p_alive"]


def test_the_gil_is_released_while_rust_computes():
    # 3M rows: long enough that a Python thread counting meanwhile shows whether it ran.
    n = 3_000_000
    rng = np.random.default_rng(0)
    big = pa.table(
        {
            "customer_id": rng.integers(0, 500_000, n),
            "date": pa.array(rng.integers(9000, 10000, n).astype("int32"), pa.date32()),
            "amount": rng.uniform(1, 100, n),
        }
    )
    counts = []
    stop = threading.Event()

    def count():
        c = 0
        while not stop.is_set():
            c += 1
            if c % 1000 == 0:
                counts.append(time.perf_counter())

    t = threading.Thread(target=count)
    t.start()
    time.sleep(0.05)
    start = time.perf_counter()
    custseg.summarise(big, "1997-06-30")
    end = time.perf_counter()
    stop.set()
    t.join()
    during = [c for c in counts if start < c < end]
    # With the GIL held for the whole call, the counter could not run in between at all.
    assert end - start > 0.05
    assert len(during) > 10, (len(during), end - start)


def test_the_stubs_describe_the_module():
    """Every public name of the compiled module has a stub, every stub a name, and every
    stubbed class's public methods exist."""
    import ast
    import pathlib

    from custseg import _native

    stub = pathlib.Path(custseg.__file__).with_name("_native.pyi")
    tree = ast.parse(stub.read_text())
    stubbed = {
        n.name: n
        for n in tree.body
        if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and not n.name.startswith("_")
    }
    public = {n for n in dir(_native) if not n.startswith("_")}
    assert public == set(stubbed), public ^ set(stubbed)
    bases = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    for name, node in stubbed.items():
        if not isinstance(node, ast.ClassDef):
            continue
        methods = {m.name for m in node.body if isinstance(m, ast.FunctionDef)}
        for base in node.bases:
            if isinstance(base, ast.Name) and base.id in bases:
                methods |= {m.name for m in bases[base.id].body if isinstance(m, ast.FunctionDef)}
        cls = getattr(_native, name)
        for m in methods - {"__init__"}:
            assert hasattr(cls, m), f"{name}.{m}"
        # Every documented public method of the class is stubbed.
        real = {m for m in dir(cls) if not m.startswith("_")} - set(dir(ValueError))
        assert real <= methods, f"{name}: {real - methods} not stubbed"


def test_the_readme_example_runs(data_dir):
    """The package README's first example, as written."""
    import re

    readme = (data_dir.parents[1] / "python" / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["values"].num_rows == 2357
    assert scope["bg"].params["r"] == pytest.approx(0.2426, abs=1e-4)


def test_demographic_geographic_and_psychographic_segments(data_dir):
    rng = np.random.default_rng(5)
    n = 400
    people = pa.table(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "age": pa.array([None if i % 37 == 0 else float(a) for i, a in enumerate(rng.integers(18, 80, n))]),
            "income": rng.lognormal(10.5, 0.5, n),
            "gender": rng.choice(["f", "m"], n),
            "region": rng.choice(["north", "south", "east"], n),
        }
    )
    bands = custseg.DemographicModel.fit(people)
    assert len(bands.labels) == n and len(bands.names) >= 2
    assert bands.assign(people).equals(bands.labels)
    kp = custseg.DemographicModel.fit(people, k=3)
    assert set(kp.labels.to_pylist()) == {0, 1, 2}
    assert custseg.DemographicModel.from_json(kp.to_json()).to_json() == kp.to_json()

    # Customers around Paris and Lyon, 390 km apart: two dense places.
    lat = np.r_[48.85 + rng.normal(0, 0.05, 150), 45.76 + rng.normal(0, 0.05, 150)]
    lon = np.r_[2.35 + rng.normal(0, 0.05, 150), 4.84 + rng.normal(0, 0.05, 150)]
    places = pa.table({"lat": lat, "lon": lon})
    dense = custseg.GeographicModel.fit(places, method="density", eps_km=10.0, min_points=5)
    labels = dense.labels.to_numpy(zero_copy_only=False)
    assert len(set(labels[:150])) == 1 and len(set(labels[150:])) == 1
    assert labels[0] != labels[-1]
    km = custseg.GeographicModel.fit(places, method="kmeans", k=2, seed=3)
    assert km.assign(places).equals(km.labels)
    with pytest.raises(custseg.ParameterError):
        custseg.GeographicModel.fit(places, method="density")
    with pytest.raises(custseg.ParameterError):
        custseg.GeographicModel.fit(pa.table({"lat": lat}), method="kmeans", k=2)

    # The Big Five sample survey (25 items on a 1-6 scale).
    import csv

    with open(data_dir / "bfi_big_five.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    items = [h for h in header if len(h) == 2 and h[0] in "AECNO" and h[1].isdigit()]
    cols = [header.index(i) for i in items]
    answers = np.array(
        [[float(r[c]) if r[c] not in ("", "NA") else np.nan for c in cols] for r in body]
    )
    psy = custseg.PsychographicModel.fit(answers, items=items, scale=(1, 6), k=4)
    assert len(psy.labels) == len(body) and len(psy.names) == 4
    assert psy.assign(answers, items=items).equals(psy.labels)
    assert pickle.loads(pickle.dumps(psy)).to_json() == psy.to_json()
