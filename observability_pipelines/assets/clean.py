"""Cleaned sources: conformed to their contracts, typed, de-duplicated on their keys."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from observability_pipelines.assets.partitions import daily_partitions
from observability_pipelines.data.contracts import (
    CATEGORICAL,
    CONTRACTS,
    INTEGER,
    NUMERIC,
    STRING,
    TIMESTAMP,
)
from observability_pipelines.observe.asset import observed_asset, record_metadata
from observability_pipelines.assets.observers import standard_observers


def conform(df: pd.DataFrame, columns: dict[str, str], key: tuple[str, ...]) -> tuple[pd.DataFrame, dict]:
    """Coerce to the contract without hiding problems: unparseable values become nulls, missing columns nulls."""
    stats = {"missing_columns": [c for c in columns if c not in df.columns]}
    out = pd.DataFrame(index=df.index)
    for column, kind in columns.items():
        values = df[column] if column in df.columns else pd.Series(pd.NA, index=df.index, dtype="object")
        if kind == NUMERIC:
            out[column] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif kind == INTEGER:
            out[column] = pd.to_numeric(values, errors="coerce").round().astype("Int64")
        elif kind == CATEGORICAL:
            out[column] = values.astype("str").str.strip().str.lower()
        elif kind == STRING:
            out[column] = values.astype("str")
        elif kind == TIMESTAMP:
            ts = pd.to_datetime(values, errors="coerce")
            out[column] = (ts.dt.tz_convert(None) if ts.dt.tz is not None else ts).astype("datetime64[us]")
    rows = len(out)
    out = out.dropna(subset=list(key))
    stats["dropped_null_key"] = rows - len(out)
    rows = len(out)
    out = out.drop_duplicates(subset=list(key), keep="first")
    stats["dropped_duplicates"] = rows - len(out)
    return out.sort_values(list(key)).reset_index(drop=True), stats


def clean_asset(name: str, upstream: str, description: str) -> dg.AssetsDefinition:
    contract = CONTRACTS[name]

    @observed_asset(
        name=name,
        ins={"raw": dg.AssetIn(upstream)},
        partitions_def=daily_partitions,
        column_lineage={c: [f"{upstream}.{c}"] for c in contract.columns},
        observers=standard_observers(name),
        group_name="clean",
        description=description,
        automation_condition=dg.AutomationCondition.eager(),
        kinds={"pandas", "parquet"},
        tags={"layer": "clean"},
    )
    def _clean(context: dg.AssetExecutionContext, raw: pd.DataFrame):
        out, stats = conform(raw, contract.columns, contract.key)
        if stats["missing_columns"]:
            context.log.warning(f"{upstream} is missing contract columns {stats['missing_columns']}; filled with nulls")
        record_metadata(context, 
            {
                "dropped_null_key": dg.MetadataValue.int(stats["dropped_null_key"]),
                "dropped_duplicates": dg.MetadataValue.int(stats["dropped_duplicates"]),
                "missing_columns": dg.MetadataValue.int(len(stats["missing_columns"])),
            }
        )
        return out

    return _clean


clean_assets = [
    clean_asset("clean_customers", "raw_customers", "Applicants conformed to the customer contract."),
    clean_asset("clean_transactions", "raw_transactions", "Transactions conformed, one row per transaction id."),
    clean_asset("clean_labels", "raw_labels", "Default labels, one per application."),
]
