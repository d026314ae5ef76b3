"""``POST /api/v1/workers/reports``: a worker's outbox report (lineage/store/worker_reports.py), for /metrics.

Same bearer token as ingest. Body: one report object (``WorkerReport.as_json``); a bad field is a 422 naming it.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from lineage.serve.deps import Authorized, StoreDep
from lineage.serve.errors import ApiError
from lineage.store import utcnow
from lineage.store import worker_reports as reports

REPORTS_PATH = "/api/v1/workers/reports"
MAX_REPORT_BYTES = 16 * 1024  # a report is a few hundred bytes

router = APIRouter()


@router.post(REPORTS_PATH, status_code=201, dependencies=[Authorized])
async def post_report(request: Request, store: StoreDep) -> dict[str, Any]:
    report = _parse(await _body(request))
    received = utcnow()

    def work() -> None:
        with store.write() as conn:
            reports.put(conn, report, received)

    await run_in_threadpool(work)
    return {"worker": report.worker, "received_at": received.isoformat() + "Z"}


async def _body(request: Request) -> bytes:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_REPORT_BYTES:
            raise ApiError(413, "payload_too_large", f"a worker report is at most {MAX_REPORT_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(raw: bytes) -> reports.WorkerReport:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from None
    try:
        return reports.WorkerReport.from_json(body)
    except reports.ReportError as exc:
        raise ApiError(422, "invalid_report", f"{exc}; nothing was stored") from None
