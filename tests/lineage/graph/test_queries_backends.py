"""The same events stored in SQLite and in PostgreSQL give the same lineage answers, query by query."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from helpers.lineage_scenario import DAY0, SHOP, as_dicts, pipeline_events
from helpers.lineage_workers import simple_event
from sqlalchemy import create_engine, text

from lineage.graph import queries
from lineage.store import LineageStore

pytestmark = pytest.mark.postgres
DAG_NS = "dag://warehouse"
DAG_DATASETS = 240  # a locally connected DAG, as the PostgreSQL benchmark builds, small enough for every query


def dag_events(n: int, seed: int) -> list[dict[str, Any]]:
    """Each dataset after the first few written by its own job from two of the 30 before it; every tenth
    job ran twice, its second (latest) run reading other inputs: its current version changed."""
    rng = random.Random(seed)
    events = []
    for i in range(3, n):
        for run in range(2 if i % 10 == 0 else 1):
            inputs = rng.sample(range(max(0, i - 30), i), 2)
            events.append({
                "eventType": "COMPLETE",
                "eventTime": (DAY0 + timedelta(minutes=i, seconds=run)).isoformat(),
                "run": {"runId": str(uuid.UUID(int=rng.getrandbits(128), version=4))},
                "job": {"namespace": "dag", "name": f"job_{i}"},
                "inputs": [{"namespace": DAG_NS, "name": f"ds_{j}"} for j in inputs],
                "outputs": [{"namespace": DAG_NS, "name": f"ds_{i}"}],
                "producer": "https://example.com/tests",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            })
    return events


@pytest.fixture
def both(tmp_path: Path, postgres_server: str) -> Iterator[tuple[LineageStore, LineageStore]]:
    """A SQLite store and a PostgreSQL store (fresh schema) holding the same events."""
    schema = f"lineage_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    events = [*as_dicts(pipeline_events()), *[simple_event(i) for i in range(60)], *dag_events(DAG_DATASETS, 3)]
    sqlite = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    pg = LineageStore.open(f"{postgres_server}?options={quote(f'-csearch_path={schema}')}")
    try:
        for store in (sqlite, pg):
            for start in range(0, len(events), 100):
                store.ingest(events[start : start + 100])
        yield sqlite, pg
    finally:
        sqlite.dispose()
        pg.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_upstream_and_downstream_agree(both: tuple[LineageStore, LineageStore]) -> None:
    sqlite, pg = both
    names = [(SHOP, "serving.churn_predictions"), (SHOP, "raw.customers"), ("bench", "in_3"), ("bench", "out_5"),
             *[(DAG_NS, f"ds_{i}") for i in range(0, DAG_DATASETS, 11)]]
    as_of = (DAY0 + timedelta(minutes=DAG_DATASETS // 2)).isoformat()
    compared = 0
    for namespace, name in names:
        for walk in (queries.upstream, queries.downstream):
            for depth in (None, 1, 3, 10):
                answer = walk(sqlite, name, namespace=namespace, depth=depth)
                assert walk(pg, name, namespace=namespace, depth=depth) == answer, (walk.__name__, name, depth)
                compared += bool(answer["datasets"])
            then = walk(sqlite, name, namespace=namespace, depth=10, as_of=as_of)
            assert walk(pg, name, namespace=namespace, depth=10, as_of=as_of) == then
    assert compared > len(names) * 4  # most walks found lineage: the comparison is not of empty answers
    job = queries.downstream(sqlite, "train.churn_model", node_type="job")
    assert queries.downstream(pg, "train.churn_model", node_type="job") == job and job["datasets"]


def test_paths_impact_columns_and_graph_agree(both: tuple[LineageStore, LineageStore]) -> None:
    sqlite, pg = both
    pairs = [("raw.orders", SHOP, "serving.churn_predictions"), ("ds_2", DAG_NS, f"ds_{DAG_DATASETS - 1}")]
    for source, namespace, target in pairs:
        answer = queries.paths(sqlite, source, target, source_namespace=namespace, max_paths=5)
        assert queries.paths(pg, source, target, source_namespace=namespace, max_paths=5) == answer
        assert answer["count"] > 0
    for namespace, name in ((SHOP, "raw.customers"), (DAG_NS, "ds_5")):
        impact = queries.impact(sqlite, name, namespace=namespace)
        assert queries.impact(pg, name, namespace=namespace) == impact and impact["counts"]["datasets"]
    columns = queries.column_lineage(sqlite, "serving.churn_predictions", "score")
    assert queries.column_lineage(pg, "serving.churn_predictions", "score") == columns and columns["columns"]
    as_of = (DAY0 + timedelta(hours=8)).isoformat()
    assert queries.graph_as_of(pg, as_of=as_of) == queries.graph_as_of(sqlite, as_of=as_of)
    assert queries.graph_as_of(pg) == queries.graph_as_of(sqlite)
