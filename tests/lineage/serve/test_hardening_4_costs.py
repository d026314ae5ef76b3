"""Hardening #16, point 4: one client cannot buy the server's time, memory or scrape size cheaply.

* One valid 3 MB ``columnLineage`` event used to cost 2-5 s and 50,000 rows; a dataset name had no
  length limit (1 MB names made every /metrics scrape 20 MB). Now an event beyond the per-event
  limits (``lineage.config``: column-lineage edges, facet size, name length) gets a clear 422 and
  nothing of it is stored.
* Request heads were unbounded in size and time: 20 unfinished 16 MiB headers grew the server to
  597 MB, 1,000 slowloris connections stayed open. ``obs serve`` (``lineage.serve.server``) now
  buffers at most 64 KiB of a request head and closes a connection whose head is not complete in
  10 s. Fast tests drive the real uvicorn with the same options (a 1 s deadline for speed); the slow
  test checks the defaults against a real ``obs serve``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.lineage_live import LiveServer, free_port
from helpers.store_rows import count_rows
from helpers.lineage_workers import simple_event

from lineage.config import HEADER_TIMEOUT_S, MAX_COLUMN_EDGES, MAX_FACET_BYTES, MAX_HEADER_BYTES, MAX_NAME_CHARS
from lineage.serve.api import create_app
from lineage.serve.server import BoundedH11Protocol, BoundedHttpToolsProtocol, uvicorn_options
from lineage.store import LineageStore
from lineage.store import tables as t

INGEST = "/api/v1/lineage"
CL_URL = "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"


class FastDeadline(BoundedH11Protocol):
    header_timeout = 1.0  # the mechanism of the 10 s default, at test speed


class FastDeadlineHttpTools(BoundedHttpToolsProtocol):  # the parser `obs serve` uses when httptools is installed
    header_timeout = 1.0


PROTOCOLS = {"h11": FastDeadline, "httptools": FastDeadlineHttpTools}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LineageStore]:
    opened = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    yield opened
    opened.dispose()


@pytest.fixture(params=sorted(PROTOCOLS))
def server(store: LineageStore, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    with LiveServer(create_app(store=store), **{**uvicorn_options(), "http": PROTOCOLS[request.param]}) as live:
        yield live


def test_obs_serve_parses_with_bounded_httptools_when_it_is_installed() -> None:
    assert uvicorn_options()["http"] is BoundedHttpToolsProtocol



def _column_lineage(columns: int, inputs: int) -> dict[str, Any]:
    fields = {f"c{i}": {"inputFields": [{"namespace": "bench", "name": "in_1", "field": f"s{j}"}
                                        for j in range(inputs)]} for i in range(columns)}
    return {"_producer": "https://example.com/p", "_schemaURL": CL_URL, "fields": fields}


def _with_output_facet(key: str, facet: dict[str, Any]) -> dict[str, Any]:
    event = simple_event(uuid.uuid4().int % 1000)
    event["outputs"][0]["facets"] = {key: facet}
    return event


# ---------------------------------------------------------------------- per-event cost and names
def test_too_many_column_lineage_edges_is_a_clear_422_and_stores_nothing(server: LiveServer, store) -> None:
    edges_per_column = 100
    columns = MAX_COLUMN_EDGES // edges_per_column + 1
    heavy = _with_output_facet("columnLineage", _column_lineage(columns, edges_per_column))
    response = httpx.post(server.url + INGEST, json=heavy, timeout=60)
    assert response.status_code == 422, response.text[:300]
    assert str(MAX_COLUMN_EDGES) in response.json()["message"]
    assert response.json()["path"] == "$.outputs[0].facets.columnLineage"
    assert count_rows(store, t.events) == 0 and count_rows(store, t.column_edges) == 0
    light = _with_output_facet("columnLineage", _column_lineage(10, 10))
    assert httpx.post(server.url + INGEST, json=light).status_code == 201
    assert count_rows(store, t.column_edges) == 100


def test_an_oversized_facet_is_a_clear_422(server: LiveServer, store) -> None:
    facet = {"_producer": "https://example.com/p", "_schemaURL": "https://example.com/f.json",
             "blob": "x" * (MAX_FACET_BYTES + 1)}
    response = httpx.post(server.url + INGEST, json=_with_output_facet("notes", facet), timeout=60)
    assert response.status_code == 422, response.text[:300]
    assert "'notes' facet" in response.json()["message"] and str(MAX_FACET_BYTES) in response.json()["message"]
    assert count_rows(store, t.events) == 0


@pytest.mark.parametrize("where", ["outputs", "inputs", "job"])
@pytest.mark.parametrize("key", ["name", "namespace"])
def test_an_overlong_name_is_a_clear_422_and_the_limit_itself_is_stored(server: LiveServer, store, where, key) -> None:
    def event(length: int) -> dict[str, Any]:
        e = simple_event(uuid.uuid4().int % 1000)
        target = e["job"] if where == "job" else e[where][0]
        target[key] = "n" * length
        return e

    response = httpx.post(server.url + INGEST, json=event(MAX_NAME_CHARS + 1))
    assert response.status_code == 422, response.text[:300]
    assert f"limit is {MAX_NAME_CHARS}" in response.json()["message"]
    assert response.json()["path"].endswith(f".{key}")
    assert count_rows(store, t.events) == 0
    assert httpx.post(server.url + INGEST, json=event(MAX_NAME_CHARS)).status_code == 201


def test_names_stored_before_the_limit_keep_every_scrape_small(tmp_path: Path, monkeypatch) -> None:
    """A 200,000-character name already in the store (ingested before names were capped) is cut in the
    labels of /metrics, with a hash so two such names never share a series."""
    from lineage.serve.metrics import metrics_registry
    from lineage.store import validation
    from prometheus_client import generate_latest

    store = LineageStore.open(f"sqlite:///{tmp_path / 'old.db'}")
    long_names = ["d" * 200_000, "d" * 199_999 + "e"]
    monkeypatch.setattr(validation, "MAX_NAME_CHARS", 10**6)  # as the store was before the cap
    for i, name in enumerate(long_names):
        event = simple_event(i)
        event["outputs"][0]["name"] = name
        assert store.ingest([event]).stored == 1
    monkeypatch.undo()
    scrape = generate_latest(metrics_registry(store, outbox_path=False)).decode()
    rows = [line for line in scrape.splitlines() if line.startswith("obs_dataset_freshness_seconds{")]
    labels = {line.split('dataset="', 1)[1].split('"', 1)[0] for line in rows if 'dataset="d' in line}
    assert len(labels) == 2 and all(len(label) <= MAX_NAME_CHARS for label in labels)
    assert len(scrape) < 50 * MAX_NAME_CHARS
    store.dispose()


# ---------------------------------------------------------------------- request heads
def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """True when the server closes the connection (EOF or reset) within `within` seconds."""
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_a_request_head_beyond_64_kib_is_refused_and_the_connection_closed(server: LiveServer) -> None:
    fits = "x" * (MAX_HEADER_BYTES - 2048)
    assert httpx.get(server.url + "/healthz", headers={"X-Fill": fits}).status_code == 200
    sock = _connect(server.port)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Fill: ")
    sent, refused = 0, False
    try:
        while sent < 16 * 1024 * 1024:  # the attack: a 16 MiB header that never ends
            sock.sendall(b"x" * 65536)
            sent += 65536
    except (ConnectionResetError, BrokenPipeError):
        refused = True
    refused = refused or _closed_by_server(sock, 5)
    sock.close()
    assert refused
    assert sent < 16 * 1024 * 1024  # the server stopped reading long before the end


def test_slowloris_connections_are_closed_at_the_deadline(server: LiveServer) -> None:
    slow = [_connect(server.port) for _ in range(50)]
    for sock in slow:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
    started = time.monotonic()
    for _ in range(3):  # a header byte every 0.4 s: never idle, never finished
        time.sleep(0.4)
        for sock in slow:
            try:
                sock.sendall(b"X")
            except OSError:
                pass
    assert all(_closed_by_server(sock, FastDeadline.header_timeout + 2) for sock in slow)
    assert time.monotonic() - started < FastDeadline.header_timeout + 3
    for sock in slow:
        sock.close()
    assert httpx.get(server.url + "/healthz").status_code == 200  # normal clients still served


def test_a_keep_alive_connection_still_gets_a_fresh_deadline_per_request(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            assert client.get("/healthz").status_code == 200
            time.sleep(0.2)
    sock = _connect(server.port)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    time.sleep(0.3)
    assert b"200 OK" in sock.recv(65536)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: loc")  # the next head stalls: closed too
    assert _closed_by_server(sock, FastDeadline.header_timeout + 2)
    sock.close()


# ---------------------------------------------------------------------- the defaults of `obs serve`
def _obs() -> list[str]:
    obs = Path(sys.executable).with_name("obs")
    return [str(obs)] if obs.exists() else [sys.executable, "-c", "from observability_pipelines.cli import app; app()"]


@pytest.mark.slow
def test_obs_serve_closes_slowloris_connections_within_the_default_deadline(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBS_")}
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([*_obs(), "serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'l.db'}"],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        slow = [_connect(port) for _ in range(200)]
        for sock in slow:
            sock.sendall(b"POST /api/v1/lineage HTTP/1.1\r\nHost: localhost\r\n")
        started = time.monotonic()
        assert all(_closed_by_server(sock, HEADER_TIMEOUT_S + 5) for sock in slow)
        assert time.monotonic() - started <= HEADER_TIMEOUT_S + 5
        big = _connect(port)
        big.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nX: " + b"x" * (2 * MAX_HEADER_BYTES))
        assert _closed_by_server(big, 5)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        proc.kill()
        proc.wait(timeout=30)
        log.close()
