"""Incident state: incidents, their timeline, and the sync cursor.

Revision ID: 0003_incidents
Revises: 0002_declared_lineage
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_incidents"
down_revision: str | None = "0002_declared_lineage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "lineage_incidents",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("cause_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=False), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=False), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=False), nullable=True),
        sa.Column("resolution", sa.String(16), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_incidents"),
    )
    op.create_index("ix_lineage_incidents_cause_status", "lineage_incidents", ["cause_key", "status"])
    op.create_table(
        "lineage_incident_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("incident_id", ID, sa.ForeignKey("lineage_incidents.id",
                                                   name="fk_lineage_incident_events_incident_id_lineage_incidents"),
                  nullable=False),
        sa.Column("time", sa.DateTime(timezone=False), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lineage_incident_events"),
    )
    op.create_index("ix_lineage_incident_events_incident", "lineage_incident_events", ["incident_id"])
    op.create_table(
        "lineage_incident_cursor",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_lineage_incident_cursor"),
    )


def downgrade() -> None:
    op.drop_table("lineage_incident_cursor")
    op.drop_index("ix_lineage_incident_events_incident", table_name="lineage_incident_events")
    op.drop_table("lineage_incident_events")
    op.drop_index("ix_lineage_incidents_cause_status", table_name="lineage_incidents")
    op.drop_table("lineage_incidents")
