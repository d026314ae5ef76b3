"""Benchmark: observability_pipelines.checks.drift.detect_drift.

25 columns (20 numerical, 5 categorical string columns) x N rows (default
1,000,000) reference vs a mildly shifted current frame.  Times, best of
``--repeat`` runs:

  (a) ours   detect_drift(reference, current)
  (b) naive  per-column scipy loop: ks_2samp + wasserstein_distance for
             numerical columns, chi2_contingency on value counts for
             categorical ones
  (c) bound  np.sort of every numerical column of both frames + np.unique of
             the categorical columns (the lower bound named in the brief)
  (c') strong bound: the same sorts, but pd.factorize for the categoricals
             (hash-based counting; the fastest way to count string categories)

Usage:  .venv/bin/python benchmarks/bench_drift.py [--rows 1000000] [--no-write]
Writes/updates the "## Drift" section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from observability_pipelines.checks.drift import detect_drift  # noqa: E402

N_NUM, N_CAT = 20, 5


def make_frames(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref, cur = {}, {}
    for i in range(N_NUM):
        if i % 4 == 0:
            r, c = rng.normal(0, 1, n), rng.normal(0.05, 1.02, n)
        elif i % 4 == 1:
            r, c = rng.lognormal(0, 0.5, n), rng.lognormal(0.03, 0.5, n)
        elif i % 4 == 2:
            r, c = rng.uniform(-3, 3, n), rng.uniform(-2.9, 3.1, n)
        else:
            r, c = rng.exponential(2.0, n), rng.exponential(2.1, n)
        if i % 5 == 4:  # a few columns with a clearer shift
            c = c + 0.25 * np.nanstd(r)
        if i in (3, 7, 11, 15):  # a few columns with missing values
            r[rng.random(n) < 0.01] = np.nan
            c[rng.random(n) < 0.02] = np.nan
        ref[f"num_{i:02d}"], cur[f"num_{i:02d}"] = r, c
    for j in range(N_CAT):
        k = 4 + 6 * j  # 4 .. 28 categories
        labels = np.array([f"cat_{j}_{v}" for v in range(k)], dtype=object)
        p = rng.dirichlet(np.ones(k) * 5)
        q = 0.95 * p + 0.05 * rng.dirichlet(np.ones(k) * 5)
        ref[f"cat_{j}"] = pd.array(labels[rng.choice(k, n, p=p)], dtype="str")
        cur[f"cat_{j}"] = pd.array(labels[rng.choice(k, n, p=q / q.sum())], dtype="str")
    return pd.DataFrame(ref), pd.DataFrame(cur)


def naive(ref: pd.DataFrame, cur: pd.DataFrame) -> dict:
    out = {}
    for c in ref.columns:
        if c.startswith("num"):
            a = ref[c].to_numpy(dtype=float)
            b = cur[c].to_numpy(dtype=float)
            a, b = a[np.isfinite(a)], b[np.isfinite(b)]
            out[c] = (stats.ks_2samp(a, b).pvalue, stats.wasserstein_distance(a, b))
        else:
            vc = pd.concat([ref[c].value_counts(), cur[c].value_counts()], axis=1).fillna(0)
            out[c] = stats.chi2_contingency(vc.to_numpy().T).pvalue
    return out


def sort_bound(ref: pd.DataFrame, cur: pd.DataFrame, strong: bool = False) -> None:
    for df in (ref, cur):
        for c in df.columns:
            if c.startswith("num"):
                x = df[c].to_numpy(dtype=np.float64)
                np.sort(x)
            elif strong:
                pd.factorize(df[c])
            else:
                np.unique(df[c].to_numpy())


def best_of(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def write_results(md: str) -> None:
    path = ROOT / "benchmarks" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    # Only the measured section; "## Drift: implementation notes" below it is prose kept by hand.
    pat = re.compile(r"^## Drift\n.*?(?=^## |\Z)", re.S | re.M)
    if pat.search(text):
        text = pat.sub(lambda _m: md.rstrip() + "\n\n", text)
    else:
        text = text.rstrip() + "\n\n" + md.rstrip() + "\n"
    path.write_text(text.rstrip() + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--naive-repeat", type=int, default=1)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    ref, cur = make_frames(args.rows)
    print(f"generated {args.rows:,} x {ref.shape[1]} x 2 frames in {time.perf_counter() - t0:.1f}s")

    res = detect_drift(ref, cur)  # warm-up (imports)
    num_ref = ref[[c for c in ref if c.startswith("num")]]
    num_cur = cur[[c for c in cur if c.startswith("num")]]
    # interleaved best-of-N: fair under fluctuating machine load
    t_ours = t_bound = t_strong = t_num_sort = float("inf")
    for _ in range(args.repeat):
        t_ours = min(t_ours, best_of(lambda: detect_drift(ref, cur), 1))
        t_strong = min(t_strong, best_of(lambda: sort_bound(ref, cur, strong=True), 1))
        t_num_sort = min(t_num_sort, best_of(lambda: sort_bound(num_ref, num_cur), 1))
    t_bound = best_of(lambda: sort_bound(ref, cur), max(1, args.repeat // 2))
    t_naive = best_of(lambda: naive(ref, cur), args.naive_repeat)

    rows = [
        ("(a) ours: detect_drift", t_ours),
        ("(b) naive scipy loop", t_naive),
        ("(c) sort bound (np.sort + np.unique)", t_bound),
        ("(c') strong bound (np.sort + pd.factorize)", t_strong),
        ("    of which np.sort of 20 numerical cols x 2", t_num_sort),
    ]
    print(f"\n{'step':48s} {'seconds':>9s}")
    for name, t in rows:
        print(f"{name:48s} {t:9.3f}")
    r_bound, r_strong, r_naive = t_ours / t_bound, t_ours / t_strong, t_naive / t_ours
    print(f"\nours / sort bound        = {r_bound:.2f}x  (target <= 1.5x)")
    print(f"ours / strong bound      = {r_strong:.2f}x")
    print(f"naive / ours (speed-up)  = {r_naive:.1f}x")
    print(f"drifted columns: {res.n_drifted}/{res.n_evaluated} (share {res.share_drifted:.2f}, dataset drift {res.drifted})")

    if args.no_write:
        return
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu n/a'}"
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
        machine = f"{model}, {os.cpu_count()} cores"
    except Exception:
        pass
    md = f"""## Drift

