"""Explanation drift: how the model's attributions (SHAP) move between training time and a new batch.

Pure functions, no Dagster. SHAP values come from ``shap.TreeExplainer`` (exact for tree ensembles such as
scikit-learn's gradient boosting, in the model's raw output: log-odds for a classifier), on a bounded sample
drawn with a fixed seed, so the same rows give the same numbers on every run.

When to use which (beside :func:`~observability_pipelines.checks.model_checks.permutation_importance_drift`):

* **SHAP explanation drift** needs no labels: it says what the model *relies on* for today's rows, so it runs
  on every batch of predictions, before any outcome is known. A column broken upstream (constant or nulled
  values) loses its attribution at once and is named. A *shuffled* column keeps its attribution (the model
  still uses the values, they are just wrong): only permutation importance, with labels, sees that.
* **Permutation importance** needs labels: it says which features the model's *performance* depends on.
  It answers later (once labels arrive) and is the one to trust when asking whether accuracy is at risk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

SAMPLE_SIZE = 500  # rows explained per batch: TreeExplainer cost is linear in rows; 500 keeps means within ~5 %
SEED = 0
MAX_MOVED_SHARE = 0.25  # share of total attribution that changed feature (total variation of the shares, 0..1)
MIN_SHARE_LOSS = 0.5  # a feature is "lost" when it keeps less than half of its training-time share
MIN_NAMED_SHARE = 0.05  # features with less than 5 % of the attribution at training time are never named


def bounded_sample(X: pd.DataFrame, size: int = SAMPLE_SIZE, seed: int = SEED) -> pd.DataFrame:
    """At most ``size`` rows, drawn without replacement with a fixed seed (all rows when fewer)."""
    if len(X) <= size:
        return X
    rows = np.sort(np.random.default_rng(seed).choice(len(X), size=size, replace=False))
    return X.iloc[rows]


def shap_values(model: Any, X: pd.DataFrame) -> tuple[np.ndarray, float]:
    """SHAP values ``(rows, features)`` and the expected value, in the model's raw (log-odds) output."""
    import shap

    explainer = shap.TreeExplainer(model)
    values = np.asarray(explainer.shap_values(X.to_numpy(dtype="float64")))
    if values.ndim == 3:  # one slice per class for some model types: keep the positive class
        values = values[..., -1] if values.shape[-1] == 2 else values[-1]
    expected = np.ravel(explainer.expected_value)
    return values, float(expected[-1])


@dataclass
class Attribution:
    """Per feature: mean |SHAP| (how much the model relies on it) and the spread of its SHAP values around
    their mean (how much it tells rows apart). A column nulled upstream can keep its mean |SHAP| when the
    model learned a branch for nulls, but every row then gets the same attribution: the spread collapses."""

    mean_abs: dict[str, float]
    spread: dict[str, float]
    rows: int


def attribution(model: Any, X: pd.DataFrame, size: int = SAMPLE_SIZE, seed: int = SEED) -> Attribution:
    """SHAP attribution summary over a bounded sample of ``X`` (columns in the model's feature order)."""
    if X.empty:
        raise ValueError("no rows to explain")
    sample = bounded_sample(X, size, seed)
    values, _ = shap_values(model, sample)
    names = list(map(str, X.columns))
    return Attribution(dict(zip(names, map(float, np.abs(values).mean(axis=0)))),
                       dict(zip(names, map(float, np.abs(values - values.mean(axis=0)).mean(axis=0)))), len(sample))


def mean_abs_shap(model: Any, X: pd.DataFrame, size: int = SAMPLE_SIZE, seed: int = SEED) -> dict[str, float]:
    """Mean |SHAP| per feature over a bounded sample of ``X``."""
    return attribution(model, X, size, seed).mean_abs


