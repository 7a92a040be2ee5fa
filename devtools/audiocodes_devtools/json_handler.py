"""The request handler the local stand-ins share (accounts API, OAuth issuer, VAIC's dial-out API)."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import ClassVar


class QuietJsonHandler(BaseHTTPRequestHandler):
    """Answers JSON in one write and logs nothing (the emulator prints its own request log)."""

    extra_headers: ClassVar[dict[str, str]] = {}

    def _send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in self.extra_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        pass
