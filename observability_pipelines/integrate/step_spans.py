"""Step spans for plain assets added through ``with_observability``, recorded from the run's event log.

``observed_asset`` steps record their span (and one per check) while they run
(:mod:`lineage.telemetry.tracing`); a plain ``@dg.asset`` has no hook for that, so once its run has ended
``trace_steps_sensor`` / ``trace_failed_steps_sensor`` record each step from the event log: started and
ended as the step did, a child of the run span (same trace id as the run), one ``obs.check`` child per check
evaluated in the step, an error status when the step failed. Steps of observed assets are left out (they
have their spans already). On by default only when an OTLP endpoint is configured.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from lineage.telemetry import tracing

STEP_EVENTS = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE,
               dg.DagsterEventType.ASSET_MATERIALIZATION, dg.DagsterEventType.ASSET_CHECK_EVALUATION}


@dataclass
class Step:
    start: datetime | None = None
    end: datetime | None = None
    failed: bool = False
    assets: set[str] = field(default_factory=set)
    checks: list[tuple[str, datetime, dict[str, Any]]] = field(default_factory=list)


def steps_of_run(instance: dg.DagsterInstance, run_id: str) -> dict[str, Step]:
    """Each step of the run with its times, outcome, assets and check evaluations."""
    steps: dict[str, Step] = {}
    for entry in instance.all_logs(run_id, of_type=STEP_EVENTS):
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        when = datetime.fromtimestamp(entry.timestamp, UTC)
        step = steps.setdefault(entry.step_key, Step())
        kind = event.event_type
        if kind == dg.DagsterEventType.STEP_START:
            step.start = when
        elif kind in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            step.end, step.failed = when, kind == dg.DagsterEventType.STEP_FAILURE
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION and event.asset_key is not None:
            step.assets.add(event.asset_key.to_user_string())
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.event_specific_data  # an AssetCheckEvaluation
            step.assets.add(check.asset_key.to_user_string())
            severity = getattr(check.severity, "value", check.severity)
            step.checks.append(("obs.check", when, {"obs.check_name": check.check_name, "obs.check_passed": check.passed,
                                                    "obs.check_severity": severity}))
    return steps


def record_step_spans(instance: dg.DagsterInstance, run: dg.DagsterRun, skip_steps: Collection[str] = ()) -> int:
    """Record the spans of ``run``'s finished steps (but ``skip_steps``); how many, 0 when tracing is off."""
    if tracing.configure() is None:
        return 0
    recorded = 0
    for key, step in steps_of_run(instance, run.run_id).items():
        if key in skip_steps or step.start is None or step.end is None:
            continue
        attributes = {"dagster.job": run.job_name, "dagster.step_key": key,
                      "dagster.asset_key": ", ".join(sorted(step.assets)) or None,
                      "dagster.partition_key": run.tags.get("dagster/partition")}
        tracing.record_step(run.run_id, "dagster.step", step.start, step.end, attributes, failed=step.failed,
                            children=step.checks)
        recorded += 1
    return recorded


def step_span_sensors(skip_steps: Collection[str]) -> list[dg.SensorDefinition]:
    """``trace_steps_sensor`` (successful runs) and ``trace_failed_steps_sensor`` (failed runs)."""
    skip = frozenset(skip_steps)
    status = dg.DefaultSensorStatus.RUNNING if tracing.endpoint() else dg.DefaultSensorStatus.STOPPED

    @dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, name="trace_steps_sensor", default_status=status,
                          monitor_all_code_locations=False,
                          description="Records the steps of plain assets' runs as spans of the run's trace.")
    def trace_steps_sensor(context: dg.RunStatusSensorContext) -> None:
        record_step_spans(context.instance, context.dagster_run, skip)

    @dg.run_failure_sensor(name="trace_failed_steps_sensor", default_status=status, monitor_all_code_locations=False,
                           description="Records the steps of plain assets' failed runs as spans, failed ones as errors.")
    def trace_failed_steps_sensor(context: dg.RunFailureSensorContext) -> None:
        record_step_spans(context.instance, context.dagster_run, skip)

    return [trace_steps_sensor, trace_failed_steps_sensor]
