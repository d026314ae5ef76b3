"""What reaches the lineage store from real pipeline runs: the Dagster asset graph, and nothing lost."""

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

DAYS = ["2026-03-02", "2026-03-03"]


def _store_edges(store):
    from lineage.store import tables as t

    with store.read() as conn:
        names = {r.id: r.name for r in conn.execute(select(t.datasets.c.id, t.datasets.c.name))}
        jobs = {r.id: r.name for r in conn.execute(select(t.jobs.c.id, t.jobs.c.name))}
        io = conn.execute(select(t.io_edges.c.dataset_id, t.io_edges.c.job_id, t.io_edges.c.direction)).all()
        cols = conn.execute(select(t.column_edges.c.src_dataset_id, t.column_edges.c.src_field,
                                   t.column_edges.c.dst_dataset_id, t.column_edges.c.dst_field)).all()
    produced = {jobs[r.job_id]: names[r.dataset_id] for r in io if r.direction == "out"}
    edges = {(names[r.dataset_id], produced[jobs[r.job_id]]) for r in io
             if r.direction == "in" and jobs[r.job_id] in produced and ":" not in jobs[r.job_id]}
    column_edges = {(names[c.src_dataset_id], c.src_field, names[c.dst_dataset_id], c.dst_field) for c in cols}
    return set(produced.values()), edges, column_edges


@pytest.mark.slow
def test_store_graph_equals_the_dagster_asset_graph(make_pipeline, monkeypatch, tmp_path):
    from lineage.store import LineageStore
    from observability_pipelines.definitions import all_assets, defs

    url = f"sqlite:///{tmp_path / 'lineage.db'}"
    monkeypatch.setenv("OBS_LINEAGE_DB", url)
    pipeline = make_pipeline()
    pipeline.run_days(DAYS)

    graph = defs.resolve_asset_graph()
    keys = {a.key for a in all_assets}
    dagster_nodes = {k.to_user_string() for k in keys}
    dagster_edges = {(p.to_user_string(), k.to_user_string()) for k in keys for p in graph.get(k).parent_keys}
    dagster_columns = set()
    for asset in all_assets:
        mat = pipeline.instance.fetch_materializations(asset.key, limit=1).records[0].asset_materialization
        if "dagster/column_lineage" in mat.metadata:
            for column, deps in mat.metadata["dagster/column_lineage"].column_lineage.deps_by_column.items():
                dagster_columns |= {(d.asset_key.to_user_string(), d.column_name, asset.key.to_user_string(), column)
                                    for d in deps}

    store = LineageStore.open(url)
    try:
        nodes, edges, column_edges = _store_edges(store)
    finally:
        store.dispose()
    assert nodes == dagster_nodes
    assert edges == dagster_edges
    assert dagster_columns and column_edges == dagster_columns


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(port: int, url: str) -> subprocess.Popen:
    proc = subprocess.Popen([str(Path(sys.executable).parent / "obs"), "serve", "--port", str(port), "--db", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("obs serve did not come up")


def _stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, 15)
    proc.wait(timeout=20)


@pytest.mark.slow
def test_backend_outage_during_ten_partitions_loses_nothing(make_pipeline, monkeypatch, tmp_path):
    from lineage.store import LineageStore
    from observability_pipelines.cli import app
    from observability_pipelines.observe.openlineage import reset_emitters

    url = f"sqlite:///{tmp_path / 'served.db'}"
    port = _free_port()
    monkeypatch.setenv("OBS_LINEAGE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "outbox.db"))
    reset_emitters()
    days = [f"2026-03-{d:02d}" for d in range(2, 13)]  # one day up, then ten days down
    pipeline = make_pipeline(customers_per_day=120)
    server = _serve(port, url)
    pipeline.materialize(["raw_customers", "clean_customers"], days[0])
    _stop(server)  # outage
    for day in days[1:]:
        started = time.monotonic()
        result = pipeline.materialize(["raw_customers", "clean_customers"], day)
        assert result.success  # the outage never fails a materialization...
        assert time.monotonic() - started < 30  # ...nor holds it long
    status = CliRunner().invoke(app, ["outbox", "status", "--json"])
    assert status.exit_code == 0 and '"pending"' in status.stdout

    server = _serve(port, url)  # the backend returns
    try:
        flushed = CliRunner().invoke(app, ["outbox", "flush", "--json"])
        assert flushed.exit_code == 0, flushed.output
    finally:
        _stop(server)
    store = LineageStore.open(url)
    try:
        events = store.events(limit=100_000)
    finally:
        store.dispose()
    asset_events = [e for e in (ev["payload"] if "payload" in ev else ev for ev in events)
                    if isinstance(e, dict) and e.get("job", {}).get("name") in ("raw_customers", "clean_customers")]
    per_run = Counter((e["run"]["runId"], e["eventType"]) for e in asset_events)
    assert len({run for run, _ in per_run}) == 2 * len(days)  # every step of every day arrived
    assert set(per_run.values()) == {1}  # exactly once
    assert {kind for _, kind in per_run} == {"START", "COMPLETE"}
