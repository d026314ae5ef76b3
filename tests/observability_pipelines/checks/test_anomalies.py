"""Volume and freshness anomalies: thresholds from the series' own history, weekly seasonality included."""

import numpy as np
import pandas as pd
import pytest

from observability_pipelines.checks.anomalies import (
    detect_anomaly,
    freshness_anomaly,
    lateness_seconds,
    seasonal_baseline,
    volume_anomaly,
)

DAYS = 180
KEYS = pd.date_range("2026-01-01", periods=DAYS).strftime("%Y-%m-%d")


def row_counts(seed: int, level: float = 1000.0, noise: float = 0.03) -> pd.Series:
    """Daily row counts: weekends at 60 % of weekdays, multiplicative noise, a slow annual wave."""
    rng = np.random.default_rng(seed)
    weekday = pd.DatetimeIndex(pd.to_datetime(KEYS)).day_of_week.to_numpy()
    wave = 1 + 0.1 * np.sin(2 * np.pi * np.arange(DAYS) / 365)
    counts = level * np.where(weekday >= 5, 0.6, 1.0) * wave * np.exp(rng.normal(0, noise, DAYS))
    return pd.Series(np.round(counts), index=KEYS)


def test_clean_seasonal_volumes_raise_no_alarm_over_180_days():
    """Every 3rd day from day 29 on, against its 8 weeks of history: 0 alarms in 6 seeds × 51 days
    (benchmarks/bench_monitoring.py checks every day of more seeds and states the rate)."""
    alarms = []
    for seed in range(6):
        series = row_counts(seed)
        for d in range(28, DAYS, 3):
            r = volume_anomaly(series.iloc[max(0, d - 56):d], series.index[d], series.iloc[d])
            alarms += [(seed, d, r.message)] if r.anomalous else []
    assert alarms == []


def test_weekend_is_expected_from_weekends():
    series = row_counts(1)
    sunday = next(k for k in series.index[60:] if pd.Timestamp(k).day_of_week == 6)
    i = series.index.get_loc(sunday)
    expected, _, same = seasonal_baseline(list(series.index[i - 56:i]), np.log1p(series.iloc[i - 56:i]), sunday)
    assert same == 8 and np.expm1(expected) == pytest.approx(series.iloc[i], rel=0.1)
    # A Sunday with Monday's volume is anomalous, although it would be normal on a Monday.
    assert volume_anomaly(series.iloc[i - 56:i], sunday, int(series.iloc[i] / 0.6)).anomalous


@pytest.mark.parametrize("factor", [0.7, 1.3])
def test_row_loss_or_duplication_on_one_day_is_flagged(factor):
    series = row_counts(2)
    for d in range(60, DAYS, 10):
        r = volume_anomaly(series.iloc[d - 56:d], series.index[d], int(series.iloc[d] * factor))
        assert r.anomalous and (r.z < 0) == (factor < 1), r.message
        assert "outside the expected range" in r.message and "{" not in r.message


def test_constant_history_does_not_alarm_on_one_row():
    flat = pd.Series(500.0, index=KEYS[:30])
    assert not volume_anomaly(flat, KEYS[30], 501).anomalous
    assert volume_anomaly(flat, KEYS[30], 350).anomalous


def test_late_partition_is_flagged_early_one_is_not():
    rng = np.random.default_rng(4)
    ends = pd.to_datetime(KEYS[:40]).astype("int64").to_numpy() / 1e9 + 86400
    delays = lateness_seconds(ends, ends + 2 * 3600 + rng.normal(0, 300, 40))  # ~2 h after the day ends
    history = pd.Series(delays[:30], index=KEYS[:30])
    assert not freshness_anomaly(history, KEYS[30], delays[30]).anomalous
    assert freshness_anomaly(history, KEYS[30], delays[30] + 6 * 3600).anomalous
    assert not freshness_anomaly(history, KEYS[30], 60.0).anomalous  # earlier than usual is fine
    # a few minutes later than usual is jitter, not staleness, even when the history is very regular
    assert not freshness_anomaly(pd.Series(7200.0, index=KEYS[:30]), KEYS[30], 7200.0 + 1200).anomalous


def test_short_history_is_not_judged_and_bad_direction_refused():
    r = volume_anomaly(row_counts(0).iloc[:5], KEYS[5], 10)  # fewer than four weeks
    assert not r.evaluated and not r.anomalous and "5 earlier partitions" in r.message
    with pytest.raises(ValueError, match="direction"):
        detect_anomaly(row_counts(0), KEYS[-1], 1.0, direction="up")
