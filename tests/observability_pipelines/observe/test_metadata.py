"""Drift check metadata: rounded scores, the drifted columns named, and why each failed (statistic,
threshold, p-value, null fractions), checked against scipy's own two-sample tests."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from observability_pipelines.checks.drift import detect_drift
from observability_pipelines.checks.drift_observer import material, pipeline_drift_config
from observability_pipelines.observe.metadata import drift_check_metadata, significant

MIN = {"numerical": 0.1, "categorical": 0.05}


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"income": rng.normal(50, 10, 3000), "age": rng.normal(40, 5, 3000),
                        "region": rng.choice(list("abc"), 3000)})
    cur = pd.DataFrame({"income": rng.normal(60, 10, 2000), "age": rng.normal(40, 5, 2000),
                        "region": rng.choice(list("abc"), 2000)})
    cur.loc[:599, "age"] = np.nan  # 30 % nulls: a null burst
    return ref, cur


def _metadata(ref: pd.DataFrame, cur: pd.DataFrame) -> dict:
    config = pipeline_drift_config()
    result = detect_drift(ref, cur, config)
    failed = [r for r in result.columns.values() if material(r, MIN["numerical"], MIN["categorical"])]
    return drift_check_metadata(result.columns, failed, share=len(failed) / len(result.columns),
                                reference_partitions=1, reference_rows=result.n_ref,
                                min_effect={**MIN, "null_increase": config.max_null_increase})


def test_failed_drift_names_column_statistic_threshold_and_p_value(frames) -> None:
    ref, cur = frames
    md = _metadata(ref, cur)
    assert md["drifted"].value == "income, age" and md["drifted_columns"].value == 2
    why = md["why"].md_str.splitlines()
    income = next(line for line in why if line.startswith("| income |"))
    ks = stats.ks_2samp(ref["income"], cur["income"])
    cells = [c.strip() for c in income.strip("|").split("|")]
    assert cells[1] == "ks" and float(cells[2]) == pytest.approx(ks.statistic, rel=2e-3)
    assert "p < " in cells[3] and "KS ≥ 0.1" in cells[3]
    assert float(cells[4]) == pytest.approx(ks.pvalue, rel=0.05)  # scipy's p-value, to 2 significant digits
    assert md["income/p_value"].value == pytest.approx(ks.pvalue, rel=0.05)
    age = next(line for line in why if line.startswith("| age |"))
    assert "null fraction" in age and "+0.3" in age and "0 → 0.3" in age and "rise > 0.1" in age


def test_scores_are_rounded_and_the_same_keys_without_drift(frames) -> None:
    ref, cur = frames
    drifted, calm = _metadata(ref, cur), _metadata(ref, ref.sample(frac=0.5, random_state=1))
    assert set(drifted) == set(calm)  # each key plots as one series over partitions
    assert calm["drifted"].value == "none" and calm["why"].md_str == "No column drifted."
    for key, value in drifted.items():
        if isinstance(value, dg.FloatMetadataValue):
            digits = 2 if key.endswith("/p_value") else 3
            assert value.value == significant(value.value, digits), key
    chi2 = stats.chi2_contingency(pd.crosstab(
        np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref["region"], cur["region"]]), correction=False)
    assert drifted["region/p_value"].value == pytest.approx(chi2.pvalue, rel=0.05)


def test_column_descriptions_fill_the_column_schema() -> None:
    from observability_pipelines.observe.metadata import table_metadata

    df = pd.DataFrame({"income": [1.0, 2.0], "region": ["a", "b"]})
    schema = table_metadata(df, descriptions={"income": "numeric; sensitive"})["dagster/column_schema"]
    assert [(c.name, c.type, c.description) for c in schema.columns] == [
        ("income", "double", "numeric; sensitive"), ("region", "string", None)]
