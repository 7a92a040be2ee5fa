"""A WebSocket pusher that records frames and can play a closed socket (API Gateway's 410 Gone)."""

from __future__ import annotations

from typing import Any

from audiocodes_endpoint.core.delivery import ConnectionGone


class RecordingPusher:
    def __init__(self) -> None:
        self.frames: list[tuple[str, dict[str, Any]]] = []
        self.gone: set[str] = set()
        self.closed: list[str] = []

    def push(self, connection_id: str, frame: dict[str, Any]) -> None:
        if connection_id in self.gone:
            raise ConnectionGone(connection_id)
        self.frames.append((connection_id, frame))

    def close(self, connection_id: str) -> None:
        self.closed.append(connection_id)

    def texts(self) -> list[str]:
        return [a.get("text") or a.get("name", "") for _, frame in self.frames for a in frame["activities"]]
