"""The large-frame metrics path (distinct estimates, one read of each column) gives exactly what the previous
implementation gave. The previous code is kept here, verbatim in substance, as the reference: the KMV
estimate by partitioning whole windows, splitmix64 on whole arrays, and the per-column metrics reading
each column twice."""

import numpy as np
import pandas as pd
import pytest

from lineage.emission import facets as fc
from lineage.emission import privacy

# numpy warns when a tz-aware column's Timestamps become datetime64 (the distinct keys, both paths, as before)
pytestmark = pytest.mark.filterwarnings("ignore:no explicit representation of timezones:UserWarning")


# --------------------------------------------------------------------------- the previous implementation
def _reference_mix64(bits: np.ndarray) -> np.ndarray:
    x = bits.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _reference_kmv(hashes: np.ndarray) -> int:
    m = 8 * fc.KMV_K
    while True:
        if m >= len(hashes):
            return int(len(pd.unique(hashes)))
        smallest = np.sort(pd.unique(np.partition(hashes, m - 1)[:m]))
        if len(smallest) >= fc.KMV_K:
            break
        m *= 8
    kth = float(smallest[fc.KMV_K - 1])
    return int(round((fc.KMV_K - 1) / ((kth + 1.0) / 2.0**64)))


def _reference_distinct(series: pd.Series, rows: int) -> int | None:
    if rows <= fc.EXACT_DISTINCT_MAX_ROWS:
        return int(series.nunique(dropna=True))
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return int(series.nunique(dropna=True))
    if pd.api.types.is_bool_dtype(dtype):
        return int(series.dropna().astype(bool).nunique())
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_datetime64_any_dtype(dtype):
        if pd.api.types.is_datetime64_any_dtype(dtype):
            values = series.dropna().to_numpy().astype("datetime64[ns]").view(np.int64)
        else:
            values = series.to_numpy(dtype="float64", na_value=np.nan)
            values = values[~np.isnan(values)]
            values = np.where(values == 0.0, 0.0, values).view(np.int64)
        return _reference_kmv(_reference_mix64(values)) if len(values) else 0
    return None


def _reference_column_metrics(frame: pd.DataFrame, *, numeric_aggregates=True, seed=0, private_columns=(),
                              digits=privacy.DIGITS):
    """Per column, as before (the block path for small all-float frames is tested in test_metrics_block)."""
    rows = len(frame)
    nulls = frame.isna().sum().to_numpy() if rows else np.zeros(frame.shape[1], dtype=int)
    rng = np.random.default_rng(seed)
    out = {}
    for position, name in enumerate(frame.columns):
        series = frame.iloc[:, position]
        null_count = int(nulls[position])
        metrics = fc.ColumnMetrics(nullCount=null_count, distinctCount=_reference_distinct(series, rows) if rows else 0,
                                   count=float(rows - null_count), quantiles=None)
        values = fc._numeric_values(series) if fc._aggregated(name, numeric_aggregates, set(private_columns)) else None
        if values is not None and rows - null_count > 0:
            present = values[~np.isnan(values)] if null_count else values
            finite = present[np.isfinite(present)]
            if len(finite) >= privacy.MIN_VALUES:
                metrics.sum = privacy.coarsen(float(finite.sum()), digits)
                metrics.min = privacy.coarsen(float(finite.min()), digits)
                metrics.max = privacy.coarsen(float(finite.max()), digits)
                sample = finite if len(finite) <= fc.QUANTILE_SAMPLE else finite[
                    rng.integers(0, len(finite), fc.QUANTILE_SAMPLE)]
                metrics.quantiles = {f"{q:g}": privacy.coarsen(float(v), digits)
                                     for q, v in zip(fc.QUANTILES, np.quantile(sample, fc.QUANTILES), strict=True)}
        out[str(name)] = metrics
    return rows, out


# --------------------------------------------------------------------------- cases
def _hash_cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    k = fc.KMV_K
    return {
        "all distinct": _reference_mix64(np.arange(300_000, dtype=np.uint64)),
        "few distinct": _reference_mix64(rng.integers(0, 60, 200_000).astype(np.uint64)),
        "just under K": _reference_mix64(rng.integers(0, k - 1, 100_000).astype(np.uint64)),
        "exactly K": _reference_mix64(np.arange(100_000, dtype=np.uint64) % k),
        "just over K": _reference_mix64(np.arange(100_000, dtype=np.uint64) % (k + 1)),
        "12x duplicates": _reference_mix64(rng.integers(0, 90_000, 1_000_000).astype(np.uint64)),
        "heavy hitters": _reference_mix64(np.concatenate([np.zeros(250_000, np.uint64),
                                                          rng.integers(1, 10**9, 60_000).astype(np.uint64)])),
        "8K + 1 values": _reference_mix64(np.arange(8 * k + 1, dtype=np.uint64)),
        "8K values": _reference_mix64(np.arange(8 * k, dtype=np.uint64)),
        "skewed (zipf)": _reference_mix64(rng.zipf(1.3, 400_000).astype(np.uint64)),
    }


