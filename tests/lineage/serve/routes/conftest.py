"""The real API app (create_app) on a SQLite store holding a partitioned pipeline with one fault: a null
burst in raw.loans.income on 2026-03-03 (helpers.partitioned_events), behind a bearer token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from helpers import partitioned_events

from lineage.serve.api import create_app
from lineage.store import LineageStore

TOKEN = "routes-test-token"
FAULTY_DAY = "2026-03-03"


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> Iterator[TestClient]:
    store = LineageStore.open(f"sqlite:///{tmp_path_factory.mktemp('routes') / 'lineage.db'}")
    events = [e for day in range(4) for e in partitioned_events.day(day, nulls=300 if day == 2 else 0)]
    assert not store.ingest(events).rejected
    with TestClient(create_app(store=store, token=TOKEN), base_url="http://127.0.0.1",
                    headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client
    store.dispose()
