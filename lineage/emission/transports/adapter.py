"""Any other openlineage-python transport (http, kafka, console, file, composite, ...) under the outbox.

Those transports take one event per ``emit``; :class:`OneByOne` feeds them the outbox's events that way,
bounds each call by the delivery budget, and turns their exceptions into :class:`DeliveryError`.
:func:`tuned_for_outbox` adjusts their *configuration* before the factory builds them: the outbox
retries, so an HTTP transport must not retry internally, and Kafka must not flush per event (we wait for
the broker's acknowledgement ourselves, within the budget).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from openlineage.client.transport import HttpTransport, KafkaTransport, Transport

from lineage.emission.events import rehydrate
from lineage.emission.redact import redact
from lineage.emission.transports.base import BatchTransport, DeliveryError, is_permanent_status

# urllib3 Retry settings (HttpConfig.retry): fail on the first error and return 5xx responses as they are.
NO_HTTP_RETRIES = {"total": 0, "connect": 0, "read": 0, "raise_on_status": False}
MIN_TIMEOUT_S = 0.05


def tuned_for_outbox(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of an openlineage-python transport config (``type: ...``) set up for outbox delivery."""
    tuned = copy.deepcopy(config)
    kind = tuned.get("type")
    if kind == "http":
        tuned["retry"] = dict(NO_HTTP_RETRIES)
    elif kind == "kafka":
        tuned["flush"] = False
    elif kind == "composite":
        inner = tuned.get("transports")
        if isinstance(inner, dict):
            tuned["transports"] = {name: tuned_for_outbox(c) for name, c in inner.items()}
        elif isinstance(inner, list):
            tuned["transports"] = [tuned_for_outbox(c) for c in inner]
    return tuned


class OneByOne(BatchTransport):
    """Wraps ``transport``: one ``emit`` per event, in order."""

    max_batch = 1

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self.name = f"openlineage:{transport.kind or type(transport).__name__}"

    def send(self, events: Sequence[dict[str, Any]], timeout: float) -> None:
        try:
            with _request_timeout(self.transport, timeout):
                for event in events:
                    self.transport.emit(rehydrate(event))
            if isinstance(self.transport, KafkaTransport):
                _await_kafka(self.transport, timeout)
        except DeliveryError:
            raise
        except Exception as exc:
            raise _classify(exc) from exc

    def close(self, timeout: float = -1) -> bool:
        try:
            return self.transport.close(0)
        except Exception:  # pragma: no cover - best effort
            return False


def as_batch(transport: Transport) -> BatchTransport:
    """``transport`` itself when it takes batches (ours), else wrapped in :class:`OneByOne`."""
    return transport if isinstance(transport, BatchTransport) else OneByOne(transport)


@contextmanager
def _request_timeout(transport: Transport, timeout: float) -> Iterator[None]:
    """Cap the HTTP transport's per-request ``timeout`` (its public setting) at the delivery budget."""
    if not isinstance(transport, HttpTransport):
        yield
        return
    configured = transport.timeout
    transport.timeout = max(MIN_TIMEOUT_S, min(float(configured), timeout))
    try:
        yield
    finally:
        transport.timeout = configured


def _await_kafka(transport: KafkaTransport, timeout: float) -> None:
    if not transport.wait_for_completion(timeout=max(MIN_TIMEOUT_S, timeout)):
        transport.producer.purge()  # the event stays in the outbox: the producer must not resend it later
        raise DeliveryError("kafka: broker did not acknowledge within the delivery budget")


def _classify(exc: BaseException) -> DeliveryError:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int) and is_permanent_status(status):
        return DeliveryError(redact(f"HTTP {status}: {exc}"), permanent=True, index=0)
    return DeliveryError(redact(f"{type(exc).__name__}: {exc}"))
