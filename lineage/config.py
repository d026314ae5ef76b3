"""Where the lineage store lives and how the ingest server is limited, resolved from the environment.

Nothing here runs at import time: every value is read when a function is called, so tests and
the CLI can change the environment before opening a store.
"""

from __future__ import annotations

import os
from pathlib import Path

DB_URL_ENV = "OBS_LINEAGE_DB"
TOKEN_ENV = "OBS_LINEAGE_TOKEN"
MAX_BODY_ENV = "OBS_LINEAGE_MAX_BODY"
DAGSTER_HOME_ENV = "DAGSTER_HOME"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
# OpenLineage events are shallow (schema facets with nested struct fields are the deepest part,
# rarely beyond ~20 levels); anything far deeper is a hostile or broken payload.
DEFAULT_MAX_DEPTH = 64


def project_root() -> Path:
    """The repository root: the directory holding the `lineage` package."""
    return Path(__file__).resolve().parent.parent


def dagster_home() -> Path:
    """`$DAGSTER_HOME`, or `<project root>/.dagster_home` like the rest of the project."""
    value = os.environ.get(DAGSTER_HOME_ENV)
    return Path(value).expanduser() if value else project_root() / ".dagster_home"


def default_db_url() -> str:
    """SQLite file `$DAGSTER_HOME/lineage.db` (the directory is created when the store opens)."""
    return f"sqlite:///{dagster_home() / 'lineage.db'}"


def resolve_db_url(explicit: str | None = None) -> str:
    """An explicit URL wins, then `$OBS_LINEAGE_DB`, then the default SQLite file."""
    if explicit:
        return explicit
    return os.environ.get(DB_URL_ENV) or default_db_url()


def resolve_token(explicit: str | None = None) -> str | None:
    """Bearer token the API requires; `None` (no auth) when neither argument nor env var is set."""
    if explicit:
        return explicit
    return os.environ.get(TOKEN_ENV) or None


def resolve_max_body(explicit: int | None = None) -> int:
    """Request body cap in bytes (after gzip decompression too)."""
    if explicit is not None:
        return explicit
    raw = os.environ.get(MAX_BODY_ENV)
    if not raw:
        return DEFAULT_MAX_BODY_BYTES
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{MAX_BODY_ENV} must be a whole number of bytes, got {raw!r}") from exc
    if value <= 0:
        raise ValueError(f"{MAX_BODY_ENV} must be positive, got {value}")
    return value
