"""The project's custom model-monitoring dataset facets (schema:
``lineage/emission/schemas/MonitoringDatasetFacets.json``), on the dataset version a check evaluated.

==================  ===================================  ============================================
facet key           class                                written by
==================  ===================================  ============================================
``explanationDrift``  :class:`ExplanationDriftDatasetFacet`  an explanation-drift check (SHAP shares, ranks)
``metricRegression``  :class:`RegressionDatasetFacet`        a regression check (change points of a series)
``metricAnomaly``     :class:`AnomalyDatasetFacet`           a volume or freshness anomaly check
``segments``          :class:`SegmentsDatasetFacet`          a per-segment performance or drift check
==================  ===================================  ============================================

One class writes each facet (``from_result``, from the check's result object) and reads it
(``from_payload``). Aggregates only: attribution shares, series levels, a partition's row count or delay,
per-segment metrics of at most ``TOP_K`` + 2 segments; never a row's value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from typing import Any, ClassVar, Self

import attr
from lineage.facets._base import DatasetFacet

from lineage.facets._values import Parsed, boolean, clip01, finite, integer, items, mapping, text

MONITORING_SCHEMA_ID = (
    "https://raw.githubusercontent.com/observability-pipelines/observability-pipelines/main/"
    "lineage/emission/schemas/MonitoringDatasetFacets.json"
)
MAX_FEATURES = 64  # features kept when reading an explanation facet (bounded whatever a producer sends)
MAX_SEGMENTS = 16  # segments per attribute kept when reading (writers keep TOP_K + other + missing)


def monitoring_schema() -> dict[str, Any]:
    """The shipped JSON Schema of the four facets (its ``$id`` is :data:`MONITORING_SCHEMA_ID`)."""
    path = resources.files("lineage.emission") / "schemas" / "MonitoringDatasetFacets.json"
    return json.loads(path.read_text("utf-8"))


def _count(v: Any) -> int | None:
    n = integer(v)
    return n if n is not None and n >= 0 else None


def _name(v: Any) -> str | None:
    """A required naming field (a kind, a metric): a non-empty string, else the facet is malformed."""
    return v if isinstance(v, str) and v else None


def _names(v: Any) -> list[str] | None:
    return [str(x) for x in v if isinstance(x, str)] if isinstance(v, list) else None


@attr.define
class FeatureAttribution:
    """One feature's share of mean |SHAP| at training time and now, its signed change and ranks (1 = top)."""

    baselineShare: float | None = None  # noqa: N815
    currentShare: float | None = None  # noqa: N815
    shareChange: float | None = None  # noqa: N815
    baselineRank: int | None = None  # noqa: N815
    currentRank: int | None = None  # noqa: N815

    @classmethod
    def from_payload(cls, raw: Any) -> Self | None:
        if not isinstance(raw, Mapping):
            return None
        change = finite(raw.get("shareChange"))
        return cls(clip01(finite(raw.get("baselineShare"))), clip01(finite(raw.get("currentShare"))),
                   change if change is not None and abs(change) <= 1 else None,
                   _count(raw.get("baselineRank")), _count(raw.get("currentRank")))


