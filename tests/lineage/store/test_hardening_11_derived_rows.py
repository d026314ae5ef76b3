"""Hardening #16, point 11: derived facet rows are protected from deletes like the raw events.

The facet rows RCA and /metrics read (checks, drift, statistics) could be deleted or rewritten
while ``lineage_events`` refused it, silently changing every later answer. Against real SQLite and
PostgreSQL stores: plain DELETE, UPDATE (and TRUNCATE on PostgreSQL) are refused; the documented
way (``lineage.store.retention``: quarantine, prune) still removes them with its audit record.
"""

from __future__ import annotations

import uuid

import pytest
from helpers.store_rows import count_rows
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from lineage.store import LineageStore
from lineage.store import retention
from lineage.store import tables as t

PRODUCER = "https://example.com/hardening"


def _event() -> dict:
    facet = {"_producer": PRODUCER, "_schemaURL": "https://example.com/f.json", "drifted": True, "columns": {}}
    return {
        "eventType": "COMPLETE", "eventTime": "2026-03-01T06:00:00Z", "run": {"runId": str(uuid.uuid4()),
        "facets": {"notes": {"_producer": PRODUCER, "_schemaURL": "https://example.com/n.json", "text": "x"}}},
        "job": {"namespace": "jobs", "name": "build"}, "inputs": [],
        "outputs": [{"namespace": "shop", "name": "orders", "facets": {"drift": facet}}],
        "producer": PRODUCER, "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }



@pytest.mark.parametrize("table", ["lineage_dataset_facets", "lineage_run_facets"])
def test_plain_deletes_and_updates_of_facet_rows_are_refused(store: LineageStore, table: str) -> None:
    store.ingest([_event(), _event()])
    before = {name: count_rows(store, tbl) for name, tbl in (("d", t.dataset_facets), ("r", t.run_facets))}
    assert before["d"] == 2 and before["r"] == 2
    statements = [f"DELETE FROM {table}", f"UPDATE {table} SET payload = '{{}}'"]
    if store.dialect == "postgresql":
        statements.append(f"TRUNCATE {table}")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), store.write() as conn:
            conn.execute(text(statement))
    assert {name: count_rows(store, tbl) for name, tbl in (("d", t.dataset_facets), ("r", t.run_facets))} == before


def test_quarantine_still_removes_the_derived_rows(store: LineageStore) -> None:
    store.ingest([_event(), _event()])
    with store.read() as conn:
        event_id = conn.execute(select(func.min(t.events.c.id))).scalar_one()
    retention.quarantine(store, event_id, "hardening test")
    assert count_rows(store, t.dataset_facets) == 1 and count_rows(store, t.run_facets) == 1
    assert any(entry["action"] == "quarantine" for entry in retention.audit_log(store))
