"""Reliability of the lineage API: crash consistency, fuzzing, hostile inputs (bounded in time).

* `kill -9` of the real server process (`obs serve`) while batches are in flight, on a SQLite
  file and on PostgreSQL: every acknowledged batch is stored whole, no batch is ever partial,
  derived rows match the events exactly (no orphans, nothing missing), SQLite's integrity check
  passes, the graph queries still answer; after a restart the client's retries are accepted and
  re-sending stored events is idempotent (event identity = sha256 of the canonical JSON).
* The API fuzzed from its own OpenAPI spec (`/openapi.json`) with schemathesis, positive and
  negative cases for every operation including the ingest body: only 2xx/4xx answers (4xx with
  a reason), and the server stays up and keeps ingesting.
* Regression tests for the 500s found while fuzzing (see each test).

Oversized bodies (plain, gzip bomb, chunked), deeply nested JSON (parser recursion and the depth
cap on valid JSON) and concurrent writers are covered in serve/test_api.py
(`test_body_size_cap`, `test_bad_requests_are_rejected_and_change_nothing[deep-json]`,
`test_depth_cap_on_valid_json`, `test_eight_processes_post_through_the_api`), not repeated here.
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from helpers.lineage_live import LiveServer, free_port
from helpers.lineage_scenario import PRODUCER, SHOP, as_dicts, pipeline_events
from helpers.lineage_workers import simple_event
from sqlalchemy import exists, func, select
from sqlalchemy.engine import make_url

from lineage.graph import queries
from lineage.store import tables as t
from lineage.serve.api import create_app
from lineage.store import LineageStore, event_hash

pytestmark = pytest.mark.slow  # servers killed mid-batch, outages and a schemathesis fuzz

INGEST = "/api/v1/lineage"
JSON_HEADERS = {"Content-Type": "application/json"}


# ====================================================================== kill -9 mid-batch
def _serve_command(port: int, db_url: str) -> list[str]:
    """`obs serve` as an operator runs it (the console script next to this interpreter)."""
    obs = Path(sys.executable).with_name("obs")
    if obs.exists():
        return [str(obs), "serve", "--port", str(port), "--db", db_url]
    return [sys.executable, "-c", "from observability_pipelines.cli import app; app()",
            "serve", "--port", str(port), "--db", db_url]  # fmt: skip


class ServerProcess:
    """The lineage API in its own process (own session, so a kill reaches nothing else)."""

    def __init__(self, db_url: str, workdir: Path, name: str) -> None:
        self.db_url = db_url
        self.workdir = workdir
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.log_path = workdir / f"{name}.log"

    def start(self, timeout: float = 60) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("OBS_LINEAGE_TOKEN", "OBS_LINEAGE_MAX_BODY")}
        env.update(OBS_LINEAGE_DB=self.db_url, DAGSTER_HOME=str(self.workdir), PYTHONUNBUFFERED="1")
        for _attempt in range(3):  # the free port can be taken before the server binds it
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    _serve_command(port, self.db_url), env=env, cwd=self.workdir,
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                )  # fmt: skip
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            self.kill()
        raise RuntimeError(f"{self.name} did not become healthy:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the server's whole process group, then reap it."""
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)


@pytest.fixture
def spawn_server(tmp_path: Path) -> Iterator[Callable[[str, str], ServerProcess]]:
    """Start `obs serve` processes; every one still alive is killed at teardown, pass or fail."""
    started: list[ServerProcess] = []

    def spawn(db_url: str, name: str) -> ServerProcess:
        server = ServerProcess(db_url, tmp_path, name)
        started.append(server)
        return server.start()

    try:
        yield spawn
    finally:
        for server in started:
            server.kill()


def _template() -> list[dict[str, Any]]:
    """The scenario's 14 events (7 runs) plus a run facet, so every derived table gets rows."""
    events = as_dicts(pipeline_events())
    for event in events:
        event["run"]["facets"] = {
            "nominalTime": {
                "_producer": PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
                "nominalStartTime": event["eventTime"],
            }
        }
    return events


def _make_batch(template: list[dict[str, Any]], replicas: int) -> list[dict[str, Any]]:
    """`replicas` copies of the template, each with fresh run ids: every event is distinct."""
    out = []
    for _ in range(replicas):
        run_ids: dict[str, str] = {}
        for event in template:
            copy = json.loads(json.dumps(event))
            copy["run"]["runId"] = run_ids.setdefault(event["run"]["runId"], str(uuid.uuid4()))
            out.append(copy)
    return out


