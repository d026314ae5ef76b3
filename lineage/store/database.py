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
import json
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from lineage.store import tables as t
from lineage.config import resolve_db_url
from lineage.store.validation import EventValidator, default_validator, event_kind, parse_event_time

if TYPE_CHECKING:
    from lineage.graph.model import LineageGraph

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
_MAX_ATTEMPTS = 8
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

    def as_dict(self) -> dict[str, Any]:
        return {"received": self.received, "stored": self.stored, "duplicates": self.duplicates}


@dataclass
class _Prepared:
    """One event reduced to what the tables need."""

    raw: Mapping[str, Any]
    payload: str
    event_hash: str
    kind: str
    event_type: str | None
    event_time: datetime
    run_uuid: str | None
    job: tuple[str, str] | None


def canonical_json(event: Mapping[str, Any]) -> str:
    """Key order and whitespace do not change an event's identity."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


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
        self._cache_lock = threading.Lock()
        self._graph: LineageGraph | None = None
        self._graph_lock = threading.Lock()
        self._thread_write_lock = threading.Lock()
        self._lock_file: Any = None
        self._lock_path = _sqlite_lock_path(engine)
        self._sqlite_insert_sql: dict[tuple[str, tuple[str, ...]], str] = {}

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
            self._validator = default_validator()
        return self._validator

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (no-op when already there)."""
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
    def ingest(self, events: Iterable[Mapping[str, Any]], *, validate: bool = True) -> IngestResult:
        """Store a batch of events in one transaction; all or nothing.

        With `validate=True` (default) every event is checked against the OpenLineage schemas
        first and an `EventValidationError` naming the failing index is raised before anything
        is written. Duplicates (already stored, or repeated inside the batch) are counted, not
        stored again.
        """
        batch = list(events)
        if validate:
            self.validator.validate_batch(batch)
        prepared: dict[str, _Prepared] = {}
        for raw in batch:
            item = _prepare(raw)
            prepared.setdefault(item.event_hash, item)
        if not prepared:
            return IngestResult(received=len(batch), stored=0, duplicates=len(batch))
        new_ids, datasets, jobs = self._retrying(lambda: self._ingest_once(list(prepared.values())))
        with self._cache_lock:
            self._dataset_ids.update(datasets)
            self._job_ids.update(jobs)
        ids = sorted(new_ids)
        return IngestResult(received=len(batch), stored=len(ids), duplicates=len(batch) - len(ids), event_ids=ids)

    def ingest_one(self, event: Mapping[str, Any], *, validate: bool = True) -> IngestResult:
        return self.ingest([event], validate=validate)

    def _ingest_once(
        self, items: list[_Prepared]
    ) -> tuple[list[int], dict[tuple[str, str], int], dict[tuple[str, str], int]]:
        now = utcnow()
        with self._write() as conn:
            inserted = self._insert_events(conn, items, now)
            new_items = [(inserted[i.event_hash], i) for i in items if i.event_hash in inserted]
            if not new_items:
                return [], {}, {}
            dataset_keys: set[tuple[str, str]] = set()
            job_keys: set[tuple[str, str]] = set()
            for _, item in new_items:
                if item.job:
                    job_keys.add(item.job)
                dataset_keys.update(_dataset_keys(item.raw))
            dataset_ids = self._ensure_nodes(conn, t.datasets, dataset_keys, self._dataset_ids, now)
            job_ids = self._ensure_nodes(conn, t.jobs, job_keys, self._job_ids, now)
            run_ids = self._ensure_runs(conn, new_items, job_ids, now)
            rows = _derived_rows(new_items, dataset_ids, job_ids, run_ids)
            for table, table_rows in rows.items():
                if table_rows:
                    self._bulk_insert(conn, table, table_rows)
            return [event_id for event_id, _ in new_items], dataset_ids, job_ids

    def _insert_events(self, conn: Connection, items: list[_Prepared], now: datetime) -> dict[str, int]:
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
            stmt = (
                self._insert(t.events)
                .on_conflict_do_nothing(index_elements=["event_hash"])
                .returning(t.events.c.id, t.events.c.event_hash)
            )
            for row in conn.execute(stmt, chunk):
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
            stmt = (
                self._insert(table)
                .on_conflict_do_nothing(index_elements=["namespace", "name"])
                .returning(table.c.id, table.c.namespace, table.c.name)
            )
            rows = [{"namespace": ns, "name": name, "first_seen": now} for ns, name in chunk]
            for row in conn.execute(stmt, rows):
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
        new_items: list[tuple[int, _Prepared]],
        job_ids: Mapping[tuple[str, str], int],
        now: datetime,
    ) -> dict[str, int]:
        runs: dict[str, dict[str, Any]] = {}
        for _, item in new_items:
            if item.run_uuid and item.job and item.run_uuid not in runs:
                runs[item.run_uuid] = {
                    "run_uuid": item.run_uuid,
                    "job_id": job_ids[item.job],
                    "parent_run_uuid": _parent_run_uuid(item.raw),
                    "first_seen": item.event_time,
                }
        found: dict[str, int] = {}
        ordered = [runs[k] for k in sorted(runs)]
        for chunk in _chunks(ordered, _CHUNK):
            stmt = (
                self._insert(t.runs)
                .on_conflict_do_nothing(index_elements=["run_uuid"])
                .returning(t.runs.c.id, t.runs.c.run_uuid)
            )
            for row in conn.execute(stmt, chunk):
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
        if self.dialect != "sqlite":
            conn.execute(table.insert(), rows)
            return
        keys = tuple(rows[0])
        sql = self._sqlite_insert_sql.get((table.name, keys))
        if sql is None:
            columns = ", ".join(keys)
            sql = f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join('?' for _ in keys)})"
            self._sqlite_insert_sql[(table.name, keys)] = sql
        conn.exec_driver_sql(sql, [tuple(_sqlite_value(row[k]) for k in keys) for row in rows])

    def _insert(self, table: Any) -> Any:
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

    def graph(self) -> LineageGraph:
        """The store's one in-memory graph, created on first use; `snapshot()` refreshes it."""
        with self._graph_lock:
            if self._graph is None:
                from lineage.graph.model import LineageGraph

                self._graph = LineageGraph(self)
            return self._graph


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
                # WAL + NORMAL is durable against application crashes, fast on commit.
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("lineage_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


# ---------------------------------------------------------------------- event shredding
# Events parsed from JSON are dicts: checking `dict` first skips the slow ABC isinstance path.
_MAPPING = (dict, Mapping)

def _prepare(raw: Mapping[str, Any]) -> _Prepared:
    payload = canonical_json(raw)
    kind = event_kind(raw) or "RunEvent"
    run = raw.get("run") if isinstance(raw.get("run"), _MAPPING) else None
    job = raw.get("job") if isinstance(raw.get("job"), _MAPPING) else None
    event_type = raw.get("eventType") if kind == "RunEvent" else None
    return _Prepared(
        raw=raw,
        payload=payload,
        event_hash=hashlib.sha256(payload.encode("utf-8")).hexdigest(),
        kind=kind,
        event_type=str(event_type) if event_type is not None else None,
        event_time=parse_event_time(str(raw["eventTime"])),
        run_uuid=str(run["runId"]).lower() if run and run.get("runId") else None,
        job=(str(job["namespace"]), str(job["name"])) if job else None,
    )


def _dataset_list(raw: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = raw.get(key)
    return [d for d in value if isinstance(d, _MAPPING)] if isinstance(value, list) else []


def _dataset_keys(raw: Mapping[str, Any]) -> set[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    datasets = [*_dataset_list(raw, "inputs"), *_dataset_list(raw, "outputs")]
    if isinstance(raw.get("dataset"), _MAPPING):
        datasets.append(raw["dataset"])
    for ds in datasets:
        keys.add((str(ds["namespace"]), str(ds["name"])))
        for source in _column_sources(ds):
            keys.add((source[0], source[1]))
    return keys


def _column_sources(ds: Mapping[str, Any]) -> Iterator[tuple[str, str, str, str | None, Mapping[str, Any]]]:
    """(src namespace, src name, src field, dst field or None, input field dict) from ColumnLineage.

    Both shapes of the facet are read: `fields.<out>.inputFields[]` (per output column) and the
    newer top-level `dataset[]` (inputs that affect the whole output: filters, joins, grouping).
    """
    facets = ds.get("facets")
    facet = facets.get("columnLineage") if isinstance(facets, _MAPPING) else None
    if not isinstance(facet, _MAPPING):
        return
    fields = facet.get("fields")
    if isinstance(fields, _MAPPING):
        for out_field, spec in fields.items():
            if isinstance(spec, _MAPPING):
                for src in spec.get("inputFields") or []:
                    if isinstance(src, _MAPPING):
                        yield str(src["namespace"]), str(src["name"]), str(src["field"]), str(out_field), src
    for src in facet.get("dataset") or []:
        if isinstance(src, _MAPPING):
            yield str(src["namespace"]), str(src["name"]), str(src["field"]), None, src


def _parent_run_uuid(raw: Mapping[str, Any]) -> str | None:
    run = raw.get("run")
    facets = run.get("facets") if isinstance(run, _MAPPING) else None
    parent = facets.get("parent") if isinstance(facets, _MAPPING) else None
    parent_run = parent.get("run") if isinstance(parent, _MAPPING) else None
    if isinstance(parent_run, _MAPPING) and parent_run.get("runId"):
        return str(parent_run["runId"]).lower()
    return None


def _derived_rows(
    new_items: list[tuple[int, _Prepared]],
    dataset_ids: Mapping[tuple[str, str], int],
    job_ids: Mapping[tuple[str, str], int],
    run_ids: Mapping[str, int],
) -> dict[Any, list[dict[str, Any]]]:
    out: dict[Any, list[dict[str, Any]]] = {
        t.run_states: [],
        t.io_edges: [],
        t.column_edges: [],
        t.dataset_facets: [],
        t.run_facets: [],
        t.dataset_versions: [],
    }
    for event_id, item in new_items:
        raw, when = item.raw, item.event_time
        run_id = run_ids.get(item.run_uuid) if item.run_uuid else None
        job_id = job_ids.get(item.job) if item.job else None
        if run_id is not None:
            out[t.run_states].append(
                {"run_id": run_id, "event_id": event_id, "event_type": item.event_type, "event_time": when}
            )
            run_facets = raw["run"].get("facets")
            if isinstance(run_facets, _MAPPING):
                for name, facet in run_facets.items():
                    out[t.run_facets].append(
                        {
                            "event_id": event_id,
                            "run_id": run_id,
                            "facet_name": name,
                            "payload": canonical_json(facet) if isinstance(facet, _MAPPING) else json.dumps(facet),
                            "event_time": when,
                        }
                    )
        sides = [("in", "inputFacets", "input", ds) for ds in _dataset_list(raw, "inputs")]
        sides += [("out", "outputFacets", "output", ds) for ds in _dataset_list(raw, "outputs")]
        if isinstance(raw.get("dataset"), _MAPPING):
            sides.append((None, None, None, raw["dataset"]))
        for direction, extra_key, extra_scope, ds in sides:
            dataset_id = dataset_ids[(str(ds["namespace"]), str(ds["name"]))]
            if direction is not None and job_id is not None:
                out[t.io_edges].append(
                    {
                        "event_id": event_id,
                        "job_id": job_id,
                        "run_id": run_id,
                        "dataset_id": dataset_id,
                        "direction": direction,
                        "event_time": when,
                    }
                )
            facet_groups = [("dataset", ds.get("facets"))]
            if extra_key:
                facet_groups.append((str(extra_scope), ds.get(extra_key)))
            for scope, facets in facet_groups:
                if not isinstance(facets, _MAPPING):
                    continue
                for name, facet in facets.items():
                    out[t.dataset_facets].append(
                        {
                            "event_id": event_id,
                            "run_id": run_id,
                            "dataset_id": dataset_id,
                            "scope": scope,
                            "facet_name": name,
                            "payload": canonical_json(facet) if isinstance(facet, _MAPPING) else json.dumps(facet),
                            "event_time": when,
                        }
                    )
                    if scope == "dataset" and name == "version" and isinstance(facet, _MAPPING):
                        version = facet.get("datasetVersion")
                        if version is not None:
                            out[t.dataset_versions].append(
                                {
                                    "dataset_id": dataset_id,
                                    "version": str(version),
                                    "run_id": run_id,
                                    "event_id": event_id,
                                    "event_time": when,
                                }
                            )
            for src_ns, src_name, src_field, dst_field, src in _column_sources(ds):
                transformations = [tr for tr in src.get("transformations") or [] if isinstance(tr, _MAPPING)]
                base = {
                    "event_id": event_id,
                    "job_id": job_id,
                    "run_id": run_id,
                    "src_dataset_id": dataset_ids[(src_ns, src_name)],
                    "src_field": src_field,
                    "dst_dataset_id": dataset_id,
                    "dst_field": dst_field,
                    "event_time": when,
                }
                for tr in transformations or [{}]:
                    masking = tr.get("masking")
                    out[t.column_edges].append(
                        {
                            **base,
                            "transformation_type": _short(tr.get("type"), 32),
                            "transformation_subtype": _short(tr.get("subtype"), 64),
                            "description": tr.get("description"),
                            "masking": masking if isinstance(masking, bool) else None,
                        }
                    )
    return out


def _sqlite_value(value: Any) -> Any:
    if type(value) is datetime:
        # The exact text SQLAlchemy's SQLite DateTime writes, so comparisons stay consistent
        # (isoformat pads years before 1000 to 4 digits; strftime's %Y does not on glibc).
        return value.isoformat(sep=" ", timespec="microseconds")
    return value


def _short(value: Any, limit: int) -> str | None:
    return None if value is None else str(value)[:limit]


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
