"""The plain-float Pelz-Good series against scipy's ``kstwo`` (public) and its private routine (same series)."""

import numpy as np
import pytest
from scipy import stats

from observability_pipelines.checks.kolmogorov import pelz_good_cdf

SIZES = [141, 500, 7_001, 10_001, 30_000, 49_999, 123_457, 1_000_000]


def _points(n: int, rng: np.random.Generator) -> np.ndarray:
    """Where scipy's kstwo itself uses Pelz-Good: n > 140, n x**2 < 2.2, and n > 100,000 or n x**1.5 > 1.4
    (below, scipy's exact DMTW recursion: Pelz-Good stands in for it there in the drift check)."""
    low = 1.0 / n if n > 100_000 else (1.4 / n) ** (2.0 / 3.0)
    return rng.uniform(low, np.sqrt(2.2 / n), 60)


@pytest.mark.parametrize("n", SIZES)
def test_equals_scipys_kstwo_cdf_and_survival(n):
    rng = np.random.default_rng(n)
    for x in _points(n, rng):
        cdf = pelz_good_cdf(n, float(x))
        assert cdf == pytest.approx(stats.kstwo.cdf(x, n), rel=1e-12, abs=1e-15)
        assert 1.0 - cdf == pytest.approx(stats.kstwo.sf(x, n), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("n", SIZES)
def test_equals_scipys_pelz_good_routine_within_ulps(n):
    pelz_good = pytest.importorskip("scipy.stats._ksstats")._kolmogn_PelzGood  # scipy private: may move
    rng = np.random.default_rng(n + 1)
    xs = np.concatenate([_points(n, rng), rng.uniform(1e-4 / np.sqrt(n), 4.0 / np.sqrt(n), 60)])
    for x in xs:
        assert abs(pelz_good_cdf(n, float(x)) - float(pelz_good(n, x))) <= 4e-16


def test_edges():
    assert pelz_good_cdf(1000, 0.0) == 0.0
    assert pelz_good_cdf(1000, -0.5) == 0.0
    assert pelz_good_cdf(1000, 1.0) == 1.0
    assert pelz_good_cdf(1000, 1e-5) == 0.0  # exp(-pi**2 / (8 z**2)) underflows, as scipy's
