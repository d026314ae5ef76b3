"""The last outbox report of each worker (lineage/store/worker_reports.py), read by /metrics.

Revision ID: 0008_worker_reports
Revises: 0007_derived_append_only
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_worker_reports"
down_revision: str | None = "0007_derived_append_only"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.DateTime(timezone=False)


def upgrade() -> None:
    op.create_table(
        "lineage_worker_reports",
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pending", sa.BigInteger(), nullable=False),
        sa.Column("dead", sa.BigInteger(), nullable=False),
        sa.Column("oldest_pending_age_s", sa.Float(), nullable=True),
        sa.Column("spool_files", sa.BigInteger(), nullable=True),
        sa.Column("reported_at", NOW, nullable=False),
        sa.Column("received_at", NOW, nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_lineage_worker_reports")),
    )
    op.create_index("ix_lineage_worker_reports_received_at", "lineage_worker_reports", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_lineage_worker_reports_received_at", table_name="lineage_worker_reports")
    op.drop_table("lineage_worker_reports")
