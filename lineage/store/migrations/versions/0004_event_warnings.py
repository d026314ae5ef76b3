"""Schema warnings of stored events (lenient ingest).

Revision ID: 0004_event_warnings
Revises: 0003_incidents
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_event_warnings"
down_revision: str | None = "0003_incidents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lineage_event_warnings",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("schema_url", sa.Text(), nullable=True),
        sa.Column("event_time", sa.DateTime(timezone=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["lineage_events.id"], name=op.f("fk_lineage_event_warnings_event_id_lineage_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lineage_event_warnings")),
    )
    op.create_index("ix_lineage_event_warnings_event_id", "lineage_event_warnings", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_lineage_event_warnings_event_id", table_name="lineage_event_warnings")
    op.drop_table("lineage_event_warnings")
