"""Drift of a new partition against a window known only by its stored profiles: no earlier partition is read.

Numeric columns of small partitions (every value kept, ``EXACT_LIMIT``) are rebuilt and go through
``detect_drift`` unchanged while the window holds at most ``WINDOW_EXACT_LIMIT`` values (beyond, they are
sketched like large partitions); categorical and low-cardinality numeric columns are compared on their exact
counts with ``detect_drift``'s own count kernels and wording (labels compared as text): both equal the exact test.
Numeric columns with sketched partitions get their scores from the merged step CDF of the window: the KS
statistic within ``KS_TOLERANCE`` of the exact one and its p-value from the same function ``detect_drift``
uses, so a decision can only differ when the exact statistic lies within that band of the critical value;
Wasserstein and PSI come from the same CDF (reported, approximate). ``None`` means the profiles cannot
answer (kinds differ across the window, a test forced on a column they cannot rebuild): read the rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from observability_pipelines.checks.drift import (
    TESTS,
    ColumnDriftResult,
    DatasetDriftResult,
    DriftConfig,
    _decide,
    _fmt,
    _ks_pvalue,
    _null_check,
    chi2_from_counts,
    detect_drift,
    jensenshannon_from_counts,
    psi_from_counts,
)
from observability_pipelines.checks.profiles import (
    COUNTS_LIMIT,
    MERGED_POINTS,
    WINDOW_EXACT_LIMIT,
    ColumnProfile,
    ks_statistic,
    merge_moments,
    merged_cdf,
)

ABSENT = "absent"  # the column is missing from that partition: all its rows count as null, as in a concat


def column_window(records: Sequence[Mapping], column: str) -> list[ColumnProfile] | None:
    """The column's profile in each partition of the window; None when partitions disagree on its kind."""
    out = [ColumnProfile.from_dict(r["columns"][column]) if column in r["columns"]
           else ColumnProfile(ABSENT, int(r["rows"]), int(r["rows"])) for r in records]
    kinds = {p.kind for p in out if p.kind != ABSENT}
    return out if len(kinds) <= 1 else None


def detect_drift_from_profiles(records: Sequence[Mapping], current: pd.DataFrame, columns: Sequence[str],
                               config: DriftConfig) -> DatasetDriftResult | None:
    """``detect_drift(concat(window), current)`` from the window's profile records (see the module)."""
    if config.columns is not None:
        return None  # an explicit column list is the caller's frame selection; read the rows
    rows = sum(int(r["rows"]) for r in records)
    exact_ref: dict[str, pd.Series] = {}
    exact_cur: dict[str, pd.Series] = {}
    results: dict[str, ColumnDriftResult] = {}
    for column in [c for c in columns if c not in set(config.exclude)]:
        window = column_window(records, column)
        if window is None:
            return None
        if all(p.kind == ABSENT for p in window):
            continue  # in no earlier partition: not compared (as the reading path leaves it out)
        if column not in current.columns:
            results[column] = ColumnDriftResult(
                column=column, kind=None, test=None, statistic=None, p_value=None, threshold=None,
                drifted=True, status="missing_column", message="column present in reference but missing from current",
                n_ref=rows)
            continue
        built = _rebuild(column, window, current[column], config)
        if built is None:
            return None
        if isinstance(built, ColumnDriftResult):
            results[column] = built
        else:
            exact_ref[column], exact_cur[column] = built
    if exact_ref:
        results.update(detect_drift(pd.DataFrame(exact_ref), pd.DataFrame(exact_cur), config).columns)
    ordered = {c: results[c] for c in columns if c in results}
    return _dataset(ordered, rows, len(current), config)


def _dataset(results: dict[str, ColumnDriftResult], n_ref: int, n_cur: int, cfg: DriftConfig) -> DatasetDriftResult:
    evaluated = [r for r in results.values() if r.status != "new_column"]
    n_drifted = sum(r.drifted for r in evaluated)
    share = n_drifted / len(evaluated) if evaluated else 0.0
    return DatasetDriftResult(columns=results, share_drifted=share, drifted=bool(evaluated) and share >= cfg.drift_share,
                              n_ref=n_ref, n_cur=n_cur, drift_share_threshold=cfg.drift_share,
                              n_drifted=int(n_drifted), n_evaluated=len(evaluated))


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _forced(name: str, cfg: DriftConfig) -> tuple[bool, bool]:
    """(forced categorical, forced numerical), as ``detect_drift`` reads its config."""
    test = cfg.column_tests.get(name)
    kind = TESTS[test][0] if test is not None else None
    return (name in cfg.categorical_columns or kind == "categorical",
            name in cfg.numerical_columns or kind == "numerical")


