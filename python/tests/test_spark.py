"""custseg.spark on pyspark in local mode (local[2]): summaries equal the local ones exactly
over a random repartition of the rows, scores to 1e-12 with models fitted on the driver.

Needs pyspark and Java 17; skipped without pyspark unless CUSTSEG_REQUIRE_SPARK=1 (set by
.ci/run, where a skip would hide a failure).
"""

import os
import sys

import numpy as np
import pyarrow as pa
import pytest

import custseg

if os.environ.get("CUSTSEG_REQUIRE_SPARK") != "1":
    pytest.importorskip("pyspark")

from pyspark.sql import SparkSession  # noqa: E402

import custseg.spark  # noqa: E402

END, HOLDOUT = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    # The executors' Python must be this one, where custseg is installed; and their working
    # directory not the source tree, whose custseg/ (without the compiled module) would
    # shadow the installed package.
    os.chdir(tmp_path_factory.mktemp("spark"))
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("custseg-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "3")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def tx():
    return custseg.cdnow_sample()


def spark_rows(spark, table, partitions):
    """The rows as a DataFrame spread over partitions at random (a customer's rows and days
    land in several)."""
    return spark.createDataFrame(table.to_pandas()).repartition(partitions)


def local_summaries(table, **kw):
    t = custseg.summarise(table, END, holdout_end=HOLDOUT, **kw).to_arrow()
    return t.replace_schema_metadata(None).cast(custseg.spark._SUMMARY_TYPES).sort_by("customer_id")


def collected(df):
    return df.toArrow().sort_by("customer_id")


def test_summaries_on_spark_equal_the_local_ones_exactly(spark, tx):
    want = local_summaries(tx)
    df = spark_rows(spark, tx, 5)
    assert df.rdd.getNumPartitions() == 5
    got = collected(custseg.spark.summarise(df, END, holdout_end=HOLDOUT))
    assert got.num_rows == 2357
    assert got.equals(want)
    # Text keys, another shuffle width.
    text = tx.set_column(0, "customer_id", pa.compute.cast(tx["customer_id"], pa.string()))
    got = collected(
        custseg.spark.summarise(spark_rows(spark, text, 4), END, holdout_end=HOLDOUT, partitions=2)
    )
    assert got.equals(local_summaries(text))


def test_net_returns_summarise_whole_customers(spark, tx):
    # Every 10th row becomes a small return of the same customer on the same day.
    extra = tx.take(pa.array(np.arange(0, tx.num_rows, 10)))
    returns = extra.set_column(2, "amount", pa.compute.multiply(extra["amount"], -0.25))
    with_returns = pa.concat_tables([tx, returns.cast(tx.schema)])
    want = local_summaries(with_returns, returns="net")
    got = collected(
        custseg.spark.summarise(
            spark_rows(spark, with_returns, 4), END, holdout_end=HOLDOUT, returns="net"
        )
    )
    assert got.equals(want)


def test_scores_on_spark_equal_the_local_ones(spark, tx):
    summaries = custseg.summarise(tx, END, holdout_end=HOLDOUT)
    bg = custseg.BgNbd.fit(summaries)  # fitted on the driver, shipped pickled
    gg = custseg.GammaGamma.fit(summaries)
    df = custseg.spark.summarise(spark_rows(spark, tx, 3), END, holdout_end=HOLDOUT)
    scored = collected(custseg.spark.score(df, bg, gg, horizon=39.0, months=12))
    local = summaries.to_arrow()
    order = {c: i for i, c in enumerate(local["customer_id"].to_pylist())}
    idx = np.array([order[c] for c in scored["customer_id"].to_pylist()])
    v = custseg.clv(bg, gg, summaries, months=12)
    expected = {
        "p_alive": bg.p_alive(summaries).to_numpy()[idx],
        "expected_purchases": bg.expected_purchases(39.0, summaries).to_numpy()[idx],
        "expected_spend": v["expected_spend"].to_numpy()[idx],
        "clv": v["clv"].to_numpy()[idx],
    }
    for name, want in expected.items():
        got = scored[name].to_numpy()
        assert np.all(np.abs(got - want) <= 1e-12 * np.abs(want) + 1e-300), name
    assert scored.num_rows == 2357
