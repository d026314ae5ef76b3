"""Hardening #16, point 5: client errors are 4xx, every 5xx is logged with its cause, and a damaged
store is refused at start-up.

* A search string over 50,000 characters used to answer 503 "database unavailable; retry" (SQLite
  refuses such LIKE patterns): it is the client's error, now a 400 naming the limit.
* No 503 cause was ever logged (PostgreSQL gone, disk full). The disk-full case is made real here
  with SQLite's own page cap (``PRAGMA max_page_count``): the write fails exactly as on a full disk.
* A SQLite store with a damaged page started, answered /healthz and took writes; now ``obs serve``
  and the app's start-up refuse it with one readable line.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers.lineage_workers import simple_event
from sqlalchemy import event
from typer.testing import CliRunner

from lineage.serve.api import create_app
from lineage.serve.deps import MAX_QUERY_VALUE_CHARS
from lineage.store import LineageStore
from lineage.store.integrity import StoreDamagedError, integrity_problem
from observability_pipelines.cli import app as obs_app

INGEST = "/api/v1/lineage"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "lineage.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[LineageStore]:
    opened = LineageStore.open(f"sqlite:///{db_path}")
    opened.ingest([simple_event(i) for i in range(50)])
    yield opened
    opened.dispose()


@pytest.mark.parametrize("length", [50_001, 60_000, MAX_QUERY_VALUE_CHARS + 1])
def test_an_overlong_search_string_is_a_400_not_a_503(store: LineageStore, length: int) -> None:
    client = TestClient(create_app(store=store))
    for url in ("/api/v1/lineage/datasets?search=", "/api/v1/lineage/upstream?name="):
        response = client.get(url + "a" * length)
        assert response.status_code == 400, (url, response.status_code, response.text[:200])
        assert str(MAX_QUERY_VALUE_CHARS) in response.json()["message"]
    ok = client.get("/api/v1/lineage/datasets", params={"search": "out_"})
    assert ok.status_code == 200 and ok.json()


def test_a_503_is_logged_with_its_cause(store: LineageStore, caplog: pytest.LogCaptureFixture) -> None:
    with store.read() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()

    @event.listens_for(store.engine, "connect")
    def _full_disk(dbapi_connection, _record) -> None:  # the file may not grow: SQLITE_FULL on write
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    store.engine.dispose()
    client = TestClient(create_app(store=store))
    with caplog.at_level(logging.ERROR, logger="lineage.serve"):
        response = client.post(INGEST, json=[simple_event(1000 + i) for i in range(300)])
    assert response.status_code == 503, response.text
    assert "full" not in response.text  # the client gets no driver message
    causes = [r.getMessage() for r in caplog.records if r.name == "lineage.serve"]
    assert any("503" in m and "database or disk is full" in m and INGEST in m for m in causes), causes


def test_an_unhandled_500_is_logged_with_its_traceback_and_answered_as_json(store, caplog) -> None:
    app = create_app(store=store)

    def broken() -> None:
        raise ZeroDivisionError("a bug")

    app.add_api_route("/broken", broken)
    with caplog.at_level(logging.ERROR, logger="lineage.serve"):
        response = TestClient(app, raise_server_exceptions=False).get("/broken")
    assert response.status_code == 500 and response.json()["error"] == "internal_error"
    record = next(r for r in caplog.records if r.name == "lineage.serve" and "500" in r.getMessage())
    assert "ZeroDivisionError" in record.getMessage() and record.exc_info is not None


def _damage(db_path: Path) -> None:
    """Overwrite one b-tree page in the middle of the file (a torn write, a bad sector)."""
    with sqlite3.connect(db_path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(db_path, "r+b") as f:
        f.seek(page_size * (pages // 2))
        f.write(b"\xde\xad\xbe\xef" * (page_size // 4))


def test_a_damaged_store_is_refused_at_start_up(store: LineageStore, db_path: Path) -> None:
    assert integrity_problem(store) is None
    store.dispose()
    _damage(db_path)
    url = f"sqlite:///{db_path}"
    with pytest.raises(StoreDamagedError, match="damaged"):
        with TestClient(create_app(db_url=url)):
            pass
    result = CliRunner().invoke(obs_app, ["serve", "--db", url, "--port", "1"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "Traceback" not in result.output, result.output
    if lines[0].startswith("{"):  # the CLI's --json error shape (a --json call earlier in this process)
        assert "damaged" in json.loads(result.output)["error"]["message"]
    else:
        assert "damaged" in lines[0] and len(lines) <= 3, result.output
    assert os.path.getsize(db_path) > 0  # refused, not touched
