"""Model checks on each day's predictions: performance, fairness and importance once its labels exist (they
arrive after the source's label delay; until then the checks say so and the next evaluation, e.g. by
``label_arrival_sensor``, re-evaluates the partition), and the estimated performance and prediction drift
that need no labels (CBPE from the calibrated scores, score and decision drift vs the training window)."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd

from observability_pipelines.checks.drift import detect_label_drift
from observability_pipelines.checks.drift_observer import pipeline_drift_config
from lineage.facets import ModelPerformanceDatasetFacet
from observability_pipelines.checks.performance_estimation import (
    CONFIDENCE,
    MAX_CALIBRATED_ECE,
    Calibration,
    estimate_performance,
    estimation_errors,
    expected_calibration_error,
    fit_calibration,
)
from observability_pipelines.checks.model_checks import (
    classification_metrics,
    fairness_metrics,
    performance_drop,
    permutation_importance_drift,
)
from observability_pipelines.assets.partitions import daily_partitions
from observability_pipelines.observe.artifacts import ModelArtifact
from observability_pipelines.observe.openlineage import reported_asset_check
from observability_pipelines.resources.label_clock import LabelClock

PREDICTIONS = dg.AssetKey("batch_predictions")
MAX_DROP = {"roc_auc": 0.1, "accuracy": 0.1}
MAX_DEMOGRAPHIC_PARITY_DIFFERENCE = 0.15
MAX_EQUALIZED_ODDS_DIFFERENCE = 0.2
MAX_IMPORTANCE_L1 = 0.6
MIN_GROUP_OUTCOMES = 50  # positives and negatives per group before equalized odds is judged
REEVALUATION_TAG = "obs/label_reevaluation"  # set by label_arrival_sensor on the runs it requests
# Estimated (no labels) metric below the model's hold-out evaluation by more than this: the check fails.
MAX_ESTIMATED_DROP = {"roc_auc": 0.05, "accuracy": 0.05}
MIN_SCORE_KS = 0.1  # prediction drift: significant (pipeline drift config) and at least this material
MIN_DECISION_JS = 0.05


def labelled_predictions(predictions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    return predictions.merge(labels[["customer_id", "defaulted"]], on="customer_id", how="inner")


def _floats(values: dict) -> dict:
    return {k: dg.MetadataValue.float(float(v)) for k, v in values.items() if isinstance(v, (int, float)) and v is not None}


def arrived_labels(context, labels: pd.DataFrame) -> tuple[pd.DataFrame | None, dg.AssetCheckResult | None]:
    """The partition's labels if all of them exist at the run's now; else a result saying they do not yet
    (not a failure: the check is re-evaluated when they arrive)."""
    arrival = LabelClock.of_run(context).arrival(labels)
    if arrival.complete:
        return labels, None
    return None, dg.AssetCheckResult(
        passed=True,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"Not evaluated: the labels of this partition have not arrived ({arrival.describe()}). "
        "It is re-evaluated when they arrive (label_arrival_sensor, or any later run of this check).",
        metadata={
            "evaluated": dg.MetadataValue.int(0),
            "labels_arrived": dg.MetadataValue.int(arrival.arrived),
            "labels_expected": dg.MetadataValue.int(arrival.total),
            **({"labels_complete_at": dg.MetadataValue.timestamp(arrival.complete_at.tz_localize("UTC"))}
               if arrival.complete_at is not None else {}),
        },
    )


def evaluation_note(context) -> tuple[str, dict]:
    """A re-evaluation (requested because labels arrived) says so in its description and metadata."""
    again = (getattr(context, "run", None) and context.run.tags.get(REEVALUATION_TAG)) == "1"
    return ("Re-evaluated now that the labels arrived. " if again else ""), {
        "evaluated": dg.MetadataValue.int(1), "reevaluation": dg.MetadataValue.bool(bool(again))}


@reported_asset_check(
    asset=PREDICTIONS,
    additional_ins={"clean_labels": dg.AssetIn(), "model_evaluation": dg.AssetIn()},
    description="Performance on the day's labelled predictions vs the held-out evaluation of the model; "
    "fails when " + " or ".join(f"{m} drops by more than {v:g}" for m, v in MAX_DROP.items())
    + " (signed_drop/<metric> = evaluation - realized: positive is worse).",
    blocking=False,
    partitions_def=daily_partitions,
)
def model_performance(context, batch_predictions: pd.DataFrame, clean_labels: pd.DataFrame,
                      model_evaluation: pd.DataFrame):
    clean_labels, waiting = arrived_labels(context, clean_labels)
    if waiting is not None:
        return waiting
    note, evaluated = evaluation_note(context)
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
        description=note + ("; ".join(drop.messages) or "Performance within bounds of the evaluation baseline."),
        metadata={
            **evaluated,
            **_floats({k: current[k] for k in ("accuracy", "precision", "recall", "f1", "roc_auc")}),
            # evaluation - realized, signed: positive is a drop, negative an improvement
            **_floats({f"signed_drop/{k}": v for k, v in drop.drops.items()}),
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
def model_fairness(context, batch_predictions: pd.DataFrame, clean_labels: pd.DataFrame):
    clean_labels, waiting = arrived_labels(context, clean_labels)
    if waiting is not None:
        return waiting
    note, evaluated = evaluation_note(context)
    data = labelled_predictions(batch_predictions, clean_labels).dropna(subset=["gender"])
    if data.empty or data["gender"].nunique() < 2:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                   description="Fewer than two gender groups with labels; fairness unknown.")
    fairness = fairness_metrics(
        data["defaulted"].astype(int), data["predicted_default"].astype(int), data["gender"].astype(str),
        max_demographic_parity_difference=MAX_DEMOGRAPHIC_PARITY_DIFFERENCE,
        max_equalized_odds_difference=MAX_EQUALIZED_ODDS_DIFFERENCE,
    )
    # Equalized odds compares TPR and FPR per group: with few positives (or negatives) in a group those rates
    # swing by +-0.15 from sampling alone, so they are reported but judged only from MIN_GROUP_OUTCOMES up.
    support = int(data.groupby(data["gender"].astype(str))["defaulted"].agg(["sum", lambda y: (y == 0).sum()]).min().min())
    judged = support >= MIN_GROUP_OUTCOMES
    passed = fairness["passed"] if judged else fairness["demographic_parity_passed"]
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=note + (
            f"demographic parity difference {fairness['demographic_parity_difference']:.3f} "
            f"(max {MAX_DEMOGRAPHIC_PARITY_DIFFERENCE}), equalized odds difference "
            f"{fairness['equalized_odds_difference']:.3f} (max {MAX_EQUALIZED_ODDS_DIFFERENCE}"
            + ("" if judged else f"; not judged: {support} outcomes of one kind in a group, "
               f"{MIN_GROUP_OUTCOMES} needed") + ")"
        ),
        metadata={
            **evaluated,
            "min_group_outcomes": dg.MetadataValue.int(support),
            "equalized_odds_judged": dg.MetadataValue.bool(judged),
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
    context,
    batch_predictions: pd.DataFrame,
    customer_features: pd.DataFrame,
    clean_labels: pd.DataFrame,
    trained_model: ModelArtifact,
):
    clean_labels, waiting = arrived_labels(context, clean_labels)
    if waiting is not None:
        return waiting
    note, evaluated = evaluation_note(context)
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
        description=note + result.message,
        metadata={
            **evaluated,
            "importance_l1_distance": dg.MetadataValue.float(result.l1_distance),
            **_floats({f"importance/{k}": v for k, v in result.current_normalised.items()}),
        },
    )


def holdout_scores(model: ModelArtifact) -> pd.DataFrame:
    """The model's reference: scores and labels of hold-out rows labelled when it was trained."""
    return pd.DataFrame({"score": np.asarray(model.reference_scores, dtype="float64"),
                         "label": np.asarray(model.reference_labels, dtype="int64")})


