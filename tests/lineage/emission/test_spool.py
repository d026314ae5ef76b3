"""The shared spool: a worker that goes away while the backend is down hands its events over; nothing is lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from helpers.recording_server import RecordingBackend

from lineage.emission import events as ev
from lineage.emission.emitter import LineageEmitter
from lineage.emission.spool import TAKING, Spool
from openlineage.client import event_v2

ROOT = Path(__file__).resolve().parents[3]


def _events(n: int, job: str = "spooled_job") -> list[dict]:
    run_id = str(uuid.uuid4())
    states = [event_v2.RunState.START, *[event_v2.RunState.RUNNING] * (n - 2), event_v2.RunState.COMPLETE]
    return [ev.to_dict(ev.run_event(s, run_id=run_id, job_namespace="dagster", job_name=job,
                                    event_time=f"2026-03-02T00:00:{i:02d}+00:00")) for i, s in enumerate(states)]


WORKER = textwrap.dedent("""
    import json, sys
    from lineage.emission.emitter import LineageEmitter
    events = json.load(open(sys.argv[1]))
    emitter = LineageEmitter(outbox_path=sys.argv[2], budget_s=0.5)
    for e in events:
        emitter.emit(e)
    status = emitter.status()
    print(json.dumps({"pending": status.pending, "spooled": status.spooled}))
""")


def test_worker_that_goes_away_loses_nothing(tmp_path, monkeypatch):
    """A worker process emits while the lineage API is down, then exits and its disk is wiped (a pod
    ending); the daemon's flush sensor later delivers every event, exactly once, in order."""
    from observability_pipelines.automation.outbox_sensor import flush_outbox_once

    shared = tmp_path / "shared" / "spool"
    down = RecordingBackend()  # never started: connection refused
    sent = _events(5, "job_a") + _events(3, "job_b")
    (tmp_path / "events.json").write_text(json.dumps(sent))
    worker_disk = tmp_path / "worker"
    env = {**os.environ, "OBS_LINEAGE_URL": down.url, "OBS_LINEAGE_SPOOL": str(shared),
           "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", WORKER, str(tmp_path / "events.json"), str(worker_disk / "o.db")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout.strip().splitlines()[-1])
    assert status == {"pending": 0, "spooled": len(sent)}, status
    shutil.rmtree(worker_disk)  # the pod is gone, and its outbox with it

    backend = RecordingBackend().start()
    try:
        monkeypatch.setenv("OBS_LINEAGE_URL", backend.url)
        monkeypatch.setenv("OBS_LINEAGE_SPOOL", str(shared))
        monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "daemon" / "o.db"))
        result = flush_outbox_once()
        assert result["collected"] == len(sent) and result["delivered"] == len(sent) and result["remaining"] == 0
        assert backend.events == sent  # each event once, in the order the worker emitted them
        assert Spool(shared).backlog() == 0 and not list(shared.iterdir())
        again = flush_outbox_once()
        assert again["delivered"] == 0 and backend.events == sent
    finally:
        backend.stop()


def test_unreachable_spool_keeps_events_in_the_local_outbox(tmp_path, monkeypatch):
    down = RecordingBackend()
    monkeypatch.setenv("OBS_LINEAGE_URL", down.url)
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the spool folder should be")
    emitter = LineageEmitter(outbox_path=tmp_path / "o.db", budget_s=0.3, spool=str(blocker / "spool"))
    try:
        sent = _events(4)
        emitter.emit(*sent)
        status = emitter.status()
        assert status.pending == len(sent) and status.spooled == 0
        # Once the backend is back, the same worker delivers them itself.
        backend = RecordingBackend(port=down.port).start()
        try:
            assert emitter.flush().delivered == len(sent)
            assert backend.events == sent
        finally:
            backend.stop()
    finally:
        emitter.close()


def test_delivered_events_are_not_spooled(tmp_path, monkeypatch):
    backend = RecordingBackend().start()
    monkeypatch.setenv("OBS_LINEAGE_URL", backend.url)
    emitter = LineageEmitter(outbox_path=tmp_path / "o.db", spool=str(tmp_path / "spool"))
    try:
        emitter.emit(*_events(3))
        assert emitter.status().spooled == 0 and Spool(tmp_path / "spool").backlog() == 0
        assert len(backend.events) == 3
    finally:
        emitter.close()
        backend.stop()


def test_two_collectors_never_take_the_same_file(tmp_path):
    spool = Spool(tmp_path / "spool")
    batches = [_events(3, f"job{i}") for i in range(6)]
    for batch in batches:
        spool.put(batch)
    first, second = [], []
    # The second collector lists the files, then the first takes them all: the second must skip every one.
    listed = spool.files()
    assert spool.collect(first.extend) == 18
    for path in listed:
        with pytest.raises(FileNotFoundError):
            path.rename(path.with_name(path.name + TAKING + "1"))
    assert spool.collect(second.extend) == 0 and second == []
    assert first == [e for batch in batches for e in batch]


def test_stale_claim_of_a_dead_collector_is_taken_over_and_bad_files_are_kept(tmp_path):
    spool = Spool(tmp_path / "spool")
    path = spool.put(_events(3))
    dead = path.rename(path.with_name(path.name + TAKING + "1000"))  # claimed in 1970 by a collector that died
    (spool.root / "0000-broken.jsonl").write_text("{not json\n")
    got: list[dict] = []
    assert spool.collect(got.extend) == 3 and len(got) == 3
    assert not dead.exists()
    kept = [p.name for p in spool.root.iterdir()]
    assert kept == ["0000-broken.jsonl.bad"]  # unreadable input is kept for a person, never deleted


def test_cli_status_shows_the_spool(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from observability_pipelines.cli import app

    spool = Spool(tmp_path / "spool")
    spool.put(_events(3))
    monkeypatch.setenv("OBS_LINEAGE_SPOOL", str(spool.root))
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "o.db"))
    out = CliRunner().invoke(app, ["outbox", "status", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["spool"] == str(spool.root) and data["spool_files"] == 1



def test_collected_events_wait_in_a_shared_outbox_instead_of_bouncing_back(tmp_path, monkeypatch):
    """On the daemon's machine a run worker may share the collector's outbox: while the backend is down, what
    the collector took from the spool stays pending there; a worker hands over only the events it emitted."""
    down = RecordingBackend()
    monkeypatch.setenv("OBS_LINEAGE_URL", down.url)
    spool = Spool(tmp_path / "spool")
    elsewhere = _events(4, "remote_job")
    spool.put(elsewhere)  # handed over earlier by a worker on another machine
    shared_outbox = tmp_path / "o.db"
    collector = LineageEmitter(outbox_path=shared_outbox, budget_s=0.3, spool=spool)
    worker = LineageEmitter(outbox_path=shared_outbox, budget_s=0.3, spool=spool)
    try:
        assert collector.flush().delivered == 0  # collects 4 into the outbox, backend still down
        assert collector.status().pending == 4 and spool.backlog() == 0
        mine = _events(2, "local_job")
        worker.emit(*mine)
        files = spool.files()
        assert len(files) == 1 and spool.read(files[0]) == mine
        assert worker.status().pending == 4  # the collected ones stay for the backend
        backend = RecordingBackend(port=down.port).start()
        try:
            assert collector.flush().delivered == 6
            def key(e: dict) -> str:
                return json.dumps(e, sort_keys=True)

            assert sorted(map(key, backend.events)) == sorted(map(key, elsewhere + mine))
        finally:
            backend.stop()
    finally:
        collector.close()
        worker.close()
