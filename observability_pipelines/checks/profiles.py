"""Mergeable per-column profiles of a partition, so a drift window can be compared without re-reading it.

A numeric profile keeps ``K`` quantiles of the finite values (a quantile sketch), the count, null and
infinite counts and the first two moments; a categorical one keeps counts per category. Sketches hold row
values, so profiles live in the :class:`~observability_pipelines.checks.drift_store.DriftStore` (the data's
trust domain), never in events or metadata.

Tolerance (tested against ``scipy.stats.ks_2samp``): the KS statistic of a merged window against a new
partition is within ``KS_TOLERANCE`` of the exact statistic on the concatenated rows; each partition's
step-CDF from its ``K`` quantiles is within ``1/K`` of its empirical CDF, and a weighted mixture of CDFs
keeps that bound, so a decision can only change when the exact statistic is within the band of the
critical value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

K = 400  # quantiles per numeric column and partition: CDF error <= 1/K = 0.0025
KS_TOLERANCE = 0.005  # stated bound on |KS(profiles) - KS(exact)|, twice the sketch's own error


@dataclass
class ColumnProfile:
    kind: str  # "numeric" or "categorical"
    count: int  # rows
    nulls: int = 0
    infs: int = 0
    mean: float | None = None
    m2: float | None = None  # sum of squared deviations (Chan et al. merge)
    quantiles: list[float] = field(default_factory=list)  # K quantiles of the finite values (inverted CDF)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def finite(self) -> int:
        return self.count - self.nulls - self.infs

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> ColumnProfile:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def profile_column(series: pd.Series, k: int = K) -> ColumnProfile:
    nulls = int(series.isna().sum())
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.dropna().to_numpy(dtype="float64")
        finite = values[np.isfinite(values)]
        infs = int(len(values) - len(finite))
        if not len(finite):
            return ColumnProfile("numeric", len(series), nulls, infs)
        finite = np.sort(finite)
        # inverted-CDF quantiles at (j + 0.5) / k: the smallest value whose empirical CDF reaches it
        quantiles = finite[np.ceil((np.arange(k) + 0.5) / k * len(finite)).astype(np.int64) - 1]
        mean = float(finite.mean())
        return ColumnProfile("numeric", len(series), nulls, infs, mean, float(((finite - mean) ** 2).sum()),
                             [float(q) for q in quantiles])
    counts = series.dropna().astype(str).value_counts()
    return ColumnProfile("categorical", len(series), nulls, counts={str(c): int(n) for c, n in counts.items()})


def profile_frame(frame: pd.DataFrame, columns: Iterable[str], k: int = K) -> dict[str, ColumnProfile]:
    return {c: profile_column(frame[c], k) for c in columns if c in frame.columns}


def merged_cdf(profiles: Sequence[ColumnProfile]) -> tuple[np.ndarray, np.ndarray]:
    """The window's step CDF: each quantile of a partition carries ``finite / K`` of its rows (one sort)."""
    points = [np.asarray(p.quantiles, dtype="float64") for p in profiles if p.quantiles]
    if not points:
        return np.empty(0), np.empty(0)
    weights = np.concatenate([np.full(len(q), p.finite / len(q)) for p, q in
                              zip([p for p in profiles if p.quantiles], points)])
    values = np.concatenate(points)
    order = np.argsort(values, kind="stable")
    values, cdf = values[order], np.cumsum(weights[order])
    last = np.r_[values[1:] != values[:-1], True]  # a tied value's CDF is the one after all its copies
    return values[last], cdf[last] / cdf[-1]


def ks_statistic(reference: Sequence[ColumnProfile], current: np.ndarray) -> float | None:
    """KS distance between the merged reference profiles and the current partition's finite values.

    Both CDFs are step functions, so the supremum is at a jump of either: every distinct current value
    (the reference just at and just below it) and every reference grid point."""
    grid, cdf = merged_cdf(reference)
    current = np.asarray(current, dtype="float64")
    current = np.sort(current[np.isfinite(current)])
    if not len(grid) or not len(current):
        return None
    n = len(current)
    values, first = np.unique(current, return_index=True)
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
    n, mean, m2 = 0, 0.0, 0.0
    for p in profiles:
        if p.mean is None or not p.finite:
            continue
        delta, total = p.mean - mean, n + p.finite
        mean += delta * p.finite / total
        m2 += (p.m2 or 0.0) + delta**2 * n * p.finite / total
        n = total
    return n, (mean if n else None), (m2 / (n - 1) if n > 1 else None)
