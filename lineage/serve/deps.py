"""What the routes depend on (FastAPI ``Depends``): the app's settings, its store, the bearer token check."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from lineage.config import MAX_NAME_CHARS
from lineage.serve.errors import ApiError
from lineage.store import LineageStore
from lineage.store.validation import EventValidator


# Names are at most MAX_NAME_CHARS; a column path or a partition key a few of them.
MAX_QUERY_VALUE_CHARS = 4 * MAX_NAME_CHARS


@dataclass
class ServeSettings:
    """Fixed when the app is built (see ``lineage.serve.api.create_app``)."""

    token: str | None
    body_cap: int
    max_depth: int
    db_url: str | None = None
    metrics: dict[str, object] = field(default_factory=dict)  # the /metrics registry, built on first scrape

    @cached_property
    def custom_validator(self) -> EventValidator:
        return EventValidator(max_depth=self.max_depth)


def settings_of(app: FastAPI) -> ServeSettings:
    return app.state.settings


def store_of(app: FastAPI) -> LineageStore:
    """The app's store; opened here when the lifespan did not run (e.g. a TestClient without ``with``)."""
    if getattr(app.state, "store", None) is None:
        app.state.store = LineageStore.open(settings_of(app).db_url)
    return app.state.store


def get_settings(request: Request) -> ServeSettings:
    return settings_of(request.app)


def get_store(request: Request) -> LineageStore:
    return store_of(request.app)


async def authorize(request: Request) -> None:  # async: a sync dependency costs a threadpool hop per request
    required = settings_of(request.app).token
    if required is None:
        return
    header = request.headers.get("authorization", "")
    scheme, _, supplied = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(supplied.strip().encode(), required.encode()):
        raise ApiError(
            401,
            "unauthorized",
            "missing or wrong bearer token: send 'Authorization: Bearer <token>' "
            "(OBS_LINEAGE_TOKEN on the server; api_key in the OpenLineage client)",
        )


async def reject_nul_in_query(request: Request) -> None:  # async: no threadpool hop (see authorize)
    """A %00 in a query parameter can match nothing stored (PostgreSQL cannot even bind it); a value
    longer than any stored name can match nothing either (and SQLite refuses LIKE patterns over
    50,000 bytes with an error that is no outage)."""
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            raise ApiError(400, "bad_query", f"query parameter {key[:100]!r} contains a NUL character (%00)")
        if len(value) > MAX_QUERY_VALUE_CHARS or len(key) > MAX_QUERY_VALUE_CHARS:
            raise ApiError(400, "bad_query", f"query parameter {key[:100]!r} is {max(len(key), len(value))} "
                           f"characters long; the limit is {MAX_QUERY_VALUE_CHARS}")


Authorized = Depends(authorize)
StoreDep = Annotated[LineageStore, Depends(get_store)]
SettingsDep = Annotated[ServeSettings, Depends(get_settings)]
