"""Asset checks over the partition history of an asset: regressions, volume and freshness anomalies.

Generic factories (no asset of any project named here). Each check reads its series from the Dagster
instance (:mod:`~observability_pipelines.checks.metric_series`): earlier partitions' materialization or
check-evaluation metadata, so nothing is recomputed and any IO manager works. Metadata is numeric and keyed
by the evaluated partition, so the UI plots it over partitions.
"""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd

from lineage.facets import AnomalyDatasetFacet, RegressionDatasetFacet
from observability_pipelines.checks.anomalies import MIN_HISTORY as ANOMALY_MIN_HISTORY
from observability_pipelines.checks.anomalies import AnomalyResult, freshness_anomaly, volume_anomaly
from observability_pipelines.checks.anomalies import WINDOW as ANOMALY_WINDOW
from observability_pipelines.checks.change_points import RegressionConfig, RegressionResult, detect_regression
from observability_pipelines.checks.history import earlier_partition_keys
from observability_pipelines.checks.metric_series import check_series, materialization_series, materialization_times
from observability_pipelines.observe.openlineage import reported_asset_check

ROW_COUNT = "dagster/row_count"


def _keys(partitions_def: dg.PartitionsDefinition, key: str, n: int) -> list[str]:
    return [*reversed(earlier_partition_keys(partitions_def, key, n)), key]


def _floats(values: dict) -> dict:
    return {k: dg.MetadataValue.float(float(v)) for k, v in values.items() if v is not None and np.isfinite(v)}


def regression_metadata(r: RegressionResult, metric: str, needed: int | None = None) -> dict:
    """Numeric metadata of a regression result; ``needed``: partitions with a value it waits for."""
    return {
        **({"history_partitions": dg.MetadataValue.int(r.n),
            "history_needed": dg.MetadataValue.int(needed)} if needed is not None else {}),
        **_floats({f"{metric}/reference_level": r.reference_level, f"{metric}/current_level": r.current_level,
                   f"{metric}/signed_change": r.change, f"{metric}/relative_change": r.relative_change}),
        "change_points": dg.MetadataValue.int(len(r.change_keys)),
        "partitions_examined": dg.MetadataValue.int(r.n),
        **({"regime_start_partition": dg.MetadataValue.text(r.change_key)} if r.change_key else {}),
    }


def _value(result: dg.AssetCheckResult, key: str):
    return getattr((result.metadata or {}).get(key), "value", None)


def regression_facets(metric: str, source: str | None, config: RegressionConfig):
    """``facets`` of a regression check: its typed ``metricRegression`` facet, from the result's metadata."""
    safe = metric.replace("/", "_")

    def facets(result: dg.AssetCheckResult) -> dict:
        v = lambda key: _value(result, key)  # noqa: E731
        facet = RegressionDatasetFacet(
            metric=metric, source=source, regression=not result.passed, evaluated=bool(v("evaluated")),
            direction=config.direction, partitionsExamined=v("partitions_examined"),
            partitionsNeeded=config.min_history, referenceLevel=v(f"{safe}/reference_level"),
            currentLevel=v(f"{safe}/current_level"), signedChange=v(f"{safe}/signed_change"),
            relativeChange=v(f"{safe}/relative_change"), changePoints=v("change_points"),
            regimeStartPartition=v("regime_start_partition"))
        return {facet.KEY: facet}

    return facets


def anomaly_facets(kind: str, measure: str):
    """``facets`` of a volume / freshness check: its typed ``metricAnomaly`` facet (none if not evaluated
    because the partition itself has no value yet)."""

    def facets(result: dg.AssetCheckResult) -> dict:
        if _value(result, "history_partitions") is None:
            return {}
        facet = AnomalyDatasetFacet(
            kind=kind, measure=measure, anomalous=not result.passed, evaluated=bool(_value(result, "evaluated")),
            value=_value(result, measure), expected=_value(result, f"{measure}/expected"),
            lower=_value(result, f"{measure}/lower"), upper=_value(result, f"{measure}/upper"),
            z=_value(result, f"{measure}/z"), historyPartitions=_value(result, "history_partitions"),
            historyNeeded=_value(result, "history_needed"))
        return {facet.KEY: facet}

    return facets


