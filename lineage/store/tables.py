"""SQLAlchemy Core tables of the lineage store.

`lineage_events` is the audit trail: every accepted event, canonical JSON, never updated or
deleted (database triggers enforce it). Every other table is derived from it at ingest time in
the same transaction and is insert-only too, so rows can be read incrementally by id.

All timestamps are naive UTC (`DateTime(timezone=False)`) on every backend: SQLite has no time
zone type, and one convention everywhere avoids comparing naive with aware values.

The Alembic migrations in `lineage/store/migrations/versions/` create exactly these tables; a test
checks the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# SQLite only aliases ROWID (fast, auto-assigned) for a column declared exactly INTEGER.
Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

events = Table(
    "lineage_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # sha256 of the canonical JSON (sorted keys, no whitespace): the event identity.
    Column("event_hash", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # RunEvent | DatasetEvent | JobEvent
    Column("event_type", String(16), nullable=True),  # START/RUNNING/COMPLETE/... for RunEvents
    Column("event_time", DateTime(timezone=False), nullable=False),
    Column("received_at", DateTime(timezone=False), nullable=False),
    Column("producer", Text, nullable=False),
    Column("schema_url", Text, nullable=False),
    Column("run_uuid", String(64), nullable=True),
    Column("job_namespace", Text, nullable=True),
    Column("job_name", Text, nullable=True),
    Column("payload", Text, nullable=False),
    UniqueConstraint("event_hash"),
    Index("ix_lineage_events_run_uuid", "run_uuid"),
    Index("ix_lineage_events_event_time", "event_time"),
)

datasets = Table(
    "lineage_datasets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("first_seen", DateTime(timezone=False), nullable=False),
    UniqueConstraint("namespace", "name", name="uq_lineage_datasets_namespace_name"),
    Index("ix_lineage_datasets_name", "name"),
)

jobs = Table(
    "lineage_jobs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("first_seen", DateTime(timezone=False), nullable=False),
    UniqueConstraint("namespace", "name", name="uq_lineage_jobs_namespace_name"),
    Index("ix_lineage_jobs_name", "name"),
)

runs = Table(
    "lineage_runs",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_uuid", String(64), nullable=False),
    Column("job_id", Id, ForeignKey("lineage_jobs.id"), nullable=False),
    Column("parent_run_uuid", String(64), nullable=True),
    Column("first_seen", DateTime(timezone=False), nullable=False),
    UniqueConstraint("run_uuid"),
    Index("ix_lineage_runs_job_id", "job_id"),
)

# One row per RunEvent: the eventType history of a run.
run_states = Table(
    "lineage_run_states",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("run_id", Id, ForeignKey("lineage_runs.id"), nullable=False),
    Column("event_id", Id, ForeignKey("lineage_events.id"), nullable=False),
    Column("event_type", String(16), nullable=True),
    Column("event_time", DateTime(timezone=False), nullable=False),
    Index("ix_lineage_run_states_run_id", "run_id"),
)

# Dataset -> job (direction 'in') and job -> dataset ('out') edges, one per event mentioning them.
io_edges = Table(
    "lineage_io_edges",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("lineage_events.id"), nullable=False),
    Column("job_id", Id, ForeignKey("lineage_jobs.id"), nullable=False),
    Column("run_id", Id, ForeignKey("lineage_runs.id"), nullable=True),  # NULL for JobEvents
    Column("dataset_id", Id, ForeignKey("lineage_datasets.id"), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("event_time", DateTime(timezone=False), nullable=False),
    Index("ix_lineage_io_edges_dataset_id", "dataset_id"),
    Index("ix_lineage_io_edges_run_id", "run_id"),
)

# Source column -> output column, from the ColumnLineage facet. `dst_field` NULL means the
# source column affects the whole output dataset (the facet's newer `dataset` list: filters,
# joins, grouping).
column_edges = Table(
    "lineage_column_edges",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("lineage_events.id"), nullable=False),
    Column("job_id", Id, ForeignKey("lineage_jobs.id"), nullable=True),
    Column("run_id", Id, ForeignKey("lineage_runs.id"), nullable=True),
    Column("src_dataset_id", Id, ForeignKey("lineage_datasets.id"), nullable=False),
    Column("src_field", Text, nullable=False),
    Column("dst_dataset_id", Id, ForeignKey("lineage_datasets.id"), nullable=False),
    Column("dst_field", Text, nullable=True),
    Column("transformation_type", String(32), nullable=True),
    Column("transformation_subtype", String(64), nullable=True),
    Column("description", Text, nullable=True),
    Column("masking", Boolean, nullable=True),
    Column("event_time", DateTime(timezone=False), nullable=False),
    Index("ix_lineage_column_edges_dst", "dst_dataset_id", "dst_field"),
    Index("ix_lineage_column_edges_src", "src_dataset_id", "src_field"),
)

# Every dataset facet as sent, per event and run: scope is 'dataset' (facets), 'input'
# (inputFacets) or 'output' (outputFacets). Quality and drift facets are read from here.
dataset_facets = Table(
    "lineage_dataset_facets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("lineage_events.id"), nullable=False),
    Column("run_id", Id, ForeignKey("lineage_runs.id"), nullable=True),
    Column("dataset_id", Id, ForeignKey("lineage_datasets.id"), nullable=False),
    Column("scope", String(8), nullable=False),
    Column("facet_name", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("event_time", DateTime(timezone=False), nullable=False),
    Index("ix_lineage_dataset_facets_dataset_run", "dataset_id", "run_id"),
    Index("ix_lineage_dataset_facets_name", "facet_name"),
)

run_facets = Table(
    "lineage_run_facets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("lineage_events.id"), nullable=False),
    Column("run_id", Id, ForeignKey("lineage_runs.id"), nullable=False),
    Column("facet_name", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("event_time", DateTime(timezone=False), nullable=False),
    Index("ix_lineage_run_facets_run_id", "run_id"),
)

# From the DatasetVersion facet (`version` key, field `datasetVersion`).
dataset_versions = Table(
    "lineage_dataset_versions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dataset_id", Id, ForeignKey("lineage_datasets.id"), nullable=False),
    Column("version", Text, nullable=False),
    Column("run_id", Id, ForeignKey("lineage_runs.id"), nullable=True),
    Column("event_id", Id, ForeignKey("lineage_events.id"), nullable=False),
    Column("event_time", DateTime(timezone=False), nullable=False),
    Index("ix_lineage_dataset_versions_dataset_id", "dataset_id"),
)

# From the SymlinksDatasetFacet: other names of a dataset (a Spark file dataset's Hive table
# `default.tbl1`), one row per event naming them, so a query by either name finds the dataset.
dataset_symlinks = Table(
    "lineage_dataset_symlinks",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("dataset_id", Id, ForeignKey("lineage_datasets.id"), nullable=False),
    Column("namespace", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("type", String(32), nullable=True),
    Column("event_id", Id, ForeignKey("lineage_events.id"), nullable=False),
    Column("event_time", DateTime(timezone=False), nullable=False),
    Index("ix_lineage_dataset_symlinks_name", "name"),
)

# Job facets (jobType, sourceCodeLocation, ...) per event, as sent.
job_facets = Table(
    "lineage_job_facets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("lineage_events.id"), nullable=False),
    Column("job_id", Id, ForeignKey("lineage_jobs.id"), nullable=False),
    Column("run_id", Id, ForeignKey("lineage_runs.id"), nullable=True),
    Column("facet_name", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("event_time", DateTime(timezone=False), nullable=False),
    Index("ix_lineage_job_facets_job_id", "job_id"),
)

# Entity edges not given by a run's inputs/outputs: the explicit `lineage` facet (dataset or job
# facet) and column lineage of a static DatasetEvent. Endpoints are ('dataset' | 'job', id);
# `job_id`/`run_id` are the declaring event's job and run (NULL for a DatasetEvent, whose
# declarations all target its own dataset). `origin` is the facet they came from.
declared_edges = Table(
    "lineage_declared_edges",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("lineage_events.id"), nullable=False),
    Column("job_id", Id, ForeignKey("lineage_jobs.id"), nullable=True),
    Column("run_id", Id, ForeignKey("lineage_runs.id"), nullable=True),
    Column("src_kind", String(8), nullable=False),
    Column("src_id", Id, nullable=False),
    Column("dst_kind", String(8), nullable=False),
    Column("dst_id", Id, nullable=False),
    Column("origin", String(16), nullable=False),
    Column("event_time", DateTime(timezone=False), nullable=False),
    Index("ix_lineage_declared_edges_dst", "dst_kind", "dst_id"),
)

# Field-level edges of the explicit `lineage` facet; same shape and meaning as column_edges.
declared_column_edges = Table(
    "lineage_declared_column_edges",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("event_id", Id, ForeignKey("lineage_events.id"), nullable=False),
    Column("job_id", Id, ForeignKey("lineage_jobs.id"), nullable=True),
    Column("run_id", Id, ForeignKey("lineage_runs.id"), nullable=True),
    Column("src_dataset_id", Id, ForeignKey("lineage_datasets.id"), nullable=False),
    Column("src_field", Text, nullable=False),
    Column("dst_dataset_id", Id, ForeignKey("lineage_datasets.id"), nullable=False),
    Column("dst_field", Text, nullable=True),
    Column("transformation_type", String(32), nullable=True),
    Column("transformation_subtype", String(64), nullable=True),
    Column("description", Text, nullable=True),
    Column("masking", Boolean, nullable=True),
    Column("event_time", DateTime(timezone=False), nullable=False),
    Index("ix_lineage_declared_column_edges_dst", "dst_dataset_id", "dst_field"),
)

# Tables added by migration 0002, re-derived from lineage_events when it runs.
DERIVED_SINCE_0002 = (dataset_symlinks, job_facets, declared_edges, declared_column_edges)

ALL_TABLES = (
    events,
    datasets,
    jobs,
    runs,
    run_states,
    io_edges,
    column_edges,
    dataset_facets,
    run_facets,
    dataset_versions,
    *DERIVED_SINCE_0002,
)

# --------------------------------------------------------------------------- incident state (migration 0003)
# Unlike the event-derived tables these are updated in place: an incident's status, severity and
# affected items change over its life. The timeline (`lineage_incident_events`) is insert-only.

incidents = Table(
    "lineage_incidents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # namespace|dataset|column|kind of the top root cause: failures that share it share the incident.
    Column("cause_key", Text, nullable=False),
    Column("status", String(16), nullable=False),  # open | acknowledged | resolved
    Column("severity", String(16), nullable=False),  # low | medium | high | critical
    Column("title", Text, nullable=False),
    Column("first_seen", DateTime(timezone=False), nullable=False),
    Column("last_seen", DateTime(timezone=False), nullable=False),
    Column("detected_at", DateTime(timezone=False), nullable=False),
    Column("acknowledged_at", DateTime(timezone=False), nullable=True),
    Column("resolved_at", DateTime(timezone=False), nullable=True),
    Column("resolution", String(16), nullable=True),  # auto | manual
    Column("payload", Text, nullable=False),  # JSON: cause, causes, affected items
    Index("ix_lineage_incidents_cause_status", "cause_key", "status"),
)

incident_events = Table(
    "lineage_incident_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("incident_id", Id, ForeignKey("lineage_incidents.id"), nullable=False),
    Column("time", DateTime(timezone=False), nullable=False),
    Column("kind", String(16), nullable=False),  # opened | failure | escalated | acknowledged | resolved | passed
    Column("detail", Text, nullable=False),
    Index("ix_lineage_incident_events_incident", "incident_id"),
)

# How far incident sync has read the derived tables (ids only grow: they are insert-only).
incident_cursor = Table(
    "lineage_incident_cursor",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

INCIDENT_TABLES = (incidents, incident_events, incident_cursor)
