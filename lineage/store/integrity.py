"""Start-up integrity check of the store: a damaged SQLite file is refused before it takes writes.

A SQLite file with a damaged page opens, answers simple reads and accepts inserts into the pages
still intact, so the damage spreads silently. ``PRAGMA quick_check`` reads every page (it skips
only the index-content cross-check of ``integrity_check``): seconds for a store of a few GB, run
once when the server starts. PostgreSQL checks its own pages (checksums, WAL); nothing to do there.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from lineage.store.database import LineageStore

_MAX_REPORTED = 3


def integrity_problem(store: LineageStore) -> str | None:
    """A one-line description of the damage, or ``None`` when the store is intact (or not SQLite)."""
    if store.engine.dialect.name != "sqlite":
        return None
    try:
        with store.engine.connect() as conn:
            rows = [str(r[0]) for r in conn.execute(text(f"PRAGMA quick_check({_MAX_REPORTED})"))]
    except DatabaseError as exc:  # "database disk image is malformed" before any row
        return str(getattr(exc, "orig", exc)).splitlines()[0]
    if rows == ["ok"]:
        return None
    return "; ".join(rows)[:500]


class StoreDamagedError(RuntimeError):
    """The store failed its integrity check; the message says what and what to do."""


def require_intact(store: LineageStore) -> None:
    problem = integrity_problem(store)
    if problem is not None:
        raise StoreDamagedError(
            f"the lineage store {store.url} is damaged ({problem}); stop its writers and restore it from a "
            "backup, or salvage it with `sqlite3 <file> .recover | sqlite3 <new file>`"
        )
