"""The lineage store: idempotent, concurrent-safe ingest of OpenLineage events.

Each accepted event is kept raw (canonical JSON) in the append-only `lineage_events` table,
identified by the sha256 of that JSON; the same event sent twice is stored once. In the same
transaction the nodes (datasets, jobs, runs) and everything derived from the event (run states,
input/output edges, column edges, facets, dataset versions) are inserted, only for events that
were new, so derived rows never double up either.

Several processes can write at once: SQLite runs in WAL mode with a busy timeout and every write
transaction starts with BEGIN IMMEDIATE (so a reader never has to upgrade to a writer lock, the
case SQLite reports as "database is locked" without waiting), and 'database is locked' is still
retried with backoff. PostgreSQL relies on INSERT .. ON CONFLICT DO NOTHING, keys inserted in a
fixed order (no deadlocks between batches) and a retry on deadlock/serialization errors.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, DateTime, Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from lineage.gcpause import gc_paused  # a batch's parse, screening and rows: ~20 % of ingest CPU
from lineage.config import resolve_db_url
from lineage.store import tables as t
from lineage.store.canonical import canonical_json
from lineage.store.retention_tables import quarantine
from lineage.store.warning_tables import event_warnings

if TYPE_CHECKING:  # the write path (validation, derive: ~25 ms of imports) loads where writing starts
    from lineage.store.derive import Prepared
    from lineage.store.validation import EventValidator, EventWarning

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_SYNCHRONOUS = "FULL"  # module constant: the benchmark compares NORMAL in the same run
# Reads through a memory map instead of a read() per page: -0.5 s of RCA's cold answer at 10k assets, but
# +80 ms at 1k and ~20 % slower store tests (many small files): off by default, measured in RESULTS.md
# ("Root-cause analysis at scale"); a large store can set it with $OBS_SQLITE_MMAP_BYTES.
SQLITE_MMAP_ENV = "OBS_SQLITE_MMAP_BYTES"
_MAX_ATTEMPTS = 8
RUN_ID_CACHE_MAX = 100_000  # run ids kept in memory per store (see LineageStore._run_ids)
GROUP_MAX_EVENTS = 2_000  # events of several concurrent `ingest` calls committed in one transaction
# Bound on bind parameters per statement (SQLite's limit is 32766; stay well below).
_CHUNK = 500
_RETRYABLE_PG_CODES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
_MIGRATION_LOCK_KEY = 0x6C696E656167  # "lineag": PostgreSQL advisory lock for migrations


@dataclass(frozen=True)
class IngestResult:
    """Outcome of one `ingest` call."""

    received: int
    stored: int
    duplicates: int
    event_ids: list[int] = field(default_factory=list)  # ids of the newly stored events
    # Lenient ingest: events refused by index ({index, path, message}) and warnings stored.
    rejected: list[dict[str, Any]] = field(default_factory=list)
    warnings: int = 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"received": self.received, "stored": self.stored, "duplicates": self.duplicates}
        if self.rejected or self.warnings:
            out |= {"rejected": self.rejected, "warnings": self.warnings}
        return out


def event_hash(event: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(event).encode("utf-8")).hexdigest()


def utcnow() -> datetime:
    """Naive UTC, the store's one time convention."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_naive_utc(value: datetime) -> datetime:
    """Aware datetimes are converted to UTC; naive ones are taken to be UTC already."""
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def head_revision() -> str:
    """The newest migration's revision id: the last file name in the (linear, numbered) versions folder."""
    versions = resources.files("lineage.store") / "migrations" / "versions"
    return max(p.name.removesuffix(".py") for p in versions.iterdir() if p.name[:4].isdigit() and p.name.endswith(".py"))


@dataclass(eq=False)
class _Request:
    """One `ingest` call waiting for its group commit."""

    prepared: dict[str, Prepared] = field(default_factory=dict)
    warned: dict[str, tuple[EventWarning, ...]] = field(default_factory=dict)
    done: bool = False
    ids: list[int] = field(default_factory=list)
    n_warnings: int = 0
    error: BaseException | None = None


@contextmanager
def _driver_cursor(conn: Connection, sql: str) -> Iterator[Any]:
    """A DBAPI cursor of `conn`'s transaction; driver errors raised as SQLAlchemy's, as `conn.execute`
    would (`_retrying` retries 'database is locked', the API answers a full disk with 503)."""
    dialect = conn.dialect
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error, hide_parameters=True,
                                  dialect=dialect) from exc
    finally:
        cursor.close()


class _Returned(dict):  # type: ignore[type-arg]
    """A RETURNING row read through the driver, its columns as attributes."""

    __getattr__ = dict.__getitem__


