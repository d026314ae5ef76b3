"""Lineage questions answered from the store: the Python API behind the HTTP endpoints and CLI.

Every function takes an open `LineageStore` and returns plain JSON-ready dicts. Datasets and jobs
are named by their OpenLineage name; the namespace may be left out when the name alone is
unambiguous (otherwise `AmbiguousNameError` lists the candidates). Times are naive UTC inside
and ISO-8601 with `+00:00` outside; `as_of` accepts a datetime or an ISO string (naive = UTC).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import sys
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from lineage.graph.cache import graph_for
from lineage.graph.model import ColumnNode, LineageGraph, Node
from lineage.store import LineageStore, reads, to_naive_utc
from lineage.store.validation import parse_event_time

if TYPE_CHECKING:
    import networkx as nx

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

    def __init__(self, message: str, suggestions: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.suggestions = list(suggestions)  # close names (edit distance), best first


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


class _NodeNames:
    """The datasets and jobs of one graph's store by id and by (namespace, name), for lineage queries:
    read whole on first use, then only the rows added since (ids grow; nodes are never renamed nor
    deleted). A depth-10 answer names ~1,100 nodes: read by id on demand, that was two statements a
    query and, on PostgreSQL, most of its wall time; a namespace-qualified `resolve` found here needs no
    statement either. An id under the high-water mark committed late (concurrent PostgreSQL writers) is
    read through `LineageGraph.names`, as before; a name not found here is looked up in the store."""

    def __init__(self) -> None:
        self.by_kind: dict[str, dict[int, tuple[str, str]]] = {"dataset": {}, "job": {}}
        self.ids: dict[str, dict[str, dict[str, int]]] = {"dataset": {}, "job": {}}  # kind -> namespace -> name -> id
        self._high_water = {"dataset": 0, "job": 0}
        self._lock = threading.Lock()

    def of(self, graph: LineageGraph, nodes: Iterable[Node]) -> dict[Node, tuple[str, str]]:
        wanted, by_kind = list(nodes), self.by_kind
        late = [node for node in wanted if node[1] not in by_kind[node[0]]]
        if late:
            self._catch_up(graph.store)
            late = [node for node in late if node[1] not in by_kind[node[0]]]
            with self._lock:
                for (kind, node_id), (namespace, name) in graph.names(late).items():
                    self._add(kind, [(node_id, namespace, name)])
        return {node: by_kind[node[0]][node[1]] for node in wanted}

    def _catch_up(self, store: LineageStore) -> None:
        with self._lock, store.read() as conn:
            for kind in self.by_kind:
                rows = reads.node_names_after(conn, kind, self._high_water[kind])
                self._add(kind, rows)
                if rows:
                    self._high_water[kind] = rows[-1][0]

    def _add(self, kind: str, rows: Iterable[tuple[int, str, str]]) -> None:
        names, ids = self.by_kind[kind], self.ids[kind]
        for node_id, namespace, name in rows:
            namespace = sys.intern(namespace)  # one string per namespace: a million rows share a few
            names[node_id] = (namespace, name)
            ids.setdefault(namespace, {})[name] = node_id


_node_names: weakref.WeakKeyDictionary[LineageGraph, _NodeNames] = weakref.WeakKeyDictionary()
_node_names_lock = threading.Lock()


def _index_of(graph: LineageGraph) -> _NodeNames:
    """The graph's one `_NodeNames` (it goes with the graph, e.g. on `cache.forget`)."""
    with _node_names_lock:
        index = _node_names.get(graph)
        if index is None:
            index = _node_names[graph] = _NodeNames()
        return index


def _names(graph: LineageGraph, nodes: Iterable[Node]) -> dict[Node, tuple[str, str]]:
    """`graph.names(nodes)`, answered from the graph's `_NodeNames`."""
    return _index_of(graph).of(graph, nodes)


def _node_dict(graph: LineageGraph, node: Node, names: Mapping[Node, tuple[str, str]] | None = None) -> dict[str, Any]:
    namespace, name = (names or _names(graph, [node]))[node]
    return {"type": node[0], "namespace": namespace, "name": name, "key": node_key(node[0], namespace, name)}


