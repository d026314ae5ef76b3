"""Jobs and schedules: daily feature refresh, weekly retrain; the rest follows by declarative automation.

The daily jobs are partitioned because the assets they select are (Dagster infers it). The schedules and
the automation sensor ship stopped, so a fresh instance (the demo's) runs nothing on its own; turn them on
under Automation in the Dagster UI (README, "The pipelines").
"""

from __future__ import annotations

import dagster as dg

FEATURE_GROUPS = ("ingest", "clean", "features")

daily_pipeline_job = dg.define_asset_job(
    "daily_pipeline",
    selection=dg.AssetSelection.groups(*FEATURE_GROUPS) | dg.AssetSelection.assets("training_set"),
    description="Ingest, clean and featurize one day; build its training rows.",
)
retrain_job = dg.define_asset_job(
    "retrain",
    selection=dg.AssetSelection.assets("trained_model", "model_evaluation"),
    description="Retrain the model on every training partition and evaluate it.",
)
predictions_job = dg.define_asset_job(
    "batch_predictions_job",
    selection=dg.AssetSelection.assets("batch_predictions"),
    description="Score one day's applications with the current model.",
)

daily_feature_refresh_schedule = dg.build_schedule_from_partitioned_job(
    daily_pipeline_job, hour_of_day=2, minute_of_hour=0, name="daily_feature_refresh",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
weekly_retrain_schedule = dg.ScheduleDefinition(
    name="weekly_retrain",
    job=retrain_job,
    cron_schedule="0 4 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Every Monday 04:00 UTC, retrain on all labelled partitions.",
)

jobs = [daily_pipeline_job, retrain_job, predictions_job]
schedules = [daily_feature_refresh_schedule, weekly_retrain_schedule]

# Evaluates the assets' AutomationCondition.eager(): downstream assets follow their upstreams' updates.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "obs_automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Materializes downstream assets (clean, features, training set, evaluation, predictions) when "
    "their upstreams update (AutomationCondition.eager()). Stopped by default, like the schedules.",
)
