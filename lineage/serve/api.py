"""HTTP API: OpenLineage ingest endpoint (compatible with openlineage-python's HttpTransport)
plus lineage queries, root-cause analysis, health and Prometheus metrics.

`POST /api/v1/lineage` is the path the HttpTransport posts to (`url` + `endpoint`, default
`api/v1/lineage`), with `Content-Type: application/json`, an optional
`Authorization: Bearer <api key>` and, when `compression="gzip"` is configured,
`Content-Encoding: gzip`. The body is one event or, as an extension, a JSON array of events
stored all-or-nothing in one transaction.

The routes live in :mod:`lineage.serve.routes`, one router per concern; their shared dependencies
(store, settings, bearer token) in :mod:`lineage.serve.deps`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware

from lineage.config import (
    ALLOWED_HOSTS_ENV,
    CORS_ORIGINS_ENV,
    DEFAULT_MAX_DEPTH,
    resolve_list,
    resolve_max_body,
    resolve_token,
)
from lineage.serve.deps import ServeSettings, reject_nul_in_query
from lineage.serve.errors import ApiError, ErrorBoundary, install_error_handlers
from lineage.serve.guards import RequestGuard
from lineage.serve.openapi import publish_event_schemas
from lineage.serve.routes import health, incidents, ingest, lineage, marquez, metrics, rca, ui, workers
from lineage.serve.routes.ingest import INGEST_PATH
from lineage.store import LineageStore
from lineage.store.integrity import require_intact

__all__ = ["INGEST_PATH", "ApiError", "create_app"]

ROUTERS = (health.router, ingest.router, lineage.router, rca.router, incidents.router, metrics.router, marquez.router,
           ui.api, ui.pages, workers.router)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the store at startup unless one was given; dispose of it at shutdown if opened here."""
    owned = getattr(app.state, "store", None) is None
    if owned:
        app.state.store = await run_in_threadpool(LineageStore.open, app.state.settings.db_url)
        try:
            await run_in_threadpool(require_intact, app.state.store)  # a damaged SQLite file takes no writes
        except Exception:
            app.state.store.dispose()
            raise
    try:
        yield
    finally:
        if owned:
            app.state.store.dispose()
            app.state.store = None


def create_app(
    store: LineageStore | None = None,
    token: str | None = None,
    max_body_bytes: int | None = None,
    *,
    db_url: str | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    allowed_hosts: list[str] | None = None,
    cors_origins: list[str] | None = None,
) -> FastAPI:
    """Build the app. Without `store`, one is opened from `db_url` / `$OBS_LINEAGE_DB` at startup.

    `token` (else `$OBS_LINEAGE_TOKEN`) makes every endpoint but /healthz and /metrics require
    `Authorization: Bearer <token>`; `max_body_bytes` (else `$OBS_LINEAGE_MAX_BODY`, default
    5 MB) caps the request body, compressed and decompressed. `allowed_hosts` (else
    `$OBS_ALLOWED_HOSTS`) are the Host names served besides loopback; `cors_origins` (else
    `$OBS_CORS_ORIGINS`) the browser origins allowed to call the API (none by default), see
    :mod:`lineage.serve.guards`.
    """
    app = FastAPI(
        dependencies=[Depends(reject_nul_in_query)],
        title="Lineage store",
        description="OpenLineage ingest and lineage queries (upstream, downstream, paths, columns, impact, history).",
        version="1.0",
        lifespan=_lifespan,
        docs_url=None,  # /docs and /redoc come from routes.ui, with their assets served locally (no CDN)
        redoc_url=None,
    )
    app.state.settings = ServeSettings(resolve_token(token), resolve_max_body(max_body_bytes), max_depth, db_url)
    app.state.store = store
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    publish_event_schemas(app)
    app.add_middleware(ingest.FastIngestPath)  # inside ErrorBoundary and the guards (added after it: outer)
    app.add_middleware(ErrorBoundary)
    origins = resolve_list(cors_origins, CORS_ORIGINS_ENV)
    if origins:  # closed unless configured: no Access-Control-Allow-* header otherwise
        app.add_middleware(CORSMiddleware, allow_origins=list(origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type", "Content-Encoding"])
    # Added last, so outermost: a foreign Host or a browser's cross-origin write reaches nothing.
    app.add_middleware(RequestGuard, allowed_hosts=resolve_list(allowed_hosts, ALLOWED_HOSTS_ENV), cors_origins=origins)
    return app