def _rebuild(name: str, window: list[ColumnProfile], cur: pd.Series, cfg: DriftConfig):
    """A (reference, current) pair of columns for ``detect_drift``, a finished result, or None (read rows)."""
    present = [p for p in window if p.kind != ABSENT]
    ref_num = present[0].kind == "numeric"
    force_cat, force_num = _forced(name, cfg)
    has_data = any(p.count > p.nulls + p.infs or p.counts for p in present)
    if ref_num != _is_numeric(cur) and has_data and cur.notna().any():
        if force_cat:
            return None
        dtype = next(p.dtype for p in present if p.count > p.nulls)
        return ColumnDriftResult(
            column=name, kind="numerical" if ref_num else "categorical", test=None, statistic=None, p_value=None,
            threshold=None, drifted=True, status="type_mismatch",
            message=f"type mismatch: reference dtype {dtype}, current dtype {cur.dtype}",
            n_ref=sum(p.count for p in window), n_cur=len(cur))
    if not ref_num:
        return counts_categorical(name, window, cur, cfg, numeric=False)
    if all(p.exact or p.kind == ABSENT for p in window) and sum(p.finite for p in present) <= WINDOW_EXACT_LIMIT:
        return _numeric_values(window), cur
    counted = all(p.counts or not p.finite for p in window)
    distinct = set().union(*(p.counts for p in window)) if counted else None
    if counted and (force_cat or (not force_num and len(distinct) <= cfg.categorical_max_unique)):
        return counts_categorical(name, window, cur, cfg, numeric=True)
    if force_cat or (not counted and not force_num and cfg.categorical_max_unique >= COUNTS_LIMIT):
        return None  # cannot tell low cardinality from the profiles
    return sketch_numeric(name, window, cur, cfg)


def _numeric_values(window: list[ColumnProfile]) -> pd.Series:
    parts = []
    for p in window:
        parts += [np.asarray(p.quantiles, dtype="float64"), np.full(p.infs, np.inf), np.full(p.nulls, np.nan)]
    return pd.Series(np.concatenate(parts))


def _merged_counts(window: list[ColumnProfile], numeric: bool) -> dict:
    total: dict = {}
    for p in window:
        for key, n in p.counts.items():
            label = float(key) if numeric else key
            total[label] = total.get(label, 0) + n
    return total


def _current_counts(cur: pd.Series, numeric: bool) -> tuple[dict, int, int]:
    """(counts per label, nulls, infs) of the current column, labelled as profiles label them."""
    if numeric:
        x = cur.to_numpy(dtype="float64", na_value=np.nan)
        finite = x[np.isfinite(x)]
        values, sizes = np.unique(finite, return_counts=True)
        nulls = int(np.isnan(x).sum())
        return dict(zip(values.tolist(), sizes.tolist())), nulls, len(x) - len(finite) - nulls
    counts = cur.dropna().astype(str).value_counts(sort=False)
    return {str(k): int(n) for k, n in counts.items()}, int(cur.isna().sum()), 0


def _base(name: str, window: list[ColumnProfile], n_rows_cur: int, null_cur: int, inf_cur: int, nvr: int,
          nvc: int) -> tuple[dict, float, float, int]:
    """The fields every result of the column carries, the null/invalid share of each side, and the window's
    inf count: one accounting for the categorical and the numeric branch."""
    n_rows_ref = sum(p.count for p in window)
    null_ref, inf_ref = sum(p.nulls for p in window), sum(p.infs for p in window)
    base = dict(column=name, n_ref=nvr, n_cur=nvc, inf_count_ref=inf_ref, inf_count_cur=inf_cur,
                null_fraction_ref=null_ref / n_rows_ref if n_rows_ref else None,
                null_fraction_cur=null_cur / n_rows_cur if n_rows_cur else None)
    bad_ref = (null_ref + inf_ref) / n_rows_ref if n_rows_ref else 0.0
    bad_cur = (null_cur + inf_cur) / n_rows_cur if n_rows_cur else 0.0
    return base, bad_ref, bad_cur, inf_ref


