"""The lineage explorer's graph: a node's upstream and downstream (each to its own depth), laid out,
each node coloured by its quality state."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from lineage.facets import AssertionsFacet, DriftDatasetFacet
from lineage.graph import queries
from lineage.serve.ui.layout import layered_layout
from lineage.store import LineageStore, reads

# What a node's colour says, worst first (the UI's legend uses the same words).
STATES = ("failing", "drift", "running", "ok", "unknown")
MAX_NODES = 5000  # beyond this the explorer asks for a smaller depth instead of drawing


def _state_of_facets(facets: Mapping[str, Any], run_state: str | None) -> str:
    assertions = AssertionsFacet.from_payload(facets.get(AssertionsFacet.KEY))
    drift = DriftDatasetFacet.from_payload(facets.get(DriftDatasetFacet.KEY))
    if run_state in ("FAIL", "ABORT") or (assertions is not None and assertions.failed):
        return "failing"
    if drift is not None and drift.drifted_columns:
        return "drift"
    if run_state in ("START", "RUNNING"):
        return "running"
    if assertions is not None or drift is not None or run_state == "COMPLETE":
        return "ok"
    return "unknown"


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def quality_states(store: LineageStore, nodes: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """node key -> state: the latest checks and drift of a dataset, its producing run; a job's latest run."""
    by_kind: dict[str, dict[tuple[str, str], str]] = {"dataset": {}, "job": {}}
    for n in nodes:
        by_kind[n["type"]][(n["namespace"], n["name"])] = n["key"]
    states: dict[str, str] = {}
    with store.read() as conn:
        ds_ids = reads.ui_ids_by_name(conn, "dataset", by_kind["dataset"])
        job_ids = reads.ui_ids_by_name(conn, "job", by_kind["job"])
        facets: dict[int, dict[str, Any]] = {i: {} for i in ds_ids.values()}
        keys = [AssertionsFacet.KEY, DriftDatasetFacet.KEY]
        for row in reads.ui_latest_dataset_facets(conn, list(ds_ids.values()), keys):
            facets[row.dataset_id][row.facet_name] = _json(row.payload)
        ds_runs = {r.owner_id: r.event_type for r in reads.ui_latest_run_state(conn, "dataset", list(ds_ids.values()))}
        job_runs = {r.owner_id: r.event_type for r in reads.ui_latest_run_state(conn, "job", list(job_ids.values()))}
    for ident, i in ds_ids.items():
        states[by_kind["dataset"][ident]] = _state_of_facets(facets[i], ds_runs.get(i))
    for ident, i in job_ids.items():
        states[by_kind["job"][ident]] = _state_of_facets({}, job_runs.get(i))
    return states


def _merge(walks: Iterable[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], set[tuple[str, str]], dict[str, Any]]:
    nodes: dict[str, dict[str, Any]] = {}
    edges: set[tuple[str, str]] = set()
    root: dict[str, Any] = {}
    for walk in walks:
        root = walk["root"]
        nodes[root["key"]] = {**root, "distance": 0}
        for item in walk["datasets"] + walk["jobs"]:
            signed = item["distance"] * (-1 if walk["direction"] == "upstream" else 1)
            nodes.setdefault(item["key"], {k: item[k] for k in ("type", "namespace", "name", "key")})
            nodes[item["key"]].setdefault("distance", signed)
        edges |= {(e["from"], e["to"]) for e in walk["edges"]}
    return nodes, edges, root


def lineage_view(store: LineageStore, name: str, *, namespace: str | None = None, node_type: str = "dataset",
                 up: int | None = 2, down: int | None = 2, as_of: str | None = None) -> dict[str, Any]:
    """Nodes (with x, y and state) and edges around one dataset or job; ``up``/``down`` 0 skips that side."""
    common = {"namespace": namespace, "node_type": node_type, "as_of": as_of}
    walks = []
    if up != 0:
        walks.append(queries.upstream(store, name, depth=up, **common))
    if down != 0:
        walks.append(queries.downstream(store, name, depth=down, **common))
    if not walks:  # neither side: the node alone
        walks.append({**queries.upstream(store, name, depth=1, **common), "datasets": [], "jobs": [], "edges": []})
    nodes, edges, root = _merge(walks)
    if len(nodes) > MAX_NODES:
        raise queries.LineageQueryError(
            f"{len(nodes)} nodes at this depth (the explorer draws at most {MAX_NODES}); choose a smaller depth")
    return render(store, nodes, edges, root=root, as_of=walks[0]["as_of"])


def render(store: LineageStore, nodes: Mapping[str, dict[str, Any]], edges: Iterable[tuple[str, str]], *,
           root: Mapping[str, Any] | None, as_of: str | None) -> dict[str, Any]:
    """The JSON the explorer draws: laid-out nodes with their quality state, and edges."""
    edge_list = sorted(set(edges))
    where = layered_layout(list(nodes), edge_list)
    states = quality_states(store, nodes.values())
    out_nodes = [{**n, "x": where[k][0], "y": where[k][1], "state": states.get(k, "unknown")}
                 for k, n in sorted(nodes.items())]
    return {"root": dict(root) if root else None, "as_of": as_of, "nodes": out_nodes,
            "edges": [{"from": a, "to": b} for a, b in edge_list], "states": list(STATES)}
