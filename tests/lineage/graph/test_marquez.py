"""lineage/graph/marquez.py on its own: node ids, stats windows, the per-kind table (datasets and jobs).

The HTTP surface is tested against Marquez's spec and client in tests/lineage/serve/test_marquez_api.py;
here the shapes' building blocks are checked against independent references (pandas' calendar,
the stored rows).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from lineage.graph import marquez as mq
from lineage.store import LineageStore
from lineage.store import marquez_state as state

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
NS = "postgres://db.example:5432"  # a namespace holding ':' as Marquez's do


def event(job: str, inputs: list[str], outputs: list[str], when: datetime) -> dict[str, Any]:
    return {
        "eventType": "COMPLETE", "eventTime": when.isoformat(), "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "etl", "name": job},
        "inputs": [{"namespace": NS, "name": n} for n in inputs],
        "outputs": [{"namespace": NS, "name": n} for n in outputs],
        "producer": "https://example.com/tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


@pytest.mark.parametrize("now", [datetime(2025, 3, 10, 14, 25), datetime(2025, 11, 3, 0, 0), datetime(2025, 6, 1, 23, 59)])
def test_day_windows_are_the_last_24_hours_up_to_the_next_full_hour(now: datetime) -> None:
    end = pd.Timestamp(now).floor("h") + pd.Timedelta(hours=1)
    edges = pd.date_range(end=end, periods=25, freq="h")
    expected = [(a.to_pydatetime(), b.to_pydatetime()) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    assert mq.intervals("DAY", None, now) == expected


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "UTC"])
@pytest.mark.parametrize("now", [datetime(2025, 3, 10, 3, 30), datetime(2025, 10, 27, 12, 0)])  # across DST changes
def test_week_windows_are_seven_local_calendar_days(zone: str, now: datetime) -> None:
    today = pd.Timestamp(now, tz="UTC").tz_convert(zone).normalize()
    days = [today - pd.DateOffset(days=d) for d in range(6, -2, -1)]  # calendar days: 23 or 25 hours across DST
    utc = [d.tz_convert("UTC").tz_localize(None).to_pydatetime() for d in days]
    assert mq.intervals("WEEK", zone, now) == list(zip(utc[:-1], utc[1:], strict=True))


def test_week_windows_need_a_known_timezone() -> None:
    with pytest.raises(ValueError, match="Timezone must be specified"):
        mq.intervals("WEEK", None, T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="unknown timezone"):
        mq.intervals("WEEK", "Mars/Olympus_Mons", T0.replace(tzinfo=None))


def test_node_ids_split_namespaces_holding_colons(store: LineageStore) -> None:
    store.ingest([event("load", ["raw:orders"], ["orders"], T0)])
    with store.read() as conn:
        assert mq.parse_node_id(conn, f"dataset:{NS}:orders") == ("dataset", NS, "orders", None)
        assert mq.parse_node_id(conn, f"dataset:{NS}:raw:orders") == ("dataset", NS, "raw:orders", None)
        assert mq.parse_node_id(conn, f"dataset:{NS}:orders#some-version") == ("dataset", NS, "orders", None)
        assert mq.parse_node_id(conn, f"datasetField:{NS}:orders:amount") == ("dataset", NS, "orders", "amount")
        assert mq.parse_node_id(conn, "job:etl:load") == ("job", "etl", "load", None)
        with pytest.raises(mq.MarquezNotFound):
            mq.parse_node_id(conn, f"dataset:{NS}:missing")
        with pytest.raises(ValueError, match="nodeId must look like"):
            mq.parse_node_id(conn, "table:x:y")


@pytest.mark.parametrize("kind", sorted(mq.KINDS))
def test_listing_pages_the_live_nodes_of_each_kind(store: LineageStore, kind: str) -> None:
    store.ingest([event(f"job_{i}", [], [f"ds_{i}"], T0 + timedelta(minutes=i)) for i in range(5)])
    namespace, prefix = (NS, "ds") if kind == "dataset" else ("etl", "job")
    with store.write() as conn:
        state.soft_delete(conn, kind, namespace, f"{prefix}_2", datetime(2030, 1, 1))
    with store.read() as conn:
        first, total = mq.nodes(conn, kind, namespace, 3, 0)
        rest, again = mq.nodes(conn, kind, namespace, 3, 3)
        one = mq.shape(conn, mq.node_ref(conn, kind, namespace, f"{prefix}_4"))
        with pytest.raises(mq.MarquezNotFound):
            mq.node_ref(conn, kind, namespace, f"{prefix}_2")
    names = [item["name"] for item in first + rest]
    assert total == again == 4 and names == [f"{prefix}_{i}" for i in (0, 1, 3, 4)]
    assert rest[-1] == one and one["id"] == {"namespace": namespace, "name": f"{prefix}_4"}
