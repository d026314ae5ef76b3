"""The drift check of observed assets, on real Dagster runs of raw_customers (small data).

Partitions D0..D9 are materialized in order with a mean shift of ``income`` in D6, then the day before
D0 is backfilled and D3 re-materialized (both have later partitions on disk by then).

The check's metadata is rounded for people (3 significant digits, p-values 2; issue #22), so it is
compared with a tolerance of that rounding; the exact statistics are read from the OpenLineage
``drift`` facet of the same materialization (what RCA uses), written to a file transport.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from scipy import stats
from helpers.pipeline import Pipeline

pytestmark = pytest.mark.slow  # real runs over enough days for a drift reference

ROOT = Path(__file__).resolve().parents[3]

ASSET = "raw_customers"
START = dt.date(2026, 3, 2)
D = [(START + dt.timedelta(days=i)).isoformat() for i in range(10)]
FAULTY = D[6]
BACKFILL = (START - dt.timedelta(days=1)).isoformat()
REDO = D[3]
ROUNDED = 5e-3  # the largest relative error of rounding to 3 significant digits (0.1005 -> 0.1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(partition, drift check evaluation, drift facet) per materialization in order, plus the pipeline."""
    from observability_pipelines.observe.openlineage import OpenLineageResource, reset_emitters

    events = tmp_path_factory.mktemp("drift_lineage") / "events.jsonl"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("drift_home")))
        for var in ("OBS_FAULT_PLAN", "OBS_DATA_DIR", "OBS_LINEAGE_DB", "OBS_OUTBOX_PATH", "OPENLINEAGE_URL",
                    "OPENLINEAGE_CONFIG", "OBS_LINEAGE_URL"):
            mp.delenv(var, raising=False)
        # The unrounded drift statistics travel in the lineage events: a file transport keeps them to read.
        mp.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
        mp.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(events))
        mp.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
        reset_emitters()
        pipeline = Pipeline(
            tmp_path_factory.mktemp("drift"),
            plan=[{"asset": ASSET, "partition": FAULTY, "kind": "mean_shift", "column": "income", "magnitude": 1.0}],
        )
        pipeline.resources["openlineage"] = OpenLineageResource(budget_seconds=10.0)  # all delivered in the step
        evaluations = []
        try:
            for partition in [*D, BACKFILL, REDO]:
                seen = len(events.read_text().splitlines()) if events.exists() else 0
                result = pipeline.materialize([ASSET], partition, raise_on_error=False)
                assert result.success, f"{ASSET}[{partition}] did not materialize"  # drift is WARN, never blocks
                (drift,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "drift"]
                new = [json.loads(line) for line in events.read_text().splitlines()[seen:]]
                facets = [o["facets"]["drift"] for e in new for o in e.get("outputs", [])
                          if o["name"].endswith(ASSET) and "drift" in o.get("facets", {})]
                assert len(facets) <= 1, f"{partition}: {len(facets)} drift facets"
                evaluations.append((partition, drift, facets[0] if facets else None))
        finally:
            reset_emitters()
    return pipeline, evaluations


def _first(runs, partition):
    return next(e for p, e, _ in runs[1] if p == partition)


def _last(runs, partition):
    return [e for p, e, _ in runs[1] if p == partition][-1]


def _first_facet(runs, partition):
    """The drift facet of the partition's first materialization (exact statistics, not rounded)."""
    facet = next(f for p, _, f in runs[1] if p == partition)
    assert facet is not None, f"no drift facet emitted for {partition}"
    return facet


def _is_rounded(value: float, digits: int = 3) -> bool:
    return value == float(f"{value:.{digits}g}")


def _rows(pipeline, partitions):
    return sum(len(pipeline.read(ASSET, p)) for p in partitions)


def _columns():
    from observability_pipelines.assets.observers import drift_columns

    return drift_columns(ASSET)


def test_first_partition_has_no_reference_and_passes(runs):
    first = _first(runs, D[0])
    assert first.passed
    assert "No earlier partitions" in first.description
    assert first.metadata["reference_partitions"] == dg.MetadataValue.int(0)


def test_per_column_scores_are_float_metadata_in_every_partition(runs):
    for partition in D[1:]:
        md = _first(runs, partition).metadata
        floats = {k for k, v in md.items() if isinstance(v, dg.FloatMetadataValue)}
        assert "drift_share" in floats and 0.0 <= md["drift_share"].value <= 1.0
        for column in _columns():
            # the test is chosen per column (KS for continuous, chi-square for few distinct values); PSI always
            tests = {t for t in ("ks", "chi2") if f"{column}/{t}" in floats}
            assert len(tests) == 1 and f"{column}/psi" in floats, f"{partition}: scores of {column}: {sorted(floats)}"
        assert all(math.isfinite(md[k].value) for k in floats), partition
        for key in ("drifted_columns", "reference_partitions", "reference_rows"):
            assert isinstance(md[key], dg.IntMetadataValue), key
    # The same series in every partition, so each key plots as one line over time.
    keys = [frozenset(_first(runs, p).metadata) for p in D[1:]]
    assert len(set(keys)) == 1
    assert {"income/ks", "income/psi", "region/chi2", "region/psi"} <= keys[0]


