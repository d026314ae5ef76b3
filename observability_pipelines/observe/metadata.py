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


def table_schema(df: pd.DataFrame, descriptions: Mapping[str, str] | None = None) -> dg.TableSchema:
    """The frame's columns and types; `descriptions` (column → text, e.g. from a data contract) fill the
    Description column of the asset page's column table."""
    described = descriptions or {}
    return dg.TableSchema(columns=[
        dg.TableColumn(name=str(c), type=dtype_name(t), description=described.get(str(c)))
        for c, t in df.dtypes.items()
    ])


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


def table_metadata(df: pd.DataFrame, lineage: ColumnLineageSpec | None = None,
                   descriptions: Mapping[str, str] | None = None) -> dict:
    metadata: dict = {
        "dagster/column_schema": table_schema(df, descriptions),
        "dagster/row_count": dg.MetadataValue.int(len(df)),
    }
    if lineage:
        metadata["dagster/column_lineage"] = column_lineage(lineage, [str(c) for c in df.columns])
    return metadata


# ---------------------------------------------------------------------- drift check metadata
def significant(value: float, digits: int = 3) -> float:
    """`value` to `digits` significant digits: what a reader can compare (0.4137, not 0.41372958102...)."""
    return float(f"{float(value):.{digits}g}")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def drift_check_metadata(columns: Mapping[str, object], failed: Sequence[object], *, share: float,
                         reference_partitions: int, reference_rows: int, min_effect: Mapping[str, float]) -> dict:
    """Metadata of a drift check: rounded per-column scores (the same keys in every partition, so each
    plots as one series), the drifted columns named, and a table of why each failed: its statistic
    against the threshold, the p-value, and the null fractions when nulls jumped.

    `columns`/`failed` are drift results per column (``ColumnDriftResult``); `min_effect` is the
    smallest material effect per kind (``{"numerical": min_ks, "categorical": min_js}``) and the largest
    accepted rise of the null fraction (``"null_increase"``)."""
    metadata: dict = {
        "drift_share": dg.MetadataValue.float(significant(share)),
        "drifted_columns": dg.MetadataValue.int(len(failed)),
        "drifted": dg.MetadataValue.text(", ".join(r.column for r in failed) or "none"),
        "reference_partitions": dg.MetadataValue.int(reference_partitions),
        "reference_rows": dg.MetadataValue.int(reference_rows),
        "why": dg.MetadataValue.md(drift_failures_markdown(failed, min_effect)),
    }
    for name, r in columns.items():
        if r.statistic is not None:
            metadata[f"{name}/{r.test}"] = dg.MetadataValue.float(significant(r.statistic))
        if _p_value(r) is not None:
            metadata[f"{name}/p_value"] = dg.MetadataValue.float(significant(_p_value(r), 2))
        if r.psi is not None:
            metadata[f"{name}/psi"] = dg.MetadataValue.float(significant(r.psi))
    return metadata


def _p_value(r) -> float | None:
    """The test's p-value; for a distance test the KS / chi-square p-value computed alongside."""
    if r.p_value is not None:
        return r.p_value
    return r.ks_pvalue if r.kind == "numerical" else r.chi2_pvalue


def drift_failures_markdown(failed: Sequence[object], min_effect: Mapping[str, float]) -> str:
    if not failed:
        return "No column drifted."
    lines = ["| column | failed on | value | threshold | p-value | nulls (reference → this partition) |",
             "|---|---|---:|---|---:|---|"]
    for r in failed:
        lines.append("| " + " | ".join(_failure_cells(r, min_effect)) + " |")
    return "\n".join(lines)


def _failure_cells(r, min_effect: Mapping[str, float]) -> list[str]:
    nulls = ("" if r.null_fraction_cur is None else
             f"{significant(r.null_fraction_ref or 0.0):.3g} → {significant(r.null_fraction_cur):.3g}")
    p_value = "" if _p_value(r) is None else f"{significant(_p_value(r), 2):.2g}"
    if r.null_drift:
        rise = (r.null_fraction_cur or 0.0) - (r.null_fraction_ref or 0.0)
        limit = min_effect.get("null_increase")
        return [r.column, "null fraction", f"+{significant(rise):.3g}",
                f"rise > {limit:g}" if limit is not None else "rise", p_value, nulls]
    if r.status != "drift" or r.statistic is None:
        return [r.column, r.status, "", "", p_value, r.message]
    effect = min_effect.get(r.kind or "", 0.0)
    rule = f"p < {r.threshold:g}" if r.p_value is not None else f"≥ {r.threshold:g}"
    size = (f"KS ≥ {effect:g}" if r.kind == "numerical"
            else f"JS {significant(r.js_distance or 0.0):.3g} ≥ {effect:g}")
    return [r.column, r.test or "", f"{significant(r.statistic):.3g}", f"{rule}, {size}", p_value, nulls]
