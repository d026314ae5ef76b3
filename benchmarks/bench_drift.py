"""Benchmark: observability_pipelines.checks.drift.detect_drift at every size (issue 18).

25 columns (20 numerical, 4 of them with 1-2 % NaN; 5 string categorical columns with
4-28 categories), reference vs a mildly shifted current frame, at 10k, 100k, 1M and 10M
rows.  Each size is written to Parquet and read back; both sides read the same files:

  ours      detect_drift(reference, current)
  bound     the strong sort bound: np.sort of every numerical column of both frames +
            pd.factorize of every categorical one (the minimal work detect_drift does
            before deriving its statistics), measured interleaved with ours
  Evidently 0.7.23 DataDriftPreset (Report.run), in its own virtual environment
            (pandas < 3 conflicts with our pins): created on first use at
            $OBS_EVIDENTLY_VENV (default /work/venvs/evidently), never committed;
            run at sizes up to --evidently-max-rows (default 1M)

Targets: ours <= max(1.5 x bound, 20 ms) at every size; Evidently / ours >= 100 where
Evidently runs.  The peak extra memory of one detect_drift call (RSS sampled every 2 ms
above the RSS with both frames loaded) is reported too.

Usage:  .venv-test/bin/python benchmarks/bench_drift.py [--sizes 10000,100000,1000000,10000000]
        [--no-evidently] [--naive] [--json] [--no-write] [--quick] [--baseline OLD_DRIFT_PY]

--baseline: an A/B against another version of drift.py (e.g. `git show HEAD:observability_pipelines/checks/drift.py
> /tmp/drift_old.py`), loaded beside this one and timed interleaved with it (and with the bound) in the same run;
its results must equal ours (to_dict), which is checked and reported.
Writes/updates the "## Drift" section of benchmarks/RESULTS.md (the notes section below
it is prose kept by hand).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from observability_pipelines.checks.drift import detect_drift  # noqa: E402

N_NUM, N_CAT = 20, 5
SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
REPEATS = {10_000: 15, 100_000: 7, 1_000_000: 5}  # interleaved best-of; larger sizes: 3
EVIDENTLY_REPEATS = {10_000: 3}  # larger sizes: 1 (Evidently takes minutes at 1M)
TARGET_BOUND_RATIO = 1.5  # ours <= this x the strong bound ...
TARGET_FLOOR_S = 0.020  # ... or <= this, whichever is larger
TARGET_EVIDENTLY_SPEEDUP = 100.0
EVIDENTLY_VENV = Path(os.environ.get("OBS_EVIDENTLY_VENV", "/work/venvs/evidently"))
EVIDENTLY_PINS = ("evidently==0.7.23", "pandas<3", "pyarrow")


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


def best_of(fn, repeat: int, clock=time.perf_counter) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this thread) of one call: on a loaded machine the CPU time
    excludes the time the process waited for a core."""
    w0, c0 = time.perf_counter(), time.thread_time()
    fn()
    return time.perf_counter() - w0, time.thread_time() - c0


