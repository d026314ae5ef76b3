"""Step spans of plain assets added through with_observability, recorded from a real run's event log and
read back with the OpenTelemetry SDK's in-memory exporter."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from lineage.telemetry import tracing
from observability_pipelines import with_observability
from observability_pipelines.integrate.step_spans import record_step_spans

pytestmark = pytest.mark.slow  # real runs on a test instance

DAILY = dg.DailyPartitionsDefinition(start_date="2026-03-01")


@pytest.fixture
def exporter():
    tracing.shutdown()
    memory = InMemorySpanExporter()
    tracing.configure(SimpleSpanProcessor(memory))
    yield memory
    tracing.shutdown()


@dg.asset(partitions_def=DAILY)
def sales() -> pd.DataFrame:
    return pd.DataFrame({"amount": [1.0, 2.0, 3.0]})


@dg.asset(partitions_def=DAILY)
def broken(sales: pd.DataFrame) -> pd.DataFrame:
    raise ValueError("the user's own bug")


def _run(instance, selection):
    defs = with_observability(dg.Definitions(assets=[sales, broken]), lineage=False, incidents=False)
    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(partition_key="2026-03-02", instance=instance, asset_selection=selection,
                                    raise_on_error=False)
    return defs, instance.get_run_by_id(result.run_id), instance.get_run_record_by_id(result.run_id)


def test_plain_steps_become_children_of_the_run_span_with_their_checks(exporter, tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        defs, run, record = _run(instance, [dg.AssetKey("sales")])
        assert record_step_spans(instance, run) >= 2  # the asset's step and its drift check's step
    spans = exporter.get_finished_spans()
    steps = {s.attributes["dagster.step_key"]: s for s in spans if s.name == "dagster.step"}
    step = steps["sales"]
    assert step.context.trace_id == tracing.run_trace_id(run.run_id)
    assert step.parent.span_id == tracing.run_span_id(run.run_id)
    assert (step.attributes["dagster.asset_key"], step.attributes["dagster.partition_key"]) == ("sales", "2026-03-02")
    assert record.start_time * 1e9 - 1e6 <= step.start_time <= step.end_time <= record.end_time * 1e9 + 1e6
    assert step.status.status_code != StatusCode.ERROR
    checks = [s for s in spans if s.name == "obs.check"]
    (drift,) = [s for s in checks if s.attributes["obs.check_name"] == "drift"]
    assert drift.attributes["obs.check_passed"] is True
    assert drift.parent.span_id in {s.context.span_id for s in steps.values()}
    assert "dagster.step" in {s.name for s in spans} and not any(s.name == "dagster.run" for s in spans)
    assert {s.name for s in defs.sensors} >= {"trace_steps_sensor", "trace_failed_steps_sensor"}


def test_a_failed_step_is_an_error_span_and_skipped_steps_are_left_out(exporter, tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        _, run, _ = _run(instance, [dg.AssetKey("sales"), dg.AssetKey("broken")])
        assert run.status == dg.DagsterRunStatus.FAILURE
        record_step_spans(instance, run, skip_steps={"sales"})
    steps = {s.attributes["dagster.step_key"]: s for s in exporter.get_finished_spans() if s.name == "dagster.step"}
    assert "sales" not in steps  # e.g. an observed asset: it records its own span while it runs
    assert steps["broken"].status.status_code == StatusCode.ERROR


def test_nothing_is_recorded_without_tracing(tmp_path):
    tracing.shutdown()
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        _, run, _ = _run(instance, [dg.AssetKey("sales")])
        assert record_step_spans(instance, run) == 0
