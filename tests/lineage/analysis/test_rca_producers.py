"""RCA on real events of other producers (tests/data/producers): dbt tests, Marquez seed data, Spark,
Airflow. Failures reported by any producer name the dataset and column they were found on."""

from __future__ import annotations

import json

import pytest
from helpers import producer_corpus as corpus
from typer.testing import CliRunner

from lineage.analysis.rca import RCAError, analyze, analyze_latest
from lineage.store import LineageStore

DBT_NS = "duckdb:///tmp/obs-dbt-shop/shop.duckdb"


@pytest.fixture(scope="module")
def open_store(tmp_path_factory):
    opened = []

    def make(*paths: str) -> LineageStore:
        store = LineageStore.open(f"sqlite:///{tmp_path_factory.mktemp('corpus') / 'lineage.db'}")
        events = [e for p in paths for e in corpus.read(corpus.ROOT / p)]
        assert store.ingest(events).stored == len(events)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.dispose()


def roots(result):
    return [(c.asset, c.column, c.kind) for c in result.candidates if c.echo_of is None]


def test_dbt_failing_tests_of_the_asked_dataset_are_its_causes(open_store):
    store = open_store("dbt/events.jsonl")  # artifacts mode: no nominalTime, tests on the test run's input
    result = analyze(store, "shop.main.stg_customers")
    assert set(roots(result)) == {("shop.main.stg_customers", "first_name", "null_burst"),
                                  ("shop.main.stg_customers", "customer_id", "duplicate_rows"),
                                  ("shop.main.stg_customers", "segment", "category_remap")}
    assert result.message == "no upstream cause found: the anomaly starts at the symptom's own dataset"


def test_dbt_failing_upstream_tests_explain_the_mart(open_store):
    store = open_store("dbt/events.jsonl")
    result = analyze(store, "shop.main.customer_orders")
    assert result.message.startswith("4 upstream root cause")
    assert ("shop.main.stg_orders", "customer_id", "row_loss") in roots(result)
    assert ("shop.main.stg_customers", "first_name", "null_burst") in roots(result)
    top = result.candidates[0]
    assert top.path == [top.asset, "shop.main.customer_orders"]


def test_dbt_seed_test_is_the_root_of_the_model_built_on_it(open_store):
    store = open_store("dbt/events_structured_logs.jsonl")  # one run per test, seeds emitted
    result = analyze(store, "shop.main.stg_customers")
    echoes = {(c.asset, c.column): c.echo_of for c in result.candidates if c.echo_of}
    assert echoes[("shop.main.stg_customers", "first_name")] == "shop.main.customers.first_name"
    assert ("shop.main.customers", "first_name", "null_burst") in roots(result)


def test_dbt_audit_table_symptom_names_the_tested_dataset_and_column(open_store):
    store = open_store("dbt/events_structured_logs.jsonl")
    result = analyze(store, "shop.main_dbt_test__audit.not_null_customers_first_name", namespace=DBT_NS)
    top = result.candidates[0]
    assert (top.asset, top.column, top.kind, top.echo_of) == ("shop.main.customers", "first_name", "null_burst", None)
    assert result.symptom["tested"] == [{"dataset": "shop.main.customers", "column": "first_name",
                                         "assertion": "not_null_customers_first_name"}]
    assert "shop.main.customers.first_name" in result.symptom["summary"]


def test_dbt_error_message_is_printed_once(open_store):
    from lineage.cli import register
    import typer

    store = open_store("dbt/events_structured_logs.jsonl")
    app = typer.Typer()
    register(app)
    out = CliRunner().invoke(app, ["rca", "shop.main_dbt_test__audit.unique_stg_customers_customer_id",
                                   "--db", store.url])
    assert out.exit_code == 0, out.output
    assert "stg_customers.customer_id duplicate_rows" in out.stdout
    for line in out.stdout.splitlines():
        assert line.count("Got 1 result") <= 1, line


def test_dbt_latest_failure_and_run_selection(open_store):
    store = open_store("dbt/events_structured_logs.jsonl")
    latest = analyze_latest(store)
    assert latest.candidates and latest.symptom["run_id"]
    again = analyze(store, latest.symptom["dataset"], namespace=latest.symptom["namespace"],
                    run_id=latest.symptom["run_id"])
    assert roots(again) == roots(latest)


def test_marquez_seed_assertion_with_nominal_time(open_store):
    store = open_store("marquez/seed_metadata.jsonl")
    result = analyze(store, "public.delivery_7_days")
    assert ("public.delivery_7_days", "driver_id", "null_burst") in roots(result)


@pytest.mark.parametrize("path", [corpus.name(p) for p in corpus.files() if "dbt" not in corpus.name(p)])
def test_rca_of_every_dataset_of_other_producers_answers_or_explains(open_store, path):
    events = corpus.read(corpus.ROOT / path)
    try:
        store = open_store(path)
    except AssertionError:
        pytest.skip(f"{path} is not accepted by the store (see its README)")
    names = {(d["namespace"], d["name"]) for e in events for d in [*(e.get("inputs") or []), *(e.get("outputs") or [])]
             + ([e["dataset"]] if "dataset" in e else [])}
    for namespace, name in sorted(names):
        try:
            result = analyze(store, name, namespace=namespace)
        except RCAError:
            continue  # e.g. a dataset only ever read: nothing recorded to analyze
        json.dumps(result.as_dict())  # every answer is JSON-able
