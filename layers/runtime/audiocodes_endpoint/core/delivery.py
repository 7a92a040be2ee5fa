"""Where outputs go in async mode: the WebSocket VAIC opened, or the session's outbox until it opens.

The socket itself is behind :class:`Pusher` (``adapters.aws.websocket_pusher`` in Lambda, a
recording fake in tests); the frame's shape is the channel's (``channel.audiocodes``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from audiocodes_endpoint.channel.audiocodes import websocket_frame
from audiocodes_endpoint.core.sessions import Session, SessionStore
from audiocodes_endpoint.observability import count, logger

CONNECT_RACE_RETRIES = 4


class ConnectionGone(Exception):
    """The WebSocket is closed (or not open yet): keep the output for the next connection."""


class Pusher(Protocol):
    """Posts one frame to one open WebSocket; raises :class:`ConnectionGone` when it is not open."""

    def push(self, connection_id: str, frame: dict[str, Any]) -> None: ...


@dataclass
class SocketOutlet:
    """Async-mode outputs: pushed at once when the socket is up, else kept in order in the outbox.

    An output already delivered (a turn re-run after a crash produces the same ids) is skipped;
    each push is recorded right away, so a dispatcher that dies mid-turn does not repeat it.
    """

    pusher: Pusher
    store: SessionStore
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def send(self, session: Session, activity: dict[str, Any]) -> None:
        if activity["id"] in session.delivered or any(w["id"] == activity["id"] for w in session.outbox):
            return
        if session.connection_id is None or session.outbox:
            session.outbox.append(activity)  # keep order behind what is already waiting
            return
        if not self._push(session, activity):
            session.outbox.append(activity)

    def flush(self, session: Session) -> None:
        while session.outbox and session.connection_id is not None:
            if not self._push(session, session.outbox[0]):
                return
            session.outbox.pop(0)

    def _push(self, session: Session, activity: dict[str, Any]) -> bool:
        assert session.connection_id is not None
        frame = websocket_frame(session.conversation, activity)
        for attempt in range(CONNECT_RACE_RETRIES + 1):
            try:
                self.pusher.push(session.connection_id, frame)
                break
            except ConnectionGone:
                # API Gateway refuses posts until $connect has returned: a socket bound a moment
                # ago is likely still opening, not gone.
                opening = session.connected_at is not None and self.clock() - session.connected_at < 2.0
                if opening and attempt < CONNECT_RACE_RETRIES:
                    self.sleep(0.05 * 2**attempt)
                    continue
                logger.info("WebSocket gone; outputs wait for the next connection")
                count("PushFailures")
                # Unbound only if it is still the bound one: a socket $connect bound since stays.
                self.store.unbind_connection(session.endpoint, session.conversation, session.connection_id)
                session.connection_id = None
                return False
        session.delivered.add(activity["id"])
        self.store.mark_delivered(session.endpoint, session.conversation, activity["id"])
        return True
