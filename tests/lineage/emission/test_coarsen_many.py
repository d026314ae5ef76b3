"""``privacy.coarsen_many`` (the vectorised rounding of a frame's aggregates) gives, bit for bit, what
``privacy.coarsen`` gives one value at a time: on values of every magnitude, random bit patterns, exact
decimal ties, values next to powers of ten, non-finite values and signed zeros, at every precision."""

import numpy as np
import pytest

from lineage.emission import privacy


def _values() -> np.ndarray:
    rng = np.random.default_rng(18)
    bits = rng.integers(0, 2**63, 40_000, dtype=np.uint64).view(np.float64)  # every exponent, subnormals, NaNs
    near_powers = np.array([10.0**k for k in range(-25, 26)])
    return np.concatenate([
        rng.normal(size=40_000) * 10.0 ** rng.integers(-30, 31, 40_000),
        rng.lognormal(3, 1, 5_000), np.round(rng.normal(size=5_000), 3),
        np.arange(-4_000, 4_000) / 8,  # binary fractions: many exact ties at 1-3 digits
        np.arange(-20_000, 20_000) * 5.0,  # integer ties (125 -> 120 at 2 digits, half to even)
        bits, -bits,
        near_powers, np.nextafter(near_powers, 0), np.nextafter(near_powers, np.inf),
        [2.675, 0.125, 999.5, 9995.0, 99.95, 1e22, 1e23, 1e-22, 5e-324, 1.7976931348623157e308, 2.0**53 + 2,
         -0.0, 0.0, np.inf, -np.inf, np.nan, 12345678901234567.0],
    ])


def _same_bits(a: list[float], b: list[float]) -> bool:
    x, y = np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)
    return bool(np.all((x.view(np.int64) == y.view(np.int64)) | (np.isnan(x) & np.isnan(y))))


@pytest.mark.parametrize("digits", [None, 0, 1, 2, 3, 4, 5, 7, 10, 15, 16, 17])
def test_coarsen_many_equals_coarsen_bit_for_bit(digits):
    values = _values()
    expected = [privacy.coarsen(float(v), digits) for v in values]
    got = privacy.coarsen_many(values, digits)
    assert len(got) == len(expected) and all(type(v) is float for v in got)
    assert _same_bits(got, expected)


def test_coarsen_many_takes_lists_and_empty_input():
    assert privacy.coarsen_many([]) == []
    assert _same_bits(privacy.coarsen_many([264_731.31, -0.0, 7]), [265_000.0, -0.0, 7.0])
    assert privacy.coarsen_many(np.ones((2, 3)), 3) == [1.0] * 6
