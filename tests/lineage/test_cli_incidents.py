"""`obs incidents list|show|ack|resolve` on a real SQLite store holding one fault: a null burst in
raw.loans.income on 2026-03-03 (helpers.partitioned_events), which clean.loans inherits."""

from __future__ import annotations

import json

import pytest
from helpers import partitioned_events
from typer.testing import CliRunner

from lineage.store import LineageStore
from observability_pipelines.cli import app

runner = CliRunner()
PIPE = {"TTY_COMPATIBLE": "0", "COLUMNS": "100"}


@pytest.fixture
def db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    events = [e for day in range(4) for e in partitioned_events.day(day, nulls=300 if day == 2 else 0)]
    with LineageStore.open(url) as store:
        assert not store.ingest(events).rejected
    return url


def _run(db: str, *args: str):
    return runner.invoke(app, ["incidents", *args, "--db", db], env=PIPE)


def _json(db: str, *args: str) -> dict:
    result = _run(db, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_names_the_fault_and_its_partition(db: str) -> None:
    [incident] = _json(db, "list")["incidents"]
    assert incident["status"] == "open" and incident["partitions"] == ["2026-03-03"]
    assert (incident["cause"]["asset"], incident["cause"]["column"]) == ("raw.loans", "income")
    lines = _run(db, "list").stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "status", "severity"]
    assert lines[1].split()[0] == str(incident["id"]) and "raw.loans.income" in lines[1] and "2026-03-03" in lines[1]
    assert not any(line.startswith("next:") for line in lines)  # a pipe gets the rows only


def test_show_ranks_causes_and_lists_the_affected_checks(db: str) -> None:
    [incident] = _json(db, "list")["incidents"]
    text = _run(db, "show", str(incident["id"])).stdout
    assert text.startswith(f"Incident {incident['id']} open")
    assert "1. [" in text and "raw.loans.income" in text and "[2026-03-03]" in text
    assert _json(db, "show", str(incident["id"]))["id"] == incident["id"]


def test_ack_then_resolve_moves_it_through_its_lifecycle(db: str) -> None:
    [incident] = _json(db, "list")["incidents"]
    ident = str(incident["id"])
    assert _run(db, "ack", ident, "--by", "alice").stdout.strip() == f"incident {ident} is now acknowledged"
    assert _json(db, "resolve", ident, "--by", "alice")["status"] == "resolved"
    assert [i["id"] for i in _json(db, "list", "--status", "resolved")["incidents"]] == [incident["id"]]
    assert _run(db, "list", "--status", "open").stdout.strip() == "no incidents with status open in the store"


def test_bad_status_and_unknown_ids_are_errors_with_exit_codes(db: str) -> None:
    bad = _run(db, "list", "--status", "closed")
    assert bad.exit_code == 2 and "unknown status 'closed'" in bad.stderr and "next: use --status" in bad.stderr
    missing = _run(db, "show", "999")
    assert missing.exit_code == 1 and missing.stderr.startswith("error: ")
    as_json = _run(db, "resolve", "999", "--json")
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["error"]["exit_code"] == 1


def test_the_signal_facets_named_without_importing_lineage_facets_are_the_facet_classes_keys() -> None:
    from lineage.analysis import incidents
    from lineage.facets import AssertionsFacet, DriftDatasetFacet

    assert incidents.SIGNAL_FACETS == (AssertionsFacet.KEY, DriftDatasetFacet.KEY)