def load_baseline(path: str):
    """Another drift.py as its own module (``drift_baseline``), for an interleaved A/B in the same process."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("drift_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["drift_baseline"] = module  # (dataclasses look their module up while the class is built)
    spec.loader.exec_module(module)
    return module


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


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_extra_rss(fn) -> int:
    """Peak RSS above the current RSS while ``fn`` runs (sampled every 2 ms)."""
    base, peak, done = _rss(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.002)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    try:
        fn()
    finally:
        done.set()
        t.join()
    return max(peak[0], _rss()) - base


def ensure_evidently_venv() -> Path:
    py = EVIDENTLY_VENV / "bin" / "python"
    if not py.exists():
        print(f"creating Evidently's virtual environment at {EVIDENTLY_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *EVIDENTLY_PINS], check=True)
    return py


def run_evidently(ref_path: Path, cur_path: Path, repeat: int) -> dict:
    py = ensure_evidently_venv()
    runner = Path(__file__).with_name("evidently_drift_runner.py")
    out = subprocess.run(
        [str(py), str(runner), str(ref_path), str(cur_path), str(repeat)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def load_size(n: int, data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, Path, Path, float]:
    ref_path, cur_path = data_dir / f"drift_ref_{n}.parquet", data_dir / f"drift_cur_{n}.parquet"
    ref, cur = make_frames(n)
    ref.to_parquet(ref_path)
    cur.to_parquet(cur_path)
    del ref, cur
    t0 = time.perf_counter()
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    return ref, cur, ref_path, cur_path, time.perf_counter() - t0


def measure_size(n: int, data_dir: Path, args) -> dict:
    t0 = time.perf_counter()
    ref, cur, ref_path, cur_path, t_load = load_size(n, data_dir)
    print(f"\n{n:,} rows: generated + Parquet round trip in {time.perf_counter() - t0:.1f}s (read {t_load:.2f}s)", flush=True)
    res = detect_drift(ref, cur)  # warm-up
    base_mod = args.baseline_module
    base_same = base_mod.detect_drift(ref, cur).to_dict() == res.to_dict() if base_mod else None  # (and its warm-up)
    repeat = REPEATS.get(n, 3)
    ours, bound, base = [], [], []
    for _ in range(repeat):  # interleaved best-of-N: fair under fluctuating machine load
        ours.append(timed(lambda: detect_drift(ref, cur)))
        bound.append(timed(lambda: sort_bound(ref, cur, strong=True)))
        if base_mod:
            base.append(timed(lambda: base_mod.detect_drift(ref, cur)))
    (t_ours, cpu_ours), (t_bound, cpu_bound) = (tuple(min(x) for x in zip(*m)) for m in (ours, bound))
    row = {
        "rows": n, "repeat": repeat, "ours_s": t_ours, "bound_s": t_bound, "ratio": t_ours / t_bound,
        "ours_cpu_s": cpu_ours, "bound_cpu_s": cpu_bound, "cpu_ratio": cpu_ours / cpu_bound,
        "target_s": max(TARGET_BOUND_RATIO * t_bound, TARGET_FLOOR_S), "read_parquet_s": t_load,
        "n_drifted": res.n_drifted, "frames_bytes": int(ref.memory_usage(deep=True).sum() + cur.memory_usage(deep=True).sum()),
        "detect_peak_extra_bytes": peak_extra_rss(lambda: detect_drift(ref, cur)),
    }
    row["pass_bound"] = t_ours <= row["target_s"]
    if base_mod:
        t_base, cpu_base = (min(x) for x in zip(*base))
        row.update(baseline_s=t_base, baseline_cpu_s=cpu_base, baseline_same_results=base_same,
                   ours_over_baseline=t_ours / t_base, cpu_ours_over_baseline=cpu_ours / cpu_base)
    if args.naive:
        row["naive_s"] = best_of(lambda: naive(ref, cur), 1)
    del ref, cur
    if not args.no_evidently and n <= args.evidently_max_rows:
        ev = run_evidently(ref_path, cur_path, EVIDENTLY_REPEATS.get(n, 1))
        row.update(evidently_s=ev["seconds"], evidently_cpu_s=ev["cpu_seconds"], evidently_n_drifted=ev["n_drifted"],
                   evidently_versions=ev["versions"])
        row["speedup"] = ev["seconds"] / t_ours
        row["cpu_speedup"] = ev["cpu_seconds"] / cpu_ours
        row["pass_evidently"] = row["speedup"] >= TARGET_EVIDENTLY_SPEEDUP
    for p in (ref_path, cur_path):
        p.unlink(missing_ok=True)
    print_row(row)
    return row


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def print_row(r: dict) -> None:
    ev = (f"Evidently {r['evidently_s']:.2f}s = {r['speedup']:.0f}x ours ({_verdict(r['pass_evidently'])}), "
          f"CPU {r['evidently_cpu_s']:.2f}s = {r['cpu_speedup']:.0f}x" if "speedup" in r else "Evidently not run")
    print(
        f"  ours {r['ours_s'] * 1e3:.1f} ms | bound {r['bound_s'] * 1e3:.1f} ms | ours/bound {r['ratio']:.2f}x "
        f"| target {r['target_s'] * 1e3:.1f} ms ({_verdict(r['pass_bound'])}) | CPU time: ours {r['ours_cpu_s'] * 1e3:.1f} ms, "
        f"bound {r['bound_cpu_s'] * 1e3:.1f} ms, {r['cpu_ratio']:.2f}x | {ev} "
        f"| frames {r['frames_bytes'] / 2**30:.2f} GiB, detect_drift peak +{r['detect_peak_extra_bytes'] / 2**20:.0f} MiB",
        flush=True,
    )
    if "baseline_s" in r:
        print(f"  baseline {r['baseline_s'] * 1e3:.1f} ms (CPU {r['baseline_cpu_s'] * 1e3:.1f} ms) | ours/baseline "
              f"{r['ours_over_baseline']:.3f} (CPU {r['cpu_ours_over_baseline']:.3f}) "
              f"| same results: {r['baseline_same_results']}", flush=True)


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {mem:.0f} GiB RAM"


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def results_markdown(rows: list[dict], load_start: str, load_end: str, cmd: str) -> str:
    ev_ver = next((r["evidently_versions"] for r in rows if "evidently_versions" in r), None)
    lines = [
        "## Drift", "",
        f"`{cmd}` — 25 columns (20 numerical, 4 of them with 1-2% NaN; 5 string categorical columns with 4-28",
        "categories), reference vs mildly shifted current (4 numerical columns shifted by 0.25 std), each size written to",
        "Parquet and read back by both sides. Interleaved best-of-N of ours and the strong sort bound (np.sort of the 20",
        "numerical columns of both frames + pd.factorize of the 5 categorical ones) in the same run; Evidently",
        f"{ev_ver['evidently'] if ev_ver else '0.7.23'} `DataDriftPreset` (`Report.run`, pandas {ev_ver['pandas'] if ev_ver else '<3'}) in its own venv on the same files, best of",
        f"{EVIDENTLY_REPEATS.get(10_000)} at 10k, 1 run above. Machine: {machine()}; Python {platform.python_version()}, numpy {np.__version__},",
        f"pandas {pd.__version__}. Date: {_dt.date.today().isoformat()}. Load average (1/5/15 min) at start {load_start}, at end",
        f"{load_end} (shared machine: only same-run ratios are comparable; the CPU-time column is each side's own thread",
        "time, best of N, which leaves out the time spent waiting for a core). Targets are judged on wall time.", "",
        "| rows | N | detect_drift | strong bound | ours / bound | target max(1.5x bound, 20 ms) | CPU time ours / bound | Evidently DataDriftPreset | Evidently / ours (>= 100x) | frames in memory | detect_drift peak extra RSS |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        ev = (
            (f"{r['evidently_s']:.2f} s (CPU {r['evidently_cpu_s']:.2f} s)",
             f"{r['speedup']:.0f}x {_verdict(r['pass_evidently'])} (CPU {r['cpu_speedup']:.0f}x)")
            if "speedup" in r else ("not run", "n/a")
        )
        lines.append(
            f"| {r['rows']:,} | {r['repeat']} | {r['ours_s'] * 1e3:.1f} ms | {r['bound_s'] * 1e3:.1f} ms | {r['ratio']:.2f}x "
            f"| {r['target_s'] * 1e3:.1f} ms **{_verdict(r['pass_bound'])}** "
            f"| {r['ours_cpu_s'] * 1e3:.1f} / {r['bound_cpu_s'] * 1e3:.1f} ms = {r['cpu_ratio']:.2f}x | {ev[0]} | {ev[1]} "
            f"| {r['frames_bytes'] / 2**30:.2f} GiB | {r['detect_peak_extra_bytes'] / 2**20:.0f} MiB |"
        )
    drifted = ", ".join(
        f"{r['rows']:,}: ours {r['n_drifted']}/25" + (f", Evidently {r['evidently_n_drifted']}/25" if "evidently_n_drifted" in r else "")
        for r in rows
    )
    lines += ["", f"Drifted columns (each side's own default tests): {drifted}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    ap.add_argument("--evidently-max-rows", type=int, default=1_000_000)
    ap.add_argument("--no-evidently", action="store_true")
    ap.add_argument("--naive", action="store_true", help="also time a per-column scipy loop")
    ap.add_argument("--data-dir", default=None, help="where the Parquet files go (default: a temporary folder)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 10k and 100k rows, 5 interleaved repeats, no Evidently, RESULTS.md untouched")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--baseline", default=None, metavar="DRIFT_PY",
                    help="A/B: another drift.py, timed interleaved with ours (RESULTS.md untouched)")
    args = ap.parse_args()
    args.baseline_module = load_baseline(args.baseline) if args.baseline else None
    if args.baseline:
        args.no_write = True  # an A/B is not the published figure
    if args.quick:
        args.sizes, args.no_evidently, args.no_write = "10000,100000", True, True
        REPEATS.update({10_000: 5, 100_000: 5})
    sizes = [int(x) for x in args.sizes.split(",") if x]
    load_start = loadavg()
    with tempfile.TemporaryDirectory(dir=args.data_dir) as tmp:
        rows = [measure_size(n, Path(tmp), args) for n in sizes]
    load_end = loadavg()
    ok = all(r["pass_bound"] and r.get("pass_evidently", True) for r in rows)
    print(f"\nload average at start {load_start}, at end {load_end}; all targets: {'PASS' if ok else 'FAIL'}")
    if args.json:
        print(json.dumps({"rows": rows, "load_start": load_start, "load_end": load_end, "pass": ok}))
    if not args.no_write:
        cmd = "benchmarks/bench_drift.py" + (f" --sizes {args.sizes}" if args.sizes != ",".join(map(str, SIZES)) else "")
        write_results(results_markdown(rows, load_start, load_end, cmd))
        print("updated benchmarks/RESULTS.md (## Drift)")


if __name__ == "__main__":
    main()
