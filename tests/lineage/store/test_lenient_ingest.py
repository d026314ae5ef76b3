"""Lenient ingest (issue 15): what Marquez accepts is stored raw with warnings; only what cannot be
stored is refused, by index; `OBS_LINEAGE_STRICT=1` keeps the all-or-nothing 422.

References are independent of the code under test: Python's `uuid.uuid5` for run ids, the events'
own fields for what must come back, the vendored JSON Schemas' `required` lists for the facet versions.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from helpers.lineage_live import LiveServer
from helpers.lineage_workers import simple_event
from sqlalchemy import select
from typer.testing import CliRunner

from lineage.store import LineageStore
from lineage.store import tables as t
from lineage.store.validation import RUN_ID_NAMESPACE, EventValidationError, default_validator
from lineage.store.warning_tables import event_warnings, warning_totals

INGEST = "/api/v1/lineage"
AIRFLOW_RUN_ID = "manual__2025-05-01T14:00:00+00:00"
SCHEMAS = Path(__file__).resolve().parents[3] / "lineage" / "store" / "schemas" / "facets"


def _warnings(store: LineageStore) -> list[tuple[int, str, str]]:
    with store.read() as conn:
        rows = conn.execute(select(event_warnings.c.event_id, event_warnings.c.path, event_warnings.c.message))
        return [tuple(r) for r in rows]


def _sorted(events: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(e, sort_keys=True) for e in events)


def _engine_facet(version: str) -> dict[str, Any]:
    # ProcessingEngineRunFacet 1-0-0 required `engine_version`, 1-1-1 requires `version` instead.
    return {
        "_producer": "https://example.com/tests",
        "_schemaURL": f"https://openlineage.io/spec/facets/{version}/ProcessingEngineRunFacet.json#/$defs/ProcessingEngineRunFacet",
        "name": "spark",
        "engine_version": "3.5.0",
    }


def test_vendored_versions_differ_where_the_test_relies_on_it() -> None:
    old = json.loads((SCHEMAS / "versions" / "1-0-0" / "ProcessingEngineRunFacet.json").read_text())
    new = json.loads((SCHEMAS / "ProcessingEngineRunFacet.json").read_text())
    required = lambda s: s["$defs"]["ProcessingEngineRunFacet"]["allOf"][1]["required"]  # noqa: E731
    assert required(old) == ["engine_version"] and required(new) == ["version"]
    assert new["$id"].endswith("/1-1-1/ProcessingEngineRunFacet.json")


def test_non_uuid_run_id_is_stored_under_its_uuid5_and_stays_searchable(store: LineageStore) -> None:
    start = simple_event(1, run_id=AIRFLOW_RUN_ID)
    start["eventType"] = "START"
    complete = simple_event(2, run_id=AIRFLOW_RUN_ID)
    result = store.ingest([start, complete])
    assert result.stored == 2 and result.rejected == [] and result.warnings == 2
    expected = str(uuid.uuid5(RUN_ID_NAMESPACE, AIRFLOW_RUN_ID))
    with store.read() as conn:
        runs = conn.execute(select(t.runs.c.run_uuid)).scalars().all()
        by_uuid = conn.execute(select(t.events.c.payload).where(t.events.c.run_uuid == expected)).scalars().all()
    assert runs == [expected]  # both events are one run
    assert {json.loads(p)["run"]["runId"] for p in by_uuid} == {AIRFLOW_RUN_ID}  # the original is kept
    assert all(expected in message and "$.run.runId" == path for _, path, message in _warnings(store))


def test_parent_run_with_a_non_uuid_id_maps_the_same_way(store: LineageStore) -> None:
    child = simple_event(3)
    child["run"]["facets"] = {
        "parent": {
            "_producer": "https://example.com/tests",
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet",
            "run": {"runId": AIRFLOW_RUN_ID},
            "job": {"namespace": "airflow", "name": "dag"},
        }
    }
    store.ingest([child, simple_event(4, run_id=AIRFLOW_RUN_ID)])
    with store.read() as conn:
        parents = conn.execute(select(t.runs.c.parent_run_uuid).where(t.runs.c.parent_run_uuid.is_not(None))).scalars()
        run_uuids = set(conn.execute(select(t.runs.c.run_uuid)).scalars())
    assert list(parents) == [str(uuid.uuid5(RUN_ID_NAMESPACE, AIRFLOW_RUN_ID))]
    assert str(uuid.uuid5(RUN_ID_NAMESPACE, AIRFLOW_RUN_ID)) in run_uuids


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda e: e.__setitem__("eventType", "DONE"), "$.eventType"),
        (lambda e: e.pop("schemaURL"), "$"),
        (lambda e: e.__setitem__("producer", None), "$.producer"),
        (lambda e: e["run"].__setitem__("facets", {"processing_engine": _engine_facet("1-1-1")}), "$.run.facets.processing_engine"),
    ],
    ids=["eventType-outside-enum", "no-schemaURL", "null-producer", "facet-breaks-its-version"],
)
def test_spec_breaks_are_stored_with_a_warning_and_refused_when_strict(
    store: LineageStore, mutate: Any, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = simple_event(5)
    mutate(event)
    monkeypatch.setenv("OBS_LINEAGE_STRICT", "1")
    with pytest.raises(EventValidationError):
        store.ingest([event])
    assert store.event_count() == 0
    monkeypatch.delenv("OBS_LINEAGE_STRICT")
    result = store.ingest([event])
    assert result.stored == 1 and result.warnings >= 1
    (stored,) = store.events()
    assert stored == event  # raw, as sent
    assert path in {p for _, p, _ in _warnings(store)}


def test_facet_is_checked_against_the_version_its_schema_url_names(store: LineageStore) -> None:
    old = simple_event(6)
    old["run"]["facets"] = {"processing_engine": _engine_facet("1-0-0")}
    default_validator().validate(old)  # conforms to the version it names
    store.ingest([old], strict=True)
    new = copy.deepcopy(old)
    new["run"]["facets"]["processing_engine"] = _engine_facet("1-1-1")
    with pytest.raises(EventValidationError, match="'version' is a required property"):
        default_validator().validate(new)


def test_unvendored_version_is_checked_against_the_newest_and_says_so() -> None:
    event = simple_event(7)
    event["run"]["facets"] = {"processing_engine": _engine_facet("1-1-9")}
    (warning,) = default_validator().problems(event)
    assert "1-1-9" in warning.message and "checked against 1-1-1" in warning.message


@pytest.mark.parametrize(
    ("mutate", "path", "reason"),
    [
        (lambda e: e.pop("eventTime"), "$.eventTime", "no eventTime"),
        (lambda e: e.__setitem__("eventTime", "yesterday"), "$.eventTime", "not a valid ISO 8601 date-time"),
        (lambda e: e["job"].pop("name"), "$.job", "no job name"),
        (lambda e: e["run"].pop("runId"), "$.run", "no runId"),
        (lambda e: e["inputs"][0].pop("namespace"), "$.inputs[0]", "namespace and a name"),
        (lambda e: e["job"].__setitem__("name", "a\x00b"), "$.job.name", "NUL"),
    ],
    ids=["no-eventTime", "bad-eventTime", "no-job-name", "no-runId", "dataset-without-namespace", "nul"],
)
def test_a_batch_stores_its_good_events_and_reports_the_bad_one_by_index(
    store: LineageStore, mutate: Any, path: str, reason: str
) -> None:
    bad = simple_event(8)
    mutate(bad)
    good = [simple_event(9), simple_event(10)]
    result = store.ingest([good[0], bad, good[1]])
    assert (result.received, result.stored, result.duplicates) == (3, 2, 0)
    assert [(r["index"], r["path"]) for r in result.rejected] == [(1, path)]
    assert reason in result.rejected[0]["message"]
    assert _sorted(store.events()) == _sorted(good)


def test_duplicates_keep_one_set_of_warnings(store: LineageStore) -> None:
    event = simple_event(11, run_id="not-a-uuid")
    store.ingest([event, event])
    store.ingest([event])
    with store.read() as conn:
        assert warning_totals(conn) == (1, 1)


# ---------------------------------------------------------------- the HTTP API
def test_api_partial_batch_is_207_and_lists_each_refusal(server: LiveServer, store: LineageStore) -> None:
    no_time = simple_event(12)
    no_time.pop("eventTime")
    no_job = simple_event(13)
    no_job["job"] = {"namespace": "x"}
    airflow = simple_event(14, run_id=AIRFLOW_RUN_ID)
    response = httpx.post(server.url + INGEST, json=[no_time, simple_event(15), no_job, airflow])
    assert response.status_code == 207, response.text
    body = response.json()
    assert (body["received"], body["stored"], body["warnings"]) == (4, 2, 1)
    assert [(r["index"], r["path"]) for r in body["rejected"]] == [(0, "$.eventTime"), (2, "$.job")]
    assert store.event_count() == 2


def test_api_refuses_with_the_reason_what_cannot_be_stored(server: LiveServer, store: LineageStore) -> None:
    no_job = simple_event(16)
    no_job.pop("job")
    no_job.pop("inputs")
    no_job.pop("outputs")
    response = httpx.post(server.url + INGEST, json=no_job)
    assert response.status_code == 422
    assert "no job name" in response.json()["message"] and response.json()["index"] == 0
    assert httpx.post(server.url + INGEST, content=b"{nope", headers={"Content-Type": "application/json"}).status_code == 400
    assert store.event_count() == 0


def test_api_accepts_what_marquez_accepts_and_strict_refuses_it(
    server: LiveServer, store: LineageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = simple_event(17, run_id="run_id")
    event.pop("schemaURL")
    monkeypatch.setenv("OBS_LINEAGE_STRICT", "1")
    assert httpx.post(server.url + INGEST, json=event).status_code == 422
    monkeypatch.delenv("OBS_LINEAGE_STRICT")
    response = httpx.post(server.url + INGEST, json=event)
    assert response.status_code == 201 and response.json()["warnings"] == 2
    assert store.events() == [event]


# ---------------------------------------------------------------- obs ingest
def test_obs_ingest_stores_the_good_lines_and_names_the_bad_ones(db_url: str, tmp_path: Path) -> None:
    from lineage.cli import register

    app = typer.Typer()
    register(app)
    good = [simple_event(18), simple_event(19, run_id=AIRFLOW_RUN_ID)]
    bad = simple_event(20)
    bad.pop("eventTime")
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in [good[0], bad, good[1]]) + "\n")
    result = CliRunner().invoke(app, ["ingest", str(path), "--db", db_url, "--json"])
    assert result.exit_code == 2, result.output
    summary = json.loads(result.stdout)
    assert (summary["stored"], summary["warnings"]) == (2, 1)
    assert [(r["index"], r["line"], r["path"]) for r in summary["rejected"]] == [(1, 2, "$.eventTime")]
    with LineageStore.open(db_url) as store:
        assert _sorted(store.events()) == _sorted(good)


# ---------------------------------------------------------------- readers of malformed facets
_BASE = {"_producer": "https://example.com/tests", "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/X.json"}
_BAD_VALUES = [
    "x", 5, None, [], {"fields": "x"}, {"fields": {"a": "x"}}, {"fields": {"a": {"inputFields": [{"namespace": 1}]}}},
    {"assertions": "x"}, {"assertions": [{"success": "no"}]}, {"rowCount": "abc"}, {"datasetVersion": 5},
    {"identifiers": [{"name": 5}]}, {"run": {"runId": 5}}, {"nominalStartTime": "nope"}, {"message": 5},
]
_DATASET_KEYS = ["columnLineage", "dataQualityAssertions", "dataQualityMetrics", "outputStatistics", "version", "symlinks", "schema", "lineage", "drift"]
_RUN_KEYS = ["parent", "nominalTime", "errorMessage", "processing_engine", "tags"]


def _malformed_events() -> list[dict[str, Any]]:
    events, i = [], 0
    for value in _BAD_VALUES:
        facet = {**_BASE, **value} if isinstance(value, dict) else value
        for key in _DATASET_KEYS:
            event = simple_event(i, run_id=str(uuid.UUID(int=i + 1)))
            event["outputs"][0]["facets"] = {key: facet}
            event["inputs"][0]["inputFacets"] = {key: facet}
            events.append(event)
            i += 1
        for key in _RUN_KEYS:
            event = simple_event(i)
            event["eventType"] = "FAIL"
            event["run"]["facets"] = {key: facet}
            events.append(event)
            i += 1
    return events


def test_malformed_facets_are_stored_and_no_reader_crashes_on_them(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from lineage.serve.api import create_app

    events = _malformed_events()
    with LineageStore.open(f"sqlite:///{tmp_path / 'm.db'}") as store:
        result = store.ingest(events)
        assert (result.stored, result.rejected) == (len(events), [])
        client = TestClient(create_app(store=store), raise_server_exceptions=False)
        paths = [
            "/metrics", "/api/v1/lineage/upstream?name=out_1&namespace=bench", "/api/v1/lineage/history?name=out_1&namespace=bench",
            "/api/v1/lineage/impact?name=in_1&namespace=bench", "/api/v1/lineage/columns?name=out_1&namespace=bench&column=a",
            "/api/v1/rca?dataset=out_1&namespace=bench", "/api/v1/namespaces/bench/datasets", "/api/v1/namespaces/bench/jobs",
            "/api/v1/lineage?nodeId=dataset:bench:out_1", "/api/v1/column-lineage?nodeId=dataset:bench:out_1&withDownstream=true",
            "/api/v1/namespaces/bench/datasets/out_1/versions", "/api/v1/namespaces/bench/jobs/job_1/runs",
        ]
        statuses = {path: client.get(path).status_code for path in paths}
    assert all(status < 500 for status in statuses.values()), statuses
