"""BatchTransport: a real openlineage-python Transport (its client can drive it) that the outbox feeds batches."""

from __future__ import annotations

import pytest
from helpers.emission_events import run_events
from openlineage.client import OpenLineageClient
from openlineage.client.transport import Transport

from lineage.emission import events as ev
from lineage.emission.transports.base import BatchTransport, DeliveryError, is_permanent_status


class Recording(BatchTransport):
    kind = "recording"
    max_batch = 10

    def __init__(self) -> None:
        self.batches: list[list[dict]] = []

    def send(self, events, timeout):
        self.batches.append(list(events))


def test_openlineage_client_emits_through_it_one_event_as_a_batch_of_one() -> None:
    transport = Recording()
    assert isinstance(transport, Transport)
    client = OpenLineageClient(transport=transport)
    [event] = run_events(1, per_run=1)
    client.emit(ev.rehydrate(event))
    [[sent]] = transport.batches
    assert sent["run"]["runId"] == event["run"]["runId"] and sent["eventType"] == "COMPLETE"


@pytest.mark.parametrize(("status", "permanent"), [
    (400, True), (404, True), (413, True), (422, True),  # about the event: it goes dead
    (401, False), (403, False), (408, False), (409, False), (425, False), (429, False),  # about the request
    (200, False), (302, False), (500, False), (503, False),
])
def test_only_4xx_about_the_event_are_permanent(status: int, permanent: bool) -> None:
    assert is_permanent_status(status) is permanent


def test_delivery_error_says_whether_and_which_event_was_rejected() -> None:
    transient = DeliveryError("down")
    rejected = DeliveryError("bad facet", permanent=True, index=3)
    assert (transient.permanent, transient.index, str(transient)) == (False, None, "down")
    assert (rejected.permanent, rejected.index) == (True, 3)


def test_the_interface_itself_delivers_nothing() -> None:
    with pytest.raises(NotImplementedError):
        BatchTransport().send(run_events(1), timeout=1.0)
    assert BatchTransport().close() is True
