"""OpenTelemetry traces of pipeline runs: one trace per orchestrator run, a span per step and per check.

The ids link the three views of one run without a lookup table:

* the trace id is the orchestrator's run id (a UUID, as Dagster's are; other ids are hashed to one);
* that UUID is also the OpenLineage parent run id of every step's events
  (:func:`lineage.emission.events.parent_run_uuid`), and each step's OpenLineage run carries the trace and
  span id in its ``tags`` run facet (:func:`trace_tags`);
* JSON log lines carry ``trace_id`` and ``span_id`` (:mod:`lineage.telemetry.logs`).

The run span has a span id derived from the run id too, so steps in other processes, started before the run
span is recorded (at the end of the run, :func:`record_run`), are its children.

Nothing is exported unless configured: :func:`configure` installs an SDK tracer provider with an OTLP/HTTP
exporter when ``OBS_OTLP_ENDPOINT`` (or the standard ``OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT``) is set, or with
the span processor a caller passes (tests use the SDK's in-memory exporter). Without it every span is a no-op.
"""

from __future__ import annotations

import contextvars
import os
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

TRACER_NAME = "obs"
ENDPOINT_VARS = ("OBS_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
RUN_NAMESPACE = uuid.UUID("7d8f0e55-3f0b-4d3e-9a57-0c1b6c7d9e21")
_lock = threading.Lock()
_provider: TracerProvider | None = None
_chosen: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar("obs_chosen_ids", default=None)


class _RunIds(RandomIdGenerator):
    """Random ids, except for the run span, whose trace and span id are chosen (see :func:`record_run`)."""

    def generate_span_id(self) -> int:
        chosen = _chosen.get()
        return chosen[1] if chosen else super().generate_span_id()

    def generate_trace_id(self) -> int:
        chosen = _chosen.get()
        return chosen[0] if chosen else super().generate_trace_id()


def endpoint() -> str | None:
    for var in ENDPOINT_VARS:
        if value := os.environ.get(var, "").strip():
            base = value.rstrip("/")
            return base if var == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" or base.endswith("/v1/traces") \
                else base + "/v1/traces"
    return None


def configure(processor: SpanProcessor | None = None, service: str = "obs") -> TracerProvider | None:
    """Install the tracer provider once per process; ``None`` (no tracing) when nothing is configured."""
    global _provider
    with _lock:
        if _provider is not None:
            if processor is not None:
                _provider.add_span_processor(processor)
            return _provider
        url = endpoint()
        if processor is None and url is None:
            return None
        provider = TracerProvider(resource=Resource.create({"service.name": service}), id_generator=_RunIds())
        if url is not None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
        if processor is not None:
            provider.add_span_processor(processor)
        _provider = provider
        return provider


def shutdown() -> None:
    """Flush and forget the provider (end of a process, or between tests)."""
    global _provider
    with _lock:
        if _provider is not None:
            _provider.shutdown()
        _provider = None


def _tracer() -> trace.Tracer:
    return (_provider or trace.NoOpTracerProvider()).get_tracer(TRACER_NAME)


def run_trace_id(run_id: str) -> int:
    """The trace id of an orchestrator run: the run's UUID, or a UUID derived from a run id that is not one."""
    try:
        return uuid.UUID(run_id).int
    except ValueError:
        return uuid.uuid5(RUN_NAMESPACE, run_id).int


def run_span_id(run_id: str) -> int:
    span_id = run_trace_id(run_id) & 0xFFFF_FFFF_FFFF_FFFF
    return span_id or 1  # 0 is the invalid span id


def _run_parent(run_id: str) -> otel_context.Context:
    parent = trace.SpanContext(run_trace_id(run_id), run_span_id(run_id), is_remote=True,
                               trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))
    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


@contextmanager
def step_span(run_id: str, name: str, attributes: Mapping[str, Any]) -> Iterator[trace.Span]:
    """A step of run ``run_id`` (e.g. one asset materialization), current while the block runs."""
    attrs = {"obs.run_id": run_id, **{k: v for k, v in attributes.items() if v is not None}}
    with _tracer().start_as_current_span(name, context=_run_parent(run_id), attributes=attrs) as span:
        yield span


@contextmanager
def child_span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[trace.Span]:
    """A part of the current step (a check, the lineage emission)."""
    attrs = {k: v for k, v in (attributes or {}).items() if v is not None}
    with _tracer().start_as_current_span(name, attributes=attrs) as span:
        yield span


def record_run(run_id: str, name: str, start: datetime, end: datetime, status: str,
               attributes: Mapping[str, Any] | None = None) -> None:
    """The run's own span, recorded once it has ended, with the id its steps already point at."""
    attrs = {"obs.run_id": run_id, "obs.run_status": status, **(attributes or {})}
    token = _chosen.set((run_trace_id(run_id), run_span_id(run_id)))
    try:  # an empty context: the run span is the root of its trace
        span = _tracer().start_span(name, context=otel_context.Context(), attributes=attrs,
                                    start_time=_nanos(start))
    finally:
        _chosen.reset(token)
    if status.upper() in ("FAILURE", "FAILED", "FAIL"):
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"run {status.lower()}"))
    span.end(end_time=_nanos(end))


def record_step(run_id: str, name: str, start: datetime, end: datetime, attributes: Mapping[str, Any],
                failed: bool = False, children: Sequence[tuple[str, datetime, Mapping[str, Any]]] = ()) -> None:
    """A finished step of run ``run_id`` recorded after the fact (from the event log), a child of the run
    span like a live :func:`step_span`; ``children``: (name, time, attributes) of its checks."""
    attrs = {"obs.run_id": run_id, **{k: v for k, v in attributes.items() if v is not None}}
    span = _tracer().start_span(name, context=_run_parent(run_id), attributes=attrs, start_time=_nanos(start))
    inside = trace.set_span_in_context(span)
    for child, when, child_attrs in children:
        _tracer().start_span(child, context=inside, attributes={k: v for k, v in child_attrs.items() if v is not None},
                             start_time=_nanos(when)).end(end_time=_nanos(when))
    if failed:
        span.set_status(trace.Status(trace.StatusCode.ERROR, "step failed"))
    span.end(end_time=_nanos(end))


def _nanos(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000_000)


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span as hex, or ``None`` outside a recorded span."""
    span = trace.get_current_span()
    ctx = span.get_span_context()
    if not (ctx.is_valid and span.is_recording()):
        return None
    return trace.format_trace_id(ctx.trace_id), trace.format_span_id(ctx.span_id)


def trace_tags() -> list[tuple[str, str]]:
    """``tags`` run-facet entries that point an OpenLineage run at its span (empty when not tracing)."""
    ids = current_ids()
    return [("otel.trace_id", ids[0]), ("otel.span_id", ids[1])] if ids else []
