"""Prometheus samples of model monitoring, from the newest monitoring facet of each (dataset, check):

* ``obs_explanation_moved_share{dataset,partition}``: share of the SHAP attribution that moved since training
* ``obs_explanation_share{dataset,feature,kind}``: a feature's share of mean |SHAP|, ``kind`` ``baseline`` or
  ``current`` (at most ``MAX_FEATURES`` features per dataset, the largest current shares)
* ``obs_explanation_lost_features{dataset}``: features whose attribution collapsed
* ``obs_metric_regression{dataset,check,metric}``: 1 when the latest regime of the series is a regression
* ``obs_metric_regression_relative_change{dataset,check,metric}``: latest regime vs the first, signed
* ``obs_monitoring_history_partitions{dataset,check,kind}``: partitions the check had (``kind`` ``have``)
  and needs (``needed``) before it judges: why a check says "evaluated: 0"
* ``obs_metric_anomaly{dataset,kind}`` / ``obs_metric_anomaly_z{dataset,kind}``: volume / freshness verdict
  and robust z-score of the newest evaluated partition
* ``obs_segments_failing{dataset,kind,attribute}``: failing segments (performance or drift)

Bounded: the ``max_datasets × MAX_CHECKS`` most recently evaluated (dataset, check) pairs, one facet each;
every text label goes through :func:`lineage.serve.metrics._bounded_label`. Aggregates only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, Metric

from lineage.facets import (
    AnomalyDatasetFacet,
    ExplanationDriftDatasetFacet,
    RegressionDatasetFacet,
    SegmentsDatasetFacet,
    parse,
    partition_key,
)
from lineage.serve.model_metrics import _json  # one tolerant reader of stored JSON for both families
from lineage.store import tables as t

MAX_CHECKS = 16  # monitoring checks per dataset kept in a scrape (the reference project has 8 on predictions)
MAX_FEATURES = 20  # features per dataset in obs_explanation_share
FAMILIES = {
    "obs_explanation_moved_share": ("Share of the model's SHAP attribution that moved since training time",
                                    ("dataset", "partition")),
    "obs_explanation_share": ("A feature's share of mean |SHAP|, at training time (baseline) and now (current)",
                              ("dataset", "feature", "kind")),
    "obs_explanation_lost_features": ("Features whose SHAP attribution collapsed on the newest batch", ("dataset",)),
    "obs_metric_regression": ("1 when the partition series of the metric has shifted to a worse regime",
                              ("dataset", "check", "metric")),
    "obs_metric_regression_relative_change": ("Latest regime vs the first of the metric's series, signed",
                                              ("dataset", "check", "metric")),
    "obs_monitoring_history_partitions": ("Partitions of history a series check had (have) and needs (needed)",
                                          ("dataset", "check", "kind")),
    "obs_metric_anomaly": ("1 when the partition's row count (volume) or delay (freshness) is anomalous",
                           ("dataset", "kind")),
    "obs_metric_anomaly_z": ("Robust z-score of the partition's row count or delay vs its history",
                             ("dataset", "kind")),
    "obs_segments_failing": ("Segments failing their performance or drift check", ("dataset", "kind", "attribute")),
}
Samples = dict[str, dict[tuple[str, ...], float]]  # family -> labels -> value (one value per label set)
KEYS = (ExplanationDriftDatasetFacet.KEY, RegressionDatasetFacet.KEY, AnomalyDatasetFacet.KEY,
        SegmentsDatasetFacet.KEY)


def latest_facets(conn: sa.Connection, max_datasets: int) -> list[tuple[str, str, str, Any]]:
    """(dataset, check, partition, facet) of the newest monitoring facet per (facet key, dataset, check job)."""
    f, r = t.dataset_facets, t.runs
    newest = (sa.select(sa.func.max(f.c.id).label("id")).select_from(f.join(r, r.c.id == f.c.run_id))
              .where(f.c.facet_name.in_(KEYS)).group_by(f.c.facet_name, f.c.dataset_id, r.c.job_id)
              .order_by(sa.func.max(f.c.id).desc()).limit(max_datasets * MAX_CHECKS).subquery())
    rows = conn.execute(
        sa.select(t.datasets.c.name, f.c.facet_name, f.c.payload, t.events.c.payload, t.events.c.job_name)
        .select_from(f.join(newest, newest.c.id == f.c.id).join(t.datasets, t.datasets.c.id == f.c.dataset_id)
                     .join(t.events, t.events.c.id == f.c.event_id))).all()
    out = []
    for name, key, facet_payload, event_payload, job in rows:
        facet = parse(key, _json(facet_payload))
        run = _json(event_payload).get("run") or {}
        if facet is not None:
            check = str(job or "").rpartition(":")[2]
            out.append((str(name), check, partition_key(run.get("facets") or {}) or "", facet))
    return sorted(out, key=lambda row: (row[0], row[1]))


def _explanation(fam: Samples, dataset: str, partition: str,
                 facet: ExplanationDriftDatasetFacet) -> None:
    if facet.movedShare is not None:
        fam["obs_explanation_moved_share"][(dataset, partition)] = facet.movedShare
    fam["obs_explanation_lost_features"][(dataset,)] = float(len(facet.lostFeatures or []))
    top = sorted(facet.features.items(), key=lambda kv: -(kv[1].currentShare or 0.0))[:MAX_FEATURES]
    for feature, a in top:
        for kind, value in (("baseline", a.baselineShare), ("current", a.currentShare)):
            if value is not None:
                fam["obs_explanation_share"][(dataset, _label(feature), kind)] = value


def _regression(fam: Samples, dataset: str, check: str, facet: RegressionDatasetFacet) -> None:
    labels = (dataset, check, _label(facet.metric))
    if facet.evaluated:
        fam["obs_metric_regression"][labels] = float(bool(facet.regression))
    if facet.relativeChange is not None:
        fam["obs_metric_regression_relative_change"][labels] = facet.relativeChange
    _history(fam, dataset, check, facet.partitionsExamined, facet.partitionsNeeded)


def _history(fam: Samples, dataset: str, check: str, have: int | None,
             needed: int | None) -> None:
    for kind, value in (("have", have), ("needed", needed)):
        if value is not None:
            fam["obs_monitoring_history_partitions"][(dataset, check, kind)] = float(value)


def _anomaly(fam: Samples, dataset: str, check: str, facet: AnomalyDatasetFacet) -> None:
    kind = _label(facet.kind)
    if facet.evaluated:
        fam["obs_metric_anomaly"][(dataset, kind)] = float(bool(facet.anomalous))
    if facet.z is not None:
        fam["obs_metric_anomaly_z"][(dataset, kind)] = facet.z
    _history(fam, dataset, check, facet.historyPartitions, facet.historyNeeded)


def _label(text: str) -> str:
    from lineage.serve.metrics import _bounded_label

    return _bounded_label(text)


def monitoring_metrics(conn: sa.Connection, max_datasets: int) -> Iterator[Metric]:
    fam: Samples = {name: {} for name in FAMILIES}
    for name, check, partition, facet in latest_facets(conn, max_datasets):
        dataset, check = _label(name), _label(check)
        if isinstance(facet, ExplanationDriftDatasetFacet):
            _explanation(fam, dataset, _label(partition), facet)
        elif isinstance(facet, RegressionDatasetFacet):
            _regression(fam, dataset, check, facet)
        elif isinstance(facet, AnomalyDatasetFacet):
            _anomaly(fam, dataset, check, facet)
        elif isinstance(facet, SegmentsDatasetFacet):
            for attribute, group in sorted(facet.attributes.items()):
                labels = (dataset, _label(facet.kind), _label(attribute))
                fam["obs_segments_failing"][labels] = float(len(group.failing))
    for name, (doc, labels) in FAMILIES.items():
        family = GaugeMetricFamily(name, doc, labels=list(labels))
        for values, value in sorted(fam[name].items()):
            family.add_metric(list(values), value)
        yield family