def regression_check(asset: dg.AssetKey | str, metric: str, partitions_def: dg.PartitionsDefinition, *,
                     source_check: str | None = None, name: str | None = None,
                     config: RegressionConfig = RegressionConfig()) -> dg.AssetChecksDefinition:
    """A check that fails when the partition series of ``metric`` has shifted to a worse regime.

    The series is ``metric`` of the asset's materializations, or of the evaluations of ``source_check``
    on the asset (e.g. ``roc_auc`` of a performance check). Severity WARN: a trend is a reason to look.
    """
    asset_key = dg.AssetKey.from_coercible(asset)
    source = f"check {source_check}" if source_check else "materializations"
    safe = metric.replace("/", "_")

    @reported_asset_check(
        facets=regression_facets(metric, source_check, config),
        asset=asset_key, name=name or f"{safe}_regression", blocking=False, partitions_def=partitions_def,
        description=f"Change points (ruptures PELT, weekly seasonality removed) in the partition series of "
        f"{metric} ({source}); fails when the latest regime is {config.direction} by at least "
        f"{config.min_relative_change:.0%} of the first.")
    def _check(context: dg.AssetCheckExecutionContext):
        keys = _keys(partitions_def, context.partition_key, config.window - 1)
        if source_check:
            series = check_series(context.instance, dg.AssetCheckKey(asset_key, source_check), metric, keys)
        else:
            series = materialization_series(context.instance, asset_key, metric, keys)
        result = detect_regression(series, config)
        return dg.AssetCheckResult(passed=not result.regression, severity=dg.AssetCheckSeverity.WARN,
                                   description=f"{metric}: {result.message}",
                                   metadata={**regression_metadata(result, safe, config.min_history),
                                             "evaluated": dg.MetadataValue.int(int(result.evaluated))})

    return _check


def anomaly_metadata(r: AnomalyResult, what: str) -> dict:
    return {**_floats({what: r.value, f"{what}/expected": r.expected, f"{what}/lower": r.lower,
                       f"{what}/upper": r.upper, f"{what}/z": r.z}),
            "history_partitions": dg.MetadataValue.int(r.n_history),
            "history_needed": dg.MetadataValue.int(ANOMALY_MIN_HISTORY),
            "evaluated": dg.MetadataValue.int(int(r.evaluated))}


def _anomaly_result(result: AnomalyResult, what: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=not result.anomalous, severity=dg.AssetCheckSeverity.WARN,
                               description=result.message, metadata=anomaly_metadata(result, what))


def volume_anomaly_check(asset: dg.AssetKey | str, partitions_def: dg.PartitionsDefinition,
                         window: int = ANOMALY_WINDOW) -> dg.AssetChecksDefinition:
    """Row count (``dagster/row_count``) of the partition vs the same weekday in the asset's own history."""
    asset_key = dg.AssetKey.from_coercible(asset)

    @reported_asset_check(
        facets=anomaly_facets("volume", "row_count"),
        asset=asset_key, name="volume_anomaly", blocking=False, partitions_def=partitions_def,
        description=f"Row count vs a threshold learned from the previous {window} partitions (weekday "
        "profile, robust z-score, log scale; lost and duplicated rows alike).")
    def _check(context: dg.AssetCheckExecutionContext):
        key = context.partition_key
        series = materialization_series(context.instance, asset_key, ROW_COUNT, _keys(partitions_def, key, window))
        if key not in series.index:
            return dg.AssetCheckResult(passed=True, description=f"Not evaluated: partition {key} has no "
                                       f"{ROW_COUNT} metadata.", metadata={"evaluated": dg.MetadataValue.int(0)})
        return _anomaly_result(volume_anomaly(series.drop(key), key, int(series[key])), "row_count")

    return _check


def freshness_anomaly_check(asset: dg.AssetKey | str, partitions_def: dg.TimeWindowPartitionsDefinition,
                            window: int = ANOMALY_WINDOW) -> dg.AssetChecksDefinition:
    """Delay from the partition's end to its materialization vs the asset's usual delay (late only)."""
    asset_key = dg.AssetKey.from_coercible(asset)

    @reported_asset_check(
        facets=anomaly_facets("freshness", "delay_seconds"),
        asset=asset_key, name="freshness_anomaly", blocking=False, partitions_def=partitions_def,
        description=f"Delay between the end of the partition and its materialization vs a threshold learned "
        f"from the previous {window} partitions (late by at least an hour more than usual).")
    def _check(context: dg.AssetCheckExecutionContext):
        key = context.partition_key
        times = materialization_times(context.instance, asset_key, _keys(partitions_def, key, window))
        if key not in times.index:
            return dg.AssetCheckResult(passed=True, description=f"Not evaluated: partition {key} has no "
                                       "materialization yet.", metadata={"evaluated": dg.MetadataValue.int(0)})
        ends = pd.Series({k: partitions_def.time_window_for_partition_key(k).end.timestamp() for k in times.index})
        delays = times - ends
        return _anomaly_result(freshness_anomaly(delays.drop(key), key, float(delays[key])), "delay_seconds")

    return _check
