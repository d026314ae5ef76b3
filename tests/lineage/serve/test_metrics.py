"""/metrics: store-backed Prometheus metrics, the health score and the Grafana dashboard."""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from lineage.analysis import health
from lineage.serve import metrics
from lineage.serve.api import create_app
from lineage.emission.outbox import Outbox
from lineage.emission.spool import Spool
from lineage.store import LineageStore

PRODUCER = "https://github.com/example/observability-pipelines/tests"
DS_NS = "file://warehouse"
JOB_NS = "obs_pipelines"
DASHBOARD = Path(metrics.__file__).parent / "dashboards" / "obs_grafana.json"
EXPECTED_INTERVAL = 3600.0  # one hour, so a two-hour-old dataset is half fresh


def _facet(**fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": "https://example.com/spec/facets/1-0-0/Facet.json", **fields}


def _iso(when: datetime) -> str:
    return when.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _event(kind: str, when: datetime, run_id: str, job: str, *, job_ns: str = JOB_NS,
           inputs: list[dict[str, Any]] | None = None, outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "eventType": kind, "eventTime": _iso(when), "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": {}}, "job": {"namespace": job_ns, "name": job, "facets": {}},
        "inputs": inputs or [], "outputs": outputs or [],
    }


def _output(name: str, *, assertions: list[dict[str, Any]] | None = None, drift: dict[str, Any] | None = None,
            rows: int | None = None) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    if assertions is not None:
        facets["dataQualityAssertions"] = _facet(assertions=assertions)
    if drift is not None:
        facets["drift"] = _facet(**drift)
    out: dict[str, Any] = {"namespace": DS_NS, "name": name, "facets": facets}
    if rows is not None:
        out["outputFacets"] = {"outputStatistics": _facet(rowCount=rows)}
    return out


def materialization(job: str, start: datetime, seconds: float, end: str = "COMPLETE", *, job_ns: str = JOB_NS,
                    **output: Any) -> list[dict[str, Any]]:
    run_id = str(uuid.uuid4())
    return [
        _event("START", start, run_id, job, job_ns=job_ns, outputs=[_output(job)]),
        _event(end, start + timedelta(seconds=seconds), run_id, job, job_ns=job_ns, outputs=[_output(job, **output)]),
    ]


def check_run(dataset: str, check: str, when: datetime, success: bool) -> list[dict[str, Any]]:
    run_id = str(uuid.uuid4())
    assertion = {"assertion": check, "success": success}
    return [
        _event("START", when, run_id, f"{dataset}:{check}", inputs=[{"namespace": DS_NS, "name": dataset}]),
        _event("COMPLETE", when + timedelta(seconds=1), run_id, f"{dataset}:{check}", inputs=[{
            "namespace": DS_NS, "name": dataset, "inputFacets": {"dataQualityAssertions": _facet(assertions=[assertion])},
        }]),
    ]


NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
RUN2_START = NOW - timedelta(hours=2)
RUN2_SECONDS = 95.0
DRIFT = {
    "drifted": True, "shareDrifted": 0.25,
    "columns": {
        "income": {"drifted": True, "test": "ks", "statistic": 0.42, "psi": 0.8},
        "age": {"drifted": False, "test": "ks", "statistic": 0.05},
        "region": {"drifted": False, "test": "chi2", "psi": 0.01},  # no statistic: falls back to psi
        "loan_amount": {"drifted": False, "test": "ks", "statistic": 0.07},
    },
}
WIDE_COLUMNS = 80


