"""Real producers' events (tests/data/producers) go into the store and come back as the events say.

Each corpus file is ingested into a fresh SQLite store; the expected nodes, runs, edges and facets
are read from the events themselves (the reference), the actual ones from the store's tables.
Files that break the spec but Marquez accepts are stored with warnings by default and refused in
strict mode (issue 15).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from helpers import producer_corpus as corpus
from sqlalchemy import text

from lineage.store import LineageStore
from lineage.store.validation import EventValidationError, stable_run_uuid
from lineage.store.warning_tables import event_warnings


# Files strict validation refuses, with the reason; Marquez stores all of them, and so does lenient ingest.
REJECTED = {
    "compatibility/simple_run_event.json": "runId 'run_id' is not a UUID",
    "marquez/apples.jsonl": "no schemaURL",
    "marquez/listener.jsonl": "no schemaURL",
    "marquez/open_lineage/event_without_schema_url.json": "no schemaURL",
    "marquez/open_lineage/event_full.json": "dataQualityMetrics input facet without columnMetrics",
}
FILES = corpus.files()
DBT_FILES = [p for p in FILES if corpus.name(p).startswith("dbt/")]


def _param(path: Path) -> Any:
    return pytest.param(path, id=corpus.name(path))


# ---------------------------------------------------------------- what the events say
def _datasets(event: Mapping[str, Any]) -> Iterator[tuple[str | None, Mapping[str, Any]]]:
    """(direction, dataset) for inputs ('in'), outputs ('out') and a DatasetEvent's dataset (None)."""
    for key, direction in (("inputs", "in"), ("outputs", "out")):
        for ds in event.get(key) or []:
            yield direction, ds
    if isinstance(event.get("dataset"), Mapping):
        yield None, event["dataset"]


def _key(ds: Mapping[str, Any]) -> tuple[str, str]:
    return ds["namespace"], ds["name"]


