import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from observability_pipelines.checks.drift import (
    DriftConfig,
    chi2_from_counts,
    detect_drift,
    detect_label_drift,
    jensenshannon_from_counts,
    ks_2samp_sorted,
    psi_from_counts,
    psi_sorted,
    wasserstein_sorted,
)
from observability_pipelines.checks.drift import _ks_stat_direct, _ks_stat_refine, _ks_stat_search


def hand_psi(ref, cur, bins=10, eps=1e-4):
    """Independent PSI: np.quantile edges, np.histogram counts, the formula."""
    edges = np.quantile(ref, np.linspace(0, 1, bins + 1))
    inner = np.unique(edges[1:-1])
    full = np.concatenate([[-np.inf], inner, [np.inf]])
    rc, _ = np.histogram(ref, bins=full)
    cc, _ = np.histogram(cur, bins=full)
    p, q = rc / rc.sum(), cc / cc.sum()
    p = np.where(p == 0, eps, p)
    q = np.where(q == 0, eps, q)
    return np.sum((q - p) * np.log(q / p))


KS_CASES = [
    (5, 7, 0.0, None),
    (30, 40, 0.5, None),
    (100, 100, 0.0, 1),  # ties
    (250, 400, 0.3, 2),
    (1000, 1000, 0.1, None),
    (3000, 9000, 0.05, 1),
    (10000, 10001, 0.0, None),  # asymp (just above scipy's exact limit)
    (20000, 15000, 0.03, None),  # searchsorted refine path
    (60000, 50000, 0.0, 2),  # searchsorted refine path with heavy ties
    (200000, 180000, 0.01, None),
    (230000, 190000, 0.01, 3),  # bracketed refine path (n1 + n2 > _KS_SEARCH_MAX_N), ties
]


@pytest.mark.parametrize("n1,n2,shift,decimals", KS_CASES)
def test_ks_equals_scipy(n1, n2, shift, decimals):
    rng = np.random.default_rng(n1 + n2)
    a = rng.normal(size=n1)
    b = rng.normal(shift, 1.1, size=n2)
    if decimals is not None:
        a, b = np.round(a, decimals), np.round(b, decimals)
    d, p = ks_2samp_sorted(np.sort(a), np.sort(b))
    ref = stats.ks_2samp(a, b)
    np.testing.assert_allclose(d, ref.statistic, rtol=1e-12, atol=0)
    np.testing.assert_allclose(p, ref.pvalue, rtol=1e-9, atol=1e-300)


@pytest.mark.parametrize("seed", range(6))
def test_ks_refine_is_exact(seed):
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(5000, 80000, size=2)
    a = np.sort(rng.standard_t(3, size=n1))
    b = np.sort(rng.standard_t(3, size=n2) * rng.uniform(0.9, 1.1) + rng.uniform(-0.05, 0.05))
    if seed % 2:
        a, b = np.round(a, 1), np.round(b, 1)
    assert _ks_stat_refine(a, b) == _ks_stat_direct(a, b)
    assert _ks_stat_search(a, b) == _ks_stat_direct(a, b)


def test_ks_large_asymptotic_config_matches_scipy_when_disabled():
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"x": rng.normal(size=120_000)})
    cur = pd.DataFrame({"x": rng.normal(0.0, 1.0, size=110_000)})
    exact = detect_drift(ref, cur, DriftConfig(ks_pvalue_asymptotic_above=None)).columns["x"]
    fast = detect_drift(ref, cur).columns["x"]
    sp = stats.ks_2samp(ref["x"], cur["x"])
    np.testing.assert_allclose(exact.ks_pvalue, sp.pvalue, rtol=1e-9)
    assert exact.ks_pvalue_method == "kstwo" and fast.ks_pvalue_method == "kstwobign"
    np.testing.assert_allclose(fast.ks_pvalue, sp.pvalue, rtol=0.05)
    assert fast.ks_stat == exact.ks_stat == sp.statistic


@pytest.mark.parametrize(
    "n1,n2", [(1, 1), (1, 5), (3, 5), (10, 4), (100, 100), (999, 1001), (5000, 7919), (150000, 149999)]
)
def test_wasserstein_equals_scipy(n1, n2):
    rng = np.random.default_rng(n1 * 7 + n2)
    a = rng.exponential(size=n1)
    b = rng.exponential(1.3, size=n2)
    if n1 > 50:
        a[: n1 // 3] = np.round(a[: n1 // 3], 1)  # some ties
    got = wasserstein_sorted(np.sort(a), np.sort(b))
    np.testing.assert_allclose(got, stats.wasserstein_distance(a, b), rtol=1e-11, atol=1e-15)


def test_wasserstein_norm_in_result():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 2, 3000), rng.normal(0.5, 2, 2500)
    r = detect_drift(pd.DataFrame({"x": a}), pd.DataFrame({"x": b})).columns["x"]
    w = stats.wasserstein_distance(a, b)
    np.testing.assert_allclose(r.wasserstein, w, rtol=1e-11)
    np.testing.assert_allclose(r.wasserstein_norm, w / np.std(a), rtol=1e-11)


