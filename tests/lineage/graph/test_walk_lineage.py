"""`queries.walk_lineage` (the level-by-level walk behind upstream / downstream) against networkx's
Dijkstra on the same graph: a dataset <-> job step weighs one half hop, dataset -> dataset or
job -> job (declared lineage) two; an edge is walked when its near end is reached and its far end
is within the limit."""

from __future__ import annotations

import random

import networkx as nx
import pytest

from lineage.graph.queries import walk_lineage


def random_lineage(seed: int, n: int = 120) -> nx.DiGraph:
    """A DAG-ish lineage graph with io edges, declared dataset -> dataset and job -> job edges, and a cycle."""
    rng = random.Random(seed)
    graph = nx.DiGraph()
    for i in range(10, n):
        job = ("job", i)
        for j in rng.sample(range(i), rng.randint(1, 3)):
            graph.add_edge(("dataset", j), job)
        graph.add_edge(job, ("dataset", i))
        if rng.random() < 0.15:
            graph.add_edge(("dataset", rng.randrange(i)), ("dataset", i))
        if rng.random() < 0.05 and i > 20:
            graph.add_edge(("job", rng.randrange(10, i)), job)
    graph.add_edge(("dataset", n - 1), ("job", 15))  # a cycle
    return graph


def reference(graph: nx.DiGraph, root: tuple[str, int], upstream: bool, depth: int | None) -> tuple[dict, set]:
    walked = graph.reverse(copy=True) if upstream else graph
    weight = lambda u, v, _: 1 if u[0] != v[0] else 2  # noqa: E731
    limit = None if depth is None else 2 * depth
    halves = nx.single_source_dijkstra_path_length(walked, root, cutoff=limit, weight=weight)
    edges = {
        ((v, u) if upstream else (u, v))
        for u, h in halves.items()
        for v in walked.succ[u]
        if limit is None or h + weight(u, v, None) <= limit
    }
    return {node: (h + 1) // 2 for node, h in halves.items()}, edges


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("depth", [1, 2, 3, 10, None])
def test_walk_matches_dijkstra(seed: int, depth: int | None) -> None:
    graph = random_lineage(seed)
    rng = random.Random(seed + 100)
    roots = [("dataset", rng.randrange(120)) for _ in range(6)] + [("job", rng.randrange(10, 120)) for _ in range(3)]
    for root in roots:
        if root not in graph:
            continue
        for upstream in (True, False):
            distances, edges = walk_lineage(graph, root, upstream, depth)
            want_distances, want_edges = reference(graph, root, upstream, depth)
            assert distances == want_distances
            assert len(edges) == len(set(edges))  # every edge once
            assert set(edges) == want_edges


def test_root_missing_from_view() -> None:
    assert walk_lineage(nx.DiGraph(), ("dataset", 1), True, 3) == ({("dataset", 1): 0}, [])
