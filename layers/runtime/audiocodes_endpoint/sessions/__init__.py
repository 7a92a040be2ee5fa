"""Sessions: one record per conversation, and the port the conversation layer stores them through.

A turn costs one read and one conditional write: ``save`` succeeds only if nobody else saved since
``get`` (optimistic lock on ``version``); on :class:`ConflictError` the caller re-reads and retries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

MAX_REMEMBERED_REPLIES = 16
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

    @property
    def key(self) -> str:
        return session_key(self.endpoint, self.conversation)

    def is_live(self, now: float) -> bool:
        return self.status == "active" and now < self.expires_at

    def remember_reply(self, activity_id: str, activities: list[dict[str, Any]]) -> None:
        self.replies[activity_id] = activities
        while len(self.replies) > MAX_REMEMBERED_REPLIES:
            del self.replies[next(iter(self.replies))]


def session_key(endpoint: str, conversation: str) -> str:
    return f"{endpoint}/{conversation}"


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
