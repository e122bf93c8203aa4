"""Type stubs of the compiled module custseg._native (re-exported by custseg)."""

import datetime
from typing import Any, Optional, Sequence, Union

import pyarrow as pa

# Anything Arrow can read as a table: a pyarrow Table, RecordBatch or RecordBatchReader, a
# polars or pandas DataFrame, any object with __arrow_c_stream__.
TableLike = Any
# A column: a pyarrow Array or ChunkedArray, a numpy array, a pandas or polars Series, a list.
ColumnLike = Any
DateLike = Union[str, datetime.date]

class Error(ValueError):
    """Base of every custseg error."""

    kind: str
    variant: str
    row: Optional[int]
    line: Optional[int]
    customer: Optional[str]
    column: Optional[str]

class DataError(Error): ...
class ParameterError(Error): ...
class ModelError(Error): ...

class Summaries:
    @staticmethod
    def from_arrow(table: TableLike, unit: str = "weeks") -> Summaries: ...
    def to_arrow(self) -> pa.Table: ...
    @property
    def unit(self) -> str: ...
    @property
    def frequency(self) -> pa.UInt32Array: ...
    @property
    def recency(self) -> pa.DoubleArray: ...
    @property
    def T(self) -> pa.DoubleArray: ...
    @property
    def monetary(self) -> pa.DoubleArray: ...
    @property
    def customer_id(self) -> pa.StringArray: ...
    def __len__(self) -> int: ...
    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any: ...

HistoryLike = Union[Summaries, ColumnLike]

class _TransactionModel:
    @property
    def params(self) -> dict[str, float]: ...
    @property
    def report(self) -> Optional[dict[str, Any]]: ...
    def p_alive(
        self, frequency: HistoryLike, recency: ColumnLike = None, T: ColumnLike = None
    ) -> pa.DoubleArray: ...
    def expected_purchases(
        self, t: float, frequency: HistoryLike, recency: ColumnLike = None, T: ColumnLike = None
    ) -> pa.DoubleArray: ...
    def expected_purchases_new(self, t: float) -> float: ...
    def log_likelihood(
        self, frequency: HistoryLike, recency: ColumnLike = None, T: ColumnLike = None
    ) -> float: ...
    def to_json(self) -> str: ...

class BgNbd(_TransactionModel):
    def __init__(self, r: float, alpha: float, a: float, b: float) -> None: ...
    @staticmethod
    def fit(
        frequency: HistoryLike,
        recency: ColumnLike = None,
        T: ColumnLike = None,
        *,
        l2_penalty: float = 0.0,
        starts: int = 1,
        seed: int = 0,
        max_iterations: Optional[int] = None,
    ) -> BgNbd: ...
    @staticmethod
    def from_json(text: str) -> BgNbd: ...

class MbgNbd(_TransactionModel):
    def __init__(self, r: float, alpha: float, a: float, b: float) -> None: ...
    @staticmethod
    def fit(
        frequency: HistoryLike,
        recency: ColumnLike = None,
        T: ColumnLike = None,
        *,
        l2_penalty: float = 0.0,
        starts: int = 1,
        seed: int = 0,
        max_iterations: Optional[int] = None,
    ) -> MbgNbd: ...
    @staticmethod
    def from_json(text: str) -> MbgNbd: ...

class ParetoNbd(_TransactionModel):
    def __init__(self, r: float, alpha: float, s: float, beta: float) -> None: ...
    @staticmethod
    def fit(
        frequency: HistoryLike,
        recency: ColumnLike = None,
        T: ColumnLike = None,
        *,
        l2_penalty: float = 0.0,
        starts: int = 1,
        seed: int = 0,
        max_iterations: Optional[int] = None,
    ) -> ParetoNbd: ...
    @staticmethod
    def from_json(text: str) -> ParetoNbd: ...

class GammaGamma:
    def __init__(self, p: float, q: float, gamma: float) -> None: ...
    @staticmethod
    def fit(
        frequency: HistoryLike,
        monetary: ColumnLike = None,
        *,
        l2_penalty: float = 0.0,
        starts: int = 1,
        seed: int = 0,
    ) -> GammaGamma: ...
    @property
    def params(self) -> dict[str, float]: ...
    @property
    def report(self) -> Optional[dict[str, Any]]: ...
    def expected_spend(self, frequency: HistoryLike, monetary: ColumnLike = None) -> pa.DoubleArray: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> GammaGamma: ...

