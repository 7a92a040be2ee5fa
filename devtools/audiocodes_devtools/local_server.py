"""The threaded HTTP server the local stand-ins and the emulator's front share: it stops at once.

``socketserver``'s ``shutdown()`` waits for its accept loop's next poll, up to half a second; the
tests start and stop these servers hundreds of times (about 45 s of a test run went to that wait).
Here ``shutdown()`` sets the loop's stop flag and wakes it with a connection: no wait, and no faster
polling while idle (``make run`` should cost nothing when nobody calls).
"""

from __future__ import annotations

import contextlib
import socket
from http.server import ThreadingHTTPServer


class LocalHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def shutdown(self) -> None:
        # The flag serve_forever checks after each wake-up (socketserver.BaseServer's own, name-mangled).
        self._BaseServer__shutdown_request = True
        with contextlib.suppress(OSError):  # the loop wakes, sees the flag and returns
            socket.create_connection((str(self.server_address[0]), self.server_address[1]), timeout=1).close()
        super().shutdown()
