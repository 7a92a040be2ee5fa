"""Campaigns in the sessions table, and the pacing queue (the only campaign module that touches boto3).

Items (``id``):

- ``campaign#<endpoint>#<campaign>``: name, state, settings, the notify base URL, the progress counters
  and ``active`` (calls in progress: the concurrency slots taken).
- ``campaign#<endpoint>#<campaign>#t#<index>``: one per target: number, metadata, zones, state
  (``pending`` / ``dialling`` / ``done`` / ``refused``), attempts, the current call, each attempt's outcome.
- ``campaign#<endpoint>#<campaign>#rate#<window start>``: calls started in one pacing window.

Claiming a target and a slot, and finishing an attempt (target state plus counters), are one
``TransactWriteItems`` each, so a duplicate SQS delivery or a repeated callback can neither dial twice
nor count twice. IAM: a transaction needs the item actions it holds (``dynamodb:UpdateItem`` here;
AWS DynamoDB developer guide, *Using IAM with DynamoDB transactions*).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from audiocodes_endpoint.adapters.aws import clients
from audiocodes_endpoint.adapters.aws.attribute_values import attribute, plain

if TYPE_CHECKING:
    from botocore.client import BaseClient


def campaign_id_key(url_token: str, campaign: str) -> str:
    return f"campaign#{url_token}#{campaign}"


def target_key(url_token: str, campaign: str, index: int) -> str:
    return f"campaign#{url_token}#{campaign}#t#{index}"


def _key(value: str) -> dict[str, Any]:
    return {"id": {"S": value}}


def _item(raw: Mapping[str, Any]) -> dict[str, Any]:
    item = {key: plain(value) for key, value in raw.items()}
    for field in ("settings", "metadata", "zones"):
        if isinstance(item.get(field), str):
            item[field] = json.loads(item[field])
    return item


def _add(counters: Mapping[str, int]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """``ADD #c0 :c0, ...`` for counters, with placeholders (DynamoDB reserves many plain words)."""
    names = {f"#c{i}": name for i, name in enumerate(counters)}
    values = {f":c{i}": {"N": str(delta)} for i, delta in enumerate(counters.values())}
    return "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counters))), names, values


