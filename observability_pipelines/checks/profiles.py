"""Mergeable per-column profiles of a partition, so a drift window can be compared without re-reading it.

A numeric profile keeps ``K`` quantiles of the finite values (a quantile sketch) or, up to ``EXACT_LIMIT``
finite values, all of them (then merging is exact), the count, null and infinite counts, the first two
moments and, with at most ``COUNTS_LIMIT`` distinct values, the count of each; a categorical one keeps counts
per category. Sketches hold row values, so profiles live in the
:class:`~observability_pipelines.checks.drift_store.DriftStore` (the data's trust domain), never in events
or metadata.

Tolerance (tested against ``scipy.stats.ks_2samp``): the KS statistic of a merged window against a new
partition is within ``KS_TOLERANCE`` of the exact statistic on the concatenated rows; each partition's
step-CDF from its ``K`` quantiles is within ``1/K`` of its empirical CDF, and a weighted mixture of CDFs
keeps that bound, so a decision can only change when the exact statistic is within the band of the
critical value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
import base64
import functools
import json
import struct
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

K = 400  # quantiles per numeric column and partition: CDF error <= 1/K = 0.0025
KS_TOLERANCE = 0.005  # stated bound on |KS(profiles) - KS(exact)|, twice the sketch's own error
MERGED_POINTS = 2000  # a merged window is re-cut to this many quantiles: error <= 1/(2*MERGED_POINTS) more,
# and the work against the new partition no longer grows with the window
EXACT_LIMIT = 2000  # up to this many finite values a partition keeps them all: small tables stay exact
WINDOW_EXACT_LIMIT = 5000  # a window of kept-whole partitions with up to this many values is compared exactly;
# beyond, each is cut to K quantiles like a large one (within KS_TOLERANCE), so a 30-partition window of small
# partitions costs what a 7-partition one does instead of an exact test on 4x the values
COUNTS_LIMIT = 64  # numeric columns with at most this many distinct values keep exact counts (low cardinality)
PROFILE_VERSION = 2  # stored records of another version are ignored (the partition is read instead)
MAGIC = b"OBSPROF1"  # binary profile file (encode_record); the JSON files of earlier versions are still read
STABLE_MERGE_MAX = 8192  # merged window points up to which the sorted runs are merged by a stable argsort


@dataclass
class ColumnProfile:
    kind: str  # "numeric" or "categorical"
    count: int  # rows
    nulls: int = 0
    infs: int = 0
    mean: float | None = None
    m2: float | None = None  # sum of squared deviations (Chan et al. merge)
    quantiles: np.ndarray = field(default_factory=lambda: np.empty(0))  # K quantiles of the finite values
    counts: dict[str, int] = field(default_factory=dict)  # numeric: repr(float) keys, only few distinct values
    exact: bool = False  # quantiles hold every finite value (sorted), each of weight 1
    dtype: str = ""

    @property
    def finite(self) -> int:
        return self.count - self.nulls - self.infs

    def to_dict(self) -> dict:
        """JSON-ready; quantiles as base64 of little-endian float64 (exact, and ~20x faster to load than a list)."""
        data = asdict(self)
        data["quantiles"] = base64.b64encode(np.asarray(self.quantiles, dtype="<f8").tobytes()).decode("ascii")
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> ColumnProfile:
        """From ``to_dict`` (base64 quantiles) or a binary-stored record (quantiles already an array view)."""
        q = data.get("quantiles")
        quantiles = (np.frombuffer(base64.b64decode(q), dtype="<f8") if isinstance(q, str)
                     else np.asarray(q if q is not None else [], dtype="float64"))
        get = data.get  # explicit fields: this runs per column and partition of every window
        return cls(data["kind"], data["count"], get("nulls", 0), get("infs", 0), get("mean"), get("m2"), quantiles,
                   get("counts") or {}, get("exact", False), get("dtype", ""))


def profile_column(series: pd.Series, k: int = K, exact_limit: int = EXACT_LIMIT) -> ColumnProfile:
    nulls, dtype = int(series.isna().sum()), str(series.dtype)
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.dropna().to_numpy(dtype="float64")
        finite = values[np.isfinite(values)]
        infs = int(len(values) - len(finite))
        if not len(finite):
            return ColumnProfile("numeric", len(series), nulls, infs, dtype=dtype)
        finite = np.sort(finite)
        mean = float(finite.mean())
        profile = ColumnProfile("numeric", len(series), nulls, infs, mean, float(((finite - mean) ** 2).sum()),
                                counts=_few_counts(finite), dtype=dtype)
        if len(finite) <= exact_limit:
            profile.quantiles, profile.exact = finite, True
        else:  # inverted-CDF quantiles at (j + 0.5) / k: the smallest value whose empirical CDF reaches it
            profile.quantiles = finite[np.ceil((np.arange(k) + 0.5) / k * len(finite)).astype(np.int64) - 1]
        return profile
    counts = series.dropna().astype(str).value_counts()
    return ColumnProfile("categorical", len(series), nulls, counts={str(c): int(n) for c, n in counts.items()},
                         dtype=dtype)


def _few_counts(finite_sorted: np.ndarray) -> dict[str, int]:
    """Exact counts per distinct value when there are at most ``COUNTS_LIMIT`` of them, else none."""
    starts = np.flatnonzero(np.r_[True, finite_sorted[1:] != finite_sorted[:-1]])
    if len(starts) > COUNTS_LIMIT:
        return {}
    sizes = np.diff(np.r_[starts, len(finite_sorted)])
    return {repr(float(finite_sorted[i])): int(n) for i, n in zip(starts, sizes)}


def profile_frame(frame: pd.DataFrame, columns: Iterable[str], k: int = K,
                  exact_limit: int = EXACT_LIMIT) -> dict[str, ColumnProfile]:
    return {c: profile_column(frame[c], k, exact_limit) for c in columns if c in frame.columns}


def profile_record(frame: pd.DataFrame, columns: Iterable[str], run_id: str | None) -> dict:
    """What the drift store keeps per partition: the profiles, the frame's rows and columns (a column absent
    from the partition counts as all-null, as in a concatenation) and the run whose value was profiled."""
    return {"version": PROFILE_VERSION, "run_id": run_id, "rows": len(frame),
            "frame_columns": [str(c) for c in frame.columns],
            "columns": {c: p.to_dict() for c, p in profile_frame(frame, columns).items()}}


def encode_record(record: Mapping) -> bytes:
    """A profile record as stored: ``MAGIC``, the header length, a JSON header (the record without its quantiles,
    each column's replaced by ``[offset, length]``) and every column's quantiles as one little-endian float64
    block. Loading then parses a small header and takes array views, instead of decoding ~40 kB of JSON and
    base64 per partition of every window."""
    header, blocks, offset = dict(record), [], 0
    header["columns"] = {}
    for name, column in record.get("columns", {}).items():
        q = column.get("quantiles")
        values = ColumnProfile.from_dict({"kind": "", "count": 0, "quantiles": q}).quantiles.astype("<f8")
        header["columns"][name] = {**column, "quantiles": [offset, len(values)]}
        blocks.append(values.tobytes())
        offset += len(values)
    text = json.dumps(header, sort_keys=True).encode("utf-8")
    text += b" " * (-len(text) % 8)  # keeps the float block 8-byte aligned
    return b"".join([MAGIC, struct.pack("<Q", len(text)), text, *blocks])


def decode_record(data: bytes) -> dict | None:
    """The record ``encode_record`` stored (quantiles as read-only array views); None for a torn or foreign file."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 8:
        return None
    (size,) = struct.unpack_from("<Q", data, len(MAGIC))
    start = len(MAGIC) + 8 + size
    try:
        record = json.loads(data[len(MAGIC) + 8:start])
        values = np.frombuffer(data, dtype="<f8", offset=start) if start <= len(data) else None
        for column in record["columns"].values():
            offset, length = column["quantiles"]
            if values is None or offset < 0 or offset + length > len(values):
                return None
            column["quantiles"] = values[offset:offset + length]
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return record


def merged_cdf(profiles: Sequence[ColumnProfile], max_points: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The window's step CDF: each quantile of a partition carries ``finite / K`` of its rows (one merge of
    the sorted runs); a window of kept-whole partitions is their values' own CDF, in a mixed window they are
    cut to ``K`` quantiles once it holds more than ``WINDOW_EXACT_LIMIT`` points (exact up to there).
    With ``max_points``, re-cut to that many quantiles at ``(j + 0.5) / max_points``: the re-cut CDF is the
    original rounded to a multiple of ``1 / max_points``, so within ``1 / (2 * max_points)``."""
    sketched = [p for p in profiles if len(p.quantiles)]
    if not sketched:
        return np.empty(0), np.empty(0)
    if all(p.exact for p in sketched):  # every value kept: the window's own CDF, one sort of its values
        values = np.sort(np.concatenate([np.asarray(p.quantiles, dtype="float64") for p in sketched]))
        cdf = np.arange(1, len(values) + 1, dtype="float64")
    else:
        values, cdf = _weighted_run_merge(sketched)
    last = _last_copies(values)  # a tied value's CDF is the one after all its copies
    values, cdf = values[last], cdf[last] / cdf[-1]
    if max_points is None or len(values) <= max_points:
        return values, cdf
    cut = values[np.minimum(np.searchsorted(cdf, _levels(max_points)), len(values) - 1)]
    last = _last_copies(cut)
    return cut[last], (np.flatnonzero(last) + 1) / max_points


def _weighted_run_merge(sketched: Sequence[ColumnProfile]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted points of sketched (and kept-whole) partitions with the running sum of their weights; kept-whole
    ones are cut to ``K`` quantiles once the window holds more than ``WINDOW_EXACT_LIMIT`` points."""
    cut = sum(len(p.quantiles) for p in sketched) > WINDOW_EXACT_LIMIT  # a small window stays exact
    points = [sketch_points(p) if cut else np.asarray(p.quantiles, dtype="float64") for p in sketched]
    sizes = np.fromiter((len(q) for q in points), dtype=np.int64, count=len(points))
    finite = np.fromiter((p.finite for p in sketched), dtype="float64", count=len(points))
    values = np.concatenate(points)
    # ties collapse to their last copy, whose running sum holds every tied weight in any order, so any sort
    # will do: numpy's stable (merge) argsort is 2-5x faster on a few sorted runs up to ~8k points (a window's
    # blocks and days), its default 2x faster on more
    order = np.argsort(values, kind="stable" if len(values) <= STABLE_MERGE_MAX else None)
    return values[order], np.cumsum(np.repeat(finite / sizes, sizes)[order])


def _last_copies(sorted_values: np.ndarray) -> np.ndarray:
    """True at the last copy of each value of a sorted array (``np.r_`` costs more than the compare here)."""
    last = np.empty(len(sorted_values), dtype=bool)
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=last[:-1])
    last[-1:] = True
    return last


