"""`obs expectations list|validate` through typer's CliRunner on files written by the test."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from observability_pipelines import cli_expectations
from observability_pipelines.data.contracts import ARTIFACT_ASSETS, CONTRACTS
from observability_pipelines.data.faults import Fault, apply_fault
from observability_pipelines.data.generator import GeneratorConfig, generate_partition

DAY = "2026-01-06"


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True)

    @app.callback()
    def main() -> None:
        """obs"""

    cli_expectations.register(app)
    return app


@pytest.fixture(scope="module")
def customers():
    return generate_partition(DAY, GeneratorConfig(customers_per_day=300))["customers"]


def invoke(app, *args):
    return CliRunner().invoke(app, ["expectations", *args])


def test_list_json(app):
    result = invoke(app, "list", "--json")
    assert result.exit_code == 0, result.output
    suites = {s["suite"]: s for s in json.loads(result.output)["suites"]}
    assert set(suites) == {a for a in CONTRACTS if a not in ARTIFACT_ASSETS}
    rc = suites["raw_customers"]
    assert rc["expectations"] == rc["errors"] + rc["warnings"] and rc["errors"] > 0 and rc["warnings"] > 0
    assert "partition_start" in rc["parameters"]


def test_list_table(app):
    result = invoke(app, "list")
    assert result.exit_code == 0, result.output
    assert "raw_customers" in result.output and "batch_predictions" in result.output


def test_validate_parquet_passes(app, customers, tmp_path):
    path = tmp_path / "customers.parquet"
    customers.to_parquet(path, index=False)
    result = invoke(app, "validate", "raw_customers", str(path), "--partition", DAY)
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output


def test_validate_csv_parses_timestamps(app, customers, tmp_path):
    path = tmp_path / "customers.csv"
    customers.to_csv(path, index=False)
    result = invoke(app, "validate", "raw_customers", str(path), "--partition", DAY, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["success"] is True


def test_validate_failure_exits_1_with_readable_failures(app, customers, tmp_path):
    path = tmp_path / "bad.parquet"
    apply_fault(customers, Fault("raw_customers", DAY, "null_burst", "income")).to_parquet(path, index=False)
    result = invoke(app, "validate", "raw_customers", str(path), "--partition", DAY)
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.output and "income" in result.output

    result = invoke(app, "validate", "raw_customers", str(path), "--partition", DAY, "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    (failure,) = [r for r in data["results"] if not r["success"]]
    assert failure["column"] == "income" and failure["severity"] == "warn" and "% null" in failure["message"]
    assert "partial_unexpected_list" not in result.output


def test_validate_stale_day_fails(app, customers, tmp_path):
    path = tmp_path / "customers.parquet"
    customers.to_parquet(path, index=False)
    result = invoke(app, "validate", "raw_customers", str(path), "--partition", "2026-01-07", "--json")
    assert result.exit_code == 1
    failed = [r for r in json.loads(result.output)["results"] if not r["success"]]
    assert [(r["expectation_type"], r["column"]) for r in failed] == [("expect_column_values_to_be_between", "application_ts")]


@pytest.mark.parametrize(
    "args,needle",
    [
        (["validate", "no_such_suite", "{file}", "--partition", DAY], "known suites"),
        (["validate", "raw_customers", "{file}"], "--partition"),
        (["validate", "raw_customers", "{file}", "--partition", "06/01/2026"], "YYYY-MM-DD"),
        (["validate", "raw_customers", "{missing}", "--partition", DAY], "does not exist"),
        (["validate", "raw_customers", "{txt}", "--partition", DAY], "unsupported file type"),
    ],
    ids=["unknown-suite", "no-partition", "bad-partition", "missing-file", "bad-type"],
)
def test_usage_errors_exit_2_and_say_what_to_do(app, customers, tmp_path, args, needle):
    file = tmp_path / "customers.parquet"
    customers.to_parquet(file, index=False)
    (tmp_path / "customers.json").write_text("{}")
    subs = {"{file}": str(file), "{missing}": str(tmp_path / "nope.parquet"), "{txt}": str(tmp_path / "customers.json")}
    result = invoke(app, *[subs.get(a, a) for a in args])
    assert result.exit_code == 2, result.output
    assert needle in result.output


def test_unpartitioned_suite_needs_no_partition(app, tmp_path):
    import pandas as pd

    df = pd.DataFrame({
        "metric": ["accuracy", "precision", "recall", "f1", "roc_auc"], "value": [0.8, 0.5, 0.4, 0.45, 0.75],
        "model_version": "v1", "test_rows": pd.array([100] * 5, dtype="Int64"),
    })
    path = tmp_path / "evaluation.parquet"
    df.to_parquet(path, index=False)
    result = invoke(app, "validate", "model_evaluation", str(path))
    assert result.exit_code == 0, result.output


def _table_rows(output):
    """(severity, column, unexpected %, message) of each row of the plain (piped) failure table."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("severity"))
    return [line.split(None, 1)[0:1] + line.split(None, 1)[1:] for line in lines[start + 1:] if line.strip()]


def test_renamed_column_is_named_unexpected_and_missing(app, customers, tmp_path):
    path = tmp_path / "renamed.csv"
    customers.rename(columns={"region": "regoin"}).to_csv(path, index=False)
    result = CliRunner().invoke(app, ["expectations", "validate", "raw_customers", str(path), "-p", DAY],
                                env={"TTY_COMPATIBLE": "0"})
    assert result.exit_code == 1, result.output
    assert "unexpected ['regoin'], missing ['region']" in result.output
    assert "regoin looks like region renamed" in result.output
    severities = [row[0] for row in _table_rows(result.output)]
    assert severities == sorted(severities, key=["error", "warn"].index) and "warn" in severities  # errors first
    for row in _table_rows(result.output):
        if "expect_column_values_to" in row[1] and "region" in row[1]:
            assert " 100.00 " in f" {row[1]} ", row  # a missing column fails every row
    data = json.loads(invoke(app, "validate", "raw_customers", str(path), "-p", DAY, "--json").output)
    assert data["columns"] == {"unexpected": ["regoin"], "missing": ["region"], "renamed": {"regoin": "region"}}


def test_type_mismatch_is_said_in_terms_of_the_data(app, customers, tmp_path):
    path = tmp_path / "text_income.parquet"
    frame = customers.copy()
    frame["income"] = frame["income"].astype(str)
    frame.to_parquet(path, index=False)
    result = CliRunner().invoke(app, ["expectations", "validate", "raw_customers", str(path), "-p", DAY],
                                env={"TTY_COMPATIBLE": "0"})
    assert result.exit_code == 1, result.output
    assert "income: type mismatch: holds str values where the contract says numeric" in result.output
    assert "Invalid comparison" not in result.output and "could not be evaluated" not in result.output


def test_unknown_suite_suggests_the_close_name_and_json_errors_are_objects(app, customers, tmp_path):
    path = tmp_path / "customers.parquet"
    customers.to_parquet(path, index=False)
    result = invoke(app, "validate", "raw_custmers", str(path), "-p", DAY, "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["message"].endswith("did you mean raw_customers?")
