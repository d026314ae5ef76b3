"""Marquez's API shapes (spec/openapi.yml of MarquezProject/marquez) read from the lineage store.

Namespaces are the namespaces of stored datasets and jobs; a source is a dataset namespace; a
dataset version is one run writing the dataset (or one DatasetEvent), its id a UUIDv5 of the
dataset and that run, as a job version is a UUIDv5 of the job and the datasets one run read and
wrote. Fields the store does not know are left out rather than sent as null (the spec has no
nullable fields). Lineage graphs come from :mod:`lineage.graph.queries` (upstream + downstream).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from lineage.graph import queries
from lineage.store import LineageStore, reads
from lineage.store.validation import stable_run_uuid

VERSION_NAMESPACE = uuid.UUID("0b5f3f0e-8a6c-5c0e-9c55-2f1f3a8e6d21")
# OpenLineage eventType -> Marquez run state (IncompleteRun.state).
RUN_STATES = {"START": "RUNNING", "RUNNING": "RUNNING", "COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED"}
TERMINAL = {"COMPLETED", "FAILED", "ABORTED"}


class MarquezNotFound(LookupError):
    """A Marquez path names something the store does not hold (404)."""


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=UTC).isoformat()


def compact(value: dict[str, Any]) -> dict[str, Any]:
    """Leave out unknown (None) fields: Marquez's spec declares none of them nullable."""
    return {k: v for k, v in value.items() if v is not None}


def version_uuid(*parts: object) -> str:
    return str(uuid.uuid5(VERSION_NAMESPACE, "\x1f".join(str(p) for p in parts)))


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}  # a malformed facet reads as absent


# ---------------------------------------------------------------------- namespaces and sources
def namespaces(conn: Connection) -> list[dict[str, Any]]:
    found = {r.ns: _namespace(r.ns, r.at) for r in reads.mq_namespace_firsts(conn)}
    for row in reads.mq_namespace_settings(conn):  # owners and descriptions set with PUT
        item = found.get(row.name) or _namespace(row.name, row.created_at)
        found[row.name] = compact({**item, "ownerName": row.owner_name, "description": row.description,
                                   "updatedAt": iso(row.updated_at)})
    return [found[name] for name in sorted(found) if not is_deleted(conn, "namespace", name, "")]


def _namespace(name: str, created: datetime) -> dict[str, Any]:
    return {"name": name, "createdAt": iso(created), "updatedAt": iso(created), "ownerName": "anonymous"}


def is_deleted(conn: Connection, kind: str, namespace_: str, name: str) -> bool:
    """Soft-deleted (its namespace too) and named by no event stored since."""
    marks = [m for m in (reads.mq_deleted_at(conn, kind, namespace_, name),
                         kind != "namespace" and reads.mq_deleted_at(conn, "namespace", namespace_, "")) if m]
    if not marks:
        return False
    latest = reads.mq_latest_activity(conn, kind, namespace_, name)
    return latest is None or latest <= max(marks)


def tags(conn: Connection) -> list[dict[str, Any]]:
    return [compact({"name": r.name, "description": r.description}) for r in reads.mq_tags(conn)]


def _dataset_tags(conn: Connection, ref: NodeRef) -> dict[str, list[str]]:
    """Tags by field ('' for the dataset itself)."""
    out: dict[str, list[str]] = {}
    for row in reads.mq_dataset_tags(conn, ref.namespace, ref.name):
        out.setdefault(row.field, []).append(row.tag)
    return out


def namespace(conn: Connection, name: str) -> dict[str, Any]:
    for item in namespaces(conn):
        if item["name"] == name:
            return item
    raise MarquezNotFound(f"namespace '{name}' not found")


def sources(conn: Connection) -> list[dict[str, Any]]:
    return [_source(r.namespace, r.at) for r in reads.mq_sources(conn)]


def _source(name: str, created: datetime) -> dict[str, Any]:
    scheme = name.split("://", 1)[0] if "://" in name else name
    return {"type": scheme.upper(), "name": name, "createdAt": iso(created), "updatedAt": iso(created), "connectionUrl": name}


