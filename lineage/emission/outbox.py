"""A durable local outbox for lineage events (SQLite).

Every event is committed here before any delivery is attempted: WAL journal with
``synchronous=FULL`` (a committed append survives a crash or power loss), ``BEGIN IMMEDIATE`` and a
busy timeout so several processes (Dagster's multiprocess executor, the sensor, ``obs outbox
flush``) can append at once. Rows keep their insertion id; delivery walks ids in order.

States: ``pending`` → ``delivered`` (kept ``DELIVERED_RETENTION`` for audit, then purged), ``spooled``
(handed over to a shared spool for another process to deliver; kept and purged the same way) or
``dead`` (the backend rejected the event itself, e.g. HTTP 4xx / schema violation: retrying cannot
help; it is kept and reported, and ``requeue_dead`` puts it back).

Only one process delivers at a time: a lease row (holder, expiry) taken in a write transaction
and renewed before every batch. A holder that dies loses the lease at once when it ran on this
machine (its process id is gone), else when the lease expires (``LEASE_SECONDS`` after its last
renewal), so a killed flusher never holds delivery up for longer than that.

A file that cannot be opened or written (disk full, read-only, not an SQLite database) raises
:class:`OutboxError`, one readable line naming the file, the cause and what to do; the emitter
then delivers directly or fails the step (``lineage.emission.emitter``). Error texts stored here
pass through :func:`lineage.emission.redact.redact` (no credentials in the file or in ``status``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lineage.emission.redact import redact

OUTBOX_PATH_ENV = "OBS_OUTBOX_PATH"
BUSY_TIMEOUT_MS = 30_000
PROBE_WAIT_S = 0.5
LEASE_SECONDS = 15.0  # > MAX_SEND_TIMEOUT_S (10 s): a live holder renews before each batch
DELIVERED_RETENTION = 7 * 24 * 3600.0
_INHERITED: list[sqlite3.Connection] = []  # connections a forked child must neither use nor close

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    run_id TEXT,
    event_type TEXT,
    job TEXT,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_state_id ON outbox (state, id);
-- The retention purge after each delivery finds expired rows here; through (state, id) it read the
-- delivered_at of every retained row, stored after its payload (overflow pages of a large event).
CREATE INDEX IF NOT EXISTS outbox_state_delivered ON outbox (state, delivered_at);
CREATE TABLE IF NOT EXISTS outbox_meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
"""


def default_outbox_path() -> Path:
    """``$OBS_OUTBOX_PATH``, else ``$DAGSTER_HOME/lineage_outbox.db`` (``.dagster_home`` in the project)."""
    explicit = os.environ.get(OUTBOX_PATH_ENV)
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("DAGSTER_HOME")
    base = Path(home).expanduser() if home else Path(__file__).resolve().parents[2] / ".dagster_home"
    return base / "lineage_outbox.db"


@dataclass(frozen=True)
class OutboxRow:
    id: int
    created_at: float
    run_id: str | None
    event_type: str | None
    job: str | None
    payload: str
    attempts: int

    def event(self) -> dict[str, Any]:
        return json.loads(self.payload)


@dataclass(frozen=True)
class OutboxStatus:
    path: str
    pending: int
    dead: int
    delivered: int
    oldest_pending_age_s: float | None
    last_error: str | None
    last_error_at: float | None
    last_delivery_at: float | None
    next_attempt_at: float | None
    backend: str | None
    spooled: int = 0  # handed over to the shared spool (retained like delivered rows)

    writable: bool = True  # a write probe succeeded (False: disk full, read-only...; see ``problem``)
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# sqlite3 messages → (what is wrong, what to do).
_CAUSES = (
    ("disk is full", "the disk is full", "free space; meanwhile events are delivered directly or the step fails"),
    ("disk i/o error", "a disk I/O error", "check the disk (full, failing or unmounted)"),
    ("readonly", "the file or its folder is read-only", "make it writable or set $OBS_OUTBOX_PATH elsewhere"),
    ("not a database", "the file is not an SQLite database (corrupt or overwritten)",
     "move it aside (mv FILE FILE.corrupt) and run again: a new outbox is created"),
    ("malformed", "the database is corrupt", "move it aside (mv FILE FILE.corrupt) and run again; "
     "pending events may be recovered from it with `sqlite3 FILE .recover`"),
    ("unable to open", "the file cannot be opened", "check that its folder exists and is writable"),
)


