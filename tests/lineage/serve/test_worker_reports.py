"""Outbox gauges come from the workers' reports, not from the disk of the host that runs `obs serve`."""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from helpers.lineage_live import LiveServer
from helpers.lineage_workers import simple_event
from lineage.emission import outbox_report
from lineage.emission.emitter import LineageEmitter
from lineage.emission.spool import Spool
from lineage.emission.transports.lineage_api import LineageApiConfig, LineageApiTransport
from lineage.emission.transports.store import LineageStoreConfig, LineageStoreTransport
from lineage.serve import metrics
from lineage.serve.api import create_app
from lineage.store import LineageStore, utcnow

TOKEN = "s3cret"


def _scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
    for family in text_string_to_metric_families(httpx.get(url + "/metrics", timeout=30).text):
        for s in family.samples:
            samples[s.name][tuple(sorted(s.labels.items()))] = s.value
    return samples


def _one(samples: dict[str, Any], name: str, **labels: str) -> float:
    return samples[name][tuple(sorted(labels.items()))]


def _counts(path: Path) -> tuple[int, int]:
    """(pending, dead) read from the outbox file with sqlite3 itself."""
    with sqlite3.connect(path) as conn:
        rows = dict(conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
    return rows.get("pending", 0), rows.get("dead", 0)


@pytest.fixture
def isolated_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`obs serve`'s own host: no outbox file and no spool there."""
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "serve-host" / "lineage_outbox.db"))
    monkeypatch.delenv("OBS_LINEAGE_SPOOL", raising=False)
    monkeypatch.delenv(outbox_report.WORKER_ID_ENV, raising=False)
    return tmp_path


def _worker_a(root: Path, url: str) -> LineageEmitter:
    """Reports over the API: 3 events queued while the backend is unused, one of them rejected for good."""
    transport = LineageApiTransport(LineageApiConfig(url=url, api_key=TOKEN))
    emitter = LineageEmitter(outbox_path=root / "a" / "outbox.db", transport=transport, deliver_inline=False)
    ids = emitter.enqueue([simple_event(i) for i in range(3)])
    emitter.outbox.mark_dead(ids[0], "HTTP 422: rejected")
    return emitter


def _worker_b(root: Path, db_url: str) -> LineageEmitter:
    """Writes reports straight into the store; 5 events queued, 2 hand-over files in its spool."""
    spool = Spool(root / "b-spool")
    for i in range(2):
        spool.put([simple_event(100 + i)])
    transport = LineageStoreTransport(LineageStoreConfig(url=db_url))
    emitter = LineageEmitter(outbox_path=root / "b" / "outbox.db", transport=transport, deliver_inline=False,
                             spool=spool)
    emitter.enqueue([simple_event(10 + i) for i in range(5)])
    return emitter


def test_two_workers_report_and_obs_serve_reads_neither_dir(isolated_host: Path, db_url: str) -> None:
    store = LineageStore.open(db_url)
    with LiveServer(create_app(store=store, token=TOKEN)) as server:
        a, b = _worker_a(isolated_host, server.url), _worker_b(isolated_host, db_url)
        started = time.monotonic()
        assert outbox_report.report(a) and outbox_report.report(b)
        s = _scrape(server.url)
        id_a, id_b = outbox_report.worker_id(a.outbox.path), outbox_report.worker_id(b.outbox.path)
        assert id_a != id_b
        assert {dict(k)["worker"] for k in s["obs_outbox_backlog"]} == {id_a, id_b}  # nothing local
        assert (_one(s, "obs_outbox_backlog", worker=id_a), _one(s, "obs_outbox_dead_letters", worker=id_a)) \
            == _counts(a.outbox.path) == (2, 1)
        assert (_one(s, "obs_outbox_backlog", worker=id_b), _one(s, "obs_outbox_dead_letters", worker=id_b)) \
            == _counts(b.outbox.path) == (5, 0)
        assert _one(s, "obs_lineage_spool_files", worker=id_b) == len(list((isolated_host / "b-spool").glob("*.jsonl")))
        assert ("worker", id_a) not in {kv for k in s.get("obs_lineage_spool_files", {}) for kv in k}  # A has no spool
        elapsed = time.monotonic() - started
        for worker in (id_a, id_b):
            assert 0 <= _one(s, "obs_outbox_report_age_seconds", worker=worker, source="report") <= elapsed + 1
            assert 0 <= _one(s, "obs_outbox_oldest_age_seconds", worker=worker) <= elapsed + 5

        # A delivers its backlog to the same API, reports again: its last report replaces the first.
        assert a.flush(budget_s=None).remaining == 0
        assert outbox_report.report(a)
        s = _scrape(server.url)
        assert _one(s, "obs_outbox_backlog", worker=id_a) == 0 and _one(s, "obs_outbox_oldest_age_seconds", worker=id_a) == 0
        assert _one(s, "obs_outbox_backlog", worker=id_b) == 5
        a.close(), b.close()
    assert not (isolated_host / "serve-host").exists()  # the scrape created nothing on its host
    store.dispose()