# ---------------------------------------------------------------------- datasets and jobs: one table
@dataclass(frozen=True)
class NodeRef:
    """A stored dataset or job, named as Marquez names it."""

    kind: str  # "dataset" | "job"
    id: int
    namespace: str
    name: str
    first_seen: datetime


def node_ref(conn: Connection, kind: str, namespace_: str, name: str, *, deleted_too: bool = False) -> NodeRef:
    row = reads.mq_node(conn, kind, namespace_, name)
    if row is None or (not deleted_too and is_deleted(conn, kind, namespace_, name)):
        raise MarquezNotFound(f"{kind} '{name}' not found in namespace '{namespace_}'")
    return NodeRef(kind, row.id, row.namespace, row.name, row.first_seen)


def dataset_ref(conn: Connection, namespace_: str, name: str, *, deleted_too: bool = False) -> NodeRef:
    return node_ref(conn, "dataset", namespace_, name, deleted_too=deleted_too)


def job_ref(conn: Connection, namespace_: str, name: str) -> NodeRef:
    return node_ref(conn, "job", namespace_, name)


def nodes(conn: Connection, kind: str, namespace_: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """A page of the namespace's live datasets (or jobs) in Marquez's shape, and how many there are."""
    live = [r for r in reads.mq_nodes_in(conn, kind, namespace_) if not is_deleted(conn, kind, r.namespace, r.name)]
    page = [NodeRef(kind, r.id, r.namespace, r.name, r.first_seen) for r in live[offset : offset + limit]]
    return [shape(conn, ref) for ref in page], len(live)


def shape(conn: Connection, ref: NodeRef) -> dict[str, Any]:
    """The node as Marquez's Dataset or Job."""
    return KINDS[ref.kind].shape(conn, ref)


def dataset(conn: Connection, ref: NodeRef) -> dict[str, Any]:
    facets = _latest_dataset_facets(conn, ref.id, run_id=None)
    tagged = _dataset_tags(conn, ref)
    versions = _version_rows(conn, ref.id)
    last_write = max((v["at"] for v in versions if v["direction"] == "out"), default=None)
    # first_seen is when the store received it; events may be older (a backfill, an import).
    created = min([ref.first_seen, *(v["at"] for v in versions)])
    updated = max([ref.first_seen, *(v["at"] for v in versions)])
    return compact(
        {
            "id": {"namespace": ref.namespace, "name": ref.name},
            "type": "DB_TABLE",
            "name": ref.name,
            "physicalName": ref.name,
            "createdAt": iso(created),
            "updatedAt": iso(updated),
            "namespace": ref.namespace,
            "sourceName": ref.namespace,
            "fields": [{**f, "tags": tagged.get(f["name"], [])} for f in _fields(facets)],
            "tags": tagged.get("", []),
            "lastModifiedAt": iso(last_write),
            "description": _description(facets),
            "facets": facets,
            "currentVersion": versions[0]["version"] if versions else None,
            "deleted": False,
        }
    )


def _fields(facets: Mapping[str, Any]) -> list[dict[str, Any]]:
    schema = facets.get("schema")
    fields = schema.get("fields") if isinstance(schema, Mapping) else None
    out = []
    for field in fields if isinstance(fields, list) else []:
        if isinstance(field, Mapping) and isinstance(field.get("name"), str):
            item = {"name": field["name"], "type": field.get("type"), "tags": [], "description": field.get("description")}
            out.append(compact({k: v if not isinstance(v, (dict, list)) or k == "tags" else None for k, v in item.items()}))
    return out


def _description(facets: Mapping[str, Any]) -> str | None:
    doc = facets.get("documentation")
    text = doc.get("description") if isinstance(doc, Mapping) else None
    return text if isinstance(text, str) else None


def _latest_dataset_facets(conn: Connection, dataset_id: int, run_id: int | None) -> dict[str, Any]:
    """Newest payload per facet name (dataset scope; a run's input/output facets when `run_id`)."""
    return _latest_payloads(reads.mq_dataset_facets(conn, dataset_id, run_id))


def _latest_payloads(rows: Iterable[Any]) -> dict[str, Any]:
    """facet name -> payload of (facet_name, payload) rows, oldest first: the newest wins."""
    out: dict[str, Any] = {}
    for row in rows:
        payload = _payload(row.payload)
        if payload:
            out[row.facet_name] = payload
    return out


def _version_rows(conn: Connection, dataset_id: int) -> list[dict[str, Any]]:
    """One version per run that wrote (or, lacking writes, read) the dataset, newest first."""
    by_run: dict[int, dict[str, Any]] = {}
    for row in reads.mq_dataset_run_edges(conn, dataset_id):
        current = by_run.get(row.run_id)
        if current is None or (row.direction == "out" and current["direction"] != "out"):
            by_run[row.run_id] = {"run_id": row.run_id, "run_uuid": row.run_uuid, "direction": row.direction, "at": row.at}
    versions = [v for v in by_run.values() if v["direction"] == "out"] or list(by_run.values())
    for v in versions:
        v["version"] = version_uuid("dataset", dataset_id, v["run_uuid"])
    return sorted(versions, key=lambda v: (v["at"], v["run_id"]), reverse=True)


def dataset_versions(conn: Connection, ref: NodeRef, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    rows = _version_rows(conn, ref.id)
    return [_dataset_version(conn, ref, v) for v in rows[offset : offset + limit]], len(rows)


def dataset_version(conn: Connection, ref: NodeRef, version: str) -> dict[str, Any]:
    for row in _version_rows(conn, ref.id):
        if row["version"] == version:
            return _dataset_version(conn, ref, row)
    raise MarquezNotFound(f"version '{version}' of dataset '{ref.name}' not found")


def _dataset_version(conn: Connection, ref: NodeRef, row: Mapping[str, Any]) -> dict[str, Any]:
    facets = {**_latest_dataset_facets(conn, ref.id, run_id=row["run_id"])}
    return compact(
        {
            "id": {"namespace": ref.namespace, "name": ref.name, "version": row["version"]},
            "type": "DB_TABLE",
            "name": ref.name,
            "physicalName": ref.name,
            "createdAt": iso(row["at"]),
            "version": row["version"],
            "namespace": ref.namespace,
            "sourceName": ref.namespace,
            "fields": _fields(facets),
            "description": _description(facets) or "",  # required by the spec (tags: a string there, so left out)
            "createdByRun": run(conn, row["run_uuid"]),
            "facets": facets,
        }
    )


# ---------------------------------------------------------------------- jobs and runs
def job(conn: Connection, ref: NodeRef) -> dict[str, Any]:
    recent = run_uuids_of_job(conn, ref.id, limit=10, offset=0)
    latest = [run(conn, u) for u in recent]
    inputs, outputs = _run_io(conn, latest[0]["_run_id"]) if latest else ([], [])
    for item in latest:
        item.pop("_run_id")
    facets = _latest_job_facets(conn, ref.id)
    return compact(
        {
            "id": {"namespace": ref.namespace, "name": ref.name},
            "type": "BATCH",
            "name": ref.name,
            "simpleName": ref.name.rsplit(".", 1)[-1],
            "createdAt": iso(ref.first_seen),
            "updatedAt": latest[0]["updatedAt"] if latest else iso(ref.first_seen),
            "namespace": ref.namespace,
            "inputs": inputs,
            "outputs": outputs,
            "context": {},
            "description": _description(facets),
            "latestRun": latest[0] if latest else None,
            "latestRuns": latest,
            "facets": facets,
            "currentVersion": _job_version(ref, inputs, outputs) if latest else None,
        }
    )


def _job_version(ref: NodeRef, inputs: Iterable[Mapping[str, str]], outputs: Iterable[Mapping[str, str]]) -> str:
    key = lambda ds: (ds["namespace"], ds["name"])  # noqa: E731
    return version_uuid("job", ref.namespace, ref.name, sorted(map(key, inputs)), sorted(map(key, outputs)))


def _latest_job_facets(conn: Connection, job_id: int) -> dict[str, Any]:
    return _latest_payloads(reads.mq_job_facets(conn, job_id))


def run_uuids_of_job(conn: Connection, job_id: int, *, limit: int, offset: int) -> list[str]:
    """The job's runs, newest first (by their last event)."""
    return reads.mq_job_run_uuids(conn, job_id, limit, offset)


def _run_io(conn: Connection, run_id: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    io: dict[str, set[tuple[str, str]]] = {"in": set(), "out": set()}
    for row in reads.mq_run_io(conn, run_id):
        io[row.direction].add((row.namespace, row.name))
    as_ids = lambda keys: [{"namespace": ns, "name": n} for ns, n in sorted(keys)]  # noqa: E731
    return as_ids(io["in"]), as_ids(io["out"])


def run(conn: Connection, run_id: str) -> dict[str, Any]:
    """A Marquez Run; `_run_id` (the store's id) is kept for callers that need it and then dropped."""
    row = reads.mq_run(conn, stable_run_uuid(run_id))
    if row is None:
        raise MarquezNotFound(f"run '{run_id}' not found")
    states = reads.mq_run_states(conn, row.id)
    facets = _run_facets(conn, row.id)
    inputs, outputs = _run_io(conn, row.id)
    ref = NodeRef("job", row.job_id, row.namespace, row.name, row.first_seen)
    return compact({**_run_times(row.first_seen, states, facets), "id": row.run_uuid, "args": {}, "facets": facets,
                    "jobVersion": {"namespace": row.namespace, "name": row.name, "version": _job_version(ref, inputs, outputs)},
                    "inputDatasetVersions": _dataset_versions_of_run(conn, row.id, row.run_uuid, inputs),
                    "outputDatasetVersions": _dataset_versions_of_run(conn, row.id, row.run_uuid, outputs),
                    "_run_id": row.id})


def _run_times(first_seen: datetime, states: Sequence[Any], facets: Mapping[str, Any]) -> dict[str, Any]:
    mapped = [(RUN_STATES.get(str(s.event_type or "").upper(), "NEW"), s.event_time) for s in states]
    state = next((m for m, _ in reversed(mapped) if m != "NEW"), "NEW")
    started = next((at for m, at in mapped if m == "RUNNING"), None)
    ended = next((at for m, at in reversed(mapped) if m in TERMINAL), None) if state in TERMINAL else None
    nominal = facets.get("nominalTime") if isinstance(facets.get("nominalTime"), Mapping) else {}
    duration = int((ended - started).total_seconds() * 1000) if started and ended else None
    return {
        "createdAt": iso(first_seen),
        "updatedAt": iso(mapped[-1][1] if mapped else first_seen),
        "state": state,
        "startedAt": iso(started),
        "endedAt": iso(ended),
        "durationMs": duration,
        "nominalStartTime": _time_text(nominal.get("nominalStartTime")),
        "nominalEndTime": _time_text(nominal.get("nominalEndTime")),
    }


def _time_text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return iso(queries.parse_as_of(value))
    except Exception:  # a malformed facet field reads as absent
        return None


def _run_facets(conn: Connection, run_id: int) -> dict[str, Any]:
    return _latest_payloads(reads.mq_run_facets(conn, run_id))


def _dataset_versions_of_run(
    conn: Connection, run_id: int, run_uuid: str, datasets_: Sequence[Mapping[str, str]]
) -> list[dict[str, Any]]:
    out = []
    for ds in datasets_:
        ref = dataset_ref(conn, ds["namespace"], ds["name"], deleted_too=True)  # a run's history stays whole
        versions = [v for v in _version_rows(conn, ref.id) if v["at"] is not None]
        # The version a run read is the newest one written before it; one it wrote is its own.
        own = next((v for v in versions if v["run_uuid"] == run_uuid and v["direction"] == "out"), None)
        chosen = own or next(iter(versions), None)
        version = chosen["version"] if chosen else version_uuid("dataset", ref.id, run_uuid)
        out.append({"datasetVersionId": {**ds, "version": version}, "facets": {}})
    return out


def job_runs(conn: Connection, ref: NodeRef, limit: int, offset: int) -> list[dict[str, Any]]:
    out = [run(conn, u) for u in run_uuids_of_job(conn, ref.id, limit=limit, offset=offset)]
    for item in out:
        item.pop("_run_id")
    return out


def public_run(conn: Connection, run_id: str) -> dict[str, Any]:
    item = run(conn, run_id)
    item.pop("_run_id")
    return item


def run_facets(conn: Connection, run_id: str, kind: str) -> dict[str, Any]:
    item = run(conn, run_id)
    if kind == "job":
        job = reads.mq_run(conn, item["id"])
        return {"runId": item["id"], "facets": _latest_job_facets(conn, job.job_id) if job else {}}
    return {"runId": item["id"], "facets": item.get("facets", {})}


def job_versions(conn: Connection, ref: NodeRef) -> list[dict[str, Any]]:
    """Distinct job versions (input/output sets), newest first, each with its latest run."""
    seen: dict[str, dict[str, Any]] = {}
    for run_uuid in run_uuids_of_job(conn, ref.id, limit=10_000, offset=0):
        item = run(conn, run_uuid)
        version = item["jobVersion"]["version"]
        if version in seen:
            seen[version]["createdAt"] = item["createdAt"]  # older run: the version existed since then
            continue
        inputs, outputs = _run_io(conn, item.pop("_run_id"))
        seen[version] = {
            "id": {"namespace": ref.namespace, "name": ref.name, "version": version},
            "name": ref.name, "version": version, "createdAt": item["createdAt"], "namespace": ref.namespace,
            "inputs": inputs, "outputs": outputs, "context": {}, "latestRun": item, "facets": _latest_job_facets(conn, ref.id),
        }
    return list(seen.values())


@dataclass(frozen=True)
class Kind:
    """What differs between Marquez's datasets and jobs; routes and shapes read it from `KINDS`."""

    name: str  # "dataset" | "job": the store's node kind, and the path parameter's name
    plural: str  # the path segment and the listing's key
    shape: Callable[[Connection, NodeRef], dict[str, Any]]
    graph_keeps_deleted: bool  # a soft-deleted one still shows in a lineage graph naming it


KINDS = {"dataset": Kind("dataset", "datasets", dataset, True), "job": Kind("job", "jobs", job, False)}


# ---------------------------------------------------------------------- lineage graph
def parse_node_id(conn: Connection, node_id: str) -> tuple[str, str, str, str | None]:
    """('dataset'|'job', namespace, name, field) for a Marquez nodeId; namespaces may hold ':'."""
    kind, _, rest = node_id.partition(":")
    rest = rest.split("#", 1)[0]  # a `#version` suffix pins a version; the graph here is the current one
    if kind not in ("dataset", "job", "datasetField") or not rest:
        raise ValueError(f"nodeId must look like dataset:<namespace>:<name> or job:<namespace>:<name>, got {node_id!r}")
    parts = rest.split(":")
    for cut in range(1, len(parts)):
        namespace_, tail = ":".join(parts[:cut]), parts[cut:]
        candidates = [(":".join(tail), None)]
        if kind == "datasetField" and len(tail) > 1:
            candidates = [(":".join(tail[:-1]), tail[-1])]
        for name, field in candidates:
            if reads.mq_node(conn, "job" if kind == "job" else "dataset", namespace_, name) is not None:
                return ("job" if kind == "job" else "dataset"), namespace_, name, field
    raise MarquezNotFound(f"node '{node_id}' not found")


def lineage_graph(store: LineageStore, node_id: str, depth: int) -> dict[str, Any]:
    """Marquez's LineageGraph: the node and everything up- and downstream of it, `depth` job hops."""
    with store.read() as conn:
        kind, namespace_, name, _ = parse_node_id(conn, node_id)
    walks = [walk(store, name, namespace=namespace_, node_type=kind, depth=depth) for walk in (queries.upstream, queries.downstream)]
    nodes = {walks[0]["root"]["key"]: walks[0]["root"]}
    for result in walks:
        nodes.update({item["key"]: item for item in [*result["datasets"], *result["jobs"]]})
    edges = sorted({(e["from"], e["to"]) for result in walks for e in result["edges"]})
    graph = []
    with store.read() as conn:
        for key, item in sorted(nodes.items()):
            data = _node_data(conn, item)
            graph.append(
                {
                    "id": key,
                    "type": item["type"].upper(),
                    "data": data,
                    "inEdges": [{"origin": a, "destination": b} for a, b in edges if b == key],
                    "outEdges": [{"origin": a, "destination": b} for a, b in edges if a == key],
                }
            )
    return {"graph": graph}


def _node_data(conn: Connection, item: Mapping[str, Any]) -> dict[str, Any]:
    """The node's Dataset or Job; `type` is the spec's discriminator (DATASET | JOB) here."""
    kind = KINDS[item["type"]]
    ref = node_ref(conn, kind.name, item["namespace"], item["name"], deleted_too=kind.graph_keeps_deleted)
    return {**shape(conn, ref), "type": item["type"].upper()}


# ---------------------------------------------------------------------- search and events
def search(conn: Connection, q: str, kind: str | None, sort: str, limit: int, namespace_: str | None) -> dict[str, Any]:
    """Datasets and jobs whose name matches `q` (case-insensitive; `%` and `_` as in SQL LIKE)."""
    pattern = q if ("%" in q or "_" in q) else f"%{q}%"
    results = []
    for node_type in ("DATASET", "JOB"):
        if kind and kind.upper() != node_type:
            continue
        for row in reads.mq_search(conn, node_type.lower(), pattern, namespace_, limit):
            results.append(
                {"type": node_type, "name": row.name, "updatedAt": iso(row.first_seen), "namespace": row.namespace,
                 "nodeId": queries.node_key(node_type.lower(), row.namespace, row.name)}
            )
    key = (lambda r: r["updatedAt"]) if sort == "updated_at" else (lambda r: (r["name"], r["namespace"]))
    results.sort(key=key, reverse=sort == "updated_at")
    return {"totalCount": len(results[:limit]), "results": results[:limit]}


@dataclass(frozen=True)
class EventFilter:
    before: datetime | None = None
    after: datetime | None = None
    limit: int = 100
    offset: int = 0
    descending: bool = True
    invalid: bool = False


def lineage_events(conn: Connection, flt: EventFilter) -> dict[str, Any]:
    """Raw stored events in a time window; with `invalid`, only those stored with warnings."""
    total, rows = reads.mq_events(conn, flt.before, flt.after, flt.invalid, flt.descending, flt.limit, flt.offset)
    out: dict[str, Any] = {"events": [json.loads(r.payload) for r in rows], "totalCount": int(total)}
    if flt.invalid:
        found = reads.mq_event_warnings(conn, [r.id for r in rows])
        out["warnings"] = [{"index": i, "warnings": found.get(r.id, [])} for i, r in enumerate(rows)]
    return out


# ---------------------------------------------------------------------- column lineage
def column_lineage_graph(store: LineageStore, node_id: str, depth: int, with_downstream: bool) -> dict[str, Any]:
    """Marquez's column-lineage graph: DATASET_FIELD nodes, each with its direct input fields.

    Walked one hop at a time with :func:`queries.column_lineage` (depth 1), so every edge is a
    real field-to-field hop. A dataset node starts from each of its fields with lineage.
    """
    with store.read() as conn:
        kind, namespace_, name, field = parse_node_id(conn, node_id)
        if kind != "dataset":
            raise ValueError("column lineage starts from a dataset or datasetField node")
        starts = [field] if field else [f["name"] for f in _fields(_latest_dataset_facets(conn, dataset_ref(conn, namespace_, name).id, None))]
    nodes: dict[tuple[str, str, str], dict[str, Any]] = {}
    edges: set[tuple[tuple[str, str, str], tuple[str, str, str]]] = set()
    directions = ["upstream", "downstream"] if with_downstream else ["upstream"]
    for direction in directions:
        frontier = [(namespace_, name, f) for f in starts]
        for _ in range(depth):
            frontier = [n for col in frontier for n in _column_hop(store, col, direction, nodes, edges)]
            if not frontier:
                break
    for col in {(namespace_, name, f) for f in starts} | {c for e in edges for c in e}:
        nodes.setdefault(col, {"inputFields": []})
    return {"graph": [_field_node(col, nodes[col], edges) for col in sorted(nodes)]}


def _column_hop(store: LineageStore, col: tuple[str, str, str], direction: str, nodes: dict[Any, dict[str, Any]], edges: set[Any]) -> list[tuple[str, str, str]]:
    try:
        found = queries.column_lineage(store, col[1], col[2], namespace=col[0], direction=direction, depth=1)  # type: ignore[arg-type]
    except queries.NotFoundError:
        return []
    new = []
    for entry in found["columns"]:
        if entry["field"] is None:
            continue  # a dataset-wide (INDIRECT) dependency names no field
        other = (entry["namespace"], entry["name"], entry["field"])
        edge = (other, col) if direction == "upstream" else (col, other)
        if edge in edges:
            continue
        edges.add(edge)
        src, dst = edge
        kind = entry["transformations"][0] if entry["transformations"] else {}
        nodes.setdefault(dst, {"inputFields": []})["inputFields"].append(
            compact({"namespace": src[0], "dataset": src[1], "field": src[2], "transformationType": kind.get("type")})
        )
        new.append(other)
    return new


def _field_id(col: tuple[str, str, str]) -> str:
    return f"datasetField:{col[0]}:{col[1]}:{col[2]}"


def _field_node(col: tuple[str, str, str], node: Mapping[str, Any], edges: set[Any]) -> dict[str, Any]:
    return {
        "id": _field_id(col),
        "type": "DATASET_FIELD",
        "data": {"namespace": col[0], "dataset": col[1], "field": col[2], "inputFields": node["inputFields"]},
        "inEdges": [{"origin": _field_id(a), "destination": _field_id(b)} for a, b in sorted(edges) if b == col],
        "outEdges": [{"origin": _field_id(a), "destination": _field_id(b)} for a, b in sorted(edges) if a == col],
    }


# ---------------------------------------------------------------------- stats
def intervals(period: str, timezone: str | None, now: datetime) -> list[tuple[datetime, datetime]]:
    """Marquez's stats windows (naive UTC): 24 hours for DAY, 7 days in `timezone` for WEEK."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    if period == "DAY":
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return [(end - timedelta(hours=h + 1), end - timedelta(hours=h)) for h in reversed(range(24))]
    if not timezone:
        raise ValueError("Timezone must be specified for period 'WEEK'")
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"unknown timezone {timezone!r}") from exc
    local_midnight = now.replace(tzinfo=UTC).astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [local_midnight - timedelta(days=d) for d in reversed(range(7))]
    to_utc = lambda d: d.astimezone(UTC).replace(tzinfo=None)  # noqa: E731
    return [(to_utc(d), to_utc(d + timedelta(days=1))) for d in days]


def lineage_event_stats(conn: Connection, windows: Sequence[tuple[datetime, datetime]]) -> list[dict[str, Any]]:
    """Per window, how many RunEvents of each terminal/start type (Marquez's LineageMetric)."""
    rows = reads.mq_event_types_between(conn, windows[0][0], windows[-1][1])
    out = []
    for start, end in windows:
        types = [str(r.event_type or "").upper() for r in rows if start <= r.event_time < end]
        out.append({"startInterval": iso(start), "endInterval": iso(end), "fail": types.count("FAIL"),
                    "start": types.count("START"), "complete": types.count("COMPLETE"), "abort": types.count("ABORT")})
    return out


def node_stats(conn: Connection, kind: str, windows: Sequence[tuple[datetime, datetime]]) -> list[dict[str, Any]]:
    """Per window, how many jobs / datasets / sources (dataset namespaces) were first seen in it."""
    firsts = reads.mq_first_seen(conn, kind)
    return [
        {"startInterval": iso(start), "endInterval": iso(end), "count": sum(start <= at < end for at in firsts)}
        for start, end in windows
    ]
