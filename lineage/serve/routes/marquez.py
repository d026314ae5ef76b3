"""Marquez's API (MarquezProject/marquez spec/openapi.yml) beside ours, so Marquez clients and UIs
work against this store: namespaces, sources, datasets (+ versions, tags, field tags), jobs
(+ versions, runs), runs (+ facets), lineage, column lineage, search, lineage events; and the writes
marquez-python 0.50.0 still uses (namespaces, tags, soft deletes). Shapes come from
:mod:`lineage.graph.marquez`, writes go to :mod:`lineage.store.marquez_state`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from lineage.config import MAX_COUNT
from lineage.graph import marquez as mq
from lineage.graph.queries import parse_as_of
from lineage.serve.deps import Authorized, StoreDep
from lineage.store import LineageStore
from lineage.store import marquez_state as state
from lineage.store.database import utcnow

T = TypeVar("T")
Limit = Annotated[int, Query(ge=1, le=10_000)]
Offset = Annotated[int, Query(ge=0, le=MAX_COUNT)]  # beyond a 64-bit integer no database can bind it
Depth = Annotated[int, Query(ge=1, le=100)]

router = APIRouter(prefix="/api/v1", dependencies=[Authorized], tags=["marquez"])


async def _read(store: LineageStore, work: Callable[[Any], T]) -> T | JSONResponse:
    """Run a read in a thread; Marquez's error shape ({code, message}) for unknown names and bad ids."""

    def call() -> T:
        with store.read() as conn:
            return work(conn)

    try:
        return await run_in_threadpool(call)
    except mq.MarquezNotFound as exc:
        return JSONResponse({"code": 404, "message": str(exc)}, status_code=404)
    except ValueError as exc:
        return JSONResponse({"code": 400, "message": str(exc)}, status_code=400)


async def _write(store: LineageStore, write: Callable[[Any, Any], None], answer: Callable[[Any], T]) -> T | JSONResponse:
    """`write(conn, now)` in one transaction, then the Marquez answer read back."""

    def call() -> None:
        with store.write() as conn:
            write(conn, utcnow())

    await run_in_threadpool(call)
    return await _read(store, answer)


JsonBody = Annotated[dict[str, Any] | None, Body()]


@router.put("/namespaces/{namespace}")
async def put_namespace(store: StoreDep, namespace: str, body: JsonBody = None) -> Any:
    body = body or {}
    owner, description = str(body.get("ownerName") or "anonymous"), body.get("description")
    return await _write(
        store, lambda c, now: state.put_namespace(c, namespace, owner, description, now), lambda c: mq.namespace(c, namespace)
    )


@router.delete("/namespaces/{namespace}")
async def delete_namespace(store: StoreDep, namespace: str) -> Any:
    found = await _read(store, lambda c: mq.namespace(c, namespace))
    if isinstance(found, JSONResponse):
        return found
    await _write(store, lambda c, now: state.soft_delete(c, "namespace", namespace, "", now), lambda c: None)
    return found


@router.put("/tags/{tag}")
async def put_tag(store: StoreDep, tag: str, body: JsonBody = None) -> Any:
    description = (body or {}).get("description")
    return await _write(store, lambda c, now: state.put_tag(c, tag, description, now), lambda c: {"tags": mq.tags(c)})


@router.get("/tags")
async def list_tags(store: StoreDep, limit: Limit = 100, offset: Offset = 0) -> Any:
    return await _read(store, lambda c: {"tags": mq.tags(c)[offset : offset + limit]})


@router.post("/namespaces/{namespace}/datasets/{dataset}/tags/{tag}")
async def tag_dataset(store: StoreDep, namespace: str, dataset: str, tag: str) -> Any:
    return await _tag(store, namespace, dataset, "", tag)


@router.post("/namespaces/{namespace}/datasets/{dataset}/fields/{field}/tags/{tag}")
async def tag_dataset_field(store: StoreDep, namespace: str, dataset: str, field: str, tag: str) -> Any:
    return await _tag(store, namespace, dataset, field, tag)


