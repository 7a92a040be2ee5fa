"""An in-memory :class:`SessionStore` with the same semantics as DynamoDB, for unit tests."""

from __future__ import annotations

import copy
import threading

from audiocodes_endpoint.sessions import ConflictError, Session, session_key


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

    def save(self, session: Session) -> None:
        with self._lock:
            self.requests += 1
            stored = self._items.get(session.key)
            if stored is None or stored.version != session.version:
                raise ConflictError(session.key)
            session.version += 1
            self._items[session.key] = copy.deepcopy(session)

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
