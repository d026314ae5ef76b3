"""The reference project's monitoring checks: registration (fast) and one real run of them (slow)."""

import dagster as dg
import pytest

from observability_pipelines.assets.monitoring_checks import FRESH_ASSETS, monitoring_check_definitions

DAYS = ["2026-03-02", "2026-03-03", "2026-03-04"]
FAULTY = "2026-03-05"


def test_checks_and_freshness_policies_are_registered():
    from observability_pipelines.definitions import defs

    registered = {key for checks in defs.asset_checks for key in checks.check_keys}
    ours = {key for checks in monitoring_check_definitions for key in checks.check_keys}
    assert ours <= registered
    assert dg.AssetCheckKey(dg.AssetKey("batch_predictions"), "explanation_drift") in ours
    assert {k.asset_key.to_user_string() for k in ours if k.name == "volume_anomaly"} >= {"raw_customers"}
    policies = {s.key.to_user_string(): s.freshness_policy for s in defs.resolve_all_asset_specs()}
    assert all(isinstance(policies[a], dg.FreshnessPolicy) for a in FRESH_ASSETS)
    assert policies["trained_model"] is None


def _evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in result.get_asset_check_evaluations()}


@pytest.mark.slow
def test_monitoring_checks_in_a_real_run_name_the_broken_feature(make_pipeline):
    """Three clean days, then a day whose top SHAP feature is nulled upstream of the model (a warning in GE,
    so the predictions still run): explanation drift names it; the other checks evaluate without error."""
    from observability_pipelines.resources.faults import FaultInjector, FaultSpec
    from helpers.pipeline import DAILY

    pipeline = make_pipeline()
    clean = {}
    for day in DAYS:
        pipeline.materialize(DAILY, day)
    pipeline.materialize(["trained_model", "model_evaluation"])
    for day in DAYS:
        clean[day] = _evaluations(pipeline.materialize(["batch_predictions"], day))
    for day, evaluations in clean.items():
        shap_check = evaluations["batch_predictions:explanation_drift"]
        assert shap_check.passed, (day, shap_check.description)
        segments = evaluations["batch_predictions:segment_performance"]
        assert segments.passed and "region_code=" in " ".join(segments.metadata), segments.description
        for name in ("mean_score_regression", "volume_anomaly", "freshness_anomaly"):
            assert evaluations[f"batch_predictions:{name}"].metadata["evaluated"].value == 0  # history too short
    top = clean[DAYS[-1]]["batch_predictions:explanation_drift"].metadata["top_feature"].value

    pipeline.resources["faults"] = FaultInjector(plan=[FaultSpec(asset="customer_features", partition=FAULTY,
                                                                 kind="null_burst", column=top, magnitude=1.0)])
    features = _evaluations(pipeline.materialize(DAILY, FAULTY))
    assert "customer_features:segment_drift" in features
    faulty = _evaluations(pipeline.materialize(["batch_predictions"], FAULTY))
    shap_check = faulty["batch_predictions:explanation_drift"]
    assert not shap_check.passed and f"{top} lost its attribution" in shap_check.description
    assert shap_check.metadata["lost_features"].value == 1
    # The model learned a branch for nulls (applicants without transactions), so the column keeps some mean
    # |SHAP|; what collapses is the spread: every row now gets the same attribution from it.
    assert shap_check.metadata[f"shap_spread_share/{top}"].value < 0.5 * clean[DAYS[-1]][
        "batch_predictions:explanation_drift"].metadata[f"shap_spread_share/{top}"].value


