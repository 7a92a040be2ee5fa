"""Sessions: one record per conversation, and the port the conversation layer stores them through.

Whoever changes a session's state holds its **lease** first: ``claim`` takes it and reads the session
in one conditional write, ``save`` writes the state and releases it in another (still conditional on
``version``). A lease names the work it runs (activity, inject or notify ids), so a copy of that work
can tell it is running and wait for its answer; it ends at its holder's deadline, so a crashed
holder's lease expires. Requests that find the lease taken line up in ``waiting`` (first come, first
served). Attributes other writers own are never rewritten by ``save``: ``waiting`` (the waiters),
``delivered`` (``ADD`` per push), the WebSocket binding (``$connect`` / ``$disconnect``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

MAX_REMEMBERED_REPLIES = 16
MAX_REMEMBERED_DELIVERIES = 64
"""Answers kept per session so a resent activity gets the same answer (VAIC retries recent ones)."""
MAX_WAITING = 64
"""Requests that may wait for one call's lease; one more is refused (``ConversationBusy``)."""


class ConflictError(Exception):
    """Another writer saved the session since it was read (or the lease was lost)."""


@dataclass(frozen=True)
class Lease:
    """The right to change a session's state, held by one request until ``until`` (epoch seconds)."""

    holder: str
    """Unique per request (a random id), so a release cannot free somebody else's lease."""
    work: tuple[str, ...]
    """Ids of the work it runs: activity ids, an inject or notify id, ``disconnect``, ``flush``."""
    until: float

    def live(self, now: float) -> bool:
        return now < self.until


@dataclass(frozen=True)
class WaitingEntry:
    """A request waiting for the lease: ``<until>|<holder>|<work ids>`` in the ``waiting`` list."""

    until: float
    holder: str
    work: tuple[str, ...]

    def encode(self) -> str:
        return f"{self.until:.3f}|{self.holder}|{','.join(self.work)}"

    @classmethod
    def decode(cls, text: str) -> WaitingEntry:
        until, holder, work = text.split("|", 2)
        return cls(until=float(until), holder=holder, work=tuple(w for w in work.split(",") if w))


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
    caller: str | None = None
    """The caller's E.164 number, stored by the claim of the ``start`` activity, before the flow runs."""
    # Concurrency: who holds the lease, and who waits for it (oldest first, encoded WaitingEntry).
    lease: Lease | None = None
    waiting: list[str] = field(default_factory=list)
    # Async mode: the WebSocket VAIC opened (owned by $connect / $disconnect, never by ``save``),
    # outputs waiting for it, and outputs already pushed.
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
        if self.caller:
            return self.caller
        metadata = self.context.get("call", {}).get("numberMetaData", {})
        number = metadata.get("number") if metadata.get("valid") else None
        return str(number or self.conversation)

    def waiting_entries(self) -> list[WaitingEntry]:
        return [WaitingEntry.decode(text) for text in self.waiting]

    def is_live(self, now: float) -> bool:
        return self.status == "active" and now < self.expires_at

    def remember_reply(self, activity_id: str, activities: list[dict[str, Any]]) -> None:
        self.replies[activity_id] = activities
        while len(self.replies) > MAX_REMEMBERED_REPLIES:
            del self.replies[next(iter(self.replies))]

    def old_deliveries(self) -> set[str]:
        """Delivered ids no remembered reply or waiting output names any more: they cannot recur.

        Only the lease holder prunes, and only ids it read, so a concurrent push is never forgotten.
        """
        recent = {activity["id"] for reply in self.replies.values() for activity in reply}
        recent |= {activity["id"] for activity in self.outbox}
        return self.delivered - recent


def session_key(endpoint: str, conversation: str) -> str:
    return f"{endpoint}/{conversation}"


def connection_key(connection_id: str) -> str:
    """URL tokens cannot contain ``#``, so connection items never collide with sessions."""
    return f"#connection/{connection_id}"


@dataclass
class Claimed:
    """What ``claim`` found: ``taken`` with the session as it is now, or not, with the session as it
    was (``None``: no such session) so the caller sees who holds the lease and who waits."""

    taken: bool
    session: Session | None


class SessionStore(Protocol):
    def get(self, endpoint: str, conversation: str) -> Session | None:
        """The stored session (expired ones too: callers check ``is_live``), strongly consistent."""

    def create(self, session: Session) -> Session | None:
        """Store a new session; ``None`` if one already exists under its key."""

    def claim(
        self, endpoint: str, conversation: str, lease: Lease, now: float, *, entry: str | None, caller: str | None
    ) -> Claimed:
        """Take the lease and read the session, in one conditional write.

        Taken only if the session is live, nobody holds a live lease, and either nobody waits
        (``entry`` is ``None``) or ``entry`` is first in line (it then leaves the line). ``caller``
        is stored with it.
        """

    def release(self, session: Session) -> None:
        """Give the lease back without changing anything (the work was already done)."""

    def save(self, session: Session) -> None:
        """Write the state ``session`` owns and release its lease, if the stored version is still
        ``session.version`` and the lease still ``session.lease``; then bump the version.

        Raises :class:`ConflictError` otherwise. ``waiting``, ``delivered`` (except old ids, see
        :meth:`Session.old_deliveries`) and the WebSocket binding are left as they are.
        """

    def wait_in_line(self, endpoint: str, conversation: str, entry: str, limit: int) -> bool:
        """Append ``entry`` to ``waiting``; ``False`` if ``limit`` requests wait already (or no session)."""

    def leave_line(self, endpoint: str, conversation: str, entry: str) -> None:
        """Remove ``entry`` if it is first in line (a waiter that gave up or died)."""

    def bind_connection(
        self, endpoint: str, conversation: str, connection_id: str, now: float, expires_at: int
    ) -> bool:
        """Bind the WebSocket to a live session (and move its expiry); ``False`` if none is live."""

    def unbind_connection(self, endpoint: str, conversation: str, connection_id: str) -> None:
        """Forget the WebSocket if it is still the bound one."""

    def remember_caller(self, endpoint: str, conversation: str, caller: str) -> None:
        """Store the caller's number on a session that exists (async mode: when ``start`` is queued)."""

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
