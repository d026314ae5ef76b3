"""Partition series of a metric, read from the Dagster instance: one value per earlier partition.

Values come from what Dagster already stores, so nothing is recomputed: numeric metadata of the asset's
materializations (``dagster/row_count``, ``mean_score``, ...) or of a check's evaluations (``roc_auc`` of a
performance check, ``income/ks`` of a drift check). When a partition was materialized (or evaluated) more
than once, its latest value counts. Reads are bounded by the partition keys asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg
import pandas as pd

PAGE = 500


def _number(metadata, key: str) -> float | None:
    value = metadata.get(key)
    raw = getattr(value, "value", value)
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return None
    return float(raw)


def materialization_records(instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: Sequence[str]) -> dict:
    """Latest materialization record per partition key among ``keys``."""
    latest: dict[str, object] = {}
    cursor = None
    while keys:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=list(keys)), limit=PAGE, cursor=cursor)
        for record in page.records:  # newest first: the first seen per partition is its latest
            if record.partition_key and record.partition_key not in latest:
                latest[record.partition_key] = record
        if not page.has_more:
            break
        cursor = page.cursor
    return latest


def materialization_series(instance: dg.DagsterInstance, asset_key: dg.AssetKey, metadata_key: str,
                           keys: Sequence[str]) -> pd.Series:
    """``metadata_key`` of each partition's latest materialization, indexed by partition key (ascending)."""
    records = materialization_records(instance, asset_key, keys)
    values = {k: _number(r.asset_materialization.metadata, metadata_key) for k, r in records.items()}
    return _series(values)


def materialization_times(instance: dg.DagsterInstance, asset_key: dg.AssetKey, keys: Sequence[str]) -> pd.Series:
    """Timestamp (seconds) of each partition's latest materialization."""
    records = materialization_records(instance, asset_key, keys)
    return _series({k: float(r.timestamp) for k, r in records.items()})


def check_series(instance: dg.DagsterInstance, check_key: dg.AssetCheckKey, metadata_key: str,
                 keys: Sequence[str]) -> pd.Series:
    """``metadata_key`` of each partition's latest completed evaluation of ``check_key``."""
    from dagster._core.storage.asset_check_execution_record import COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES

    # Dagster 1.13 has no @public query of check evaluations by partition; the event log storage has one.
    wanted, values = set(keys), {}
    records = instance.event_log_storage.get_asset_check_execution_history(
        check_key, limit=max(PAGE, 4 * len(wanted)), status=set(COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES))
    for record in records:  # newest first
        if record.partition in wanted and record.partition not in values and record.event is not None:
            evaluation = record.event.dagster_event.event_specific_data
            values[record.partition] = _number(evaluation.metadata, metadata_key)
    return _series(values)


def _series(values: dict) -> pd.Series:
    clean = {k: v for k, v in values.items() if v is not None}
    return pd.Series(clean, dtype="float64").sort_index()
