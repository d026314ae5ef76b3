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


@pytest.mark.slow  # a 5-day demo backfill
def test_one_fault_gives_one_report_one_alert_and_tagged_runs(monkeypatch, tmp_path, webhook):
    url, received = webhook
    monkeypatch.setenv("OBS_ALERT_WEBHOOK", url)
    monkeypatch.setenv("OBS_INCIDENTS_URL", "http://obs.example:5000/")
    monkeypatch.setenv("OBS_DATA_DIR", str(tmp_path / "data"))
    instance = dg.DagsterInstance.get()  # the local instance under DAGSTER_HOME (tmp)
    result = run_demo(days=5, fault_plan=BUILTIN_FAULT_PLAN, instance=instance,
                      run_config={"resources": {"raw_data": {"config": {"customers_per_day": 200}}}})
    faulty = next(r for r in result.runs if r.job == "daily_pipeline" and r.partition == "2026-03-05")
    assert any(c.startswith("raw_customers:") for c in faulty.failed_checks)

    tick = rca_sensor(dg.build_sensor_context(instance=instance))
    reports = [e for e in tick.asset_events if e.asset_key == RCA_REPORT]
    # One fault, one incident: one report and one alert, however many checks and assets it failed.
    assert len(reports) == 1, [r.description for r in reports]
    [report] = reports
    assert report.metadata["top_cause"].value == "raw_customers.income"
    assert report.metadata["top_kind"].value == "null_burst"
    assert report.metadata["event"].value == "opened"
    assert "raw_customers" in report.metadata["trace"].value and "←" in report.metadata["trace"].value
    incident = report.metadata["incident_json"].value
    assert incident["partitions"] == ["2026-03-05"]
    affected = {a["dataset"] for a in incident["affected"]}
    assert {"raw_customers", "clean_customers"} <= affected
    assert {k.removeprefix("affected/") for k in report.metadata if k.startswith("affected/")} == affected

    # Every failed check evaluation is recorded once more, same check and day, with the incident's link.
    linked = [e for e in tick.asset_events if isinstance(e, dg.AssetCheckEvaluation)]
    failed = {tuple(c.split(":", 1)) for run in result.runs for c in run.failed_checks}
    assert sorted((e.asset_key.to_user_string(), e.check_name) for e in linked) == sorted(failed)
    for e in linked:
        assert not e.passed and e.partition == "2026-03-05"
        assert e.metadata["incident"].value == f"http://obs.example:5000/incidents/{incident['id']}"
        assert e.metadata["incident_id"].value == incident["id"]

    tags = instance.get_run_by_id(faulty.run_id).tags
    assert tags["obs/incident"] == str(incident["id"])
    assert tags["obs/rca_top_cause"].startswith("raw_customers.income:null_burst")
    assert len(received) == 1, received
    [alert] = received
    assert alert["event"] == "opened" and alert["incident_id"] == incident["id"]
    assert "raw_customers.income" in alert["text"] and alert["incident"]["cause"]["kind"] == "null_burst"

    # A second tick has nothing new: no report, no alert.
    again = rca_sensor(dg.build_sensor_context(instance=instance, cursor=tick.cursor))
    assert not again.asset_events
    assert len(received) == 1