def _column_edges(event: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    """(src ns, src name, src field, dst ns, dst name, dst field, transformation type), one per transformation."""
    for _, ds in _datasets(event):
        lineage = (ds.get("facets") or {}).get("columnLineage") or {}
        sources = [(out, src) for out, spec in (lineage.get("fields") or {}).items() for src in spec.get("inputFields") or []]
        sources += [(None, src) for src in lineage.get("dataset") or []]
        for out, src in sources:
            for tr in src.get("transformations") or [{}]:
                yield (*_key(src), src["field"], *_key(ds), out, tr.get("type"))


# Facet groups of a dataset by its side of the event: (store scope, event key).
_FACET_GROUPS = {
    "in": (("dataset", "facets"), ("input", "inputFacets")),
    "out": (("dataset", "facets"), ("output", "outputFacets")),
    None: (("dataset", "facets"),),
}


def expected(events: list[dict[str, Any]]) -> dict[str, Any]:
    distinct = list({json.dumps(e, sort_keys=True): e for e in events}.values())
    run_events = [e for e in distinct if "run" in e and "job" in e]
    datasets = {_key(ds) for e in distinct for _, ds in _datasets(e)}
    datasets |= {(edge[0], edge[1]) for e in distinct for edge in _column_edges(e)}
    return {
        "events": len(distinct),
        "datasets": datasets,
        "jobs": {(e["job"]["namespace"], e["job"]["name"]) for e in distinct if "job" in e},
        "runs": {stable_run_uuid(e["run"]["runId"]) for e in run_events},
        "run_states": len(run_events),
        "io": {
            (e["job"]["namespace"], e["job"]["name"], *_key(ds), direction)
            for e in distinct
            if "job" in e
            for direction, ds in _datasets(e)
            if direction
        },
        "columns": Counter(edge for e in distinct for edge in _column_edges(e)),
        "dataset_facets": Counter(
            (*_key(ds), scope, name)
            for e in distinct
            for direction, ds in _datasets(e)
            for scope, group in _FACET_GROUPS[direction]
            for name in (ds.get(group) or {})
        ),
        "run_facets": Counter(name for e in run_events for name in (e["run"].get("facets") or {})),
    }


# ---------------------------------------------------------------- what the store holds
def stored(store: LineageStore) -> dict[str, Any]:
    with store.read() as conn:
        rows = lambda sql: conn.execute(text(sql)).all()  # noqa: E731 - local shorthand
        return {
            "events": rows("SELECT count(*) FROM lineage_events")[0][0],
            "datasets": {tuple(r) for r in rows("SELECT namespace, name FROM lineage_datasets")},
            "jobs": {tuple(r) for r in rows("SELECT namespace, name FROM lineage_jobs")},
            "runs": {r[0] for r in rows("SELECT run_uuid FROM lineage_runs")},
            "run_states": rows("SELECT count(*) FROM lineage_run_states")[0][0],
            "io": {
                tuple(r)
                for r in rows(
                    "SELECT j.namespace, j.name, d.namespace, d.name, e.direction FROM lineage_io_edges e "
                    "JOIN lineage_jobs j ON j.id = e.job_id JOIN lineage_datasets d ON d.id = e.dataset_id"
                )
            },
            "columns": Counter(
                tuple(r)
                for r in rows(
                    "SELECT s.namespace, s.name, c.src_field, d.namespace, d.name, c.dst_field, c.transformation_type "
                    "FROM lineage_column_edges c JOIN lineage_datasets s ON s.id = c.src_dataset_id "
                    "JOIN lineage_datasets d ON d.id = c.dst_dataset_id"
                )
            ),
            "dataset_facets": Counter(
                tuple(r)
                for r in rows(
                    "SELECT d.namespace, d.name, f.scope, f.facet_name FROM lineage_dataset_facets f "
                    "JOIN lineage_datasets d ON d.id = f.dataset_id"
                )
            ),
            "run_facets": Counter(r[0] for r in rows("SELECT facet_name FROM lineage_run_facets")),
        }


def _ingest(tmp_path: Path, events: list[dict[str, Any]], *, validate: bool) -> LineageStore:
    store = LineageStore.open(f"sqlite:///{tmp_path / 'corpus.db'}")
    result = store.ingest(events, validate=validate)
    assert result.received == len(events)
    return store


# ---------------------------------------------------------------- tests
@pytest.mark.parametrize("path", [_param(p) for p in FILES])
def test_store_holds_what_the_events_say(tmp_path: Path, path: Path) -> None:
    events = corpus.read(path)
    assert events, f"{corpus.name(path)} holds no events"
    with _ingest(tmp_path, events, validate=True) as store:
        assert stored(store) == expected(events)


def _warnings(store: LineageStore) -> list[str]:
    with store.read() as conn:
        return [row.message for row in conn.execute(event_warnings.select())]


@pytest.mark.parametrize("path", [p for p in FILES if corpus.name(p) in REJECTED], ids=corpus.name)
def test_spec_breaking_files_are_stored_with_warnings_and_refused_when_strict(tmp_path: Path, path: Path) -> None:
    events = corpus.read(path)
    with LineageStore.open(f"sqlite:///{tmp_path / 'strict.db'}") as store:
        with pytest.raises(EventValidationError):
            store.ingest(events, strict=True)
        assert store.event_count() == 0
    with _ingest(tmp_path, events, validate=True) as store:
        warnings = _warnings(store)
        assert store.event_count() == len({json.dumps(e, sort_keys=True) for e in events})
    assert warnings, "every file here breaks the spec somewhere"
    # The warning names what the REJECTED table says is wrong.
    keyword = {"no schemaURL": "schemaURL", "not a UUID": "not a UUID", "columnMetrics": "columnMetrics"}
    expected_word = next(word for reason, word in keyword.items() if reason in REJECTED[corpus.name(path)])
    assert any(expected_word in w for w in warnings), warnings


@pytest.mark.parametrize("path", [p for p in FILES if corpus.name(p) not in REJECTED], ids=corpus.name)
def test_conforming_files_store_no_warnings(tmp_path: Path, path: Path) -> None:
    with _ingest(tmp_path, corpus.read(path), validate=True) as store:
        assert _warnings(store) == []


@pytest.mark.parametrize("path", [p for p in FILES if corpus.name(p) in REJECTED], ids=corpus.name)
def test_refused_files_shred_like_the_rest_without_validation(tmp_path: Path, path: Path) -> None:
    # What the rejected files would store once accepted: nothing in them breaks the shredding.
    events = corpus.read(path)
    with _ingest(tmp_path, events, validate=False) as store:
        assert stored(store) == expected(events)


# The failures the dbt project was written to have (project/models/schema.yml): (model, column, test).
DESIGNED_DBT_FAILURES = {
    ("shop.main.stg_customers", "first_name", "not_null"),
    ("shop.main.stg_customers", "customer_id", "unique"),
    ("shop.main.stg_customers", "segment", "accepted_values"),
    ("shop.main.stg_orders", "customer_id", "relationships"),
}


def _assertions(facet_rows: list[tuple[str, str]]) -> set[tuple[str, str, str, bool]]:
    return {
        (dataset, a.get("column"), a["assertion"], a["success"])
        for dataset, payload in facet_rows
        for a in json.loads(payload)["assertions"]
    }


@pytest.mark.parametrize("path", DBT_FILES, ids=corpus.name)
def test_dbt_failing_tests_are_stored_on_the_tested_dataset(tmp_path: Path, path: Path) -> None:
    """The corpus keeps its failing and passing dbt tests, and the store keeps them on the tested dataset.

    Artifacts mode sends dataQualityAssertions both as a dataset facet and an input facet of the test
    run's input; structured-logs mode only as a dataset facet (see dbt/README.md).
    """
    with _ingest(tmp_path, corpus.read(path), validate=True) as store, store.read() as conn:
        rows = conn.execute(
            text(
                "SELECT d.name, f.payload FROM lineage_dataset_facets f JOIN lineage_datasets d ON d.id = f.dataset_id "
                "WHERE f.facet_name = 'dataQualityAssertions'"
            )
        ).all()
    assertions = _assertions([tuple(r) for r in rows])
    failed = {(ds, column, kind) for ds, column, kind, ok in assertions if not ok}
    assert DESIGNED_DBT_FAILURES <= failed
    assert any(ok for *_, ok in assertions), "the corpus should keep passing dbt tests too"
