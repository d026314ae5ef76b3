"""Structured (JSON) logs, opt-in with ``OBS_LOG_FORMAT=json``: one object per line, with the run context.

Each line has ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message`` and, when known, ``run_id``,
``asset``, ``partition`` (set for a block with :func:`log_context`) and the current span's ``trace_id`` /
``span_id`` (:mod:`lineage.telemetry.tracing`), so a log line, a trace and an OpenLineage run lead to each other.
Messages are what the code logs; our code never logs row values (the privacy rule), and this adds none.

Dagster sensors log through ``context.log``, a logger of Dagster's own: :func:`adopt` gives it these JSON lines in
place of its console text (its tick log in the Dagster UI stays), and :func:`run_context` names the run a record
is about outside the run's step processes, with the run's trace id (:func:`lineage.telemetry.tracing.run_trace_id`).
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from lineage.telemetry.tracing import current_ids, run_trace_id

FORMAT_VAR = "OBS_LOG_FORMAT"
OUR_LOGGERS = ("lineage", "observability_pipelines", "uvicorn", "uvicorn.access", "uvicorn.error")
_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar("obs_log_context", default={})
_HANDLER_NAME = "obs-json"


class ContextFilter(logging.Filter):
    """Adds the run context and the current span's ids to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            setattr(record, key, value)
        if ids := current_ids():
            record.trace_id, record.span_id = ids
        return True


class ObsJsonFormatter(JsonFormatter):
    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s %(message)s",
                         rename_fields={"levelname": "level", "name": "logger"})

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def json_enabled() -> bool:
    return os.environ.get(FORMAT_VAR, "").strip().lower() == "json"


def json_handler(stream: Any = None) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(ObsJsonFormatter())
    handler.addFilter(ContextFilter())
    return handler


def configure(stream: Any = None, force: bool = False) -> bool:
    """Switch our loggers (and uvicorn's) to JSON lines when ``OBS_LOG_FORMAT=json`` (or ``force``)."""
    if not (force or json_enabled()):
        return False
    for name in OUR_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if h.get_name() != _HANDLER_NAME]
        if name in ("lineage", "observability_pipelines", "uvicorn"):
            logger.addHandler(json_handler(stream))
            logger.propagate = False
            logger.setLevel(min(logger.level or logging.INFO, logging.INFO))
        else:  # uvicorn's own children reach the "uvicorn" handler
            logger.handlers = []
            logger.propagate = True
    return True


def uvicorn_log_config() -> dict[str, Any] | None:
    """A uvicorn ``log_config`` that writes JSON lines, or ``None`` to keep uvicorn's default."""
    if not json_enabled():
        return None
    return {
        "version": 1, "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"json": {"()": ObsJsonFormatter}},
        "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["context"]}},
        "loggers": {name: {"handlers": ["json"], "level": "INFO", "propagate": False}
                    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "lineage", "observability_pipelines")},
    }


@contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Fields (run_id, asset, partition, ...) added to every log line written inside the block."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def _is_console(handler: logging.Handler) -> bool:
    # Dagster's sensor logger writes its console text through a handler that dispatches to a console logger.
    if type(handler).__name__ == "DispatchingLogHandler":
        return True
    return type(handler) is logging.StreamHandler and getattr(handler, "stream", None) in (sys.stderr, sys.stdout)


def adopt(logger: logging.Logger) -> logging.Logger:
    """With ``OBS_LOG_FORMAT=json``: ``logger`` (a sensor's ``context.log``) writes JSON lines to stderr instead
    of console text; handlers that keep records elsewhere (Dagster's tick log) stay. Returns ``logger``."""
    if not json_enabled() or any(h.get_name() == _HANDLER_NAME for h in logger.handlers):
        return logger
    for handler in [h for h in logger.handlers if _is_console(h)]:
        logger.removeHandler(handler)
    logger.addHandler(json_handler())
    return logger


@contextmanager
def run_context(run_id: str, *, asset: str | None = None, partition: str | None = None,
                **fields: Any) -> Iterator[None]:
    """:func:`log_context` for lines about one run written outside its steps (sensors): the run's trace id too."""
    with log_context(run_id=run_id, asset=asset, partition=partition, trace_id=f"{run_trace_id(run_id):032x}",
                     **fields):
        yield
