"""The project's custom ``modelPerformance`` dataset facet (schema:
``lineage/emission/schemas/ModelPerformanceDatasetFacet.json``), on a predictions dataset version.

One class writes it (``ModelPerformanceDatasetFacet.from_check``, from a performance-estimation check's
numbers) and reads it (``from_payload``). Aggregates only: metric values, bounds, errors and row counts of
the whole batch, never a row's score or label.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import json
from importlib import resources

import attr
from lineage.facets._base import DatasetFacet

from lineage.facets._values import Parsed, boolean, clip01, finite, integer, mapping, text

KEY = "modelPerformance"
MODEL_SCHEMA_ID = (
    "https://raw.githubusercontent.com/observability-pipelines/observability-pipelines/main/"
    "lineage/emission/schemas/ModelPerformanceDatasetFacet.json"
)
MODEL_SCHEMA_URL = MODEL_SCHEMA_ID + "#/$defs/ModelPerformanceDatasetFacet"
METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")


def model_performance_schema() -> dict[str, Any]:
    """The shipped JSON Schema of the facet (its ``$id`` is :data:`MODEL_SCHEMA_ID`)."""
    path = resources.files("lineage.emission") / "schemas" / "ModelPerformanceDatasetFacet.json"
    return json.loads(path.read_text("utf-8"))


@attr.define
class MetricEstimate:
    """One metric: estimated without labels (with bounds), the evaluation it is compared with, and the
    realized value and its error (realized - estimated) once labels exist."""

    estimated: float | None = None
    lower: float | None = None
    upper: float | None = None
    evaluation: float | None = None
    realized: float | None = None
    error: float | None = None

    @property
    def drop(self) -> float | None:
        """Evaluation - estimate: positive when the estimate fell below the model's evaluation."""
        if self.estimated is None or self.evaluation is None:
            return None
        return self.evaluation - self.estimated

    @classmethod
    def from_payload(cls, raw: Any) -> Self | None:
        if not isinstance(raw, Mapping):
            return None
        unit = {k: clip01(finite(raw.get(k))) for k in ("estimated", "lower", "upper", "evaluation", "realized")}
        error = finite(raw.get("error"))
        return cls(**unit, error=error if error is not None and abs(error) <= 1 else None)


def _count(v: Any) -> int | None:
    n = integer(v)
    return n if n is not None and n >= 0 else None


@attr.define
class ModelPerformanceDatasetFacet(Parsed, DatasetFacet):
    """Custom dataset facet ``modelPerformance``: estimated (and, once labels exist, realized) performance
    of the model on this batch of predictions, and the calibration the estimate relies on."""

    metrics: dict[str, MetricEstimate] = attr.field(factory=dict)
    rows: int | None = attr.field(default=None)
    labelsArrived: bool | None = attr.field(default=None)  # noqa: N815
    confidence: float | None = attr.field(default=None)
    calibrationMethod: str | None = attr.field(default=None)  # noqa: N815
    calibrationErrorReference: float | None = attr.field(default=None)  # noqa: N815  hold-out ECE as used
    calibrationErrorRealized: float | None = attr.field(default=None)  # noqa: N815  this batch, once labelled
    modelVersion: str | None = attr.field(default=None)  # noqa: N815
    failedMetrics: list[str] | None = attr.field(default=None)  # noqa: N815  estimates below evaluation - margin
    KEY: ClassVar[str] = KEY

    @staticmethod
    def _get_schema() -> str:
        return MODEL_SCHEMA_URL

    @classmethod
    def from_check(cls, metadata: Mapping[str, Any], **fields: Any) -> Self:
        """From a check's flat numbers (``estimated/roc_auc``, ``estimated/roc_auc/lower``, ``realized/...``,
        ``evaluation/...``, ``estimation_error/...``); ``fields`` are the facet's other fields."""
        def get(name: str) -> float | None:
            return finite(getattr(metadata.get(name), "value", metadata.get(name)))

        metrics = {
            m: MetricEstimate(estimated=get(f"estimated/{m}"), lower=get(f"estimated/{m}/lower"),
                              upper=get(f"estimated/{m}/upper"), evaluation=get(f"evaluation/{m}"),
                              realized=get(f"realized/{m}"), error=get(f"estimation_error/{m}"))
            for m in METRICS if get(f"estimated/{m}") is not None
        }
        return cls(metrics=metrics, **fields)

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        metrics = {str(m): e for m, raw in mapping(payload.get("metrics")).items()
                   if (e := MetricEstimate.from_payload(raw)) is not None}
        if not metrics:
            return None
        failed = payload.get("failedMetrics")
        return cls(
            metrics=metrics,
            rows=_count(payload.get("rows")),
            labelsArrived=boolean(payload.get("labelsArrived")),
            confidence=clip01(finite(payload.get("confidence"))),
            calibrationMethod=text(payload.get("calibrationMethod")),
            calibrationErrorReference=clip01(finite(payload.get("calibrationErrorReference"))),
            calibrationErrorRealized=clip01(finite(payload.get("calibrationErrorRealized"))),
            modelVersion=text(payload.get("modelVersion")),
            failedMetrics=[str(m) for m in failed if isinstance(m, str)] if isinstance(failed, list) else None,
        )
