"""OpenLineage emission from real Dagster runs of the reference pipelines."""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from helpers.ol_spec import SpecValidator
from helpers.recording_server import RecordingBackend

from observability_pipelines.assets import observers as defaults
from observability_pipelines.observe.asset import observed_asset
from observability_pipelines.observe.openlineage import (
    OpenLineageResource,
    OpenLineageObserver,
    lineage_asset_check,
    reset_emitters,
)
from observability_pipelines.resources.faults import FaultInjector

DAYS = ["2026-03-02", "2026-03-03"]
_ASSET_MODULES = ["observability_pipelines.assets.ingest", "observability_pipelines.assets.clean",
                  "observability_pipelines.assets.features", "observability_pipelines.assets.training",
                  "observability_pipelines.definitions"]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    import os

    for key in list(os.environ):
        if key.startswith("OPENLINEAGE") or key in ("OBS_LINEAGE_URL", "OBS_OUTBOX_PATH", "OBS_LINEAGE_DB"):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "outbox.db"))
    monkeypatch.chdir(tmp_path)
    reset_emitters()
    yield
    reset_emitters()


@pytest.fixture
def observed_pipelines(monkeypatch):
    """The reference assets rebuilt with the OpenLineage observer (unless the defaults already add it)."""
    original = defaults.standard_observers

    def with_lineage(asset, **kwargs):
        observers = original(asset, **kwargs)
        if not any(isinstance(o, OpenLineageObserver) for o in observers):
            observers = [OpenLineageObserver(), *observers]
        return observers

    monkeypatch.setattr(defaults, "standard_observers", with_lineage)
    for name in _ASSET_MODULES:
        importlib.reload(importlib.import_module(name))
    yield
    monkeypatch.setattr(defaults, "standard_observers", original)
    for name in _ASSET_MODULES:
        importlib.reload(importlib.import_module(name))


def _pipeline(make_pipeline, **kwargs):
    pipeline = make_pipeline(**kwargs)
    pipeline.resources["openlineage"] = OpenLineageResource()
    return pipeline


def _file_transport(monkeypatch, tmp_path) -> Path:
    path = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(path))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    return path


@pytest.mark.slow
def test_full_pipeline_events_follow_the_spec(observed_pipelines, make_pipeline, monkeypatch, tmp_path):
    from observability_pipelines.definitions import all_assets

    path = _file_transport(monkeypatch, tmp_path)
    pipeline = _pipeline(make_pipeline)
    pipeline.run_days(DAYS)
    events = [json.loads(line) for line in path.read_text().splitlines()]
    validator = SpecValidator()
    for event in events:
        validator.validate(event)

    names = {a.key.to_user_string() for a in all_assets}
    # Checks that run in their own step report too, as jobs named "<asset>:<check>".
    check_events = [e for e in events if e["job"]["name"] not in names]
    check_jobs = {e["job"]["name"] for e in check_events}
    assert any(j.startswith("raw_labels:") and "labels_cover_applicants" in j for j in check_jobs), check_jobs
    assert "batch_predictions:model_performance" in check_jobs, check_jobs
    assert all(":" in e["job"]["name"] for e in check_events)
    events = [e for e in events if e["job"]["name"] in names]
    by_run = defaultdict(list)
    for event in events:
        by_run[event["run"]["runId"]].append(event)
    partitioned = {a.key.to_user_string() for a in all_assets if a.partitions_def is not None}
    assert len(by_run) == len(partitioned) * len(DAYS) + len(names - partitioned)
    for run_events in by_run.values():
        assert [e["eventType"] for e in run_events] == ["START", "COMPLETE"]

    dagster_runs = {r.run_id for r in pipeline.instance.get_runs()}
    completes = {}
    for event in events:
        assert event["run"]["facets"]["parent"]["run"]["runId"] in dagster_runs
        if event["eventType"] == "COMPLETE":
            completes.setdefault(event["job"]["name"], []).append(event)
    assert set(completes) == names
    for asset in all_assets:
        name = asset.key.to_user_string()
        event = completes[name][-1]
        upstream = {k.to_user_string() for k in asset.keys_by_input_name.values()}
        assert {d["name"] for d in event["inputs"]} == upstream, name
        output = event["outputs"][0]
        assert output["name"] == name and output["namespace"] == "dagster://observability_pipelines"
        assert event["job"]["facets"]["jobType"]["integration"] == "DAGSTER"
        mat = pipeline.instance.fetch_materializations(asset.key, limit=1).records[0].asset_materialization
        if "dagster/column_lineage" in mat.metadata:
            lineage = mat.metadata["dagster/column_lineage"].column_lineage
            facet = output["facets"]["columnLineage"]["fields"]
            assert set(facet) == set(lineage.deps_by_column)
            for column, deps in lineage.deps_by_column.items():
                assert {(f["name"], f["field"]) for f in facet[column]["inputFields"]} == {
                    (d.asset_key.to_user_string(), d.column_name) for d in deps}
        if "dagster/column_schema" in mat.metadata:
            assert [f["name"] for f in output["facets"]["schema"]["fields"]] == [
                c.name for c in mat.metadata["dagster/column_schema"].schema.columns]
            assert output["outputFacets"]["outputStatistics"]["rowCount"] == mat.metadata["dagster/row_count"].value
        for ds in event["inputs"]:
            if "dataQualityMetrics" in ds.get("inputFacets", {}):
                assert ds["inputFacets"]["dataQualityMetrics"]["rowCount"] > 0
    # models and predictions say what they are (datasetType), so consumers need no name rules
    types = {n: completes[n][-1]["outputs"][0]["facets"].get("datasetType", {}).get("datasetType") for n in names}
    assert types["trained_model"] == "MODEL" and types["batch_predictions"] == "PREDICTION"
    assert {n for n, kind in types.items() if kind} == {"trained_model", "batch_predictions"}
    # the model input carries the model version; partitions of training_set are combined
    evaluation = completes["model_evaluation"][-1]
    model_in = next(d for d in evaluation["inputs"] if d["name"] == "trained_model")
    assert model_in["facets"]["version"]["datasetVersion"]
    ts_in = next(d for d in evaluation["inputs"] if d["name"] == "training_set")
    assert ts_in["inputFacets"]["dataQualityMetrics"]["fileCount"] == len(DAYS)
    # drift results (second day has a reference window) travel as the custom facet
    drift = [e["outputs"][0]["facets"]["drift"] for e in events if "drift" in e["outputs"][0].get("facets", {})]
    if any(type(o).__name__ == "DriftObserver" for o in defaults.standard_observers("clean_customers")):
        assert drift
    # no raw values of categorical columns or ids anywhere
    text = "\n".join(path.read_text().splitlines())
    raw = pipeline.read("clean_customers", DAYS[0])
    for value in list(raw["customer_id"].head(20)) + ["north", "south", "rent", "mortgage"]:
        assert f'"{value}"' not in text


