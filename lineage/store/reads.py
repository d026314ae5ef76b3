"""Read helpers over the lineage tables, one section per reader (the in-memory graph, lineage
queries, the Marquez API, RCA, incidents, metrics): the one place above the store that runs SQL.

Each function takes an open connection (``store.read()``) and returns plain rows; what they mean
is the caller's business. Id lists are read in chunks so a large ancestry stays within the
databases' bound-parameter limits, or, where a question reads thousands of ids, as one parameter
(:func:`ids_in`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (BigInteger, Column, Connection, Row, String, Table, and_, any_, cast, func, literal,
                        literal_column, select, true, type_coerce, union)

from lineage.store import tables as t
from lineage.store.marquez_state import deleted_at
from lineage.store.marquez_tables import mq_dataset_tags as mq_dataset_tags_table
from lineage.store.marquez_tables import mq_namespaces
from lineage.store.marquez_tables import mq_tags as mq_tags_table
from lineage.store.retention_tables import store_audit
from lineage.store.warning_tables import event_warnings, warnings_of

IN_CHUNK = 500


def chunks(ids: Iterable[Any], size: int = IN_CHUNK) -> Iterator[list[Any]]:
    items = sorted(set(ids))
    for start in range(0, len(items), size):
        yield items[start:start + size]


def ids_in(conn: Connection, column: Column[Any], ids: Iterable[int]) -> Any:
    """``column IN ids`` with one bound parameter however many ids: a JSON array read by ``json_each`` on
    SQLite, an array on PostgreSQL. An expanding IN costs SQLAlchemy a literal and a parameter per id on
    every execution (and chunks, for the bound-parameter limits): most of a read of a few thousand rows."""
    wanted = sorted(set(ids))
    if conn.dialect.name == "sqlite":
        return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(wanted))))
    # Imported here: the PostgreSQL dialect is ~0.05 s of every `obs` start on SQLite.
    from sqlalchemy.dialects.postgresql import ARRAY

    return column == any_(literal(wanted, ARRAY(BigInteger)))


# --------------------------------------------------------------------------- graph (lineage.graph.model)
def _column_edge_source(table: Table) -> tuple[Table, tuple[Column[Any], ...]]:
    c = table.c
    return table, (c.id, c.event_id, c.run_id, c.src_dataset_id, c.src_field, c.dst_dataset_id, c.dst_field,
                   c.job_id, c.transformation_type, c.transformation_subtype, c.event_time)


# The insert-only tables the in-memory graph follows, and the columns it reads of each (id first).
GRAPH_SOURCES: dict[str, tuple[Table, tuple[Column[Any], ...]]] = {
    "states": (t.run_states, (t.run_states.c.id, t.run_states.c.run_id, t.run_states.c.event_type,
                              t.run_states.c.event_time)),
    "io": (t.io_edges, (t.io_edges.c.id, t.io_edges.c.event_id, t.io_edges.c.run_id, t.io_edges.c.dataset_id,
                        t.io_edges.c.job_id, t.io_edges.c.direction, t.io_edges.c.event_time)),
    "declared": (t.declared_edges, (t.declared_edges.c.id, t.declared_edges.c.event_id, t.declared_edges.c.run_id,
                                    t.declared_edges.c.job_id, t.declared_edges.c.src_kind, t.declared_edges.c.src_id,
                                    t.declared_edges.c.dst_kind, t.declared_edges.c.dst_id,
                                    t.declared_edges.c.event_time)),
    "columns": _column_edge_source(t.column_edges),
    "declared_columns": _column_edge_source(t.declared_column_edges),
}


# Built once: every lineage query probes it, and building it cost more CPU than running it.
_HIGH_WATERS = select(*[select(func.coalesce(func.max(table.c.id), 0)).scalar_subquery().label(name)
                        for name, (table, _) in GRAPH_SOURCES.items()])


def graph_high_waters(conn: Connection) -> dict[str, int]:
    """The largest id of every GRAPH_SOURCES table, in one round trip (0 for an empty table)."""
    row = conn.execute(_HIGH_WATERS).one()
    return {name: int(row[i]) for i, name in enumerate(GRAPH_SOURCES)}


def graph_rows_after(conn: Connection, source: str, high_water: int) -> list[tuple[Any, ...]]:
    """Rows of one GRAPH_SOURCES table with id > ``high_water``, by id, as plain tuples (columns in
    that order; event_time last)."""
    table, columns = GRAPH_SOURCES[source]
    return _graph_rows(conn, columns, [table.c.id > high_water])


def graph_rows_by_id(conn: Connection, source: str, ids: Iterable[int]) -> list[tuple[Any, ...]]:
    """The rows of one GRAPH_SOURCES table with these ids (those that exist), as plain tuples."""
    table, columns = GRAPH_SOURCES[source]
    out: list[tuple[Any, ...]] = []
    for chunk in chunks(ids):
        out += _graph_rows(conn, columns, [table.c.id.in_(chunk)])
    return out


def _graph_rows(conn: Connection, columns: Sequence[Column[Any]], where: Sequence[Any]) -> list[tuple[Any, ...]]:
    return _timed_rows(conn, columns, where, (columns[0],))


def _timed_rows(conn: Connection, columns: Sequence[Column[Any]], where: Sequence[Any],
                order_by: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Plain tuples (a Row's attribute access costs more than the whole rest of a row) whose last column is a time."""
    *head, when = columns
    if conn.dialect.name != "sqlite":
        return [tuple(r) for r in conn.execute(select(*columns).where(*where).order_by(*order_by))]
    # SQLite keeps times as ISO text (what SQLAlchemy's DateTime writes); many rows share one event's time, so each
    # distinct text is parsed once instead of through the per-row DateTime result processor.
    rows = conn.execute(select(*head, type_coerce(when, String)).where(*where).order_by(*order_by)).all()
    parsed = {text: datetime.fromisoformat(text) for text in {row[-1] for row in rows}}
    return [(*row[:-1], parsed[row[-1]]) for row in rows]


