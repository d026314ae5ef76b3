"""Training pipeline: point-in-time training set, versioned model, evaluation, batch predictions."""

from __future__ import annotations

import hashlib
import json

import dagster as dg
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from observability_pipelines.assets.partitions import daily_partitions
from observability_pipelines.data.contracts import FEATURES, MODEL_FEATURES
from observability_pipelines.observe.artifacts import ModelArtifact
from observability_pipelines.observe.asset import observed_asset, record_metadata
from observability_pipelines.assets.observers import standard_observers
from observability_pipelines.resources.label_clock import LabelClock

LABEL = "defaulted"
TRAIN_FRACTION = 0.8
MAX_REFERENCE_ROWS = 20_000  # hold-out rows kept in the artifact as the estimation / drift reference
MODEL_PARAMS = {
    "max_iter": 100, "learning_rate": 0.05, "max_leaf_nodes": 8, "min_samples_leaf": 40, "random_state": 0,
}


def assign_split(customer_ids: pd.Series) -> pd.Series:
    """Deterministic train/test split by a stable hash of the id (same customer, same side, every run)."""
    bucket = pd.util.hash_pandas_object(customer_ids, index=False).to_numpy() % 100
    return pd.Series(np.where(bucket < TRAIN_FRACTION * 100, "train", "test"), index=customer_ids.index)


def join_training_set(features: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    # A label only counts if it was observed after the features' as-of time (no leakage backwards).
    joined = features.merge(labels[["customer_id", LABEL, "label_observed_ts"]], on="customer_id", how="inner")
    joined = joined[joined["label_observed_ts"] > joined["application_ts"]].copy()
    joined["split"] = assign_split(joined["customer_id"])
    return joined.reset_index(drop=True)


@observed_asset(
    name="training_set",
    ins={"customer_features": dg.AssetIn(), "clean_labels": dg.AssetIn()},
    partitions_def=daily_partitions,
    column_lineage={
        **{c: [f"customer_features.{c}"] for c in FEATURES},
        LABEL: [f"clean_labels.{LABEL}"],
        "label_observed_ts": ["clean_labels.label_observed_ts"],
        "split": ["customer_features.customer_id"],
    },
    observers=standard_observers("training_set"),
    group_name="training",
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"pandas", "parquet"},
    tags={"layer": "training"},
)
def training_set(context: dg.AssetExecutionContext, customer_features: pd.DataFrame, clean_labels: pd.DataFrame):
    """Features joined point-in-time with their default labels, split 80/20 by customer."""
    return join_training_set(customer_features, clean_labels)


def model_matrix(df: pd.DataFrame, features: list[str]) -> np.ndarray:
    return df.reindex(columns=features).apply(pd.to_numeric, errors="coerce").astype("float64").to_numpy()


def shap_baseline(model, X: np.ndarray) -> dict:
    """SHAP attribution of the training rows (bounded sample, fixed seed), stored with the model so the
    explanation drift check does not re-read and re-explain the training partitions on every run."""
    from observability_pipelines.checks.explanations import attribution

    if not len(X):
        return {}
    a = attribution(model, pd.DataFrame(X, columns=list(MODEL_FEATURES)))
    return {"mean_abs": a.mean_abs, "spread": a.spread, "rows": a.rows}


def classification_report(y_true, scores, threshold: float) -> dict[str, float]:
    y_pred = (scores >= threshold).astype(int)
    report = {
        "accuracy": accuracy_score(y_true, y_pred),
        "precision": precision_score(y_true, y_pred, zero_division=0),
        "recall": recall_score(y_true, y_pred, zero_division=0),
        "f1": f1_score(y_true, y_pred, zero_division=0),
    }
    report["roc_auc"] = roc_auc_score(y_true, scores) if len(np.unique(y_true)) == 2 else float("nan")
    return {k: float(v) for k, v in report.items()}


