"""Model quality checks (pure functions, no Dagster).

* :func:`classification_metrics` - accuracy / precision / recall / f1 / roc_auc
  (scikit-learn); ``roc_auc`` is ``None`` with a reason when undefined.
* :func:`performance_drop` - per-metric drop of current vs baseline metrics.
* :func:`fairness_metrics` - demographic parity / equalized odds differences
  (``fairlearn.metrics``) and per-group selection rates (``MetricFrame``).
* :func:`permutation_importance_drift` - compares the current permutation
  importances (``sklearn.inspection.permutation_importance``) with a baseline.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from sklearn import metrics as skm

__all__ = [
    "classification_metrics",
    "performance_drop",
    "PerformanceDropResult",
    "fairness_metrics",
    "permutation_importance_drift",
    "ImportanceDriftResult",
]

HIGHER_IS_BETTER = {"accuracy", "precision", "recall", "f1", "roc_auc"}


def _f(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def classification_metrics(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    y_score: Sequence[float] | np.ndarray | None = None,
    *,
    pos_label: Any = 1,
    average: str = "binary",
) -> dict[str, Any]:
    """Standard classification metrics (scikit-learn).

    ``y_score`` is the score/probability of the positive class (binary) or an
    ``(n, n_classes)`` probability matrix (multiclass, one-vs-rest AUC).
    ``roc_auc`` is ``None`` (with ``roc_auc_reason``) when only one class is
    present in ``y_true`` or no scores are given.
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    kw: dict[str, Any] = {"average": average, "zero_division": 0}
    if average == "binary":
        kw["pos_label"] = pos_label
    out: dict[str, Any] = {
        "n": int(y_true.size),
        "accuracy": _f(skm.accuracy_score(y_true, y_pred)) if y_true.size else None,
        "precision": _f(skm.precision_score(y_true, y_pred, **kw)) if y_true.size else None,
        "recall": _f(skm.recall_score(y_true, y_pred, **kw)) if y_true.size else None,
        "f1": _f(skm.f1_score(y_true, y_pred, **kw)) if y_true.size else None,
        "roc_auc": None,
        "roc_auc_reason": None,
    }
    if y_score is None:
        out["roc_auc_reason"] = "no scores given"
    elif np.unique(y_true).size < 2:
        out["roc_auc_reason"] = "only one class present in y_true; ROC AUC is undefined"
    else:
        score = np.asarray(y_score, dtype=float)
        try:
            if score.ndim == 2:
                out["roc_auc"] = _f(skm.roc_auc_score(y_true, score, multi_class="ovr"))
            else:
                out["roc_auc"] = _f(skm.roc_auc_score(y_true, score))
            if out["roc_auc"] is None:
                out["roc_auc_reason"] = "ROC AUC is not finite"
        except ValueError as exc:
            out["roc_auc_reason"] = f"ROC AUC undefined: {exc}"
    return out


@dataclass
class PerformanceDropResult:
    drops: dict[str, float | None]  # baseline - current (higher-is-better metrics)
    thresholds: dict[str, float]
    exceeded: dict[str, bool]
    failed: bool
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def performance_drop(
    current: Mapping[str, Any],
    baseline: Mapping[str, Any],
    max_drop: float | Mapping[str, float] = 0.05,
    metrics: Sequence[str] | None = None,
) -> PerformanceDropResult:
    """Absolute drop ``baseline - current`` per metric (for lower-is-better
    metrics not in ``HIGHER_IS_BETTER``: ``current - baseline``).

    ``max_drop`` is one threshold for all metrics or a per-metric mapping
    (metrics absent from the mapping are reported but not checked).  A metric
    missing or ``None`` on one side is reported, not failed.
    """
    if metrics is None:
        metrics = [
            m for m in baseline
            if m in current and isinstance(baseline[m], (int, float, np.floating, type(None)))
            and not isinstance(baseline[m], bool) and m != "n"
        ]
    drops: dict[str, float | None] = {}
    thresholds: dict[str, float] = {}
    exceeded: dict[str, bool] = {}
    messages: list[str] = []
    for m in metrics:
        thr = max_drop.get(m) if isinstance(max_drop, Mapping) else max_drop
        b, c = _f(baseline.get(m)), _f(current.get(m))
        if b is None or c is None:
            drops[m] = None
            exceeded[m] = False
            messages.append(f"{m}: not comparable (baseline={b}, current={c})")
            continue
        d = (b - c) if (m in HIGHER_IS_BETTER or m not in _LOWER_IS_BETTER) else (c - b)
        drops[m] = d
        if thr is None:
            exceeded[m] = False
            continue
        thresholds[m] = float(thr)
        exceeded[m] = d > thr
        if exceeded[m]:
            messages.append(f"{m} dropped by {d:.4f} (baseline {b:.4f} -> current {c:.4f}) > max_drop {thr:g}")
    return PerformanceDropResult(drops, thresholds, exceeded, any(exceeded.values()), messages)


_LOWER_IS_BETTER = {"log_loss", "brier", "brier_score", "mae", "mse", "rmse"}


