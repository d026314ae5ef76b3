"""How ``obs serve`` runs uvicorn: bounded request headers and slow clients closed.

uvicorn's default HTTP parser (httptools) has no header size limit and neither parser has a
header-read timeout: 20 connections sending unfinished 16 MiB headers grew the server from 124 to
597 MB, and 1,000 slowloris connections (a header byte every few seconds) stayed open. Here the
h11 parser buffers at most ``MAX_HEADER_BYTES`` of an unfinished request head (beyond it: 400 and
the connection closed), and a connection whose request head is not complete ``HEADER_TIMEOUT_S``
after it opened (or after its previous response) is closed. Idle keep-alive connections close after
``KEEP_ALIVE_S``. The access log never shows a credential sent in a query string (``?token=``).

``obs serve`` parses with httptools when it is installed (uvicorn[standard], which dagster-webserver
requires, brings it): ``BoundedHttpToolsProtocol`` applies the same two bounds to it, and its C parser
costs ~0.1 ms less per request than h11 (a tenth of a one-event POST). Without httptools, h11 as above.
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

try:  # optional: uvicorn[standard] (see the module docstring)
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools not installed
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

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


class _HeadBounds:
    """The two bounds for httptools (mixed into its protocol below, see the module docstring).

    httptools buffers a header line it has not finished inside the parser, so the head's size is
    counted from the bytes fed while a head is open: every byte of a chunk but the body bytes the
    parser reported in it. For a client that waits for each response (every common client) that is
    the head's size; a pipelining client's chunk may also hold the end of the previous request's
    head, so the count errs only on the large side. The deadline runs while no complete head is
    waiting for its response: from the connection's start and from each response's end.
    """

    header_timeout: float = HEADER_TIMEOUT_S
    max_head_bytes: int = MAX_HEADER_BYTES
    _head_deadline: asyncio.TimerHandle | None = None
    _head_open = False  # a request head has begun and is not complete
    _head_bytes = 0
    _body_fed = 0
    _heads_done = 0  # complete heads received ...
    _responses_done = 0  # ... and responses sent: equal when the connection waits for a head

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[misc]
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        self._body_fed = 0
        super().data_received(data)  # type: ignore[misc]
        if self._head_open and not self.transport.is_closing():  # type: ignore[attr-defined]
            self._head_bytes += len(data) - self._body_fed
            if self._head_bytes > self.max_head_bytes:
                self.send_400_response("Request head too large.")  # type: ignore[attr-defined]

    def on_message_begin(self) -> None:
        super().on_message_begin()  # type: ignore[misc]
        self._head_open, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._heads_done += 1
        self._disarm_head_deadline()
        super().on_headers_complete()  # type: ignore[misc]

    def on_body(self, body: bytes) -> None:
        self._body_fed += len(body)
        super().on_body(body)  # type: ignore[misc]

    def on_response_complete(self) -> None:
        self._responses_done += 1
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing() and self._waiting_for_head():  # type: ignore[attr-defined]
            self._arm_head_deadline()  # the next request's head gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)  # type: ignore[misc]

    def _waiting_for_head(self) -> bool:
        return self._heads_done == self._responses_done

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(self.header_timeout, self._head_timed_out)  # type: ignore[attr-defined]

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if not self.transport.is_closing() and self._waiting_for_head():  # type: ignore[attr-defined]
            _log.debug("closing a connection whose request head took over %ss", self.header_timeout)
            self.transport.close()  # type: ignore[attr-defined]


if HttpToolsProtocol is not None:

    class BoundedHttpToolsProtocol(_HeadBounds, HttpToolsProtocol):  # type: ignore[misc,valid-type]
        """uvicorn's httptools protocol with the head size bound and deadline (see `_HeadBounds`)."""

else:  # pragma: no cover - httptools not installed
    BoundedHttpToolsProtocol = None  # type: ignore[assignment,misc]


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` / ``uvicorn.Config`` that apply the bounds above."""
    return {
        "http": BoundedHttpToolsProtocol or BoundedH11Protocol,
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