@pytest.mark.parametrize("bins", [3, 10, 20])
def test_psi_equals_hand_computed(bins):
    rng = np.random.default_rng(bins)
    a = rng.gamma(2.0, size=5000)
    b = rng.gamma(2.3, size=4000) + 0.2
    b = np.concatenate([b, [-5.0, 100.0]])  # outside the reference range
    got = psi_sorted(np.sort(a), np.sort(b), bins=bins)
    np.testing.assert_allclose(got, hand_psi(a, b, bins), rtol=1e-12)
    r = detect_drift(pd.DataFrame({"x": a}), pd.DataFrame({"x": b}), DriftConfig(psi_bins=bins)).columns["x"]
    np.testing.assert_allclose(r.psi, hand_psi(a, b, bins), rtol=1e-12)


def test_psi_sorted_equals_psi_from_counts_bitwise():
    """psi_sorted's inlined arithmetic is psi_from_counts' on the bin counts (the same floats)."""
    from observability_pipelines.checks.drift import _bin_counts_sorted, reference_quantile_edges

    rng = np.random.default_rng(3)
    for n1, n2 in [(1, 1), (7, 1000), (5000, 4000), (20_000, 20_000)]:
        a, b = np.sort(np.round(rng.gamma(2.0, size=n1), 1)), np.sort(rng.gamma(2.3, size=n2) + 0.3)
        for bins in (1, 3, 10):
            edges = reference_quantile_edges(a, bins)
            want = psi_from_counts(_bin_counts_sorted(a, edges), _bin_counts_sorted(b, edges))
            assert psi_sorted(a, b, bins) == want


def test_psi_with_ties_and_empty_bins():
    a = np.array([0.0] * 50 + [1.0] * 30 + list(np.linspace(2, 3, 20)))
    b = np.array([0.0] * 10 + [5.0] * 90)
    got = psi_sorted(np.sort(a), np.sort(b), bins=10)
    np.testing.assert_allclose(got, hand_psi(a, b, 10), rtol=1e-12)


def test_chi2_and_js_equal_scipy():
    rc = np.array([120, 40, 30, 10, 0])
    cc = np.array([100, 60, 20, 15, 7])  # last category unseen in reference
    stat, p = chi2_from_counts(rc, cc)
    ref = stats.chi2_contingency(np.vstack([rc, cc]), correction=False)
    np.testing.assert_allclose([stat, p], [ref.statistic, ref.pvalue], rtol=1e-12)
    # 2x2 with Yates as scipy's default
    stat, p = chi2_from_counts([30, 70], [45, 55], correction=True)
    ref = stats.chi2_contingency(np.array([[30, 70], [45, 55]]))
    np.testing.assert_allclose([stat, p], [ref.statistic, ref.pvalue], rtol=1e-12)
    js = jensenshannon_from_counts(rc, cc)
    np.testing.assert_allclose(js, jensenshannon(rc / rc.sum(), cc / cc.sum(), base=2), rtol=1e-12)
    p_, q_ = rc / rc.sum(), cc / cc.sum()
    p_, q_ = np.where(p_ == 0, 1e-4, p_), np.where(q_ == 0, 1e-4, q_)
    np.testing.assert_allclose(psi_from_counts(rc, cc), np.sum((q_ - p_) * np.log(q_ / p_)), rtol=1e-12)


def test_categorical_column_through_detect_drift_matches_scipy():
    rng = np.random.default_rng(3)
    cats = np.array(["a", "b", "c", "d"], dtype=object)
    ref = pd.DataFrame({"c": cats[rng.choice(4, 800, p=[0.4, 0.3, 0.2, 0.1])]})
    cur_vals = list(cats[rng.choice(4, 700, p=[0.3, 0.3, 0.3, 0.1])]) + ["zz"] * 12
    cur = pd.DataFrame({"c": cur_vals})
    r = detect_drift(ref, cur).columns["c"]
    keys = ["a", "b", "c", "d", "zz"]
    rc = np.array([(ref["c"] == k).sum() for k in keys])
    cc = np.array([(cur["c"] == k).sum() for k in keys])
    sp = stats.chi2_contingency(np.vstack([rc, cc]), correction=False)
    assert r.kind == "categorical" and r.test == "chi2"
    np.testing.assert_allclose([r.chi2_stat, r.chi2_pvalue], [sp.statistic, sp.pvalue], rtol=1e-12)
    np.testing.assert_allclose(r.js_distance, jensenshannon(rc, cc, base=2), rtol=1e-12)
    assert r.n_new_categories == 1 and "1 category unseen" in r.message and "zz" not in r.message
    assert r.drifted and r.status == "drift"
    shown = detect_drift(ref, cur, DriftConfig(show_new_labels=True)).columns["c"]  # opt-in names the label
    assert "unseen in reference: zz" in shown.message and shown.chi2_stat == r.chi2_stat


def _frame(rng, n, shift=0.0):
    return pd.DataFrame(
        {
            "a": rng.normal(shift, 1, n),
            "b": rng.exponential(1 + shift, n),
            "c": rng.choice(["x", "y", "z"], n, p=[0.5 - shift / 2, 0.3, 0.2 + shift / 2]),
            "d": rng.integers(0, 3, n),  # low-cardinality numeric -> categorical
        }
    )


