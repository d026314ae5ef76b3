import json

import numpy as np
import pandas as pd
import pytest

from observability_pipelines.data.faults import FAULT_KINDS, Fault, FaultPlan, FaultPlanError, apply_fault
from observability_pipelines.data.generator import GeneratorConfig, generate_partition

P = "2026-03-04"


@pytest.fixture(scope="module")
def frames():
    return generate_partition(P, GeneratorConfig(customers_per_day=400))


def _unchanged_except(before: pd.DataFrame, after: pd.DataFrame, column: str) -> None:
    others = [c for c in before.columns if c != column]
    pd.testing.assert_frame_equal(before[others], after[others])


def test_null_burst_nulls_the_fraction_of_one_column(frames):
    df = frames["customers"]
    out = apply_fault(df, Fault("raw_customers", P, "null_burst", "income", 0.34))
    assert out["income"].isna().mean() == pytest.approx(0.34, abs=0.06)
    _unchanged_except(df, out, "income")
    assert df["income"].notna().all()  # input untouched


def test_scale_and_mean_shift_change_only_their_column(frames):
    df = frames["customers"]
    scaled = apply_fault(df, Fault("raw_customers", P, "scale_change", "income", 100.0))
    np.testing.assert_allclose(scaled["income"], df["income"] * 100)
    ages = apply_fault(df, Fault("raw_customers", P, "mean_shift", "age", 1.0))
    assert ages["age"].dtype == df["age"].dtype and (ages["age"] > df["age"]).all()
    _unchanged_except(df, scaled, "income")
    shifted = apply_fault(df, Fault("raw_customers", P, "mean_shift", "loan_amount", 2.0))
    np.testing.assert_allclose(shifted["loan_amount"] - df["loan_amount"], 2.0 * df["loan_amount"].std(ddof=0))
    _unchanged_except(df, shifted, "loan_amount")


def test_category_remap_renames_and_merges(frames):
    df = frames["customers"]
    out = apply_fault(df, Fault("raw_customers", P, "category_remap", "region"))
    assert set(out["region"]).isdisjoint(set(df["region"]))
    assert out["region"].nunique() == df["region"].nunique() - 1  # two rare ones merged
    _unchanged_except(df, out, "region")


def test_column_drop_and_type_change(frames):
    df = frames["customers"]
    assert "income" not in apply_fault(df, Fault("raw_customers", P, "column_drop", "income")).columns
    typed = apply_fault(df, Fault("raw_customers", P, "type_change", "income"))
    assert typed["income"].map(type).eq(str).all()
    assert typed["income"].iloc[0] == f"{df['income'].iloc[0]:,.2f}"
    coded = apply_fault(df, Fault("raw_customers", P, "type_change", "region"))
    assert pd.api.types.is_integer_dtype(coded["region"])


def test_row_kinds(frames):
    df = frames["transactions"]
    dup = apply_fault(df, Fault("raw_transactions", P, "duplicate_rows", magnitude=0.1))
    assert len(dup) == len(df) + round(0.1 * len(df))
    assert dup["transaction_id"].duplicated().sum() == round(0.1 * len(df))
    lost = apply_fault(df, Fault("raw_transactions", P, "row_loss", magnitude=0.3))
    assert len(lost) == len(df) - round(0.3 * len(df))
    assert set(lost["transaction_id"]) < set(df["transaction_id"])


def test_stale_partition_redelivers_previous(frames):
    prev = generate_partition("2026-03-03", GeneratorConfig(customers_per_day=400))["customers"]
    out = apply_fault(frames["customers"], Fault("raw_customers", P, "stale_partition"), previous=lambda: prev)
    pd.testing.assert_frame_equal(out, prev)


def test_label_shift_moves_positive_rate(frames):
    df = frames["labels"]
    out = apply_fault(df, Fault("raw_labels", P, "label_shift", "defaulted", 0.2))
    assert out["defaulted"].mean() - df["defaulted"].mean() == pytest.approx(0.2, abs=0.01)
    down = apply_fault(df, Fault("raw_labels", P, "label_shift", "defaulted", -0.1))
    assert df["defaulted"].mean() - down["defaulted"].mean() == pytest.approx(0.1, abs=0.01)


