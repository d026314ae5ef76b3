"""Scaling out: the Dagster instance on PostgreSQL, and steps run by two separate Celery workers.

Each test gets its own fresh PostgreSQL database (``obs_scale_<random>``, dropped afterwards) that
holds both Dagster's run / event-log / schedule storage (``observability_pipelines/deploy/
dagster.postgres.yaml``) and the lineage store (``OBS_LINEAGE_DB``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path


import dagster as dg
import pandas as pd
import pytest
from helpers.pipeline import require_service

ROOT = Path(__file__).resolve().parents[2]
INSTANCE_YAML = ROOT / "observability_pipelines" / "deploy" / "dagster.postgres.yaml"
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
CUSTOMERS = 200
PARTITIONS = ["2026-03-01", "2026-03-02"]
BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(240)]


def _run_config(**extra) -> dict:
    return {
        "resources": {"raw_data": {"config": {"customers_per_day": CUSTOMERS}}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
        **extra,
    }


def _reset_lineage_emitters() -> None:
    from observability_pipelines.observe.openlineage import reset_emitters

    reset_emitters()


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh database for this test only; dropped (connections terminated) afterwards."""
    require_service("PostgreSQL", PG_HOST, PG_PORT)
    import psycopg2

    name = f"obs_scale_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=5)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def pg_env(pg_database, tmp_path, monkeypatch) -> dict[str, str]:
    """DAGSTER_HOME with the project's PostgreSQL instance config; lineage store in the same database."""
    home = Path(os.environ["DAGSTER_HOME"])  # fresh per test (tests/conftest.py)
    shutil.copy(INSTANCE_YAML, home / "dagster.yaml")
    env = {
        "DAGSTER_PG_HOST": PG_HOST,
        "DAGSTER_PG_PORT": str(PG_PORT),
        "DAGSTER_PG_USER": PG_USER,
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": pg_database,
        "OBS_LINEAGE_DB": f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{pg_database}",
        "OBS_DATA_DIR": str(tmp_path / "shared_data"),
        "OBS_OUTBOX_PATH": str(tmp_path / "outbox_launcher.db"),
        "OBS_LINEAGE_SPOOL": str(tmp_path / "shared_spool"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("OBS_LINEAGE_URL", raising=False)
    _reset_lineage_emitters()
    yield env
    _reset_lineage_emitters()


def _flush_outbox(path: str) -> None:
    """Deliver whatever the inline attempt left behind (what the outbox sensor does in production)."""
    from lineage.emission.emitter import LineageEmitter

    if not Path(path).exists():
        return
    emitter = LineageEmitter(outbox_path=path)
    try:
        emitter.flush(budget_s=30.0)
        status = emitter.status()
        assert status.pending == 0 and status.dead == 0, f"outbox {path} not drained: {status}"
    finally:
        emitter.close()


def _pg_scalar(db: str, sql: str):
    import psycopg2

    with psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=db, connect_timeout=5) as conn:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]


def _assert_lineage(url: str) -> None:
    from lineage.graph import queries
    from lineage.store import LineageStore

    store = LineageStore.open(url)
    try:
        assert store.url.startswith("postgresql"), store.url
        counts = store.counts()
        assert counts["events"] > 0 and counts["datasets"] >= 8 and counts["io_edges"] > 0, counts
        up = queries.upstream(store, "training_set")
        upstream_names = {d["name"] for d in up["datasets"]}
        assert {"customer_features", "clean_labels"} <= upstream_names, upstream_names
        assert any(name.startswith("raw_") for name in upstream_names), upstream_names
    finally:
        store.close()


