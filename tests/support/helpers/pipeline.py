"""Real Dagster runs of the reference pipelines on small seeded data, and service checks."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

SMALL = 250  # applicants per day in tests: enough signal, fast runs

DAILY = ["raw_customers", "raw_transactions", "raw_labels", "clean_customers", "clean_transactions",
         "clean_labels", "customer_features", "training_set"]
MODEL = ["trained_model", "model_evaluation"]


def require_service(name: str, host: str, port: int) -> None:
    """Skip when a backing service is absent, but never in CI, where a skip would hide a broken path."""
    import socket

    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        message = f"{name} not reachable at {host}:{port} ({exc}); start it (see README, 'Services')"
        if os.environ.get("CI"):
            pytest.fail(f"{message} — CI must run this test, not skip it")
        pytest.skip(message)


class Pipeline:
    """Runs the reference assets for real with small data in an isolated storage folder."""

    def __init__(self, base: Path, customers_per_day: int = SMALL, plan: Sequence[dict] = ()):
        from observability_pipelines.resources.faults import FaultInjector, FaultSpec
        from observability_pipelines.resources.io_managers import ModelArtifactIOManager, ParquetIOManager
        from observability_pipelines.observe.openlineage import OpenLineageResource
        from observability_pipelines.resources.source import RawDataSource

        self.base = base
        self.instance = dg.DagsterInstance.ephemeral()
        self.resources = {
            "io_manager": ParquetIOManager(base_path=str(base)),
            "model_io_manager": ModelArtifactIOManager(base_path=str(base)),
            "raw_data": RawDataSource(customers_per_day=customers_per_day),
            "faults": FaultInjector(plan=[FaultSpec(**f) for f in plan]),
            "openlineage": OpenLineageResource(),
        }

    def materialize(self, names: Sequence[str], partition: str | None = None, raise_on_error: bool = True):
        from observability_pipelines.definitions import all_assets, defs

        return dg.materialize(
            [*all_assets, *defs.asset_checks],
            selection=list(names),
            partition_key=partition,
            resources=self.resources,
            instance=self.instance,
            raise_on_error=raise_on_error,
        )

    def run_days(self, partitions: Sequence[str], with_model: bool = True) -> None:
        for p in partitions:
            self.materialize(DAILY, p)
        if with_model:
            self.materialize(MODEL)
            for p in partitions:
                self.materialize(["batch_predictions"], p)

    def read(self, asset: str, partition: str | None = None) -> pd.DataFrame:
        return pd.read_parquet(self.base / asset / f"{partition}.parquet") if partition else pd.read_parquet(
            self.base / f"{asset}.parquet"
        )
