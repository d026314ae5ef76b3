"""``rca_sensor``: turns failed checks and materializations into incidents, where people look.

OSS Dagster's run-failure sensor does not fire for a failed non-blocking check, so this sensor runs on its
own schedule. Each tick folds what the lineage store received into incidents
(:mod:`lineage.analysis.incidents`: one fault's failures, with ranked root causes), then, per incident that
opened, escalated or resolved: one materialization of the ``rca_report`` asset (markdown trace, links to the
affected assets, the incident link) and one webhook alert (``OBS_ALERT_WEBHOOK``, body in
:func:`alert_payload`). Finished runs with failures are tagged with their incident (``obs/incident``), and
their failed checks carry its link (:func:`linked_evaluations`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta, timezone

import dagster as dg

from lineage.telemetry import logs
RCA_REPORT = dg.AssetKey("rca_report")
LOOKBACK = timedelta(days=2)

rca_report = dg.AssetSpec(
    RCA_REPORT,
    description="Incidents with their ranked root causes: one materialization when an incident opens, "
    "escalates or resolves (written by rca_sensor; `obs incidents list` for all).",
    group_name="observability",
    kinds={"python"},
)


def run_events(instance: dg.DagsterInstance, run_id: str, types: set[dg.DagsterEventType]) -> Iterator[dg.EventLogEntry]:
    """The run's event-log entries of ``types``, page by page.

    A thin wrapper: Dagster 1.13 has no ``@public`` run-scoped event query (``fetch_materializations``
    and friends filter by asset), so this is the one place that uses ``get_records_for_run``.
    """
    cursor = None
    while True:
        page = instance.get_records_for_run(run_id, cursor=cursor, of_type=types, limit=1000)
        for record in page.records:
            yield record.event_log_entry
        if not page.has_more:
            return
        cursor = page.cursor


def failing_symptoms(instance: dg.DagsterInstance, run_id: str, partition: str | None) -> list[tuple[str, str | None, str]]:
    """(asset, partition, what failed) for every failed check or failed asset step of one run."""
    found: dict[tuple[str, str | None], list[str]] = {}
    types = {dg.DagsterEventType.ASSET_CHECK_EVALUATION, dg.DagsterEventType.STEP_FAILURE}
    for entry in run_events(instance, run_id, types):
        evaluation = entry.asset_check_evaluation
        if evaluation is not None:
            if evaluation.passed:
                continue
            key = (evaluation.asset_key.to_user_string(), evaluation.partition or partition)
            found.setdefault(key, []).append(f"check {evaluation.check_name} failed")
        elif entry.dagster_event_type == dg.DagsterEventType.STEP_FAILURE and entry.step_key:
            found.setdefault((entry.step_key, partition), []).append("materialization failed")
    return [(asset, part, "; ".join(what)) for (asset, part), what in found.items()]


def post_alert(url: str, payload: dict, log) -> bool:
    import httpx

    try:
        httpx.post(url, json=payload, timeout=5.0).raise_for_status()
        return True
    except httpx.HTTPError as exc:  # an alerting outage must not stop analysis
        log.warning(f"incident alert to webhook failed ({type(exc).__name__}); the report is still recorded")
        return False


def _where(cause: dict) -> str:
    return cause["asset"] + (f".{cause['column']}" if cause.get("column") else "")


INCIDENTS_URL_ENV = "OBS_INCIDENTS_URL"  # where people reach `obs serve` (links only; events go elsewhere)


def incident_link(incident_id: int) -> str:
    """Where a person reads the incident: its page in the web UI of ``OBS_INCIDENTS_URL`` (else
    ``OBS_LINEAGE_URL``) when one is configured, else the CLI command."""
    base = (os.environ.get(INCIDENTS_URL_ENV) or os.environ.get("OBS_LINEAGE_URL", "")).rstrip("/")
    return f"{base}/incidents/{incident_id}" if base else f"obs incidents show {incident_id}"


def _link_value(incident_id: int) -> dg.MetadataValue:
    link = incident_link(incident_id)
    return dg.MetadataValue.url(link) if "://" in link else dg.MetadataValue.text(link)


def _markdown(incident: dict) -> str:
    lines = [f"### Incident {incident['id']}: {incident['title']}", "",
             f"**{incident['status']}**, severity **{incident['severity']}**, "
             f"partitions {', '.join(incident['partitions']) or '—'}", "",
             "| rank | cause | kind | score | path |", "|---|---|---|---|---|"]
    for i, c in enumerate(incident["causes"] or [incident["cause"]], 1):
        path = " ← ".join(reversed(c.get("column_path") or c.get("path") or []))
        lines.append(f"| {i} | `{_where(c)}` | {c['kind']} | {c.get('score') or 0:.2f} | {path} |")
    lines += ["", "**Affected**", ""]
    for item in incident["affected"]:
        failing = [k for k, v in item["checks"].items() if v == "failing"] or ["passing again"]
        lines.append(f"- `{item['dataset']}`" + (f" [{item['partition']}]" if item.get("partition") else "")
                     + f": {', '.join(failing)}")
    return "\n".join(lines + ["", f"_{incident_link(incident['id'])}_"])


def alert_payload(kind: str, incident: dict) -> dict:
    """The webhook body: ``text`` renders in Slack (incoming webhooks); ``incident`` is the full record
    as ``GET /api/v1/incidents/{id}`` returns it; ``event`` is opened, escalated or resolved."""
    cause = incident["cause"]
    text = (f"[{incident['severity']}] incident {incident['id']} {kind}: {cause['kind']} at {_where(cause)}"
            f" ({len(incident['affected'])} affected, partitions {', '.join(incident['partitions']) or '—'})"
            f" · {incident_link(incident['id'])}")
    return {"text": text, "event": kind, "incident_id": incident["id"], "url": incident_link(incident["id"]),
            "incident": incident}


def _report(kind: str, incident: dict) -> dg.AssetMaterialization:
    top = incident["cause"]
    affected = sorted({a["dataset"] for a in incident["affected"]})
    return dg.AssetMaterialization(
        RCA_REPORT,
        description=f"incident {incident['id']} {kind}: {incident['title']}"[:1000],
        metadata={
            "trace": dg.MetadataValue.md(_markdown(incident)),
            "incident_id": dg.MetadataValue.int(incident["id"]),
            "incident": incident_link(incident["id"]),
            "event": kind,
            "status": incident["status"],
            "severity": incident["severity"],
            "top_cause": _where(top),
            "top_kind": top["kind"],
            "top_score": dg.MetadataValue.float(float(top.get("score") or 0.0)),
            "partitions": ", ".join(incident["partitions"]),
            # Links to the assets the incident diagnoses (clickable in the UI).
            **{f"affected/{name}": dg.MetadataValue.asset(dg.AssetKey(name.split("/"))) for name in affected[:20]},
            "incident_json": dg.MetadataValue.json(incident),
        },
    )


def _incidents_of(run, instance: dg.DagsterInstance, found: list[dict]) -> list[dict]:
    """The incidents a finished run's failures belong to."""
    partition = run.tags.get("dagster/partition")
    symptoms = {(asset, part) for asset, part, _ in failing_symptoms(instance, run.run_id, partition)}
    return [i for i in found if any((a["dataset"], a.get("partition")) in symptoms for a in i["affected"])]