@pytest.mark.parametrize("n", [500, 5000])
def test_detects_shift_and_not_same_distribution(n):
    rng = np.random.default_rng(42)
    ref = _frame(rng, n)
    same = detect_drift(ref, _frame(rng, n))
    assert not same.drifted and same.n_drifted == 0, same.to_dict()
    shifted = detect_drift(ref, _frame(rng, n, shift=0.4))
    assert shifted.drifted
    assert shifted.columns["a"].drifted and shifted.columns["b"].drifted and shifted.columns["c"].drifted
    assert not shifted.columns["d"].drifted
    assert shifted.share_drifted == 0.75


def test_automatic_test_choice():
    rng = np.random.default_rng(1)
    small = detect_drift(_frame(rng, 1000), _frame(rng, 1000)).columns
    assert (small["a"].kind, small["a"].test) == ("numerical", "ks")
    assert (small["c"].kind, small["c"].test) == ("categorical", "chi2")
    assert (small["d"].kind, small["d"].test) == ("categorical", "chi2")
    big = detect_drift(_frame(rng, 1001), _frame(rng, 1000)).columns
    assert big["a"].test == "wasserstein" and big["c"].test == "jensenshannon" and big["d"].test == "jensenshannon"
    # all scores always reported
    for col in ("a", "b"):
        r = big[col]
        assert None not in (r.ks_stat, r.ks_pvalue, r.wasserstein_norm, r.psi)
    for col in ("c", "d"):
        r = big[col]
        assert None not in (r.chi2_stat, r.chi2_pvalue, r.js_distance, r.psi)
    forced = detect_drift(
        _frame(rng, 300), _frame(rng, 300),
        DriftConfig(column_tests={"a": "psi", "b": "wasserstein"}, categorical_columns=["a"], numerical_columns=["d"]),
    ).columns
    assert forced["a"].kind == "categorical" and forced["a"].test == "psi"
    assert forced["b"].test == "wasserstein" and forced["d"].kind == "numerical"


def test_per_column_thresholds_and_drift_share():
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"a": rng.normal(0, 1, 5000), "b": rng.normal(0, 1, 5000)})
    cur = pd.DataFrame({"a": rng.normal(0.15, 1, 5000), "b": rng.normal(0.15, 1, 5000)})
    base = detect_drift(ref, cur)
    wn = base.columns["a"].wasserstein_norm
    assert 0.1 < wn < 0.3 and base.columns["a"].drifted
    cfg = DriftConfig(column_thresholds={"a": 0.5}, drift_share=0.5)
    res = detect_drift(ref, cur, cfg)
    assert not res.columns["a"].drifted and res.columns["a"].threshold == 0.5
    assert res.columns["b"].drifted and res.share_drifted == 0.5 and res.drifted
    res = detect_drift(ref, cur, DriftConfig(column_thresholds={"a": 0.5}, drift_share=0.6))
    assert not res.drifted
    res = detect_drift(ref, cur, DriftConfig(columns=["a"], thresholds={"wasserstein": 0.01}))
    assert list(res.columns) == ["a"] and res.columns["a"].threshold == 0.01
    res = detect_drift(ref, cur, DriftConfig(exclude=["a"]))
    assert list(res.columns) == ["b"]


def test_edge_cases_never_raise():
    rng = np.random.default_rng(9)
    n = 400
    ref = pd.DataFrame(
        {
            "nan": np.where(rng.random(n) < 0.05, np.nan, rng.normal(size=n)),
            "inf": rng.normal(size=n),
            "const": np.full(n, 3.0),
            "const_cont": np.full(n, 3.0),
            "gone": rng.normal(size=n),
            "mismatch": rng.normal(size=n),
            "allnan_cur": rng.normal(size=n),
            "allnan_ref": np.full(n, np.nan),
            "cat": rng.choice(["a", "b"], n),
        }
    )
    inf_cur = rng.normal(size=n)
    inf_cur[:7] = np.inf
    inf_cur[7:9] = -np.inf
    cur = pd.DataFrame(
        {
            "nan": np.where(rng.random(n) < 0.5, np.nan, rng.normal(size=n)),
            "inf": inf_cur,
            "const": np.full(n, 3.0),
            "const_cont": rng.normal(3, 1, n),
            "mismatch": np.array(["s"] * n, dtype=object),
            "allnan_cur": np.full(n, np.nan),
            "allnan_ref": rng.normal(size=n),
            "cat": rng.choice(["a", "b", "c", "d"], n),
            "new": rng.normal(size=n),
        }
    )
    res = detect_drift(ref, cur, DriftConfig(numerical_columns=["const_cont"]))
    c = res.columns
    for r in c.values():
        assert r.status and r.message
    assert c["nan"].null_drift and c["nan"].drifted and "null" in c["nan"].message
    assert c["nan"].null_fraction_ref < 0.1 and c["nan"].null_fraction_cur > 0.4
    assert c["inf"].inf_count_cur == 9 and c["inf"].n_cur == n - 9 and "infinite" in c["inf"].message
    assert c["const"].status == "constant" and not c["const"].drifted
    assert c["const_cont"].kind == "numerical" and c["const_cont"].drifted and "constant" in c["const_cont"].message
    assert c["gone"].status == "missing_column" and c["gone"].drifted
    assert c["mismatch"].status == "type_mismatch" and c["mismatch"].drifted
    assert c["allnan_cur"].status == "empty" and c["allnan_cur"].drifted
    assert c["allnan_ref"].status == "empty" and not c["allnan_ref"].drifted
    assert c["new"].status == "new_column" and not c["new"].drifted
    assert c["cat"].n_new_categories == 2 and c["cat"].drifted
    assert res.n_evaluated == len(c) - 1
    json.dumps(res.to_dict(), allow_nan=False)


