"""Lineage queries name nodes from one index per graph: nodes added later, ids committed late under its
high-water mark and namespace-qualified lookups give the answers the store gives."""

from __future__ import annotations

from datetime import datetime

import pytest
from helpers.lineage_workers import simple_event
from sqlalchemy import func, select

from lineage.graph import queries
from lineage.graph.cache import graph_for
from lineage.store import LineageStore
from lineage.store import tables as t


def names(items: list[dict]) -> list[str]:
    return [i["name"] for i in items]


def add_dataset(store: LineageStore, dataset_id: int, name: str) -> None:
    with store._write() as conn:
        conn.execute(t.datasets.insert(), [{"id": dataset_id, "namespace": "bench", "name": name,
                                            "first_seen": datetime(2025, 1, 1)}])


def test_nodes_added_after_the_first_query_are_named(store: LineageStore) -> None:
    store.ingest([simple_event(1)])
    assert names(queries.downstream(store, "in_1")["datasets"]) == ["out_1"]
    store.ingest([{**simple_event(2), "inputs": [{"namespace": "bench", "name": "out_1"}],
                   "outputs": [{"namespace": "bench", "name": "fresh"}]}])
    down = queries.downstream(store, "in_1")
    assert names(down["datasets"]) == ["out_1", "fresh"]
    assert {"dataset:bench:fresh", "job:bench:job_2"} <= {e["to"] for e in down["edges"]}
    assert queries.upstream(store, "fresh", namespace="bench")["root"]["key"] == "dataset:bench:fresh"


def test_id_committed_under_the_high_water_mark_is_named(store: LineageStore) -> None:
    """PostgreSQL can commit a lower id after a higher one: the index has read past it, the store has it."""
    store.ingest([simple_event(1)])
    graph = graph_for(store)
    with store.read() as conn:
        top = conn.execute(select(func.max(t.datasets.c.id))).scalar_one()
    add_dataset(store, top + 3, "ahead")
    assert queries._names(graph, [("dataset", top + 3)]) == {("dataset", top + 3): ("bench", "ahead")}
    add_dataset(store, top + 1, "late")
    assert queries._names(graph, [("dataset", top + 1), ("dataset", top + 3)]) == {
        ("dataset", top + 1): ("bench", "late"), ("dataset", top + 3): ("bench", "ahead")}
    assert queries.resolve(store, "late", "bench") == ("dataset", top + 1)


def test_resolve_from_the_index_answers_as_the_store(store: LineageStore) -> None:
    store.ingest([simple_event(1), {**simple_event(2), "inputs": [{"namespace": "other", "name": "in_1"}]}])
    queries.downstream(store, "out_1")  # the index is loaded
    index = queries._index_of(graph_for(store))
    assert index.ids["dataset"]["bench"]["in_1"] != index.ids["dataset"]["other"]["in_1"]
    for namespace in ("bench", "other"):
        with store.read() as conn:
            expected = conn.execute(select(t.datasets.c.id).where(
                t.datasets.c.namespace == namespace, t.datasets.c.name == "in_1")).scalar_one()
        assert queries.resolve(store, "in_1", namespace) == ("dataset", expected)
    with pytest.raises(queries.AmbiguousNameError):
        queries.resolve(store, "in_1")  # no namespace: still the store's question
    store.ingest([{**simple_event(3), "inputs": [{"namespace": "third", "name": "in_1"}]}])
    found = queries.resolve(store, "in_1", "third")  # not in the index yet: read from the store
    assert found[1] not in index.ids["dataset"]["bench"].values()
    with pytest.raises(queries.NotFoundError):
        queries.resolve(store, "in_1", "nowhere")
    assert queries.resolve(store, "job_1", "bench", node_type="job")[0] == "job"
