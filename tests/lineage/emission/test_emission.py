"""Events, facets, the durable outbox and ordered, bounded delivery."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import uuid

import numpy as np
import pandas as pd
import pytest
from helpers.ol_spec import SpecValidator
from openlineage.client import event_v2
from openlineage.client.serde import Serde
from helpers.recording_server import RecordingBackend, free_port

from lineage.emission import events as ev
from lineage.emission import facets as fc
from lineage.emission.delivery import flush
from lineage.emission.transports import (
    CallableTransport,
    LineageApiConfig,
    LineageApiTransport,
    LineageStoreConfig,
    LineageStoreTransport,
    OneByOne,
)
from lineage.emission.emitter import LineageEmitter
from lineage.emission.outbox import Outbox

VALIDATOR = SpecValidator()
DRIFT_FACT = {
    "drifted": True, "share_drifted": 0.5, "drift_share_threshold": 0.5, "n_ref": 700, "n_cur": 250,
    "reference_partitions": ["2026-03-01"],
    "columns": {
        "income": {"column": "income", "kind": "numerical", "test": "ks", "statistic": 0.31, "p_value": 1e-9,
                   "threshold": 0.05, "drifted": True, "psi": 0.4, "wasserstein_norm": 0.2, "status": "ok",
                   "message": "income shifted: mean 51234.5 -> 70012.3"},
        "region": {"column": "region", "kind": "categorical", "test": "chi2", "statistic": 1.2, "p_value": 0.5,
                   "drifted": False, "n_new_categories": 1, "message": "new category 'atlantis'"},
    },
}


def sample_event(run_id: str | None = None, event_type=event_v2.RunState.COMPLETE, job="clean_customers"):
    frame = pd.DataFrame({"customer_id": ["cust-zq1", "cust-zq2", None], "income": [1.0, np.nan, 3.0],
                          "region": ["north", "south", "north"]})
    inputs = [event_v2.InputDataset(namespace="dagster://x", name="raw_customers",
                                    inputFacets={"dataQualityMetrics": fc.data_quality_metrics(frame)})]
    outputs = [event_v2.OutputDataset(
        namespace="dagster://x", name=job,
        facets={
            "schema": fc.schema_facet([("customer_id", "string"), ("income", "double")]),
            "columnLineage": fc.column_lineage_facet({"income": [("dagster://x", "raw_customers", "income")]}),
            "version": ev.dataset_version(fc.content_hash(frame)),
            "dataQualityAssertions": fc.assertions_facet([{"assertion": "not_null", "success": False,
                                                           "column": "customer_id", "severity": "error"}]),
            "drift": fc.DriftDatasetFacet.from_fact(DRIFT_FACT),
        },
        outputFacets={"outputStatistics": fc.output_statistics(3)},
    )]
    return ev.run_event(
        event_type, run_id=run_id or str(uuid.uuid4()), job_namespace="dagster", job_name=job,
        run_facets={"parent": ev.parent_facet(str(uuid.uuid4()), "dagster", "daily"),
                    "nominalTime": ev.nominal_time("2026-03-02")},
        job_facets_=ev.job_facets(description="doc", owners=["team:data"]),
        inputs=inputs, outputs=outputs,
    )


# --------------------------------------------------------------------------- facets & events
def test_event_with_every_facet_validates_and_keeps_values_private():
    event = ev.to_dict(sample_event())
    VALIDATOR.validate(event)
    text = json.dumps(event)
    for secret in ("north", "south", "cust-zq1", "atlantis", "51234"):  # ids not hex: no chance match in uuids
        assert secret not in text
    drift = event["outputs"][0]["facets"]["drift"]
    assert drift["_schemaURL"] == fc.DRIFT_SCHEMA_URL
    assert drift["_producer"] == ev.PRODUCER
    assert drift["columns"]["income"] == {"drifted": True, "kind": "numerical", "test": "ks", "statistic": 0.31,
                                          "pValue": 1e-9, "threshold": 0.05, "psi": 0.4,
                                          "wassersteinNormalized": 0.2, "status": "ok"}
    assert drift["columns"]["region"]["newCategories"] == 1
    assert event["run"]["facets"]["nominalTime"]["nominalStartTime"] == "2026-03-02T00:00:00.000Z"


def test_drift_facet_rejects_what_its_schema_forbids():
    event = ev.to_dict(sample_event())
    event["outputs"][0]["facets"]["drift"]["columns"]["income"]["message"] = "raw text"
    assert any("message" in e for e in VALIDATOR.errors(event))


def test_data_quality_metrics_numeric_only_aggregates_and_ids_excluded():
    frame = pd.DataFrame({
        "transaction_id": np.arange(10, 20), "amount": [1.5, None, 3, 4, 5, 6, 7, 8, 9, 10],
        "channel": ["web"] * 5 + ["shop"] * 5, "flag": [True, False] * 5,
        "n": pd.array([1, 2, None, 4, 5, 6, 7, 8, 9, 10], dtype="Int64"),
    })
    facet = fc.data_quality_metrics(frame)
    m = Serde.to_dict(facet)["columnMetrics"]
    assert facet.rowCount == 10
    assert m["amount"]["nullCount"] == 1 and m["amount"]["min"] == 1.5 and m["amount"]["max"] == 10
    assert m["amount"]["quantiles"]["0.5"] == pytest.approx(6.0)
    assert m["n"]["nullCount"] == 1 and m["n"]["sum"] == 52
    assert set(m["transaction_id"]) == {"nullCount", "distinctCount", "count"}  # an id: no min/max
    assert set(m["channel"]) == {"nullCount", "distinctCount", "count"} and m["channel"]["distinctCount"] == 2
    assert "min" not in m["flag"]
    off = Serde.to_dict(fc.data_quality_metrics(frame, numeric_aggregates=False))["columnMetrics"]
    assert all("min" not in v and "quantiles" not in v for v in off.values())
    parts = fc.data_quality_metrics({"2026-03-01": frame, "2026-03-02": frame})
    assert parts.rowCount == 20 and parts.columnMetrics["amount"].nullCount == 2 and parts.fileCount == 2


def test_large_frame_metrics_are_cheap_and_close():
    n = 1_000_000
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=n), "k": rng.integers(0, 50_000, n), "s": rng.integers(0, 9, n)})
    started = time.perf_counter()
    facet = fc.data_quality_metrics(frame)
    elapsed = time.perf_counter() - started
    assert elapsed < 1.5, elapsed
    assert facet.columnMetrics["x"].distinctCount == pytest.approx(n, rel=0.06)
    assert facet.columnMetrics["k"].distinctCount == pytest.approx(frame["k"].nunique(), rel=0.06)
    assert facet.columnMetrics["x"].quantiles["0.5"] == pytest.approx(0.0, abs=0.02)


def test_rehydrated_event_serializes_identically():
    for event in (sample_event(), sample_event(event_type=event_v2.RunState.START)):
        payload = ev.to_dict(event)
        assert Serde.to_dict(ev.rehydrate(payload)) == payload


def test_run_ids_are_stable_uuids():
    a = ev.step_run_id("4a2c1f0e-0000-4000-8000-000000000000", "clean_customers", "clean_customers", "2026-03-02")
    assert a == ev.step_run_id("4a2c1f0e-0000-4000-8000-000000000000", "clean_customers", "clean_customers",
                               "2026-03-02")
    assert uuid.UUID(a).version == 5
    assert a != ev.step_run_id("4a2c1f0e-0000-4000-8000-000000000000", "clean_customers", "clean_customers",
                               "2026-03-03")


# --------------------------------------------------------------------------- outbox and delivery
def _events(n_runs=2, per_run=3):
    out = []
    for r in range(n_runs):
        run_id = str(uuid.uuid4())
        for i in range(per_run):
            out.append(ev.to_dict(sample_event(run_id, event_v2.RunState.START if i == 0 else
                                               event_v2.RunState.RUNNING if i < per_run - 1 else
                                               event_v2.RunState.COMPLETE, job=f"job{r}")))
    return out


@pytest.mark.parametrize("backend", ["openlineage-http", "lineage-url"])
def test_outage_does_not_block_and_backlog_replays_in_order_exactly_once(backend, tmp_path, monkeypatch):
    server = RecordingBackend()  # not started: the backend is down
    if backend == "openlineage-http":
        monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
        monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", server.url)
    else:
        monkeypatch.setenv("OBS_LINEAGE_URL", server.url)
    emitter = LineageEmitter(outbox_path=tmp_path / "outbox.db", budget_s=1.0)
    sent = _events(3, 3)
    for event in sent:
        started = time.monotonic()
        emitter.emit(event)
        assert time.monotonic() - started < 1.5
    status = emitter.status()
    assert status.pending == len(sent) and status.last_error and status.oldest_pending_age_s >= 0
    server.start()
    try:
        result = emitter.flush()
        assert result.delivered == len(sent) and result.remaining == 0
        assert server.events == sent  # every event, once, in emission order
        assert emitter.flush().delivered == 0
        assert server.events == sent
    finally:
        server.stop()
        emitter.close()


def test_slow_backend_is_bounded(tmp_path, monkeypatch):
    server = RecordingBackend(delay_s=3.0).start()
    monkeypatch.setenv("OBS_LINEAGE_URL", server.url)
    try:
        emitter = LineageEmitter(outbox_path=tmp_path / "outbox.db", budget_s=0.5)
        started = time.monotonic()
        emitter.emit(*_events(1, 2))
        assert time.monotonic() - started < 1.5
        assert emitter.status().pending == 2
        started = time.monotonic()
        emitter.emit(*_events(1, 1))  # in backoff: no new attempt at all
        assert time.monotonic() - started < 0.5
    finally:
        server.stop()


def test_a_later_event_never_overtakes_an_earlier_one(tmp_path):
    outbox = Outbox(tmp_path / "o.db")
    events = _events(1, 4)
    outbox.append(events)
    received, fail_on = [], {2}

    def ingest(batch):
        for e in batch:
            if len(received) in fail_on:
                fail_on.clear()
                raise ConnectionError("down")
            received.append(e)

    sink = CallableTransport.of(ingest, max_batch=1)
    first = flush(outbox, sink)
    assert first.delivered == 2 and first.remaining == 2 and first.error
    assert received == events[:2]
    second = flush(outbox, sink)
    assert second.delivered == 2 and received == events


def test_rejected_event_goes_dead_and_the_rest_is_delivered(tmp_path):
    from lineage.store import LineageStore

    store = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    outbox = Outbox(tmp_path / "o.db")
    good = _events(1, 2)
    bad = dict(good[0], eventTime="not a time")  # unstorable (a mere schema slip is stored with a warning)
    outbox.append([good[0], bad, good[1]])
    result = flush(outbox, LineageStoreTransport(LineageStoreConfig(store=store)))
    assert (result.delivered, result.dead, result.remaining) == (2, 1, 0)
    assert store.event_count() == 2
    assert outbox.status().dead == 1
    store.dispose()


# A separate interpreter per worker: nothing is shared but the outbox file.
_APPEND_WORKER = """
import sys, uuid
from lineage.emission.outbox import Outbox
path, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
outbox = Outbox(path)
for i in range(n):
    outbox.append([{"eventTime": "2026-03-02T00:00:00Z", "worker": worker, "seq": i,
                    "run": {"runId": str(uuid.uuid4())}}])
