"""Change points over a partition series: slow declines dated, clean seasonal series quiet, ruptures itself."""

import numpy as np
import pandas as pd
import pytest
import ruptures as rpt

from observability_pipelines.checks.change_points import (
    RegressionConfig,
    breakpoints,
    detect_regression,
    seasonal_positions,
    standardised,
)

DAYS = 180
ONSET = 120
TOLERANCE = 10  # partitions after the true start; a decline is never dated before it


def seasonal_series(seed: int, onset: int | None = None, weekly_drop: float = 0.03, level: float = 0.80,
                    noise: float = 0.01, season: float = 0.02, days: int = DAYS) -> pd.Series:
    """A daily metric with weekly seasonality and noise; from ``onset`` on it declines ``weekly_drop`` a week."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    y = level * (1 + season * np.sin(2 * np.pi * t / 7)) + rng.normal(0, noise, days)
    if onset is not None:
        y = y - level * weekly_drop / 7 * np.clip(t - onset, 0, None)
    return pd.Series(y, index=pd.date_range("2026-01-01", periods=days).strftime("%Y-%m-%d"))


@pytest.mark.parametrize("seed", range(10))
def test_slow_decline_is_dated_at_its_start(seed):
    series = seasonal_series(1000 + seed, onset=ONSET)
    result = detect_regression(series)
    assert result.regression, result.message
    lag = (pd.Timestamp(result.change_key) - pd.Timestamp(series.index[ONSET])).days
    assert -2 <= lag <= TOLERANCE, (lag, result.message)
    assert result.relative_change < -0.03 and "signed change -" in result.message


def test_decline_is_found_online_within_two_weeks():
    series = seasonal_series(7, onset=ONSET)
    first = next(d for d in range(ONSET, DAYS + 1) if detect_regression(series.iloc[:d]).regression)
    assert first - ONSET <= 14


def test_clean_seasonal_series_raise_no_alarm_over_180_days():
    """0 alarms in 20 seeds × 5 evaluations (days 60..180; benchmarks/bench_monitoring.py checks every day)."""
    alarms = [(seed, d) for seed in range(20) for d in (60, 90, 120, 150, DAYS)
              if detect_regression(seasonal_series(seed).iloc[:d]).regression]
    assert alarms == []


def test_increase_direction_and_absolute_floor():
    rising = -seasonal_series(3, onset=ONSET) + 1.6  # a null rate going up
    assert detect_regression(rising, RegressionConfig(direction="increase")).regression
    assert not detect_regression(rising, RegressionConfig(direction="decrease")).regression
    assert not detect_regression(rising, RegressionConfig(direction="increase", min_absolute_change=1.0)).regression


def test_step_down_is_dated_exactly():
    series = seasonal_series(5, onset=None)
    series.iloc[100:] -= 0.08
    result = detect_regression(series)
    assert result.regression and result.change_key == series.index[100]


def test_breakpoints_are_those_of_ruptures_pelt_l2():
    series = seasonal_series(11, onset=90)
    z = standardised(series.to_numpy(), seasonal_positions(list(series.index)))
    direct = rpt.Pelt(model="l2", min_size=7, jump=1).fit(z).predict(pen=3.0 * np.log(z.size))[:-1]
    assert breakpoints(z, 3.0, 7) == direct and direct


def test_short_or_flat_series_are_not_judged():
    short = detect_regression(seasonal_series(0).iloc[:20])
    assert not short.evaluated and "20 partitions" in short.message
    flat = pd.Series(0.5, index=pd.date_range("2026-01-01", periods=60).strftime("%Y-%m-%d"))
    assert not detect_regression(flat).regression


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="direction"):
        RegressionConfig(direction="down")
    with pytest.raises(ValueError, match="min_segment"):
        RegressionConfig(min_segment=10, window=15)
