"""Root-cause analysis on real pipeline runs: every fault kind, found from a symptom downstream."""

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from observability_pipelines.data import scenarios as harness
from observability_pipelines.data.scenarios import Case

pytestmark = pytest.mark.slow  # one real sweep of the reference pipelines (minutes)

CASES = [
    Case("raw_customers", "null_burst", "income", 0.3),
    Case("raw_customers", "scale_change", "loan_amount", 100.0),
    Case("raw_customers", "mean_shift", "age", 1.5),
    Case("raw_customers", "category_remap", "region"),
    Case("raw_customers", "column_drop", "employment_years"),
    Case("raw_transactions", "type_change", "amount"),
    Case("customer_features", "duplicate_rows", None, 0.2, symptom="batch_predictions"),
    Case("raw_customers", "stale_partition"),
    Case("raw_transactions", "row_loss", None, 0.4),
    Case("raw_labels", "label_shift", None, 0.2),
    # An unrelated anomaly elsewhere (labels do not feed the features) must not be blamed.
    Case("raw_customers", "null_burst", "loan_amount", 0.3, symptom="customer_features",
         decoys=[{"asset": "raw_labels", "kind": "label_shift", "magnitude": 0.25}]),
]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        home = tmp_path_factory.mktemp("rca_home")
        mp.setenv("DAGSTER_HOME", str(home))
        mp.delenv("OBS_FAULT_PLAN", raising=False)
        outcomes, url, clean_days = harness.run_sweep(CASES, workdir=tmp_path_factory.mktemp("rca"))
        yield outcomes, url, clean_days


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{c.kind}@{c.asset}" for c in CASES])
def test_top_candidate_is_the_injected_fault(sweep, index):
    outcome = sweep[0][index]
    assert outcome.ranked, f"no candidates for {outcome.case}: {outcome.message}"
    asset, column, kind = outcome.ranked[0]
    assert asset == outcome.case.asset, outcome.ranked
    if outcome.case.column:
        assert column == outcome.case.column, outcome.ranked
    assert kind == outcome.case.kind, outcome.ranked
    assert all(r[0] != "raw_labels" for r in outcome.ranked if outcome.case.decoys)


def test_clean_partition_has_no_upstream_cause(sweep):
    from lineage.analysis.rca import analyze
    from lineage.store import LineageStore

    _, url, clean_days = sweep
    store = LineageStore.open(url)
    try:
        result = analyze(store, "training_set", partition=clean_days[-1])
    finally:
        store.dispose()
    assert result.message.startswith("no upstream cause found")
    assert all(c.asset == "training_set" for c in result.candidates)


def test_cli_and_http_give_the_same_ranked_answer(sweep):
    from lineage.serve.api import create_app
    from lineage.store import LineageStore
    from observability_pipelines.cli import app

    outcomes, url, _ = sweep
    partition = outcomes[0].partition
    cli = CliRunner().invoke(app, ["rca", "training_set", "--partition", partition, "--json", "--db", url])
    assert cli.exit_code == 0, cli.output
    body = json.loads(cli.stdout)
    assert set(body) >= {"symptom", "candidates", "elapsed_ms"}
    top = body["candidates"][0]
    assert (top["asset"], top["column"], top["kind"]) == ("raw_customers", "income", "null_burst")
    assert top["path"][0] == "raw_customers" and top["path"][-1] == "training_set"
    assert set(top) >= {"asset", "column", "partition", "kind", "score", "evidence", "path"}

    human = CliRunner().invoke(app, ["rca", "training_set", "--partition", partition, "--db", url])
    assert human.exit_code == 0
    assert "←" in human.stdout and "raw_customers.income null_burst" in human.stdout

    store = LineageStore.open(url)
    try:
        client = TestClient(create_app(store=store))
        http = client.get("/api/v1/rca", params={"name": "training_set", "partition": partition})
        assert http.status_code == 200
        assert [c["asset"] for c in http.json()["candidates"]] == [c["asset"] for c in body["candidates"]]
        missing = client.get("/api/v1/rca", params={"name": "no_such_dataset", "partition": partition})
        assert missing.status_code == 404 and "no_such_dataset" in missing.json()["message"]
        latest = client.get("/api/v1/rca")
        assert latest.status_code == 200 and latest.json()["candidates"]
    finally:
        store.dispose()

    bad = CliRunner().invoke(app, ["rca", "training_set", "--partition", "05/03/2026", "--db", url])
    assert bad.exit_code == 2 and "YYYY-MM-DD" in bad.output

