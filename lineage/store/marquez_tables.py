"""What Marquez's write API keeps beside the events (migration 0005): namespace owners, tags, tags on
datasets and their fields, soft deletes. Updated in place like the incident tables; events stay
the source of truth for everything else.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, String, Table, Text, UniqueConstraint

from lineage.store.tables import Id, metadata

mq_namespaces = Table(
    "lineage_mq_namespaces",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("owner_name", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
    UniqueConstraint("name", name="uq_lineage_mq_namespaces_name"),
)

mq_tags = Table(
    "lineage_mq_tags",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("created_at", DateTime(timezone=False), nullable=False),
    UniqueConstraint("name", name="uq_lineage_mq_tags_name"),
)

# A tag on a dataset (`field` '') or on one of its fields.
mq_dataset_tags = Table(
    "lineage_mq_dataset_tags",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("field", Text, nullable=False),
    Column("tag", Text, nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    UniqueConstraint("namespace", "name", "field", "tag", name="uq_lineage_mq_dataset_tags_key"),
)

# Soft deletes: kind 'namespace' (name ''), 'dataset' or 'job'. Hidden until an event names it again.
mq_deleted = Table(
    "lineage_mq_deleted",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("deleted_at", DateTime(timezone=False), nullable=False),
    UniqueConstraint("kind", "namespace", "name", name="uq_lineage_mq_deleted_key"),
    Index("ix_lineage_mq_deleted_namespace", "namespace"),
)

MARQUEZ_TABLES = (mq_namespaces, mq_tags, mq_dataset_tags, mq_deleted)
