"""Model checks in real Dagster runs: labels that arrive late, estimates before them, re-evaluation after."""

import dagster as dg
import pandas as pd
import pytest

from helpers.pipeline import DAILY, MODEL
from observability_pipelines.assets.label_arrival import CHECK_KEYS, label_arrival_sensor, labels_complete_at
from observability_pipelines.assets.model_checks import REEVALUATION_TAG
from observability_pipelines.data.generator import LABEL_DELAY_DAYS
from observability_pipelines.resources.label_clock import NOW_ENV, NOW_TAG

pytestmark = pytest.mark.slow  # real runs of both pipelines over three days

LABELLED, UNLABELLED = ["2026-03-02", "2026-03-03"], "2026-03-04"
NOW = str(labels_complete_at(LABELLED[-1], LABEL_DELAY_DAYS).isoformat())  # 03-04's labels are still to come


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    from helpers.pipeline import Pipeline
    from observability_pipelines.definitions import all_assets, defs

    pipeline = Pipeline(tmp_path_factory.mktemp("late_labels"))
    assets = [*all_assets, *defs.asset_checks]

    def run(selection, partition=None, tags=None):
        return dg.materialize(assets, selection=selection, partition_key=partition, resources=pipeline.resources,
                              instance=pipeline.instance, tags={NOW_TAG: NOW, **(tags or {})})

    for day in [*LABELLED, UNLABELLED]:
        run(DAILY, day)
    run(MODEL)
    results = {day: run(["batch_predictions"], day) for day in [*LABELLED, UNLABELLED]}
    return pipeline, run, results


def _run_request(pipeline, request):
    """The run the daemon makes of the request: the sensor's job, subset to the requested checks."""
    from observability_pipelines.definitions import all_assets, defs

    sensor_defs = dg.Definitions(assets=all_assets, asset_checks=defs.asset_checks, sensors=[label_arrival_sensor],
                                 resources=pipeline.resources)
    job = sensor_defs.get_repository_def().get_job(label_arrival_sensor.job_name)
    subset = job.get_subset(asset_selection=set(request.asset_selection),
                            asset_check_selection=set(request.asset_check_keys))
    return subset.execute_in_process(partition_key=request.partition_key, tags=request.tags,
                                     instance=pipeline.instance)


def _evaluation(result, check):
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == check]
    return evaluation


def test_training_uses_only_labels_observed_by_now(scored):
    pipeline, _, _ = scored
    [model] = pipeline.instance.fetch_materializations(dg.AssetKey("trained_model"), limit=1).records
    assert model.asset_materialization.metadata["trained_partitions"].value == len(LABELLED)
    rows = sum(int((pipeline.read("training_set", d)["split"] == "train").sum()) for d in LABELLED)
    assert model.asset_materialization.metadata["train_rows"].value == rows


def test_label_checks_say_labels_have_not_arrived_instead_of_failing(scored):
    _, _, results = scored
    for check in ("model_performance", "model_fairness", "feature_importance_drift"):
        evaluation = _evaluation(results[UNLABELLED], check)
        assert evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
        assert "labels of this partition have not arrived" in evaluation.description
        assert evaluation.metadata["evaluated"].value == 0 and evaluation.metadata["labels_arrived"].value == 0
        assert _evaluation(results[LABELLED[0]], check).metadata["evaluated"].value == 1


def test_performance_is_estimated_before_labels_and_compared_once_they_exist(scored):
    _, _, results = scored
    waiting = _evaluation(results[UNLABELLED], "estimated_performance")
    assert waiting.metadata["evaluated"].value == 1 and not waiting.metadata["labels_arrived"].value
    for metric in ("accuracy", "precision", "recall", "f1", "roc_auc"):
        low, mid, high = (waiting.metadata[f"estimated/{metric}{s}"].value for s in ("/lower", "", "/upper"))
        assert 0 <= low <= mid <= high <= 1
    assert not any(k.startswith("realized/") for k in waiting.metadata)
    labelled = _evaluation(results[LABELLED[0]], "estimated_performance")
    error = labelled.metadata["realized/roc_auc"].value - labelled.metadata["estimated/roc_auc"].value
    assert labelled.metadata["estimation_error/roc_auc"].value == pytest.approx(error)
    assert "{" not in waiting.description and "drop" in waiting.description


def test_labels_arriving_trigger_a_reevaluation_that_says_so(scored, monkeypatch):
    pipeline, _, _ = scored
    later = labels_complete_at(UNLABELLED, LABEL_DELAY_DAYS) + pd.Timedelta(hours=1)
    monkeypatch.setenv(NOW_ENV, later.isoformat())
    context = dg.build_sensor_context(instance=pipeline.instance, cursor=NOW,
                                      resources={"raw_data": pipeline.resources["raw_data"]})
    requests = label_arrival_sensor(context)
    assert [r.partition_key for r in requests] == [UNLABELLED]
    [request] = requests
    assert request.tags[REEVALUATION_TAG] == "1" and set(request.asset_check_keys) == set(CHECK_KEYS)
    assert request.asset_selection == []  # the checks alone: the day's predictions are not re-scored
    again = _run_request(pipeline, request)
    evaluation = _evaluation(again, "model_performance")
    assert evaluation.metadata["evaluated"].value == 1 and evaluation.metadata["reevaluation"].value
    assert evaluation.description.startswith("Re-evaluated now that the labels arrived")
    assert "realized/roc_auc" in _evaluation(again, "estimated_performance").metadata
    # The next tick has nothing new.
    assert isinstance(label_arrival_sensor(dg.build_sensor_context(
        instance=pipeline.instance, cursor=later.isoformat(), resources={"raw_data": pipeline.resources["raw_data"]})),
        dg.SkipReason)
