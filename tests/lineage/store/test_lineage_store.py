"""The store keeps every event once, derives nodes and edges, and survives concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import uuid
from datetime import UTC, datetime
from pathlib import Path
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from helpers.lineage_scenario import as_dicts, pipeline_events
from helpers.lineage_workers import ingest_worker, simple_event
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from lineage.store import tables as t
from lineage.config import default_db_url, resolve_db_url
from lineage.store import LineageStore, canonical_json, event_hash
from lineage.store.validation import EventValidationError

DATA = Path(__file__).parents[1] / "data"


def test_default_url_under_dagster_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dh"))
    monkeypatch.delenv("OBS_LINEAGE_DB", raising=False)
    assert default_db_url() == f"sqlite:///{tmp_path / 'dh' / 'lineage.db'}"
    assert resolve_db_url() == default_db_url()
    monkeypatch.setenv("OBS_LINEAGE_DB", "sqlite:///elsewhere.db")
    assert resolve_db_url() == "sqlite:///elsewhere.db"
    assert resolve_db_url("postgresql://x/y") == "postgresql://x/y"
    monkeypatch.delenv("OBS_LINEAGE_DB")
    with LineageStore.open() as store:  # creates the directory and the file
        assert store.event_count() == 0
    assert (tmp_path / "dh" / "lineage.db").exists()


def _head_revision() -> str:
    """The newest migration in the package (read from the scripts, not restated here)."""
    from importlib import resources

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(resources.files("lineage.store") / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def test_migrations_match_table_definitions(store: LineageStore) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "lineage_alembic_version"})
        assert context.get_current_revision() == _head_revision()
        assert compare_metadata(context, t.metadata) == []


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    with LineageStore.open(f"sqlite:///{tmp_path / 'w.db'}") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_ingest_derives_nodes_edges_and_facets(store: LineageStore) -> None:
    events = as_dicts(pipeline_events())
    result = store.ingest(events)
    assert (result.received, result.stored, result.duplicates) == (len(events), len(events), 0)
    counts = store.counts()
    assert counts["events"] == len(events)
    assert counts["datasets"] == 7  # 5 pipeline datasets + lake raw.orders + lake export
    assert counts["jobs"] == 4
    assert counts["runs"] == len(events) // 2
    assert counts["run_states"] == len(events)
    # io edges: one per dataset mentioned per event
    assert counts["io_edges"] == sum(len(e["inputs"]) + len(e["outputs"]) for e in events)
    # build_features: 2 field edges + 1 dataset-wide; model: 1; predictions: 1 -> per event
    per_day = 2 * (3 + 1 + 1)
    assert counts["column_edges"] == 2 * per_day
    assert counts["dataset_versions"] == 4  # v1, v2 each in START and COMPLETE
    with store.read() as conn:
        versions = sorted({r.version for r in conn.execute(select(t.dataset_versions.c.version))})
        names = sorted({r.facet_name for r in conn.execute(select(t.dataset_facets.c.facet_name))})
    assert versions == ["v1", "v2"]
    assert {"dataQualityMetrics", "dataQualityAssertions", "drift", "columnLineage", "schema", "datasetType"} <= set(names)


def test_same_event_twice_is_stored_once(store: LineageStore) -> None:
    event = simple_event(1)
    first = store.ingest([event])
    reordered = json.loads(json.dumps(event, sort_keys=True))  # same content, other key order
    second = store.ingest([reordered, event])
    assert first.stored == 1 and second.stored == 0 and second.duplicates == 2
    counts = store.counts()
    assert counts["events"] == 1 and counts["io_edges"] == 2 and counts["run_states"] == 1


def test_raw_event_is_kept_canonical_and_immutable(store: LineageStore) -> None:
    event = simple_event(2)
    store.ingest([event])
    with store.read() as conn:
        row = conn.execute(select(t.events.c.payload, t.events.c.event_hash)).one()
    assert json.loads(row.payload) == event
    assert row.payload == canonical_json(event)
    assert row.event_hash == event_hash(event)
    with pytest.raises(DBAPIError, match="append-only"):
        with store._write() as conn:
            conn.execute(text("UPDATE lineage_events SET producer = 'x'"))
    with pytest.raises(DBAPIError, match="append-only"):
        with store._write() as conn:
            conn.execute(text("DELETE FROM lineage_events"))
    assert store.events() == [event]


def test_event_times_stored_as_naive_utc(store: LineageStore) -> None:
    aware = simple_event(3, when=datetime(2025, 3, 1, 14, 0, tzinfo=UTC).astimezone())
    naive = simple_event(4)
    naive["eventTime"] = "2025-03-01T15:00:00"
    offset = simple_event(5)
    offset["eventTime"] = "2025-03-01T18:00:00+02:00"
    store.ingest([aware, naive, offset])
    with store.read() as conn:
        times = sorted(conn.execute(select(t.events.c.event_time)).scalars())
    assert times == [datetime(2025, 3, 1, 14), datetime(2025, 3, 1, 15), datetime(2025, 3, 1, 16)]
    assert all(x.tzinfo is None for x in times)


def test_invalid_batch_changes_nothing_when_strict(store: LineageStore) -> None:
    good = simple_event(6)
    bad = simple_event(7)
    del bad["run"]["runId"]
    with pytest.raises(EventValidationError) as info:
        store.ingest([good, bad], strict=True)
    assert info.value.index == 1 and info.value.path == "$.run"
    assert store.counts()["events"] == 0 and store.counts()["datasets"] == 0


def test_vendored_examples_of_other_producers(store: LineageStore) -> None:
    events = [json.loads(p.read_text()) for p in sorted(DATA.glob("*.json"))]
    assert store.ingest(events).stored == 4
    with store.read() as conn:
        kinds = sorted(conn.execute(select(t.events.c.kind)).scalars())
        parent = conn.execute(select(t.runs.c.parent_run_uuid).where(t.runs.c.parent_run_uuid.is_not(None))).scalar()
    assert kinds == ["DatasetEvent", "JobEvent", "RunEvent", "RunEvent"]
    assert parent == "3f5e83fa-3480-44ff-99c5-ff943904e5e8"
    # The JobEvent's edges are kept without a run.
    with store.read() as conn:
        runless = conn.execute(select(t.io_edges.c.id).where(t.io_edges.c.run_id.is_(None))).all()
    assert len(runless) == 2


def test_column_edges_keep_both_facet_shapes(store: LineageStore) -> None:
    store.ingest(as_dicts(pipeline_events()[:2]))
    c = t.column_edges.c
    with store.read() as conn:
        rows = conn.execute(
            select(c.src_field, c.dst_field, c.transformation_type, c.transformation_subtype).distinct()
        ).all()
    assert sorted((r.src_field, r.dst_field or "", r.transformation_type, r.transformation_subtype) for r in rows) == [
        ("amount", "total_spend", "DIRECT", "AGGREGATION"),
        ("id", "customer_id", "DIRECT", "IDENTITY"),
        ("status", "", "INDIRECT", "FILTER"),
    ]


@pytest.mark.slow
def test_eight_processes_ingest_concurrently(tmp_path: Path) -> None:
    """Eight spawned processes race on a brand-new SQLite file (migrations included)."""
    url = f"sqlite:///{tmp_path / 'concurrent.db'}"
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(8) as pool:
        results = pool.starmap(ingest_worker, [(url, w, 1000, 50) for w in range(8)])
    assert results == [1000] * 8
    with LineageStore.open(url) as store:
        counts = store.counts()
    assert counts["events"] == 8000
    assert counts["runs"] == 8000 and counts["io_edges"] == 16000
    assert counts["jobs"] == 7 and counts["datasets"] == 24


@pytest.mark.slow
def test_eight_processes_on_postgres(postgres_server: str) -> None:
    """Same race against PostgreSQL (shared node rows inserted concurrently, ON CONFLICT)."""
    from urllib.parse import quote

    from sqlalchemy import create_engine

    schema = f"lineage_mp_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{postgres_server}?options={quote(f'-csearch_path={schema}')}"
    try:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(8) as pool:
            results = pool.starmap(ingest_worker, [(url, w, 250, 50) for w in range(8)])
        assert results == [250] * 8
        with LineageStore.open(url) as store:
            counts = store.counts()
        assert counts["events"] == 2000 and counts["datasets"] == 24 and counts["jobs"] == 7
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
