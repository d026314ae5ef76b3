"""The ingest API, served by uvicorn, fed by openlineage-python's own HTTP transport."""

from __future__ import annotations

import gzip
import json
import multiprocessing
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.lineage_live import LiveServer
from helpers.lineage_scenario import as_dicts, pipeline_events
from helpers.lineage_workers import post_worker, simple_event
from openlineage.client import OpenLineageClient
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport

from lineage.serve.api import create_app
from lineage.store import LineageStore

DATA = Path(__file__).parents[1] / "data"
INGEST = "/api/v1/lineage"


def ol_client(url: str, **config: Any) -> OpenLineageClient:
    return OpenLineageClient(transport=HttpTransport(HttpConfig(url=url, **config)))


def test_openlineage_client_events_are_stored(server: LiveServer, store: LineageStore) -> None:
    client = ol_client(server.url)
    events = pipeline_events()
    for event in events:
        client.emit(event)
    assert store.event_count() == len(events)
    # The client also adds its own facets (e.g. processing engine); the core shape is stored.
    stored = store.events(limit=1)[0]
    assert stored["run"]["runId"] == events[0].run.runId
    assert stored["job"] == {"namespace": "dagster", "name": "etl.build_features", "facets": stored["job"]["facets"]}


def test_gzip_and_bearer_token_as_the_client_sends_them(store: LineageStore) -> None:
    with LiveServer(create_app(store=store, token="s3cret")) as live:
        client = ol_client(
            live.url, compression=HttpCompression.GZIP, auth=ApiKeyTokenProvider({"api_key": "s3cret"})
        )
        client.emit(pipeline_events()[0])
        assert store.event_count() == 1
        with pytest.raises(Exception, match="401"):
            ol_client(live.url, auth=ApiKeyTokenProvider({"api_key": "wrong"})).emit(pipeline_events()[1])
        response = httpx.post(live.url + INGEST, json=as_dicts(pipeline_events()[1:2]))
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert "Bearer" in response.json()["message"]
        assert httpx.get(live.url + "/healthz").status_code == 200  # health stays open
        assert httpx.get(live.url + INGEST + "/datasets").status_code == 401
        assert store.event_count() == 1


def test_token_from_environment(monkeypatch: pytest.MonkeyPatch, store: LineageStore) -> None:
    monkeypatch.setenv("OBS_LINEAGE_TOKEN", "from-env")
    with LiveServer(create_app(store=store)) as live:
        body = as_dicts(pipeline_events()[:1])
        assert httpx.post(live.url + INGEST, json=body).status_code == 401
        ok = httpx.post(live.url + INGEST, json=body, headers={"Authorization": "Bearer from-env"})
        assert ok.status_code == 201


def test_batch_duplicates_and_examples(server: LiveServer, store: LineageStore) -> None:
    examples = [json.loads(p.read_text()) for p in sorted(DATA.glob("*.json"))]
    first = httpx.post(server.url + INGEST, json=examples)
    assert first.status_code == 201
    assert first.json() == {"received": 4, "stored": 4, "duplicates": 0}
    again = httpx.post(server.url + INGEST, json=examples[0])
    assert again.json() == {"received": 1, "stored": 0, "duplicates": 1}
    assert store.event_count() == 4


