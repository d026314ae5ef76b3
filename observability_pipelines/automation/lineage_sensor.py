"""``lineage_sensor``: OpenLineage events for every asset materialization and check evaluation, from the
event log of finished runs (:mod:`observability_pipelines.observe.dagster_events`), for assets whose code
does not emit them itself.

Events are written to the durable outbox before the cursor moves: if the outbox cannot take them the tick
fails and the same runs are read again next tick; delivery to the backend happens there or later (the
``outbox_flush_sensor``), so a backend outage loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import dagster as dg

from lineage.telemetry import logs
from observability_pipelines.observe.dagster_events import AssetGraph, RunEvents, run_entries
from observability_pipelines.observe.openlineage import OpenLineageResource

LOOKBACK = timedelta(days=2)
MAX_RUNS_PER_TICK = 50
SEEN_KEPT = 2000


def emit_runs(instance: dg.DagsterInstance, runs: Iterable, graph: AssetGraph, resource: OpenLineageResource,
              skip: frozenset[dg.AssetKey], log: Any = None) -> int:
    """Build and store the events of ``runs``; raises when they cannot be recorded (the tick retries)."""
    settings, emitted = resource.settings(), 0
    for run in runs:
        entries = list(run_entries(instance, run.run_id))
        events = RunEvents(graph, settings, run, entries, skip).events()
        if events and resource.enabled:
            resource.emitter().emit(*events)  # outbox first; raises LineageNotRecorded if it cannot store
            emitted += len(events)
            if log is not None:
                with logs.run_context(run.run_id, asset=_only_asset(entries), partition=run.tags.get("dagster/partition")):
                    log.info(f"{len(events)} OpenLineage event(s) stored for the run")
    return emitted


def _only_asset(entries: list) -> str | None:
    """The asset the run materialized, when it is one (a run of several has no single asset to name)."""
    keys = {e.asset_materialization.asset_key for e in entries if e.asset_materialization is not None}
    return next(iter(keys)).to_user_string() if len(keys) == 1 else None


def build_lineage_sensor(graph: AssetGraph, *, skip: Iterable[dg.AssetKey] = (),
                         resource: OpenLineageResource | None = None, name: str = "lineage_sensor",
                         minimum_interval_seconds: int = 30) -> dg.SensorDefinition:
    skipped = frozenset(skip)
    resource = resource or OpenLineageResource()

    @dg.sensor(name=name, minimum_interval_seconds=minimum_interval_seconds,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="OpenLineage events (schema, inputs, row counts, check outcomes) for the asset steps "
               "and checks of finished runs; stored in the lineage outbox, delivered in order.")
    def _lineage(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        with logs.log_context(sensor=name):
            return _tick(context, logs.adopt(context.log))

    def _tick(context: dg.SensorEvaluationContext, log: Any) -> dg.SensorResult:
        state = json.loads(context.cursor) if context.cursor else {}
        since = (datetime.fromtimestamp(state["since"], tz=timezone.utc) if state.get("since")
                 else datetime.now(timezone.utc) - LOOKBACK)
        seen = list(state.get("seen", []))
        records = context.instance.get_run_records(
            filters=dg.RunsFilter(updated_after=since,
                                  statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]),
            limit=MAX_RUNS_PER_TICK, ascending=True)
        fresh = [r for r in records if r.dagster_run.run_id not in set(seen)]
        emitted = emit_runs(context.instance, [r.dagster_run for r in fresh], graph, resource, skipped, log)
        newest = max((r.update_timestamp for r in records), default=since)
        # Runs updated after they finish (tags) come back under "updated since": remember what was sent.
        seen = [*seen, *(r.dagster_run.run_id for r in fresh)][-SEEN_KEPT:]
        cursor = json.dumps({"since": newest.timestamp() - 60, "seen": seen})
        summary = f"{emitted} OpenLineage event(s) from {len(fresh)} finished run(s)"
        log.info(summary)
        return dg.SensorResult(cursor=cursor, skip_reason=dg.SkipReason(summary))

    return _lineage
