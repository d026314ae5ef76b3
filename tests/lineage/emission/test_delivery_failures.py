"""Issue 16, point 7: a killed flusher and a broken transport configuration never hold up or lose events.

Real processes take the delivery lease and are killed (``kill -9``) or frozen (``SIGSTOP``); a real
openlineage-python file transport is configured without its path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from helpers.emission_events import run_events
from helpers.recording_server import RecordingBackend

from lineage.emission.delivery import flush
from lineage.emission.emitter import LineageEmitter
from lineage.emission.outbox import LEASE_SECONDS, Outbox
from lineage.emission.transports import LineageApiConfig, LineageApiTransport
from lineage.store import LineageStore

HOLDER = textwrap.dedent("""
    import sys, time
    from lineage.emission.outbox import Outbox
    assert Outbox(sys.argv[1]).try_lease()
    print("leased", flush=True)
    time.sleep(600)
""")


def _holder(path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "leased"
    return proc


@pytest.fixture
def backend():
    server = RecordingBackend().start()
    yield server
    server.stop()


def test_a_killed_flushers_lease_is_taken_over_at_once(tmp_path, backend):
    path = tmp_path / "outbox.db"
    sent = run_events(2, 2)
    Outbox(path).append(sent)
    proc = _holder(path)
    proc.send_signal(signal.SIGKILL)  # not reaped yet: a zombie still has its pid
    time.sleep(0.2)
    started = time.monotonic()
    result = flush(Outbox(path), LineageApiTransport(LineageApiConfig(url=backend.url)), lease_wait_s=15.0)
    took = time.monotonic() - started
    proc.wait()
    assert result.skipped is None and result.delivered == len(sent), result
    assert took < 10.0 and backend.events == sent  # not the 15 s lease expiry: the dead pid is seen at once


def test_a_live_holder_keeps_its_lease_for_at_most_the_lease_time(tmp_path, backend):
    path = tmp_path / "outbox.db"
    Outbox(path).append(run_events(1, 2))
    proc = _holder(path)
    try:
        result = flush(Outbox(path), LineageApiTransport(LineageApiConfig(url=backend.url)), lease_wait_s=0.0)
        assert result.skipped == "lease" and backend.events == []  # it is alive: never two deliverers
        assert LEASE_SECONDS <= 15.0
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_a_frozen_holder_on_another_machine_is_taken_over_within_15_s(tmp_path, backend):
    """SIGSTOP: the process exists but never renews, as a flusher on a lost machine would."""
    path = tmp_path / "outbox.db"
    sent = run_events(1, 2)
    Outbox(path).append(sent)
    proc = _holder(path)
    proc.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        result = flush(Outbox(path), LineageApiTransport(LineageApiConfig(url=backend.url)), budget_s=None,
                       lease_wait_s=20.0)
        took = time.monotonic() - started
        assert result.delivered == len(sent) and took <= 15.5, (result, took)
    finally:
        proc.kill()
        proc.wait()


def test_a_file_transport_without_a_path_keeps_every_event(tmp_path, monkeypatch, caplog):
    db = f"sqlite:///{tmp_path / 'lineage.db'}"
    monkeypatch.setenv("OBS_LINEAGE_DB", db)  # must NOT become the backend behind the user's back
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    sent = run_events(4, 2)
    emitter = LineageEmitter(outbox_path=tmp_path / "outbox.db", budget_s=0.5)
    for event in sent:  # one emit per event, as steps do
        emitter.emit(event)
    status = emitter.status()
    emitter.close()
    assert status.pending == len(sent)  # all 8 kept (5 of 8 were lost before)
    assert "log_file_path" in status.last_error and "transport configuration is invalid" in status.last_error
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "log_file_path" in r.getMessage()]
    assert len(errors) == 1  # said once per process, not once per event
    store = LineageStore.open(db)
    assert store.event_count() == 0
    store.dispose()

    out = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(out))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    fixed = LineageEmitter(outbox_path=tmp_path / "outbox.db")
    assert fixed.flush().delivered == len(sent)
    fixed.close()
    assert [json.loads(line) for line in out.read_text().splitlines()] == sent


def test_holder_ids_name_this_host_and_process(tmp_path):
    """The takeover rule reads the holder id; a foreign host's holder is never presumed dead."""
    from lineage.emission.outbox import _holder_is_dead

    assert not _holder_is_dead(f"some-other-host:{os.getpid() + 10**6}:abcd")
    assert not _holder_is_dead(f"{os.uname().nodename}:{os.getpid()}:abcd")
