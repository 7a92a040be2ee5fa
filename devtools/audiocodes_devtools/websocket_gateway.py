"""API Gateway's WebSocket API, locally: upgrades go through ``$connect``, frames come from ``@connections``.

Like API Gateway, a connection accepts posts only after its ``$connect`` handler returned 200,
and ``$disconnect`` runs when the socket closes, whoever closed it. Sockets get ``TCP_NODELAY``
(a frame is one write; Nagle would hold it for the client's delayed ACK).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from .events import websocket_event

Invoke = Callable[[dict[str, Any]], dict[str, Any]]


class WebSocketGateway:
    def __init__(self, invoke: Invoke, *, stage: str = "live") -> None:
        self._invoke = invoke
        self.stage = stage
        self._connections: dict[str, ServerConnection] = {}
        self._connected_at: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: Server | None = None
        self.port = 0

    def start(self, port: int = 0) -> WebSocketGateway:
        self._server = serve(self._handle, "127.0.0.1", port, process_request=self._connect, compression=None)
        self.port = self._server.socket.getsockname()[1]
        threading.Thread(target=self._server.serve_forever, name="websocket-api", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/{self.stage}"

    # --- the management API (@connections) -----------------------------------------------------

    def connection_ids(self) -> set[str]:
        with self._lock:
            return set(self._connections)

    def post(self, connection_id: str, data: bytes) -> bool:
        """Send a text frame; ``False`` if the connection is unknown or closed (API Gateway's 410)."""
        with self._lock:
            connection = self._connections.get(connection_id)
        if connection is None:
            return False
        try:
            connection.send(data.decode("utf-8"))
        except ConnectionClosed:
            return False
        return True

    def delete(self, connection_id: str) -> bool:
        with self._lock:
            connection = self._connections.get(connection_id)
        if connection is None:
            return False
        connection.close(1000, "closed by the bot")
        return True

    # --- the socket side ----------------------------------------------------------------------------

    def _connect(self, connection: ServerConnection, request: Request) -> Response | None:
        connection.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection_id = _connection_id(connection)
        self._connected_at[connection_id] = int(time.time() * 1000)
        event = websocket_event(
            "$connect",
            "CONNECT",
            connection_id,
            stage=self.stage,
            domain=self._domain,
            connected_at=self._connected_at[connection_id],
            headers=request.headers.raw_items(),
            query=urlsplit(request.path).query,
            source_ip=_peer(connection),
        )
        result = self._invoke(event)
        status = int(result.get("statusCode", 500))
        if status != 200:
            self._connected_at.pop(connection_id, None)
            body = result.get("body") or json.dumps({"message": "Forbidden"})
            return Response(status, "Rejected", Headers([("Content-Type", "application/json")]), body.encode())
        return None

    def _handle(self, connection: ServerConnection) -> None:
        connection_id = _connection_id(connection)
        with self._lock:
            self._connections[connection_id] = connection
        try:
            for message in connection:
                text = message if isinstance(message, str) else message.decode("utf-8", "replace")
                self._invoke(self._event("$default", "MESSAGE", connection_id, connection, body=text))
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._connections.pop(connection_id, None)
            close = (connection.close_code or 1006, connection.close_reason or "")
            with contextlib.suppress(Exception):
                self._invoke(self._event("$disconnect", "DISCONNECT", connection_id, connection, close=close))
            self._connected_at.pop(connection_id, None)

    @property
    def _domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _event(
        self, route_key: str, event_type: str, connection_id: str, connection: ServerConnection, **fields: Any
    ) -> dict[str, Any]:
        connected_at = self._connected_at.get(connection_id, int(time.time() * 1000))
        return websocket_event(
            route_key,
            event_type,
            connection_id,
            stage=self.stage,
            domain=self._domain,
            connected_at=connected_at,
            source_ip=_peer(connection),
            **fields,
        )


def _peer(connection: ServerConnection) -> str:
    with contextlib.suppress(Exception):
        return str(connection.remote_address[0])
    return "127.0.0.1"


def _connection_id(connection: ServerConnection) -> str:
    # API Gateway ids look like "L0SM9cOFvHcCIhw="; any unique, URL-safe string does here.
    return connection.id.hex
