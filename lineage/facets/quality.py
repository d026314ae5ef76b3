"""Data-quality facets: ``dataQualityAssertions`` (test verdicts) and ``dataQualityMetrics`` (column
profiles), with the fields of openlineage-python's classes, plus the ``test`` run facet other producers (dbt)
send."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Self

import attr

from lineage.facets._base import FACETS_SPEC, InputDatasetFacet, RedactMixin, RunFacet, check_date_time
from lineage.facets._values import Parsed, boolean, finite, integer, items, mapping, text


@attr.define
class Assertion(RedactMixin):
    """One test verdict of a ``dataQualityAssertions`` facet (the client's
    ``data_quality_assertions_dataset.Assertion``); ``success``: the test found no issue."""

    assertion: str
    success: bool
    column: str | None = attr.field(default=None)
    severity: str | None = attr.field(default=None)
    name: str | None = attr.field(default=None)
    description: str | None = attr.field(default=None)
    expected: str | None = attr.field(default=None)
    actual: str | None = attr.field(default=None)
    content: str | None = attr.field(default=None)
    contentType: str | None = attr.field(default=None)  # noqa: N815
    params: dict[str, Any] | None = attr.field(factory=dict)
    _skip_redact: ClassVar[list[str]] = ["column"]


@attr.define
class ColumnMetrics(RedactMixin):
    """The profile of one column (the client's ``data_quality_metrics_input_dataset.ColumnMetrics``)."""

    nullCount: int | None = attr.field(default=None)  # noqa: N815
    distinctCount: int | None = attr.field(default=None)  # noqa: N815
    sum: float | None = attr.field(default=None)  # noqa: A003
    count: float | None = attr.field(default=None)
    min: float | None = attr.field(default=None)  # noqa: A003
    max: float | None = attr.field(default=None)  # noqa: A003
    quantiles: dict[str, float] | None = attr.field(factory=dict)


@attr.define
class TestExecution(RedactMixin):
    """One test of a ``test`` run facet (the client's ``test_run.TestExecution``)."""

    __test__: ClassVar[bool] = False  # not a pytest class
    name: str
    status: str
    severity: str | None = attr.field(default=None)
    type: str | None = attr.field(default=None)  # noqa: A003
    description: str | None = attr.field(default=None)
    expected: str | None = attr.field(default=None)
    actual: str | None = attr.field(default=None)
    content: str | None = attr.field(default=None)
    contentType: str | None = attr.field(default=None)  # noqa: N815
    params: dict[str, Any] | None = attr.field(factory=dict)


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
class AssertionsFacet(Parsed, InputDatasetFacet):
    """``dataQualityAssertions``: verdicts of tests on a dataset (GX, dbt, asset checks...)."""

    assertions: list[Assertion]
    KEY: ClassVar[str] = "dataQualityAssertions"

    @staticmethod
    def _get_schema() -> str:
        return FACETS_SPEC + "1-1-0/DataQualityAssertionsDatasetFacet.json#/$defs/DataQualityAssertionsDatasetFacet"

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
class MetricsFacet(Parsed, InputDatasetFacet):
    """``dataQualityMetrics`` (input facet, or the newer dataset facet of the same shape)."""

    columnMetrics: dict[str, ColumnMetrics]  # noqa: N815
    rowCount: int | None = attr.field(default=None)  # noqa: N815
    bytes: int | None = attr.field(default=None)  # noqa: A003
    fileCount: int | None = attr.field(default=None)  # noqa: N815
    lastUpdated: str | None = attr.field(default=None, validator=check_date_time)  # noqa: N815
    KEY: ClassVar[str] = "dataQualityMetrics"

    @staticmethod
    def _get_schema() -> str:
        return FACETS_SPEC + "1-0-3/DataQualityMetricsInputDatasetFacet.json#/$defs/DataQualityMetricsInputDatasetFacet"

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
class TestRunFacet(Parsed, RunFacet):
    """``test`` run facet (tests a run executed, without dataset attribution; dbt sends it)."""

    tests: list[TestExecution]
    KEY: ClassVar[str] = "test"
    __test__: ClassVar[bool] = False  # not a pytest class

    @staticmethod
    def _get_schema() -> str:
        return FACETS_SPEC + "1-0-1/TestRunFacet.json#/$defs/TestRunFacet"

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        tests = []
        for raw in items(payload.get("tests")):
            name, status = (text(raw.get("name")), text(raw.get("status"))) if isinstance(raw, Mapping) else (None, None)
            if name and status:
                tests.append(TestExecution(name=name, status=status.lower(), severity=text(raw.get("severity")),
                                           type=text(raw.get("type")), params=None))
        return cls(tests=tests) if tests else None

    @property
    def failed(self) -> list[TestExecution]:
        return [t for t in self.tests if t.status in ("fail", "failed", "error")]
