"""Model monitoring in depth for the reference pipelines: explanation drift (SHAP), regressions over time,
volume and freshness anomalies, and performance and drift by segment.

Beside the checks of :mod:`observability_pipelines.assets.model_checks`:

* ``explanation_drift`` (SHAP, no labels) runs on every ``batch_predictions`` partition as soon as it is scored:
  it says which features the model relies on today and names a feature whose attribution collapsed (a column
  broken upstream). ``feature_importance_drift`` (permutation importance) needs the partition's labels, so it
  answers months later, and says which features the model's *accuracy* depends on. Use the first to catch
  broken inputs early, the second to judge whether performance is at risk.
* ``*_regression`` checks look at the partition series of a metric (change points), the ``*_anomaly``
  checks at one partition against its own history (seasonal thresholds).
* ``segment_performance`` / ``segment_drift``: by region and gender, so a fault in one region is not
  averaged away.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd

from lineage.facets import ExplanationDriftDatasetFacet, SegmentsDatasetFacet
from lineage.facets.monitoring import FeatureAttribution, SegmentGroup
from observability_pipelines.assets.model_checks import arrived_labels, labelled_predictions
from observability_pipelines.assets.partitions import daily_partitions
from observability_pipelines.checks.change_points import RegressionConfig
from observability_pipelines.checks.explanations import MAX_MOVED_SHARE, Attribution, attribution, explanation_drift
from observability_pipelines.checks.history import earlier_partition_keys, load_partitions, materialized_keys
from observability_pipelines.checks.segments import assign_segments, segment_drift, segment_performance, top_segments
from observability_pipelines.checks.series_checks import freshness_anomaly_check, regression_check, volume_anomaly_check
from observability_pipelines.observe.artifacts import ModelArtifact
from observability_pipelines.observe.openlineage import reported_asset_check

PREDICTIONS = dg.AssetKey("batch_predictions")
FEATURES = dg.AssetKey("customer_features")
TRAINING_SET = dg.AssetKey("training_set")
BASELINE_PARTITIONS = 14  # newest trained partitions whose training rows give the SHAP baseline
SEGMENT_ATTRIBUTES = ("region_code", "gender")  # region (encoded) and the sensitive attribute
SEGMENT_MAX_DROP = {"roc_auc": 0.1, "accuracy": 0.1}  # as model_performance, per segment
SEGMENT_DRIFT_WINDOW = 7  # earlier customer_features partitions, as the drift check
SEGMENT_DRIFT_COLUMNS = ["income", "loan_amount", "loan_to_income", "txn_amount_mean_30d", "employment_years"]
# Freshness as Dagster itself judges it: a daily partition is due a day after it ends (the daily schedule
# runs at 02:00 for yesterday), late after two.
FRESHNESS_POLICY = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=48),
                                                  warn_window=dt.timedelta(hours=26))
FRESH_ASSETS = ("raw_customers", "raw_transactions", "raw_labels", "customer_features", "batch_predictions")
ANOMALY_ASSETS = ("raw_customers", "raw_transactions", "customer_features", "batch_predictions")


def _floats(values: dict) -> dict:
    return {k: dg.MetadataValue.float(float(v)) for k, v in values.items() if isinstance(v, (int, float))}


def training_rows(context, model: ModelArtifact) -> pd.DataFrame:
    """Training-split rows of the model's newest trained partitions (bounded), read by their IO manager."""
    wanted = sorted(model.trained_partitions)[-BASELINE_PARTITIONS:]
    present = sorted(materialized_keys(context.instance, TRAINING_SET, wanted))
    frames = [df for _, df in load_partitions(context, "io_manager", TRAINING_SET, daily_partitions, present)]
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return data[data["split"] == "train"] if "split" in data else data


def shap_baseline(context, model: ModelArtifact) -> tuple[Attribution | None, int]:
    """(training-time attribution, training rows it stands for): the one stored with the model at training
    time, else (a model trained before it was stored) recomputed from its newest training partitions."""
    stored = getattr(model, "shap_baseline", None) or {}
    if stored.get("mean_abs"):
        return Attribution(dict(stored["mean_abs"]), dict(stored["spread"]), int(stored["rows"])), model.train_rows
    train = training_rows(context, model)
    if train.empty:
        return None, 0
    return attribution(model.model, _matrix(train, model)), len(train)


