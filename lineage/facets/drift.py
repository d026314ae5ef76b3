"""The project's custom ``drift`` dataset facet (schema: ``lineage/emission/schemas/DriftDatasetFacet.json``).

One class writes it (``DriftDatasetFacet.from_fact`` from a drift check's result) and reads it
(``DriftDatasetFacet.from_payload``). Statistics only: never row values, category labels or messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from importlib import resources
from typing import Any, ClassVar, Self

import attr
from lineage.facets._base import DatasetFacet

from lineage.facets._values import Parsed, boolean, clip01, finite, integer, mapping, text

KEY = "drift"
DRIFT_SCHEMA_ID = (
    "https://raw.githubusercontent.com/observability-pipelines/observability-pipelines/main/"
    "lineage/emission/schemas/DriftDatasetFacet.json"
)
DRIFT_SCHEMA_URL = DRIFT_SCHEMA_ID + "#/$defs/DriftDatasetFacet"
NULL_STATUS = "null_increase"  # the drift check's status when the null share rose past its limit
_KINDS = ("numerical", "categorical")


def drift_schema() -> dict[str, Any]:
    """The shipped JSON Schema of the drift facet (its ``$id`` is :data:`DRIFT_SCHEMA_ID`)."""
    text_ = (resources.files("lineage.emission") / "schemas" / "DriftDatasetFacet.json").read_text("utf-8")
    return json.loads(text_)


@attr.define
class ColumnDrift:
    """Drift of one column. ``nullDrift``: the share of nulls rose past the check's limit."""

    drifted: bool
    kind: str | None = None
    test: str | None = None
    statistic: float | None = None
    pValue: float | None = None  # noqa: N815
    threshold: float | None = None
    psi: float | None = None
    wassersteinNormalized: float | None = None  # noqa: N815
    jsDistance: float | None = None  # noqa: N815
    newCategories: int | None = None  # noqa: N815
    referenceCategories: int | None = None  # noqa: N815
    nullDrift: bool | None = None  # noqa: N815
    nullFractionReference: float | None = None  # noqa: N815
    nullFractionCurrent: float | None = None  # noqa: N815
    infiniteReference: int | None = None  # noqa: N815
    infiniteCurrent: int | None = None  # noqa: N815
    status: str | None = None

    @property
    def is_null_burst(self) -> bool:
        return bool(self.nullDrift) or self.status == NULL_STATUS

    @property
    def has_new_infinities(self) -> bool:
        return (self.infiniteCurrent or 0) > (self.infiniteReference or 0)

    @property
    def score(self) -> float | None:
        """A distance in [0, 1] when one is known (KS statistic, normalised Wasserstein, JS distance)."""
        if self.test == "ks" and self.statistic is not None:
            return clip01(self.statistic)
        for v in (self.jsDistance, self.wassersteinNormalized):
            if v is not None:
                return clip01(v)
        return None

    @classmethod
    def from_fact(cls, col: Mapping[str, Any]) -> Self:
        """From one column of a drift check's result (snake_case); free text is dropped."""
        read = cls._read(lambda field: col.get(_FACT_KEYS.get(field, field)))
        # A check counts zero infinities; the facet leaves a zero count out.
        return attr.evolve(read, infiniteReference=read.infiniteReference or None,
                           infiniteCurrent=read.infiniteCurrent or None)

    @classmethod
    def from_payload(cls, col: Any) -> Self | None:
        """From the facet's camelCase JSON; a bad field is dropped, a non-object gives ``None``."""
        return cls._read(col.get) if isinstance(col, Mapping) else None

    @classmethod
    def _read(cls, get: Callable[[str], Any]) -> Self:
        """One reading of every field, ``get(facet field name)`` giving its raw value."""
        return cls(
            drifted=bool(boolean(get("drifted"))),
            kind=get("kind") if get("kind") in _KINDS else None,
            test=text(get("test")),
            statistic=finite(get("statistic")),
            pValue=clip01(finite(get("pValue"))),
            threshold=finite(get("threshold")),
            psi=finite(get("psi")),
            wassersteinNormalized=finite(get("wassersteinNormalized")),
            jsDistance=finite(get("jsDistance")),
            newCategories=_count(get("newCategories")),
            referenceCategories=_count(get("referenceCategories")),
            nullDrift=boolean(get("nullDrift")),
            nullFractionReference=clip01(finite(get("nullFractionReference"))),
            nullFractionCurrent=clip01(finite(get("nullFractionCurrent"))),
            infiniteReference=_count(get("infiniteReference")),
            infiniteCurrent=_count(get("infiniteCurrent")),
            status=text(get("status")),
        )


