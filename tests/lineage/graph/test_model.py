"""The in-memory lineage graph: current job versions, point-in-time views, traversal, its cache."""

from __future__ import annotations

import gc
import uuid
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

from lineage.graph.cache import forget, graph_for
from lineage.store import LineageStore

T0 = datetime(2025, 5, 1, 6, 0, tzinfo=UTC)
NS = "s3://lake"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/"


def run(job: str, inputs: list[str], outputs: list[str], when: datetime, state: str = "COMPLETE") -> dict[str, Any]:
    return {
        "eventType": state,
        "eventTime": when.isoformat(),
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "etl", "name": job},
        "inputs": [{"namespace": NS, "name": n} for n in inputs],
        "outputs": [{"namespace": NS, "name": n} for n in outputs],
        "producer": "https://example.com/tests",
        "schemaURL": SCHEMA + "RunEvent",
    }


def declared(target: str, sources: list[str], when: datetime) -> dict[str, Any]:
    """A static DatasetEvent whose column lineage names `sources`."""
    return {
        "eventTime": when.isoformat(),
        "dataset": {"namespace": NS, "name": target, "facets": {"columnLineage": {
            "_producer": "https://example.com/tests",
            "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
            "fields": {"x": {"inputFields": [{"namespace": NS, "name": s, "field": "x"} for s in sources]}},
        }}},
        "producer": "https://example.com/tests",
        "schemaURL": SCHEMA + "DatasetEvent",
    }


def node(store: LineageStore, name: str, kind: str = "dataset") -> tuple[str, int]:
    from lineage.graph.queries import resolve

    return resolve(store, name, node_type=kind)  # type: ignore[arg-type]


def named(store: LineageStore, distances: dict[tuple[str, int], int]) -> dict[str, int]:
    graph = graph_for(store)
    return {graph.names([n])[n][1]: d for n, d in distances.items()}


def test_cache_lives_in_the_graph_layer(store: LineageStore, tmp_path: Any) -> None:
    assert not hasattr(store, "graph")  # the store knows nothing of graphs
    assert graph_for(store) is graph_for(store)
    with LineageStore.open(f"sqlite:///{tmp_path / 'other.db'}") as other:
        assert graph_for(other) is not graph_for(store)
    first = graph_for(store)
    forget(store)
    assert graph_for(store) is not first
    gone = LineageStore.open(f"sqlite:///{tmp_path / 'gone.db'}")
    ref = weakref.ref(graph_for(gone))
    gone.dispose()
    del gone
    gc.collect()
    assert ref() is None  # a collected store takes its graph with it


def test_traverse_counts_declared_edges_as_one_hop(store: LineageStore) -> None:
    store.ingest([run("load", ["raw"], ["staged"], T0), declared("report", ["staged"], T0 + timedelta(hours=1))])
    graph = graph_for(store)
    with graph.snapshot():
        distances, edges = graph.traverse(node(store, "report"), upstream=True)
        shallow, _ = graph.traverse(node(store, "report"), upstream=True, max_depth=1)
    assert named(store, distances) == {"report": 0, "staged": 1, "load": 2, "raw": 2}
    assert named(store, shallow) == {"report": 0, "staged": 1}
    assert len(edges) == 3
    with graph.snapshot():
        datasets = graph.dataset_graph()
    ids = {graph.names([n])[n][1]: n[1] for n in distances if n[0] == "dataset"}
    assert set(datasets.edges) == {(ids["raw"], ids["staged"]), (ids["staged"], ids["report"])}


def test_views_follow_the_current_version_and_as_of(store: LineageStore) -> None:
    store.ingest([run("build", ["a", "b"], ["out"], T0), run("build", ["a"], ["out"], T0 + timedelta(days=1))])
    graph = graph_for(store)
    a, b, job = node(store, "a"), node(store, "b"), node(store, "build", "job")
    with graph.snapshot():
        assert graph.view(None).has_edge(a, job) and not graph.view(None).has_edge(b, job)
        early = graph.view(T0 + timedelta(hours=1))
        assert early.has_edge(b, job)
        assert graph.view(T0 + timedelta(hours=1)) is early  # cached until the store changes
        assert graph.jobs_graph.has_edge(b, job)  # history keeps every edge
        before, _ = graph.traverse(node(store, "out"), upstream=True, as_of=T0 - timedelta(seconds=1))
    assert named(store, before) == {"out": 0}
    store.ingest([run("build", ["b"], ["out"], T0 + timedelta(days=2))])
    with graph.snapshot():
        assert graph.view(T0 + timedelta(hours=1)) is not early
        assert graph.view(None).has_edge(b, job) and not graph.view(None).has_edge(a, job)
        first_seen = graph.view(None)[b][job]["first_seen"]
    assert first_seen == T0.replace(tzinfo=None)  # first seen ever, not first seen again


