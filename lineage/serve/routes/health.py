"""``GET /healthz``: the store answers (no token needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from lineage.serve.deps import StoreDep

router = APIRouter()


@router.get("/healthz")
def healthz(store: StoreDep) -> dict[str, Any]:
    with store.read() as conn:
        conn.execute(text("SELECT 1"))
    return {"status": "ok", "backend": store.dialect}
