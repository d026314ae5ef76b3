"""Great Expectations suites, validation and the Dagster observer, on small seeded data."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
from functools import lru_cache
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from observability_pipelines.assets.clean import conform
from observability_pipelines.assets.features import build_features
from observability_pipelines.assets.training import (
    LABEL,
    MODEL_PARAMS,
    classification_report,
    join_training_set,
    model_matrix,
)
from observability_pipelines.checks.great_expectations import (
    GreatExpectationsObserver,
    SuiteError,
    check_metadata,
    describe_windows,
    expectations_dir,
    list_suites,
    load_suite,
    suite_parameters,
    validate_dataframe,
)
from observability_pipelines.data.contracts import ARTIFACT_ASSETS, CONTRACTS, MODEL_FEATURES
from observability_pipelines.data.faults import Fault, apply_fault
from observability_pipelines.data.generator import GeneratorConfig, generate_partition
from observability_pipelines.observe.asset import Observation

ROOT = Path(__file__).resolve().parents[3]
SMALL = 300
START = dt.date(2026, 1, 5)
TABLES = [a for a in CONTRACTS if a not in ARTIFACT_ASSETS]


@lru_cache(maxsize=64)
def frames(day: str, customers_per_day: int = SMALL) -> dict[str, pd.DataFrame]:
    raw = generate_partition(day, GeneratorConfig(customers_per_day=customers_per_day))
    out = {"raw_customers": raw["customers"], "raw_transactions": raw["transactions"], "raw_labels": raw["labels"]}
    for name, src in (("clean_customers", "customers"), ("clean_transactions", "transactions"), ("clean_labels", "labels")):
        contract = CONTRACTS[name]
        out[name] = conform(raw[src], contract.columns, contract.key)[0]
    out["customer_features"] = build_features(out["clean_customers"], out["clean_transactions"])
    out["training_set"] = join_training_set(out["customer_features"], out["clean_labels"])
    return out


@lru_cache(maxsize=1)
def model_frames(day: str) -> dict[str, pd.DataFrame]:
    """model_evaluation and batch_predictions as the assets build them, from a model trained on 3 days."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    days = [(dt.date.fromisoformat(day) - dt.timedelta(days=i)).isoformat() for i in (1, 2, 3)]
    data = pd.concat([frames(d)["training_set"] for d in days], ignore_index=True)
    train, test = data[data["split"] == "train"], data[data["split"] == "test"]
    model = HistGradientBoostingClassifier(**MODEL_PARAMS).fit(model_matrix(train, MODEL_FEATURES), train[LABEL].astype(int))
    threshold = 0.3
    report = classification_report(
        test[LABEL].astype(int).to_numpy(), model.predict_proba(model_matrix(test, MODEL_FEATURES))[:, 1], threshold
    )
    evaluation = pd.DataFrame({
        "metric": list(report), "value": list(report.values()), "model_version": "abc123",
        "test_rows": pd.array([len(test)] * len(report), dtype="Int64"),
    })
    feats = frames(day)["customer_features"]
    scores = model.predict_proba(model_matrix(feats, MODEL_FEATURES))[:, 1]
    predictions = pd.DataFrame({
        "customer_id": feats["customer_id"], "application_ts": feats["application_ts"], "gender": feats["gender"],
        "score": scores.astype("float64"),
        "predicted_default": pd.array((scores >= threshold).astype(int), dtype="Int64"),
        "model_version": "abc123",
    })
    return {"model_evaluation": evaluation, "batch_predictions": predictions}


def days(n: int, start: dt.date = START) -> list[str]:
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(n)]


# --------------------------------------------------------------------------- suites