# --------------------------------------------------------------------------- A: PostgreSQL end to end
def test_postgres_instance_and_lineage_end_to_end(pg_env, pg_database):
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage

    from observability_pipelines.definitions import defs

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)

        def run(job: str, partition: str | None) -> dg.ExecuteInProcessResult:
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, partition_key=partition, run_config=_run_config(), raise_on_error=False
            )
            assert result.success, f"{job} {partition} failed"
            return result

        for p in PARTITIONS:
            run("daily_pipeline", p)
        run("retrain", None)
        for p in PARTITIONS:
            run("batch_predictions_job", p)

        records = instance.get_run_records()
        assert len(records) == 5
        assert {r.dagster_run.status for r in records} == {dg.DagsterRunStatus.SUCCESS}
        for asset in ("raw_customers", "customer_features", "training_set", "batch_predictions"):
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(PARTITIONS), asset
        assert instance.get_latest_materialization_event(dg.AssetKey("trained_model")) is not None

    # The facts are in the test database itself, not in a local SQLite file.
    materializations = _pg_scalar(
        pg_database, "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'"
    )
    assert materializations >= 2 * 8 + 2 + 2
    assert _pg_scalar(pg_database, "SELECT count(*) FROM runs") == 5
    assert not (Path(os.environ["DAGSTER_HOME"]) / "history" / "runs.db").exists()

    _flush_outbox(pg_env["OBS_OUTBOX_PATH"])
    _assert_lineage(pg_env["OBS_LINEAGE_DB"])
    assert _pg_scalar(pg_database, "SELECT count(*) FROM lineage_events") > 0


# --------------------------------------------------------------------------- B: two Celery workers
def _redis_url() -> str:
    db = int(uuid.uuid4().int % 14) + 2  # 2..15: keep clear of db 0/1 that developers use
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


