"""``trace_runs_sensor``: each finished run as the root span of its trace (see ``lineage.telemetry.tracing``).

Steps of observed assets record their spans while they run, as children of a span id derived from the run
id; this sensor records that run span once the run has ended (success, failure or cancel), with the run's
real start and end times. Running by default when an OTLP endpoint is configured (``OBS_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_ENDPOINT``), otherwise stopped: without one there is nowhere to send spans.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from lineage.telemetry import logs, tracing



def record_run_span(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Record ``run``'s span; ``False`` when tracing is off or the run has no recorded times."""
    if tracing.configure() is None:
        return False
    record = instance.get_run_record_by_id(run.run_id)
    if record is None or record.start_time is None or record.end_time is None:
        return False
    start, end = (datetime.fromtimestamp(t, UTC) for t in (record.start_time, record.end_time))
    tracing.record_run(run.run_id, "dagster.run", start, end, run.status.value,
                       {"dagster.job": run.job_name, "dagster.run_id": run.run_id})
    return True


def _record(context: dg.RunStatusSensorContext, sensor: str) -> None:
    run = context.dagster_run
    if record_run_span(context.instance, run):
        with logs.run_context(run.run_id, partition=run.tags.get("dagster/partition"), sensor=sensor):
            logs.adopt(context.log).info(f"run span recorded ({run.status.value})")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS, name="trace_runs_sensor", monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING if tracing.endpoint() else dg.DefaultSensorStatus.STOPPED,
    description="Records each successful run as the root span of its OpenTelemetry trace.",
)
def trace_runs_sensor(context: dg.RunStatusSensorContext) -> None:
    _record(context, "trace_runs_sensor")


@dg.run_failure_sensor(
    name="trace_failed_runs_sensor", monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING if tracing.endpoint() else dg.DefaultSensorStatus.STOPPED,
    description="Records each failed run as the root span of its OpenTelemetry trace, with an error status.",
)
def trace_failed_runs_sensor(context: dg.RunFailureSensorContext) -> None:
    _record(context, "trace_failed_runs_sensor")


trace_sensors = [trace_runs_sensor, trace_failed_runs_sensor]