def _best_threshold(y_true: np.ndarray, scores: np.ndarray) -> float:
    candidates = np.quantile(scores, np.linspace(0.5, 0.95, 46))
    f1s = [f1_score(y_true, (scores >= t).astype(int), zero_division=0) for t in candidates]
    return float(candidates[int(np.argmax(f1s))])


def labels_arrived(context: dg.AssetExecutionContext, data: pd.DataFrame) -> pd.DataFrame:
    """The training rows whose label exists at the run's "now" (LabelClock): a backfill must not learn
    from, or be evaluated on, outcomes observed after it ran."""
    clock = LabelClock.of_run(context)
    arrived = clock.arrived(data)
    if len(data) and arrived.empty:
        raise dg.Failure(f"none of the {len(data)} training rows has a label observed by "
                         f"{clock.now:%Y-%m-%d %H:%M} UTC (run tag obs/label_now or "
                         "$OBS_LABEL_NOW, else the real clock); labels arrive after the source's label delay")
    if len(arrived) < len(data):
        context.log.info(f"{len(data) - len(arrived)} of {len(data)} training rows left out: their labels are "
                         f"observed after {clock.now:%Y-%m-%d %H:%M} UTC")
    return arrived


def _concat_partitions(parts: dict[str, pd.DataFrame] | pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    if isinstance(parts, pd.DataFrame):
        return parts, []
    keys = sorted(parts)
    if not keys:
        raise dg.Failure("training_set has no materialized partitions; materialize the daily pipeline first")
    return pd.concat([parts[k] for k in keys], ignore_index=True), keys


@observed_asset(
    name="trained_model",
    ins={"training_set": dg.AssetIn(metadata={"allow_missing_partitions": True})},
    observers=standard_observers("trained_model", partitioned=False),
    io_manager_key="model_io_manager",
    group_name="training",
    kinds={"scikitlearn"},
    tags={"layer": "model"},
)
def trained_model(context: dg.AssetExecutionContext, training_set):
    """Gradient-boosted default-risk classifier trained on every materialized training partition."""
    clock = LabelClock.of_run(context)
    if isinstance(training_set, dict):  # the partitions trained on: those with a label observed by now
        training_set = {k: v for k, v in training_set.items() if len(clock.arrived(v))} or training_set
    data, partitions = _concat_partitions(training_set)
    data = labels_arrived(context, data)
    train = data[data["split"] == "train"]
    X, y = model_matrix(train, MODEL_FEATURES), train[LABEL].astype(int).to_numpy()
    if len(np.unique(y)) < 2:
        raise dg.Failure(f"training data has a single label class ({len(y)} rows); cannot train a classifier")
    model = HistGradientBoostingClassifier(**MODEL_PARAMS).fit(X, y)
    scores = model.predict_proba(X)[:, 1]
    threshold = _best_threshold(y, scores)
    fingerprint = hashlib.sha256(pd.util.hash_pandas_object(train, index=False).to_numpy().tobytes())
    fingerprint.update(json.dumps(MODEL_PARAMS, sort_keys=True).encode())
    sample = np.random.default_rng(0).choice(len(X), size=min(len(X), 2000), replace=False)
    importance = permutation_importance(model, X[sample], y[sample], scoring="roc_auc", n_repeats=3, random_state=0)
    holdout = data[data["split"] == "test"].sample(frac=1.0, random_state=0).head(MAX_REFERENCE_ROWS)
    reference = model.predict_proba(model_matrix(holdout, MODEL_FEATURES))[:, 1] if len(holdout) else np.array([])
    artifact = ModelArtifact(
        model=model,
        version=fingerprint.hexdigest()[:16],
        feature_names=list(MODEL_FEATURES),
        threshold=threshold,
        label=LABEL,
        trained_partitions=partitions,
        train_rows=len(train),
        params=dict(MODEL_PARAMS),
        train_metrics=classification_report(y, scores, threshold),
        permutation_importance=dict(zip(MODEL_FEATURES, map(float, importance.importances_mean))),
        reference_scores=[float(v) for v in reference],
        reference_labels=[int(v) for v in holdout[LABEL].astype(int)],
        shap_baseline=shap_baseline(model, X),
    )
    record_metadata(context, 
        {
            "model_version": artifact.version,
            "dagster/row_count": dg.MetadataValue.int(len(train)),
            "train_rows": dg.MetadataValue.int(len(train)),
            "trained_partitions": dg.MetadataValue.int(len(partitions)),
            "threshold": dg.MetadataValue.float(threshold),
            **{f"train_{k}": dg.MetadataValue.float(v) for k, v in artifact.train_metrics.items()},
        }
    )
    return artifact


@observed_asset(
    name="model_evaluation",
    ins={
        "trained_model": dg.AssetIn(),
        "training_set": dg.AssetIn(metadata={"allow_missing_partitions": True}),
    },
    column_lineage={"value": ["training_set.defaulted", *[f"training_set.{c}" for c in MODEL_FEATURES]]},
    observers=standard_observers("model_evaluation", partitioned=False),
    group_name="training",
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"scikitlearn", "parquet"},
    tags={"layer": "model"},
)
def model_evaluation(context: dg.AssetExecutionContext, trained_model: ModelArtifact, training_set):
    """Accuracy, precision, recall, F1 and ROC AUC of the current model on the held-out split."""
    data, _ = _concat_partitions(training_set)
    test = labels_arrived(context, data)
    test = test[test["split"] == "test"]
    scores = trained_model.model.predict_proba(model_matrix(test, trained_model.feature_names))[:, 1]
    report = classification_report(test[LABEL].astype(int).to_numpy(), scores, trained_model.threshold)
    record_metadata(context, {k: dg.MetadataValue.float(v) for k, v in report.items()})
    return pd.DataFrame(
        {
            "metric": list(report),
            "value": list(report.values()),
            "model_version": trained_model.version,
            "test_rows": pd.array([len(test)] * len(report), dtype="Int64"),
        }
    )