def test_emitted_facets_are_the_results_own_numbers():
    """The facets the checks send are built from their metadata; built from the result objects instead (the
    facet classes' from_result), they are the same: nothing is lost or reordered on the way."""
    import numpy as np
    import pandas as pd

    from lineage import facets as f
    from observability_pipelines.assets import monitoring_checks as mc
    from observability_pipelines.checks.explanations import Attribution, explanation_drift
    from observability_pipelines.checks.segments import segment_performance

    result = explanation_drift(Attribution({"income": 0.5, "age": 0.3, "debt": 0.2}, {"income": 0.4, "age": 0.3,
                                                                                       "debt": 0.3}, 500),
                               Attribution({"income": 0.05, "age": 0.55, "debt": 0.4}, {"income": 0.01, "age": 0.5,
                                                                                         "debt": 0.4}, 500))
    check = dg.AssetCheckResult(passed=not result.drifted, metadata={
        **mc._explanation_metadata(result), "sample_rows": dg.MetadataValue.int(500),
        "baseline_rows": dg.MetadataValue.int(9000)})
    [facet] = mc.explanation_facet(check).values()
    expected = f.ExplanationDriftDatasetFacet.from_result(result, maxMovedShare=mc.MAX_MOVED_SHARE, sampleRows=500,
                                                          baselineRows=9000)
    assert facet.lostFeatures == expected.lostFeatures == ["income"]
    for name, a in expected.features.items():
        got = facet.features[name]
        assert (got.baselineRank, got.currentRank) == (a.baselineRank, a.currentRank)
        assert [got.baselineShare, got.currentShare, got.shareChange] == pytest.approx(
            [a.baselineShare, a.currentShare, a.shareChange])

    rng = np.random.default_rng(0)
    data = pd.DataFrame({"y_true": rng.integers(0, 2, 300), "score": rng.uniform(0, 1, 300)})
    data["y_pred"] = (data["score"] > 0.5).astype(int)
    results = {a: segment_performance(data, pd.Series(rng.choice(["a/b", "c=d", "e"], 300)), {"roc_auc": 0.9},
                                      {"roc_auc": 0.1}) for a in mc.SEGMENT_ATTRIBUTES}
    metadata = {}
    for attribute, r in results.items():
        metadata.update(mc._segment_metadata(r, attribute, ("rows", "accuracy", "roc_auc")))
    [segments] = mc.segments_facet("performance", ("rows", "accuracy", "roc_auc"))(
        dg.AssetCheckResult(passed=False, metadata=metadata)).values()
    reference = f.SegmentsDatasetFacet.from_results("performance", results)
    for attribute, group in reference.attributes.items():  # segment names with '/' and '=' survive the metadata keys
        keep = {s: {k: v for k, v in m.items() if k in ("rows", "accuracy", "roc_auc")} for s, m in group.segments.items()}
        assert segments.attributes[attribute].segments == keep
        assert segments.attributes[attribute].failing == group.failing and group.failing


def test_the_shap_baseline_is_computed_at_training_and_used_as_stored():
    """Stored with the model: the shap library's own mean |SHAP| of the sampled training rows, and the check takes
    it without reading any training partition (no context needed)."""
    import numpy as np
    import pandas as pd
    import shap
    from sklearn.ensemble import HistGradientBoostingClassifier

    from observability_pipelines.assets import monitoring_checks as mc
    from observability_pipelines.assets.training import shap_baseline
    from observability_pipelines.checks.explanations import bounded_sample
    from observability_pipelines.data.contracts import MODEL_FEATURES
    from observability_pipelines.observe.artifacts import ModelArtifact

    rng = np.random.default_rng(0)
    X = rng.normal(size=(1200, len(MODEL_FEATURES)))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(0, 0.5, 1200) > 0).astype(int)
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)
    stored = shap_baseline(model, X)
    sample = bounded_sample(pd.DataFrame(X, columns=list(MODEL_FEATURES))).to_numpy()
    reference = np.abs(np.asarray(shap.TreeExplainer(model).shap_values(sample))).mean(axis=0)
    assert stored["rows"] == 500
    assert [stored["mean_abs"][f] for f in MODEL_FEATURES] == pytest.approx(list(reference))
    artifact = ModelArtifact(model=model, version="v", feature_names=list(MODEL_FEATURES), threshold=0.5, label="y",
                             trained_partitions=[], train_rows=1200, shap_baseline=stored)
    baseline, rows = mc.shap_baseline(None, artifact)
    assert baseline.mean_abs == stored["mean_abs"] and rows == 1200
