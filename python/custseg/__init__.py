"""custseg: customer segmentation and customer-value scoring, in Rust, for Python.

Arrow in and Arrow out: every function takes pyarrow tables and arrays (polars and pandas
through Arrow; numpy arrays and pandas series where a column is expected) and gives pyarrow
tables and arrays back, computed in Rust with the GIL released.

    import custseg
    tx = custseg.cdnow_sample()                       # or your own table
    s = custseg.summarise(tx, "1997-09-30", holdout_end="1998-06-30")
    bg = custseg.BgNbd.fit(s)
    p = bg.p_alive(s)                                  # pyarrow Float64Array
    gg = custseg.GammaGamma.fit(s)
    values = custseg.clv(bg, gg, s, months=12)         # pyarrow Table

Models are the Rust crate's models: their JSON (`to_json` / `from_json`) is the one the
Rust crate reads and writes, and they pickle through it. Errors are `custseg.Error`
subclasses (`DataError`, `ParameterError`, `ModelError`) whose `row`, `line`, `customer`
and `column` attributes say where the input was wrong. `custseg.spark` runs the summaries
and scores on Spark DataFrames.
"""

from ._native import (
    BehavioralModel,
    BgBb,
    BgNbd,
    Clustering,
    DataError,
    DemographicModel,
    Error,
    GammaGamma,
    GeographicModel,
    MbgNbd,
    ModelError,
    ParameterError,
    ParetoNbd,
    PsychographicModel,
    RfmModel,
    ShiftedBetaGeometric,
    Summaries,
    cdnow_sample,
    clv,
    partial_summaries,
    score_table,
    summarise,
    summarise_partials,
    version,
)

__version__ = version()

__all__ = [
    "BehavioralModel",
    "BgBb",
    "BgNbd",
    "Clustering",
    "DataError",
    "DemographicModel",
    "Error",
    "GammaGamma",
    "GeographicModel",
    "MbgNbd",
    "ModelError",
    "ParameterError",
    "ParetoNbd",
    "PsychographicModel",
    "RfmModel",
    "ShiftedBetaGeometric",
    "Summaries",
    "cdnow_sample",
    "clv",
    "partial_summaries",
    "score_table",
    "summarise",
    "summarise_partials",
    "version",
]


def _from_json(cls, text):
    """Rebuilds a pickled model from its JSON (what every model's ``__reduce__`` names)."""
    return cls.from_json(text)
