"""Asset checks for any Dagster asset: a GE suite and drift, each loading the asset's value through the
asset's own IO manager (Dagster loads a check's input like any downstream asset's), so any IO manager works.

``with_observability`` attaches them to plain ``@dg.asset``s; they work the same on their own.
Check metadata carries counts, percentages and test statistics, plus ``obs/assertions`` (per expectation:
type, column, severity, success) and ``obs/drift`` (the drift summary) for lineage events; never row values.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import pandas as pd

from observability_pipelines.checks.drift_observer import DRIFT_CHECK, evaluate_drift
from observability_pipelines.checks.great_expectations import (
    ERROR,
    WARN,
    _jsonable,
    _severity,
    check_metadata,
    suite_info,
    validate_dataframe,
)

ASSERTIONS_METADATA = "obs/assertions"
DRIFT_METADATA = "obs/drift"
# Columns never compared for drift: identifiers change every partition by design.
_ID_SUFFIXES = ("_id", "_key", "_uuid")
_MAX_DISTINCT_SHARE = 0.5  # a string column with more distinct values than this share of rows is an identifier


def _spec(name: str, key: dg.AssetKey, partitions_def, **kwargs) -> dg.AssetCheckSpec:
    with warnings.catch_warnings():
        # Partitioned check specs are a Dagster 1.13 preview, and the only way to record results per partition.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(name, asset=key, partitions_def=partitions_def, **kwargs)


def _partition(context) -> str | None:
    op = context.op_execution_context
    return op.partition_key if op.has_partition_key else None


def ge_suite_checks(key: dg.AssetKey, suite: str, *, directory: str | Path | None = None,
                    partitions_def: dg.PartitionsDefinition | None = None) -> dg.AssetChecksDefinition:
    """``ge_<suite>_errors`` (blocking, ERROR-severity expectations) and ``ge_<suite>_warnings`` (WARN)."""
    counts = {ERROR: 0, WARN: 0}
    for exp in suite_info(suite, directory)["expectations"]:
        counts[_severity(exp)] += 1
    errors, warns = f"ge_{suite}_errors", f"ge_{suite}_warnings"
    specs = [
        _spec(errors, key, partitions_def, blocking=True,
              description=f"Great Expectations suite {suite}: {counts[ERROR]} error-severity expectations; "
              "failure blocks downstream assets.", metadata={"suite": suite, "severity": ERROR}),
        _spec(warns, key, partitions_def, blocking=False,
              description=f"Great Expectations suite {suite}: {counts[WARN]} warn-severity expectations.",
              metadata={"suite": suite, "severity": WARN}),
    ]

    @dg.multi_asset_check(specs=specs, name=f"{'__'.join(key.path)}_ge_{suite}", ins={"value": dg.AssetIn(key)})
    def _ge(context, value):  # unannotated: dagster resolves the context type itself
        if not isinstance(value, pd.DataFrame):
            raise dg.Failure(f"{key.to_user_string()} loaded as {type(value).__name__}, not a pandas DataFrame; "
                             f"suite {suite} applies to DataFrames")
        validation = validate_dataframe(value, suite, _partition(context), directory=directory)
        for name, severity, dg_sev in ((errors, ERROR, dg.AssetCheckSeverity.ERROR),
                                       (warns, WARN, dg.AssetCheckSeverity.WARN)):
            part = validation.of_severity(severity)
            assertions = [{"assertion": o.expectation_type, "column": o.column, "success": o.success,
                           "severity": o.severity} for o in part.outcomes]
            yield dg.AssetCheckResult(
                asset_key=key, check_name=name, passed=part.success, severity=dg_sev,
                description=part.summary()[:2000],
                metadata={**check_metadata(part), ASSERTIONS_METADATA: dg.MetadataValue.json(assertions)})

    return _ge


def drift_columns_of(frame: pd.DataFrame) -> list[str]:
    """Numeric, boolean and low-cardinality columns, without identifiers (``id``, ``*_id``, ``*_key``)."""
    out = []
    for column in frame.columns:
        name, series = str(column), frame[column]
        if name.lower() == "id" or name.lower().endswith(_ID_SUFFIXES):
            continue
        if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
            continue
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            out.append(name)
        elif series.nunique(dropna=True) <= max(1, _MAX_DISTINCT_SHARE * len(series)):
            out.append(name)
    return out


def drift_check(key: dg.AssetKey, partitions_def: dg.PartitionsDefinition, *, window: int = 7,
                columns: Sequence[str] | None = None, io_manager_key: str = "io_manager",
                **thresholds) -> dg.AssetChecksDefinition:
    """``drift`` of each partition against the ``window`` unflagged partitions before it (WARN), the earlier
    partitions read by the asset's IO manager ``io_manager_key``; ``thresholds``: ``min_ks``, ``min_js``, ``config``."""

    decorate = dg.asset_check(
        asset=key, name=DRIFT_CHECK, partitions_def=partitions_def, blocking=False,
        required_resource_keys={io_manager_key},
        description=f"Distribution drift against the previous {window} partitions "
        "(KS / Wasserstein / PSI; chi-square / JS / PSI), read through the asset's IO manager.")

    def _drift(context, value):  # unannotated: dagster resolves the context type itself
        partition = _partition(context)
        if partition is None or not isinstance(value, pd.DataFrame):
            return dg.AssetCheckResult(passed=True, description="Not a partition of a table; drift not evaluated.")
        chosen = list(columns) if columns is not None else drift_columns_of(value)
        result, drift = evaluate_drift(context, key, partition, partitions_def, value, chosen, window=window,
                                       io_manager_key=io_manager_key, **thresholds)
        if drift is None:
            return result
        return dg.AssetCheckResult(
            asset_key=key, check_name=DRIFT_CHECK, passed=result.passed, severity=result.severity,
            description=result.description,
            metadata={**result.metadata, DRIFT_METADATA: dg.MetadataValue.json(_jsonable(drift))})

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)  # partitioned checks: see _spec
        return decorate(_drift)
