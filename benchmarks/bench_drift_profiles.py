"""Drift window cost from stored profiles: a 7- and a 30-partition window cost the same (within 20 %).

    .venv-test/bin/python benchmarks/bench_drift_profiles.py [--rows 400,1000,10000,50000] [--columns 8] [--reps 7]
        [--quick] [--json]

Per window size, the profile path is the drift check itself (``drift_observer.evaluate_drift`` on a real
Dagster instance holding a materialization, with the usual metadata, of each of 31 daily partitions): read the
new partition (Parquet, as an IO manager would), find the window's partitions and their latest runs (run index),
store the new profile, load the window's stored profiles, compare (``detect_drift_from_profiles``, the
pipelines' drift config) and build the check's result. The baseline is
the window-reading path the check used before (read every partition of the window, ``detect_drift`` on the
concatenation), same run. Columns: ``--columns`` numeric ones plus a categorical and a low-cardinality
integer; each partition's row count varies by up to 5 % around ``--rows`` (as daily partitions do, so
the window's profiles carry different weights). Reported per size: median CPU seconds (process time: the
check's own cost, steady on a shared machine) and wall seconds per check, and the 30/7 ratio of each path,
PASS/FAIL against the target (profile path's CPU ratio <= 1.2, on the same partition checked again and on a
sliding window: each repetition checks the next day, so the window's pre-merged blocks are reused and rebuilt
as a daily schedule would); exit 0 when every size passes.
``--quick``: 10,000 rows, 3 reps (a smoke run).
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


DAILY_START = "2026-01-01"


def build(base: Path, rows: int, columns: int, days: int, profiled: int | None = None):
    import dagster as dg
    import numpy as np
    import pandas as pd

    from observability_pipelines.checks.drift_store import DriftStore
    from observability_pipelines.checks.profiles import profile_record

    rng = np.random.default_rng(0)
    (base / "dagster").mkdir()
    instance = dg.DagsterInstance.local_temp(str(base / "dagster"))
    store = DriftStore.for_instance(instance)  # where the check keeps them
    key = dg.AssetKey("bench")
    partitions = dg.DailyPartitionsDefinition(start_date=DAILY_START)
    numeric = [f"c{i}" for i in range(columns)]
    keys = partitions.get_partition_keys()[:days + 1]
    for day, partition in enumerate(keys):
        n = int(rows * rng.uniform(0.95, 1.05))
        frame = pd.DataFrame({c: rng.normal(i, 1 + i / 10, n) for i, c in enumerate(numeric)})
        frame["region"] = rng.choice(["north", "south", "east", "west"], n)
        frame["level"] = rng.integers(0, 4, n)
        frame.to_parquet(base / f"{day}.parquet")
        instance.report_runless_asset_event(dg.AssetMaterialization(  # what an IO manager's output records
            asset_key=key, partition=partition, metadata={
                "dagster/row_count": n, "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(c, str(frame[c].dtype)) for c in frame.columns])}))
        if day < (days if profiled is None else profiled):  # runless materializations carry the empty run id
            store.save_profile(key, partition, profile_record(frame, list(frame.columns), ""))
    context = SimpleNamespace(instance=instance, resources=SimpleNamespace(), partition_keys=keys)
    return context, partitions, key, [*numeric, "region", "level"]


def profile_check(base: Path, context, partitions, key, names, window: int, days: int) -> tuple[float, float]:
    import pandas as pd

    from observability_pipelines.checks.drift_observer import evaluate_drift, pipeline_drift_config

    started = _now()
    current = pd.read_parquet(base / f"{days}.parquet")
    result, _ = evaluate_drift(context, key, context.partition_keys[days], partitions, current, names,
                               window=window, config=pipeline_drift_config(), run_id="")
    assert result.metadata["reference_partitions"].value == window, result.metadata
    assert result.metadata["reference_partitions_read"].value == 0  # every partition from its profile
    return _since(started)


def reading_check(base: Path, names, window: int, days: int) -> float:
    import pandas as pd

    from observability_pipelines.checks.drift import detect_drift
    from observability_pipelines.checks.drift_observer import pipeline_drift_config

    started = _now()
    current = pd.read_parquet(base / f"{days}.parquet")
    reference = pd.concat([pd.read_parquet(base / f"{d}.parquet") for d in range(days - window, days)],
                          ignore_index=True)
    detect_drift(reference[names], current[names], pipeline_drift_config())
    return _since(started)


def _now() -> tuple[float, float]:
    return time.process_time(), time.perf_counter()


def _since(started: tuple[float, float]) -> tuple[float, float]:
    return time.process_time() - started[0], time.perf_counter() - started[1]


TARGET = 1.2  # profile path: CPU of a 30-partition window / a 7-partition one


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", default="400,1000,10000,50000", help="rows per partition, comma-separated sizes")
    parser.add_argument("--columns", type=int, default=8)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="10,000 rows, 3 reps")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [10_000] if args.quick else [int(r) for r in args.rows.split(",")]
    reps = 3 if args.quick else args.reps
    results = [measure(rows, args.columns, reps) for rows in sizes]
    for result in results:
        if not args.json:
            print(_line(result))
    if args.json:
        print(json.dumps(results, indent=2))
    sys.exit(0 if all(r["ok"] for r in results) else 1)


def measure(rows: int, columns: int, reps: int) -> dict:
    """Median CPU and wall time per check of both paths at 7 and 30 partitions, interleaved; and of the profile
    path on a sliding window (each repetition checks the next day, as a daily schedule does: the window loses
    its oldest partition and gains the previous check's, and pre-merged blocks are built as groups fill)."""
    days = 30
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        context, partitions, key, names = build(base, rows, columns, days + reps + 1, profiled=days)
        times: dict[str, list[tuple[float, float]]] = {
            f"{p}_{w}": [] for p in ("profiles", "reading", "slide") for w in (7, 30)}
        for w in (7, 30):  # warm-up (and the run index's first build)
            profile_check(base, context, partitions, key, names, w, days)
        for _ in range(reps):  # alternate so drift in machine load hits all variants alike
            for w in (7, 30):
                times[f"profiles_{w}"].append(profile_check(base, context, partitions, key, names, w, days))
                times[f"reading_{w}"].append(reading_check(base, names, w, days))
        for day in range(days + 1, days + reps + 1):  # the next day each time, both windows
            for w in ((7, 30) if day % 2 else (30, 7)):  # the first check of a day creates its files: alternate
                times[f"slide_{w}"].append(profile_check(base, context, partitions, key, names, w, day))
    cpu = {k: statistics.median(c for c, _ in v) for k, v in times.items()}
    wall = {k: statistics.median(w for _, w in v) for k, v in times.items()}
    result = {"rows": rows, "columns": columns, "reps": reps,
              "median_cpu_s": {k: round(v, 4) for k, v in cpu.items()},
              "median_wall_s": {k: round(v, 4) for k, v in wall.items()},
              "mean_cpu_s": {k: round(statistics.fmean(c for c, _ in v), 4) for k, v in times.items()},
              "profiles_ratio_30_7": _paired(times, "profiles", 0),
              "reading_ratio_30_7": _paired(times, "reading", 0),
              "profiles_wall_ratio_30_7": _paired(times, "profiles", 1),
              "slide_ratio_30_7": _paired(times, "slide", 0)}
    result["ok"] = result["profiles_ratio_30_7"] <= TARGET and result["slide_ratio_30_7"] <= TARGET
    return result


def _paired(times: dict, path: str, which: int) -> float:
    """Median over repetitions of (30-partition check / the 7-partition check run just before it): the
    machine's speed drifts between repetitions (a shared host), much less within one pair."""
    pairs = zip(times[f"{path}_30"], times[f"{path}_7"])
    return round(statistics.median(a[which] / b[which] for a, b in pairs), 3)


def _line(result: dict) -> str:
    cpu = {k: v * 1000 for k, v in result["median_cpu_s"].items()}
    return (f"{result['rows']} rows: CPU per check: profiles 7 -> {cpu['profiles_7']:.1f} ms, 30 -> "
            f"{cpu['profiles_30']:.1f} ms (x{result['profiles_ratio_30_7']}); baseline reading 7 -> "
            f"{cpu['reading_7']:.1f} ms, 30 -> {cpu['reading_30']:.1f} ms (x{result['reading_ratio_30_7']}); wall "
            f"ratio of profiles x{result['profiles_wall_ratio_30_7']}; sliding window 7 -> {cpu['slide_7']:.1f} ms, "
            f"30 -> {cpu['slide_30']:.1f} ms (x{result['slide_ratio_30_7']}); {'PASS' if result['ok'] else 'FAIL'} "
            f"(target <= {TARGET})")


if __name__ == "__main__":
    main()
