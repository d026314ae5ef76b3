"""A model-level symptom found without labels (the estimated ROC AUC drops) traces back to the upstream asset
and column of the fault, on real runs of the reference pipelines with the reference fault injection."""

import json

import pytest
import sqlalchemy as sa

from lineage import facets as f
from observability_pipelines.data import scenarios as harness
from observability_pipelines.data.scenarios import Case

pytestmark = pytest.mark.slow  # real runs of the reference pipelines (minutes)

# A unit change upstream: incomes 100x, so every ratio the model ranks by collapses; no label is needed to see it.
CASE = Case("raw_customers", "scale_change", "income", 100.0, symptom="batch_predictions")
CHECK_JOB = "batch_predictions:estimated_performance"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("rca_model_home")))
        mp.delenv("OBS_FAULT_PLAN", raising=False)
        yield harness.run_pipelines([CASE], workdir=tmp_path_factory.mktemp("rca_model"))


def _estimates(url: str) -> dict[str, tuple[bool, f.ModelPerformanceDatasetFacet]]:
    """Per partition: the estimated_performance verdict and its modelPerformance facet, from the store."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        payloads = conn.execute(sa.text("SELECT payload FROM lineage_events WHERE job_name LIKE :job AND "
                                        "event_type = 'COMPLETE'"), {"job": f"%{CHECK_JOB}"}).scalars().all()
    engine.dispose()
    out = {}
    for payload in map(json.loads, payloads):
        [dataset] = payload["inputs"]
        partition = f.partition_key(payload["run"]["facets"])
        [assertion] = dataset["inputFacets"]["dataQualityAssertions"]["assertions"]
        out[partition] = (assertion["success"], f.parse("modelPerformance", dataset["facets"]["modelPerformance"]))
    return out


def test_estimated_auc_drop_is_the_symptom_and_fails_only_on_the_faulty_day(run):
    estimates = _estimates(run.url)
    [fault_day] = run.case_days
    passed, facet = estimates[fault_day]
    assert not passed and "roc_auc" in facet.failedMetrics
    roc = facet.metrics["roc_auc"]
    assert roc.drop > 0.05
    assert roc.realized < roc.evaluation - 0.05  # the labels (arrived by now) confirm the estimated drop
    for day in run.clean_days:
        assert estimates[day][0], (day, estimates[day][1])


def test_the_model_symptom_traces_to_the_faulty_source_column(run):
    from lineage.analysis.rca import analyze
    from lineage.store import LineageStore

    [fault_day] = run.case_days
    store = LineageStore.open(run.url)
    try:
        result = analyze(store, "batch_predictions", partition=fault_day)
    finally:
        store.dispose()
    top = result.candidates[0]
    assert (top.asset, top.column, top.kind) == ("raw_customers", "income", "scale_change"), result.candidates[:3]
