"""Store operations: retention (prune), quarantine, backup and restore, each recorded in the audit log.

``lineage_events`` is append-only (a database trigger); the only way past it is a *delete grant*:
:func:`_granted` inserts a row into ``lineage_delete_grants``, the trigger lets DELETEs through while
one exists, and the grant is removed again in the same transaction as the deletion and its audit
record (migration 0006). No other transaction ever sees a grant, UPDATE and TRUNCATE stay refused.

* :func:`prune`: events older than N days go, with their derived rows, except those that hold the
  current graph: for every edge (job ↔ dataset, column → column, declared edge), symlink, dataset
  version and dataset / job facet kind, the newest event that states it is kept, so every lineage
  query answers as before. Nodes (datasets, jobs, runs) are never deleted.
* :func:`quarantine`: one event leaves every query (its derived rows are deleted), the whole event
  is kept in ``lineage_quarantine`` with the reason, and re-sending it stores nothing;
  :func:`release` puts it back (derived again).
* :func:`backup` / :func:`restore`: SQLite's online backup API (a consistent copy while writers run),
  checked with ``PRAGMA integrity_check``. PostgreSQL: ``pg_dump`` / ``pg_restore`` (README).
"""

from __future__ import annotations

import getpass
import json
import sqlite3
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from lineage.store import tables as t
from lineage.store.database import LineageStore, to_naive_utc, utcnow
from lineage.store.retention_tables import delete_grants, quarantine as quarantined, store_audit

CHUNK = 500
# The newest event per group of these columns holds the current graph (see the module docstring).
GRAPH_KEYS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (t.io_edges, ("job_id", "dataset_id", "direction")),
    (t.column_edges, ("src_dataset_id", "src_field", "dst_dataset_id", "dst_field")),
    (t.declared_edges, ("src_kind", "src_id", "dst_kind", "dst_id")),
    (t.declared_column_edges, ("src_dataset_id", "src_field", "dst_dataset_id", "dst_field")),
    (t.dataset_symlinks, ("dataset_id", "namespace", "name")),
    (t.dataset_versions, ("dataset_id",)),
    (t.dataset_facets, ("dataset_id", "facet_name")),
    (t.job_facets, ("job_id", "facet_name")),
)


class StoreOperationError(RuntimeError):
    """An operation the store cannot do (unknown event, wrong backend, not a lineage store...)."""


@dataclass(frozen=True)
class PruneResult:
    older_than_days: float
    cutoff: str
    events_deleted: int
    kept_for_graph: int
    derived_rows_deleted: int
    dry_run: bool
    audit_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def derived_tables() -> list[Any]:
    """Every table whose rows are derived from one stored event (``event_id`` → ``lineage_events``)."""
    return [tbl for tbl in t.metadata.sorted_tables if "event_id" in tbl.c
            and any(fk.column.table is t.events for fk in tbl.c.event_id.foreign_keys)]


def _actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _audit(conn: Connection, action: str, detail: dict[str, Any], event_id: int | None = None,
           event_hash: str | None = None) -> int:
    row = conn.execute(insert(store_audit).values(
        at=utcnow(), action=action, actor=_actor(), event_id=event_id, event_hash=event_hash,
        detail=json.dumps(detail, sort_keys=True, default=str)).returning(store_audit.c.id))
    return int(row.scalar_one())


def _delete_events(conn: Connection, ids: list[int], action: str) -> int:
    """Delete events and their derived rows under a grant (this transaction only); derived rows deleted."""
    grant = conn.execute(insert(delete_grants).values(action=action, created_at=utcnow())
                         .returning(delete_grants.c.id)).scalar_one()
    derived = 0
    tables = derived_tables()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        for tbl in tables:
            derived += conn.execute(delete(tbl).where(tbl.c.event_id.in_(chunk))).rowcount or 0
        conn.execute(delete(t.events).where(t.events.c.id.in_(chunk)))
    conn.execute(delete(delete_grants).where(delete_grants.c.id == grant))
    return derived


def _graph_event_ids(conn: Connection) -> set[int]:
    """The newest event (by eventTime; ids follow hash order, not time) stating each graph element."""
    keep: set[int] = set()
    e = t.events.c
    for tbl, keys in GRAPH_KEYS:
        rank = func.row_number().over(partition_by=[tbl.c[k] for k in keys], order_by=(e.event_time.desc(), e.id.desc()))
        ranked = (select(tbl.c.event_id, rank.label("rank")).select_from(tbl.join(t.events, e.id == tbl.c.event_id))
                  .subquery())
        keep.update(conn.execute(select(ranked.c.event_id).where(ranked.c.rank == 1)).scalars())
    return keep


def prune(store: LineageStore, older_than_days: float, *, dry_run: bool = False) -> PruneResult:
    """Delete the events whose ``eventTime`` is more than ``older_than_days`` ago, except those holding
    the current graph; one audit record (``dry_run``: count only, change nothing)."""
    if older_than_days < 0:
        raise StoreOperationError(f"--older-than must be >= 0 days (got {older_than_days})")
    cutoff = to_naive_utc(utcnow()) - timedelta(days=older_than_days)
    with store.write() as conn:
        keep = _graph_event_ids(conn)
        old = conn.execute(select(t.events.c.id).where(t.events.c.event_time < cutoff).order_by(t.events.c.id))
        old_ids = list(old.scalars())
        victims = [i for i in old_ids if i not in keep]
        kept = len(old_ids) - len(victims)
        derived = 0 if dry_run else _delete_events(conn, victims, "prune")
        detail = {"older_than_days": older_than_days, "cutoff": cutoff.isoformat(), "events_deleted": len(victims),
                  "kept_for_graph": kept, "derived_rows_deleted": derived,
                  "first_id": victims[0] if victims else None, "last_id": victims[-1] if victims else None}
        audit_id = None if dry_run else _audit(conn, "prune", detail)
    return PruneResult(older_than_days, cutoff.isoformat(), len(victims), kept, derived, dry_run, audit_id)