def resolve(store: LineageStore, name: str, namespace: str | None = None, node_type: NodeType = "dataset") -> Node:
    """Find a dataset or job by name (and namespace); clear errors when missing or ambiguous.

    A dataset is also found by a symlink identifier (SymlinksDatasetFacet: a Spark file
    dataset's Hive table name), the namespace then being the symlink's or the dataset's own.
    """
    if namespace is not None:  # (namespace, name) names one node for good: a known one needs no statement
        known = _index_of(graph_for(store)).ids.get(node_type, {}).get(namespace, {}).get(name)
        if known is not None:
            return (node_type, known)
    similar: list[Any] = []
    with store.read() as conn:
        rows = reads.query_named(conn, node_type, name, namespace)
        if not rows and node_type == "dataset":
            rows = reads.query_by_symlink(conn, name, namespace)
        if not rows:
            similar = _similar(conn, node_type, name)
    if not rows:
        where = f" in namespace '{namespace}'" if namespace is not None else ""
        hint = (
            "; similar names: " + ", ".join(f"{r.namespace}:{r.name}" for r in similar)
            if similar
            else f"; nothing similar is stored: has lineage for this {node_type} been ingested?"
        )
        raise NotFoundError(f"no {node_type} named '{name}'{where}{hint}", [r.name for r in similar])
    if len(rows) > 1:
        candidates = [{"namespace": r.namespace, "name": r.name} for r in rows]
        listing = ", ".join(f"{c['namespace']}:{c['name']}" if c["name"] != name else c["namespace"] for c in candidates)
        raise AmbiguousNameError(
            f"{node_type} name '{name}' exists in {len(rows)} namespaces ({listing}); pass a namespace",
            candidates,
        )
    return (node_type, rows[0].id)


_SIMILAR_SCAN = 20_000  # names read to rank by edit distance (a larger store ranks a subset)


def _similar(conn: Any, node_type: str, name: str) -> list[Any]:
    """Names closest by edit distance (a typo: `trainig_set` → `training_set`), then names containing the
    last dotted/slashed part of what was asked for; at most 5."""
    near = reads.query_names_of_length(conn, node_type, len(name) - 3, len(name) + 3, _SIMILAR_SCAN)
    close = close_matches(name, [r.name for r in near])
    ranked = sorted((r for r in near if r.name in close), key=lambda r: (close.index(r.name), r.namespace))
    fragment = re.split(r"[./:]", name)[-1] or name
    containing = reads.query_names_containing(conn, node_type, fragment[:100], 5)
    return list({(r.namespace, r.name): r for r in [*ranked, *containing]}.values())[:5]


