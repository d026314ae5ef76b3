"""Model checks on each day's predictions once its labels are known: performance, fairness, importance."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from observability_pipelines.checks.model_checks import (
    classification_metrics,
    fairness_metrics,
    performance_drop,
    permutation_importance_drift,
)
from observability_pipelines.assets.partitions import daily_partitions
from observability_pipelines.observe.artifacts import ModelArtifact
from observability_pipelines.observe.openlineage import reported_asset_check

PREDICTIONS = dg.AssetKey("batch_predictions")
MAX_DROP = {"roc_auc": 0.1, "accuracy": 0.1}
MAX_DEMOGRAPHIC_PARITY_DIFFERENCE = 0.15
MAX_EQUALIZED_ODDS_DIFFERENCE = 0.2
MAX_IMPORTANCE_L1 = 0.6


def labelled_predictions(predictions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    return predictions.merge(labels[["customer_id", "defaulted"]], on="customer_id", how="inner")


def _floats(values: dict) -> dict:
    return {k: dg.MetadataValue.float(float(v)) for k, v in values.items() if isinstance(v, (int, float)) and v is not None}


@reported_asset_check(
    asset=PREDICTIONS,
    additional_ins={"clean_labels": dg.AssetIn(), "model_evaluation": dg.AssetIn()},
    description="Performance on the day's labelled predictions vs the held-out evaluation of the model; "
    f"fails when a metric drops by more than {MAX_DROP}.",
    blocking=False,
    partitions_def=daily_partitions,
)
def model_performance(batch_predictions: pd.DataFrame, clean_labels: pd.DataFrame, model_evaluation: pd.DataFrame):
    data = labelled_predictions(batch_predictions, clean_labels)
    if data.empty:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   description="No labelled predictions for this partition; performance unknown.")
    current = classification_metrics(data["defaulted"].astype(int), data["predicted_default"].astype(int),
                                     data["score"].astype(float))
    baseline = dict(zip(model_evaluation["metric"], model_evaluation["value"].astype(float)))
    drop = performance_drop(current, baseline, MAX_DROP, metrics=list(baseline))
    return dg.AssetCheckResult(
        passed=not drop.failed,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(drop.messages) or "Performance within bounds of the evaluation baseline.",
        metadata={
            **_floats({k: current[k] for k in ("accuracy", "precision", "recall", "f1", "roc_auc")}),
            **_floats({f"drop/{k}": v for k, v in drop.drops.items()}),
            "labelled_rows": dg.MetadataValue.int(len(data)),
        },
    )


@reported_asset_check(
    asset=PREDICTIONS,
    additional_ins={"clean_labels": dg.AssetIn()},
    description="Demographic parity and equalized odds differences across gender (fairlearn).",
    blocking=False,
    partitions_def=daily_partitions,
)
def model_fairness(batch_predictions: pd.DataFrame, clean_labels: pd.DataFrame):
    data = labelled_predictions(batch_predictions, clean_labels).dropna(subset=["gender"])
    if data.empty or data["gender"].nunique() < 2:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   description="Fewer than two gender groups with labels; fairness unknown.")
    fairness = fairness_metrics(
        data["defaulted"].astype(int), data["predicted_default"].astype(int), data["gender"].astype(str),
        max_demographic_parity_difference=MAX_DEMOGRAPHIC_PARITY_DIFFERENCE,
        max_equalized_odds_difference=MAX_EQUALIZED_ODDS_DIFFERENCE,
    )
    return dg.AssetCheckResult(
        passed=fairness["passed"],
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"demographic parity difference {fairness['demographic_parity_difference']:.3f} "
            f"(max {MAX_DEMOGRAPHIC_PARITY_DIFFERENCE}), equalized odds difference "
            f"{fairness['equalized_odds_difference']:.3f} (max {MAX_EQUALIZED_ODDS_DIFFERENCE})"
        ),
        metadata={
            **_floats({k: fairness[k] for k in ("demographic_parity_difference", "equalized_odds_difference")}),
            **_floats({f"selection_rate/{g}": v for g, v in fairness["selection_rate_by_group"].items()}),
        },
    )


@reported_asset_check(
    asset=PREDICTIONS,
    additional_ins={"customer_features": dg.AssetIn(), "clean_labels": dg.AssetIn(), "trained_model": dg.AssetIn()},
    description="Permutation importance on the day's labelled data vs at training time.",
    blocking=False,
    partitions_def=daily_partitions,
)
def feature_importance_drift(
    batch_predictions: pd.DataFrame,
    customer_features: pd.DataFrame,
    clean_labels: pd.DataFrame,
    trained_model: ModelArtifact,
):
    data = customer_features.merge(clean_labels[["customer_id", "defaulted"]], on="customer_id", how="inner")
    if data["defaulted"].nunique() < 2 or not trained_model.permutation_importance:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   description="Not enough labelled data (or no baseline) for permutation importance.")
    X = data.reindex(columns=trained_model.feature_names).apply(pd.to_numeric, errors="coerce").astype("float64")
    result = permutation_importance_drift(
        trained_model.model, X, data["defaulted"].astype(int).to_numpy(),
        trained_model.permutation_importance, n_repeats=3, random_state=0, threshold=MAX_IMPORTANCE_L1,
        scoring="roc_auc",
    )
    return dg.AssetCheckResult(
        passed=not result.drifted,
        severity=dg.AssetCheckSeverity.WARN,
        description=result.message,
        metadata={
            "importance_l1_distance": dg.MetadataValue.float(result.l1_distance),
            **_floats({f"importance/{k}": v for k, v in result.current_normalised.items()}),
        },
    )


model_check_definitions = [model_performance, model_fairness, feature_importance_drift]
