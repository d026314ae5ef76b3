"""The incident page: the incident (timeline, failed checks, ranked causes with evidence), the lineage from
its cause to every affected dataset with the propagation path marked, and the blast radius."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lineage.analysis import incidents
from lineage.graph import queries
from lineage.serve.ui.graph_view import render
from lineage.store import LineageStore

NEIGHBOURS = 1  # job hops of context drawn upstream of the cause


def _path_keys(nodes: Mapping[str, dict[str, Any]], edges: set[tuple[str, str]], path: Sequence[str],
               namespace: str) -> list[str]:
    """The keys of the cause's path (dataset names, cause first) and of the jobs between its hops."""
    by_name: dict[str, list[str]] = {}
    for key, n in nodes.items():
        if n["type"] == "dataset":
            by_name.setdefault(n["name"], []).append(key)
    chosen = []
    for name in path:
        keys = by_name.get(name, [])
        chosen.append(next((k for k in keys if nodes[k]["namespace"] == namespace), keys[0] if keys else None))
    datasets = [k for k in chosen if k]
    jobs = [j for a, b in zip(datasets, datasets[1:], strict=False) for (x, j) in edges if x == a and (j, b) in edges]
    return sorted(set(datasets + jobs))


def incident_page(store: LineageStore, incident_id: int) -> dict[str, Any]:
    incidents.sync(store)
    incident = incidents.get_incident(store, incident_id)
    cause = incident.get("cause") or {}
    page: dict[str, Any] = {"incident": incident, "graph": None, "path": [], "impact": None}
    if not cause.get("asset"):
        return page
    try:
        down = queries.downstream(store, cause["asset"], namespace=cause.get("namespace"))
        up = queries.upstream(store, cause["asset"], namespace=cause.get("namespace"), depth=NEIGHBOURS)
        page["impact"] = queries.impact(store, cause["asset"], namespace=cause.get("namespace"))
    except queries.LineageQueryError as exc:
        page["graph_error"] = str(exc)
        return page
    nodes: dict[str, dict[str, Any]] = {}
    edges: set[tuple[str, str]] = set()
    for walk in (up, down):
        for item in [walk["root"], *walk["datasets"], *walk["jobs"]]:
            nodes.setdefault(item["key"], {k: item[k] for k in ("type", "namespace", "name", "key")})
        edges |= {(e["from"], e["to"]) for e in walk["edges"]}
    page["path"] = _path_keys(nodes, edges, cause.get("path") or [], cause.get("namespace") or "")
    affected = {queries.node_key("dataset", a["namespace"], a["dataset"]) for a in incident.get("affected", [])}
    page["affected_keys"] = sorted(affected & nodes.keys())
    page["graph"] = render(store, nodes, edges, root=down["root"], as_of=None)
    return page
