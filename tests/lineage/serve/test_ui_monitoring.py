"""Model monitoring on the dataset page: the JSON view the page renders (fast, TestClient on a real store) holds each
check evaluation's typed facet with its status and finding, checked against the facets that were sent; the page's
own rendering in Chromium (slow, skipped without /usr/bin/chromium)."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest
from fastapi.testclient import TestClient
from openlineage.client.serde import Serde

from lineage import facets as f
from lineage.emission.events import EmissionSettings
from lineage.facets.monitoring import FeatureAttribution, SegmentGroup
from lineage.serve.api import create_app
from lineage.store import LineageStore
from observability_pipelines.observe.openlineage import check_run_events

BASE = "http://127.0.0.1"
RUN = "9f0b7c7e-5d4c-4b0e-9c59-4f5f0c2b7a{:02d}"
NS = "dagster://shop"
SHAP = f.ExplanationDriftDatasetFacet(
    features={"income": FeatureAttribution(0.6, 0.1, -0.5, 1, 2), "age": FeatureAttribution(0.4, 0.9, 0.5, 2, 1)},
    drifted=True, movedShare=0.5, maxMovedShare=0.25, lostFeatures=["income"])
WAITING = f.RegressionDatasetFacet(metric="estimated/roc_auc", evaluated=False, regression=False,
                                   partitionsExamined=3, partitionsNeeded=28)
VOLUME = f.AnomalyDatasetFacet(kind="volume", measure="row_count", anomalous=False, evaluated=True, value=1012.0,
                               expected=1000.0, lower=900.0, upper=1110.0, z=0.3, historyPartitions=56, historyNeeded=28)
SEGMENTS = f.SegmentsDatasetFacet(kind="performance", failed=True, attributes={
    "region_code": SegmentGroup({"3": {"rows": 300.0, "roc_auc": 0.61}, "4": {"rows": 280.0, "roc_auc": 0.86}}, ["3"])})
EVALUATIONS = [("explanation_drift", "2026-03-04", f.ExplanationDriftDatasetFacet(
                   features=dict(SHAP.features), drifted=False, movedShare=0.02, maxMovedShare=0.25, lostFeatures=[])),
               ("explanation_drift", "2026-03-05", SHAP), ("estimated_roc_auc_regression", "2026-03-05", WAITING),
               ("volume_anomaly", "2026-03-05", VOLUME), ("segment_performance", "2026-03-05", SEGMENTS)]


def _events() -> list[dict]:
    settings = EmissionSettings.from_env(job_namespace="dagster", dataset_namespace=NS)
    out = []
    for n, (check, day, facet) in enumerate(EVALUATIONS):
        events = check_run_events(settings, dagster_run_id=RUN.format(n), dagster_job="scoring", step_key=check,
                                  asset_key=dg.AssetKey("scores"), check_name=check, partition=day,
                                  assertions=[{"assertion": check, "success": check != "explanation_drift"}],
                                  dataset_facets={facet.KEY: facet})
        out += [json.loads(Serde.to_json(e)) for e in events]
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = LineageStore.open(f"sqlite:///{tmp_path_factory.mktemp('ui_monitoring') / 'lineage.db'}")
    store.ingest(_events())
    yield store
    store.dispose()


def test_dataset_page_lists_each_evaluation_with_its_facet_and_finding(store):
    page = TestClient(create_app(store=store), base_url=BASE).get(
        "/api/v1/ui/dataset", params={"namespace": NS, "name": "scores"}).json()
    rows = page["monitoring"]
    assert {(r["check"], r["partition"]) for r in rows} == {(c, d) for c, d, _ in EVALUATIONS}
    by = {(r["check"], r["partition"]): r for r in rows}
    for check, day, facet in EVALUATIONS:  # the facet's fields as sent
        sent = {k: v for k, v in json.loads(Serde.to_json(facet)).items() if not k.startswith("_")}
        assert by[check, day]["values"] == sent and by[check, day]["facet"] == facet.KEY
    shap = by["explanation_drift", "2026-03-05"]
    assert shap["status"] == "fail" and "income 60.0% → 10.0%" in shap["finding"] and "top feature age" in shap["finding"]
    assert by["explanation_drift", "2026-03-04"]["status"] == "pass"
    waiting = by["estimated_roc_auc_regression", "2026-03-05"]
    assert waiting["status"] == "waiting" and "3 of 28 partitions" in waiting["finding"]
    volume = by["volume_anomaly", "2026-03-05"]
    assert volume["status"] == "pass" and "row_count 1012, expected 1000 (900 – 1110)" in volume["finding"]
    segments = by["segment_performance", "2026-03-05"]
    assert segments["status"] == "fail" and "by region_code: 3 failing" in segments["finding"]
    assert [r["partition"] for r in rows] == sorted(r["partition"] for r in rows)


def test_the_page_script_renders_the_monitoring_section():
    """The shipped script builds the section from this view's fields (a static check: the browser test below
    renders it)."""
    script = (Path(__file__).resolve().parents[3] / "lineage" / "serve" / "ui" / "static" / "app.js").read_text()
    assert "monitoringSection(d.monitoring || [])" in script
    for field in ("r.check", "r.partition", "r.status", "r.finding"):
        assert field in script


@pytest.mark.slow
def test_chromium_shows_the_latest_finding_of_each_check(store, tmp_path):
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip(f"{chromium} not found")
    import threading
    import time
    from urllib.parse import quote

    import httpx
    import uvicorn
    from playwright.sync_api import sync_playwright

    server = uvicorn.Server(uvicorn.Config(create_app(store=store), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/datasets/{quote(NS, safe='')}/scores")
            page.wait_for_function("() => document.body.dataset.ready")
            rows = page.locator("#model-monitoring table.monitoring-latest tbody tr").evaluate_all(
                "rs => rs.map(r => [...r.cells].map(c => c.innerText))")
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    latest = {r[0]: r for r in rows}
    assert set(latest) == {c for c, _, _ in EVALUATIONS}
    assert latest["explanation_drift"][1:3] == ["2026-03-05", "fail"]  # the newest evaluation, not the clean one
    assert "3 of 28 partitions" in latest["estimated_roc_auc_regression"][3]