@dataclass
class ExplanationDriftResult:
    drifted: bool
    moved_share: float  # total variation between the attribution shares (0 = same, 1 = disjoint)
    baseline_share: dict[str, float]
    current_share: dict[str, float]
    share_change: dict[str, float]  # current - baseline, signed
    baseline_rank: dict[str, int]  # 1 = largest share
    current_rank: dict[str, int]
    lost: list[str] = field(default_factory=list)  # features whose attribution collapsed, largest loss first
    baseline_spread_share: dict[str, float] = field(default_factory=dict)  # when spreads were given
    current_spread_share: dict[str, float] = field(default_factory=dict)
    message: str = ""


def _shares(values: Mapping[str, float], features: list[str]) -> np.ndarray:
    v = np.array([max(float(values.get(f, 0.0)), 0.0) for f in features])
    return v / v.sum() if v.sum() > 0 else np.full(len(features), 1.0 / len(features))


def _ranks(shares: np.ndarray) -> np.ndarray:
    order = np.argsort(-shares, kind="stable")
    ranks = np.empty(len(shares), dtype=int)
    ranks[order] = np.arange(1, len(shares) + 1)
    return ranks


def _collapsed(baseline: Mapping[str, float], current: Mapping[str, float], features: list[str]) -> np.ndarray:
    b, c = _shares(baseline, features), _shares(current, features)
    return (b >= MIN_NAMED_SHARE) & (c < MIN_SHARE_LOSS * b)


def explanation_drift(baseline: Mapping[str, float] | Attribution, current: Mapping[str, float] | Attribution,
                      max_moved_share: float = MAX_MOVED_SHARE) -> ExplanationDriftResult:
    """Compare mean |SHAP| per feature now with training time: shares, ranks, and the features lost (their
    share of mean |SHAP|, or of the SHAP spread when both sides are :class:`Attribution`, collapsed)."""
    spreads = (baseline.spread, current.spread) if isinstance(baseline, Attribution) and isinstance(
        current, Attribution) else None
    baseline = baseline.mean_abs if isinstance(baseline, Attribution) else baseline
    current = current.mean_abs if isinstance(current, Attribution) else current
    features = list(baseline) + [f for f in current if f not in baseline]
    if not features:
        raise ValueError("no features to compare")
    b, c = _shares(baseline, features), _shares(current, features)
    moved = float(0.5 * np.abs(c - b).sum())
    collapsed = _collapsed(baseline, current, features)
    if spreads is not None:
        collapsed |= _collapsed(*spreads, features)
    lost = [features[i] for i in np.argsort(c - b) if collapsed[i]]
    drifted = moved >= max_moved_share or bool(lost)
    result = ExplanationDriftResult(
        drifted, moved, dict(zip(features, map(float, b))), dict(zip(features, map(float, c))),
        dict(zip(features, map(float, c - b))), dict(zip(features, map(int, _ranks(b)))),
        dict(zip(features, map(int, _ranks(c)))), lost)
    if spreads is not None:
        result.baseline_spread_share = dict(zip(features, map(float, _shares(spreads[0], features))))
        result.current_spread_share = dict(zip(features, map(float, _shares(spreads[1], features))))
    result.message = describe(result, max_moved_share)
    return result


def describe(r: ExplanationDriftResult, max_moved_share: float) -> str:
    verdict = "explanation drift" if r.drifted else "no explanation drift"
    top_before = max(r.baseline_share, key=r.baseline_share.get)
    top_now = max(r.current_share, key=r.current_share.get)
    parts = [f"{verdict}: {r.moved_share:.1%} of the mean |SHAP| moved (limit {max_moved_share:.0%})",
             f"top feature at training {top_before}, now {top_now}"]
    for f in r.lost:
        parts.append(f"{f} lost its attribution (no longer tells rows apart): share of mean |SHAP| "
                     f"{r.baseline_share[f]:.1%} → {r.current_share[f]:.1%}, rank {r.baseline_rank[f]} → "
                     f"{r.current_rank[f]}" + (f", share of SHAP spread {r.baseline_spread_share[f]:.1%} → "
                                              f"{r.current_spread_share[f]:.1%}" if r.current_spread_share else ""))
    return "; ".join(parts)
