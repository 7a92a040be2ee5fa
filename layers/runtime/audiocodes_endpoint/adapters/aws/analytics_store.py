"""The DynamoDB :class:`~audiocodes_endpoint.features.analytics.AnalyticsStore`: one item per turn, one table.

    pk  S  "<endpoint>#<conversation>"     a call's turns sit together: a transcript is one Query
    sk  S  "turn#000001"                    zero-padded so turns sort numerically
    gsi_endpoint S / gsi_at N               only on summary records (a sparse index ``by_endpoint``):
                                            an endpoint's turns by start time, for summaries
    expires_at N                            TTL: now + retention_days

The index projects only the attributes a summary needs, so transcripts never leave the base table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from audiocodes_endpoint.adapters.aws import clients
from audiocodes_endpoint.features.analytics import TurnRecord

if TYPE_CHECKING:
    from botocore.client import BaseClient

INDEX = "by_endpoint"
TURN_DIGITS = 6


def partition_key(endpoint: str, conversation: str) -> str:
    return f"{endpoint}#{conversation}"


def sort_key(turn: int) -> str:
    return f"turn#{turn:0{TURN_DIGITS}d}"


class DynamoDBAnalyticsStore(clients.LazyClient):
    def __init__(
        self, table_name: str, client: BaseClient | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._table = table_name
        self._injected_client = client
        self._clock = clock

    def _make_client(self) -> BaseClient:
        return clients.client("dynamodb", self._injected_client)

    def put(self, record: TurnRecord) -> None:
        self._client.put_item(TableName=self._table, Item=to_item(record))

    def transcript(self, endpoint: str, conversation: str) -> list[TurnRecord]:
        pages = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": partition_key(endpoint, conversation)}},
        )
        return [record for record in (from_item(item) for item in pages) if self._live(record)]

    def endpoint_turns(self, endpoint: str, since: float | None = None) -> Iterator[TurnRecord]:
        values: dict[str, Any] = {":endpoint": {"S": endpoint}}
        condition = "gsi_endpoint = :endpoint"
        if since is not None:
            condition += " AND gsi_at >= :since"
            values[":since"] = {"N": repr(float(since))}
        for item in self._query(IndexName=INDEX, KeyConditionExpression=condition, ExpressionAttributeValues=values):
            record = from_item(item)
            if self._live(record):
                yield record

    def _query(self, **arguments: Any) -> Iterator[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(TableName=self._table, **arguments):
            yield from page.get("Items", [])

    def _live(self, record: TurnRecord) -> bool:
        # DynamoDB deletes expired items hours late (and moto never): the reader checks.
        return not record.expires_at or record.expires_at > self._clock()


LLM_FIELDS = ("llm_tokens_in", "llm_tokens_out", "llm_latency_ms")


def to_item(record: TurnRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": {"S": partition_key(record.endpoint, record.conversation)},
        "sk": {"S": sort_key(record.turn)},
        "endpoint": {"S": record.endpoint},
        "conversation": {"S": record.conversation},
        "turn": {"N": str(record.turn)},
        "started_at": {"N": repr(float(record.started_at))},
        "latency_ms": {"N": str(record.latency_ms)},
        "input_type": {"S": record.input_type},
        "outcome": {"S": record.outcome},
        "expires_at": {"N": str(record.expires_at)},
    }
    optional_strings = {
        "flow": record.flow,
        "event": record.event,
        "intent": record.intent,
        "outcome_detail": record.outcome_detail,
        "language": record.language,
        "caller_text": record.caller_text,
        "bot_text": record.bot_text,
        "source_ip": record.source_ip,
    }
    item.update({name: {"S": value} for name, value in optional_strings.items() if value is not None})
    if record.intent_score is not None:
        item["intent_score"] = {"N": repr(float(record.intent_score))}
    for name in LLM_FIELDS:
        if getattr(record, name) is not None:
            item[name] = {"N": str(getattr(record, name))}
    if record.node_path:
        item["node_path"] = {"L": [{"S": node} for node in record.node_path]}
    if record.in_summary:
        item["gsi_endpoint"] = {"S": record.endpoint}
        item["gsi_at"] = item["started_at"]
    return item


def from_item(item: dict[str, Any]) -> TurnRecord:
    """A record from a base-table item or an index item (which lacks the transcript attributes)."""

    def text(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if value else None

    def number(name: str) -> float | None:
        value = item.get(name)
        return float(value["N"]) if value else None

    endpoint, _, conversation = item["pk"]["S"].partition("#")
    return TurnRecord(
        endpoint=endpoint,
        conversation=conversation,
        turn=int(item["sk"]["S"].removeprefix("turn#")),
        started_at=number("started_at") or number("gsi_at") or 0.0,
        latency_ms=int(number("latency_ms") or 0),
        flow=text("flow"),
        node_path=tuple(node["S"] for node in item.get("node_path", {}).get("L", [])),
        input_type=text("input_type") or "message",
        event=text("event"),
        intent=text("intent"),
        intent_score=number("intent_score"),
        outcome=text("outcome") or "message",  # type: ignore[arg-type]  # written from the Literal
        outcome_detail=text("outcome_detail"),
        language=text("language"),
        caller_text=text("caller_text"),
        bot_text=text("bot_text"),
        source_ip=text("source_ip"),
        expires_at=int(number("expires_at") or 0),
        in_summary="gsi_endpoint" in item,
        **{name: int(value) for name in LLM_FIELDS if (value := number(name)) is not None},
    )
