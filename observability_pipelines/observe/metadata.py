"""Dagster metadata for table-valued assets: schema, row count and column lineage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import dagster as dg
import pandas as pd

ColumnLineageSpec = Mapping[str, Sequence[str]]  # output column -> ["upstream_asset.column", ...]


def dtype_name(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    return "string"


def table_schema(df: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=str(c), type=dtype_name(t)) for c, t in df.dtypes.items()]
    )


def parse_column_ref(ref: str) -> tuple[str, str]:
    asset, sep, column = ref.rpartition(".")
    if not sep or not asset or not column:
        raise ValueError(f"column lineage reference {ref!r} must look like 'asset_name.column'")
    return asset, column


def column_lineage(spec: ColumnLineageSpec, present: Sequence[str]) -> dg.TableColumnLineage:
    """Lineage for the output columns that exist (a dropped column has no lineage to report)."""
    return dg.TableColumnLineage(
        deps_by_column={
            column: [
                dg.TableColumnDep(asset_key=dg.AssetKey(parse_column_ref(r)[0]), column_name=parse_column_ref(r)[1])
                for r in refs
            ]
            for column, refs in spec.items()
            if column in present
        }
    )


def table_metadata(df: pd.DataFrame, lineage: ColumnLineageSpec | None = None) -> dict:
    metadata: dict = {
        "dagster/column_schema": table_schema(df),
        "dagster/row_count": dg.MetadataValue.int(len(df)),
    }
    if lineage:
        metadata["dagster/column_lineage"] = column_lineage(lineage, [str(c) for c in df.columns])
    return metadata