def test_empty_partitions():
    ref = pd.DataFrame({"x": np.arange(50.0), "c": ["a", "b"] * 25})
    empty = ref.iloc[:0]
    r = detect_drift(ref, empty)
    assert all(v.status == "empty" and v.drifted for v in r.columns.values())
    assert "current partition is empty" in r.columns["x"].message and r.drifted
    r = detect_drift(empty, ref)
    assert all(v.status == "empty" and not v.drifted for v in r.columns.values())
    r = detect_drift(pd.DataFrame(), pd.DataFrame())
    assert r.columns == {} and not r.drifted
    r = detect_drift(ref.iloc[:3], ref.iloc[:2], DriftConfig(min_sample_size=5))
    assert r.columns["x"].status == "insufficient_data"


def test_to_dict_has_no_raw_values():
    rng = np.random.default_rng(2)
    secret = 123456.789
    ref = pd.DataFrame({"x": np.append(rng.normal(size=99), secret), "k": [secret] * 50 + [1.0] * 50})
    cur = pd.DataFrame({"x": rng.normal(size=100), "k": [secret] * 20 + [1.0] * 70 + [777777.0] * 10})
    d = detect_drift(ref, cur).to_dict()
    text = json.dumps(d, allow_nan=False)
    assert "123456" not in text and "777777" not in text
    assert d["columns"]["k"]["n_new_categories"] == 1


def test_label_drift_binary_and_scores():
    rng = np.random.default_rng(11)
    r = detect_label_drift(rng.binomial(1, 0.3, 800), rng.binomial(1, 0.5, 800))
    assert r.kind == "categorical" and r.test == "chi2" and r.drifted
    r = detect_label_drift(rng.binomial(1, 0.3, 800), rng.binomial(1, 0.3, 800))
    assert not r.drifted
    r = detect_label_drift(rng.random(2000), rng.random(2000) ** 2, name="score")
    assert r.column == "score" and r.kind == "numerical" and r.drifted


def test_category_dtype_and_bool():
    ref = pd.DataFrame({"c": pd.Categorical(["a", "b"] * 100), "b": [True, False] * 100})
    cur = pd.DataFrame({"c": pd.Categorical(["a"] * 150 + ["b"] * 50), "b": [True] * 200})
    r = detect_drift(ref, cur).columns
    assert r["c"].kind == "categorical" and r["c"].drifted
    assert r["b"].kind == "categorical" and r["b"].drifted


# --------------------------------------------------------------------------
# sort-once fast paths: NaN/inf slicing, blocked Wasserstein + std, bracketed
# KS refinement, sort scratch buffers, one-pass categorical counts
# --------------------------------------------------------------------------
from observability_pipelines.checks.drift import (  # noqa: E402
    _bounded_count,
    _finite_sorted,
    _std_sorted,
    _wasserstein_std,
)


def _finite(x):
    x = np.asarray(x, dtype=float)
    return x[np.isfinite(x)]


