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