def _matrix(frame: pd.DataFrame, model: ModelArtifact) -> pd.DataFrame:
    return frame.reindex(columns=model.feature_names).apply(pd.to_numeric, errors="coerce").astype("float64")


def _explanation_metadata(result) -> dict:
    return {
        "moved_share": dg.MetadataValue.float(result.moved_share),
        "lost_features": dg.MetadataValue.int(len(result.lost)),
        **_floats({f"shap_share/{f}": v for f, v in result.current_share.items()}),
        **_floats({f"shap_share_change/{f}": v for f, v in result.share_change.items()}),
        **_floats({f"shap_spread_share/{f}": v for f, v in result.current_spread_share.items()}),
        "top_feature": dg.MetadataValue.text(max(result.current_share, key=result.current_share.get)),
        **({"lost_feature_names": dg.MetadataValue.text(", ".join(result.lost))} if result.lost else {}),
    }


def _value(result: dg.AssetCheckResult, key: str):
    return getattr((result.metadata or {}).get(key), "value", None)


def explanation_facet(result: dg.AssetCheckResult) -> dict:
    """The typed ``explanationDrift`` facet of an explanation_drift result, from its metadata (shares now,
    signed changes; training-time shares and both ranks follow from them)."""
    md = result.metadata or {}
    current = {k.removeprefix("shap_share/"): float(v.value) for k, v in md.items() if k.startswith("shap_share/")}
    if not current:
        return {}
    baseline = {f: c - float(_value(result, f"shap_share_change/{f}") or 0.0) for f, c in current.items()}
    rank = lambda shares: {f: i + 1 for i, f in enumerate(sorted(shares, key=lambda f: -shares[f]))}  # noqa: E731
    before, now = rank(baseline), rank(current)
    lost = _value(result, "lost_feature_names")
    facet = ExplanationDriftDatasetFacet(
        features={f: FeatureAttribution(max(baseline[f], 0.0), current[f], current[f] - baseline[f], before[f], now[f])
                  for f in current},
        drifted=not result.passed, movedShare=_value(result, "moved_share"), maxMovedShare=MAX_MOVED_SHARE,
        lostFeatures=lost.split(", ") if lost else [], sampleRows=_value(result, "sample_rows"),
        baselineRows=_value(result, "baseline_rows"))
    return {facet.KEY: facet}


def segments_facet(kind: str, metrics: tuple[str, ...]):
    """``facets`` of a segment check: its typed ``segments`` facet, from the ``attribute=segment/metric``
    metadata (attributes and metrics are known, so a segment name may hold any character)."""

    def facets(result: dg.AssetCheckResult) -> dict:
        groups = {}
        for a in SEGMENT_ATTRIBUTES:
            segments: dict[str, dict[str, float]] = {}
            for key, entry in (result.metadata or {}).items():
                seg, _, metric = key.removeprefix(f"{a}=").rpartition("/")
                if key.startswith(f"{a}=") and metric in metrics:
                    segments.setdefault(seg, {})[metric] = float(entry.value)
            failing = _value(result, f"failing/{a}")
            if segments:
                groups[a] = SegmentGroup(segments, failing.split(", ") if failing else [])
        if not groups:
            return {}
        facet = SegmentsDatasetFacet(kind=kind, attributes=groups, failed=not result.passed)
        return {facet.KEY: facet}

    return facets