def scenario() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    # raw_customers: a clean run five hours ago, then one with a failing check and drift.
    events += materialization("raw_customers", NOW - timedelta(hours=5), 600, rows=1000, assertions=[
        {"assertion": "not_null", "success": True, "column": "income"},
        {"assertion": "not_null", "success": True, "column": "age"},
        {"assertion": "range", "success": True, "column": "loan_amount"},
    ])
    events += materialization("raw_customers", RUN2_START, RUN2_SECONDS, rows=1200, drift=DRIFT, assertions=[
        {"assertion": "not_null", "success": False, "column": "income"},
        {"assertion": "not_null", "success": True, "column": "age"},
        {"assertion": "range", "success": True, "column": "loan_amount"},
    ])
    events += check_run("raw_customers", "row_count_check", RUN2_START + timedelta(seconds=120), success=False)
    # A check run before the latest materialization does not count for the latest run.
    events += check_run("raw_customers", "stale_check", NOW - timedelta(hours=4), success=False)
    # customer_features: completed three hours ago, the latest run failed an hour ago.
    events += materialization("customer_features", NOW - timedelta(hours=3), 60, rows=900,
                              assertions=[{"assertion": "unique", "success": True, "column": "customer_id"}])
    events += materialization("customer_features", NOW - timedelta(hours=1), 30, end="FAIL")
    # wide_table (another pipeline): more drift columns than the cap; an old run outside the window.
    wide = {"drifted": True, "columns": {f"c{i:02d}": {"drifted": i % 4 == 0, "statistic": i / 100}
                                         for i in range(WIDE_COLUMNS)}}
    events += materialization("wide_table", NOW - timedelta(days=3), 10, job_ns="other_pipeline", rows=5,
                              assertions=[{"assertion": "not_null", "success": False, "column": "c00"}])
    events += materialization("wide_table", NOW - timedelta(minutes=10), 10, job_ns="other_pipeline", rows=7,
                              drift=wide)
    return events


def scrape(client: TestClient) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            key = tuple(sorted(sample.labels.items()))
            assert key not in samples[sample.name], f"duplicate series {sample.name}{key}"
            samples[sample.name][key] = sample.value
    return samples


def value(samples: dict[str, Any], name: str, **labels: str) -> float:
    return samples[name][tuple(sorted(labels.items()))]


@pytest.fixture
def client(store: LineageStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    outbox_path = tmp_path / "outbox.db"
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(outbox_path))
    monkeypatch.setenv(health.EXPECTED_INTERVAL_ENV, str(EXPECTED_INTERVAL))
    Outbox(outbox_path).append([{"eventType": "START", "run": {"runId": "r1"}}, {"eventType": "COMPLETE"}])
    spool = Spool(tmp_path / "spool")
    for _ in range(3):
        spool.put([{"eventType": "COMPLETE", "run": {"runId": "r2"}}])
    monkeypatch.setenv("OBS_LINEAGE_SPOOL", str(spool.root))
    store.ingest(scenario())
    return TestClient(create_app(store=store, token="s3cret"))


def test_metrics_reflect_the_store(client: TestClient) -> None:
    before = metrics.RCA_REQUESTS._value.get(), metrics.RCA_CANDIDATES._value.get()
    rca = client.get("/api/v1/rca", params={"name": "raw_customers"}, headers={"Authorization": "Bearer s3cret"})
    assert rca.status_code in (200, 404), rca.text
    found = len(rca.json().get("candidates", [])) if rca.status_code == 200 else 0

    s = scrape(client)  # no token: /metrics is open even when the API requires one
    assert client.get("/api/v1/lineage/datasets").status_code == 401

    assert value(s, "obs_dataset_row_count", dataset="raw_customers") == 1200
    assert value(s, "obs_dataset_row_count", dataset="customer_features") == 900  # the FAIL run has no stats
    assert value(s, "obs_check_failed", dataset="raw_customers", assertion="not_null") == 1
    assert value(s, "obs_check_failed", dataset="raw_customers", assertion="range") == 0
    assert value(s, "obs_check_failed", dataset="raw_customers", assertion="row_count_check") == 1
    assert ("assertion", "stale_check") not in {kv for key in s["obs_check_failed"] for kv in key}
    # Window: run 1 (3 passed), run 2 (2 passed, 1 failed), both check runs (failed); wide_table's is too old.
    assert value(s, "obs_check_outcomes_total", dataset="raw_customers", outcome="passed") == 5
    assert value(s, "obs_check_outcomes_total", dataset="raw_customers", outcome="failed") == 3
    assert value(s, "obs_check_outcomes_total", dataset="wide_table", outcome="failed") == 0

    assert value(s, "obs_drift_share", dataset="raw_customers") == 0.25
    assert value(s, "obs_drift_score", dataset="raw_customers", column="income") == 0.42
    assert value(s, "obs_drift_score", dataset="raw_customers", column="region") == 0.01
    assert value(s, "obs_drift_share", dataset="wide_table") == 20 / WIDE_COLUMNS

    assert value(s, "obs_materialization_duration_seconds", dataset="raw_customers") == RUN2_SECONDS
    assert value(s, "obs_materialization_duration_seconds", dataset="customer_features") == 30
    fresh = value(s, "obs_dataset_freshness_seconds", dataset="raw_customers")
    expected_age = (NOW - RUN2_START).total_seconds() - RUN2_SECONDS
    # NOW is read when the module is imported; the scrape may come minutes later in a long suite.
    since_import = (datetime.now(UTC).replace(tzinfo=None) - NOW).total_seconds()
    assert expected_age <= fresh <= expected_age + since_import + 5
    assert value(s, "obs_dataset_freshness_seconds", dataset="customer_features") >= 3 * 3600 - 60 - 1
    assert value(s, "obs_runs_failed_total", dataset="customer_features") == 1
    assert value(s, "obs_runs_failed_total", dataset="raw_customers") == 0

    # The outbox and spool on this host, read directly: no worker reported (tests/lineage/serve/test_worker_reports.py).
    (worker,) = {dict(key)["worker"] for key in s["obs_outbox_backlog"]}
    assert value(s, "obs_outbox_backlog", worker=worker) == 2
    assert value(s, "obs_lineage_spool_files", worker=worker) == 3
    assert 0 <= value(s, "obs_outbox_oldest_age_seconds", worker=worker) < 60
    assert value(s, "obs_outbox_report_age_seconds", worker=worker, source="local") == 0
    assert value(s, "obs_rca_requests_total") - before[0] >= 1
    assert value(s, "obs_rca_candidates_found_total") - before[1] >= found


