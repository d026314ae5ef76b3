"""Lineage store benchmark: ingest throughput and upstream/downstream query latency.

    .venv/bin/python benchmarks/bench_lineage_store.py                      # SQLite temp file
    .venv/bin/python benchmarks/bench_lineage_store.py --db postgresql://postgres@127.0.0.1:5432/test

Generates a lineage graph of `--datasets` datasets (default 100,000): the first 1% are sources,
every other dataset is written by one run of its own job that reads two datasets from the
preceding 200 (a long, locally-connected DAG). Each run is one COMPLETE RunEvent.

Reports, from one process:
* ingest events/s through `LineageStore.ingest` (batches of `--batch`, one transaction each,
  validation off: it is measured separately) and, as a same-run baseline, a raw SQLAlchemy
  executemany INSERT of the same canonical-JSON rows into a bare table;
* schema validation events/s (jsonschema, the API path) on a sample;
* the cold graph build (first query) and median / p95 latency of `queries.upstream` and
  `queries.downstream` for random datasets at depth 3 and 10, through the public Python API;
  as a same-run baseline, the same walk done by the database itself (one recursive CTE over the
  input/output edges, ids only: no name resolution, no job versions, no names).

Targets (issue #18): depth-10 p95 <= 20 ms (PostgreSQL at 100k datasets), depth-3 p95 <= 20 ms,
ingest >= 5,000 events/s. The last line prints each with its figure and pass/fail.

On PostgreSQL the run uses a fresh schema that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, text  # noqa: E402

from lineage.graph import queries  # noqa: E402
from lineage.store import LineageStore, canonical_json, event_hash  # noqa: E402
from lineage.store.validation import default_validator  # noqa: E402

NS = "bench://warehouse"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def make_events(n_datasets: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    sources = max(2, n_datasets // 100)
    events = []
    for i in range(sources, n_datasets):
        lo = max(0, i - 200)
        inputs = rng.sample(range(lo, i), 2) if i - lo >= 2 else [0, 1]
        events.append(
            {
                "eventType": "COMPLETE",
                "eventTime": (T0 + timedelta(seconds=i)).isoformat(),
                "run": {"runId": str(uuid.UUID(int=rng.getrandbits(128), version=4))},
                "job": {"namespace": "bench", "name": f"job_{i}"},
                "inputs": [{"namespace": NS, "name": f"ds_{j}"} for j in inputs],
                "outputs": [{"namespace": NS, "name": f"ds_{i}"}],
                "producer": "https://example.com/bench",
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            }
        )
    return events


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def raw_insert_rate(url: str, events: list[dict[str, Any]], batch: int) -> float:
    """Baseline: the same rows (hash + canonical JSON) with plain executemany, no derivation."""
    engine = create_engine(LineageStore.open(url, migrate=False).engine.url)
    meta = MetaData()
    table = Table(
        f"bench_raw_{uuid.uuid4().hex[:8]}",
        meta,
        Column("id", Integer, primary_key=True),
        Column("event_hash", String(64), unique=True, nullable=False),
        Column("payload", Text, nullable=False),
    )
    meta.create_all(engine)
    try:
        start = time.perf_counter()
        for offset in range(0, len(events), batch):
            rows = [
                {"event_hash": event_hash(e), "payload": canonical_json(e)} for e in events[offset : offset + batch]
            ]
            with engine.begin() as conn:
                conn.execute(table.insert(), rows)
        return len(events) / (time.perf_counter() - start)
    finally:
        meta.drop_all(engine)
        engine.dispose()


def latency(store: LineageStore, fn: Any, names: list[str], depth: int) -> tuple[float, float, float, float]:
    """Median and p95 wall ms, mean datasets returned, median CPU ms of this process (on a loaded
    machine the steadier figure; it leaves out the database server's time)."""
    timings = []
    cpu = []
    sizes = []
    for name in names:
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn(store, name, namespace=NS, depth=depth)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        sizes.append(len(result["datasets"]))
    return statistics.median(timings), percentile(timings, 0.95), statistics.mean(sizes), statistics.median(cpu)


# The database walking the same lineage (every edge, no job versions): what one SQL statement costs.
_CTE = {
    "upstream": ("o.dataset_id = w.dataset_id AND o.direction = 'out'", "n.run_id = o.run_id AND n.direction = 'in'"),
    "downstream": ("o.dataset_id = w.dataset_id AND o.direction = 'in'", "n.run_id = o.run_id AND n.direction = 'out'"),
}


def cte_latency(store: LineageStore, direction: str, names: list[str], depth: int) -> tuple[float, float]:
    step, hop = _CTE[direction]
    sql = text(
        "WITH RECURSIVE w(dataset_id, depth) AS ("
        " SELECT d.id, 0 FROM lineage_datasets d WHERE d.namespace = :ns AND d.name = :name"
        f" UNION SELECT n.dataset_id, w.depth + 1 FROM w JOIN lineage_io_edges o ON {step}"
        f" JOIN lineage_io_edges n ON {hop} WHERE w.depth < :depth)"
        " SELECT DISTINCT dataset_id FROM w"
    )
    timings = []
    for name in names:
        start = time.perf_counter()
        with store.read() as conn:
            conn.execute(sql, {"ns": NS, "name": name, "depth": depth}).all()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings), percentile(timings, 0.95)


