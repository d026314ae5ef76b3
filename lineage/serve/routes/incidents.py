"""``/api/v1/incidents``: incidents grouped from stored failures (:mod:`lineage.analysis.incidents`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from fastapi.concurrency import run_in_threadpool

from lineage.analysis import incidents
from lineage.serve.deps import Authorized, StoreDep
from lineage.serve.errors import ApiError

router = APIRouter(dependencies=[Authorized], tags=["incidents"])

IncidentId = Annotated[int, Path(ge=1, le=2**62, description="incident id")]
Actor = Annotated[dict[str, str] | None, Body(description='optional {"by": "who"}')]


@router.get("/api/v1/incidents")
async def list_incidents(
    store: StoreDep,
    status: Annotated[Literal["open", "acknowledged", "resolved"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    # Fold in what arrived since the last look, so the list is never behind the store.
    await run_in_threadpool(incidents.sync, store)
    return {"incidents": await run_in_threadpool(incidents.list_incidents, store, status=status, limit=limit)}


@router.get("/api/v1/incidents/{incident_id}")
async def get_incident(store: StoreDep, incident_id: IncidentId) -> dict[str, Any]:
    await run_in_threadpool(incidents.sync, store)
    return await run_in_threadpool(_or_404, incidents.get_incident, store, incident_id)


@router.post("/api/v1/incidents/{incident_id}/ack")
async def acknowledge(store: StoreDep, incident_id: IncidentId, actor: Actor = None) -> dict[str, Any]:
    return await run_in_threadpool(_or_404, incidents.acknowledge, store, incident_id, by=_by(actor))


@router.post("/api/v1/incidents/{incident_id}/resolve")
async def resolve(store: StoreDep, incident_id: IncidentId, actor: Actor = None) -> dict[str, Any]:
    return await run_in_threadpool(_or_404, incidents.resolve, store, incident_id, by=_by(actor))


def _by(actor: dict[str, str] | None) -> str | None:
    by = (actor or {}).get("by")
    return str(by)[:200] if by else None


def _or_404(call: Any, store: Any, incident_id: int, **kwargs: Any) -> dict[str, Any]:
    try:
        return call(store, incident_id, **kwargs)
    except incidents.IncidentNotFound as exc:
        raise ApiError(404, "incident_not_found", str(exc)) from None
    except incidents.IncidentConflict as exc:
        raise ApiError(409, "incident_conflict", str(exc)) from None