def _formula(pass_rate: float, share: float, age: float, failed_rate: float) -> float:
    """The documented score, computed independently of lineage.health."""
    t = EXPECTED_INTERVAL
    fresh = 1.0 if age <= t else 0.0 if age >= 3 * t else 1 - (age - t) / (2 * t)
    return 100 * (0.4 * pass_rate + 0.25 * (1 - share) + 0.2 * fresh + 0.15 * (1 - failed_rate))


def test_health_scores_follow_the_formula(client: TestClient) -> None:
    s = scrape(client)
    age = value(s, "obs_dataset_freshness_seconds", dataset="raw_customers")
    # Latest run of raw_customers: not_null(income) failed, row_count_check failed, 2 of 4 passed.
    expected = _formula(2 / 4, 0.25, age, 0 / 2)
    assert value(s, "obs_asset_health_score", dataset="raw_customers") == pytest.approx(expected, abs=0.05)
    assert 60 < expected < 70  # half fresh (two hours old, expected hourly)

    cf_age = value(s, "obs_dataset_freshness_seconds", dataset="customer_features")
    cf = _formula(1.0, 0.0, cf_age, 1 / 2)  # the failed run reported no assertion
    assert value(s, "obs_asset_health_score", dataset="customer_features") == pytest.approx(cf, abs=0.05)

    wide = _formula(1.0, 20 / WIDE_COLUMNS, value(s, "obs_dataset_freshness_seconds", dataset="wide_table"), 0.0)
    assert value(s, "obs_asset_health_score", dataset="wide_table") == pytest.approx(wide, abs=0.05)

    pipelines = {dict(k)["pipeline"]: v for k, v in s["obs_pipeline_health_score"].items()}
    assert set(pipelines) == {JOB_NS, "other_pipeline"}
    assert pipelines[JOB_NS] == pytest.approx((expected + cf) / 2, abs=0.05)
    assert pipelines["other_pipeline"] == pytest.approx(wide, abs=0.05)
    assert all(0 <= v <= 100 for v in s["obs_asset_health_score"].values())


