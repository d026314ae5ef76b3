"""Fixtures: a fresh store per test on SQLite and on PostgreSQL, and a live uvicorn server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from lineage.serve.api import create_app
from lineage.store import LineageStore

from helpers.lineage_live import LiveServer

PG_SERVER = os.environ.get("OBS_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
DATA = Path(__file__).parent / "data"


def _postgres_unavailable() -> str | None:
    try:
        engine = create_engine(PG_SERVER, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any failure to reach the server means "unavailable"
        return f"PostgreSQL not reachable at {PG_SERVER}: {type(exc).__name__}"
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    reason = _postgres_unavailable()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: the PostgreSQL suite must run, not skip)")
        pytest.skip(reason)
    return PG_SERVER


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'lineage.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    schema = f"lineage_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{server}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[LineageStore]:
    opened = LineageStore.open(db_url)
    try:
        yield opened
    finally:
        opened.dispose()


@pytest.fixture
def server(store: LineageStore) -> Iterator[LiveServer]:
    with LiveServer(create_app(store=store)) as live:
        yield live
