"""Regressions and anomalies on generated series: false-alarm rates, detection lags, and detector speed.

One command: ``python benchmarks/bench_monitoring.py [--seeds N]``. Series as in the tests
(tests/observability_pipelines/checks/test_change_points.py, test_anomalies.py): a daily metric with weekly
seasonality and noise, and daily row counts with a weekend dip and an annual wave. Every day of 180 is
checked (trailing window, as the Dagster checks do). Speed: our segmentation (``KernelCPD``, C) vs
``ruptures.Pelt(model="l2")`` on the same standardised series, measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
import pandas as pd
import ruptures as rpt

from observability_pipelines.checks.anomalies import volume_anomaly
from observability_pipelines.checks.change_points import breakpoints, detect_regression, seasonal_positions, standardised

TESTS = Path(__file__).resolve().parents[1] / "tests/observability_pipelines/checks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, TESTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def change_points(seeds: int) -> dict:
    cp = _load("test_change_points")
    alarms = evals = 0
    for seed in range(seeds):
        series = cp.seasonal_series(seed)
        for d in range(28, cp.DAYS + 1):
            evals += 1
            alarms += detect_regression(series.iloc[:d]).regression
    lags, delays = [], []
    for seed in range(seeds):
        series = cp.seasonal_series(1000 + seed, onset=cp.ONSET)
        r = detect_regression(series)
        lags.append((pd.Timestamp(r.change_key) - pd.Timestamp(series.index[cp.ONSET])).days if r.regression else None)
        first = next((d for d in range(cp.ONSET, cp.DAYS + 1) if detect_regression(series.iloc[:d]).regression), None)
        delays.append(None if first is None else first - cp.ONSET)
    found = [x for x in lags if x is not None]
    return {"clean_evaluations": evals, "false_alarms": alarms, "declines": seeds, "declines_found": len(found),
            "dating_lag_min": min(found), "dating_lag_max": max(found), "dating_lag_median": float(np.median(found)),
            "online_delay_median": float(np.median([d for d in delays if d is not None])),
            "online_delay_max": max(d for d in delays if d is not None)}


def anomalies(seeds: int) -> dict:
    an = _load("test_anomalies")
    alarms = evals = series_with_alarm = found = 0
    for seed in range(seeds):
        s = an.row_counts(seed)
        hit = 0
        for d in range(28, an.DAYS):
            evals += 1
            hit += volume_anomaly(s.iloc[max(0, d - 56):d], s.index[d], s.iloc[d]).anomalous
            found += volume_anomaly(s.iloc[max(0, d - 56):d], s.index[d], int(s.iloc[d] * 0.7)).anomalous
        alarms += hit
        series_with_alarm += bool(hit)
    return {"clean_evaluations": evals, "false_alarms": alarms, "series_with_an_alarm": series_with_alarm,
            "series": seeds, "row_loss_30pct_found": found, "row_loss_30pct_days": evals}


def speed(repeats: int = 20) -> dict:
    cp = _load("test_change_points")
    series = cp.seasonal_series(11, onset=90)
    z = standardised(series.to_numpy(), seasonal_positions(list(series.index)))
    t = time.perf_counter()
    for _ in range(repeats):
        ours = breakpoints(z, 3.0, 7)
    ours_s = (time.perf_counter() - t) / repeats
    t = time.perf_counter()
    for _ in range(max(1, repeats // 10)):
        direct = rpt.Pelt(model="l2", min_size=7, jump=1).fit(z).predict(pen=3.0 * np.log(z.size))[:-1]
    pelt_s = (time.perf_counter() - t) / max(1, repeats // 10)
    return {"same_breakpoints": ours == direct, "kernelcpd_ms": ours_s * 1e3, "pelt_l2_ms": pelt_s * 1e3,
            "speedup": pelt_s / ours_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    args = parser.parse_args()
    for name, result in (("change points", change_points(args.seeds)), ("volume anomalies", anomalies(args.seeds)),
                         ("segmentation speed (180 days)", speed())):
        print(f"{name}: " + ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                                      for k, v in result.items()))


if __name__ == "__main__":
    main()
