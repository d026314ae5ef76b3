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
    # Scores and labels of held-out rows labelled at training time: the reference that calibrates the scores
    # and that performance estimation and prediction drift compare each batch with (no labels needed later).
    reference_scores: list[float] = field(default_factory=list)
    reference_labels: list[int] = field(default_factory=list)
    # SHAP attribution of a bounded sample of the training rows, computed once at training time (explanation
    # drift compares each batch with it): {"mean_abs": {feature: v}, "spread": {feature: v}, "rows": n}.
    shap_baseline: dict[str, Any] = field(default_factory=dict)

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
            "reference_rows": len(self.reference_scores),
            "shap_baseline_rows": self.shap_baseline.get("rows", 0),
        }