def run(url: str, n_datasets: int, batch: int, n_queries: int, seed: int) -> dict[str, Any]:
    events = make_events(n_datasets, seed)
    store = LineageStore.open(url)
    sample = events[:2000]
    start = time.perf_counter()
    default_validator().validate_batch(sample)
    validate_rate = len(sample) / (time.perf_counter() - start)

    start = time.perf_counter()
    for offset in range(0, len(events), batch):
        store.ingest(events[offset : offset + batch], validate=False)
    ingest_seconds = time.perf_counter() - start
    ingest_rate = len(events) / ingest_seconds
    assert store.event_count() == len(events)
    again = store.ingest(events[:batch], validate=False)
    assert again.stored == 0

    baseline = raw_insert_rate(url, events, batch)

    rng = random.Random(seed + 1)
    start, start_cpu = time.perf_counter(), time.process_time()
    queries.upstream(store, f"ds_{n_datasets - 1}", namespace=NS, depth=1)
    cold_ms = (time.perf_counter() - start) * 1000
    cold_cpu_ms = (time.process_time() - start_cpu) * 1000
    sources = max(2, n_datasets // 100)
    # Written datasets always exist (a source only exists once some job has read it).
    picks = [f"ds_{rng.randrange(sources, n_datasets)}" for _ in range(n_queries)]
    results: dict[str, Any] = {
        "url": store.url,
        "datasets": n_datasets,
        "events": len(events),
        "batch": batch,
        "ingest_events_per_s": ingest_rate,
        "ingest_seconds": ingest_seconds,
        "raw_executemany_events_per_s": baseline,
        "validate_events_per_s": validate_rate,
        "cold_graph_build_ms": cold_ms,
        "cold_graph_build_cpu_ms": cold_cpu_ms,
        "load": os.getloadavg()[0],
    }
    for depth in (3, 10):
        for label, fn in (("upstream", queries.upstream), ("downstream", queries.downstream)):
            median, p95, mean_size, cpu = latency(store, fn, picks, depth)
            cte_median, cte_p95 = cte_latency(store, label, picks[: max(20, n_queries // 5)], depth)
            results[f"{label}_d{depth}"] = {"median_ms": median, "p95_ms": p95, "mean_datasets_returned": mean_size,
                                            "cpu_median_ms": cpu,
                                            "cte_median_ms": cte_median, "cte_p95_ms": cte_p95}
    store.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    cleanup = None
    tmp = None
    url = args.db
    if url is None:
        tmp = tempfile.TemporaryDirectory(prefix="lineage-bench-")
        url = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    elif url.startswith(("postgresql", "postgres")):
        schema = f"lineage_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(LineageStore.open(url, migrate=False).engine.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}options={quote(f'-csearch_path={schema}')}"

        def cleanup() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    try:
        r = run(url, args.datasets, args.batch, args.queries, args.seed)
    finally:
        if cleanup:
            cleanup()
        if tmp:
            tmp.cleanup()

    print(f"store: {r['url']}  datasets: {r['datasets']:,}  events: {r['events']:,}  batch: {r['batch']}")
    print(
        f"ingest: {r['ingest_events_per_s']:,.0f} events/s ({r['ingest_seconds']:.1f} s); "
        f"raw executemany of the same rows: {r['raw_executemany_events_per_s']:,.0f} events/s "
        f"(ratio {r['ingest_events_per_s'] / r['raw_executemany_events_per_s']:.2f})"
    )
    print(f"schema validation (jsonschema): {r['validate_events_per_s']:,.0f} events/s")
    print(f"cold graph build (first query): {r['cold_graph_build_ms']:,.0f} ms (CPU {r['cold_graph_build_cpu_ms']:,.0f} ms); "
          f"1-min load average {r['load']:.1f}")
    for key in ("upstream_d3", "downstream_d3", "upstream_d10", "downstream_d10"):
        q = r[key]
        print(
            f"{key:15s} median {q['median_ms']:6.2f} ms  p95 {q['p95_ms']:6.2f} ms  CPU median {q['cpu_median_ms']:6.2f} ms  "
            f"(mean {q['mean_datasets_returned']:.0f} datasets returned, {args.queries} queries); "
            f"baseline recursive CTE median {q['cte_median_ms']:6.2f} ms  p95 {q['cte_p95_ms']:6.2f} ms"
        )
    checks = {
        "ingest >= 5,000 events/s": r["ingest_events_per_s"] >= 5000,
        **{f"{k} p95 <= 20 ms": r[k]["p95_ms"] <= 20 for k in ("upstream_d3", "downstream_d3", "upstream_d10",
                                                             "downstream_d10")},
    }
    print("targets: " + "; ".join(f"{name}: {'PASS' if ok else 'FAIL'}" for name, ok in checks.items()))


if __name__ == "__main__":
    main()
