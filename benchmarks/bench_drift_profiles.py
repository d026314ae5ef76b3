"""Drift window cost from stored profiles: a 7- and a 30-partition window cost the same (within 20 %).

    .venv/bin/python benchmarks/bench_drift_profiles.py [--rows 50000] [--columns 8] [--reps 7] [--json]

Per window size, the profile path does what the drift check does (``checks/drift_observer.py``): read the new
partition (Parquet, as an IO manager would), profile it and store its profile, load the window's stored
profiles (DriftStore), and ``detect_drift_from_profiles`` with the pipelines' drift config. The baseline is
the window-reading path the check used before (read every partition of the window, ``detect_drift`` on the
concatenation), same run. Columns: ``--columns`` numeric ones plus a categorical and a low-cardinality
integer. Reported: median CPU seconds (process time: the check's own cost, steady on a shared machine) and
wall seconds per check, and the 30/7 ratio of each path; exit 0 (PASS) when the profile path's CPU ratio
is <= 1.2.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build(base: Path, rows: int, columns: int, days: int):
    import dagster as dg
    import numpy as np
    import pandas as pd
    from upath import UPath

    from observability_pipelines.checks.drift_store import DriftStore
    from observability_pipelines.checks.profiles import profile_record

    rng = np.random.default_rng(0)
    store = DriftStore(UPath(base / "state"))
    key = dg.AssetKey("bench")
    numeric = [f"c{i}" for i in range(columns)]
    for day in range(days + 1):
        frame = pd.DataFrame({c: rng.normal(i, 1 + i / 10, rows) for i, c in enumerate(numeric)})
        frame["region"] = rng.choice(["north", "south", "east", "west"], rows)
        frame["level"] = rng.integers(0, 4, rows)
        frame.to_parquet(base / f"{day}.parquet")
        if day < days:
            store.save_profile(key, str(day), profile_record(frame, list(frame.columns), None))
    return store, key, [*numeric, "region", "level"]


def profile_check(base: Path, store, key, names, window: int, days: int) -> float:
    import pandas as pd

    from observability_pipelines.checks.drift_observer import pipeline_drift_config
    from observability_pipelines.checks.profile_drift import detect_drift_from_profiles
    from observability_pipelines.checks.profiles import profile_record

    started = _now()
    current = pd.read_parquet(base / f"{days}.parquet")
    store.save_profile(key, str(days), profile_record(current, names, None))
    stored = [store.load_profile(key, str(d)) for d in range(days - window, days)]
    result = detect_drift_from_profiles(stored, current, names, pipeline_drift_config())
    assert result is not None and len(result.columns) == len(names)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--columns", type=int, default=8)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    days = 30
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        store, key, names = build(base, args.rows, args.columns, days)
        times: dict[str, list[tuple[float, float]]] = {f"{p}_{w}": [] for p in ("profiles", "reading") for w in (7, 30)}
        profile_check(base, store, key, names, 7, days)  # warm-up
        for _ in range(args.reps):  # alternate so drift in machine load hits all variants alike
            for w in (7, 30):
                times[f"profiles_{w}"].append(profile_check(base, store, key, names, w, days))
                times[f"reading_{w}"].append(reading_check(base, names, w, days))
    cpu = {k: statistics.median(c for c, _ in v) for k, v in times.items()}
    wall = {k: statistics.median(w for _, w in v) for k, v in times.items()}
    result = {"rows": args.rows, "columns": args.columns, "reps": args.reps,
              "median_cpu_s": {k: round(v, 4) for k, v in cpu.items()},
              "median_wall_s": {k: round(v, 4) for k, v in wall.items()},
              "profiles_ratio_30_7": round(cpu["profiles_30"] / cpu["profiles_7"], 3),
              "reading_ratio_30_7": round(cpu["reading_30"] / cpu["reading_7"], 3),
              "profiles_wall_ratio_30_7": round(wall["profiles_30"] / wall["profiles_7"], 3)}
    result["ok"] = result["profiles_ratio_30_7"] <= 1.2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"CPU per check: profiles 7 -> {cpu['profiles_7'] * 1000:.0f} ms, 30 -> {cpu['profiles_30'] * 1000:.0f} ms "
              f"(x{result['profiles_ratio_30_7']}); reading 7 -> {cpu['reading_7'] * 1000:.0f} ms, "
              f"30 -> {cpu['reading_30'] * 1000:.0f} ms (x{result['reading_ratio_30_7']}); wall ratio of profiles "
              f"x{result['profiles_wall_ratio_30_7']}; {'PASS' if result['ok'] else 'FAIL'} (target <= 1.2)")
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
