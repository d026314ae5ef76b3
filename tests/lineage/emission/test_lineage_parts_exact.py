"""``facets.column_lineage_parts`` (string lengths measured once per distinct text) cuts column lineage into
exactly the parts the previous implementation cut, kept here as the reference, on varied inputs and limits."""

import random

import pytest

from lineage.emission import facets as fc


def _reference_parts(deps_by_column, *, max_edges=None, max_bytes=None):
    from lineage.config import MAX_COLUMN_EDGES, MAX_FACET_BYTES

    edge_cap = int((max_edges or MAX_COLUMN_EDGES) * fc.LINEAGE_PART_SHARE)
    byte_cap = int((max_bytes or MAX_FACET_BYTES) * fc.LINEAGE_PART_SHARE) - fc._FACET_ENVELOPE
    parts = [{}]
    edges = size = 0
    for column, deps in deps_by_column.items():
        for dep in deps:
            cost = fc._INPUT_FIELD_JSON + sum(fc._json_len(x) for x in dep)
            opening = column not in parts[-1]
            if edges and (edges + 1 > edge_cap or size + cost + opening * fc._column_cost(column) > byte_cap):
                parts.append({})
                edges = size = 0
                opening = True
            if opening:
                parts[-1][column] = []
                size += fc._column_cost(column)
            parts[-1][column].append(dep)
            edges += 1
            size += cost
    return parts


def _deps(seed: int) -> dict[str, list[tuple[str, str, str]]]:
    rng = random.Random(seed)
    texts = ["a", "wé\"ird", "tab\there", "a\\b", "ünï", "x" * 300, "line\nbreak"]
    deps = {}
    for i in range(rng.randint(0, 400)):
        column = rng.choice([f"col_{i}", f"c{i}_{rng.choice(texts)}"])
        deps[column] = [(rng.choice(["ns", "dagster://x", rng.choice(texts)]),
                         rng.choice(["src", "other/asset", rng.choice(texts)]),
                         f"in_{rng.randint(0, 50)}_{rng.choice(texts)}") for _ in range(rng.randint(0, 12))]
    return deps


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("max_edges, max_bytes", [(None, None), (10, 10**9), (10**9, 1_200), (7, 900), (3, 700),
                                                  (1, 10**9), (10**9, 600)])
def test_parts_equal_the_previous_cut(seed, max_edges, max_bytes):
    deps = _deps(seed)
    assert (fc.column_lineage_parts(deps, max_edges=max_edges, max_bytes=max_bytes)
            == _reference_parts(deps, max_edges=max_edges, max_bytes=max_bytes))