async def _tag(store: LineageStore, namespace: str, dataset: str, field: str, tag: str) -> Any:
    found = await _read(store, lambda c: mq.dataset_ref(c, namespace, dataset))
    if isinstance(found, JSONResponse):
        return found
    return await _write(
        store,
        lambda c, now: state.tag_dataset(c, namespace, dataset, field, tag, now),
        lambda c: mq.dataset(c, mq.dataset_ref(c, namespace, dataset)),
    )


def _kind_routes(kind: mq.Kind) -> None:
    """List, get and (soft) delete: the same three routes for datasets and for jobs."""
    item_path = f"/namespaces/{{namespace}}/{kind.plural}/{{{kind.name}}}"

    async def list_nodes(store: StoreDep, namespace: str, limit: Limit = 100, offset: Offset = 0) -> Any:
        def work(conn: Any) -> Any:
            items, total = mq.nodes(conn, kind.name, namespace, limit, offset)
            return {kind.plural: items, "totalCount": total}

        return await _read(store, work)

    async def get_node(store: StoreDep, namespace: str, name: str) -> Any:
        return await _read(store, lambda c: mq.shape(c, mq.node_ref(c, kind.name, namespace, name)))

    async def delete_node(store: StoreDep, namespace: str, name: str) -> Any:
        found = await _read(store, lambda c: mq.shape(c, mq.node_ref(c, kind.name, namespace, name)))
        if isinstance(found, JSONResponse):
            return found
        await _write(store, lambda c, now: state.soft_delete(c, kind.name, namespace, name, now), lambda c: None)
        return {**found, "deleted": True} if "deleted" in found else found  # Marquez's Job has no `deleted`

    for handler in (get_node, delete_node):  # the path parameter keeps Marquez's name ({dataset} / {job})
        handler.__annotations__["name"] = Annotated[str, Path(alias=kind.name)]
    for handler, verb, path in ((list_nodes, "list", f"/namespaces/{{namespace}}/{kind.plural}"),
                                (get_node, "get", item_path), (delete_node, "delete", item_path)):
        handler.__name__ = f"{verb}_{kind.plural if verb == 'list' else kind.name}"  # the OpenAPI operationId
        router.add_api_route(path, handler, methods=["DELETE" if verb == "delete" else "GET"])


for _kind in mq.KINDS.values():
    _kind_routes(_kind)


@router.get("/namespaces")
async def list_namespaces(store: StoreDep, limit: Limit = 100, offset: Offset = 0) -> Any:
    return await _read(store, lambda c: {"namespaces": mq.namespaces(c)[offset : offset + limit]})


@router.get("/namespaces/{namespace}")
async def get_namespace(store: StoreDep, namespace: str) -> Any:
    return await _read(store, lambda c: mq.namespace(c, namespace))


@router.get("/sources")
async def list_sources(store: StoreDep, limit: Limit = 100, offset: Offset = 0) -> Any:
    return await _read(store, lambda c: {"sources": mq.sources(c)[offset : offset + limit]})


@router.get("/sources/{source}")
async def get_source(store: StoreDep, source: str) -> Any:
    def work(conn: Any) -> Any:
        for item in mq.sources(conn):
            if item["name"] == source:
                return item
        raise mq.MarquezNotFound(f"source '{source}' not found")

    return await _read(store, work)


@router.get("/namespaces/{namespace}/datasets/{dataset}/versions")
async def list_dataset_versions(store: StoreDep, namespace: str, dataset: str, limit: Limit = 100, offset: Offset = 0) -> Any:
    def work(conn: Any) -> Any:
        items, total = mq.dataset_versions(conn, mq.dataset_ref(conn, namespace, dataset), limit, offset)
        return {"versions": items, "totalCount": total}

    return await _read(store, work)


@router.get("/namespaces/{namespace}/datasets/{dataset}/versions/{version}")
async def get_dataset_version(store: StoreDep, namespace: str, dataset: str, version: str) -> Any:
    return await _read(store, lambda c: mq.dataset_version(c, mq.dataset_ref(c, namespace, dataset), version))


@router.get("/namespaces/{namespace}/jobs/{job}/versions")
async def list_job_versions(store: StoreDep, namespace: str, job: str) -> Any:
    return await _read(store, lambda c: {"versions": mq.job_versions(c, mq.job_ref(c, namespace, job))})


