"""obs_model_performance / obs_model_estimation_error on a real scrape of a store holding check evaluations."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from openlineage.client.serde import Serde
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from lineage import facets as f
from lineage.emission.events import EmissionSettings
from lineage.serve import metrics
from lineage.store import LineageStore
from observability_pipelines.observe.openlineage import check_run_events

RUN = "9f0b7c7e-5d4c-4b0e-9c59-4f5f0c2b7a1{}"


def _evaluation(day: str, n: int, estimated: float, realized: float | None = None) -> list[dict]:
    md = {"estimated/roc_auc": estimated, "estimated/roc_auc/lower": estimated - 0.03,
          "estimated/roc_auc/upper": estimated + 0.03, "evaluation/roc_auc": 0.86}
    if realized is not None:
        md.update({"realized/roc_auc": realized, "estimation_error/roc_auc": realized - estimated})
    facet = f.ModelPerformanceDatasetFacet.from_check(md, rows=1000, labelsArrived=realized is not None)
    settings = EmissionSettings.from_env(job_namespace="dagster", dataset_namespace="dagster://shop")
    events = check_run_events(settings, dagster_run_id=RUN.format(n), dagster_job="scoring", step_key="s",
                              asset_key=dg.AssetKey("scores"), check_name="estimated_performance",
                              assertions=[{"assertion": "estimated_performance", "success": True}],
                              partition=day, dataset_facets={facet.KEY: facet})
    return [json.loads(Serde.to_json(e)) for e in events]


def _samples(store) -> dict[tuple, float]:
    text = generate_latest(metrics.metrics_registry(store, outbox_path=False)).decode()
    out = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith("obs_model_"):
            for s in family.samples:
                out[(s.name, *sorted(s.labels.items()))] = s.value
    return out


def test_scrape_exposes_the_newest_evaluation_of_each_dataset(tmp_path):
    store = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    try:
        store.ingest(_evaluation("2026-03-04", 1, 0.84, realized=0.83) + _evaluation("2026-03-05", 2, 0.71))
        samples = _samples(store)
    finally:
        store.dispose()

    def key(name, kind=None):
        labels = {"dataset": "scores", "partition": "2026-03-05", "metric": "roc_auc", **({"kind": kind} if kind else {})}
        return (name, *sorted(labels.items()))
    assert samples[key("obs_model_performance", "estimated")] == 0.71
    assert samples[key("obs_model_performance", "lower")] == pytest.approx(0.68)
    assert samples[key("obs_model_performance", "evaluation")] == 0.86
    assert key("obs_model_performance", "realized") not in samples  # no labels yet for the newest day
    assert not any(dict(k[1:]).get("partition") == "2026-03-04" for k in samples)  # one partition per dataset
    assert {"obs_model_performance", "obs_model_estimation_error"} <= metrics.metric_names()


def test_realized_and_error_appear_once_labels_arrived(tmp_path):
    store = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    try:
        store.ingest(_evaluation("2026-03-04", 1, 0.84, realized=0.80))
        samples = _samples(store)
    finally:
        store.dispose()
    labels = (("dataset", "scores"), ("metric", "roc_auc"), ("partition", "2026-03-04"))
    assert abs(samples[("obs_model_estimation_error", *labels)] + 0.04) < 1e-9
    assert samples[("obs_model_performance", ("dataset", "scores"), ("kind", "realized"), *labels[1:])] == 0.8