@pytest.mark.parametrize("case", list(_hash_cases()))
def test_kmv_equals_the_previous_estimate(case):
    hashes = _hash_cases()[case]
    assert fc._kmv(hashes.copy()) == _reference_kmv(hashes.copy())


@pytest.mark.parametrize("n", [0, 1, 7, fc.MIX_CHUNK - 1, fc.MIX_CHUNK, fc.MIX_CHUNK + 1, 3 * fc.MIX_CHUNK + 5])
def test_chunked_mix64_equals_splitmix64(n):
    bits = np.random.default_rng(n).integers(-(2**63), 2**63 - 1, n, dtype=np.int64)
    assert np.array_equal(fc._mix64(bits), _reference_mix64(bits))


# Thresholds scaled down (both paths read them at call time) so that the estimate path, the quantile
# sample and the fingerprint all run on a frame of ROWS rows, above the estimate's first window (8K).
THRESHOLDS = {"EXACT_DISTINCT_MAX_ROWS": 20_000, "QUANTILE_SAMPLE": 5_000, "FULL_HASH_MAX_ROWS": 20_000,
              "FINGERPRINT_SAMPLE": 2_000}
ROWS = 60_001


@pytest.fixture(autouse=True)
def _small_thresholds(monkeypatch):
    for name, value in THRESHOLDS.items():
        monkeypatch.setattr(fc, name, value)


def _large_frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = ROWS
    frame = pd.DataFrame({
        "amount": rng.lognormal(3, 1, n),
        "income": np.where(rng.random(n) < 0.02, np.nan, rng.normal(50_000, 15_000, n)),
        "zeros": np.where(rng.random(n) < 0.5, 0.0, -0.0),
        "with_inf": np.where(rng.random(n) < 0.01, np.inf, rng.normal(size=n)),
        "rounded": np.round(rng.normal(size=n), 1),
        "age": rng.integers(18, 80, n),
        "wide_ints": rng.integers(0, 10**12, n),
        "big_ints": rng.integers(2**60, 2**60 + 1000, n),  # beyond float64's exact integers
        "nullable": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(-5, 3000, n)), dtype="Int64"),
        "uint": rng.integers(0, 7, n).astype(np.uint8),
        "flag": rng.random(n) < 0.3,
        "ts": pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s"),
        "ts_us": (pd.Timestamp("2026-03-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="ms")).as_unit("us"),
        "ts_nat": pd.Series(pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 5000, n), unit="D")).where(
            rng.random(n) > 0.2),
        "ts_tz": (pd.Timestamp("2026-03-01", tz="Europe/Paris")
                  + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")),
        "category": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        "text": rng.choice(["north", "south"], n).astype(object),
        "customer_id": rng.integers(0, 10**9, n),  # identifier-like: counts only
    })
    frame.loc[0, "amount"] = -0.0
    return frame


@pytest.fixture(scope="module")
def large_frame() -> pd.DataFrame:
    return _large_frame(11)


@pytest.mark.parametrize("options", [{}, {"digits": None}, {"numeric_aggregates": False}, {"private_columns": ["age"]}])
def test_large_frame_metrics_equal_the_previous_path(large_frame, options):
    ours = fc.column_metrics(large_frame, **options)
    reference = _reference_column_metrics(large_frame, **options)
    assert ours[0] == reference[0] and list(ours[1]) == list(reference[1])
    for name in reference[1]:
        assert vars(ours[1][name]) == vars(reference[1][name]), name


def test_every_column_kind_takes_its_path(large_frame):
    """The shortcuts are actually taken (else the equality above would prove little)."""
    present = fc._present(fc._numeric_values(large_frame["age"]))
    assert fc._few_integers(large_frame["age"].dtype, present) == large_frame["age"].nunique()
    assert fc._few_integers(large_frame["wide_ints"].dtype, fc._present(fc._numeric_values(large_frame["wide_ints"]))) is None
    assert fc._few_integers(large_frame["big_ints"].dtype, fc._present(fc._numeric_values(large_frame["big_ints"]))) is None
    assert fc._few_integers(large_frame["rounded"].dtype, fc._present(fc._numeric_values(large_frame["rounded"]))) is None
    keys = fc._datetime_keys(large_frame["ts_nat"])
    assert len(keys) == large_frame["ts_nat"].notna().sum() and fc._NAT not in keys


