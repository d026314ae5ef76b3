"""``GET /api/v1/rca``: root-cause analysis of a symptom dataset (:mod:`lineage.analysis.rca`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AfterValidator

from lineage.analysis import rca
from lineage.facets import check_partition_key
from lineage.serve import metrics
from lineage.serve.deps import Authorized, StoreDep
from lineage.serve.routes.lineage import Namespace, RunId

router = APIRouter(dependencies=[Authorized])


@router.get("/api/v1/rca")
def root_cause(
    store: StoreDep,
    name: Annotated[str | None, Query(description="symptom dataset; omit for the latest failure")] = None,
    namespace: Namespace = None,
    partition: Annotated[str | None, Query(max_length=500, description="partition key (YYYY-MM-DD, "
                                         "YYYY-MM-DD-HH:MM, or as Dagster shows it)"),
                         AfterValidator(lambda k: k if k is None else check_partition_key(k))] = None,
    run_id: RunId = None,
    at: Annotated[datetime | None, Query(description="the symptom's latest version at this time")] = None,
    column: str | None = None,
) -> dict[str, Any]:
    metrics.RCA_REQUESTS.inc()
    if at is not None and at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)  # the store keeps naive UTC
    if name is None:
        result = rca.analyze_latest(store)
    else:
        result = rca.analyze(store, name, namespace=namespace, partition=partition, run_id=run_id, at=at,
                             column=column)
    metrics.RCA_CANDIDATES.inc(len(result.candidates))
    return result.as_dict()
