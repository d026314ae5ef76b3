"""Alembic environment: always runs on the connection `lineage.store` hands over.

The store opens the transaction (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL) so
several processes opening a fresh database at once migrate it exactly once.
"""

from __future__ import annotations

from alembic import context

from lineage.store.tables import metadata

VERSION_TABLE = "lineage_alembic_version"  # not `alembic_version`: Dagster shares the database


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "lineage migrations run through lineage.store.LineageStore.open(url), "
            "which passes its connection; the alembic command line is not wired up"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) mode is not supported for the lineage store")
run_migrations_online()
