"""HTTP API: OpenLineage ingest endpoint (compatible with openlineage-python's HttpTransport)
plus lineage queries.

`POST /api/v1/lineage` is the path the HttpTransport posts to (`url` + `endpoint`, default
`api/v1/lineage`), with `Content-Type: application/json`, an optional
`Authorization: Bearer <api key>` and, when `compression="gzip"` is configured,
`Content-Encoding: gzip`. The body is one event or, as an extension, a JSON array of events
stored all-or-nothing in one transaction.
"""


import hmac
import json
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from lineage.graph import queries
from lineage.config import DEFAULT_MAX_DEPTH, resolve_max_body, resolve_token
from lineage.store import LineageStore
from lineage.store.validation import EventValidationError, EventValidator

INGEST_PATH = "/api/v1/lineage"


class ApiError(Exception):
    """Turned into `{"error": code, "message": ..., **extra}` with the given status."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def create_app(
    store: LineageStore | None = None,
    token: str | None = None,
    max_body_bytes: int | None = None,
    *,
    db_url: str | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> FastAPI:
    """Build the app. Without `store`, one is opened from `db_url` / `$OBS_LINEAGE_DB` at startup.

    `token` (else `$OBS_LINEAGE_TOKEN`) makes every endpoint but /healthz and /metrics require
    `Authorization: Bearer <token>`; `max_body_bytes` (else `$OBS_LINEAGE_MAX_BODY`, default
    5 MB) caps the request body, compressed and decompressed.
    """
    required_token = resolve_token(token)
    body_cap = resolve_max_body(max_body_bytes)
    state: dict[str, LineageStore] = {}
    if store is not None:
        state["store"] = store

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        owned = "store" not in state
        if owned:
            state["store"] = await run_in_threadpool(LineageStore.open, db_url)
        try:
            yield
        finally:
            if owned:
                state.pop("store").dispose()

    app = FastAPI(
        dependencies=[Depends(_reject_nul_in_query)],
        title="Lineage store",
        description="OpenLineage ingest and lineage queries (upstream, downstream, paths, columns, impact, history).",
        version="1.0",
        lifespan=lifespan,
    )
    base_openapi = app.openapi

    def openapi_with_event_schemas() -> dict[str, Any]:
        # The ingest handler reads the raw body (size cap, gzip) so FastAPI cannot infer its
        # schema; publish the OpenLineage event definitions the body is validated against.
        schema = base_openapi()
        schema.setdefault("components", {}).setdefault("schemas", {}).update(_openlineage_components())
        return schema

    app.openapi = openapi_with_event_schemas  # type: ignore[method-assign]

    def get_store() -> LineageStore:
        if "store" not in state:  # e.g. a TestClient used without its context manager
            state["store"] = LineageStore.open(db_url)
        return state["store"]

    def authorize(request: Request) -> None:
        if required_token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, supplied = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(supplied.strip().encode(), required_token.encode()):
            raise ApiError(
                401,
                "unauthorized",
                "missing or wrong bearer token: send 'Authorization: Bearer <token>' "
                "(OBS_LINEAGE_TOKEN on the server; api_key in the OpenLineage client)",
            )

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"error": exc.code, "message": exc.message, **exc.extra}, exc.status, headers=headers)

    @app.exception_handler(queries.LineageQueryError)
    async def _query_error(_: Request, exc: queries.LineageQueryError) -> JSONResponse:
        body: dict[str, Any] = {"error": type(exc).__name__, "message": str(exc)}
        if isinstance(exc, queries.AmbiguousNameError):
            body["candidates"] = exc.candidates
        return JSONResponse(body, exc.status)

    @app.exception_handler(OperationalError)
    async def _db_error(_: Request, exc: OperationalError) -> JSONResponse:
        # No driver message: it can echo row values. The operator finds details in the DB logs.
        return JSONResponse(
            {"error": "store_unavailable", "message": "the lineage database is unavailable or busy; retry shortly"},
            503,
            headers={"Retry-After": "1"},
        )

    @lru_cache(maxsize=1)
    def custom_validator() -> EventValidator:
        return EventValidator(max_depth=max_depth)

    Authorized = Depends(authorize)
    StoreDep = Annotated[LineageStore, Depends(get_store)]

    @app.get("/healthz")
    def healthz(store: StoreDep) -> dict[str, Any]:
        with store.read() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "backend": store.dialect}

    @app.post(INGEST_PATH, status_code=201, dependencies=[Authorized], openapi_extra=_INGEST_OPENAPI)
    async def ingest(request: Request, store: StoreDep) -> JSONResponse:
        raw = await _read_body(request, body_cap)
        events = _parse_events(raw)

        def work() -> dict[str, Any]:
            validator = store.validator if max_depth == store.validator.max_depth else custom_validator()
            validator.validate_batch(events)  # before any write: an invalid batch changes nothing
            return store.ingest(events, validate=False).as_dict()

        try:
            result = await run_in_threadpool(work)
        except EventValidationError as exc:
            raise ApiError(
                422,
                "invalid_event",
                f"{exc}; nothing was stored" + (" (the whole batch is rejected)" if len(events) > 1 else ""),
                index=exc.index,
                path=exc.path,
                reason=exc.message,
            ) from None
        return JSONResponse(result, status_code=201)

    Name = Annotated[str, Query(description="OpenLineage dataset (or job) name")]
    Namespace = Annotated[str | None, Query(description="namespace; optional when the name is unambiguous")]
    Depth = Annotated[int | None, Query(ge=1, description="job hops; omit for no limit")]
    AsOf = Annotated[str | None, Query(description="ISO-8601 time: the graph as it was then")]
    RunId = Annotated[str | None, Query(description="the graph as of this run's last event")]
    NodeKind = Annotated[Literal["dataset", "job"], Query(alias="type")]

    @app.get(INGEST_PATH + "/upstream", dependencies=[Authorized])
    def upstream(
        store: StoreDep, name: Name, namespace: Namespace = None, node_type: NodeKind = "dataset",
        depth: Depth = None, as_of: AsOf = None, run_id: RunId = None,
    ) -> dict[str, Any]:
        return queries.upstream(
            store, name, namespace=namespace, node_type=node_type, depth=depth, as_of=as_of, run_id=run_id
        )

    @app.get(INGEST_PATH + "/downstream", dependencies=[Authorized])
    def downstream(
        store: StoreDep, name: Name, namespace: Namespace = None, node_type: NodeKind = "dataset",
        depth: Depth = None, as_of: AsOf = None, run_id: RunId = None,
    ) -> dict[str, Any]:
        return queries.downstream(
            store, name, namespace=namespace, node_type=node_type, depth=depth, as_of=as_of, run_id=run_id
        )

    @app.get(INGEST_PATH + "/path", dependencies=[Authorized])
    def path(
        store: StoreDep,
        source: str,
        target: str,
        source_namespace: str | None = None,
        target_namespace: str | None = None,
        max_paths: Annotated[int, Query(ge=1, le=1000)] = 10,
        depth: Depth = 25,
        as_of: AsOf = None,
    ) -> dict[str, Any]:
        return queries.paths(
            store, source, target, source_namespace=source_namespace, target_namespace=target_namespace,
            max_paths=max_paths, max_depth=depth, as_of=as_of,
        )

    @app.get(INGEST_PATH + "/columns", dependencies=[Authorized])
    def columns(
        store: StoreDep,
        name: Name,
        column: str,
        namespace: Namespace = None,
        direction: Literal["upstream", "downstream"] = "upstream",
        depth: Depth = None,
        as_of: AsOf = None,
        indirect: bool = True,
    ) -> dict[str, Any]:
        return queries.column_lineage(
            store, name, column, namespace=namespace, direction=direction, depth=depth, as_of=as_of,
            include_indirect=indirect,
        )

    @app.get(INGEST_PATH + "/impact", dependencies=[Authorized])
    def impact(store: StoreDep, name: Name, namespace: Namespace = None, as_of: AsOf = None, run_id: RunId = None) -> dict[str, Any]:
        return queries.impact(store, name, namespace=namespace, as_of=as_of, run_id=run_id)

    @app.get(INGEST_PATH + "/history", dependencies=[Authorized])
    def history(
        store: StoreDep,
        name: Name,
        namespace: Namespace = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
        facet: Annotated[list[str] | None, Query(description="only these facet names (repeatable)")] = None,
    ) -> dict[str, Any]:
        return queries.run_history(store, name, namespace=namespace, limit=limit, facets=facet)

    @app.get(INGEST_PATH + "/graph", dependencies=[Authorized])
    def graph(store: StoreDep, as_of: AsOf = None, run_id: RunId = None) -> dict[str, Any]:
        return queries.graph_as_of(store, as_of=as_of, run_id=run_id)

    @app.get("/api/v1/rca", dependencies=[Authorized])
    def root_cause(
        store: StoreDep,
        name: Annotated[str | None, Query(description="symptom dataset; omit for the latest failure")] = None,
        namespace: Namespace = None,
        partition: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
        run_id: RunId = None,
        column: str | None = None,
    ) -> dict[str, Any]:
        from lineage.analysis import rca
        from lineage.serve import metrics

        metrics.RCA_REQUESTS.inc()
        if name is None:
            result = rca.analyze_latest(store)
        else:
            result = rca.analyze(store, name, namespace=namespace, partition=partition, run_id=run_id,
                                 column=column)
        metrics.RCA_CANDIDATES.inc(len(result.candidates))
        return result.as_dict()

    @app.get(INGEST_PATH + "/datasets", dependencies=[Authorized])
    def datasets(
        store: StoreDep, search: str | None = None, limit: Annotated[int, Query(ge=1, le=10_000)] = 100
    ) -> list[dict[str, str]]:
        return queries.list_datasets(store, search=search, limit=limit)

    # Prometheus text exposition (lineage/serve/metrics.py). Deliberately without the bearer token:
    # scrapers usually send none, and the server binds 127.0.0.1 by default.
    metrics_state: dict[str, Any] = {}

    @app.get("/metrics", response_class=PlainTextResponse)
    def prometheus_metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from lineage.serve.metrics import metrics_registry

        if "registry" not in metrics_state:
            metrics_state["registry"] = metrics_registry(get_store)
        return Response(generate_latest(metrics_state["registry"]), media_type=CONTENT_TYPE_LATEST)

    return app


def _reject_nul_in_query(request: Request) -> None:
    """A %00 in a query parameter can match nothing stored (PostgreSQL cannot even bind it)."""
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            raise ApiError(400, "bad_query", f"query parameter {key!r} contains a NUL character (%00)")


_OL_PREFIX = "OpenLineage"
_INGEST_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One OpenLineage event, or a non-empty JSON array of events stored all-or-nothing. "
        "Validated against the vendored OpenLineage 2-0-2 schema and the standard facet schemas; "
        "gzip/deflate Content-Encoding accepted.",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": f"#/components/schemas/{_OL_PREFIX}Event"},
                        {"type": "array", "minItems": 1, "items": {"$ref": f"#/components/schemas/{_OL_PREFIX}Event"}},
                    ]
                }
            }
        },
    },
    "responses": {
        "400": {"description": "empty body, malformed JSON or gzip data, JSON nested too deeply"},
        "401": {"description": "missing or wrong bearer token (when a token is configured)"},
        "413": {"description": "body larger than the cap (compressed or decompressed)"},
        "415": {"description": "unsupported Content-Encoding"},
        "422": {"description": "an event does not follow the OpenLineage spec; nothing was stored"},
    },
}


@lru_cache(maxsize=1)
def _openlineage_components() -> dict[str, Any]:
    """The vendored OpenLineage core schema's `$defs` as OpenAPI components (`OpenLineage<Name>`)."""
    core = json.loads((resources.files("lineage.store") / "schemas" / "OpenLineage.json").read_text(encoding="utf-8"))

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: (
                    f"#/components/schemas/{_OL_PREFIX}{value.removeprefix('#/$defs/')}"
                    if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/")
                    else rewrite(value)
                )
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    components = {f"{_OL_PREFIX}{name}": rewrite(definition) for name, definition in core["$defs"].items()}
    components[f"{_OL_PREFIX}Event"] = rewrite({"oneOf": core["oneOf"]})
    return components


