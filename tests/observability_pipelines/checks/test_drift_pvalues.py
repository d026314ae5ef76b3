"""The fast KS p-value kernels of checks/drift.py against scipy, within the
tolerance stated in the module docstring (KS_PVALUE_* constants)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats._stats_py import _attempt_exact_2kssamp

from observability_pipelines.checks import drift as D
from observability_pipelines.checks.drift import DriftConfig, detect_drift


def scipy_p(d: float, n1: int, n2: int) -> tuple[float, float]:
    """scipy's ks_2samp(method='auto') p-value for a statistic d (its own branches).
    The statistic is scipy's exact-branch rounding h / lcm(n1, n2) whenever the exact
    branch applies, also where scipy's own routine gives up by roundoff (p a few ulps
    above 1) and reports the unrounded d: only there the fast kernels keep the rounding."""
    if max(n1, n2) <= 10000:
        ok, d_exact, p = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
        if ok:
            return d_exact, float(np.clip(p, 0, 1))
        assert p > 1 - 1e-12, (n1, n2, d, p)  # the only way it fails in this range
        m, n = sorted([float(n1), float(n2)], reverse=True)
        return d_exact, float(np.clip(stats.kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))
    m, n = sorted([float(n1), float(n2)], reverse=True)
    return d, float(np.clip(stats.kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))


def assert_within_tolerance(p: float, p_s: float, method: str, where) -> None:
    err = abs(p - p_s)
    assert err <= D.KS_PVALUE_ATOL, (where, method, p, p_s)
    if p_s >= D.KS_PVALUE_RTOL_FROM:
        assert err <= D.KS_PVALUE_RTOL * p_s, (where, method, p, p_s)
    else:
        assert p <= D.KS_PVALUE_TAIL_MAX, (where, method, p, p_s)
    if method == "exact":
        assert err <= 1e-12 + 1e-9 * p_s, (where, p, p_s)


def random_case(rng, regime: str) -> tuple[int, int, float]:
    if regime == "equal":
        n1 = n2 = int(rng.integers(1, 10001))
    elif regime == "small":
        n1, n2 = (int(x) for x in rng.integers(1, 1415, size=2))  # n1*n2 <= 2e6
    elif regime == "unequal":  # the 'hodges' range: unequal, n1*n2 > 2e6, max <= 10000
        n1 = int(rng.integers(1500, 10001))
        n2 = int(rng.integers(2_000_001 // n1 + 1, n1 + 1))
    elif regime == "kstwo":
        n1, n2 = int(rng.integers(10001, 40000)), int(rng.integers(2, 40000))
    elif regime == "kstwo_small":  # scipy's own kstwo tail is O(n): keep the fast test cheap
        n1, n2 = int(rng.integers(10001, 12000)), int(rng.integers(2, 6000))
    else:  # "bign": effective n above the kstwobign limit
        n1, n2 = (int(x) for x in rng.integers(100_001, 400_000, size=2))
    en = n1 * n2 / (n1 + n2)
    z = rng.uniform(0.02, 7.0) if rng.random() < 0.8 else rng.uniform(0.3, 2.0)  # dense near p = 0.05
    return n1, n2, min(z / math.sqrt(en), 1.0)


def check_regime(regime: str, cases: int, seed: int) -> set[str]:
    rng = np.random.default_rng(seed)
    methods = set()
    for _ in range(cases):
        n1, n2, d = random_case(rng, regime)
        d_f, p_f, method = D._ks_pvalue(d, n1, n2, 50_000)
        d_s, p_s = scipy_p(d, n1, n2) if regime != "bign" else (d, float(stats.kstwo.sf(d, round(n1 * n2 / (n1 + n2)))))
        assert d_f == pytest.approx(d_s, rel=1e-15, abs=0), (n1, n2, d)
        assert_within_tolerance(p_f, p_s, method, (n1, n2, d))
        methods.add(method)
    return methods


@pytest.mark.parametrize(
    "regime,cases,expected",
    [
        ("equal", 60, {"exact"}),
        ("small", 80, {"exact"}),
        ("unequal", 12, {"hodges"}),
        ("kstwo_small", 25, {"kstwo"}),
    ],
)
def test_pvalue_kernels_within_tolerance_of_scipy(regime, cases, expected):
    assert check_regime(regime, cases, seed=len(regime)) == expected


@pytest.mark.slow
@pytest.mark.parametrize("regime", ["equal", "small", "unequal", "kstwo", "bign"])
def test_pvalue_kernels_within_tolerance_of_scipy_sweep(regime):
    cases = {"unequal": 400, "bign": 150, "kstwo": 400}.get(regime, 1500)
    check_regime(regime, cases, seed=100 + len(regime))


def test_exact_equal_n_closed_form_matches_scipy_at_every_lattice_point():
    for n in (1, 2, 3, 7, 50, 333, 1000, 9973):
        for h in range(1, n + 1) if n <= 333 else np.unique(np.geomspace(1, n, 40).astype(int)):
            d = h / n
            p_s = _attempt_exact_2kssamp(n, n, n, d, "two-sided")[2]
            assert abs(D._ks_exact_equal_n(n, int(h)) - p_s) <= 1e-13 + 1e-10 * p_s, (n, h)


@pytest.mark.parametrize(
    "n1,n2,shift,decimals",
    [
        (12, 9, 0.8, None),  # small n
        (300, 1200, 0.15, 1),  # ties, unequal
        (2000, 2000, 0.06, None),  # equal, 'exact' closed form
        (4000, 2600, 0.07, 2),  # 'hodges' with ties
        (9000, 1700, 0.0, None),
        (15000, 12000, 0.03, 1),  # 'kstwo' with ties
    ],
)
def test_detect_drift_ks_pvalue_agrees_with_ks_2samp_on_data(n1, n2, shift, decimals):
    rng = np.random.default_rng(n1 * 3 + n2)
    a, b = rng.normal(size=n1), rng.normal(shift, 1.05, size=n2)
    if decimals is not None:
        a, b = np.round(a, decimals), np.round(b, decimals)
    r = detect_drift(pd.DataFrame({"x": a}), pd.DataFrame({"x": b}), DriftConfig(column_tests={"x": "ks"})).columns["x"]
    ref = stats.ks_2samp(a, b)
    assert r.ks_stat == ref.statistic
    assert_within_tolerance(r.ks_pvalue, ref.pvalue, r.ks_pvalue_method, (n1, n2))
    if abs(ref.pvalue - 0.05) > D.KS_PVALUE_ATOL:
        assert r.drifted == (ref.pvalue < 0.05)


def _frames(n_ref: int, n_cur: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = {"a": rng.normal(size=n_ref), "b": np.round(rng.exponential(size=n_ref), 1), "c": rng.integers(0, 4, n_ref)}
    cur = {"a": rng.normal(0.05, 1, n_cur), "b": np.round(rng.exponential(1.1, size=n_cur), 1), "c": rng.integers(0, 4, n_cur)}
    ref["a"][rng.random(n_ref) < 0.03] = np.nan  # unequal valid counts
    ref["s"] = rng.choice(["x", "y", "z"], n_ref)
    cur["s"] = rng.choice(["x", "y", "z"], n_cur, p=[0.4, 0.3, 0.3])
    return pd.DataFrame(ref), pd.DataFrame(cur)


@pytest.mark.parametrize("n_ref,n_cur", [(800, 900), (5000, 5000), (9000, 7000), (30000, 25000)])
def test_fast_outputs_equal_previous_scipy_outputs(n_ref, n_cur):
    """Previous outputs = scipy's routines for every p-value (ks_pvalue_asymptotic_above=None);
    the fast kernels change nothing but ks_pvalue, within the tolerance; decisions stay."""
    ref, cur = _frames(n_ref, n_cur, seed=n_ref)
    for cfg_kw in ({}, {"column_tests": {"a": "ks", "b": "ks"}}):
        fast = detect_drift(ref, cur, DriftConfig(**cfg_kw)).to_dict()
        slow = detect_drift(ref, cur, DriftConfig(ks_pvalue_asymptotic_above=None, **cfg_kw)).to_dict()
        for col, f in fast["columns"].items():
            s = slow["columns"][col]
            if f["ks_pvalue"] is not None:
                assert_within_tolerance(f["ks_pvalue"], s["ks_pvalue"], f["ks_pvalue_method"], col)
            skip = {"ks_pvalue", "ks_pvalue_method", "message"}
            if f["test"] == "ks":
                skip |= {"p_value"}
            assert {k: v for k, v in f.items() if k not in skip} == {k: v for k, v in s.items() if k not in skip}
        assert fast["drifted_columns"] == slow["drifted_columns"]
