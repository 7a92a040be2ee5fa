"""moto's server in its own process, as the emulator runs it: ``python -m audiocodes_devtools.moto_server PORT``.

Its own process, so moto's work (the heaviest part of a local turn) does not share a GIL with the
HTTP front. Three changes to stock moto, each for fidelity or idle cost:

- DynamoDB conditional writes are atomic (``moto_atomic``), as on DynamoDB;
- SQS long polls wake on work: moto's long poll sleeps on a condition that only a *send* notifies,
  and returns at once when the only visible messages sit in a busy FIFO group, so a poller either
  spins or waits out a second after a delete unlocks the group. Here a send, a delete or a
  visibility change bumps a generation and wakes waiting polls; an idle poll sleeps.
- keep-alive, one write per answer: werkzeug's development server closes every connection
  (``Connection: close``), so each AWS request paid a TCP connect, a new server thread, and a drain
  that lingers up to 10 ms; here a connection serves request after request (``KeepAliveHandler``);
- ``TCP_NODELAY`` on every accepted socket, so no answer waits for the client's delayed ACK.

Prints ``moto ready on <url>`` once it accepts connections.
"""

# ruff: noqa: SLF001 - this module patches moto's queue internals on purpose (see the docstring)
from __future__ import annotations

import functools
import io
import os
import socket
import sys
import threading
import time
from typing import Any


def make_sqs_long_polls_wake_on_work() -> None:
    """Idempotent: a long poll sleeps until a send, delete or visibility change on its queue.

    Each scan is moto's own zero-wait receive, run under the queue's lock: moto's long poll keeps
    the busy FIFO groups it saw when it started, so two long polls could take one group's messages
    at once (out of order); a fresh scan per wake, one at a time, keeps FIFO groups exclusive.
    """
    from moto.sqs.models import Queue, SQSBackend

    if getattr(Queue, "_wakes_on_work", False):
        return
    Queue._wakes_on_work = True  # type: ignore[attr-defined]

    def changes(method: Any, queue_of: Any) -> Any:
        @functools.wraps(method)
        def wrapped(self: Any, *args: Any, **kwargs: Any) -> Any:
            queue = queue_of(self, *args, **kwargs)
            with queue._messages_lock:
                try:
                    return method(self, *args, **kwargs)
                finally:
                    queue._generation = getattr(queue, "_generation", 0) + 1
                    queue._messages_lock.notify_all()

        return wrapped

    receive = SQSBackend.receive_message

    @functools.wraps(receive)
    def receive_message(
        self: Any, queue_name: str, count: int, wait_seconds_timeout: int, *args: Any, **kwargs: Any
    ) -> Any:
        queue = self.get_queue(queue_name)
        deadline = time.monotonic() + int(wait_seconds_timeout or 0)
        with queue._messages_lock:
            while True:
                generation = getattr(queue, "_generation", 0)
                result = receive(self, queue_name, count, 0, *args, **kwargs)
                remaining = deadline - time.monotonic()
                if result or remaining <= 0:
                    return result
                if getattr(queue, "_generation", 0) == generation:
                    # At most a second: visibility timeouts and delays expire without a notification.
                    queue._messages_lock.wait(min(remaining, 1.0))

    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    Queue.add_message = changes(Queue.add_message, lambda queue, *_, **__: queue)  # type: ignore[method-assign]
    for name in ("delete_message", "change_message_visibility"):
        original = getattr(SQSBackend, name)
        setattr(
            SQSBackend, name, changes(original, lambda backend, queue_name, *_, **__: backend.get_queue(queue_name))
        )


def keep_alive_handler() -> type:
    """moto's request handler (its environ), answering over a kept-alive connection in one write.

    AWS SDKs send a ``Content-Length`` with every body, and the WSGI input is limited to it
    (werkzeug's request reads no further), so the next request on the connection is never consumed
    by this one; a body the application left unread is read here before the next request line.
    """
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    # MOTO_KEEP_ALIVE=0: werkzeug's own answer path (a connection per request), for the bench's "before".
    keep_alive = os.environ.get("MOTO_KEEP_ALIVE", "1") != "0"

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def run_wsgi(self) -> None:
            if not keep_alive or "Transfer-Encoding" in self.headers or "Expect" in self.headers:
                self.close_connection = True  # rare here (S3 uploads): werkzeug's own path, then close
                super().run_wsgi()
                return
            length = int(self.headers.get("Content-Length") or 0)
            environ = self.make_environ()
            environ["wsgi.input"] = io.BytesIO(self.rfile.read(length) if length else b"")
            started: list[Any] = []
            chunks: list[bytes] = []

            def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                started[:] = [status, headers]
                return chunks.append

            try:
                answer = self.server.app(environ, start_response)
                try:
                    chunks.extend(answer)
                finally:
                    if hasattr(answer, "close"):
                        answer.close()
            except Exception as error:  # as werkzeug does: a 500, logged by type, then close
                self.log_error("moto raised %s", type(error).__name__)
                started[:], chunks[:] = ["500 Internal Server Error", [("Content-Type", "text/plain")]], []
                self.close_connection = True
            status, headers = started
            code = int(status.split(None, 1)[0])
            data = b"" if self.command == "HEAD" or code in (204, 304) else b"".join(chunks)
            lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers if k.lower() != "content-length")]
            if code not in (204, 304):
                given = next((v for k, v in headers if k.lower() == "content-length"), None)
                lines.append(f"Content-Length: {given if self.command == 'HEAD' and given else len(data)}")
            if self.close_connection:
                lines.append("Connection: close")
            self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)

    return KeepAliveHandler


def serve(port: int, host: str = "127.0.0.1") -> None:
    import logging
    import signal

    # Ctrl-C in `make run` reaches the whole process group: the emulator ends this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from .moto_atomic import make_dynamodb_writes_atomic

    make_dynamodb_writes_atomic()
    make_sqs_long_polls_wake_on_work()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log drowns the emulator's
    server = make_server(
        host, port, DomainDispatcherApplication(create_backend_app), True, request_handler=keep_alive_handler()
    )
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    print(f"moto ready on http://{host}:{server.server_port}", flush=True)
    server.serve_forever()


def _exit_with_parent() -> None:
    """The emulator holds this process's stdin open: EOF means it ended, however it ended."""
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
