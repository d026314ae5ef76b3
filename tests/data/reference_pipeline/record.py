"""Record the reference pipelines' OpenLineage events for the web UI's browser test (run by hand, ~4 min).

Five daily partitions of the daily assets (small seeded data), a null burst injected into
``raw_customers.income`` on the last day, the model trained once and predictions for every day; the events
the runs emitted into the embedded lineage store are written, in storage order, to
``events.jsonl.gz`` beside this file::

    PYTHONPATH=tests/support .venv-test/bin/python tests/data/reference_pipeline/record.py
"""

from __future__ import annotations

import gzip
import os
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).with_name("events.jsonl.gz")
DAYS = [f"2026-03-0{d}" for d in range(1, 6)]
FAULT = {"asset": "raw_customers", "column": "income", "kind": "null_burst", "partition": DAYS[-1]}


def main() -> None:
    work = Path(tempfile.mkdtemp())
    (work / "home").mkdir()
    os.environ["DAGSTER_HOME"] = str(work / "home")
    os.environ["OBS_LINEAGE_DB"] = f"sqlite:///{work / 'lineage.db'}"
    from helpers.pipeline import DAILY, MODEL, Pipeline
    from sqlalchemy import select

    from lineage.store import LineageStore
    from lineage.store import tables as t

    pipeline = Pipeline(work / "data", plan=[FAULT])
    for day in DAYS:
        pipeline.materialize(DAILY, day, raise_on_error=False)
    pipeline.materialize(MODEL, raise_on_error=False)
    for day in DAYS:
        pipeline.materialize(["batch_predictions"], day, raise_on_error=False)
    store = LineageStore.open(os.environ["OBS_LINEAGE_DB"])
    with store.read() as conn:
        payloads = [r.payload for r in conn.execute(select(t.events.c.payload).order_by(t.events.c.id))]
    with gzip.open(OUT, "wt", encoding="utf-8") as f:
        f.writelines(p + "\n" for p in payloads)
    print(f"{len(payloads)} events -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
