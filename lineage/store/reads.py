"""Read helpers over the lineage tables, one section per reader (RCA, incidents, metrics, queries).

Each function takes an open connection (``store.read()``) and returns plain rows; what they mean
is the caller's business. Id lists are read in chunks so a large ancestry stays within the
databases' bound-parameter limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Row, and_, func, select

from lineage.store import tables as t

IN_CHUNK = 500


def chunks(ids: Iterable[Any], size: int = IN_CHUNK) -> Iterator[list[Any]]:
    items = sorted(set(ids))
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --------------------------------------------------------------------------- RCA (lineage.analysis)
def rca_io_edges(conn: Connection, dataset_ids: Sequence[int]) -> list[Row[Any]]:
    """Run-bound input/output edges of the datasets: dataset_id, run_id, direction, event_time."""
    e = t.io_edges.c
    out: list[Row[Any]] = []
    for chunk in chunks(dataset_ids):
        out += conn.execute(select(e.dataset_id, e.run_id, e.direction, e.event_time)
                            .where(e.dataset_id.in_(chunk), e.run_id.is_not(None))).all()
    return out


def rca_run_facets(conn: Connection, run_ids: Sequence[int], names: Sequence[str]) -> list[Row[Any]]:
    """run_id, facet_name, payload (JSON text) of the named run facets, oldest first."""
    f = t.run_facets.c
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        out += conn.execute(select(f.run_id, f.facet_name, f.payload)
                            .where(f.run_id.in_(chunk), f.facet_name.in_(list(names)))
                            .order_by(f.event_time, f.id)).all()
    return out


def rca_run_states(conn: Connection, run_ids: Sequence[int]) -> list[Row[Any]]:
    """run_id, event_type, event_time of every RunEvent of the runs."""
    s = t.run_states.c
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        out += conn.execute(select(s.run_id, s.event_type, s.event_time).where(s.run_id.in_(chunk))).all()
    return out


def rca_runs(conn: Connection, run_ids: Sequence[int]) -> list[Row[Any]]:
    """id, run_uuid, job namespace and name of the runs."""
    r, j = t.runs.c, t.jobs.c
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        out += conn.execute(select(r.id, r.run_uuid, j.namespace, j.name).join(t.jobs, j.id == r.job_id)
                            .where(r.id.in_(chunk))).all()
    return out


def rca_dataset_facets(conn: Connection, run_ids: Sequence[int], dataset_ids: Sequence[int],
                       names: Sequence[str]) -> list[Row[Any]]:
    """dataset_id, run_id, facet_name, scope, payload, event_time of the named facets, oldest first."""
    f = t.dataset_facets.c
    wanted = set(dataset_ids)
    out: list[Row[Any]] = []
    for chunk in chunks(run_ids):
        rows = conn.execute(select(f.dataset_id, f.run_id, f.facet_name, f.scope, f.payload, f.event_time)
                            .where(f.run_id.in_(chunk), f.facet_name.in_(list(names)))
                            .order_by(f.event_time, f.id)).all()
        out += [r for r in rows if r.dataset_id in wanted]
    out.sort(key=lambda r: r.event_time)
    return out


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
