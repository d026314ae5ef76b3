"""The lineage store: tables and migrations, event validation, and idempotent ingest.

Import what you need from here (``LineageStore``) or from the modules: ``database`` (ingest and
reads), ``tables`` + ``migrations/`` (schema), ``validation`` (the vendored OpenLineage schemas).
"""

from lineage.store.database import (
    IngestResult,
    LineageStore,
    canonical_json,
    event_hash,
    to_naive_utc,
    utcnow,
)
from lineage.store import worker_reports as _worker_reports  # noqa: F401  (registers its table, migration 0008)

__all__ = ["IngestResult", "LineageStore", "canonical_json", "event_hash", "to_naive_utc", "utcnow"]