def counts_categorical(name: str, window: list[ColumnProfile], cur: pd.Series, cfg: DriftConfig,
                       numeric: bool) -> ColumnDriftResult:
    """The categorical drift result from exact counts (mirrors ``detect_drift``'s categorical branch; a
    low-cardinality numeric column keeps its numeric null and inf accounting, as there)."""
    ref = _merged_counts(window, numeric)
    cur_counts, null_cur, inf_cur = _current_counts(cur, numeric)
    nvr, nvc = sum(ref.values()), sum(cur_counts.values())
    base, bad_ref, bad_cur, inf_ref = _base(name, window, len(cur), null_cur, inf_cur, nvr, nvc)
    early = _degenerate(name, nvr, nvc, sum(p.count for p in window), len(cur), base, cfg, bad_ref, bad_cur)
    if early is not None:
        return early
    labels = [*ref, *(label for label in cur_counts if label not in ref)]
    rc = np.array([ref.get(label, 0) for label in labels], dtype=np.int64)
    cc = np.array([cur_counts.get(label, 0) for label in labels], dtype=np.int64)
    new_labels = labels[len(ref):]
    chi2_s, chi2_p = chi2_from_counts(rc, cc, cfg.chi2_correction)
    js, psi = jensenshannon_from_counts(rc, cc), psi_from_counts(rc, cc, cfg.psi_eps)
    test = cfg.column_tests.get(name) or ("chi2" if nvr <= cfg.small_sample_size else "jensenshannon")
    value = {"chi2": chi2_p, "jensenshannon": js, "psi": psi}[test]
    threshold = cfg.threshold_for(name, test)
    drifted = _decide(test, value, threshold)
    notes = ["reference column is constant (a single category)"] if len(ref) == 1 else []
    if new_labels:
        shown = ""
        if cfg.show_new_labels and not numeric:  # opt-in: labels are row values
            shown = ": " + ", ".join(map(str, new_labels[:5])) + (", ..." if len(new_labels) > 5 else "")
        notes.append(f"{len(new_labels)} categor{'y' if len(new_labels) == 1 else 'ies'} unseen in reference{shown}")
    res = ColumnDriftResult(
        kind="categorical", test=test, statistic=chi2_s if test == "chi2" else value,
        p_value=chi2_p if test == "chi2" else None, threshold=threshold, drifted=drifted, status="ok", message="",
        chi2_stat=chi2_s, chi2_pvalue=chi2_p, js_distance=js, psi=psi, n_categories_ref=int((rc > 0).sum()),
        n_categories_cur=int((cc > 0).sum()), n_new_categories=len(new_labels), **base)
    return _finish(res, test, value, threshold, notes, inf_ref, inf_cur, cfg, bad_ref, bad_cur, constant=len(ref) == 1)


def _finish(res: ColumnDriftResult, test: str, value, threshold: float, notes: list[str], inf_ref: int,
            inf_cur: int, cfg: DriftConfig, bad_ref: float, bad_cur: float, constant: bool) -> ColumnDriftResult:
    """Status and message, worded as ``detect_drift`` words them."""
    pvalue_test = TESTS[test][1] == "pvalue"
    cmp = ("<" if res.drifted else ">=") if pvalue_test else (">=" if res.drifted else "<")
    msg = (f"{'drift detected' if res.drifted else 'no drift'}: {test} {'p-value' if pvalue_test else 'score'} "
           f"{_fmt(value)} {cmp} threshold {threshold:g}")
    res.status = "drift" if res.drifted else ("constant" if constant else "ok")
    res.message = "; ".join([msg, *notes])
    if inf_ref or inf_cur:
        res.message += f"; ignored infinite values (reference {inf_ref}, current {inf_cur})"
    _null_check(res, cfg, bad_ref, bad_cur)
    return res