class Poster:
    """Client threads posting JSON-array batches until the queue is empty or the server dies."""

    def __init__(self, base_url: str, bodies: dict[int, bytes], order: list[int], threads: int = 3) -> None:
        self.base_url = base_url
        self.bodies = bodies
        self.queue = collections.deque(order)
        self.lock = threading.Lock()
        self.in_flight: dict[int, float] = {}  # index -> when it was sent
        self.durations: list[float] = []  # of the answered requests
        self.acked: dict[int, dict[str, Any]] = {}
        self.lost: set[int] = set()  # sent (or about to be), no answer: the connection died
        self.unexpected: list[tuple[int, int, str]] = []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self) -> Poster:
        for thread in self.threads:
            thread.start()
        return self

    def join(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        assert not any(th.is_alive() for th in self.threads), "client threads hung"

    def request_sent_after(self, moment: float, deadline: float) -> float | None:
        """When the first request sent after `moment` went out, while it is still in flight."""
        while time.monotonic() < deadline:
            with self.lock:
                fresh = [sent for sent in self.in_flight.values() if sent > moment]
            if fresh:
                return min(fresh)
            time.sleep(0.001)
        return None

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=60) as client:
            while True:
                with self.lock:
                    if not self.queue:
                        return
                    index = self.queue.popleft()
                    self.in_flight[index] = time.monotonic()
                try:
                    response = client.post(INGEST, content=self.bodies[index], headers=JSON_HEADERS)
                except httpx.TransportError:
                    with self.lock:
                        self.in_flight.pop(index)
                        self.lost.add(index)
                    return
                with self.lock:
                    self.durations.append(time.monotonic() - self.in_flight.pop(index))
                    if response.status_code == 201:
                        self.acked[index] = response.json()
                    else:
                        self.unexpected.append((index, response.status_code, response.text[:500]))
                        return


def _event_hashes(store: LineageStore) -> list[str]:
    with store.read() as conn:
        return list(conn.execute(select(t.events.c.event_hash)).scalars())


def _present_batches(store: LineageStore, batch_hashes: dict[int, set[str]]) -> set[int]:
    """Indexes of the batches in the store; fails on any partial batch or unknown event."""
    stored = _event_hashes(store)
    assert len(stored) == len(set(stored)), "an event is stored twice"
    hashes = set(stored)
    present = set()
    for index, wanted in batch_hashes.items():
        found = len(wanted & hashes)
        assert found in (0, len(wanted)), f"batch {index} is partially stored: {found}/{len(wanted)} events"
        if found:
            present.add(index)
    known = set().union(*(batch_hashes[i] for i in present)) if present else set()
    assert hashes == known, f"{len(hashes - known)} stored events belong to no batch"
    return present


def _orphans(store: LineageStore) -> dict[str, int]:
    """Rows whose references do not resolve, and nodes/events missing their derived rows."""
    problems: dict[str, int] = {}
    with store.read() as conn:

        def count(name: str, table: Any, *where: Any) -> None:
            n = conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
            if n:
                problems[name] = n

        for table in t.ALL_TABLES:  # every declared foreign key resolves
            for fk in table.foreign_keys:
                col, ref = fk.parent, fk.column
                count(f"{table.name}.{col.name}->{ref.table.name}", table,
                      col.is_not(None), ~exists().where(ref == col))  # fmt: skip
        # Derived rows were written with their event: each RunEvent has its run and run state.
        run_events = t.events.c.run_uuid.is_not(None)
        count("run event without run", t.events, run_events, ~exists().where(t.runs.c.run_uuid == t.events.c.run_uuid))
        count("run event without run state", t.events, run_events,
              ~exists().where(t.run_states.c.event_id == t.events.c.id))  # fmt: skip
        count("run without state", t.runs, ~exists().where(t.run_states.c.run_id == t.runs.c.id))
        count("job no event mentions", t.jobs, ~exists().where(
            (t.events.c.job_namespace == t.jobs.c.namespace) & (t.events.c.job_name == t.jobs.c.name)))  # fmt: skip
        d = t.datasets.c.id
        count("dataset nothing refers to", t.datasets,
              ~exists().where(t.io_edges.c.dataset_id == d), ~exists().where(t.column_edges.c.src_dataset_id == d),
              ~exists().where(t.dataset_facets.c.dataset_id == d))  # fmt: skip
    return problems


def _sqlite_checks(db_url: str) -> None:
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite":
        return
    conn = sqlite3.connect(url.database)  # a fresh connection also replays the WAL left by the kill
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()