def _not_evaluated(reason: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, severity=dg.AssetCheckSeverity.WARN,
                               description=f"Not evaluated: {reason}", metadata={"evaluated": dg.MetadataValue.int(0)})


def _reference(model: ModelArtifact, predictions: pd.DataFrame):
    """(hold-out scores, calibration) or a not-evaluated result saying why there is no usable reference."""
    versions = set(predictions["model_version"].dropna().astype(str)) if "model_version" in predictions else set()
    if versions and versions != {model.version}:
        return None, None, _not_evaluated(f"these predictions were made by model {', '.join(sorted(versions))}, "
                                          f"the current model is {model.version}; re-run the partition's predictions")
    holdout = holdout_scores(model)
    try:
        return holdout, fit_calibration(holdout["score"], holdout["label"]), None
    except ValueError as exc:
        return None, None, _not_evaluated(f"no usable hold-out reference ({exc})")


def _realized(predictions: pd.DataFrame, labels: pd.DataFrame, calibration: Calibration) -> dict[str, float]:
    data = labelled_predictions(predictions, labels).dropna(subset=["score", "defaulted"])
    y = data["defaulted"].astype(int).to_numpy()
    realized = classification_metrics(y, data["predicted_default"].astype(int), data["score"].astype(float))
    out = {m: realized[m] for m in ("accuracy", "precision", "recall", "f1", "roc_auc") if realized[m] is not None}
    if len(y):
        out["ece"] = expected_calibration_error(y, calibration(data["score"].astype(float)))
    return out