def test_a_newer_declaration_replaces_the_older(store: LineageStore) -> None:
    store.ingest([declared("report", ["x", "y"], T0), declared("report", ["y"], T0 + timedelta(days=1))])
    graph = graph_for(store)
    with graph.snapshot():
        now, _ = graph.traverse(node(store, "report"), upstream=True)
        then, _ = graph.traverse(node(store, "report"), upstream=True, as_of=T0 + timedelta(hours=1))
    assert named(store, now) == {"report": 0, "y": 1}
    assert named(store, then) == {"report": 0, "x": 1, "y": 1}


def _versions(seed: int) -> list[dict[str, Any]]:
    """Jobs whose inputs change run to run, START and COMPLETE apart, one run never completed,
    column lineage in every COMPLETE, and declared lineage: every kind of unit and owner."""
    import random

    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for day in range(4):
        for j, out in enumerate(("mid", "top", "side")):
            pool = ["src_a", "src_b", "src_c"] if out != "top" else ["mid", "src_a", "side"]
            inputs = sorted(rng.sample(pool, rng.choice((1, 2))))
            started = T0 + timedelta(days=day, hours=j)
            start = run(f"job_{out}", inputs, [out], started, "START")
            done = run(f"job_{out}", inputs, [out], started + timedelta(minutes=30 + j))
            done["run"] = start["run"]
            done["outputs"][0]["facets"] = {"columnLineage": {
                "_producer": "https://example.com/tests",
                "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
                "fields": {"x": {"inputFields": [{"namespace": NS, "name": n, "field": "x"} for n in inputs]}},
            }}
            events += [start, done] if (day, j) != (3, 0) else [start]  # the last mid run never completes
        events.append(declared("report", rng.sample(["mid", "top", "side"], 2), T0 + timedelta(days=day, hours=5)))
    return events


def _named_edges(store: LineageStore, view: Any, columns: bool = False) -> set[tuple[Any, ...]]:
    graph = graph_for(store)
    if columns:
        def col(n: tuple[int, str | None]) -> tuple[str, str | None]:
            return graph.dataset_name(n[0])[1], n[1]
        return {(col(u), col(v), a["first_seen"], a["last_seen"]) for u, v, a in view.edges(data=True)}
    names = graph.names({n for e in view.edges for n in e})
    return {(u[0], names[u][1], v[0], names[v][1], a["first_seen"], a["last_seen"]) for u, v, a in view.edges(data=True)}


def test_point_in_time_views_equal_a_store_holding_only_what_was_known_then(store: LineageStore,
                                                                            tmp_path: Any) -> None:
    events = _versions(seed=3)
    store.ingest(events)
    graph = graph_for(store)
    moments = sorted({datetime.fromisoformat(e["eventTime"]) for e in events})
    for moment in [moments[0] - timedelta(seconds=1), *moments[::3], moments[-1], moments[-1] + timedelta(days=1)]:
        # The reference: a fresh store given only the events up to `moment`, read as of now.
        with LineageStore.open(f"sqlite:///{tmp_path / f'then-{moment.timestamp():.0f}.db'}") as then:
            then.ingest([e for e in events if datetime.fromisoformat(e["eventTime"]) <= moment])
            with graph_for(then).snapshot() as reference:
                expected = _named_edges(then, reference.view(None)), _named_edges(then, reference.column_view(None), True)
        with graph.snapshot():
            got = _named_edges(store, graph.view(moment)), _named_edges(store, graph.column_view(moment), True)
        assert got == expected, moment
