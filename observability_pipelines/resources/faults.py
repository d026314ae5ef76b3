"""The fault injector: applies a fault plan from OBS_FAULT_PLAN or from run config."""

from __future__ import annotations

import os
from collections.abc import Callable

import dagster as dg
import pandas as pd
from pydantic import PrivateAttr

from observability_pipelines.data.faults import Fault, FaultPlan, apply_faults


class FaultSpec(dg.Config):
    asset: str
    partition: str | None = None
    kind: str
    column: str | None = None
    magnitude: float | None = None


class FaultInjector(dg.ConfigurableResource):
    """Faults come from ``plan`` (run config) plus the file in ``plan_file`` or, if unset, ``OBS_FAULT_PLAN``."""

    plan_file: str | None = None
    plan: list[FaultSpec] = []
    _plan: FaultPlan = PrivateAttr(default_factory=FaultPlan)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Validated at run start: a bad plan fails the run before any data is touched.
        self._plan = self.load_plan()

    def load_plan(self) -> FaultPlan:
        path = self.plan_file or os.environ.get("OBS_FAULT_PLAN") or None
        from_file = FaultPlan.from_file(path).faults if path else ()
        inline = FaultPlan.from_records(
            [{k: v for k, v in spec.model_dump().items() if v is not None} for spec in self.plan],
            source="run config fault plan",
        ).faults
        return FaultPlan(from_file + inline)

    def faults_for(self, asset: str, partition: str | None) -> list[Fault]:
        return self._plan.for_asset(asset, partition)

    def apply(
        self,
        asset: str,
        partition: str | None,
        df: pd.DataFrame,
        previous: Callable[[], pd.DataFrame] | None = None,
    ) -> tuple[pd.DataFrame, list[Fault]]:
        faults = self.faults_for(asset, partition)
        return (apply_faults(df, faults, previous) if faults else df), faults
