"""The observers every reference asset gets: the toolkit's own, plus the reference project's fault injection.

The reference pipelines compose the toolkit's observers exactly as a user would; only ``FaultObserver``
(planned faults from ``OBS_FAULT_PLAN`` / run config, through the ``faults`` resource) is theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg
import pandas as pd

from observability_pipelines.data.contracts import CATEGORICAL, CONTRACTS, INTEGER, NUMERIC
from observability_pipelines.observe.asset import Observation, Observer

Previous = Callable[[dg.AssetExecutionContext], pd.DataFrame]


class FaultObserver(Observer):
    """Applies the fault plan's faults for this asset and partition to the value before it is checked.

    ``previous`` loads the prior partition's data (the ``stale_partition`` fault replays it).
    """

    required_resource_keys = frozenset({"faults"})

    def __init__(self, previous: Previous | None = None) -> None:
        self.previous = previous

    def transform(self, obs: Observation, value: Any) -> Any:
        if not isinstance(value, pd.DataFrame):
            return value
        context = obs.context
        prev = (lambda: self.previous(context)) if self.previous else None
        value, applied = context.resources.faults.apply(obs.asset, obs.partition, value, prev)
        for fault in applied:
            context.log.warning(f"fault plan: injected {fault.describe()}")
        return value


def drift_columns(asset: str) -> list[str]:
    """Every numeric and categorical column except keys and bookkeeping."""
    contract = CONTRACTS[asset]
    return [
        column
        for column, kind in contract.columns.items()
        if kind in (NUMERIC, INTEGER, CATEGORICAL) and column not in contract.key and column != "split"
    ]


def standard_observers(asset: str, *, partitioned: bool = True, previous: Previous | None = None) -> list[Observer]:
    """Lineage emission for every asset; a GE suite for every table; drift for every partitioned table."""
    from observability_pipelines.checks.drift_observer import DriftObserver
    from observability_pipelines.checks.great_expectations import GreatExpectationsObserver
    from observability_pipelines.observe.descriptions import ColumnDescriptions
    from observability_pipelines.observe.openlineage import OpenLineageObserver

    # Emission first: its on_success runs after every observer's checks are in. Faults before checks.
    observers: list[Observer] = [OpenLineageObserver(), FaultObserver(previous)]
    if asset in CONTRACTS:
        observers.append(ColumnDescriptions(CONTRACTS[asset].descriptions))  # the contract's text per column
        observers.append(GreatExpectationsObserver(asset))
        if partitioned:
            observers.append(DriftObserver(columns=drift_columns(asset)))
    return observers
