"""`FastIngestPath` answers `POST /api/v1/lineage` as the FastAPI route does.

Reference: the same app with the fast path removed from its middleware, on a second store; every request
below goes to both, and status, body, headers (but the date) and the stored rows must be the same.
"""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lineage.serve.api import create_app
from lineage.serve.routes import ingest as ingest_route
from lineage.store import LineageStore
from lineage.store import tables as t

TOKEN = "fast-path-token"
PATH = "/api/v1/lineage"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def _event(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE", "eventTime": f"2025-01-01T00:00:{i % 60:02d}Z",
        "run": {"runId": str(uuid.UUID(int=i + 1))}, "job": {"namespace": "fast", "name": f"job_{i}"},
        "inputs": [{"namespace": "ns", "name": f"in_{i}"}], "outputs": [{"namespace": "ns", "name": f"out_{i}"}],
        "producer": "https://example.com/p", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
        **extra,
    }


def _requests() -> list[tuple[str, dict[str, Any]]]:
    """(name, httpx request arguments): the paths the fast path takes and the ones it hands on."""
    one = json.dumps(_event(1)).encode()
    batch = json.dumps([_event(2), _event(3), _event(2)]).encode()
    no_job = dict(_event(5))
    del no_job["job"]
    return [
        ("one event", {"content": one, "headers": AUTH}),
        ("the same event again", {"content": one, "headers": AUTH}),
        ("a batch with a repeat", {"content": batch, "headers": AUTH}),
        ("a spec warning", {"content": json.dumps(_event(4, eventType="DONE")).encode(), "headers": AUTH}),
        ("one of two refused (207)", {"content": json.dumps([_event(6), no_job]).encode(), "headers": AUTH}),
        ("all refused (422)", {"content": json.dumps(no_job).encode(), "headers": AUTH}),
        ("not an object", {"content": b"42", "headers": AUTH}),
        ("malformed JSON", {"content": b'{"eventType": ', "headers": AUTH}),
        ("a key twice", {"content": b'{"a": 1, "a": 2}', "headers": AUTH}),
        ("NaN", {"content": b'{"a": NaN}', "headers": AUTH}),
        ("not UTF-8", {"content": b'{"a": "\xff"}', "headers": AUTH}),
        ("empty body", {"content": b"", "headers": AUTH}),
        ("empty array", {"content": b"[]", "headers": AUTH}),
        ("too deep", {"content": b"[" * 5000 + b"]" * 5000, "headers": AUTH}),
        ("no token", {"content": one, "headers": {"Content-Type": "application/json"}}),
        ("wrong token", {"content": one, "headers": {**AUTH, "Authorization": "Bearer nope"}}),
        ("over the cap, declared", {"content": b" " * 5000 + one, "headers": AUTH}),
        ("over the cap, streamed", {"chunks": [b" " * 3000, b" " * 3000, one], "headers": AUTH}),
        ("streamed, within the cap", {"chunks": [b" " * 100, json.dumps(_event(9)).encode()], "headers": AUTH}),
        ("gzip", {"content": gzip.compress(json.dumps(_event(7)).encode()),
                  "headers": {**AUTH, "Content-Encoding": "gzip"}}),
        ("unknown encoding", {"content": one, "headers": {**AUTH, "Content-Encoding": "br"}}),
        ("a query string", {"content": json.dumps(_event(8)).encode(), "headers": AUTH, "params": {"x": "1"}}),
        ("a NUL in the query", {"content": one, "headers": AUTH, "params": {"x": "a\x00b"}}),
        ("a foreign host", {"content": one, "headers": {**AUTH, "Host": "evil.example"}}),
        ("text/plain", {"content": one, "headers": {**AUTH, "Content-Type": "text/plain"}}),
    ]


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[dict[str, tuple[TestClient, LineageStore]]]:
    out = {}
    for name in ("fast", "route"):
        store = LineageStore.open(f"sqlite:///{tmp_path / f'{name}.db'}")
        app = create_app(store=store, token=TOKEN, max_body_bytes=4096)
        if name == "route":
            app.user_middleware = [m for m in app.user_middleware if m.cls is not ingest_route.FastIngestPath]
        out[name] = (TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False), store)
    yield out
    for client, store in out.values():
        client.close()
        store.dispose()


def _answer(client: TestClient, arguments: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    arguments = dict(arguments)
    if "chunks" in arguments:  # a body without Content-Length, in pieces (a fresh generator for each app)
        arguments["content"] = iter(arguments.pop("chunks"))
    response = client.post(PATH, **arguments)
    headers = {k: v for k, v in response.headers.items() if k != "date"}
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    return response.status_code, body, headers


def _stored(store: LineageStore) -> list[tuple[Any, ...]]:
    with store.read() as conn:
        query = select(t.events.c.event_hash, t.events.c.payload).order_by(t.events.c.id)
        return [tuple(r) for r in conn.execute(query)]


@pytest.mark.parametrize("strict", [False, True])
def test_the_fast_path_answers_as_the_route(apps: dict[str, tuple[TestClient, LineageStore]], strict: bool,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    if strict:
        monkeypatch.setenv("OBS_LINEAGE_STRICT", "1")
    statuses = set()
    for name, arguments in _requests():
        fast, route = (_answer(apps[side][0], arguments) for side in ("fast", "route"))
        assert fast == route, name
        statuses.add(fast[0])
    assert _stored(apps["fast"][1]) == _stored(apps["route"][1])
    assert {201, 400, 401, 413, 415, 422} <= statuses and (strict or 207 in statuses)


def test_the_fast_path_is_taken_for_plain_posts(apps: dict[str, tuple[TestClient, LineageStore]],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The route's body reader broken: plain POSTs are still stored (the fast path read them), a gzip POST
    is not (handed to the route)."""

    async def broken(*_args: Any) -> bytes:
        raise RuntimeError("the route was used")

    monkeypatch.setattr(ingest_route, "_read_body", broken)
    client, store = apps["fast"]
    response = client.post(PATH, content=json.dumps(_event(1)).encode(), headers=AUTH)
    assert response.status_code == 201 and response.json() == {"received": 1, "stored": 1, "duplicates": 0}
    gzipped = client.post(PATH, content=gzip.compress(b"{}"), headers={**AUTH, "Content-Encoding": "gzip"})
    assert gzipped.status_code == 500
    assert store.event_count() == 1


def test_the_openapi_document_still_lists_the_route(apps: dict[str, tuple[TestClient, LineageStore]]) -> None:
    fast, route = (apps[side][0].get("/openapi.json", headers=AUTH).json() for side in ("fast", "route"))
    assert fast == route and "post" in fast["paths"][PATH]
