"""The interface every outbox delivery goes through: an openlineage-python ``Transport`` that also
takes batches.

:class:`BatchTransport` is a real ``openlineage.client.transport.Transport`` (its ``emit`` works
for one event, so openlineage-python can drive it too), plus what the outbox needs to deliver in
order within a time budget: ``send(events, timeout)`` for a batch of event dicts (at most
``max_batch``) raising :class:`DeliveryError`, which says whether the backend rejected an event
itself (permanent: that event goes ``dead``) or was merely unreachable (transient: retried).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openlineage.client.transport import Transport

from lineage.emission.events import to_dict

# HTTP 4xx answers that are about the request, not the event: retrying later can succeed.
RETRYABLE_4XX = frozenset({401, 403, 408, 409, 425, 429})
DEFAULT_SEND_TIMEOUT_S = 10.0


class DeliveryError(Exception):
    """``permanent``: the backend rejected the event itself; ``index``: which event of the batch."""

    def __init__(self, message: str, *, permanent: bool = False, index: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.index = index


def is_permanent_status(status: int) -> bool:
    """A 4xx that rejects the event itself (schema violation, bad request): never retried."""
    return 400 <= status < 500 and status not in RETRYABLE_4XX


class BatchTransport(Transport):
    """An OpenLineage transport that delivers batches of event dicts for the outbox."""

    max_batch: int = 1

    def send(self, events: Sequence[dict[str, Any]], timeout: float) -> None:
        """Deliver ``events`` (in order) within ``timeout`` seconds, or raise :class:`DeliveryError`."""
        raise NotImplementedError

    def emit(self, event: Any) -> None:
        self.send([to_dict(event)], timeout=DEFAULT_SEND_TIMEOUT_S)

    def close(self, timeout: float = -1) -> bool:
        return True