"""


@pytest.mark.slow
def test_concurrent_appends_from_processes(tmp_path):
    path = str(tmp_path / "o.db")
    Outbox(path)
    procs = [subprocess.Popen([sys.executable, "-c", _APPEND_WORKER, path, str(w), "40"]) for w in range(4)]
    for p in procs:
        assert p.wait(60) == 0
    rows = [r.event() for r in Outbox(path).pending(limit=1000)]
    assert len(rows) == 160
    for w in range(4):
        assert [r["seq"] for r in rows if r["worker"] == w] == list(range(40))


# --------------------------------------------------------------------------- backends from configuration
def test_file_transport_from_env(tmp_path, monkeypatch):
    log_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(log_file))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    emitter = LineageEmitter(outbox_path=tmp_path / "o.db")
    sent = _events(1, 2)
    emitter.emit(*sent)
    assert isinstance(emitter.transport, OneByOne) and emitter.transport.transport.kind == "file"
    assert [json.loads(line) for line in log_file.read_text().splitlines()] == sent
    assert emitter.status().pending == 0


def test_console_transport_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "console")
    records: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = logging.getLogger("openlineage.client.transport.console")
    handler, old_level = Capture(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        emitter = LineageEmitter(outbox_path=tmp_path / "o.db")
        sent = _events(1, 1)
        emitter.emit(*sent)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert emitter.transport.transport.kind == "console"
    assert [json.loads(r) for r in records] == sent


def test_http_transport_from_yaml_config(tmp_path, monkeypatch):
    server = RecordingBackend().start()
    try:
        (tmp_path / "openlineage.yml").write_text(f"transport:\n  type: http\n  url: {server.url}\n")
        monkeypatch.setenv("OPENLINEAGE_CONFIG", str(tmp_path / "openlineage.yml"))
        emitter = LineageEmitter(outbox_path=tmp_path / "o.db")
        sent = _events(1, 2)
        emitter.emit(*sent)
        assert emitter.transport.transport.kind == "http"
        assert server.events == sent
    finally:
        server.stop()


def test_kafka_transport_from_env_keeps_events_when_broker_unreachable(tmp_path, monkeypatch):
    pytest.importorskip("confluent_kafka")
    from openlineage.client.transport.kafka import KafkaTransport

    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "kafka")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TOPIC", "openlineage")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__CONFIG",
                       json.dumps({"bootstrap.servers": f"127.0.0.1:{free_port()}", "client.id": "obs-test"}))
    emitter = LineageEmitter(outbox_path=tmp_path / "o.db", budget_s=1.0)
    started = time.monotonic()
    emitter.emit(*_events(1, 2))
    assert time.monotonic() - started < 3.0
    assert isinstance(emitter.transport.transport, KafkaTransport)
    assert emitter.transport.transport.topic == "openlineage"
    status = emitter.status()
    assert status.pending == 2 and "kafka" in status.last_error
    emitter.close()


def test_default_backend_is_the_lineage_store_database(tmp_path, monkeypatch):
    from lineage.store import LineageStore

    monkeypatch.setenv("OBS_LINEAGE_DB", f"sqlite:///{tmp_path / 'lineage.db'}")
    emitter = LineageEmitter(outbox_path=tmp_path / "o.db")
    emitter.emit(*_events(2, 2))
    assert isinstance(emitter.transport, LineageStoreTransport)
    assert emitter.status().pending == 0
    emitter.close()
    store = LineageStore.open(f"sqlite:///{tmp_path / 'lineage.db'}")
    assert store.event_count() == 4
    store.dispose()


def test_real_lineage_api_ingests_batches_idempotently(tmp_path, monkeypatch, store, server):
    monkeypatch.setenv("OBS_LINEAGE_URL", server.url)
    emitter = LineageEmitter(outbox_path=tmp_path / "o.db")
    sent = _events(2, 3)
    emitter.emit(*sent)
    assert isinstance(emitter.transport, LineageApiTransport) and emitter.status().pending == 0
    assert store.event_count() == 6
    Outbox(tmp_path / "o2.db").append(sent)  # a redelivery of the same events changes nothing
    flush(Outbox(tmp_path / "o2.db"), LineageApiTransport(LineageApiConfig(url=server.url)))
    assert store.event_count() == 6
    emitter.close()


# --------------------------------------------------------------------------- CLI
def test_cli_outbox_status_and_flush(tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from observability_pipelines.cli_outbox import register

    app = typer.Typer()

    @app.callback()
    def main() -> None:
        pass

    register(app)
    server = RecordingBackend()
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "o.db"))
    monkeypatch.setenv("OBS_LINEAGE_URL", server.url)
    Outbox().append(_events(1, 2))
    runner = CliRunner()
    status = json.loads(runner.invoke(app, ["outbox", "status", "--json"]).stdout)
    assert status["pending"] == 2 and status["oldest_pending_age_s"] is not None
    down = runner.invoke(app, ["outbox", "flush", "--json"])
    assert down.exit_code == 1 and json.loads(down.stdout)["remaining"] == 2
    assert json.loads(runner.invoke(app, ["outbox", "status", "--json"]).stdout)["last_error"]
    server.start()
    try:
        up = runner.invoke(app, ["outbox", "flush", "--json"])
        assert up.exit_code == 0 and json.loads(up.stdout)["delivered"] == 2
        assert len(server.events) == 2
        human = runner.invoke(app, ["outbox", "status"])
        assert "Pending: 0" in human.output
    finally:
        server.stop()
