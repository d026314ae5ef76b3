"""AI data observability on Dagster: ``with_observability(defs, expectations_dir=...)`` adds GE checks, drift,
OpenLineage events and incident analysis to an existing project (see README, "Add obs to an existing
Dagster project"). Imported lazily: importing the package loads nothing heavy."""

from __future__ import annotations

from typing import Any

__all__ = ["with_observability"]


def __getattr__(name: str) -> Any:
    if name == "with_observability":
        from observability_pipelines.integrate.with_observability import with_observability

        return with_observability
    raise AttributeError(f"module 'observability_pipelines' has no attribute {name!r}")
