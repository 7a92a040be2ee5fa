"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1, streaming server-sent events.

For tests and the bench: it answers ``POST /v1/chat/completions`` (``stream: true``) with the next
scripted reply, one SSE ``data:`` line per piece with a pause between pieces, as a model server does
(OpenAI API reference, chat completions streaming: ``choices[0].delta.content``,
``delta.tool_calls``, ``finish_reason``, a last ``usage`` chunk, then ``data: [DONE]``). It keeps
every request and the ``time.monotonic()`` at which each piece was about to be written, so a test can compare
when the caller heard a sentence with when the model produced it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from .local_server import LocalHTTPServer


@dataclass
class Reply:
    pieces: list[str] = field(default_factory=list)
    """Text deltas, sent one per SSE event."""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(name, arguments) the model calls after its text."""
    delay: float = 0.0
    """Seconds before each piece (the model's generation time)."""
    status: int = 200
    usage: tuple[int, int] = (12, 8)


@dataclass
class Served:
    body: dict[str, Any]
    headers: dict[str, str]
    written_at: list[float] = field(default_factory=list)
    """``time.monotonic()`` just before each piece was written to the socket."""
    ended_at: float | None = None


class ModelServer:
    def __init__(self, replies: list[Reply] | None = None) -> None:
        self.replies: list[Reply] = list(replies or [])
        self.default = Reply(["I have nothing scripted to say."])
        self.served: list[Served] = []
        self._lock = threading.Lock()
        self._server = LocalHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self.replies = list(replies)
            self.served.clear()

    def _next(self) -> Reply:
        with self._lock:
            return self.replies.pop(0) if self.replies else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                served = Served(body, {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.served.append(served)
                reply = server._next()
                if reply.status != 200 or self.path.rstrip("/") != "/v1/chat/completions":
                    payload = json.dumps({"error": {"message": "scripted failure"}}).encode()
                    self.send_response(reply.status if reply.status != 200 else 404)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    self._stream(reply, served)
                self.close_connection = True

            def _event(self, chunk: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                self.wfile.flush()

            def _stream(self, reply: Reply, served: Served) -> None:
                model = served.body.get("model", "scripted")
                base = {"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "model": model}
                self._event({**base, "choices": [{"index": 0, "delta": {"role": "assistant"}}]})
                for piece in reply.pieces:
                    if reply.delay:
                        time.sleep(reply.delay)
                    # stamped before the write: a client can only have it after this time
                    served.written_at.append(time.monotonic())
                    self._event({**base, "choices": [{"index": 0, "delta": {"content": piece}}]})
                for index, (name, arguments) in enumerate(reply.tool_calls):
                    text = json.dumps(arguments)
                    half = len(text) // 2  # arguments arrive in pieces, as real servers send them
                    first = {
                        "index": index,
                        "id": f"call_{index}",
                        "type": "function",
                        "function": {"name": name, "arguments": text[:half]},
                    }
                    self._event({**base, "choices": [{"index": 0, "delta": {"tool_calls": [first]}}]})
                    rest = {"index": index, "function": {"arguments": text[half:]}}
                    self._event({**base, "choices": [{"index": 0, "delta": {"tool_calls": [rest]}}]})
                finish = "tool_calls" if reply.tool_calls else "stop"
                self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
                usage = {"prompt_tokens": reply.usage[0], "completion_tokens": reply.usage[1]}
                self._event({**base, "choices": [], "usage": {**usage, "total_tokens": sum(reply.usage)}})
                served.ended_at = time.monotonic()  # before the write, as written_at
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

        return Handler

    def start(self) -> ModelServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def model_server(*replies: Reply) -> Iterator[ModelServer]:
    server = ModelServer(list(replies)).start()
    try:
        yield server
    finally:
        server.stop()
