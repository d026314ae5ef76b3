"""Schedules and declarative automation are defined as documented."""

from pathlib import Path

import dagster as dg

from observability_pipelines.definitions import defs


def test_daily_and_weekly_schedules():
    daily = defs.resolve_schedule_def("daily_feature_refresh")
    weekly = defs.resolve_schedule_def("weekly_retrain")
    assert daily.cron_schedule == "0 2 * * *"
    assert weekly.cron_schedule == "0 4 * * 1"
    assert weekly.job_name == "retrain" and daily.job_name == "daily_pipeline"


def test_downstream_assets_follow_upstream_updates():
    graph = defs.resolve_asset_graph()
    eager = {"clean_customers", "clean_transactions", "clean_labels", "customer_features", "training_set",
             "model_evaluation", "batch_predictions"}
    for name in eager:
        condition = graph.get(dg.AssetKey(name)).automation_condition
        assert condition is not None and "eager" in (condition.get_label() or "").lower() or condition.name == "eager", name
    for name in ("raw_customers", "trained_model"):  # driven by schedules
        assert graph.get(dg.AssetKey(name)).automation_condition is None


def test_sensor_and_schedule_defaults_are_the_documented_ones():
    """README ("The pipelines"): rca_sensor and outbox_flush_sensor run; the schedules and the automation
    sensor ship stopped; label_arrival_sensor ships stopped ("Model monitoring")."""
    statuses = {s.name: s.default_status for s in defs.sensors}
    assert statuses == {"outbox_flush_sensor": dg.DefaultSensorStatus.RUNNING,
                        "rca_sensor": dg.DefaultSensorStatus.RUNNING,
                        "obs_automation_sensor": dg.DefaultSensorStatus.STOPPED,
                        # no OTLP endpoint in the tests' environment: nowhere to send run spans
                        "trace_runs_sensor": dg.DefaultSensorStatus.STOPPED,
                        "trace_failed_runs_sensor": dg.DefaultSensorStatus.STOPPED,
                        # "Model monitoring": re-evaluates label checks when labels arrive; stopped like the schedules
                        "label_arrival_sensor": dg.DefaultSensorStatus.STOPPED}
    assert {s.name: s.default_status for s in defs.schedules} == {
        "daily_feature_refresh": dg.DefaultScheduleStatus.STOPPED, "weekly_retrain": dg.DefaultScheduleStatus.STOPPED}
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    assert "ship **stopped**" in readme and "`obs_automation_sensor`" in readme


def test_automation_sensor_evaluates_every_eager_asset():
    """Every asset with an automation condition is evaluated by the explicit sensor (so Dagster adds no
    hidden default_automation_condition_sensor whose status the README would not describe)."""
    graph = defs.resolve_asset_graph()
    sensor = next(s for s in defs.sensors if s.name == "obs_automation_sensor")
    targeted = sensor.asset_selection.resolve(graph)
    conditioned = {k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition is not None}
    assert conditioned and conditioned <= targeted