def _expected_counts(template: list[dict[str, Any]], workdir: Path) -> Callable[[int, int], dict[str, int]]:
    """Row counts per table for whole batches, measured on a reference store fed one copy of the
    template, then a second.

    Copies differ only in run ids, so runs and everything derived grow by the same amount per
    copy while datasets and jobs are shared.
    """
    with LineageStore.open(f"sqlite:///{workdir / 'reference.db'}") as ref:
        ref.ingest(_make_batch(template, 1))
        one = ref.counts()
        ref.ingest(_make_batch(template, 1))
        two = ref.counts()
    per_copy = {k: two[k] - one[k] for k in one}
    assert per_copy["datasets"] == per_copy["jobs"] == 0 and per_copy["events"] == len(template)

    def expected(batches: int, replicas: int) -> dict[str, int]:
        if batches == 0:
            return dict.fromkeys(one, 0)
        return {k: one[k] + (batches * replicas - 1) * per_copy[k] for k in one}

    return expected


def _graph_answers(store: LineageStore) -> tuple[dict[str, Any], dict[str, Any]]:
    return (
        queries.graph_as_of(store),
        queries.upstream(store, "serving.churn_predictions", namespace=SHOP),
    )


@pytest.mark.timeout(240)
def test_kill_9_mid_batch_leaves_a_consistent_store(
    db_url: str, tmp_path: Path, spawn_server: Callable[[str, str], ServerProcess]
) -> None:
    replicas, n_batches, kill_after = 8, 24, 4  # 112 events per batch
    template = _template()
    batches = {i: _make_batch(template, replicas) for i in range(n_batches)}
    bodies = {i: json.dumps(b).encode() for i, b in batches.items()}
    batch_hashes = {i: {event_hash(json.loads(json.dumps(e))) for e in b} for i, b in batches.items()}
    size = len(template) * replicas
    expected = _expected_counts(template, tmp_path)
    with LineageStore.open(f"sqlite:///{tmp_path / 'reference.db'}") as ref:
        reference_graph = _graph_answers(ref)  # the same nodes and edges as any k >= 1 batches

    stored_answer = {"received": size, "stored": size, "duplicates": 0}
    duplicate_answer = {"received": size, "stored": 0, "duplicates": size}
    acked: dict[int, dict[str, Any]] = {}
    sent: set[int] = set()  # acknowledged or lost in flight
    committed_unacked: set[int] = set()  # lost in flight, yet committed before the kill

    def check_answers(answers: dict[int, dict[str, Any]]) -> None:
        # A retried batch that was committed before the kill is all duplicates, never partial.
        for index, answer in answers.items():
            assert answer == (duplicate_answer if index in committed_unacked else stored_answer), (index, answer)

    pending = list(range(n_batches))
    for round_no in (1, 2):
        server = spawn_server(db_url, f"server-{round_no}")
        started = time.monotonic()
        poster = Poster(server.url, bodies, pending).start()
        deadline = started + 90
        while len(poster.acked) < kill_after and not poster.unexpected and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not poster.unexpected, poster.unexpected
        assert len(poster.acked) >= kill_after, "the server acknowledged too few batches in time"
        # Kill inside a request that has just gone out (parsing, validation or commit), at most the
        # fastest answered request's duration after it left, so it cannot have been answered yet.
        sent_at = poster.request_sent_after(time.monotonic(), deadline)
        assert sent_at is not None, "no request was sent after the first acknowledgements"
        time.sleep(max(0.0, sent_at + random.uniform(0, 0.8 * min(0.3, *poster.durations)) - time.monotonic()))
        server.kill()
        poster.join()
        assert not poster.unexpected, poster.unexpected
        assert poster.lost, "no request was in flight when the server was killed"
        check_answers(poster.acked)
        acked.update(poster.acked)
        sent |= set(poster.acked) | poster.lost

        # The store as the crash left it, read directly (no server running).
        _sqlite_checks(db_url)
        with LineageStore.open(db_url) as store:
            present = _present_batches(store, batch_hashes)
            assert set(acked) <= present, f"acknowledged batches missing after kill -9: {set(acked) - present}"
            assert present <= sent, "a batch never sent is stored"
            assert store.counts() == expected(len(present), replicas)
            assert _orphans(store) == {}
            assert _graph_answers(store) == reference_graph
        committed_unacked |= poster.lost & present
        # The client retries what got no answer, then sends what it had not sent yet.
        pending = sorted(poster.lost) + list(poster.queue)
        print(f"round {round_no}: acked {len(poster.acked)}, lost {sorted(poster.lost)} "
              f"(committed anyway: {sorted(i for i in poster.lost if i in present)})")  # fmt: skip

    server = spawn_server(db_url, "server-final")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        retried = {}
        for index in pending:
            response = client.post(INGEST, content=bodies[index], headers=JSON_HEADERS)
            assert response.status_code == 201, response.text
            retried[index] = response.json()
        check_answers(retried)
        # Re-sending stored events (a whole batch, one event, key order changed) stores nothing.
        again = client.post(INGEST, content=bodies[0], headers=JSON_HEADERS)
        assert again.status_code == 201 and again.json() == duplicate_answer
        reordered = dict(reversed(list(batches[1][3].items())))
        one = client.post(INGEST, json=reordered)
        assert one.status_code == 201 and one.json() == {"received": 1, "stored": 0, "duplicates": 1}
        graph = client.get(INGEST + "/graph")
        assert graph.status_code == 200 and graph.json() == json.loads(json.dumps(reference_graph[0]))
        up = client.get(INGEST + "/upstream", params={"name": "serving.churn_predictions", "namespace": SHOP})
        assert up.status_code == 200 and up.json() == json.loads(json.dumps(reference_graph[1]))
    server.kill()

    _sqlite_checks(db_url)
    with LineageStore.open(db_url) as store:
        assert _present_batches(store, batch_hashes) == set(range(n_batches))
        assert store.event_count() == n_batches * size
        assert store.counts() == expected(n_batches, replicas)
        assert _orphans(store) == {}


