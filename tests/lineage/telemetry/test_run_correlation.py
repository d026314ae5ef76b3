"""One real Dagster run found three ways: its trace, its OpenLineage events and its log lines share its ids."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lineage.facets import TagsFacet
from lineage.store import LineageStore
from lineage.telemetry import logs, tracing

pytestmark = pytest.mark.slow
DAY = "2026-03-05"


@pytest.fixture
def telemetry(monkeypatch, tmp_path):
    from observability_pipelines.observe.openlineage import reset_emitters

    for var in ("OBS_LINEAGE_URL", "OPENLINEAGE_URL", "OPENLINEAGE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OBS_LINEAGE_DB", f"sqlite:///{tmp_path / 'lineage.db'}")
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "outbox.db"))
    reset_emitters()
    tracing.shutdown()
    spans = InMemorySpanExporter()
    tracing.configure(SimpleSpanProcessor(spans))
    monkeypatch.setenv(logs.FORMAT_VAR, "json")  # each observed step switches its process's logs to JSON
    yield spans, f"sqlite:///{tmp_path / 'lineage.db'}"
    for name in logs.OUR_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate = [], True
    tracing.shutdown()
    reset_emitters()


def test_a_run_is_found_through_its_trace_its_events_and_its_logs(telemetry, make_pipeline, capsys) -> None:
    spans, db_url = telemetry
    pipeline = make_pipeline(customers_per_day=80)
    result = pipeline.materialize(["raw_customers"], DAY)
    run_id = result.run_id
    logging.getLogger("observability_pipelines.observe").warning("after the step")  # no run context here

    from observability_pipelines.automation.trace_sensor import record_run_span

    assert record_run_span(pipeline.instance, pipeline.instance.get_run_by_id(run_id))  # what the sensor does
    finished = spans.get_finished_spans()
    [run_span] = [s for s in finished if s.name == "dagster.run"]
    assert run_span.parent is None and run_span.attributes["dagster.run_id"] == run_id
    steps = [s for s in finished if s.name == "dagster.step"]
    assert [s.attributes["dagster.asset_key"] for s in steps] == ["raw_customers"]
    step = steps[0]
    assert step.context.trace_id == uuid.UUID(run_id).int  # the trace id is the Dagster run id
    assert step.attributes["dagster.partition_key"] == DAY
    assert step.parent.span_id == run_span.context.span_id  # the step hangs under its run
    assert run_span.start_time <= step.start_time <= step.end_time <= run_span.end_time
    checks = [s for s in finished if s.name == "obs.check"]
    assert checks and all(s.parent.span_id == step.context.span_id for s in checks)

    store = LineageStore.open(db_url)
    try:
        events = [e["payload"] if "payload" in e else e for e in store.events(limit=1000)]
    finally:
        store.dispose()
    mine = [e for e in events if e["job"]["name"].endswith("raw_customers")]
    assert mine, [e["job"]["name"] for e in events]
    for event in mine:
        assert event["run"]["facets"]["parent"]["run"]["runId"] == run_id  # the OpenLineage parent run
        tags = TagsFacet.from_payload(event["run"]["facets"]["tags"]).as_dict()
        assert tags["otel.trace_id"] == uuid.UUID(run_id).hex
        assert tags["otel.span_id"] == f"{step.context.span_id:016x}"

    records = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    in_step = [r for r in records if r.get("run_id") == run_id]
    assert any(r["message"].startswith("observed raw_customers:") for r in in_step), in_step
    assert all(r["trace_id"] == uuid.UUID(run_id).hex and r["asset"] == "raw_customers" for r in in_step)
    assert records[-1]["message"] == "after the step" and "run_id" not in records[-1]
