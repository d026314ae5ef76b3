"""`obs store backup|restore|prune|quarantine|release|quarantined|audit` on a real SQLite store: each
command's effect, its audit record, and errors as one line with exit code 2."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from lineage.store import LineageStore
from observability_pipelines.cli import app

runner = CliRunner()
NOW = datetime.now(UTC)
PRODUCER = "https://example.com/cli-store-test"


def _run(job: str, days_ago: float) -> list[dict]:
    """START and COMPLETE of one run of `job` reading src and writing out, `days_ago` days ago."""
    run_id, at = str(uuid.uuid4()), NOW - timedelta(days=days_ago)
    return [{"eventType": kind, "eventTime": (at + timedelta(seconds=i)).isoformat(), "run": {"runId": run_id},
             "job": {"namespace": "jobs", "name": job}, "inputs": [{"namespace": "w", "name": "src"}],
             "outputs": [{"namespace": "w", "name": "out"}], "producer": PRODUCER,
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"}
            for i, kind in enumerate(("START", "COMPLETE"))]


@pytest.fixture
def db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    with LineageStore.open(url) as store:
        store.ingest(_run("a", 100) + _run("a", 90) + _run("a", 1))  # the two old runs are redundant
    return url


def obs(db: str, *args: str, stdin: str | None = None):
    return runner.invoke(app, ["store", *args, "--db", db], input=stdin, env={"TTY_COMPATIBLE": "0"})


def _json(db: str, *args: str):
    result = obs(db, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _event_count(db: str) -> int:
    with LineageStore.open(db) as store:
        return store.event_count()


def test_prune_dry_run_changes_nothing_then_prune_deletes_and_is_audited(db: str) -> None:
    planned = _json(db, "prune", "--older-than", "30", "--dry-run")
    assert planned["events_deleted"] == 4 and _event_count(db) == 6
    done = _json(db, "prune", "--older-than", "30")
    assert done["events_deleted"] == 4 and _event_count(db) == 2
    [record] = _json(db, "audit")
    assert record["action"] == "prune" and record["id"] == done["audit_id"]


def test_quarantine_lists_and_release_restores_the_event(db: str) -> None:
    with LineageStore.open(db) as store:
        before = store.event_count()
    event_id = "1"
    quarantined = obs(db, "quarantine", event_id, "--reason", "garbled by a test")
    assert quarantined.exit_code == 0 and f"`obs store release {event_id}` undoes it" in quarantined.stdout
    [row] = _json(db, "quarantined")
    assert row["event_id"] == 1 and row["reason"] == "garbled by a test"
    assert _event_count(db) == before - 1
    released = _json(db, "release", event_id)
    assert released["new_event_id"] and _event_count(db) == before
    assert obs(db, "quarantined").stdout.strip() == "no quarantined events"
    assert [r["action"] for r in _json(db, "audit")][:2] == ["release", "quarantine"]


def test_backup_restore_round_trip_and_restore_asks_first(db: str, tmp_path) -> None:
    target = tmp_path / "backup.db"
    backed = obs(db, "backup", str(target))
    assert backed.exit_code == 0 and "integrity ok" in backed.stdout and target.stat().st_size > 0
    again = obs(db, "backup", str(target))
    assert again.exit_code == 2 and again.stderr.startswith("error: ")  # no overwrite without --force
    assert obs(db, "backup", str(target), "--force").exit_code == 0
    _json(db, "prune", "--older-than", "30")
    declined = obs(db, "restore", str(target), stdin="n\n")
    assert declined.exit_code == 1 and _event_count(db) == 2
    restored = _json(db, "restore", str(target), "--yes")
    assert restored["events"] == 6 and _event_count(db) == 6


def test_errors_are_one_line_with_exit_code_2(db: str, tmp_path) -> None:
    missing = obs(db, "quarantine", "999999", "--reason", "x")
    assert missing.exit_code == 2 and "no stored event with id 999999" in missing.stderr
    not_a_backup = tmp_path / "junk.db"
    not_a_backup.write_text("not sqlite")
    refused = obs(db, "restore", str(not_a_backup), "--yes")
    assert refused.exit_code == 2 and len(refused.stderr.strip().splitlines()) <= 2 and "Traceback" not in refused.output
