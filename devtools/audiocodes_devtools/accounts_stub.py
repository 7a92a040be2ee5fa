"""A tiny accounts API for the demo agent's HTTP lookups, so `make run` works offline.

``GET /accounts/{id}[?delay_ms=N]`` -> ``{"id", "name", "balance", "currency"}`` or 404.
``delay_ms`` (capped at 5 s) lets the async demo show speech arriving before a slow lookup returns.
"""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlsplit

from .json_handler import QuietJsonHandler
from .local_server import LocalHTTPServer

ACCOUNTS = {
    "12345": {"id": "12345", "name": "Jane Doe", "balance": 1234.56, "currency": "EUR"},
    "67890": {"id": "67890", "name": "Max Mustermann", "balance": -42.10, "currency": "EUR"},
    "11111": {"id": "11111", "name": "John Smith", "balance": 0.0, "currency": "USD"},
}
MAX_DELAY_MS = 5000


class _Handler(QuietJsonHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        delay = parse_qs(url.query).get("delay_ms", ["0"])[0]
        if delay.isdigit():
            time.sleep(min(int(delay), MAX_DELAY_MS) / 1000)
        account = ACCOUNTS.get(parts[1]) if len(parts) == 2 and parts[0] == "accounts" else None
        self._send(200 if account else 404, account or {"error": "not_found"})


def start(port: int = 0) -> LocalHTTPServer:
    """Serve on 127.0.0.1 in a daemon thread; ``server.server_port`` is the port."""
    server = LocalHTTPServer(("127.0.0.1", port), _Handler)
    threading.Thread(target=server.serve_forever, name="accounts-stub", daemon=True).start()
    return server
