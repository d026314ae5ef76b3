"""Classification performance estimated without labels, from calibrated scores (CBPE), and calibration.

Pure functions, no Dagster. The idea is NannyML's confidence-based performance estimation: when the
score ``p`` of a row is a calibrated probability that its label is positive, the expected confusion
matrix of a decision ``score >= threshold`` is ``TP = sum(p * d)``, ``FP = sum((1 - p) * d)``,
``FN = sum(p * (1 - d))``, ``TN = sum((1 - p) * (1 - d))``, and every metric follows from it.

* :func:`expected_calibration_error` - ECE over equal-width bins (sklearn's ``calibration_curve`` bins).
* :func:`fit_calibration` - an isotonic map (scikit-learn) from raw scores to probabilities, fitted on
  labelled reference rows (a model's hold-out), only when the raw scores are not calibrated (ECE beyond
  ``MAX_RAW_ECE`` and beyond the sampling noise of that many rows).
* :func:`estimate_performance` - expected accuracy, precision, recall, F1 and ROC AUC, with bounds
  from Monte Carlo draws of the labels (what realized values the calibrated scores allow).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.isotonic import IsotonicRegression

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
ECE_BINS = 10
MAX_RAW_ECE = 0.02  # raw scores calibrated enough to use as probabilities: no recalibration below this
MAX_CALIBRATED_ECE = 0.05  # scores as used (after recalibration) with a higher ECE, beyond sampling noise: not calibrated
CONFIDENCE = 0.95
MC_DRAWS = 300  # label draws for the bounds: percentile noise ~ 1/sqrt(draws) of the interval width
MC_MAX_ROWS = 20_000  # rows the draws run on at most (bounds of larger batches are scaled from them)
MIN_CALIBRATION_ROWS = 50


def _probabilities(values: Any, name: str) -> np.ndarray:
    p = np.asarray(values, dtype="float64").ravel()
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} has {int((~np.isfinite(p)).sum())} missing or infinite values")
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"{name} must be probabilities in [0, 1]")
    return p


def expected_calibration_error(y_true: Any, probabilities: Any, n_bins: int = ECE_BINS) -> float:
    """Share-weighted mean |observed positive rate - mean probability| over equal-width bins."""
    p = _probabilities(probabilities, "probabilities")
    y = np.asarray(y_true, dtype="float64").ravel()
    if y.size != p.size or not p.size:
        raise ValueError(f"need as many labels as probabilities, at least one (got {y.size} and {p.size})")
    bins = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], p)  # as calibration_curve bins
    counts = np.bincount(bins, minlength=n_bins)
    gap = np.abs(np.bincount(bins, weights=y, minlength=n_bins) - np.bincount(bins, weights=p, minlength=n_bins))
    return float(gap.sum() / counts.sum())


def ece_noise_floor(probabilities: Any, *, quantile: float = 0.95, draws: int = 200, seed: int = 0) -> float:
    """The ``quantile`` of the ECE that perfectly calibrated ``probabilities`` show from sampling alone (labels
    drawn from them): at a few hundred rows an ECE of 0.05 is noise, not miscalibration."""
    p = _probabilities(probabilities, "probabilities")
    drawn = np.random.default_rng(seed).random((draws, p.size)) < p
    return float(np.quantile([expected_calibration_error(y, p) for y in drawn], quantile))


@dataclass
class Calibration:
    """Raw score -> probability by ``method`` (``none``: the raw scores were calibrated best as they are)."""

    method: str  # none | isotonic
    ece_raw: float
    ece_calibrated: float  # cross-fitted: each half mapped by the map fitted on the other half
    rows: int
    ece_noise: float  # 95th percentile of the ECE of perfectly calibrated scores of this size (sampling noise)
    model: Any = field(default=None, repr=False)

    @property
    def applied(self) -> bool:
        return self.method != "none"

    def __call__(self, scores: Any) -> np.ndarray:
        s = _probabilities(scores, "scores")
        return np.clip(self.model.predict(s), 0.0, 1.0) if self.applied else s

    @property
    def calibrated(self) -> bool:
        """Calibrated within sampling noise (or ``MAX_CALIBRATED_ECE``)."""
        return self.ece_calibrated <= max(MAX_CALIBRATED_ECE, self.ece_noise)


def _isotonic(scores: np.ndarray, y: np.ndarray) -> IsotonicRegression:
    return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, y)


def _cross_fitted_ece(scores: np.ndarray, y: np.ndarray) -> float:
    """ECE of isotonic calibration on rows it was not fitted on (in-sample, an isotonic map's ECE is ~0)."""
    half = np.random.default_rng(0).permutation(scores.size) < scores.size // 2
    mapped = np.empty_like(scores)
    for fit in (half, ~half):
        mapped[~fit] = np.clip(_isotonic(scores[fit], y[fit]).predict(scores[~fit]), 0.0, 1.0)
    return expected_calibration_error(y, mapped)


def fit_calibration(scores: Any, y_true: Any, max_raw_ece: float = MAX_RAW_ECE) -> Calibration:
    """The calibration map, fitted on labelled reference rows (a model's hold-out): the raw scores when their
    ECE is within ``max_raw_ece`` or within sampling noise, else isotonic regression (scikit-learn)."""
    s = _probabilities(scores, "reference scores")
    y = np.asarray(y_true, dtype="float64").ravel()
    if s.size < MIN_CALIBRATION_ROWS or np.unique(y).size < 2:
        raise ValueError(f"calibration needs at least {MIN_CALIBRATION_ROWS} labelled reference rows of both "
                         f"classes (got {s.size} rows, {np.unique(y).size} classes)")
    raw, noise = expected_calibration_error(y, s), ece_noise_floor(s)
    if raw <= max(max_raw_ece, noise):
        return Calibration("none", raw, raw, int(s.size), noise)
    model = _isotonic(s, y)
    mapped = np.clip(model.predict(s), 0.0, 1.0)
    return Calibration("isotonic", raw, _cross_fitted_ece(s, y), int(s.size), ece_noise_floor(mapped), model)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _confusion_metrics(y: np.ndarray, d: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics from (expected or drawn) labels ``y`` (rows last axis) and decisions ``d``; 0 when undefined,
    as sklearn's ``zero_division=0``."""
    tp, fp = (y * d).sum(-1), ((1 - y) * d).sum(-1)
    fn, tn = (y * (1 - d)).sum(-1), ((1 - y) * (1 - d)).sum(-1)
    n = tp + fp + fn + tn
    return {
        "accuracy": _ratio(tp + tn, n),
        "precision": np.nan_to_num(_ratio(tp, tp + fp)),
        "recall": np.nan_to_num(_ratio(tp, tp + fn)),
        "f1": np.nan_to_num(_ratio(2 * tp, 2 * tp + fp + fn)),
    }


def _expected_auc(scores: np.ndarray, p: np.ndarray) -> float:
    """E[pairs ranked right] / E[positive-negative pairs], pairs of distinct rows, ties counted half."""
    _, group = np.unique(scores, return_inverse=True)
    neg_by_score = np.bincount(group, weights=1 - p)
    below = np.concatenate([[0.0], np.cumsum(neg_by_score)[:-1]])[group]
    tied_others = neg_by_score[group] - (1 - p)
    right = float(np.sum(p * (below + 0.5 * tied_others)))
    pairs = float(p.sum() * (1 - p).sum() - np.sum(p * (1 - p)))
    return right / pairs if pairs > 0 else float("nan")


def _drawn_auc(ranks: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Mann-Whitney ROC AUC of each row of drawn labels against the scores' ranks."""
    pos = draws.sum(1)
    neg = draws.shape[1] - pos
    u = draws @ ranks - pos * (pos + 1) / 2
    return _ratio(u, pos * neg)


def _bounds(s, p, d, expected, confidence, draws, seed) -> tuple[dict[str, float], dict[str, float]]:
    """Percentiles of the metrics over label draws. Above ``MC_MAX_ROWS`` rows the draws run on a random
    subset and their spread is scaled by sqrt(subset / rows) (a metric's sampling spread goes as 1/sqrt(n)),
    so the cost stays bounded."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(s.size, MC_MAX_ROWS, replace=False) if s.size > MC_MAX_ROWS else np.arange(s.size)
    scale = np.sqrt(rows.size / s.size)
    drawn = (rng.random((draws, rows.size)) < p[rows]).astype("float32")
    sampled = {**_confusion_metrics(drawn, d[rows]), "roc_auc": _drawn_auc(rankdata(s[rows]), drawn)}
    tail = 100 * (1 - confidence) / 2
    lower, upper = {}, {}
    for m, values in sampled.items():
        lo, mid, hi = np.nanpercentile(values, [tail, 50, 100 - tail])
        if scale < 1:  # the subset's spread, scaled, around the full batch's estimate
            lo, hi = expected[m] - (mid - lo) * scale, expected[m] + (hi - mid) * scale
        lower[m], upper[m] = float(lo), float(hi)
    return lower, upper


@dataclass
class PerformanceEstimate:
    """Expected metrics and ``[lower, upper]`` bounds at ``confidence``; ``rows`` scored rows."""

    expected: dict[str, float]
    lower: dict[str, float]
    upper: dict[str, float]
    rows: int
    confidence: float
    expected_positive_rate: float
    decision_rate: float

    def as_metadata(self, prefix: str = "estimated") -> dict[str, float]:
        out: dict[str, float] = {}
        for m, v in self.expected.items():
            out.update({f"{prefix}/{m}": v, f"{prefix}/{m}/lower": self.lower[m], f"{prefix}/{m}/upper": self.upper[m]})
        return out


def estimate_performance(
    scores: Any,
    threshold: float,
    calibration: Calibration | None = None,
    *,
    confidence: float = CONFIDENCE,
    draws: int = MC_DRAWS,
    seed: int = 0,
) -> PerformanceEstimate:
    """CBPE: expected metrics of decisions ``scores >= threshold`` when ``calibration(scores)`` are the
    probabilities of the positive label. Bounds: percentiles of the metrics over ``draws`` label draws."""
    s = _probabilities(scores, "scores")
    if not s.size:
        raise ValueError("no scores to estimate performance from")
    p = calibration(s) if calibration is not None else s
    d = (s >= threshold).astype("float64")
    expected = {m: float(v) for m, v in _confusion_metrics(p, d).items()}
    expected["roc_auc"] = _expected_auc(s, p)
    lower, upper = _bounds(s, p, d, expected, confidence, draws, seed)
    return PerformanceEstimate({m: expected[m] for m in METRICS}, lower, upper, int(s.size), confidence,
                               float(p.mean()), float(d.mean()))


def estimation_errors(estimate: PerformanceEstimate, realized: dict[str, Any]) -> dict[str, float]:
    """Signed ``realized - estimated`` per metric both sides know (negative: the estimate was too high)."""
    out = {}
    for m, e in estimate.expected.items():
        r = realized.get(m)
        if r is not None and np.isfinite(e) and np.isfinite(float(r)):
            out[m] = float(r) - e
    return out
