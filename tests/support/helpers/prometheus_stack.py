"""Real Prometheus, Alertmanager and `obs serve` processes on loopback ports, for the alerting tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from helpers.binaries import require_binary
from helpers.recording_server import free_port

RULES = Path(__file__).resolve().parents[3] / "lineage" / "serve" / "prometheus"


class Process:
    """A child process in its own session, stopped with its children; its output kept in a log file."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, port: int, ready_path: str,
                 env: dict[str, str] | None = None) -> None:
        self.name, self.port, self.url = name, port, f"http://127.0.0.1:{port}"
        self.log = log_dir / f"{name}.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                         env={**os.environ, **(env or {})})
        self._wait_ready(ready_path)

    def _wait_ready(self, path: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout_s} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)


def obs_serve(db_url: str, log_dir: Path, env: dict[str, str] | None = None) -> Process:
    port = free_port()
    argv = [str(Path(sys.executable).parent / "obs"), "serve", "--port", str(port), "--db", db_url]
    return Process("obs-serve", argv, log_dir, port, "/healthz", env=env)


def alertmanager(webhook_url: str, workdir: Path, group_wait: str = "1s") -> Process:
    config = {
        "route": {"receiver": "webhook", "group_by": ["alertname", "dataset"], "group_wait": group_wait,
                  "group_interval": "5s", "repeat_interval": "1h"},
        "receivers": [{"name": "webhook", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}],
    }
    path = workdir / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [require_binary("prometheus-alertmanager", "prometheus-alertmanager"), f"--config.file={path}",
            f"--storage.path={workdir / 'alertmanager-data'}", f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address="]
    return Process("alertmanager", argv, workdir, port, "/-/ready")


def prometheus(target_port: int, alertmanager_port: int, workdir: Path, interval: str = "5s") -> Process:
    config: dict[str, Any] = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(RULES / "recording.yml"), str(RULES / "alerts.yml")],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]},
        "scrape_configs": [{"job_name": "obs", "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}],
    }
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [require_binary("prometheus", "prometheus"), f"--config.file={path}",
            f"--storage.tsdb.path={workdir / 'prometheus-data'}", f"--web.listen-address=127.0.0.1:{port}"]
    return Process("prometheus", argv, workdir, port, "/-/ready")
