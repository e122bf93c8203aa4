"""The calls a lifetimes / RFM-script user knows, and ours, give lifetimes' (and pandas')
numbers on CDNOW. The expected values are the Rust crate's fixtures, computed by lifetimes
0.11.3 and pandas (benches/peers/clv_reference.py, make_cdnow_fixtures.py, rfm_pandas.py);
each test names the peer call it stands beside (python/README.md shows them side by side).
"""

import csv
import json

import numpy as np
import pytest

import custseg

END, HOLDOUT = "1997-09-30", "1998-06-30"
# The published BG/NBD and Gamma-Gamma CDNOW parameters the fixtures were scored at.
BG = dict(r=0.2426, alpha=4.4135, a=0.7929, b=2.4258)
GG = dict(p=6.2488, q=3.7446, gamma=15.4477)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def summaries():
    # lifetimes: summary_data_from_transaction_data(tx, "customer_id", "date",
    #     monetary_value_col="amount", observation_period_end="1997-09-30", freq="D",
    #     freq_multiplier=7)
    # (calibration_and_holdout_data for the holdout columns)
    return custseg.summarise(custseg.cdnow_sample(), END, holdout_end=HOLDOUT, unit="weeks")


@pytest.fixture(scope="module")
def by_id(summaries):
    ids = summaries.customer_id.to_pylist()
    return {c: i for i, c in enumerate(ids)}


def close(got, want, rel):
    got, want = np.asarray(got, float), np.asarray(want, float)
    return np.all(np.abs(got - want) <= rel * np.abs(want) + 1e-15)


def test_summary_from_transactions_matches_lifetimes(summaries, by_id, data_dir):
    rows = read_csv(data_dir / "cdnow_holdout_lifetimes.csv")
    assert len(rows) == len(summaries) == 2357
    order = [by_id[r["id"]] for r in rows]
    t = summaries.to_arrow().take(order)
    for ours, theirs in [
        ("frequency", "frequency_cal"),
        ("recency", "recency_cal"),
        ("age", "T_cal"),
        ("monetary", "monetary_value_cal"),
        ("holdout_frequency", "frequency_holdout"),
    ]:
        want = [float(r[theirs]) for r in rows]
        assert close(t[ours].to_numpy(), want, 1e-12), ours


def test_fit_matches_lifetimes(summaries, data_dir):
    fits = json.loads((data_dir / "clv_lifetimes_fits.json").read_text())
    # lifetimes: BetaGeoFitter().fit(frequency, recency, T)
    bg = custseg.BgNbd.fit(summaries)
    want = fits["bgnbd"]["lifetimes_fit"]
    for name, value in want["params"].items():
        assert bg.params[name] == pytest.approx(value, rel=1e-4), name
    # At least as good a maximum as lifetimes' (the full log-likelihood, constants included).
    assert bg.report["log_likelihood"] >= want["ll_full"] - 1e-6
    # The same from columns, as lifetimes takes them.
    cols = custseg.BgNbd.fit(summaries.frequency, summaries.recency, summaries.T)
    assert cols.params == pytest.approx(bg.params, rel=1e-9)
    # ModifiedBetaGeoFitter, ParetoNBDFitter, GammaGammaFitter: log-likelihoods at least
    # lifetimes'.
    for model, key in [(custseg.MbgNbd, "mbgnbd"), (custseg.ParetoNbd, "pnbd")]:
        m = model.fit(summaries)
        assert m.report["log_likelihood"] >= fits[key]["lifetimes_fit"]["ll_full"] - 1e-6, key
    gg = custseg.GammaGamma.fit(summaries)
    gg_want = fits["gg"]["lifetimes_fit"]["params"]
    assert gg.params["p"] == pytest.approx(gg_want["p"], rel=1e-3)
    assert gg.params["q"] == pytest.approx(gg_want["q"], rel=1e-3)
    assert gg.params["gamma"] == pytest.approx(gg_want["v"], rel=1e-3)


def test_predictions_match_lifetimes(summaries, by_id, data_dir):
    rows = read_csv(data_dir / "cdnow_clv_lifetimes.csv")
    order = np.array([by_id[r["id"]] for r in rows])
    col = lambda k: np.array([float(r[k]) for r in rows])
    bg = custseg.BgNbd(**BG)
    gg = custseg.GammaGamma(**GG)
    # lifetimes: bgf.conditional_probability_alive(frequency, recency, T)
    assert close(bg.p_alive(summaries).to_numpy()[order], col("bgnbd_p_alive"), 1e-6)
    # lifetimes: bgf.conditional_expected_number_of_purchases_up_to_time(39, f, r, T)
    e39 = bg.expected_purchases(39, summaries).to_numpy()[order]
    assert close(e39, col("bgnbd_exp_39"), 1e-6)
    e1 = bg.expected_purchases(1, summaries).to_numpy()[order]
    assert close(e1, col("bgnbd_exp_1"), 1e-6)
    # lifetimes: ggf.conditional_expected_average_profit(frequency, monetary_value)
    spend = gg.expected_spend(summaries).to_numpy()[order]
    assert close(spend, col("gg_exp_spend"), 1e-6)
    # lifetimes: ggf.customer_lifetime_value(bgf, f, r, T, m, time=12, discount_rate=0.01,
    #     freq="W")
    v = custseg.clv(bg, gg, summaries, months=12, discount_rate=0.01)
    assert close(v["clv"].to_numpy()[order], col("clv_bgnbd"), 1e-6)
    pnbd = custseg.ParetoNbd(r=0.5533, alpha=10.5776, s=0.6062, beta=11.6680)
    assert close(pnbd.p_alive(summaries).to_numpy()[order], col("pnbd_p_alive"), 1e-6)
    v = custseg.clv(pnbd, gg, summaries, months=12, discount_rate=0.01)
    assert close(v["clv"].to_numpy()[order], col("clv_pnbd"), 1e-6)
    mbg = custseg.MbgNbd(r=0.5248, alpha=6.1830, a=0.8914, b=1.6140)
    assert close(mbg.p_alive(summaries).to_numpy()[order], col("mbgnbd_p_alive"), 1e-6)


def test_rfm_segments_match_the_pandas_script(summaries, data_dir):
    rows = read_csv(data_dir / "cdnow_rfm_pandas.csv")
    # pandas: pd.qcut-style quantile scores 1..5 and the rfm package's segment rules.
    model = custseg.RfmModel.fit(summaries, scores=5)
    edges = json.loads((data_dir / "cdnow_rfm_pandas_edges.json").read_text())
    assert model.edges["recency"] == edges["recency"]
    assert model.edges["frequency"] == edges["frequency"]
    package = model.score(summaries, scheme="rfm_package").to_pandas().set_index("customer_id")
    tiers = model.score(summaries, scheme="five_tiers").to_pandas().set_index("customer_id")
    for r in rows:
        got = package.loc[r["id"]]
        assert (got["r"], got["f"], got["m"]) == (int(r["r"]), int(r["f"]), int(r["m"]))
        assert got["segment"] == r["segment_rfm_package"], r["id"]
        assert tiers.loc[r["id"], "segment"] == r["segment_five_tiers"], r["id"]