def _group_of(queue: list[_Request]) -> list[_Request]:
    """The head of the queue and the requests behind it, up to GROUP_MAX_EVENTS events in all."""
    group, size = [queue[0]], len(queue[0].prepared)
    for member in queue[1:]:
        size += len(member.prepared)
        if size > GROUP_MAX_EVENTS:
            break
        group.append(member)
    return group


class LineageStore:
    """Open with `LineageStore.open(url)`; safe to share between threads of one process."""

    def __init__(self, engine: Engine, validator: EventValidator | None = None) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._validator = validator
        # (namespace, name) -> id. Node rows are never deleted, so ids stay valid forever;
        # entries are added only after the transaction that created them committed.
        self._dataset_ids: dict[tuple[str, str], int] = {}
        self._job_ids: dict[tuple[str, str], int] = {}
        # run uuid -> id, the same way (runs are never deleted either); bounded: a START and its COMPLETE
        # are usually close together, so emptying it when full costs one lookup per run at worst.
        self._run_ids: dict[str, int] = {}
        self._cache_lock = threading.Lock()
        self._thread_write_lock = threading.Lock()
        self._lock_file: Any = None
        self._lock_path = _sqlite_lock_path(engine)
        self._sqlite_insert_sql: dict[tuple[str, tuple[str, ...]], str] = {}
        # Rows built here go straight through the driver (`_bulk_insert`, `_insert_returning`): sqlite3,
        # or psycopg2 (COPY, unnest arrays). Off: through SQLAlchemy's statements (tests compare the rows).
        self.driver_path = self.dialect == "sqlite" or engine.dialect.driver == "psycopg2"
        self._group_cv = threading.Condition()
        self._group_queue: list[_Request] = []

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True, echo: bool = False) -> LineageStore:
        """Connect to `url` (else `$OBS_LINEAGE_DB`, else `$DAGSTER_HOME/lineage.db`) and migrate."""
        resolved = resolve_db_url(url)
        engine = _create_engine(resolved, echo=echo)
        store = cls(engine)
        if migrate:
            store.migrate()
        return store

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def validator(self) -> EventValidator:
        if self._validator is None:
            from lineage.store.validation import default_validator

            self._validator = default_validator()
        return self._validator

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (no-op when already there)."""
        if self._at_head():
            return  # the common case, answered without importing Alembic (~0.3-1 s of a CLI call)
        from alembic import command
        from alembic.config import Config
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        script_location = str(resources.files("lineage.store") / "migrations")
        config = Config()
        config.set_main_option("script_location", script_location)
        head = ScriptDirectory.from_config(config).get_current_head()

        def current(conn: Connection) -> str | None:
            context = MigrationContext.configure(conn, opts={"version_table": "lineage_alembic_version"})
            return context.get_current_revision()

        with self.engine.connect() as conn:
            if current(conn) == head:
                return
        with self._write() as conn:
            if self.dialect == "postgresql":
                # Serialize concurrent first opens; released at commit.
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
            if current(conn) == head:
                return
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def _at_head(self) -> bool:
        """The stored revision is the newest migration file's (files are named by their revision id,
        tests/lineage/store/test_migration_head.py checks this against Alembic's own head)."""
        try:
            with self.engine.connect() as conn:
                stored = conn.execute(text("SELECT version_num FROM lineage_alembic_version")).scalars().all()
        except DBAPIError:
            return False  # no version table yet: a new store
        return stored == [head_revision()]

    def dispose(self) -> None:
        self.engine.dispose()
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def close(self) -> None:
        self.dispose()

    def __enter__(self) -> LineageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()

    # ------------------------------------------------------------------ ingest
    def ingest(
        self,
        events: Iterable[Mapping[str, Any]],
        *,
        validate: bool = True,
        strict: bool | None = None,
        validator: EventValidator | None = None,
    ) -> IngestResult:
        """Store a batch of events in one transaction.

        With `validate=True` (default) events are checked against the OpenLineage schemas.
        Lenient (default): events that cannot be stored are skipped and reported by index in
        `rejected`, every other schema problem is stored as a warning of its event. Strict
        (`strict=True` or `OBS_LINEAGE_STRICT=1`): all or nothing, an `EventValidationError`
        naming the failing index is raised before anything is written. Duplicates (already
        stored, or repeated inside the batch) are counted, not stored again.
        """
        from lineage.store.validation import strict_mode

        with gc_paused():
            return self._ingest(list(events), validate, strict_mode(strict), validator or self.validator)

    def _ingest(self, batch: list[Mapping[str, Any]], validate: bool, strict: bool,
                validator: EventValidator) -> IngestResult:
        checked, rejected = _checked_batch(validator, batch, validate, strict)
        request = _Request()
        for raw, warnings, payload, facet_texts in checked:
            item = _prepare(raw, payload, facet_texts)
            request.prepared.setdefault(item.event_hash, item)
            if warnings:
                request.warned.setdefault(item.event_hash, warnings)
        if not request.prepared:
            return IngestResult(received=len(batch), stored=0, duplicates=len(checked), rejected=rejected)
        ids, n_warnings = self._group_commit(request)
        return IngestResult(
            received=len(batch), stored=len(ids), duplicates=len(checked) - len(ids), event_ids=ids,
            rejected=rejected, warnings=n_warnings,
        )

    # ------------------------------------------------------------------ group commit
    def _group_commit(self, request: _Request) -> tuple[list[int], int]:
        """Commit `request` together with the requests of other threads waiting at the same time.

        One transaction (and, with synchronous=FULL, one fsync) per group instead of per request:
        the first waiting request commits every request queued behind it (up to `GROUP_MAX_EVENTS`
        events), the others wait for its answer. Each request gets the answer it would have got
        alone, in queue order: an event in two requests of a group is stored for the first and
        counted as a duplicate for the second. A group that fails is retried request by request,
        so one request's error never fails another's.
        """
        with self._group_cv:
            self._group_queue.append(request)
            while not request.done and self._group_queue[0] is not request:
                self._group_cv.wait()
            if not request.done:
                group = _group_of(self._group_queue)
        if not request.done:
            try:
                self._commit_group(group)
            except BaseException as exc:  # e.g. KeyboardInterrupt: no member may look stored
                for member in group:
                    member.error = member.error or exc
                raise
            finally:
                with self._group_cv:
                    del self._group_queue[: len(group)]
                    for member in group:
                        member.done = True
                    self._group_cv.notify_all()
        if request.error is not None:
            raise request.error
        return request.ids, request.n_warnings

    def _commit_group(self, group: list[_Request]) -> None:
        items: dict[str, Prepared] = {}
        warned: dict[str, tuple[EventWarning, ...]] = {}
        for member in group:
            for event_hash, item in member.prepared.items():
                items.setdefault(event_hash, item)
            for event_hash, warnings in member.warned.items():
                warned.setdefault(event_hash, warnings)
        try:
            inserted = self._stored(list(items.values()), warned)
        except Exception as exc:  # noqa: BLE001 - alone, each request meets only its own error
            if len(group) == 1:
                group[0].error = exc
                return
            for member in group:
                self._commit_group([member])
            return
        owned: set[str] = set()
        for member in group:
            mine = [h for h in member.prepared if h in inserted and h not in owned]
            owned.update(mine)
            member.ids = sorted(inserted[h] for h in mine)
            member.n_warnings = sum(len(warned.get(h, ())) for h in mine)

    def _stored(self, items: list[Prepared], warned: Mapping[str, tuple[EventWarning, ...]]) -> dict[str, int]:
        """Store `items` in one transaction (retried when transient); event hash -> id of the new ones."""
        inserted, datasets, jobs, runs = self._retrying(lambda: self._ingest_once(items, warned))
        with self._cache_lock:
            self._dataset_ids.update(datasets)
            self._job_ids.update(jobs)
            if len(self._run_ids) + len(runs) > RUN_ID_CACHE_MAX:
                self._run_ids.clear()
            self._run_ids.update(runs)
        return inserted

    def _ingest_once(
        self, items: list[Prepared], warned: Mapping[str, tuple[EventWarning, ...]] | None = None
    ) -> tuple[dict[str, int], dict[tuple[str, str], int], dict[tuple[str, str], int], dict[str, int]]:
        now = utcnow()
        with self._write() as conn:
            items = self._not_quarantined(conn, items)  # a quarantined event sent again stays out
            inserted = self._insert_events(conn, items, now) if items else {}
            new_items = [(inserted[i.event_hash], i) for i in items if i.event_hash in inserted]
            if not new_items:
                return {}, {}, {}, {}
            dataset_keys_: set[tuple[str, str]] = set()
            job_keys_: set[tuple[str, str]] = set()
            for _, item in new_items:
                job_keys_.update(item.job_keys())
                dataset_keys_.update(item.dataset_keys())
            dataset_ids = self._ensure_nodes(conn, t.datasets, dataset_keys_, self._dataset_ids, now)
            job_ids = self._ensure_nodes(conn, t.jobs, job_keys_, self._job_ids, now)
            run_ids = self._ensure_runs(conn, new_items, job_ids, now)
            from lineage.store.derive import derived_rows

            rows = derived_rows(new_items, dataset_ids, job_ids, run_ids)
            for table, table_rows in rows.items():
                if table_rows:
                    self._bulk_insert(conn, table, table_rows)
            warning_rows = _warning_rows(new_items, warned or {})
            if warning_rows:
                self._bulk_insert(conn, event_warnings, warning_rows)
            return inserted, dataset_ids, job_ids, run_ids

    def _not_quarantined(self, conn: Connection, items: list[Prepared]) -> list[Prepared]:
        """`items` without the quarantined ones; through the driver (a SQLAlchemy select built per
        call was a quarter of a one-event ingest's CPU)."""
        held: set[str] = set()
        for chunk in _chunks([i.event_hash for i in items], _CHUNK):
            if not self.driver_path:
                query = select(quarantine.c.event_hash).where(quarantine.c.event_hash.in_(chunk))
                held.update(conn.execute(query).scalars())
                continue
            many = self.dialect == "postgresql"  # psycopg2: one array parameter; sqlite3: one ? per hash
            where = "= ANY(%s)" if many else f"IN ({', '.join('?' * len(chunk))})"
            sql = f"SELECT event_hash FROM {quarantine.name} WHERE event_hash {where}"
            with _driver_cursor(conn, sql) as cursor:
                cursor.execute(sql, (list(chunk),) if many else tuple(chunk))
                held.update(row[0] for row in cursor.fetchall())
        return [i for i in items if i.event_hash not in held] if held else items

    def _insert_events(self, conn: Connection, items: list[Prepared], now: datetime) -> dict[str, int]:
        rows = [
            {
                "event_hash": i.event_hash,
                "kind": i.kind,
                "event_type": i.event_type,
                "event_time": i.event_time,
                "received_at": now,
                "producer": str(i.raw.get("producer", "")),
                "schema_url": str(i.raw.get("schemaURL", "")),
                "run_uuid": i.run_uuid,
                "job_namespace": i.job[0] if i.job else None,
                "job_name": i.job[1] if i.job else None,
                "payload": i.payload,
            }
            for i in sorted(items, key=lambda i: i.event_hash)
        ]
        inserted: dict[str, int] = {}
        for chunk in _chunks(rows, _CHUNK):
            for row in self._insert_returning(conn, t.events, chunk, ("event_hash",), ("id", "event_hash")):
                inserted[row.event_hash] = row.id
        return inserted

    def _ensure_nodes(
        self,
        conn: Connection,
        table: Any,
        keys: set[tuple[str, str]],
        cache: dict[tuple[str, str], int],
        now: datetime,
    ) -> dict[tuple[str, str], int]:
        """Ids for (namespace, name) keys, inserting the missing ones (sorted: no PG deadlocks)."""
        with self._cache_lock:
            found = {k: cache[k] for k in keys if k in cache}
        missing = sorted(keys - found.keys())
        for chunk in _chunks(missing, _CHUNK):
            # New rows come back from RETURNING; only rows that already existed are looked up.
            rows = [{"namespace": ns, "name": name, "first_seen": now} for ns, name in chunk]
            for row in self._insert_returning(conn, table, rows, ("namespace", "name"), ("id", "namespace", "name")):
                found[(row.namespace, row.name)] = row.id
            existing = [key for key in chunk if key not in found]
            if existing:
                wanted = set(existing)
                # Filter by the indexed name column, then match namespaces here: portable and
                # index-friendly where a row-value IN list is not on every backend.
                query = select(table.c.id, table.c.namespace, table.c.name).where(
                    table.c.name.in_(sorted({name for _, name in existing}))
                )
                for row in conn.execute(query):
                    if (row.namespace, row.name) in wanted:
                        found[(row.namespace, row.name)] = row.id
        return found

    def _ensure_runs(
        self,
        conn: Connection,
        new_items: list[tuple[int, Prepared]],
        job_ids: Mapping[tuple[str, str], int],
        now: datetime,
    ) -> dict[str, int]:
        from lineage.store.derive import parent_run_uuid

        with self._cache_lock:  # runs already stored (a COMPLETE after its START): no insert, no lookup
            known = self._run_ids
            found = {i.run_uuid: known[i.run_uuid] for _, i in new_items
                     if i.run_uuid and i.job and i.run_uuid in known}
        runs: dict[str, dict[str, Any]] = {}
        for _, item in new_items:
            if item.run_uuid and item.job and item.run_uuid not in runs and item.run_uuid not in found:
                runs[item.run_uuid] = {
                    "run_uuid": item.run_uuid,
                    "job_id": job_ids[item.job],
                    "parent_run_uuid": parent_run_uuid(item.raw),
                    "first_seen": item.event_time,
                }
        ordered = [runs[k] for k in sorted(runs)]
        for chunk in _chunks(ordered, _CHUNK):
            for row in self._insert_returning(conn, t.runs, chunk, ("run_uuid",), ("id", "run_uuid")):
                found[row.run_uuid] = row.id
            existing = [r["run_uuid"] for r in chunk if r["run_uuid"] not in found]
            if existing:
                for row in conn.execute(select(t.runs.c.id, t.runs.c.run_uuid).where(t.runs.c.run_uuid.in_(existing))):
                    found[row.run_uuid] = row.id
        return found

    def _bulk_insert(self, conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
        """Insert derived rows; on SQLite straight through the driver's executemany.

        These rows are built here from ids just obtained, so SQLAlchemy's per-row parameter
        processing (most of the ingest time on SQLite) buys nothing; values are converted the
        way SQLAlchemy's SQLite types store them (naive UTC text with microseconds).
        """
        if not self.driver_path:
            conn.execute(table.insert(), rows)
            return
        keys = tuple(rows[0])
        if self.dialect == "postgresql":
            _pg_copy(conn, table, rows, keys)
            return
        sql = self._sqlite_insert_sql.get((table.name, keys))
        if sql is None:
            columns = ", ".join(keys)
            sql = f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join('?' for _ in keys)})"
            self._sqlite_insert_sql[(table.name, keys)] = sql
        with _driver_cursor(conn, sql) as cursor:
            cursor.executemany(sql, _sqlite_params(table, rows, keys))

    def _insert_returning(
        self, conn: Connection, table: Any, rows: Sequence[Mapping[str, Any]], conflict: tuple[str, ...],
        returning: tuple[str, ...],
    ) -> Iterable[Any]:
        """INSERT .. ON CONFLICT DO NOTHING RETURNING `returning` of the rows that were new.

        On SQLite one multi-row VALUES statement through the driver (rows are built here, so
        SQLAlchemy's per-row parameter processing buys nothing; values converted as in `_bulk_insert`).
        """
        if not self.driver_path:
            stmt = (
                self._insert(table).on_conflict_do_nothing(index_elements=list(conflict))
                .returning(*(table.c[name] for name in returning))
            )
            return conn.execute(stmt, list(rows))
        keys = tuple(rows[0])
        if self.dialect == "postgresql":
            return [_Returned(zip(returning, row)) for row in _pg_unnest_returning(conn, table, rows, keys, conflict,
                                                                                     returning)]
        params = _sqlite_params(table, rows, keys)
        new_rows = _sqlite_insert_new(conn, table, params, keys, conflict, returning)
        if new_rows is None:  # at the top of the rowid range: one multi-row statement with RETURNING
            values = "(" + ", ".join("?" * len(keys)) + ")"
            sql = (f"INSERT INTO {table.name} ({', '.join(keys)}) VALUES {', '.join([values] * len(rows))} "
                   f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {', '.join(returning)}")
            with _driver_cursor(conn, sql) as cursor:
                cursor.execute(sql, tuple(chain.from_iterable(params)))
                new_rows = cursor.fetchall()
        return [_Returned(zip(returning, row)) for row in new_rows]  # plain tuples, named like SQLAlchemy rows

    def _insert(self, table: Any) -> Any:
        # Imported here: the PostgreSQL dialect is ~0.05 s of every `obs` start on SQLite.
        from sqlalchemy.dialects import postgresql, sqlite

        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return dialect_insert(table)

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (BEGIN IMMEDIATE on SQLite, see module docstring)."""
        with self._writer_turn(), self.engine.connect() as conn:
            conn = conn.execution_options(lineage_write=True)
            with conn.begin():
                yield conn

    def write(self) -> AbstractContextManager[Connection]:
        """A write transaction for state kept beside the events (incidents, sync cursors)."""
        return self._write()

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """On a SQLite file, queue writers on an OS file lock before BEGIN IMMEDIATE.

        SQLite's busy handler polls with sleeps of up to 100 ms, so with several processes
        writing most time is spent asleep while the database is free. A blocking flock hands
        over as soon as the holder commits. Writers that do not use this store (or platforms
        without fcntl) still work: BEGIN IMMEDIATE + busy_timeout remain the real guarantee.
        """
        if self._lock_path is None:
            yield
            return
        import fcntl

        with self._thread_write_lock:
            if self._lock_file is None:
                self._lock_file = open(self._lock_path, "a+b")  # noqa: SIM115 - held for the store's life
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only connection with one consistent snapshot for the block."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def _retrying(self, work: Callable[[], T]) -> T:
        delay = 0.05
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                return work()
            except DBAPIError as exc:
                if attempt == _MAX_ATTEMPTS or not self._is_transient(exc):
                    raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    def _is_transient(self, exc: DBAPIError) -> bool:
        if self.dialect == "sqlite":
            message = str(exc.orig).lower()
            return isinstance(exc, OperationalError) and ("locked" in message or "busy" in message)
        code = getattr(exc.orig, "pgcode", None)
        return code in _RETRYABLE_PG_CODES

    # ------------------------------------------------------------------ reading
    def counts(self) -> dict[str, int]:
        """Row count per table (tests and `obs lineage stats`)."""
        with self.read() as conn:
            return {
                table.name.removeprefix("lineage_"): conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in t.ALL_TABLES
            }

    def event_count(self) -> int:
        with self.read() as conn:
            return conn.execute(select(func.count()).select_from(t.events)).scalar_one()

    def events(self, *, after_id: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """Raw stored events (parsed back from canonical JSON), oldest first."""
        with self.read() as conn:
            rows = conn.execute(
                select(t.events.c.id, t.events.c.payload)
                .where(t.events.c.id > after_id)
                .order_by(t.events.c.id)
                .limit(limit)
            )
            return [json.loads(row.payload) for row in rows]


# ---------------------------------------------------------------------- re-deriving
def rederive(conn: Connection, tables: tuple[Any, ...], *, chunk: int = _CHUNK) -> int:
    """Derive `tables` again from every stored event; returns the rows written.

    For migrations that add a derived table: `lineage_events` is the source of truth, so rows of
    events stored before the table existed are rebuilt from them (nodes they name are added).
    """
    from sqlalchemy.dialects import postgresql, sqlite

    from lineage.store.derive import dataset_keys, derived_rows, job_keys

    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    now, last, written = utcnow(), 0, 0
    while True:
        query = select(t.events.c.id, t.events.c.payload).where(t.events.c.id > last).order_by(t.events.c.id)
        rows = list(conn.execute(query.limit(chunk)))
        if not rows:
            return written
        last = rows[-1].id
        items = [(row.id, _prepare(json.loads(row.payload))) for row in rows]
        datasets: set[tuple[str, str]] = set()
        jobs: set[tuple[str, str]] = set()
        for _, item in items:
            datasets |= dataset_keys(item.raw)
            jobs |= job_keys(item.raw) | ({item.job} if item.job else set())
        dataset_ids = _ensure_keys(conn, dialect_insert, t.datasets, datasets, now)
        job_ids = _ensure_keys(conn, dialect_insert, t.jobs, jobs, now)
        uuids = sorted({i.run_uuid for _, i in items if i.run_uuid})
        run_query = select(t.runs.c.id, t.runs.c.run_uuid).where(t.runs.c.run_uuid.in_(uuids))
        run_ids = {r.run_uuid: r.id for r in conn.execute(run_query)} if uuids else {}
        for table, table_rows in derived_rows(items, dataset_ids, job_ids, run_ids, tables).items():
            if table_rows:
                conn.execute(table.insert(), table_rows)
                written += len(table_rows)




def _ensure_keys(
    conn: Connection, dialect_insert: Any, table: Any, keys: set[tuple[str, str]], now: datetime
) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for chunk in _chunks(sorted(keys), _CHUNK):
        rows = [{"namespace": ns, "name": name, "first_seen": now} for ns, name in chunk]
        conn.execute(dialect_insert(table).on_conflict_do_nothing(index_elements=["namespace", "name"]), rows)
        wanted = set(chunk)
        query = select(table.c.id, table.c.namespace, table.c.name).where(table.c.name.in_({n for _, n in chunk}))
        found.update({(r.namespace, r.name): r.id for r in conn.execute(query) if (r.namespace, r.name) in wanted})
    return found


# ---------------------------------------------------------------------- engine
def _create_engine(url: str, *, echo: bool = False) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine)
        return engine
    if parsed.drivername in ("postgresql", "postgres"):
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; the project ships psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg" if _has_module("psycopg") else "postgresql+psycopg2")
    extra: dict[str, Any] = {}
    if parsed.drivername == "postgresql+psycopg2":
        # Batch plain INSERT executemany (derived rows) instead of one round trip per row.
        extra = {"executemany_mode": "values_plus_batch", "insertmanyvalues_page_size": 1000}
    return create_engine(parsed, echo=echo, pool_pre_ping=True, **extra)


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _sqlite_lock_path(engine: Engine) -> str | None:
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    try:
        import fcntl  # noqa: F401 - POSIX only
    except ImportError:
        return None
    return str(Path(database).expanduser()) + ".write-lock"


def _sqlite_mmap_bytes() -> int:
    raw = os.environ.get(SQLITE_MMAP_ENV, "").strip()
    try:
        return max(0, int(raw)) if raw else 0
    except ValueError:
        raise ValueError(f"${SQLITE_MMAP_ENV} must be a number of bytes, not {raw!r}") from None


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so we can say BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode = WAL")
                # FULL: an acknowledged event survives a power loss too (WAL + NORMAL may lose the last
                # commits); its ingest cost is measured in benchmarks/bench_lineage_store.py (RESULTS.md).
                cursor.execute(f"PRAGMA synchronous = {SQLITE_SYNCHRONOUS}")
                mmap_bytes = _sqlite_mmap_bytes()
                if mmap_bytes:
                    cursor.execute(f"PRAGMA mmap_size = {mmap_bytes}")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight on the driver connection: SQLAlchemy's execute path was ~10 % of a one-event ingest.
        statement = "BEGIN IMMEDIATE" if conn.get_execution_options().get("lineage_write") else "BEGIN"
        with _driver_cursor(conn, statement) as cursor:
            cursor.execute(statement)


# ---------------------------------------------------------------------- event shredding
def _prepare(raw: Mapping[str, Any], payload: str | None = None,
             facet_texts: Mapping[int, tuple[Any, str]] | None = None) -> Prepared:
    """`payload`, `facet_texts`: the event's and its facets' canonical JSON when screening made them already."""
    from lineage.store.derive import Prepared, job_key, mapping
    from lineage.store.validation import event_kind, parse_event_time, stable_run_uuid

    payload = canonical_json(raw) if payload is None else payload
    kind = event_kind(raw) or "RunEvent"
    run = mapping(raw.get("run"))
    event_type = raw.get("eventType") if kind == "RunEvent" else None
    job = raw.get("job")
    return Prepared(
        raw=raw,
        payload=payload,
        event_hash=hashlib.sha256(payload.encode("utf-8")).hexdigest(),
        kind=kind,
        event_type=str(event_type) if event_type is not None else None,
        event_time=parse_event_time(str(raw["eventTime"])),
        run_uuid=stable_run_uuid(run["runId"]) if run and run.get("runId") else None,
        job=job_key(job),
        facet_texts=facet_texts or {},
    )


_Checked = tuple[Mapping[str, Any], tuple["EventWarning", ...], str | None, Mapping[int, tuple[Any, str]] | None]


def _checked_batch(
    validator: EventValidator, batch: list[Mapping[str, Any]], validate: bool, strict: bool
) -> tuple[list[_Checked], list[dict[str, Any]]]:
    """(storable events with their warnings and canonical JSON of them and their facets if made, refused
    events by index) for `ingest`."""
    if not validate:
        return [(raw, (), None, None) for raw in batch], []
    if strict:
        validator.validate_batch(batch)
        return [(raw, (), None, None) for raw in batch], []
    screening = validator.screen(batch)
    accepted = [(s.event, s.warnings, s.payload, s.facet_texts) for s in screening.accepted]
    return accepted, [e.as_dict() for e in screening.rejected]


def _warning_rows(
    new_items: list[tuple[int, Prepared]], warned: Mapping[str, tuple[EventWarning, ...]]
) -> list[dict[str, Any]]:
    return [
        {"event_id": event_id, "path": w.path, "message": w.message, "schema_url": w.schema_url,
         "event_time": item.event_time}
        for event_id, item in new_items
        for w in warned.get(item.event_hash, ())
    ]


_SQLITE_MAX_ROWID = 2**63 - 1


def _sqlite_insert_new(
    conn: Connection, table: Any, params: list[tuple[Any, ...]], keys: tuple[str, ...], conflict: tuple[str, ...],
    returning: tuple[str, ...],
) -> list[tuple[Any, ...]] | None:
    """`returning` of the rows that were new: one single-row INSERT .. ON CONFLICT DO NOTHING run by executemany,
    then the new rows read back by id (events table, 500 rows: 14 us a row, against 21 for one 500-row VALUES
    .. RETURNING statement). Exact: the write transaction (BEGIN IMMEDIATE) keeps every other writer out, and SQLite gives each
    new row of an INTEGER PRIMARY KEY table max(id) + 1, so the new rows are those above the max before.
    None (nothing done) near the top of the id range, where SQLite picks free ids at random instead."""
    insert = (f"INSERT INTO {table.name} ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))}) "
              f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING")
    with _driver_cursor(conn, insert) as cursor:
        cursor.execute(f"SELECT max(id) FROM {table.name}")
        before = cursor.fetchone()[0] or 0
        if before > _SQLITE_MAX_ROWID - len(params):
            return None
        cursor.executemany(insert, params)
        cursor.execute(f"SELECT {', '.join(returning)} FROM {table.name} WHERE id > ?", (before,))
        return cursor.fetchall()


def _pg_unnest_returning(
    conn: Connection, table: Any, rows: Sequence[Mapping[str, Any]], keys: tuple[str, ...], conflict: tuple[str, ...],
    returning: tuple[str, ...],
) -> list[tuple[Any, ...]]:
    """INSERT .. SELECT FROM unnest(one array per column) .. RETURNING: one short statement whatever the row
    count (psycopg2 adapts each list in C; a VALUES list is a statement the server parses row by row). Rows
    go in in the given order (WITH ORDINALITY), so concurrent batches lock keys in the same order."""
    columns = [list(column) for column in zip(*map(itemgetter(*keys), rows))] if len(keys) > 1 else [
        [row[keys[0]] for row in rows]]
    arrays = ", ".join(f"%s::{_pg_type(table, key)}[]" for key in keys)
    sql = (f"INSERT INTO {table.name} ({', '.join(keys)}) SELECT {', '.join(keys)} FROM unnest({arrays}) "
           f"WITH ORDINALITY AS _rows ({', '.join(keys)}, _ordinal) ORDER BY _ordinal "
           f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {', '.join(returning)}")
    with _driver_cursor(conn, sql) as cursor:
        cursor.execute(sql, columns)
        return cursor.fetchall()


def _pg_copy(conn: Connection, table: Any, rows: Sequence[Mapping[str, Any]], keys: tuple[str, ...]) -> None:
    """Derived rows through COPY (text format): no statement to parse per row. A value of a type this does
    not write (none today) sends the rows through psycopg2's execute_values instead."""
    sql = f"COPY {table.name} ({', '.join(keys)}) FROM STDIN"
    getter = itemgetter(*keys)
    params = [getter(row) for row in rows] if len(keys) > 1 else [(row[keys[0]],) for row in rows]
    try:
        text_ = "".join(["\t".join(map(_copy_text, row)) + "\n" for row in params])
    except _NotCopyable:
        from psycopg2.extras import execute_values

        insert = f"INSERT INTO {table.name} ({', '.join(keys)}) VALUES %s"
        with _driver_cursor(conn, insert) as cursor:
            execute_values(cursor, insert, params, page_size=max(len(params), 1))
        return
    with _driver_cursor(conn, sql) as cursor:
        cursor.copy_expert(sql, io.StringIO(text_))


class _NotCopyable(TypeError):
    pass


def _copy_text(value: Any) -> str:
    """A value in COPY's text format, as psycopg2 would have bound it for the column."""
    kind = type(value)
    if kind is str:
        if "\\" in value or "\n" in value or "\r" in value or "\t" in value:
            return value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        return value
    if kind is int:
        return str(value)
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if kind is datetime and value.tzinfo is None:  # the store's naive UTC
        return value.isoformat(sep=" ")
    raise _NotCopyable(kind.__name__)


@lru_cache(maxsize=256)
def _pg_type(table: Any, key: str) -> str:
    """The column's PostgreSQL type, for the array cast."""
    from sqlalchemy.dialects import postgresql

    return table.c[key].type.compile(dialect=postgresql.dialect())


def _sqlite_params(table: Any, rows: Sequence[Mapping[str, Any]], keys: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Rows as driver parameter tuples in `keys` order, DateTime columns as SQLAlchemy writes them.

    Only the table's DateTime columns are converted (rows of one event share one datetime, so
    each distinct value is formatted once).
    """
    getter = itemgetter(*keys)
    params = list(map(getter, rows)) if len(keys) > 1 else [(row[keys[0]],) for row in rows]
    times = [i for i, key in enumerate(keys) if isinstance(table.c[key].type, DateTime)]
    if not times or not params:
        return params
    # Column by column (zip and map loop in C): each distinct time formatted once, None kept.
    columns: list[Iterable[Any]] = list(zip(*params))
    for i in times:
        text_of = {value: _sqlite_value(value) for value in set(columns[i]) if value is not None}
        columns[i] = map(text_of.get, columns[i])
    return list(zip(*columns))


def _sqlite_value(value: Any) -> Any:
    if type(value) is datetime:
        # The exact text SQLAlchemy's SQLite DateTime writes, so comparisons stay consistent
        # (isoformat pads years before 1000 to 4 digits; strftime's %Y does not on glibc).
        return value.isoformat(sep=" ", timespec="microseconds")
    return value


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
