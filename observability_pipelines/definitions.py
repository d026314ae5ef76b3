"""The Dagster code location: assets, checks, jobs, schedules, sensors and resources."""

from __future__ import annotations

import dagster as dg

from observability_pipelines.assets.clean import clean_assets
from observability_pipelines.assets.features import customer_features
from observability_pipelines.assets.ingest import raw_assets
from observability_pipelines.assets.label_arrival import label_arrival_sensor
from observability_pipelines.assets.training import batch_predictions, model_evaluation, trained_model, training_set
from observability_pipelines.automation.jobs import automation_sensor, jobs, schedules
from observability_pipelines.automation.outbox_sensor import outbox_flush_sensor
from observability_pipelines.automation.rca_sensor import rca_report, rca_sensor
from observability_pipelines.automation.trace_sensor import trace_sensors
from observability_pipelines.assets.model_checks import model_check_definitions
from observability_pipelines.assets.monitoring_checks import monitoring_check_definitions, with_freshness_policies
from observability_pipelines.assets.relationships import relationship_checks
from observability_pipelines.data.contracts import SENSITIVE_COLUMNS
from observability_pipelines.observe.openlineage import OpenLineageResource
from observability_pipelines.resources.faults import FaultInjector
from observability_pipelines.resources.io_managers import ModelArtifactIOManager, ParquetIOManager
from observability_pipelines.resources.source import RawDataSource

all_assets = [
    *raw_assets,
    *clean_assets,
    customer_features,
    training_set,
    trained_model,
    model_evaluation,
    batch_predictions,
]


def default_resources() -> dict:
    """Every setting comes from the environment at run time (OBS_DATA_DIR, OBS_FAULT_PLAN, ...)."""
    return {
        "io_manager": ParquetIOManager(),
        "model_io_manager": ModelArtifactIOManager(),
        "raw_data": RawDataSource(),
        "faults": FaultInjector(),
        "openlineage": OpenLineageResource(private_columns=list(SENSITIVE_COLUMNS)),
    }


defs = dg.Definitions(
    assets=[*with_freshness_policies(all_assets), rca_report],
    asset_checks=[*relationship_checks, *model_check_definitions, *monitoring_check_definitions],
    sensors=[outbox_flush_sensor, rca_sensor, automation_sensor, *trace_sensors, label_arrival_sensor],
    jobs=jobs,
    schedules=schedules,
    resources=default_resources(),
)
