"""Request guards in front of every route: browsers and DNS rebinding cannot reach the store.

Without a token the API is open to anything that can reach the port, and a web page the operator
visits can reach a loopback port. Three checks (an ASGI middleware, so they hold for every route):

* **Host allow-list** (DNS rebinding: a foreign name resolving to 127.0.0.1): the ``Host`` header
  must name a loopback host or one configured (``OBS_ALLOWED_HOSTS``, ``obs serve --host``), else 400.
* **JSON bodies only**: a write's body must be ``application/json`` (or ``application/*+json``),
  else 415; a browser can send ``text/plain`` or a form cross-origin without asking (no CORS
  preflight), never JSON.
* **No cross-origin writes**: a POST/PUT/PATCH/DELETE carrying an ``Origin`` that is neither this
  server nor a configured CORS origin (``OBS_CORS_ORIGINS``) is refused with 403 (a body-less
  cross-origin POST needs no content type; browsers always send ``Origin`` on it, API clients don't).

CORS itself stays closed (no ``Access-Control-Allow-*`` headers) unless origins are configured.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from lineage.config import ALLOWED_HOSTS_ENV, CORS_ORIGINS_ENV

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_name(value: str) -> str:
    """``Host`` header -> lower-case name without port or brackets (``[::1]:5000`` -> ``::1``)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def host_allowed(name: str, allowed: Iterable[str]) -> bool:
    """Exact names, ``*`` for any, ``.example.com`` / ``*.example.com`` for a domain and its subdomains."""
    for entry in allowed:
        if entry == "*" or entry == name:
            return True
        suffix = entry.removeprefix("*")
        if suffix.startswith(".") and (name.endswith(suffix) or name == suffix[1:]):
            return True
    return False


def is_json_type(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    kind, _, sub = media.partition("/")
    return kind == "application" and (sub == "json" or sub.endswith("+json"))


class RequestGuard:
    """The three checks above, answering with the API's JSON error shape."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str], cors_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed_hosts = (*LOOPBACK_HOSTS, *(h.strip().lower() for h in allowed_hosts if h.strip()))
        self.cors_origins = frozenset(o.strip().rstrip("/").lower() for o in cors_origins if o.strip())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, code, message = refusal
        body = json.dumps({"error": code, "message": message}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    def refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = host_name(headers.get("host", ""))
        if not host_allowed(host, self.allowed_hosts):
            shown = host[:100] or "(none)"
            return 400, "host_not_allowed", (
                f"Host {shown!r} is not served here (DNS rebinding guard); add it to {ALLOWED_HOSTS_ENV} "
                "(comma-separated) or pass obs serve --host with that name")
        method = scope.get("method", "GET")
        if method in _WRITES and not self._origin_allowed(headers.get("origin"), headers.get("host", "")):
            return 403, "cross_origin_write", (
                f"a write from origin {headers['origin'][:100]!r} is refused; add it to {CORS_ORIGINS_ENV} to allow it")
        if method in _WRITES and _has_body(headers) and not is_json_type(headers.get("content-type", "")):
            shown = headers.get("content-type", "(none)")[:100]
            return 415, "unsupported_media_type", f"Content-Type {shown!r} is not accepted; send application/json"
        return None

    def _origin_allowed(self, origin: str | None, host_header: str) -> bool:
        """Same origin (host and port), a configured CORS origin, or no Origin at all."""
        if origin is None:
            return True  # not a browser (browsers send Origin on every cross-origin write)
        origin = origin.strip().rstrip("/").lower()
        if origin in self.cors_origins:
            return True
        netloc = urlsplit(origin).netloc
        return bool(netloc) and netloc == host_header.strip().lower()


def _has_body(headers: dict[str, str]) -> bool:
    """A body or a declared type: only a request with neither (a body-less POST) needs no JSON type."""
    length = headers.get("content-length", "0").strip()
    return "content-type" in headers or "transfer-encoding" in headers or length not in ("", "0")
