"""Fault scenarios for root-cause analysis: run the real pipelines with faults, then ask the RCA engine.

Shared by tests/lineage/test_rca.py (a small fixed sweep) and benchmarks/bench_rca.py (the full sweep).
Each fault lands in its own partition after a few clean days, so one run of the pipelines serves many
cases; drifted partitions are quarantined from drift references, so faults do not contaminate each other.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from observability_pipelines.data.faults import Fault

DAILY = ["raw_customers", "raw_transactions", "raw_labels", "clean_customers", "clean_transactions",
         "clean_labels", "customer_features", "training_set"]


@dataclass
class Case:
    asset: str
    kind: str
    column: str | None = None
    magnitude: float | None = None
    symptom: str = "training_set"
    decoys: list[dict] = field(default_factory=list)  # unrelated faults in the same partition

    def fault(self, partition: str) -> dict:
        return Fault(self.asset, partition, self.kind, self.column, self.magnitude).to_record()


@dataclass
class Outcome:
    case: Case
    partition: str
    ranked: list[tuple[str, str | None, str]]  # (asset, column, kind) best first
    elapsed_ms: float
    message: str
    baseline: str | None  # most-upstream failing asset

    @property
    def hit1(self) -> bool:
        return bool(self.ranked) and self.ranked[0][0] == self.case.asset

    @property
    def hit3(self) -> bool:
        return any(r[0] == self.case.asset for r in self.ranked[:3])

    @property
    def column_hit(self) -> bool | None:
        if self.case.column is None:
            return None
        return bool(self.ranked) and self.ranked[0][1] == self.case.column

    @property
    def kind_hit(self) -> bool:
        return bool(self.ranked) and self.ranked[0][2] == self.case.kind


def run_sweep(cases: Sequence[Case], *, warmup_days: int = 4, customers_per_day: int = 250,
              workdir: Path | None = None, start: str = "2026-03-02") -> tuple[list[Outcome], str, list[str]]:
    from lineage.analysis.rca import analyze
    from lineage.store import LineageStore
    from observability_pipelines.definitions import all_assets, defs
    from observability_pipelines.observe.openlineage import OpenLineageEmitter, reset_emitters
    from observability_pipelines.resources.faults import FaultInjector, FaultSpec
    from observability_pipelines.resources.io_managers import ModelArtifactIOManager, ParquetIOManager
    from observability_pipelines.resources.source import RawDataSource

    workdir = Path(workdir or tempfile.mkdtemp(prefix="rca-sweep-"))
    first = dt.date.fromisoformat(start)
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range(warmup_days + len(cases))]
    case_days = days[warmup_days:]
    plan = [FaultSpec(**c.fault(p)) for c, p in zip(cases, case_days)]
    plan += [FaultSpec(**{**d, "partition": p}) for c, p in zip(cases, case_days) for d in c.decoys]

    db = workdir / "lineage.db"
    previous = os.environ.get("OBS_LINEAGE_DB")
    try:
        os.environ["OBS_LINEAGE_DB"] = f"sqlite:///{db}"
        reset_emitters()
        resources = {
            "io_manager": ParquetIOManager(base_path=str(workdir / "data")),
            "model_io_manager": ModelArtifactIOManager(base_path=str(workdir / "data")),
            "raw_data": RawDataSource(customers_per_day=customers_per_day),
            "faults": FaultInjector(plan=plan),
            "openlineage": OpenLineageEmitter(outbox_path=str(workdir / "outbox.db")),
        }
        instance = dg.DagsterInstance.ephemeral()
        assets = [*all_assets, *defs.asset_checks]

        def run(selection, partition=None):
            dg.materialize(assets, selection=selection, partition_key=partition, resources=resources,
                           instance=instance, raise_on_error=False)

        for day in days:
            run(DAILY, day)
        run(["trained_model", "model_evaluation"])
        for day in days:
            run(["batch_predictions"], day)

        store = LineageStore.open(f"sqlite:///{db}")
        outcomes = []
        for case, partition in zip(cases, case_days):
            started = time.perf_counter()
            result = analyze(store, case.symptom, partition=partition)
            elapsed = (time.perf_counter() - started) * 1000
            ranked = [(c.asset, c.column, c.kind) for c in result.candidates]
            outcomes.append(Outcome(case, partition, ranked, elapsed, result.message,
                                    most_upstream_failing(result)))
        store.dispose()
    finally:
        # The emitter reads this at run time; leave the caller's process as it was.
        if previous is None:
            os.environ.pop("OBS_LINEAGE_DB", None)
        else:
            os.environ["OBS_LINEAGE_DB"] = previous
        reset_emitters()
    return outcomes, f"sqlite:///{db}", days[:warmup_days]


def most_upstream_failing(result) -> str | None:
    """Baseline: the failing ancestor farthest from the symptom (no echo or column reasoning)."""
    return result.failing_ancestors[0]["asset"] if result.failing_ancestors else None