@observed_asset(
    name="batch_predictions",
    ins={"customer_features": dg.AssetIn(), "trained_model": dg.AssetIn()},
    partitions_def=daily_partitions,
    column_lineage={
        "customer_id": ["customer_features.customer_id"],
        "application_ts": ["customer_features.application_ts"],
        "gender": ["customer_features.gender"],
        "score": [f"customer_features.{c}" for c in MODEL_FEATURES],
        "predicted_default": [f"customer_features.{c}" for c in MODEL_FEATURES],
    },
    observers=standard_observers("batch_predictions"),
    group_name="predictions",
    metadata={"obs/dataset_type": "PREDICTION"},  # OpenLineage datasetType: impact and incidents see predictions
    automation_condition=dg.AutomationCondition.eager(),
    kinds={"scikitlearn", "parquet"},
    tags={"layer": "predictions"},
)
def batch_predictions(context: dg.AssetExecutionContext, customer_features: pd.DataFrame, trained_model: ModelArtifact):
    """Default-risk score and decision for each of the day's applications, with the model version."""
    scores = trained_model.model.predict_proba(model_matrix(customer_features, trained_model.feature_names))[:, 1]
    out = pd.DataFrame(
        {
            "customer_id": customer_features["customer_id"],
            "application_ts": customer_features["application_ts"],
            "gender": customer_features["gender"],
            "score": scores.astype("float64"),
            "predicted_default": pd.array((scores >= trained_model.threshold).astype(int), dtype="Int64"),
            "model_version": trained_model.version,
        }
    )
    record_metadata(context, 
        {
            "model_version": trained_model.version,
            "mean_score": dg.MetadataValue.float(float(np.mean(scores)) if len(scores) else float("nan")),
            "positive_rate": dg.MetadataValue.float(float(out["predicted_default"].mean()) if len(out) else 0.0),
        }
    )
    return out
