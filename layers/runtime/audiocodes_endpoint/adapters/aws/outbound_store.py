"""Outbound call records in the sessions table (``id = outbound#<endpoint>#<call id>``), and EventBridge.

One item per call: its target, the flow's metadata, VAIC's conversation id, the hash of the per-call
callback token, the status and the status history (appended in one UpdateItem per change).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from audiocodes_endpoint.adapters.aws import clients
from audiocodes_endpoint.adapters.aws.attribute_values import plain
from audiocodes_endpoint.features.outbound.calls import CallExists

if TYPE_CHECKING:
    from botocore.client import BaseClient

EVENT_SOURCE = "audiocodes-endpoint.outbound"
EVENT_DETAIL_TYPE = "Outbound call status"


def record_id(url_token: str, call_id: str) -> str:
    return f"outbound#{url_token}#{call_id}"


def _entry(change: dict[str, Any]) -> dict[str, Any]:
    """One history entry as DynamoDB's map: strings and numbers only (None left out)."""
    item: dict[str, Any] = {}
    for key, value in change.items():
        if value is None:
            continue
        item[key] = (
            {"N": str(value)} if isinstance(value, int | float) and not isinstance(value, bool) else {"S": str(value)}
        )
    return {"M": item}


class CallStore(clients.LazyClient):
    def __init__(self, table_name: str, client: BaseClient | None = None) -> None:
        self.table_name = table_name
        self._injected_client = client

    def _make_client(self) -> BaseClient:
        return clients.client("dynamodb", self._injected_client)

    def create(
        self, url_token: str, call_id: str, fields: dict[str, Any], first: dict[str, Any], expires_at: int
    ) -> None:
        item = {
            "id": {"S": record_id(url_token, call_id)},
            "call_id": {"S": call_id},
            "endpoint": {"S": url_token},
            "target": {"S": fields["target"]},
            "metadata": {"S": json.dumps(fields.get("metadata") or {})},
            "token_hash": {"S": fields["token_hash"]},
            "status": {"S": first["status"]},
            "history": {"L": [_entry(first)]},
            "created_at": {"N": str(first["at"])},
            "expires_at": {"N": str(expires_at)},
        }
        campaign = fields.get("campaign")
        if campaign:  # an attempt of a campaign's target: its final status finishes the attempt
            item["campaign_id"] = {"S": campaign["campaign_id"]}
            item["target_index"] = {"N": str(campaign["target_index"])}
            item["attempt"] = {"N": str(campaign["attempt"])}
        try:
            self._client.put_item(TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(id)")
        except self._client.exceptions.ConditionalCheckFailedException:
            raise CallExists(call_id) from None

    def append(
        self,
        url_token: str,
        call_id: str,
        change: dict[str, Any],
        conversation: str | None = None,
        keep_status: bool = False,
    ) -> bool:
        """Add a status to the history (and VAIC's conversation id once known); False: no such call."""
        names = {"#h": "history"}
        values: dict[str, Any] = {":h": {"L": [_entry(change)]}}
        update = "SET #h = list_append(#h, :h)"
        if not keep_status:
            names["#s"] = "status"
            values[":s"] = {"S": change["status"]}
            update += ", #s = :s"
        if conversation:
            update += ", conversation_id = :c"
            values[":c"] = {"S": conversation}
        try:
            self._client.update_item(
                TableName=self.table_name,
                Key={"id": {"S": record_id(url_token, call_id)}},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(id)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get(self, url_token: str, call_id: str) -> dict[str, Any] | None:
        answer = self._client.get_item(
            TableName=self.table_name, Key={"id": {"S": record_id(url_token, call_id)}}, ConsistentRead=True
        )
        item = answer.get("Item")
        if item is None:
            return None
        call = {key: plain(value) for key, value in item.items()}
        call["metadata"] = json.loads(call.get("metadata") or "{}")
        return call


class StatusEvents(clients.LazyClient):
    """Each status change as an EventBridge event; a rule's target is the user's business."""

    def __init__(self, bus_name: str, client: BaseClient | None = None) -> None:
        self.bus_name = bus_name
        self._injected_client = client

    def _make_client(self) -> BaseClient:
        return clients.client("events", self._injected_client)

    def publish(self, detail: dict[str, Any]) -> None:
        answer = self._client.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": EVENT_DETAIL_TYPE,
                    "Detail": json.dumps(detail),
                    "EventBusName": self.bus_name,
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused the status event: {answer['Entries'][0].get('ErrorCode')}")
