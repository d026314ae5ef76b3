"""Symlinks, job facets and declared lineage (the `lineage` facet, static column lineage).

Creates the four tables and re-derives their rows from the stored events.

Revision ID: 0002_declared_lineage
Revises: 0001_initial
Create Date: 2026-12-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_declared_lineage"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Same type as lineage.store.tables.Id: SQLite only auto-assigns ids for a column typed exactly INTEGER.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(column: str, table: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def _column_edge_columns() -> list[sa.Column]:
    return [
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("job_id", ID, nullable=True),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("src_dataset_id", ID, nullable=False),
        sa.Column("src_field", sa.Text(), nullable=False),
        sa.Column("dst_dataset_id", ID, nullable=False),
        sa.Column("dst_field", sa.Text(), nullable=True),
        sa.Column("transformation_type", sa.String(length=32), nullable=True),
        sa.Column("transformation_subtype", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("masking", sa.Boolean(), nullable=True),
        sa.Column("event_time", sa.DateTime(), nullable=False),
    ]


def upgrade() -> None:
    name = "lineage_dataset_symlinks"
    op.create_table(
        name,
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("dataset_id", ID, nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=True),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("event_time", sa.DateTime(), nullable=False),
        _fk("dataset_id", name, "lineage_datasets"),
        _fk("event_id", name, "lineage_events"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index("ix_lineage_dataset_symlinks_name", name, ["name"], unique=False)
    name = "lineage_job_facets"
    op.create_table(
        name,
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("job_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("facet_name", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("event_time", sa.DateTime(), nullable=False),
        _fk("event_id", name, "lineage_events"),
        _fk("job_id", name, "lineage_jobs"),
        _fk("run_id", name, "lineage_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index("ix_lineage_job_facets_job_id", name, ["job_id"], unique=False)
    name = "lineage_declared_edges"
    op.create_table(
        name,
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("event_id", ID, nullable=False),
        sa.Column("job_id", ID, nullable=True),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("src_kind", sa.String(length=8), nullable=False),
        sa.Column("src_id", ID, nullable=False),
        sa.Column("dst_kind", sa.String(length=8), nullable=False),
        sa.Column("dst_id", ID, nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("event_time", sa.DateTime(), nullable=False),
        _fk("event_id", name, "lineage_events"),
        _fk("job_id", name, "lineage_jobs"),
        _fk("run_id", name, "lineage_runs"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index("ix_lineage_declared_edges_dst", name, ["dst_kind", "dst_id"], unique=False)
    name = "lineage_declared_column_edges"
    op.create_table(
        name,
        *_column_edge_columns(),
        _fk("event_id", name, "lineage_events"),
        _fk("job_id", name, "lineage_jobs"),
        _fk("run_id", name, "lineage_runs"),
        _fk("src_dataset_id", name, "lineage_datasets"),
        _fk("dst_dataset_id", name, "lineage_datasets"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index("ix_lineage_declared_column_edges_dst", name, ["dst_dataset_id", "dst_field"], unique=False)

    from lineage.store import tables
    from lineage.store.database import rederive

    rederive(op.get_bind(), tables.DERIVED_SINCE_0002)


def downgrade() -> None:
    op.drop_index("ix_lineage_declared_column_edges_dst", table_name="lineage_declared_column_edges")
    op.drop_table("lineage_declared_column_edges")
    op.drop_index("ix_lineage_declared_edges_dst", table_name="lineage_declared_edges")
    op.drop_table("lineage_declared_edges")
    op.drop_index("ix_lineage_job_facets_job_id", table_name="lineage_job_facets")
    op.drop_table("lineage_job_facets")
    op.drop_index("ix_lineage_dataset_symlinks_name", table_name="lineage_dataset_symlinks")
    op.drop_table("lineage_dataset_symlinks")
