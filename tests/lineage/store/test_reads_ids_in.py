"""Reads of thousands of ids as one bound parameter (``reads.ids_in``) return what a read of the whole
table filtered in Python returns, on SQLite and PostgreSQL, past the chunk size and for no ids at all."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from lineage.store import LineageStore, reads
from lineage.store import tables as t

T0 = datetime(2025, 6, 1, tzinfo=UTC)
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
OUTPUTS = 400  # three jobs: more datasets than one IN chunk (reads.IN_CHUNK), every other one asked


def _events() -> list[dict[str, Any]]:
    events = []
    for j in range(3):
        run, when = str(uuid.UUID(int=j + 1, version=4)), T0 + timedelta(hours=j)
        for state, offset in (("START", 0), ("COMPLETE", 60)):
            events.append({
                "eventType": state, "eventTime": (when + timedelta(seconds=offset)).isoformat(), "run": {"runId": run},
                "job": {"namespace": "etl", "name": f"job_{j}"}, "producer": "https://example.com/tests",
                "schemaURL": SCHEMA, "inputs": [{"namespace": "s3://lake", "name": f"src_{j}_{i}"} for i in range(3)],
                "outputs": [{"namespace": "s3://lake", "name": f"out_{j}_{i}"} for i in range(OUTPUTS)]})
    return events


def test_ids_in_reads_equal_a_filtered_full_read(store: LineageStore) -> None:
    assert store.ingest(_events()).stored == 6
    with store.read() as conn:
        e = t.io_edges.c
        every = conn.execute(select(e.dataset_id, e.run_id, e.direction, e.event_time, e.job_id)).all()
        names = {r.id: (r.namespace, r.name) for r in conn.execute(select(t.datasets.c.id, t.datasets.c.namespace,
                                                                          t.datasets.c.name))}
        wanted = sorted(names)[1::2]  # every other dataset: more than reads.IN_CHUNK of them
        assert len(wanted) > reads.IN_CHUNK
        edges = reads.rca_io_edges(conn, wanted)
        assert sorted(edges) == sorted(tuple(r[:4]) for r in every if r.dataset_id in set(wanted))
        assert reads.graph_producers(conn, wanted) == {r.job_id for r in every if r.dataset_id in set(wanted)
                                                       and r.direction == "out"}
        assert reads.node_names(conn, "dataset", wanted) == {i: names[i] for i in wanted}
        runs = sorted({r.run_id for r in every})
        assert len(reads.rca_run_states(conn, runs)) == 6
        assert reads.rca_io_edges(conn, []) == [] and reads.graph_producers(conn, []) == set()
        assert reads.node_names(conn, "dataset", []) == {}
        assert conn.execute(select(e.dataset_id).where(reads.ids_in(conn, e.dataset_id, []))).all() == []