def test_failed_asset_emits_fail_with_error_message(monkeypatch, tmp_path):
    path = _file_transport(monkeypatch, tmp_path)

    @observed_asset(name="explodes", observers=[OpenLineageObserver()])
    def explodes(context):
        raise ValueError("the source file is truncated")

    result = dg.materialize([explodes], resources={"faults": FaultInjector(), "openlineage": OpenLineageResource()},
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    error = events[1]["run"]["facets"]["errorMessage"]
    assert error["message"] == "ValueError: the source file is truncated"
    assert error["programmingLanguage"] == "PYTHON" and "raise ValueError" in error["stackTrace"]
    SpecValidator().validate(events[1])


@pytest.mark.slow
def test_outage_never_fails_or_blocks_materializations(observed_pipelines, make_pipeline, monkeypatch, tmp_path):
    from observability_pipelines.automation.outbox_sensor import outbox_flush_sensor

    server = RecordingBackend()  # down
    monkeypatch.setenv("OBS_LINEAGE_URL", server.url)
    pipeline = _pipeline(make_pipeline)
    days = ["2026-03-02", "2026-03-03", "2026-03-04"]
    assets = ["raw_customers", "clean_customers"]
    for day in days:
        started = time.monotonic()
        result = pipeline.materialize(assets, day)
        assert result.success
        assert time.monotonic() - started < 20  # two steps, each bounded (first attempt only, then backoff)
    from lineage.emission.outbox import Outbox

    pending = Outbox().rows("pending")
    # START + COMPLETE per asset and day, plus the same for the relationship check that runs beside them
    assert len([r for r in pending if r.event()["job"]["name"] in assets]) == len(days) * len(assets) * 2
    assert len(pending) > len(days) * len(assets) * 2
    server.start()
    try:
        tick = outbox_flush_sensor(dg.build_sensor_context(instance=pipeline.instance))
        assert json.loads(tick.cursor)["remaining"] == 0
        assert server.events == [r.event() for r in pending]  # every event once, in order
        for run_id in {e["run"]["runId"] for e in server.events}:
            assert [e["eventType"] for e in server.events if e["run"]["runId"] == run_id] == ["START", "COMPLETE"]
    finally:
        server.stop()


def test_asset_check_in_its_own_step_is_reported(monkeypatch, tmp_path):
    path = _file_transport(monkeypatch, tmp_path)

    @dg.asset
    def numbers() -> pd.DataFrame:
        return pd.DataFrame({"x": [1, 2, 3]})

    @dg.asset_check(asset=numbers, required_resource_keys={"openlineage"})
    @lineage_asset_check
    def x_positive(context, numbers: pd.DataFrame) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=bool((numbers["x"] > 0).all()))

    result = dg.materialize([numbers, x_positive], resources={"openlineage": OpenLineageResource()},
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert events[1]["job"]["name"] == "numbers:x_positive"
    facet = events[1]["inputs"][0]["inputFacets"]["dataQualityAssertions"]
    assert [{k: a[k] for k in ("assertion", "success", "severity")} for a in facet["assertions"]] == [
        {"assertion": "x_positive", "success": True, "severity": "error"}]
    assert not facet["assertions"][0].get("params")  # nothing about the data beyond the verdict
    validator = SpecValidator()
    for event in events:
        validator.validate(event)
