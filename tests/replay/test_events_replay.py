"""Replay events/<function>/*.json through their handlers (on moto) and compare with events/expected/.

Two calls, each replayed in call order: a sync call on the ``demo`` endpoint (Bot API only), and an
async call on ``demo-async`` across all four functions. For the async call the frames the dispatcher
pushed over the WebSocket are compared too, and the turn queue must hold exactly what the handlers
queued (the activity the same message as events/dispatcher/turns.json). Generated ids (any UUID but the
two conversation ids) and timestamps are normalised. Run with UPDATE_EXPECTED=1 to rewrite the expected
files after an intended change (and review the diff).
"""

from __future__ import annotations

import importlib
import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from audiocodes_devtools.sqs_poller import SqsPoller
from tests.conftest import ROOT
from tests.integration import conftest as integration
from tests.integration.conftest import FakeLambdaContext, pushed

EVENTS = ROOT / "events"
EXPECTED = EVENTS / "expected"
FRAMES = EXPECTED / "async_call_frames.json"  # what the VAIC WebSocket received during the async call

# (function folder, event name) in the order the calls happen; every event file is in one of them.
SYNC_CALL = [
    ("bot_api", "validate_get"),
    ("bot_api", "unauthorized_create"),
    ("bot_api", "create_conversation"),
    ("bot_api", "activities_start"),
    ("bot_api", "activities_dtmf"),
    ("bot_api", "activities_message"),
    ("bot_api", "refresh"),
    ("bot_api", "disconnect"),
]
ASYNC_CALL = [
    ("bot_api", "create_conversation_async"),
    ("websocket", "connect"),
    ("bot_api", "activities_start_async"),
    ("dispatcher", "turns"),
    ("inject_notify", "notify"),
    ("inject_notify", "inject"),
    ("inject_notify", "inject_raw"),
    ("websocket", "disconnect"),
]
# Outbound calls without VAIC: an unknown call's history, a callback with the wrong per-call token.
OUTBOUND = [
    ("outbound", "status_of_unknown_call"),
    ("outbound", "callback_with_wrong_token"),
]
CONVERSATIONS = {"f010e998-4499-4ddb-80d4-fea137fd7b4d", "0c1d2e3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5"}
WEBSOCKET_DOMAIN = "k9w8s7t6u5.execute-api.eu-central-1.amazonaws.com"  # apiId of events/websocket/*
SECRETS = {
    "/audiocodes-endpoint/demo/bot-token": "local-demo-token",
    "/audiocodes-endpoint/demo-async/bot-token": "local-demo-async-token",
    "/audiocodes-endpoint/demo-async/inject-api-key": "local-demo-async-inject-key",
    "/audiocodes-endpoint/demo/dialout-api-key": "local-demo-dialout-key",
}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

# The async handlers on moto exactly as the integration tests build them (their fixtures, used here).
bot_api, turn_queue, handlers = integration.bot_api, integration.turn_queue, integration.handlers


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str) and UUID.match(value) and value not in CONVERSATIONS:
        return "<id>"  # activity ids (uuid5 in async mode), inject/notify ids (uuid4)
    if isinstance(value, str) and TIMESTAMP.match(value):
        return "<timestamp>"
    return value


def event(function: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / function / f"{name}.json").read_text())
    return loaded


def answer(result: dict[str, Any]) -> dict[str, Any]:
    """An HTTP or WebSocket answer as status and parsed body; anything else (SQS batch) as it is."""
    if "statusCode" not in result:
        return dict(normalise(result))
    shown: dict[str, Any] = {"statusCode": result["statusCode"]}
    if result.get("body"):
        shown["body"] = normalise(json.loads(result["body"]))
    return shown


def check(actual: Any, expected_file: Path) -> None:
    if os.environ.get("UPDATE_EXPECTED") == "1":
        expected_file.parent.mkdir(parents=True, exist_ok=True)
        expected_file.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
    assert actual == json.loads(expected_file.read_text()), expected_file.relative_to(EVENTS)


@pytest.fixture
def functions(handlers: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Every function's handler module, with the tokens and key the events carry in (moto's) SSM."""
    from aws_lambda_powertools.utilities import parameters

    from audiocodes_endpoint.wiring import runtime

    monkeypatch.setenv("WEBSOCKET_URL", f"wss://{WEBSOCKET_DOMAIN}/live")
    monkeypatch.setenv("CONNECTIONS_URL", f"https://{WEBSOCKET_DOMAIN}/live")
    for name, value in SECRETS.items():
        boto3.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    parameters.clear_caches()
    runtime.cache_clear()
    return {
        "bot_api": handlers["bot_api"],
        "websocket": handlers["websocket"],
        "dispatcher": handlers["dispatcher"],
        "inject_notify": importlib.import_module("functions.inject_notify.app"),
        "outbound": importlib.import_module("functions.outbound.app"),
    }


def replay(functions: dict[str, Any], call: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each event through its function's handler, in order; every normalised answer checked."""
    results = {}
    for function, name in call:
        result = functions[function].lambda_handler(event(function, name), FakeLambdaContext())
        check(answer(result), EXPECTED / function / f"{name}.json")
        results[function, name] = result
    return results


