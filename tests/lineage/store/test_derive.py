"""Rows derived from events: symlinks, job facets, declared lineage; malformed facets are skipped."""

from __future__ import annotations

import copy
import json
import uuid
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select

from helpers import producer_corpus as corpus

from lineage.graph import queries
from lineage.graph.cache import forget
from lineage.store import LineageStore
from lineage.store import tables as t

CORPUS = corpus.ROOT
SPARK = CORPUS / "spark" / "cll_hive_ctas.jsonl"


def _count(store: LineageStore, table: Any) -> int:
    with store.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_symlinks_and_job_facets_are_derived(store: LineageStore) -> None:
    events = corpus.read(SPARK)
    store.ingest(events)
    expected = {
        (ds["namespace"], ds["name"], ident["namespace"], ident["name"], ident["type"])
        for e in events for ds in e.get("inputs", []) + e.get("outputs", [])
        for ident in ds.get("facets", {}).get("symlinks", {}).get("identifiers", [])
    }
    d, sl = t.datasets.c, t.dataset_symlinks.c
    with store.read() as conn:
        rows = conn.execute(
            select(d.namespace, d.name, sl.namespace, sl.name, sl.type).join(t.datasets, d.id == sl.dataset_id)
        ).all()
        job_facets = {r.facet_name for r in conn.execute(select(t.job_facets.c.facet_name))}
    assert {tuple(r) for r in rows} == expected
    assert job_facets == {name for e in events for name in e["job"].get("facets", {})}


# A valid event carrying every kind of broken optional facet another producer might send.
def _broken_event() -> dict[str, Any]:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2025-03-01T10:00:00Z",
        "run": {"runId": str(uuid.uuid4()), "facets": {"nominalTime": "yesterday"}},
        "job": {"namespace": "x", "name": "broken", "facets": {"jobType": ["MODEL"], "lineage": {"entries": "all"}}},
        "inputs": [{"namespace": "x", "name": "src", "facets": {"symlinks": {"identifiers": [{"name": 3}, "t"]}}}],
        "outputs": [
            {
                "namespace": "x",
                "name": "dst",
                "facets": {
                    "columnLineage": {
                        "fields": {
                            "a": {"inputFields": [{"namespace": "x", "name": "src"}, {"field": "a"}, 7]},
                            "b": "b",
                            "c": {"inputFields": [{"namespace": "x", "name": "src", "field": "c",
                                                   "transformations": [{"type": None}, "DIRECT", {"type": "DIRECT"}]}]},
                        },
                        "dataset": {"namespace": "x"},
                    },
                    "datasetType": ["MODEL"],
                    "version": {"datasetVersion": {"v": 1}},
                    "lineage": {"inputs": [{"type": "DATASET"}, {"type": "JOB", "name": 5}], "fields": []},
                },
            },
            {"namespace": "x", "facets": {}},  # no name: not a dataset at all
        ],
        "producer": "https://example.com/other-producer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def test_malformed_optional_facets_never_break_ingest_or_queries(store: LineageStore) -> None:
    result = store.ingest([_broken_event()], validate=False)
    assert result.stored == 1
    # What was well-formed is kept: the io edges and the one complete column dependency.
    up = queries.upstream(store, "dst")
    assert [d["name"] for d in up["datasets"]] == ["src"]
    columns = queries.column_lineage(store, "dst", "c")
    assert [(c["name"], c["field"], c["transformations"]) for c in columns["columns"]] == [
        ("src", "c", [{"type": "DIRECT", "subtype": None}])
    ]
    assert queries.impact(store, "src")["counts"] == {"datasets": 1, "models": 0, "predictions": 0, "jobs": 1}
    assert queries.run_history(store, "dst")["total_runs"] == 1
    assert queries.graph_as_of(store)["edges"]
    assert _count(store, t.dataset_versions) == 0 and _count(store, t.dataset_symlinks) == 0


def test_migration_0002_rederives_from_stored_events(db_url: str) -> None:
    """Downgrading below 0002 drops its tables; upgrading rebuilds their rows from lineage_events."""
    declared = {
        "eventTime": "2025-03-01T10:00:00Z",
        "dataset": {"namespace": "pg", "name": "daily", "facets": {"columnLineage": {
            "_producer": "https://example.com/p",
            "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet",
            "fields": {"total": {"inputFields": [{"namespace": "pg", "name": "orders", "field": "amount"}]}},
        }, "lineage": {
            "_producer": "https://example.com/p",
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/LineageFacet.json#/$defs/LineageDatasetFacet",
            "fields": {"total": {"inputs": [{"namespace": "pg", "name": "refunds", "type": "DATASET", "field": "amount"}]}},
        }}},
        "producer": "https://example.com/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
    }
    with LineageStore.open(db_url) as store:
        store.ingest([*corpus.read(SPARK), declared])
        before = {table.name: _count(store, table) for table in t.DERIVED_SINCE_0002}
        assert all(before.values())
        up_before = queries.upstream(store, "default.tbl1")
        config = Config()
        config.set_main_option("script_location", str(resources.files("lineage.store") / "migrations"))
        with store.write() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0001_initial")
        store.migrate()
        assert {table.name: _count(store, table) for table in t.DERIVED_SINCE_0002} == before
        forget(store)
        assert queries.upstream(store, "default.tbl1") == up_before
        assert [d["name"] for d in queries.upstream(store, "daily")["datasets"]] == ["orders", "refunds"]


def test_rederived_rows_equal_ingested_rows(store: LineageStore) -> None:
    from lineage.store.database import rederive

    events = corpus.read(SPARK) + [copy.deepcopy(_broken_event())]
    store.ingest(events, validate=False)
    columns = [c for c in t.declared_edges.c if c.name != "id"]

    def snapshot() -> dict[str, list[Any]]:
        with store.read() as conn:
            return {
                table.name: sorted(json.dumps([r[i] for i in range(1, len(r))], default=str) for r in conn.execute(select(table)))
                for table in t.DERIVED_SINCE_0002
            }

    ingested = snapshot()
    with store.write() as conn:
        for table in t.DERIVED_SINCE_0002:
            conn.execute(table.delete())
        rederive(conn, t.DERIVED_SINCE_0002)
    assert snapshot() == ingested
    assert columns  # the table has columns besides its id
