"""The DynamoDB :class:`SessionStore`: one item per conversation, see the README for its shape.

Keys, version, status and expiry are top-level attributes (conditions and TTL need them); the
flow's state, context and remembered replies travel as one JSON string, which is cheaper to
(de)serialise than a nested DynamoDB map and keeps floats exact. So do the attributes other writers
own (``lease_*``, ``waiting``, ``delivered``, ``connection_id``), so each can be changed alone.

An uncontended turn is two requests: ``claim`` (``UpdateItem``, ``ReturnValues=ALL_NEW``: the read)
and ``save`` (``UpdateItem``). A refused claim returns the item as it was
(``ReturnValuesOnConditionCheckFailure=ALL_OLD``), so a waiter learns who holds the lease for free.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from audiocodes_endpoint.adapters.aws import clients
from audiocodes_endpoint.core.sessions import Claimed, ConflictError, Lease, Session, connection_key, session_key

if TYPE_CHECKING:
    from botocore.client import BaseClient


_LIVE = "attribute_exists(id) AND #status = :active AND expires_at > :inow"


class DynamoDBSessionStore(clients.LazyClient):
    def __init__(self, table_name: str, client: BaseClient | None = None) -> None:
        self._table = table_name
        self._injected_client = client

    def _make_client(self) -> BaseClient:
        return clients.client("dynamodb", self._injected_client)

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

    def claim(
        self, endpoint: str, conversation: str, lease: Lease, now: float, *, entry: str | None, caller: str | None
    ) -> Claimed:
        free = "(attribute_not_exists(lease_until) OR lease_until <= :now)"
        line = "waiting[0] = :entry" if entry else "(attribute_not_exists(waiting) OR size(waiting) = :zero)"
        values: dict[str, Any] = {
            ":now": {"N": _time(now)},
            ":holder": {"S": lease.holder},
            ":work": {"S": ",".join(lease.work)},
            ":until": {"N": _time(lease.until)},
            ":active": {"S": "active"},
            ":inow": {"N": str(int(now))},
        }
        update = "SET lease_holder = :holder, lease_work = :work, lease_until = :until"
        if caller is not None:
            update += ", caller = :caller"
            values[":caller"] = {"S": caller}
        if entry:
            values[":entry"] = {"S": entry}
            update += " REMOVE waiting[0]"
        else:
            values[":zero"] = {"N": "0"}
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": session_key(endpoint, conversation)}},
                UpdateExpression=update,
                ConditionExpression=f"{_LIVE} AND {free} AND {line}",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as error:
            old = error.response.get("Item")
            return Claimed(taken=False, session=_from_item(old) if old else None)
        return Claimed(taken=True, session=_from_item(answer["Attributes"]))

    def release(self, session: Session) -> None:
        assert session.lease is not None
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):  # it expired: gone
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": session.key}},
                UpdateExpression="REMOVE lease_holder, lease_work, lease_until",
                ConditionExpression="lease_holder = :holder",
                ExpressionAttributeValues={":holder": {"S": session.lease.holder}},
            )
        session.lease = None

    def save(self, session: Session) -> None:
        expected = session.version
        item = _to_item(session)
        values: dict[str, Any] = {":expected": {"N": str(expected)}, ":version": {"N": str(expected + 1)}}
        names = {"#status": "status", "#state": "state"}
        sets = ["version = :version"]
        for name in ("status", "expires_at", "execution", "state", "caller"):
            if name in item:
                placeholder = f"#{name}" if f"#{name}" in names else name
                sets.append(f"{placeholder} = :{name}")
                values[f":{name}"] = item[name]
        update = "SET " + ", ".join(sets)
        condition = "version = :expected"
        if session.lease is not None:
            update += " REMOVE lease_holder, lease_work, lease_until"
            condition += " AND lease_holder = :holder"
            values[":holder"] = {"S": session.lease.holder}
        old = session.old_deliveries()
        if old:
            update += " DELETE delivered :old"
            values[":old"] = {"SS": sorted(old)}
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": session.key}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self._client.exceptions.ConditionalCheckFailedException as error:
            raise ConflictError(session.key) from error
        session.version, session.lease = expected + 1, None
        session.delivered -= old

    def wait_in_line(self, endpoint: str, conversation: str, entry: str, limit: int) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": session_key(endpoint, conversation)}},
                UpdateExpression="SET waiting = list_append(if_not_exists(waiting, :empty), :entry)",
                ConditionExpression="attribute_exists(id) AND (attribute_not_exists(waiting) OR size(waiting) < :lim)",
                ExpressionAttributeValues={
                    ":empty": {"L": []},
                    ":entry": {"L": [{"S": entry}]},
                    ":lim": {"N": str(limit)},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def leave_line(self, endpoint: str, conversation: str, entry: str) -> None:
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):  # not first: fine
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": session_key(endpoint, conversation)}},
                UpdateExpression="REMOVE waiting[0]",
                ConditionExpression="waiting[0] = :entry",
                ExpressionAttributeValues={":entry": {"S": entry}},
            )

    def bind_connection(
        self, endpoint: str, conversation: str, connection_id: str, now: float, expires_at: int
    ) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": session_key(endpoint, conversation)}},
                UpdateExpression="SET connection_id = :connection, connected_at = :now, expires_at = :expires_at",
                ConditionExpression=_LIVE,
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":connection": {"S": connection_id},
                    ":now": {"N": _time(now)},
                    ":inow": {"N": str(int(now))},
                    ":expires_at": {"N": str(expires_at)},
                    ":active": {"S": "active"},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def unbind_connection(self, endpoint: str, conversation: str, connection_id: str) -> None:
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):  # a newer one is bound
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": session_key(endpoint, conversation)}},
                UpdateExpression="REMOVE connection_id, connected_at",
                ConditionExpression="connection_id = :connection",
                ExpressionAttributeValues={":connection": {"S": connection_id}},
            )

    def remember_caller(self, endpoint: str, conversation: str, caller: str) -> None:
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):  # no session: fine
            self._client.update_item(
                TableName=self._table,
                Key={"id": {"S": session_key(endpoint, conversation)}},
                UpdateExpression="SET caller = :caller",
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeValues={":caller": {"S": caller}},
            )

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
    if session.caller is not None:
        item["caller"] = {"S": session.caller}
    return item


def _time(seconds: float) -> str:
    return f"{seconds:.3f}"


def _lease(item: dict[str, Any]) -> Lease | None:
    if "lease_holder" not in item:
        return None
    work = item.get("lease_work", {}).get("S", "")
    return Lease(
        holder=item["lease_holder"]["S"],
        work=tuple(w for w in work.split(",") if w),
        until=float(item["lease_until"]["N"]),
    )


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
        caller=item["caller"]["S"] if "caller" in item else None,
        lease=_lease(item),
        waiting=[entry["S"] for entry in item.get("waiting", {}).get("L", [])],
        connection_id=item["connection_id"]["S"] if "connection_id" in item else None,
        connected_at=float(item["connected_at"]["N"]) if "connected_at" in item else None,
        storage=state.get("storage", {}),
        translation=state.get("translation", {}),
        call_limit=state.get("call_limit", {}),
        outbox=state.get("outbox", []),
        agent_version=state.get("agent_version", ""),
        delivered=set(item.get("delivered", {}).get("SS", [])),
    )
