"""Deliver outbox events to a backend, in order, within a time budget.

The backend is an openlineage-python transport (:func:`resolve_transport`):

1. when openlineage-python finds a transport configuration: ``openlineage.yml`` (``$OPENLINEAGE_CONFIG``,
   the working directory, ``~/.openlineage``), ``OPENLINEAGE__TRANSPORT__*`` variables, or
   ``OPENLINEAGE_URL``: exactly the client's own resolution, so console, file, http, kafka,
   composite... and the project's own ``obs_lineage_store`` / ``obs_lineage_api`` types all work;
2. otherwise the project's embedded lineage store: ``obs_lineage_api`` (``POST
   $OBS_LINEAGE_URL/api/v1/lineage``, JSON array batches) if that is set, else ``obs_lineage_store``
   (a direct write into ``$OBS_LINEAGE_DB`` or ``$DAGSTER_HOME/lineage.db``).

See :mod:`lineage.emission.transports` for the transports and their configuration.

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
from dataclasses import dataclass
from typing import Any

from openlineage.client.client import OpenLineageClient
from openlineage.client.transport import NoopTransport, get_default_factory
from openlineage.client.transport.noop import NoopConfig

from lineage.emission.outbox import Outbox, OutboxRow
from lineage.emission.redact import redact
from lineage.emission.transports import BatchTransport, DeliveryError, as_batch, tuned_for_outbox

log = logging.getLogger(__name__)

LINEAGE_URL_ENV = "OBS_LINEAGE_URL"
LINEAGE_TOKEN_ENV = "OBS_LINEAGE_TOKEN"
DEFAULT_BUDGET_S = 2.0
DEFAULT_BACKOFF_S = 5.0
MAX_SEND_TIMEOUT_S = 10.0

__all__ = ["DeliveryError", "FlushResult", "embedded_store_transport", "flush", "openlineage_client",
           "openlineage_configured", "resolve_transport"]


# --------------------------------------------------------------------------- choosing the transport
def _disabled() -> bool:
    return os.getenv("OPENLINEAGE_DISABLED", "").strip().lower() == "true"


def _unresolved_client(config: dict[str, Any] | None) -> OpenLineageClient:
    # A placeholder transport: building the client must not open a connection (or a Kafka producer)
    # before the configuration is tuned for the outbox.
    return OpenLineageClient(config=config, transport=NoopTransport(NoopConfig()))


def _transport_config(client: OpenLineageClient) -> dict[str, Any] | None:
    """The transport config the client resolved, or the ``OPENLINEAGE_URL`` shorthand as an http config."""
    resolved = client.config.transport
    if resolved and resolved.get("type"):
        return dict(resolved)
    url = os.environ.get("OPENLINEAGE_URL")
    if not url:
        return None
    # The same http transport openlineage-python builds from these variables.
    http: dict[str, Any] = {"type": "http", "url": url,
                            "endpoint": os.environ.get("OPENLINEAGE_ENDPOINT", "api/v1/lineage")}
    if api_key := os.environ.get("OPENLINEAGE_API_KEY"):
        http["auth"] = {"type": "api_key", "apiKey": api_key}
    return http


def openlineage_configured(config: dict[str, Any] | None = None) -> bool:
    """Does openlineage-python find a transport configuration (file, env vars, OPENLINEAGE_URL)?"""
    return _disabled() or _transport_config(_unresolved_client(config)) is not None


def openlineage_client(config: dict[str, Any] | None = None) -> OpenLineageClient | None:
    """openlineage-python's client (its configuration, filters, facets) with a transport tuned for the
    outbox; None when openlineage-python finds no transport configuration."""
    client = _unresolved_client(config)
    if _disabled():
        return client  # its placeholder is the no-op transport OPENLINEAGE_DISABLED asks for
    transport_config = _transport_config(client)
    if transport_config is None:
        return None
    client.transport = get_default_factory().create(tuned_for_outbox(transport_config))
    return client


def embedded_store_transport() -> BatchTransport:
    """The project's own store when openlineage-python is not configured: its API at ``$OBS_LINEAGE_URL``,
    else its database, built by the same transport factory from the same kind of config."""
    url = os.environ.get(LINEAGE_URL_ENV)
    config: dict[str, Any] = {"type": "obs_lineage_store"}
    if url:
        config = {"type": "obs_lineage_api", "url": url, "api_key": os.environ.get(LINEAGE_TOKEN_ENV) or None}
    return as_batch(get_default_factory().create(config))


def resolve_transport(config: dict[str, Any] | None = None) -> BatchTransport:
    """The backend, by the rules in the module docstring; ``config`` is an explicit OpenLineage config."""
    client = openlineage_client(config)
    return as_batch(client.transport) if client else embedded_store_transport()


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
    transport: BatchTransport,
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
            batch: list[OutboxRow] = outbox.pending(limit=transport.max_batch)
            if not batch:
                break
            if not outbox.renew_lease():  # taken over (we were presumed dead): the new holder delivers
                error = "delivery lease taken over by another process"
                break
            try:
                transport.send(outbox.events(batch),
                               timeout=min(remaining_time or MAX_SEND_TIMEOUT_S, MAX_SEND_TIMEOUT_S))
            except DeliveryError as exc:
                if exc.permanent and exc.index is not None and 0 <= exc.index < len(batch):
                    bad = batch[exc.index]
                    log.error("lineage event %s rejected permanently by %s: %s", bad.id, redact(transport.name),
                              redact(exc))
                    outbox.mark_dead(bad.id, str(exc))
                    dead += 1
                    continue  # earlier events of the batch are resent with the next batch
                error = redact(exc)
                outbox.record_failure([batch[0].id], f"{redact(transport.name)}: {error}", backoff_s)
                log.warning("lineage delivery to %s failed (%s); %d event(s) stay in the outbox",
                            redact(transport.name), error, outbox.backlog())
                break
            outbox.mark_delivered([row.id for row in batch], backend=transport.name)
            delivered += len(batch)
    finally:
        outbox.release_lease()
    return FlushResult(delivered, dead, outbox.backlog(), error, elapsed_s=time.monotonic() - started)
