"""Model monitoring on the dataset page: per check evaluation of this dataset, the finding of its typed facet
(modelPerformance, explanationDrift, metricRegression, metricAnomaly, segments) as a status and one readable
line, plus the facet's numbers for the UI to tabulate.

Aggregates only, as the facets themselves: metric estimates, attribution shares, series levels, a partition's
row count or delay, per-segment metrics.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from openlineage.client.serde import Serde

from lineage.facets import (
    AnomalyDatasetFacet,
    ExplanationDriftDatasetFacet,
    ModelPerformanceDatasetFacet,
    RegressionDatasetFacet,
    SegmentsDatasetFacet,
    parse,
)

KEYS = (ModelPerformanceDatasetFacet.KEY, ExplanationDriftDatasetFacet.KEY, RegressionDatasetFacet.KEY,
        AnomalyDatasetFacet.KEY, SegmentsDatasetFacet.KEY)
MAX_NAMED = 5  # features / segments named in one line


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1%}"


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.4g}"


def _performance(p: ModelPerformanceDatasetFacet) -> tuple[str, str]:
    parts = [f"{m} estimated {_num(e.estimated)} [{_num(e.lower)}, {_num(e.upper)}] vs evaluation "
             f"{_num(e.evaluation)}" + (f", realized {_num(e.realized)}" if e.realized is not None else "")
             for m, e in sorted(p.metrics.items())]
    return ("fail" if p.failedMetrics else "pass"), "; ".join(parts)


def _explanation(x: ExplanationDriftDatasetFacet) -> tuple[str, str]:
    lost = x.lostFeatures or []
    text = f"{_pct(x.movedShare)} of the mean |SHAP| moved (limit {_pct(x.maxMovedShare)}); top feature {x.top_feature}"
    if lost:
        text += "; attribution lost: " + ", ".join(
            f"{f} {_pct(x.features[f].baselineShare)} → {_pct(x.features[f].currentShare)}" if f in x.features else f
            for f in lost[:MAX_NAMED])
    return ("fail" if x.drifted else "pass"), text


def _regression(r: RegressionDatasetFacet) -> tuple[str, str]:
    if not r.evaluated:
        return "waiting", (f"{r.metric}: waiting for history, {r.partitionsExamined} of {r.partitionsNeeded} "
                           "partitions with a value")
    if not r.changePoints:
        return "pass", f"{r.metric}: no change point in {r.partitionsExamined} partitions"
    rel = f" ({r.relativeChange:+.1%})" if r.relativeChange is not None else ""
    return ("fail" if r.regression else "pass"), (
        f"{r.metric}: level {_num(r.referenceLevel)} → {_num(r.currentLevel)}{rel} from partition "
        f"{r.regimeStartPartition}" + ("" if r.regression else ", within bounds"))


def _anomaly(a: AnomalyDatasetFacet) -> tuple[str, str]:
    if not a.evaluated:
        return "waiting", (f"{a.kind}: waiting for history, {a.historyPartitions} of {a.historyNeeded} earlier "
                           "partitions")
    return ("fail" if a.anomalous else "pass"), (
        f"{a.kind}: {a.measure} {_num(a.value)}, expected {_num(a.expected)} ({_num(a.lower)} – {_num(a.upper)}), "
        f"robust z {_num(a.z)}")


def _segments(s: SegmentsDatasetFacet) -> tuple[str, str]:
    parts = [f"by {attr}: " + (", ".join(g.failing[:MAX_NAMED]) + " failing" if g.failing
                               else f"{len(g.segments)} segments within bounds")
             for attr, g in sorted(s.attributes.items())]
    return ("fail" if s.failed else "pass"), f"{s.kind}: " + "; ".join(parts)


FINDINGS = {ModelPerformanceDatasetFacet: _performance, ExplanationDriftDatasetFacet: _explanation,
            RegressionDatasetFacet: _regression, AnomalyDatasetFacet: _anomaly, SegmentsDatasetFacet: _segments}


def _fields(facet: Any) -> dict[str, Any]:
    return {k: v for k, v in Serde.to_dict(facet).items() if not k.startswith("_")}


def monitoring(runs: Sequence[Mapping[str, Any]], merged) -> list[dict[str, Any]]:
    """One row per (check evaluation, monitoring facet), by partition then time; ``merged(facets, key)`` picks
    a run's facet over its scopes."""
    rows = []
    for run in runs:
        for key in KEYS:
            facet = parse(key, merged(run["_facets"], key))
            if facet is None:
                continue
            status, finding = FINDINGS[type(facet)](facet)
            rows.append({"partition": run["partition"], "check": str(run["job"]["name"]).rpartition(":")[2],
                         "time": run["ended_at"] or run["started_at"], "facet": key, "status": status,
                         "finding": finding, "values": _fields(facet)})
    return sorted(rows, key=lambda r: (r["partition"] or "", r["time"] or "", r["check"]))
