"""PostgreSQL lineage query latency (issue #18): depth-10 p95 <= 20 ms on 100k datasets.

    .venv-test/bin/python benchmarks/bench_pg_queries.py                 # 100k datasets, 300 queries per kind
    .venv-test/bin/python benchmarks/bench_pg_queries.py --quick         # smoke: 5k datasets, 40 queries
    .venv-test/bin/python benchmarks/bench_pg_queries.py --datasets 1000000 --queries 200 --keep-schema
    .venv-test/bin/python benchmarks/bench_pg_queries.py --datasets 1000000 --reuse-schema obs_bench_pg_XXXX

Builds the `bench_lineage_store.py` graph (1% sources, every other dataset written by one COMPLETE
run of its own job reading two of the preceding 200 datasets) in a fresh PostgreSQL schema through
`LineageStore.ingest` (the store's own tables, validation off), runs ANALYZE (what autovacuum would
do; it is off on some servers), then times the path the API and CLI use,
`lineage.graph.queries.upstream` / `downstream` with depth 3 and 10, for random datasets.
`--keep-schema` keeps the built store and `--reuse-schema` queries it again (a 1M store takes a
quarter of an hour to ingest). Same-run baselines, interleaved query by query on the same picks:
* `previous`: the code before this change (af7c072's walk over `pred[node]` views, names read by id
  through `LineageGraph.names`, answers sorted with key functions), whose answer must be identical:
  the benchmark fails otherwise;
* `cte`: the database walking the same edges itself (one recursive CTE, ids only, every edge, no
  job versions, no names), on a fifth of the picks.
Prints wall p50 / p95 and process CPU median per query kind, PASS/FAIL against the target, and
drops the schema afterwards (unless kept).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_lineage_store import NS, cte_latency, make_events, percentile  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from lineage.graph import queries  # noqa: E402
from lineage.graph.cache import graph_for  # noqa: E402
from lineage.store import LineageStore, reads  # noqa: E402

TARGET_P95_MS = 20.0  # issue #18, depth 10 at 100k datasets
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def previous_walk(store: LineageStore, name: str, depth: int, upstream: bool, namespace: str | None) -> dict[str, Any]:
    """`queries._walk` as it was before this change (af7c072: `pred[node]` views, a level list per
    half hop, answers sorted with key functions)."""
    with store.read() as conn:  # `queries.resolve` before this change, for a name that exists once
        (row,) = reads.query_named(conn, "dataset", name, namespace)
    root = ("dataset", row.id)
    with graph_for(store).snapshot() as graph:
        distances, edges = previous_traversal(graph.view(None), root, upstream, depth)
    names = graph.names(distances)
    found: dict[str, list[dict[str, Any]]] = {"dataset": [], "job": []}
    keys: dict[Any, str] = {}
    for node, distance in distances.items():
        namespace_, name_ = names[node]
        key = keys[node] = f"{node[0]}:{namespace_}:{name_}"
        if node != root:
            found[node[0]].append({"type": node[0], "namespace": namespace_, "name": name_, "key": key,
                                   "distance": distance})
    order = lambda item: (item["distance"], item["namespace"], item["name"])  # noqa: E731
    return {
        "root": queries._node_dict(graph, root, names), "direction": "upstream" if upstream else "downstream",
        "depth": depth, "as_of": None,
        "datasets": sorted(found["dataset"], key=order), "jobs": sorted(found["job"], key=order),
        "edges": [{"from": a, "to": b} for a, b in sorted({(keys[a], keys[b]) for a, b in edges})],
    }


def previous_traversal(view: Any, root: Any, upstream: bool, max_depth: int) -> tuple[dict[Any, int], list[Any]]:
    """`queries.walk_lineage` as of af7c072."""
    if root not in view:
        return {root: 0}, []
    neighbours = view.pred if upstream else view.succ
    limit = 2 * max_depth
    best, levels, edges, halves = {root: 0}, [[root]], [], 0
    while halves < len(levels):
        for node in levels[halves]:
            if best[node] != halves:
                continue
            kind = node[0]
            for other in neighbours[node]:
                reached = halves + (1 if other[0] != kind else 2)
                if reached > limit:
                    continue
                edges.append((other, node) if upstream else (node, other))
                if reached < best.get(other, reached + 1):
                    best[other] = reached
                    levels.extend([] for _ in range(reached + 1 - len(levels)))
                    levels[reached].append(other)
        halves += 1
    return {node: (h + 1) // 2 for node, h in best.items()}, edges


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float, float]:
    start, start_cpu = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - start) * 1000, (time.process_time() - start_cpu) * 1000


def measure(store: LineageStore, picks: list[str], direction: str, depth: int, namespace: str | None) -> dict[str, Any]:
    """Ours and the previous code alternating on each pick; answers compared. `namespace` None: the
    datasets are named without it (the API's and CLI's default), which `resolve` looks up in the store."""
    fn = getattr(queries, direction)
    ours: dict[str, list[float]] = {"wall": [], "cpu": []}
    before: dict[str, list[float]] = {"wall": [], "cpu": []}
    sizes = []
    for i, name in enumerate(picks):
        # Whichever runs first may find the database's pages colder: take turns.
        if i % 2:
            old, old_wall, old_cpu = timed(previous_walk, store, name, depth, direction == "upstream", namespace)
        new, wall, cpu = timed(fn, store, name, namespace=namespace, depth=depth)
        if not i % 2:
            old, old_wall, old_cpu = timed(previous_walk, store, name, depth, direction == "upstream", namespace)
        if new != old:
            raise SystemExit(f"FAIL: {direction} depth {depth} of {name} differs from the previous code's answer")
        ours["wall"].append(wall), ours["cpu"].append(cpu)
        before["wall"].append(old_wall), before["cpu"].append(old_cpu)
        sizes.append(len(new["datasets"]))
    cte = cte_latency(store, direction, picks[: max(10, len(picks) // 5)], depth) if namespace else (0.0, 0.0)
    summary = lambda t: (statistics.median(t["wall"]), percentile(t["wall"], 0.95), statistics.median(t["cpu"]))  # noqa: E731
    return {"ours": summary(ours), "previous": summary(before), "cte": cte, "datasets": statistics.mean(sizes)}


def build(url: str, n_datasets: int, batch: int) -> tuple[LineageStore, dict[str, float]]:
    events = make_events(n_datasets, 7)
    store = LineageStore.open(url)
    start = time.perf_counter()
    for offset in range(0, len(events), batch):
        store.ingest(events[offset : offset + batch], validate=False)
    ingest_s = time.perf_counter() - start
    analyze(store)
    _, cold_ms, cold_cpu_ms = timed(queries.upstream, store, f"ds_{n_datasets - 1}", namespace=NS, depth=1)
    return store, {"events": len(events), "ingest_s": ingest_s, "cold_ms": cold_ms, "cold_cpu_ms": cold_cpu_ms}


def bench_schema(url: str, reuse: str | None, keep: bool) -> tuple[str, Any, bool]:
    """The schema's URL, its clean-up and whether it must be built: a fresh schema, dropped afterwards
    unless `keep`; or `reuse`, an existing one (kept), so a 1M store is built once for several runs."""
    schema = reuse or f"obs_bench_pg_{uuid.uuid4().hex[:8]}"
    probe = LineageStore.open(url, migrate=False)  # the store's choice of driver for this URL
    admin = create_engine(probe.engine.url, isolation_level="AUTOCOMMIT")
    probe.dispose()
    if not reuse:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"

    def drop() -> None:
        if not (keep or reuse):
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        else:
            print(f"schema kept: {schema} (--reuse-schema {schema}; drop it with DROP SCHEMA \"{schema}\" CASCADE)")
        admin.dispose()

    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}", drop, reuse is None


def analyze(store: LineageStore) -> None:
    """Planner statistics for the freshly loaded tables, as autovacuum would gather them (it is off on
    some servers, this machine's included): without them PostgreSQL reads 500 names by id with a
    sequential scan (~6 ms instead of ~0.3) and runs the recursive CTE 50x slower."""
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def reopen(url: str, n_datasets: int) -> tuple[LineageStore, dict[str, float]]:
    """A store built by an earlier run (--reuse-schema): only the cold graph build is timed."""
    store = LineageStore.open(url)
    analyze(store)
    _, cold_ms, cold_cpu_ms = timed(queries.upstream, store, f"ds_{n_datasets - 1}", namespace=NS, depth=1)
    return store, {"events": store.event_count(), "ingest_s": float("nan"), "cold_ms": cold_ms,
                   "cold_cpu_ms": cold_cpu_ms}


def report(n: int, built: dict[str, float], results: dict[tuple[str, int, str], dict[str, Any]], n_queries: int) -> bool:
    print(f"PostgreSQL, {n:,} datasets, {built['events']:,} events ingested in {built['ingest_s']:.0f} s; "
          f"cold graph build {built['cold_ms']:,.0f} ms (CPU {built['cold_cpu_ms']:,.0f} ms); "
          f"1-min load {os.getloadavg()[0]:.1f}; {n_queries} queries per kind")
    ok = True
    for (direction, depth, named), r in results.items():
        (p50, p95, cpu), (b50, b95, bcpu), (c50, c95) = r["ours"], r["previous"], r["cte"]
        verdict = "" if depth != 10 else ("  PASS" if p95 <= TARGET_P95_MS else "  FAIL")
        ok &= depth != 10 or p95 <= TARGET_P95_MS
        cte = f"recursive CTE p50 {c50:7.2f} p95 {c95:7.2f}" if c50 else "(name without namespace)"
        print(f"{direction:10s} d{depth:<2d} ({r['datasets']:4.0f} datasets): ours p50 {p50:6.2f} p95 {p95:6.2f} ms "
              f"CPU {cpu:6.2f} | previous p50 {b50:6.2f} p95 {b95:6.2f} CPU {bcpu:6.2f} (p95 ratio {p95 / b95:.2f}) | "
              f"{cte}{verdict}")
    print(f"target depth-10 p95 <= {TARGET_P95_MS:.0f} ms: {'PASS' if ok else 'FAIL'}; answers identical to the previous code")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=DEFAULT_URL)
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="smoke run: 5,000 datasets, 40 queries")
    parser.add_argument("--keep-schema", action="store_true", help="keep the built schema for --reuse-schema")
    parser.add_argument("--reuse-schema", metavar="SCHEMA", help="query a schema kept by an earlier run "
                        "(same --datasets) instead of building one")
    args = parser.parse_args()
    if args.quick:
        args.datasets, args.queries = 5000, 40
    url, drop, fresh = bench_schema(args.db, args.reuse_schema, args.keep_schema)
    try:
        store, built = build(url, args.datasets, args.batch) if fresh else reopen(url, args.datasets)
        rng = random.Random(8)
        picks = [f"ds_{rng.randrange(max(2, args.datasets // 100), args.datasets)}" for _ in range(args.queries)]
        kinds = [(d, depth, NS) for depth in (3, 10) for d in ("upstream", "downstream")]
        kinds += [(d, 10, None) for d in ("upstream", "downstream")]
        results = {(d, depth, ns or "name only"): measure(store, picks, d, depth, ns) for d, depth, ns in kinds}
        store.dispose()
    finally:
        drop()
    sys.exit(0 if report(args.datasets, built, results, args.queries) else 1)


if __name__ == "__main__":
    main()
