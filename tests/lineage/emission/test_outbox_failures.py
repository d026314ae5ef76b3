"""Issue 16, point 3 (and 5's corrupt outbox): an outbox that cannot be written never loses lineage.

A real full disk (a 256 KiB tmpfs), a real corrupt file, a real lineage store and HTTP backend: the
events are delivered directly, or the step fails with one readable line; ``obs outbox status`` says so.
"""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd
import pytest
import typer
from helpers.emission_events import run_events as _events
from helpers.full_disk import fill, tiny_disk
from helpers.recording_server import RecordingBackend
from typer.testing import CliRunner

from lineage.emission import events as ev
from lineage.emission.emitter import LineageEmitter, LineageNotRecorded
from lineage.emission.outbox import Outbox, OutboxError
from lineage.store import LineageStore
from observability_pipelines.cli import app as obs_app


@pytest.fixture
def full_disk(tmp_path):
    with tiny_disk(tmp_path / "disk") as disk:
        yield disk



def test_full_disk_delivers_directly_and_status_shows_it(full_disk, tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'lineage.db'}"
    monkeypatch.setenv("OBS_LINEAGE_DB", db)
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(full_disk / "outbox.db"))
    emitter = LineageEmitter()
    emitter.emit(*_events(1, 2))  # the outbox works while there is room
    fill(full_disk)
    sent = _events(40, 5)  # 200 events, one emit each, as steps do
    for event in sent:
        emitter.emit(event)
    emitter.close()
    store = LineageStore.open(db)
    try:
        assert store.event_count() == 2 + len(sent)  # none lost
    finally:
        store.dispose()
    status = json.loads(CliRunner().invoke(obs_app, ["outbox", "status", "--json"]).stdout)
    assert status["writable"] is False and "disk is full" in status["problem"]
    human = CliRunner().invoke(obs_app, ["outbox", "status"]).output
    assert "Not writable" in human and "disk is full" in human


def test_full_disk_and_backend_down_fails_loudly(full_disk, monkeypatch):
    monkeypatch.setenv("OBS_LINEAGE_URL", RecordingBackend().url)  # never started: unreachable
    emitter = LineageEmitter(outbox_path=full_disk / "outbox.db", budget_s=0.2)
    emitter.emit(*_events(1, 1))
    fill(full_disk)
    with pytest.raises(LineageNotRecorded) as caught:
        emitter.emit(*_events(1, 3))
    message = str(caught.value)
    assert "\n" not in message and "3 lineage event(s) not recorded" in message
    assert str(full_disk / "outbox.db") in message and "disk is full" in message
    assert "direct delivery failed too" in message
    emitter.close()


def test_a_step_fails_rather_than_losing_its_lineage(full_disk, monkeypatch):
    from observability_pipelines.observe.asset import observed_asset
    from observability_pipelines.observe.openlineage import OpenLineageObserver, OpenLineageResource, reset_emitters
    from observability_pipelines.resources.faults import FaultInjector

    monkeypatch.setenv("OBS_LINEAGE_URL", RecordingBackend().url)
    outbox = full_disk / "outbox.db"
    Outbox(outbox).append(_events(1, 1))
    fill(full_disk)

    @observed_asset(name="numbers", observers=[OpenLineageObserver()])
    def numbers(context):
        return pd.DataFrame({"x": range(10)})

    reset_emitters()
    try:
        result = dg.materialize([numbers], raise_on_error=False, resources={
            "openlineage": OpenLineageResource(outbox_path=str(outbox), budget_seconds=0.2),
            "faults": FaultInjector()})
    finally:
        reset_emitters()
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    error, text = failure.step_failure_data.error, ""
    while error is not None:  # Dagster wraps the step's exception: read the chain
        text, error = text + error.message, error.cause
    assert "LineageNotRecorded" in text and "disk is full" in text


def test_corrupt_outbox_is_one_readable_line_and_emission_goes_on(tmp_path, monkeypatch):
    path = tmp_path / "outbox.db"
    path.write_bytes(b"this is not an sqlite database" * 200)
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(path))
    done = CliRunner().invoke(obs_app, ["outbox", "status"])
    assert done.exit_code == 2 and done.exception is None or isinstance(done.exception, SystemExit)
    lines = [line for line in done.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "not an SQLite database" in lines[0] and "mv " in lines[0], done.output
    flushed = CliRunner().invoke(obs_app, ["outbox", "flush", "--json"])
    assert flushed.exit_code == 2 and "not an SQLite database" in json.loads(flushed.stdout)["error"]["message"]
    with pytest.raises(OutboxError):
        Outbox(path).append(_events(1, 1))
    db = f"sqlite:///{tmp_path / 'lineage.db'}"
    monkeypatch.setenv("OBS_LINEAGE_DB", db)
    emitter = LineageEmitter()
    emitter.emit(*_events(1, 2))  # delivered directly: nothing lost to the corrupt file
    emitter.close()
    store = LineageStore.open(db)
    assert store.event_count() == 2
    store.dispose()
    assert path.read_bytes().startswith(b"this is not")  # never overwritten: a person may want to look


def test_sensor_tick_reports_a_corrupt_outbox_in_one_line(tmp_path, monkeypatch):
    from observability_pipelines.automation.outbox_sensor import flush_outbox_once

    path = tmp_path / "outbox.db"
    path.write_bytes(b"garbage" * 1000)
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(path))
    result = flush_outbox_once(budget_s=1.0)
    assert "not an SQLite database" in result["error"] and "\n" not in result["error"]


def test_a_run_event_round_trips_through_the_direct_path(full_disk, tmp_path, monkeypatch):
    """The directly delivered event is the very event the outbox would have held."""
    server = RecordingBackend().start()
    monkeypatch.setenv("OBS_LINEAGE_URL", server.url)
    try:
        emitter = LineageEmitter(outbox_path=full_disk / "o.db")
        fill(full_disk)
        sent = _events(1, 2)
        emitter.emit(*[ev.rehydrate(e) for e in sent])
        emitter.close()
        assert server.events == sent
    finally:
        server.stop()