def test_scores_are_stored_per_partition_for_plotting(runs):
    """What the UI plots: the stored evaluations, one per materialization, each with the same numeric series."""
    from dagster._core.storage.asset_check_execution_record import COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES

    pipeline, _ = runs
    records = pipeline.instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey(ASSET), "drift"), limit=100,
        status=set(COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES),
    )
    series: dict[str, float] = {}
    for record in records:
        partition = pipeline.instance.get_run_by_id(record.run_id).tags["dagster/partition"]
        metadata = record.event.dagster_event.event_specific_data.metadata
        if isinstance(metadata.get("income/ks"), dg.FloatMetadataValue):
            series.setdefault(partition, metadata["income/ks"].value)
    assert set(D[1:]) <= set(series), sorted(series)
    assert max(series, key=series.get) == FAULTY  # the shift stands out in the plotted series


def test_mean_shift_fails_with_a_readable_description(runs):
    check = _first(runs, FAULTY)
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.description.startswith("income: drift detected"), check.description
    others = [c for c in _columns() if c != "income"]
    assert not any(f"{c}:" in check.description for c in others), check.description
    md = check.metadata
    assert md["drifted_columns"].value == 1
    assert md["drift_share"].value == pytest.approx(1 / len(_columns()), rel=ROUNDED)  # shown rounded: 0.111
    assert _is_rounded(md["drift_share"].value)
    facet = _first_facet(runs, FAULTY)  # the exact share and the drifted column travel in the lineage event
    assert facet["shareDrifted"] == pytest.approx(1 / len(_columns()), rel=1e-12)
    assert [c for c, v in facet["columns"].items() if v["drifted"]] == ["income"]
    assert md["income/ks"].value > 0.3  # one standard deviation: a large effect, not a significant wobble
    assert md["income/ks"].value > 3 * max(md[f"{c}/ks"].value for c in ("age", "employment_years", "loan_amount"))


def test_drifted_partition_is_quarantined_from_later_references(runs):
    pipeline, _ = runs
    after = _first(runs, D[7])
    assert after.passed, after.description
    # D7 compares with D5..D0 only: the drifted D6 is skipped, so six partitions, not seven.
    assert after.metadata["reference_partitions"].value == 6
    assert after.metadata["reference_rows"].value == _rows(pipeline, D[0:6])
    d8, d9 = _first(runs, D[8]), _first(runs, D[9])
    assert d8.passed and d9.passed
    assert d8.metadata["reference_partitions"].value == 7
    assert d8.metadata["reference_rows"].value == _rows(pipeline, [D[7], *D[0:6]])
    # The window holds 7 clean partitions: walking back from D9 skips D6 and stops before D0.
    assert d9.metadata["reference_rows"].value == _rows(pipeline, [D[8], D[7], *D[1:6]])
    # The faulty data itself is stored (quarantine is a mark, not a deletion).
    assert (pipeline.base / ASSET / f"{FAULTY}.parquet").exists()


def test_reference_window_excludes_later_partitions(runs):
    pipeline, _ = runs
    backfill = _last(runs, BACKFILL)  # ten later partitions exist, none earlier
    assert backfill.passed
    assert "No earlier partitions" in backfill.description
    assert backfill.metadata["reference_partitions"].value == 0
    redo = _last(runs, REDO)  # re-run of D3 after D4..D9 exist: still compares with the past only
    assert redo.passed
    assert redo.metadata["reference_partitions"].value == 4  # D2, D1, D0 and the backfilled day before
    assert redo.metadata["reference_rows"].value == _rows(pipeline, [BACKFILL, *D[0:3]])
    first_run = _first(runs, REDO)
    assert first_run.metadata["reference_rows"].value == _rows(pipeline, D[0:3])


@pytest.mark.parametrize("partition,reference", [(D[7], D[0:6]), (FAULTY, D[0:6]), (D[9], [*D[1:6], D[7], D[8]])],
                         ids=["clean-after-quarantine", "drifted", "full-window"])
@pytest.mark.parametrize("column", ["income", "age"])
def test_ks_statistic_equals_scipy_on_the_stored_data(runs, partition, reference, column):
    pipeline, _ = runs
    ref = pd.concat([pipeline.read(ASSET, p) for p in reference], ignore_index=True)[column].dropna()
    cur = pipeline.read(ASSET, partition)[column].dropna()
    expected = stats.ks_2samp(ref.astype("float64"), cur.astype("float64"))
    md = _first(runs, partition).metadata
    # What the UI shows: the statistic to 3 significant digits, the p-value to 2.
    shown, shown_p = md[f"{column}/ks"].value, md[f"{column}/p_value"].value
    assert shown == pytest.approx(expected.statistic, rel=ROUNDED) and _is_rounded(shown)
    assert shown_p == pytest.approx(expected.pvalue, rel=10 * ROUNDED) and _is_rounded(shown_p, 2)
    # What RCA reads: the exact values, in the drift facet of the same materialization.
    exact = _first_facet(runs, partition)["columns"][column]
    assert exact["test"] == "ks"
    assert exact["statistic"] == pytest.approx(expected.statistic, rel=1e-12, abs=1e-15)
    assert exact["pValue"] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


