"""Evidently's DataDriftPreset on two Parquet files; run by bench_drift.py inside
Evidently's own virtual environment (/work/venvs/evidently: Evidently 0.7.23 needs
pandas < 3, which conflicts with the project's pins).  Not imported by the project.

Usage: <evidently venv>/bin/python evidently_drift_runner.py REF.parquet CUR.parquet REPEAT
Prints one JSON line: {"seconds": best run (wall), "cpu_seconds": best CPU time (all threads), "load_seconds": ..., "n_drifted": ..., "versions": ...}.
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    ref_path, cur_path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
    import evidently
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    t0 = time.perf_counter()
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    load = time.perf_counter() - t0
    definition = DataDefinition(
        numerical_columns=[c for c in ref.columns if c.startswith("num")],
        categorical_columns=[c for c in ref.columns if c.startswith("cat")],
    )
    best, best_cpu, value = float("inf"), float("inf"), None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
        value = snapshot.dict()["metrics"][0]["value"]  # DriftedColumnsCount: {count, share}
    print(json.dumps({
        "seconds": best, "cpu_seconds": best_cpu, "load_seconds": load, "n_drifted": int(value["count"]),
        "versions": {"evidently": evidently.__version__, "pandas": pd.__version__},
    }))


if __name__ == "__main__":
    main()