FULL_DISK_BYTES = 256 * 1024  # less free space than this under an I/O error: the disk is full


def _free_bytes(path: Path) -> int:
    try:
        return shutil.disk_usage(path.parent).free
    except OSError:
        return 1 << 62


class OutboxError(RuntimeError):
    """The outbox file cannot be opened or written; the message is one line: file, cause, remedy."""

    def __init__(self, path: Path, exc: BaseException, doing: str = "open") -> None:
        raw = str(exc) or type(exc).__name__
        # A full disk often surfaces as an I/O error (the WAL index cannot be created): look at the disk.
        probe = "disk is full" if "i/o" in raw.lower() and _free_bytes(path) < FULL_DISK_BYTES else raw.lower()
        cause, remedy = next(((c, r) for key, c, r in _CAUSES if key in probe), (raw, "see the cause"))
        super().__init__(f"lineage outbox {path} cannot {doing}: {cause} ({type(exc).__name__}: {raw}); "
                         f"{remedy.replace('FILE', str(path))}")
        self.path = path
        self.cause = cause


class Outbox:
    """Open with ``Outbox(path)``; one kept connection per thread, safe across threads and processes."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_outbox_path()
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._ready = False
        self._local = threading.local()  # this thread's open connection (see _connection)
        self._recent: dict[int, dict[str, Any]] = {}  # id -> event dict appended with keep=True
        try:
            self._prepare()
        except OutboxError:
            pass  # raised again, readable, by the first use (the emitter can still deliver directly)

    def _prepare(self) -> None:
        """Create the folder and the schema; retried on each use until it succeeds (disk freed)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
            finally:
                conn.close()
        except (sqlite3.Error, OSError) as exc:
            raise OutboxError(self.path, exc) from exc
        self._ready = True

    # ------------------------------------------------------------------ connections
    def _connection(self) -> tuple[sqlite3.Connection, dict[str, Any]]:
        """This thread's connection, kept open between uses: closing the last connection of a WAL
        database checkpoints and fsyncs it, which was most of an emit's cost (~10 ms per transaction).
        Reopened when the file at ``path`` is no longer the one it has open (moved aside, deleted,
        recreated: writes must go to the file the next reader opens), in a forked child, and after
        any error (a full disk freed, a corrupt file replaced)."""
        try:
            st = os.stat(self.path)
            identity = (os.getpid(), st.st_dev, st.st_ino)
        except OSError:
            identity = None
        cached = getattr(self._local, "conn", None)
        if cached is not None and identity is not None and cached[1]["identity"] == identity:
            return cached
        self._drop_connection()
        if not self._ready or identity is None:
            self._prepare()
            st = os.stat(self.path)
            identity = (os.getpid(), st.st_dev, st.st_ino)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self._local.conn = (conn, {"identity": identity, "synchronous": None})
        return self._local.conn

    def _drop_connection(self) -> None:
        cached = getattr(self._local, "conn", None)
        self._local.conn = None
        if cached is None:
            return
        if cached[1]["identity"][0] != os.getpid():
            _INHERITED.append(cached[0])  # a parent's connection: never touch it in a forked child
            return
        try:
            cached[0].close()
        except sqlite3.Error:
            pass

    @contextmanager
    def _connect(self, durable: bool = False, doing: str = "be read") -> Iterator[sqlite3.Connection]:
        try:
            conn, state = self._connection()
            # Appends fsync on commit (FULL); bookkeeping (lease, delivered marks) may be lost on a
            # power cut (NORMAL in WAL), which at worst redelivers an event: the backend is idempotent.
            mode = "FULL" if durable else "NORMAL"
            if state["synchronous"] != mode:
                conn.execute(f"PRAGMA synchronous={mode}")
                state["synchronous"] = mode
        except (sqlite3.Error, OSError) as exc:
            self._drop_connection()
            raise OutboxError(self.path, exc, doing) from exc
        try:
            yield conn
        except sqlite3.Error as exc:
            self._drop_connection()
            raise OutboxError(self.path, exc, doing) from exc
        except BaseException:
            if conn.in_transaction:  # the caller's own error: nothing may stay open on a kept connection
                self._drop_connection()
            raise

    def close(self) -> None:
        """Close this thread's kept connection (others close when their thread or the outbox goes)."""
        self._drop_connection()

    @contextmanager
    def _write(self, durable: bool = False, doing: str = "be written") -> Iterator[sqlite3.Connection]:
        with self._connect(durable, doing) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite rolled back itself (disk full): the original error says why
                raise
            conn.execute("COMMIT")

    # ------------------------------------------------------------------ appending
    def append(self, events: Iterable[Mapping[str, Any]], keep: bool = False) -> list[int]:
        """Durably append events (dicts) in order, in one transaction; returns their ids. ``keep``: the
        dicts are the caller's own, plain JSON values, unchanged from here on; the next delivery
        attempt of this process sends them as they are (``events``) instead of parsing the stored JSON."""
        events = list(events)
        rows = []
        now = time.time()
        for event in events:
            run = event.get("run") if isinstance(event.get("run"), Mapping) else {}
            job = event.get("job") if isinstance(event.get("job"), Mapping) else None
            rows.append(
                (
                    now,
                    run.get("runId"),
                    event.get("eventType"),
                    f"{job['namespace']}/{job['name']}" if job else None,
                    # no cycle check: event dicts are trees (a cycle still fails, as RecursionError); ~5 % of a 3 MB dump
                    json.dumps(event, sort_keys=True, separators=(",", ":"), allow_nan=False, check_circular=False),
                )
            )
        ids: list[int] = []
        with self._write(durable=True, doing="store events") as conn:
            for row in rows:
                cur = conn.execute(
                    "INSERT INTO outbox (created_at, run_id, event_type, job, payload) VALUES (?, ?, ?, ?, ?)", row
                )
                ids.append(int(cur.lastrowid))
        if keep:
            self._recent.update(zip(ids, events, strict=True))
        return ids

    def events(self, rows: Iterable[OutboxRow]) -> list[dict[str, Any]]:
        """The rows' events: the dict this process appended with ``keep`` (once), else the stored JSON parsed
        (a 3 MB event took ~20 ms to parse again right after it was written)."""
        out = []
        for row in rows:
            kept = self._recent.pop(row.id, None)
            out.append(kept if kept is not None else row.event())
        return out

    def forget_recent(self) -> None:
        """Drop the kept dicts (after each delivery attempt: they are worth keeping only until then)."""
        self._recent.clear()

    # ------------------------------------------------------------------ reading
    def pending(self, limit: int = 100, after_id: int = 0) -> list[OutboxRow]:
        with self._connect() as conn:
            cur = conn.execute(
                "SELECT id, created_at, run_id, event_type, job, payload, attempts FROM outbox "
                "WHERE state = 'pending' AND id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            )
            return [OutboxRow(*r) for r in cur.fetchall()]

    def pending_among(self, ids: Iterable[int]) -> list[OutboxRow]:
        """The still-pending rows among ``ids``, in id order."""
        wanted = sorted(set(ids))
        found: list[OutboxRow] = []
        with self._connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                cur = conn.execute(
                    "SELECT id, created_at, run_id, event_type, job, payload, attempts FROM outbox "
                    f"WHERE state = 'pending' AND id IN ({','.join('?' * len(chunk))}) ORDER BY id",
                    chunk,
                )
                found.extend(OutboxRow(*r) for r in cur.fetchall())
        return found

    def rows(self, state: str | None = None) -> list[OutboxRow]:
        with self._connect() as conn:
            sql = "SELECT id, created_at, run_id, event_type, job, payload, attempts FROM outbox"
            cur = conn.execute(sql + (" WHERE state = ? ORDER BY id" if state else " ORDER BY id"),
                               (state,) if state else ())
            return [OutboxRow(*r) for r in cur.fetchall()]

    def backlog(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0])

    def status(self) -> OutboxStatus:
        """Counts, delivery state and a write probe. On a full disk SQLite cannot even create the WAL
        index to read, so the file is then read as it stands (``immutable``: no WAL, no locks); a file
        that cannot be read at all raises :class:`OutboxError`."""
        probe = self._probe_write()
        try:
            with self._connect() as conn:
                counts, oldest, meta = self._status_rows(conn)
        except OutboxError:
            if probe.get("writable", True) or not self.path.exists():
                raise
            try:
                conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?immutable=1", uri=True)
                try:
                    counts, oldest, meta = self._status_rows(conn)
                finally:
                    conn.close()
            except sqlite3.Error as exc:
                raise OutboxError(self.path, exc, "be read") from exc
        now = time.time()

        def num(key: str) -> float | None:
            return float(meta[key]) if meta.get(key) else None

        return OutboxStatus(
            path=str(self.path),
            pending=int(counts.get("pending", 0)),
            dead=int(counts.get("dead", 0)),
            delivered=int(counts.get("delivered", 0)),
            oldest_pending_age_s=round(now - oldest, 3) if oldest is not None else None,
            last_error=redact(meta["last_error"]) if meta.get("last_error") else None,
            last_error_at=num("last_error_at"),
            last_delivery_at=num("last_delivery_at"),
            next_attempt_at=num("next_attempt_at"),
            backend=redact(meta["backend"]) if meta.get("backend") else None,
            spooled=int(counts.get("spooled", 0)),
            **probe,
        )

    @staticmethod
    def _status_rows(conn: sqlite3.Connection) -> tuple[dict, float | None, dict]:
        counts = dict(conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
        oldest = conn.execute("SELECT MIN(created_at) FROM outbox WHERE state = 'pending'").fetchone()[0]
        meta = dict(conn.execute("SELECT key, value FROM outbox_meta").fetchall())
        return counts, oldest, meta

    def _probe_write(self) -> dict[str, Any]:
        """Can an append commit now? Commits one small meta row, fsynced like an append (a rolled-back
        write would never reach the disk). Waits at most ``PROBE_WAIT_S`` for the write lock: a busy
        outbox is being written, so it is writable (a status or a metrics scrape never blocks)."""
        try:
            if not self._ready:
                self._prepare()
            conn = sqlite3.connect(self.path, timeout=PROBE_WAIT_S, isolation_level=None)
            try:
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("BEGIN IMMEDIATE")
                self._set_meta(conn, write_probe_at=str(time.time()))
                conn.execute("COMMIT")
            finally:
                conn.close()
        except OutboxError as exc:
            return {"writable": False, "problem": str(exc)}
        except sqlite3.Error as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                return {}
            return {"writable": False, "problem": str(OutboxError(self.path, exc, "be written"))}
        return {}

    # ------------------------------------------------------------------ delivery bookkeeping
    def mark_delivered(self, ids: Iterable[int], backend: str | None = None) -> None:
        ids = list(ids)
        if not ids:
            return
        now = time.time()
        with self._write() as conn:
            conn.executemany(
                "UPDATE outbox SET state = 'delivered', delivered_at = ?, attempts = attempts + 1, last_error = NULL "
                "WHERE id = ? AND state = 'pending'",
                [(now, i) for i in ids],
            )
            self._set_meta(conn, last_delivery_at=str(now), next_attempt_at="", consecutive_failures="0",
                           **({"backend": redact(backend)} if backend else {}))
            conn.execute("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?",
                         (now - DELIVERED_RETENTION,))

    def mark_handed_over(self, ids: Iterable[int]) -> None:
        """Handed to the shared spool; unlike a delivery this says nothing about the backend's health."""
        now = time.time()
        with self._write() as conn:
            conn.executemany("UPDATE outbox SET state = 'spooled', delivered_at = ? WHERE id = ? AND state = 'pending'",
                             [(now, i) for i in ids])
            conn.execute("DELETE FROM outbox WHERE state = 'spooled' AND delivered_at < ?",
                         (now - DELIVERED_RETENTION,))

    def mark_dead(self, row_id: int, error: str) -> None:
        error = redact(error)
        with self._write() as conn:
            conn.execute(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error[:2000], row_id),
            )

    def record_failure(self, ids: Iterable[int], error: str, backoff_s: float) -> None:
        """A transient failure: the events stay pending; inline attempts pause for ``backoff_s``."""
        now = time.time()
        ids = list(ids)
        error = redact(error)
        with self._write() as conn:
            conn.executemany("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                             [(error[:2000], i) for i in ids])
            failures = int(self._get_meta(conn, "consecutive_failures") or 0) + 1
            self._set_meta(conn, last_error=error[:2000], last_error_at=str(now),
                           consecutive_failures=str(failures),
                           next_attempt_at=str(now + min(backoff_s * 2 ** min(failures - 1, 6), 300.0)))

    def in_backoff(self) -> bool:
        with self._connect() as conn:
            value = self._get_meta(conn, "next_attempt_at")
        return bool(value) and float(value) > time.time()

    def requeue_dead(self) -> int:
        with self._write() as conn:
            return conn.execute("UPDATE outbox SET state = 'pending' WHERE state = 'dead'").rowcount

    # ------------------------------------------------------------------ lease
    def try_lease(self, wait_s: float = 0.0, lease_s: float = LEASE_SECONDS) -> bool:
        """Become the only deliverer (waiting up to ``wait_s``); re-entrant for the same holder."""
        deadline = time.monotonic() + wait_s
        while True:
            now = time.time()
            with self._write() as conn:
                holder = self._get_meta(conn, "lease_holder")
                expiry = float(self._get_meta(conn, "lease_expiry") or 0)
                if not holder or holder == self._holder or expiry < now or _holder_is_dead(holder):
                    self._set_meta(conn, lease_holder=self._holder, lease_expiry=str(now + lease_s))
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def renew_lease(self, lease_s: float = LEASE_SECONDS) -> bool:
        """Extend our lease (before each batch); False when it was lost to another holder meanwhile."""
        with self._write() as conn:
            if self._get_meta(conn, "lease_holder") != self._holder:
                return False
            self._set_meta(conn, lease_expiry=str(time.time() + lease_s))
            return True

    def release_lease(self) -> None:
        with self._write() as conn:
            if self._get_meta(conn, "lease_holder") == self._holder:
                self._set_meta(conn, lease_holder="", lease_expiry="0")

    # ------------------------------------------------------------------ meta helpers
    @staticmethod
    def _get_meta(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM outbox_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def _set_meta(conn: sqlite3.Connection, **values: str) -> None:
        conn.executemany(
            "INSERT INTO outbox_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            list(values.items()),
        )


def _holder_is_dead(holder: str) -> bool:
    """A lease holder ``host:pid:nonce`` on this machine whose process is gone (killed flusher)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's holder: only its lease expiry tells
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return _is_zombie(int(pid_text))


def _is_zombie(pid: int) -> bool:
    """A killed child not yet reaped by its parent still has a pid (Linux: state ``Z``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"
