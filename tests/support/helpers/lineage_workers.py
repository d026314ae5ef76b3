"""Worker functions for the multi-process tests: kept light so spawned children start fast."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

DAY0 = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)


def simple_event(i: int, *, run_id: str | None = None, when: datetime | None = None) -> dict[str, Any]:
    when = when or DAY0 + timedelta(seconds=i)
    return {
        "eventType": "COMPLETE",
        "eventTime": when.isoformat(),
        "run": {"runId": run_id or str(uuid.uuid4())},
        "job": {"namespace": "bench", "name": f"job_{i % 7}"},
        "inputs": [{"namespace": "bench", "name": f"in_{i % 11}"}],
        "outputs": [{"namespace": "bench", "name": f"out_{i % 13}"}],
        "producer": "https://example.com/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def ingest_worker(url: str, worker: int, count: int, batch: int) -> int:
    """Open the store (racing on migrations) and ingest `count` events in batches."""
    from lineage.store import LineageStore

    store = LineageStore.open(url)
    try:
        stored = 0
        for start in range(0, count, batch):
            events = [simple_event(worker * 100_000 + i) for i in range(start, min(count, start + batch))]
            stored += store.ingest(events).stored
        return stored
    finally:
        store.dispose()


def post_worker(base_url: str, worker: int, count: int, batch: int, token: str | None = None) -> int:
    """POST `count` events as JSON-array batches to the ingest API; returns how many were stored."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    stored = 0
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        for start in range(0, count, batch):
            events = [simple_event(worker * 100_000 + i) for i in range(start, min(count, start + batch))]
            response = client.post("/api/v1/lineage", json=events)
            response.raise_for_status()
            stored += response.json()["stored"]
    return stored
