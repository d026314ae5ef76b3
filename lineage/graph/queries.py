"""Lineage questions answered from the store: the Python API behind the HTTP endpoints and CLI.

Every function takes an open `LineageStore` and returns plain JSON-ready dicts. Datasets and jobs
are named by their OpenLineage name; the namespace may be left out when the name alone is
unambiguous (otherwise `AmbiguousNameError` lists the candidates). Times are naive UTC inside
and ISO-8601 with `+00:00` outside; `as_of` accepts a datetime or an ISO string (naive = UTC).
"""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import networkx as nx
from sqlalchemy import func, select

from lineage.graph.cache import graph_for
from lineage.graph.model import ColumnNode, LineageGraph, Node
from lineage.store import tables as t
from lineage.store import LineageStore, to_naive_utc
from lineage.store.validation import parse_event_time

NodeType = Literal["dataset", "job"]
TERMINAL_STATES = ("COMPLETE", "FAIL", "ABORT")
# What makes a downstream dataset a model or predictions in `impact`: its DatasetType facet, else
# the JobType facet of the job that wrote it. Never the name, and never dbt's jobType MODEL
# (a dbt model is a table).
_DATASET_TYPE_CATEGORY = {
    "MODEL": "model", "ML_MODEL": "model",
    "PREDICTION": "prediction", "PREDICTIONS": "prediction", "INFERENCE": "prediction", "SCORES": "prediction",
}
_JOB_TYPE_CATEGORY = {
    "TRAINING": "model", "ML_TRAINING": "model", "MODEL_TRAINING": "model",
    "INFERENCE": "prediction", "ML_INFERENCE": "prediction", "BATCH_INFERENCE": "prediction",
    "PREDICTION": "prediction", "SCORING": "prediction",
}


class LineageQueryError(Exception):
    """A query could not be answered; `status` is the HTTP status the API maps it to."""

    status = 400


class NotFoundError(LineageQueryError, LookupError):
    status = 404


