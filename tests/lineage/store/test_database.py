"""The ingest fast paths store what the plain paths store.

* Rows go through the driver (SQLite: multi-row VALUES .. RETURNING, executemany; PostgreSQL: COPY for
  derived rows, INSERT .. SELECT FROM unnest(one array per column) .. RETURNING); the reference is the same
  ingest through SQLAlchemy's statements (`driver_path = False`).
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


# Text COPY's format escapes (tab, newline, CR, backslash), "\\N", unicode and SQL quotes, in names, facet
# keys and values, column-lineage transformations (booleans, missing descriptions) and dataset versions.
_AWKWARD = ["tab\there", "new\nline", "cr\rhere", "back\\slash", "\\N", "quote'\"s", "ünï €", "end\\",
            "\\t literal", "", "x" * 300]


def _awkward_events() -> list[dict[str, Any]]:
    events = []
    for i, value in enumerate(_AWKWARD):
        name = f"ds {i} {value}" if value else f"ds {i}"
        facet = {"_producer": "p", "_schemaURL": "https://example.com/custom.json", "note": value}
        events.append({
            "eventType": "COMPLETE", "eventTime": f"2025-01-01T00:00:{i:02d}.{i:06d}Z",
            "run": {"runId": str(uuid.UUID(int=i + 1)), "facets": {f"custom {value}": facet}},
            "job": {"namespace": "awkward", "name": f"job {value}", "facets": {"custom": facet}},
            "inputs": [{"namespace": "ns", "name": f"src {i}", "facets": {"custom": facet}}],
            "outputs": [{
                "namespace": "ns", "name": name,
                "facets": {
                    "version": {"_producer": "p", "_schemaURL": "https://example.com/v.json", "datasetVersion": value},
                    "columnLineage": {
                        "_producer": "p", "_schemaURL": "https://example.com/cl.json",
                        "fields": {f"col {value}": {"inputFields": [{
                            "namespace": "ns", "name": f"src {i}", "field": f"f {value}",
                            "transformations": [{"type": "DIRECT", "subtype": value[:60] or None,
                                                 "masking": bool(i % 2), **({"description": value} if i % 3 else {})}],
                        }]}},
                    },
                },
                "outputFacets": {"custom": facet},
            }],
            "producer": f"https://example.com/{value}", "schemaURL": "https://example.com/x.json",
        })
    return events


def test_driver_path_keeps_awkward_text(db_url: str, tmp_path: Path, request: Any) -> None:
    events = _awkward_events()
    results, rows = {}, {}
    with _reference_url(db_url, tmp_path, request) as reference:
        for driver, url in ((True, db_url), (False, reference)):
            store = LineageStore.open(url)
            try:
                store.driver_path = driver
                results[driver] = [store.ingest(batch).as_dict() for batch in _batches(events, 4)]
                rows[driver] = _rows(store)
            finally:
                store.dispose()
    assert results[True] == results[False]
    assert rows[True] == rows[False]
    assert len(rows[True]["lineage_events"]) == len(events)
    names = {value for row in rows[True]["lineage_datasets"] for value in row}
    assert {f"ds {i} {value}" for i, value in enumerate(_AWKWARD) if value} <= names  # raw tabs, newlines, ...


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_copy_falls_back_to_values_for_a_type_it_does_not_write(db_url: str) -> None:
    """A value COPY's text writer does not know (a float here; an aware datetime too) goes through
    execute_values, as before: same rows."""
    from datetime import UTC, datetime

    from lineage.store import database

    with pytest.raises(database._NotCopyable):
        database._copy_text(datetime(2025, 1, 1, tzinfo=UTC))
    store = LineageStore.open(db_url)
    try:
        store.ingest(_awkward_events()[:1])
        with store.write() as conn:
            dataset_id, event_id = conn.execute(
                text("SELECT dataset_id, event_id FROM lineage_dataset_versions")).one()
            rows = [{"dataset_id": dataset_id, "version": 1.5, "run_id": None, "event_id": event_id,
                     "event_time": datetime(2025, 1, 2)}]
            database._pg_copy(conn, t.dataset_versions, rows, tuple(rows[0]))
        with store.read() as conn:
            versions = conn.execute(text("SELECT version FROM lineage_dataset_versions ORDER BY id")).scalars().all()
        assert versions == ["tab\there", "1.5"]
    finally:
        store.dispose()


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


def _run_lifecycle(n: int) -> list[dict[str, Any]]:
    """START, then COMPLETE (with a parent facet) of `n` runs, the COMPLETEs one batch later."""
    def event(i: int, kind: str, second: int) -> dict[str, Any]:
        run: dict[str, Any] = {"runId": str(uuid.UUID(int=i + 1))}
        if kind == "COMPLETE":
            run["facets"] = {"parent": {"_producer": "p", "_schemaURL": "https://example.com/parent.json",
                                        "run": {"runId": str(uuid.UUID(int=10_000 + i))},
                                        "job": {"namespace": "runs", "name": "parent"}}}
        return {"eventType": kind, "eventTime": f"2025-01-01T00:{second // 60:02d}:{second % 60:02d}Z", "run": run,
                "job": {"namespace": "runs", "name": f"job_{i % 3}"},
                "outputs": [{"namespace": "ns", "name": f"out_{i}"}], "producer": "https://example.com/p",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json"}

    return [event(i, kind, 2 * i + (kind == "COMPLETE")) for i in range(n) for kind in ("START", "COMPLETE")]


def test_run_id_cache_stores_what_a_fresh_store_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs known from an earlier batch come from the cache (no insert, no lookup); the reference opens a new
    store (empty caches) for every batch. The cache, emptied when full, stays bounded."""
    from lineage.store import database

    monkeypatch.setattr(database, "RUN_ID_CACHE_MAX", 5)
    events = _run_lifecycle(12)
    batches = _batches(events, 3) + [events[:4]]  # a START and its COMPLETE in one batch and across two
    cached = _open(tmp_path, "cached.db")
    results = {"cached": [cached.ingest(batch).as_dict() for batch in batches]}
    assert 0 < len(cached._run_ids) <= 5
    results["fresh"] = []
    for batch in batches:
        with _open(tmp_path, "fresh.db") as fresh:
            results["fresh"].append(fresh.ingest(batch).as_dict())
    with _open(tmp_path, "fresh.db") as fresh:
        assert results["cached"] == results["fresh"]
        assert _rows(cached) == _rows(fresh)
        assert len(_rows(fresh)["lineage_runs"]) == 12 and len(_rows(fresh)["lineage_run_states"]) == 24
    cached.dispose()