class BgBb:
    def __init__(self, alpha: float, beta: float, gamma: float, delta: float) -> None: ...
    @staticmethod
    def fit(
        frequency: ColumnLike,
        recency: ColumnLike,
        n_periods: ColumnLike,
        weights: ColumnLike = None,
        *,
        starts: int = 1,
        seed: int = 0,
    ) -> BgBb: ...
    @property
    def params(self) -> dict[str, float]: ...
    @property
    def report(self) -> Optional[dict[str, Any]]: ...
    def p_alive(self, frequency: ColumnLike, recency: ColumnLike, n_periods: ColumnLike) -> pa.DoubleArray: ...
    def expected_purchases(
        self, n_star: int, frequency: ColumnLike, recency: ColumnLike, n_periods: ColumnLike
    ) -> pa.DoubleArray: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> BgBb: ...

class ShiftedBetaGeometric:
    def __init__(self, alpha: float, beta: float) -> None: ...
    @staticmethod
    def fit(survivors: Sequence[float]) -> ShiftedBetaGeometric: ...
    @property
    def params(self) -> dict[str, float]: ...
    @property
    def report(self) -> Optional[dict[str, Any]]: ...
    def survival(self, t: int) -> float: ...
    def retention(self, t: int) -> float: ...
    def derl(self, discount_rate: float, renewals: int) -> float: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> ShiftedBetaGeometric: ...

class RfmModel:
    @staticmethod
    def fit(
        summaries: Union[Summaries, TableLike],
        *,
        scores: int = 5,
        recency_thresholds: Optional[Sequence[float]] = None,
        frequency_thresholds: Optional[Sequence[float]] = None,
        monetary_thresholds: Optional[Sequence[float]] = None,
        frequency_basis: str = "purchases",
        monetary_basis: str = "total",
    ) -> RfmModel: ...
    @property
    def edges(self) -> dict[str, list[float]]: ...
    def score(self, summaries: Union[Summaries, TableLike], *, scheme: Optional[str] = None) -> pa.Table: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> RfmModel: ...

class Clustering:
    @staticmethod
    def fit(
        features: Any,
        method: str = "kmeans",
        *,
        k: Optional[int] = None,
        seed: int = 0,
        eps: Optional[float] = None,
        min_samples: int = 5,
    ) -> Clustering: ...
    @property
    def labels(self) -> pa.Int64Array: ...
    @property
    def segments(self) -> int: ...
    def assign(self, features: Any) -> pa.Int64Array: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> Clustering: ...

class BehavioralModel:
    @staticmethod
    def fit(
        summaries: Union[Summaries, TableLike], k: int, *, method: str = "kmeans", seed: int = 0
    ) -> BehavioralModel: ...
    @property
    def labels(self) -> pa.Int64Array: ...
    @property
    def names(self) -> list[str]: ...
    def assign(self, summaries: Union[Summaries, TableLike]) -> pa.Int64Array: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(text: str) -> BehavioralModel: ...

class _SegmentModel:
    @property
    def labels(self) -> pa.Int64Array: ...
    @property
    def names(self) -> list[str]: ...
    def assign(self, data: Any, **options: Any) -> pa.Int64Array: ...
    def to_json(self) -> str: ...

class DemographicModel(_SegmentModel):
    @staticmethod
    def fit(data: TableLike, **options: Any) -> DemographicModel: ...
    @staticmethod
    def from_json(text: str) -> DemographicModel: ...

class GeographicModel(_SegmentModel):
    @staticmethod
    def fit(data: TableLike, **options: Any) -> GeographicModel: ...
    @staticmethod
    def from_json(text: str) -> GeographicModel: ...

class PsychographicModel(_SegmentModel):
    @staticmethod
    def fit(data: Any, **options: Any) -> PsychographicModel: ...
    @staticmethod
    def from_json(text: str) -> PsychographicModel: ...

def summarise(
    transactions: TableLike,
    observation_end: DateLike,
    *,
    holdout_end: Optional[DateLike] = None,
    unit: str = "weeks",
    period: str = "day",
    returns: str = "error",
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
) -> Summaries: ...
def partial_summaries(
    transactions: TableLike,
    *,
    returns: str = "error",
    customer_id: str = "customer_id",
    date: str = "date",
    amount: str = "amount",
) -> pa.Table: ...
def summarise_partials(
    partials: TableLike,
    observation_end: DateLike,
    *,
    holdout_end: Optional[DateLike] = None,
    unit: str = "weeks",
    period: str = "day",
) -> Summaries: ...
def cdnow_sample() -> pa.Table: ...
def clv(
    model: Union[BgNbd, MbgNbd, ParetoNbd],
    spend: GammaGamma,
    frequency: HistoryLike,
    recency: ColumnLike = None,
    T: ColumnLike = None,
    monetary: ColumnLike = None,
    *,
    months: int = 12,
    discount_rate: float = 0.01,
    unit: Optional[str] = None,
) -> pa.Table: ...
def score_table(summaries: Summaries, columns: dict[str, ColumnLike]) -> pa.Table: ...
def version() -> str: ...