# --- the window from stored profiles, on a plain asset (Dagster's default filesystem IO manager) -------------
SALES_ROWS = 3000  # above EXACT_LIMIT: the window's numeric profiles are sketches
SALES_DAYS = [(dt.date(2026, 3, 1) + dt.timedelta(days=i)).isoformat() for i in range(7)]
SHIFTED = {"day": None}  # the asset's own code shifts ``amount`` on this day when set


def _sales_frame(day: str) -> pd.DataFrame:
    import numpy as np

    rng = np.random.default_rng(int(day.replace("-", "")))
    shift = 15.0 if day == SHIFTED["day"] else 0.0
    return pd.DataFrame({"amount": rng.normal(50 + shift, 10, SALES_ROWS),
                         "region": rng.choice(["north", "south", "east", "west"], SALES_ROWS)})


@pytest.fixture
def sales(tmp_path, monkeypatch):
    from observability_pipelines import with_observability

    for var in ("OBS_DATA_DIR", "OBS_FAULT_PLAN", "OBS_EXPECTATIONS_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setitem(SHIFTED, "day", None)

    @dg.asset(partitions_def=dg.DailyPartitionsDefinition(start_date="2026-03-01"))
    def sales() -> pd.DataFrame:
        return _sales_frame(dg.AssetExecutionContext.get().partition_key)

    defs = with_observability(dg.Definitions(assets=[sales]), drift_window=3, lineage=False, incidents=False)
    instance = dg.DagsterInstance.get()
    job = defs.resolve_implicit_global_asset_job_def()

    def run(day: str) -> dict:
        result = job.execute_in_process(partition_key=day, instance=instance)
        (drift,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "drift"]
        return drift

    return sales, instance, run


def _read(drift) -> int:
    return drift.metadata["reference_partitions_read"].value


def test_the_window_comes_from_stored_profiles_within_the_tolerance_of_scipy(sales):
    from observability_pipelines.checks.profiles import KS_TOLERANCE

    _, _, run = sales
    evaluations = [run(day) for day in SALES_DAYS[:5]]
    assert [_read(e) for e in evaluations[1:]] == [0, 0, 0, 0]  # each check kept its partition's profile
    fact = evaluations[4].metadata["obs/drift"].value
    assert fact["reference_partitions"] == SALES_DAYS[1:4][::-1]
    reference = pd.concat([_sales_frame(d) for d in SALES_DAYS[1:4]], ignore_index=True)
    exact = stats.ks_2samp(reference["amount"], _sales_frame(SALES_DAYS[4])["amount"])
    assert abs(fact["columns"]["amount"]["ks_stat"] - exact.statistic) <= KS_TOLERANCE
    assert fact["n_ref"] == len(reference)
    table = pd.crosstab([0] * len(reference) + [1] * SALES_ROWS,
                        pd.concat([reference["region"], _sales_frame(SALES_DAYS[4])["region"]], ignore_index=True))
    chi2 = stats.chi2_contingency(table.to_numpy(), correction=False)
    assert fact["columns"]["region"]["chi2_stat"] == pytest.approx(chi2.statistic, rel=1e-9)  # counts: exact


def test_a_missing_or_outdated_profile_is_read_through_the_io_manager_once(sales):
    from observability_pipelines.checks.drift_store import DriftStore

    asset, instance, run = sales
    for day in SALES_DAYS[:4]:
        run(day)
    store = DriftStore.for_instance(instance)
    store._path("_profiles", dg.AssetKey("sales"), SALES_DAYS[2]).unlink()  # e.g. materialized before profiles
    assert _read(run(SALES_DAYS[4])) == 1
    assert _read(run(SALES_DAYS[4])) == 0  # read once, profiled and kept
    dg.materialize([asset], partition_key=SALES_DAYS[1], instance=instance)  # re-materialized without its checks
    again = run(SALES_DAYS[4])
    assert _read(again) == 1 and again.metadata["obs/drift"].value["reference_partitions"] == SALES_DAYS[1:4][::-1]


def test_a_drifted_partition_stays_out_of_later_windows(sales):
    _, _, run = sales
    SHIFTED["day"] = SALES_DAYS[4]
    evaluations = {day: run(day) for day in SALES_DAYS}
    assert not evaluations[SALES_DAYS[4]].passed
    assert evaluations[SALES_DAYS[4]].description.startswith("amount:")
    later = evaluations[SALES_DAYS[5]].metadata["obs/drift"].value["reference_partitions"]
    assert later == [SALES_DAYS[3], SALES_DAYS[2], SALES_DAYS[1]]  # the drifted day skipped
    assert evaluations[SALES_DAYS[5]].passed and evaluations[SALES_DAYS[6]].passed
