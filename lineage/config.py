"""Where the lineage store lives and how the ingest server is limited, resolved from the environment.

Nothing here runs at import time: every value is read when a function is called, so tests and
the CLI can change the environment before opening a store.
"""

from __future__ import annotations

import os
from pathlib import Path

DB_URL_ENV = "OBS_LINEAGE_DB"
TOKEN_ENV = "OBS_LINEAGE_TOKEN"
TOKEN_FILE_ENV = "OBS_LINEAGE_TOKEN_FILE"  # a file holding the token (kept out of `ps` and the environment)
MAX_BODY_ENV = "OBS_LINEAGE_MAX_BODY"
ALLOWED_HOSTS_ENV = "OBS_ALLOWED_HOSTS"  # Host names served besides loopback (comma-separated)
CORS_ORIGINS_ENV = "OBS_CORS_ORIGINS"  # browser origins allowed to call the API (comma-separated)
DAGSTER_HOME_ENV = "DAGSTER_HOME"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000
DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
# OpenLineage events are shallow (schema facets with nested struct fields are the deepest part,
# rarely beyond ~20 levels); anything far deeper is a hostile or broken payload.
DEFAULT_MAX_DEPTH = 64

# Limits of one event, refused (422) beyond them: each name becomes a label of every /metrics
# sample of its dataset, each column-lineage input field a stored row, each facet a stored copy.
MAX_NAME_CHARS = 1024  # dataset/job name and namespace (S3's own key limit is 1,024 bytes)
MAX_COLUMN_EDGES = 10_000  # columnLineage input fields of one event (a 1,000-column table, 10 inputs each)
MAX_FACET_BYTES = 1024 * 1024  # one facet, as compact JSON
# Bounds of a number read from an event (lineage.facets._values): a measured value beyond 1e100 is
# no real measurement and leaves room for squares and products (1e200) far below the float range
# (1.8e308); a count beyond a signed 64-bit integer is no count a producer keeps (Java's long).
MAX_MAGNITUDE = 1e100
MAX_COUNT = 2**63 - 1
# HTTP server bounds (lineage.serve.server): an unfinished request head is buffered up to 64 KiB
# (uvicorn's h11 default is 16 KiB; proxies send long cookies) and must be complete within 10 s.
MAX_HEADER_BYTES = 64 * 1024
HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5  # idle keep-alive connections (uvicorn's default)


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


SUPPORTED_DB_SCHEMES = ("sqlite", "postgresql")
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
               "g": 1000**3, "gb": 1000**3, "gib": 1024**3}


def resolve_db_url(explicit: str | None = None) -> str:
    """An explicit URL wins, then `$OBS_LINEAGE_DB`, then the default SQLite file.

    Raises ValueError (one line, naming the setting) for a database the store does not support."""
    url = explicit or os.environ.get(DB_URL_ENV) or default_db_url()
    scheme = url.partition(":")[0].partition("+")[0].lower()
    if scheme not in SUPPORTED_DB_SCHEMES or "://" not in url:
        source = "--db / the given URL" if explicit else DB_URL_ENV
        raise ValueError(f"unsupported database URL scheme {url.partition(':')[0][:40]!r} ({source}); the lineage "
                         "store runs on sqlite:///path/lineage.db or postgresql://user@host/db")
    return url


def resolve_token(explicit: str | None = None, token_file: str | Path | None = None) -> str | None:
    """Bearer token the API requires: `explicit`, else the file `token_file` / `$OBS_LINEAGE_TOKEN_FILE`,
    else `$OBS_LINEAGE_TOKEN`; `None` (no auth) when none is set.

    Surrounding whitespace (a trailing newline or space) is stripped; a token set but empty raises
    ValueError rather than silently running the API open."""
    if explicit is not None:
        return _clean_token(explicit, "--token")
    path = token_file or os.environ.get(TOKEN_FILE_ENV)
    if path:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the token file {path}: {getattr(exc, 'strerror', None) or exc}") from None
        return _clean_token(text, f"the token file {path}")
    raw = os.environ.get(TOKEN_ENV)
    return None if raw is None else _clean_token(raw, TOKEN_ENV)


def _clean_token(raw: str, source: str) -> str:
    token = raw.strip()
    if not token:
        raise ValueError(f"{source} is empty: set a token, or unset {TOKEN_ENV} to run the API without one")
    return token


def parse_size(raw: str, source: str) -> int:
    """Bytes from ``5242880``, ``5MB`` (10^6), ``5MiB`` (2^20), ``512k``: ValueError naming `source` otherwise."""
    text = raw.strip().lower().replace(" ", "")
    digits = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(digits):]
    try:
        value = float(digits) * _SIZE_UNITS[unit]
    except (KeyError, ValueError):
        raise ValueError(f"{source} must be a size in bytes such as 5242880, 5MB or 5MiB, got {raw[:40]!r}") from None
    if not 0 < value < 2**63:
        raise ValueError(f"{source} must be positive, got {raw[:40]!r}")
    return int(value)


def resolve_max_body(explicit: int | None = None) -> int:
    """Request body cap in bytes (after gzip decompression too)."""
    if explicit is not None:
        if explicit <= 0:
            raise ValueError(f"--max-body must be positive, got {explicit}")
        return explicit
    raw = os.environ.get(MAX_BODY_ENV)
    if not raw:
        return DEFAULT_MAX_BODY_BYTES
    return parse_size(raw, MAX_BODY_ENV)


def resolve_list(explicit: list[str] | tuple[str, ...] | None, env: str) -> tuple[str, ...]:
    """Comma-separated values of `env` unless `explicit` is given (blank entries dropped)."""
    values = explicit if explicit is not None else os.environ.get(env, "").split(",")
    return tuple(v.strip() for v in values if v.strip())
