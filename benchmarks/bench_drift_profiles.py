"""Drift window cost from stored profiles: a 7- and a 30-partition window cost the same (within 20 %).

    .venv/bin/python benchmarks/bench_drift_profiles.py [--rows 50000] [--columns 8] [--reps 7] [--json]

Per window size, the profile path does what a drift check does with stored profiles: read the new partition
(Parquet, as an IO manager would), profile it and store its profile, load the window's stored profiles
(JSON, DriftStore), merge them and compute the KS statistic per numeric column. The baseline is the
window-reading path (read every partition of the window, exact scipy KS on the concatenation), same run.
Reported: median seconds per check and the 30/7 ratio of each path; target: profile path ratio <= 1.2.
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
    from observability_pipelines.checks.profiles import profile_frame

    rng = np.random.default_rng(0)
    store = DriftStore(UPath(base / "state"))
    key = dg.AssetKey("bench")
    names = [f"c{i}" for i in range(columns)]
    for day in range(days + 1):
        frame = pd.DataFrame({c: rng.normal(i, 1 + i / 10, rows) for i, c in enumerate(names)})
        frame.to_parquet(base / f"{day}.parquet")
        if day < days:
            store.save_profile(key, str(day), {c: p.to_dict() for c, p in profile_frame(frame, names).items()})
    return store, key, names


def profile_check(base: Path, store, key, names, window: int, days: int) -> float:
    import pandas as pd

    from observability_pipelines.checks.profiles import ColumnProfile, ks_statistic, profile_frame

    started = time.perf_counter()
    current = pd.read_parquet(base / f"{days}.parquet")
    store.save_profile(key, str(days), {c: p.to_dict() for c, p in profile_frame(current, names).items()})
    stored = [store.load_profile(key, str(d)) for d in range(days - window, days)]
    for c in names:
        ks_statistic([ColumnProfile.from_dict(s[c]) for s in stored], current[c].to_numpy())
    return time.perf_counter() - started


def reading_check(base: Path, names, window: int, days: int) -> float:
    import pandas as pd
    from scipy import stats

    started = time.perf_counter()
    current = pd.read_parquet(base / f"{days}.parquet")
    reference = pd.concat([pd.read_parquet(base / f"{d}.parquet") for d in range(days - window, days)])
    for c in names:
        stats.ks_2samp(reference[c].to_numpy(), current[c].to_numpy())
    return time.perf_counter() - started


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
        times: dict[str, list[float]] = {f"{path}_{w}": [] for path in ("profiles", "reading") for w in (7, 30)}
        profile_check(base, store, key, names, 7, days)  # warm-up
        for _ in range(args.reps):  # alternate so drift in machine load hits all variants alike
            for w in (7, 30):
                times[f"profiles_{w}"].append(profile_check(base, store, key, names, w, days))
                times[f"reading_{w}"].append(reading_check(base, names, w, days))
    med = {k: statistics.median(v) for k, v in times.items()}
    result = {"rows": args.rows, "columns": args.columns, "reps": args.reps,
              "median_s": {k: round(v, 4) for k, v in med.items()},
              "profiles_ratio_30_7": round(med["profiles_30"] / med["profiles_7"], 3),
              "reading_ratio_30_7": round(med["reading_30"] / med["reading_7"], 3)}
    result["ok"] = result["profiles_ratio_30_7"] <= 1.2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"profiles: 7 -> {med['profiles_7'] * 1000:.0f} ms, 30 -> {med['profiles_30'] * 1000:.0f} ms "
              f"(x{result['profiles_ratio_30_7']}); reading: 7 -> {med['reading_7'] * 1000:.0f} ms, "
              f"30 -> {med['reading_30'] * 1000:.0f} ms (x{result['reading_ratio_30_7']}); "
              f"{'OK' if result['ok'] else 'FAIL'} (target <= 1.2)")
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