def _wait_for_workers(app, names: list[str], proc_by_name: dict, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    seen: set[str] = set()
    while time.monotonic() < deadline:
        for name, proc in proc_by_name.items():
            if proc.poll() is not None:
                pytest.fail(f"celery worker {name} exited early with code {proc.returncode}")
        replies = app.control.ping(timeout=1.0) or []
        seen = {host.split("@", 1)[0] for reply in replies for host in reply}
        if set(names) <= seen:
            return
        time.sleep(0.5)
    pytest.fail(f"celery workers {names} did not answer a ping within {timeout_s}s (saw {sorted(seen)})")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def test_celery_workers_match_in_process_run(pg_env, pg_database, tmp_path, monkeypatch):
    require_service("Redis", REDIS_HOST, REDIS_PORT)
    from dagster_celery.make_app import make_app

    from observability_pipelines.definitions import defs
    from observability_pipelines.deploy import celery_job

    partition = PARTITIONS[0]

    # Reference: the same partition in process, on its own storage, instance and lineage store.
    ref_dir = tmp_path / "reference_data"
    monkeypatch.setenv("OBS_DATA_DIR", str(ref_dir))
    monkeypatch.setenv("OBS_LINEAGE_DB", f"sqlite:///{tmp_path / 'reference_lineage.db'}")
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "reference_outbox.db"))
    _reset_lineage_emitters()
    ref = defs.resolve_job_def("daily_pipeline").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), partition_key=partition, run_config=_run_config()
    )
    assert ref.success
    for key, value in pg_env.items():
        monkeypatch.setenv(key, value)
    _reset_lineage_emitters()

    # Two workers, as on two machines: same instance config, broker and shared data dir; own outbox.
    broker = _redis_url()
    celery_cfg = {"broker": broker, "backend": broker}
    worker_yaml = tmp_path / "celery.yaml"
    worker_yaml.write_text(f"execution:\n  config:\n    broker: '{broker}'\n    backend: '{broker}'\n")
    names = [f"obsw{i}-{uuid.uuid4().hex[:6]}" for i in (1, 2)]
    procs: dict[str, subprocess.Popen] = {}
    logs = {}
    try:
        for i, name in enumerate(names):
            env = {**os.environ, **pg_env, "OBS_OUTBOX_PATH": str(tmp_path / f"outbox_{name}.db"),
                   "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
            env.pop("PYTEST_CURRENT_TEST", None)
            logs[name] = open(tmp_path / f"{name}.log", "w")
            procs[name] = subprocess.Popen(
                [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(worker_yaml),
                 "-q", "dagster", "-n", name, "-l", "WARNING", "--", "--concurrency=1", "--pool=prefork"],
                cwd=ROOT, env=env, stdout=logs[name], stderr=subprocess.STDOUT, start_new_session=True,
            )
        app = make_app({"broker": broker, "backend": broker})
        _wait_for_workers(app, names, procs)

        with dg.DagsterInstance.get() as instance:
            result = dg.execute_job(
                dg.reconstructable(celery_job.daily_pipeline),
                instance=instance,
                run_config=_run_config(execution={"config": celery_cfg}),
                tags={"dagster/partition": partition},
            )
            assert result.success, _tail_logs(tmp_path, names)
            run_id = result.run_id
            records = instance.get_records_for_run(run_id).records
            entries = [r.event_log_entry for r in records]
            workers_used = {
                str(e.dagster_event.engine_event_data.metadata["Celery worker"].value).split("@", 1)[0]
                for e in entries
                if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.ENGINE_EVENT
                and e.dagster_event.engine_event_data
                and "Celery worker" in e.dagster_event.engine_event_data.metadata
            }
            step_pids = {
                e.dagster_event.pid for e in entries
                if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.STEP_START
            }
            assert instance.get_materialized_partitions(dg.AssetKey("training_set")) == {partition}
    finally:
        for proc in procs.values():
            _stop(proc)
        for fh in logs.values():
            fh.close()

    assert step_pids and os.getpid() not in step_pids, step_pids
    assert workers_used == set(names), f"steps ran on {workers_used}, expected both of {names}"

    # Same values as the in-process run.
    shared = Path(pg_env["OBS_DATA_DIR"])
    for asset in ("raw_customers", "clean_customers", "customer_features", "training_set"):
        got = pd.read_parquet(shared / asset / f"{partition}.parquet")
        want = pd.read_parquet(ref_dir / asset / f"{partition}.parquet")
        pd.testing.assert_frame_equal(got, want, obj=asset)

    # Both workers' lineage reached the shared PostgreSQL lineage store.
    for name in names:
        _flush_outbox(str(tmp_path / f"outbox_{name}.db"))
    _assert_lineage(pg_env["OBS_LINEAGE_DB"])


def _tail_logs(tmp_path: Path, names: list[str]) -> str:
    return "\n".join(
        f"--- {name}\n" + (tmp_path / f"{name}.log").read_text()[-3000:] for name in names
        if (tmp_path / f"{name}.log").exists()
    )


def _io_warnings(instance: dg.DagsterInstance) -> list[str]:
    from observability_pipelines.resources import deployment
    from observability_pipelines.resources.io_managers import ParquetIOManager

    deployment._warned.clear()

    @dg.asset
    def tiny() -> pd.DataFrame:
        return pd.DataFrame({"x": [1, 2]})

    result = dg.materialize([tiny], resources={"io_manager": ParquetIOManager()}, instance=instance)
    return [r.user_message for r in instance.all_logs(result.run_id)
            if r.level == 30 and "shared Dagster instance" in r.user_message]


def test_shared_instance_warns_about_machine_local_settings(pg_env, monkeypatch):
    instance = dg.DagsterInstance.get()
    try:
        assert _io_warnings(instance) == []  # everything shared is configured
        monkeypatch.delenv("OBS_DATA_DIR")
        monkeypatch.delenv("OBS_LINEAGE_SPOOL")
        warnings = _io_warnings(instance)
        assert len(warnings) == 2, warnings
        assert any("OBS_DATA_DIR is unset" in w and "shared storage" in w for w in warnings)
        assert any("OBS_LINEAGE_SPOOL is unset" in w for w in warnings)
    finally:
        instance.dispose()
