"""`obs import marquez`: a PostgreSQL `lineage_events` table built by Marquez's own migrations,
filled the way Marquez writes it, is ingested completely; a second run stores nothing twice."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import typer
from helpers import producer_corpus as corpus
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from lineage.cli import register
from lineage.store import LineageStore

MIGRATIONS = corpus.ROOT / "marquez" / "db"
EVENTS = ["marquez/seed_metadata.jsonl", "marquez/apples.jsonl", "marquez/listener.jsonl", "compatibility/simple_run_event.json"]


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.match(r"V([\d.]+)__", path.name).group(1).split("."))


def _marquez_run_uuid(run_id: str) -> str:
    """Java's UUID.nameUUIDFromBytes (what Marquez stores for a runId that is not a UUID)."""
    try:
        return str(uuid.UUID(run_id))
    except ValueError:
        digest = bytearray(hashlib.md5(run_id.encode()).digest())  # noqa: S324 - Marquez's own scheme
        digest[6] = (digest[6] & 0x0F) | 0x30
        digest[8] = (digest[8] & 0x3F) | 0x80
        return str(uuid.UUID(bytes=bytes(digest)))


@pytest.fixture
def marquez_db(postgres_server: str) -> Iterator[str]:
    """A fresh schema holding Marquez's lineage_events, as its Flyway migrations leave it."""
    schema = f"marquez_{uuid.uuid4().hex[:12]}"
    url = f"{postgres_server}?options={quote(f'-csearch_path={schema}')}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")  # V47 creates an index CONCURRENTLY
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with engine.connect() as conn:
            for path in sorted(MIGRATIONS.glob("V*.sql"), key=_version):
                conn.exec_driver_sql(path.read_text())
        yield url
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _fill(url: str, events: list[dict[str, Any]]) -> None:
    """Rows as Marquez's OpenLineageDao.createLineageRow writes them."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for e in events:
            conn.execute(
                text(
                    "INSERT INTO lineage_events (event_type, event_time, run_uuid, job_name, job_namespace, event, producer) "
                    "VALUES (:type, CAST(:time AS timestamptz), CAST(:run AS uuid), :job, :ns, CAST(:event AS jsonb), :producer)"
                ),
                {
                    "type": e.get("eventType"), "time": e["eventTime"], "run": _marquez_run_uuid(e["run"]["runId"]),
                    "job": e["job"]["name"], "ns": e["job"]["namespace"], "event": json.dumps(e), "producer": e.get("producer"),
                },
            )
    engine.dispose()


def _import(marquez_url: str, store_url: str) -> dict[str, Any]:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["import", "marquez", "--db", marquez_url, "--store", store_url, "--json", "--batch-size", "7"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _canonical(events: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(e, sort_keys=True) for e in events)


@pytest.mark.postgres
def test_import_reads_marquez_lineage_events_once(marquez_db: str, tmp_path: Path) -> None:
    events = [e for name in EVENTS for e in corpus.read(corpus.ROOT / name)]
    _fill(marquez_db, events)
    distinct = _canonical(events)
    distinct = sorted(set(distinct))
    store_url = f"sqlite:///{tmp_path / 'imported.db'}"

    first = _import(marquez_db, store_url)
    assert (first["read"], first["stored"], first["rejected"]) == (len(events), len(distinct), [])
    assert first["warnings"] >= 11  # 8 apples + 2 listener without schemaURL, 1 non-UUID runId
    with LineageStore.open(store_url) as store:
        assert sorted(set(_canonical(store.events(limit=10_000)))) == distinct
        counts = store.counts()

    again = _import(marquez_db, store_url)
    assert (again["read"], again["stored"], again["duplicates"], again["warnings"]) == (len(events), 0, len(events), 0)
    with LineageStore.open(store_url) as store:
        assert store.counts() == counts


@pytest.mark.postgres
def test_import_of_a_database_without_the_table_is_a_clear_error(postgres_server: str, tmp_path: Path) -> None:
    app = typer.Typer()
    register(app)
    url = f"{postgres_server}?options={quote('-csearch_path=no_such_schema_here')}"
    result = CliRunner().invoke(app, ["import", "marquez", "--db", url, "--store", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 1 and "lineage_events" in result.stderr
