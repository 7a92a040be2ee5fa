"""An in-memory :class:`SessionStore` with the same semantics as DynamoDB, for unit tests.

Each method is one atomic request, as on DynamoDB; ``tests/integration/test_session_store_contract.py``
runs the same cases against this store and the DynamoDB adapter on moto.
"""

from __future__ import annotations

import copy
import dataclasses
import threading

from audiocodes_endpoint.core.sessions import Claimed, ConflictError, Lease, Session, session_key

# What ``save`` writes; everything else belongs to other writers (see the sessions module).
_SAVED = ("status", "expires_at", "execution", "flow_state", "context", "replies", "disconnect", "storage",
          "translation", "call_limit", "outbox", "agent_version")  # fmt: skip


class InMemorySessionStore:
    def __init__(self) -> None:
        self._items: dict[str, Session] = {}
        self.connections: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self.requests = 0

    def get(self, endpoint: str, conversation: str) -> Session | None:
        with self._lock:
            self.requests += 1
            stored = self._items.get(session_key(endpoint, conversation))
            return copy.deepcopy(stored)

    def create(self, session: Session) -> Session | None:
        with self._lock:
            self.requests += 1
            if session.key in self._items:
                return None
            session.version = 1
            self._items[session.key] = copy.deepcopy(session)
            return session

    def claim(
        self, endpoint: str, conversation: str, lease: Lease, now: float, *, entry: str | None, caller: str | None
    ) -> Claimed:
        with self._lock:
            self.requests += 1
            stored = self._items.get(session_key(endpoint, conversation))
            if stored is None:
                return Claimed(taken=False, session=None)
            free = stored.lease is None or stored.lease.until <= round(now, 3)
            in_line = (stored.waiting[:1] == [entry]) if entry else not stored.waiting
            if not (stored.status == "active" and stored.expires_at > int(now) and free and in_line):
                return Claimed(taken=False, session=copy.deepcopy(stored))
            stored.lease = dataclasses.replace(lease, until=round(lease.until, 3))
            if caller is not None:
                stored.caller = caller
            if entry:
                stored.waiting.pop(0)
            return Claimed(taken=True, session=copy.deepcopy(stored))

    def release(self, session: Session) -> None:
        assert session.lease is not None
        with self._lock:
            self.requests += 1
            stored = self._items.get(session.key)
            if stored is not None and stored.lease is not None and stored.lease.holder == session.lease.holder:
                stored.lease = None
        session.lease = None

    def save(self, session: Session) -> None:
        with self._lock:
            self.requests += 1
            stored = self._items.get(session.key)
            if stored is None or stored.version != session.version:
                raise ConflictError(session.key)
            if session.lease is not None and (stored.lease is None or stored.lease.holder != session.lease.holder):
                raise ConflictError(session.key)
            old = session.old_deliveries()
            for name in _SAVED:
                setattr(stored, name, copy.deepcopy(getattr(session, name)))
            if session.caller is not None:
                stored.caller = session.caller
            stored.delivered -= old
            stored.version += 1
            if session.lease is not None:
                stored.lease = None
        session.version, session.lease = session.version + 1, None
        session.delivered -= old

    def wait_in_line(self, endpoint: str, conversation: str, entry: str, limit: int) -> bool:
        with self._lock:
            self.requests += 1
            stored = self._items.get(session_key(endpoint, conversation))
            if stored is None or len(stored.waiting) >= limit:
                return False
            stored.waiting.append(entry)
            return True

    def leave_line(self, endpoint: str, conversation: str, entry: str) -> None:
        with self._lock:
            self.requests += 1
            stored = self._items.get(session_key(endpoint, conversation))
            if stored is not None and stored.waiting[:1] == [entry]:
                stored.waiting.pop(0)

    def bind_connection(
        self, endpoint: str, conversation: str, connection_id: str, now: float, expires_at: int
    ) -> bool:
        with self._lock:
            self.requests += 1
            stored = self._items.get(session_key(endpoint, conversation))
            if stored is None or not (stored.status == "active" and stored.expires_at > int(now)):
                return False
            stored.connection_id, stored.connected_at, stored.expires_at = connection_id, round(now, 3), expires_at
            return True

    def unbind_connection(self, endpoint: str, conversation: str, connection_id: str) -> None:
        with self._lock:
            self.requests += 1
            stored = self._items.get(session_key(endpoint, conversation))
            if stored is not None and stored.connection_id == connection_id:
                stored.connection_id = stored.connected_at = None

    def remember_caller(self, endpoint: str, conversation: str, caller: str) -> None:
        with self._lock:
            self.requests += 1
            stored = self._items.get(session_key(endpoint, conversation))
            if stored is not None:
                stored.caller = caller

    def remember_connection(self, connection_id: str, endpoint: str, conversation: str, expires_at: int) -> None:
        with self._lock:
            self.requests += 1
            self.connections[connection_id] = (endpoint, conversation)

    def connection_owner(self, connection_id: str) -> tuple[str, str] | None:
        with self._lock:
            self.requests += 1
            return self.connections.get(connection_id)

    def mark_delivered(self, endpoint: str, conversation: str, activity_id: str) -> None:
        with self._lock:
            self.requests += 1
            stored = self._items.get(session_key(endpoint, conversation))
            if stored is not None:
                stored.delivered.add(activity_id)

    def extend(self, endpoint: str, conversation: str, expires_at: int, now: float) -> bool:
        with self._lock:
            self.requests += 1
            stored = self._items.get(session_key(endpoint, conversation))
            if stored is None or not stored.is_live(now):
                return False
            stored.expires_at = expires_at
            return True
