"""Performance estimated without labels (CBPE) and calibration, against realized labels and sklearn."""

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

from observability_pipelines.checks.performance_estimation import (
    ece_noise_floor,
    estimate_performance,
    estimation_errors,
    expected_calibration_error,
    fit_calibration,
)

ERROR = 0.03  # the stated error of the estimate on clean data: ROC AUC and accuracy
COEF = np.array([1.4, -0.9, 0.6])


def _world(n: int, rng: np.random.Generator, shift: float = 0.0):
    """Features, true probabilities and drawn labels of a logistic world (``shift`` moves feature 0)."""
    X = rng.normal(size=(n, 3))
    X[:, 0] += shift
    p = 1 / (1 + np.exp(-(X @ COEF - 1.0)))
    return X, p, (rng.random(n) < p).astype(int)


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    X, _, y = _world(4000, rng)
    clf = LogisticRegression().fit(X, y)
    Xh, _, yh = _world(2000, rng)
    return clf, clf.predict_proba(Xh)[:, 1], yh


def _realized(y, scores, threshold):
    d = scores >= threshold
    return {"accuracy": accuracy_score(y, d), "precision": precision_score(y, d, zero_division=0),
            "recall": recall_score(y, d, zero_division=0), "f1": f1_score(y, d, zero_division=0),
            "roc_auc": roc_auc_score(y, scores)}


def test_estimate_matches_realized_labels_on_clean_batches(model):
    clf, holdout, y_holdout = model
    calibration = fit_calibration(holdout, y_holdout)
    rng = np.random.default_rng(1)
    errors, covered = [], 0
    for _ in range(8):
        X, _, y = _world(1500, rng)
        scores = clf.predict_proba(X)[:, 1]
        estimate = estimate_performance(scores, 0.4, calibration)
        realized = _realized(y, scores, 0.4)
        errors.append(estimation_errors(estimate, realized))
        covered += estimate.lower["roc_auc"] <= realized["roc_auc"] <= estimate.upper["roc_auc"]
    for metric in ("roc_auc", "accuracy"):
        assert np.mean([abs(e[metric]) for e in errors]) <= ERROR / 2, metric
        assert max(abs(e[metric]) for e in errors) <= ERROR, metric
    assert np.mean([abs(e["f1"]) for e in errors]) <= 0.04
    assert covered >= 6  # 95% bounds: a batch outside them now and then, not usually


def test_expected_values_are_the_mean_of_label_draws():
    """The closed forms (expected confusion matrix, expected AUC) agree with realized metrics of many draws."""
    rng = np.random.default_rng(2)
    p = rng.beta(2, 5, 800)
    draws = (rng.random((300, p.size)) < p).astype(int)
    d = p >= 0.35
    tp, fp, fn = (draws & d).sum(1), ((1 - draws) & d).sum(1), (draws & ~d).sum(1)
    estimate = estimate_performance(p, 0.35)
    mean = {"accuracy": np.mean((draws == d).mean(1)), "precision": np.mean(tp / (tp + fp)),
            "recall": np.mean(tp / (tp + fn)), "f1": np.mean(2 * tp / (2 * tp + fp + fn)),
            "roc_auc": np.mean([roc_auc_score(y, p) for y in draws[:60]])}
    for m in ("accuracy", "roc_auc"):
        assert estimate.expected[m] == pytest.approx(mean[m], abs=0.006), m
    for m in ("precision", "recall", "f1"):  # ratios: E[a/b] vs E[a]/E[b], close at this size
        assert estimate.expected[m] == pytest.approx(mean[m], abs=0.01), m
    assert estimate.lower["roc_auc"] < estimate.expected["roc_auc"] < estimate.upper["roc_auc"]


def test_covariate_shift_that_hurts_the_model_lowers_the_estimate_before_labels(model):
    """A feature goes dead upstream (filled with a constant): the scores lose their spread, and the estimate
    drops with no label; the labels drawn later confirm the drop."""
    clf, holdout, y_holdout = model
    calibration = fit_calibration(holdout, y_holdout)
    rng = np.random.default_rng(3)
    X, p, y = _world(1500, rng)
    clean = estimate_performance(clf.predict_proba(X)[:, 1], 0.4, calibration)
    broken = X.copy()
    broken[:, 0] = 0.0  # the strongest feature lost; the outcome still depends on it
    scores = clf.predict_proba(broken)[:, 1]
    shifted = estimate_performance(scores, 0.4, calibration)
    assert clean.expected["roc_auc"] - shifted.expected["roc_auc"] > 0.05  # the check's margin
    assert clean.expected["accuracy"] - shifted.expected["accuracy"] > 0.02
    assert shifted.upper["roc_auc"] < clean.lower["roc_auc"]
    realized = roc_auc_score(y, scores)
    assert realized < clean.expected["roc_auc"] - 0.05  # the drop is real, not an artefact of the estimate


def test_bounds_of_large_batches_narrow_as_one_over_sqrt_rows():
    """Above MC_MAX_ROWS the draws run on a subset: the bounds must still be those of the whole batch."""
    rng = np.random.default_rng(6)
    small, large = rng.beta(2, 5, 10_000), rng.beta(2, 5, 160_000)
    width = {n: e.upper["roc_auc"] - e.lower["roc_auc"]
             for n, e in ((10_000, estimate_performance(small, 0.35)), (160_000, estimate_performance(large, 0.35)))}
    assert width[10_000] / width[160_000] == pytest.approx(4.0, rel=0.25)
    big = estimate_performance(large, 0.35)
    assert big.lower["accuracy"] < big.expected["accuracy"] < big.upper["accuracy"]


def test_ece_equals_calibration_curve_weighted_gaps():
    rng = np.random.default_rng(4)
    p = rng.random(3000)
    y = (rng.random(3000) < p**1.5).astype(int)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    counts = np.histogram(p, bins=np.linspace(0, 1, 11))[0]
    counts = counts[counts > 0]
    reference = float(np.sum(counts / counts.sum() * np.abs(prob_true - prob_pred)))
    assert expected_calibration_error(y, p) == pytest.approx(reference, abs=1e-12)


def test_calibration_is_fitted_only_for_miscalibrated_scores(model):
    _, holdout, y = model
    assert fit_calibration(holdout, y).method == "none"  # logistic regression: calibrated already
    squashed = holdout**3  # same ranking, wrong probabilities
    calibration = fit_calibration(squashed, y)
    assert calibration.method == "isotonic" and calibration.ece_raw > 0.1
    assert calibration.calibrated and calibration.ece_calibrated < calibration.ece_raw / 2
    assert expected_calibration_error(y, calibration(squashed)) < 0.02  # in-sample, isotonic


def test_ece_noise_floor_shrinks_with_rows():
    rng = np.random.default_rng(5)
    assert ece_noise_floor(rng.beta(2, 5, 100)) > 3 * ece_noise_floor(rng.beta(2, 5, 5000))


@pytest.mark.parametrize("bad, match", [
    ([0.2, np.nan], "missing or infinite"), ([0.2, 1.5], r"probabilities in \[0, 1\]"), ([], "no scores"),
])
def test_bad_scores_are_refused_with_the_reason(bad, match):
    with pytest.raises(ValueError, match=match):
        estimate_performance(bad, 0.5)


def test_calibration_needs_enough_labelled_rows_of_both_classes():
    with pytest.raises(ValueError, match="at least 50 labelled reference rows of both classes"):
        fit_calibration(np.linspace(0, 1, 200), np.zeros(200))
