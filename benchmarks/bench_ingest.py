"""Ingest throughput with validation and durable commits: `obs ingest`, HTTP batches, HTTP single events.

    .venv-test/bin/python benchmarks/bench_ingest.py                              # SQLite + PostgreSQL
    .venv-test/bin/python benchmarks/bench_ingest.py --events 20000 --no-pg
    .venv-test/bin/python benchmarks/bench_ingest.py --baseline-tree /tmp/wt-h4   # before/after, same run
    .venv-test/bin/python benchmarks/bench_ingest.py --quick                      # smoke run, tiny sizes

A baseline tree is any checkout, e.g. `git -C . archive 6052bb0 | tar -x -C /tmp/ingest-base` (the
issue's "today"; its `obs` entry point and `lineage/validation.py` layout are handled).

Events: `bench_lineage_store.make_events` (COMPLETE RunEvents, 2 inputs, 1 output, a job and run each),
schema validation on (lenient, the default), SQLite in WAL with `synchronous=FULL`, PostgreSQL
(`--pg`, default 127.0.0.1:5432 db test) in a fresh schema per measurement. Every figure uses a fresh
store. Figures, from one client process:

* `obs ingest FILE` (a real subprocess, JSON lines, default batch 500): events/s end to end
  (interpreter start and imports included) and net of the fixed cost (the same command on a 1-event
  file subtracted);
* HTTP batches: `obs serve` (a real uvicorn subprocess), JSON arrays of `--batch` events posted one
  after another over one keep-alive connection;
* HTTP single events: one event per POST from `--clients` threads;
* in process: `LineageStore.ingest` without validation (store only), validation alone;
* same-run baseline: a raw executemany (SQLite) / COPY (PostgreSQL) of the same rows (event hash +
  canonical JSON) into a bare table, one transaction per batch.

With `--baseline-tree DIR` (a checkout of the code before, e.g. `git worktree add /tmp/wt HEAD`) the
same measurements run on that code too, alternating, and the ratios after/before are printed.
Targets (issue #18): >= 10,000 events/s through `obs ingest` and HTTP batches on each backend;
single-event HTTP >= 3x the baseline tree's rate. The last lines print PASS/FAIL.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_EVENTS_PER_S = 10_000
TARGET_SINGLE_RATIO = 3.0
NS = "bench://warehouse"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------------- stores
@contextmanager
def fresh_store_url(backend: str, pg_url: str, folder: Path) -> Iterator[str]:
    """A URL of an empty store: a new SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'store-{uuid.uuid4().hex[:8]}.db'}"
        return
    from sqlalchemy import create_engine, text

    schema = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg2://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in pg_url else "?"
        yield f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# ---------------------------------------------------------------------- events
def make_events(n: int, seed: int) -> list[dict[str, Any]]:
    """The events of `bench_lineage_store.make_events` (copied: importing it would put this checkout's
    `lineage` first on the path, and a baseline tree must use its own)."""
    rng = random.Random(seed)
    sources = max(2, n // 100)
    out = []
    for i in range(sources, sources + n):
        lo = max(0, i - 200)
        out.append({
            "eventType": "COMPLETE",
            "eventTime": (T0 + timedelta(seconds=i)).isoformat(),
            "run": {"runId": str(uuid.UUID(int=rng.getrandbits(128), version=4))},
            "job": {"namespace": "bench", "name": f"job_{i}"},
            "inputs": [{"namespace": NS, "name": f"ds_{j}"} for j in rng.sample(range(lo, i), 2)],
            "outputs": [{"namespace": NS, "name": f"ds_{i}"}],
            "producer": "https://example.com/bench",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        })
    return out


# ---------------------------------------------------------------------- measurements (worker side)
def obs_command(tree: Path) -> list[str]:
    return [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tree)!r}); "
            # The console script `main`; in older trees (6052bb0) `main` is the typer callback and `app` the entry
            "import observability_pipelines.cli as c; sys.argv[0] = 'obs'; "
            "(c.main if 'console script' in (c.main.__doc__ or '') else c.app)()"]


def child_env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBS_LINEAGE")}
    env["PYTHONPATH"] = str(tree)
    return env


