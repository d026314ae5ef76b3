"""``GET /api/v1/lineage/...``: lineage queries, each one call into :mod:`lineage.graph.queries`
(the implementation the CLI uses too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from lineage.graph import queries
from lineage.serve.deps import Authorized, StoreDep
from lineage.serve.routes.ingest import INGEST_PATH

Name = Annotated[str, Query(description="OpenLineage dataset (or job) name")]
Namespace = Annotated[str | None, Query(description="namespace; optional when the name is unambiguous")]
Depth = Annotated[int | None, Query(ge=1, description="job hops; omit for no limit")]
AsOf = Annotated[str | None, Query(description="ISO-8601 time: the graph as it was then")]
RunId = Annotated[str | None, Query(description="the graph as of this run's last event")]
NodeKind = Annotated[Literal["dataset", "job"], Query(alias="type")]
Limit = Annotated[int, Query(ge=1, le=10_000)]

router = APIRouter(prefix=INGEST_PATH, dependencies=[Authorized])


def _walk_route(walk: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``upstream`` and ``downstream`` take the same parameters."""

    def handler(
        store: StoreDep, name: Name, namespace: Namespace = None, node_type: NodeKind = "dataset",
        depth: Depth = None, as_of: AsOf = None, run_id: RunId = None,
    ) -> dict[str, Any]:
        return walk(store, name, namespace=namespace, node_type=node_type, depth=depth, as_of=as_of, run_id=run_id)

    handler.__name__ = walk.__name__  # the OpenAPI operationId, as before the split
    return handler


router.add_api_route("/upstream", _walk_route(queries.upstream), methods=["GET"])
router.add_api_route("/downstream", _walk_route(queries.downstream), methods=["GET"])


@router.get("/path")
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


@router.get("/columns")
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


@router.get("/impact")
def impact(store: StoreDep, name: Name, namespace: Namespace = None, as_of: AsOf = None,
           run_id: RunId = None) -> dict[str, Any]:
    return queries.impact(store, name, namespace=namespace, as_of=as_of, run_id=run_id)


@router.get("/history")
def history(
    store: StoreDep,
    name: Name,
    namespace: Namespace = None,
    limit: Limit = 50,
    facet: Annotated[list[str] | None, Query(description="only these facet names (repeatable)")] = None,
) -> dict[str, Any]:
    return queries.run_history(store, name, namespace=namespace, limit=limit, facets=facet)


@router.get("/graph")
def graph(store: StoreDep, as_of: AsOf = None, run_id: RunId = None) -> dict[str, Any]:
    return queries.graph_as_of(store, as_of=as_of, run_id=run_id)


@router.get("/datasets")
def datasets(store: StoreDep, search: str | None = None, limit: Limit = 100) -> list[dict[str, str]]:
    return queries.list_datasets(store, search=search, limit=limit)
