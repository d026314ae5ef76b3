"""Alembic migrations of the lineage store, applied programmatically by `LineageStore.open`."""
