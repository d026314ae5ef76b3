"""Issue 16, point 10: the store grows without bound and a bad event cannot be taken out.

Against real SQLite and PostgreSQL stores: the append-only trigger still refuses a plain DELETE, `obs
store prune` deletes old events but every lineage query answers as before and an audit record says
what went; `obs store quarantine` hides one event from every query while keeping it whole; backup and
restore round-trip the SQLite file through SQLite's own backup API. The `obs store` commands are tested in
tests/lineage/test_cli_store.py.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from lineage.graph import queries
from lineage.graph.cache import forget
from lineage.store import LineageStore
from lineage.store import retention

NS = "retention://w"
NOW = datetime.now(UTC)
FACET = {"_producer": "https://example.com/retention-test", "_schemaURL": "https://example.com/facet.json"}


def _run(job: str, inputs: list[str], outputs: list[str], days_ago: float) -> list[dict]:
    """START and COMPLETE of one run, both naming the run's inputs and outputs."""
    run_id = str(uuid.uuid4())
    at = NOW - timedelta(days=days_ago)
    return [{
        "eventType": kind, "eventTime": (at + timedelta(seconds=i)).isoformat(),
        "run": {"runId": run_id, "facets": {"nominalTime": {**FACET, "nominalStartTime": at.isoformat()}}},
        "job": {"namespace": "jobs", "name": job},
        "inputs": [{"namespace": NS, "name": n} for n in inputs],
        "outputs": [{"namespace": NS, "name": n, "facets": {"schema": {**FACET, "fields": [{"name": "x"}]}}}
                    for n in outputs],
        "producer": "https://example.com/retention-test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    } for i, kind in enumerate(("START", "COMPLETE"))]


def _history() -> tuple[list[dict], int]:
    """Job a: three old runs and a recent one (all old ones redundant); job b: one old run only, so its
    COMPLETE holds the current b edges (its START, naming the same edges, is redundant).
    Returns (events, events a 30-day prune must delete)."""
    events = []
    for days in (100, 90, 80, 1):
        events += _run("a", ["src"], ["mid"], days)
    events += _run("b", ["mid"], ["out"], 95)
    return events, 3 * 2 + 1


def _graph(store: LineageStore) -> tuple:
    forget(store)  # as a process opening the store now would: the in-memory graph assumes insert-only tables
    up = queries.upstream(store, "out", namespace=NS)
    down = queries.downstream(store, "src", namespace=NS)
    return json.dumps(up, sort_keys=True, default=str), json.dumps(down, sort_keys=True, default=str)


def test_plain_deletes_stay_refused(store: LineageStore) -> None:
    store.ingest(_history()[0])
    for statement in ("DELETE FROM lineage_events", "UPDATE lineage_events SET payload = '{}'"):
        with pytest.raises(DBAPIError, match="append-only"), store.write() as conn:
            conn.execute(text(statement))
    assert store.event_count() == len(_history()[0])


def test_prune_keeps_the_graph_and_audits(store: LineageStore) -> None:
    events, expected = _history()
    store.ingest(events)
    before = _graph(store)
    dry = retention.prune(store, 30, dry_run=True)
    assert dry.events_deleted == expected and store.event_count() == len(events)
    result = retention.prune(store, 30)
    assert result.events_deleted == expected and result.kept_for_graph == 1
    # derived rows went too, facets (append-only outside a grant, migration 0007) among them
    assert result.derived_rows_deleted >= expected * 2
    with store.read() as conn:
        facets = conn.execute(text("SELECT COUNT(*) FROM lineage_dataset_facets")).scalar_one()
    assert facets == len(events) - expected
    assert store.event_count() == len(events) - expected
    assert _graph(store) == before  # every lineage query answers as before
    audit = retention.audit_log(store)
    assert audit[0]["action"] == "prune" and audit[0]["detail"]["events_deleted"] == expected
    assert retention.prune(store, 30).events_deleted == 0  # nothing left to prune
    with store.read() as conn:  # no derived row points at a deleted event
        for tbl in retention.derived_tables():
            orphans = conn.execute(text(f"SELECT COUNT(*) FROM {tbl.name} d WHERE NOT EXISTS "
                                        f"(SELECT 1 FROM lineage_events e WHERE e.id = d.event_id)")).scalar_one()
            assert orphans == 0, tbl.name


def test_quarantine_hides_an_event_and_keeps_it(store: LineageStore) -> None:
    good = _run("a", ["src"], ["mid"], 2)
    bad = _run("rogue", ["src"], ["out"], 1)
    store.ingest(good + bad)
    bad_ids = _ids(store, "rogue")
    assert "rogue" in _graph(store)[1]
    results = [retention.quarantine(store, i, "poisoned rowCount") for i in bad_ids]
    assert all(r["derived_rows_hidden"] > 0 for r in results)
    assert "rogue" not in _graph(store)[1] and "rogue" not in json.dumps(store.events())  # hidden everywhere
    assert store.event_count() == len(good)
    assert store.ingest(bad).stored == 0  # re-sending it stores nothing
    listed = retention.quarantined_events(store)
    assert sorted(q["event_id"] for q in listed) == sorted(bad_ids)
    assert {q["reason"] for q in listed} == {"poisoned rowCount"}
    assert [a["action"] for a in retention.audit_log(store)] == ["quarantine"] * len(bad_ids)
    with pytest.raises(retention.StoreOperationError, match="already quarantined"):
        retention.quarantine(store, bad_ids[0], "again")
    for i in bad_ids:
        assert retention.release(store, i)["new_event_id"]
    assert all(e in store.events() for e in bad) and "rogue" in _graph(store)[1]


def _ids(store: LineageStore, job: str) -> list[int]:
    with store.read() as conn:
        return list(conn.execute(text("SELECT id FROM lineage_events WHERE job_name = :j"), {"j": job}).scalars())


def test_backup_and_restore_round_trip(tmp_path) -> None:
    store = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    try:
        events, expected = _history()
        store.ingest(events)
        copy = tmp_path / "backups" / "lineage.bak"
        made = retention.backup(store, copy)
        assert made["integrity"] == "ok"
        with sqlite3.connect(copy) as conn:  # an independent reader of the copy
            assert conn.execute("SELECT COUNT(*) FROM lineage_events").fetchone()[0] == len(events)
        with pytest.raises(retention.StoreOperationError, match="exists"):
            retention.backup(store, copy)
        retention.prune(store, 30)
        assert store.event_count() == len(events) - expected
        restored = retention.restore(store, copy)
        assert restored["events"] == len(events) == store.event_count()
        assert retention.audit_log(store)[0]["action"] == "restore"
        junk = tmp_path / "junk.db"
        junk.write_bytes(b"not a database" * 100)
        with pytest.raises(retention.StoreOperationError, match="not a sound SQLite database"):
            retention.restore(store, junk)
        assert store.event_count() == len(events)  # a refused restore changes nothing
    finally:
        store.dispose()


@pytest.mark.postgres
def test_backup_on_postgresql_names_pg_dump(postgres_server) -> None:
    store = LineageStore.open(postgres_server, migrate=False)
    try:
        with pytest.raises(retention.StoreOperationError, match="pg_dump"):
            retention.backup(store, "/tmp/never-written.bak")
    finally:
        store.dispose()
