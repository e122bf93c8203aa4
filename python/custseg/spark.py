"""custseg on Apache Spark: summaries and scores of DataFrames through ``mapInArrow``.

Summaries run as a map and a reduce. Each partition of the transactions becomes a partial
history (one row per customer and purchase day: the day's spend as its running sum plus its
rounding errors, and its row count); the partials are repartitioned by customer and merged.
The merged summaries equal ``custseg.summarise`` over all the rows at once, to the bit,
whatever the partitioning. With ``returns="net"`` (a return nets against the customer's
earlier purchases, which needs all of them) the rows themselves are repartitioned by
customer and each partition summarised whole.

Scores run per batch with a model fitted on the driver; the model travels to the executors
pickled as its JSON.

The executors need the ``custseg`` package importable (the same environment as the driver:
set ``PYSPARK_PYTHON`` in local mode, ship a venv or wheel on a cluster).
"""

import pyarrow as pa

#: Spark schema of a partial history (``custseg.partial_summaries``).
PARTIAL_SCHEMA = (
    "customer_id string, date date, spend double, residual double, transactions long"
)

#: Spark schema of summaries: the columns of ``Summaries.to_arrow()``, counts as longs
#: (Spark has no unsigned integers).
SUMMARY_SCHEMA = (
    "customer_id string, first_purchase date, last_purchase date, frequency long, "
    "recency double, age double, monetary double, total_spend double, transactions long, "
    "holdout_frequency long, holdout_spend double, holdout_transactions long"
)

_SUMMARY_TYPES = pa.schema(
    [
        ("customer_id", pa.string()),
        ("first_purchase", pa.date32()),
        ("last_purchase", pa.date32()),
        ("frequency", pa.int64()),
        ("recency", pa.float64()),
        ("age", pa.float64()),
        ("monetary", pa.float64()),
        ("total_spend", pa.float64()),
        ("transactions", pa.int64()),
        ("holdout_frequency", pa.int64()),
        ("holdout_spend", pa.float64()),
        ("holdout_transactions", pa.int64()),
    ]
)


def _spark_summaries(summaries):
    """Summaries as record batches of Spark's types."""
    table = summaries.to_arrow().replace_schema_metadata(None)
    return table.cast(_SUMMARY_TYPES).to_batches()


def _table(batches):
    """A partition's batches as one table; None for an empty partition."""
    batches = list(batches)
    if not batches:
        return None
    table = pa.Table.from_batches(batches)
    return table if table.num_rows else None


def _date_text(d):
    return d.isoformat()[:10] if hasattr(d, "isoformat") else str(d)


def summarise(
    df,
    observation_end,
    *,
    holdout_end=None,
    unit="weeks",
    period="day",
    returns="error",
    customer_id="customer_id",
    date="date",
    amount="amount",
    partitions=None,
):
    """Per-customer summaries of a transactions DataFrame, as a DataFrame of ``SUMMARY_SCHEMA``.

    ``df`` needs a customer key (long or string), a date (date, or a timestamp in UTC or a
    fixed offset) and an amount column, named by ``customer_id``, ``date`` and ``amount``.
    The other arguments are those of ``custseg.summarise``; ``partitions`` is the number of
    partitions after the shuffle by customer (Spark's ``spark.sql.shuffle.partitions`` when
    None).
    """
    import custseg

    end = _date_text(observation_end)
    hold = None if holdout_end is None else _date_text(holdout_end)
    rows = df.select(customer_id, date, amount)
    keys = dict(customer_id=customer_id, date=date, amount=amount)
    settings = dict(holdout_end=hold, unit=unit, period=period)

    def by_customer(frame, key):
        return frame.repartition(partitions, key) if partitions else frame.repartition(key)

    if returns == "net":

        def whole(batches):
            table = _table(batches)
            if table is None:
                return
            s = custseg.summarise(table, end, returns="net", **keys, **settings)
            yield from _spark_summaries(s)

        return by_customer(rows, customer_id).mapInArrow(whole, SUMMARY_SCHEMA)

    def partial(batches):
        table = _table(batches)
        if table is None:
            return
        yield from custseg.partial_summaries(table, returns=returns, **keys).to_batches()

    def merge(batches):
        table = _table(batches)
        if table is None:
            return
        yield from _spark_summaries(custseg.summarise_partials(table, end, **settings))

    partials = rows.mapInArrow(partial, PARTIAL_SCHEMA)
    return by_customer(partials, "customer_id").mapInArrow(merge, SUMMARY_SCHEMA)


def score(
    summaries,
    model,
    spend=None,
    *,
    horizon=None,
    months=12,
    discount_rate=0.01,
    unit="weeks",
):
    """Scores a summaries DataFrame (``SUMMARY_SCHEMA``, or any with frequency, recency and
    age columns) with a transaction model fitted on the driver (``BgNbd``, ``MbgNbd``,
    ``ParetoNbd``): adds ``p_alive``; ``expected_purchases`` in the next ``horizon`` units
    when a horizon is given; with a ``GammaGamma`` as ``spend`` (and a ``monetary`` column),
    ``expected_spend`` and ``clv`` over ``months`` discounted at ``discount_rate`` a month.
    """
    import custseg
    from pyspark.sql.types import DoubleType, StructField, StructType

    added = ["p_alive"]
    if horizon is not None:
        added.append("expected_purchases")
    if spend is not None:
        added += ["expected_spend", "clv"]
    schema = StructType(
        list(summaries.schema.fields) + [StructField(n, DoubleType(), False) for n in added]
    )

    def columns(b):
        x, t_x, t = b.column("frequency"), b.column("recency"), b.column("age")
        out = {"p_alive": model.p_alive(x, t_x, t)}
        if horizon is not None:
            out["expected_purchases"] = model.expected_purchases(horizon, x, t_x, t)
        if spend is not None:
            v = custseg.clv(
                model, spend, x, t_x, t, b.column("monetary"),
                months=months, discount_rate=discount_rate, unit=unit,
            )
            out["expected_spend"] = v.column("expected_spend").combine_chunks()
            out["clv"] = v.column("clv").combine_chunks()
        return [out[n] for n in added]

    def run(batches):
        for b in batches:
            if b.num_rows == 0:
                continue
            arrays = list(b.columns) + columns(b)
            yield pa.RecordBatch.from_arrays(arrays, names=list(b.schema.names) + added)

    return summaries.mapInArrow(run, schema)
