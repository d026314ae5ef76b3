"""Issue 16, point 6: a password in a configured URL never reaches the outbox file, ``obs outbox status``
or a log line (real backends, down and up; the bytes of every file next to the outbox are searched)."""

from __future__ import annotations

import json
import logging

import pytest
import typer
from helpers.emission_events import run_events
from helpers.recording_server import RecordingBackend
from typer.testing import CliRunner

from lineage.emission.emitter import LineageEmitter
from lineage.emission.redact import redact
from observability_pipelines.cli import app as obs_app

SECRET = "s3cret-Pa55word"



def _with_password(url: str) -> str:
    return url.replace("http://", f"http://lineage:{SECRET}@")


@pytest.mark.parametrize("variable", ["OBS_LINEAGE_URL", "OPENLINEAGE__TRANSPORT__URL"])
def test_url_password_never_stored_shown_or_logged(variable, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    server = RecordingBackend()  # down first
    monkeypatch.setenv(variable, _with_password(server.url))
    if variable.startswith("OPENLINEAGE"):
        monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OBS_OUTBOX_PATH", str(tmp_path / "box" / "outbox.db"))
    emitter = LineageEmitter(budget_s=0.3)
    emitter.emit(*run_events(1, 2))
    assert emitter.status().last_error  # the failure was recorded...
    server.start()
    try:
        assert emitter.flush().delivered == 2
    finally:
        server.stop()
        emitter.close()
    cli = CliRunner()
    shown = cli.invoke(obs_app, ["outbox", "status", "--json"]).stdout + cli.invoke(obs_app, ["outbox", "status"]).output
    assert json.loads(cli.invoke(obs_app, ["outbox", "status", "--json"]).stdout)["delivered"] == 2
    stored = b"".join(p.read_bytes() for p in (tmp_path / "box").iterdir())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for where, text in (("status", shown), ("outbox file", stored.decode("latin-1")), ("log", logged)):
        assert SECRET not in text, where
    if variable == "OBS_LINEAGE_URL":
        assert "lineage:***@127.0.0.1" in shown  # still says which backend


def test_redact_masks_passwords_tokens_and_configured_secrets(monkeypatch):
    monkeypatch.setenv("OBS_LINEAGE_TOKEN", "tok-123456")
    monkeypatch.setenv("OBS_LINEAGE_DB", "postgresql://app:p%40ss-word@db/lineage")
    text = ("postgresql://app:p%40ss-word@db/lineage failed; GET http://h/x?a=1&token=abc&b=2 "
            "Authorization: Bearer tok-123456; password p@ss-word quoted")
    out = redact(text)
    for secret in ("p%40ss-word", "p@ss-word", "tok-123456", "token=abc"):
        assert secret not in out
    assert "postgresql://app:***@db/lineage" in out and "a=1" in out and "b=2" in out
