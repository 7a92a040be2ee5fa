"""Sessions: one record per conversation, and the port the conversation layer stores them through.

A turn costs one read and one conditional write: ``save`` succeeds only if nobody else saved since
``get`` (optimistic lock on ``version``); on :class:`ConflictError` the caller re-reads and retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

MAX_REMEMBERED_REPLIES = 16
MAX_REMEMBERED_DELIVERIES = 64
"""Answers kept per session so a resent activity gets the same answer (VAIC retries recent ones)."""


class ConflictError(Exception):
    """Another writer saved the session since it was read."""


@dataclass
class Session:
    endpoint: str
    conversation: str
    expires_at: int
    """Epoch seconds after which the session is gone (also the DynamoDB TTL attribute)."""
    created_at: float
    version: int = 0
    status: Literal["active", "ended"] = "active"
    execution: int = 0
    flow_state: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Activity id -> the activities answered to it, oldest first, at most MAX_REMEMBERED_REPLIES."""
    disconnect: dict[str, Any] | None = None
    # Async mode: the WebSocket VAIC opened, outputs waiting for it, and outputs already pushed.
    connection_id: str | None = None
    connected_at: float | None = None
    outbox: list[dict[str, Any]] = field(default_factory=list)
    delivered: set[str] = field(default_factory=set)
    """Ids of activities pushed over the WebSocket (also added one by one, atomically, as they go)."""
    # Endpoint settings' state for the call: transformer storage, translation, the call-duration limit.
    storage: dict[str, Any] = field(default_factory=dict)
    translation: dict[str, Any] = field(default_factory=dict)
    call_limit: dict[str, Any] = field(default_factory=dict)
    agent_version: str = ""
    """The agent (flows, endpoints, extensions) the call started with; a deploy may change it mid-call."""

    @property
    def key(self) -> str:
        return session_key(self.endpoint, self.conversation)

    @property
    def user_id(self) -> str:
        """The caller's E.164 number when known (Cognigy keyed users by it), else the conversation id."""
        metadata = self.context.get("call", {}).get("numberMetaData", {})
        number = metadata.get("number") if metadata.get("valid") else None
        return str(number or self.conversation)

    def is_live(self, now: float) -> bool:
        return self.status == "active" and now < self.expires_at

    def remember_reply(self, activity_id: str, activities: list[dict[str, Any]]) -> None:
        self.replies[activity_id] = activities
        while len(self.replies) > MAX_REMEMBERED_REPLIES:
            del self.replies[next(iter(self.replies))]

    def forget_old_deliveries(self) -> None:
        """Keep the delivered ids of the replies still remembered (ids of older ones can't recur)."""
        recent = {activity["id"] for reply in self.replies.values() for activity in reply}
        recent |= {activity["id"] for activity in self.outbox}
        self.delivered &= recent
        if len(self.delivered) > MAX_REMEMBERED_DELIVERIES * MAX_REMEMBERED_REPLIES:
            self.delivered = set(sorted(self.delivered)[-MAX_REMEMBERED_DELIVERIES:])


def session_key(endpoint: str, conversation: str) -> str:
    return f"{endpoint}/{conversation}"


def connection_key(connection_id: str) -> str:
    """URL tokens cannot contain ``#``, so connection items never collide with sessions."""
    return f"#connection/{connection_id}"


class SessionStore(Protocol):
    def get(self, endpoint: str, conversation: str) -> Session | None:
        """The stored session (expired ones too: callers check ``is_live``), strongly consistent."""

    def create(self, session: Session) -> Session | None:
        """Store a new session; ``None`` if one already exists under its key."""

    def save(self, session: Session) -> None:
        """Write ``session`` if its stored version is still ``session.version``, then bump the version.

        Raises :class:`ConflictError` otherwise.
        """

    def extend(self, endpoint: str, conversation: str, expires_at: int, now: float) -> bool:
        """Move the expiry of a live session (no version bump); ``False`` if there is no live session."""

    def remember_connection(self, connection_id: str, endpoint: str, conversation: str, expires_at: int) -> None:
        """Note which call a WebSocket belongs to (``$disconnect`` events carry only the connection id)."""

    def connection_owner(self, connection_id: str) -> tuple[str, str] | None:
        """``(endpoint, conversation)`` of a WebSocket, if known."""

    def mark_delivered(self, endpoint: str, conversation: str, activity_id: str) -> None:
        """Record at once, outside the version lock, that an activity went out over the WebSocket.

        A dispatcher that dies before saving its turn then knows, on retry, what not to send again.
        """
