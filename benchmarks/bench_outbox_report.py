"""What worker outbox reports (lineage.emission.outbox_report) add to an emit, and what they cost /metrics.

    python benchmarks/bench_outbox_report.py [--runs 40] [--json]

* emit: the first emit of a process (the one that reports; later ones within 30 s only compare a timestamp),
  with the report vs with it switched off, alternating, medians; through the ``obs_lineage_store`` transport
  (a row written) and the ``obs_lineage_api`` transport (one more POST to a live ``obs serve`` app).
* scrape: ``/metrics`` with 0, 10 and 100 worker reports stored, against the same store without reports.
Absolute times depend on the load (printed); the ratios are against baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "support")]

from helpers.lineage_live import LiveServer  # noqa: E402
from helpers.lineage_workers import simple_event  # noqa: E402
from lineage.emission import outbox_report  # noqa: E402
from lineage.emission.emitter import LineageEmitter  # noqa: E402
from lineage.emission.transports.lineage_api import LineageApiConfig, LineageApiTransport  # noqa: E402
from lineage.emission.transports.store import LineageStoreConfig, LineageStoreTransport  # noqa: E402
from lineage.serve import metrics  # noqa: E402
from lineage.serve.api import create_app  # noqa: E402
from lineage.store import LineageStore, utcnow, worker_reports  # noqa: E402
from prometheus_client import generate_latest  # noqa: E402


def first_emit_ms(tmp: Path, make_transport, report: bool, runs: int, offset: int) -> float:
    times = []
    for i in range(runs):
        path = tmp / f"outbox-{offset}-{report}-{i}.db"
        outbox_report._last.clear()
        if not report:  # as if this process had just reported: the emit skips it
            outbox_report._last[str(path)] = (time.monotonic(), 0)
        emitter = LineageEmitter(outbox_path=path, transport=make_transport())
        started = time.perf_counter()
        emitter.emit(simple_event(offset + i + (500_000 if report else 0)))
        times.append(time.perf_counter() - started)
        emitter.close()
    return statistics.median(times) * 1000


def emit_rows(tmp: Path, store: LineageStore, url: str, runs: int) -> list[dict]:
    transports = {"obs_lineage_store": lambda: LineageStoreTransport(LineageStoreConfig(store=store)),
                  "obs_lineage_api": lambda: LineageApiTransport(LineageApiConfig(url=url))}
    rows = []
    for n, (name, make) in enumerate(transports.items()):
        first_emit_ms(tmp, make, True, 3, 10_000 * n)  # warm-up
        off, on = [], []
        for rep in range(3):  # alternate so load changes hit both
            off.append(first_emit_ms(tmp, make, False, runs, 10_000 * n + 1_000 * rep))
            on.append(first_emit_ms(tmp, make, True, runs, 10_000 * n + 1_000 * rep + 100))
        base, with_report = statistics.median(off), statistics.median(on)
        rows.append({"transport": name, "no_report_ms": round(base, 2), "with_report_ms": round(with_report, 2),
                     "ratio": round(with_report / base, 3)})
    return rows


def scrape_rows(tmp: Path, runs: int) -> list[dict]:
    rows = []
    for workers in (0, 10, 100):
        store = LineageStore.open(f"sqlite:///{tmp / f'scrape-{workers}.db'}")
        store.ingest([simple_event(i) for i in range(200)])
        with store.write() as conn:
            for w in range(workers):
                worker_reports.put(conn, worker_reports.WorkerReport(
                    f"host-{w}:0000", f"host-{w}", w, 0, 1.0, None, datetime.now(UTC).replace(tzinfo=None)), utcnow())
        registry = metrics.metrics_registry(store, outbox_path=False)
        generate_latest(registry)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            generate_latest(registry)
            times.append(time.perf_counter() - started)
        rows.append({"workers": workers, "scrape_ms": round(statistics.median(times) * 1000, 2)})
        store.dispose()
    base = rows[0]["scrape_ms"]
    for row in rows:
        row["ratio"] = round(row["scrape_ms"] / base, 3)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_outbox_report_"))
    os.environ.pop(outbox_report.WORKER_ID_ENV, None)
    store = LineageStore.open(f"sqlite:///{tmp / 'lineage.db'}")
    with LiveServer(create_app(store=store)) as server:
        emit = emit_rows(tmp, store, server.url, args.runs)
    out = {"load": os.getloadavg(), "runs": args.runs, "emit": emit, "scrape": scrape_rows(tmp, args.runs // 2)}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"load average {out['load'][0]:.1f}; medians of {args.runs} first emits x 3 alternations")
    for row in emit:
        print(f"  first emit, {row['transport']:18s} no report {row['no_report_ms']:7.2f} ms  "
              f"with report {row['with_report_ms']:7.2f} ms  ratio {row['ratio']:.2f}")
    for row in out["scrape"]:
        print(f"  /metrics scrape, {row['workers']:3d} worker reports  {row['scrape_ms']:7.2f} ms  ratio {row['ratio']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
