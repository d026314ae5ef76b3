"""``type: obs_callable``: batches to a Python function, built from openlineage-python config."""

from __future__ import annotations

import pytest
from helpers.emission_events import run_events
from openlineage.client.transport import get_default_factory

from lineage.emission.delivery import flush
from lineage.emission.emitter import LineageEmitter
from lineage.emission.outbox import Outbox
from lineage.emission.transports import CallableTransport, DeliveryError

RECEIVED: list[list[dict]] = []


def record(events: list[dict]) -> None:  # named by its dotted path below
    RECEIVED.append(events)


def test_callable_transport_from_an_explicit_openlineage_config(tmp_path):
    received: list[list[dict]] = []
    emitter = LineageEmitter(outbox_path=tmp_path / "o.db",
                             openlineage_config={"transport": {"type": "obs_callable", "ingest": received.append}})
    sent = run_events(1, per_run=3)
    emitter.emit(*sent)
    assert isinstance(emitter.transport, CallableTransport)
    assert received == [sent]  # one batch, in order


def test_a_dotted_path_names_the_function_and_max_batch_splits_the_backlog(tmp_path):
    RECEIVED.clear()
    transport = get_default_factory().create(
        {"type": "obs_callable", "ingest": f"{__name__}.record", "max_batch": "2"})
    outbox = Outbox(tmp_path / "o.db")
    sent = run_events(1, per_run=5)
    outbox.append(sent)
    assert flush(outbox, transport).delivered == 5
    assert [len(b) for b in RECEIVED] == [2, 2, 1] and [e for b in RECEIVED for e in b] == sent


def test_an_exception_of_the_function_is_transient_and_the_events_stay(tmp_path):
    def down(events):
        raise ConnectionError("backend away")

    outbox = Outbox(tmp_path / "o.db")
    outbox.append(run_events(1, per_run=2))
    with pytest.raises(DeliveryError, match="ConnectionError: backend away") as info:
        CallableTransport.of(down).send(run_events(1), timeout=1.0)
    assert info.value.permanent is False
    result = flush(outbox, CallableTransport.of(down))
    assert (result.delivered, result.remaining) == (0, 2) and "backend away" in result.error


@pytest.mark.parametrize("ingest", [None, 42])
def test_without_a_callable_the_config_is_refused(ingest):
    with pytest.raises(ValueError, match="obs_callable transport needs `ingest`"):
        get_default_factory().create({"type": "obs_callable", "ingest": ingest})