def test_a_same_host_outbox_is_read_only_when_its_report_is_not_recent(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("OBS_LINEAGE_SPOOL", raising=False)
    monkeypatch.delenv(outbox_report.WORKER_ID_ENV, raising=False)
    store = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    emitter = LineageEmitter(outbox_path=tmp_path / "outbox.db",
                             transport=LineageStoreTransport(LineageStoreConfig(store=store)), deliver_inline=False)
    emitter.enqueue([simple_event(0)])
    assert outbox_report.report(emitter)  # reports 1 pending
    emitter.enqueue([simple_event(1)])  # 2 pending now; not reported yet
    worker = outbox_report.worker_id(emitter.outbox.path)

    def families(later: timedelta) -> dict[str, Any]:
        collector = metrics.ObservabilityCollector(store, outbox_path=emitter.outbox.path,
                                                   clock=lambda: utcnow() + later)
        return {f.name: {tuple(sorted(s.labels.items())): s.value for s in f.samples} for f in collector.collect()}

    fresh = families(timedelta(0))
    assert fresh["obs_outbox_backlog"] == {(("worker", worker),): 1}  # the report, though the file says 2
    assert set(fresh["obs_outbox_report_age_seconds"]) == {(("source", "report"), ("worker", worker))}
    stale = families(timedelta(seconds=metrics.LOCAL_AFTER_S + 60))
    assert _counts(emitter.outbox.path) == (2, 0)
    assert stale["obs_outbox_backlog"] == {(("worker", worker),): 2}  # read from the file now
    assert stale["obs_outbox_report_age_seconds"] == {(("source", "local"), ("worker", worker)): 0}
    # Reports older than the window drop out; with no local file nothing is left.
    gone = metrics.ObservabilityCollector(store, outbox_path=False, clock=lambda: utcnow() + metrics.REPORT_WINDOW
                                          + timedelta(minutes=1))
    assert not {f.name for f in gone.collect()} & set(metrics.OUTBOX_FAMILIES)
    emitter.close()
    store.dispose()


BAD_REPORTS = [  # (body, the word the error names)
    ({"worker": "w", "host": "h", "pending": -1, "dead": 0, "reported_at": "2026-01-01T00:00:00Z"}, "pending"),
    ({"worker": "w", "host": "h", "pending": 1, "dead": 0, "reported_at": "yesterday"}, "reported_at"),
    ({"worker": "", "host": "h", "pending": 1, "dead": 0, "reported_at": "2026-01-01T00:00:00Z"}, "worker"),
    ({"worker": "w", "host": "h", "pending": 1, "dead": 0, "reported_at": "2026-01-01T00:00:00Z", "x": 1},
     "unknown field"),
    ({"worker": "w", "host": "h", "pending": 1, "dead": True, "reported_at": "2026-01-01T00:00:00Z"}, "dead"),
    ({"worker": "w", "host": "h", "pending": 1, "dead": 0, "oldest_pending_age_s": -5,
      "reported_at": "2026-01-01T00:00:00Z"}, "oldest_pending_age_s"),
]


def test_a_bad_report_is_refused_with_its_field_named_and_nothing_stored(tmp_path: Path, isolated_host) -> None:
    client = TestClient(create_app(store=LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}"), token=TOKEN))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for body, words in BAD_REPORTS:
        response = client.post("/api/v1/workers/reports", json=body, headers=headers)
        assert response.status_code == 422 and words in response.json()["message"], (body, response.text)
    malformed = client.post("/api/v1/workers/reports", content=b"{", headers={**headers, "Content-Type": "application/json"})
    assert malformed.status_code == 400, malformed.text
    good = {"worker": "w", "host": "h", "pending": 1, "dead": 0, "reported_at": "2026-01-01T00:00:00Z"}
    assert client.post("/api/v1/workers/reports", json=good).status_code == 401  # the ingest token applies
    assert "obs_outbox_backlog{" not in client.get("/metrics").text  # no report was stored
    assert client.post("/api/v1/workers/reports", json=good, headers=headers).status_code == 201
    assert 'obs_outbox_backlog{worker="w"} 1.0' in client.get("/metrics").text
