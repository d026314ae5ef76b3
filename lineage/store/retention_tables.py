"""Tables of migration 0006: the audit log of store operations (prune, quarantine, release, restore),
quarantined events (kept whole, hidden from every query) and the delete grants that let exactly those
operations past the append-only trigger (see ``lineage.store.retention``)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, String, Table, Text, UniqueConstraint

from lineage.store.tables import Id, metadata

delete_grants = Table(
    "lineage_delete_grants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("action", String(32), nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
)

store_audit = Table(
    "lineage_store_audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=False), nullable=False),
    Column("action", String(32), nullable=False),
    Column("actor", Text, nullable=True),
    Column("event_id", Id, nullable=True),
    Column("event_hash", String(64), nullable=True),
    Column("detail", Text, nullable=False),  # JSON
)

quarantine = Table(
    "lineage_quarantine",
    metadata,
    Column("event_id", Id, primary_key=True, autoincrement=False),  # its id while it was stored
    Column("event_hash", String(64), nullable=False),
    Column("event_time", DateTime(timezone=False), nullable=False),
    Column("received_at", DateTime(timezone=False), nullable=False),
    Column("payload", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("quarantined_at", DateTime(timezone=False), nullable=False),
    Column("actor", Text, nullable=True),
    UniqueConstraint("event_hash", name="uq_lineage_quarantine_event_hash"),
)

RETENTION_TABLES = (delete_grants, store_audit, quarantine)
