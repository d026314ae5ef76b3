"""The ancestry-only graph answers upstream questions exactly as the full graph of the whole store does."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import networkx as nx
import pytest

from lineage.graph.ancestry import upstream_graph
from lineage.graph.model import LineageGraph
from lineage.store import LineageStore, reads

T0 = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
NS = "s3://lake"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/"
PRODUCER = "https://example.com/tests"
COLUMNS = ("a", "b")


def _column_lineage(sources: list[str], rng: random.Random) -> dict[str, Any]:
    fields = {c: {"inputFields": [{"namespace": NS, "name": s, "field": rng.choice(COLUMNS)} for s in sources]}
              for c in COLUMNS}
    return {"_producer": PRODUCER, "fields": fields,
            "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"}


def _event(job: str, run_id: str, state: str, when: datetime, inputs: list[str], output: str | None,
           rng: random.Random) -> dict[str, Any]:
    outputs = [] if output is None else [{"namespace": NS, "name": output,
                                          "facets": {"columnLineage": _column_lineage(inputs, rng)}}]
    return {"eventType": state, "eventTime": when.isoformat(), "run": {"runId": run_id},
            "job": {"namespace": "etl", "name": job}, "producer": PRODUCER, "schemaURL": SCHEMA + "RunEvent",
            "inputs": [{"namespace": NS, "name": n} for n in inputs], "outputs": outputs}


def _static_lineage(target: str, source: str, when: datetime) -> dict[str, Any]:
    """A DatasetEvent declaring column lineage (owned by the dataset, not by a job)."""
    facet = {"_producer": PRODUCER, "fields": {"a": {"inputFields": [{"namespace": NS, "name": source, "field": "b"}]}},
             "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json"}
    return {"eventTime": when.isoformat(), "producer": PRODUCER, "schemaURL": SCHEMA + "DatasetEvent",
            "dataset": {"namespace": NS, "name": target, "facets": {"columnLineage": facet}}}


def random_store_events(seed: int, n: int = 18, runs: int = 3) -> tuple[list[dict[str, Any]], list[datetime]]:
    """Layered datasets; each job re-runs, sometimes reading other inputs, failing, or never completing."""
    rng = random.Random(seed)
    names = [f"d{i:02d}" for i in range(n)]
    events, times = [], []
    for r in range(runs):
        when = T0 + timedelta(days=r)
        times.append(when)
        for i in range(3, n):
            inputs = sorted(set(rng.sample(names[max(0, i - 6):i], rng.choice((1, 2, 3)))))
            run_id, start = str(uuid.UUID(int=rng.getrandbits(128), version=4)), when + timedelta(minutes=i)
            state = rng.choices(("COMPLETE", "FAIL", None), weights=(8, 1, 1))[0]
            events.append(_event(f"job_{i}", run_id, "START", start, inputs, names[i], rng))
            if state is not None:
                events.append(_event(f"job_{i}", run_id, state, start + timedelta(seconds=30), [], None, rng))
    events.append(_static_lineage(names[n // 2], names[1], T0 + timedelta(days=1, hours=5)))
    return events, [None, *times, T0 + timedelta(days=1, hours=6)]


def _restricted(graph: LineageGraph, start: int, as_of: datetime | None) -> dict[str, Any]:
    """What an upstream question reads: distances, and the job and column edges among the reached nodes."""
    distances, _ = graph.traverse(("dataset", start), upstream=True, as_of=as_of)
    reached = set(distances)
    datasets = {i for kind, i in reached if kind == "dataset"} | {start}
    columns = graph.column_view(as_of)
    return {
        "distances": distances,
        "edges": {(u, v) for u, v in graph.view(as_of).edges if u in reached and v in reached},
        "column_edges": {(u, v) for u, v in columns.edges if u[0] in datasets and v[0] in datasets},
        "start_columns": {n for n in columns if n[0] == start},
    }


@pytest.mark.parametrize("seed", [1, 2])
def test_every_upstream_view_matches_the_full_graph(store: LineageStore, seed: int) -> None:
    events, moments = random_store_events(seed)
    assert store.ingest(events).stored == len(events)
    full = LineageGraph(store)
    full.refresh()
    with store.read() as conn:
        dataset_ids = sorted(reads.node_names(conn, "dataset", range(1, 200)))
    compared = 0
    for dataset_id in dataset_ids:
        partial = upstream_graph(store, dataset_id)
        for as_of in moments:
            expected = _restricted(full, dataset_id, as_of)
            assert _restricted(partial, dataset_id, as_of) == expected, (dataset_id, as_of)
            compared += len(expected["distances"]) > 1
    assert compared > len(dataset_ids)  # most questions have ancestors: the comparison is not vacuous


def test_it_reads_only_the_ancestry(store: LineageStore) -> None:
    events, _ = random_store_events(4, n=40)
    store.ingest(events)
    with store.read() as conn:
        ids = {name: i for i, (_, name) in reads.node_names(conn, "dataset", range(1, 200)).items()}
    partial = upstream_graph(store, ids["d05"])  # near the sources: a few ancestors of 40 datasets
    full = LineageGraph(store)
    full.refresh()
    assert 0 < len(partial._edge_attrs) < len(full._edge_attrs) / 3
    reached, _ = partial.traverse(("dataset", ids["d05"]), upstream=True)
    assert reached == full.traverse(("dataset", ids["d05"]), upstream=True)[0]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_io_seed_is_part_of_every_ancestry(store: LineageStore, seed: int) -> None:
    """The walk starts from what reads.graph_io_ancestors reaches: never a dataset outside the ancestry."""
    events, _ = random_store_events(seed)
    store.ingest(events)
    history = LineageGraph(store)
    history.refresh()
    ever = history.jobs_graph  # every edge ever seen: the ancestry at any time
    with store.read() as conn:
        dataset_ids = sorted(reads.node_names(conn, "dataset", range(1, 200)))
        seeds = {i: set(reads.graph_io_ancestors(conn, i)) for i in dataset_ids}
    for i in dataset_ids:
        node = ("dataset", i)
        upstream = {n[1] for n in nx.ancestors(ever, node) if n[0] == "dataset"} if node in ever else set()
        assert i in seeds[i] and seeds[i] - {i} <= upstream, i
    assert sum(len(found) > 3 for found in seeds.values()) > len(dataset_ids) / 2  # seeds reach far: not vacuous


def test_the_walk_finds_what_the_seed_misses(store: LineageStore) -> None:
    """A job's run that wrote another dataset read other inputs: the seed from x misses b, the walk does not."""
    rng = random.Random(0)
    first, second = str(uuid.UUID(int=1, version=4)), str(uuid.UUID(int=2, version=4))
    events = [_event("j", first, "COMPLETE", T0, ["a"], "x", rng),
              _event("j", second, "COMPLETE", T0 + timedelta(hours=1), ["b"], "y", rng)]
    store.ingest(events)
    with store.read() as conn:
        ids = {name: i for i, (_, name) in reads.node_names(conn, "dataset", range(1, 20)).items()}
        seed = set(reads.graph_io_ancestors(conn, ids["x"]))
    assert seed == {ids["x"], ids["a"]}
    partial, full = upstream_graph(store, ids["x"]), LineageGraph(store)
    full.refresh()
    assert ("dataset", ids["b"]) in partial.jobs_graph
    for as_of in (None, T0 + timedelta(minutes=30), T0 + timedelta(hours=2)):
        assert _restricted(partial, ids["x"], as_of) == _restricted(full, ids["x"], as_of), as_of
