import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame, demographic_parity_difference, equalized_odds_difference, selection_rate
from sklearn import metrics as skm
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from observability_pipelines.checks.model_checks import (
    classification_metrics,
    fairness_metrics,
    performance_drop,
    permutation_importance_drift,
)


@pytest.fixture(scope="module")
def preds():
    rng = np.random.default_rng(0)
    n = 600
    y = rng.binomial(1, 0.4, n)
    score = np.clip(y * 0.35 + rng.random(n) * 0.65, 0, 1)
    pred = (score > 0.5).astype(int)
    group = rng.choice(["g1", "g2", "g3"], n, p=[0.5, 0.3, 0.2])
    return y, pred, score, group


def test_classification_metrics_equal_sklearn(preds):
    y, pred, score, _ = preds
    m = classification_metrics(y, pred, score)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred), abs=1e-15)
    assert m["precision"] == pytest.approx(skm.precision_score(y, pred), abs=1e-15)
    assert m["recall"] == pytest.approx(skm.recall_score(y, pred), abs=1e-15)
    assert m["f1"] == pytest.approx(skm.f1_score(y, pred), abs=1e-15)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, score), abs=1e-15)
    assert m["roc_auc_reason"] is None
    json.dumps(m)


def test_roc_auc_one_class_is_none_with_reason():
    m = classification_metrics([1, 1, 1], [1, 0, 1], [0.9, 0.2, 0.7])
    assert m["roc_auc"] is None and "one class" in m["roc_auc_reason"]
    assert m["accuracy"] == pytest.approx(2 / 3)
    m = classification_metrics([0, 1], [0, 1])
    assert m["roc_auc"] is None and m["roc_auc_reason"] == "no scores given"


def test_performance_drop():
    base = {"accuracy": 0.90, "f1": 0.80, "roc_auc": 0.95, "n": 100}
    cur = {"accuracy": 0.88, "f1": 0.70, "roc_auc": None, "n": 90}
    r = performance_drop(cur, base, max_drop=0.05)
    assert r.failed and r.exceeded == {"accuracy": False, "f1": True, "roc_auc": False}
    assert r.drops["f1"] == pytest.approx(0.10) and r.drops["roc_auc"] is None
    assert any("f1 dropped" in m for m in r.messages)
    r = performance_drop(cur, base, max_drop={"accuracy": 0.01})
    assert r.failed and r.exceeded["accuracy"] and not r.exceeded["f1"]
    r = performance_drop(cur, base, max_drop=0.2)
    assert not r.failed
    r = performance_drop({"log_loss": 0.5}, {"log_loss": 0.3}, max_drop=0.1)
    assert r.failed and r.drops["log_loss"] == pytest.approx(0.2)


def test_fairness_equals_fairlearn(preds):
    y, pred, _, group = preds
    f = fairness_metrics(y, pred, group, max_demographic_parity_difference=1.0, max_equalized_odds_difference=1.0)
    assert f["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=group), abs=1e-15
    )
    assert f["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=group), abs=1e-15
    )
    mf = MetricFrame(metrics=selection_rate, y_true=y, y_pred=pred, sensitive_features=group)
    for g, v in mf.by_group.items():
        assert f["selection_rate_by_group"][str(g)] == pytest.approx(v, abs=1e-15)
    assert sum(f["count_by_group"].values()) == len(y)
    assert f["passed"]
    strict = fairness_metrics(y, pred, group, max_demographic_parity_difference=0.0, max_equalized_odds_difference=0.0)
    assert not strict["passed"] and not strict["demographic_parity_passed"]
    json.dumps(f)


def test_fairness_detects_biased_predictions():
    rng = np.random.default_rng(1)
    n = 1000
    group = rng.choice(["a", "b"], n)
    y = rng.binomial(1, 0.5, n)
    pred = np.where(group == "a", y, 0)  # group b never selected
    f = fairness_metrics(y, pred, group)
    assert f["demographic_parity_difference"] > 0.3 and not f["passed"]


@pytest.fixture(scope="module")
def model_and_data():
    rng = np.random.default_rng(3)
    n = 800
    X = pd.DataFrame({"strong": rng.normal(size=n), "weak": rng.normal(size=n), "noise": rng.normal(size=n)})
    logit = 3.0 * X["strong"] + 0.8 * X["weak"]
    y = (logit + rng.logistic(size=n) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    return model, X, y, rng


def test_permutation_importance_no_drift_on_same_data(model_and_data):
    model, X, y, _ = model_and_data
    from sklearn.inspection import permutation_importance

    base_pi = permutation_importance(model, X, y, n_repeats=5, random_state=0)
    baseline = dict(zip(X.columns, base_pi.importances_mean))
    r = permutation_importance_drift(model, X, y, baseline, n_repeats=5, random_state=0, threshold=0.3)
    assert not r.drifted and r.l1_distance == pytest.approx(0.0, abs=1e-12)
    assert r.current["strong"] == pytest.approx(baseline["strong"])
    assert r.spearman == pytest.approx(1.0)
    json.dumps(r.to_dict())


def test_permutation_importance_drift_when_feature_broken(model_and_data):
    model, X, y, rng = model_and_data
    from sklearn.inspection import permutation_importance

    baseline = dict(zip(X.columns, permutation_importance(model, X, y, n_repeats=5, random_state=0).importances_mean))
    broken = X.copy()
    broken["strong"] = rng.permutation(broken["strong"].to_numpy())  # the important feature is broken
    r = permutation_importance_drift(model, broken, y, baseline, n_repeats=5, random_state=0, threshold=0.3)
    assert r.drifted and r.l1_distance > 0.3
    assert r.current["strong"] < 0.05 < baseline["strong"]
    assert "importance drift" in r.message


def test_permutation_importance_tree_model_min_spearman(model_and_data):
    _, X, y, _ = model_and_data
    rf = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    baseline = {"strong": 0.0, "weak": 0.1, "noise": 0.4}  # reversed ranking
    r = permutation_importance_drift(rf, X, y, baseline, n_repeats=3, threshold=2.0, min_spearman=0.0)
    assert r.spearman is not None and r.spearman < 0 and r.drifted
