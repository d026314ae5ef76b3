"""The main job: a backfill of several days of both pipelines, one day carrying an injected fault."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from observability_pipelines.data.faults import FaultPlan
from observability_pipelines.data.generator import LABEL_DELAY_DAYS
from observability_pipelines.resources.label_clock import NOW_TAG

DEFAULT_START = "2026-03-01"
DEFAULT_DAYS = 7
PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUILTIN_FAULT_PLAN = Path(__file__).resolve().parent / "data" / "demo_fault_plan.yaml"
DEMO_UNLABELLED_DAYS = 1  # the demo's last day has predictions but no labels yet (labels arrive late)


def ensure_dagster_home() -> Path:
    """Respect DAGSTER_HOME; default to ``.dagster_home/`` in the project."""
    home = Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    if not (home / "dagster.yaml").exists():
        # Run queue off the daemon is not needed for the demo; keep the default SQLite storage.
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


def demo_label_now(start: str, days: int) -> str:
    """The demo's simulated now: the label delay after its last labelled day, so training has labelled days
    and the last ``DEMO_UNLABELLED_DAYS`` days (fewer in a short demo) are scored before their labels exist."""
    labelled = days - max(0, min(DEMO_UNLABELLED_DAYS, days - 2))
    return (dt.datetime.fromisoformat(start) + dt.timedelta(days=labelled + LABEL_DELAY_DAYS)).isoformat()


def demo_partitions(start: str, days: int) -> list[str]:
    first = dt.date.fromisoformat(start)
    return [(first + dt.timedelta(days=i)).isoformat() for i in range(days)]


@dataclass
class RunSummary:
    job: str
    partition: str | None
    success: bool
    run_id: str
    failed_checks: list[str] = field(default_factory=list)  # "asset:check"
    skipped: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """passed, checks failed (the run succeeded, some checks did not), or run failed."""
        if not self.success:
            return "run failed"
        return "checks failed" if self.failed_checks else "passed"


@dataclass
class DemoResult:
    partitions: list[str]
    fault_plan: FaultPlan
    runs: list[RunSummary]
    model_metrics: dict[str, float]
    incidents: list[dict] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(r.success for r in self.runs)


def _summarize(job: str, partition: str | None, result: dg.ExecuteInProcessResult) -> RunSummary:
    failed = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    selected = {k.to_user_string() for k in result.job_def.asset_layer.selected_asset_keys}
    return RunSummary(job, partition, result.success, result.run_id, failed, sorted(selected - materialized))


def run_demo(
    *,
    start: str = DEFAULT_START,
    days: int = DEFAULT_DAYS,
    fault_plan: str | Path | None = None,
    run_config: dict[str, Any] | None = None,
    instance: dg.DagsterInstance | None = None,
    on_step: Callable[[str], None] | None = None,
    log_level: str = "WARNING",
) -> DemoResult:
    """Backfill ``days`` partitions of the daily pipeline, retrain and evaluate, then score every day."""
    from observability_pipelines.definitions import defs

    partitions = demo_partitions(start, days)
    plan_path = Path(fault_plan) if fault_plan else None
    plan = FaultPlan.from_file(plan_path) if plan_path else FaultPlan()  # fail fast, before any run
    if plan_path:
        os.environ["OBS_FAULT_PLAN"] = str(plan_path.resolve())
    instance = instance or dg.DagsterInstance.get()
    runs: list[RunSummary] = []
    step = on_step or (lambda _msg: None)
    tags = {NOW_TAG: demo_label_now(start, days)}

    def execute(job_name: str, partition: str | None) -> dg.ExecuteInProcessResult:
        step(f"{job_name} {partition or ''}".strip())
        config = {"loggers": {"console": {"config": {"log_level": log_level}}}, **(run_config or {})}
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance, partition_key=partition, run_config=config, raise_on_error=False, tags=tags
        )
        runs.append(_summarize(job_name, partition, result))
        return result

    for partition in partitions:
        execute("daily_pipeline", partition)
    execute("retrain", None)
    for partition in partitions:
        execute("batch_predictions_job", partition)

    metrics: dict[str, float] = {}
    record = instance.get_latest_materialization_event(dg.AssetKey("model_evaluation"))
    if record and record.asset_materialization:
        for name in ("accuracy", "precision", "recall", "f1", "roc_auc"):
            value = record.asset_materialization.metadata.get(name)
            if value is not None:
                metrics[name] = float(value.value)
    return DemoResult(partitions, plan, runs, metrics)


def report_incidents(instance: dg.DagsterInstance, result: DemoResult) -> list[dict]:
    """What ``rca_sensor``'s next tick would do, done now (so a headless demo has it too): fold the
    stored failures into incidents, record one ``rca_report`` per incident, tag the runs and link their
    failed checks to their incident. Returns the open incidents touching the demo's partitions."""
    import logging

    from lineage.analysis import incidents
    from lineage.store import LineageStore
    from observability_pipelines.automation.rca_sensor import report_incidents as report

    runs = [run for r in result.runs if (run := instance.get_run_by_id(r.run_id)) is not None]
    events, _ = report(instance, runs, logging.getLogger(__name__))
    for event in events:
        instance.report_runless_asset_event(event)
    store = LineageStore.open()
    try:
        found = incidents.list_incidents(store, limit=200)
    finally:
        store.dispose()
    days = set(result.partitions)
    result.incidents = [i for i in reversed(found) if i["status"] != "resolved" and days & set(i["partitions"])]
    return result.incidents
