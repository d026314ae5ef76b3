"""`obs ingest` / `obs lineage ...` through typer's CliRunner, reading back the same graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from helpers.lineage_scenario import SHOP, as_dicts, pipeline_events
from typer.testing import CliRunner

from lineage.graph import queries
from lineage.cli import register
from lineage.store import LineageStore

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    root = typer.Typer()
    register(root)
    return root


def run(app: typer.Typer, *args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_root_app_registers_lineage_commands() -> None:
    from observability_pipelines.cli import app as obs_app

    result = runner.invoke(obs_app, ["lineage", "--help"])
    assert result.exit_code == 0
    for command in ("upstream", "downstream", "path", "columns", "impact", "history"):
        assert command in result.stdout


def test_ingest_then_query_every_command(app: typer.Typer, db_url: str, tmp_path: Path) -> None:
    events = as_dicts(pipeline_events())
    lines = tmp_path / "events.jsonl"
    lines.write_text("\n".join(json.dumps(e) for e in events[:8]) + "\n\n")
    array = tmp_path / "events.json"
    array.write_text(json.dumps(events))
    first = run(app, "ingest", str(lines), "--db", db_url, "--json")
    assert (first["received"], first["stored"], first["duplicates"]) == (8, 8, 0)
    second = run(app, "ingest", str(array), "--db", db_url, "--json", "--batch-size", "5")
    assert (second["received"], second["stored"], second["duplicates"]) == (len(events), len(events) - 8, 8)

    with LineageStore.open(db_url) as store:
        expected = {
            "upstream": queries.upstream(store, "serving.churn_predictions", depth=2),
            "downstream": queries.downstream(store, "raw.orders", namespace=SHOP),
            "path": queries.paths(store, "raw.customers", "models.churn"),
            "columns": queries.column_lineage(store, "serving.churn_predictions", "score"),
            "impact": queries.impact(store, "raw.customers"),
            "history": queries.run_history(store, "features.customer_features", limit=3),
        }
    db = ["--db", db_url, "--json"]
    assert run(app, "lineage", "upstream", "serving.churn_predictions", "--depth", "2", *db) == expected["upstream"]
    assert run(app, "lineage", "downstream", "raw.orders", "--namespace", SHOP, *db) == expected["downstream"]
    assert run(app, "lineage", "path", "raw.customers", "models.churn", *db) == expected["path"]
    assert run(app, "lineage", "columns", "serving.churn_predictions", "score", *db) == expected["columns"]
    assert run(app, "lineage", "impact", "raw.customers", *db) == expected["impact"]
    assert run(app, "lineage", "history", "features.customer_features", "--limit", "3", *db) == expected["history"]
    assert expected["upstream"]["datasets"] and expected["path"]["count"] == 1
    as_of = run(app, "lineage", "downstream", "raw.customers", "--as-of", "2025-01-01T14:00:00Z", *db)
    assert sorted(d["name"] for d in as_of["datasets"]) == ["features.customer_features", "models.churn"]
    # Human-readable tables render too.
    table = runner.invoke(app, ["lineage", "impact", "raw.customers", "--db", db_url])
    assert table.exit_code == 0 and "models.churn" in table.stdout


def test_errors_exit_non_zero_and_say_what_to_do(
    app: typer.Typer, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBS_LINEAGE_STRICT", "1")  # the lenient file ingest: tests/lineage/store/test_lenient_ingest.py
    events = as_dicts(pipeline_events())
    good = tmp_path / "good.json"
    good.write_text(json.dumps(events))
    run(app, "ingest", str(good), "--db", db_url, "--json")

    ambiguous = runner.invoke(app, ["lineage", "downstream", "raw.orders", "--db", db_url])
    assert ambiguous.exit_code == 1
    assert "--namespace" in ambiguous.stderr and "s3://lake" in ambiguous.stderr

    missing = runner.invoke(app, ["lineage", "upstream", "nope", "--db", db_url])
    assert missing.exit_code == 1 and "no dataset named 'nope'" in missing.stderr

    bad = [dict(events[0]), dict(events[1])]
    bad[1] = {**bad[1], "eventType": "DONE"}
    bad_file = tmp_path / "bad.jsonl"
    bad_file.write_text("\n".join(json.dumps(e) for e in bad))
    before = LineageStore.open(db_url)
    count = before.event_count()
    rejected = runner.invoke(app, ["ingest", str(bad_file), "--db", db_url])
    assert rejected.exit_code == 1
    assert "line 2" in rejected.stderr and "$.eventType" in rejected.stderr and "nothing was stored" in rejected.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(events[0]) + "\n{not json\n")
    result = runner.invoke(app, ["ingest", str(broken), "--db", db_url])
    assert result.exit_code == 1 and "line 2 is not valid JSON" in result.stderr
    assert runner.invoke(app, ["ingest", str(tmp_path / "absent.json"), "--db", db_url]).exit_code == 1
    assert before.event_count() == count
    before.dispose()


def test_unreachable_database_is_a_clear_error(app: typer.Typer) -> None:
    result = runner.invoke(
        app, ["lineage", "upstream", "x", "--db", "postgresql+psycopg2://nobody@127.0.0.1:1/none?connect_timeout=2"]
    )
    assert result.exit_code == 1
    assert "cannot open the lineage store" in result.stderr and "OBS_LINEAGE_DB" in result.stderr


def _tags(*pairs: Any) -> dict[str, Any]:
    return {"tags": [{"key": k, "value": v, "source": "DAGSTER"} for k, v in pairs]}


NOMINAL = {"nominalStartTime": "2026-03-02T00:00:00Z", "nominalEndTime": "2026-03-03T00:00:00Z"}
PARTITION_FACETS = [  # run facets as stored: the common form and every other one the decoder handles
    {}, {"parent": {"run": {"runId": "x"}}}, {"tags": _tags(("dagster/partition", "2026-03-05"))},
    {"tags": _tags(("dagster/partition", "2026-03-05-13:00"), ("dagster/partition/day", "2026-03-05"))},
    {"tags": _tags(("dagster/partition", "2026-03-05|eu"))}, {"tags": _tags(("other", "x")), "nominalTime": NOMINAL},
    {"tags": _tags(("dagster/partition", ""))}, {"tags": _tags(("dagster/partition", "")), "nominalTime": NOMINAL},
    {"tags": _tags(("dagster/partition", "a"), ("dagster/partition", "b"))}, {"nominalTime": NOMINAL},
    {"tags": _tags(("dagster/partition", 5))}, {"tags": _tags(("", "x"), ("dagster/partition", "2026-03-05"))},
    {"tags": {"tags": "not a list"}}, {"tags": "not a facet"}, {"tags": {"tags": [None, 3]}, "nominalTime": NOMINAL},
    {"tags": _tags(("dagster/partition", None), ("dagster/partition", "k"))}, {"tags": {}},
    {"tags": {"tags": [{"key": "dagster/partition"}]}, "nominalTime": {"nominalStartTime": "bad"}},
]


def test_history_reads_the_partition_as_partition_key_does() -> None:
    """`obs lineage history` reads a run's partition tag itself (lineage.facets imports the openlineage
    client): the same key as partition_key for every form, common or not, and for random mixes of them."""
    import random

    from lineage import cli
    from lineage.facets import PARTITION_TAG, partition_key

    assert cli.PARTITION_TAG == PARTITION_TAG
    for facets in PARTITION_FACETS:
        assert cli._partition_of(facets) == partition_key(facets), facets
    entries = [e for f in PARTITION_FACETS if isinstance(f.get("tags"), dict) for e in f["tags"].get("tags") or []
               if isinstance(f["tags"].get("tags"), list)]
    rng = random.Random(18)
    for _ in range(500):
        facets = {"tags": {"tags": rng.sample(entries, rng.randint(0, 4))}}
        if rng.random() < 0.5:
            facets["nominalTime"] = NOMINAL
        assert cli._partition_of(facets) == partition_key(facets), facets


def test_registering_one_word_adds_that_command_alone() -> None:
    """The console script registers only the invoked word's command (typer reads every registered signature)."""
    from lineage.cli import _REGISTRARS

    def commands(only: str | None) -> set[str]:
        root = typer.Typer()
        root.callback()(lambda: None)  # a group, even with one command
        register(root, only)
        return set(typer.main.get_command(root).commands)

    assert commands(None) == set(_REGISTRARS)
    for word in _REGISTRARS:
        assert commands(word) == {word}
