"""Prometheus samples of model performance, from the newest ``modelPerformance`` facet of each dataset.

* ``obs_model_performance{dataset,partition,metric,kind}``: ``kind`` is ``estimated`` (no labels), its
  ``lower`` / ``upper`` bound, the model's ``evaluation`` and, once labels exist, ``realized``
* ``obs_model_estimation_error{dataset,partition,metric}``: realized - estimated

Bounded: at most ``max_datasets`` datasets (the most recently evaluated), one partition each (the one the
newest facet describes), five metrics, five kinds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric

from lineage.facets import ModelPerformanceDatasetFacet, partition_key
from lineage.store import tables as t

FAMILIES = {
    "obs_model_performance": ("Model performance on the latest evaluated batch: estimated without labels (with "
                              "bounds), the model's evaluation, realized once labels exist",
                              ("dataset", "partition", "metric", "kind")),
    "obs_model_estimation_error": ("Realized minus estimated model performance of the batch",
                                   ("dataset", "partition", "metric")),
}
KINDS = ("estimated", "lower", "upper", "evaluation", "realized")


def latest_facets(conn: sa.Connection, max_datasets: int) -> list[tuple[str, str, ModelPerformanceDatasetFacet]]:
    """(dataset name, partition, facet) of the newest modelPerformance facet per dataset."""
    f = t.dataset_facets
    newest = (sa.select(sa.func.max(f.c.id).label("id")).where(f.c.facet_name == ModelPerformanceDatasetFacet.KEY)
              .group_by(f.c.dataset_id).order_by(sa.func.max(f.c.id).desc()).limit(max_datasets).subquery())
    rows = conn.execute(
        sa.select(t.datasets.c.name, f.c.payload, t.events.c.payload)
        .select_from(f.join(newest, newest.c.id == f.c.id).join(t.datasets, t.datasets.c.id == f.c.dataset_id)
                     .join(t.events, t.events.c.id == f.c.event_id))
    ).all()
    out = []
    for name, facet_payload, event_payload in rows:
        facet = ModelPerformanceDatasetFacet.from_payload(_json(facet_payload))
        run = _json(event_payload).get("run") or {}
        if facet is not None:
            out.append((str(name), partition_key(run.get("facets") or {}) or "", facet))
    return sorted(out, key=lambda row: row[0])


def _json(text: str) -> dict:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def model_metrics(conn: sa.Connection, max_datasets: int) -> Iterator[Metric]:
    performance = GaugeMetricFamily("obs_model_performance", FAMILIES["obs_model_performance"][0],
                                    labels=list(FAMILIES["obs_model_performance"][1]))
    error = GaugeMetricFamily("obs_model_estimation_error", FAMILIES["obs_model_estimation_error"][0],
                              labels=list(FAMILIES["obs_model_estimation_error"][1]))
    for dataset, partition, facet in latest_facets(conn, max_datasets):
        for metric, values in sorted(facet.metrics.items()):
            for kind in KINDS:
                value = getattr(values, kind)
                if value is not None:
                    performance.add_metric([dataset, partition, metric, kind], value)
            if values.error is not None:
                error.add_metric([dataset, partition, metric], values.error)
    yield performance
    yield error
