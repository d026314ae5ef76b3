"""Data-quality facets: ``dataQualityAssertions`` (test verdicts) and ``dataQualityMetrics`` (column
profiles), on openlineage-python's classes, plus the ``test`` run facet other producers (dbt) send."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self

import attr
from openlineage.client.facet_v2 import (
    data_quality_assertions_dataset as dqa,
)
from openlineage.client.facet_v2 import (
    data_quality_metrics_input_dataset as dqm,
)
from openlineage.client.generated import test_run

from lineage.facets._values import Parsed, boolean, finite, integer, items, mapping, text

Assertion = dqa.Assertion
ColumnMetrics = dqm.ColumnMetrics


def _assertion(raw: Any) -> Assertion | None:
    """One assertion; ``None`` without a test name or a readable verdict. Expected/actual values are
    not kept (they can carry data)."""
    if not isinstance(raw, Mapping):
        return None
    name, success = text(raw.get("assertion")), boolean(raw.get("success"))
    if not name or success is None:
        return None
    return Assertion(assertion=name, success=success, column=text(raw.get("column")) or None,
                     severity=text(raw.get("severity")), name=text(raw.get("name")), params=None)


@attr.define
class AssertionsFacet(Parsed, dqa.DataQualityAssertionsDatasetFacet):
    """``dataQualityAssertions``: verdicts of tests on a dataset (GX, dbt, asset checks...)."""

    KEY: ClassVar[str] = "dataQualityAssertions"

    @classmethod
    def build(cls, assertions: Iterable[Mapping[str, Any]]) -> Self | None:
        """From ``{"assertion", "success", "column", "severity", ["name"]}`` dicts; ``None`` if none is valid."""
        ours = ({**a, "success": bool(a.get("success"))} for a in assertions if isinstance(a, Mapping))
        kept = [a for a in map(_assertion, ours) if a is not None]
        return cls(assertions=kept) if kept else None

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        kept = [a for a in map(_assertion, items(payload.get("assertions"))) if a is not None]
        return cls(assertions=kept) if kept else None

    @property
    def failed(self) -> list[Assertion]:
        return [a for a in self.assertions if not a.success]


def _column_metrics(raw: Any) -> ColumnMetrics | None:
    if not isinstance(raw, Mapping):
        return None
    quantiles = {str(k): q for k, v in mapping(raw.get("quantiles")).items() if (q := finite(v)) is not None}
    return ColumnMetrics(
        nullCount=_nonneg(raw.get("nullCount")), distinctCount=_nonneg(raw.get("distinctCount")),
        sum=finite(raw.get("sum")), count=finite(raw.get("count")), min=finite(raw.get("min")),
        max=finite(raw.get("max")), quantiles=quantiles or None,
    )


def _nonneg(v: Any) -> int | None:
    n = integer(v)
    return n if n is not None and n >= 0 else None


@attr.define
class MetricsFacet(Parsed, dqm.DataQualityMetricsInputDatasetFacet):
    """``dataQualityMetrics`` (input facet, or the newer dataset facet of the same shape)."""

    KEY: ClassVar[str] = "dataQualityMetrics"

    @classmethod
    def build(cls, row_count: int | None, columns: Mapping[str, ColumnMetrics], file_count: int | None = None) -> Self:
        return cls(columnMetrics=dict(columns), rowCount=row_count, fileCount=file_count)

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        columns = {str(n): m for n, raw in mapping(payload.get("columnMetrics")).items()
                   if (m := _column_metrics(raw)) is not None}
        rows = _nonneg(payload.get("rowCount"))
        if not columns and rows is None:
            return None
        return cls(columnMetrics=columns, rowCount=rows, bytes=_nonneg(payload.get("bytes")),
                   fileCount=_nonneg(payload.get("fileCount")))


@attr.define
class TestRunFacet(Parsed, test_run.TestRunFacet):
    """``test`` run facet (tests a run executed, without dataset attribution; dbt sends it)."""

    KEY: ClassVar[str] = "test"
    __test__: ClassVar[bool] = False  # not a pytest class

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        tests = []
        for raw in items(payload.get("tests")):
            name, status = (text(raw.get("name")), text(raw.get("status"))) if isinstance(raw, Mapping) else (None, None)
            if name and status:
                tests.append(test_run.TestExecution(name=name, status=status.lower(), severity=text(raw.get("severity")),
                                                    type=text(raw.get("type")), params=None))
        return cls(tests=tests) if tests else None

    @property
    def failed(self) -> list[test_run.TestExecution]:
        return [t for t in self.tests if t.status in ("fail", "failed", "error")]
