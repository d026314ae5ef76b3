"""The observers every reference asset gets; users compose their own the same way."""

from __future__ import annotations

from observability_pipelines.data.contracts import CATEGORICAL, CONTRACTS, INTEGER, NUMERIC
from observability_pipelines.observe.asset import Observer


def drift_columns(asset: str) -> list[str]:
    """Every numeric and categorical column except keys and bookkeeping."""
    contract = CONTRACTS[asset]
    return [
        column
        for column, kind in contract.columns.items()
        if kind in (NUMERIC, INTEGER, CATEGORICAL) and column not in contract.key and column != "split"
    ]


def standard_observers(asset: str, *, partitioned: bool = True) -> list[Observer]:
    """Lineage emission for every asset; a GE suite for every table; drift for every partitioned table."""
    from observability_pipelines.checks.drift_observer import DriftObserver
    from observability_pipelines.checks.great_expectations import GreatExpectationsObserver
    from observability_pipelines.observe.openlineage import OpenLineageObserver

    # Emission first: its on_success runs after every observer's checks are in.
    observers: list[Observer] = [OpenLineageObserver()]
    if asset in CONTRACTS:
        observers.append(GreatExpectationsObserver(asset))
        if partitioned:
            observers.append(DriftObserver(columns=drift_columns(asset)))
    return observers
