"""Re-evaluation of the label-based model checks of a day once its labels arrive.

A day's predictions are checked when they are made; the checks that need labels (performance, fairness,
importance, realized-vs-estimated) then say that the labels have not arrived. ``label_arrival_sensor``
watches the label clock: when the last label of a scored day is observed (the day + the source's label
delay), it requests one run of those checks for that partition, tagged as a re-evaluation, so the checks'
descriptions and metadata say so. Days whose labels already existed when they were scored were evaluated
then; they are not re-run.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd

from observability_pipelines.assets.model_checks import PREDICTIONS, REEVALUATION_TAG
from observability_pipelines.resources.label_clock import NOW_TAG, LabelClock
from observability_pipelines.resources.source import RawDataSource

LABEL_CHECKS = ("model_performance", "model_fairness", "feature_importance_drift", "estimated_performance")
CHECK_KEYS = [dg.AssetCheckKey(PREDICTIONS, name) for name in LABEL_CHECKS]
FIRST_TICK_LOOKBACK = dt.timedelta(days=1)  # on its first tick the sensor catches arrivals of the last day
TICK_SECONDS = 3600


def labels_complete_at(day: str, delay_days: float) -> pd.Timestamp:
    """When the last label of a day's applications is observed: the end of the day plus the label delay."""
    return pd.Timestamp(day) + pd.Timedelta(days=1) + pd.Timedelta(days=delay_days)


def arrived_between(days: set[str], since: pd.Timestamp, now: pd.Timestamp, delay_days: float) -> list[str]:
    """The days whose labels became complete in ``(since, now]``."""
    return sorted(d for d in days if since < labels_complete_at(d, delay_days) <= now)


@dg.sensor(
    name="label_arrival_sensor",
    # The predictions asset is in the target only so that the sensor's job carries its partitions: a job of
    # partitioned checks alone has none, and Dagster refuses its partitioned runs ("no PartitionsDefinition
    # shared by all the provided assets"). Each run selects no asset: the checks run, nothing is re-scored.
    target=dg.AssetSelection.assets(PREDICTIONS) | dg.AssetSelection.checks(*CHECK_KEYS),
    minimum_interval_seconds=TICK_SECONDS,
    default_status=dg.DefaultSensorStatus.STOPPED,  # like the schedules that score the days: turn on together
    description="When a scored day's labels arrive (the day + the label delay), re-runs its label-based model "
    "checks (performance, fairness, importance, realized vs estimated) for that partition.",
)
def label_arrival_sensor(context: dg.SensorEvaluationContext, raw_data: RawDataSource):
    now = LabelClock.of_run(None).now
    since = pd.Timestamp(context.cursor) if context.cursor else now - FIRST_TICK_LOOKBACK
    scored = context.instance.get_materialized_partitions(PREDICTIONS)
    days = arrived_between(scored, since, now, raw_data.label_delay_days)
    context.update_cursor(now.isoformat())
    if not days:
        return dg.SkipReason(f"no scored day's labels arrived between {since:%Y-%m-%d %H:%M} and {now:%Y-%m-%d %H:%M} UTC")
    return [
        dg.RunRequest(run_key=f"labels-arrived-{day}", partition_key=day, asset_selection=[], asset_check_keys=CHECK_KEYS,
                      tags={REEVALUATION_TAG: "1", NOW_TAG: now.isoformat()})
        for day in days
    ]
