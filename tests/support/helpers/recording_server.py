"""A tiny real OpenLineage HTTP backend in a thread: records what it receives, can be stopped,
restarted on the same port, or made slow."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RecordingBackend:
    def __init__(self, port: int | None = None, delay_s: float = 0.0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.delay_s = delay_s
        self.events: list[dict] = []
        self.reports: list[dict] = []  # POST .../api/v1/workers/reports (lineage.emission.outbox_report)
        self.requests = 0
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def start(self) -> RecordingBackend:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if backend.delay_s:
                    time.sleep(backend.delay_s)
                payload = json.loads(body)
                with backend._lock:
                    if self.path.rstrip("/").endswith("/workers/reports"):  # outbox reports, not events
                        backend.reports.append(payload)
                    else:
                        backend.requests += 1
                        backend.events.extend(payload if isinstance(payload, list) else [payload])
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
