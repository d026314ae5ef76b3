"""RequestGuard in front of a real ASGI app: Host allow-list, JSON-only writes, no cross-origin writes."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from lineage.serve.guards import RequestGuard, host_allowed, host_name, is_json_type


def _client(allowed_hosts=(), cors_origins=()) -> TestClient:
    app = FastAPI()

    @app.api_route("/echo", methods=["GET", "POST", "DELETE"])
    async def echo(request: Request) -> dict:
        return {"method": request.method, "body": (await request.body()).decode()}

    app.add_middleware(RequestGuard, allowed_hosts=list(allowed_hosts), cors_origins=list(cors_origins))
    return TestClient(app, base_url="http://127.0.0.1:5000")


@pytest.mark.parametrize(("header", "name"), [
    ("127.0.0.1:5000", "127.0.0.1"), ("LOCALHOST", "localhost"), ("[::1]:5000", "::1"), ("::1", "::1"),
    ("example.com.", "example.com"), ("", ""),
])
def test_host_name_drops_port_brackets_case_and_the_trailing_dot(header: str, name: str) -> None:
    assert host_name(header) == name


@pytest.mark.parametrize(("name", "allowed", "expected"), [
    ("api.example.com", [".example.com"], True), ("example.com", ["*.example.com"], True),
    ("evilexample.com", [".example.com"], False), ("anything", ["*"], True), ("other.org", ["example.com"], False),
])
def test_host_allowed_by_name_domain_or_wildcard(name: str, allowed: list[str], expected: bool) -> None:
    assert host_allowed(name, allowed) is expected


@pytest.mark.parametrize(("content_type", "expected"), [
    ("application/json", True), ("Application/JSON; charset=utf-8", True), ("application/vnd.api+json", True),
    ("text/plain", False), ("application/x-www-form-urlencoded", False), ("", False), ("application/jsonx", False),
])
def test_only_json_media_types_are_json(content_type: str, expected: bool) -> None:
    assert is_json_type(content_type) is expected


def test_a_foreign_host_is_refused_and_a_configured_one_served() -> None:
    client = _client(allowed_hosts=["lineage.internal"])
    refused = client.get("/echo", headers={"Host": "attacker.example"})
    assert refused.status_code == 400 and refused.json()["error"] == "host_not_allowed"
    assert "attacker.example" in refused.json()["message"] and "OBS_ALLOWED_HOSTS" in refused.json()["message"]
    assert client.get("/echo", headers={"Host": "lineage.internal:5000"}).status_code == 200
    assert client.get("/echo").status_code == 200  # loopback is always served


def test_a_write_must_be_json_but_a_body_less_post_needs_no_type() -> None:
    client = _client()
    form = client.post("/echo", content=b'{"a": 1}', headers={"Content-Type": "text/plain"})
    assert form.status_code == 415 and form.json()["error"] == "unsupported_media_type"
    assert client.post("/echo", json={"a": 1}).json() == {"method": "POST", "body": '{"a":1}'}
    assert client.post("/echo").status_code == 200
    assert client.get("/echo", headers={"Content-Type": "text/plain"}).status_code == 200  # reads are not writes


def test_cross_origin_writes_are_refused_unless_the_origin_is_configured() -> None:
    client = _client(cors_origins=["https://ui.example.com/"])
    foreign = client.post("/echo", json={}, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["error"] == "cross_origin_write"
    assert client.delete("/echo", headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/echo", json={}, headers={"Origin": "https://ui.example.com"}).status_code == 200
    assert client.post("/echo", json={}, headers={"Origin": "http://127.0.0.1:5000"}).status_code == 200  # same origin
    assert client.get("/echo", headers={"Origin": "https://evil.example"}).status_code == 200