def test_one_suite_per_table_asset_in_gx_json_format():
    import great_expectations as gx

    assert set(list_suites()) == set(TABLES)
    for name in TABLES:
        data = json.loads((expectations_dir() / f"{name}.json").read_text())
        suite = gx.ExpectationSuite(**data)  # GX's own format, loadable back
        assert suite.name == name and len(suite.expectations) >= 10
        for exp in data["expectations"]:
            assert exp["meta"]["severity"] in ("error", "warn"), exp
        types = {e["type"] for e in data["expectations"]}
        assert {"expect_table_columns_to_match_set", "expect_table_row_count_to_be_between",
                "expect_column_values_to_be_of_type", "expect_column_values_to_be_unique",
                "expect_column_values_to_not_be_null"} <= types, name
        errors = [e for e in data["expectations"] if e["meta"]["severity"] == "error"]
        assert all(e["type"] != "expect_column_values_to_be_in_set" or "code" in e["kwargs"]["column"]
                   or e["kwargs"]["column"] in ("defaulted", "split", "metric", "predicted_default") for e in errors)
        assert load_suite(name).name == name


def test_suites_are_reproducible_from_the_builder(tmp_path):
    spec = importlib.util.spec_from_file_location("build_suites", ROOT / "expectations" / "build_suites.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for name in TABLES:
        assert json.loads((tmp_path / f"{name}.json").read_text()) == json.loads(
            (expectations_dir() / f"{name}.json").read_text()
        ), f"{name}.json is stale: run python expectations/build_suites.py"


def test_partition_suite_parameters():
    p = suite_parameters("2026-01-05", ["partition_start_minus_30d", "partition_end_plus_2d",
                                        "partition_start_plus_90d", "some_other"])
    assert p["partition_start"] == "2026-01-05T00:00:00" and p["partition_end"] == "2026-01-06T00:00:00"
    assert p["partition_start_minus_30d"] == "2025-12-06T00:00:00"  # across a year boundary
    assert p["partition_end_plus_2d"] == "2026-01-08T00:00:00"
    assert p["partition_start_plus_90d"] == "2026-04-05T00:00:00"
    assert "some_other" not in p  # not a window of the day: left to the caller (and reported missing)
    assert suite_parameters(None) == {}
    assert describe_windows(["partition_start", "partition_end", "partition_start_minus_30d",
                             "partition_end_plus_2d"]) == ["day", "day -30d..+2d"]


def test_the_generic_suite_code_names_nothing_of_the_reference_pipelines():
    from observability_pipelines.checks import great_expectations

    source = Path(great_expectations.__file__).read_text()
    for name in [*TABLES, "transactions_window", "labels_window", "customer", "applicant"]:
        assert name not in source, name


# --------------------------------------------------------------------------- clean data: no false alarms


def _false_alarms(partitions, tables, customers_per_day=SMALL):
    runs, alarms = 0, []
    for day in partitions:
        f = frames(day, customers_per_day)
        for name in tables:
            v = validate_dataframe(f[name], name, day)
            runs += 1
            if not v.success:
                alarms.append(f"{name}[{day}] ({customers_per_day}/day): {v.summary()}")
    return runs, alarms


@pytest.mark.slow
def test_clean_data_passes_every_suite_for_30_days():
    tables = ["raw_customers", "raw_transactions", "raw_labels", "clean_customers", "clean_transactions",
              "clean_labels", "customer_features"]
    runs, alarms = _false_alarms(days(30), tables)
    runs2, alarms2 = _false_alarms(days(10, dt.date(2026, 6, 1)), ["training_set"])
    errors = [a for a in alarms + alarms2 if "error" in a]
    rate = len(alarms + alarms2) / (runs + runs2)
    print(f"\nfalse-alarm rate on clean data: {len(alarms + alarms2)}/{runs + runs2} = {rate:.2%}")
    assert not alarms + alarms2, f"false alarms ({rate:.2%}, errors {len(errors)}): {alarms + alarms2}"


@pytest.mark.slow
def test_clean_data_passes_at_1500_customers_a_day_and_model_outputs():
    runs, alarms = _false_alarms(days(3, dt.date(2026, 3, 1)), ["raw_customers", "raw_transactions", "raw_labels",
                                                               "customer_features", "training_set"], 1500)
    assert not alarms, alarms
    day = "2026-01-20"
    m = model_frames(day)
    for name, df in m.items():
        v = validate_dataframe(df, name, day if name == "batch_predictions" else None)
        assert v.success, v.summary()


def test_suite_needing_a_partition_says_so():
    with pytest.raises(SuiteError, match="partition"):
        validate_dataframe(frames("2026-01-05")["raw_customers"], "raw_customers")
    with pytest.raises(SuiteError, match="known suites"):
        validate_dataframe(frames("2026-01-05")["raw_customers"], "no_such_suite", "2026-01-05")


# --------------------------------------------------------------------------- faults


FAULT_CASES = [
    # (asset, kind, column, expectation expected to catch it, its severity)
    ("raw_customers", "null_burst", "income", "expect_column_values_to_not_be_null", "warn"),
    ("raw_customers", "null_burst", "customer_id", "expect_column_values_to_not_be_null", "error"),
    ("raw_customers", "scale_change", "income", "expect_column_values_to_be_between", "warn"),
    ("raw_customers", "scale_change", "age", "expect_column_values_to_be_between", "warn"),
    ("raw_customers", "category_remap", "region", "expect_column_values_to_be_in_set", "warn"),
    ("raw_customers", "column_drop", "income", "expect_table_columns_to_match_set", "error"),
    ("raw_customers", "type_change", "income", "expect_column_values_to_be_of_type", "error"),
    ("raw_customers", "type_change", "application_ts", "expect_column_values_to_be_of_type", "error"),
    ("raw_customers", "duplicate_rows", None, "expect_column_values_to_be_unique", "error"),
    ("raw_customers", "stale_partition", None, "expect_column_values_to_be_between", "error"),
    ("raw_transactions", "scale_change", "amount", "expect_column_values_to_be_between", "warn"),
    ("raw_transactions", "category_remap", "channel", "expect_column_values_to_be_in_set", "warn"),
    ("raw_transactions", "duplicate_rows", None, "expect_column_values_to_be_unique", "error"),
    ("raw_transactions", "stale_partition", None, "expect_column_values_to_be_between", "error"),
    ("raw_labels", "stale_partition", None, "expect_column_values_to_be_between", "error"),
    ("raw_labels", "type_change", "defaulted", "expect_column_values_to_be_of_type", "error"),
    # Garbled keys (every key renamed to a 3-letter code) fail the key format and uniqueness at the source.
    ("raw_labels", "category_remap", "customer_id", "expect_column_values_to_match_regex", "error"),
    ("raw_labels", "category_remap", "customer_id", "expect_column_values_to_be_unique", "error"),
    ("raw_customers", "category_remap", "customer_id", "expect_column_values_to_match_regex", "error"),
    ("raw_transactions", "category_remap", "transaction_id", "expect_column_values_to_be_unique", "error"),
    ("raw_transactions", "category_remap", "customer_id", "expect_column_values_to_match_regex", "error"),
    ("clean_customers", "category_remap", "gender", "expect_column_values_to_be_in_set", "warn"),
    ("clean_transactions", "column_drop", "merchant_category", "expect_column_to_exist", "error"),
    ("clean_labels", "duplicate_rows", None, "expect_column_values_to_be_unique", "error"),
    ("customer_features", "null_burst", "txn_amount_mean_30d", "expect_column_values_to_not_be_null", "warn"),
    ("customer_features", "scale_change", "online_share_30d", "expect_column_values_to_be_between", "error"),
    ("customer_features", "scale_change", "region_code", "expect_column_values_to_be_in_set", "error"),
    ("customer_features", "type_change", "gender", "expect_column_values_to_be_of_type", "error"),
    ("training_set", "null_burst", "split", "expect_column_values_to_not_be_null", "error"),
    ("training_set", "category_remap", "split", "expect_column_values_to_be_in_set", "error"),
    ("training_set", "duplicate_rows", None, "expect_column_values_to_be_unique", "error"),
    ("batch_predictions", "scale_change", "score", "expect_column_values_to_be_between", "error"),
    ("batch_predictions", "duplicate_rows", None, "expect_column_values_to_be_unique", "error"),
    ("model_evaluation", "category_remap", "metric", "expect_column_values_to_be_in_set", "error"),
    ("model_evaluation", "column_drop", "value", "expect_table_columns_to_match_set", "error"),
]


@pytest.mark.parametrize("asset,kind,column,catcher,severity", FAULT_CASES,
                         ids=[f"{a}-{k}-{c or 'rows'}-{x.removeprefix('expect_column_')}" for a, k, c, x, _ in FAULT_CASES])
def test_fault_fails_the_suite_of_its_asset(asset, kind, column, catcher, severity):
    day, previous = "2026-01-14", "2026-01-13"
    unpartitioned = asset == "model_evaluation"
    source = model_frames(day) if asset in ("model_evaluation", "batch_predictions") else frames(day)
    fault = Fault(asset, None if unpartitioned else day, kind, column)
    df = apply_fault(source[asset], fault, lambda: frames(previous)[asset])
    result = validate_dataframe(df, asset, None if unpartitioned else day)
    caught = [f"{o.expectation_type}/{o.column} [{o.severity}]" for o in result.failures]
    print(f"\n{fault.describe()} caught by: {caught}")
    assert not result.success, f"{fault.describe()} went unnoticed"
    assert any(o.expectation_type == catcher and o.severity == severity for o in result.failures), caught
    assert all(o.message for o in result.failures)


SWEEP = ["raw_customers", "raw_transactions", "raw_labels",
         pytest.param("customer_features", marks=pytest.mark.slow)]


@pytest.mark.parametrize("asset", SWEEP)
@pytest.mark.slow
def test_every_fault_kind_on_every_column_is_caught(asset):
    """The exhaustive sweep: each GE-detectable kind on each applicable column is caught somewhere in the suite."""
    from observability_pipelines.data.contracts import CATEGORICAL, INTEGER, NUMERIC

    day, previous = "2026-01-21", "2026-01-20"
    missed, tried = [], 0
    faults = [Fault(asset, day, "duplicate_rows")]
    if CONTRACTS[asset].source:
        faults.append(Fault(asset, day, "stale_partition"))
    for col, kind in CONTRACTS[asset].columns.items():
        faults += [Fault(asset, day, "null_burst", col), Fault(asset, day, "column_drop", col)]
        if kind in (NUMERIC, INTEGER):
            faults.append(Fault(asset, day, "scale_change", col))
        if kind in (CATEGORICAL, "string") and not (asset == "raw_customers" and col == "gender"):
            # raw gender is already F/M: the remap to 3-letter upper-case codes changes nothing there.
            # On a string key it garbles every key.
            faults.append(Fault(asset, day, "category_remap", col))
        if kind != "string":
            faults.append(Fault(asset, day, "type_change", col))
    for fault in faults:
        tried += 1
        df = apply_fault(frames(day)[asset], fault, lambda a=asset: frames(previous)[a])
        if validate_dataframe(df, asset, day).success:
            missed.append(fault.describe())
    print(f"\n{tried - len(missed)}/{tried} injected faults caught")
    assert not missed, missed


# --------------------------------------------------------------------------- results: readable, no raw values


def test_failure_messages_are_readable():
    day = "2026-01-05"
    df = apply_fault(frames(day)["raw_customers"], Fault("raw_customers", day, "null_burst", "income"))
    v = validate_dataframe(df, "raw_customers", day)
    (null,) = [o for o in v.failures if o.expectation_type == "expect_column_values_to_not_be_null"]
    assert null.column == "income" and null.severity == "warn" and 20 < null.unexpected_percent < 40
    assert null.message.startswith("income: ") and "% null" in null.message
    f = frames(day)["customer_features"].copy()
    f.loc[f.index[: len(f) // 3], "txn_amount_mean_30d"] = np.nan
    (mean_null,) = [o for o in validate_dataframe(f, "customer_features", day).failures
                    if o.expectation_type == "expect_column_values_to_not_be_null"]
    assert "mostly 0.97" in mean_null.message, mean_null.message
    dropped = validate_dataframe(frames(day)["raw_customers"].drop(columns=["income"]), "raw_customers", day)
    assert any("missing ['income']" in o.message for o in dropped.failures), [o.message for o in dropped.failures]


PLANTED_TEXT = "zz-planted-region-7731"
PLANTED_NUMBER = 987654321.125


def _planted(day: str) -> pd.DataFrame:
    df = frames(day)["raw_customers"].copy()
    df.loc[df.index[:5], "region"] = PLANTED_TEXT
    df.loc[df.index[:5], "income"] = PLANTED_NUMBER
    return df


def test_no_row_values_in_results_or_metadata(monkeypatch):
    monkeypatch.delenv("OBS_GE_INCLUDE_UNEXPECTED", raising=False)
    day = "2026-01-05"
    v = validate_dataframe(_planted(day), "raw_customers", day)
    assert {o.column for o in v.failures} >= {"region", "income"}
    serialized = json.dumps(v.to_dict()) + repr(check_metadata(v)) + v.summary() + v.markdown()
    assert PLANTED_TEXT not in serialized
    assert "987654321" not in serialized


def test_row_values_only_when_allowed(monkeypatch):
    monkeypatch.setenv("OBS_GE_INCLUDE_UNEXPECTED", "1")
    day = "2026-01-05"
    v = validate_dataframe(_planted(day), "raw_customers", day)
    serialized = json.dumps(v.to_dict()) + repr(check_metadata(v))
    assert PLANTED_TEXT in serialized


# --------------------------------------------------------------------------- observer


class _Ctx:  # the observer does not touch the context
    pass


def test_observer_check_specs_and_results():
    observer = GreatExpectationsObserver("raw_customers")
    specs = observer.check_specs(dg.AssetKey("raw_customers"))
    assert [(s.name, s.blocking) for s in specs] == [("ge_raw_customers_errors", True), ("ge_raw_customers_warnings", False)]

    day = "2026-01-05"
    df = apply_fault(frames(day)["raw_customers"], Fault("raw_customers", day, "column_drop", "income"))
    obs = Observation(context=_Ctx(), asset="raw_customers", partition=day, inputs={}, value=df)
    observer.on_output(obs)
    errors, warnings = obs.check_results
    assert errors.check_name == "ge_raw_customers_errors" and not errors.passed
    assert errors.severity == dg.AssetCheckSeverity.ERROR and warnings.severity == dg.AssetCheckSeverity.WARN
    meta = errors.metadata
    assert isinstance(meta["success_percent"].value, float) and 0 < meta["success_percent"].value < 100
    assert meta["evaluated"].value > 10 and meta["failed"].value >= 3
    assert meta["failed/expect_table_columns_to_match_set/_table"].value == 100.0
    assert meta["failed/expect_column_to_exist/income"].value == 100.0
    assert "| severity |" in meta["failures"].value
    assert "income" in errors.description
    assertions = obs.facts["assertions"]
    assert len(assertions) == len(load_suite("raw_customers").expectations)
    assert {"assertion": "expect_column_to_exist", "success": False, "column": "income", "severity": "error"} in assertions
    assert all(set(a) == {"assertion", "success", "column", "severity"} for a in assertions)


def test_observer_marks_non_dataframes_as_skipped():
    obs = Observation(context=_Ctx(), asset="model_evaluation", partition=None, inputs={}, value=object())
    GreatExpectationsObserver("model_evaluation").on_output(obs)
    assert len(obs.check_results) == 2
    assert all(r.passed and r.metadata["skipped"].value for r in obs.check_results)
    assert "assertions" not in obs.facts


def test_asset_without_a_suite_gets_no_checks(tmp_path, monkeypatch):
    monkeypatch.setenv("OBS_EXPECTATIONS_DIR", str(tmp_path))  # suites switched off
    observer = GreatExpectationsObserver("raw_customers")
    assert observer.check_specs(dg.AssetKey("raw_customers")) == []
    obs = Observation(context=_Ctx(), asset="raw_customers", partition=None, inputs={}, value=pd.DataFrame({"a": [1]}))
    observer.on_output(obs)
    assert obs.check_results == [] and "assertions" not in obs.facts
    (tmp_path / "raw_customers.json").write_text("not json")
    with pytest.raises(SuiteError, match="raw_customers"):  # a suite that exists but is broken still fails
        GreatExpectationsObserver("raw_customers")


# --------------------------------------------------------------------------- real Dagster run


def _pipeline():
    from observability_pipelines.assets.observers import FaultObserver
    from observability_pipelines.assets.partitions import daily_partitions
    from observability_pipelines.observe.asset import observed_asset

    @observed_asset(
        name="raw_customers",
        partitions_def=daily_partitions,
        observers=[FaultObserver(), GreatExpectationsObserver("raw_customers")],
        required_resource_keys=["raw_data"],
    )
    def raw_customers(context):
        return context.resources.raw_data.load("customers", context.partition_key)

    @observed_asset(
        name="clean_customers",
        ins={"raw": dg.AssetIn("raw_customers")},
        partitions_def=daily_partitions,
        observers=[GreatExpectationsObserver("clean_customers")],
    )
    def clean_customers(context, raw):
        contract = CONTRACTS["clean_customers"]
        return conform(raw, contract.columns, contract.key)[0]

    return [raw_customers, clean_customers]


def _materialize(tmp_path, plan):
    from observability_pipelines.resources.faults import FaultInjector, FaultSpec
    from observability_pipelines.resources.io_managers import ParquetIOManager
    from observability_pipelines.resources.source import RawDataSource

    return dg.materialize(
        _pipeline(),
        partition_key="2026-01-07",
        resources={
            "raw_data": RawDataSource(customers_per_day=SMALL),
            "faults": FaultInjector(plan=[FaultSpec(**f) for f in plan]),
            "io_manager": ParquetIOManager(base_path=str(tmp_path)),
        },
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _checks(result):
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _materialized(result):
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_dagster_blocking_error_skips_downstream_but_a_warning_does_not(tmp_path, capfd):
    day = "2026-01-07"
    blocked = _materialize(tmp_path / "a", [{"asset": "raw_customers", "partition": day, "kind": "column_drop", "column": "income"}])
    checks = _checks(blocked)
    assert not checks["ge_raw_customers_errors"].passed
    assert checks["ge_raw_customers_errors"].severity == dg.AssetCheckSeverity.ERROR
    assert _materialized(blocked) == {"raw_customers"}, "clean_customers must be skipped after a blocking failure"
    assert "ge_clean_customers_errors" not in checks

    warned = _materialize(tmp_path / "b", [{"asset": "raw_customers", "partition": day, "kind": "category_remap", "column": "region"}])
    checks = _checks(warned)
    assert checks["ge_raw_customers_errors"].passed and not checks["ge_raw_customers_warnings"].passed
    assert checks["ge_raw_customers_warnings"].severity == dg.AssetCheckSeverity.WARN
    assert warned.success and _materialized(warned) == {"raw_customers", "clean_customers"}
    meta = checks["ge_raw_customers_warnings"].metadata
    assert meta["failed/expect_column_values_to_be_in_set/region"].value > 50

    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err, "GX progress bars must be silenced"


def _stat_suite(directory: Path) -> None:
    expectations = [{"type": f"expect_column_{stat}_to_be_between", "kwargs": {"column": "income", "max_value": 1000.0},
                     "meta": {"severity": "warn"}} for stat in ("max", "median")]
    (directory / "incomes.json").write_text(json.dumps({"name": "incomes", "expectations": expectations}))


def test_min_max_median_observed_values_are_rounded_like_lineage_events(tmp_path, monkeypatch):
    """A maximum or an odd sample's median is one applicant's income: never exact in metadata or messages."""
    monkeypatch.delenv("OBS_OL_NUMERIC_PRECISION", raising=False)
    _stat_suite(tmp_path)
    df = pd.DataFrame({"income": [30_000.0, 41_234.56, 264_731.31]})
    v = validate_dataframe(df, "incomes", directory=tmp_path)
    observed = {o.expectation_type: o.observed_value for o in v.outcomes}
    assert observed["expect_column_max_to_be_between"] == pytest.approx(265_000.0)
    assert observed["expect_column_median_to_be_between"] == pytest.approx(41_200.0)
    shown = json.dumps(v.to_dict()) + repr(check_metadata(v)) + v.summary() + v.markdown()
    assert "264731" not in shown.replace(",", "") and "41234" not in shown.replace(",", "")

    monkeypatch.setenv("OBS_OL_NUMERIC_PRECISION", "exact")  # the documented opt-in
    v = validate_dataframe(df, "incomes", directory=tmp_path)
    observed = {o.expectation_type: o.observed_value for o in v.outcomes}
    assert observed["expect_column_max_to_be_between"] == 264_731.31