@pytest.mark.parametrize("seed", range(4))
def test_finite_sorted_slices_nan_and_inf(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    x = rng.normal(size=n)
    kinds = rng.integers(0, 4, size=n)  # 0 keep, 1 NaN, 2 +inf, 3 -inf
    x[kinds == 1] = np.nan
    x[kinds == 2] = np.inf
    x[kinds == 3] = -np.inf
    num = _finite_sorted(np.sort(x))
    np.testing.assert_array_equal(num.sorted, np.sort(_finite(x)))
    assert num.n_rows == n
    assert num.n_null == int((kinds == 1).sum())
    assert num.n_inf == int((kinds >= 2).sum())
    for special_only in ([np.nan] * 3, [np.inf, -np.inf], [-np.inf], [np.inf, np.nan], []):
        num = _finite_sorted(np.sort(np.array(special_only, dtype=float)))
        assert num.sorted.size == 0 and num.n_null + num.n_inf == len(special_only)


@pytest.mark.parametrize("n1,n2", [(60_000, 60_000), (150_000, 140_001), (90_000, 130_000)])
def test_nan_inf_columns_through_detect_drift_match_scipy(n1, n2):
    """Large enough for the refine KS path and several Wasserstein blocks."""
    rng = np.random.default_rng(n1 + n2)
    a = rng.lognormal(0, 0.7, n1)
    b = rng.lognormal(0.05, 0.7, n2)
    a[rng.random(n1) < 0.02] = np.nan
    b[rng.random(n2) < 0.03] = np.nan
    a[:5], b[:3], b[3:7] = np.inf, -np.inf, np.inf
    ref, cur = pd.DataFrame({"x": a}), pd.DataFrame({"x": b})
    ref_copy, cur_copy = ref.copy(), cur.copy()
    r = detect_drift(ref, cur, DriftConfig(ks_pvalue_asymptotic_above=None)).columns["x"]
    fa, fb = _finite(a), _finite(b)
    sp = stats.ks_2samp(fa, fb)
    assert r.ks_stat == sp.statistic
    np.testing.assert_allclose(r.ks_pvalue, sp.pvalue, rtol=1e-9)
    w = stats.wasserstein_distance(fa, fb)
    np.testing.assert_allclose(r.wasserstein, w, rtol=1e-11)
    np.testing.assert_allclose(r.wasserstein_norm, w / np.std(fa), rtol=1e-11)
    np.testing.assert_allclose(r.psi, hand_psi(fa, fb), rtol=1e-12)
    assert (r.n_ref, r.n_cur) == (fa.size, fb.size)
    assert (r.inf_count_ref, r.inf_count_cur) == (5, 7)
    np.testing.assert_allclose(r.null_fraction_ref, np.isnan(a).mean())
    np.testing.assert_allclose(r.null_fraction_cur, np.isnan(b).mean())
    # the sorts happen in scratch buffers: the inputs are untouched
    pd.testing.assert_frame_equal(ref, ref_copy)
    pd.testing.assert_frame_equal(cur, cur_copy)


def test_scratch_buffers_shared_across_columns_give_per_column_results():
    rng = np.random.default_rng(3)
    n = 30_000
    ref = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": np.where(rng.random(n) < 0.1, np.nan, rng.exponential(size=n)),
            "i": rng.integers(0, 1000, n),
            "f": pd.array(np.where(rng.random(n) < 0.05, np.nan, rng.normal(size=n)), dtype="Float64"),
            "k": rng.integers(0, 3, n).astype(float),  # low cardinality -> categorical from the sorted buffer
        }
    )
    cur = pd.DataFrame(
        {
            "a": rng.normal(0.1, 1, n),
            "b": np.where(rng.random(n) < 0.2, np.nan, rng.exponential(1.1, size=n)),
            "i": rng.integers(0, 1100, n),
            "f": pd.array(np.where(rng.random(n) < 0.05, np.nan, rng.normal(0.2, 1, size=n)), dtype="Float64"),
            "k": rng.integers(0, 4, n).astype(float),
        }
    )
    together = detect_drift(ref, cur).to_dict()["columns"]
    for c in ref.columns:
        alone = detect_drift(ref[[c]], cur[[c]]).to_dict()["columns"][c]
        assert together[c] == alone, c
    for c in ("a", "b", "i", "f"):
        fa = _finite(ref[c].to_numpy(dtype=float, na_value=np.nan))
        fb = _finite(cur[c].to_numpy(dtype=float, na_value=np.nan))
        assert together[c]["ks_stat"] == stats.ks_2samp(fa, fb).statistic
        np.testing.assert_allclose(together[c]["wasserstein"], stats.wasserstein_distance(fa, fb), rtol=1e-11)
    assert together["k"]["kind"] == "categorical" and together["k"]["n_new_categories"] == 1


def ks_stat_searchsorted(a: np.ndarray, b: np.ndarray) -> float:
    """Independent KS statistic: scipy's ECDF difference at every value, by binary search."""
    allv = np.concatenate([a, b])
    diff = np.searchsorted(a, allv, side="right") / a.size - np.searchsorted(b, allv, side="right") / b.size
    max_s, min_s = diff.max(), min(max(-diff.min(), 0.0), 1.0)
    return float(min_s if min_s > max_s else max_s)


@pytest.mark.parametrize("seed", range(8))
def test_ks_refine_exact_ties_constant_tiny_and_deep(seed):
    rng = np.random.default_rng(100 + seed)
    n1, n2 = (int(v) for v in rng.integers(1, 40_000, size=2))
    cases = [
        (rng.normal(size=n1), rng.normal(0.01, 1, size=n2)),
        (np.round(rng.normal(size=n1), 1), np.round(rng.normal(size=n2), 1)),  # heavy ties
        (rng.integers(0, 3, n1).astype(float), rng.integers(0, 3, n2).astype(float)),  # 3 values
        (np.full(n1, 2.0), np.where(rng.random(n2) < 0.5, 2.0, rng.normal(size=n2))),  # constant ref
        (np.full(n1, 1.0), np.full(n2, 1.0)),  # identical constants
        (rng.normal(size=3), rng.normal(size=n2)),  # tiny vs large
        (np.where(rng.random(n1) < 0.9, 0.0, rng.normal(size=n1)),  # zero-inflated: a tie block next to
         np.where(rng.random(n2) < 0.8, 0.0, rng.normal(size=n2))),  # every interval end near 0
    ]
    for a, b in cases:
        a, b = np.sort(a), np.sort(b)
        want = _ks_stat_direct(a, b)
        assert want == ks_stat_searchsorted(a, b)
        # tiny grids force deep refinement; window_max 0: refine down to single points, no window merge
        for grid, k, wmax in [(256, 8, 0), (2, 2, 0), (16, 3, 0), (1024, 16, 0), (1024, 8, 1 << 13), (2, 2, 64),
                              (16, 3, 1 << 40)]:
            assert _ks_stat_refine(a, b, grid, k, wmax) == want
            assert _ks_stat_refine(b, a, grid, k, wmax) == _ks_stat_direct(b, a)
        # the searchsorted variant, the same way (default, deep refinement, window merges of every size)
        for grid, k, wmax in [(512, 8, 1 << 13), (2, 2, 0), (16, 3, 0), (256, 8, 0), (3, 2, 64), (16, 3, 1 << 40)]:
            assert _ks_stat_search(a, b, grid, k, wmax) == want
            assert _ks_stat_search(b, a, grid, k, wmax) == _ks_stat_direct(b, a)