def _estimate_description(note: str, drops: dict[str, float], failed: list[str], estimate, baseline) -> str:
    parts = [f"estimated {m} {estimate.expected[m]:.3f} [{estimate.lower[m]:.3f}, {estimate.upper[m]:.3f}] vs "
             f"evaluation {baseline[m]:.3f} (drop {drops[m]:+.3f}, max {MAX_ESTIMATED_DROP[m]})" for m in drops]
    verdict = f"estimated {', '.join(failed)} dropped below the evaluation" if failed else "estimate within bounds"
    return f"{note}{verdict}: " + "; ".join(parts) + " (no labels used: confidence-based estimate from calibrated scores)"


def performance_facet(result: dg.AssetCheckResult) -> dict:
    """The typed ``modelPerformance`` facet of an estimated_performance result (none if not evaluated)."""
    md = result.metadata or {}
    if not any(k.startswith("estimated/") for k in md):
        return {}

    def value(key):
        entry = md.get(key)
        return getattr(entry, "value", None)

    facet = ModelPerformanceDatasetFacet.from_check(
        md, rows=value("rows"), labelsArrived=value("labels_arrived"), confidence=CONFIDENCE,
        calibrationMethod=value("calibration/method"), calibrationErrorReference=value("calibration/ece_calibrated"),
        calibrationErrorRealized=value("realized/ece"), modelVersion=value("model_version"),
        failedMetrics=[m for m in MAX_ESTIMATED_DROP if (value(f"estimated_drop/{m}") or 0) > MAX_ESTIMATED_DROP[m]],
    )
    return {facet.KEY: facet}


@reported_asset_check(
    facets=performance_facet,
    asset=PREDICTIONS,
    additional_ins={"trained_model": dg.AssetIn(), "model_evaluation": dg.AssetIn(),
                    "clean_labels": dg.AssetIn()},
    description="Accuracy, precision, recall, F1 and ROC AUC estimated without labels from the calibrated scores "
    f"(CBPE), with 95% bounds; fails when an estimate drops below the model's evaluation by more than "
    f"{', '.join(f'{k} {v}' for k, v in MAX_ESTIMATED_DROP.items())}. Once labels arrive: realized beside "
    "estimated and the estimation error.",
    blocking=False,
    partitions_def=daily_partitions,
)
def estimated_performance(context, batch_predictions: pd.DataFrame, trained_model: ModelArtifact,
                          model_evaluation: pd.DataFrame, clean_labels: pd.DataFrame):
    _, calibration, skipped = _reference(trained_model, batch_predictions)
    if skipped is not None:
        return skipped
    scores = batch_predictions["score"].astype(float).dropna()
    if scores.empty:
        return _not_evaluated("the partition has no scores")
    estimate = estimate_performance(scores, trained_model.threshold, calibration)
    baseline = dict(zip(model_evaluation["metric"], model_evaluation["value"].astype(float)))
    drops = {m: baseline[m] - estimate.expected[m] for m in MAX_ESTIMATED_DROP if m in baseline}
    failed = [m for m, d in drops.items() if d > MAX_ESTIMATED_DROP[m]]
    labels, _ = arrived_labels(context, clean_labels)
    realized = _realized(batch_predictions, labels, calibration) if labels is not None else {}
    note, evaluated = evaluation_note(context) if realized else ("", {"evaluated": dg.MetadataValue.int(1)})
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN,
        description=_estimate_description(note, drops, failed, estimate, baseline),
        metadata={
            **evaluated,
            **_floats(estimate.as_metadata("estimated")),
            **_floats({f"evaluation/{m}": v for m, v in baseline.items() if m in estimate.expected}),
            **_floats({f"estimated_drop/{m}": v for m, v in drops.items()}),
            **_floats({f"realized/{m}": v for m, v in realized.items()}),
            **_floats({f"estimation_error/{m}": v for m, v in estimation_errors(estimate, realized).items()}),
            **_floats({"calibration/ece_raw": calibration.ece_raw, "calibration/ece_calibrated": calibration.ece_calibrated,
                       "expected_positive_rate": estimate.expected_positive_rate, "decision_rate": estimate.decision_rate}),
            "calibration/method": dg.MetadataValue.text(calibration.method),
            "calibration/reference_rows": dg.MetadataValue.int(calibration.rows),
            "rows": dg.MetadataValue.int(estimate.rows),
            "labels_arrived": dg.MetadataValue.bool(bool(realized)),
            "model_version": dg.MetadataValue.text(trained_model.version),
        },
    )