def close_matches(word: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """Candidates within a few edits of `word`, best first (difflib's ratio, cutoff 0.75)."""
    import difflib

    return difflib.get_close_matches(word, list(dict.fromkeys(candidates)), n=n, cutoff=0.75)


def _as_of_for_run(store: LineageStore, run_id: str) -> datetime:
    with store.read() as conn:
        latest = reads.query_last_event_time(conn, run_id.lower())
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
        distances, edges = walk_lineage(graph.view(when), root, upstream, depth)
    names = _names(graph, distances)
    return {
        "root": _node_dict(graph, root, names),
        "direction": "upstream" if upstream else "downstream",
        "depth": depth,
        "as_of": iso(when),
        **_walk_answer(root, distances, edges, names),
    }


def _walk_answer(root: Node, distances: Mapping[Node, int], edges: Sequence[tuple[Node, Node]],
                 names: Mapping[Node, tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """Datasets and jobs by (distance, namespace, name), edges by their keys, sorted as plain tuples
    (no key function per item). The walk yields each edge once, in breadth-first order, which the
    sort's runs exploit; only keys that collide (a ':' in a namespace) need the pairs de-duplicated."""
    keys = {node: f"{node[0]}:{namespace}:{name}" for node, (namespace, name) in names.items()}
    found: dict[str, list[tuple[int, str, str, str]]] = {"dataset": [], "job": []}
    for node, distance in distances.items():
        if node != root:
            found[node[0]].append((distance, *names[node], keys[node]))
    pairs = sorted([(keys[a], keys[b]) for a, b in edges])
    if len(set(keys.values())) < len(keys):
        pairs = sorted(set(pairs))
    return {
        **{f"{kind}s": [{"type": kind, "namespace": namespace, "name": name, "key": key, "distance": distance}
                        for distance, namespace, name, key in sorted(items)]
           for kind, items in found.items()},
        "edges": [{"from": a, "to": b} for a, b in pairs],
    }


def walk_lineage(
    view: nx.DiGraph, root: Node, upstream: bool, max_depth: int | None
) -> tuple[dict[Node, int], list[tuple[Node, Node]]]:
    """`LineageGraph.traverse` over an already chosen view, same answer (node -> job hops and the
    edges walked), as a breadth-first walk over half-hop levels: a step between a dataset and a
    job is one half hop, dataset -> dataset or job -> job two, so the next two levels' lists
    replace traverse's heap (edge weights are only 1 or 2). Neighbours come from
    `predecessors` / `successors` (a plain dict iterator) rather than `pred[node]`, which builds a
    view object per expanded node."""
    if root not in view:
        return {root: 0}, []
    neighbours = view.predecessors if upstream else view.successors
    limit = math.inf if max_depth is None else 2 * max_depth
    best: dict[Node, int] = {root: 0}
    edges: list[tuple[Node, Node]] = []
    seen, add_edge = best.get, edges.append
    level: list[Node] = [root]
    ahead: tuple[list[Node], list[Node]] = ([], [])  # the nodes first reached one and two half hops on
    halves = 0
    while (level or ahead[0] or ahead[1]) and halves < limit:  # at the limit every step would be past it
        for node in level:
            if best[node] != halves:  # reached sooner after it was queued here
                continue
            kind = node[0]
            for other in neighbours(node):
                step = 1 if other[0] != kind else 2
                reached = halves + step
                if reached > limit:
                    continue
                add_edge((other, node) if upstream else (node, other))
                if reached < seen(other, reached + 1):
                    best[other] = reached
                    ahead[step - 1].append(other)
        level, ahead = ahead[0], (ahead[1], [])
        halves += 1
    return {node: (h + 1) // 2 for node, h in best.items()}, edges


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
        names = _names(graph, {n for p in found for n in p})
        rendered = [[_node_dict(graph, n, names) for n in p] for p in found]
        endpoints = _names(graph, [src, dst])
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
    import networkx as nx  # here, not at import: reads that build no graph (history, datasets) skip it

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
            close = close_matches(column, known)
            hint = f"; columns with lineage: {', '.join(known[:20])}" if known else "; this dataset has no column lineage"
            hint = f"; did you mean {' or '.join(close)}?{hint}" if close else hint
            raise NotFoundError(f"no column lineage for column '{column}' of '{name}'{hint}", close)
        found = _walk_columns(cols, root, upstream_walk, depth, direct_only=not include_indirect)
        direct = found if not include_indirect else _walk_columns(cols, root, upstream_walk, depth, direct_only=True)
        dataset_nodes: set[Node] = {("dataset", n[0]) for n in [root, *found]}
        job_nodes: set[Node] = {("job", j) for e in found.values() for j in e["jobs"]}
        names = _names(graph, dataset_nodes | job_nodes)
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
    names = _names(graph, distances)
    dataset_ids = [n[1] for n in distances if n[0] == "dataset" and n != root]
    types = _latest_facet_field(store, "dataset", dataset_ids, "datasetType", "datasetType")
    job_types = _latest_facet_field(
        store, "job", sorted({j for i in dataset_ids for j in writers.get(i, [])}), "jobType", "jobType"
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


def _latest_facet_field(store: LineageStore, kind: str, ids: Sequence[int], facet_name: str, key: str) -> dict[int, str]:
    """id -> the string `key` of the latest `facet_name` facet; malformed facets are skipped."""
    out: dict[int, str] = {}
    with store.read() as conn:
        for row in reads.query_facet_payloads(conn, kind, ids, facet_name):  # the last one seen is the latest
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
    wanted = set(facets) if facets else None
    with store.read() as conn:
        roles, last_seen = _run_roles(reads.query_run_roles(conn, dataset_id))
        run_ids = sorted(last_seen, key=lambda r: (last_seen[r], r), reverse=True)[:limit]
        found = _RunRows.read(conn, dataset_id, run_ids, wanted, include_run_facets)
        static = {r.facet_name: json.loads(r.payload) for r in reads.query_dataset_facets(conn, dataset_id, None, wanted)}
        (namespace_, dataset_name), = reads.dataset_names(conn, [dataset_id]).values()
    runs = [_run_entry(found, run_id, sorted(roles[run_id]), last_seen[run_id], include_run_facets)
            for run_id in run_ids]
    return {
        "dataset": {"type": kind, "namespace": namespace_, "name": dataset_name,
                    "key": node_key(kind, namespace_, dataset_name)},
        "total_runs": len(last_seen),
        "runs": runs,
        "static_facets": static,
    }


def _run_roles(rows: Iterable[Any]) -> tuple[dict[int, set[str]], dict[int, datetime]]:
    """Per run: whether it read ("input") and / or wrote ("output") the dataset, and its last edge time."""
    roles: dict[int, set[str]] = defaultdict(set)
    last_seen: dict[int, datetime] = {}
    for row in rows:
        roles[row.run_id].add("input" if row.direction == "in" else "output")
        last_seen[row.run_id] = max(last_seen.get(row.run_id, row.last), row.last)
    return roles, last_seen


@dataclass
class _RunRows:
    """What `run_history` shows of each run, read for the chosen runs."""

    info: dict[int, Any]
    states: dict[int, list[Any]]
    facets: dict[int, dict[str, dict[str, Any]]]  # run -> scope -> facet name -> payload
    versions: dict[int, str]
    run_facets: dict[int, dict[str, Any]]

    @classmethod
    def read(cls, conn: Any, dataset_id: int, run_ids: Sequence[int], wanted: set[str] | None,
             with_run_facets: bool) -> _RunRows:
        found = cls({r.id: r for r in reads.query_runs(conn, run_ids)}, defaultdict(list),
                    defaultdict(lambda: defaultdict(dict)), {}, defaultdict(dict))
        if not run_ids:
            return found
        for row in reads.query_run_states(conn, run_ids):
            found.states[row.run_id].append(row)
        for row in reads.query_dataset_facets(conn, dataset_id, run_ids, wanted):
            found.facets[row.run_id][row.scope][row.facet_name] = json.loads(row.payload)
        for row in reads.query_dataset_versions(conn, dataset_id, run_ids):
            found.versions[row.run_id] = row.version
        for row in reads.query_run_facets(conn, run_ids) if with_run_facets else ():
            found.run_facets[row.run_id][row.facet_name] = json.loads(row.payload)
        return found


def _run_entry(found: _RunRows, run_pk: int, roles: list[str], last_seen: datetime,
               include_run_facets: bool) -> dict[str, Any]:
    run = found.info[run_pk]
    history = found.states.get(run_pk, [])
    terminal = [s for s in history if s.event_type in TERMINAL_STATES]
    start = next((s for s in history if s.event_type == "START"), history[0] if history else None)
    current = terminal[-1] if terminal else (history[-1] if history else None)
    return {
        "run_id": run.run_uuid,
        "parent_run_id": run.parent_run_uuid,
        "job": {"namespace": run.namespace, "name": run.name, "key": node_key("job", run.namespace, run.name)},
        "roles": roles,
        "state": current.event_type if current else None,
        "started_at": iso(start.event_time) if start else None,
        "ended_at": iso(terminal[-1].event_time) if terminal else None,
        "last_event_at": iso(last_seen),
        "states": [{"event_type": s.event_type, "event_time": iso(s.event_time)} for s in history],
        "dataset_version": found.versions.get(run_pk),
        "facets": {scope: dict(items) for scope, items in found.facets.get(run_pk, {}).items()},
        **({"run_facets": found.run_facets.get(run_pk, {})} if include_run_facets else {}),
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
        names = _names(graph, nodes)
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
    with store.read() as conn:
        rows = reads.query_datasets(conn, search, limit)
    return [{"namespace": r.namespace, "name": r.name, "key": node_key("dataset", r.namespace, r.name)} for r in rows]
