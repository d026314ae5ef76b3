"""What each worker last said about its lineage outbox (migration 0008): one row per worker, replaced in place.

The outbox is a local SQLite file on the machine that runs the step or the sensor; ``obs serve`` may run on
another one. Workers therefore report their outbox backlog, dead letters, the age of the oldest pending event
and the spool files they see (:mod:`lineage.emission.outbox_report`), either straight into this table (the
``obs_lineage_store`` transport) or through ``POST /api/v1/workers/reports`` (the ``obs_lineage_api`` transport),
and ``/metrics`` exposes the last report of each worker with its age (:mod:`lineage.serve.metrics`).

Counts only: no event, no error text, nothing of a row. ``received_at`` is the receiver's clock (the API
server's, or the writing worker's on a direct write), so a report's age does not depend on the worker's clock.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, DateTime, Float, Index, Table, Text, delete, select

from lineage.config import MAX_NAME_CHARS
from lineage.store.tables import metadata

REPORT_KEPT = timedelta(days=30)  # a worker silent for longer is forgotten on the next report
MAX_COUNT = 10**12  # more events than any outbox holds: a bad number, not a backlog
MAX_AGE_S = 10**9  # ~30 years
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

worker_reports = Table(
    "lineage_worker_reports",
    metadata,
    Column("worker", Text, primary_key=True),
    Column("host", Text, nullable=False),
    Column("pending", BigInteger, nullable=False),
    Column("dead", BigInteger, nullable=False),
    Column("oldest_pending_age_s", Float, nullable=True),
    Column("spool_files", BigInteger, nullable=True),  # None: the worker has no spool configured
    Column("reported_at", DateTime(timezone=False), nullable=False),  # the worker's clock
    Column("received_at", DateTime(timezone=False), nullable=False),  # the receiver's clock (ages use it)
    Index("ix_lineage_worker_reports_received_at", "received_at"),
)


class ReportError(ValueError):
    """A report that cannot be stored; the message names the field and what is wrong."""


@dataclass(frozen=True)
class WorkerReport:
    worker: str
    host: str
    pending: int
    dead: int
    oldest_pending_age_s: float | None
    spool_files: int | None
    reported_at: datetime  # naive UTC

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "reported_at": self.reported_at.isoformat() + "Z"}

    @classmethod
    def from_json(cls, body: Any) -> WorkerReport:
        """Validate a report as it arrives over HTTP; raises :class:`ReportError` naming the first bad field."""
        if not isinstance(body, dict):
            raise ReportError("a report is a JSON object")
        unknown = sorted(set(body) - set(cls.__dataclass_fields__))
        if unknown:
            raise ReportError(f"unknown field {unknown[0][:100]!r}")
        return cls(
            worker=_name(body, "worker"), host=_name(body, "host"),
            pending=_count(body, "pending"), dead=_count(body, "dead"),
            oldest_pending_age_s=_age(body.get("oldest_pending_age_s")),
            spool_files=None if body.get("spool_files") is None else _count(body, "spool_files"),
            reported_at=_time(body.get("reported_at")),
        )


def _name(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ReportError(f"{key}: a non-empty string is required")
    if len(value) > MAX_NAME_CHARS or _CONTROL.search(value):
        raise ReportError(f"{key}: at most {MAX_NAME_CHARS} printable characters")
    return value


def _count(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ReportError(f"{key}: an integer from 0 to {MAX_COUNT} is required")
    return value


def _age(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= MAX_AGE_S:
        raise ReportError(f"oldest_pending_age_s: null or seconds from 0 to {MAX_AGE_S}")
    return float(value)


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ReportError("reported_at: an ISO 8601 time is required")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(f"reported_at: {value[:40]!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def put(conn: Connection, report: WorkerReport, received_at: datetime) -> None:
    """Replace the worker's last report; forget workers silent for longer than :data:`REPORT_KEPT`."""
    # Imported here: the PostgreSQL dialect is ~0.05 s of every `obs` start on SQLite.
    from sqlalchemy.dialects import postgresql, sqlite

    row = {**asdict(report), "received_at": received_at}
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(worker_reports)
    fields = {k: v for k, v in row.items() if k != "worker"}
    conn.execute(insert.values(**row).on_conflict_do_update(index_elements=["worker"], set_=fields))
    conn.execute(delete(worker_reports).where(worker_reports.c.received_at < received_at - REPORT_KEPT))


def latest(conn: Connection, since: datetime, limit: int) -> list[Any]:
    """The last report of each worker received after ``since``, the ``limit`` most recent (bounded labels)."""
    query = (select(worker_reports).where(worker_reports.c.received_at >= since)
             .order_by(worker_reports.c.received_at.desc(), worker_reports.c.worker).limit(limit))
    return list(conn.execute(query))
