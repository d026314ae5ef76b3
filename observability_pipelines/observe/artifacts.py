"""Non-tabular asset values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ModelArtifact:
    """A trained model with what is needed to use and audit it."""

    model: Any
    version: str
    feature_names: list[str]
    threshold: float
    label: str
    trained_partitions: list[str]
    train_rows: int
    params: dict[str, Any] = field(default_factory=dict)
    train_metrics: dict[str, float] = field(default_factory=dict)
    permutation_importance: dict[str, float] = field(default_factory=dict)

    def manifest(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "model_class": type(self.model).__name__,
            "feature_names": self.feature_names,
            "threshold": self.threshold,
            "label": self.label,
            "trained_partitions": self.trained_partitions,
            "train_rows": self.train_rows,
            "params": self.params,
            "train_metrics": self.train_metrics,
            "permutation_importance": self.permutation_importance,
        }
