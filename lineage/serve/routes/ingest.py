"""``POST /api/v1/lineage``: the path openlineage-python's HttpTransport posts to.

Body: one event or, as an extension, a JSON array of events stored in one transaction;
``Content-Encoding: gzip`` / ``deflate`` accepted; capped before and after decoding.

Lenient by default (what Marquez accepts is stored, schema problems kept as warnings): an event
that cannot be stored is reported by index (207 when others were stored, 422 when none could be).
``OBS_LINEAGE_STRICT=1``: all or nothing, the first invalid event rejects the batch with 422.

`FastIngestPath` (mounted by ``create_app``) answers the common POST without FastAPI's routing machinery,
with the same code and answers (tests/lineage/serve/routes/test_ingest_fast_path.py).
"""

from __future__ import annotations

import inspect
import json
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from lineage.serve import ingest_metrics
from lineage.serve.deps import Authorized, authorize, settings_of, store_of
from lineage.serve.errors import ApiError
from lineage.serve.openapi import INGEST_OPENAPI
from lineage.store.validation import EventValidationError, strict_mode

INGEST_PATH = "/api/v1/lineage"

router = APIRouter()

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@router.post(INGEST_PATH, status_code=201, dependencies=[Authorized], openapi_extra=INGEST_OPENAPI)
async def ingest(request: Request) -> JSONResponse:
    # The store and settings are read here, not as FastAPI dependencies: a sync dependency is one more
    # threadpool hop per request (~0.1 ms each, most of a single-event POST's overhead).
    settings = settings_of(request.app)
    raw = await _read_body(request, settings.body_cap)
    return await _store_events(request.app, _parse_events(raw))


class FastIngestPath:
    """`POST /api/v1/lineage` answered here, ahead of FastAPI's routing, dependency solving and exception
    middleware (~a third of a one-event POST's CPU); the route above stays for the OpenAPI document and
    for every request this does not take.

    Same checks in the same code: `authorize`, `_parse_events`, `_store_events`; an exception becomes the
    response the app's own exception handler for it gives (401, 400, 422, 503 ...), anything else reaches
    `ErrorBoundary` as from the route. Taken: no query string, no Content-Encoding, a body within the cap.
    Otherwise the request (its body replayed when already read) goes to FastAPI unchanged, so gzip, 413 and
    query parameters keep their one implementation. Mounted inside the guards and `ErrorBoundary`.
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _fast_candidate(scope):
            await self.app(scope, receive, send)
            return
        app: FastAPI = scope["app"]
        cap = settings_of(app).body_cap
        if _declared_length(scope) > cap:  # the route refuses it without reading
            await self.app(scope, receive, send)
            return
        messages, body = await _buffered_body(receive, cap)
        if body is None:  # over the cap or a disconnect: the route answers it, from the bytes read so far
            await self.app(scope, _replay(messages, receive), send)
            return
        request = Request(scope, _replay(messages, receive))
        try:
            await authorize(request)
            response = await _store_events(app, _parse_events(body))
        except Exception as exc:
            response = await _handled(app, request, exc)
        await response(scope, receive, send)


def _fast_candidate(scope: Scope) -> bool:
    if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") != INGEST_PATH:
        return False
    if scope.get("query_string") or "app" not in scope:
        return False
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-encoding" and value.strip().lower() not in (b"", b"identity"):
            return False
    return True


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


async def _buffered_body(receive: Receive, cap: int) -> tuple[list[Message], bytes | None]:
    """The request's messages as received and its body; body None when it exceeds `cap` or the client left."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message.get("body", b""))
        if size > cap:
            return messages, None
        if not message.get("more_body", False):
            break
    return messages, b"".join(m.get("body", b"") for m in messages)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives back `messages` first, then reads on."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _handled(app: FastAPI, request: Request, exc: Exception) -> Any:
    """The response of the app's exception handler for `exc`, looked up by class as Starlette's exception
    middleware does (a handler for `Exception` is the server-error middleware's, not that one's)."""
    for cls in type(exc).__mro__:
        handler = app.exception_handlers.get(cls) if cls is not Exception else None
        if handler is not None:
            response = handler(request, exc)
            return await response if inspect.isawaitable(response) else response
    raise exc


async def _store_events(app: FastAPI, events: list[Any]) -> JSONResponse:
    """Validate and store `events` in the threadpool; 201/207, or ApiError 422."""
    settings = settings_of(app)

    def work() -> dict[str, Any]:
        store = store_of(app)  # opened here (in the threadpool) if the lifespan did not run
        same_depth = settings.max_depth == store.validator.max_depth
        validator = store.validator if same_depth else settings.custom_validator
        if strict_mode():
            validator.validate_batch(events)  # before any write: an invalid batch changes nothing
            return store.ingest(events, validate=False).as_dict()
        return store.ingest(events, validator=validator, strict=False).as_dict()

    try:
        result = await run_in_threadpool(work)
    except EventValidationError as exc:
        ingest_metrics.count(events, range(len(events)))  # strict mode: the whole batch is refused
        raise ApiError(
            422,
            "invalid_event",
            f"{exc}; nothing was stored" + (" (the whole batch is rejected)" if len(events) > 1 else ""),
            index=exc.index,
            path=exc.path,
            reason=exc.message,
        ) from None
    ingest_metrics.count(events, (r["index"] for r in result.get("rejected") or ()))
    return _lenient_response(result)


def _lenient_response(result: dict[str, Any]) -> JSONResponse:
    """201 all stored (or duplicates), 207 some refused, 422 none storable (each refusal by index)."""
    rejected = result.get("rejected") or []
    if not rejected:
        return JSONResponse(result, status_code=201)
    if len(rejected) < result["received"]:
        return JSONResponse(result, status_code=207)
    first = rejected[0]
    raise ApiError(
        422,
        "invalid_event",
        f"{_where(first, result['received'])}{first['path']}: {first['message']}; nothing was stored",
        index=first["index"],
        path=first["path"],
        reason=first["message"],
        rejected=rejected,
    )


def _where(rejection: dict[str, Any], received: int) -> str:
    return f"event[{rejection['index']}] " if received > 1 else ""


async def _read_raw(request: Request, cap: int) -> bytes:
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
    return b"".join(chunks)


async def _read_body(request: Request, cap: int) -> bytes:
    """The request body, refused with 413 beyond `cap` bytes before or after gzip decoding."""
    body = await _read_raw(request, cap)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise ApiError(415, "unsupported_encoding", f"Content-Encoding '{encoding}' is not supported; use gzip or none")
    return _decompress(body, encoding, cap)


def _decompress(body: bytes, encoding: str, cap: int) -> bytes:
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


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's members; a key given twice is refused (parsers disagree on which one wins)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise _DuplicateKey(duplicate)
    return out


def _load_json(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise ApiError(400, "duplicate_key", f"the key {str(exc)[:100]!r} appears twice in one JSON object; "
                       "send each key once") from None
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


def _parse_events(raw: bytes) -> list[Any]:
    if not raw.strip():
        raise ApiError(400, "empty_body", "request body is empty; send an OpenLineage event or a JSON array of events")
    parsed = _load_json(raw)
    if isinstance(parsed, dict):
        return [parsed]
    if isinstance(parsed, list):
        if not parsed:
            raise ApiError(400, "empty_batch", "the JSON array is empty; send at least one event")
        return parsed
    raise ApiError(422, "invalid_event", "body must be a JSON object (one event) or an array of events", path="$")
