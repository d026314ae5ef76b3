"""OpenLineage events of runs built with the emission builders, ingested into a real SQLite store (RCA tests)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from openlineage.client import event_v2

from lineage import facets as f
from lineage.emission import events as ev
from lineage.store import LineageStore

NS = "dagster://test"
T0 = dt.datetime(2026, 3, 1, 6, 0, 0)


class Events:
    """Collects OpenLineage events of runs; ``store()`` ingests them into a fresh SQLite store."""

    def __init__(self, tmp_path) -> None:
        self.tmp_path = tmp_path
        self.events: list[dict[str, Any]] = []
        self.clock = T0

    def run(self, job: str, *, outputs: Mapping[str, Mapping[str, Any]] | None = None,
            inputs: Mapping[str, Mapping[str, Any]] | Sequence[str] = (), partition: str | None = None,
            state: str = "COMPLETE", error: str | None = None, run_facets: Mapping[str, Any] | None = None,
            minutes: int = 10) -> str:
        """One run: START then ``state``. ``outputs``: name → dataset facets (``outputStatistics`` goes to
        outputFacets); ``inputs``: names, or name → input facets (``dataQualityAssertions``, ...)."""
        run_id = str(uuid.uuid4())
        start, end = self.clock, self.clock + dt.timedelta(minutes=1)
        self.clock += dt.timedelta(minutes=minutes)
        facets = {**ev.partition_run_facets(partition), **(run_facets or {})}
        if error:
            facets["errorMessage"] = f.ErrorMessageFacet(message=error, programmingLanguage="SQL")
        ins = inputs if isinstance(inputs, Mapping) else {name: {} for name in inputs}
        in_ds = [event_v2.InputDataset(namespace=NS, name=n, inputFacets=dict(v)) for n, v in ins.items()]
        out_ds = [event_v2.OutputDataset(namespace=NS, name=n,
                                         facets={k: v for k, v in fs.items() if k != "outputStatistics" and v},
                                         outputFacets={k: v for k, v in fs.items() if k == "outputStatistics" and v})
                  for n, fs in (outputs or {}).items()]
        bare_in = [event_v2.InputDataset(namespace=NS, name=n) for n in ins]
        bare_out = [event_v2.OutputDataset(namespace=NS, name=n) for n in (outputs or {})]
        for kind, when, i, o in ((event_v2.RunState.START, start, bare_in, bare_out),
                                 (event_v2.RunState(state), end, in_ds, out_ds)):
            e = ev.run_event(kind, run_id=run_id, job_namespace="jobs", job_name=job, run_facets=facets,
                             event_time=when.isoformat() + "Z", inputs=i, outputs=o)
            self.events.append(ev.to_dict(e))
        return run_id

    def store(self) -> LineageStore:
        store = LineageStore.open(f"sqlite:///{self.tmp_path / f'lineage-{uuid.uuid4().hex[:6]}.db'}")
        result = store.ingest(self.events)
        assert result.stored == len(self.events), result
        return store


def metrics(rows: int, **columns: Mapping[str, Any]) -> f.MetricsFacet:
    return f.MetricsFacet.build(rows, {c: f.ColumnMetrics(**m) for c, m in columns.items()})


def numeric(rows: int, nulls: int = 0, scale: float = 1.0, shift: float = 0.0) -> dict[str, Any]:
    qs = {"0.05": 10.0, "0.25": 20.0, "0.5": 30.0, "0.75": 40.0, "0.95": 50.0}
    return {"nullCount": nulls, "distinctCount": rows - nulls, "count": float(rows - nulls),
            "min": 5.0 * scale + shift, "max": 60.0 * scale + shift,
            "quantiles": {k: v * scale + shift for k, v in qs.items()}}
