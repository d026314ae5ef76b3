"""The ingest rate: events accepted / rejected per producer, counted by the real ingest endpoint, bounded labels."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from helpers.lineage_workers import simple_event
from lineage.serve import ingest_metrics
from lineage.serve.api import create_app
from lineage.serve.dashboards import build
from lineage.store import LineageStore

NAME = "obs_ingest_events_total"


def _counts(client: TestClient) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for s in family.samples:
            if s.name == NAME:
                out[(s.labels["producer"], s.labels["outcome"])] = s.value
    return out


def _delta(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def _client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(store=LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")))


def test_accepted_and_rejected_events_are_counted_by_producer(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ingest_metrics, "_seen", set())
    client = _client(tmp_path)
    before = _counts(client)
    good = [{**simple_event(i), "producer": "https://example.com/a?token=x#frag"} for i in range(3)]
    bad = {**simple_event(9), "producer": "https://example.com/b", "eventTime": "not a time"}
    response = client.post("/api/v1/lineage", json=[*good, bad])
    assert response.status_code == 207 and [r["index"] for r in response.json()["rejected"]] == [3], response.text
    assert client.post("/api/v1/lineage", json=good[0]).status_code == 201  # a duplicate is accepted (idempotent)
    assert client.post("/api/v1/lineage", content=b"[", headers={"Content-Type": "application/json"}).status_code == 400
    # The query and fragment are dropped (a token in a producer URL never becomes a label).
    assert _delta(_counts(client), before) == {("https://example.com/a", "accepted"): 4,
                                               ("https://example.com/b", "rejected"): 1}


def test_strict_mode_counts_the_refused_batch_as_rejected(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ingest_metrics, "_seen", set())
    monkeypatch.setenv("OBS_LINEAGE_STRICT", "1")
    client = _client(tmp_path)
    before = _counts(client)
    batch = [simple_event(0), {**simple_event(1), "eventTime": "not a time"}]
    assert client.post("/api/v1/lineage", json=batch).status_code == 422
    assert _delta(_counts(client), before) == {("https://example.com/tests", "rejected"): 2}


def test_the_producer_label_is_bounded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ingest_metrics, "_seen", set())
    client = _client(tmp_path)
    before = _counts(client)
    events = [{**simple_event(i), "producer": f"https://example.com/p{i}"} for i in range(ingest_metrics.MAX_PRODUCERS + 5)]
    events.append({**simple_event(99), "producer": 42})
    client.post("/api/v1/lineage", content=json.dumps(events), headers={"Content-Type": "application/json"})
    delta = _delta(_counts(client), before)
    assert len(delta) == ingest_metrics.MAX_PRODUCERS + 2  # 20 producers, "other" and "unknown"
    assert delta[("other", "accepted")] == 5 and delta[("unknown", "accepted")] == 1


def test_the_dashboard_shows_the_ingest_rate() -> None:
    exprs = [expr for _, panels in build.SECTIONS for panel in panels for expr, _ in panel.targets]
    assert any(NAME in expr and "rate(" in expr for expr in exprs)


def test_a_batch_counts_per_producer_and_outcome_as_event_by_event() -> None:
    """The tallied count equals one increment per event, unhashable and missing producers included."""
    from lineage.serve import ingest_metrics as m

    def series() -> dict[tuple[str, str], float]:
        return {(s.labels["producer"], s.labels["outcome"]): s.value for metric in m.INGEST_EVENTS.collect()
                for s in metric.samples if s.name.endswith("_total")}

    events = [{"producer": "https://a.example/x?q=1"}, {"producer": ["not", "a", "string"]}, {"producer": "https://a.example/x"},
              "not an event", {"producer": "https://b.example/y"}, {}]
    before = series()
    m.count(events, rejected=[1, 4])
    after = series()
    expected: dict[tuple[str, str], float] = {}
    for index, event in enumerate(events):
        key = (m.producer_label(event), "rejected" if index in (1, 4) else "accepted")
        expected[key] = expected.get(key, 0) + 1
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == expected
