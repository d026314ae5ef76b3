"""The home page (health by namespace and pipeline, open incidents, recent runs and failures, events by
producer) and search over datasets, jobs and columns."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from lineage.analysis import health, incidents
from lineage.graph import queries
from lineage.serve.metrics import ObservabilityCollector
from lineage.store import LineageStore, reads

RECENT_RUNS = 15
SEARCH_LIMIT = 50


def _health(store: LineageStore) -> dict[str, list[dict[str, Any]]]:
    collector = ObservabilityCollector(store, outbox_path=False)
    now = collector.clock()
    interval = health.default_expected_interval()
    by: dict[str, dict[str, list[dict[str, Any]]]] = {"namespace": defaultdict(list), "pipeline": defaultdict(list)}
    for s in collector.snapshots(now):
        score = health.dataset_health(s.health_inputs(now), interval)
        failing = [f"{a}{' on ' + c if c else ''}" for (a, c), ok in sorted(s.assertions.items(), key=str) if not ok]
        item = {"namespace": s.namespace, "name": s.name, "score": round(score, 1), "failing_checks": failing,
                "drifted": s.drift.drifted_columns if s.drift is not None else []}
        by["namespace"][s.namespace].append(item)
        by["pipeline"][s.pipeline].append(item)
    return {kind: sorted(({"group": g, "score": round(health.pipeline_health(i["score"] for i in items) or 0.0, 1),
                           "datasets": sorted(items, key=lambda i: i["score"])} for g, items in groups.items()),
                         key=lambda g: (g["score"], g["group"]))
            for kind, groups in by.items()}


def _run_dict(row: Any) -> dict[str, Any]:
    return {"run_id": row.run_uuid, "job": {"namespace": row.job_namespace, "name": row.job_name},
            "state": row.event_type, "time": queries.iso(row.event_time)}


def home(store: LineageStore) -> dict[str, Any]:
    incidents.sync(store)  # fold in what arrived since the last look
    open_incidents = [i for s in incidents.OPEN_STATUSES for i in incidents.list_incidents(store, status=s, limit=50)]
    with store.read() as conn:
        recent = [_run_dict(r) for r in reads.ui_recent_runs(conn, RECENT_RUNS)]
        failures = [_run_dict(r) for r in reads.ui_recent_runs(conn, RECENT_RUNS, ["FAIL", "ABORT"])]
        producers = [{"producer": r.producer, "events": r.events, "last": queries.iso(r.last)}
                     for r in reads.ui_event_counts_by_producer(conn)]
    summary = [{k: i[k] for k in ("id", "status", "severity", "title", "first_seen", "last_seen", "partitions")}
               for i in sorted(open_incidents, key=lambda i: i["last_seen"] or "", reverse=True)]
    return {"health": _health(store), "incidents": summary, "recent_runs": recent, "failures": failures,
            "producers": producers}


def _schema_columns(payload: str, text: str) -> list[str]:
    try:
        fields = json.loads(payload).get("fields") or []
    except (ValueError, AttributeError):
        return []
    return [f["name"] for f in fields if isinstance(f, dict) and isinstance(f.get("name"), str)
            and text.lower() in f["name"].lower()]


def search(store: LineageStore, text: str, limit: int = SEARCH_LIMIT) -> dict[str, Any]:
    """Datasets and jobs whose name (or namespace) contains ``text``, and columns whose name does."""
    text = text.strip()
    if not text:
        return {"q": text, "datasets": [], "jobs": [], "columns": []}
    with store.read() as conn:
        found = {kind: [{"type": kind, "namespace": r.namespace, "name": r.name,
                         "key": queries.node_key(kind, r.namespace, r.name)}
                        for r in reads.ui_search_names(conn, kind, text, limit)] for kind in ("dataset", "job")}
        columns: dict[tuple[int, str], None] = {}
        for r in reads.ui_search_fields(conn, text, limit):
            columns[(r.dataset_id, r.field)] = None
        for r in reads.ui_schema_facets_containing(conn, text, limit * 4):
            for name in _schema_columns(r.payload, text):
                columns[(r.dataset_id, name)] = None
        names = reads.dataset_names(conn, {d for d, _ in columns})
    cols = sorted(({"namespace": names[d][0], "name": names[d][1], "field": f} for d, f in columns if d in names),
                  key=lambda c: (len(c["field"]), c["field"], c["name"]))[:limit]
    return {"q": text, "datasets": found["dataset"], "jobs": found["job"], "columns": cols}
