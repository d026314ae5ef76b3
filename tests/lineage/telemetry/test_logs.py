"""JSON log lines carry the run context and the current span, so a log line leads to its trace and run."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import uuid

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lineage.telemetry import logs, tracing


@pytest.fixture
def stream():
    out = io.StringIO()
    tracing.shutdown()
    tracing.configure(SimpleSpanProcessor(InMemorySpanExporter()))
    logs.configure(stream=out, force=True)
    yield out
    for name in logs.OUR_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate = [], True
    tracing.shutdown()


def test_a_line_in_a_step_names_run_asset_partition_and_trace(stream: io.StringIO) -> None:
    run_id = str(uuid.uuid4())
    with logs.log_context(run_id=run_id, asset="raw_customers", partition="2026-03-05"):
        with tracing.step_span(run_id, "dagster.step", {}):
            logging.getLogger("lineage.emission.outbox").warning("backend unreachable; %d events kept", 3)
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["message"] == "backend unreachable; 3 events kept"
    assert line["level"] == "WARNING" and line["logger"] == "lineage.emission.outbox"
    assert (line["run_id"], line["asset"], line["partition"]) == (run_id, "raw_customers", "2026-03-05")
    assert line["trace_id"] == uuid.UUID(run_id).hex
    assert line["time"].endswith("+00:00")


def test_outside_a_step_no_context_is_invented(stream: io.StringIO) -> None:
    logging.getLogger("observability_pipelines.automation").info("sensor tick")
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert line["message"] == "sensor tick"
    assert not {"run_id", "trace_id", "asset"} & set(line)


def test_plain_text_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(logs.FORMAT_VAR, raising=False)
    assert logs.configure() is False
    assert logs.uvicorn_log_config() is None
    monkeypatch.setenv(logs.FORMAT_VAR, "json")
    config = logs.uvicorn_log_config()
    logging.config.dictConfig(config)  # a valid dictConfig
    assert config["loggers"]["uvicorn.access"]["handlers"] == ["json"]
    for name in config["loggers"]:
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate = [], True


def test_obs_serve_writes_json_lines_without_credentials(tmp_path) -> None:
    import httpx

    from helpers import prometheus_stack

    serve = prometheus_stack.obs_serve(f"sqlite:///{tmp_path / 'lineage.db'}", tmp_path, env={logs.FORMAT_VAR: "json"})
    try:
        assert httpx.get(serve.url + "/healthz?token=s3cret-value").status_code == 200
    finally:
        serve.stop()
    lines = [json.loads(line) for line in serve.log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert access and "/healthz?token=[redacted]" in access[-1]["message"]
    assert "s3cret-value" not in serve.log.read_text()
    assert {"time", "level", "logger", "message"} <= set(access[-1])
