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
    from observability_pipelines.checks.drift_observer import DriftObserver

    observers: list[Observer] = []
    if asset in CONTRACTS and partitioned:
        observers.append(DriftObserver(columns=drift_columns(asset)))
    return observers