def test_ks_2samp_sorted_refine_path_with_ties_matches_scipy():
    rng = np.random.default_rng(8)
    a = np.round(rng.standard_t(4, 70_000), 2)
    b = np.round(rng.standard_t(4, 45_000) + 0.01, 2)
    d, p = ks_2samp_sorted(np.sort(a), np.sort(b))
    sp = stats.ks_2samp(a, b)
    assert d == sp.statistic
    np.testing.assert_allclose(p, sp.pvalue, rtol=1e-9)


def test_ks_asymptotic_pvalue_is_kstwobign():
    rng = np.random.default_rng(12)
    ref = pd.DataFrame({"x": rng.normal(size=200_000)})
    cur = pd.DataFrame({"x": rng.normal(0.005, 1, size=180_000)})
    r = detect_drift(ref, cur).columns["x"]
    en = 200_000 * 180_000 / 380_000
    assert r.ks_pvalue_method == "kstwobign"
    np.testing.assert_allclose(r.ks_pvalue, stats.kstwobign.sf(r.ks_stat * np.sqrt(en)), rtol=1e-14)


@pytest.mark.parametrize("strict", [False, True])
def test_bounded_count_equals_searchsorted(strict):
    rng = np.random.default_rng(int(strict))
    side = "left" if strict else "right"
    arrays = (np.sort(rng.normal(size=5000)), np.sort(np.round(rng.normal(size=5000), 1)), np.full(7, 3.0), np.array([1.0]))
    for s in arrays:
        x = np.concatenate([rng.choice(s, 200), rng.normal(size=200), [s.min() - 1, s.max() + 1, s.min(), s.max()]])
        want = np.searchsorted(s, x, side=side)
        # valid brackets of various widths, including lo == hi and hi == n
        lo = np.maximum(want - rng.integers(0, 50, want.size), 0)
        hi = np.minimum(want + rng.integers(0, 50, want.size), s.size)
        np.testing.assert_array_equal(_bounded_count(s, x, lo, hi, strict), want)
        full = _bounded_count(s, x, np.zeros_like(want), np.full_like(want, s.size), strict)
        np.testing.assert_array_equal(full, want)
        np.testing.assert_array_equal(_bounded_count(s, x, want.copy(), want.copy(), strict), want)