async def _read_body(request: Request, cap: int) -> bytes:
    """The request body, refused with 413 beyond `cap` bytes before or after gzip decoding."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise _too_large(cap)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise _too_large(cap)
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ApiError(415, "unsupported_encoding", f"Content-Encoding '{encoding}' is not supported; use gzip or none")
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS)
    try:
        # Bounded output: a small compressed bomb cannot expand past the cap in memory.
        out = decoder.decompress(body, cap + 1)
        if len(out) > cap or decoder.unconsumed_tail:
            raise _too_large(cap, decoded=True)
        out += decoder.flush()
    except zlib.error as exc:
        raise ApiError(400, "bad_encoding", f"body is not valid {encoding} data: {exc}") from None
    if len(out) > cap:
        raise _too_large(cap, decoded=True)
    return out


def _too_large(cap: int, *, decoded: bool = False) -> ApiError:
    what = "decompressed body" if decoded else "request body"
    return ApiError(
        413, "payload_too_large", f"{what} exceeds {cap} bytes; send smaller batches (or raise OBS_LINEAGE_MAX_BODY)"
    )


def _reject_constant(value: str) -> Any:
    raise ValueError(f"{value} is not valid JSON")


def _parse_events(raw: bytes) -> list[Any]:
    if not raw.strip():
        raise ApiError(400, "empty_body", "request body is empty; send an OpenLineage event or a JSON array of events")
    try:
        parsed = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise ApiError(400, "too_deep", "JSON nesting is too deep") from None
    except UnicodeDecodeError as exc:
        raise ApiError(400, "malformed_json", f"body is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, "malformed_json", f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from None
    if isinstance(parsed, dict):
        return [parsed]
    if isinstance(parsed, list):
        if not parsed:
            raise ApiError(400, "empty_batch", "the JSON array is empty; send at least one event")
        return parsed
    raise ApiError(422, "invalid_event", "body must be a JSON object (one event) or an array of events", path="$")
