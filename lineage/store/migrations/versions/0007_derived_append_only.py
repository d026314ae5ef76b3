"""Derived facet rows are append-only like the raw events: a DELETE passes only under a delete grant.

``lineage_dataset_facets`` and ``lineage_run_facets`` hold the evidence RCA and the metrics read
(checks, drift, statistics); deleting them silently rewrote history while the raw events stayed.
They now refuse UPDATE, TRUNCATE and any DELETE outside ``lineage.store.retention`` (which holds a
``lineage_delete_grants`` row for the length of its transaction, migration 0006). Job facets are
left out: ``rederive`` rebuilds them (``DERIVED_SINCE_0002``).

Revision ID: 0007_derived_append_only
Revises: 0006_retention
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_derived_append_only"
down_revision: str | None = "0006_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("lineage_dataset_facets", "lineage_run_facets")
MESSAGE = "derived facet rows are append-only like lineage_events; prune or quarantine through `obs store`"


def _sqlite(table: str) -> tuple[str, ...]:
    return (
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"WHEN NOT EXISTS (SELECT 1 FROM lineage_delete_grants) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    )


def _postgres(table: str) -> tuple[str, ...]:
    return (
        f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION lineage_derived_append_only()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION lineage_derived_append_only()",
    )


_POSTGRES_FUNCTION = (
    "CREATE OR REPLACE FUNCTION lineage_derived_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM lineage_delete_grants) THEN RETURN OLD; END IF; "
    f"RAISE EXCEPTION '{MESSAGE}'; END $$"
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_POSTGRES_FUNCTION)
    for table in TABLES:
        for statement in {"sqlite": _sqlite, "postgresql": _postgres}.get(dialect, lambda _: ())(table):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS lineage_derived_append_only()")
