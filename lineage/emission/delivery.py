"""Deliver outbox events to a backend, in order, within a time budget.

Backends (:func:`resolve_sink`):

1. an OpenLineage transport, when openlineage-python finds any configuration: ``openlineage.yml``
   (``$OPENLINEAGE_CONFIG``, the working directory, ``~/.openlineage``), ``OPENLINEAGE__TRANSPORT__*``
   variables, or ``OPENLINEAGE_URL`` — exactly the client's own resolution
   (``OpenLineageClient().transport``), so console, file, http, kafka, composite... all work;
2. otherwise the project's embedded lineage store: HTTP ``POST $OBS_LINEAGE_URL/api/v1/lineage``
   (JSON array batches) if that is set, else a direct write into the store database
   (``lineage.store.LineageStore.open()``, ``$OBS_LINEAGE_DB`` or ``$DAGSTER_HOME/lineage.db``).

Guarantees: at-least-once, in outbox order. A flush stops at the first transient failure, so a
later event is never delivered while an earlier one is still pending (per run and globally). A
permanent rejection of one event (HTTP 4xx other than 408/429, schema violation) moves that event
to ``dead`` and delivery goes on. The lineage store is idempotent on identical events, and our
events are deterministic, so a redelivery after a crash between send and bookkeeping is harmless.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lineage.emission.events import rehydrate
from lineage.emission.outbox import Outbox, OutboxRow

log = logging.getLogger(__name__)

LINEAGE_URL_ENV = "OBS_LINEAGE_URL"
LINEAGE_TOKEN_ENV = "OBS_LINEAGE_TOKEN"
DEFAULT_BUDGET_S = 2.0
DEFAULT_BACKOFF_S = 5.0


class DeliveryError(Exception):
    """``permanent``: the backend rejected the event itself; ``index``: which event of the batch."""

    def __init__(self, message: str, *, permanent: bool = False, index: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.index = index


class Sink(Protocol):
    name: str
    max_batch: int

    def send(self, events: Sequence[dict[str, Any]], timeout: float) -> None: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- sinks
class TransportSink:
    """Any openlineage-python transport; one event per ``emit`` (what transports accept)."""

    max_batch = 1

    def __init__(self, transport: Any) -> None:
        self.transport = transport
        self.name = f"openlineage:{getattr(transport, 'kind', type(transport).__name__)}"
        self._tune(transport)

    @staticmethod
    def _tune(transport: Any) -> None:
        """Bound blocking: no internal HTTP retries (the outbox retries), no endless Kafka flush."""
        kind = getattr(transport, "kind", None)
        if kind == "http":
            import requests.adapters
            import urllib3

            transport.session.mount(
                transport.url, requests.adapters.HTTPAdapter(max_retries=urllib3.util.Retry(total=0, raise_on_status=False))
            )
        elif kind == "kafka":
            transport.flush = False  # we wait for delivery ourselves, with the budget's timeout
        elif kind == "composite":
            for inner in getattr(transport, "transports", []):
                TransportSink._tune(inner)

    def send(self, events: Sequence[dict[str, Any]], timeout: float) -> None:
        transport = self.transport
        kind = getattr(transport, "kind", None)
        saved_timeout = getattr(transport, "timeout", None)
        try:
            if kind == "http" and saved_timeout is not None:
                transport.timeout = max(0.05, min(float(saved_timeout), timeout))
            for event in events:
                transport.emit(rehydrate(event))
            if kind == "kafka":
                if not transport.wait_for_completion(timeout=max(0.05, timeout)):
                    producer = getattr(transport, "producer", None)
                    if producer is not None:
                        producer.purge()  # it stays in the outbox; do not let the producer resend it later
                    raise DeliveryError("kafka: broker did not acknowledge within the delivery budget")
        except DeliveryError:
            raise
        except Exception as exc:
            raise _classify(exc) from exc
        finally:
            if kind == "http" and saved_timeout is not None:
                transport.timeout = saved_timeout

    def close(self) -> None:
        try:
            self.transport.close(0)
        except Exception:  # pragma: no cover - best effort
            pass


class LineageHttpSink:
    """The embedded lineage API: ``POST <url>/api/v1/lineage`` with a JSON array (one transaction)."""

    max_batch = 200

    def __init__(self, url: str, token: str | None = None) -> None:
        import httpx

        self.url = url.rstrip("/") + "/api/v1/lineage"
        self.name = f"lineage-api:{url}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(headers=headers)

    def send(self, events: Sequence[dict[str, Any]], timeout: float) -> None:
        import httpx

        body = list(events) if len(events) > 1 else events[0]
        try:
            resp = self._client.post(self.url, json=body, timeout=httpx.Timeout(max(0.05, timeout)))
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code < 300:
            return
        detail = resp.text[:500]
        permanent = 400 <= resp.status_code < 500 and resp.status_code not in (401, 403, 408, 409, 425, 429)
        index = None
        if permanent:
            try:
                index = resp.json().get("index")
            except ValueError:
                index = None
            if index is None and len(events) == 1:
                index = 0
        raise DeliveryError(f"HTTP {resp.status_code}: {detail}", permanent=permanent and index is not None,
                            index=index)

    def close(self) -> None:
        self._client.close()


class StoreSink:
    """Direct write into the lineage store database (no server needed)."""

    max_batch = 500

    def __init__(self, store: Any = None, url: str | None = None) -> None:
        self._store = store
        self._url = url
        self.name = "lineage-store"

    @property
    def store(self) -> Any:
        if self._store is None:
            from lineage.store import LineageStore

            self._store = LineageStore.open(self._url)
        return self._store

    def send(self, events: Sequence[dict[str, Any]], timeout: float) -> None:
        from lineage.store.validation import EventValidationError

        try:
            self.store.ingest(list(events))
        except EventValidationError as exc:
            index = exc.index if exc.index is not None else (0 if len(events) == 1 else None)
            raise DeliveryError(str(exc), permanent=index is not None, index=index) from exc
        except Exception as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        if self._store is not None and self._url is not None:
            self._store.dispose()


class CallableSink:
    """Wrap ``ingest(events: list[dict])`` (any callable) as a sink; its exceptions are transient."""

    max_batch = 500

    def __init__(self, ingest: Callable[[list[dict[str, Any]]], Any], name: str = "callable") -> None:
        self._ingest = ingest
        self.name = name

    def send(self, events: Sequence[dict[str, Any]], timeout: float) -> None:
        try:
            self._ingest(list(events))
        except Exception as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        pass


def _classify(exc: BaseException) -> DeliveryError:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int) and 400 <= status < 500 and status not in (401, 403, 408, 409, 425, 429):
        return DeliveryError(f"HTTP {status}: {exc}", permanent=True, index=0)
    return DeliveryError(f"{type(exc).__name__}: {exc}")


def openlineage_configured() -> bool:
    """Does openlineage-python find a transport configuration (file, env vars, OPENLINEAGE_URL)?"""
    if os.getenv("OPENLINEAGE_DISABLED", "").strip().lower() == "true":
        return True
    if os.environ.get("OPENLINEAGE_URL"):
        return True
    from openlineage.client.client import OpenLineageClient

    if any(k.startswith("OPENLINEAGE__TRANSPORT") for k in os.environ):
        return True
    return OpenLineageClient._find_yaml_config_path() is not None


def resolve_sink(config: dict[str, Any] | None = None) -> Sink:
    """The backend, by the rules in the module docstring; ``config`` is an explicit OpenLineage config."""
    if config or openlineage_configured():
        from openlineage.client.client import OpenLineageClient

        client = OpenLineageClient(config=config) if config else OpenLineageClient()
        return TransportSink(client.transport)
    url = os.environ.get(LINEAGE_URL_ENV)
    if url:
        return LineageHttpSink(url, os.environ.get(LINEAGE_TOKEN_ENV) or None)
    return StoreSink()


# --------------------------------------------------------------------------- flushing
@dataclass(frozen=True)
class FlushResult:
    delivered: int
    dead: int
    remaining: int
    error: str | None
    skipped: str | None = None  # why no attempt was made (lease held elsewhere, backoff)
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered, "dead": self.dead, "remaining": self.remaining,
            "error": self.error, "skipped": self.skipped, "elapsed_s": round(self.elapsed_s, 4),
        }


def flush(
    outbox: Outbox,
    sink: Sink,
    *,
    budget_s: float | None = DEFAULT_BUDGET_S,
    lease_wait_s: float = 0.0,
    respect_backoff: bool = False,
    backoff_s: float = DEFAULT_BACKOFF_S,
    max_events: int | None = None,
) -> FlushResult:
    """Deliver pending events in id order until done, the budget is spent, or a transient failure.

    ``budget_s=None`` means no time limit (the CLI and the sensor drain a backlog this way, each
    request still bounded by its own timeout).
    """
    started = time.monotonic()
    deadline = None if budget_s is None else started + budget_s
    if respect_backoff and outbox.in_backoff():
        return FlushResult(0, 0, outbox.backlog(), None, skipped="backoff", elapsed_s=time.monotonic() - started)
    wait = lease_wait_s if deadline is None else min(lease_wait_s, max(0.0, deadline - time.monotonic()))
    if not outbox.try_lease(wait_s=wait):
        return FlushResult(0, 0, outbox.backlog(), None, skipped="lease", elapsed_s=time.monotonic() - started)
    delivered = dead = 0
    error: str | None = None
    try:
        while True:
            remaining_time = None if deadline is None else deadline - time.monotonic()
            if remaining_time is not None and remaining_time <= 0.01:
                break
            if max_events is not None and delivered + dead >= max_events:
                break
            batch: list[OutboxRow] = outbox.pending(limit=sink.max_batch)
            if not batch:
                break
            try:
                sink.send([row.event() for row in batch], timeout=min(remaining_time or 10.0, 10.0))
            except DeliveryError as exc:
                if exc.permanent and exc.index is not None and 0 <= exc.index < len(batch):
                    bad = batch[exc.index]
                    log.error("lineage event %s rejected permanently by %s: %s", bad.id, sink.name, exc)
                    outbox.mark_dead(bad.id, str(exc))
                    dead += 1
                    continue  # earlier events of the batch are resent with the next batch
                error = str(exc)
                outbox.record_failure([batch[0].id], f"{sink.name}: {error}", backoff_s)
                log.warning("lineage delivery to %s failed (%s); %d event(s) stay in the outbox",
                            sink.name, error, outbox.backlog())
                break
            outbox.mark_delivered([row.id for row in batch], backend=sink.name)
            delivered += len(batch)
    finally:
        outbox.release_lease()
    return FlushResult(delivered, dead, outbox.backlog(), error, elapsed_s=time.monotonic() - started)
