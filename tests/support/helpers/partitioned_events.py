"""A two-dataset partitioned pipeline as OpenLineage events, with faults on chosen days.

raw.loans (where faults are injected) → clean.loans, which inherits them through column lineage. Events are
built with the project's typed facets, as the emitter sends them: partition tags, schema, column lineage,
metrics with quantiles, and GX-style assertions.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.serde import Serde

from lineage.facets import AssertionsFacet, ColumnLineageFacet, ColumnMetrics, MetricsFacet, SchemaFacet
from lineage.facets import partition_facets

NS, JOBS = "warehouse://test", "pipelines"
PRODUCER = "https://github.com/example/observability-pipelines/tests"
START = dt.date(2026, 3, 1)
ROWS = 1000


def _metrics(day: int, nulls: int = 0, scale: float = 1.0) -> MetricsFacet:
    base = 100.0 + day % 7  # a little day-to-day movement, as real data has
    quantiles = {q: scale * (base + 40 * float(q)) for q in ("0.05", "0.25", "0.5", "0.75", "0.95")}
    return MetricsFacet.build(ROWS, {
        "income": ColumnMetrics(nullCount=nulls, distinctCount=ROWS - nulls, quantiles=dict(quantiles)),
        "amount": ColumnMetrics(nullCount=0, distinctCount=ROWS, quantiles={k: v / 2 for k, v in quantiles.items()}),
    })


def _assertions(nulls: int, scale: float) -> AssertionsFacet:
    return AssertionsFacet.build([
        {"assertion": "expect_column_values_to_not_be_null", "column": "income", "success": nulls == 0,
         "severity": "error"},
        {"assertion": "expect_column_values_to_be_between", "column": "amount", "success": scale == 1.0,
         "severity": "warn"},
    ])


def run(job: str, day: int, inputs: list[str], output: str, *, nulls: int = 0, scale: float = 1.0,
         attempt: int = 0) -> list[dict[str, Any]]:
    key = (START + dt.timedelta(days=day)).isoformat()
    when = dt.datetime.combine(START + dt.timedelta(days=day), dt.time(2 + attempt), tzinfo=dt.UTC)
    lineage = ColumnLineageFacet.build({c: [(NS, i, c) for i in inputs] for c in ("income", "amount")})
    facets = {"schema": SchemaFacet.build([("income", "double"), ("amount", "double")]),
              "dataQualityAssertions": _assertions(nulls, scale), **({"columnLineage": lineage} if inputs else {})}
    run = Run(runId=str(uuid.uuid4()), facets=partition_facets(key))
    facets["dataQualityMetrics"] = _metrics(day, nulls, scale)
    out = OutputDataset(namespace=NS, name=output, facets=facets)
    events = []
    for state, offset in ((RunState.START, 0), (RunState.COMPLETE, 60)):
        events.append(RunEvent(eventType=state, eventTime=(when + dt.timedelta(seconds=offset)).isoformat(),
                               run=run, job=Job(namespace=JOBS, name=job), producer=PRODUCER,
                               inputs=[InputDataset(namespace=NS, name=i) for i in inputs],
                               outputs=[out] if state == RunState.COMPLETE else []))
    return [Serde.to_dict(e) for e in events]


def day(day: int, *, nulls: int = 0, scale: float = 1.0, attempt: int = 0) -> list[dict[str, Any]]:
    """raw.loans (fault injected here) → clean.loans, which inherits the fault through column lineage."""
    return (run("ingest", day, [], "raw.loans", nulls=nulls, scale=scale, attempt=attempt)
            + run("clean", day, ["raw.loans"], "clean.loans", nulls=nulls, scale=scale, attempt=attempt))
