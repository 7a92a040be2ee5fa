"""Where outputs and turns go in async mode: the WebSocket VAIC opened, and the FIFO turn queue.

The only module besides ``sessions`` that touches boto3. Clients are created on first use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from audiocodes_endpoint.adapters.aws import clients
from audiocodes_endpoint.core.sessions import Session, SessionStore
from audiocodes_endpoint.observability import count, logger

if TYPE_CHECKING:
    from botocore.client import BaseClient

CONNECT_RACE_RETRIES = 4
WorkKind = Literal["activity", "flush", "inject", "notify"]


class ConnectionGone(Exception):
    """The WebSocket is closed (or not open yet): keep the output for the next connection."""


@dataclass
class WebSocketPusher:
    """Posts frames to connections through the API Gateway management API (``@connections``)."""

    endpoint_url: str
    client: BaseClient | None = None

    @cached_property
    def _client(self) -> BaseClient:
        return clients.client("apigatewaymanagementapi", self.client, endpoint_url=self.endpoint_url)

    def connect(self) -> None:
        """(Re)create the client now: at init, and after a SnapStart restore (no sockets from the snapshot)."""
        self.__dict__.pop("_client", None)
        self._client  # noqa: B018 - the cached property builds the client

    def push(self, connection_id: str, frame: dict[str, Any]) -> None:
        data = json.dumps(frame, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except self._client.exceptions.GoneException as error:
            raise ConnectionGone(connection_id) from error

    def close(self, connection_id: str) -> None:
        with contextlib.suppress(self._client.exceptions.GoneException):  # already closed is fine
            self._client.delete_connection(ConnectionId=connection_id)


@dataclass
class SocketOutlet:
    """Async-mode outputs: pushed at once when the socket is up, else kept in order in the outbox.

    An output already delivered (a turn re-run after a crash produces the same ids) is skipped;
    each push is recorded right away, so a dispatcher that dies mid-turn does not repeat it.
    """

    pusher: WebSocketPusher
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
        frame = {"conversation": session.conversation, "activities": [activity]}
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


@dataclass(frozen=True)
class Work:
    """One unit for the dispatcher: a caller activity, a flush after (re)connect, an inject or a notify."""

    kind: WorkKind
    endpoint: str
    conversation: str
    payload: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(
            {"kind": self.kind, "endpoint": self.endpoint, "conversation": self.conversation, "payload": self.payload},
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Work:
        data = json.loads(text)
        return cls(
            kind=data["kind"], endpoint=data["endpoint"], conversation=data["conversation"], payload=data["payload"]
        )


@dataclass
class TurnQueue:
    """The SQS FIFO queue: one message group per conversation keeps its work in order, one at a time."""

    queue_url: str
    client: BaseClient | None = None

    @cached_property
    def _client(self) -> BaseClient:
        return clients.client("sqs", self.client)

    def connect(self) -> None:
        """(Re)create the client now: at init, and after a SnapStart restore (no sockets from the snapshot)."""
        self.__dict__.pop("_client", None)
        self._client  # noqa: B018 - the cached property builds the client

    def put(self, work: Work, deduplication: str) -> str:
        """Enqueue; SQS drops a second message with the same ``deduplication`` within 5 minutes."""
        answer = self._client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=work.to_json(),
            MessageGroupId=_digest(f"{work.endpoint}/{work.conversation}"),
            MessageDeduplicationId=_digest(f"{work.endpoint}/{work.conversation}/{work.kind}/{deduplication}"),
        )
        return str(answer["MessageId"])


def _digest(text: str) -> str:
    """SQS ids allow 128 characters; conversation keys may be longer, so hash them."""
    return hashlib.sha256(text.encode()).hexdigest()