def cli_rate(tree: Path, url: str, path: Path, n: int) -> float:
    started = time.perf_counter()
    subprocess.run([*obs_command(tree), "ingest", str(path), "--db", url, "--json"], env=child_env(tree),
                   check=True, capture_output=True)
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server(tree: Path, url: str) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen([*obs_command(tree), "serve", "--db", url, "--port", str(port)], env=child_env(tree),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("obs serve did not answer /healthz within 60 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def post_all(port: int, bodies: list[bytes]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for body in bodies:
        conn.request("POST", "/api/v1/lineage", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(f"POST answered {response.status}")
    conn.close()


def http_rate(port: int, bodies: list[bytes], n_events: int, clients: int) -> float:
    shares = [bodies[i::clients] for i in range(clients)]
    errors: list[BaseException] = []

    def run(share: list[bytes]) -> None:
        try:
            post_all(port, share)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return n_events / (time.perf_counter() - started)


def raw_rate(url: str, events: list[dict[str, Any]], batch: int) -> float:
    """executemany (SQLite) / COPY (PostgreSQL) of event hash + canonical JSON into a bare table."""
    from lineage.store import LineageStore, canonical_json, event_hash

    store = LineageStore.open(url, migrate=False)
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, event_hash VARCHAR(64) UNIQUE NOT NULL, "
                    "payload TEXT NOT NULL)" if store.dialect == "sqlite" else
                    "CREATE TABLE bench_raw (id SERIAL PRIMARY KEY, event_hash VARCHAR(64) UNIQUE NOT NULL, "
                    "payload TEXT NOT NULL)")
        raw.commit()
        started = time.perf_counter()
        for offset in range(0, len(events), batch):
            rows = [(event_hash(e), canonical_json(e)) for e in events[offset : offset + batch]]
            if store.dialect == "sqlite":
                cur.execute("BEGIN")
                cur.executemany("INSERT INTO bench_raw (event_hash, payload) VALUES (?, ?)", rows)
            else:
                import io

                text = "".join(f"{h}\t{_copy_escape(p)}\n" for h, p in rows)
                cur.copy_expert("COPY bench_raw (event_hash, payload) FROM STDIN", io.StringIO(text))
            raw.commit()
        return len(events) / (time.perf_counter() - started)
    finally:
        raw.close()
        store.dispose()


def _copy_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def in_process_rates(url: str, events: list[dict[str, Any]], batch: int) -> tuple[float, float]:
    from lineage.store import LineageStore

    try:
        from lineage.store.validation import default_validator
    except ImportError:  # trees before the store package (e.g. 6052bb0): lineage/validation.py
        from lineage.validation import default_validator  # type: ignore[no-redef]

    validator = default_validator()
    screen = getattr(validator, "screen", None) or (lambda batch: [validator.validate(e) for e in batch])
    started = time.perf_counter()
    screen(events)
    validate = len(events) / (time.perf_counter() - started)
    store = LineageStore.open(url)
    try:
        started = time.perf_counter()
        for offset in range(0, len(events), batch):
            store.ingest(events[offset : offset + batch], validate=False)
        return len(events) / (time.perf_counter() - started), validate
    finally:
        store.dispose()


def worker(args: argparse.Namespace) -> dict[str, Any]:
    """All measurements for one code tree and backend (run in a subprocess with that tree first on the path)."""
    tree = Path(args.tree)
    events = make_events(args.events, seed=7)
    out: dict[str, Any] = {"tree": str(tree), "backend": args.backend, "events": len(events)}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        folder = Path(tmp)
        lines = folder / "events.jsonl"
        lines.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
        one = folder / "one.jsonl"
        one.write_text(json.dumps(events[0]) + "\n", encoding="utf-8")

        def store(fn: Callable[[str], Any]) -> Any:
            with fresh_store_url(args.backend, args.pg, folder) as url:
                return fn(url)

        fixed = store(lambda url: cli_rate(tree, url, one, 1))
        wall = store(lambda url: cli_rate(tree, url, lines, len(events)))
        out |= {"cli_wall_s": wall, "cli_fixed_s": fixed, "cli_events_per_s": len(events) / wall,
                "cli_net_events_per_s": len(events) / max(wall - fixed, 1e-9)}
        batches = [json.dumps(events[i : i + args.batch]).encode() for i in range(0, len(events), args.batch)]
        singles = [json.dumps(e).encode() for e in events[: args.single]]

        def over_http(url: str) -> tuple[float, float]:
            with server(tree, url) as port:
                post_all(port, [singles[0]])  # warm-up: validator compiled, store opened
                return (http_rate(port, batches, len(events), 1),
                        http_rate(port, singles[1:], len(singles) - 1, args.clients))

        out["http_batch_events_per_s"], out["http_single_events_per_s"] = store(over_http)
        out["store_only_events_per_s"], out["validation_events_per_s"] = store(
            lambda url: in_process_rates(url, events, args.batch))
        out["raw_events_per_s"] = store(lambda url: raw_rate(url, events, args.batch))
    return out


# ---------------------------------------------------------------------- driver
def run_worker(tree: Path, backend: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--tree", str(tree), "--backend", backend,
               "--events", str(args.events), "--batch", str(args.batch), "--single", str(args.single),
               "--clients", str(args.clients), "--pg", args.pg]
    done = subprocess.run(command, env=child_env(tree), check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


FIGURES = (
    ("cli_events_per_s", "obs ingest, end to end"),
    ("cli_net_events_per_s", "obs ingest, net of start-up"),
    ("http_batch_events_per_s", "HTTP batches"),
    ("http_single_events_per_s", "HTTP single events"),
    ("store_only_events_per_s", "store only (no validation)"),
    ("validation_events_per_s", "validation only"),
    ("raw_events_per_s", "raw executemany / COPY"),
)


def report(results: dict[tuple[str, str], list[dict[str, Any]]], args: argparse.Namespace) -> list[str]:
    lines: list[str] = []
    verdicts: list[str] = []
    for backend in args.backends:
        now = results[(backend, "current")]
        before = results.get((backend, "baseline"))
        lines.append(f"\n{backend}: {args.events:,} events, batch {args.batch}, {args.clients} single-event clients, "
                     f"median of {len(now)} round(s)")
        for key, label in FIGURES:
            value = statistics.median(r[key] for r in now)
            row = f"  {label:30s} {value:>10,.0f} events/s"
            if key not in ("raw_events_per_s",):
                raw = statistics.median(r["raw_events_per_s"] for r in now)
                row += f"  ({value / raw:.2f} of raw)"
            if before:
                old = statistics.median(r[key] for r in before)
                row += f"  baseline tree {old:>9,.0f}  ({value / old:.2f}x)"
            lines.append(row)
        cli = statistics.median(r["cli_events_per_s"] for r in now)
        cli_net = statistics.median(r["cli_net_events_per_s"] for r in now)
        batch = statistics.median(r["http_batch_events_per_s"] for r in now)
        verdicts += [
            f"{backend} obs ingest >= {TARGET_EVENTS_PER_S:,}/s end to end: {_pf(cli >= TARGET_EVENTS_PER_S)} ({cli:,.0f})",
            f"{backend} obs ingest >= {TARGET_EVENTS_PER_S:,}/s net of start-up: "
            f"{_pf(cli_net >= TARGET_EVENTS_PER_S)} ({cli_net:,.0f})",
            f"{backend} HTTP batches >= {TARGET_EVENTS_PER_S:,}/s: {_pf(batch >= TARGET_EVENTS_PER_S)} ({batch:,.0f})",
        ]
        if before:
            single = statistics.median(r["http_single_events_per_s"] for r in now)
            old = statistics.median(r["http_single_events_per_s"] for r in before)
            verdicts.append(f"{backend} HTTP single >= {TARGET_SINGLE_RATIO:g}x baseline tree: "
                            f"{_pf(single >= TARGET_SINGLE_RATIO * old)} ({single / old:.2f}x)")
    return [*lines, "", "targets:", *(f"  {v}" for v in verdicts)]


def _pf(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500, help="events per HTTP batch / transaction")
    parser.add_argument("--single", type=int, default=2_000, help="events posted one per request")
    parser.add_argument("--clients", type=int, default=8, help="threads posting single events")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL URL (a schema is created and dropped)")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--baseline-tree", type=Path, help="a checkout of the code to compare against")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 events, 200 single, SQLite only")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if args.quick:  # a smoke run of every figure at a tiny size: the verdicts say nothing about the targets
        args.events, args.single, args.no_pg, args.rounds = 1_000, 200, True, 1
    args.backends = ["sqlite"] if args.no_pg else ["sqlite", "postgresql"]
    trees = [("current", ROOT)] + ([("baseline", args.baseline_tree.resolve())] if args.baseline_tree else [])
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for backend in args.backends:
            for name, tree in trees:  # alternating: load changes hit both trees alike
                results.setdefault((backend, name), []).append(run_worker(tree, backend, args))
                load.append(os.getloadavg()[0])
    if args.json:
        print(json.dumps({"results": {f"{b}/{n}": r for (b, n), r in results.items()}, "load": load}, indent=2))
        return
    print(f"1-minute load average during the run: {min(load):.1f}-{max(load):.1f} ({os.cpu_count()} CPUs)")
    print("\n".join(report(results, args)))


if __name__ == "__main__":
    main()