def graph_producers(conn: Connection, dataset_ids: Iterable[int]) -> set[int]:
    """Ids of the jobs with an output edge into any of the datasets (ever)."""
    e = t.io_edges.c
    ids = list(dataset_ids)
    if not ids:
        return set()
    return {r[0] for r in conn.execute(select(e.job_id).where(ids_in(conn, e.dataset_id, ids), e.direction == "out")
                                       .distinct())}


def graph_io_ancestors(conn: Connection, dataset_id: int) -> list[int]:
    """Ids of datasets upstream of one, in one recursive query: the inputs of every run that wrote a dataset
    reached. Part of the ancestry (what its walk reaches first): no declared, column or run-less edges, no
    rows whose run belongs to another job, no inputs of a producer's runs that wrote something else."""
    out, into, run = t.io_edges.alias("o"), t.io_edges.alias("i"), t.runs.alias("r")
    reached = select(cast(literal(dataset_id), t.io_edges.c.dataset_id.type).label("dataset_id")).cte(
        "reached", recursive=True)
    step = (select(into.c.dataset_id)
            .join_from(reached, out, out.c.dataset_id == reached.c.dataset_id)
            .join(run, and_(run.c.id == out.c.run_id, run.c.job_id == out.c.job_id))
            .join(into, and_(into.c.run_id == out.c.run_id, into.c.job_id == out.c.job_id))
            .where(out.c.direction == "out", into.c.direction == "in"))
    return list(conn.execute(select(reached.union(step).c.dataset_id)).scalars())


def graph_declared_into(conn: Connection, kind: str, ids: Iterable[int]) -> list[tuple[Any, ...]]:
    """GRAPH_SOURCES["declared"] rows whose target is one of these datasets or jobs (``kind``)."""
    table, columns = GRAPH_SOURCES["declared"]
    ids = list(ids)
    return _graph_rows(conn, columns, [table.c.dst_kind == kind, ids_in(conn, table.c.dst_id, ids)]) if ids else []


def graph_columns_touching(conn: Connection, source: str, into: Iterable[int],
                           out_of: Iterable[int] = ()) -> list[tuple[Any, ...]]:
    """Rows of a column-edge source ("columns", "declared_columns") into the ``into`` datasets or out of
    the ``out_of`` ones, by id."""
    table, columns = GRAPH_SOURCES[source]
    found: dict[int, tuple[Any, ...]] = {}
    for side, ids in ((table.c.dst_dataset_id, list(into)), (table.c.src_dataset_id, list(out_of))):
        if ids:
            found.update((row[0], row) for row in _graph_rows(conn, columns, [ids_in(conn, side, ids)]))
    return [found[i] for i in sorted(found)]


def graph_job_rows(conn: Connection, job_ids: Iterable[int]) -> dict[str, list[tuple[Any, ...]]]:
    """Every states, io, declared and declared-column row of the jobs' runs and run-less events (a run's
    events name one job), as GRAPH_SOURCES tuples; column edges are read by dataset instead."""
    jobs = sorted(set(job_ids))
    io, dec, dcol = GRAPH_SOURCES["io"], GRAPH_SOURCES["declared"], GRAPH_SOURCES["declared_columns"]
    out: dict[str, list[tuple[Any, ...]]] = {"states": [], "io": [], "declared": [], "declared_columns": []}
    if not jobs:
        return out
    run_ids = [r[0] for r in conn.execute(select(t.runs.c.id).where(ids_in(conn, t.runs.c.job_id, jobs)))]
    if run_ids:
        out["states"] = _graph_rows(conn, GRAPH_SOURCES["states"][1], [ids_in(conn, t.run_states.c.run_id, run_ids)])
        out["io"] = _graph_rows(conn, io[1], [ids_in(conn, io[0].c.run_id, run_ids)])
    out["io"] += _graph_rows(conn, io[1], [io[0].c.run_id.is_(None), ids_in(conn, io[0].c.job_id, jobs)])
    out["declared"] = _graph_rows(conn, dec[1], [ids_in(conn, dec[0].c.job_id, jobs)])
    out["declared_columns"] = _graph_rows(conn, dcol[1], [ids_in(conn, dcol[0].c.job_id, jobs)])
    wanted = set(jobs)
    out["io"] = sorted((r for r in out["io"] if r[4] in wanted), key=lambda r: r[0])
    return {name: sorted(rows, key=lambda r: r[0]) for name, rows in out.items()}


