"""Any other openlineage-python transport under the outbox: one event per emit, no internal retries,
bounded by the delivery budget, errors classified (real HTTP servers on loopback, a real file transport)."""

from __future__ import annotations

import json
import time

import pytest
from helpers.emission_events import run_events
from helpers.lineage_live import LiveServer
from helpers.recording_server import RecordingBackend
from openlineage.client.transport import get_default_factory

from lineage.emission.delivery import flush
from lineage.emission.emitter import LineageEmitter
from lineage.emission.outbox import Outbox
from lineage.emission.transports import DeliveryError, OneByOne, as_batch, tuned_for_outbox
from lineage.serve.api import create_app
from lineage.store import LineageStore


def test_http_transport_is_built_without_internal_retries(tmp_path, monkeypatch):
    server = RecordingBackend()  # never started: every attempt is refused
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", server.url)
    emitter = LineageEmitter(outbox_path=tmp_path / "o.db", budget_s=5.0)
    emitter.transport  # noqa: B018 - built before timing: only the delivery attempt is measured
    started = time.monotonic()
    result = emitter.emit(*run_events(1, per_run=2))
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
    result = emitter.emit(*run_events(1, per_run=2))
    assert time.monotonic() - started < 1.0
    assert result is not None and result.remaining == 2 and result.error
    server.start()
    try:
        assert emitter.flush().delivered == 2 and len(server.events) == 2
    finally:
        server.stop()


def test_tuning_copies_the_config_and_reaches_into_composites() -> None:
    config = {"type": "composite", "transports": [{"type": "http", "url": "http://x"},
                                                  {"type": "kafka", "topic": "t", "flush": True}]}
    tuned = tuned_for_outbox(config)
    assert tuned["transports"][0]["retry"]["total"] == 0 and tuned["transports"][1]["flush"] is False
    assert "retry" not in config["transports"][0] and config["transports"][1]["flush"] is True  # input untouched
    assert tuned_for_outbox({"type": "console"}) == {"type": "console"}


def test_a_file_transport_gets_each_event_in_order(tmp_path):
    path = tmp_path / "events.jsonl"
    transport = as_batch(get_default_factory().create({"type": "file", "log_file_path": str(path), "append": True}))
    assert isinstance(transport, OneByOne) and transport.max_batch == 1 and transport.name == "openlineage:file"
    outbox = Outbox(tmp_path / "o.db")
    sent = run_events(2, per_run=2)
    outbox.append(sent)
    assert flush(outbox, transport).delivered == 4
    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["run"]["runId"], e["eventType"]) for e in written] == [(e["run"]["runId"], e["eventType"]) for e in sent]


def test_our_batch_transports_are_not_wrapped(tmp_path):
    transport = get_default_factory().create({"type": "obs_lineage_store", "url": f"sqlite:///{tmp_path / 'l.db'}"})
    assert as_batch(transport) is transport
    transport.close()


def test_a_4xx_about_the_event_is_permanent_and_the_budget_caps_a_slow_backend(tmp_path):
    store = LineageStore.open(f"sqlite:///{tmp_path / 'l.db'}")
    with LiveServer(create_app(store)) as server:
        http = as_batch(get_default_factory().create(tuned_for_outbox(
            {"type": "http", "url": server.url, "endpoint": "api/v1/lineage"})))
        [event] = run_events(1, per_run=1)
        with pytest.raises(DeliveryError) as info:
            http.send([{**event, "job": {**event["job"], "name": "x" * 2000}}], timeout=5)  # the API answers 422
        assert (info.value.permanent, info.value.index) == (True, 0)
    store.dispose()
    slow = RecordingBackend(delay_s=3.0).start()
    try:
        transport = as_batch(get_default_factory().create(tuned_for_outbox(
            {"type": "http", "url": slow.url, "timeout": 30})))
        started = time.monotonic()
        with pytest.raises(DeliveryError) as info:
            transport.send(run_events(1, per_run=1), timeout=0.3)
        assert time.monotonic() - started < 2.0 and info.value.permanent is False
        assert transport.transport.timeout == 30  # the configured timeout is back for the next call
    finally:
        slow.stop()
