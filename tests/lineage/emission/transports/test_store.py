"""``type: obs_lineage_store``: events written straight into a real SQLite lineage store."""

from __future__ import annotations

import pytest
from helpers.emission_events import run_events
from openlineage.client.transport import get_default_factory

from lineage.emission.delivery import flush
from lineage.emission.emitter import LineageEmitter
from lineage.emission.outbox import Outbox
from lineage.emission.transports import DeliveryError, LineageStoreConfig, LineageStoreTransport
from lineage.store import LineageStore


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
    sent = run_events(1, per_run=3)
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
    outbox.append(run_events(1, per_run=2))
    assert flush(outbox, transport).delivered == 2
    assert transport.store.event_count() == 2
    transport.close()


def test_an_event_the_store_refuses_goes_dead_and_the_rest_is_stored(tmp_path):
    store = LineageStore.open(f"sqlite:///{tmp_path / 'l.db'}")
    good = run_events(2, per_run=2)
    bad = {**good[1], "eventTime": "not a time"}
    outbox = Outbox(tmp_path / "o.db")
    outbox.append([good[0], bad, *good[2:]])
    result = flush(outbox, LineageStoreTransport(LineageStoreConfig(store=store)))
    assert (result.dead, result.remaining) == (1, 0)
    assert store.event_count() == 3  # the refused one only is missing; it waits in the outbox as dead
    assert outbox.status().dead == 1
    store.dispose()


def test_a_store_given_to_it_stays_open_and_one_it_opened_is_closed(tmp_path):
    store = LineageStore.open(f"sqlite:///{tmp_path / 'l.db'}")
    given = LineageStoreTransport(LineageStoreConfig(store=store))
    given.send(run_events(1), timeout=5)
    given.close()
    assert store.event_count() == 2  # still usable: not ours to dispose of
    owned = LineageStoreTransport(LineageStoreConfig(url=f"sqlite:///{tmp_path / 'other.db'}"))
    owned.send(run_events(1), timeout=5)
    assert owned.close() is True
    other = LineageStore.open(f"sqlite:///{tmp_path / 'other.db'}")
    assert other.event_count() == 2
    other.dispose()
    store.dispose()


def test_an_unreachable_store_is_a_transient_failure(tmp_path):
    transport = LineageStoreTransport(LineageStoreConfig(url="postgresql://nobody@127.0.0.1:1/none"))
    with pytest.raises(DeliveryError) as info:
        transport.send(run_events(1), timeout=2)
    assert info.value.permanent is False
