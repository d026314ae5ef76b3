"""``LineageEmitter``: outbox first, then a bounded inline delivery attempt.

``emit`` never raises and never blocks longer than ``budget_s`` (default 2 s) plus the local
SQLite append: the events are committed to the outbox, then one delivery attempt is made (skipped
while a previous failure's backoff runs, or while another process holds the delivery lease for
longer than half the budget). What is not delivered stays in the outbox for the sensor /
``obs outbox flush``, or, where a shared spool is configured (``$OBS_LINEAGE_SPOOL``, see
``lineage.emission.spool``), is handed over there so a worker that goes away takes nothing with it.

Never silently lost: when the outbox cannot be written (disk full, read-only, corrupt file) the events
are delivered directly, synchronously; when that fails too, ``emit`` raises :class:`LineageNotRecorded`
(the step fails with one readable line) — the only exception it raises. A direct delivery can overtake
events still pending in the outbox (order is kept within the call). A broken backend configuration
(e.g. ``type: file`` without ``log_file_path``) never drops an event either: events stay in the
outbox, the error is logged once per process and shown by ``obs outbox status``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lineage.emission import delivery, outbox_report
from lineage.emission.events import to_dict
from lineage.gcpause import gc_paused
from lineage.emission.outbox import Outbox, OutboxError
from lineage.emission.redact import install_log_redaction, redact
from lineage.emission.spool import Spool
from lineage.emission.transports import BatchTransport, DeliveryError, as_batch

log = logging.getLogger(__name__)


class LineageNotRecorded(RuntimeError):
    """Events could neither be stored in the outbox nor delivered directly."""


class BackendConfigError(RuntimeError):
    """The configured OpenLineage transport cannot be built (events wait in the outbox)."""


class LineageEmitter:
    def __init__(
        self,
        *,
        outbox_path: str | Path | None = None,
        openlineage_config: dict[str, Any] | None = None,
        transport: BatchTransport | None = None,
        budget_s: float = delivery.DEFAULT_BUDGET_S,
        deliver_inline: bool = True,
        backoff_s: float = delivery.DEFAULT_BACKOFF_S,
        spool: Spool | str | None = None,
    ) -> None:
        install_log_redaction()  # before any transport is built: they log their configuration
        self.outbox = Outbox(outbox_path)
        self.spool = spool if isinstance(spool, Spool) else Spool.from_env(spool)
        # Only events this emitter enqueued are handed over: events a collector took from the spool into
        # a shared outbox must wait there for the backend, not bounce back to the spool.
        self._own_pending: set[int] = set()
        self.budget_s = budget_s
        self.deliver_inline = deliver_inline
        self.backoff_s = backoff_s
        self._config = openlineage_config
        self._transport = transport
        self._client: Any = None
        self._client_resolved = transport is not None
        self._backend_error: BackendConfigError | None = None
        self._lock = threading.Lock()
        self._delivering = threading.Lock()
        self._timer: threading.Timer | None = None  # a scheduled delivery of deferred events
        self._attempts = 0  # delivery attempts made (deferred_held: did one happen meanwhile?)

    # ------------------------------------------------------------------ backend
    def _openlineage_client(self) -> Any:
        """The openlineage-python client when OpenLineage is configured (for its enrichment + transport)."""
        if not self._client_resolved:
            self._client_resolved = True
            try:
                self._client = delivery.openlineage_client(self._config)
            except Exception as exc:  # never fall back to another backend: the user configured this one
                self._backend_error = BackendConfigError(redact(
                    f"the OpenLineage transport configuration is invalid ({type(exc).__name__}: {exc}); "
                    "fix openlineage.yml / OPENLINEAGE__TRANSPORT__* (events wait in the outbox)"))
                log.error("%s; outbox %s", self._backend_error, self.outbox.path)
        return self._client

    @property
    def transport(self) -> BatchTransport:
        """Where events go (see :func:`lineage.emission.delivery.resolve_transport`), built on first use."""
        with self._lock:
            if self._transport is None:
                client = self._openlineage_client()
                if self._backend_error is not None:
                    raise self._backend_error
                self._transport = (as_batch(client.transport) if client
                                   else delivery.embedded_store_transport())
            return self._transport

    def _enrich(self, event: Any) -> Any | None:
        """Client-side facets the user configured for openlineage-python (env vars, tags, git), filters."""
        if isinstance(event, dict):
            return event
        client = self._openlineage_client()
        if client is None:
            return event
        try:
            cfg = client.config
            if client.filter_event(event) is None:
                return None
            if cfg.facets.environment_variables:
                event = client.add_environment_facets(event)
            if cfg.tags.job or cfg.tags.run:
                event = client.update_event_tags_facets(event)
            event = client.add_source_code_location_facet(event)
        except Exception as exc:  # enrichment is optional; the event itself matters
            log.warning("OpenLineage client enrichment failed: %s", exc)
        return event

    # ------------------------------------------------------------------ API
    def _payloads(self, events: Iterable[Any]) -> list[dict[str, Any]]:
        payloads = []
        for event in events:
            enriched = self._enrich(event)
            if enriched is not None:
                payloads.append(to_dict(enriched))
        return payloads

    def _append(self, payloads: list[dict[str, Any]], keep: bool = False) -> list[int]:
        ids = self.outbox.append(payloads, keep=keep) if payloads else []
        if self.spool is not None:
            with self._lock:
                self._own_pending.update(ids)
        return ids

    def enqueue(self, events: Iterable[Any]) -> list[int]:
        """Durably store events (``event_v2`` objects or dicts) without attempting delivery;
        raises :class:`~lineage.emission.outbox.OutboxError` when the outbox cannot be written."""
        return self._append(self._payloads(events))

    def emit(self, *events: Any, defer_s: float | None = None) -> delivery.FlushResult | None:
        """Store, then try to deliver within the budget. Never raises for backend problems; raises
        :class:`LineageNotRecorded` when the events can be neither stored nor delivered.

        ``defer_s``: the events are stored now but delivered with the next emit, or at the latest
        ``defer_s`` later by a timer thread (a step's START goes in one backend transaction with its
        COMPLETE when the step is short; a long step is still seen as started). Returns None then."""
        with gc_paused():
            return self._emit(events, defer_s)

    def _emit(self, events: tuple[Any, ...], defer_s: float | None) -> delivery.FlushResult | None:
        payloads = self._payloads(events)
        try:  # dicts built here from event objects are ours: delivered as they are (see Outbox.append)
            self._append(payloads, keep=self.deliver_inline and not any(isinstance(e, dict) for e in events))
        except OutboxError as exc:
            return self._deliver_directly(payloads, exc)
        if not self.deliver_inline:
            return None
        if defer_s is not None:
            self._schedule_delivery(defer_s)
            return None
        return self._deliver_now()

    def _deliver_now(self) -> delivery.FlushResult | None:
        """One bounded delivery attempt of everything pending (a scheduled one is no longer needed)."""
        self._cancel_scheduled()
        with self._delivering:  # one delivery at a time in this process: the outbox lease is re-entrant
            self._attempts += 1
            try:
                result = self.try_deliver()
            finally:
                self.outbox.forget_recent()
            if self.spool is not None and (result is None or result.remaining):
                self.hand_over()
        outbox_report.report_after_emit(self, result)  # for /metrics wherever obs serve runs; never raises
        return result

    @contextlib.contextmanager
    def deferred_held(self) -> Iterator[None]:
        """Hold a scheduled delivery of deferred events while the caller builds the event that will carry
        them (a step's COMPLETE): the timer would otherwise deliver the START alone, one backend transaction
        more, mid-build. Re-scheduled at once when no delivery was attempted meanwhile (the build failed)."""
        held, attempts = self._cancel_scheduled(), self._attempts
        try:
            yield
        finally:
            if held and self._attempts == attempts:
                self._schedule_delivery(0.0)

    def _schedule_delivery(self, delay_s: float) -> None:
        with self._lock:
            if self._timer is not None:
                return  # the scheduled attempt delivers every event stored before it runs
            self._timer = threading.Timer(delay_s, self._deferred_delivery)
            self._timer.daemon = True  # a process that exits first leaves the events in the outbox
            self._timer.start()

    def _cancel_scheduled(self) -> bool:
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        return timer is not None

    def _deferred_delivery(self) -> None:
        try:
            with gc_paused():
                self._deliver_now()
        except Exception as exc:  # a timer thread has no caller to tell: the events wait in the outbox
            log.warning("deferred lineage delivery failed: %s", redact(exc))

    def _deliver_directly(self, payloads: list[dict[str, Any]], cause: OutboxError) -> delivery.FlushResult:
        """The outbox is unusable: send now, in order, or raise (never drop)."""
        def lost(why: str) -> LineageNotRecorded:
            return LineageNotRecorded(redact(f"{len(payloads)} lineage event(s) not recorded: {cause}; "
                                             f"direct delivery failed too: {why}"))

        try:
            transport = self.transport
        except Exception as exc:
            raise lost(f"{type(exc).__name__}: {exc}") from exc
        for start in range(0, len(payloads), max(1, transport.max_batch)):
            try:
                transport.send(payloads[start:start + transport.max_batch], timeout=delivery.MAX_SEND_TIMEOUT_S)
            except DeliveryError as exc:  # earlier batches were delivered; the rest would be lost
                raise lost(f"{redact(transport.name)}: {exc}") from exc
        log.warning("%s; %d lineage event(s) delivered directly to %s instead", cause, len(payloads),
                    redact(transport.name))
        return delivery.FlushResult(len(payloads), 0, 0, str(cause), skipped="outbox unwritable: delivered directly")

    def hand_over(self) -> int:
        """Move undelivered events to the shared spool; returns how many. Never raises.

        Rows are marked handed over only after the spool file is complete: if the spool is
        unreachable too, the events stay pending here.
        """
        if self.spool is None or not self.outbox.try_lease(wait_s=self.budget_s / 2):
            return 0
        moved = 0
        try:
            with self._lock:
                own = sorted(self._own_pending)
            rows = self.outbox.pending_among(own)
            with self._lock:  # delivered meanwhile (or by another process): no longer ours to move
                self._own_pending.difference_update(set(own) - {row.id for row in rows})
            for start in range(0, len(rows), 500):
                batch = rows[start:start + 500]
                self.spool.put([row.event() for row in batch])
                self.outbox.mark_handed_over([row.id for row in batch])
                with self._lock:
                    self._own_pending.difference_update(row.id for row in batch)
                moved += len(batch)
        except Exception as exc:
            log.warning("%s", redact(f"could not hand lineage events over to the spool {self.spool.root} "
                                     f"({type(exc).__name__}: {exc}); events stay in the outbox {self.outbox.path}"))
        finally:
            self.outbox.release_lease()
        return moved

    def collect_spool(self) -> int:
        """Take events other processes handed over into this outbox (ordered after what is already here)."""
        if self.spool is None:
            return 0
        return self.spool.collect(self.outbox.append)

    def try_deliver(self) -> delivery.FlushResult | None:
        try:
            transport = self.transport
        except Exception as exc:
            msg = redact(f"cannot build the lineage backend: {type(exc).__name__}: {exc}")
            if not isinstance(exc, BackendConfigError):  # that one was logged once, as an error
                log.warning("%s; events stay in the outbox %s", msg, self.outbox.path)
            try:
                pending = self.outbox.pending(limit=1)
                self.outbox.record_failure([r.id for r in pending], msg, self.backoff_s)
            except OutboxError as outbox_exc:
                log.error("%s", outbox_exc)
            return None
        try:
            return delivery.flush(
                self.outbox, transport, budget_s=self.budget_s, lease_wait_s=self.budget_s / 2,
                respect_backoff=True, backoff_s=self.backoff_s,
            )
        except Exception as exc:  # the outbox keeps everything; never fail a materialization here
            log.warning("lineage delivery attempt failed: %s", redact(exc))
            return None

    def flush(self, budget_s: float | None = None, lease_wait_s: float = 10.0,
              collect: bool = True) -> delivery.FlushResult:
        """Collect the spool (unless the caller just did), then drain the backlog (ignores the backoff);
        used by the sensor and ``obs outbox flush``."""
        if collect:
            try:
                self.collect_spool()
            except Exception as exc:  # an unreachable spool must not hold up the local backlog
                log.warning("%s", redact(f"could not collect the lineage spool {self.spool.root}: "
                                         f"{type(exc).__name__}: {exc}"))
        with self._delivering:
            return delivery.flush(self.outbox, self.transport, budget_s=budget_s, lease_wait_s=lease_wait_s,
                                  respect_backoff=False, backoff_s=self.backoff_s)

    def status(self):
        return self.outbox.status()

    def close(self) -> None:
        if self._cancel_scheduled():  # deferred events are delivered now, not left to the sensor
            self._deliver_now()
        if self._transport is not None:
            self._transport.close(0)
        self.outbox.close()