def queued(queue_url: str) -> list[dict[str, Any]]:
    """Every message on the turn queue, in order, with its FIFO attributes."""
    client, found = boto3.client("sqs"), []
    while True:
        received = client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"])
        if not received.get("Messages"):
            return found
        for message in received["Messages"]:
            found.append(message)
            client.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_every_event_is_part_of_one_replayed_call() -> None:
    files = sorted(p.relative_to(EVENTS) for p in EVENTS.glob("*/*.json") if p.parts[-2] != "expected")
    calls = SYNC_CALL + ASYNC_CALL + OUTBOUND
    assert len(set(calls)) == len(calls)
    assert files == sorted(Path(function, f"{name}.json") for function, name in calls)


def test_every_expected_file_belongs_to_an_event() -> None:
    files = sorted(p.relative_to(EXPECTED) for p in EXPECTED.rglob("*.json"))
    wanted = [Path(function, f"{name}.json") for function, name in SYNC_CALL + ASYNC_CALL + OUTBOUND]
    assert files == sorted([*wanted, FRAMES.relative_to(EXPECTED)])


def test_replaying_the_sync_call_gives_the_expected_answers(functions: dict[str, Any]) -> None:
    replay(functions, SYNC_CALL)


def test_replaying_the_outbound_events_gives_the_expected_answers(functions: dict[str, Any]) -> None:
    functions["outbound"].outbound.cache_clear()  # its store is bound to this test's moto table
    replay(functions, OUTBOUND)


def test_replaying_the_async_call_gives_the_expected_answers_and_frames(
    functions: dict[str, Any], turn_queue: dict[str, str], sessions_table: str
) -> None:
    # When the async call is replayed across the four functions, up to the socket closing
    *before_close, close = ASYNC_CALL
    results = replay(functions, before_close)

    # Then the queue holds what the handlers put there, in call order
    messages = queued(turn_queue["url"])
    works = [json.loads(message["Body"]) for message in messages]
    assert [work["kind"] for work in works] == ["flush", "activity", "notify", "inject", "inject"]
    # the start activity exactly as events/dispatcher/turns.json delivers it to the dispatcher
    (record,) = event("dispatcher", "turns")["Records"]
    activity = messages[1]
    assert activity["Body"] == record["body"]
    assert activity["MD5OfBody"] == record["md5OfBody"]
    for attribute in ("MessageGroupId", "MessageDeduplicationId"):
        assert activity["Attributes"][attribute] == record["attributes"][attribute], attribute
    # each 202 answer names the work it queued
    accepted = [json.loads(results[step]["body"])["id"] for step in ASYNC_CALL if step[0] == "inject_notify"]
    assert [work["payload"]["id"] for work in works[2:]] == accepted

    # When the event source mapping delivers that work to the dispatcher, and then the socket closes
    mapping = SqsPoller(
        queue_url=turn_queue["url"],
        queue_arn=turn_queue["arn"],
        batch_size=10,
        reports_failures=True,
        invoke=lambda batch: functions["dispatcher"].lambda_handler(batch, FakeLambdaContext()),
        region="eu-central-1",
    )
    assert functions["dispatcher"].lambda_handler(mapping.event(messages), FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    replay(functions, [close])

    # Then the WebSocket got every output once, one frame each: the start turn, the notification, the
    # injected account number's turn (its lookup fails here: no accounts API), nothing for the webhook's
    # inject (the call had ended for the flow), and nothing twice for the start activity queued again
    connect = event("websocket", "connect")
    connection = connect["requestContext"]["connectionId"]
    check(normalise(pushed(quote(connection, safe=""))), FRAMES)  # moto keeps ids URL-encoded ("=" is %3D)

    # And $disconnect unbound the socket from the call, which goes on (VAIC may reconnect)
    key = f"{connect['queryStringParameters']['endpoint']}/{connect['queryStringParameters']['conversation']}"
    item = boto3.client("dynamodb").get_item(TableName=sessions_table, Key={"id": {"S": key}})["Item"]
    assert item["status"]["S"] == "active" and "connection_id" not in item  # the binding is its own attribute
