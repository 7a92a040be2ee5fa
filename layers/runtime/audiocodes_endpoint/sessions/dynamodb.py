"""The DynamoDB :class:`SessionStore`: one item per conversation, see the README for its shape.

Keys, version, status and expiry are top-level attributes (conditions and TTL need them); the
flow's state, context and remembered replies travel as one JSON string, which is cheaper to
(de)serialise than a nested DynamoDB map and keeps floats exact.
"""

from __future__ import annotations

import contextlib
import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .. import aws
from . import ConflictError, Session, connection_key, session_key

if TYPE_CHECKING:
    from botocore.client import BaseClient


class DynamoDBSessionStore:
    def __init__(self, table_name: str, client: BaseClient | None = None) -> None:
        self._table = table_name
        self._injected_client = client

    @cached_property
    def _client(self) -> BaseClient:
        return aws.client("dynamodb", self._injected_client)

    def connect(self) -> None:
        """(Re)create the client now: at init, and after a SnapStart restore (no sockets from the snapshot)."""
        self.__dict__.pop("_client", None)
        self._client  # noqa: B018 - the cached property builds the client

    def get(self, endpoint: str, conversation: str) -> Session | None:
        answer = self._client.get_item(
            TableName=self._table, Key={"id": {"S": session_key(endpoint, conversation)}}, ConsistentRead=True
        )
        item = answer.get("Item")
        return _from_item(item) if item else None

    def create(self, session: Session) -> Session | None:
        session.version = 1
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_to_item(session),
                ConditionExpression="attribute_not_exists(id)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            session.version = 0
            return None
        return session

    def save(self, session: Session) -> None:
        expected = session.version
        session.version += 1
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_to_item(session),
                ConditionExpression="version = :expected",
                ExpressionAttributeValues={":expected": {"N": str(expected)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException as error:
            session.version = expected
            raise ConflictError(session.key) from error

    def remember_connection(self, connection_id: str, endpoint: str, conversation: str, expires_at: int) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                "id": {"S": connection_key(connection_id)},
                "endpoint": {"S": endpoint},
                "conversation": {"S": conversation},
                "expires_at": {"N": str(expires_at)},
            },
        )

    def connection_owner(self, connection_id: str) -> tuple[str, str] | None:
        answer = self._client.get_item(TableName=self._table, Key={"id": {"S": connection_key(connection_id)}})
        item = answer.get("Item")
        return (item["endpoint"]["S"], item["conversation"]["S"]) if item else None

    def mark_delivered(self, endpoint: str, conversation: str, activity_id: str) -> None:
        # A session that is gone has nothing left to de-duplicate.
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": session_key(endpoint, conversation)}},
                UpdateExpression="ADD delivered :id",
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeValues={":id": {"SS": [activity_id]}},
            )

    def extend(self, endpoint: str, conversation: str, expires_at: int, now: float) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": session_key(endpoint, conversation)}},
                UpdateExpression="SET expires_at = :expires_at",
                ConditionExpression="attribute_exists(id) AND #status = :active AND expires_at > :now",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":expires_at": {"N": str(expires_at)},
                    ":active": {"S": "active"},
                    ":now": {"N": str(int(now))},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def _to_item(session: Session) -> dict[str, Any]:
    state = {
        "flow_state": session.flow_state,
        "context": session.context,
        "replies": session.replies,
        "disconnect": session.disconnect,
        "connection_id": session.connection_id,
        "connected_at": session.connected_at,
        "storage": session.storage,
        "translation": session.translation,
        "call_limit": session.call_limit,
        "outbox": session.outbox,
        "agent_version": session.agent_version,
    }
    item = {
        "id": {"S": session.key},
        "endpoint": {"S": session.endpoint},
        "conversation": {"S": session.conversation},
        "version": {"N": str(session.version)},
        "status": {"S": session.status},
        "expires_at": {"N": str(session.expires_at)},
        "created_at": {"N": repr(session.created_at)},
        "execution": {"N": str(session.execution)},
        "state": {"S": json.dumps(state, separators=(",", ":"), ensure_ascii=False)},
    }
    if session.delivered:  # a string set; DynamoDB refuses empty sets
        item["delivered"] = {"SS": sorted(session.delivered)}
    return item


def _from_item(item: dict[str, Any]) -> Session:
    state = json.loads(item["state"]["S"])
    return Session(
        endpoint=item["endpoint"]["S"],
        conversation=item["conversation"]["S"],
        expires_at=int(item["expires_at"]["N"]),
        created_at=float(item["created_at"]["N"]),
        version=int(item["version"]["N"]),
        status=item["status"]["S"],
        execution=int(item["execution"]["N"]),
        flow_state=state["flow_state"],
        context=state["context"],
        replies=state["replies"],
        disconnect=state["disconnect"],
        connection_id=state.get("connection_id"),
        connected_at=state.get("connected_at"),
        storage=state.get("storage", {}),
        translation=state.get("translation", {}),
        call_limit=state.get("call_limit", {}),
        outbox=state.get("outbox", []),
        agent_version=state.get("agent_version", ""),
        delivered=set(item.get("delivered", {}).get("SS", [])),
    )
