"""Schema warnings of stored events (migration 0004): what lenient ingest accepted despite the spec.

One row per problem (JSON path, message, the schema URL it was checked against), written in the
ingest transaction of the event, insert-only like the derived tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Connection, DateTime, ForeignKey, Index, Table, Text, func, select

from lineage.store.tables import Id, metadata

event_warnings = Table(
    "lineage_event_warnings",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("lineage_events.id"), nullable=False),
    Column("path", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("schema_url", Text, nullable=True),
    Column("event_time", DateTime(timezone=False), nullable=False),
    Index("ix_lineage_event_warnings_event_id", "event_id"),
)

WARNING_TABLES = (event_warnings,)


def warning_totals(conn: Connection) -> tuple[int, int]:
    """(events with at least one warning, warnings): what `/metrics` reports."""
    events = conn.execute(select(func.count(func.distinct(event_warnings.c.event_id)))).scalar_one()
    total = conn.execute(select(func.count()).select_from(event_warnings)).scalar_one()
    return int(events), int(total)


def warnings_of(conn: Connection, event_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Warnings per stored event id, in the order they were recorded."""
    out: dict[int, list[dict[str, Any]]] = {}
    if not event_ids:
        return out
    query = select(event_warnings).where(event_warnings.c.event_id.in_(list(event_ids))).order_by(event_warnings.c.id)
    for row in conn.execute(query):
        out.setdefault(row.event_id, []).append({"path": row.path, "message": row.message, "schemaURL": row.schema_url})
    return out