@reported_asset_check(
    facets=explanation_facet,
    asset=PREDICTIONS,
    additional_ins={"customer_features": dg.AssetIn(), "trained_model": dg.AssetIn()},
    description="Mean |SHAP| per feature (TreeExplainer, 500-row sample, fixed seed) of the day's rows vs the "
    "model's training rows: share of attribution moved, rank changes, features whose attribution collapsed. "
    "Needs no labels (feature_importance_drift, permutation importance, waits for them).",
    name="explanation_drift",
    blocking=False,
    partitions_def=daily_partitions,
    required_resource_keys={"io_manager"},
)
def explanation_drift_check(context, batch_predictions: pd.DataFrame, customer_features: pd.DataFrame,
                            trained_model: ModelArtifact):
    if customer_features.empty:
        return dg.AssetCheckResult(passed=True, description="Not evaluated: the partition has no rows.",
                                   metadata={"evaluated": dg.MetadataValue.int(0)})
    baseline, baseline_rows = shap_baseline(context, trained_model)
    if baseline is None:
        return dg.AssetCheckResult(passed=True, description="Not evaluated: none of the model's training "
                                   "partitions can be read for the SHAP baseline.",
                                   metadata={"evaluated": dg.MetadataValue.int(0)})
    current = attribution(trained_model.model, _matrix(customer_features, trained_model))
    result = explanation_drift(baseline, current)
    return dg.AssetCheckResult(passed=not result.drifted, severity=dg.AssetCheckSeverity.WARN,
                               description=result.message,
                               metadata={**_explanation_metadata(result), "evaluated": dg.MetadataValue.int(1),
                                         "baseline_rows": dg.MetadataValue.int(baseline_rows),
                                         "sample_rows": dg.MetadataValue.int(current.rows)})


def _segment_metadata(result, attribute: str, metrics: tuple[str, ...]) -> dict:
    out = {}
    for seg, values in result.by_segment.items():
        out.update(_floats({f"{attribute}={seg}/{m}": values.get(m) for m in metrics if values.get(m) is not None}))
    failing = {f"failing/{attribute}": dg.MetadataValue.text(", ".join(result.failing))} if result.failing else {}
    return {**out, **failing, "failing_segments": dg.MetadataValue.int(len(result.failing))}


@reported_asset_check(
    facets=segments_facet("performance", ("rows", "accuracy", "roc_auc")),
    asset=PREDICTIONS,
    additional_ins={"customer_features": dg.AssetIn(), "clean_labels": dg.AssetIn(),
                    "model_evaluation": dg.AssetIn()},
    description="Accuracy and ROC AUC per region and per gender (top 8 values, the rest as '__other__') vs the "
    f"model's evaluation; fails when a segment of at least 50 rows drops by more than {SEGMENT_MAX_DROP['roc_auc']}"
    " (a fault in one region is not averaged away). Waits for the partition's labels.",
    name="segment_performance",
    blocking=False,
    partitions_def=daily_partitions,
)
def segment_performance_check(context, batch_predictions: pd.DataFrame, customer_features: pd.DataFrame,
                              clean_labels: pd.DataFrame, model_evaluation: pd.DataFrame):
    labels, waiting = arrived_labels(context, clean_labels)
    if waiting is not None:
        return waiting
    data = labelled_predictions(batch_predictions.drop(columns=["gender"], errors="ignore"), labels).merge(
        customer_features[["customer_id", *SEGMENT_ATTRIBUTES]], on="customer_id", how="inner")
    data = data.rename(columns={"defaulted": "y_true", "predicted_default": "y_pred"})
    baseline = dict(zip(model_evaluation["metric"], model_evaluation["value"].astype(float)))
    results = {a: segment_performance(data, assign_segments(data[a], top_segments(data[a])), baseline,
                                      SEGMENT_MAX_DROP) for a in SEGMENT_ATTRIBUTES}
    failed = [a for a, r in results.items() if r.failed]
    metadata = {}
    for attribute, result in results.items():
        metadata.update(_segment_metadata(result, attribute, ("rows", "accuracy", "roc_auc")))
    metadata["failing_segments"] = dg.MetadataValue.int(sum(len(r.failing) for r in results.values()))
    return dg.AssetCheckResult(
        passed=not failed, severity=dg.AssetCheckSeverity.WARN,
        description=" | ".join(f"by {a}: {r.message}" for a, r in results.items()),
        metadata={**metadata, "labelled_rows": dg.MetadataValue.int(len(data))})


