"""The modelPerformance facet: what the estimation check emits is read back, valid against its shipped schema."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from jsonschema import Draft202012Validator
from openlineage.client.serde import Serde
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from helpers.ol_spec import SpecValidator
from lineage import facets as f
from lineage.emission.events import EmissionSettings
from lineage.facets.model import model_performance_schema
from observability_pipelines.observe.openlineage import check_run_events

CHECK_METADATA = {
    "estimated/roc_auc": dg.MetadataValue.float(0.81), "estimated/roc_auc/lower": dg.MetadataValue.float(0.77),
    "estimated/roc_auc/upper": dg.MetadataValue.float(0.85), "evaluation/roc_auc": dg.MetadataValue.float(0.88),
    "realized/roc_auc": dg.MetadataValue.float(0.8), "estimation_error/roc_auc": dg.MetadataValue.float(-0.01),
    "estimated/accuracy": dg.MetadataValue.float(0.78), "estimated/accuracy/lower": dg.MetadataValue.float(0.75),
    "estimated/accuracy/upper": dg.MetadataValue.float(0.8),
}


def _facet():
    return f.ModelPerformanceDatasetFacet.from_check(
        CHECK_METADATA, rows=1500, labelsArrived=True, confidence=0.95, calibrationMethod="isotonic",
        calibrationErrorReference=0.02, modelVersion="abc", failedMetrics=["roc_auc"])


def _schema_validator() -> Draft202012Validator:
    schema = model_performance_schema()
    registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema, DRAFT202012))
    spec = SpecValidator().registry
    return Draft202012Validator({"$ref": f.MODEL_SCHEMA_URL}, registry=spec.combine(registry).crawl())


def test_written_facet_is_read_back_with_every_field():
    facet = _facet()
    payload = json.loads(json.dumps(Serde.to_dict(facet)))
    assert f.parse("modelPerformance", payload) == facet
    roc = facet.metrics["roc_auc"]
    assert (roc.estimated, roc.lower, roc.upper, roc.realized, roc.error) == (0.81, 0.77, 0.85, 0.8, -0.01)
    assert roc.drop == pytest.approx(0.07)  # evaluation - estimate: a drop is positive
    assert facet.metrics["accuracy"].realized is None and facet.metrics["accuracy"].drop is None
    assert payload["_schemaURL"] == f.MODEL_SCHEMA_URL


def test_facet_matches_its_shipped_schema():
    validator = _schema_validator()
    assert not list(validator.iter_errors(Serde.to_dict(_facet())))
    bad = {**Serde.to_dict(_facet()), "metrics": {"roc_auc": {"estimated": 1.7}}}
    assert list(validator.iter_errors(bad))


@pytest.mark.parametrize("payload", [None, "x", [], {}, {"metrics": "x"}, {"metrics": {"roc_auc": "high"}}])
def test_malformed_facet_never_raises(payload):
    assert f.ModelPerformanceDatasetFacet.from_payload(payload) is None


def test_out_of_range_values_are_dropped_not_the_metric():
    facet = f.ModelPerformanceDatasetFacet.from_payload(
        {"metrics": {"roc_auc": {"estimated": "NaN", "lower": 2.0, "error": 5, "realized": 0.7}}, "rows": -1})
    roc = facet.metrics["roc_auc"]
    assert roc.estimated is None and roc.error is None and roc.lower == 1.0 and roc.realized == 0.7
    assert facet.rows is None


def test_check_evaluation_event_carries_the_facet_on_the_checked_dataset():
    settings = EmissionSettings.from_env(job_namespace="dagster", dataset_namespace="dagster://test")
    start, end = check_run_events(
        settings, dagster_run_id="9f0b7c7e-5d4c-4b0e-9c59-4f5f0c2b7a11", dagster_job="j", step_key="s",
        asset_key=dg.AssetKey("predictions"), check_name="estimated_performance",
        assertions=[{"assertion": "estimated_performance", "success": False, "column": None, "severity": "warn"}],
        partition="2026-03-05", dataset_facets={"modelPerformance": _facet()})
    event = json.loads(Serde.to_json(end))
    [dataset] = event["inputs"]
    back = f.parse("modelPerformance", dataset["facets"]["modelPerformance"])
    assert (back.metrics, back.failedMetrics, back.rows) == (_facet().metrics, ["roc_auc"], 1500)
    assert not json.loads(Serde.to_json(start))["inputs"][0].get("facets")
    assert not list(_schema_validator().iter_errors(dataset["facets"]["modelPerformance"]))
