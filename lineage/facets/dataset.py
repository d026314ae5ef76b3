"""Dataset facets of the standard: ``schema``, ``columnLineage``, ``outputStatistics``, ``version``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Self

import attr

from lineage.facets._base import FACETS_SPEC, DatasetFacet, OutputDatasetFacet, RedactMixin
from lineage.facets._values import Parsed, boolean, integer, items, mapping, text


@attr.define
class SchemaField(RedactMixin):
    """One column of a ``schema`` facet (the client's ``SchemaDatasetFacetFields``); ``fields``: nested ones."""

    name: str
    type: str | None = attr.field(default=None)  # noqa: A003
    description: str | None = attr.field(default=None)
    ordinal_position: int | None = attr.field(default=None)
    fields: list[SchemaField] | None = attr.field(factory=list)


@attr.define
class Transformation(RedactMixin):
    """How an input column becomes an output column (the client's ``column_lineage_dataset.Transformation``)."""

    type: str  # noqa: A003
    subtype: str | None = attr.field(default=None)
    description: str | None = attr.field(default=None)
    masking: bool | None = attr.field(default=None)
    _skip_redact: ClassVar[list[str]] = ["type", "subtype", "masking"]


@attr.define
class InputField(RedactMixin):
    """An input column of a ``columnLineage`` facet (the client's ``column_lineage_dataset.InputField``)."""

    namespace: str
    name: str
    field: str
    transformations: list[Transformation] | None = attr.field(factory=list)
    _skip_redact: ClassVar[list[str]] = ["namespace", "name", "field"]


@attr.define
class ColumnInputs(RedactMixin):
    """The input columns of one output column (the client's ``column_lineage_dataset.Fields``)."""

    inputFields: list[InputField]  # noqa: N815
    transformationDescription: str | None = attr.field(default=None)  # noqa: N815
    transformationType: str | None = attr.field(default=None)  # noqa: N815


def _field(raw: Any, depth: int = 0) -> SchemaField | None:
    if not isinstance(raw, Mapping) or not text(raw.get("name")):
        return None
    nested = [f for r in items(raw.get("fields")) if (f := _field(r, depth + 1)) is not None] if depth < 8 else []
    return SchemaField(
        name=str(raw["name"]), type=text(raw.get("type")), description=text(raw.get("description")),
        ordinal_position=integer(raw.get("ordinal_position")), fields=nested,
    )


@attr.define
class SchemaFacet(Parsed, DatasetFacet):
    """``schema``: column names and types."""

    fields: list[SchemaField] | None = attr.field(factory=list)
    KEY: ClassVar[str] = "schema"

    @staticmethod
    def _get_schema() -> str:
        return FACETS_SPEC + "1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"

    @classmethod
    def build(cls, columns: Iterable[tuple[str, str | None]]) -> Self:
        return cls(fields=[SchemaField(name=str(n), type=k, ordinal_position=i + 1)
                           for i, (n, k) in enumerate(columns)])

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        if not isinstance(payload.get("fields"), list):
            return None
        return cls(fields=[f for r in payload["fields"] if (f := _field(r)) is not None])

    @property
    def types(self) -> dict[str, str]:
        """Top-level column name → type (``""`` when the producer sent none)."""
        return {f.name: f.type or "" for f in self.fields or []}


def _transformation(raw: Any) -> Transformation | None:
    if not isinstance(raw, Mapping) or not text(raw.get("type")):
        return None
    return Transformation(type=str(raw["type"]), subtype=text(raw.get("subtype")),
                          description=text(raw.get("description")), masking=boolean(raw.get("masking")))


def _input_field(raw: Any) -> InputField | None:
    if not isinstance(raw, Mapping) or not all(text(raw.get(k)) for k in ("namespace", "name", "field")):
        return None
    steps = [t for r in items(raw.get("transformations")) if (t := _transformation(r)) is not None]
    return InputField(namespace=str(raw["namespace"]), name=str(raw["name"]), field=str(raw["field"]),
                      transformations=steps)


@attr.define
class ColumnLineageFacet(Parsed, DatasetFacet):
    """``columnLineage``: per output column its input columns (``dataset``: inputs of the whole dataset)."""

    fields: dict[str, ColumnInputs]
    dataset: list[InputField] | None = attr.field(factory=list)
    KEY: ClassVar[str] = "columnLineage"

    @staticmethod
    def _get_schema() -> str:
        return FACETS_SPEC + "1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"

    @classmethod
    def build(cls, deps_by_column: Mapping[str, Sequence[tuple[str, str, str]]]) -> Self | None:
        """``{output column: [(namespace, dataset name, input column), ...]}``; ``None`` without any."""
        fields = {
            str(column): ColumnInputs(inputFields=[InputField(namespace=ns, name=n, field=f) for ns, n, f in deps])
            for column, deps in deps_by_column.items() if deps
        }
        return cls(fields=fields) if fields else None

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        fields = {}
        for column, raw in mapping(payload.get("fields")).items():
            inputs = [f for r in items(mapping(raw).get("inputFields")) if (f := _input_field(r)) is not None]
            if inputs:
                fields[str(column)] = ColumnInputs(inputFields=inputs,
                                                  transformationDescription=text(mapping(raw).get("transformationDescription")),
                                                  transformationType=text(mapping(raw).get("transformationType")))
        whole = [f for r in items(payload.get("dataset")) if (f := _input_field(r)) is not None]
        return cls(fields=fields, dataset=whole) if fields or whole else None


@attr.define
class OutputStatisticsFacet(Parsed, OutputDatasetFacet):
    """``outputStatistics``: rows (and bytes, files) written."""

    rowCount: int | None = attr.field(default=None)  # noqa: N815
    size: int | None = attr.field(default=None)
    fileCount: int | None = attr.field(default=None)  # noqa: N815
    _additional_skip_redact: ClassVar[list[str]] = ["rowCount", "size"]
    KEY: ClassVar[str] = "outputStatistics"

    @staticmethod
    def _get_schema() -> str:
        return FACETS_SPEC + "1-0-2/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet"

    @classmethod
    def build(cls, rows: int | None, size: int | None = None) -> Self | None:
        return None if rows is None and size is None else cls(rowCount=rows, size=size)

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        rows, size = integer(payload.get("rowCount")), integer(payload.get("size"))
        files = integer(payload.get("fileCount"))
        if rows is not None and rows < 0:
            rows = None
        return None if rows is None and size is None and files is None else cls(rowCount=rows, size=size,
                                                                                  fileCount=files)


@attr.define
class VersionFacet(Parsed, DatasetFacet):
    """``version``: the dataset version a run wrote (or read)."""

    datasetVersion: str  # noqa: N815
    KEY: ClassVar[str] = "version"

    @staticmethod
    def _get_schema() -> str:
        return FACETS_SPEC + "1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"

    @classmethod
    def build(cls, version: str) -> Self:
        return cls(datasetVersion=str(version))

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        version = text(payload.get("datasetVersion"))
        return cls(datasetVersion=version) if version else None
