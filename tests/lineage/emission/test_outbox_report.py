"""Workers report their outbox after emitting and on every flush-sensor tick; a report never fails an emit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from helpers.lineage_workers import simple_event
from helpers.recording_server import RecordingBackend
from lineage.emission import outbox_report
from lineage.emission.emitter import LineageEmitter
from lineage.emission.transports.store import LineageStoreConfig, LineageStoreTransport
from lineage.store import LineageStore
from lineage.store.worker_reports import worker_reports


def _reports(store: LineageStore) -> list:
    with store.read() as conn:
        return list(conn.execute(select(worker_reports)))


@pytest.fixture(autouse=True)
def _fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbox_report, "_last", {})
    monkeypatch.delenv(outbox_report.WORKER_ID_ENV, raising=False)


def test_emit_reports_once_per_interval_unless_the_backlog_changes(tmp_path: Path, monkeypatch) -> None:
    store = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    emitter = LineageEmitter(outbox_path=tmp_path / "outbox.db",
                             transport=LineageStoreTransport(LineageStoreConfig(store=store)))
    emitter.emit(simple_event(0))
    (first,) = _reports(store)
    assert (first.worker, first.pending, first.dead, first.spool_files) == (
        outbox_report.worker_id(tmp_path / "outbox.db"), 0, 0, None)
    emitter.emit(simple_event(1))  # delivered too: same backlog, within the interval
    assert _reports(store)[0].received_at == first.received_at
    monkeypatch.setattr(outbox_report, "REPORT_INTERVAL_S", 0.0)
    emitter.emit(simple_event(2))
    assert _reports(store)[0].received_at > first.received_at and len(_reports(store)) == 1
    emitter.close()
    store.dispose()


def test_an_unreachable_backend_fails_no_emit_and_costs_no_report_attempt(tmp_path: Path) -> None:
    down = RecordingBackend()  # never started: connection refused
    from lineage.emission.transports.lineage_api import LineageApiConfig, LineageApiTransport

    emitter = LineageEmitter(outbox_path=tmp_path / "outbox.db", budget_s=0.5,
                             transport=LineageApiTransport(LineageApiConfig(url=down.url)))
    result = emitter.emit(simple_event(0))
    assert result is not None and result.error and result.remaining == 1
    assert outbox_report._last == {}  # no report after a failed delivery
    assert outbox_report.report(emitter) is False  # and one asked for explicitly does not raise
    emitter.close()


def test_flush_sensor_tick_reports_the_daemons_outbox(tmp_path: Path, monkeypatch) -> None:
    from observability_pipelines.automation.outbox_sensor import flush_outbox_once

    backend = RecordingBackend().start()
    try:
        monkeypatch.setenv("OBS_LINEAGE_URL", backend.url)
        monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "daemon" / "outbox.db"))
        emitter, sent = LineageEmitter(deliver_inline=False), [simple_event(i) for i in range(3)]
        emitter.enqueue(sent)
        emitter.close()
        result = flush_outbox_once()
        assert result["delivered"] == 3 and result["reported"] is True
        (report,) = backend.reports
        with sqlite3.connect(tmp_path / "daemon" / "outbox.db") as conn:
            pending = conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        assert report["pending"] == pending == 0 and report["dead"] == 0
        assert report["worker"] == outbox_report.worker_id(tmp_path / "daemon" / "outbox.db")
        assert backend.events == sent  # reports are not events
    finally:
        backend.stop()


def test_a_report_holds_counts_only(tmp_path: Path) -> None:
    emitter = LineageEmitter(outbox_path=tmp_path / "outbox.db", deliver_inline=False)
    emitter.enqueue([{**simple_event(0), "secret_row_value": "4111-1111"}])
    body = outbox_report.build(emitter.outbox.path)
    assert set(body) == {"worker", "host", "pending", "dead", "oldest_pending_age_s", "spool_files", "reported_at"}
    assert "4111" not in repr(body)
    assert outbox_report.build(tmp_path / "absent.db") is None and not (tmp_path / "absent.db").exists()
    emitter.close()
