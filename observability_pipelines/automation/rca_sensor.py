"""``rca_sensor``: runs root-cause analysis for failed asset checks and failed materializations.

OSS Dagster's run-failure sensor does not fire for a failed non-blocking check, so this sensor reads the
event log of recently finished runs itself. For each failing (asset, partition) it asks the lineage store
for the ranked causes, then records the trace where people look: a materialization of the ``rca_report``
asset (markdown metadata, plotted counts), tags on the failed run, and an optional webhook alert
(``OBS_ALERT_WEBHOOK``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

import dagster as dg

RCA_REPORT = dg.AssetKey("rca_report")
MAX_SYMPTOMS_PER_TICK = 10
LOOKBACK = timedelta(days=2)

rca_report = dg.AssetSpec(
    RCA_REPORT,
    description="Root-cause analyses of failed checks and materializations, one materialization per symptom "
    "(written by rca_sensor).",
    group_name="observability",
    kinds={"python"},
)


def failing_symptoms(instance: dg.DagsterInstance, run_id: str, partition: str | None) -> list[tuple[str, str | None, str]]:
    """(asset, partition, what failed) for every failed check or failed asset step of one run."""
    found: dict[tuple[str, str | None], list[str]] = {}
    for record in instance.all_logs(run_id, of_type={dg.DagsterEventType.ASSET_CHECK_EVALUATION,
                                                      dg.DagsterEventType.STEP_FAILURE}):
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if evaluation.passed:
                continue
            key = (evaluation.asset_key.to_user_string(), getattr(evaluation, "partition", None) or partition)
            found.setdefault(key, []).append(f"check {evaluation.check_name} failed")
        elif event.step_key:
            found.setdefault((event.step_key, partition), []).append("materialization failed")
    return [(asset, part, "; ".join(what)) for (asset, part), what in found.items()]


def post_alert(url: str, payload: dict, log) -> bool:
    import httpx

    try:
        httpx.post(url, json=payload, timeout=5.0).raise_for_status()
        return True
    except httpx.HTTPError as exc:  # an alerting outage must not stop analysis
        log.warning(f"RCA alert to webhook failed ({type(exc).__name__}); the report is still recorded")
        return False


def _markdown(asset: str, partition: str | None, what: str, result) -> str:
    lines = [f"### {asset}" + (f" [{partition}]" if partition else ""), "", f"**Symptom:** {what}", ""]
    if result.candidates:
        lines += ["| rank | cause | kind | score | path |", "|---|---|---|---|---|"]
        for i, c in enumerate(result.candidates, 1):
            cause = c.asset + (f".{c.column}" if c.column else "")
            lines.append(f"| {i} | `{cause}` | {c.kind} | {c.score:.2f} | {' → '.join(c.path)} |")
        lines += ["", "```", result.trace(), "```"]
    lines += ["", f"_{result.message}; {result.elapsed_ms:.0f} ms_"]
    return "\n".join(lines)


def analyze_symptoms(instance: dg.DagsterInstance, runs: Iterable, log) -> tuple[list[dg.AssetMaterialization], int]:
    from lineage.analysis.rca import RCAError, analyze
    from lineage.store import LineageStore

    reports: list[dg.AssetMaterialization] = []
    webhook = os.environ.get("OBS_ALERT_WEBHOOK")
    store = LineageStore.open()
    analyzed = 0
    try:
        for run in runs:
            partition = run.tags.get("dagster/partition")
            tags: dict[str, str] = {}
            for asset, part, what in failing_symptoms(instance, run.run_id, partition):
                if analyzed >= MAX_SYMPTOMS_PER_TICK:
                    break
                analyzed += 1
                try:
                    result = analyze(store, asset, partition=part)
                except RCAError as exc:
                    log.info(f"RCA skipped for {asset}[{part}]: {exc}")
                    continue
                top = result.candidates[0] if result.candidates else None
                summary = (f"{asset}[{part}]: {what}; likely cause {top.asset}"
                           f"{'.' + top.column if top.column else ''} {top.kind} (score {top.score:.2f})"
                           if top else f"{asset}[{part}]: {what}; {result.message}")
                reports.append(dg.AssetMaterialization(
                    RCA_REPORT,
                    partition=None,
                    description=summary[:1000],
                    metadata={
                        "trace": dg.MetadataValue.md(_markdown(asset, part, what, result)),
                        "symptom_asset": asset,
                        "symptom_partition": part or "",
                        "dagster_run_id": run.run_id,
                        "top_cause": (f"{top.asset}{'.' + top.column if top.column else ''}" if top else "none"),
                        "top_kind": top.kind if top else "none",
                        "top_score": dg.MetadataValue.float(top.score if top else 0.0),
                        "candidates": dg.MetadataValue.int(len(result.candidates)),
                        "elapsed_ms": dg.MetadataValue.float(result.elapsed_ms),
                        "rca_json": dg.MetadataValue.json(result.as_dict()),
                    },
                ))
                tags.setdefault("obs/rca_top_cause", (f"{top.asset}{'.' + top.column if top.column else ''}:{top.kind}"
                                                      if top else "none found")[:200])
                tags.setdefault("obs/rca_symptom", f"{asset}[{part}]"[:200])
                if webhook:
                    post_alert(webhook, {"summary": summary, "dagster_run_id": run.run_id, **result.as_dict()}, log)
            if tags:
                instance.add_run_tags(run.run_id, tags)
    finally:
        store.dispose()
    return reports, analyzed


@dg.sensor(
    name="rca_sensor",
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Root-cause analysis for failed asset checks (blocking or not) and failed materializations.",
)
def rca_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    state = json.loads(context.cursor) if context.cursor else {}
    since = datetime.fromtimestamp(state.get("since", 0), tz=timezone.utc) if state.get("since") else (
        datetime.now(timezone.utc) - LOOKBACK)
    seen = set(state.get("seen", []))
    records = context.instance.get_run_records(
        filters=dg.RunsFilter(updated_after=since, statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]),
        limit=100,
        ascending=True,
    )
    fresh = [r for r in records if r.dagster_run.run_id not in seen]
    reports, analyzed = analyze_symptoms(context.instance, [r.dagster_run for r in fresh], context.log)
    # Tagging a run updates it, so "updated since" alone would bring it back: remember what was analyzed.
    newest = max((r.update_timestamp for r in records), default=since)
    seen_list = [*state.get("seen", []), *(r.dagster_run.run_id for r in fresh)][-1000:]
    cursor = json.dumps({"since": newest.timestamp() - 60, "seen": seen_list})
    return dg.SensorResult(
        asset_events=reports,
        cursor=cursor,
        skip_reason=None if reports else dg.SkipReason(f"{len(fresh)} new finished run(s), no failures to analyze"),
    )
