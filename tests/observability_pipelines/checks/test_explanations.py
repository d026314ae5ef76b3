"""SHAP explanation drift: values from the shap library checked against the model itself; faults named."""

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cityblock
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from observability_pipelines.checks.explanations import (
    attribution,
    bounded_sample,
    explanation_drift,
    mean_abs_shap,
    shap_values,
)

FEATURES = ["income", "loan_amount", "age", "tenure", "noise_1", "noise_2"]


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(3000, len(FEATURES))), columns=FEATURES)
    X.loc[rng.random(len(X)) < 0.05, "age"] = np.nan  # the model has seen nulls, as the pipeline's does
    logit = -1.2 * X.income + 0.8 * X.loan_amount - 0.5 * X.age.fillna(0) + 0.3 * X.tenure
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    with threadpool_limits(limits=1):  # OpenMP on every core of a shared machine is slower, not faster
        model = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_leaf_nodes=8,
                                               min_samples_leaf=40, random_state=0).fit(X.to_numpy(), y)
    return model, X


def test_shap_values_add_up_to_the_models_raw_output(fitted):
    model, X = fitted
    rows = X.iloc[:400]
    values, expected = shap_values(model, rows)
    assert values.shape == (400, len(FEATURES))
    # Additivity (local accuracy): expected value + Σ SHAP = the model's log-odds, from scikit-learn itself.
    np.testing.assert_allclose(values.sum(axis=1) + expected, model.decision_function(rows.to_numpy()), atol=1e-6)


def test_bounded_sample_is_bounded_and_reproducible(fitted):
    _, X = fitted
    a, b = bounded_sample(X, 500, seed=3), bounded_sample(X, 500, seed=3)
    assert len(a) == 500 and a.index.equals(b.index) and a.index.is_unique
    assert bounded_sample(X.iloc[:10], 500).equals(X.iloc[:10])


def test_mean_abs_shap_ranks_the_features_the_model_uses(fitted):
    model, X = fitted
    importance = mean_abs_shap(model, X)
    values, _ = shap_values(model, bounded_sample(X))
    assert importance == pytest.approx(dict(zip(FEATURES, np.abs(values).mean(axis=0))))
    assert max(importance, key=importance.get) == "income"
    assert importance["noise_1"] < 0.1 * importance["income"]


def test_clean_batch_has_no_explanation_drift(fitted):
    model, X = fitted
    result = explanation_drift(mean_abs_shap(model, X.iloc[:1500]), mean_abs_shap(model, X.iloc[1500:]))
    assert not result.drifted and result.moved_share < 0.05 and result.lost == []


@pytest.mark.parametrize("fault", ["constant", "all_null"])
def test_feature_made_useless_by_a_fault_is_named(fitted, fault):
    model, X = fitted
    broken = X.iloc[1500:].copy()
    broken["loan_amount"] = broken["loan_amount"].median() if fault == "constant" else np.nan
    result = explanation_drift(mean_abs_shap(model, X.iloc[:1500]), mean_abs_shap(model, broken))
    assert result.drifted and result.lost == ["loan_amount"]
    assert result.current_rank["loan_amount"] > result.baseline_rank["loan_amount"]
    assert "loan_amount lost its attribution" in result.message and "{" not in result.message


def test_nulled_feature_with_a_learned_null_branch_is_named_by_its_spread():
    """The model learned that a null means something (no transactions): nulling the column for everyone keeps
    its mean |SHAP|, but every row gets the same attribution. The spread of its SHAP values names it."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(3000, 4)), columns=["income", "loan_amount", "txn_share", "noise"])
    X.loc[rng.random(len(X)) < 0.3, "txn_share"] = np.nan
    logit = -1.0 * X.income + 0.6 * X.loan_amount + 1.5 * X.txn_share.fillna(-1.0)
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    with threadpool_limits(limits=1):
        model = HistGradientBoostingClassifier(max_iter=60, max_leaf_nodes=8, min_samples_leaf=40,
                                               random_state=0).fit(X.to_numpy(), y)
    broken = X.iloc[1500:].assign(txn_share=np.nan)
    before, after = attribution(model, X.iloc[:1500]), attribution(model, broken)
    assert not explanation_drift(before.mean_abs, after.mean_abs).drifted  # mean |SHAP| alone misses it
    result = explanation_drift(before, after)
    assert result.lost == ["txn_share"] and result.current_spread_share["txn_share"] < 0.05
    # the shap library's own values: the nulled column's attribution is (up to interactions) one constant
    values, _ = shap_values(model, bounded_sample(broken))
    assert np.std(values[:, 2]) < 0.1 * np.std(shap_values(model, bounded_sample(X.iloc[:1500]))[0][:, 2])


def test_shares_ranks_and_moved_share_against_scipy():
    baseline = {"a": 6.0, "b": 3.0, "c": 1.0}
    current = {"a": 1.0, "b": 3.0, "c": 1.0}
    r = explanation_drift(baseline, current)
    p, q = np.array([0.6, 0.3, 0.1]), np.array([0.2, 0.6, 0.2])
    assert r.moved_share == pytest.approx(cityblock(p, q) / 2)
    assert r.baseline_rank == {"a": 1, "b": 2, "c": 3} and r.current_rank["b"] == 1
    assert r.share_change["a"] == pytest.approx(-0.4) and r.lost == ["a"]


def test_bad_input_is_refused(fitted):
    model, X = fitted
    with pytest.raises(ValueError, match="no rows"):
        mean_abs_shap(model, X.iloc[:0])
    with pytest.raises(ValueError, match="no features"):
        explanation_drift({}, {})
