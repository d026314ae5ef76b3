"""The project's jobs with steps distributed to Celery workers (``dagster_celery.celery_executor``).

Same assets, checks and resources as ``observability_pipelines.definitions``; only the executor
differs, so a run here produces the same asset values as the in-process / multiprocess run.
Celery needs a *reconstructable* job: each worker re-imports this module to rebuild the job.

    import dagster as dg
    from observability_pipelines.deploy import celery_job
    dg.execute_job(dg.reconstructable(celery_job.daily_pipeline), instance=dg.DagsterInstance.get(),
                   tags={"dagster/partition": "2026-03-01"},
                   run_config={"execution": {"config": {"broker": "redis://...", "backend": "redis://..."}}})

Or point a code location at ``celery_defs`` (``dagster dev -m observability_pipelines.deploy.celery_job``).
Every process (launcher and workers) needs the same DAGSTER_HOME instance config (PostgreSQL
storage), the same OBS_DATA_DIR (shared storage) and OBS_LINEAGE_DB.
"""

from __future__ import annotations

import dagster as dg
from dagster_celery import celery_executor

from observability_pipelines.definitions import defs

celery_defs = dg.Definitions(
    assets=defs.assets,
    asset_checks=defs.asset_checks,
    jobs=defs.jobs,
    schedules=defs.schedules,
    sensors=defs.sensors,
    resources=defs.resources,
    executor=celery_executor,
)


def daily_pipeline() -> dg.JobDefinition:
    return celery_defs.resolve_job_def("daily_pipeline")


def retrain() -> dg.JobDefinition:
    return celery_defs.resolve_job_def("retrain")


def batch_predictions_job() -> dg.JobDefinition:
    return celery_defs.resolve_job_def("batch_predictions_job")
