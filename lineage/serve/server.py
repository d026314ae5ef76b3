"""How ``obs serve`` runs uvicorn: bounded request headers and slow clients closed.

uvicorn's default HTTP parser (httptools) has no header size limit and neither parser has a
header-read timeout: 20 connections sending unfinished 16 MiB headers grew the server from 124 to
597 MB, and 1,000 slowloris connections (a header byte every few seconds) stayed open. Here the
h11 parser buffers at most ``MAX_HEADER_BYTES`` of an unfinished request head (beyond it: 400 and
the connection closed), and a connection whose request head is not complete ``HEADER_TIMEOUT_S``
after it opened (or after its previous response) is closed. Idle keep-alive connections close after
``KEEP_ALIVE_S``. The access log never shows a credential sent in a query string (``?token=``).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
from typing import Any

import h11
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol

from lineage.config import HEADER_TIMEOUT_S, KEEP_ALIVE_S, MAX_HEADER_BYTES
from lineage.telemetry.logs import uvicorn_log_config

_log = logging.getLogger("uvicorn.error")
# Query parameters whose value is a credential (`?token=...` from a client that puts it in the URL).
_SECRET_PARAM = re.compile(r"([?&](?:token|access_token|api_key|apikey|key|password|secret)=)[^&\s\"]*", re.I)


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head (see the module docstring)."""

    header_timeout: float = HEADER_TIMEOUT_S
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # a complete request head arrived
            self._disarm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()  # the next request's head gets the same deadline
            if self.conn.their_state is not h11.IDLE:  # a pipelined request was already read
                self._disarm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            _log.debug("closing a connection whose request head took over %ss", self.header_timeout)
            self.transport.close()


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` that apply the bounds above."""
    return {
        "http": BoundedH11Protocol,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_keep_alive": KEEP_ALIVE_S,
    }


def redact_query(text: str) -> str:
    """``/x?token=abc&n=1`` -> ``/x?token=[redacted]&n=1``."""
    return _SECRET_PARAM.sub(r"\1[redacted]", text)


class RedactSecretsFilter(logging.Filter):
    """Access-log filter: credential values in a request's query string never reach the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_query(a) if isinstance(a, str) and "=" in a else a for a in record.args)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration (JSON lines with ``OBS_LOG_FORMAT=json``, see
    :mod:`lineage.telemetry.logs`) with :class:`RedactSecretsFilter` on the access log."""
    json_config = uvicorn_log_config()
    config = json_config or copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": RedactSecretsFilter}
    config["handlers"]["json" if json_config else "access"].setdefault("filters", []).append("redact_secrets")
    return config
