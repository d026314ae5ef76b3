"""Mergeable column profiles: the KS statistic of a merged window against scipy's exact one, moments and
counts against numpy/pandas on the concatenated rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from observability_pipelines.checks.profiles import (
    COUNTS_LIMIT,
    EXACT_LIMIT,
    KS_TOLERANCE,
    MERGED_POINTS,
    WINDOW_EXACT_LIMIT,
    K,
    ColumnProfile,
    ks_statistic,
    merge_counts,
    merge_moments,
    merged_cdf,
    profile_column,
)

DISTRIBUTIONS = {
    "normal": lambda rng, n, shift: rng.normal(50 + shift, 10, n),
    "lognormal": lambda rng, n, shift: rng.lognormal(3 + shift / 20, 1, n),
    "integers": lambda rng, n, shift: rng.integers(0, 60 + int(shift), n).astype(float),  # ties
    "rounded": lambda rng, n, shift: np.round(rng.gamma(4, 12 + shift / 4, n), 0),
}


def _window(rng, kind, days, n):
    return [DISTRIBUTIONS[kind](rng, int(n * rng.uniform(0.5, 1.5)), 0.0) for _ in range(days)]


@pytest.mark.parametrize("kind", sorted(DISTRIBUTIONS))
@pytest.mark.parametrize("days", [7, 30])
@pytest.mark.parametrize("shift", [0.0, 1.0, 5.0])
def test_ks_from_profiles_is_within_the_stated_tolerance_of_scipy(kind, days, shift):
    rng = np.random.default_rng(hash((kind, days, shift)) % 2**32)
    window = _window(rng, kind, days, 2000)
    current = DISTRIBUTIONS[kind](rng, 1500, shift)
    exact = stats.ks_2samp(np.concatenate(window), current).statistic
    profiles = [profile_column(pd.Series(w), exact_limit=0) for w in window]  # sketches, never all values
    assert not any(p.exact for p in profiles) and all(len(p.quantiles) == K for p in profiles)
    sketched = ks_statistic(profiles, current)
    assert abs(sketched - exact) <= KS_TOLERANCE, (exact, sketched)


def test_decisions_agree_with_scipy_outside_the_tolerance_band():
    rng = np.random.default_rng(7)
    checked = 0
    for trial in range(60):
        window = _window(rng, "normal", 7, 800)
        current = DISTRIBUTIONS["normal"](rng, 800, rng.uniform(0, 2.5))
        ref = np.concatenate(window)
        exact = stats.ks_2samp(ref, current)
        # the critical KS distance at alpha = 0.001 for these sample sizes (asymptotic two-sample form)
        n, m = len(ref), len(current)
        critical = stats.kstwobign.isf(0.001) * np.sqrt((n + m) / (n * m))
        if abs(exact.statistic - critical) <= KS_TOLERANCE:
            continue  # inside the band the decision may differ, by design
        sketched = ks_statistic([profile_column(pd.Series(w), exact_limit=0) for w in window], current)
        assert (sketched > critical) == (exact.statistic > critical), trial
        checked += 1
    assert checked >= 40


def test_moments_counts_nulls_and_infs_merge_exactly():
    rng = np.random.default_rng(3)
    parts = [pd.Series(np.where(rng.random(500) < 0.1, np.nan, rng.normal(i, 2, 500))) for i in range(5)]
    parts[2].iloc[:3] = np.inf
    profiles = [ColumnProfile.from_dict(profile_column(p).to_dict()) for p in parts]  # through storage form
    whole = pd.concat(parts, ignore_index=True)
    finite = whole[np.isfinite(whole)]
    n, mean, var = merge_moments(profiles)
    assert n == len(finite)
    assert mean == pytest.approx(finite.mean(), rel=1e-12)
    assert var == pytest.approx(finite.var(ddof=1), rel=1e-9)
    assert sum(p.nulls for p in profiles) == int(whole.isna().sum())
    assert sum(p.infs for p in profiles) == 3
    labels = [pd.Series(rng.choice(["a", "b", "c", None], 300)) for _ in range(4)]
    merged = merge_counts([profile_column(s) for s in labels])
    assert merged == pd.concat(labels).dropna().value_counts().to_dict()


def test_small_partitions_keep_every_value_and_merge_to_scipys_exact_statistic():
    rng = np.random.default_rng(11)
    window = [rng.gamma(3, 10, int(rng.integers(100, WINDOW_EXACT_LIMIT // 7))) for _ in range(7)]
    current = rng.gamma(3, 11, 500)
    profiles = [ColumnProfile.from_dict(profile_column(pd.Series(w)).to_dict()) for w in window]
    assert all(p.exact and np.array_equal(p.quantiles, np.sort(w)) for p, w in zip(profiles, window))
    exact = stats.ks_2samp(np.concatenate(window), current).statistic
    assert ks_statistic(profiles, current) == pytest.approx(exact, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("days", [7, 30])
def test_a_window_of_small_partitions_merges_exactly_and_its_recut_stays_within_half_a_step(days):
    rng = np.random.default_rng(days)
    window = [rng.gamma(3, 10, int(rng.integers(900, EXACT_LIMIT))) for _ in range(days)]
    assert sum(map(len, window)) > WINDOW_EXACT_LIMIT  # past the exact drift test: compared by CDF
    profiles = [profile_column(pd.Series(w)) for w in window]
    assert all(p.exact for p in profiles)
    for shift in (10.0, 10.4, 13.0):
        current = rng.gamma(3, shift, 1000)
        exact = stats.ks_2samp(np.concatenate(window), current).statistic
        assert ks_statistic(profiles, current) == pytest.approx(exact, rel=1e-12, abs=1e-15)
        recut = ks_statistic(profiles, current, merged=merged_cdf(profiles, MERGED_POINTS))
        assert abs(recut - exact) <= 1 / (2 * MERGED_POINTS) + 1e-12


def test_kept_whole_partitions_in_a_mixed_window_are_cut_within_the_tolerance():
    rng = np.random.default_rng(4)
    small = [rng.gamma(3, 10, int(rng.integers(900, EXACT_LIMIT))) for _ in range(20)]
    large = [rng.gamma(3, 10, 8000) for _ in range(3)]
    profiles = [profile_column(pd.Series(w)) for w in small + large]
    assert {p.exact for p in profiles} == {True, False}
    grid, _ = merged_cdf(profiles)
    assert len(grid) <= len(profiles) * K  # the kept-whole ones cut to K quantiles
    for shift in (10.0, 10.4, 13.0):
        current = rng.gamma(3, shift, 1000)
        exact = stats.ks_2samp(np.concatenate(small + large), current).statistic
        assert abs(ks_statistic(profiles, current) - exact) <= KS_TOLERANCE


def test_numeric_columns_with_few_distinct_values_keep_exact_counts():
    rng = np.random.default_rng(5)
    few = pd.Series(rng.integers(0, 4, 10_000))
    many = pd.Series(rng.integers(0, COUNTS_LIMIT + 1, 10_000))
    assert {float(k): n for k, n in profile_column(few).counts.items()} == \
        {float(k): int(n) for k, n in few.value_counts().items()}
    assert profile_column(many).counts == {}


@pytest.mark.parametrize("max_points", [50, 500, 2000])
def test_a_recut_window_cdf_stays_within_half_a_step_of_the_merged_one(max_points):
    rng = np.random.default_rng(max_points)
    profiles = [profile_column(pd.Series(np.round(rng.gamma(3, 10, 5000), 1)), exact_limit=0) for _ in range(30)]
    grid, cdf = merged_cdf(profiles)
    cut, cut_cdf = merged_cdf(profiles, max_points)
    assert len(cut) <= max_points and cut_cdf[-1] == pytest.approx(1.0)
    probe = np.union1d(grid, cut)  # both are step functions: compare at every jump of either
    full = np.r_[0.0, cdf][np.searchsorted(grid, probe, side="right")]
    recut = np.r_[0.0, cut_cdf][np.searchsorted(cut, probe, side="right")]
    assert np.abs(full - recut).max() <= 1 / (2 * max_points) + 1e-12