class AmbiguousNameError(LineageQueryError):
    status = 409

    def __init__(self, message: str, candidates: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.candidates = candidates


# ---------------------------------------------------------------------- helpers
def parse_as_of(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return to_naive_utc(value)
    try:
        return parse_event_time(value)
    except ValueError as exc:
        raise LineageQueryError(f"as_of {value!r} is not an ISO-8601 time, e.g. 2025-01-31T12:00:00Z") from exc


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=UTC).isoformat()


def node_key(node_type: str, namespace: str, name: str) -> str:
    return f"{node_type}:{namespace}:{name}"


def _node_dict(graph: LineageGraph, node: Node, names: Mapping[Node, tuple[str, str]] | None = None) -> dict[str, Any]:
    namespace, name = (names or graph.names([node]))[node]
    return {"type": node[0], "namespace": namespace, "name": name, "key": node_key(node[0], namespace, name)}


def resolve(store: LineageStore, name: str, namespace: str | None = None, node_type: NodeType = "dataset") -> Node:
    """Find a dataset or job by name (and namespace); clear errors when missing or ambiguous.

    A dataset is also found by a symlink identifier (SymlinksDatasetFacet: a Spark file
    dataset's Hive table name), the namespace then being the symlink's or the dataset's own.
    """
    table = t.datasets if node_type == "dataset" else t.jobs
    query = select(table.c.id, table.c.namespace, table.c.name).where(table.c.name == name)
    if namespace is not None:
        query = query.where(table.c.namespace == namespace)
    similar: list[Any] = []
    with store.read() as conn:
        rows = list(conn.execute(query.order_by(table.c.namespace).limit(50)))
        if not rows and node_type == "dataset":
            rows = _by_symlink(conn, name, namespace)
        if not rows:
            similar = _similar(conn, table, name)
    if not rows:
        where = f" in namespace '{namespace}'" if namespace is not None else ""
        hint = (
            "; similar names: " + ", ".join(f"{r.namespace}:{r.name}" for r in similar)
            if similar
            else f"; nothing similar is stored: has lineage for this {node_type} been ingested?"
        )
        raise NotFoundError(f"no {node_type} named '{name}'{where}{hint}")
    if len(rows) > 1:
        candidates = [{"namespace": r.namespace, "name": r.name} for r in rows]
        listing = ", ".join(f"{c['namespace']}:{c['name']}" if c["name"] != name else c["namespace"] for c in candidates)
        raise AmbiguousNameError(
            f"{node_type} name '{name}' exists in {len(rows)} namespaces ({listing}); pass a namespace",
            candidates,
        )
    return (node_type, rows[0].id)


def _by_symlink(conn: Any, name: str, namespace: str | None) -> list[Any]:
    d, sl = t.datasets, t.dataset_symlinks
    query = (
        select(d.c.id, d.c.namespace, d.c.name)
        .join(sl, sl.c.dataset_id == d.c.id)
        .where(sl.c.name == name)
        .distinct()
    )
    if namespace is not None:
        query = query.where((sl.c.namespace == namespace) | (d.c.namespace == namespace))
    return list(conn.execute(query.order_by(d.c.namespace, d.c.name).limit(50)))


def _similar(conn: Any, table: Any, name: str) -> list[Any]:
    """Names containing the last dotted/slashed part of what was asked for."""
    fragment = re.split(r"[./:]", name)[-1] or name
    return list(
        conn.execute(
            select(table.c.namespace, table.c.name)
            .where(table.c.name.contains(fragment[:100], autoescape=True))
            .order_by(table.c.name)
            .limit(5)
        )
    )


def _as_of_for_run(store: LineageStore, run_id: str) -> datetime:
    with store.read() as conn:
        latest = conn.execute(
            select(func.max(t.events.c.event_time)).where(t.events.c.run_uuid == run_id.lower())
        ).scalar_one()
    if latest is None:
        raise NotFoundError(f"no events stored for run '{run_id}'")
    return latest


def _effective_as_of(store: LineageStore, as_of: datetime | str | None, run_id: str | None) -> datetime | None:
    if run_id:
        return _as_of_for_run(store, run_id)
    return parse_as_of(as_of)


def _check_depth(depth: int | None) -> None:
    if depth is not None and depth < 1:
        raise LineageQueryError(f"depth must be 1 or more (or omitted for no limit), got {depth}")


# ---------------------------------------------------------------------- upstream / downstream
def upstream(
    store: LineageStore,
    name: str,
    *,
    namespace: str | None = None,
    node_type: NodeType = "dataset",
    depth: int | None = None,
    as_of: datetime | str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Everything the dataset (or job) is derived from, up to `depth` job hops."""
    return _walk(store, name, namespace, node_type, depth, as_of, run_id, upstream=True)


def downstream(
    store: LineageStore,
    name: str,
    *,
    namespace: str | None = None,
    node_type: NodeType = "dataset",
    depth: int | None = None,
    as_of: datetime | str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Everything derived from the dataset (or job), up to `depth` job hops."""
    return _walk(store, name, namespace, node_type, depth, as_of, run_id, upstream=False)


def _walk(
    store: LineageStore,
    name: str,
    namespace: str | None,
    node_type: NodeType,
    depth: int | None,
    as_of: datetime | str | None,
    run_id: str | None,
    *,
    upstream: bool,
) -> dict[str, Any]:
    _check_depth(depth)
    root = resolve(store, name, namespace, node_type)
    when = _effective_as_of(store, as_of, run_id)
    with graph_for(store).snapshot() as graph:
        distances, edges = graph.traverse(root, upstream=upstream, max_depth=depth, as_of=when)
    names = graph.names(distances)
    nodes = {node: _node_dict(graph, node, names) for node in distances}
    datasets = [{**nodes[n], "distance": d} for n, d in distances.items() if n != root and n[0] == "dataset"]
    jobs = [{**nodes[n], "distance": d} for n, d in distances.items() if n != root and n[0] == "job"]
    order = lambda item: (item["distance"], item["namespace"], item["name"])  # noqa: E731
    return {
        "root": nodes[root],
        "direction": "upstream" if upstream else "downstream",
        "depth": depth,
        "as_of": iso(when),
        "datasets": sorted(datasets, key=order),
        "jobs": sorted(jobs, key=order),
        "edges": [{"from": a, "to": b} for a, b in sorted({(nodes[a]["key"], nodes[b]["key"]) for a, b in edges})],
    }


# ---------------------------------------------------------------------- paths
def paths(
    store: LineageStore,
    source: str,
    target: str,
    *,
    source_namespace: str | None = None,
    target_namespace: str | None = None,
    max_paths: int = 10,
    max_depth: int | None = 25,
    as_of: datetime | str | None = None,
) -> dict[str, Any]:
    """Lineage paths from `source` to `target` (shortest first), or target to source if reversed."""
    if max_paths < 1:
        raise LineageQueryError("max_paths must be 1 or more")
    _check_depth(max_depth)
    src = resolve(store, source, source_namespace)
    dst = resolve(store, target, target_namespace)
    when = parse_as_of(as_of)
    found: list[list[Node]] = []
    reversed_direction = False
    with graph_for(store).snapshot() as graph:
        for a, b, flipped in ((src, dst, False), (dst, src, True)):
            found = _shortest_paths(graph, a, b, max_paths, max_depth, when)
            if found:
                reversed_direction = flipped
                break
        names = graph.names({n for p in found for n in p})
        rendered = [[_node_dict(graph, n, names) for n in p] for p in found]
        endpoints = graph.names([src, dst])
    return {
        "source": _node_dict(graph, src, endpoints),
        "target": _node_dict(graph, dst, endpoints),
        "as_of": iso(when),
        "reversed": reversed_direction,
        "paths": rendered,
        "count": len(rendered),
    }


def _shortest_paths(
    graph: LineageGraph, src: Node, dst: Node, limit: int, max_depth: int | None, as_of: datetime | None
) -> list[list[Node]]:
    view = graph.view(as_of)
    if src not in view or dst not in view or src == dst:
        return []
    # Only nodes both downstream of src and upstream of dst can be on a path: search that slice.
    below, _ = graph.traverse(src, upstream=False, max_depth=max_depth, as_of=as_of)
    if dst not in below:
        return []
    above, _ = graph.traverse(dst, upstream=True, max_depth=max_depth, as_of=as_of)
    between = below.keys() & above.keys()
    sub = graph.view(as_of).subgraph(between)
    max_hops = None if max_depth is None else 2 * max_depth
    out: list[list[Node]] = []
    for path in itertools.islice(nx.shortest_simple_paths(sub, src, dst), limit):
        if max_hops is not None and len(path) - 1 > max_hops:
            break
        out.append(path)
    return out


# ---------------------------------------------------------------------- columns
def column_lineage(
    store: LineageStore,
    name: str,
    column: str,
    *,
    namespace: str | None = None,
    direction: Literal["upstream", "downstream"] = "upstream",
    depth: int | None = None,
    as_of: datetime | str | None = None,
    include_indirect: bool = True,
) -> dict[str, Any]:
    """Which source columns feed `column` (upstream), or which columns it feeds (downstream).

    Each entry says through which jobs and transformations. An entry is `indirect` when every
    path to it passes an indirect dependency: the ColumnLineage facet's dataset-wide list
    (filters, joins, grouping) or an input field whose transformations are all INDIRECT;
    `include_indirect=False` leaves those out. A column that depends on itself (a MERGE) lists
    itself. `origins` are the upstream columns with no field-level source: the true sources.
    """
    if direction not in ("upstream", "downstream"):
        raise LineageQueryError("direction must be 'upstream' or 'downstream'")
    _check_depth(depth)
    _, dataset_id = resolve(store, name, namespace)
    when = parse_as_of(as_of)
    upstream_walk = direction == "upstream"
    with graph_for(store).snapshot() as graph:
        cols = graph.column_view(when)
        root: ColumnNode = (dataset_id, column)
        if column not in graph.fields_by_dataset.get(dataset_id, set()):
            known = sorted(graph.fields_by_dataset.get(dataset_id, set()))
            hint = f"; columns with lineage: {', '.join(known[:20])}" if known else "; this dataset has no column lineage"
            raise NotFoundError(f"no column lineage for column '{column}' of '{name}'{hint}")
        found = _walk_columns(cols, root, upstream_walk, depth, direct_only=not include_indirect)
        direct = found if not include_indirect else _walk_columns(cols, root, upstream_walk, depth, direct_only=True)
        dataset_nodes: set[Node] = {("dataset", n[0]) for n in [root, *found]}
        job_nodes: set[Node] = {("job", j) for e in found.values() for j in e["jobs"]}
        names = graph.names(dataset_nodes | job_nodes)
        origins = [n for n in found if upstream_walk and n[1] is not None and _is_origin(cols, n)]

    def column_dict(node: ColumnNode) -> dict[str, Any]:
        namespace_, dataset_name = names[("dataset", node[0])]
        return {"namespace": namespace_, "name": dataset_name, "field": node[1]}

    entries = [
        {
            **column_dict(node),
            "distance": entry["distance"],
            "indirect": node not in direct,
            "jobs": sorted(
                ({"namespace": names[("job", j)][0], "name": names[("job", j)][1]} for j in entry["jobs"]),
                key=lambda j: (j["namespace"], j["name"]),
            ),
            "transformations": sorted(
                ({"type": ty, "subtype": sub} for ty, sub in entry["transformations"]),
                key=lambda x: (x["type"] or "", x["subtype"] or ""),
            ),
        }
        for node, entry in found.items()
    ]
    entries.sort(key=lambda e: (e["distance"], e["namespace"], e["name"], e["field"] or ""))
    return {
        "root": column_dict(root),
        "direction": direction,
        "depth": depth,
        "as_of": iso(when),
        "columns": entries,
        "origins": sorted((column_dict(n) for n in origins), key=lambda c: (c["namespace"], c["name"], c["field"])),
    }


def _walk_columns(
    cols: nx.DiGraph, root: ColumnNode, upstream_walk: bool, depth: int | None, *, direct_only: bool
) -> dict[ColumnNode, dict[str, Any]]:
    """Breadth-first over column hops; each column is expanded once (cycles and a column's
    dependency on itself end there), and listed, the root too, when some hop reaches it."""
    found: dict[ColumnNode, dict[str, Any]] = {}
    expanded = {root}
    frontier = [root]
    level = 0
    while frontier and (depth is None or level < depth):
        level += 1
        next_frontier: list[ColumnNode] = []
        for node in frontier:
            for other, attrs, indirect in _column_hops(cols, node, upstream_walk):
                if indirect and direct_only:
                    continue
                entry = found.setdefault(other, {"distance": level, "jobs": set(), "transformations": set()})
                entry["jobs"] |= attrs.get("jobs", set())
                entry["transformations"] |= attrs.get("transformations", set())
                if other not in expanded:
                    expanded.add(other)
                    next_frontier.append(other)
        frontier = next_frontier
    return found


def _is_indirect(attrs: Mapping[str, Any]) -> bool:
    """Every transformation reported for the edge is INDIRECT (ColumnLineage 1-2-0)."""
    kinds = attrs.get("transformations")
    return bool(kinds) and all(str(kind).upper() == "INDIRECT" for kind, _ in kinds)


def _column_hops(
    cols: nx.DiGraph, node: ColumnNode, upstream_walk: bool
) -> Iterable[tuple[ColumnNode, dict[str, Any], bool]]:
    if upstream_walk:
        if node in cols:
            for other, attrs in cols.pred[node].items():
                yield other, attrs, _is_indirect(attrs)
        whole: ColumnNode = (node[0], None)
        if node[1] is not None and whole in cols:
            for other, attrs in cols.pred[whole].items():
                yield other, attrs, True
    elif node in cols:
        for other, attrs in cols.succ[node].items():
            yield other, attrs, other[1] is None or _is_indirect(attrs)


def _is_origin(cols: nx.DiGraph, node: ColumnNode) -> bool:
    """No field-level source other than itself."""
    return node not in cols or all(other == node for other in cols.pred[node])


# ---------------------------------------------------------------------- impact
def impact(
    store: LineageStore,
    name: str,
    *,
    namespace: str | None = None,
    as_of: datetime | str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Blast radius: every dataset, model and prediction downstream, and the jobs in between.

    A downstream dataset counts as a model or as predictions from its latest DatasetType facet
    (`datasetType` MODEL, or PREDICTION/INFERENCE/SCORES), else from the latest JobType facet
    of a job writing it (TRAINING / INFERENCE, ...); never from its name.
    """
    root = resolve(store, name, namespace)
    when = _effective_as_of(store, as_of, run_id)
    with graph_for(store).snapshot() as graph:
        distances, _ = graph.traverse(root, upstream=False, max_depth=None, as_of=when)
        view = graph.view(when)
        writers = {n[1]: [p[1] for p in view.pred[n] if p[0] == "job"] for n in distances if n[0] == "dataset" and n in view}
    names = graph.names(distances)
    dataset_ids = [n[1] for n in distances if n[0] == "dataset" and n != root]
    types = _latest_facet_field(store, t.dataset_facets, "dataset_id", dataset_ids, "datasetType", "datasetType")
    job_types = _latest_facet_field(
        store, t.job_facets, "job_id", sorted({j for i in dataset_ids for j in writers.get(i, [])}), "jobType", "jobType"
    )
    groups: dict[str, list[dict[str, Any]]] = {"datasets": [], "models": [], "predictions": [], "jobs": []}
    for node, distance in distances.items():
        if node == root:
            continue
        item = {**_node_dict(graph, node, names), "distance": distance}
        if node[0] == "job":
            groups["jobs"].append(item)
            continue
        category = _category(types.get(node[1]), [job_types[j] for j in writers.get(node[1], []) if j in job_types])
        item["category"] = category
        item["dataset_type"] = types.get(node[1])
        groups[{"model": "models", "prediction": "predictions"}.get(category, "datasets")].append(item)
    for items in groups.values():
        items.sort(key=lambda i: (i["distance"], i["namespace"], i["name"]))
    return {
        "root": _node_dict(graph, root, names),
        "as_of": iso(when),
        "counts": {k: len(v) for k, v in groups.items()},
        **groups,
    }


def _latest_facet_field(
    store: LineageStore, table: Any, id_column: str, ids: Sequence[int], facet_name: str, key: str
) -> dict[int, str]:
    """id -> the string `key` of the latest `facet_name` facet; malformed facets are skipped."""
    out: dict[int, str] = {}
    column = table.c[id_column]
    with store.read() as conn:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = conn.execute(
                select(column.label("owner"), table.c.payload)
                .where(table.c.facet_name == facet_name, column.in_(chunk))
                .order_by(table.c.id)
            )
            for row in rows:  # ordered by id: the last one seen is the latest
                value = _json_object(row.payload).get(key)
                if isinstance(value, str):
                    out[row.owner] = value
    return out


def _json_object(payload: str) -> dict[str, Any]:
    """A stored facet as a dict; anything else (a list, a string, broken JSON) as {}."""
    try:
        value = json.loads(payload)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _category(dataset_type: str | None, job_types: Sequence[str]) -> str:
    if dataset_type and (category := _DATASET_TYPE_CATEGORY.get(dataset_type.upper())):
        return category
    for job_type in job_types:
        if category := _JOB_TYPE_CATEGORY.get(job_type.upper()):
            return category
    return "dataset"


# ---------------------------------------------------------------------- run history
def run_history(
    store: LineageStore,
    name: str,
    *,
    namespace: str | None = None,
    limit: int = 50,
    facets: Sequence[str] | None = None,
    include_run_facets: bool = True,
) -> dict[str, Any]:
    """Runs that read or wrote the dataset, newest first, with the dataset's facets in each run.

    `facets` restricts which facet names are returned (e.g. dataQualityMetrics,
    dataQualityAssertions, a custom drift facet); None returns all.
    """
    if limit < 1:
        raise LineageQueryError("limit must be 1 or more")
    kind, dataset_id = resolve(store, name, namespace)
    io, f, rs = t.io_edges, t.dataset_facets, t.run_states
    wanted = set(facets) if facets else None
    with store.read() as conn:
        role_rows = list(
            conn.execute(
                select(io.c.run_id, io.c.direction, func.max(io.c.event_time).label("last"))
                .where(io.c.dataset_id == dataset_id, io.c.run_id.is_not(None))
                .group_by(io.c.run_id, io.c.direction)
            )
        )
        last_seen: dict[int, datetime] = {}
        roles: dict[int, set[str]] = defaultdict(set)
        for row in role_rows:
            roles[row.run_id].add("input" if row.direction == "in" else "output")
            last_seen[row.run_id] = max(last_seen.get(row.run_id, row.last), row.last)
        run_ids = sorted(last_seen, key=lambda r: (last_seen[r], r), reverse=True)[:limit]
        info = {
            row.id: row
            for row in conn.execute(
                select(t.runs.c.id, t.runs.c.run_uuid, t.runs.c.parent_run_uuid, t.jobs.c.namespace, t.jobs.c.name)
                .join(t.jobs, t.jobs.c.id == t.runs.c.job_id)
                .where(t.runs.c.id.in_(run_ids))
            )
        } if run_ids else {}
        states: dict[int, list[Any]] = defaultdict(list)
        ds_facets: dict[int, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
        versions: dict[int, str] = {}
        r_facets: dict[int, dict[str, Any]] = defaultdict(dict)
        if run_ids:
            for row in conn.execute(
                select(rs.c.run_id, rs.c.event_type, rs.c.event_time).where(rs.c.run_id.in_(run_ids)).order_by(rs.c.event_time, rs.c.id)
            ):
                states[row.run_id].append(row)
            facet_query = select(f.c.run_id, f.c.scope, f.c.facet_name, f.c.payload).where(
                f.c.dataset_id == dataset_id, f.c.run_id.in_(run_ids)
            )
            if wanted is not None:
                facet_query = facet_query.where(f.c.facet_name.in_(sorted(wanted)))
            for row in conn.execute(facet_query.order_by(f.c.id)):
                ds_facets[row.run_id][row.scope][row.facet_name] = json.loads(row.payload)
            for row in conn.execute(
                select(t.dataset_versions.c.run_id, t.dataset_versions.c.version)
                .where(t.dataset_versions.c.dataset_id == dataset_id, t.dataset_versions.c.run_id.in_(run_ids))
                .order_by(t.dataset_versions.c.id)
            ):
                versions[row.run_id] = row.version
            if include_run_facets:
                for row in conn.execute(
                    select(t.run_facets.c.run_id, t.run_facets.c.facet_name, t.run_facets.c.payload)
                    .where(t.run_facets.c.run_id.in_(run_ids))
                    .order_by(t.run_facets.c.id)
                ):
                    r_facets[row.run_id][row.facet_name] = json.loads(row.payload)
        static_query = select(f.c.facet_name, f.c.payload).where(f.c.dataset_id == dataset_id, f.c.run_id.is_(None))
        static = {row.facet_name: json.loads(row.payload) for row in conn.execute(static_query.order_by(f.c.id))}
        dataset_row = conn.execute(
            select(t.datasets.c.namespace, t.datasets.c.name).where(t.datasets.c.id == dataset_id)
        ).one()
    runs_out = []
    for run_pk in run_ids:
        run = info[run_pk]
        history = states.get(run_pk, [])
        terminal = [s for s in history if s.event_type in TERMINAL_STATES]
        start = next((s for s in history if s.event_type == "START"), history[0] if history else None)
        current = terminal[-1] if terminal else (history[-1] if history else None)
        runs_out.append(
            {
                "run_id": run.run_uuid,
                "parent_run_id": run.parent_run_uuid,
                "job": {"namespace": run.namespace, "name": run.name, "key": node_key("job", run.namespace, run.name)},
                "roles": sorted(roles[run_pk]),
                "state": current.event_type if current else None,
                "started_at": iso(start.event_time) if start else None,
                "ended_at": iso(terminal[-1].event_time) if terminal else None,
                "last_event_at": iso(last_seen[run_pk]),
                "states": [{"event_type": s.event_type, "event_time": iso(s.event_time)} for s in history],
                "dataset_version": versions.get(run_pk),
                "facets": {scope: dict(items) for scope, items in ds_facets.get(run_pk, {}).items()},
                **({"run_facets": r_facets.get(run_pk, {})} if include_run_facets else {}),
            }
        )
    if wanted is not None:
        static = {k: v for k, v in static.items() if k in wanted}
    return {
        "dataset": {
            "type": kind,
            "namespace": dataset_row.namespace,
            "name": dataset_row.name,
            "key": node_key(kind, dataset_row.namespace, dataset_row.name),
        },
        "total_runs": len(last_seen),
        "runs": runs_out,
        "static_facets": static,
    }


# ---------------------------------------------------------------------- whole graph
def graph_as_of(
    store: LineageStore,
    *,
    as_of: datetime | str | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Every node and edge that existed at `as_of` (or when run `run_id` last reported)."""
    when = _effective_as_of(store, as_of, run_id)
    with graph_for(store).snapshot() as graph:
        view = graph.view(when)
        edges = [(u, v, a["first_seen"], a["last_seen"]) for u, v, a in view.edges(data=True)]
        nodes = {n for u, v, _, _ in edges for n in (u, v)}
        names = graph.names(nodes)
    rendered = {n: _node_dict(graph, n, names) for n in nodes}
    return {
        "as_of": iso(when),
        "run_id": run_id,
        "nodes": sorted(rendered.values(), key=lambda n: n["key"]),
        "edges": sorted(
            (
                {"from": rendered[u]["key"], "to": rendered[v]["key"], "first_seen": iso(fs), "last_seen": iso(ls)}
                for u, v, fs, ls in edges
            ),
            key=lambda e: (e["from"], e["to"]),
        ),
    }


def list_datasets(store: LineageStore, *, search: str | None = None, limit: int = 100) -> list[dict[str, str]]:
    """Stored datasets (optionally whose name contains `search`), for discovery."""
    query = select(t.datasets.c.namespace, t.datasets.c.name).order_by(t.datasets.c.namespace, t.datasets.c.name)
    if search:
        query = query.where(t.datasets.c.name.contains(search, autoescape=True))
    with store.read() as conn:
        return [
            {"namespace": r.namespace, "name": r.name, "key": node_key("dataset", r.namespace, r.name)}
            for r in conn.execute(query.limit(limit))
        ]
