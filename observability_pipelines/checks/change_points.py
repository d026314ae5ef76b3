"""Regressions over time: change points in the partition series of a metric (pure functions, no Dagster).

A metric (a model metric, a fairness difference, a row count, a null rate, a drift score) has one value per
partition. A slow decline hides in day-to-day noise and weekly seasonality; here the series is first made
comparable across days (the weekly profile removed, scaled by its own robust noise), then segmented by
``ruptures`` (PELT on the l2 cost, through ``KernelCPD(kernel="linear")``: the same segmentation as
``Pelt(model="l2")``, in C). A regression is when the latest segment sits, in the bad direction, at least
``min_relative_change`` away from the first (reference) segment; it is dated at the first change point after
the reference, i.e. where the decline starts, not where it crosses a threshold.

Measured on generated series (benchmarks/bench_monitoring.py, 100 seeds, series as in the tests): a decline of
3 % a week (noise 1.25 %, weekly seasonality ±2 %) is found in every series, dated a median 5 partitions after its
true start (range −10 to +9), and alarmed online a median 12 partitions after it starts (at most 16); clean
seasonal series checked every day of 180 raise no alarm (0 of 15,300 evaluations).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

PERIOD = 7  # weekly seasonality of daily partitions
PENALTY_PER_LOG_N = 3.0  # BIC-like penalty (× log n) on the unit-noise series: 1 of 200 clean series segmented
MIN_SEGMENT = 7  # a regime shorter than a week is noise or an incident, not a regression
MIN_HISTORY = 28  # four weeks before anything is said: the weekly profile needs several of each weekday
WINDOW = 120  # trailing partitions examined (bounded cost; older regimes no longer matter)
MIN_RELATIVE_CHANGE = 0.03  # a material regression: 3 % of the reference level
DIRECTIONS = ("decrease", "increase", "both")


@dataclass(frozen=True)
class RegressionConfig:
    direction: str = "decrease"  # which way is bad: "decrease" (AUC, row count), "increase" (null rate), "both"
    min_relative_change: float = MIN_RELATIVE_CHANGE
    min_absolute_change: float = 0.0  # for metrics near 0 (a parity difference): relative change is meaningless
    penalty: float = PENALTY_PER_LOG_N
    min_segment: int = MIN_SEGMENT
    min_history: int = MIN_HISTORY
    window: int = WINDOW
    period: int = PERIOD

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {self.direction!r}")
        if self.min_segment < 2 or self.window < 2 * self.min_segment:
            raise ValueError(f"need min_segment >= 2 and window >= 2 × min_segment, got "
                             f"{self.min_segment} and {self.window}")


@dataclass
class RegressionResult:
    regression: bool
    evaluated: bool
    n: int
    change_key: str | None = None  # partition where the current regime starts
    reference_level: float | None = None
    current_level: float | None = None
    change: float | None = None  # current - reference (signed)
    relative_change: float | None = None  # change / |reference| (signed)
    change_keys: list[str] = field(default_factory=list)
    message: str = ""


def seasonal_positions(keys: Sequence[str], period: int = PERIOD) -> np.ndarray:
    """Weekday of each daily partition key; position modulo ``period`` when keys are not dates."""
    try:  # plain datetime: a pandas index per call costs more than the change-point search itself
        return np.array([date.fromisoformat(str(k)).weekday() for k in keys], dtype=int) % period
    except ValueError:
        return np.arange(len(keys)) % period


def deseasonalise(values: np.ndarray, positions: np.ndarray, period: int = PERIOD) -> np.ndarray:
    """Values minus their weekday profile (median per position, centred), so weekends do not look like shifts."""
    profile = np.zeros(period)
    for p in range(period):
        at = values[positions == p]
        if at.size:
            profile[p] = np.median(at)
    present = np.unique(positions)
    profile[present] -= profile[present].mean()
    return values - profile[positions]


def noise_scale(values: np.ndarray) -> float:
    """Robust noise of a series from its first differences (MAD / √2): a level shift or a trend barely moves it."""
    d = np.diff(values)
    mad = 1.4826 * float(np.median(np.abs(d - np.median(d)))) / np.sqrt(2)
    return mad if mad > 0 else float(np.std(d)) / np.sqrt(2)


def standardised(values: np.ndarray, positions: np.ndarray, period: int = PERIOD) -> np.ndarray:
    resid = deseasonalise(values, positions, period)
    scale = noise_scale(resid)
    return (resid - np.median(resid)) / scale if scale > 0 else resid - np.median(resid)


def breakpoints(z: np.ndarray, penalty: float = PENALTY_PER_LOG_N, min_segment: int = MIN_SEGMENT) -> list[int]:
    """Start indices of the segments after the first (ruptures PELT, l2 cost, penalty × log n)."""
    import ruptures as rpt

    if z.size < 2 * min_segment or not np.any(z != z[0]):
        return []
    algo = rpt.KernelCPD(kernel="linear", min_size=min_segment).fit(z.reshape(-1, 1))
    return [int(b) for b in algo.predict(pen=penalty * np.log(z.size))[:-1]]


def _bad(change: float, reference: float, config: RegressionConfig) -> bool:
    relative = abs(change) / abs(reference) if reference else float("inf")
    material = relative >= config.min_relative_change and abs(change) >= config.min_absolute_change
    sign_ok = {"decrease": change < 0, "increase": change > 0, "both": change != 0}[config.direction]
    return material and sign_ok


def regime_start(flat: np.ndarray, bounds: list[int], reference: float, config: RegressionConfig) -> int:
    """Start of the earliest segment from which every later one sits on the bad side of the reference.

    A slow decline is cut into steps; its first step is small but it is where the decline starts."""
    i = len(bounds) - 2
    while i > 1:
        change = float(np.mean(flat[bounds[i - 1]:bounds[i]])) - reference
        if not {"decrease": change < 0, "increase": change > 0, "both": True}[config.direction]:
            break
        i -= 1
    return bounds[i]


def detect_regression(series: pd.Series, config: RegressionConfig = RegressionConfig()) -> RegressionResult:
    """Is the latest regime of ``series`` (index: partition keys, ascending) materially worse than its first?"""
    s = pd.to_numeric(series, errors="coerce").dropna().tail(config.window)
    n = int(s.size)
    if n < config.min_history:
        return RegressionResult(False, False, n, message=f"not evaluated: {n} partitions with a value, "
                                                          f"{config.min_history} needed")
    values, keys = s.to_numpy(dtype=float), [str(k) for k in s.index]
    positions = seasonal_positions(keys, config.period)
    cuts = breakpoints(standardised(values, positions, config.period), config.penalty, config.min_segment)
    bounds = [0, *cuts, n]
    flat = deseasonalise(values, positions, config.period)
    reference = float(np.mean(flat[bounds[0]:bounds[1]]))
    current = float(np.mean(flat[bounds[-2]:bounds[-1]]))
    change = current - reference
    regression = bool(cuts) and _bad(change, reference, config)
    result = RegressionResult(
        regression, True, n, change_key=keys[regime_start(flat, bounds, reference, config)] if cuts else None,
        reference_level=reference,
        current_level=current, change=change, relative_change=change / abs(reference) if reference else None,
        change_keys=[keys[c] for c in cuts])
    result.message = describe(result, config)
    return result


def describe(r: RegressionResult, config: RegressionConfig) -> str:
    if not r.change_keys:
        return f"no change point in the last {r.n} partitions (level {r.reference_level:.4g})"
    pct = f" ({r.relative_change:+.1%})" if r.relative_change is not None else ""
    what = "regression" if r.regression else "change within bounds"
    return (f"{what}: level {r.reference_level:.4g} → {r.current_level:.4g}, signed change {r.change:+.4g}{pct}, "
            f"starting at partition {r.change_key}; bad direction {config.direction}, material from "
            f"{config.min_relative_change:.0%}; {len(r.change_keys)} change point(s) in {r.n} partitions")
