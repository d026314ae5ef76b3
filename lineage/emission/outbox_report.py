"""Workers report their outbox to the lineage store, so ``/metrics`` shows it wherever ``obs serve`` runs.

A report (:class:`lineage.store.worker_reports.WorkerReport`) holds counts only: pending events, dead letters,
the age of the oldest pending event and the finished files in the shared spool (when one is configured), with
the worker's id and the time. It travels the way the events do, through the emitter's own transport:

* ``obs_lineage_api``: ``POST /api/v1/workers/reports`` on the same API, with the same credentials;
* ``obs_lineage_store``: written straight into the store's ``lineage_worker_reports`` table;
* any other backend (Marquez, Kafka, a file...): no lineage store to report to; nothing is sent.

Who reports: ``outbox_flush_sensor`` on every tick, and each emitter after an emit at most every
:data:`REPORT_INTERVAL_S` per process and outbox, or sooner when the backlog changed. Reporting never raises
and never delays an emit by more than :data:`REPORT_TIMEOUT_S`: a report that cannot be sent is dropped (the
next one replaces it), and a report that stops arriving shows as a growing ``obs_outbox_report_age_seconds``.

The worker id is ``$OBS_WORKER_ID``, else ``<hostname>:<8 hex digits of the outbox path>``: every process using
one outbox file reports under one id, and ``obs serve`` computes the same id for a file on its own host.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

WORKER_ID_ENV = "OBS_WORKER_ID"
REPORTS_ENDPOINT = "api/v1/workers/reports"
REPORT_INTERVAL_S = 30.0  # like the flush sensor's tick
REPORT_TIMEOUT_S = 2.0

_last: dict[str, tuple[float, int]] = {}  # outbox path -> (monotonic time, pending) of this process's last report
_lock = threading.Lock()
_warned: set[str] = set()


def worker_id(outbox_path: str | Path) -> str:
    explicit = os.environ.get(WORKER_ID_ENV, "").strip()
    if explicit:
        return explicit
    digest = hashlib.sha256(str(Path(outbox_path).expanduser().resolve()).encode()).hexdigest()[:8]
    return f"{socket.gethostname()}:{digest}"


def read_counts(outbox_path: str | Path) -> dict[str, Any] | None:
    """(pending, dead, oldest pending age) of an outbox file, read-only (never creates or writes it);
    ``None`` when there is no such file."""
    path = Path(outbox_path)
    if not path.is_file():
        return None
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=REPORT_TIMEOUT_S)
    try:
        pending, oldest = conn.execute("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE state = 'pending'").fetchone()
        dead = conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'dead'").fetchone()[0]
    finally:
        conn.close()
    age = round(max(0.0, time.time() - oldest), 3) if oldest is not None else None
    return {"pending": int(pending), "dead": int(dead), "oldest_pending_age_s": age}


def build(outbox_path: str | Path, spool: Any = None) -> dict[str, Any] | None:
    """The report of one outbox (and the spool it hands over to), as JSON; ``None`` when the file is absent."""
    counts = read_counts(outbox_path)
    if counts is None:
        return None
    return {"worker": worker_id(outbox_path), "host": socket.gethostname(), **counts,
            "spool_files": spool.backlog() if spool is not None else None,
            "reported_at": datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z"}


def send(report: dict[str, Any], transport: Any, timeout: float = REPORT_TIMEOUT_S) -> bool:
    """Deliver one report through ``transport``; ``False`` when that backend has no lineage store."""
    from lineage.emission.transports.lineage_api import LineageApiTransport
    from lineage.emission.transports.store import LineageStoreTransport

    if isinstance(transport, LineageApiTransport):
        status = transport.post(REPORTS_ENDPOINT, report, timeout)
        if status >= 300:
            raise RuntimeError(f"HTTP {status} from {transport.name}")
        return True
    if isinstance(transport, LineageStoreTransport):
        from lineage.store import utcnow, worker_reports

        with transport.store.write() as conn:
            worker_reports.put(conn, worker_reports.WorkerReport.from_json(report), utcnow())
        return True
    return False


def report(emitter: Any, timeout: float = REPORT_TIMEOUT_S) -> bool:
    """Report ``emitter``'s outbox now; never raises (a failure is logged once per outbox and process)."""
    try:
        body = build(emitter.outbox.path, emitter.spool)
        sent = body is not None and send(body, emitter.transport, timeout)
    except Exception as exc:  # the events matter, not their report
        _warn_once(f"could not report the lineage outbox {emitter.outbox.path}: {type(exc).__name__}: {exc}")
        return False
    if sent:
        with _lock:
            _last[str(emitter.outbox.path)] = (time.monotonic(), int(body["pending"]))
    return sent


def report_after_emit(emitter: Any, result: Any) -> bool:
    """After an emit: report when this process has not for :data:`REPORT_INTERVAL_S`, or the backlog changed.
    Only after a delivery attempt that went through: after a failure (or in its backoff) the report would take
    the same way and most likely wait on it too."""
    if result is None or getattr(result, "error", None) or getattr(result, "skipped", None):
        return False
    with _lock:
        last = _last.get(str(emitter.outbox.path))
    remaining = getattr(result, "remaining", None)
    due = (last is None or time.monotonic() - last[0] >= REPORT_INTERVAL_S
           or (remaining is not None and remaining != last[1]) or bool(getattr(result, "dead", 0)))
    return report(emitter, timeout=min(REPORT_TIMEOUT_S, emitter.budget_s)) if due else False


def _warn_once(message: str) -> None:
    from lineage.emission.redact import redact

    key = message.split(":", 1)[0]
    if key not in _warned:
        _warned.add(key)
        log.warning("%s", redact(message))
