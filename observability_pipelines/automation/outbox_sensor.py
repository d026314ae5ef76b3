"""``outbox_flush_sensor``: replays the lineage outbox backlog, in order, every 30 seconds.

Running by default. Each tick drains what it can (bounded by ``FLUSH_BUDGET_S`` so a tick stays
well inside Dagster's sensor timeout), reports the backlog in the tick's cursor and log and to the lineage
store (``lineage.emission.outbox_report``: what ``/metrics`` shows for this worker), and never requests runs. A tick where the backend is still down is not an error: the events stay queued.
"""

from __future__ import annotations

import json
from typing import Any

import dagster as dg

from lineage.telemetry import logs

FLUSH_BUDGET_S = 20.0


def flush_outbox_once(budget_s: float | None = FLUSH_BUDGET_S) -> dict:
    from lineage.emission.emitter import LineageEmitter
    from lineage.emission.outbox import OutboxError

    from lineage.emission import outbox_report

    emitter = LineageEmitter()
    try:
        result = _flush(emitter, budget_s)
    except OutboxError as exc:  # unreadable / unwritable outbox: one line in the tick, no traceback
        return {"delivered": 0, "dead": 0, "remaining": 0, "error": str(exc), "skipped": None}
    else:
        # What /metrics shows for this outbox, wherever obs serve runs (the tick is the heartbeat).
        result["reported"] = outbox_report.report(emitter)
        return result
    finally:
        emitter.close()


def _flush(emitter: Any, budget_s: float | None) -> dict:
    from lineage.emission.redact import redact

    try:
        collected = emitter.collect_spool()  # what workers on other machines handed over
    except Exception as exc:  # the shared spool is unreachable: deliver the local backlog anyway
        collected, spool_error = 0, redact(f"lineage spool {emitter.spool.root}: {type(exc).__name__}: {exc}")
    else:
        spool_error = None
    status_before = emitter.status()
    if not status_before.writable:  # new events are delivered directly or fail their step: say so
        spool_error = "; ".join(filter(None, [status_before.problem, spool_error]))
    if status_before.pending == 0:
        return {"delivered": 0, "dead": 0, "remaining": 0, "error": spool_error, "skipped": None,
                "dead_total": status_before.dead, "oldest_pending_age_s": None, "collected": collected}
    try:
        result = emitter.flush(budget_s=budget_s, lease_wait_s=1.0, collect=False).as_dict()
    except Exception as exc:  # backend cannot even be built (bad config, missing driver)
        result = {"delivered": 0, "dead": 0, "remaining": status_before.pending,
                  "error": redact(f"{type(exc).__name__}: {exc}"), "skipped": None}
    status = emitter.status()
    result.update(dead_total=status.dead, oldest_pending_age_s=status.oldest_pending_age_s,
                  backend=status.backend, collected=collected)
    if spool_error:
        result["error"] = "; ".join(filter(None, [result.get("error"), spool_error]))
    return result


@dg.sensor(
    name="outbox_flush_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Delivers queued OpenLineage events from the local outbox (in order) and reports the backlog.",
)
def outbox_flush_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    with logs.log_context(sensor="outbox_flush_sensor"):
        return _tick(logs.adopt(context.log))


def _tick(log: Any) -> dg.SensorResult:
    result = flush_outbox_once()
    summary = (
        (f"lineage spool: collected {result['collected']}; " if result.get("collected") else "")
        + f"lineage outbox: delivered {result['delivered']}, backlog {result['remaining']}, "
        f"dead {result.get('dead_total', 0)}"
        + (f", oldest {result['oldest_pending_age_s']:.0f}s" if result.get("oldest_pending_age_s") else "")
        + (f"; last error: {result['error']}" if result.get("error") else "")
    )
    if result.get("error") or result.get("dead_total"):
        log.warning(summary)
    else:
        log.info(summary)
    cursor = json.dumps({k: result.get(k) for k in ("remaining", "delivered", "dead_total", "oldest_pending_age_s",
                                                   "error")}, sort_keys=True)
    return dg.SensorResult(
        cursor=cursor,
        skip_reason=None if result["delivered"] else dg.SkipReason(summary),
    )
