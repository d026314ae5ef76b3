"""API errors and how each becomes a JSON response."""

from __future__ import annotations

import json
import logging
from collections.abc import MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from lineage.graph import queries

_log = logging.getLogger("lineage.serve")


class ApiError(Exception):
    """Turned into `{"error": code, "message": ..., **extra}` with the given status."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    if exc.status >= 500:
        _log.error("%s for %s %s: %s", exc.status, request.method, request.url.path, exc.message)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse({"error": exc.code, "message": exc.message, **exc.extra}, exc.status, headers=headers)


async def _query_error(_: Request, exc: queries.LineageQueryError) -> JSONResponse:
    body: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, queries.AmbiguousNameError):
        body["candidates"] = exc.candidates
    return JSONResponse(body, exc.status)


def cause_of(exc: BaseException) -> str:
    """``Type: first line`` of the driver's error (the line that names the fault: "database or disk
    is full", "connection refused"), cut at 200 characters."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0][:200] if lines else ''}"


async def _db_error(request: Request, exc: OperationalError) -> JSONResponse:
    # Logged with its cause for the operator; the client gets no driver message (it can echo values).
    _log.error("503 for %s %s: lineage database unavailable (%s)", request.method, request.url.path, cause_of(exc))
    return JSONResponse(
        {"error": "store_unavailable", "message": "the lineage database is unavailable or busy; retry shortly"},
        503,
        headers={"Retry-After": "1"},
    )


class ErrorBoundary:
    """Innermost middleware: an unhandled exception becomes a logged JSON 500 here, so uvicorn sees a
    completed response and keeps the keep-alive connection (it closes it when an exception reaches it)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            _log.exception("500 for %s %s: %s", scope.get("method"), scope.get("path"), type(exc).__name__)
            if started:
                raise  # half a response is out: only closing the connection tells the client
            body = json.dumps({"error": "internal_error", "message": "internal server error; the server log has "
                               "the cause"}).encode()
            await send({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(queries.LineageQueryError, _query_error)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _db_error)  # type: ignore[arg-type]