def _post_raw(url: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(url + INGEST, content=body, headers={"Content-Type": "application/json", **headers})


def _full_event() -> dict[str, Any]:
    return json.loads((DATA / "example_full_event.json").read_text())


def _mutated(mutate: Any) -> bytes:
    event = _full_event()
    mutate(event)
    return json.dumps(event).encode()


@pytest.mark.parametrize(
    ("body", "status", "expect"),
    [
        (b'{"eventType": "START", "run": ', 400, "not valid JSON"),
        (b"", 400, "empty"),
        (b"[]", 400, "empty"),
        (b'{"x": NaN}', 400, "not valid JSON"),
        (b"\xff\xfe{}", 400, "not"),
        (b"42", 422, "JSON object"),
        (_mutated(lambda e: e["run"].pop("runId")), 422, "'runId' is a required property"),
        (_mutated(lambda e: e.__setitem__("eventType", "DONE")), 422, "'DONE' is not one of"),
        (
            _mutated(lambda e: e["inputs"][0]["inputFacets"]["dataQualityAssertions"]["assertions"][0].pop("success")),
            422,
            "invalid 'dataQualityAssertions' facet",
        ),
        (b"[" * 50_000 + b"]" * 50_000, 400, "deep"),
    ],
    ids=["truncated", "empty", "empty-array", "nan", "not-utf8", "scalar", "no-runId", "bad-eventType", "bad-facet", "deep-json"],
)
def test_bad_requests_are_rejected_and_change_nothing(
    server: LiveServer, store: LineageStore, body: bytes, status: int, expect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBS_LINEAGE_STRICT", "1")  # lenient ingest keeps spec breaks: tests/lineage/store/test_lenient_ingest.py
    before = store.counts()
    response = _post_raw(server.url, body)
    assert response.status_code == status, response.text
    assert expect in response.json()["message"]
    assert store.counts() == before


def test_invalid_event_in_batch_rejects_whole_batch_when_strict(
    server: LiveServer, store: LineageStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBS_LINEAGE_STRICT", "1")
    good = as_dicts(pipeline_events()[:3])
    bad = _full_event()
    bad["run"]["runId"] = "not-a-uuid"
    response = httpx.post(server.url + INGEST, json=[*good, bad])
    assert response.status_code == 422
    detail = response.json()
    assert detail["index"] == 3 and detail["path"] == "$.run.runId" and "uuid" in detail["reason"]
    assert store.counts()["events"] == 0


def test_depth_cap_on_valid_json(server: LiveServer, store: LineageStore) -> None:
    event = _full_event()
    node: dict[str, Any] = {}
    event["run"]["facets"]["custom"] = {"_producer": "https://x", "_schemaURL": "https://x", "v": node}
    for _ in range(80):
        node["x"] = {}
        node = node["x"]
    response = httpx.post(server.url + INGEST, json=event)
    assert response.status_code == 422 and "nested deeper than" in response.json()["message"]
    assert store.event_count() == 0


def test_body_size_cap(store: LineageStore, monkeypatch: pytest.MonkeyPatch) -> None:
    event = as_dicts(pipeline_events()[:1])[0]
    size = len(json.dumps(event).encode())
    with LiveServer(create_app(store=store, max_body_bytes=size + 100)) as live:
        assert httpx.post(live.url + INGEST, json=event).status_code == 201
        big = [event] * 3
        response = httpx.post(live.url + INGEST, json=big)
        assert response.status_code == 413 and "exceeds" in response.json()["message"]
        # A small gzip body that inflates past the cap is refused too.
        bomb = gzip.compress(json.dumps(big).encode())
        assert len(bomb) < size
        response = _post_raw(live.url, bomb, **{"Content-Encoding": "gzip"})
        assert response.status_code == 413 and "decompressed" in response.json()["message"]
        # Chunked upload without Content-Length is counted while streaming.
        chunks = iter([json.dumps(big).encode()[i : i + 1000] for i in range(0, len(json.dumps(big)), 1000)])
        response = httpx.post(live.url + INGEST, content=chunks, headers={"Content-Type": "application/json"})
        assert response.status_code == 413
    assert store.event_count() == 1
    monkeypatch.setenv("OBS_LINEAGE_MAX_BODY", "10")
    with LiveServer(create_app(store=store)) as live:
        assert httpx.post(live.url + INGEST, json=event).status_code == 413


def test_unsupported_encoding(server: LiveServer) -> None:
    response = _post_raw(server.url, b"{}", **{"Content-Encoding": "br"})
    assert response.status_code == 415


def test_healthz(server: LiveServer, store: LineageStore) -> None:
    response = httpx.get(server.url + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "backend": store.dialect}


@pytest.mark.slow
def test_eight_processes_post_through_the_api(tmp_path: Path) -> None:
    """Eight spawned clients post 1,000 events each (batches of 100) to one server."""
    with LineageStore.open(f"sqlite:///{tmp_path / 'api.db'}") as store, LiveServer(create_app(store=store)) as live:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(8) as pool:
            results = pool.starmap(post_worker, [(live.url, w, 1000, 100) for w in range(8)])
        assert results == [1000] * 8
        assert store.event_count() == 8000


def test_app_opens_its_own_store_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OBS_LINEAGE_DB", f"sqlite:///{tmp_path / 'env.db'}")
    with LiveServer(create_app()) as live:
        assert httpx.post(live.url + INGEST, json=simple_event(1)).status_code == 201
    with LineageStore.open(f"sqlite:///{tmp_path / 'env.db'}") as store:
        assert store.event_count() == 1
