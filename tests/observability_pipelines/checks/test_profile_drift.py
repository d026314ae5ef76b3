"""Drift from stored profiles against the exact test on the concatenated window: scipy's ``ks_2samp``,
``chi2_contingency`` and ``wasserstein_distance`` on the rows, and the reading path (``detect_drift`` on the
concatenation) for what the check reports (status, decision, message)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from observability_pipelines.checks.drift import DriftConfig, detect_drift
from observability_pipelines.checks.drift_observer import pipeline_drift_config
from observability_pipelines.checks.profile_drift import detect_drift_from_profiles
from observability_pipelines.checks.profiles import KS_TOLERANCE, profile_record

COLUMNS = ["amount", "region", "flag", "level"]


def _frame(rng, n, shift=0.0):
    amount = rng.gamma(4, 12 + shift, n)
    amount[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({
        "amount": amount,
        "region": pd.Series(rng.choice(["north", "south", "east", None], n, p=[0.4, 0.3, 0.2, 0.1]), dtype=object),
        "flag": rng.random(n) < 0.3 + shift / 100,
        "level": rng.integers(0, 4, n),  # few distinct numbers: the categorical treatment
    })


def _records(frames, columns=COLUMNS):
    """Profile records as the drift store keeps them (through JSON)."""
    return [json.loads(json.dumps(profile_record(f, [c for c in columns if c in f.columns], None))) for f in frames]


def _both(frames, current, config, columns=COLUMNS):
    reference = pd.concat(frames, ignore_index=True)
    cols = [c for c in columns if c in reference.columns]
    exact = detect_drift(reference[cols], current.reindex(columns=[c for c in cols if c in current.columns]), config)
    return detect_drift_from_profiles(_records(frames, columns), current, columns, config), exact, reference


@pytest.mark.parametrize("config", [pipeline_drift_config(), DriftConfig()], ids=["pipeline", "default"])
def test_small_partitions_give_the_exact_result(config):
    rng = np.random.default_rng(1)
    frames = [_frame(rng, int(rng.integers(200, 400))) for _ in range(7)]
    frames[3] = frames[3].drop(columns=["level"])  # a column missing from one partition counts as nulls
    frames[5].loc[frames[5].index[:4], "amount"] = np.inf
    current = _frame(rng, 300, shift=4.0)
    ours, exact, reference = _both(frames, current, config)
    assert list(ours.columns) == list(exact.columns) and ours.n_ref == exact.n_ref == len(reference)
    for name, r in exact.columns.items():
        o = ours.columns[name]
        assert (o.status, o.drifted, o.test, o.message) == (r.status, r.drifted, r.test, r.message), name
        assert o.statistic == pytest.approx(r.statistic, rel=1e-12), name
    ks = stats.ks_2samp(reference["amount"][np.isfinite(reference["amount"])], current["amount"].dropna())
    assert ours.columns["amount"].ks_stat == pytest.approx(ks.statistic, rel=1e-12)
    assert ours.columns["amount"].ks_pvalue == pytest.approx(ks.pvalue, rel=1e-9)
    table = pd.crosstab(np.r_[np.zeros(len(reference)), np.ones(len(current))],
                        pd.concat([reference["region"], current["region"]], ignore_index=True))
    chi2 = stats.chi2_contingency(table.to_numpy(), correction=False)
    assert ours.columns["region"].chi2_stat == pytest.approx(chi2.statistic, rel=1e-9)


@pytest.mark.parametrize("rows", [(3000, 6000), (900, 2000)], ids=["sketched", "small_cut"])
@pytest.mark.parametrize("days", [7, 30])
@pytest.mark.parametrize("shift", [0.0, 0.4, 3.0])
def test_sketched_partitions_stay_within_the_tolerance_and_decide_as_scipy(days, shift, rows):
    """Large partitions are sketched; small ones (kept whole) are cut to quantiles once the window holds more
    than WINDOW_EXACT_LIMIT values: both within the tolerance of scipy's exact statistic."""
    rng = np.random.default_rng(days * 10 + int(shift * 10))
    frames = [_frame(rng, int(rng.integers(*rows))) for _ in range(days)]
    current = _frame(rng, 4000, shift)
    config = pipeline_drift_config()
    ours, exact, reference = _both(frames, current, config)
    ref = reference["amount"].dropna().to_numpy()
    cur = current["amount"].dropna().to_numpy()
    ks = stats.ks_2samp(ref, cur)
    o = ours.columns["amount"]
    assert abs(o.ks_stat - ks.statistic) <= KS_TOLERANCE
    critical = stats.kstwobign.isf(0.001) * np.sqrt((len(ref) + len(cur)) / (len(ref) * len(cur)))
    if abs(ks.statistic - critical) > KS_TOLERANCE:  # outside the band the decision is the exact one
        assert o.drifted == (ks.pvalue < 0.001) == exact.columns["amount"].drifted
    assert o.wasserstein == pytest.approx(stats.wasserstein_distance(ref, cur), rel=0.02, abs=0.02)
    assert (o.n_ref, o.null_fraction_ref) == (exact.columns["amount"].n_ref, exact.columns["amount"].null_fraction_ref)
    for name in ("region", "flag", "level"):  # counts are exact at any size
        r = exact.columns[name]
        assert (ours.columns[name].chi2_stat, ours.columns[name].drifted) == (pytest.approx(r.chi2_stat, rel=1e-9),
                                                                              r.drifted), name


def test_type_change_and_missing_column_are_reported_like_the_reading_path():
    rng = np.random.default_rng(2)
    frames = [_frame(rng, 300) for _ in range(5)]
    current = _frame(rng, 300).drop(columns=["flag"])
    current["amount"] = current["amount"].map(lambda v: f"{v:,.2f}")  # numbers became strings
    ours, exact, _ = _both(frames, current, pipeline_drift_config())
    for name in ("amount", "flag"):
        o, r = ours.columns[name], exact.columns[name]
        assert (o.status, o.drifted) == (r.status, r.drifted) and o.status in {"type_mismatch", "missing_column"}


def test_kinds_that_differ_across_the_window_are_left_to_the_rows():
    rng = np.random.default_rng(3)
    frames = [_frame(rng, 300) for _ in range(3)]
    frames[1]["amount"] = frames[1]["amount"].astype(str)
    assert detect_drift_from_profiles(_records(frames), _frame(rng, 300), COLUMNS, pipeline_drift_config()) is None