class CampaignStore(clients.LazyClient):
    def __init__(self, table_name: str, client: BaseClient | None = None) -> None:
        self.table_name = table_name
        self._injected_client = client

    def _make_client(self) -> BaseClient:
        return clients.client("dynamodb", self._injected_client)

    # --- creating and reading ------------------------------------------------------------------

    def create(self, campaign: Mapping[str, Any], targets: Sequence[Mapping[str, Any]]) -> None:
        """The targets first, the campaign item last: a campaign that exists has all its targets."""
        url_token, campaign_id = campaign["endpoint"], campaign["campaign_id"]
        requests = []
        for target in targets:
            item = {
                **{k: attribute(v) for k, v in target.items() if k not in ("metadata", "zones") and v is not None},
                "id": {"S": target_key(url_token, campaign_id, target["index"])},
                "metadata": {"S": json.dumps(target.get("metadata") or {})},
                "zones": {"S": json.dumps(list(target.get("zones") or ()))},
                "expires_at": {"N": str(campaign["expires_at"])},
            }
            requests.append({"PutRequest": {"Item": item}})
        for start in range(0, len(requests), 25):
            self._write_batch(requests[start : start + 25])
        item = {k: attribute(v) for k, v in campaign.items() if k != "settings"}
        item["id"] = {"S": campaign_id_key(url_token, campaign_id)}
        item["settings"] = {"S": json.dumps(campaign["settings"])}
        self._client.put_item(TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(id)")

    def _write_batch(self, requests: list[dict[str, Any]]) -> None:
        pending = {self.table_name: requests}
        for attempt in range(8):
            answer = self._client.batch_write_item(RequestItems=pending)
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(min(1.0, 0.05 * 2**attempt))  # DynamoDB's advice for unprocessed items: back off
        raise RuntimeError("DynamoDB left targets unwritten after 8 tries")

    def get(self, url_token: str, campaign: str) -> dict[str, Any] | None:
        answer = self._client.get_item(
            TableName=self.table_name, Key=_key(campaign_id_key(url_token, campaign)), ConsistentRead=True
        )
        return _item(answer["Item"]) if "Item" in answer else None

    def get_with_target(
        self, url_token: str, campaign: str, index: int
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """The campaign and one target in one consistent BatchGetItem."""
        keys = [campaign_id_key(url_token, campaign), target_key(url_token, campaign, index)]
        found = dict(self._batch_get(keys))
        return found.get(keys[0]), found.get(keys[1])

    def targets(self, url_token: str, campaign: str, total: int) -> list[dict[str, Any]]:
        keys = [target_key(url_token, campaign, index) for index in range(total)]
        found = dict(self._batch_get(keys))
        return [found[key] for key in keys if key in found]

    def _batch_get(self, keys: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        for start in range(0, len(keys), 100):
            wanted: dict[str, Any] = {
                self.table_name: {"Keys": [_key(k) for k in keys[start : start + 100]], "ConsistentRead": True}
            }
            for attempt in range(8):
                answer = self._client.batch_get_item(RequestItems=wanted)
                for raw in answer.get("Responses", {}).get(self.table_name, []):
                    yield raw["id"]["S"], _item(raw)
                wanted = answer.get("UnprocessedKeys") or {}
                if not wanted:
                    break
                time.sleep(min(1.0, 0.05 * 2**attempt))
            else:
                raise RuntimeError("DynamoDB left targets unread after 8 tries")

    # --- the campaign's state ------------------------------------------------------------------

    def set_state(
        self, url_token: str, campaign: str, state: str, allowed_from: Sequence[str]
    ) -> dict[str, Any] | None:
        """Move the campaign to ``state`` if it is in one of ``allowed_from``; the new item, else ``None``."""
        values = {f":from{i}": {"S": s} for i, s in enumerate(allowed_from)}
        try:
            answer = self._client.update_item(
                TableName=self.table_name, Key=_key(campaign_id_key(url_token, campaign)),
                UpdateExpression="SET #s = :s",
                ConditionExpression=f"attribute_exists(id) AND #s IN ({', '.join(values)})",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":s": {"S": state}, **values}, ReturnValues="ALL_NEW",
            )  # fmt: skip
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return _item(answer["Attributes"])

    # --- pacing --------------------------------------------------------------------------------

    def take_rate(self, url_token: str, campaign: str, bucket: int, capacity: int) -> bool:
        """Count one call in the pacing window starting at ``bucket``; False when it is full."""
        try:
            self._client.update_item(
                TableName=self.table_name, Key=_key(f"{campaign_id_key(url_token, campaign)}#rate#{bucket}"),
                UpdateExpression="ADD #n :one SET #e = if_not_exists(#e, :expires)",
                ConditionExpression="attribute_not_exists(#n) OR #n < :capacity",
                ExpressionAttributeNames={"#n": "n", "#e": "expires_at"},
                ExpressionAttributeValues={":one": {"N": "1"}, ":capacity": {"N": str(capacity)},
                                           ":expires": {"N": str(bucket + 3600)}},
            )  # fmt: skip
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def claim(
        self, url_token: str, campaign: str, index: int, attempt: int, call_id: str, *,
        max_concurrent: int, deferred: bool,
    ) -> str:  # fmt: skip
        """Take a slot and the target's attempt at once: ``"ok"``, ``"campaign"`` (not running, or every
        slot taken) or ``"target"`` (another delivery or attempt has it)."""
        add, names, values = _add({"active": 1, "pending": -1, "attempts": 1, **({"deferred": -1} if deferred else {})})
        campaign_update = {
            "TableName": self.table_name, "Key": _key(campaign_id_key(url_token, campaign)),
            "UpdateExpression": add, "ConditionExpression": "#s = :running AND #c0 < :max",
            "ExpressionAttributeNames": {"#s": "state", **names},
            "ExpressionAttributeValues": {**values, ":running": {"S": "running"}, ":max": {"N": str(max_concurrent)}},
        }  # fmt: skip
        target_update = {
            "TableName": self.table_name, "Key": _key(target_key(url_token, campaign, index)),
            "UpdateExpression": "SET #s = :dialling, #a = :attempt, #c = :call REMOVE #d",
            "ConditionExpression": "#s = :pending AND #a = :before AND "
                                   + ("attribute_exists(#d)" if deferred else "attribute_not_exists(#d)"),
            "ExpressionAttributeNames": {"#s": "state", "#a": "attempts", "#c": "call_id", "#d": "deferred"},
            "ExpressionAttributeValues": {":dialling": {"S": "dialling"}, ":pending": {"S": "pending"},
                                          ":attempt": {"N": str(attempt)}, ":before": {"N": str(attempt - 1)},
                                          ":call": {"S": call_id}},
        }  # fmt: skip
        failed = self._transact([{"Update": campaign_update}, {"Update": target_update}])
        if failed is None:
            return "ok"
        return "target" if 1 in failed else "campaign"

    def defer(self, url_token: str, campaign: str, index: int, attempt: int) -> bool:
        """Mark the target as waiting for its window (counted once, however often its message hops)."""
        failed = self._transact([
            {"Update": {
                "TableName": self.table_name, "Key": _key(target_key(url_token, campaign, index)),
                "UpdateExpression": "SET #d = :one",
                "ConditionExpression": "#s = :pending AND #a = :before AND attribute_not_exists(#d)",
                "ExpressionAttributeNames": {"#s": "state", "#a": "attempts", "#d": "deferred"},
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":pending": {"S": "pending"},
                                              ":before": {"N": str(attempt - 1)}},
            }},
            {"Update": {
                "TableName": self.table_name, "Key": _key(campaign_id_key(url_token, campaign)),
                "UpdateExpression": "ADD #d :one", "ExpressionAttributeNames": {"#d": "deferred"},
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }},
        ])  # fmt: skip
        return failed is None

    def finish(
        self, url_token: str, campaign: str, index: int, call_id: str, attempt_record: Mapping[str, Any], *,
        outcome: str, retry_at: float | None,
    ) -> bool:  # fmt: skip
        """End the target's current attempt (once: only while it is dialling that call) and free its slot.

        With ``retry_at`` the target is pending again; else it is done with ``outcome``.
        """
        names = {"#s": "state", "#os": "outcomes", "#td": "total_duration", "#c": "call_id"}
        values: dict[str, Any] = {
            ":dialling": {"S": "dialling"}, ":call": {"S": call_id},
            ":record": {"L": [attribute(dict(attempt_record))]}, ":empty": {"L": []},
            ":duration": {"N": str(attempt_record.get("duration") or 0)}, ":zero": {"N": "0"},
        }  # fmt: skip
        update = ("SET #os = list_append(if_not_exists(#os, :empty), :record), "
                  "#td = if_not_exists(#td, :zero) + :duration, #s = :next")  # fmt: skip
        if retry_at is not None:
            values |= {":next": {"S": "pending"}, ":at": {"N": str(int(retry_at))}}
            names["#na"] = "next_at"
            update += ", #na = :at"
            counters = {"active": -1, "pending": 1, "retries": 1}
        else:
            values |= {":next": {"S": "done"}, ":outcome": {"S": outcome}}
            names["#o"] = "outcome"
            update += ", #o = :outcome"
            for field in ("reason", "duration"):
                if attempt_record.get(field) is not None:
                    values[f":{field}"] = attribute(attempt_record[field])
                    names[f"#{field}"] = field
                    update += f", #{field} = :{field}"
            # A target refused when its turn came (the endpoint's lists changed) is not a completed call.
            counters = (
                {"active": -1, "refused": 1} if outcome == "refused" else {"active": -1, "completed": 1, outcome: 1}
            )
        add, add_names, add_values = _add(counters)
        failed = self._transact([
            {"Update": {
                "TableName": self.table_name, "Key": _key(target_key(url_token, campaign, index)),
                "UpdateExpression": update, "ConditionExpression": "#s = :dialling AND #c = :call",
                "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
            }},
            {"Update": {
                "TableName": self.table_name, "Key": _key(campaign_id_key(url_token, campaign)),
                "UpdateExpression": add, "ExpressionAttributeNames": add_names, "ExpressionAttributeValues": add_values,
            }},
        ])  # fmt: skip
        return failed is None

    def _transact(self, items: list[dict[str, Any]]) -> set[int] | None:
        """``None`` when the transaction was written, else the positions of the items whose condition failed."""
        try:
            self._client.transact_write_items(TransactItems=items)
        except self._client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons") or []
            failed = {i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"}
            if not failed:
                raise  # a conflict with another transaction, throttling: the caller's retry (SQS) runs it again
            return failed
        return None


class CampaignQueue(clients.LazyClient):
    """The pacing queue: one message per target that is due (or will be, after ``DelaySeconds``)."""

    def __init__(self, queue_url: str, client: BaseClient | None = None) -> None:
        self.queue_url = queue_url
        self._injected_client = client

    def _make_client(self) -> BaseClient:
        return clients.client("sqs", self._injected_client)

    def send(self, messages: Sequence[tuple[Mapping[str, Any], int]]) -> None:
        """``(body, delay seconds)`` pairs, ten to a SendMessageBatch; raises if SQS refused any."""
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            entries = [
                {"Id": str(i), "MessageBody": json.dumps(body, separators=(",", ":")), "DelaySeconds": delay}
                for i, (body, delay) in enumerate(chunk)
            ]
            answer = self._client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            if answer.get("Failed"):
                raise RuntimeError(f"SQS refused {len(answer['Failed'])} campaign messages: {answer['Failed'][0]}")