def test_inf_values_sets_a_fraction_of_one_numeric_column_to_infinity(frames):
    df = frames["customers"]
    out = apply_fault(df, Fault("raw_customers", P, "inf_values", "income", 0.1))
    inf = np.isinf(out["income"])
    assert inf.sum() == round(0.1 * len(df))
    assert (out.loc[inf, "income"] > 0).any() and (out.loc[inf, "income"] < 0).any()  # both signs
    np.testing.assert_array_equal(out.loc[~inf, "income"], df.loc[~inf, "income"])  # the rest untouched
    assert out["income"].dtype == "float64" and df["income"].notna().all() and np.isfinite(df["income"]).all()
    _unchanged_except(df, out, "income")
    # the default magnitude; deterministic per fault; never a no-op, even on a tiny frame
    default = apply_fault(df, Fault("raw_customers", P, "inf_values", "income"))
    assert np.isinf(default["income"]).sum() == round(0.05 * len(df))
    pd.testing.assert_frame_equal(default, apply_fault(df, Fault("raw_customers", P, "inf_values", "income")))
    tiny = apply_fault(df.head(3), Fault("raw_customers", P, "inf_values", "income", 0.01))
    assert np.isinf(tiny["income"]).sum() == 1
    assert apply_fault(df.head(0), Fault("raw_customers", P, "inf_values", "income")).empty


def test_every_kind_is_covered_by_these_tests():
    assert len(FAULT_KINDS) == 11


@pytest.mark.parametrize(
    "records,fragment",
    [
        ([{"asset": "raw_customers", "partition": P, "kind": "nul_burst", "column": "income"}], "unknown kind 'nul_burst'"),
        ([{"asset": "raw_nothing", "partition": P, "kind": "row_loss"}], "unknown asset 'raw_nothing'"),
        ([{"asset": "raw_customers", "partition": P, "kind": "null_burst", "column": "salary"}], "unknown column 'salary'"),
        ([{"asset": "raw_customers", "partition": P, "kind": "null_burst"}], "needs a 'column'"),
        ([{"asset": "raw_customers", "partition": "03/04/2026", "kind": "row_loss"}], "not a daily key"),
        ([{"asset": "raw_customers", "partition": P, "kind": "row_loss", "magnitude": 1.5}], "fraction of rows"),
        ([{"asset": "raw_customers", "partition": P, "kind": "scale_change", "column": "region"}], "does not apply"),
        ([{"asset": "raw_customers", "partition": P, "kind": "inf_values", "column": "region"}],
         "inf_values does not apply to categorical column raw_customers.region"),
        ([{"asset": "raw_customers", "partition": P, "kind": "inf_values", "column": "age"}],
         "inf_values does not apply to integer column"),
        ([{"asset": "raw_customers", "partition": P, "kind": "inf_values"}], "needs a 'column'"),
        ([{"asset": "raw_customers", "partition": P, "kind": "inf_values", "column": "income", "magnitude": 0}],
         "magnitude for inf_values is a fraction of rows"),
        ([{"asset": "raw_customers", "partition": P, "kind": "inf_values", "column": "income", "magnitude": 1.5}],
         "magnitude for inf_values is a fraction of rows"),
        ([{"asset": "raw_customers", "partition": P, "kind": "label_shift"}], "no label column"),
        ([{"asset": "clean_customers", "partition": P, "kind": "stale_partition"}], "source assets"),
        ({"not": "a list"}, "expected a list"),
    ],
)
def test_bad_plans_fail_with_clear_messages(records, fragment):
    with pytest.raises(FaultPlanError, match=fragment.replace("(", r"\(")):
        FaultPlan.from_records(records)


def test_plan_files_json_yaml_and_malformed(tmp_path):
    fault = {"asset": "raw_customers", "partition": P, "kind": "null_burst", "column": "income", "magnitude": 0.2}
    (tmp_path / "plan.json").write_text(json.dumps([fault]))
    (tmp_path / "plan.yaml").write_text("faults:\n  - asset: raw_customers\n    partition: '2026-03-04'\n"
                                        "    kind: null_burst\n    column: income\n    magnitude: 0.2\n")
    assert FaultPlan.from_file(tmp_path / "plan.json") == FaultPlan.from_file(tmp_path / "plan.yaml")
    (tmp_path / "bad.json").write_text("[{asset: raw_customers, kind: [")
    with pytest.raises(FaultPlanError, match="not valid JSON or YAML"):
        FaultPlan.from_file(tmp_path / "bad.json")
    with pytest.raises(FaultPlanError, match="cannot read fault plan"):
        FaultPlan.from_file(tmp_path / "missing.yaml")