def node_names(conn: Connection, kind: str, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """id -> (namespace, name) of datasets (``kind`` "dataset") or jobs ("job")."""
    table = t.datasets if kind == "dataset" else t.jobs
    ids = list(ids)
    if not ids:
        return {}
    return {i: (namespace, name) for i, namespace, name in conn.execute(
        select(table.c.id, table.c.namespace, table.c.name).where(ids_in(conn, table.c.id, ids)))}


def node_names_after(conn: Connection, kind: str, high_water: int) -> list[tuple[int, str, str]]:
    """(id, namespace, name) of the datasets (``kind`` "dataset") or jobs ("job") with id > ``high_water``,
    by id, as plain tuples (lineage queries' name index; nodes are never renamed nor deleted)."""
    table = t.datasets if kind == "dataset" else t.jobs
    query = select(table.c.id, table.c.namespace, table.c.name).where(table.c.id > high_water).order_by(table.c.id)
    return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


# --------------------------------------------------------------------------- queries (lineage.graph.queries)
def node_table(kind: str) -> Table:
    """The table of a node kind: "dataset" or "job"."""
    return t.datasets if kind == "dataset" else t.jobs


def query_named(conn: Connection, kind: str, name: str, namespace: str | None, limit: int = 50) -> list[Row[Any]]:
    """id, namespace, name of the datasets (or jobs) called ``name`` (in ``namespace``), by namespace."""
    table = node_table(kind)
    query = select(table.c.id, table.c.namespace, table.c.name).where(table.c.name == name)
    if namespace is not None:
        query = query.where(table.c.namespace == namespace)
    return conn.execute(query.order_by(table.c.namespace).limit(limit)).all()


def query_by_symlink(conn: Connection, name: str, namespace: str | None, limit: int = 50) -> list[Row[Any]]:
    """id, namespace, name of the datasets with a symlink called ``name`` (namespace: the symlink's or
    the dataset's own)."""
    d, sl = t.datasets, t.dataset_symlinks
    query = select(d.c.id, d.c.namespace, d.c.name).join(sl, sl.c.dataset_id == d.c.id).where(sl.c.name == name)
    if namespace is not None:
        query = query.where((sl.c.namespace == namespace) | (d.c.namespace == namespace))
    return conn.execute(query.distinct().order_by(d.c.namespace, d.c.name).limit(limit)).all()


def query_names_containing(conn: Connection, kind: str, fragment: str, limit: int) -> list[Row[Any]]:
    """namespace, name of the datasets (or jobs) whose name contains ``fragment`` (no wildcards), by name."""
    table = node_table(kind)
    return conn.execute(select(table.c.namespace, table.c.name)
                        .where(table.c.name.contains(fragment, autoescape=True))
                        .order_by(table.c.name).limit(limit)).all()


def query_names_of_length(conn: Connection, kind: str, low: int, high: int, limit: int) -> list[Row[Any]]:
    """namespace, name of up to ``limit`` datasets (or jobs) whose name is ``low``..``high`` characters long:
    the candidates a typo's suggestion is ranked among."""
    table = node_table(kind)
    return conn.execute(select(table.c.namespace, table.c.name)
                        .where(func.length(table.c.name).between(low, high)).limit(limit)).all()


def query_last_event_time(conn: Connection, run_uuid: str) -> datetime | None:
    """The time of the run's latest stored event."""
    return conn.execute(select(func.max(t.events.c.event_time)).where(t.events.c.run_uuid == run_uuid)).scalar_one()


def query_facet_payloads(conn: Connection, kind: str, ids: Sequence[int], facet_name: str) -> list[Row[Any]]:
    """owner (dataset or job id), payload of the named dataset (or job) facets, in storage order."""
    table = t.dataset_facets if kind == "dataset" else t.job_facets
    owner = table.c.dataset_id if kind == "dataset" else table.c.job_id
    out: list[Row[Any]] = []
    for chunk in chunks(ids):
        out += conn.execute(select(owner.label("owner"), table.c.payload)
                            .where(table.c.facet_name == facet_name, owner.in_(chunk)).order_by(table.c.id)).all()
    return out  # an owner's rows are all in one chunk, in storage order


def query_run_roles(conn: Connection, dataset_id: int) -> list[Row[Any]]:
    """run_id, direction, last (latest edge time) of every run that read or wrote the dataset."""
    io = t.io_edges.c
    return conn.execute(select(io.run_id, io.direction, func.max(io.event_time).label("last"))
                        .where(io.dataset_id == dataset_id, io.run_id.is_not(None))
                        .group_by(io.run_id, io.direction)).all()


def query_runs(conn: Connection, run_ids: Sequence[int]) -> list[Row[Any]]:
    """id, run_uuid, parent_run_uuid, job namespace and name of the runs."""
    r, j = t.runs.c, t.jobs.c
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        out += conn.execute(select(r.id, r.run_uuid, r.parent_run_uuid, j.namespace, j.name)
                            .join(t.jobs, j.id == r.job_id).where(r.id.in_(chunk))).all()
    return out


def query_run_states(conn: Connection, run_ids: Sequence[int]) -> list[Row[Any]]:
    """run_id, event_type, event_time of the runs' RunEvents, oldest first."""
    s = t.run_states.c
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        out += conn.execute(select(s.run_id, s.event_type, s.event_time, s.id).where(s.run_id.in_(chunk))).all()
    return sorted(out, key=lambda r: (r.event_time, r.id))


def query_dataset_facets(conn: Connection, dataset_id: int, run_ids: Sequence[int] | None,
                         names: Sequence[str] | None) -> list[Row[Any]]:
    """run_id, scope, facet_name, payload of the dataset's facets in the runs (``run_ids`` None: its
    run-less, static ones), of the given names (None: all), in storage order."""
    f = t.dataset_facets.c
    where = [f.dataset_id == dataset_id]
    if names is not None:
        where.append(f.facet_name.in_(sorted(names)))
    if run_ids is None:
        return conn.execute(select(f.run_id, f.scope, f.facet_name, f.payload)
                            .where(*where, f.run_id.is_(None)).order_by(f.id)).all()
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        out += conn.execute(select(f.run_id, f.scope, f.facet_name, f.payload, f.id)
                            .where(*where, f.run_id.in_(chunk))).all()
    return sorted(out, key=lambda r: r.id)


def query_dataset_versions(conn: Connection, dataset_id: int, run_ids: Sequence[int]) -> list[Row[Any]]:
    """run_id, version of the dataset's versions in the runs, in storage order."""
    v = t.dataset_versions.c
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        out += conn.execute(select(v.run_id, v.version, v.id)
                            .where(v.dataset_id == dataset_id, v.run_id.in_(chunk))).all()
    return sorted(out, key=lambda r: r.id)


def query_run_facets(conn: Connection, run_ids: Sequence[int]) -> list[Row[Any]]:
    """run_id, facet_name, payload of the runs' facets, in storage order."""
    f = t.run_facets.c
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        out += conn.execute(select(f.run_id, f.facet_name, f.payload, f.id).where(f.run_id.in_(chunk))).all()
    return sorted(out, key=lambda r: r.id)


def query_datasets(conn: Connection, search: str | None, limit: int) -> list[Row[Any]]:
    """namespace, name of the stored datasets (whose name contains ``search``), by namespace and name."""
    d = t.datasets.c
    query = select(d.namespace, d.name).order_by(d.namespace, d.name)
    if search:
        query = query.where(d.name.contains(search, autoescape=True))
    return conn.execute(query.limit(limit)).all()


# --------------------------------------------------------------------------- Marquez API (lineage.graph.marquez)
def mq_namespace_firsts(conn: Connection) -> list[Row[Any]]:
    """ns, at: every namespace of a dataset or job with the first time one was seen."""
    d, j = t.datasets.c, t.jobs.c
    rows = union(select(d.namespace.label("ns"), func.min(d.first_seen).label("at")).group_by(d.namespace),
                 select(j.namespace.label("ns"), func.min(j.first_seen).label("at")).group_by(j.namespace)).subquery()
    return conn.execute(select(rows.c.ns, func.min(rows.c.at).label("at")).group_by(rows.c.ns)).all()


def mq_namespace_settings(conn: Connection) -> list[Row[Any]]:
    """Owners and descriptions set with PUT /namespaces: name, owner_name, description, created_at, updated_at."""
    return conn.execute(select(mq_namespaces)).all()


def mq_deleted_at(conn: Connection, kind: str, namespace: str, name: str) -> datetime | None:
    return deleted_at(conn, kind, namespace, name)


def mq_latest_activity(conn: Connection, kind: str, namespace: str, name: str) -> datetime | None:
    """When an event naming the job (``kind`` "job"), the dataset, or (else) a job of the namespace was
    last received."""
    e = t.events.c
    if kind == "job":
        where = and_(e.job_namespace == namespace, e.job_name == name)
    elif kind == "dataset":
        where = e.id.in_(select(t.io_edges.c.event_id).join(t.datasets, t.datasets.c.id == t.io_edges.c.dataset_id)
                         .where(t.datasets.c.namespace == namespace, t.datasets.c.name == name))
    else:
        where = e.job_namespace == namespace
    return conn.execute(select(func.max(e.received_at)).where(where)).scalar_one_or_none()


def mq_tags(conn: Connection) -> list[Row[Any]]:
    return conn.execute(select(mq_tags_table).order_by(mq_tags_table.c.name)).all()


def mq_dataset_tags(conn: Connection, namespace: str, name: str) -> list[Row[Any]]:
    """field ('' for the dataset itself), tag of a dataset, in the order they were set."""
    dt = mq_dataset_tags_table.c
    return conn.execute(select(dt.field, dt.tag).where(dt.namespace == namespace, dt.name == name)
                        .order_by(dt.id)).all()


def mq_sources(conn: Connection) -> list[Row[Any]]:
    """namespace, at: every dataset namespace with the first time one of its datasets was seen."""
    d = t.datasets.c
    return conn.execute(select(d.namespace, func.min(d.first_seen).label("at")).group_by(d.namespace)
                        .order_by(d.namespace)).all()


def mq_node(conn: Connection, kind: str, namespace: str, name: str) -> Row[Any] | None:
    """The dataset (or job) row: id, namespace, name, first_seen."""
    table = node_table(kind)
    return conn.execute(select(table.c.id, table.c.namespace, table.c.name, table.c.first_seen)
                        .where(table.c.namespace == namespace, table.c.name == name)).first()


def mq_nodes_in(conn: Connection, kind: str, namespace: str) -> list[Row[Any]]:
    """The datasets (or jobs) of a namespace by name: id, namespace, name, first_seen."""
    table = node_table(kind)
    return conn.execute(select(table.c.id, table.c.namespace, table.c.name, table.c.first_seen)
                        .where(table.c.namespace == namespace).order_by(table.c.name)).all()


def mq_dataset_facets(conn: Connection, dataset_id: int, run_id: int | None) -> list[Row[Any]]:
    """facet_name, payload of the dataset's facets, oldest first: its dataset-scope ones, or those of
    one run (input / output facets too) when ``run_id``."""
    f = t.dataset_facets.c
    scope = f.run_id == run_id if run_id is not None else f.scope == "dataset"
    return conn.execute(select(f.facet_name, f.payload).where(f.dataset_id == dataset_id, scope)
                        .order_by(f.event_time, f.id)).all()


def mq_dataset_run_edges(conn: Connection, dataset_id: int) -> list[Row[Any]]:
    """run_id, direction, at (latest edge time), run_uuid of every run that read or wrote the dataset."""
    e = t.io_edges.c
    return conn.execute(select(e.run_id, e.direction, func.max(e.event_time).label("at"), t.runs.c.run_uuid)
                        .join(t.runs, t.runs.c.id == e.run_id)
                        .where(e.dataset_id == dataset_id, e.run_id.is_not(None))
                        .group_by(e.run_id, e.direction, t.runs.c.run_uuid)).all()


def mq_job_facets(conn: Connection, job_id: int) -> list[Row[Any]]:
    """facet_name, payload of the job's facets, oldest first."""
    f = t.job_facets.c
    return conn.execute(select(f.facet_name, f.payload).where(f.job_id == job_id).order_by(f.event_time, f.id)).all()


def mq_job_run_uuids(conn: Connection, job_id: int, limit: int, offset: int) -> list[str]:
    """The job's runs, newest first (by their last event, else when first seen)."""
    r = t.runs.c
    at = func.coalesce(func.max(t.run_states.c.event_time), r.first_seen)
    query = (select(r.run_uuid).select_from(t.runs.outerjoin(t.run_states, t.run_states.c.run_id == r.id))
             .where(r.job_id == job_id).group_by(r.id, r.run_uuid, r.first_seen)
             .order_by(at.desc(), r.id.desc()).limit(limit).offset(offset))
    return list(conn.execute(query).scalars())


def mq_run_io(conn: Connection, run_id: int) -> list[Row[Any]]:
    """Distinct direction, namespace, name of the datasets a run read ("in") and wrote ("out")."""
    e, d = t.io_edges.c, t.datasets.c
    return conn.execute(select(e.direction, d.namespace, d.name).join(t.datasets, d.id == e.dataset_id)
                        .where(e.run_id == run_id).distinct()).all()


def mq_run(conn: Connection, run_uuid: str) -> Row[Any] | None:
    """The run (every column of runs) with its job's namespace and name."""
    return conn.execute(select(t.runs, t.jobs.c.namespace, t.jobs.c.name).join(t.jobs, t.jobs.c.id == t.runs.c.job_id)
                        .where(t.runs.c.run_uuid == run_uuid)).first()


def mq_run_states(conn: Connection, run_id: int) -> list[Row[Any]]:
    """event_type, event_time of the run's RunEvents, oldest first."""
    s = t.run_states.c
    return conn.execute(select(s.event_type, s.event_time).where(s.run_id == run_id)
                        .order_by(s.event_time, s.id)).all()


def mq_run_facets(conn: Connection, run_id: int) -> list[Row[Any]]:
    """facet_name, payload of the run's facets, oldest first."""
    f = t.run_facets.c
    return conn.execute(select(f.facet_name, f.payload).where(f.run_id == run_id).order_by(f.event_time, f.id)).all()


def mq_search(conn: Connection, kind: str, pattern: str, namespace: str | None, limit: int) -> list[Row[Any]]:
    """namespace, name, first_seen of datasets (or jobs) whose name matches the LIKE ``pattern``
    (case-insensitive)."""
    table = node_table(kind)
    query = select(table.c.namespace, table.c.name, table.c.first_seen).where(table.c.name.ilike(pattern))
    if namespace:
        query = query.where(table.c.namespace == namespace)
    return conn.execute(query.limit(limit)).all()


def mq_events(conn: Connection, before: datetime | None, after: datetime | None, invalid: bool, descending: bool,
              limit: int, offset: int) -> tuple[int, list[Row[Any]]]:
    """How many stored events are in the window (``invalid``: only those with warnings), and a page of
    them: id, payload."""
    e = t.events.c
    where: list[Any] = []
    if before is not None:
        where.append(e.event_time < before)
    if after is not None:
        where.append(e.event_time > after)
    if invalid:
        where.append(e.id.in_(select(event_warnings.c.event_id)))
    condition = and_(true(), *where)
    total = conn.execute(select(func.count()).select_from(t.events).where(condition)).scalar_one()
    order = (e.event_time.desc(), e.id.desc()) if descending else (e.event_time, e.id)
    rows = conn.execute(select(e.id, e.payload).where(condition).order_by(*order).limit(limit).offset(offset)).all()
    return int(total), rows


def mq_event_warnings(conn: Connection, event_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    return warnings_of(conn, list(event_ids))


def mq_event_types_between(conn: Connection, start: datetime, end: datetime) -> list[Row[Any]]:
    """event_time, event_type of the events in [start, end)."""
    e = t.events.c
    return conn.execute(select(e.event_time, e.event_type).where(e.event_time >= start, e.event_time < end)).all()


def mq_first_seen(conn: Connection, kind: str) -> list[datetime]:
    """When each job ("jobs"), dataset ("datasets") or dataset namespace ("sources") was first seen."""
    if kind == "sources":
        return [r.at for r in mq_sources(conn)]
    table = t.jobs if kind == "jobs" else t.datasets
    return list(conn.execute(select(table.c.first_seen)).scalars())


# --------------------------------------------------------------------------- RCA (lineage.analysis)
class RcaIoEdge(NamedTuple):
    dataset_id: int
    run_id: int
    direction: str
    event_time: datetime


class RcaRunState(NamedTuple):
    run_id: int
    event_type: str | None
    event_time: datetime


class RcaDatasetFacet(NamedTuple):
    dataset_id: int
    run_id: int | None
    facet_name: str
    scope: str
    payload: str
    event_time: datetime


def rca_io_edges(conn: Connection, dataset_ids: Sequence[int]) -> list[RcaIoEdge]:
    """Run-bound input/output edges of the datasets."""
    e = t.io_edges.c
    rows = _timed_rows(conn, (e.dataset_id, e.run_id, e.direction, e.event_time),
                       [ids_in(conn, e.dataset_id, dataset_ids), e.run_id.is_not(None)])
    return list(map(RcaIoEdge._make, rows))


def rca_run_facets(conn: Connection, run_ids: Sequence[int], names: Sequence[str]) -> list[Row[Any]]:
    """run_id, facet_name, payload (JSON text) of the named run facets, oldest first."""
    f = t.run_facets.c
    return list(conn.execute(select(f.run_id, f.facet_name, f.payload)
                             .where(ids_in(conn, f.run_id, run_ids), f.facet_name.in_(list(names)))
                             .order_by(f.event_time, f.id)).all())


def rca_run_states(conn: Connection, run_ids: Sequence[int]) -> list[RcaRunState]:
    """Every RunEvent of the runs."""
    s = t.run_states.c
    return list(map(RcaRunState._make, _timed_rows(conn, (s.run_id, s.event_type, s.event_time),
                                                   [ids_in(conn, s.run_id, run_ids)])))


def rca_runs(conn: Connection, run_ids: Sequence[int]) -> list[Row[Any]]:
    """id, run_uuid, job namespace and name of the runs."""
    r, j = t.runs.c, t.jobs.c
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        out += conn.execute(select(r.id, r.run_uuid, j.namespace, j.name).join(t.jobs, j.id == r.job_id)
                            .where(r.id.in_(chunk))).all()
    return out


def rca_dataset_facets(conn: Connection, run_ids: Sequence[int], dataset_ids: Sequence[int],
                       names: Sequence[str]) -> list[RcaDatasetFacet]:
    """The named facets the runs reported on the datasets, oldest first (ties by storage order). Read by
    dataset (the (dataset_id, run_id) index): by run it would also read every facet a consumer run wrote
    on datasets not asked for."""
    f = t.dataset_facets.c
    runs = set(run_ids)
    # The name compared as an expression, not the column: with hundreds of ids SQLite's planner (no ANALYZE
    # statistics) otherwise picks the facet-name index and scans every facet of those names in the store.
    name = f.facet_name.concat("")
    rows = _timed_rows(conn, (f.id, f.dataset_id, f.run_id, f.facet_name, f.scope, f.payload, f.event_time),
                       [ids_in(conn, f.dataset_id, dataset_ids), name.in_(list(names))])
    out = [r for r in rows if r[2] in runs]
    out.sort(key=lambda r: (r[-1], r[0]))
    return [RcaDatasetFacet._make(r[1:]) for r in out]


# Tables whose rows make up a dataset's snapshots (lineage.analysis.snapshot_cache follows their ids).
RCA_SOURCES = {"io": t.io_edges, "facets": t.dataset_facets, "states": t.run_states, "run_facets": t.run_facets}


def rca_change_probe(conn: Connection) -> dict[str, int]:
    """One round trip: the largest id of the RCA_SOURCES tables and of the events, the largest store-audit
    id (deletions: prune, quarantine) and, where writers run concurrently (not SQLite), the number of
    events: a lower id committed after a higher one shows only there."""
    def largest(table: Table) -> Any:
        return select(func.coalesce(func.max(table.c.id), 0)).scalar_subquery()

    probes = {**{name: largest(table) for name, table in RCA_SOURCES.items()}, "events": largest(t.events),
              "audit": largest(store_audit)}
    if conn.dialect.name != "sqlite":
        probes["events_n"] = select(func.count(t.events.c.id)).scalar_subquery()
    row = conn.execute(select(*(p.label(name) for name, p in probes.items()))).one()
    return {name: int(row[i]) for i, name in enumerate(probes)}


def rca_touched_datasets(conn: Connection, after: dict[str, int]) -> set[int]:
    """Datasets whose snapshots rows stored after the ``after`` ids (a ``rca_change_probe``) can change:
    their edges and facets, and every dataset of a run with new states or run facets."""
    io, f = t.io_edges.c, t.dataset_facets.c
    found = {r[0] for r in conn.execute(select(io.dataset_id).where(io.id > after["io"]).distinct())}
    found |= {r[0] for r in conn.execute(select(f.dataset_id).where(f.id > after["facets"]).distinct())}
    runs = {r[0] for r in conn.execute(select(t.run_states.c.run_id).where(t.run_states.c.id > after["states"]))}
    runs |= {r[0] for r in conn.execute(select(t.run_facets.c.run_id).where(t.run_facets.c.id > after["run_facets"]))}
    for chunk in chunks(runs):
        found |= {r[0] for r in conn.execute(select(io.dataset_id).where(io.run_id.in_(chunk)).distinct())}
    return found


def rca_run_id(conn: Connection, run_uuid: str) -> int | None:
    row = conn.execute(select(t.runs.c.id).where(t.runs.c.run_uuid == run_uuid)).first()
    return row.id if row else None


def rca_recent_quality_facets(conn: Connection, names: Sequence[str], limit: int) -> list[Row[Any]]:
    """The most recent dataset facets of the given names: dataset_id, run_id, facet_name, payload, event_time."""
    f = t.dataset_facets.c
    return conn.execute(select(f.dataset_id, f.run_id, f.facet_name, f.payload, f.event_time)
                        .where(f.facet_name.in_(list(names)))
                        .order_by(f.event_time.desc(), f.id.desc()).limit(limit)).all()


def rca_recent_failed_runs(conn: Connection, limit: int) -> list[Row[Any]]:
    """run_id, event_time of the most recent FAIL / ABORT run states."""
    s = t.run_states.c
    return conn.execute(select(s.run_id, s.event_time).where(s.event_type.in_(["FAIL", "ABORT"]))
                        .order_by(s.event_time.desc(), s.id.desc()).limit(limit)).all()


def rca_dataset_name(conn: Connection, dataset_id: int) -> tuple[str, str] | None:
    row = conn.execute(select(t.datasets.c.namespace, t.datasets.c.name).where(t.datasets.c.id == dataset_id)).first()
    return (row.namespace, row.name) if row else None


def rca_run_outputs(conn: Connection, run_id: int) -> list[int]:
    """Ids of the datasets a run wrote."""
    e = t.io_edges.c
    rows = conn.execute(select(e.dataset_id).where(e.run_id == run_id, e.direction == "out").distinct()).all()
    return [r.dataset_id for r in rows]


# --------------------------------------------------------------------------- incidents (lineage.analysis.incidents)
def incident_quality_facets_after(conn: Connection, after_id: int, names: Sequence[str], limit: int) -> list[Row[Any]]:
    """Dataset facets of the named kinds stored after ``after_id``, in storage order:
    id, dataset_id, run_id, facet_name, payload, event_time."""
    f = t.dataset_facets.c
    return conn.execute(select(f.id, f.dataset_id, f.run_id, f.facet_name, f.payload, f.event_time)
                        .where(f.id > after_id, f.facet_name.in_(list(names))).order_by(f.id).limit(limit)).all()


def incident_run_states_after(conn: Connection, after_id: int, types: Sequence[str], limit: int) -> list[Row[Any]]:
    """Run states of the given types stored after ``after_id``: id, run_id, event_type, event_time."""
    s = t.run_states.c
    return conn.execute(select(s.id, s.run_id, s.event_type, s.event_time)
                        .where(s.id > after_id, s.event_type.in_(list(types))).order_by(s.id).limit(limit)).all()


def incident_run_outputs(conn: Connection, run_ids: Sequence[int]) -> list[Row[Any]]:
    """run_id, dataset_id of every output edge of the runs."""
    e = t.io_edges.c
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        out += conn.execute(select(e.run_id, e.dataset_id).where(e.run_id.in_(chunk), e.direction == "out")).all()
    return out


def dataset_names(conn: Connection, dataset_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """id -> (namespace, name)."""
    d = t.datasets.c
    found: dict[int, tuple[str, str]] = {}
    for chunk in chunks(dataset_ids):
        found.update({r.id: (r.namespace, r.name) for r in conn.execute(
            select(d.id, d.namespace, d.name).where(d.id.in_(chunk)))})
    return found


# --------------------------------------------------------------------------- metrics (lineage.serve.metrics)
def metrics_latest_outputs(conn: Connection, limit: int) -> list[Row[Any]]:
    """The latest run-bound output edge per dataset, most recent first: id, namespace, name (of the
    dataset), run_id, job_ns, job_name."""
    io, ds, jobs = t.io_edges, t.datasets, t.jobs
    latest = (
        select(io.c.dataset_id, func.max(io.c.id).label("edge_id"))
        .where(io.c.direction == "out", io.c.run_id.is_not(None))
        .group_by(io.c.dataset_id)
        .subquery()
    )
    return conn.execute(
        select(ds.c.id, ds.c.namespace, ds.c.name, io.c.run_id, jobs.c.namespace.label("job_ns"),
               jobs.c.name.label("job_name"))
        .select_from(latest.join(io, io.c.id == latest.c.edge_id)
                     .join(ds, ds.c.id == io.c.dataset_id).join(jobs, jobs.c.id == io.c.job_id))
        .order_by(io.c.event_time.desc(), io.c.id.desc())
        .limit(limit)
    ).all()


def metrics_run_bounds(conn: Connection, run_ids: Sequence[int]) -> list[Row[Any]]:
    """run_id, event_type, event_time of the runs' RunEvents."""
    rs = t.run_states.c
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        out += conn.execute(select(rs.run_id, rs.event_type, rs.event_time).where(rs.run_id.in_(chunk))).all()
    return out


def metrics_run_facets(conn: Connection, run_ids: Sequence[int], names: Sequence[str]) -> list[Row[Any]]:
    """dataset_id, run_id, facet_name, payload of the runs' output (and static) dataset facets, oldest first."""
    df = t.dataset_facets.c
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        out += conn.execute(
            select(df.dataset_id, df.run_id, df.facet_name, df.payload)
            .where(df.run_id.in_(chunk), df.scope != "input", df.facet_name.in_(list(names)))
            .order_by(df.event_time, df.id)
        ).all()
    return out


def metrics_input_assertions(conn: Connection, dataset_ids: Sequence[int], since: Any, limit: int) -> list[Row[Any]]:
    """dataset_id, payload, event_time of ``dataQualityAssertions`` input facets (check runs) since
    ``since``: per chunk the ``limit`` most recent, returned oldest first."""
    df = t.dataset_facets.c
    out: list[Row[Any]] = []
    for chunk in chunks(dataset_ids):
        rows = conn.execute(
            select(df.dataset_id, df.payload, df.event_time)
            .where(df.dataset_id.in_(chunk), df.scope == "input", df.facet_name == "dataQualityAssertions",
                   df.event_time >= since)
            .order_by(df.event_time.desc(), df.id.desc())
            .limit(limit)
        ).all()
        out += rows[::-1]
    return out


def metrics_window_assertions(conn: Connection, dataset_ids: Sequence[int], since: Any,
                              limit: int) -> list[Row[Any]]:
    """dataset_id, run_id, scope, payload of every ``dataQualityAssertions`` facet since ``since``:
    per chunk the ``limit`` most recent, returned oldest first."""
    df = t.dataset_facets.c
    out: list[Row[Any]] = []
    for chunk in chunks(dataset_ids):
        rows = conn.execute(
            select(df.dataset_id, df.run_id, df.scope, df.payload)
            .where(df.dataset_id.in_(chunk), df.facet_name == "dataQualityAssertions", df.event_time >= since)
            .order_by(df.event_time.desc(), df.id.desc())
            .limit(limit)
        ).all()
        out += rows[::-1]
    return out


def metrics_window_run_states(conn: Connection, dataset_ids: Sequence[int], since: Any) -> list[Row[Any]]:
    """Distinct dataset_id, run_id, event_type of the datasets' producing runs' states since ``since``."""
    io, rs = t.io_edges, t.run_states
    out: list[Row[Any]] = []
    for chunk in chunks(dataset_ids):
        out += conn.execute(
            select(io.c.dataset_id, rs.c.run_id, rs.c.event_type).distinct()
            .select_from(io.join(rs, rs.c.run_id == io.c.run_id))
            .where(io.c.dataset_id.in_(chunk), io.c.direction == "out", rs.c.event_time >= since)
        ).all()
    return out


def metrics_last_output_statistics(conn: Connection, dataset_ids: Sequence[int]) -> list[Row[Any]]:
    """dataset_id, payload of each dataset's last ``outputStatistics`` output facet."""
    df = t.dataset_facets
    out: list[Row[Any]] = []
    for chunk in chunks(dataset_ids):
        last = (
            select(func.max(df.c.id).label("id"))
            .where(df.c.dataset_id.in_(chunk), df.c.facet_name == "outputStatistics", df.c.scope == "output")
            .group_by(df.c.dataset_id)
            .subquery()
        )
        out += conn.execute(select(df.c.dataset_id, df.c.payload).where(df.c.id.in_(select(last.c.id)))).all()
    return out


def metrics_last_complete(conn: Connection, dataset_ids: Sequence[int]) -> list[Row[Any]]:
    """dataset_id, at: the time of the last COMPLETE event of any run producing the dataset."""
    io, ev = t.io_edges, t.events
    out: list[Row[Any]] = []
    for chunk in chunks(dataset_ids):
        out += conn.execute(
            select(io.c.dataset_id, func.max(ev.c.event_time).label("at"))
            .select_from(io.join(ev, and_(ev.c.id == io.c.event_id, ev.c.event_type == "COMPLETE")))
            .where(io.c.dataset_id.in_(chunk), io.c.direction == "out")
            .group_by(io.c.dataset_id)
        ).all()
    return out


# --------------------------------------------------------------------------- web UI (lineage.serve.ui)
def ui_ids_by_name(conn: Connection, kind: str, names: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(namespace, name) -> id of the datasets (``kind`` 'dataset') or jobs ('job')."""
    table = (t.datasets if kind == "dataset" else t.jobs).c
    wanted = set(names)
    found: dict[tuple[str, str], int] = {}
    for chunk in chunks({name for _, name in wanted}):
        for r in conn.execute(select(table.id, table.namespace, table.name).where(table.name.in_(chunk))):
            if (r.namespace, r.name) in wanted:
                found[(r.namespace, r.name)] = r.id
    return found


def ui_latest_dataset_facets(conn: Connection, dataset_ids: Sequence[int], names: Sequence[str]) -> list[Row[Any]]:
    """dataset_id, facet_name, payload of each dataset's latest facet of each name (any scope)."""
    f = t.dataset_facets
    out: list[Row[Any]] = []
    for chunk in chunks(dataset_ids):
        last = (select(func.max(f.c.id).label("id"))
                .where(f.c.dataset_id.in_(chunk), f.c.facet_name.in_(list(names)))
                .group_by(f.c.dataset_id, f.c.facet_name).subquery())
        out += conn.execute(select(f.c.dataset_id, f.c.facet_name, f.c.payload)
                            .where(f.c.id.in_(select(last.c.id)))).all()
    return out


def ui_latest_run_state(conn: Connection, owner: str, ids: Sequence[int]) -> list[Row[Any]]:
    """owner_id, event_type of the latest RunEvent of the latest run producing each dataset
    (``owner`` 'dataset') or of each job ('job')."""
    io, rs, r = t.io_edges.c, t.run_states.c, t.runs.c
    out: list[Row[Any]] = []
    for chunk in chunks(ids):
        if owner == "dataset":
            query = (select(io.dataset_id.label("owner_id"), func.max(rs.id).label("state_id"))
                     .select_from(t.io_edges.join(t.run_states, rs.run_id == io.run_id))
                     .where(io.dataset_id.in_(chunk), io.direction == "out").group_by(io.dataset_id))
        else:
            query = (select(r.job_id.label("owner_id"), func.max(rs.id).label("state_id"))
                     .select_from(t.runs.join(t.run_states, rs.run_id == r.id))
                     .where(r.job_id.in_(chunk)).group_by(r.job_id))
        last = query.subquery()
        out += conn.execute(select(last.c.owner_id, rs.event_type)
                            .select_from(last.join(t.run_states, rs.id == last.c.state_id))).all()
    return out


def ui_recent_runs(conn: Connection, limit: int, states: Sequence[str] | None = None) -> list[Row[Any]]:
    """The most recently updated runs (optionally only those whose latest state is in ``states``):
    run_id, run_uuid, job_namespace, job_name, event_type, event_time of their latest RunEvent."""
    rs, r, j = t.run_states.c, t.runs.c, t.jobs.c
    last = select(func.max(rs.id).label("id")).group_by(rs.run_id).subquery()
    query = (select(rs.run_id, r.run_uuid, j.namespace.label("job_namespace"), j.name.label("job_name"),
                    rs.event_type, rs.event_time)
             .select_from(t.run_states.join(last, last.c.id == rs.id).join(t.runs, r.id == rs.run_id)
                          .join(t.jobs, j.id == r.job_id)))
    if states:
        query = query.where(rs.event_type.in_(list(states)))
    return conn.execute(query.order_by(rs.event_time.desc(), rs.id.desc()).limit(limit)).all()


def ui_event_counts_by_producer(conn: Connection) -> list[Row[Any]]:
    """producer, events (count), last (latest event time), most events first."""
    e = t.events.c
    return conn.execute(select(e.producer, func.count().label("events"), func.max(e.event_time).label("last"))
                        .group_by(e.producer).order_by(func.count().desc(), e.producer)).all()


def ui_dataset_facet_rows(conn: Connection, dataset_id: int, names: Sequence[str], limit: int) -> list[Row[Any]]:
    """run_id, scope, facet_name, payload, event_time of one dataset's named facets: the ``limit``
    most recent, returned oldest first."""
    f = t.dataset_facets.c
    rows = conn.execute(select(f.run_id, f.scope, f.facet_name, f.payload, f.event_time)
                        .where(f.dataset_id == dataset_id, f.facet_name.in_(list(names)))
                        .order_by(f.event_time.desc(), f.id.desc()).limit(limit)).all()
    return rows[::-1]


def ui_search_names(conn: Connection, kind: str, text_: str, limit: int) -> list[Row[Any]]:
    """namespace, name of datasets ('dataset') or jobs ('job') whose name or namespace contains ``text_``."""
    table = (t.datasets if kind == "dataset" else t.jobs).c
    hit = table.name.contains(text_, autoescape=True) | table.namespace.contains(text_, autoescape=True)
    return conn.execute(select(table.namespace, table.name).where(hit)
                        .order_by(func.length(table.name), table.name).limit(limit)).all()


def ui_search_fields(conn: Connection, text_: str, limit: int) -> list[Row[Any]]:
    """Distinct dataset_id, field of column-lineage edges (either end) whose field contains ``text_``."""
    c = t.column_edges.c
    src = select(c.src_dataset_id.label("dataset_id"), c.src_field.label("field")).where(
        c.src_field.contains(text_, autoescape=True))
    dst = select(c.dst_dataset_id.label("dataset_id"), c.dst_field.label("field")).where(
        c.dst_field.contains(text_, autoescape=True))
    both = src.union(dst).subquery()
    return conn.execute(select(both.c.dataset_id, both.c.field).limit(limit)).all()


def ui_schema_facets_containing(conn: Connection, text_: str, limit: int) -> list[Row[Any]]:
    """dataset_id, payload of the latest schema facets whose JSON contains ``text_`` (newest first)."""
    f = t.dataset_facets.c
    return conn.execute(select(f.dataset_id, f.payload)
                        .where(f.facet_name == "schema", f.payload.contains(text_, autoescape=True))
                        .order_by(f.id.desc()).limit(limit)).all()


def ui_search_fields_of(conn: Connection, dataset_id: int) -> list[str]:
    """The fields of one dataset that column lineage names (as a source or a target)."""
    c = t.column_edges.c
    src = select(c.src_field.label("field")).where(c.src_dataset_id == dataset_id)
    dst = select(c.dst_field.label("field")).where(c.dst_dataset_id == dataset_id, c.dst_field.is_not(None))
    return sorted({r.field for r in conn.execute(src.union(dst))})
