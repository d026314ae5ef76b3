"""A store for the web UI's tests: a partitioned pipeline with a fault, its drift facets and a model downstream,
the small ML pipeline, the real dbt, Spark and Airflow events, and on request the reference pipelines' recorded
events (tests/data/reference_pipeline: five days, a null burst in raw_customers.income on the last) and a
1,000-node graph.

Drift facets carry what the project's drift check reports (KS statistic and p-value from scipy, null shares), on
synthetic column samples seeded per partition; the faulty partition has 30% nulls in ``income``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from helpers import lineage_scenario, producer_corpus
from helpers.partitioned_events import NS, day, run
from openlineage.client.serde import Serde
from scipy import stats

from lineage.facets import ColumnDrift, DriftDatasetFacet
from lineage.store import LineageStore

FAULT_DAY, FAULT_NULLS, ROWS = 6, 300, 1000
FAULT_PARTITION = "2026-03-07"
KS_ALPHA = 0.05
PERF_NS, PERF_JOBS, PERF_WIDTH, PERF_LAYERS = "perf://wide", "perf", 48, 11
REFERENCE_EVENTS = Path(__file__).resolve().parents[2] / "data" / "reference_pipeline" / "events.jsonl.gz"
# What record.py injected (tests/data/reference_pipeline/record.py).
REFERENCE_FAULT = {"asset": "raw_customers", "column": "income", "kind": "null_burst", "partition": "2026-03-05"}


def reference_events() -> list[dict[str, Any]]:
    """The reference pipelines' events, as a real run emitted them."""
    with gzip.open(REFERENCE_EVENTS, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _sample(day_: int, nulls: int) -> np.ndarray:
    """The same distribution every day (normal quantiles, shuffled); ``nulls`` values at random made NaN."""
    rng = np.random.default_rng(day_)
    values = rng.permutation(stats.norm.ppf((np.arange(ROWS) + 0.5) / ROWS, loc=120.0, scale=12.0))
    values[rng.choice(ROWS, nulls, replace=False)] = np.nan
    return values


def drift_facet(day_: int, nulls: int) -> DriftDatasetFacet:
    """Drift of ``income`` and ``amount`` of one day against the days before it (KS on non-null values)."""
    refs = list(range(max(0, day_ - 3), day_))
    ref = np.concatenate([_sample(d, 0) for d in refs])
    columns = {}
    for name, scale, col_nulls in (("income", 1.0, nulls), ("amount", 0.5, 0)):  # the fault: nulls in income
        r, c = ref * scale, _sample(day_, col_nulls) * scale
        test = stats.ks_2samp(r[~np.isnan(r)], c[~np.isnan(c)])
        null_ref, null_cur = float(np.isnan(r).mean()), float(np.isnan(c).mean())
        null_burst = null_cur > null_ref + 0.05
        columns[name] = ColumnDrift(
            drifted=bool(test.pvalue < KS_ALPHA or null_burst), kind="numerical", test="ks",
            statistic=float(test.statistic), pValue=float(test.pvalue), threshold=KS_ALPHA,
            nullDrift=null_burst, nullFractionReference=null_ref, nullFractionCurrent=null_cur,
            status="null_increase" if null_burst else "ok")
    drifted = [c for c in columns.values() if c.drifted]
    partitions = [(dt.date(2026, 3, 1) + dt.timedelta(days=d)).isoformat() for d in refs]
    return DriftDatasetFacet(drifted=bool(drifted), shareDrifted=len(drifted) / len(columns), columns=columns,
                             driftShareThreshold=0.5, referenceRows=len(ref), currentRows=ROWS,
                             referencePartitions=partitions)


def _with_drift(events: list[dict[str, Any]], day_: int, nulls: int) -> list[dict[str, Any]]:
    facet = Serde.to_dict(drift_facet(day_, nulls)) if day_ > 0 else None
    for event in events:
        for out in event.get("outputs", []):
            if facet and event["eventType"] == "COMPLETE" and out["name"] == "raw.loans":
                out.setdefault("facets", {})["drift"] = facet
    return events


def _typed(events: list[dict[str, Any]], dataset: str, dataset_type: str) -> list[dict[str, Any]]:
    facet = {"_producer": "https://github.com/example/observability-pipelines/tests", "datasetType": dataset_type,
             "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/DatasetTypeDatasetFacet.json"}
    for event in events:
        for out in event.get("outputs", []):
            if out["name"] == dataset:
                out.setdefault("facets", {})["datasetType"] = facet
    return events


def pipeline_events() -> list[dict[str, Any]]:
    """Six clean days, a model and its scores downstream, then the faulty day."""
    events: list[dict[str, Any]] = []
    for d in range(FAULT_DAY):
        events += _with_drift(day(d), d, 0)
    events += _typed(run("train", FAULT_DAY - 1, ["clean.loans"], "models.loan_model"), "models.loan_model", "MODEL")
    events += _typed(run("score", FAULT_DAY - 1, ["models.loan_model"], "serving.loan_scores"), "serving.loan_scores",
                     "PREDICTION")
    events += _with_drift(day(FAULT_DAY, nulls=FAULT_NULLS), FAULT_DAY, FAULT_NULLS)
    return events


def producer_events() -> list[dict[str, Any]]:
    """The real dbt, Spark and Airflow events, and the ML pipeline built with openlineage-python."""
    real = [e for p in ("dbt", "spark", "airflow") for e in producer_corpus.load(p)]
    return real + lineage_scenario.as_dicts(lineage_scenario.pipeline_events())


def perf_events() -> list[dict[str, Any]]:
    """A layered graph: PERF_LAYERS layers of PERF_WIDTH datasets, each written by its own job from two datasets
    of the layer before, and one sink job reading the last layer (1,010 nodes upstream of the sink)."""
    t0 = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    producer = "https://github.com/example/observability-pipelines/tests"
    ds = lambda layer, i: {"namespace": PERF_NS, "name": f"perf.l{layer:02d}.d{i:02d}"}  # noqa: E731

    def event(job: str, inputs: list[dict[str, str]], outputs: list[dict[str, str]], n: int) -> dict[str, Any]:
        return {"eventType": "COMPLETE", "eventTime": (t0 + dt.timedelta(seconds=n)).isoformat(),
                "run": {"runId": str(uuid.UUID(int=n + 1))}, "job": {"namespace": PERF_JOBS, "name": job},
                "inputs": inputs, "outputs": outputs, "producer": producer,
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}

    events = []
    for layer in range(1, PERF_LAYERS):
        for i in range(PERF_WIDTH):
            ins = [ds(layer - 1, i), ds(layer - 1, (i + 1) % PERF_WIDTH)]
            events.append(event(f"perf.job.l{layer:02d}.{i:02d}", ins, [ds(layer, i)], len(events)))
    last = [ds(PERF_LAYERS - 1, i) for i in range(PERF_WIDTH)]
    events.append(event("perf.job.sink", last, [{"namespace": PERF_NS, "name": "perf.sink"}], len(events)))
    return events


def build(path: str, *, with_perf: bool = False, with_reference: bool = False) -> LineageStore:
    """A SQLite store at ``path`` with every group of events above; incidents synced."""
    from lineage.analysis import incidents

    store = LineageStore.open(f"sqlite:///{path}")
    store.ingest(pipeline_events())
    if with_reference:
        store.ingest(reference_events())
    store.ingest(producer_events(), validate=False)  # as the corpus test does: real events, stored leniently
    if with_perf:
        store.ingest(perf_events(), validate=False)
    incidents.sync(store)
    return store
