"""Series checks in a real Dagster instance: the history is earlier partitions' stored metadata."""

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from observability_pipelines.checks.series_checks import freshness_anomaly_check, regression_check, volume_anomaly_check
from observability_pipelines.observe.openlineage import OpenLineageResource

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-01-01")
KEYS = PARTITIONS.get_partition_keys(current_time=pd.Timestamp("2026-03-17", tz="UTC").to_pydatetime())  # 75 days
ONSET = 40
EVALUATED = {KEYS[ONSET - 1], KEYS[-2], KEYS[-1]}
VALUES: dict[str, dict] = {}  # partition -> the metadata its materialization records


@dg.asset(partitions_def=PARTITIONS, name="orders")
def orders(context: dg.AssetExecutionContext):
    """Materializes the partition with its metadata, as a real asset would; the checks then read the history."""
    return dg.MaterializeResult(metadata=VALUES[context.partition_key])


def _report(instance, key, metadata):
    VALUES[key] = metadata
    if key not in EVALUATED:  # these are materialized by a run of the asset in the test itself
        instance.report_runless_asset_event(dg.AssetMaterialization("orders", partition=key, metadata=metadata))


def _evaluate(instance, check, key) -> dg.AssetCheckEvaluation:
    result = dg.materialize([orders, check], partition_key=key,
                            instance=instance, resources={"openlineage": OpenLineageResource(enabled=False)})
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


@pytest.fixture(scope="module")
def instance():
    """75 partitions of row counts (weekday rhythm) and an AUC that declines 3 % a week from partition 40;
    the last partition has lost half of its rows."""
    rng = np.random.default_rng(0)
    with dg.DagsterInstance.ephemeral() as inst:
        for i, key in enumerate(KEYS):
            weekday = pd.Timestamp(key).day_of_week
            rows = int(1000 * (0.6 if weekday >= 5 else 1.0) * np.exp(rng.normal(0, 0.03)))
            auc = 0.85 * (1 + 0.02 * np.sin(2 * np.pi * i / 7)) + rng.normal(0, 0.008)
            auc -= 0.85 * 0.03 / 7 * max(0, i - ONSET)
            _report(inst, key, {"dagster/row_count": dg.MetadataValue.int(rows if i < len(KEYS) - 1 else rows // 2),
                                "roc_auc": dg.MetadataValue.float(float(auc))})
        yield inst


def test_regression_check_finds_the_decline_where_it_starts(instance):
    check = regression_check("orders", "roc_auc", PARTITIONS)
    before = _evaluate(instance, check, KEYS[ONSET - 1])
    assert before.passed, before.description
    late = _evaluate(instance, check, KEYS[-1])
    assert not late.passed and "roc_auc: regression" in late.description
    start = pd.Timestamp(late.metadata["regime_start_partition"].value)
    assert 0 <= (start - pd.Timestamp(KEYS[ONSET])).days <= 10
    assert late.metadata["roc_auc/relative_change"].value < -0.03
    assert late.partition == KEYS[-1]


def test_volume_anomaly_check_learns_from_the_assets_history(instance):
    check = volume_anomaly_check("orders", PARTITIONS)
    normal = _evaluate(instance, check, KEYS[-2])
    assert normal.passed and normal.metadata["history_partitions"].value == 56
    halved = _evaluate(instance, check, KEYS[-1])
    assert not halved.passed and halved.metadata["row_count/z"].value < -4, halved.description


def test_freshness_anomaly_check_is_quiet_on_reported_history(instance):
    # Reported now, months after their partitions ended: each newer partition is *less* late, never an alarm.
    evaluation = _evaluate(instance, freshness_anomaly_check("orders", PARTITIONS), KEYS[-1])
    assert evaluation.passed and evaluation.metadata["evaluated"].value == 1


def test_without_history_nothing_is_judged():
    with dg.DagsterInstance.ephemeral() as inst:
        evaluation = _evaluate(inst, volume_anomaly_check("orders", PARTITIONS), KEYS[-1])
        assert evaluation.passed and evaluation.metadata["evaluated"].value == 0


def test_evaluations_emit_typed_facets_that_match_their_metadata(instance, tmp_path, monkeypatch):
    """A real run with a file transport: each series check sends its metricRegression / metricAnomaly facet on
    the checked dataset, with the numbers of the evaluation's metadata and what an unevaluated one waits for."""
    import json

    from helpers.ol_spec import SpecValidator
    from lineage import facets as f
    from observability_pipelines.observe.openlineage import reset_emitters

    events = tmp_path / "events.jsonl"
    for var in ("OBS_OUTBOX_PATH", "OPENLINEAGE_URL", "OPENLINEAGE_CONFIG", "OBS_LINEAGE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(events))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "outbox.db"))
    reset_emitters()
    checks = [regression_check("orders", "roc_auc", PARTITIONS), volume_anomaly_check("orders", PARTITIONS)]
    try:
        result = dg.materialize([orders, *checks], partition_key=KEYS[-1], instance=instance,
                                resources={"openlineage": OpenLineageResource(budget_seconds=10.0)})
        with dg.DagsterInstance.ephemeral() as empty:
            dg.materialize([orders, checks[0]], partition_key=KEYS[-1], instance=empty,
                           resources={"openlineage": OpenLineageResource(budget_seconds=10.0)})
    finally:
        reset_emitters()
    sent = [json.loads(line) for line in events.read_text().splitlines()]
    facets = [(e, key, d["facets"][key]) for e in sent for d in e.get("inputs", [])
              for key in ("metricRegression", "metricAnomaly") if key in d.get("facets", {})]
    validator = SpecValidator()
    for event, _, _ in facets:
        validator.validate(event)
    by_check = {e.check_name: e for e in result.get_asset_check_evaluations()}
    [regression, waiting] = [f.parse(k, p) for _, k, p in facets if k == "metricRegression"]
    md = by_check["roc_auc_regression"].metadata
    assert regression.regression and regression.regimeStartPartition == md["regime_start_partition"].value
    assert regression.signedChange == md["roc_auc/signed_change"].value and regression.partitionsNeeded == 28
    assert (waiting.evaluated, waiting.partitionsExamined, waiting.partitionsNeeded) == (False, 1, 28)
    [anomaly] = [f.parse(k, p) for _, k, p in facets if k == "metricAnomaly"]
    md = by_check["volume_anomaly"].metadata
    assert anomaly.anomalous and (anomaly.value, anomaly.z) == (md["row_count"].value, md["row_count/z"].value)
    assert (anomaly.historyPartitions, anomaly.historyNeeded) == (56, md["history_needed"].value)
