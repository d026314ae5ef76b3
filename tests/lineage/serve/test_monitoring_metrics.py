"""obs_explanation_* / obs_metric_regression* / obs_metric_anomaly* / obs_segments_failing on a real scrape of a
store holding check evaluations with the monitoring facets."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from openlineage.client.serde import Serde
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from lineage import facets as f
from lineage.emission.events import EmissionSettings
from lineage.facets.monitoring import FeatureAttribution, SegmentGroup
from lineage.serve import metrics, monitoring_metrics
from lineage.store import LineageStore
from observability_pipelines.observe.openlineage import check_run_events

RUN = "9f0b7c7e-5d4c-4b0e-9c59-4f5f0c2b7a{:02d}"
FAMILIES = tuple(monitoring_metrics.FAMILIES)


def _events(n: int, dataset: str, check: str, day: str, facet) -> list[dict]:
    settings = EmissionSettings.from_env(job_namespace="dagster", dataset_namespace="dagster://shop")
    events = check_run_events(settings, dagster_run_id=RUN.format(n), dagster_job="scoring", step_key=check,
                              asset_key=dg.AssetKey(dataset), check_name=check,
                              assertions=[{"assertion": check, "success": True}], partition=day,
                              dataset_facets={facet.KEY: facet})
    return [json.loads(Serde.to_json(e)) for e in events]


def _shap(moved: float, lost: list[str]) -> f.ExplanationDriftDatasetFacet:
    return f.ExplanationDriftDatasetFacet(
        features={"income": FeatureAttribution(0.6, 0.1, -0.5, 1, 2), "age": FeatureAttribution(0.4, 0.9, 0.5, 2, 1)},
        drifted=bool(lost), movedShare=moved, lostFeatures=lost)


def _samples(store) -> dict[tuple, float]:
    text = generate_latest(metrics.metrics_registry(store, outbox_path=False)).decode()
    return {(s.name, *sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text)
            if family.name in FAMILIES for s in family.samples}


@pytest.fixture
def store(tmp_path):
    store = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    yield store
    store.dispose()


def test_scrape_exposes_the_newest_evaluation_of_each_check(store):
    regression = f.RegressionDatasetFacet(metric="estimated/roc_auc", regression=True, evaluated=True,
                                          relativeChange=-0.08, partitionsExamined=60, partitionsNeeded=28)
    waiting = f.RegressionDatasetFacet(metric="mean_score", evaluated=False, partitionsExamined=5, partitionsNeeded=28)
    volume = f.AnomalyDatasetFacet(kind="volume", anomalous=True, evaluated=True, z=-6.5, historyPartitions=56,
                                   historyNeeded=28)
    segments = f.SegmentsDatasetFacet(kind="performance", attributes={
        "region_code": SegmentGroup({"3": {"rows": 300.0}, "4": {"rows": 280.0}}, ["3"]), "gender": SegmentGroup()})
    store.ingest(_events(1, "scores", "explanation_drift", "2026-03-04", _shap(0.05, []))
                 + _events(2, "scores", "explanation_drift", "2026-03-05", _shap(0.5, ["income"]))
                 + _events(3, "scores", "estimated_roc_auc_regression", "2026-03-05", regression)
                 + _events(4, "scores", "mean_score_regression", "2026-03-05", waiting)
                 + _events(5, "raw", "volume_anomaly", "2026-03-05", volume)
                 + _events(6, "scores", "segment_performance", "2026-03-05", segments))
    s = _samples(store)
    assert s[("obs_explanation_moved_share", ("dataset", "scores"), ("partition", "2026-03-05"))] == 0.5
    assert ("obs_explanation_moved_share", ("dataset", "scores"), ("partition", "2026-03-04")) not in s
    assert s[("obs_explanation_lost_features", ("dataset", "scores"))] == 1
    assert s[("obs_explanation_share", ("dataset", "scores"), ("feature", "income"), ("kind", "current"))] == 0.1
    reg = (("check", "estimated_roc_auc_regression"), ("dataset", "scores"), ("metric", "estimated/roc_auc"))
    assert s[("obs_metric_regression", *reg)] == 1 and s[("obs_metric_regression_relative_change", *reg)] == -0.08
    # Not evaluated yet: no verdict, but what it waits for
    assert ("obs_metric_regression", ("check", "mean_score_regression"), ("dataset", "scores"),
            ("metric", "mean_score")) not in s
    history = ("obs_monitoring_history_partitions", ("check", "mean_score_regression"), ("dataset", "scores"))
    assert (s[(*history, ("kind", "have"))], s[(*history, ("kind", "needed"))]) == (5, 28)
    assert s[("obs_metric_anomaly", ("dataset", "raw"), ("kind", "volume"))] == 1
    assert s[("obs_metric_anomaly_z", ("dataset", "raw"), ("kind", "volume"))] == -6.5
    assert s[("obs_segments_failing", ("attribute", "region_code"), ("dataset", "scores"), ("kind", "performance"))] == 1
    assert s[("obs_segments_failing", ("attribute", "gender"), ("dataset", "scores"), ("kind", "performance"))] == 0
    assert set(FAMILIES) <= metrics.metric_names()


def test_labels_stay_bounded(store):
    """At most MAX_FEATURES features per dataset, and a feature name of any length (facets are not capped at
    ingest like dataset names) becomes a bounded label."""
    features = {f"feature_{i:03d}": FeatureAttribution(0.01, 0.001 * i, 0, i, i) for i in range(60)}
    features["x" * 5000] = FeatureAttribution(0.2, 0.5, 0.3, 1, 1)
    many = f.ExplanationDriftDatasetFacet(features=features, movedShare=0.1, lostFeatures=[])
    store.ingest(_events(1, "scores", "explanation_drift", "2026-03-05", many))
    s = _samples(store)
    shares = [dict(k[1:])["feature"] for k in s if k[0] == "obs_explanation_share" and dict(k[1:])["kind"] == "current"]
    assert len(shares) == monitoring_metrics.MAX_FEATURES and "feature_059" in shares and "feature_040" not in shares
    assert all(len(label) <= metrics.MAX_NAME_CHARS for label in shares)
    assert any(label.startswith("xxx") for label in shares)