def fairness_metrics(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    sensitive: Sequence[Any] | np.ndarray | pd.Series,
    *,
    max_demographic_parity_difference: float = 0.1,
    max_equalized_odds_difference: float = 0.1,
) -> dict[str, Any]:
    """Group fairness of binary predictions with ``fairlearn.metrics``."""
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        equalized_odds_difference,
        selection_rate,
    )

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    sens = pd.Series(np.asarray(sensitive), name="group")
    dpd = _f(demographic_parity_difference(y_true, y_pred, sensitive_features=sens))
    eod = _f(equalized_odds_difference(y_true, y_pred, sensitive_features=sens))
    mf = MetricFrame(
        metrics={"selection_rate": selection_rate, "count": lambda yt, yp: len(yt)},
        y_true=y_true, y_pred=y_pred, sensitive_features=sens,
    )
    by_group = mf.by_group
    rates = {str(g): _f(v) for g, v in by_group["selection_rate"].items()}
    counts = {str(g): int(v) for g, v in by_group["count"].items()}
    dp_ok = dpd is not None and dpd <= max_demographic_parity_difference
    eo_ok = eod is not None and eod <= max_equalized_odds_difference
    return {
        "demographic_parity_difference": dpd,
        "equalized_odds_difference": eod,
        "selection_rate_by_group": rates,
        "count_by_group": counts,
        "thresholds": {
            "demographic_parity_difference": max_demographic_parity_difference,
            "equalized_odds_difference": max_equalized_odds_difference,
        },
        "demographic_parity_passed": bool(dp_ok),
        "equalized_odds_passed": bool(eo_ok),
        "passed": bool(dp_ok and eo_ok),
    }


@dataclass
class ImportanceDriftResult:
    features: list[str]
    current: dict[str, float]  # raw mean permutation importance
    current_std: dict[str, float]
    baseline: dict[str, float]
    current_normalised: dict[str, float]
    baseline_normalised: dict[str, float]
    l1_distance: float  # sum |cur_norm - base_norm|, in [0, 2]
    spearman: float | None  # rank correlation of the two importance vectors
    threshold: float
    min_spearman: float | None
    drifted: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["spearman"] = _f(self.spearman)
        return d


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.clip(np.asarray(v, dtype=float), 0.0, None)  # negative importance = noise
    s = v.sum()
    return v / s if s > 0 else np.full(v.size, 1.0 / v.size) if v.size else v


def permutation_importance_drift(
    model: Any,
    X_now: pd.DataFrame | np.ndarray,
    y_now: Sequence[Any] | np.ndarray,
    baseline_importances: Mapping[str, float],
    n_repeats: int = 5,
    random_state: int | None = 0,
    threshold: float = 0.3,
    min_spearman: float | None = None,
    scoring: Any = None,
) -> ImportanceDriftResult:
    """Permutation-importance drift against baseline importances.

    Importances are clipped at 0 and normalised to sum to 1; drift when the L1
    distance of the normalised vectors is >= ``threshold`` (range 0..2), or
    the Spearman rank correlation is below ``min_spearman`` (if given).
    """
    from sklearn.inspection import permutation_importance

    if isinstance(X_now, pd.DataFrame):
        names = [str(c) for c in X_now.columns]
    else:
        names = [f"x{i}" for i in range(np.asarray(X_now).shape[1])]
    # Give the model what it was fitted on: a frame only if it learned feature names (else sklearn warns).
    X_fit = X_now if hasattr(model, "feature_names_in_") else np.asarray(X_now, dtype="float64")
    pi = permutation_importance(
        model, X_fit, y_now, n_repeats=n_repeats, random_state=random_state, scoring=scoring
    )
    cur = dict(zip(names, map(float, pi.importances_mean)))
    cur_std = dict(zip(names, map(float, pi.importances_std)))
    feats = names + [f for f in baseline_importances if f not in cur]
    cv = np.array([cur.get(f, 0.0) for f in feats])
    bv = np.array([float(baseline_importances.get(f, 0.0)) for f in feats])
    cn, bn = _normalise(cv), _normalise(bv)
    l1 = float(np.abs(cn - bn).sum())
    rho = None
    if len(feats) >= 2 and np.ptp(cv) > 0 and np.ptp(bv) > 0:
        rho = _f(stats.spearmanr(cv, bv).statistic)
    drifted = l1 >= threshold or (min_spearman is not None and rho is not None and rho < min_spearman)
    top_cur = feats[int(np.argmax(cn))] if feats else None
    top_base = feats[int(np.argmax(bn))] if feats else None
    msg = (
        f"{'importance drift' if drifted else 'no importance drift'}: L1 distance of normalised importances "
        f"{l1:.3f} ({'>=' if l1 >= threshold else '<'} {threshold:g}), spearman "
        f"{'n/a' if rho is None else f'{rho:.3f}'}; top feature baseline {top_base}, current {top_cur}"
    )
    missing = [f for f in baseline_importances if f not in cur]
    if missing:
        msg += f"; baseline features absent now: {', '.join(map(str, missing))}"
    return ImportanceDriftResult(
        features=feats, current={f: cur.get(f, 0.0) for f in feats},
        current_std={f: cur_std.get(f, 0.0) for f in feats},
        baseline={f: float(baseline_importances.get(f, 0.0)) for f in feats},
        current_normalised=dict(zip(feats, map(float, cn))), baseline_normalised=dict(zip(feats, map(float, bn))),
        l1_distance=l1, spearman=rho, threshold=threshold, min_spearman=min_spearman,
        drifted=bool(drifted), message=msg,
    )