@router.get("/namespaces/{namespace}/jobs/{job}/versions/{version}")
async def get_job_version(store: StoreDep, namespace: str, job: str, version: str) -> Any:
    def work(conn: Any) -> Any:
        for item in mq.job_versions(conn, mq.job_ref(conn, namespace, job)):
            if item["version"] == version:
                return item
        raise mq.MarquezNotFound(f"version '{version}' of job '{job}' not found")

    return await _read(store, work)


@router.get("/namespaces/{namespace}/jobs/{job}/runs")
async def list_job_runs(store: StoreDep, namespace: str, job: str, limit: Limit = 100, offset: Offset = 0) -> Any:
    return await _read(store, lambda c: {"runs": mq.job_runs(c, mq.job_ref(c, namespace, job), limit, offset)})


@router.get("/jobs/runs/{run_id}")
async def get_run(store: StoreDep, run_id: str) -> Any:
    return await _read(store, lambda c: mq.public_run(c, run_id))


@router.get("/jobs/runs/{run_id}/facets")
async def get_run_facets(store: StoreDep, run_id: str, type: Literal["run", "job"] = "run") -> Any:  # noqa: A002 - Marquez's name
    return await _read(store, lambda c: mq.run_facets(c, run_id, type))


@router.get("/lineage")
async def get_lineage(store: StoreDep, nodeId: str, depth: Depth = 20) -> Any:  # noqa: N803 - Marquez's name
    async def work() -> Any:
        return await run_in_threadpool(mq.lineage_graph, store, nodeId, depth)

    try:
        return await work()
    except mq.MarquezNotFound as exc:
        return JSONResponse({"code": 404, "message": str(exc)}, status_code=404)
    except ValueError as exc:
        return JSONResponse({"code": 400, "message": str(exc)}, status_code=400)


@router.get("/column-lineage")
async def get_column_lineage(
    store: StoreDep, nodeId: str, depth: Depth = 20, withDownstream: bool = False,  # noqa: N803 - Marquez's names
) -> Any:
    try:
        return await run_in_threadpool(mq.column_lineage_graph, store, nodeId, depth, withDownstream)
    except mq.MarquezNotFound as exc:
        return JSONResponse({"code": 404, "message": str(exc)}, status_code=404)
    except ValueError as exc:
        return JSONResponse({"code": 400, "message": str(exc)}, status_code=400)


@router.get("/search")
async def search(
    store: StoreDep, q: str, filter: str | None = None, sort: Literal["name", "updated_at", "UPDATE_AT", "NAME"] = "name",  # noqa: A002
    limit: Limit = 10, namespace: str | None = None,
) -> Any:
    order = "updated_at" if sort.lower().startswith("update") else "name"
    return await _read(store, lambda c: mq.search(c, q, filter, order, limit, namespace))


@router.get("/events/lineage")
async def list_lineage_events(
    store: StoreDep, before: str | None = None, after: str | None = None, limit: Limit = 100, offset: Offset = 0,
    sortDirection: Literal["asc", "desc"] = "desc", invalid: bool = False,  # noqa: N803 - Marquez's name
) -> Any:
    flt = mq.EventFilter(_time(before), _time(after), limit, offset, sortDirection == "desc", invalid)
    return await _read(store, lambda c: mq.lineage_events(c, flt))


def _time(value: str | None) -> datetime | None:
    return parse_as_of(value) if value else None


Period = Literal["DAY", "WEEK"]


@router.get("/stats/lineage-events")
async def lineage_event_stats(store: StoreDep, period: Period, timezone: str | None = None) -> Any:
    return await _read(store, lambda c: mq.lineage_event_stats(c, mq.intervals(period, timezone, utcnow())))


@router.get("/stats/{kind}")
async def node_stats(store: StoreDep, kind: Literal["jobs", "datasets", "sources"], period: Period, timezone: str | None = None) -> Any:
    return await _read(store, lambda c: mq.node_stats(c, kind, mq.intervals(period, timezone, utcnow())))