def _tags_for(mine: list[dict]) -> dict[str, str]:
    """Tags linking a finished run to the incidents its failures belong to."""
    top = mine[0]
    return {"obs/incident": ",".join(str(i["id"]) for i in mine)[:200],
            "obs/incident_url": incident_link(top["id"])[:200],
            "obs/rca_top_cause": f"{_where(top['cause'])}:{top['cause']['kind']}"[:200]}


def linked_evaluations(instance: dg.DagsterInstance, run, mine: list[dict]) -> list[dg.AssetCheckEvaluation]:
    """Each failed check evaluation of the run once more, same check, partition and metadata, now carrying
    the link to its incident: the UI shows a check's latest evaluation, so the failure points to its
    incident (a check result cannot be edited once recorded, and the incident exists only after it)."""
    partition = run.tags.get("dagster/partition")
    out = []
    for entry in run_events(instance, run.run_id, {dg.DagsterEventType.ASSET_CHECK_EVALUATION}):
        ev = entry.asset_check_evaluation
        if ev is None or ev.passed:
            continue
        where = (ev.asset_key.to_user_string(), ev.partition or partition)
        incident = next((i for i in mine if any((a["dataset"], a.get("partition")) == where for a in i["affected"])), None)
        if incident is None:
            continue
        out.append(dg.AssetCheckEvaluation(
            asset_key=ev.asset_key, check_name=ev.check_name, passed=False, severity=ev.severity,
            partition=ev.partition, target_materialization_data=ev.target_materialization_data,
            description=f"Incident {incident['id']} ({incident['title']}): {ev.description or 'failed'}"[:2000],
            metadata={**ev.metadata, "incident": _link_value(incident["id"]),
                      "incident_id": dg.MetadataValue.int(incident["id"]),
                      "evaluated_in_run": dg.MetadataValue.dagster_run(run.run_id)},
        ))
    return out


