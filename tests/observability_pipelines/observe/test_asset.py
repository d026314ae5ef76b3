"""observed_asset: the checks its observers declare belong to each partition of a partitioned asset."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from observability_pipelines.observe.asset import Observation, Observer, observed_asset
from observability_pipelines.resources.faults import FaultInjector

DAILY = dg.DailyPartitionsDefinition(start_date="2026-01-01")


class RowCountObserver(Observer):
    """A minimal observer: one in-asset check that fails on an empty frame."""

    def check_specs(self, asset_key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
        return [dg.AssetCheckSpec("has_rows", asset=asset_key)]

    def on_output(self, obs: Observation) -> None:
        obs.check_results.append(dg.AssetCheckResult(check_name="has_rows", passed=len(obs.value) > 0))


@observed_asset(name="orders", partitions_def=DAILY, observers=[RowCountObserver()])
def orders(context):
    return pd.DataFrame({"id": [] if context.partition_key == "2026-01-03" else [1, 2]})


@observed_asset(name="totals", observers=[RowCountObserver()])
def totals(context):
    return pd.DataFrame({"n": [1]})


def test_in_asset_check_results_carry_their_partition():
    instance = dg.DagsterInstance.ephemeral()
    seen = {}
    for day in ("2026-01-02", "2026-01-03"):
        result = dg.materialize([orders], partition_key=day, instance=instance,
                                resources={"faults": FaultInjector(), "io_manager": dg.mem_io_manager})
        [evaluation] = result.get_asset_check_evaluations()
        seen[day] = (evaluation.partition, evaluation.passed)
    assert seen == {"2026-01-02": ("2026-01-02", True), "2026-01-03": ("2026-01-03", False)}
    [spec] = orders.check_specs
    assert spec.partitions_def == DAILY


def test_unpartitioned_asset_checks_stay_unpartitioned():
    [spec] = totals.check_specs
    assert spec.partitions_def is None
    result = dg.materialize([totals], resources={"faults": FaultInjector(), "io_manager": dg.mem_io_manager})
    assert [e.partition for e in result.get_asset_check_evaluations()] == [None]
