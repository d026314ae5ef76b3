"""Hardening #16, point 11: the rough edges an operator or a client hits.

* A misconfiguration (``OBS_LINEAGE_MAX_BODY=5MB``, a ``mysql://`` URL) printed a 37-95-line
  traceback: now one readable line (and ``5MB`` / ``5MiB`` are sizes).
* An empty token ran the API open silently: now refused. A token with a trailing space or newline
  failed closed with no hint: now stripped. The token can come from a file (``--token-file``,
  ``OBS_LINEAGE_TOKEN_FILE``), so it need not be on the command line (``ps``).
* A ``?token=`` query string landed in the access log: now redacted.
* Duplicate JSON keys were accepted (the last one winning): now a 400.
* The keep-alive connection was reset after a 500: now kept.
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

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers.lineage_live import LiveServer, free_port
from helpers.store_rows import count_rows
from helpers.lineage_workers import simple_event
from typer.testing import CliRunner

from lineage.serve.api import create_app
from lineage.serve.server import uvicorn_options
from lineage.store import LineageStore
from lineage.store import tables as t
from observability_pipelines.cli import app as obs_app

INGEST = "/api/v1/lineage"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LineageStore]:
    opened = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    yield opened
    opened.dispose()



def _one_line_error(args: list[str], env: dict[str, str], expect: str, code: int = 2) -> None:
    result = CliRunner().invoke(obs_app, args, env=env)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, ValueError)
    if result.output.lstrip().startswith("{"):  # the CLI's --json error shape (a --json call earlier in-process)
        assert expect in json.loads(result.output)["error"]["message"], result.output
        return
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("error:") and expect in lines[0] and len(lines) <= 2, result.output


# ---------------------------------------------------------------------- misconfiguration
@pytest.mark.parametrize("args,env,expect", [
    (["serve"], {"OBS_LINEAGE_MAX_BODY": "5XB"}, "OBS_LINEAGE_MAX_BODY must be a size"),
    (["serve"], {"OBS_LINEAGE_MAX_BODY": "-5"}, "OBS_LINEAGE_MAX_BODY must be positive"),
    (["serve", "--db", "mysql://user@localhost/lineage"], {}, "unsupported database URL scheme 'mysql'"),
    (["serve"], {"OBS_LINEAGE_DB": "mysql://user@localhost/lineage"}, "OBS_LINEAGE_DB"),
    (["serve"], {"OBS_LINEAGE_TOKEN": ""}, "OBS_LINEAGE_TOKEN is empty"),
    (["serve"], {"OBS_LINEAGE_TOKEN": "  "}, "OBS_LINEAGE_TOKEN is empty"),
    (["serve", "--token-file", "/nonexistent/token"], {}, "cannot read the token file"),
])
def test_a_misconfiguration_is_one_readable_line(tmp_path: Path, args, env, expect) -> None:
    env = {"OBS_LINEAGE_DB": f"sqlite:///{tmp_path / 'l.db'}", **env}
    _one_line_error([*args, "--port", "1"], env, expect)


def test_a_query_command_with_an_unsupported_url_is_one_line() -> None:
    _one_line_error(["lineage", "datasets", "--db", "mysql://u@h/d"], {}, "unsupported database URL scheme", code=1)


def test_sizes_with_units_are_understood(store: LineageStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBS_LINEAGE_MAX_BODY", "5MB")
    client = TestClient(create_app(store=store))
    too_big = b"[" + b" " * 5_000_000 + b"]"
    response = client.post(INGEST, content=too_big, headers=JSON)
    assert response.status_code == 413 and "5000000" in response.json()["message"]
    assert client.post(INGEST, json=simple_event(1)).status_code == 201


# ---------------------------------------------------------------------- the token
def test_an_empty_token_is_refused_not_run_open(store: LineageStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBS_LINEAGE_TOKEN", "")
    with pytest.raises(ValueError, match="OBS_LINEAGE_TOKEN is empty"):
        create_app(store=store)
    with pytest.raises(ValueError, match="--token is empty"):
        create_app(store=store, token=" ")


@pytest.mark.parametrize("configured", ["s3cret ", " s3cret", "s3cret\n", "s3cret\r\n"])
def test_a_token_with_surrounding_whitespace_works(store, monkeypatch, configured: str) -> None:
    monkeypatch.setenv("OBS_LINEAGE_TOKEN", configured)
    client = TestClient(create_app(store=store))
    assert client.post(INGEST, json=simple_event(1), headers={"Authorization": "Bearer s3cret"}).status_code == 201
    assert client.post(INGEST, json=simple_event(2), headers={"Authorization": "Bearer s3cre"}).status_code == 401
    assert client.post(INGEST, json=simple_event(3)).status_code == 401


def test_the_token_is_read_from_a_file(store, monkeypatch, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-a-file\n")
    monkeypatch.setenv("OBS_LINEAGE_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("OBS_LINEAGE_TOKEN", "ignored-when-a-file-is-set")
    client = TestClient(create_app(store=store))
    assert client.post(INGEST, json=simple_event(1), headers={"Authorization": "Bearer from-a-file"}).status_code == 201
    token_file.write_text("\n")
    with pytest.raises(ValueError, match="token file .* is empty"):
        create_app(store=store)


# ---------------------------------------------------------------------- JSON and connections
@pytest.mark.parametrize("body", [
    b'{"eventType": "START", "eventType": "COMPLETE"}',
    json.dumps(simple_event(1))[:-1].encode() + b', "run": {"runId": "' + str(uuid.uuid4()).encode() + b'"}}',
    b'[' + json.dumps(simple_event(2)).encode() + b', {"a": 1, "b": {"c": 1, "c": 2}}]',
])
def test_duplicate_json_keys_are_refused(store: LineageStore, body: bytes) -> None:
    response = TestClient(create_app(store=store)).post(INGEST, content=body, headers=JSON)
    assert response.status_code == 400 and response.json()["error"] == "duplicate_key", response.text
    assert count_rows(store) == 0


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
    length = int(lengths[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_the_keep_alive_connection_survives_a_500(store: LineageStore) -> None:
    app = create_app(store=store)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with LiveServer(app, **uvicorn_options()) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(b"GET /broken HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert _read_response(sock).startswith(b"HTTP/1.1 500")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")  # same connection
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
        sock.close()


# ---------------------------------------------------------------------- a real `obs serve`
@pytest.mark.slow
def test_obs_serve_keeps_the_token_out_of_ps_and_the_access_log(tmp_path: Path) -> None:
    secret = f"tok-{uuid.uuid4().hex}"
    (tmp_path / "token").write_text(secret + "\n")
    port = free_port()
    obs = Path(sys.executable).with_name("obs")
    command = [str(obs)] if obs.exists() else [
        sys.executable, "-c", "from observability_pipelines.cli import app; app()"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBS_")}
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([*command, "serve", "--port", str(port), "--db", f"sqlite:///{tmp_path / 'l.db'}",
                                 "--token-file", str(tmp_path / "token")],
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert secret not in Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
        auth = {"Authorization": f"Bearer {secret}"}
        assert httpx.post(base + INGEST, json=simple_event(1), headers=auth).status_code == 201
        assert httpx.get(base + f"/api/v1/lineage/datasets?token={secret}&limit=5").status_code == 401
        assert httpx.get(base + f"/healthz?api_key={secret}").status_code == 200
        time.sleep(0.5)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    log = log_path.read_text()
    assert "/healthz?api_key=[redacted]" in log and "token=[redacted]&limit=5" in log, log[-2000:]
    assert secret not in log
