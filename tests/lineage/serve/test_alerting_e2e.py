"""End to end with the real servers: a faulty materialization reaches a webhook through Prometheus and Alertmanager.

obs serve (the store) <- OpenLineage events of a real Dagster run with a null burst; Prometheus scrapes
/metrics every 5 s and evaluates the shipped rules every 5 s; Alertmanager groups the alert and posts it to a
local webhook receiver. The time from the end of the materialization to the webhook is measured and printed.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from helpers import prometheus_stack as stack
from helpers.recording_server import RecordingBackend

pytestmark = pytest.mark.slow
DAY = "2026-03-05"
DEADLINE_S = 120  # the bound: within 2 minutes of the materialization
FAULT = {"asset": "raw_customers", "partition": DAY, "kind": "null_burst", "column": "income", "magnitude": 0.3}


def _firing(receiver: RecordingBackend, alertname: str) -> list[dict]:
    return [alert for message in receiver.events for alert in message.get("alerts", [])
            if alert["labels"].get("alertname") == alertname and alert["status"] == "firing"]


def _wait_for(receiver: RecordingBackend, alertname: str, timeout_s: float) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found := _firing(receiver, alertname):
            return found
        time.sleep(0.5)
    return []


@pytest.fixture
def servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from observability_pipelines.observe.openlineage import reset_emitters

    receiver = RecordingBackend().start()
    started: list[stack.Process] = []
    try:
        serve = stack.obs_serve(f"sqlite:///{tmp_path / 'lineage.db'}", tmp_path)
        started.append(serve)
        manager = stack.alertmanager(f"{receiver.url}/alerts", tmp_path)
        started.append(manager)
        started.append(stack.prometheus(serve.port, manager.port, tmp_path))
        monkeypatch.setenv("OBS_LINEAGE_URL", serve.url)
        monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "outbox.db"))
        reset_emitters()
        yield started, receiver
    finally:
        for process in reversed(started):
            process.stop()
        receiver.stop()
        reset_emitters()


def test_null_burst_alert_reaches_the_webhook_within_two_minutes(servers, make_pipeline) -> None:
    (serve, manager, prom), receiver = servers
    pipeline = make_pipeline(customers_per_day=120, plan=[FAULT])
    pipeline.materialize(["raw_customers"], "2026-03-04")  # a clean day first, as a baseline
    pipeline.materialize(["raw_customers"], DAY)
    materialized = time.monotonic()

    alerts = _wait_for(receiver, "ObsCheckFailed", DEADLINE_S)
    elapsed = time.monotonic() - materialized
    print(f"\nmaterialization -> Alertmanager webhook: {elapsed:.1f} s (scrape and evaluation every 5 s)")
    assert alerts, (f"no ObsCheckFailed within {DEADLINE_S} s; received {receiver.events}; "
                    f"Prometheus alerts: {httpx.get(prom.url + '/api/v1/alerts').json()}")
    assert elapsed <= DEADLINE_S
    assert {a["labels"]["dataset"] for a in alerts} == {"raw_customers"}
    assert alerts[0]["annotations"]["next"] == "obs rca raw_customers --latest"
    # Alertmanager grouped by alert and dataset: one notification group for the dataset, not one per scrape.
    groups = {(m["groupLabels"].get("alertname"), m["groupLabels"].get("dataset")) for m in receiver.events}
    assert ("ObsCheckFailed", "raw_customers") in groups
    incident = _wait_for(receiver, "ObsIncidentOpenSevere", 30) or _wait_for(receiver, "ObsIncidentOpen", 30)
    assert incident, "the incident alert did not arrive"