@functools.lru_cache(maxsize=16)
def _levels(points: int) -> np.ndarray:
    levels = (np.arange(points) + 0.5) / points
    levels.setflags(write=False)
    return levels


def sketch_points(profile: ColumnProfile, k: int = K) -> np.ndarray:
    """The profile's quantiles; a kept-whole partition's values cut to ``k`` quantiles as ``profile_column``
    cuts a large one (its CDF then within ``1 / k`` of the exact one, as every sketched partition's)."""
    q = np.asarray(profile.quantiles, dtype="float64")
    if not profile.exact or len(q) <= k:
        return q
    return q[_cut_index(len(q), k)]


@functools.lru_cache(maxsize=4096)
def _cut_index(n: int, k: int) -> np.ndarray:
    """Positions of the inverted-CDF quantiles at ``(j + 0.5) / k`` among ``n`` sorted values (as profiled)."""
    index = np.ceil((np.arange(k) + 0.5) / k * n).astype(np.int64) - 1
    index.setflags(write=False)  # shared by every caller
    return index


def ks_statistic(reference: Sequence[ColumnProfile], current: np.ndarray, presorted: bool = False,
                 merged: tuple[np.ndarray, np.ndarray] | None = None) -> float | None:
    """KS distance between the merged reference profiles and the current partition's finite values.

    Both CDFs are step functions, so the supremum is at a jump of either: every distinct current value
    (the reference just at and just below it) and every reference grid point."""
    grid, cdf = merged if merged is not None else merged_cdf(reference)
    current = np.asarray(current, dtype="float64")
    if not presorted:  # presorted: sorted finite values
        current = np.sort(current[np.isfinite(current)])
    if not len(grid) or not len(current):
        return None
    n = len(current)
    first = np.flatnonzero(np.r_[True, current[1:] != current[:-1]])
    values = current[first]
    right = np.r_[first[1:], n] / n  # current CDF at each distinct value
    left = first / n  # ... and just below it

    def ref(index: np.ndarray) -> np.ndarray:
        return np.where(index >= 0, cdf[np.clip(index, 0, None)], 0.0)

    at = ref(np.searchsorted(grid, values, side="right") - 1)
    below = ref(np.searchsorted(grid, values, side="left") - 1)
    d_grid = np.abs(cdf - np.searchsorted(current, grid, side="right") / n)
    return float(max(np.abs(at - right).max(), np.abs(below - left).max(), d_grid.max()))


def merge_counts(profiles: Sequence[ColumnProfile]) -> dict[str, int]:
    total: dict[str, int] = {}
    for p in profiles:
        for c, n in p.counts.items():
            total[c] = total.get(c, 0) + n
    return total


def merge_moments(profiles: Sequence[ColumnProfile]) -> tuple[int, float | None, float | None]:
    """(finite count, mean, variance) of the window from the partitions' moments (Chan et al.)."""
    n, mean, m2 = merge_m2(profiles)
    return n, mean, (m2 / (n - 1) if n > 1 else None)


def merge_m2(profiles: Sequence[ColumnProfile]) -> tuple[int, float | None, float | None]:
    """(finite count, mean, sum of squared deviations) of the profiles together (Chan et al.; None when empty)."""
    n, mean, m2 = 0, 0.0, 0.0
    for p in profiles:
        if p.mean is None or not p.finite:
            continue
        delta, total = p.mean - mean, n + p.finite
        mean += delta * p.finite / total
        m2 += (p.m2 or 0.0) + delta**2 * n * p.finite / total
        n = total
    return n, (mean if n else None), (m2 if n else None)
