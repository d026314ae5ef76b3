"""Traces of a run: the run's UUID is the trace id, steps are the run span's children, checks the steps'."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from helpers.recording_server import free_port
from lineage.telemetry import tracing


@pytest.fixture
def exporter():
    tracing.shutdown()
    memory = InMemorySpanExporter()
    tracing.configure(SimpleSpanProcessor(memory))
    yield memory
    tracing.shutdown()


def _run_with_two_steps(run_id: str) -> None:
    for asset in ("raw_customers", "clean_customers"):
        with tracing.step_span(run_id, "dagster.step", {"dagster.asset_key": asset, "dagster.partition_key": "2026-03-05"}):
            with tracing.child_span("obs.check", {"obs.check_name": f"{asset}_not_null"}):
                pass
    start = datetime(2026, 3, 5, 2, tzinfo=UTC)
    tracing.record_run(run_id, "dagster.run", start, start + timedelta(minutes=3), "FAILURE", {"dagster.job": "daily"})


def test_spans_of_one_run_share_its_id_as_trace_id(exporter: InMemorySpanExporter) -> None:
    run_id = str(uuid.uuid4())
    _run_with_two_steps(run_id)
    spans = {(s.name, s.attributes.get("dagster.asset_key") or s.attributes.get("obs.check_name")): s
             for s in exporter.get_finished_spans()}
    assert {s.context.trace_id for s in spans.values()} == {uuid.UUID(run_id).int}
    run = spans[("dagster.run", None)]
    assert run.parent is None  # the root of the trace
    assert run.context.span_id == tracing.run_span_id(run_id)
    assert run.status.status_code == trace.StatusCode.ERROR
    assert (run.end_time - run.start_time) == 180 * 10**9
    for asset in ("raw_customers", "clean_customers"):
        step, check = spans[("dagster.step", asset)], spans[("obs.check", f"{asset}_not_null")]
        assert step.parent.span_id == run.context.span_id
        assert check.parent.span_id == step.context.span_id
        assert step.attributes["obs.run_id"] == run_id


def test_run_ids_that_are_not_uuids_get_a_stable_trace_id() -> None:
    assert tracing.run_trace_id("manual-run-7") == tracing.run_trace_id("manual-run-7")
    assert tracing.run_trace_id("manual-run-7") != tracing.run_trace_id("manual-run-8")
    assert tracing.run_span_id("manual-run-7") != 0


def test_trace_tags_name_the_current_span(exporter: InMemorySpanExporter) -> None:
    assert tracing.trace_tags() == []
    run_id = str(uuid.uuid4())
    with tracing.step_span(run_id, "dagster.step", {}) as span:
        tags = dict(tracing.trace_tags())
    assert tags["otel.trace_id"] == uuid.UUID(run_id).hex
    assert tags["otel.span_id"] == trace.format_span_id(span.get_span_context().span_id)


def test_nothing_is_recorded_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    tracing.shutdown()
    for var in tracing.ENDPOINT_VARS:
        monkeypatch.delenv(var, raising=False)
    assert tracing.configure() is None
    with tracing.step_span(str(uuid.uuid4()), "dagster.step", {}):
        assert tracing.current_ids() is None


class _Collector:
    """A minimal OTLP/HTTP receiver: keeps each decoded ExportTraceServiceRequest."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.port = free_port()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                collector.requests.append((self.path, self.headers["Content-Type"], request))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_spans_reach_an_otlp_http_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    collector = _Collector()
    tracing.shutdown()
    monkeypatch.setenv("OBS_OTLP_ENDPOINT", f"http://127.0.0.1:{collector.port}")
    try:
        assert tracing.configure() is not None
        run_id = str(uuid.uuid4())
        _run_with_two_steps(run_id)
    finally:
        tracing.shutdown()  # flushes the batch processor
        collector.server.shutdown()
    spans = [(path, ctype, span) for path, ctype, req in collector.requests for rs in req.resource_spans
             for ss in rs.scope_spans for span in ss.spans]
    assert {path for path, _, _ in spans} == {"/v1/traces"}
    assert {ctype for _, ctype, _ in spans} == {"application/x-protobuf"}
    assert sorted(s.name for _, _, s in spans) == ["dagster.run", "dagster.step", "dagster.step", "obs.check", "obs.check"]
    assert {s.trace_id for _, _, s in spans} == {uuid.UUID(run_id).bytes}
    service = {a.value.string_value for req in (r for _, _, r in collector.requests) for rs in req.resource_spans
               for a in rs.resource.attributes if a.key == "service.name"}
    assert service == {"obs"}
