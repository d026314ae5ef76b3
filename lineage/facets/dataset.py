"""Dataset facets of the standard: ``schema``, ``columnLineage``, ``outputStatistics``, ``version``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Self

import attr
from openlineage.client.facet_v2 import (
    column_lineage_dataset as cl,
)
from openlineage.client.facet_v2 import (
    dataset_version_dataset,
    output_statistics_output_dataset,
    schema_dataset,
)

from lineage.facets._values import Parsed, boolean, integer, items, mapping, text


def _field(raw: Any, depth: int = 0) -> schema_dataset.SchemaDatasetFacetFields | None:
    if not isinstance(raw, Mapping) or not text(raw.get("name")):
        return None
    nested = [f for r in items(raw.get("fields")) if (f := _field(r, depth + 1)) is not None] if depth < 8 else []
    return schema_dataset.SchemaDatasetFacetFields(
        name=str(raw["name"]), type=text(raw.get("type")), description=text(raw.get("description")),
        ordinal_position=integer(raw.get("ordinal_position")), fields=nested,
    )


@attr.define
class SchemaFacet(Parsed, schema_dataset.SchemaDatasetFacet):
    """``schema``: column names and types."""

    KEY: ClassVar[str] = "schema"

    @classmethod
    def build(cls, columns: Iterable[tuple[str, str | None]]) -> Self:
        return cls(fields=[schema_dataset.SchemaDatasetFacetFields(name=str(n), type=k, ordinal_position=i + 1)
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


def _transformation(raw: Any) -> cl.Transformation | None:
    if not isinstance(raw, Mapping) or not text(raw.get("type")):
        return None
    return cl.Transformation(type=str(raw["type"]), subtype=text(raw.get("subtype")),
                             description=text(raw.get("description")), masking=boolean(raw.get("masking")))


def _input_field(raw: Any) -> cl.InputField | None:
    if not isinstance(raw, Mapping) or not all(text(raw.get(k)) for k in ("namespace", "name", "field")):
        return None
    steps = [t for r in items(raw.get("transformations")) if (t := _transformation(r)) is not None]
    return cl.InputField(namespace=str(raw["namespace"]), name=str(raw["name"]), field=str(raw["field"]),
                         transformations=steps)


@attr.define
class ColumnLineageFacet(Parsed, cl.ColumnLineageDatasetFacet):
    """``columnLineage``: per output column its input columns (``dataset``: inputs of the whole dataset)."""

    KEY: ClassVar[str] = "columnLineage"

    @classmethod
    def build(cls, deps_by_column: Mapping[str, Sequence[tuple[str, str, str]]]) -> Self | None:
        """``{output column: [(namespace, dataset name, input column), ...]}``; ``None`` without any."""
        fields = {
            str(column): cl.Fields(inputFields=[cl.InputField(namespace=ns, name=n, field=f) for ns, n, f in deps])
            for column, deps in deps_by_column.items() if deps
        }
        return cls(fields=fields) if fields else None

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        fields = {}
        for column, raw in mapping(payload.get("fields")).items():
            inputs = [f for r in items(mapping(raw).get("inputFields")) if (f := _input_field(r)) is not None]
            if inputs:
                fields[str(column)] = cl.Fields(inputFields=inputs,
                                                transformationDescription=text(mapping(raw).get("transformationDescription")),
                                                transformationType=text(mapping(raw).get("transformationType")))
        whole = [f for r in items(payload.get("dataset")) if (f := _input_field(r)) is not None]
        return cls(fields=fields, dataset=whole) if fields or whole else None


@attr.define
class OutputStatisticsFacet(Parsed, output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet):
    """``outputStatistics``: rows (and bytes, files) written."""

    KEY: ClassVar[str] = "outputStatistics"

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
class VersionFacet(Parsed, dataset_version_dataset.DatasetVersionDatasetFacet):
    """``version``: the dataset version a run wrote (or read)."""

    KEY: ClassVar[str] = "version"

    @classmethod
    def build(cls, version: str) -> Self:
        return cls(datasetVersion=str(version))

    @classmethod
    def _parse(cls, payload: Mapping[str, Any]) -> Self | None:
        version = text(payload.get("datasetVersion"))
        return cls(datasetVersion=version) if version else None
