"""A real HTTP server on 127.0.0.1 for the HTTP node and the demo flows (the accounts stub contract:
``GET /accounts/{id}`` -> ``{"id","name","balance","currency"}``, ``?delay_ms=`` to be slow)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

ACCOUNTS = {
    "1234": {"id": "1234", "name": "Ada", "balance": 1234.5, "currency": "EUR"},
    "98765": {"id": "98765", "name": "Bob", "balance": -20, "currency": "USD"},
}


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _reply(self, status: int, body: Any, content_type: str = "application/json") -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _record(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else None
        entry = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        _Handler.requests.append(entry)
        return entry

    def do_GET(self) -> None:
        self._record()
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if "delay_ms" in query:
            time.sleep(int(query["delay_ms"][0]) / 1000)
        if url.path.startswith("/accounts/"):
            account = ACCOUNTS.get(url.path.rsplit("/", 1)[-1])
            self._reply(200, account) if account else self._reply(404, {"error": "not found"})
        elif url.path == "/text":
            self._reply(200, b"plain words", "text/plain")
        elif url.path == "/not-unicode":  # JSON that parses to a lone surrogate: DynamoDB cannot store it
            self._reply(200, b'{"name": "Ada \\ud800", "nested": ' + b"[" * 5000 + b"]" * 5000 + b"}")
        elif url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/big":
            self._reply(200, b"x" * 2_000_000, "text/plain")
        else:
            self._reply(500, {"error": "boom"})

    def do_POST(self) -> None:
        entry = self._record()
        self._reply(201, {"received": json.loads(entry["body"] or "null"), "auth": self.headers.get("Authorization")})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out on purpose close the socket; that is not worth a traceback."""


@pytest.fixture(scope="session")
def http_stub() -> Iterator[str]:
    """Base URL of the stub (``http://127.0.0.1:<port>``)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def stub_requests() -> Iterator[list[dict[str, Any]]]:
    _Handler.requests.clear()
    yield _Handler.requests
