"""Incidents from stored events: one fault → one incident, lifecycle, any producer (dbt)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import producer_corpus as corpus
from helpers.partitioned_events import day
from typer.testing import CliRunner

from lineage.analysis import incidents
from lineage.serve.api import create_app
from lineage.store import LineageStore
from observability_pipelines.cli import app

@pytest.fixture
def history(store: LineageStore) -> LineageStore:
    for clean_day in range(6):
        store.ingest(day(clean_day))
    assert incidents.sync(store) == [], "clean days open no incident"
    return store


def _open(store: LineageStore) -> list[dict[str, Any]]:
    return incidents.list_incidents(store, status="open")


def test_one_fault_makes_one_incident_with_the_injected_cause(history: LineageStore) -> None:
    history.ingest(day(6, nulls=300))
    changes = incidents.sync(history)
    assert [c.kind for c in changes] == ["opened"]
    [incident] = _open(history)
    assert (incident["cause"]["asset"], incident["cause"]["column"], incident["cause"]["kind"]) == (
        "raw.loans", "income", "null_burst")
    assert {a["dataset"] for a in incident["affected"]} == {"raw.loans", "clean.loans"}
    assert incident["partitions"] == ["2026-03-07"]
    assert incident["severity"] == "high"  # an error-severity check, no model downstream
    assert incidents.sync(history) == [], "a second sync with nothing new changes nothing"


def test_unrelated_fault_on_another_day_is_a_second_incident_and_a_clean_rerun_resolves_the_first(
        history: LineageStore) -> None:
    history.ingest(day(6, nulls=300))
    history.ingest(day(7, scale=100.0))
    incidents.sync(history)
    found = {(i["cause"]["asset"], i["cause"]["column"]): i for i in _open(history)}
    assert set(found) == {("raw.loans", "income"), ("raw.loans", "amount")}, found
    assert found[("raw.loans", "amount")]["cause"]["kind"] == "scale_change"

    history.ingest(day(6, attempt=1))  # the fixed re-run of the faulty day
    changes = incidents.sync(history)
    assert [(c.incident_id, c.kind) for c in changes] == [(found[("raw.loans", "income")]["id"], "resolved")]
    resolved = incidents.get_incident(history, found[("raw.loans", "income")]["id"])
    assert (resolved["status"], resolved["resolution"]) == ("resolved", "auto")
    assert [s["kind"] for s in resolved["timeline"]][0] == "opened"
    assert "resolved" in [s["kind"] for s in resolved["timeline"]]
    assert [i["cause"]["column"] for i in _open(history)] == ["amount"]


def test_same_cause_on_consecutive_partitions_stays_one_incident(history: LineageStore) -> None:
    history.ingest(day(6, nulls=300))
    incidents.sync(history)
    history.ingest(day(7, nulls=280))
    changes = incidents.sync(history)
    assert [c.kind for c in changes] == ["updated"]
    [incident] = _open(history)
    assert incident["partitions"] == ["2026-03-07", "2026-03-08"]


def test_acknowledge_then_resolve_by_hand(history: LineageStore) -> None:
    history.ingest(day(6, nulls=300))
    [change] = incidents.sync(history)
    acked = incidents.acknowledge(history, change.incident_id, by="ana")
    assert acked["status"] == "acknowledged" and acked["acknowledged_at"]
    with pytest.raises(incidents.IncidentConflict):
        incidents.acknowledge(history, change.incident_id)
    done = incidents.resolve(history, change.incident_id, by="ana")
    assert (done["status"], done["resolution"]) == ("resolved", "manual")
    with pytest.raises(incidents.IncidentConflict):
        incidents.resolve(history, change.incident_id)
    with pytest.raises(incidents.IncidentNotFound):
        incidents.get_incident(history, 999)
    # The same cause failing again after a manual resolve is a new incident.
    history.ingest(day(7, nulls=300))
    [again] = incidents.sync(history)
    assert again.kind == "opened" and again.incident_id != change.incident_id


def test_dbt_failing_tests_each_belong_to_exactly_one_incident(store: LineageStore) -> None:
    events = corpus.read(corpus.ROOT / "dbt" / "events.jsonl")
    store.ingest(events, validate=False)
    incidents.sync(store)
    found = incidents.list_incidents(store)
    failing = {(ds["name"], a["assertion"], a.get("column"))
               for e in events for ds in e.get("inputs", []) + e.get("outputs", [])
               for a in ds.get("facets", {}).get("dataQualityAssertions", {}).get("assertions", [])
               if not a["success"]}
    assert failing, "the corpus has failing dbt tests"
    reported = [(a["dataset"], check) for i in found for a in i["affected"]
                for check, state in a["checks"].items() if state == "failing"]
    assert sorted(reported) == sorted({(d, f"{a} on {c}" if c else a) for d, a, c in failing})
    assert all(i["cause"]["asset"] for i in found)


def test_api_and_cli_answer_the_same(history: LineageStore, db_url: str) -> None:
    history.ingest(day(6, nulls=300))
    client = TestClient(create_app(store=history))
    listed = client.get("/api/v1/incidents", params={"status": "open"}).json()["incidents"]
    assert len(listed) == 1
    incident_id = listed[0]["id"]
    assert client.get(f"/api/v1/incidents/{incident_id}").json()["cause"] == listed[0]["cause"]
    assert client.get("/api/v1/incidents/424242").status_code == 404
    assert client.post(f"/api/v1/incidents/{incident_id}/ack", json={"by": "ops"}).json()["status"] == "acknowledged"

    runner = CliRunner()
    shown = runner.invoke(app, ["incidents", "list", "--json", "--db", db_url])
    assert shown.exit_code == 0, shown.output
    assert [i["status"] for i in json.loads(shown.output)["incidents"]] == ["acknowledged"]
    resolved = runner.invoke(app, ["incidents", "resolve", str(incident_id), "--db", db_url])
    assert resolved.exit_code == 0 and "resolved" in resolved.output
    assert client.post(f"/api/v1/incidents/{incident_id}/resolve").status_code == 409


def _scrape(client: TestClient) -> dict[tuple[str, tuple], float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(client.get("/metrics").text) for sample in family.samples}


def test_metrics_count_open_incidents_and_time_to_detect_and_resolve(history: LineageStore) -> None:
    client = TestClient(create_app(store=history))
    history.ingest(day(6, nulls=300))
    scraped = _scrape(client)
    assert scraped[("obs_incidents_open", (("severity", "high"),))] == 1
    assert sum(v for (n, _), v in scraped.items() if n == "obs_incidents_open") == 1
    assert scraped[("obs_incident_time_to_detect_seconds_count", ())] == 1
    [incident] = incidents.list_incidents(history)
    detected = (dt.datetime.fromisoformat(incident["detected_at"].rstrip("Z"))
                - dt.datetime.fromisoformat(incident["first_seen"].rstrip("Z"))).total_seconds()
    assert scraped[("obs_incident_time_to_detect_seconds_sum", ())] == pytest.approx(detected)
    history.ingest(day(6, attempt=1))
    scraped = _scrape(client)
    assert sum(v for (n, _), v in scraped.items() if n == "obs_incidents_open") == 0
    assert scraped[("obs_incident_time_to_resolve_seconds_count", ())] == 1
