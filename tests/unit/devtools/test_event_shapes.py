"""The emulator's WebSocket and SQS events have the documented shapes kept in events/.

(HTTP API events are compared over real HTTP in tests/e2e/test_execution_environments.py.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from audiocodes_devtools.events import websocket_event
from audiocodes_devtools.sqs_poller import SqsPoller

EVENTS = Path(__file__).parents[3] / "events"


def _load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return type(value).__name__


def _without_header_names(event: dict[str, Any]) -> dict[str, Any]:
    """Header and query names differ between a sample and a live request; their presence does not."""
    return {
        key: "present" if key.startswith(("headers", "multiValue", "queryString")) else value
        for key, value in event.items()
    }


def test_connect_events_have_the_documented_shape() -> None:
    documented = _load("websocket/connect.json")
    built = websocket_event(
        "$connect",
        "CONNECT",
        "abc=",
        stage="live",
        domain="127.0.0.1:1",
        connected_at=1,
        headers=[("Authorization", "Bearer t"), ("Host", "127.0.0.1:1")],
        query="endpoint=e&conversation=c",
    )
    assert _shape(_without_header_names(built)) == _shape(_without_header_names(documented))
    assert built["queryStringParameters"] == {"endpoint": "e", "conversation": "c"}
    assert built["headers"]["Authorization"] == "Bearer t"  # WebSocket events keep the header's case


def test_disconnect_events_have_the_documented_shape() -> None:
    documented = _load("websocket/disconnect.json")
    built = websocket_event(
        "$disconnect", "DISCONNECT", "abc=", stage="live", domain="127.0.0.1:1", connected_at=1, close=(1000, "")
    )
    assert _shape(_without_header_names(built)) == _shape(_without_header_names(documented))
    assert list(built["requestContext"]) == list(documented["requestContext"])


def test_sqs_events_have_the_documented_shape() -> None:
    documented = _load("dispatcher/turns.json")
    record = documented["Records"][0]
    poller = SqsPoller(
        queue_url="u",
        queue_arn=record["eventSourceARN"],
        batch_size=10,
        reports_failures=True,
        invoke=lambda event: None,
        region="eu-central-1",
    )
    received = {
        "MessageId": record["messageId"],
        "ReceiptHandle": record["receiptHandle"],
        "Body": record["body"],
        "Attributes": record["attributes"],
        "MD5OfBody": record["md5OfBody"],
    }
    assert poller.event([received]) == {"Records": [record]}
