"""Start-up of the `obs` console script: a read-only command builds only its part of the command tree and
imports neither the other concerns' modules nor typer's pydantic adapters, with the same output as the
whole tree; `obs expectations validate`'s core does not import dagster."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import typer.main
from helpers import partitioned_events
from helpers.lineage_scenario import as_dicts, pipeline_events
from typer.testing import CliRunner

from lineage.store import LineageStore
from observability_pipelines import cli

pytestmark = pytest.mark.slow  # each case runs real `obs` processes (~2-7 s); the fast loop keeps test_cli_output's import check

READ_ONLY = {
    "lineage upstream": ["lineage", "upstream", "serving.churn_predictions"],
    "lineage history": ["lineage", "history", "clean.loans", "--limit", "4"],
    "lineage columns": ["lineage", "columns", "serving.churn_predictions", "score", "--depth", "3"],
    "lineage path": ["lineage", "path", "raw.customers", "serving.churn_predictions"],
    "rca": ["rca", "clean.loans", "--partition", "2026-03-03"],
    "incidents list": ["incidents", "list"],
    "lineage datasets": ["lineage", "datasets"],
}
# Not needed to answer a read-only command (typer._adapters is pydantic, built for every parameter by typer 0.29).
NOT_IMPORTED = ("typer._adapters", "pydantic", "observability_pipelines.cli_demo",
                "observability_pipelines.cli_expectations", "great_expectations", "dagster", "pandas")

PG_DIALECT = "sqlalchemy.dialects.postgresql"
# Nor, on a SQLite store, what the command's own answer does not use: networkx (a read that builds no lineage
# graph), lineage.facets (a read that parses no facet), the PostgreSQL dialect, and never the openlineage client
# (~0.3 s: the facets that are parsed are lineage.facets' own classes) nor great_expectations.
# `incidents list` after a sync: nothing new stored, so no facet is parsed and no RCA runs.
OPENLINEAGE = ("openlineage", "openlineage.client", "great_expectations")
# Nor the store's write path: what turns an event into rows, and the schema checks (jsonschema-rs) of events.
WRITE_PATH = ("lineage.store.derive", "lineage.store.fast_schema", "jsonschema_rs")
NOT_NEEDED = {
    "lineage upstream": (*OPENLINEAGE, PG_DIALECT, *WRITE_PATH),
    "lineage columns": (*OPENLINEAGE, PG_DIALECT, *WRITE_PATH),
    "lineage path": (*OPENLINEAGE, PG_DIALECT, *WRITE_PATH),
    "lineage history": ("networkx", *OPENLINEAGE, PG_DIALECT, *WRITE_PATH),
    "lineage datasets": ("networkx", "lineage.facets", *OPENLINEAGE, PG_DIALECT, *WRITE_PATH),
    # lineage.graph (not loaded here) takes parse_event_time / stable_run_uuid from lineage.store.validation
    "incidents list": ("networkx", "lineage.facets", *OPENLINEAGE, PG_DIALECT, *WRITE_PATH, "lineage.store.validation"),
    "rca": (*OPENLINEAGE, PG_DIALECT, *WRITE_PATH),
}

ELAPSED = re.compile(r"\b\d+ ms\b")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('startup') / 'lineage.db'}"
    events = as_dicts(pipeline_events())
    for day in range(4):
        events += partitioned_events.day(day, nulls=300 if day == 2 else 0)
    with LineageStore.open(url) as store:
        assert not store.ingest(events).rejected
    return url


def console(args: list[str], env: dict[str, str], modules: tuple[str, ...] = NOT_IMPORTED) -> tuple[str, list[str]]:
    """Run the console script's main() on args in a fresh interpreter: its stdout and which of `modules`
    it loaded."""
    code = (
        "import sys, json\n"
        f"sys.argv = ['obs', *{args!r}]\n"
        "from observability_pipelines.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    return done.stdout, json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("name", sorted(READ_ONLY))
def test_read_only_commands_import_only_what_they_answer_with(db: str, tmp_path, name: str) -> None:
    env = {**os.environ, "TTY_COMPATIBLE": "0", "COLUMNS": "120", "OBS_OUTBOX_PATH": str(tmp_path / "o.db")}
    args = [*READ_ONLY[name], "--db", db]
    stdout, loaded = console(args, env)
    assert loaded == []
    whole_tree = CliRunner().invoke(cli.app, args, env={"TTY_COMPATIBLE": "0", "COLUMNS": "120"})
    assert whole_tree.exit_code == 0, whole_tree.output
    assert ELAPSED.sub("<n> ms", stdout) == ELAPSED.sub("<n> ms", whole_tree.stdout) and stdout.strip()


@pytest.mark.parametrize("name", sorted(NOT_NEEDED))
def test_read_only_commands_skip_the_libraries_their_answer_does_not_use(db: str, tmp_path, name: str) -> None:
    env = {**os.environ, "TTY_COMPATIBLE": "0", "COLUMNS": "120", "OBS_OUTBOX_PATH": str(tmp_path / "o.db")}
    args = [*READ_ONLY[name], "--db", db]
    console(args, env)  # once first: `incidents list` syncs (RCA of the failures stored since the last sync)
    stdout, loaded = console(args, env, NOT_NEEDED[name])
    assert loaded == [] and stdout.strip()


def test_outbox_status_imports_neither_lineage_queries_nor_pydantic(tmp_path) -> None:
    env = {**os.environ, "TTY_COMPATIBLE": "0", "OBS_OUTBOX_PATH": str(tmp_path / "o.db")}
    stdout, loaded = console(["outbox", "status"], env)
    assert loaded == [] and "Pending" in stdout


def test_lineage_words_are_the_lineage_cli_commands() -> None:
    """_LINEAGE_WORDS names the lineage CLI's top-level commands: a new one missing from it would still run
    (the whole tree is built for an unknown word), but slowly."""
    commands = set(typer.main.get_command(cli.app).commands)
    assert commands - set(cli._OWN_CONCERNS) == cli._LINEAGE_WORDS


def test_bad_values_still_get_typers_errors(db: str) -> None:
    """Values _PlainValues does not answer itself (out of bounds, not an integer) reach typer's coercion."""
    for bad, message in (("0", "greater than or equal to 1"), ("x", "valid integer")):
        args = ["lineage", "upstream", "training_set", "--depth", bad, "--db", db]
        done = subprocess.run([sys.executable, "-m", "observability_pipelines.cli", *args], capture_output=True,
                              text=True, timeout=120, env={**os.environ, "TTY_COMPATIBLE": "0"})
        assert done.returncode == 2 and message in done.stderr, done.stderr


def test_the_validation_core_does_not_import_dagster() -> None:
    code = ("import sys\nimport observability_pipelines.checks.great_expectations as ge\n"
            "assert 'dagster' not in sys.modules\n"
            "assert ge.GreatExpectationsObserver.__module__.endswith('great_expectations_dagster')\n"
            "assert 'dagster' in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
