"""API errors and how each becomes a JSON response."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from lineage.graph import queries


class ApiError(Exception):
    """Turned into `{"error": code, "message": ..., **extra}` with the given status."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse({"error": exc.code, "message": exc.message, **exc.extra}, exc.status, headers=headers)


async def _query_error(_: Request, exc: queries.LineageQueryError) -> JSONResponse:
    body: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, queries.AmbiguousNameError):
        body["candidates"] = exc.candidates
    return JSONResponse(body, exc.status)


async def _db_error(_: Request, exc: OperationalError) -> JSONResponse:
    # No driver message: it can echo row values. The operator finds details in the DB logs.
    return JSONResponse(
        {"error": "store_unavailable", "message": "the lineage database is unavailable or busy; retry shortly"},
        503,
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(queries.LineageQueryError, _query_error)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, _db_error)  # type: ignore[arg-type]
