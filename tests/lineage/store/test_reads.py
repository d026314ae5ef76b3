"""The read layer (lineage/store/reads.py): its rows equal what the events say and what plain SQL reads.

The graph's rows take a fast path on SQLite (times parsed from their stored text, once per distinct
text); they must equal SQLAlchemy's own DateTime reading, on both backends.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from lineage.store import LineageStore, reads
from lineage.store import tables as t

T0 = datetime(2025, 3, 1, 8, 0, 0, 123456, tzinfo=UTC)
NS = "warehouse"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def run_event(job: str, inputs: list[str], outputs: list[str], when: datetime, state: str = "COMPLETE",
              run_id: str | None = None) -> dict[str, Any]:
    return {
        "eventType": state, "eventTime": when.isoformat(), "run": {"runId": run_id or str(uuid.uuid4())},
        "job": {"namespace": "etl", "name": job},
        "inputs": [{"namespace": NS, "name": n} for n in inputs],
        "outputs": [{"namespace": NS, "name": n} for n in outputs],
        "producer": "https://example.com/tests", "schemaURL": SCHEMA,
    }


def chain(n: int) -> list[dict[str, Any]]:
    """ds_0 -> job_1 -> ds_1 -> ... : n runs, each START then COMPLETE (times with microseconds)."""
    events = []
    for i in range(1, n + 1):
        run_id = str(uuid.uuid4())
        when = T0 + timedelta(minutes=i, microseconds=i)
        events.append(run_event(f"job_{i}", [f"ds_{i - 1}"], [f"ds_{i}"], when, "START", run_id))
        events.append(run_event(f"job_{i}", [f"ds_{i - 1}"], [f"ds_{i}"], when + timedelta(seconds=5), run_id=run_id))
    return events


def test_graph_rows_equal_sqlalchemy_reading_of_every_graph_table(store: LineageStore) -> None:
    store.ingest(chain(4))
    with store.read() as conn:
        for source, (table, columns) in reads.GRAPH_SOURCES.items():
            expected = [tuple(r) for r in conn.execute(select(*columns).order_by(table.c.id))]
            assert reads.graph_rows_after(conn, source, 0) == expected, source
            assert all(type(r[-1]) is datetime and r[-1].tzinfo is None for r in expected)
            if expected:
                middle = expected[len(expected) // 2][0]
                assert reads.graph_rows_after(conn, source, middle) == [r for r in expected if r[0] > middle]
                wanted = {expected[0][0], expected[-1][0], 10**9}  # an id that does not exist is left out
                assert sorted(reads.graph_rows_by_id(conn, source, wanted)) == [expected[0], expected[-1]]


def test_io_rows_are_the_events_edges_with_their_times(store: LineageStore) -> None:
    events = chain(3)
    store.ingest(events)
    with store.read() as conn:
        names = reads.node_names(conn, "dataset", range(1, 100))
        jobs = reads.node_names(conn, "job", range(1, 100))
        rows = reads.graph_rows_after(conn, "io", 0)
    seen = {(names[r[3]][1], jobs[r[4]][1], r[5], r[6]) for r in rows}
    expected = {
        (ds["name"], e["job"]["name"], direction, datetime.fromisoformat(e["eventTime"]).replace(tzinfo=None))
        for e in events for direction, key in (("in", "inputs"), ("out", "outputs")) for ds in e[key]
    }
    assert seen == expected


def test_high_waters_are_the_largest_ids_in_one_probe(store: LineageStore) -> None:
    with store.read() as conn:
        assert reads.graph_high_waters(conn) == dict.fromkeys(reads.GRAPH_SOURCES, 0)
    store.ingest(chain(2))
    with store.read() as conn:
        probed = reads.graph_high_waters(conn)
        for source, (table, _) in reads.GRAPH_SOURCES.items():
            assert probed[source] == (conn.execute(select(func.max(table.c.id))).scalar_one() or 0)
    assert probed["io"] > 0 and probed["states"] > 0


def test_names_are_read_in_chunks_beyond_the_parameter_limit(store: LineageStore) -> None:
    n = reads.IN_CHUNK + 20  # more ids than one IN (...) list holds
    store.ingest([run_event(f"job_{i}", [], [f"out_{i}"], T0) for i in range(n)], validate=False)
    with store.read() as conn:
        ids = list(conn.execute(select(t.datasets.c.id)).scalars())
        found = reads.node_names(conn, "dataset", ids)
        by_sql = {r.id: (r.namespace, r.name) for r in conn.execute(select(t.datasets))}
    assert len(ids) == n and found == by_sql


def test_run_history_reads_keep_storage_order(store: LineageStore) -> None:
    events = chain(2)
    store.ingest(events)
    with store.read() as conn:
        dataset_id = reads.query_named(conn, "dataset", "ds_1", NS)[0].id
        roles = reads.query_run_roles(conn, dataset_id)
        run_ids = sorted({r.run_id for r in roles})
        states = reads.query_run_states(conn, run_ids)
        runs = {r.id: r for r in reads.query_runs(conn, run_ids)}
    assert {r.direction for r in roles} == {"in", "out"}  # job_1 wrote it, job_2 read it
    assert {runs[i].name for i in run_ids} == {"job_1", "job_2"}
    assert [(s.event_type, s.event_time) for s in states] == sorted(
        ((s.event_type, s.event_time) for s in states), key=lambda x: x[1])
    assert [s.event_type for s in states] == ["START", "COMPLETE", "START", "COMPLETE"]


def test_names_containing_escapes_wildcards(store: LineageStore) -> None:
    store.ingest([run_event("j", [], ["a%b", "axb"], T0)])
    with store.read() as conn:
        assert [r.name for r in reads.query_names_containing(conn, "dataset", "%", 5)] == ["a%b"]
        assert reads.query_named(conn, "dataset", "a%b", None)[0].name == "a%b"
        assert reads.query_named(conn, "dataset", "a_b", None) == []
