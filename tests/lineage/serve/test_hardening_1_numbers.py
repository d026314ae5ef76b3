"""Hardening #16, point 1: a valid event with an unbounded number never breaks a reader.

JSON integers have no size limit: a 401-digit ``outputStatistics.rowCount`` or drift statistic is
valid JSON and a valid OpenLineage event. It used to be stored (201) and then turn every /metrics
scrape, ``/api/v1/rca`` and ``obs rca`` into an OverflowError, for good (the append-only store
refuses to delete the event). Now ingest stores it with a warning naming the number, and readers
take such a value as absent; values at the documented bounds are still read exactly.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from lineage.config import MAX_COUNT, MAX_MAGNITUDE
from lineage.facets import DriftDatasetFacet, MetricsFacet, OutputStatisticsFacet
from lineage.serve.api import create_app
from lineage.store import LineageStore
from lineage.store.warning_tables import event_warnings
from observability_pipelines.cli import app as obs_app

PRODUCER = "https://example.com/hardening"
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
STATS_URL = ("https://openlineage.io/spec/facets/1-0-2/OutputStatisticsOutputDatasetFacet.json"
             "#/$defs/OutputStatisticsOutputDatasetFacet")
HUGE = 10**400  # 401 digits: beyond the float range
T0 = datetime(2026, 3, 1, 6, 0)


def _facet(**fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": "https://example.com/facet.json", **fields}


def _run(day: int, rows: Any, score: Any, metric: Any) -> list[dict[str, Any]]:
    """START + COMPLETE of one run writing `shop.orders` from `raw.orders`."""
    run_id, when = str(uuid.uuid4()), T0 + timedelta(days=day)
    output = {"namespace": "shop", "name": "orders", "facets": {
        "drift": _facet(drifted=True, columns={"amount": {"drifted": True, "statistic": score, "psi": score}}),
    }, "outputFacets": {"outputStatistics": {"_producer": PRODUCER, "_schemaURL": STATS_URL, "rowCount": rows}}}
    source = {"namespace": "shop", "name": "raw.orders", "inputFacets": {"dataQualityMetrics": _facet(
        rowCount=rows, columnMetrics={"amount": {"nullCount": 0, "sum": metric, "min": -metric, "max": metric,
                                                 "count": 10.0, "quantiles": {"0.5": metric}}})}}
    base = {"producer": PRODUCER, "schemaURL": CORE, "run": {"runId": run_id},
            "job": {"namespace": "jobs", "name": "build_orders"}}
    return [{**base, "eventType": "START", "eventTime": when.isoformat() + "Z", "inputs": [], "outputs": []},
            {**base, "eventType": "COMPLETE", "eventTime": (when + timedelta(minutes=5)).isoformat() + "Z",
             "inputs": [source], "outputs": [output]}]


def _client(db_url: str) -> TestClient:
    return TestClient(create_app(db_url=db_url), raise_server_exceptions=False)


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for fam in text_string_to_metric_families(text)
            for s in fam.samples if s.name == name}


def _readers_answer(db_url: str) -> str:
    """/metrics, /api/v1/rca (named and latest) and `obs rca` all succeed; returns the scrape."""
    with _client(db_url) as client:
        scrape = client.get("/metrics")
        assert scrape.status_code == 200, scrape.text[:500]
        for url in ("/api/v1/rca?name=orders", "/api/v1/rca", "/api/v1/lineage/history?name=orders"):
            response = client.get(url)
            assert response.status_code in (200, 404), (url, response.status_code, response.text[:300])
    result = CliRunner().invoke(obs_app, ["rca", "orders", "--db", db_url, "--json"])
    assert result.exit_code == 0, result.output[-2000:]
    assert "OverflowError" not in result.output
    json.loads(result.stdout)
    return scrape.text


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'lineage.db'}"


def test_a_401_digit_number_is_stored_with_a_warning_and_breaks_no_reader(db_url: str) -> None:
    history = [e for day in range(4) for e in _run(day, 1000 + day, 0.01, 50.0)]
    with _client(db_url) as client:
        assert client.post("/api/v1/lineage", json=history).status_code == 201
        poisoned = _run(5, HUGE, HUGE, HUGE)
        response = client.post("/api/v1/lineage", content=json.dumps(poisoned),
                               headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["stored"] == 2 and response.json()["warnings"] >= 1
    scrape = _readers_answer(db_url)  # a fresh app on the same store: "also after a restart"
    # The huge row count reads as absent, the last sane one is not invented either.
    assert _samples(scrape, "obs_dataset_row_count") == {}
    assert (("dataset", "orders"),) in _samples(scrape, "obs_asset_health_score")


def test_the_warning_names_the_out_of_range_numbers(db_url: str) -> None:
    with _client(db_url) as client:
        response = client.post("/api/v1/lineage", content=json.dumps(_run(0, HUGE, 0.5, 1.0)),
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 201, response.text
    store = LineageStore.open(db_url)
    try:
        with store.read() as conn:
            rows = conn.execute(event_warnings.select()).mappings().all()
    finally:
        store.dispose()
    paths = {r["path"] for r in rows if "out of range" in r["message"]}
    assert "$.outputs[0].outputFacets.outputStatistics.rowCount" in paths
    assert "$.outputs[0].inputFacets" not in paths  # only the offending leaves are named


def test_values_at_the_bounds_are_read_exactly(db_url: str) -> None:
    with _client(db_url) as client:
        response = client.post("/api/v1/lineage", json=_run(0, MAX_COUNT, MAX_MAGNITUDE, MAX_MAGNITUDE))
        assert response.status_code == 201 and not response.json().get("warnings"), response.text
    scrape = _readers_answer(db_url)
    assert _samples(scrape, "obs_dataset_row_count") == {(("dataset", "orders"),): float(MAX_COUNT)}
    assert _samples(scrape, "obs_drift_score") == {(("column", "amount"), ("dataset", "orders")): MAX_MAGNITUDE}


@pytest.mark.parametrize("value", [HUGE, -HUGE, 1e101, float(10**300), "1" * 400])
def test_facet_parsers_take_an_unbounded_number_as_absent(value: Any) -> None:
    stats = OutputStatisticsFacet.from_payload({"rowCount": value, "size": 10})
    assert stats is not None and stats.rowCount is None and stats.size == 10
    drift = DriftDatasetFacet.from_payload({"drifted": True, "columns": {"a": {"drifted": True, "statistic": value}}})
    assert drift is not None and drift.columns["a"].statistic is None
    metrics = MetricsFacet.from_payload({"rowCount": 5, "columnMetrics": {"a": {"sum": value, "max": 2.0}}})
    assert metrics is not None and metrics.columnMetrics["a"].sum is None and metrics.columnMetrics["a"].max == 2.0


def test_a_count_beyond_64_bits_is_absent_and_one_within_is_exact() -> None:
    assert OutputStatisticsFacet.from_payload({"rowCount": MAX_COUNT + 1, "size": 1}).rowCount is None
    assert OutputStatisticsFacet.from_payload({"rowCount": MAX_COUNT}).rowCount == MAX_COUNT  # not via a float