ALERTED = ("opened", "escalated", "resolved")


def report_incidents(instance: dg.DagsterInstance, runs: Iterable, log) -> tuple[list[dg.AssetMaterialization | dg.AssetCheckEvaluation], int]:
    """Fold new failures into incidents; one report and one alert per incident that opened, escalated or
    resolved (an incident that only gained symptoms stays quiet); finished runs tagged with theirs and
    their failed checks linked to them (runs already tagged were linked before)."""
    from lineage.analysis import incidents
    from lineage.store import LineageStore

    webhook = os.environ.get("OBS_ALERT_WEBHOOK")
    store = LineageStore.open()
    try:
        changes = incidents.sync(store)
        found = incidents.list_incidents(store, limit=200)
    finally:
        store.dispose()
    reports = [_report(c.kind, c.incident) for c in changes if c.kind in ALERTED]
    for change in changes:
        if webhook and change.kind in ALERTED:
            post_alert(webhook, alert_payload(change.kind, change.incident), log)
    events: list = list(reports)
    for run in runs:
        if "obs/incident" in run.tags or not (mine := _incidents_of(run, instance, found)):
            continue
        # Not @public in Dagster 1.13: no public API tags a run that already finished.
        instance.add_run_tags(run.run_id, _tags_for(mine))
        events += linked_evaluations(instance, run, mine)
        partition = run.tags.get("dagster/partition")
        asset = next((a["dataset"] for i in mine for a in i["affected"] if a.get("partition") == partition), None)
        with logs.run_context(run.run_id, asset=asset, partition=partition):
            log.info(f"run linked to incident(s) {', '.join(str(i['id']) for i in mine)}")
    return events, len(changes)


@dg.sensor(
    name="rca_sensor",
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Groups failed checks and materializations (blocking or not) into incidents with root causes.",
)
def rca_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    with logs.log_context(sensor="rca_sensor"):
        return _tick(context, logs.adopt(context.log))


def _tick(context: dg.SensorEvaluationContext, log) -> dg.SensorResult:
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
    events, changed = report_incidents(context.instance, [r.dagster_run for r in fresh], log)
    # Tagging a run updates it, so "updated since" alone would bring it back: remember what was analyzed.
    newest = max((r.update_timestamp for r in records), default=since)
    seen_list = [*state.get("seen", []), *(r.dagster_run.run_id for r in fresh)][-1000:]
    cursor = json.dumps({"since": newest.timestamp() - 60, "seen": seen_list})
    return dg.SensorResult(
        asset_events=events,
        cursor=cursor,
        skip_reason=None if events else dg.SkipReason(
            f"{len(fresh)} new finished run(s); {changed} incident(s) changed quietly, none opened or resolved"),
    )
