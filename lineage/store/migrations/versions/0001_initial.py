"""Initial lineage store: audit trail of events plus derived nodes, edges and facets.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Same type as lineage.store.tables.Id: SQLite only auto-assigns ids for a column typed exactly INTEGER.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQLITE_APPEND_ONLY = (
    "CREATE TRIGGER lineage_events_no_update BEFORE UPDATE ON lineage_events "
    "BEGIN SELECT RAISE(ABORT, 'lineage_events is an append-only audit trail'); END",
    "CREATE TRIGGER lineage_events_no_delete BEFORE DELETE ON lineage_events "
    "BEGIN SELECT RAISE(ABORT, 'lineage_events is an append-only audit trail'); END",
)
_POSTGRES_APPEND_ONLY = (
    "CREATE FUNCTION lineage_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'lineage_events is an append-only audit trail'; END $$",
    "CREATE TRIGGER lineage_events_no_change BEFORE UPDATE OR DELETE ON lineage_events "
    "FOR EACH ROW EXECUTE FUNCTION lineage_events_append_only()",
    "CREATE TRIGGER lineage_events_no_truncate BEFORE TRUNCATE ON lineage_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION lineage_events_append_only()",
)


def upgrade() -> None:
    op.create_table('lineage_datasets',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('namespace', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_datasets')),
    sa.UniqueConstraint('namespace', 'name', name='uq_lineage_datasets_namespace_name')
    )
    op.create_index('ix_lineage_datasets_name', 'lineage_datasets', ['name'], unique=False)
    op.create_table('lineage_events',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('event_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('event_type', sa.String(length=16), nullable=True),
    sa.Column('event_time', sa.DateTime(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('producer', sa.Text(), nullable=False),
    sa.Column('schema_url', sa.Text(), nullable=False),
    sa.Column('run_uuid', sa.String(length=64), nullable=True),
    sa.Column('job_namespace', sa.Text(), nullable=True),
    sa.Column('job_name', sa.Text(), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_events')),
    sa.UniqueConstraint('event_hash', name=op.f('uq_lineage_events_event_hash'))
    )
    op.create_index('ix_lineage_events_event_time', 'lineage_events', ['event_time'], unique=False)
    op.create_index('ix_lineage_events_run_uuid', 'lineage_events', ['run_uuid'], unique=False)
    op.create_table('lineage_jobs',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('namespace', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_jobs')),
    sa.UniqueConstraint('namespace', 'name', name='uq_lineage_jobs_namespace_name')
    )
    op.create_index('ix_lineage_jobs_name', 'lineage_jobs', ['name'], unique=False)
    op.create_table('lineage_runs',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('run_uuid', sa.String(length=64), nullable=False),
    sa.Column('job_id', ID, nullable=False),
    sa.Column('parent_run_uuid', sa.String(length=64), nullable=True),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['lineage_jobs.id'], name=op.f('fk_lineage_runs_job_id_lineage_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_runs')),
    sa.UniqueConstraint('run_uuid', name=op.f('uq_lineage_runs_run_uuid'))
    )
    op.create_index('ix_lineage_runs_job_id', 'lineage_runs', ['job_id'], unique=False)
    op.create_table('lineage_column_edges',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('event_id', ID, nullable=False),
    sa.Column('job_id', ID, nullable=True),
    sa.Column('run_id', ID, nullable=True),
    sa.Column('src_dataset_id', ID, nullable=False),
    sa.Column('src_field', sa.Text(), nullable=False),
    sa.Column('dst_dataset_id', ID, nullable=False),
    sa.Column('dst_field', sa.Text(), nullable=True),
    sa.Column('transformation_type', sa.String(length=32), nullable=True),
    sa.Column('transformation_subtype', sa.String(length=64), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('masking', sa.Boolean(), nullable=True),
    sa.Column('event_time', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['dst_dataset_id'], ['lineage_datasets.id'], name=op.f('fk_lineage_column_edges_dst_dataset_id_lineage_datasets')),
    sa.ForeignKeyConstraint(['event_id'], ['lineage_events.id'], name=op.f('fk_lineage_column_edges_event_id_lineage_events')),
    sa.ForeignKeyConstraint(['job_id'], ['lineage_jobs.id'], name=op.f('fk_lineage_column_edges_job_id_lineage_jobs')),
    sa.ForeignKeyConstraint(['run_id'], ['lineage_runs.id'], name=op.f('fk_lineage_column_edges_run_id_lineage_runs')),
    sa.ForeignKeyConstraint(['src_dataset_id'], ['lineage_datasets.id'], name=op.f('fk_lineage_column_edges_src_dataset_id_lineage_datasets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_column_edges'))
    )
    op.create_index('ix_lineage_column_edges_dst', 'lineage_column_edges', ['dst_dataset_id', 'dst_field'], unique=False)
    op.create_index('ix_lineage_column_edges_src', 'lineage_column_edges', ['src_dataset_id', 'src_field'], unique=False)
    op.create_table('lineage_dataset_facets',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('event_id', ID, nullable=False),
    sa.Column('run_id', ID, nullable=True),
    sa.Column('dataset_id', ID, nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('facet_name', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('event_time', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['lineage_datasets.id'], name=op.f('fk_lineage_dataset_facets_dataset_id_lineage_datasets')),
    sa.ForeignKeyConstraint(['event_id'], ['lineage_events.id'], name=op.f('fk_lineage_dataset_facets_event_id_lineage_events')),
    sa.ForeignKeyConstraint(['run_id'], ['lineage_runs.id'], name=op.f('fk_lineage_dataset_facets_run_id_lineage_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_dataset_facets'))
    )
    op.create_index('ix_lineage_dataset_facets_dataset_run', 'lineage_dataset_facets', ['dataset_id', 'run_id'], unique=False)
    op.create_index('ix_lineage_dataset_facets_name', 'lineage_dataset_facets', ['facet_name'], unique=False)
    op.create_table('lineage_dataset_versions',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('dataset_id', ID, nullable=False),
    sa.Column('version', sa.Text(), nullable=False),
    sa.Column('run_id', ID, nullable=True),
    sa.Column('event_id', ID, nullable=False),
    sa.Column('event_time', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['lineage_datasets.id'], name=op.f('fk_lineage_dataset_versions_dataset_id_lineage_datasets')),
    sa.ForeignKeyConstraint(['event_id'], ['lineage_events.id'], name=op.f('fk_lineage_dataset_versions_event_id_lineage_events')),
    sa.ForeignKeyConstraint(['run_id'], ['lineage_runs.id'], name=op.f('fk_lineage_dataset_versions_run_id_lineage_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_dataset_versions'))
    )
    op.create_index('ix_lineage_dataset_versions_dataset_id', 'lineage_dataset_versions', ['dataset_id'], unique=False)
    op.create_table('lineage_io_edges',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('event_id', ID, nullable=False),
    sa.Column('job_id', ID, nullable=False),
    sa.Column('run_id', ID, nullable=True),
    sa.Column('dataset_id', ID, nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('event_time', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['lineage_datasets.id'], name=op.f('fk_lineage_io_edges_dataset_id_lineage_datasets')),
    sa.ForeignKeyConstraint(['event_id'], ['lineage_events.id'], name=op.f('fk_lineage_io_edges_event_id_lineage_events')),
    sa.ForeignKeyConstraint(['job_id'], ['lineage_jobs.id'], name=op.f('fk_lineage_io_edges_job_id_lineage_jobs')),
    sa.ForeignKeyConstraint(['run_id'], ['lineage_runs.id'], name=op.f('fk_lineage_io_edges_run_id_lineage_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_io_edges'))
    )
    op.create_index('ix_lineage_io_edges_dataset_id', 'lineage_io_edges', ['dataset_id'], unique=False)
    op.create_index('ix_lineage_io_edges_run_id', 'lineage_io_edges', ['run_id'], unique=False)
    op.create_table('lineage_run_facets',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('event_id', ID, nullable=False),
    sa.Column('run_id', ID, nullable=False),
    sa.Column('facet_name', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('event_time', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['lineage_events.id'], name=op.f('fk_lineage_run_facets_event_id_lineage_events')),
    sa.ForeignKeyConstraint(['run_id'], ['lineage_runs.id'], name=op.f('fk_lineage_run_facets_run_id_lineage_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_run_facets'))
    )
    op.create_index('ix_lineage_run_facets_run_id', 'lineage_run_facets', ['run_id'], unique=False)
    op.create_table('lineage_run_states',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('run_id', ID, nullable=False),
    sa.Column('event_id', ID, nullable=False),
    sa.Column('event_type', sa.String(length=16), nullable=True),
    sa.Column('event_time', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['lineage_events.id'], name=op.f('fk_lineage_run_states_event_id_lineage_events')),
    sa.ForeignKeyConstraint(['run_id'], ['lineage_runs.id'], name=op.f('fk_lineage_run_states_run_id_lineage_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lineage_run_states'))
    )
    op.create_index('ix_lineage_run_states_run_id', 'lineage_run_states', ['run_id'], unique=False)
    # The audit trail is immutable: enforce it in the database, not only in the code.
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_APPEND_ONLY, "postgresql": _POSTGRES_APPEND_ONLY}.get(dialect, ()):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS lineage_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS lineage_events_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS lineage_events_no_change ON lineage_events")
        op.execute("DROP TRIGGER IF EXISTS lineage_events_no_truncate ON lineage_events")
        op.execute("DROP FUNCTION IF EXISTS lineage_events_append_only()")
    op.drop_index('ix_lineage_run_states_run_id', table_name='lineage_run_states')
    op.drop_table('lineage_run_states')
    op.drop_index('ix_lineage_run_facets_run_id', table_name='lineage_run_facets')
    op.drop_table('lineage_run_facets')
    op.drop_index('ix_lineage_io_edges_run_id', table_name='lineage_io_edges')
    op.drop_index('ix_lineage_io_edges_dataset_id', table_name='lineage_io_edges')
    op.drop_table('lineage_io_edges')
    op.drop_index('ix_lineage_dataset_versions_dataset_id', table_name='lineage_dataset_versions')
    op.drop_table('lineage_dataset_versions')
    op.drop_index('ix_lineage_dataset_facets_name', table_name='lineage_dataset_facets')
    op.drop_index('ix_lineage_dataset_facets_dataset_run', table_name='lineage_dataset_facets')
    op.drop_table('lineage_dataset_facets')
    op.drop_index('ix_lineage_column_edges_src', table_name='lineage_column_edges')
    op.drop_index('ix_lineage_column_edges_dst', table_name='lineage_column_edges')
    op.drop_table('lineage_column_edges')
    op.drop_index('ix_lineage_runs_job_id', table_name='lineage_runs')
    op.drop_table('lineage_runs')
    op.drop_index('ix_lineage_jobs_name', table_name='lineage_jobs')
    op.drop_table('lineage_jobs')
    op.drop_index('ix_lineage_events_run_uuid', table_name='lineage_events')
    op.drop_index('ix_lineage_events_event_time', table_name='lineage_events')
    op.drop_table('lineage_events')
    op.drop_index('ix_lineage_datasets_name', table_name='lineage_datasets')
    op.drop_table('lineage_datasets')