def quarantine(store: LineageStore, event_id: int, reason: str) -> dict[str, Any]:
    """Hide one stored event from every query; the whole event stays in the quarantine and audit log."""
    if not reason.strip():
        raise StoreOperationError("a quarantine needs a reason (--reason)")
    with store.write() as conn:
        row = conn.execute(select(t.events).where(t.events.c.id == event_id)).first()
        if row is None:
            held = conn.execute(select(quarantined.c.event_id).where(quarantined.c.event_id == event_id)).first()
            raise StoreOperationError(f"event {event_id} is already quarantined" if held
                                      else f"no stored event with id {event_id}")
        conn.execute(insert(quarantined).values(
            event_id=row.id, event_hash=row.event_hash, event_time=row.event_time, received_at=row.received_at,
            payload=row.payload, reason=reason, quarantined_at=utcnow(), actor=_actor()))
        derived = _delete_events(conn, [row.id], "quarantine")
        detail = {"reason": reason, "event_type": row.event_type, "job": f"{row.job_namespace}/{row.job_name}",
                  "event_time": row.event_time.isoformat(), "derived_rows_hidden": derived}
        audit_id = _audit(conn, "quarantine", detail, row.id, row.event_hash)
    return {"event_id": row.id, "event_hash": row.event_hash, "audit_id": audit_id, **detail}


def release(store: LineageStore, event_id: int) -> dict[str, Any]:
    """Take an event out of quarantine: stored again (a new id) and derived again."""
    with store.read() as conn:
        row = conn.execute(select(quarantined).where(quarantined.c.event_id == event_id)).first()
    if row is None:
        raise StoreOperationError(f"event {event_id} is not quarantined")
    with store.write() as conn:
        conn.execute(delete(quarantined).where(quarantined.c.event_id == event_id))
        # The payload goes into the audit record: the event survives even if the ingest below fails.
        _audit(conn, "release", {"reason": row.reason, "payload": row.payload}, event_id, row.event_hash)
    result = store.ingest([json.loads(row.payload)], validate=False)
    return {"event_id": event_id, "new_event_id": result.event_ids[0] if result.event_ids else None}


def quarantined_events(store: LineageStore) -> list[dict[str, Any]]:
    with store.read() as conn:
        rows = conn.execute(select(quarantined.c.event_id, quarantined.c.event_hash, quarantined.c.event_time,
                                   quarantined.c.reason, quarantined.c.quarantined_at, quarantined.c.actor)
                            .order_by(quarantined.c.event_id))
        return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r._mapping.items()} for r in rows]


def audit_log(store: LineageStore, limit: int = 100) -> list[dict[str, Any]]:
    with store.read() as conn:
        rows = conn.execute(select(store_audit).order_by(store_audit.c.id.desc()).limit(limit))
        return [{**{k: v for k, v in r._mapping.items() if k != "detail"}, "at": r.at.isoformat(),
                 "detail": json.loads(r.detail)} for r in rows]


# --------------------------------------------------------------------------- backup / restore (SQLite)
def _sqlite_file(store: LineageStore) -> Path:
    if store.dialect != "sqlite" or not store.engine.url.database or store.engine.url.database == ":memory:":
        raise StoreOperationError(
            f"backup and restore copy a SQLite store file; this store is {store.dialect} ({store.url}). "
            "PostgreSQL: pg_dump -Fc -d URL -f FILE, and pg_restore --clean -d URL FILE (see README, Operations)")
    return Path(store.engine.url.database).expanduser()


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        conn.close()


def backup(store: LineageStore, target: Path, *, overwrite: bool = False) -> dict[str, Any]:
    """A consistent copy of the store file (SQLite backup API; writers may go on), integrity-checked."""
    source = _sqlite_file(store)
    target = Path(target).expanduser()
    if target.exists() and not overwrite:
        raise StoreOperationError(f"{target} exists; pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    check = _integrity(target)
    if check != "ok":
        raise StoreOperationError(f"the backup {target} failed its integrity check: {check}")
    with store.write() as conn:
        _audit(conn, "backup", {"target": str(target), "bytes": target.stat().st_size})
    return {"source": str(source), "target": str(target), "bytes": target.stat().st_size, "integrity": check}


def restore(store: LineageStore, backup_file: Path) -> dict[str, Any]:
    """Replace the store's content by a backup (checked first). Stop writers (server, emitters) before."""
    target = _sqlite_file(store)
    backup_file = Path(backup_file).expanduser()
    if not backup_file.is_file():
        raise StoreOperationError(f"no backup file at {backup_file}")
    check = _integrity(backup_file)
    if check != "ok":
        raise StoreOperationError(f"{backup_file} is not a sound SQLite database ({check}); nothing was restored")
    src = sqlite3.connect(f"{backup_file.resolve().as_uri()}?mode=ro", uri=True)
    try:
        if not src.execute("SELECT 1 FROM sqlite_master WHERE name = 'lineage_alembic_version'").fetchone():
            raise StoreOperationError(f"{backup_file} is not a lineage store backup (no lineage_alembic_version)")
        store.engine.dispose()  # no pooled connection may hold the old content
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    store.migrate()  # a backup from an older version is brought up to date
    with store.write() as conn:
        _audit(conn, "restore", {"from": str(backup_file)})
    return {"restored_from": str(backup_file), "target": str(target), "events": store.event_count()}