@attr.define
class ExplanationDriftDatasetFacet(Parsed, DatasetFacet):
    """Custom dataset facet ``explanationDrift``: how the model's SHAP attribution on this batch moved from
    training time (share of attribution moved, features whose attribution collapsed)."""

    features: dict[str, FeatureAttribution] = attr.field(factory=dict)
    drifted: bool | None = attr.field(default=None)
    movedShare: float | None = attr.field(default=None)  # noqa: N815  total variation of the shares, 0..1
    maxMovedShare: float | None = attr.field(default=None)  # noqa: N815
    lostFeatures: list[str] | None = attr.field(default=None)  # noqa: N815  largest loss first
    sampleRows: int | None = attr.field(default=None)  # noqa: N815  rows explained (bounded sample)
    baselineRows: int | None = attr.field(default=None)  # noqa: N815
    KEY: ClassVar[str] = "explanationDrift"

    @staticmethod
    def _get_schema() -> str:
        return MONITORING_SCHEMA_ID + "#/$defs/ExplanationDriftDatasetFacet"

    @property
    def top_feature(self) -> str | None:
        shares = {f: a.currentShare for f, a in self.features.items() if a.currentShare is not None}
        return max(shares, key=shares.get) if shares else None

    @classmethod
    def from_result(cls, result: Any, **fields: Any) -> Self:
        """From an :class:`~observability_pipelines.checks.explanations.ExplanationDriftResult`."""
        features = {f: FeatureAttribution(result.baseline_share[f], result.current_share[f], result.share_change[f],
                                          result.baseline_rank[f], result.current_rank[f])
                    for f in result.current_share}
        return cls(features=features, drifted=bool(result.drifted), movedShare=float(result.moved_share),
                   lostFeatures=list(result.lost), **fields)

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        raw = list(mapping(payload.get("features")).items())[:MAX_FEATURES]
        features = {str(f): a for f, v in raw if (a := FeatureAttribution.from_payload(v)) is not None}
        moved = clip01(finite(payload.get("movedShare")))
        if not features and moved is None:
            return None
        return cls(features=features, drifted=boolean(payload.get("drifted")), movedShare=moved,
                   maxMovedShare=clip01(finite(payload.get("maxMovedShare"))),
                   lostFeatures=_names(payload.get("lostFeatures")), sampleRows=_count(payload.get("sampleRows")),
                   baselineRows=_count(payload.get("baselineRows")))


@attr.define
class RegressionDatasetFacet(Parsed, DatasetFacet):
    """Custom dataset facet ``metricRegression``: change points in the partition series of one metric up to
    this partition; ``evaluated`` false while fewer than ``partitionsNeeded`` partitions have a value."""

    metric: str = attr.field(default="")
    source: str | None = attr.field(default=None)  # the check whose metadata is the series, or None
    regression: bool | None = attr.field(default=None)
    evaluated: bool | None = attr.field(default=None)
    direction: str | None = attr.field(default=None)  # the bad direction: decrease, increase, both
    partitionsExamined: int | None = attr.field(default=None)  # noqa: N815
    partitionsNeeded: int | None = attr.field(default=None)  # noqa: N815
    referenceLevel: float | None = attr.field(default=None)  # noqa: N815
    currentLevel: float | None = attr.field(default=None)  # noqa: N815
    signedChange: float | None = attr.field(default=None)  # noqa: N815  current - reference
    relativeChange: float | None = attr.field(default=None)  # noqa: N815
    changePoints: int | None = attr.field(default=None)  # noqa: N815
    regimeStartPartition: str | None = attr.field(default=None)  # noqa: N815
    KEY: ClassVar[str] = "metricRegression"

    @staticmethod
    def _get_schema() -> str:
        return MONITORING_SCHEMA_ID + "#/$defs/RegressionDatasetFacet"

    @classmethod
    def from_result(cls, result: Any, metric: str, **fields: Any) -> Self:
        """From a :class:`~observability_pipelines.checks.change_points.RegressionResult`."""
        return cls(metric=metric, regression=bool(result.regression), evaluated=bool(result.evaluated),
                   partitionsExamined=int(result.n), referenceLevel=result.reference_level,
                   currentLevel=result.current_level, signedChange=result.change,
                   relativeChange=result.relative_change, changePoints=len(result.change_keys),
                   regimeStartPartition=result.change_key, **fields)

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        metric = _name(payload.get("metric"))
        if not metric:
            return None
        levels = {k: finite(payload.get(k)) for k in ("referenceLevel", "currentLevel", "signedChange",
                                                     "relativeChange")}
        counts = {k: _count(payload.get(k)) for k in ("partitionsExamined", "partitionsNeeded", "changePoints")}
        return cls(metric=metric, source=text(payload.get("source")), regression=boolean(payload.get("regression")),
                   evaluated=boolean(payload.get("evaluated")), direction=text(payload.get("direction")),
                   regimeStartPartition=text(payload.get("regimeStartPartition")), **levels, **counts)