def sketch_numeric(name: str, window: list[ColumnProfile], cur: pd.Series, cfg: DriftConfig) -> ColumnDriftResult:
    """The numeric column's drift result from sketched window profiles (mirrors ``detect_drift``'s branch)."""
    x = cur.to_numpy(dtype="float64", na_value=np.nan)
    finite = np.sort(x[np.isfinite(x)])
    null_cur = int(np.isnan(x).sum())
    inf_cur = len(x) - len(finite) - null_cur
    nvr, nvc = sum(p.finite for p in window if p.kind != ABSENT), len(finite)
    base, bad_ref, bad_cur, inf_ref = _base(name, window, len(cur), null_cur, inf_cur, nvr, nvc)
    early = _degenerate(name, nvr, nvc, sum(p.count for p in window), len(cur), base, cfg, bad_ref, bad_cur)
    if early is not None:
        return early
    grid, cdf = merged_cdf(window, MERGED_POINTS)
    d = ks_statistic(window, finite, presorted=True, merged=(grid, cdf))
    d, p_value, method = _ks_pvalue(d, nvr, nvc, cfg.ks_pvalue_asymptotic_above)
    n, _, var = merge_moments(window)
    std = math.sqrt(var * (n - 1) / n) if var is not None else 0.0  # population std, as detect_drift
    wd = wasserstein_from_cdf(grid, cdf, finite)
    wd_norm = wd / max(std, 0.001)
    psi = psi_from_cdf(grid, cdf, finite, cfg.psi_bins, cfg.psi_eps)
    test = cfg.column_tests.get(name) or ("ks" if nvr <= cfg.small_sample_size else "wasserstein")
    value = {"ks": p_value, "wasserstein": wd_norm, "psi": psi}[test]
    threshold = cfg.threshold_for(name, test)
    drifted = _decide(test, value, threshold)
    res = ColumnDriftResult(
        kind="numerical", test=test, statistic=d if test == "ks" else value, p_value=p_value if test == "ks" else None,
        threshold=threshold, drifted=drifted, status="ok", message="", ks_stat=d, ks_pvalue=p_value,
        ks_pvalue_method=method, wasserstein=wd, wasserstein_norm=wd_norm, psi=psi, **base)
    constant = bool(grid[0] == grid[-1])
    notes = ["reference column is constant (zero std); wasserstein_norm uses fallback scale 0.001"] if constant else []
    return _finish(res, test, value, threshold, notes, inf_ref, inf_cur, cfg, bad_ref, bad_cur, constant)


def _degenerate(name, nvr, nvc, n_rows_ref, n_rows_cur, base, cfg, bad_ref, bad_cur) -> ColumnDriftResult | None:
    """Empty or too small sides, worded as ``detect_drift`` words them."""
    none = dict(kind=None, test=None, statistic=None, p_value=None, threshold=None)
    if nvc == 0:
        why = "current partition is empty" if n_rows_cur == 0 else "current column has no valid (non-null, finite) values"
        return ColumnDriftResult(**none, drifted=True, status="empty", message=why, null_drift=n_rows_cur > 0, **base)
    if nvr == 0:
        why = "reference partition is empty" if n_rows_ref == 0 else "reference column has no valid (non-null, finite) values"
        return ColumnDriftResult(**none, drifted=False, status="empty", message=f"{why}; drift cannot be assessed", **base)
    if nvr < cfg.min_sample_size or nvc < cfg.min_sample_size:
        res = ColumnDriftResult(**none, drifted=False, status="insufficient_data", message=(
            f"too few valid values (reference {nvr}, current {nvc}; min_sample_size {cfg.min_sample_size})"), **base)
        _null_check(res, cfg, bad_ref, bad_cur)
        return res
    return None


def _ref_cdf_at(grid: np.ndarray, cdf: np.ndarray, x: np.ndarray, side: str = "right") -> np.ndarray:
    """The reference CDF at ``x`` (``side="left"``: just below ``x``)."""
    i = np.searchsorted(grid, x, side=side) - 1
    return np.where(i >= 0, cdf[np.clip(i, 0, None)], 0.0)


def wasserstein_from_cdf(grid: np.ndarray, cdf: np.ndarray, cur_sorted: np.ndarray) -> float:
    """W1 = integral of |F_ref - F_cur| over the union of both step functions' jumps."""
    points = np.sort(np.concatenate([grid, cur_sorted]))  # de-duplicated next: the order of ties is irrelevant
    points = points[np.r_[True, points[1:] != points[:-1]]]
    gap = np.abs(_ref_cdf_at(grid, cdf, points) - np.searchsorted(cur_sorted, points, side="right") / cur_sorted.size)
    return float(np.sum(np.diff(points) * gap[:-1]))


def psi_from_cdf(grid: np.ndarray, cdf: np.ndarray, cur_sorted: np.ndarray, bins: int, eps: float) -> float:
    """PSI on reference-quantile bins read from the merged CDF (the smallest value reaching each decile)."""
    q = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    edges = np.unique(grid[np.minimum(np.searchsorted(cdf, q, side="left"), grid.size - 1)])
    ref_below = np.r_[0.0, _ref_cdf_at(grid, cdf, edges, side="left"), 1.0]
    cur_below = np.r_[0, np.searchsorted(cur_sorted, edges, side="left"), cur_sorted.size]
    return psi_from_counts(np.diff(ref_below), np.diff(cur_below).astype("float64"), eps)