@pytest.mark.parametrize(
    "n1,n2",
    [(1, 2), (2, 1), (1, 70_000), (70_000, 1), (7, 21), (50_000, 100_000), (100_001, 100_000), (99_999, 100_000),
     (33_000, 32_768), (200_000, 200_000)],
)
def test_wasserstein_and_std_blocked_paths_match_scipy_numpy(n1, n2):
    rng = np.random.default_rng(n1 * 3 + n2)
    a = rng.gamma(2.0, size=n1)
    b = rng.gamma(2.2, size=n2) + 0.1
    a[: n1 // 4] = np.round(a[: n1 // 4], 1)  # ties
    sa, sb = np.sort(a), np.sort(b)
    want = stats.wasserstein_distance(a, b)
    np.testing.assert_allclose(wasserstein_sorted(sa, sb), want, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(wasserstein_sorted(sb, sa), want, rtol=1e-11, atol=1e-15)
    w, sd = _wasserstein_std(sa, sb, with_std=True)
    np.testing.assert_allclose(w, want, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(sd, np.std(a), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(_wasserstein_std(sb, sa, with_std=True)[1], np.std(b), rtol=1e-12)


def test_std_blocked_large_offset_and_constant():
    rng = np.random.default_rng(4)
    x = np.sort(1e9 + rng.normal(size=100_003))
    np.testing.assert_allclose(_std_sorted(x), np.std(x), rtol=1e-9)
    assert _std_sorted(np.full(40_000, 5.5)) == 0.0
    np.testing.assert_allclose(_wasserstein_std(np.full(5, 1.0), np.arange(5.0), True), (1.4, 0.0))  # (1+0+1+2+3)/5


def test_wasserstein_rejects_empty():
    with pytest.raises(ValueError):
        wasserstein_sorted(np.array([]), np.array([1.0]))


def test_constant_and_empty_current_columns():
    ref = pd.DataFrame({"x": np.full(50_000, 2.0), "y": np.arange(50_000.0)})
    cur = pd.DataFrame({"x": np.full(40_000, 2.0), "y": np.full(40_000, np.inf)})
    r = detect_drift(ref, cur, DriftConfig(numerical_columns=["x"])).columns
    assert r["x"].ks_stat == 0.0 and r["x"].wasserstein == 0.0 and r["x"].status == "constant"
    assert r["y"].status == "empty" and r["y"].inf_count_cur == 40_000 and r["y"].drifted
    r = detect_drift(ref, ref.iloc[:0]).columns
    assert all(v.status == "empty" for v in r.values())


def test_categorical_counts_with_missing_values():
    rng = np.random.default_rng(6)
    n = 5000
    ref_vals = rng.choice(np.array(["a", "b", "c", None], dtype=object), n, p=[0.5, 0.3, 0.1, 0.1])
    cur_vals = rng.choice(np.array(["a", "b", "c", "d", None], dtype=object), n, p=[0.4, 0.3, 0.1, 0.05, 0.15])
    for dtype in (object, "str"):
        ref = pd.DataFrame({"c": pd.Series(ref_vals, dtype=dtype)})
        cur = pd.DataFrame({"c": pd.Series(cur_vals, dtype=dtype)})
        r = detect_drift(ref, cur).columns["c"]
        labels = ["a", "b", "c", "d"]
        rc = np.array([(ref_vals == v).sum() for v in labels])
        cc = np.array([(cur_vals == v).sum() for v in labels])
        sp = stats.chi2_contingency(np.vstack([rc[rc + cc > 0], cc[rc + cc > 0]]), correction=False)
        np.testing.assert_allclose([r.chi2_stat, r.chi2_pvalue], [sp.statistic, sp.pvalue], rtol=1e-12)
        np.testing.assert_allclose(r.null_fraction_ref, (ref_vals == None).mean())  # noqa: E711
        np.testing.assert_allclose(r.null_fraction_cur, (cur_vals == None).mean())  # noqa: E711
        assert (r.n_ref, r.n_cur) == (int(rc.sum()), int(cc.sum())) and r.n_new_categories == 1


@pytest.mark.parametrize(
    "a,b",
    [
        ([0.0], [-0.0]),  # signed zeros are one value
        ([1.0], [2.0]),
        ([3.0] * 50, [3.0] * 7),  # both constant, equal
        ([-0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 2.0]),
        ([1.0, 2.0, 2.0, 2.0, 5.0], [2.0, 2.0, 3.0]),  # ties across the samples
    ],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # scipy's asymptotic p-value of one-value samples
def test_ks_stat_merge_equals_scipy_on_tiny_and_tied_samples(a, b):
    a, b = np.sort(np.array(a)), np.sort(np.array(b))
    for x, y in ((a, b), (b, a)):
        d = _ks_stat_direct(x, y)
        assert d == pytest.approx(stats.ks_2samp(x, y, method="asymp").statistic, rel=1e-15, abs=0)
        assert ks_2samp_sorted(x, y)[0] == stats.ks_2samp(x, y).statistic  # exact branch: rounded to h / lcm


def test_arrow_string_counts_equal_factorize_counts():
    """Arrow-backed strings are counted by pyarrow's value_counts: the same labels (first-appearance
    order), counts and missing count as pd.factorize of the same values as objects; multi-chunk too."""
    import pyarrow as pa

    from observability_pipelines.checks.drift import _prep_categorical

    rng = np.random.default_rng(21)
    labels = np.array(["b", "a", "", "ä", "c c", None], dtype=object)
    cases = [rng.choice(labels, 5000), rng.choice(labels[:3], 700), np.array([None, None], dtype=object),
             np.array([], dtype=object), np.array(["x"], dtype=object)]
    for vals in cases:
        want = _prep_categorical(pd.Series(vals, dtype=object))
        chunked = pa.chunked_array([pa.array(vals[: len(vals) // 3], pa.string()), pa.array(vals[len(vals) // 3 :], pa.string())])
        arrow = [pd.Series(vals, dtype="string[pyarrow]"), pd.Series(pd.array(chunked, dtype="string[pyarrow]"))]
        default = pd.Series(vals, dtype="str")  # Arrow-backed from pandas 3 on; object in pandas 2.2
        for s in arrow + ([default] if isinstance(default.array, pd.arrays.ArrowStringArray) else []):
            assert isinstance(s.array, pd.arrays.ArrowStringArray)
            got = _prep_categorical(s)
            assert got.labels == want.labels and all(type(v) is str for v in got.labels)
            np.testing.assert_array_equal(got.counts, want.counts)
            assert got.counts.dtype == np.int64 and (got.n_rows, got.n_null) == (want.n_rows, want.n_null)


# --------------------------------------------------------------------------
# KS search kernel: own-index counts, one-search cross counts, point-wise last step
# --------------------------------------------------------------------------
def _count_cases(rng):
    return [
        np.sort(rng.normal(size=3000)),
        np.sort(np.round(rng.normal(size=3000), 1)),  # heavy ties
        np.sort(np.where(rng.random(3000) < 0.7, 0.0, rng.exponential(size=3000))),  # zero-inflated
        np.full(9, -2.5),  # constant
        np.array([4.0]),
        np.array([-0.0, 0.0, 0.0, 1.0]),  # signed zeros are one value
        np.array([1.0, 1.0, 2.0, 3.0, 3.0]),  # ties at both ends
    ]


def test_ks_cross_counts_equal_searchsorted():
    from observability_pipelines.checks.drift import _counts_lr

    rng = np.random.default_rng(31)
    for s in _count_cases(rng):
        x = np.sort(np.concatenate([rng.choice(s, 300), rng.normal(size=300), [s[0], s[-1], s[0] - 1, s[-1] + 1]]))
        left, right = _counts_lr(s, x)
        np.testing.assert_array_equal(left, np.searchsorted(s, x, "left"))
        np.testing.assert_array_equal(right, np.searchsorted(s, x, "right"))


def test_ks_own_index_counts_equal_searchsorted():
    from observability_pipelines.checks.drift import _counts_at_own

    rng = np.random.default_rng(32)
    for s in _count_cases(rng):
        idx = np.unique(np.concatenate([rng.integers(0, s.size, 200), [0, s.size - 1]]))
        left, right = _counts_at_own(s, idx, s[idx])
        np.testing.assert_array_equal(left, np.searchsorted(s, s[idx], "left"))
        np.testing.assert_array_equal(right, np.searchsorted(s, s[idx], "right"))
        left, right = _counts_at_own(s, np.repeat(idx, 3), s[np.repeat(idx, 3)])  # repeated points
        np.testing.assert_array_equal(right, np.searchsorted(s, s[np.repeat(idx, 3)], "right"))


def _ks_search_cases(rng, n1, n2):
    a = rng.normal(size=n1)
    return [
        (a, rng.normal(0.02, 1, size=n2)),
        (np.round(a, 1), np.round(rng.normal(size=n2), 1)),  # ties within and across the samples
        (np.where(rng.random(n1) < 0.6, 0.0, a), np.where(rng.random(n2) < 0.5, 0.0, rng.normal(size=n2))),
        (np.full(n1, 3.0), np.r_[np.full(n2 - 2, 3.0), [2.0, 4.0]]),  # constant vs nearly constant
        (a, a[: min(n1, n2)] if n2 <= n1 else np.r_[a, a[: n2 - n1]]),  # shared values: ties across samples
        (a, rng.normal(size=4)),  # large vs tiny
        (np.exp(rng.normal(size=n1) * 5), np.exp(rng.normal(0.1, 5, size=n2))),  # wide dynamic range
    ]


@pytest.mark.parametrize("n1,n2", [(7000, 7001), (10_000, 10_000), (60_000, 45_000), (150_000, 149_000)])
def test_ks_search_kernel_equals_scipy_statistic(n1, n2):
    """The searchsorted kernel (default parameters, the detect_drift path between the merge and the
    bracketed refine thresholds) gives exactly scipy's statistic on varied inputs, both argument orders."""
    from observability_pipelines.checks.drift import _KS_MERGE_MAX_N, _KS_SEARCH_MAX_N, _ks_stat

    assert _KS_MERGE_MAX_N < n1 + n2 <= _KS_SEARCH_MAX_N
    rng = np.random.default_rng(n1 + 3 * n2)
    for a, b in _ks_search_cases(rng, n1, n2):
        a, b = np.sort(a), np.sort(b)
        # method='asymp': scipy's raw max of c1/n1 - c2/n2 ('exact' rounds it to h / lcm(n1, n2))
        want = stats.ks_2samp(a, b, method="asymp").statistic
        assert _ks_stat(a, b) == _ks_stat_search(a, b) == _ks_stat_direct(a, b) == want
        assert _ks_stat_search(b, a) == stats.ks_2samp(b, a, method="asymp").statistic


def test_ks_merge_threshold_boundary_both_paths_agree():
    from observability_pipelines.checks.drift import _KS_MERGE_MAX_N

    rng = np.random.default_rng(33)
    for n1 in (_KS_MERGE_MAX_N // 2, _KS_MERGE_MAX_N // 2 + 1):
        for a, b in _ks_search_cases(rng, n1, _KS_MERGE_MAX_N - n1):
            a, b = np.sort(a), np.sort(b)
            assert _ks_stat_search(a, b) == _ks_stat_direct(a, b) == stats.ks_2samp(a, b, method="asymp").statistic


def test_grid_indices_are_cached_read_only():
    from observability_pipelines.checks.drift import _grid_indices

    g = _grid_indices(100_000, 512)
    assert g is _grid_indices(100_000, 512) and not g.flags.writeable
    assert g[0] == 0 and g[-1] == 99_999 and np.all(np.diff(g) > 0)
    np.testing.assert_array_equal(_grid_indices(5, 512), np.arange(5))


def test_reference_quantile_edges_bitwise_equal_numpy_quantile():
    """The inner PSI edges are np.quantile's ('linear') read from the sorted reference, de-duplicated: the same floats."""
    from observability_pipelines.checks.drift import reference_quantile_edges

    rng = np.random.default_rng(34)
    samples = [rng.normal(size=n) for n in (1, 2, 3, 9, 10, 11, 1001, 50_000)]
    samples += [np.round(rng.gamma(2.0, size=5000), 1), np.where(rng.random(4000) < 0.7, 0.0, rng.normal(size=4000)),
                np.full(100, 7.25), np.array([-0.0, 0.0, 0.0, 1.0]), rng.normal(size=999) * 1e300]
    for x in samples:
        s = np.sort(x)
        for bins in (1, 2, 3, 10, 20):
            want = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1))[1:-1])
            got = reference_quantile_edges(s, bins)
            assert got.tobytes() == want.tobytes(), (x.size, bins)


def test_ks_own_right_counts_equal_searchsorted():
    from observability_pipelines.checks.drift import _right_counts_at_own

    rng = np.random.default_rng(35)
    for s in _count_cases(rng):
        idx = np.concatenate([rng.integers(0, s.size, 200), [0, s.size - 1]])
        np.testing.assert_array_equal(_right_counts_at_own(s, idx, s[idx]), np.searchsorted(s, s[idx], "right"))
