"""State of Marquez's write API: namespace owners, tags, dataset/field tags, soft deletes.

Revision ID: 0005_marquez_state
Revises: 0004_event_warnings
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_marquez_state"
down_revision: str | None = "0004_event_warnings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NOW = sa.DateTime(timezone=False)


def upgrade() -> None:
    op.create_table(
        "lineage_mq_namespaces",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("owner_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.Column("updated_at", NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_mq_namespaces")),
        sa.UniqueConstraint("name", name="uq_lineage_mq_namespaces_name"),
    )
    op.create_table(
        "lineage_mq_tags",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_mq_tags")),
        sa.UniqueConstraint("name", name="uq_lineage_mq_tags_name"),
    )
    op.create_table(
        "lineage_mq_dataset_tags",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_mq_dataset_tags")),
        sa.UniqueConstraint("namespace", "name", "field", "tag", name="uq_lineage_mq_dataset_tags_key"),
    )
    op.create_table(
        "lineage_mq_deleted",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("deleted_at", NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_mq_deleted")),
        sa.UniqueConstraint("kind", "namespace", "name", name="uq_lineage_mq_deleted_key"),
    )
    op.create_index("ix_lineage_mq_deleted_namespace", "lineage_mq_deleted", ["namespace"])


def downgrade() -> None:
    op.drop_index("ix_lineage_mq_deleted_namespace", table_name="lineage_mq_deleted")
    for table in ("lineage_mq_deleted", "lineage_mq_dataset_tags", "lineage_mq_tags", "lineage_mq_namespaces"):
        op.drop_table(table)
