"""RCA answer time at scale: cold (first answer of a fresh process's store) and warm, 1,000 and 10,000 assets.

    .venv/bin/python benchmarks/bench_rca_scale.py                       # 1,000 and 10,000 assets
    .venv/bin/python benchmarks/bench_rca_scale.py --assets 1000 --reps 5
    .venv/bin/python benchmarks/bench_rca_scale.py --workdir /tmp/rca-scale   # keep (and reuse) the stores
    .venv/bin/python benchmarks/bench_rca_scale.py --baseline /tmp/rca-base  # also the code of another tree
    .venv/bin/python benchmarks/bench_rca_scale.py --quick                   # smoke run: 200 assets, few reps

The events are `bench_rca.make_scale_events` (layered DAG, 6 columns with column lineage, 5 daily
partitions, one injected not-null failure echoed downstream), ingested into a SQLite store without
schema validation (validation is measured by bench_lineage_store.py; it does not change what is
stored). Per size:

* cold: `analyze(sink, partition=last)` as the first question of a fresh process (imports done before
  the clock starts; median of `--cold` processes), so nothing parsed or built is kept from before;
* warm: the same question again on the same store object (median and p95 of `--reps`);
* where the time goes: the ancestry-only lineage RCA builds (`graph.ancestry.upstream_graph`), the
  full graph build (`graph_for(store).refresh()`, what RCA built before) and the snapshot load of the
  sink's ancestors (`analysis.observations.load_snapshots`), each alone on a fresh store object;
* same-run baselines: reading the rows the graph is built from (`reads.graph_rows_after` of every
  graph table, no processing), the floor of a cold graph build; with `--baseline DIR`, the code of
  another tree (e.g. `git archive HEAD` of the commit before) answering the same question on the same
  store, its cold and warm answers in a fresh process of their own, interleaved with ours.

Targets (issue #18): cold <= 300 ms at 1,000 assets and <= 1 s at 10,000; warm <= 50 ms. Wall and CPU
times are printed: on a shared machine the CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from bench_rca import SCALE_NS, make_scale_events, percentile  # noqa: E402

from lineage.analysis.observations import load_snapshots  # noqa: E402
from lineage.analysis.rca import analyze  # noqa: E402
from lineage.graph.ancestry import upstream_graph  # noqa: E402
from lineage.graph.cache import graph_for  # noqa: E402
from lineage.graph.queries import resolve, upstream  # noqa: E402
from lineage.store import LineageStore, reads  # noqa: E402

COLD_TARGET_MS = {1000: 300.0, 10000: 1000.0}
WARM_TARGET_MS = 50.0


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall ms, CPU ms, result)."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, result


def prepared_store(workdir: Path, n: int) -> tuple[str, dict[str, Any]]:
    """A store holding the n-asset events (reused from `workdir` when it already does)."""
    url = f"sqlite:///{workdir / f'rca-scale-{n}.db'}"
    info_path = workdir / f"rca-scale-{n}.json"
    if info_path.exists():
        return url, json.loads(info_path.read_text())
    events, info = make_scale_events(n)
    with LineageStore.open(url) as store:
        for offset in range(0, len(events), 1000):
            store.ingest(events[offset:offset + 1000], validate=False)
        assert store.event_count() == len(events)
    info_path.write_text(json.dumps(info))
    return url, info


def ask(store: LineageStore, info: dict[str, Any]) -> Any:
    return analyze(store, info["sink"], namespace=SCALE_NS, partition=info["partition"])


COLD_SCRIPT = """
import json, sys, time
sys.path[:0] = sys.argv[1:3]
import networkx  # imported before the clock whether or not rca imports it at module level (obs defers it)
from bench_rca import SCALE_NS
from lineage.analysis.rca import analyze
from lineage.store import LineageStore
info = json.loads(sys.argv[4])
times = []
with LineageStore.open(sys.argv[3], migrate=False) as store:
    for _ in range(1 + int(sys.argv[5])):  # the first answer is the cold one
        cpu, wall = time.process_time(), time.perf_counter()
        analyze(store, info["sink"], namespace=SCALE_NS, partition=info["partition"])
        times.append([(time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000])
print(json.dumps(times))
"""


def cold_answer(url: str, info: dict[str, Any], root: Path = ROOT.parent, warm: int = 0) -> list[tuple[float, float]]:
    """(wall ms, CPU ms) of the first answer in a fresh process running the code of ``root``, then of
    ``warm`` more answers on the same store object."""
    out = subprocess.run([sys.executable, "-c", COLD_SCRIPT, str(root), str(root / "benchmarks"), url,
                          json.dumps(info), str(warm)], check=True, capture_output=True, text=True).stdout
    return [tuple(t) for t in json.loads(out.splitlines()[-1])]  # type: ignore[misc]


def interleaved(url: str, info: dict[str, Any], cold_n: int, reps: int, baseline: Path | None) -> dict[str, Any]:
    """Cold answers of ours (and of the baseline tree, each right after ours, with its warm answers)."""
    cold, base_cold, base_warm = [], [], []
    for _ in range(cold_n):
        cold += cold_answer(url, info)
        if baseline is not None:
            first, *rest = cold_answer(url, info, baseline, reps)
            base_cold.append(first)
            base_warm += rest
    out: dict[str, Any] = {"cold_ms": statistics.median(w for w, _ in cold),
                           "cold_cpu_ms": statistics.median(c for _, c in cold)}
    if baseline is not None:
        out.update(base_cold_ms=statistics.median(w for w, _ in base_cold),
                   base_cold_cpu_ms=statistics.median(c for _, c in base_cold),
                   base_warm_ms=statistics.median(w for w, _ in base_warm),
                   base_warm_cpu_ms=statistics.median(c for _, c in base_warm))
    return out


def measure(url: str, info: dict[str, Any], cold_n: int, reps: int, baseline: Path | None = None) -> dict[str, Any]:
    colds = interleaved(url, info, cold_n, reps, baseline)
    with LineageStore.open(url, migrate=False) as store:
        sink_id = resolve(store, info["sink"], SCALE_NS)[1]
        ancestry_wall, ancestry_cpu, _ = timed(lambda: upstream_graph(store, sink_id))
    with LineageStore.open(url, migrate=False) as store:
        graph_wall, graph_cpu, _ = timed(lambda: graph_for(store).refresh())
        sink = resolve(store, info["sink"], SCALE_NS)[1]
        ancestors = [n["name"] for n in upstream(store, info["sink"], namespace=SCALE_NS)["datasets"]]
        ids = [resolve(store, name, SCALE_NS)[1] for name in ancestors] + [sink]

        def snapshots() -> Any:
            with store.read() as conn:
                return load_snapshots(conn, ids)

        snap_wall, snap_cpu, _ = timed(snapshots)

        def rows() -> int:
            with store.read() as conn:
                return sum(len(reads.graph_rows_after(conn, source, 0)) for source in reads.GRAPH_SOURCES)

        base_wall, base_cpu, n_rows = timed(rows)
        ask(store, info)
        warm = [timed(lambda: ask(store, info)) for _ in range(reps)]
    result = warm[-1][2]
    top = result.candidates[0] if result.candidates else None
    return {
        "assets": info["datasets"], "events": info["events"], "ancestors": len(ancestors), "graph_rows": n_rows,
        **colds,
        "warm_ms": statistics.median(w for w, _, _ in warm), "warm_p95_ms": percentile([w for w, _, _ in warm], 0.95),
        "warm_cpu_ms": statistics.median(c for _, c, _ in warm),
        "graph_build_ms": graph_wall, "graph_build_cpu_ms": graph_cpu,
        "ancestry_ms": ancestry_wall, "ancestry_cpu_ms": ancestry_cpu,
        "snapshots_ms": snap_wall, "snapshots_cpu_ms": snap_cpu,
        "baseline_rows_ms": base_wall, "baseline_rows_cpu_ms": base_cpu,
        "top": f"{top.asset}.{top.column} {top.kind}" if top else None,
        "top_ok": bool(top) and top.asset == info["fault"] and top.column == info["column"] and top.kind == "null_burst",
        "load": os.getloadavg()[0],
    }


def report(r: dict[str, Any]) -> bool:
    cold_target = COLD_TARGET_MS.get(r["assets"])
    cold_ok = cold_target is None or r["cold_ms"] <= cold_target
    warm_ok = r["warm_ms"] <= WARM_TARGET_MS
    print(f"{r['assets']:,} assets ({r['events']:,} events, {r['graph_rows']:,} graph rows; sink with "
          f"{r['ancestors']} upstream datasets; 1-min load {r['load']:.1f})")
    print(f"  cold  {r['cold_ms']:8.0f} ms (CPU {r['cold_cpu_ms']:.0f})  target <= {cold_target or '-'} ms: "
          f"{'PASS' if cold_ok else 'FAIL'}")
    print(f"  warm  {r['warm_ms']:8.0f} ms (p95 {r['warm_p95_ms']:.0f}, CPU {r['warm_cpu_ms']:.0f})  target <= "
          f"{WARM_TARGET_MS:.0f} ms: {'PASS' if warm_ok else 'FAIL'}")
    print(f"  ancestry-only lineage {r['ancestry_ms']:.0f} ms (CPU {r['ancestry_cpu_ms']:.0f}); full graph build "
          f"{r['graph_build_ms']:.0f} ms (CPU {r['graph_build_cpu_ms']:.0f}); baseline: reading its rows "
          f"{r['baseline_rows_ms']:.0f} ms (CPU {r['baseline_rows_cpu_ms']:.0f}), ratio "
          f"{r['graph_build_ms'] / max(r['baseline_rows_ms'], 1e-9):.1f}x")
    print(f"  snapshot load of the ancestors {r['snapshots_ms']:.0f} ms (CPU {r['snapshots_cpu_ms']:.0f})")
    if "base_cold_ms" in r:
        print(f"  baseline tree: cold {r['base_cold_ms']:.0f} ms (CPU {r['base_cold_cpu_ms']:.0f}), warm "
              f"{r['base_warm_ms']:.0f} ms (CPU {r['base_warm_cpu_ms']:.0f}); CPU ratio ours / baseline: cold "
              f"{r['cold_cpu_ms'] / max(r['base_cold_cpu_ms'], 1e-9):.2f}, warm "
              f"{r['warm_cpu_ms'] / max(r['base_warm_cpu_ms'], 1e-9):.2f}")
    print(f"  top candidate {r['top']}: {'the injected fault' if r['top_ok'] else 'WRONG'}")
    return cold_ok and warm_ok and r["top_ok"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assets", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--reps", type=int, default=10, help="warm answers per size")
    ap.add_argument("--cold", type=int, default=3, help="cold answers per size (each on a fresh store object)")
    ap.add_argument("--workdir", type=Path, help="keep the generated stores here (and reuse them)")
    ap.add_argument("--baseline", type=Path, help="a tree with other code (e.g. the commit before) to time too")
    ap.add_argument("--quick", action="store_true", help="smoke run: 200 assets, 1 cold and 3 warm answers")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.assets, args.cold, args.reps = [200], 1, 3
    tmp = None if args.workdir else tempfile.TemporaryDirectory(prefix="rca-scale-")
    workdir = args.workdir or Path(tmp.name)  # type: ignore[union-attr]
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = [measure(*prepared_store(workdir, n), args.cold, args.reps, args.baseline) for n in args.assets]
    finally:
        if tmp:
            tmp.cleanup()
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    ok = [report(r) for r in results]
    print("targets:", "PASS" if all(ok) else "FAIL")
    return 0 if all(ok) else 1


if __name__ == "__main__":
    raise SystemExit(main())
