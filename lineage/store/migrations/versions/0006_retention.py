"""Retention and quarantine: an audit log of store operations, quarantined events, and the one
documented way past the append-only trigger.

``lineage_events`` stays append-only for every writer; a DELETE passes only inside a transaction that
holds a row in ``lineage_delete_grants`` — which ``lineage.store.retention`` (``obs store prune`` /
``obs store quarantine``) inserts, uses and removes in the same transaction as its audit record, so no
other transaction ever sees a grant. UPDATE and TRUNCATE stay refused.

Revision ID: 0006_retention
Revises: 0005_marquez_state
Create Date: 2026-12-02 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_retention"
down_revision: str | None = "0005_marquez_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MESSAGE = "lineage_events is an append-only audit trail; prune or quarantine through `obs store`"

_SQLITE_GRANTED_DELETE = (
    "DROP TRIGGER IF EXISTS lineage_events_no_delete",
    "CREATE TRIGGER lineage_events_no_delete BEFORE DELETE ON lineage_events "
    "WHEN NOT EXISTS (SELECT 1 FROM lineage_delete_grants) "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
)
_POSTGRES_GRANTED_DELETE = (
    "CREATE OR REPLACE FUNCTION lineage_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM lineage_delete_grants) THEN RETURN OLD; END IF; "
    f"RAISE EXCEPTION '{MESSAGE}'; END $$",
)
_SQLITE_APPEND_ONLY = (
    "DROP TRIGGER IF EXISTS lineage_events_no_delete",
    "CREATE TRIGGER lineage_events_no_delete BEFORE DELETE ON lineage_events "
    "BEGIN SELECT RAISE(ABORT, 'lineage_events is an append-only audit trail'); END",
)
_POSTGRES_APPEND_ONLY = (
    "CREATE OR REPLACE FUNCTION lineage_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'lineage_events is an append-only audit trail'; END $$",
)


def upgrade() -> None:
    op.create_table(
        "lineage_delete_grants",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_delete_grants")),
    )
    op.create_table(
        "lineage_store_audit",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("event_id", ID, nullable=True),
        sa.Column("event_hash", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_store_audit")),
    )
    op.create_table(
        "lineage_quarantine",
        sa.Column("event_id", ID, autoincrement=False, nullable=False),
        sa.Column("event_hash", sa.String(64), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=False), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("quarantined_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_lineage_quarantine")),
        sa.UniqueConstraint("event_hash", name="uq_lineage_quarantine_event_hash"),
    )
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_GRANTED_DELETE, "postgresql": _POSTGRES_GRANTED_DELETE}.get(dialect, ()):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_APPEND_ONLY, "postgresql": _POSTGRES_APPEND_ONLY}.get(dialect, ()):
        op.execute(statement)
    op.drop_table("lineage_quarantine")
    op.drop_table("lineage_store_audit")
    op.drop_table("lineage_delete_grants")