@attr.define
class AnomalyDatasetFacet(Parsed, DatasetFacet):
    """Custom dataset facet ``metricAnomaly``: this partition's row count (``volume``) or materialization delay
    (``freshness``) against the thresholds learned from the asset's own history (weekday profile)."""

    kind: str = attr.field(default="")  # volume or freshness
    measure: str | None = attr.field(default=None)  # row_count or delay_seconds
    anomalous: bool | None = attr.field(default=None)
    evaluated: bool | None = attr.field(default=None)
    value: float | None = attr.field(default=None)
    expected: float | None = attr.field(default=None)
    lower: float | None = attr.field(default=None)
    upper: float | None = attr.field(default=None)
    z: float | None = attr.field(default=None)
    historyPartitions: int | None = attr.field(default=None)  # noqa: N815
    historyNeeded: int | None = attr.field(default=None)  # noqa: N815
    KEY: ClassVar[str] = "metricAnomaly"

    @staticmethod
    def _get_schema() -> str:
        return MONITORING_SCHEMA_ID + "#/$defs/AnomalyDatasetFacet"

    @classmethod
    def from_result(cls, result: Any, kind: str, measure: str, **fields: Any) -> Self:
        """From an :class:`~observability_pipelines.checks.anomalies.AnomalyResult`."""
        return cls(kind=kind, measure=measure, anomalous=bool(result.anomalous), evaluated=bool(result.evaluated),
                   value=result.value, expected=result.expected, lower=result.lower, upper=result.upper,
                   z=result.z, historyPartitions=int(result.n_history), **fields)

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        kind = _name(payload.get("kind"))
        if not kind:
            return None
        numbers = {k: finite(payload.get(k)) for k in ("value", "expected", "lower", "upper", "z")}
        return cls(kind=kind, measure=text(payload.get("measure")), anomalous=boolean(payload.get("anomalous")),
                   evaluated=boolean(payload.get("evaluated")), historyPartitions=_count(payload.get("historyPartitions")),
                   historyNeeded=_count(payload.get("historyNeeded")), **numbers)


@attr.define
class SegmentGroup:
    """The segments of one attribute: per segment its metrics (``rows`` included), and the failing ones."""

    segments: dict[str, dict[str, float]] = attr.field(factory=dict)
    failing: list[str] = attr.field(factory=list)

    @classmethod
    def from_payload(cls, raw: Any) -> Self | None:
        if not isinstance(raw, Mapping):
            return None
        segments = {}
        for name, values in list(mapping(raw.get("segments")).items())[:MAX_SEGMENTS]:
            numbers = {str(k): x for k, v in mapping(values).items() if (x := finite(v)) is not None}
            segments[str(name)] = numbers
        return cls(segments, [s for s in items(raw.get("failing")) if isinstance(s, str)])


@attr.define
class SegmentsDatasetFacet(Parsed, DatasetFacet):
    """Custom dataset facet ``segments``: performance (``kind`` performance) or drift (``kind`` drift) of this
    batch per segment of bounded-cardinality attributes (region, the sensitive attribute)."""

    kind: str = attr.field(default="")
    attributes: dict[str, SegmentGroup] = attr.field(factory=dict)
    failed: bool | None = attr.field(default=None)
    KEY: ClassVar[str] = "segments"

    @staticmethod
    def _get_schema() -> str:
        return MONITORING_SCHEMA_ID + "#/$defs/SegmentsDatasetFacet"

    @property
    def failing_segments(self) -> int:
        return sum(len(g.failing) for g in self.attributes.values())

    @classmethod
    def from_results(cls, kind: str, results: Mapping[str, Any]) -> Self:
        """From ``{attribute: SegmentResult}`` (:mod:`observability_pipelines.checks.segments`)."""
        groups = {a: SegmentGroup({s: {k: float(v) for k, v in m.items() if v is not None}
                                   for s, m in r.by_segment.items()}, list(r.failing)) for a, r in results.items()}
        return cls(kind=kind, attributes=groups, failed=any(r.failed for r in results.values()))

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        kind = _name(payload.get("kind"))
        groups = {str(a): g for a, raw in mapping(payload.get("attributes")).items()
                  if (g := SegmentGroup.from_payload(raw)) is not None}
        if not kind or not groups:
            return None
        return cls(kind=kind, attributes=groups, failed=boolean(payload.get("failed")))


MONITORING_FACETS = (ExplanationDriftDatasetFacet, RegressionDatasetFacet, AnomalyDatasetFacet, SegmentsDatasetFacet)
