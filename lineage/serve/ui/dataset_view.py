"""The dataset page: schema versions and their changes, runs with check results, the drift report of
each partition, metrics over partitions, and model monitoring (:mod:`lineage.serve.ui.monitoring_view`).

Privacy: only stored statistics are returned (counts, shares, test statistics, p-values, quantiles);
never min/max, which are single rows' values.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from lineage.facets import AssertionsFacet, DriftDatasetFacet, MetricsFacet, SchemaFacet, partition_key
from lineage.graph import queries
from lineage.serve.ui.monitoring_view import monitoring
from lineage.store import LineageStore, reads

KNOWN_FACETS = {"schema", "columnLineage", "symlinks", "version", "dataSource", "documentation", "ownership",
                "lifecycleStateChange", "storage", "datasetType", "catalog", "tags", "outputStatistics",
                "inputStatistics", AssertionsFacet.KEY, MetricsFacet.KEY, DriftDatasetFacet.KEY}
RUN_LIMIT = 200
REFERENCE_FALLBACK = 7  # earlier partitions used as the reference when a drift facet names none
QUANTILE_ORDER = ("0.01", "0.05", "0.1", "0.25", "0.5", "0.75", "0.9", "0.95", "0.99")
DRAWN_FROM = ("The drift facet stores test results only (statistic, p-value, threshold, null shares), no "
              "histograms. Drawn: each numeric column's quantiles from the dataQualityMetrics facet of this "
              "partition against the median quantiles of its reference partitions, and the null share of "
              "reference and current from the drift facet. No row value (nor min/max) is shown.")


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None


def _merged(facets_by_scope: Mapping[str, Mapping[str, Any]], key: str) -> Any:
    """A facet of this run: output facets over dataset facets over input facets (a check run's)."""
    for scope in ("output", "dataset", "input"):
        if key in facets_by_scope.get(scope, {}):
            return facets_by_scope[scope][key]
    return None


def _schema_versions(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Distinct consecutive schemas, each with what changed since the previous one."""
    out: list[dict[str, Any]] = []
    previous: dict[str, str] | None = None
    for row in rows:
        facet = SchemaFacet.from_payload(_json(row.payload))
        if facet is None:
            continue
        fields = {f.name: f.type or "" for f in facet.fields or []}
        if fields == previous:
            continue
        change = {"added": [], "removed": [], "retyped": []}
        if previous is not None:
            change = {"added": sorted(set(fields) - set(previous)), "removed": sorted(set(previous) - set(fields)),
                      "retyped": [{"field": f, "from": previous[f], "to": fields[f]}
                                  for f in fields if f in previous and previous[f] != fields[f]]}
        out.append({"time": queries.iso(row.event_time), "fields": [{"name": n, "type": t} for n, t in fields.items()],
                    "changes": change})
        previous = fields
    return out


def _checks(facets_by_scope: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for scope in ("output", "dataset", "input"):
        facet = AssertionsFacet.from_payload(facets_by_scope.get(scope, {}).get(AssertionsFacet.KEY))
        for a in facet.assertions if facet else []:
            out.append({"assertion": a.assertion, "column": a.column, "success": a.success, "severity": a.severity,
                        "scope": scope})
    return out


def _run_rows(history: Mapping[str, Any]) -> list[dict[str, Any]]:
    runs = []
    for run in history["runs"]:
        facets = run.get("facets", {})
        runs.append({
            "run_id": run["run_id"], "job": run["job"], "roles": run["roles"], "state": run["state"],
            "started_at": run["started_at"], "ended_at": run["ended_at"], "version": run["dataset_version"],
            "partition": partition_key(run.get("run_facets") or {}), "checks": _checks(facets),
            "_facets": facets,
        })
    return runs


def _quantiles(metrics: MetricsFacet | None, column: str) -> dict[str, float]:
    col = (metrics.columnMetrics or {}).get(column) if metrics else None
    return dict(col.quantiles or {}) if col is not None else {}


def _distribution(column: str, current: MetricsFacet | None, reference: Sequence[MetricsFacet]) -> dict[str, Any] | None:
    cur = _quantiles(current, column)
    refs = [q for q in (_quantiles(m, column) for m in reference) if q]
    levels = [q for q in QUANTILE_ORDER if q in cur and all(q in r for r in refs)] if refs else []
    if not levels:
        levels = sorted(set(cur) & set.intersection(*(set(r) for r in refs)), key=float) if refs and cur else []
    if not levels:
        return None
    return {"levels": levels, "current": [cur[q] for q in levels],
            "reference": [statistics.median(r[q] for r in refs) for q in levels], "reference_partitions": len(refs)}


def _drift_report(run: dict[str, Any], drift: DriftDatasetFacet, by_partition: Mapping[str, MetricsFacet],
                  ordered: Sequence[str]) -> dict[str, Any]:
    part = run["partition"]
    refs = list(drift.referencePartitions or [])
    if not refs and part in ordered:
        refs = list(ordered[max(0, ordered.index(part) - REFERENCE_FALLBACK):ordered.index(part)])
    reference = [by_partition[p] for p in refs if p in by_partition]
    current = by_partition.get(part) if part else MetricsFacet.from_payload(_merged(run["_facets"], MetricsFacet.KEY))
    columns = []
    for name, col in sorted(drift.columns.items()):
        columns.append({
            "column": name, "drifted": col.drifted, "kind": col.kind, "test": col.test, "statistic": col.statistic,
            "p_value": col.pValue, "threshold": col.threshold, "psi": col.psi, "status": col.status,
            "null_reference": col.nullFractionReference, "null_current": col.nullFractionCurrent,
            "new_categories": col.newCategories, "distribution": _distribution(name, current, reference),
        })
    return {"partition": part, "run_id": run["run_id"], "time": run["ended_at"] or run["started_at"],
            "drifted": drift.drifted, "share_drifted": drift.shareDrifted, "threshold": drift.driftShareThreshold,
            "reference_partitions": refs, "reference_rows": drift.referenceRows, "current_rows": drift.currentRows,
            "columns": columns}


def _numbers(payload: Any, prefix: str) -> dict[str, float]:
    """Top-level numbers of a custom facet (model metrics and the like), flattened one level."""
    out: dict[str, float] = {}
    for key, value in (payload or {}).items() if isinstance(payload, Mapping) else ():
        if isinstance(value, bool) or key.startswith("_"):
            continue
        if isinstance(value, int | float):
            out[f"{prefix}.{key}"] = float(value)
        elif isinstance(value, Mapping):
            out |= {f"{prefix}.{key}.{k}": float(v) for k, v in value.items()
                    if isinstance(v, int | float) and not isinstance(v, bool)}
    return out


def _series_point(run: dict[str, Any], metrics: MetricsFacet | None, drift: DriftDatasetFacet | None) -> dict[str, Any]:
    values: dict[str, float] = {}
    if metrics is not None and metrics.rowCount is not None:
        values["row count"] = float(metrics.rowCount)
    for col, m in sorted((metrics.columnMetrics or {}).items() if metrics else []):
        if m.nullCount is not None and metrics and metrics.rowCount:
            values[f"null rate {col}"] = m.nullCount / metrics.rowCount
    if drift is not None:
        values["drift share"] = drift.shareDrifted
    for scope in ("output", "dataset"):
        for key, payload in run["_facets"].get(scope, {}).items():
            if key not in KNOWN_FACETS:
                values |= _numbers(payload, key)
    return {"partition": run["partition"], "run_id": run["run_id"], "values": values}


def dataset_page(store: LineageStore, name: str, namespace: str | None = None) -> dict[str, Any]:
    history = queries.run_history(store, name, namespace=namespace, limit=RUN_LIMIT)
    ds = history["dataset"]
    with store.read() as conn:
        ident = reads.ui_ids_by_name(conn, "dataset", [(ds["namespace"], ds["name"])])[(ds["namespace"], ds["name"])]
        schema_rows = [r for r in reads.ui_dataset_facet_rows(conn, ident, ["schema"], 1000) if r.scope != "input"]
    runs = _run_rows(history)
    produced = sorted((r for r in runs if "output" in r["roles"]), key=lambda r: (r["partition"] or "", r["started_at"] or ""))
    by_partition: dict[str, MetricsFacet] = {}
    for run in produced:  # the latest producing run of a partition wins
        metrics = MetricsFacet.from_payload(_merged(run["_facets"], MetricsFacet.KEY))
        if run["partition"] and metrics is not None:
            by_partition[run["partition"]] = metrics
    ordered = sorted(by_partition)
    drift_reports, series = [], []
    for run in sorted(runs, key=lambda r: (r["partition"] or "", r["started_at"] or "")):
        drift = DriftDatasetFacet.from_payload(_merged(run["_facets"], DriftDatasetFacet.KEY))
        if drift is not None:
            drift_reports.append(_drift_report(run, drift, by_partition, ordered))
        if "output" in run["roles"]:
            metrics = MetricsFacet.from_payload(_merged(run["_facets"], MetricsFacet.KEY))
            point = _series_point(run, metrics, drift)
            if point["values"]:
                series.append(point)
    model_monitoring = monitoring(runs, _merged)
    for run in runs:
        run.pop("_facets")
    return {"dataset": ds, "total_runs": history["total_runs"], "schema_versions": _schema_versions(schema_rows),
            "runs": runs, "drift": drift_reports, "series": series, "drift_drawn_from": DRAWN_FROM,
            "monitoring": model_monitoring,
            "static_facets": sorted(history["static_facets"])}


def columns_of(store: LineageStore, name: str, namespace: str | None = None) -> dict[str, Any]:
    """The dataset's columns (latest schema) and which of them have column lineage."""
    _, dataset_id = queries.resolve(store, name, namespace)
    with store.read() as conn:
        rows = reads.ui_dataset_facet_rows(conn, dataset_id, ["schema"], 1)
        fields = reads.ui_search_fields_of(conn, dataset_id)
    schema = SchemaFacet.from_payload(_json(rows[-1].payload)) if rows else None
    names = [f.name for f in (schema.fields or [])] if schema else []
    return {"columns": names + sorted(set(fields) - set(names)), "with_lineage": sorted(fields)}