def test_content_hash_is_unchanged(large_frame):
    """The version string of a large frame (fingerprint path) and of a small one did not change."""
    import hashlib
    import hmac

    key = b"k" * 32
    frame = large_frame.drop(columns=["ts_tz"])
    digest = hmac.new(key, digestmod=hashlib.sha256)
    digest.update("|".join(f"{c}:{t}" for c, t in frame.dtypes.items()).encode())
    digest.update(str(len(frame)).encode())
    step = max(1, len(frame) // fc.FINGERPRINT_SAMPLE)
    digest.update(pd.util.hash_pandas_object(frame.iloc[::step], index=False).to_numpy().tobytes())
    digest.update(frame.isna().sum().to_numpy().tobytes())
    numeric = frame.select_dtypes(include="number")
    digest.update(numeric.sum(skipna=True).to_numpy(dtype="float64", na_value=np.nan).tobytes())
    assert fc.content_hash(frame, key=key) == "fp-" + digest.hexdigest()[:29]


def test_shared_null_counts_change_nothing(large_frame):
    """The observer counts nulls once for the metrics and the fingerprint of its output: the same results."""
    nulls = fc.null_counts(large_frame)
    assert np.array_equal(nulls, large_frame.isna().sum().to_numpy()) and nulls.dtype == np.int64
    assert fc.content_hash(large_frame, b"k", nulls=nulls) == fc.content_hash(large_frame, b"k")
    shared, own = fc.column_metrics(large_frame, nulls=nulls), fc.column_metrics(large_frame)
    assert shared[0] == own[0] and {k: vars(v) for k, v in shared[1].items()} == {k: vars(v) for k, v in own[1].items()}
    empty = large_frame.iloc[:0]
    assert np.array_equal(fc.null_counts(empty), np.zeros(large_frame.shape[1], dtype=np.int64))


@pytest.mark.parametrize("keys", [
    np.arange(8 * fc.KMV_K + 1), np.arange(3 * fc.MIX_CHUNK + 5) * 7919, np.random.default_rng(3).integers(0, 50, 90_000),
    np.random.default_rng(4).zipf(1.3, 400_000), np.random.default_rng(5).integers(-(2**63), 2**63 - 1, 300_000),
    np.repeat(np.arange(5_000), 40),  # duplicates crowd the first try: the estimate looks again among all hashes
], ids=["8K + 1", "3 chunks + 5", "few distinct", "zipf", "random", "5K x 40"])
def test_hashes_selected_while_mixed_give_the_previous_estimate(keys):
    bits = keys.astype(np.int64).view(np.uint64)
    assert fc._kmv_of_keys(bits.copy()) == _reference_kmv(_reference_mix64(bits))
    threshold = fc._first_threshold(len(bits))
    mixed = bits.copy()
    assert np.array_equal(fc._mix64_below(mixed, threshold), _reference_mix64(bits)[_reference_mix64(bits) < threshold])
    assert np.array_equal(mixed, _reference_mix64(bits))


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize("shape", ["no NaT", "NaT", "all NaT", "beyond the ns range", "empty"])
def test_datetime_keys_equal_the_unit_cast(unit, shape):
    """Keys by one integer product give what numpy's cast to datetime64[ns] gave (and a new array)."""
    rng = np.random.default_rng(7)
    ints = rng.integers(-(10**9), 10**9, 5_000) * {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    if shape == "NaT":
        ints[::7] = np.iinfo(np.int64).min
    elif shape == "all NaT":
        ints[:] = np.iinfo(np.int64).min
    elif shape == "beyond the ns range" and unit != "ns":
        ints[3] = (2**63 - 1) // {"s": 10**9, "ms": 10**6, "us": 10**3}[unit] + 1  # year ~2262 + 1 unit
    elif shape == "empty":
        ints = ints[:0]
    values = ints.view(f"datetime64[{unit}]")
    series = pd.Series(values)
    reference = values.astype("datetime64[ns]").view(np.int64)
    reference = reference[reference != np.iinfo(np.int64).min]
    keys = fc._datetime_keys(series)
    assert keys.dtype == np.int64 and np.array_equal(keys, reference)
    assert not np.shares_memory(keys, values)


@pytest.mark.parametrize("values", [
    np.arange(18, 80).repeat(1000), np.array([-(2**40), -(2**40) + 5, -(2**40) + 7]), np.array([0]),
    np.random.default_rng(8).integers(-500_000, 500_000, 300_000), np.array([2**52, 2**52 - 3]),
    np.random.default_rng(9).integers(0, 5_000, 100_000), np.array([-7, 7, 0, 0, -7]),
], ids=["ages", "large negative", "one", "wide range", "near 2**53", "over K distinct", "signed"])
def test_few_integers_from_the_columns_own_ints(values):
    """Offsets taken from the int64 values give the bincount the float offsets gave."""
    ints = values.astype(np.int64)
    present = ints.astype(np.float64)
    assert fc._few_integers(ints.dtype, present, ints) == fc._few_integers(ints.dtype, present)