def test_new_rows_at_the_top_of_the_sqlite_id_range(tmp_path: Path) -> None:
    """New rows are read back by id above the max before; with a row at the largest id SQLite picks free ids at
    random, and the multi-row RETURNING statement is used instead: same answers and rows (datasets compared by
    name, their ids being random) as SQLAlchemy's path."""
    events = _run_lifecycle(6)
    edges_by_name = text("SELECT d.namespace, d.name, j.name, e.direction, e.event_time, v.event_hash "
                         "FROM lineage_io_edges e JOIN lineage_datasets d ON d.id = e.dataset_id "
                         "JOIN lineage_jobs j ON j.id = e.job_id JOIN lineage_events v ON v.id = e.event_id "
                         "ORDER BY e.id")
    rows, results, edges = {}, {}, {}
    for driver in (True, False):
        store = _open(tmp_path, f"top-{driver}.db")
        try:
            store.driver_path = driver
            with store.write() as conn:
                conn.execute(text("INSERT INTO lineage_datasets (id, namespace, name, first_seen) "
                                  "VALUES (:id, 'ns', 'top', '2025-01-01 00:00:00.000000')"), {"id": 2**63 - 1})
                conn.execute(text("INSERT INTO lineage_events (id, event_hash, kind, event_time, received_at, "
                                  "producer, schema_url, payload) VALUES (:id, 'top', 'RunEvent', :t, :t, 'p', 's', "
                                  "'{}')"), {"id": 2**63 - 1, "t": "2025-01-01 00:00:00.000000"})
            results[driver] = [store.ingest(batch).as_dict() for batch in _batches(events, 4)]
            rows[driver] = _rows(store)
            with store.read() as conn:
                edges[driver] = [tuple(r) for r in conn.execute(edges_by_name)]
        finally:
            store.dispose()
    assert results[True] == results[False]
    names = {driver: sorted(r[1:] for r in rows[driver].pop("lineage_datasets")) for driver in rows}
    assert names[True] == names[False] and len(names[True]) == 7
    # Rows holding event or dataset ids (random here): the edges are compared by name instead.
    for table in ("lineage_events", "lineage_io_edges", "lineage_run_states", "lineage_run_facets",
                  "lineage_dataset_versions", "lineage_dataset_facets", "lineage_event_warnings"):
        assert len(rows[True].pop(table)) == len(rows[False].pop(table))
    assert rows[True] == rows[False]
    assert edges[True] == edges[False] and len(edges[True]) == 12