# Facet field -> key of the same value in a drift check's result (others share the name).
_FACT_KEYS = {
    "pValue": "p_value", "wassersteinNormalized": "wasserstein_norm", "jsDistance": "js_distance",
    "newCategories": "n_new_categories", "referenceCategories": "n_categories_ref", "nullDrift": "null_drift",
    "nullFractionReference": "null_fraction_ref", "nullFractionCurrent": "null_fraction_cur",
    "infiniteReference": "inf_count_ref", "infiniteCurrent": "inf_count_cur",
}


def _count(v: Any) -> int | None:
    n = integer(v)
    return n if n is not None and n >= 0 else None


@attr.define
class DriftDatasetFacet(Parsed, DatasetFacet):
    """Custom dataset facet ``drift``: distribution drift of this dataset version (statistics only)."""

    drifted: bool
    shareDrifted: float  # noqa: N815
    columns: dict[str, ColumnDrift] = attr.field(factory=dict)
    driftShareThreshold: float | None = attr.field(default=None)  # noqa: N815
    referenceRows: int | None = attr.field(default=None)  # noqa: N815
    currentRows: int | None = attr.field(default=None)  # noqa: N815
    referencePartitions: list[str] | None = attr.field(default=None)  # noqa: N815
    _additional_skip_redact: ClassVar[list[str]] = ["drifted", "shareDrifted"]
    KEY: ClassVar[str] = KEY

    @staticmethod
    def _get_schema() -> str:
        return DRIFT_SCHEMA_URL

    @property
    def drifted_columns(self) -> list[str]:
        return [name for name, col in self.columns.items() if col.drifted]

    @classmethod
    def from_fact(cls, fact: Mapping[str, Any]) -> Self:
        """From a drift check's result (``DatasetDriftResult.to_dict()``); free-text messages are dropped."""
        columns = {str(n): ColumnDrift.from_fact(c) for n, c in mapping(fact.get("columns")).items()
                   if isinstance(c, Mapping)}
        refs = fact.get("reference_partitions")
        return cls(
            drifted=bool(boolean(fact.get("drifted"))),
            shareDrifted=clip01(finite(fact.get("share_drifted"))) or 0.0,
            columns=columns,
            driftShareThreshold=finite(fact.get("drift_share_threshold")),
            referenceRows=_count(fact.get("n_ref")),
            currentRows=_count(fact.get("n_cur")),
            referencePartitions=[str(r) for r in refs] if isinstance(refs, list) else None,
        )

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        columns = {str(n): c for n, raw in mapping(payload.get("columns")).items()
                   if (c := ColumnDrift.from_payload(raw)) is not None}
        share = clip01(finite(payload.get("shareDrifted")))
        if share is None and columns:
            share = len([c for c in columns.values() if c.drifted]) / len(columns)
        refs = payload.get("referencePartitions")
        return cls(
            drifted=bool(boolean(payload.get("drifted"))),
            shareDrifted=share or 0.0,
            columns=columns,
            driftShareThreshold=finite(payload.get("driftShareThreshold")),
            referenceRows=_count(payload.get("referenceRows")),
            currentRows=_count(payload.get("currentRows")),
            referencePartitions=[str(r) for r in refs] if isinstance(refs, list) else None,
        )
