"""``GET /metrics``: Prometheus text exposition (:mod:`lineage.serve.metrics`).

Deliberately without the bearer token: scrapers usually send none, and the server binds 127.0.0.1 by default.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from lineage.serve.deps import settings_of, store_of
from lineage.serve.metrics import metrics_registry

router = APIRouter()


@router.get("/metrics", response_class=PlainTextResponse)
def prometheus_metrics(request: Request) -> Response:
    app = request.app
    cache = settings_of(app).metrics
    if "registry" not in cache:
        cache["registry"] = metrics_registry(lambda: store_of(app))
    return Response(generate_latest(cache["registry"]), media_type=CONTENT_TYPE_LATEST)