@reported_asset_check(
    asset=PREDICTIONS,
    additional_ins={"trained_model": dg.AssetIn()},
    description="Calibration of the model's scores on its hold-out split (expected calibration error, 10 bins): "
    f"fails when even the isotonic recalibration the estimates use leaves an ECE above {MAX_CALIBRATED_ECE} and "
    "above the sampling noise of perfectly calibrated scores of that many rows (95th percentile).",
    blocking=False,
    partitions_def=daily_partitions,
)
def score_calibration(batch_predictions: pd.DataFrame, trained_model: ModelArtifact):
    _, calibration, skipped = _reference(trained_model, batch_predictions)
    if skipped is not None:
        return skipped
    used = f"recalibrated ({calibration.method} on the hold-out)" if calibration.applied else "raw scores used"
    return dg.AssetCheckResult(
        passed=calibration.calibrated,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"hold-out ECE {calibration.ece_raw:.3f} raw, {calibration.ece_calibrated:.3f} as used ({used}); "
        f"limit {max(MAX_CALIBRATED_ECE, calibration.ece_noise):.3f} (max of {MAX_CALIBRATED_ECE} and the sampling "
        f"noise of {calibration.rows} calibrated rows, {calibration.ece_noise:.3f})",
        metadata={**_floats({"ece_raw": calibration.ece_raw, "ece_calibrated": calibration.ece_calibrated,
                             "ece_noise_p95": calibration.ece_noise}),
                  "recalibrated": dg.MetadataValue.bool(calibration.applied),
                  "reference_rows": dg.MetadataValue.int(calibration.rows)},
    )


def _prediction_drift(reference: pd.DataFrame, current: pd.DataFrame, threshold: float) -> dict:
    config = pipeline_drift_config()
    score = detect_label_drift(reference["score"], current["score"], config, name="score")
    decision = detect_label_drift((reference["score"] >= threshold).astype(int),
                                  current["predicted_default"].astype("int64"), config, name="predicted_default")
    return {
        "score": (score, bool(score.drifted and (score.ks_stat or 0) >= MIN_SCORE_KS)),
        "predicted_default": (decision, bool(decision.drifted and (decision.js_distance or 0) >= MIN_DECISION_JS)),
    }


@reported_asset_check(
    asset=PREDICTIONS,
    additional_ins={"trained_model": dg.AssetIn()},
    description="Score and decision distribution of the partition vs the model's training window (its hold-out "
    f"scores): KS on scores (material from D {MIN_SCORE_KS}), chi-square / Jensen-Shannon on decisions (from "
    f"{MIN_DECISION_JS}). Needs no labels.",
    blocking=False,
    partitions_def=daily_partitions,
)
def prediction_drift(batch_predictions: pd.DataFrame, trained_model: ModelArtifact):
    holdout, _, skipped = _reference(trained_model, batch_predictions)
    if skipped is not None:
        return skipped
    current = batch_predictions.dropna(subset=["score", "predicted_default"])
    results = _prediction_drift(holdout, current, trained_model.threshold)
    drifted = [name for name, (_, d) in results.items() if d]
    parts = [f"{name}: {r.test} statistic {r.statistic:.3f}, p {r.p_value:.2g}" if r.statistic is not None
             else f"{name}: {r.message}" for name, (r, _) in results.items()]
    metadata = {}
    for name, (r, d) in results.items():
        metadata.update(_floats({f"{name}/statistic": r.statistic, f"{name}/p_value": r.p_value, f"{name}/psi": r.psi,
                                 f"{name}/js_distance": r.js_distance}))
        metadata[f"{name}/drifted"] = dg.MetadataValue.bool(d)
    return dg.AssetCheckResult(
        passed=not drifted, severity=dg.AssetCheckSeverity.WARN,
        description=(f"prediction drift in {', '.join(drifted)}" if drifted else "no prediction drift")
        + f" vs {len(holdout)} hold-out scores of the training window: " + "; ".join(parts),
        metadata={**metadata, **_floats({"mean_score": current["score"].mean(), "reference_mean_score": holdout["score"].mean(),
                                         "decision_rate": current["predicted_default"].astype(float).mean()}),
                  "reference_rows": dg.MetadataValue.int(len(holdout))},
    )


model_check_definitions = [model_performance, model_fairness, feature_importance_drift, estimated_performance,
                           score_calibration, prediction_drift]
