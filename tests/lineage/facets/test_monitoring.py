"""The monitoring facets (explanationDrift, metricRegression, metricAnomaly, segments): built from the checks' real
result objects, read back with every field, valid against their shipped schema and the OpenLineage spec."""

from __future__ import annotations

import json

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from openlineage.client.serde import Serde

from helpers.ol_spec import SpecValidator
from lineage import facets as f
from lineage.emission.events import EmissionSettings
from observability_pipelines.checks.anomalies import volume_anomaly
from observability_pipelines.checks.change_points import RegressionConfig, detect_regression
from observability_pipelines.checks.explanations import explanation_drift
from observability_pipelines.checks.segments import segment_performance
from observability_pipelines.observe.openlineage import check_run_events

DAYS = pd.date_range("2026-01-01", periods=60, freq="D").strftime("%Y-%m-%d")


def _explanation() -> f.ExplanationDriftDatasetFacet:
    result = explanation_drift({"income": 0.5, "age": 0.3, "debt": 0.2}, {"income": 0.05, "age": 0.55, "debt": 0.4})
    return f.ExplanationDriftDatasetFacet.from_result(result, maxMovedShare=0.25, sampleRows=500, baselineRows=9000)


def _regression() -> f.RegressionDatasetFacet:
    values = np.r_[np.full(30, 0.85), np.linspace(0.85, 0.7, 30)] + np.random.default_rng(0).normal(0, 0.005, 60)
    result = detect_regression(pd.Series(values, index=DAYS), RegressionConfig(direction="decrease"))
    return f.RegressionDatasetFacet.from_result(result, "estimated/roc_auc", source="estimated_performance",
                                                direction="decrease", partitionsNeeded=28)


def _anomaly() -> f.AnomalyDatasetFacet:
    history = pd.Series(np.full(56, 1000.0) * np.exp(np.random.default_rng(1).normal(0, 0.02, 56)), index=DAYS[:56])
    result = volume_anomaly(history, DAYS[56], 500)
    return f.AnomalyDatasetFacet.from_result(result, "volume", "row_count", historyNeeded=28)


def _segments() -> f.SegmentsDatasetFacet:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    score = np.where(np.arange(400) < 200, y * 0.6 + rng.uniform(0, 0.4, 400), rng.uniform(0, 1, 400))
    data = pd.DataFrame({"y_true": y, "y_pred": (score > 0.5).astype(int), "score": score})
    segments = pd.Series(np.where(np.arange(400) < 200, "north", "south"))
    result = segment_performance(data, segments, {"roc_auc": 0.9, "accuracy": 0.85}, {"roc_auc": 0.1, "accuracy": 0.1})
    return f.SegmentsDatasetFacet.from_results("performance", {"region": result})


FACETS = {"explanationDrift": _explanation, "metricRegression": _regression, "metricAnomaly": _anomaly,
          "segments": _segments}


@pytest.mark.parametrize("key", FACETS)
def test_written_facet_is_read_back_and_valid_in_an_event(key):
    facet = FACETS[key]()
    assert facet.KEY == key
    settings = EmissionSettings.from_env(job_namespace="dagster", dataset_namespace="dagster://test")
    _, end = check_run_events(
        settings, dagster_run_id="9f0b7c7e-5d4c-4b0e-9c59-4f5f0c2b7a11", dagster_job="j", step_key="s",
        asset_key=dg.AssetKey("predictions"), check_name="c", partition="2026-03-05", dataset_facets={key: facet},
        assertions=[{"assertion": "c", "success": True, "column": None, "severity": "warn"}])
    event = json.loads(Serde.to_json(end))
    SpecValidator().validate(event)
    payload = event["inputs"][0]["facets"][key]
    assert payload["_schemaURL"].startswith(f.MONITORING_SCHEMA_ID + "#/$defs/")
    assert f.parse(key, payload) == facet


def test_facets_carry_the_checks_findings():
    shap = _explanation()
    assert shap.drifted and shap.lostFeatures == ["income"] and shap.top_feature == "age"
    assert shap.features["income"].baselineRank == 1 and shap.features["income"].shareChange == pytest.approx(-0.45)
    regression = _regression()
    assert regression.regression and regression.signedChange < -0.05 and regression.regimeStartPartition >= DAYS[25]
    anomaly = _anomaly()
    assert anomaly.anomalous and anomaly.value == 500 and anomaly.z < -4 and anomaly.historyPartitions == 56
    segments = _segments()
    assert segments.failed and segments.attributes["region"].failing == ["south"]
    assert segments.attributes["region"].segments["north"]["rows"] == 200


def test_shipped_schema_rejects_out_of_range_values():
    validator = SpecValidator()
    bad = {**Serde.to_dict(_explanation()), "movedShare": 1.5}
    event = {"eventType": "COMPLETE", "eventTime": "2026-03-05T00:00:00Z", "producer": "p",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
             "run": {"runId": "9f0b7c7e-5d4c-4b0e-9c59-4f5f0c2b7a11"}, "job": {"namespace": "n", "name": "j"},
             "inputs": [{"namespace": "n", "name": "d", "facets": {"explanationDrift": bad}}]}
    assert any("1.5" in e for e in validator.errors(event))


@pytest.mark.parametrize("key", FACETS)
@pytest.mark.parametrize("payload", [None, "x", [], {}, {"features": "x", "kind": 3, "metric": [],
                                                           "attributes": {"a": "x"}}])
def test_malformed_facet_never_raises(key, payload):
    assert f.parse(key, payload) is None


def test_out_of_range_fields_are_dropped_not_the_facet():
    shap = f.ExplanationDriftDatasetFacet.from_payload(
        {"features": {"a": {"currentShare": "NaN", "shareChange": 3, "baselineRank": -1}}, "movedShare": 2})
    assert shap.movedShare == 1.0 and shap.features["a"] == f.monitoring.FeatureAttribution()
    anomaly = f.AnomalyDatasetFacet.from_payload({"kind": "volume", "value": "1e999", "historyPartitions": 1.5})
    assert anomaly.value is None and anomaly.historyPartitions is None
    many = {"kind": "drift", "attributes": {"a": {"segments": {str(i): {"rows": 1} for i in range(100)}}}}
    assert len(f.SegmentsDatasetFacet.from_payload(many).attributes["a"].segments) == f.monitoring.MAX_SEGMENTS
