"""Hardening #16, point 2: a web page cannot write to (or, by DNS rebinding, read) the store.

With no token (the default) the API used to store a cross-origin ``text/plain`` or form-encoded
POST (201: a browser sends those without a CORS preflight) and serve any ``Host:`` header. Each
attack is made here as a browser would make it, against a real uvicorn serving the app.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.lineage_live import LiveServer
from helpers.store_rows import count_rows
from helpers.lineage_workers import simple_event

from lineage.serve.api import create_app
from lineage.store import LineageStore
from lineage.store import tables as t

INGEST = "/api/v1/lineage"
EVIL = "http://evil.example"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LineageStore]:
    opened = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    yield opened
    opened.dispose()



def _serve(store: LineageStore, monkeypatch: pytest.MonkeyPatch, **options: Any) -> LiveServer:
    monkeypatch.delenv("OBS_ALLOWED_HOSTS", raising=False)  # the defaults, not the TestClient's name
    return LiveServer(create_app(store=store, **options))


def _event() -> bytes:
    return json.dumps(simple_event(uuid.uuid4().int % 1000)).encode()


@pytest.mark.parametrize("content_type", [
    "text/plain;charset=UTF-8",  # fetch(url, {method: "POST", mode: "no-cors", body: JSON.stringify(e)})
    "application/x-www-form-urlencoded",  # <form method=post> / curl -d
    "multipart/form-data; boundary=x",
    None,  # a Blob without a type: no Content-Type at all
])
def test_a_browser_simple_request_is_refused_and_stores_nothing(store, monkeypatch, content_type) -> None:
    with _serve(store, monkeypatch) as server:
        headers = {"Origin": EVIL} | ({"Content-Type": content_type} if content_type else {})
        for extra in ({}, {"Origin": None}):  # also from a script that sends no Origin
            sent = {k: v for k, v in (headers | extra).items() if v is not None}
            request = httpx.Request("POST", server.url + INGEST, content=_event(), headers=sent)
            if content_type is None:
                request.headers.pop("content-type", None)
            response = httpx.Client().send(request)
            assert response.status_code in (403, 415), response.text
            if "Origin" not in sent:
                assert response.status_code == 415 and "application/json" in response.json()["message"]
    assert count_rows(store) == 0


def test_a_cross_origin_json_write_is_refused_without_cors(store, monkeypatch) -> None:
    with _serve(store, monkeypatch) as server:
        refused = httpx.post(server.url + INGEST, content=_event(),
                             headers={"Content-Type": "application/json", "Origin": EVIL})
        body_less = httpx.post(server.url + "/api/v1/incidents/1/resolve", headers={"Origin": EVIL})
        same_origin = httpx.post(server.url + INGEST, content=_event(),
                                 headers={"Content-Type": "application/json", "Origin": server.url})
        client = httpx.post(server.url + INGEST, content=_event(), headers={"Content-Type": "application/json"})
        preflight = httpx.options(server.url + INGEST, headers={
            "Origin": EVIL, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert refused.status_code == 403 and refused.json()["error"] == "cross_origin_write"
    assert body_less.status_code == 403
    assert same_origin.status_code == 201 and client.status_code == 201
    assert "access-control-allow-origin" not in preflight.headers  # CORS closed: the browser blocks the call
    assert count_rows(store) == 2


def test_dns_rebinding_a_foreign_host_is_refused(store, monkeypatch) -> None:
    with _serve(store, monkeypatch) as server:
        port = server.port
        for method in ("GET", "POST"):
            for host in ("evil.example", f"evil.example:{port}", "attacker.127.0.0.1.nip.io", ""):
                path = "/api/v1/lineage/datasets" if method == "GET" else INGEST
                response = httpx.request(method, server.url + path, content=_event() if method == "POST" else None,
                                         headers={"Host": host, "Content-Type": "application/json"})
                assert response.status_code == 400, (host, response.text)
                assert response.json()["error"] == "host_not_allowed"
                assert "OBS_ALLOWED_HOSTS" in response.json()["message"]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
            assert httpx.get(server.url + "/healthz", headers={"Host": host}).status_code == 200, host
    assert count_rows(store) == 0


def test_configured_hosts_and_cors_origins_are_served(store, monkeypatch) -> None:
    monkeypatch.setenv("OBS_CORS_ORIGINS", "https://lineage-ui.example")
    with _serve(store, monkeypatch, allowed_hosts=["lineage.internal", ".corp.example"]) as server:
        for host in ("lineage.internal", "api.corp.example:8443", "corp.example"):
            assert httpx.get(server.url + "/healthz", headers={"Host": host}).status_code == 200, host
        assert httpx.get(server.url + "/healthz", headers={"Host": "evilcorp.example"}).status_code == 400
        origin = {"Origin": "https://lineage-ui.example"}
        preflight = httpx.options(server.url + INGEST, headers={
            **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
        json_type = {"Content-Type": "application/json"}
        write = httpx.post(server.url + INGEST, content=_event(), headers={**origin, **json_type})
        other = httpx.post(server.url + INGEST, content=_event(), headers={"Origin": EVIL, **json_type})
    assert preflight.headers.get("access-control-allow-origin") == "https://lineage-ui.example"
    assert write.status_code == 201 and write.headers.get("access-control-allow-origin") == origin["Origin"]
    assert other.status_code == 403
    assert count_rows(store) == 1


def test_json_types_the_clients_send_are_accepted(store, monkeypatch) -> None:
    with _serve(store, monkeypatch) as server:
        for content_type in ("application/json", "application/json; charset=utf-8", "application/vnd.ol+json"):
            response = httpx.post(server.url + INGEST, content=_event(), headers={"Content-Type": content_type})
            assert response.status_code == 201, (content_type, response.text)
    assert count_rows(store) == 3
