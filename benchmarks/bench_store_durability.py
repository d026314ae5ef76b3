"""Cost of ``synchronous=FULL`` for the SQLite lineage store: ingest rate vs ``NORMAL`` in the same run.

    .venv/bin/python benchmarks/bench_store_durability.py                  # 3 rounds, batches of 1, 10, 200
    .venv/bin/python benchmarks/bench_store_durability.py --events 2000 --rounds 5 --dir /mnt/disk

WAL + NORMAL fsyncs only at checkpoints, so a power cut can lose the last acknowledged commits; FULL
fsyncs the WAL at every commit. The cost is therefore per transaction: one ``LineageStore.ingest`` call
(an API request) is one transaction. For each batch size the same events are ingested into fresh store
files under ``--dir`` (default: a temporary folder on the disk the store would use), NORMAL and FULL
alternating round by round; the median rate of each and their ratio are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lineage.store import LineageStore  # noqa: E402
from lineage.store import database  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_events(n: int) -> list[dict[str, Any]]:
    return [{
        "eventType": "COMPLETE", "eventTime": (T0 + timedelta(seconds=i)).isoformat(),
        "run": {"runId": str(uuid.UUID(int=i + 1, version=4))},
        "job": {"namespace": "bench", "name": f"job_{i % 500}"},
        "inputs": [{"namespace": "bench://w", "name": f"ds_{i % 700}"}],
        "outputs": [{"namespace": "bench://w", "name": f"ds_{(i % 700) + 700}"}],
        "producer": "https://example.com/bench", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
    } for i in range(n)]


def rate(folder: Path, mode: str, events: list[dict[str, Any]], batch: int) -> float:
    database.SQLITE_SYNCHRONOUS = mode  # read when a connection opens
    path = folder / f"{mode}-{batch}-{uuid.uuid4().hex[:6]}.db"
    store = LineageStore.open(f"sqlite:///{path}")
    try:
        started = time.perf_counter()
        for i in range(0, len(events), batch):
            store.ingest(events[i:i + batch], validate=False)
        return len(events) / (time.perf_counter() - started)
    finally:
        store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 10, 200])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    events = make_events(args.events)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        print(f"{args.events} events, {args.rounds} rounds, store files in {folder}")
        print(f"{'batch':>6} {'NORMAL ev/s':>12} {'FULL ev/s':>10} {'FULL/NORMAL':>12}")
        for batch in args.batches:
            normal, full = [], []
            for _ in range(args.rounds):
                normal.append(rate(folder, "NORMAL", events, batch))
                full.append(rate(folder, "FULL", events, batch))
            n, f = statistics.median(normal), statistics.median(full)
            print(f"{batch:>6} {n:>12.0f} {f:>10.0f} {f / n:>12.2f}")
    database.SQLITE_SYNCHRONOUS = "FULL"


if __name__ == "__main__":
    main()
