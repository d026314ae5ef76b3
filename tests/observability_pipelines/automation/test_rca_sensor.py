"""The RCA sensor on a real instance: a backfill with a fault, then one sensor tick."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from observability_pipelines.automation.rca_sensor import RCA_REPORT, rca_sensor
from observability_pipelines.demo import BUILTIN_FAULT_PLAN, run_demo


@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server API
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/alert", received
    server.shutdown()


def test_sensor_reports_trace_tags_and_alert_for_failed_checks(monkeypatch, tmp_path, webhook):
    url, received = webhook
    monkeypatch.setenv("OBS_ALERT_WEBHOOK", url)
    monkeypatch.setenv("OBS_DATA_DIR", str(tmp_path / "data"))
    instance = dg.DagsterInstance.get()  # the local instance under DAGSTER_HOME (tmp)
    result = run_demo(days=5, fault_plan=BUILTIN_FAULT_PLAN, instance=instance,
                      run_config={"resources": {"raw_data": {"config": {"customers_per_day": 200}}}})
    faulty = next(r for r in result.runs if r.job == "daily_pipeline" and r.partition == "2026-03-05")
    assert any(c.startswith("raw_customers:") for c in faulty.failed_checks)

    tick = rca_sensor(dg.build_sensor_context(instance=instance))
    reports = [e for e in tick.asset_events if e.asset_key == RCA_REPORT]
    assert reports, "the sensor produced no RCA report"
    by_symptom = {(r.metadata["symptom_asset"].value, r.metadata["symptom_partition"].value): r for r in reports}
    report = by_symptom[("customer_features", "2026-03-05")]
    assert report.metadata["top_cause"].value == "raw_customers.income"
    assert report.metadata["top_kind"].value == "null_burst"
    assert "raw_customers" in report.metadata["trace"].value and "←" in report.metadata["trace"].value

    tags = instance.get_run_by_id(faulty.run_id).tags
    assert tags["obs/rca_top_cause"].startswith("raw_customers.income:null_burst")
    assert received and any("raw_customers" in alert["summary"] for alert in received)
    assert all(set(alert) >= {"summary", "symptom", "candidates", "elapsed_ms"} for alert in received)

    # A second tick has nothing new: runs are analyzed once.
    again = rca_sensor(dg.build_sensor_context(instance=instance, cursor=tick.cursor))
    assert not again.asset_events