@reported_asset_check(
    facets=segments_facet("drift", ("rows", "max_ks", "drifted_columns")),
    asset=FEATURES,
    description=f"Drift of {', '.join(SEGMENT_DRIFT_COLUMNS)} within each region and gender vs the same segment "
    f"in the previous {SEGMENT_DRIFT_WINDOW} partitions (KS, material from D 0.1): a shift in one region shows "
    "even when the whole partition looks normal.",
    name="segment_drift",
    blocking=False,
    partitions_def=daily_partitions,
    required_resource_keys={"io_manager"},
)
def segment_drift_check(context, customer_features: pd.DataFrame):
    keys = earlier_partition_keys(daily_partitions, context.partition_key, SEGMENT_DRIFT_WINDOW)
    present = sorted(materialized_keys(context.instance, FEATURES, keys))
    frames = [df for _, df in load_partitions(context, "io_manager", FEATURES, daily_partitions, present)]
    if not frames:
        return dg.AssetCheckResult(passed=True, description="Not evaluated: no earlier partition to compare with.",
                                   metadata={"evaluated": dg.MetadataValue.int(0)})
    reference = pd.concat(frames, ignore_index=True)
    results = {}
    for a in SEGMENT_ATTRIBUTES:
        top = top_segments(reference[a])
        results[a] = segment_drift(reference, customer_features, assign_segments(reference[a], top),
                                   assign_segments(customer_features[a], top), SEGMENT_DRIFT_COLUMNS)
    metadata = {}
    for attribute, result in results.items():
        metadata.update(_segment_metadata(result, attribute, ("rows", "max_ks", "drifted_columns")))
    metadata["failing_segments"] = dg.MetadataValue.int(sum(len(r.failing) for r in results.values()))
    return dg.AssetCheckResult(
        passed=not any(r.failed for r in results.values()), severity=dg.AssetCheckSeverity.WARN,
        description=" | ".join(f"by {a}: {r.message}" for a, r in results.items()),
        metadata={**metadata, "reference_partitions": dg.MetadataValue.int(len(frames)),
                  "evaluated": dg.MetadataValue.int(1)})


def regression_checks() -> list[dg.AssetChecksDefinition]:
    """Change points over the partition series the pipelines already record."""
    decrease, increase, both = (RegressionConfig(direction=d) for d in ("decrease", "increase", "both"))
    return [
        regression_check(PREDICTIONS, "roc_auc", daily_partitions, source_check="model_performance",
                         name="realized_roc_auc_regression", config=decrease),
        regression_check(PREDICTIONS, "estimated/roc_auc", daily_partitions, source_check="estimated_performance",
                         name="estimated_roc_auc_regression", config=decrease),
        regression_check(PREDICTIONS, "demographic_parity_difference", daily_partitions, source_check="model_fairness",
                         name="fairness_regression", config=RegressionConfig(direction="increase",
                                                                             min_absolute_change=0.03)),
        regression_check(PREDICTIONS, "mean_score", daily_partitions, config=both),
        regression_check(FEATURES, "drift_share", daily_partitions, source_check="drift", name="drift_share_regression",
                         config=RegressionConfig(direction="increase", min_absolute_change=0.1)),
        regression_check("raw_customers", "dagster/row_count", daily_partitions, name="row_count_regression",
                         config=decrease),
    ]


def anomaly_checks() -> list[dg.AssetChecksDefinition]:
    return [check for asset in ANOMALY_ASSETS
            for check in (volume_anomaly_check(asset, daily_partitions),
                          freshness_anomaly_check(asset, daily_partitions))]


def with_freshness_policies(assets: list) -> list:
    """The reference assets that arrive daily get Dagster's own FreshnessPolicy (shown in the UI)."""
    fresh = {dg.AssetKey(a) for a in FRESH_ASSETS}
    return list(dg.map_asset_specs(
        lambda spec: spec.replace_attributes(freshness_policy=FRESHNESS_POLICY) if spec.key in fresh else spec,
        assets))


monitoring_check_definitions = [explanation_drift_check, segment_performance_check, segment_drift_check,
                                *regression_checks(), *anomaly_checks()]
