"""The ingest fast paths store what the plain paths store.

* Rows go through the driver (SQLite: multi-row VALUES .. RETURNING, executemany; PostgreSQL:
  psycopg2's execute_values); the reference is the same ingest through SQLAlchemy's statements
  (`driver_path = False`).
* Concurrent `ingest` calls are committed in groups; the reference is the same calls one after another.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from helpers import producer_corpus as corpus
from sqlalchemy import create_engine, select, text

from lineage.store import LineageStore
from lineage.store import tables as t
from lineage.store.warning_tables import event_warnings

# Columns holding the time of ingest (utcnow), not anything the events say.
_INGEST_TIME = {"received_at", "first_seen"}


def _rows(store: LineageStore) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    with store.read() as conn:
        for table in (*t.ALL_TABLES, event_warnings):
            columns = [c for c in table.c if not (c.name in _INGEST_TIME and table in (t.events, t.datasets, t.jobs))]
            out[table.name] = [tuple(r) for r in conn.execute(select(*columns).order_by(*table.primary_key.columns))]
    return out


def _open(tmp_path: Path, name: str) -> LineageStore:
    return LineageStore.open(f"sqlite:///{tmp_path / name}")


def _batches(events: list[Any], size: int) -> list[list[Any]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


@contextmanager
def _reference_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second empty store of the same backend: a SQLite file, or a new PostgreSQL schema."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'plain.db'}"
        return
    admin = create_engine(request.getfixturevalue("postgres_server"), isolation_level="AUTOCOMMIT")
    schema = f"lineage_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{admin.url.render_as_string(hide_password=False)}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_driver_path_stores_the_rows_sqlalchemy_stores(db_url: str, tmp_path: Path, request: Any) -> None:
    events = corpus.load()
    results, rows = {}, {}
    with _reference_url(db_url, tmp_path, request) as reference:
        for driver, url in ((True, db_url), (False, reference)):
            store = LineageStore.open(url)
            try:
                assert store.driver_path
                store.driver_path = driver
                results[driver] = [store.ingest(batch).as_dict() for batch in _batches(events, 37)]
                results[driver].append(store.ingest(events[:40]).as_dict())  # duplicates: nothing new
                rows[driver] = _rows(store)
            finally:
                store.dispose()
    assert results[True] == results[False]
    assert rows[True] == rows[False]
    assert len(rows[True]["lineage_events"]) > 100 and rows[True]["lineage_event_warnings"]
    assert rows[True]["lineage_io_edges"] and rows[True]["lineage_column_edges"]


def _concurrently(store: LineageStore, calls: list[list[Any]]) -> list[Any]:
    results: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def call(i: int) -> None:
        start.wait()
        try:
            results[i] = store.ingest(calls[i])
        except Exception as exc:  # noqa: BLE001 - compared below
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


class _Recording(LineageStore):
    """Records each group's size; the first commit is slow, so the other calls queue behind it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups: list[int] = []

    def _commit_group(self, group: Any) -> None:
        self.groups.append(len(group))
        if len(self.groups) == 1:
            time.sleep(0.3)
        super()._commit_group(group)


def test_concurrent_calls_get_the_answers_of_calls_one_after_another(tmp_path: Path) -> None:
    events = corpus.load()[:120]
    # Overlapping calls: each event is in two calls, so every group holds duplicates of its own.
    calls = [events[i : i + 20] for i in range(0, 110, 10)]
    grouped = _Recording(LineageStore.open(f"sqlite:///{tmp_path / 'grouped.db'}").engine)
    alone = _open(tmp_path, "alone.db")
    try:
        results = _concurrently(grouped, calls)
        assert all(not isinstance(r, Exception) for r in results), results
        for r, call in zip(results, calls, strict=True):
            assert r.stored + r.duplicates == r.received == len(call)
            assert len(r.event_ids) == r.stored
        ids = [i for r in results for i in r.event_ids]
        assert len(ids) == len(set(ids))  # no event credited to two calls
        assert max(grouped.groups) > 1 and sum(grouped.groups) == len(calls)  # calls were grouped
        for call in calls:
            alone.ingest(call)
        assert sum(r.stored for r in results) == grouped.event_count() == alone.event_count()
        assert sum(r.warnings for r in results) == len(_rows(alone)["lineage_event_warnings"])
        mine, reference = _rows(grouped), _rows(alone)
        assert sorted(r[1:] for r in mine["lineage_events"]) == sorted(r[1:] for r in reference["lineage_events"])
        assert {k: len(v) for k, v in mine.items()} == {k: len(v) for k, v in reference.items()}
    finally:
        grouped.dispose()
        alone.dispose()


class _FailingOn(LineageStore):
    """A store whose transaction fails whenever it holds a marked event (a fault in one request)."""

    marked: str = ""

    def _ingest_once(self, items: Any, warned: Any = None) -> Any:
        if any(i.event_hash == self.marked for i in items):
            raise RuntimeError("disk on fire")
        return super()._ingest_once(items, warned)


def test_a_failing_call_fails_alone_in_its_group(tmp_path: Path) -> None:
    from lineage.store import event_hash

    events = corpus.load()[:60]
    store = _FailingOn(LineageStore.open(f"sqlite:///{tmp_path / 'f.db'}").engine)
    store.marked = event_hash(events[25])
    try:
        calls = [events[i : i + 10] for i in range(0, 60, 10)]
        results = _concurrently(store, calls)
        assert isinstance(results[2], RuntimeError)
        assert all(not isinstance(r, Exception) and r.received == 10 for i, r in enumerate(results) if i != 2)
        stored = {i for i, r in enumerate(results) if not isinstance(r, Exception)}
        assert store.event_count() == sum(results[i].stored for i in stored) == 50 - sum(
            results[i].duplicates for i in stored
        )
    finally:
        store.dispose()


@pytest.mark.parametrize("size", [1, 3])
def test_group_commit_keeps_quarantine_and_idempotency(tmp_path: Path, size: int) -> None:
    events = corpus.load()[:30]
    store = _open(tmp_path, "q.db")
    try:
        first = _concurrently(store, _batches(events, size))
        again = _concurrently(store, _batches(events, size))
        assert sum(r.stored for r in first) == store.event_count()
        assert sum(r.stored for r in again) == 0
        assert sum(r.duplicates for r in again) == len(events)
    finally:
        store.dispose()


def _mmap_size(store: LineageStore) -> int:
    with store.read() as conn:
        return int(conn.exec_driver_sql("PRAGMA mmap_size").scalar())


def test_sqlite_memory_map_is_off_unless_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OBS_SQLITE_MMAP_BYTES", raising=False)
    with LineageStore.open(f"sqlite:///{tmp_path / 'off.db'}") as store:
        assert _mmap_size(store) == 0
    monkeypatch.setenv("OBS_SQLITE_MMAP_BYTES", str(64 * 1024 * 1024))
    with LineageStore.open(f"sqlite:///{tmp_path / 'on.db'}") as store:
        assert _mmap_size(store) == 64 * 1024 * 1024
        events = corpus.load()[:20]
        store.ingest(events)
        with store.read() as conn:  # written and read back through the map
            assert conn.execute(select(t.events.c.event_hash)).all()
    monkeypatch.setenv("OBS_SQLITE_MMAP_BYTES", "lots")
    with pytest.raises(Exception, match="OBS_SQLITE_MMAP_BYTES must be a number of bytes"):
        with LineageStore.open(f"sqlite:///{tmp_path / 'bad.db'}") as store:
            _mmap_size(store)
