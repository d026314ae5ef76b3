"""OpenLineage facets computed from pandas data: data-quality metrics, schema, column lineage,
statistics, assertions, and the project's custom ``drift`` dataset facet.

Privacy (the policy is :mod:`lineage.emission.privacy`): nothing here copies a row value into a facet.
Numeric columns get aggregates (min, max, sum, quantiles) rounded to ``digits`` significant digits
(3; exact only by opt-in), none below ``privacy.MIN_VALUES`` values, and none at all with
``numeric_aggregates=False``; every other column only gets counts (nulls, distinct values). Category
labels, ids and strings never leave the process; identifier-like numeric columns (``id``, ``*_id``,
``*_key``, ... see ``ID_COLUMN``, plus any ``private_columns``, e.g. a contract's sensitive ones) get
counts only. ``content_hash`` is keyed (HMAC), so it cannot be tested against a guess of the data.

Cost: everything is vectorised (one ``isna`` pass for the frame, numpy reductions per numeric
column). On large frames some statistics are computed on bounded work instead of exactly:
quantiles come from a uniform random sample (with replacement) of ``QUANTILE_SAMPLE`` values
(rank error about 1/sqrt(sample), < 0.5 percentile at 50k); above ``EXACT_DISTINCT_MAX_ROWS``
rows ``distinctCount`` of numeric / temporal columns is a K-minimum-values estimate on
splitmix64 hashes (relative standard error about 1/sqrt(KMV_K), ~1.6%) and is omitted for
free-text columns (an exact or hashed count costs ~100 ms per million strings). The output's
content hash becomes a fingerprint above ``FULL_HASH_MAX_ROWS`` (see ``content_hash``). All
thresholds are module constants. Each column's values are read once for its distinct estimate and
its aggregates; the estimate hashes in cache-sized chunks, finds its K-th smallest hash below a
threshold instead of partitioning the column, and counts a small-range integer column with one
bincount: the same figures as before, at ~1/3 of the CPU on a 1M-row frame
(``tests/lineage/emission/test_metrics_exact.py`` keeps the previous code as the reference). The
aggregates are rounded all at once (``privacy.coarsen_many``: the same floats as one at a time).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lineage.facets import (
    DRIFT_SCHEMA_ID,
    DRIFT_SCHEMA_URL,
    AssertionsFacet,
    ColumnDrift,
    ColumnLineageFacet,
    ColumnMetrics,
    DriftDatasetFacet,
    MetricsFacet,
    OutputStatisticsFacet,
    SchemaFacet,
    drift_schema,
)
from lineage.emission import privacy

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_QUANTILE_KEYS = tuple(f"{q:g}" for q in QUANTILES)  # the facet's keys: "0.05", ..., "0.95"
QUANTILE_SAMPLE = 50_000
EXACT_DISTINCT_MAX_ROWS = 200_000
KMV_K = 4096
# Identifier-like columns never get value aggregates (a min/max of ids would be an id).
ID_COLUMN = re.compile(r"(^|_)(id|ids|uuid|guid|key|email|phone|name|ssn)$", re.IGNORECASE)

__all__ = [  # the typed facet classes live in lineage.facets; re-exported for emission's callers
    "DRIFT_SCHEMA_ID", "DRIFT_SCHEMA_URL", "ColumnDrift", "DriftDatasetFacet", "drift_schema",
    "assertions_facet", "column_lineage_facet", "column_metrics", "combine_partitions", "content_hash",
    "data_quality_metrics", "null_counts", "output_statistics", "schema_facet",
]


# --------------------------------------------------------------------------- data quality metrics
def _numeric_values(series: pd.Series) -> np.ndarray | None:
    """float64 view of a numeric (not boolean) column, NaN for missing; None for other kinds."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return None
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _without(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``values[keep]``, contiguous; ``values`` itself (no copy) when every element is kept."""
    return np.ascontiguousarray(values) if keep.all() else values[keep]


MIX_CHUNK = 1 << 16  # elements hashed at a time: 512 KiB, so the six passes of splitmix64 stay in cache


def _mixed_chunks(x: np.ndarray) -> Iterator[np.ndarray]:
    """splitmix64 finalizer of the uint64 array ``x``, in place, one cache-sized chunk at a time (on a
    whole 1M-value column each pass went to memory and allocated a temporary); yields each chunk once
    mixed, while it is still in cache."""
    tmp = np.empty(min(len(x), MIX_CHUNK), dtype=np.uint64)
    for start in range(0, len(x), MIX_CHUNK):
        chunk = x[start:start + MIX_CHUNK]
        scratch = tmp[:len(chunk)]
        for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB), (31, None)):
            np.right_shift(chunk, np.uint64(shift), out=scratch)
            chunk ^= scratch
            if mult is not None:
                chunk *= np.uint64(mult)
        yield chunk


def _mix64_into(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer of the uint64 array ``x``, in place (and returned)."""
    for _ in _mixed_chunks(x):
        pass
    return x


def _mix64_below(x: np.ndarray, threshold: np.uint64) -> np.ndarray:
    """``_mix64_into(x)``, and its hashes under ``threshold`` in order (``x[x < threshold]``), each chunk
    selected while in cache instead of in another pass over the column."""
    return np.concatenate([chunk[chunk < threshold] for chunk in _mixed_chunks(x)] or [x[:0]])


def _mix64(bits: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: uniform 64-bit hashes of 64-bit keys (a new array), vectorised."""
    return _mix64_into(bits.astype(np.uint64, copy=True))


KMV_SLACK = 2.0  # hash-space share scanned, in expected K-th smallest hashes: one try almost always suffices


def _first_threshold(n: int) -> np.uint64 | None:
    """The hash threshold of the first try of ``_kth_distinct`` on ``n`` hashes (None: all of them)."""
    share = KMV_SLACK * KMV_K / n
    return None if share >= 1.0 else np.uint64(int(share * 2.0**64))


def _kth_distinct(hashes: np.ndarray, below: np.ndarray | None = None) -> tuple[int | None, int]:
    """(the ``KMV_K``-th smallest distinct hash, how many hashes are at most it); ``(None, 0)`` when there
    are fewer distinct ones. Looked for among the hashes under a threshold (uniform hashes: a share
    ``KMV_SLACK * K / n`` of the space holds ~2K of them), raised from what the last try found.
    ``below``: the hashes under the first try's threshold (``_first_threshold``), when the caller has them."""
    share = KMV_SLACK * KMV_K / len(hashes)
    while True:
        if below is None:
            below = hashes if share >= 1.0 else hashes[hashes < np.uint64(int(share * 2.0**64))]
        distinct = pd.unique(below)
        if len(distinct) >= KMV_K:
            kth = np.partition(distinct, KMV_K - 1)[KMV_K - 1]
            return int(kth), int(np.count_nonzero(below <= kth))
        if share >= 1.0:
            return None, 0
        # duplicates: ~len(distinct) / share distinct values in all, so K of them need this share
        share = min(1.0, max(2.0 * share, KMV_SLACK * KMV_K * share / max(len(distinct), 1)))
        below = None


def _kmv(hashes: np.ndarray, below: np.ndarray | None = None) -> int:
    """K-minimum-values estimate of the number of distinct 64-bit hashes (no full sort/unique).

    Defined by windows: the ``m`` smallest hashes (with multiplicity), ``m`` = 8K, 64K, 512K...; the
    first window holding K distinct hashes gives the estimate from its K-th smallest distinct one,
    and when the windows reach every hash first (few distinct values) the count is exact. Any window
    holding K distinct hashes holds the K smallest distinct ones of all, so the K-th is found once
    (``_kth_distinct``) and the first window holding it is the first m >= the hashes up to it.
    ``below``: as for ``_kth_distinct``."""
    window = 8 * KMV_K
    if window >= len(hashes):
        return int(len(pd.unique(hashes)))  # few values: exact and cheap
    kth, within = _kth_distinct(hashes, below)
    if kth is not None:
        while window < within:  # duplicates crowd the smallest hashes: widen until K distinct are in it
            window *= 8
        if window < len(hashes):
            return int(round((KMV_K - 1) / ((float(kth) + 1.0) / 2.0**64)))
    return int(len(pd.unique(hashes)))  # the windows reached every hash: exact


SMALL_INT_RANGE = 1 << 20  # an integer column spanning fewer values is counted with one bincount
_EXACT_FLOAT_INT = 2.0**53  # integers up to this are exact in float64


def _few_integers(dtype: Any, present: np.ndarray, ints: np.ndarray | None = None) -> int | None:
    """The distinct count of an integer column over a small range, when it is under ``KMV_K``: what the
    estimate returns then too (it counts exactly below K distinct values), in one bincount instead of
    several widened windows and a full hash table. None otherwise (the estimate decides). ``ints``: the
    column's own int64 values (numpy int64: no missing ones), the integers ``present`` holds as floats:
    offsets from them cost one integer pass instead of a float pass and a cast (~4 ms a million)."""
    if not pd.api.types.is_integer_dtype(dtype) or not len(present):
        return None
    low, high = float(present.min()), float(present.max())
    if high - low >= SMALL_INT_RANGE or max(-low, high) >= _EXACT_FLOAT_INT:
        return None
    offsets = ints - int(low) if ints is not None else (present - low).astype(np.intp)
    count = int(np.count_nonzero(np.bincount(offsets)))
    return count if count < KMV_K else None


_NAT = np.iinfo(np.int64).min


_NS_PER_UNIT = {("s", 1): 10**9, ("ms", 1): 10**6, ("us", 1): 10**3, ("ns", 1): 1}


def _datetime_keys(series: pd.Series) -> np.ndarray:
    """Nanosecond int64 keys of the non-missing values of a datetime column (a new array)."""
    if isinstance(series.dtype, np.dtype):  # numpy datetime64: NaT is the int64 minimum in every unit
        values = series.to_numpy()
        if (scaled := _ns_keys_scaled(values)) is not None:
            return scaled
        keys = values.astype("datetime64[ns]").view(np.int64)
        return _without(keys, keys != _NAT)
    return series.dropna().to_numpy().astype("datetime64[ns]").view(np.int64)


def _ns_keys_scaled(values: np.ndarray) -> np.ndarray | None:
    """``values.astype("datetime64[ns]")`` without NaT, as int64 keys (a new array), by one integer product:
    numpy's unit cast costs ~3 ms a million values, the product ~0.3 ms. The same keys whenever every value
    is within the nanosecond range (the cast multiplies by the same factor then); None otherwise (the cast
    decides, as before)."""
    factor = _NS_PER_UNIT.get(np.datetime_data(values.dtype))
    if factor is None:
        return None
    ints = values.view(np.int64)
    present = _without(ints, ints != _NAT)  # may be ``ints`` itself: read only here
    if not len(present):
        return np.empty(0, dtype=np.int64)
    limit = (2**63 - 1) // factor
    if present.min() < -limit or present.max() > limit:
        return None
    return present * np.int64(factor)  # a new array (also for ns: factor 1)


def _distinct(series: pd.Series, rows: int, present: np.ndarray | None = None) -> int | None:
    """Exact up to ``EXACT_DISTINCT_MAX_ROWS``; above, a KMV estimate for numeric / temporal /
    boolean columns and exact for categoricals; ``None`` (omitted) for large free-text columns,
    whose exact or hashed count costs ~100 ms per million rows. ``present``: the column's float64
    values without NaN, when the caller has them."""
    if rows <= EXACT_DISTINCT_MAX_ROWS:
        return int(series.nunique(dropna=True))
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return int(series.nunique(dropna=True))
    if pd.api.types.is_bool_dtype(dtype):
        return int(series.dropna().astype(bool).nunique())
    if pd.api.types.is_datetime64_any_dtype(dtype):
        keys = _datetime_keys(series)
    elif pd.api.types.is_numeric_dtype(dtype):
        present = _present(_numeric_values(series)) if present is None else present
        ints = series.to_numpy() if isinstance(dtype, np.dtype) and dtype == np.int64 else None
        if (exact := _few_integers(dtype, present, ints)) is not None:
            return exact
        keys = (present + 0.0).view(np.int64)  # -0.0 + 0.0 is 0.0 (-0.0 == 0.0); a new array
    else:
        return None
    return _kmv_of_keys(keys.view(np.uint64)) if len(keys) else 0


def _kmv_of_keys(keys: np.ndarray) -> int:
    """``_kmv`` of the splitmix64 hashes of the uint64 ``keys`` (hashed in place), the first try's hashes
    selected as they are made."""
    threshold = _first_threshold(len(keys))
    if 8 * KMV_K >= len(keys) or threshold is None:
        return _kmv(_mix64_into(keys))
    below = _mix64_below(keys, threshold)
    return _kmv(keys, below)


def _present(values: np.ndarray | None) -> np.ndarray | None:
    """The non-NaN values (contiguous) of a float64 column; None for a non-numeric column."""
    return None if values is None else _without(values, ~np.isnan(values))


def null_counts(frame: pd.DataFrame) -> np.ndarray:
    """Missing values per column (int64, in column order): one ``isna`` pass over the frame, which the
    metrics and the content fingerprint of the same frame can share (~6 ms a million rows)."""
    return frame.isna().sum().to_numpy() if len(frame) else np.zeros(frame.shape[1], dtype=np.int64)


def column_metrics(
    frame: pd.DataFrame, *, numeric_aggregates: bool = True, seed: int = 0, private_columns: Iterable[str] = (),
    digits: int | None = privacy.DIGITS, nulls: np.ndarray | None = None,
) -> tuple[int, dict[str, ColumnMetrics]]:
    """(row count, per-column metrics) of one frame. See the module docstring for privacy and cost.
    ``nulls``: the frame's ``null_counts``, when the caller has them."""
    rows = len(frame)
    nulls = null_counts(frame) if nulls is None else nulls
    rng = np.random.default_rng(seed)
    private = set(private_columns)
    block = _block_metrics(frame, nulls, numeric_aggregates=numeric_aggregates, private=private, digits=digits)
    out: dict[str, ColumnMetrics] = {}
    for position, name in enumerate(frame.columns):
        if position in block:
            out[str(name)] = block[position]
            continue
        aggregate = _aggregated(name, numeric_aggregates, private)
        out[str(name)] = _series_metrics(frame.iloc[:, position], rows, int(nulls[position]), rng,
                                         aggregate=aggregate, digits=digits)
    return rows, out


def _series_metrics(series: pd.Series, rows: int, null_count: int, rng: np.random.Generator, *, aggregate: bool,
                    digits: int | None) -> ColumnMetrics:
    """One column's metrics; its float64 values are read once for the distinct count and the aggregates."""
    big = rows > EXACT_DISTINCT_MAX_ROWS  # the distinct estimate hashes the values too
    present = _present(_numeric_values(series)) if aggregate or big else None
    metrics = ColumnMetrics(
        nullCount=null_count,
        distinctCount=_distinct(series, rows, present) if rows else 0,
        count=float(rows - null_count),
        quantiles=None,
    )
    if aggregate and present is not None and rows - null_count > 0:
        finite = _without(present, np.isfinite(present))
        if len(finite) >= privacy.MIN_VALUES:
            sample = finite if len(finite) <= QUANTILE_SAMPLE else finite[rng.integers(0, len(finite), QUANTILE_SAMPLE)]
            total, low, high, *qs = privacy.coarsen_many(
                [finite.sum(), finite.min(), finite.max(), *np.quantile(sample, QUANTILES)], digits)
            metrics.sum, metrics.min, metrics.max = total, low, high
            metrics.quantiles = dict(zip(_QUANTILE_KEYS, qs, strict=True))
    return metrics


def _aggregated(name: Any, numeric_aggregates: bool, private: set[str]) -> bool:
    return numeric_aggregates and str(name) not in private and not ID_COLUMN.search(str(name))


def _block_metrics(frame: pd.DataFrame, nulls: np.ndarray, *, numeric_aggregates: bool, private: set[str],
                   digits: int | None) -> dict[int, ColumnMetrics]:
    """Metrics of the float64 columns without nulls or infinities, all at once (by position).

    A wide frame (thousands of feature columns) spent ~1 ms a column in the per-column pandas path.
    Only columns whose per-column result is reproduced exactly are taken: no sampling (at most
    ``QUANTILE_SAMPLE`` rows, so the sampler's random stream is untouched) and an exact distinct
    count (at most ``EXACT_DISTINCT_MAX_ROWS``); each column is contiguous (Fortran order), so
    sums, extremes and quantiles are the same reductions as on the column alone."""
    rows = len(frame)
    if rows == 0 or rows > min(QUANTILE_SAMPLE, EXACT_DISTINCT_MAX_ROWS):
        return {}
    positions = [i for i, dtype in enumerate(frame.dtypes) if dtype == np.float64 and nulls[i] == 0]
    if len(positions) < 2:
        return {}
    values = np.asfortranarray(frame.iloc[:, positions].to_numpy(dtype="float64"))
    finite = np.isfinite(values).all(axis=0)
    values, positions = values[:, finite], [p for p, ok in zip(positions, finite, strict=True) if ok]
    ordered = np.sort(values, axis=0)
    distinct = 1 + np.count_nonzero(ordered[1:] != ordered[:-1], axis=0)
    names = list(frame.columns)  # indexing a (pyarrow-backed) Index one at a time costs ~50 us a column
    aggregated = [rows >= privacy.MIN_VALUES and _aggregated(names[p], numeric_aggregates, private) for p in positions]
    if any(aggregated):  # rounded all at once (privacy.coarsen_many: the same floats as one at a time)
        stats = np.vstack([values.sum(axis=0), ordered[0], ordered[-1], np.quantile(values, QUANTILES, axis=0)])
        sums, lows, highs, *qs = (privacy.coarsen_many(row, digits) for row in stats)
    out: dict[int, ColumnMetrics] = {}
    for j, position in enumerate(positions):
        metrics = ColumnMetrics(nullCount=0, distinctCount=int(distinct[j]), count=float(rows), quantiles=None)
        if aggregated[j]:
            metrics.sum, metrics.min, metrics.max = sums[j], lows[j], highs[j]
            metrics.quantiles = dict(zip(_QUANTILE_KEYS, [q[j] for q in qs], strict=True))
        out[position] = metrics
    return out


def data_quality_metrics(
    value: pd.DataFrame | Mapping[str, pd.DataFrame], *, numeric_aggregates: bool = True,
    private_columns: Iterable[str] = (), digits: int | None = privacy.DIGITS, nulls: np.ndarray | None = None,
) -> MetricsFacet | None:
    """``dataQualityMetrics`` input facet of a frame, or of a partition dict (partitions are combined).
    ``nulls``: the ``null_counts`` of ``value`` (a frame), when the caller has them."""
    frame = combine_partitions(value)
    if frame is None:
        return None
    rows, metrics = column_metrics(frame, numeric_aggregates=numeric_aggregates, private_columns=private_columns,
                                   digits=digits, nulls=nulls if frame is value else None)
    return MetricsFacet.build(rows, metrics, file_count=len(value) if isinstance(value, Mapping) else None)


def combine_partitions(value: Any) -> pd.DataFrame | None:
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, Mapping):
        frames = [v for _, v in sorted(value.items()) if isinstance(v, pd.DataFrame)]
        if not frames:
            return None
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return None


# --------------------------------------------------------------------------- output facets
def schema_facet(columns: Iterable[tuple[str, str | None]]) -> SchemaFacet:
    return SchemaFacet.build(columns)


def column_lineage_facet(deps_by_column: Mapping[str, Sequence[tuple[str, str, str]]]) -> ColumnLineageFacet | None:
    """``{output column: [(namespace, dataset name, input column), ...]}`` → ``columnLineage`` facet."""
    return ColumnLineageFacet.build(deps_by_column)


# An event's column lineage beyond the store's per-event limits (lineage.config) is sent in parts: the
# store refuses a larger facet outright. Parts stay under LINEAGE_PART_SHARE of each limit, leaving
# room for the facet's own keys and for the estimate below.
LINEAGE_PART_SHARE = 0.9
_INPUT_FIELD_JSON = len('{"namespace":"","name":"","field":"","transformations":[]},')
_COLUMN_JSON = len('"":{"inputFields":[]},')
_FACET_ENVELOPE = 512  # "_producer", "_schemaURL" (URLs of ~100 characters each) and "fields"


def column_lineage_parts(
    deps_by_column: Mapping[str, Sequence[tuple[str, str, str]]], *, max_edges: int | None = None,
    max_bytes: int | None = None,
) -> list[dict[str, list[tuple[str, str, str]]]]:
    """``deps_by_column`` cut, in order, into parts whose ``columnLineage`` facet each stays within the
    store's limits on input fields (``MAX_COLUMN_EDGES``) and facet size (``MAX_FACET_BYTES``); one
    part (the whole) when it fits. A column whose inputs do not fit in one part continues in the next
    (the store joins the edges of all events of a run)."""
    from lineage.config import MAX_COLUMN_EDGES, MAX_FACET_BYTES

    edge_cap = int((max_edges or MAX_COLUMN_EDGES) * LINEAGE_PART_SHARE)
    byte_cap = int((max_bytes or MAX_FACET_BYTES) * LINEAGE_PART_SHARE) - _FACET_ENVELOPE
    lengths: dict[str, int] = {}  # namespaces and dataset names repeat on every edge: measured once each

    def length(text: str) -> int:
        if (n := lengths.get(text)) is None:
            n = lengths[text] = _json_len(text)
        return n

    parts: list[dict[str, list[tuple[str, str, str]]]] = [{}]
    part = parts[-1]
    edges = size = 0
    for column, deps in deps_by_column.items():
        column_cost = _column_cost(column) if deps else 0
        for dep in deps:
            cost = _INPUT_FIELD_JSON + length(dep[0]) + length(dep[1]) + length(dep[2])
            opening = column not in part
            if edges and (edges + 1 > edge_cap or size + cost + (column_cost if opening else 0) > byte_cap):
                part = {}
                parts.append(part)
                edges = size = 0
                opening = True
            if opening:
                part[column] = []
                size += column_cost
            part[column].append(dep)
            edges += 1
            size += cost
    return parts


def _json_len(text: str) -> int:
    """Characters of ``text`` as a JSON string body (as the store counts: ensure_ascii off)."""
    plain = text.isprintable() and '"' not in text and "\\" not in text
    return len(text) if plain else len(json.dumps(text, ensure_ascii=False)) - 2


def _column_cost(column: str) -> int:
    return _COLUMN_JSON + _json_len(str(column))


def output_statistics(rows: int | None, size: int | None = None) -> OutputStatisticsFacet | None:
    return OutputStatisticsFacet.build(rows, size)


def assertions_facet(assertions: Iterable[Mapping[str, Any]]) -> AssertionsFacet | None:
    """From ``{"assertion", "success", "column", "severity", ["name"]}`` dicts.

    Only names, verdicts, columns and severities are kept: expected/actual values could carry data.
    """
    return AssertionsFacet.build(assertions)


FULL_HASH_MAX_ROWS = 200_000
FINGERPRINT_SAMPLE = 20_000


def content_hash(frame: pd.DataFrame, key: bytes | None = None, nulls: np.ndarray | None = None) -> str:
    """Keyed content fingerprint of a frame (schema included), order-sensitive: HMAC-SHA256 under
    ``key`` (default :func:`lineage.emission.privacy.fingerprint_key`).

    Up to ``FULL_HASH_MAX_ROWS`` rows every row is hashed. Larger frames get a fingerprint, to keep
    the cost at a few milliseconds: row count, per-column null counts and numeric sums, and the
    hashes of ``FINGERPRINT_SAMPLE`` evenly spaced rows. Two different versions collide only if
    they agree on all of these — unlikely for real changes, but not impossible. ``nulls``: the frame's
    ``null_counts``, when the caller has them.
    """
    digest = hmac.new(privacy.fingerprint_key() if key is None else key, digestmod=hashlib.sha256)
    digest.update("|".join(f"{c}:{t}" for c, t in frame.dtypes.items()).encode())
    digest.update(str(len(frame)).encode())
    if len(frame) <= FULL_HASH_MAX_ROWS:
        if len(frame):
            digest.update(_row_hashes(frame).tobytes())
        return digest.hexdigest()[:32]
    step = max(1, len(frame) // FINGERPRINT_SAMPLE)
    sample = frame.iloc[::step]
    digest.update(_row_hashes(sample).tobytes())
    digest.update((null_counts(frame) if nulls is None else nulls).tobytes())
    numeric = frame.select_dtypes(include="number")
    if numeric.shape[1]:
        digest.update(numeric.sum(skipna=True).to_numpy(dtype="float64", na_value=np.nan).tobytes())
    return "fp-" + digest.hexdigest()[:29]


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """``pd.util.hash_pandas_object(frame, index=False)`` as a uint64 array. An all-float64 frame is
    hashed as one 2-D array (the element hash is elementwise), then its columns are combined as pandas
    combines them (CPython's tuple hash): pandas' own column loop cost ~0.2 ms a column, most of the
    version of a wide feature table. Other frames go through pandas."""
    columns = frame.shape[1]
    if columns < 2 or len(frame) == 0 or any(dtype != np.float64 for dtype in frame.dtypes):
        return pd.util.hash_pandas_object(frame, index=False).to_numpy()
    hashes = pd.util.hash_array(np.asfortranarray(frame.to_numpy(dtype="float64")))
    mult = np.uint64(1000003)
    out = np.full(len(frame), 0x345678, dtype=np.uint64)
    for i in range(columns):
        inverse_i = columns - i
        out ^= hashes[:, i]
        out *= mult
        mult += np.uint64(82520 + inverse_i + inverse_i)
    return out + np.uint64(97531)
