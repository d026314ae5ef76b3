"""NannyML's CBPE on two Parquet files; run by bench_model_estimation.py inside NannyML's own virtual
environment (/work/venvs/nannyml; its dependency pins are kept out of the project's).
Not imported by the project.

Usage: <nannyml venv>/bin/python nannyml_cbpe_runner.py REFERENCE.parquet ANALYSIS.parquet
Both files: ``day`` (YYYY-MM-DD), ``ts`` (timestamp), ``y_pred_proba``, ``y_pred``; the reference also ``y_true``.
Prints one JSON line: {"estimates": {day: {metric: value}}, "seconds": ..., "versions": {...}}.
"""

from __future__ import annotations

import json
import sys
import time

METRICS = ["roc_auc", "accuracy", "precision", "recall", "f1"]


def main() -> None:
    import nannyml as nml
    import pandas as pd

    reference, analysis = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
    started = time.perf_counter()
    estimator = nml.CBPE(
        y_pred_proba="y_pred_proba", y_pred="y_pred", y_true="y_true", timestamp_column_name="ts",
        problem_type="classification_binary", metrics=METRICS, chunk_period="D",
    )
    estimator.fit(reference)
    frame = estimator.estimate(analysis).filter(period="analysis").to_df()
    seconds = time.perf_counter() - started
    estimates = {}
    for _, row in frame.iterrows():
        day = pd.Timestamp(row[("chunk", "start_date")]).strftime("%Y-%m-%d")
        estimates[day] = {m: float(row[(m, "value")]) for m in METRICS}
    print(json.dumps({"estimates": estimates, "seconds": seconds,
                      "versions": {"nannyml": nml.__version__, "pandas": pd.__version__}}))


if __name__ == "__main__":
    main()
