"""The emulator's HTTP server: holds bursts, keeps connections alive, answers in one write.

- listen backlog 512 (``ThreadingHTTPServer``'s default of 5 resets connections in a burst);
- ``TCP_NODELAY`` on every accepted socket and each answer (status line, headers, body) written
  with one ``sendall``: with keep-alive, a second small write waits for the client's delayed ACK;
- the access log names method, path and status only: query strings carry API keys (``?api_key=``)
  and bodies carry caller data.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from .local_server import LocalHTTPServer

# (method, path, query, header pairs, body, client ip) -> (status, header pairs, body)
Answer = tuple[int, list[tuple[str, str]], bytes]
Serve = Callable[[str, str, str, list[tuple[str, str]], bytes, str], Answer]


class PortTaken(OSError):
    """The port is held by another process."""


class HttpFront(LocalHTTPServer):
    request_queue_size = 512

    def __init__(self, port: int, serve: Serve, *, quiet: bool = False) -> None:
        try:
            super().__init__(("127.0.0.1", port), _handler(serve, quiet))
        except OSError as error:
            raise PortTaken(error.errno, f"port {port} is taken") from error

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints the traceback; its messages may quote the request. Name the error only.
        error = sys.exc_info()[1]
        sys.stderr.write(f"  ! HTTP front: {type(error).__name__} while answering {client_address[0]}\n")

    def start(self) -> HttpFront:
        threading.Thread(target=self.serve_forever, name="http-front", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def _handler(serve: Serve, quiet: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, data = serve(
                self.command, url.path, url.query, list(self.headers.items()), body, self.client_address[0]
            )
            self._write(status, headers, data)

        def _write(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
            lines = [
                f"HTTP/1.1 {status} {reason}",
                f"Date: {formatdate(usegmt=True)}",
                *(f"{k}: {v}" for k, v in headers),
            ]
            lines.append(f"Content-Length: {len(data)}")
            if self.close_connection:
                lines.append("Connection: close")
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            self.wfile.write(head + (b"" if self.command == "HEAD" else data))  # one write per answer
            if not quiet:
                sys.stderr.write(f"  {self.command} {urlsplit(self.path).path} -> {status}\n")

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: object) -> None:
            if not quiet and os.environ.get("EMULATOR_QUIET") != "1":
                # Only the message's fixed part: its arguments may quote the request line (and an API key).
                sys.stderr.write(f"  http: {format.split('%', 1)[0].strip() or 'bad request'}\n")

        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            pass  # _write logs the answer without the query string

    return Handler
