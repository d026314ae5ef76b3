"""Cause -> symptom paths: shortest, and the same whatever order the graph was built in (equal-length
paths break ties by node order, not by networkx's insertion order, which follows set iteration)."""

from __future__ import annotations

import random

import networkx as nx

from lineage.analysis.rca import _toward, _walk


def _layered(seed: int, order_seed: int) -> nx.DiGraph:
    """A layered DAG with many equal-length paths, its edges inserted in a shuffled order."""
    rng = random.Random(seed)
    layers = [list(range(k * 10, k * 10 + 6)) for k in range(5)]
    edges = [(u, v) for upper, lower in zip(layers, layers[1:]) for v in lower for u in rng.sample(upper, 3)]
    random.Random(order_seed).shuffle(edges)
    g = nx.DiGraph()
    g.add_edges_from(edges)
    return g


def test_paths_are_shortest_and_do_not_depend_on_insertion_order() -> None:
    for seed in range(5):
        graphs = [_layered(seed, order) for order in range(4)]
        target = 40
        answers = [{src: _walk(_toward(g, [target]), src) for src in g} for g in graphs]
        assert all(a == answers[0] for a in answers)
        for src, path in answers[0].items():
            if nx.has_path(graphs[0], src, target):
                assert len(path) == nx.shortest_path_length(graphs[0], src, target) + 1
                assert path[0] == src and path[-1] == target and nx.is_path(graphs[0], path)
            else:
                assert path == []
        assert len({tuple(nx.shortest_path(g, 0, target)) for g in graphs}) > 1  # networkx's own tie-break varies


def test_nearest_of_several_targets_and_column_nodes() -> None:
    g = nx.DiGraph([((1, "a"), (2, "a")), ((2, "a"), (3, "x")), ((1, "a"), (3, "y")), ((1, None), (3, "x"))])
    toward = _toward(g, [(3, "x"), (3, "y"), (9, "missing")])
    assert _walk(toward, (1, "a")) == [(1, "a"), (3, "y")]  # one hop to y beats two to x
    assert _walk(toward, (1, None)) == [(1, None), (3, "x")]
    assert _walk(toward, (3, "y")) == [(3, "y")] and _walk(toward, (7, "a")) == []
