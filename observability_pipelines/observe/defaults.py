"""The observers every reference asset gets; users compose their own the same way."""

from __future__ import annotations

from observability_pipelines.observe.asset import Observer


def standard_observers(asset: str) -> list[Observer]:
    return []