# ====================================================================== schemathesis fuzz
FUZZ_EXAMPLES = {"POST": {"positive": 40, "negative": 25}, "GET": {"positive": 25, "negative": 25}}
FUZZ_KNOWN_EXAMPLES = 15
KNOWN_NAMES = {
    "name": "features.customer_features", "namespace": SHOP, "column": "total_spend",
    "source": "raw.customers", "source_namespace": SHOP, "target": "models.churn", "target_namespace": "mlflow://models",
}  # fmt: skip


def _reason(response: Any) -> str:
    """The explanation a 4xx carries: our `message`, or FastAPI's validation `detail`."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        return str(body.get("message") or body.get("detail") or "")
    return ""


def _fuzz(op: Any, mode: Any, budget: int, session: Any, failures: list[str],
          seen: collections.Counter[tuple[str, str, int]], query: dict[str, str] | None = None) -> None:  # fmt: skip
    """Send `budget` generated requests for one operation; record every answer outside 2xx/4xx."""
    import requests
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(
        max_examples=budget, deadline=None, database=None,
        phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(case=op.as_strategy(generation_mode=mode, query=query))
    def exercise(case: Any) -> None:
        label = mode.value if query is None else "known-names"
        try:
            response = case.call(session=session, timeout=60)
        except requests.RequestException as exc:  # no answer at all: the server went down
            failures.append(f"{op.label} [{label}] no response: {exc!r}\n  {case.as_curl_command()}")
            return
        status = response.status_code
        seen[(op.label, label, status // 100)] += 1
        if not (200 <= status < 300 or 400 <= status < 500):
            failures.append(f"{op.label} [{label}] {status}: {response.text[:300]}\n  {case.as_curl_command()}")
        elif status >= 400 and not _reason(response):
            failures.append(f"{op.label} [{label}] {status} without a reason\n  {case.as_curl_command()}")

    exercise()


@pytest.mark.timeout(300)
def test_fuzzed_api_answers_only_2xx_or_4xx_and_stays_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import requests
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    monkeypatch.delenv("OBS_LINEAGE_TOKEN", raising=False)  # no auth: fuzz the real handlers
    monkeypatch.delenv("OBS_LINEAGE_MAX_BODY", raising=False)
    with LineageStore.open(f"sqlite:///{tmp_path / 'fuzz.db'}") as store:
        store.ingest(as_dicts(pipeline_events()))  # real nodes, so queries get past "not found"
        with LiveServer(create_app(store=store)) as live, requests.Session() as session:
            schema = schemathesis.openapi.from_url(live.url + "/openapi.json")
            failures: list[str] = []
            seen: collections.Counter[tuple[str, str, int]] = collections.Counter()
            started = time.monotonic()
            operations = [result.ok() for result in schema.get_all_operations()]
            assert {op.label for op in operations} >= {"POST /api/v1/lineage", "GET /api/v1/lineage/graph"}
            for op in operations:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    budget = FUZZ_EXAMPLES["POST" if op.method.upper() == "POST" else "GET"][mode.value]
                    try:
                        _fuzz(op, mode, budget, session, failures, seen)
                    except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                        assert mode is GenerationMode.NEGATIVE
                # Random names are all "not found": once more with stored names fixed, so the
                # graph walks run with fuzzed depth, as_of, type, limits...
                known = {p.name: KNOWN_NAMES[p.name] for p in op.query if p.name in KNOWN_NAMES}
                if known:
                    _fuzz(op, GenerationMode.POSITIVE, FUZZ_KNOWN_EXAMPLES, session, failures, seen, query=known)
            elapsed = time.monotonic() - started
            print(f"fuzz: {sum(seen.values())} requests in {elapsed:.0f}s; by (operation, mode, class): {dict(seen)}")
            assert failures == [], "\n".join(failures[:20])
            # The fuzz reached the handlers: valid generated events were stored, invalid ones refused.
            assert seen[("POST /api/v1/lineage", "positive", 2)] > 0
            assert seen[("POST /api/v1/lineage", "negative", 4)] > 0
            assert seen[("GET /api/v1/lineage/graph", "positive", 2)] > 0
            walks = [f"GET /api/v1/lineage/{w}" for w in ("upstream", "downstream", "path", "columns", "impact", "history")]
            assert all(seen[(w, "known-names", 2)] + seen[(w, "known-names", 4)] for w in walks)
            assert sum(seen[(w, "known-names", 2)] for w in walks) > 0  # the walks themselves ran
            # Still up, and still ingesting.
            assert live.thread.is_alive()
            assert httpx.get(live.url + "/healthz").status_code == 200
            before = store.event_count()
            response = httpx.post(live.url + INGEST, json=simple_event(1))
            assert response.status_code == 201 and response.json()["stored"] == 1
            assert store.event_count() == before + 1


# ====================================================================== regressions found by fuzzing
def test_openapi_spec_describes_the_ingest_body(tmp_path: Path) -> None:
    """The ingest handler reads the raw body, so the spec had no request body and schemathesis
    could not fuzz ingest at all. The spec now publishes the OpenLineage event schemas; real
    events validate against it and a non-event does not."""
    from jsonschema import Draft202012Validator

    with LineageStore.open(f"sqlite:///{tmp_path / 'spec.db'}") as store, LiveServer(create_app(store=store)) as live:
        spec = httpx.get(live.url + "/openapi.json").json()
    body = spec["paths"][INGEST]["post"]["requestBody"]
    assert body["required"] is True
    schema = {**body["content"]["application/json"]["schema"], "components": spec["components"]}
    validator = Draft202012Validator(schema)
    events = as_dicts(pipeline_events())
    dataset_event = {"eventTime": "2025-01-01T00:00:00Z", "producer": PRODUCER,
                     "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
                     "dataset": {"namespace": "n", "name": "d"}}  # fmt: skip
    for valid in (events[0], events, dataset_event, simple_event(3)):
        assert list(validator.iter_errors(valid)) == []
    for invalid in ([], 42, {"eventTime": "2025-01-01T00:00:00Z"}, [events[0], {"producer": "x"}]):
        assert list(validator.iter_errors(invalid)) != []


@pytest.mark.parametrize(
    ("params", "expect"),
    [
        ({"as_of": "9999-12-31T23:00:00-05:00"}, "as_of"),  # past year 9999 once in UTC: OverflowError
        ({"as_of": "0001-01-01T00:00:00+05:00"}, "as_of"),  # before year 1 once in UTC
        ({"run_id": "a\x00b"}, "NUL"),  # PostgreSQL cannot bind NUL: ValueError from psycopg2
    ],
    ids=["as-of-overflow", "as-of-underflow", "nul-run-id"],
)
def test_hostile_query_parameters_answer_400(server: LiveServer, params: dict[str, str], expect: str) -> None:
    response = httpx.get(server.url + INGEST + "/graph", params=params)
    assert response.status_code == 400, response.text
    assert expect in response.json()["message"]


@pytest.mark.parametrize(
    "path", ["/upstream", "/downstream", "/impact", "/history", "/datasets", "/columns", "/path", "/../rca"]
)
def test_nul_in_any_query_parameter_answers_400(server: LiveServer, path: str) -> None:
    """Every text parameter reaches SQL; a NUL made PostgreSQL (psycopg2) fail with a 500."""
    params = {"name": "a\x00b", "search": "a\x00b", "column": "c", "source": "a\x00b", "target": "t"}
    url = (server.url + INGEST + path).replace("/lineage/../", "/")
    response = httpx.get(url, params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_query" and "NUL" in response.json()["message"]


def _event_body(mutate: Callable[[dict[str, Any]], str | None]) -> bytes:
    event = as_dicts(pipeline_events())[0]
    event["run"]["facets"] = {"custom": {"_producer": PRODUCER, "_schemaURL": "https://example.com/x.json", "v": 1}}
    raw = mutate(event)
    return raw.encode() if raw is not None else json.dumps(event).encode()


@pytest.mark.parametrize(
    ("body", "path", "expect"),
    [
        # eventTime valid ISO-8601 but out of range in UTC: OverflowError escaped validation.
        (_event_body(lambda e: e.__setitem__("eventTime", "9999-12-31T23:00:00-05:00")), "$.eventTime", "date-time"),
        # NUL in a name: PostgreSQL refused the row with a 500 (SQLite stored it).
        (_event_body(lambda e: e["job"].__setitem__("name", "etl\x00x")), "$.job.name", "NUL"),
        (_event_body(lambda e: e["run"]["facets"]["custom"].__setitem__("v", "\x00")), "$.run.facets.custom.v", "NUL"),
        # An unpaired surrogate escape parses to a str that cannot be encoded: 500 on hashing.
        (_event_body(lambda e: json.dumps(e).replace('"etl.build_features"', '"etl\\ud800"')), "$.job.name", "surrogate"),
        (_event_body(lambda e: json.dumps(e).replace('"v": 1', '"\\udfff": 1')), "$.run.facets.custom", "surrogate"),
        # 1e400 parses to infinity, which canonical JSON cannot write: 500 on hashing.
        (_event_body(lambda e: json.dumps(e).replace('"v": 1', '"v": 1e400')), "$.run.facets.custom.v", "finite"),
    ],
    ids=["time-overflow", "nul-name", "nul-facet", "surrogate-value", "surrogate-key", "infinite-number"],
)
def test_unstorable_event_values_answer_422(
    server: LiveServer, store: LineageStore, body: bytes, path: str, expect: str
) -> None:
    before = store.counts()
    response = httpx.post(server.url + INGEST, content=body, headers=JSON_HEADERS)
    assert response.status_code == 422, response.text
    detail = response.json()
    assert detail["error"] == "invalid_event" and detail["path"] == path and expect in detail["reason"]
    assert store.counts() == before
    # The same event without the bad value is stored: only the value was refused.
    assert httpx.post(server.url + INGEST, content=_event_body(lambda e: None), headers=JSON_HEADERS).status_code == 201


@pytest.mark.parametrize("when", ["0133-11-26T11:10:58.630918Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"])
def test_extreme_event_years_do_not_poison_queries(server: LiveServer, when: str) -> None:
    """Found by the fuzz: on SQLite, derived rows of an event from year 133 were written as
    '133-11-26 ...' (strftime's %Y is not zero-padded), which SQLAlchemy cannot read back, so
    one such event turned every later graph query into a 500."""
    batch = json.loads(json.dumps(_template()))
    for event in batch:
        event["eventTime"] = event["run"]["facets"]["nominalTime"]["nominalStartTime"] = when
    assert httpx.post(server.url + INGEST, json=batch).status_code == 201
    run_id = batch[0]["run"]["runId"]
    for path, params in [
        ("/graph", {}),
        ("/graph", {"run_id": run_id}),
        ("/graph", {"as_of": when}),
        ("/upstream", {"name": "serving.churn_predictions", "namespace": SHOP}),
        ("/impact", {"name": "raw.customers", "as_of": when}),
        ("/history", {"name": "features.customer_features", "namespace": SHOP}),
        ("/columns", {"name": "serving.churn_predictions", "column": "score", "as_of": when}),
        ("/path", {"source": "raw.customers", "target": "models.churn", "as_of": when}),
    ]:
        response = httpx.get(server.url + INGEST + path, params=params)
        assert response.status_code == 200, (path, params, response.text)
    graph = httpx.get(server.url + INGEST + "/graph", params={"run_id": run_id}).json()
    assert graph["as_of"].startswith(when[:19]) and graph["edges"]
    history = httpx.get(server.url + INGEST + "/history", params={"name": "features.customer_features", "namespace": SHOP})
    assert {run["run_id"] for run in history.json()["runs"]} >= {e["run"]["runId"] for e in batch if e["job"]["name"] == "etl.build_features"}
