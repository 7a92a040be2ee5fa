"""The API Gateway management API (``@connections``): frames posted to the WebSocket VAIC opened."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from audiocodes_endpoint.adapters.aws import clients
from audiocodes_endpoint.core.delivery import ConnectionGone

if TYPE_CHECKING:
    from botocore.client import BaseClient


@dataclass
class WebSocketPusher(clients.LazyClient):
    """Posts frames to connections through the API Gateway management API (``@connections``)."""

    endpoint_url: str
    client: BaseClient | None = None

    def _make_client(self) -> BaseClient:
        return clients.client("apigatewaymanagementapi", self.client, endpoint_url=self.endpoint_url)

    def push(self, connection_id: str, frame: dict[str, Any]) -> None:
        data = json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except self._client.exceptions.GoneException as error:
            raise ConnectionGone(connection_id) from error

    def close(self, connection_id: str) -> None:
        with contextlib.suppress(self._client.exceptions.GoneException):  # already closed is fine
            self._client.delete_connection(ConnectionId=connection_id)
