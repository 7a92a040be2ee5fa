"""The stand-ins' HTTP server stops without waiting for its accept loop's next poll."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler

from audiocodes_devtools.local_server import LocalHTTPServer


def test_shutdown_returns_before_the_accept_loop_would_have_polled_again() -> None:
    # Given a server whose accept loop never polls (socketserver's default is every 0.5 s)
    server = LocalHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    loop = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": None}, daemon=True)
    loop.start()

    # When it is shut down
    stopped = threading.Thread(target=server.shutdown, daemon=True)
    stopped.start()
    stopped.join(timeout=20)  # socketserver's own shutdown would wait for a poll that never comes

    # Then shutdown returned and the loop ended
    assert not stopped.is_alive()
    loop.join(timeout=20)
    assert not loop.is_alive()
    server.server_close()
