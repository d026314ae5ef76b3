"""Lineage queries over the scenario pipeline: Python API and HTTP endpoints agree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from helpers.lineage_live import LiveServer
from helpers.lineage_scenario import DAY0, LAKE, SHOP, as_dicts, pipeline_events
from helpers.lineage_workers import simple_event
from openlineage.client import OpenLineageClient
from openlineage.client.transport.http import HttpConfig, HttpTransport

from lineage.graph import queries
from lineage.graph.cache import graph_for
from lineage.store import LineageStore

Q = "/api/v1/lineage"


@pytest.fixture
def loaded(server: LiveServer, store: LineageStore) -> LineageStore:
    """The scenario posted through the real OpenLineage HTTP transport."""
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(url=server.url)))
    for event in pipeline_events():
        client.emit(event)
    return store


def names(items: list[dict[str, Any]]) -> list[str]:
    return [i["name"] for i in items]


def test_upstream_and_downstream(loaded: LineageStore, server: LiveServer) -> None:
    up = queries.upstream(loaded, "serving.churn_predictions")
    assert names(up["jobs"]) == ["score.churn", "etl.build_features", "train.churn_model"]
    assert sorted(names(up["datasets"])) == ["features.customer_features", "models.churn", "raw.customers", "raw.orders"]
    assert {d["name"]: d["distance"] for d in up["datasets"]}["raw.orders"] == 2  # via features: 2 job hops
    assert f"dataset:{SHOP}:raw.orders" in {e["from"] for e in up["edges"]}
    shallow = queries.upstream(loaded, "serving.churn_predictions", depth=1)
    assert sorted(names(shallow["datasets"])) == ["features.customer_features", "models.churn"]
    down = queries.downstream(loaded, "raw.orders", namespace=SHOP)
    assert sorted(names(down["datasets"])) == ["features.customer_features", "models.churn", "serving.churn_predictions"]
    job_down = queries.downstream(loaded, "train.churn_model", node_type="job")
    assert sorted(names(job_down["datasets"])) == ["models.churn", "serving.churn_predictions"]
    http = httpx.get(server.url + Q + "/upstream", params={"name": "serving.churn_predictions"}).json()
    assert http == up
    http_shallow = httpx.get(server.url + Q + "/upstream", params={"name": "serving.churn_predictions", "depth": 1})
    assert http_shallow.json() == shallow


def test_ambiguous_and_unknown_names(loaded: LineageStore, server: LiveServer) -> None:
    with pytest.raises(queries.AmbiguousNameError) as info:
        queries.downstream(loaded, "raw.orders")
    assert {c["namespace"] for c in info.value.candidates} == {SHOP, LAKE}
    lake = queries.downstream(loaded, "raw.orders", namespace=LAKE)
    assert names(lake["datasets"]) == ["exports.orders_daily"]
    response = httpx.get(server.url + Q + "/downstream", params={"name": "raw.orders"})
    assert response.status_code == 409 and len(response.json()["candidates"]) == 2
    with pytest.raises(queries.NotFoundError, match="similar names: .*raw.orders"):
        queries.upstream(loaded, "orders")
    assert httpx.get(server.url + Q + "/upstream", params={"name": "nope"}).status_code == 404


def test_paths(loaded: LineageStore, server: LiveServer) -> None:
    result = queries.paths(loaded, "raw.orders", "serving.churn_predictions", source_namespace=SHOP)
    assert result["reversed"] is False
    rendered = [[n["name"] for n in p] for p in result["paths"]]
    assert rendered[0] == ["raw.orders", "etl.build_features", "features.customer_features", "score.churn", "serving.churn_predictions"]
    assert ["raw.orders", "etl.build_features", "features.customer_features", "train.churn_model", "models.churn", "score.churn", "serving.churn_predictions"] in rendered
    assert len(rendered) == 2
    back = queries.paths(loaded, "serving.churn_predictions", "raw.customers")
    assert back["reversed"] is True and back["count"] == 2
    none = queries.paths(loaded, "exports.orders_daily", "models.churn")
    assert none["count"] == 0
    http = httpx.get(
        server.url + Q + "/path",
        params={"source": "raw.orders", "source_namespace": SHOP, "target": "serving.churn_predictions", "max_paths": 1},
    ).json()
    assert http["count"] == 1 and http["paths"][0] == result["paths"][0]


def test_column_lineage(loaded: LineageStore, server: LiveServer) -> None:
    result = queries.column_lineage(loaded, "serving.churn_predictions", "score")
    by_field = {(c["name"], c["field"]): c for c in result["columns"]}
    assert by_field[("models.churn", "churn_score")]["distance"] == 1
    spend = by_field[("features.customer_features", "total_spend")]
    assert spend["jobs"] == [{"namespace": "dagster", "name": "train.churn_model"}]
    amount = by_field[("raw.orders", "amount")]
    assert amount["distance"] == 3 and amount["transformations"] == [{"type": "DIRECT", "subtype": "AGGREGATION"}]
    assert by_field[("raw.orders", "status")]["indirect"] is True  # filter on the whole dataset
    assert [(o["name"], o["field"]) for o in result["origins"]] == [("raw.orders", "amount"), ("raw.orders", "status")]
    direct_only = queries.column_lineage(loaded, "features.customer_features", "total_spend", include_indirect=False)
    assert [(c["name"], c["field"]) for c in direct_only["columns"]] == [("raw.orders", "amount")]
    down = queries.column_lineage(loaded, "raw.customers", "id", direction="downstream")
    assert [(c["name"], c["field"]) for c in down["columns"]] == [("features.customer_features", "customer_id")]
    with pytest.raises(queries.NotFoundError, match="columns with lineage: customer_id, total_spend"):
        queries.column_lineage(loaded, "features.customer_features", "nope")
    http = httpx.get(server.url + Q + "/columns", params={"name": "serving.churn_predictions", "column": "score"}).json()
    assert http == result


def test_impact(loaded: LineageStore, server: LiveServer) -> None:
    result = queries.impact(loaded, "raw.customers")
    assert names(result["models"]) == ["models.churn"]
    assert result["models"][0]["dataset_type"] == "MODEL"
    # No facet says serving.churn_predictions holds predictions: its name does not make it one.
    assert result["predictions"] == []
    assert names(result["datasets"]) == ["features.customer_features", "serving.churn_predictions"]
    assert result["counts"] == {"datasets": 2, "models": 1, "predictions": 0, "jobs": 3}
    assert httpx.get(server.url + Q + "/impact", params={"name": "raw.customers"}).json() == result


def test_point_in_time(loaded: LineageStore, server: LiveServer) -> None:
    # Day one, after training (06:00 + 6h) but before scoring (06:00 + 12h).
    as_of = (DAY0 + timedelta(hours=8)).isoformat()
    early = queries.downstream(loaded, "raw.customers", as_of=as_of)
    assert sorted(names(early["datasets"])) == ["features.customer_features", "models.churn"]
    before_all = queries.downstream(loaded, "raw.customers", as_of=(DAY0 - timedelta(hours=1)).isoformat())
    assert before_all["datasets"] == []
    graph = queries.graph_as_of(loaded, as_of=as_of)
    assert {n["name"] for n in graph["nodes"]} >= {"raw.orders", "models.churn", "train.churn_model"}
    assert "serving.churn_predictions" not in {n["name"] for n in graph["nodes"]}
    # As of a run: the first training run's last event.
    history = queries.run_history(loaded, "models.churn")
    first_training = history["runs"][-1]["run_id"]
    by_run = queries.graph_as_of(loaded, run_id=first_training)
    assert by_run["as_of"] == (DAY0 + timedelta(hours=6, minutes=5)).isoformat()
    assert {e["to"] for e in by_run["edges"]} == {e["to"] for e in graph["edges"]}
    http = httpx.get(server.url + Q + "/graph", params={"as_of": as_of}).json()
    assert http == graph
    assert httpx.get(server.url + Q + "/graph", params={"as_of": "last tuesday"}).status_code == 400


def test_run_history_with_quality_facets(loaded: LineageStore, server: LiveServer) -> None:
    history = queries.run_history(loaded, "features.customer_features", facets=["dataQualityMetrics", "drift"])
    assert history["total_runs"] == 6  # 2 build runs write it, 2 train + 2 score runs read it
    writers = [r for r in history["runs"] if "output" in r["roles"]]
    assert [r["dataset_version"] for r in writers] == ["v2", "v1"]  # newest first
    latest = writers[0]
    assert latest["state"] == "COMPLETE" and [s["event_type"] for s in latest["states"]] == ["START", "COMPLETE"]
    assert latest["facets"]["dataset"]["drift"]["psi"] == 0.4
    assert latest["facets"]["dataset"]["dataQualityMetrics"]["columnMetrics"]["total_spend"]["nullCount"] == 120
    assert set(latest["facets"]["dataset"]) == {"dataQualityMetrics", "drift"}
    assert writers[1]["facets"]["dataset"]["drift"]["drifted"] is False
    assert latest["started_at"] == (DAY0 + timedelta(days=1)).isoformat()
    orders = queries.run_history(loaded, "raw.orders", namespace=SHOP, limit=1)
    assert len(orders["runs"]) == 1 and orders["total_runs"] == 2
    assert orders["runs"][0]["facets"]["input"]["dataQualityAssertions"]["assertions"][0]["column"] == "amount"
    http = httpx.get(
        server.url + Q + "/history",
        params=[("name", "features.customer_features"), ("facet", "dataQualityMetrics"), ("facet", "drift")],
    ).json()
    assert http == history


def test_graph_is_refreshed_incrementally(store: LineageStore) -> None:
    store.ingest(as_dicts(pipeline_events()))
    graph = graph_for(store)
    queries.upstream(store, "serving.churn_predictions")
    first_read = graph.rows_read
    assert first_read > 0
    queries.upstream(store, "serving.churn_predictions")
    assert graph.rows_read == first_read  # nothing new: nothing re-read
    store.ingest([simple_event(1)])
    result = queries.downstream(store, "in_1")
    assert names(result["datasets"]) == ["out_1"]
    assert graph.rows_read == first_read + 3  # only the new event's two io edges and run state


def test_late_commit_below_high_water_mark_is_picked_up(store: LineageStore) -> None:
    """A lower id committed after a higher one (concurrent PG transactions) is not lost."""
    from lineage.store import tables as t

    store.ingest([simple_event(1)])
    queries.downstream(store, "in_1")
    with store.read() as conn:
        row = conn.execute(t.io_edges.select().order_by(t.io_edges.c.id.desc()).limit(1)).one()
    # Simulate: ids 3..4 are taken by someone still in flight, our view jumps to 5.
    with store._write() as conn:
        conn.execute(t.io_edges.insert(), [{**row._mapping, "id": row.id + 3, "direction": "out"}])
    queries.downstream(store, "in_1")
    assert graph_for(store)._io_cursor.gaps.keys() == {row.id + 1, row.id + 2}
    late_job = graph_for(store).names([("job", row.job_id)])
    assert late_job
    with store._write() as conn:
        conn.execute(
            t.io_edges.insert(),
            [{**row._mapping, "id": row.id + 1, "dataset_id": row.dataset_id, "direction": "in"}],
        )
    queries.downstream(store, "in_1")
    assert graph_for(store)._io_cursor.gaps.keys() == {row.id + 2}