def test_label_cardinality_is_bounded(client: TestClient) -> None:
    s = scrape(client)
    wide = [dict(k) for k in s["obs_drift_score"] if dict(k)["dataset"] == "wide_table"]
    assert len(wide) == metrics.DEFAULT_MAX_COLUMNS < WIDE_COLUMNS
    # Drifted columns are kept first: all 20 of them survive the cap.
    kept = {labels["column"] for labels in wide}
    assert {f"c{i:02d}" for i in range(0, WIDE_COLUMNS, 4)} <= kept
    for name, series in s.items():
        for key in series:
            labels = dict(key)
            assert set(labels) <= {"dataset", "outcome", "assertion", "column", "pipeline", "severity", "le",
                                   "worker", "source", "producer"}, (
                name, labels)
            if "column" in labels:
                assert name == "obs_drift_score"
    datasets = {dict(k)["dataset"] for k in s["obs_dataset_row_count"]}
    assert datasets == {"raw_customers", "customer_features", "wide_table"}  # check jobs are not datasets


def test_cardinality_cap_and_clock(store: LineageStore) -> None:
    store.ingest(scenario())
    collector = metrics.ObservabilityCollector(store, max_datasets=2, max_columns=3, outbox_path=False,
                                               clock=lambda: NOW + timedelta(days=10))
    families = {f.name: f for f in collector.collect()}
    assert {s.labels["dataset"] for s in families["obs_asset_health_score"].samples} == {
        "wide_table", "customer_features"}  # the two most recently produced
    assert len(families["obs_drift_score"].samples) == 3
    assert "obs_outbox_backlog" not in families
    # Ten days later nothing is fresh and the window holds no run.
    for sample in families["obs_asset_health_score"].samples:
        assert sample.value <= 100 * (0.4 + 0.25 + 0.15)
    assert all(s.value == 0 for s in families["obs_runs_failed_total"].samples)


def test_empty_store_scrapes_cleanly(store: LineageStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "absent.db"))
    s = scrape(TestClient(create_app(store=store)))
    assert "obs_asset_health_score" not in s and "obs_outbox_backlog" not in s
    assert "obs_rca_requests_total" in s
    assert not (tmp_path / "absent.db").exists()


def test_health_module() -> None:
    assert sum(health.WEIGHTS.values()) == pytest.approx(1.0)
    assert health.freshness_factor(None) == 0
    assert health.freshness_factor(10, 100) == 1
    assert health.freshness_factor(200, 100) == pytest.approx(0.5)
    assert health.freshness_factor(300, 100) == 0
    perfect = health.HealthInputs(checks_passed=3, checks_total=3, drift_share=0.0, freshness_age_s=0)
    assert health.dataset_health(perfect) == 100
    worst = health.HealthInputs(checks_passed=0, checks_total=3, drift_share=1.0, runs_failed=2, runs_total=2)
    assert health.dataset_health(worst) == 0
    assert health.pipeline_health([]) is None and health.pipeline_health([50, 100]) == 75


_PROMQL_WORDS = {"sum", "by", "without", "topk", "bottomk", "increase", "rate", "irate", "avg", "min", "max",
                 "histogram_quantile",
                 "count", "label_values", "on", "ignoring", "group_left", "group_right", "and", "or", "unless"}


def test_dashboard_uses_only_exposed_metrics(client: TestClient) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert 36 <= dashboard["schemaVersion"] <= 41
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["dataset"]["definition"] == "label_values(obs_dataset_row_count, dataset)"

    exposed = set(scrape(client)) | metrics.metric_names()
    assert set(scrape(client)) >= set(metrics.FAMILIES) | set(metrics.RCA_METRIC_NAMES)  # all present here
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    exprs.append(variables["dataset"]["definition"])
    assert len(exprs) >= 15
    used: set[str] = set()
    for expr in exprs:
        # Drop label matchers, strings and range selectors, then every remaining identifier is a
        # function, keyword, label name in by(...) or a metric name.
        bare = re.sub(r"\{[^}]*\}|\"[^\"]*\"|\[[^\]]*\]", "", expr)
        bare = re.sub(r"\b(by|without)\s*\([^)]*\)", "", bare)
        bare = re.sub(r"label_values\(([^,]+),[^)]*\)", r"\1", bare)
        names = {w for w in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare) if w not in _PROMQL_WORDS}
        assert names, expr
        assert names <= exposed, (expr, names - exposed)
        used |= names
    assert used >= set(metrics.FAMILIES) | set(metrics.RCA_METRIC_NAMES)  # every metric is on a panel
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}"