`benchmarks/bench_drift.py --rows {args.rows} --repeat {args.repeat}` — {args.rows:,} rows x 25 columns (20 numerical, 4 of them
with 1-2% NaN; 5 string categorical columns with 4-28 categories), reference vs mildly shifted current (4 numerical columns shifted by 0.25 std).
Best of {args.repeat} interleaved runs (naive: {args.naive_repeat}). Machine: {machine}; Python {platform.python_version()},
numpy {np.__version__}, pandas {pd.__version__}. Date: {_dt.date.today().isoformat()}.

| step | seconds |
|---|---:|
""" + "".join(f"| {name.strip()} | {t:.3f} |\n" for name, t in rows) + f"""
* ours / strong bound (c') = **{r_strong:.2f}x** — target (<= 1.5x) **{"met" if r_strong <= 1.5 else "NOT met"}**,
  measured in the same run (interleaved best-of-{args.repeat}; on a shared machine only ratios are comparable).
  (c') sorts every numerical column of both frames and `pd.factorize`s every categorical one: the same minimal
  work detect_drift does before deriving its statistics, so it is the honest lower bound.
* ours / sort bound (c) = **{r_bound:.2f}x** — (c) uses `np.unique` on object string arrays, which is itself
  slow; it is not a meaningful bound and is kept only for comparison with the brief's wording.
* naive / ours = **{r_naive:.1f}x** speed-up over the per-column scipy loop.
* Result: {res.n_drifted}/{res.n_evaluated} columns drifted, dataset drift = {res.drifted}.
* ours computes, per numerical column, KS statistic + p-value (asymptotic Kolmogorov p-value above effective
  n 50,000, see `DriftConfig.ks_pvalue_asymptotic_above`), Wasserstein (raw and normalised), PSI, null/inf
  fractions; per categorical column chi-square, Jensen-Shannon and PSI.
"""
    write_results(md)
    print("\nupdated benchmarks/RESULTS.md (## Drift)")


if __name__ == "__main__":
    main()
