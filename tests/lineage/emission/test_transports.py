"""The outbox's transports: registered with openlineage-python's factory, configured the way its own are."""

from __future__ import annotations

import time
import uuid

import pytest
from helpers.recording_server import RecordingBackend
from openlineage.client import event_v2
from openlineage.client.transport import get_default_factory

from lineage.emission import events as ev
from lineage.emission.delivery import flush
from lineage.emission.emitter import LineageEmitter
from lineage.emission.outbox import Outbox
from lineage.emission.transports import CallableTransport, LineageStoreTransport, OneByOne
from lineage.store import LineageStore


def run_events(n: int) -> list[dict]:
    run_id = str(uuid.uuid4())
    states = [event_v2.RunState.START] + [event_v2.RunState.RUNNING] * (n - 2) + [event_v2.RunState.COMPLETE]
    return [ev.to_dict(ev.run_event(state, run_id=run_id, job_namespace="dagster", job_name="clean_customers",
                                    event_time=f"2026-03-02T00:00:0{i}Z"))
            for i, state in enumerate(states)]


@pytest.mark.parametrize("source", ["env", "yaml"])
def test_store_transport_is_registered_with_the_openlineage_factory(source, tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'lineage.db'}"
    if source == "env":
        monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "obs_lineage_store")
        monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", db)
    else:
        (tmp_path / "openlineage.yml").write_text(f"transport:\n  type: obs_lineage_store\n  url: {db}\n")
        monkeypatch.setenv("OPENLINEAGE_CONFIG", str(tmp_path / "openlineage.yml"))
    emitter = LineageEmitter(outbox_path=tmp_path / "o.db")
    sent = run_events(3)
    emitter.emit(*sent)
    # openlineage-python built our transport from its own config: batches, not one event per emit.
    assert isinstance(emitter.transport, LineageStoreTransport) and emitter.transport.max_batch > 1
    assert emitter.status().pending == 0
    emitter.close()
    store = LineageStore.open(db)
    assert store.event_count() == len(sent)
    store.dispose()


def test_store_transport_by_class_path_needs_no_registration(tmp_path):
    transport = get_default_factory().create(
        {"type": "lineage.emission.transports.store.LineageStoreTransport", "url": f"sqlite:///{tmp_path / 'l.db'}"})
    outbox = Outbox(tmp_path / "o.db")
    outbox.append(run_events(2))
    assert flush(outbox, transport).delivered == 2
    assert transport.store.event_count() == 2
    transport.close()


def test_callable_transport_from_an_explicit_openlineage_config(tmp_path):
    received: list[list[dict]] = []
    emitter = LineageEmitter(outbox_path=tmp_path / "o.db",
                             openlineage_config={"transport": {"type": "obs_callable", "ingest": received.append}})
    sent = run_events(3)
    emitter.emit(*sent)
    assert isinstance(emitter.transport, CallableTransport)
    assert received == [sent]  # one batch, in order


def test_http_transport_is_built_without_internal_retries(tmp_path, monkeypatch):
    server = RecordingBackend()  # never started: every attempt is refused
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", server.url)
    emitter = LineageEmitter(outbox_path=tmp_path / "o.db", budget_s=5.0)
    emitter.transport  # noqa: B018 - built before timing: only the delivery attempt is measured
    started = time.monotonic()
    result = emitter.emit(*run_events(2))
    # openlineage-python's default would retry 5 times with backoff; the outbox is the only retry here.
    assert time.monotonic() - started < 1.0
    assert result is not None and result.delivered == 0 and result.remaining == 2 and result.error
    assert isinstance(emitter.transport, OneByOne)


def test_http_inside_a_composite_is_not_retried_either(tmp_path):
    server = RecordingBackend()  # never started
    config = {"transport": {"type": "composite", "transports": {"api": {"type": "http", "url": server.url}}}}
    emitter = LineageEmitter(outbox_path=tmp_path / "o.db", openlineage_config=config, budget_s=5.0)
    emitter.transport  # noqa: B018 - built before timing
    started = time.monotonic()
    result = emitter.emit(*run_events(2))
    assert time.monotonic() - started < 1.0
    assert result is not None and result.remaining == 2 and result.error
    server.start()
    try:
        assert emitter.flush().delivered == 2 and len(server.events) == 2
    finally:
        server.stop()
