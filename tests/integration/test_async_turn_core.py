"""Async mode under races, through the real handlers on moto: a disconnect that races a running turn,
and inject/notify that react to the greeting before the start turn is saved."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest

from audiocodes_devtools.events import http_event
from tests.integration.conftest import (
    CONVERSATION_ASYNC,
    FakeLambdaContext,
    activity,
    connect,
    drain,
    post,
    pushed,
    start_event,
)

KEY = "inject-key"
CALLER = "+4921154591991"
BASE = f"/demo-async/conversation/{CONVERSATION_ASYNC}"


@pytest.fixture
def inject_app(handlers: dict[str, Any]) -> Any:
    import importlib

    boto3.client("ssm").put_parameter(
        Name="/audiocodes-endpoint/demo-async/inject-api-key", Value=KEY, Type="SecureString", Overwrite=True
    )
    return importlib.import_module("functions.inject_notify.app")


def inject(app: Any, kind: str, **fields: Any) -> tuple[int, Any]:
    body = {"URLToken": "demo-async", "sessionId": CONVERSATION_ASYNC, **fields}
    event = http_event(
        "POST",
        f"/v2.0/endpoint/{kind}",
        headers={"content-type": "application/json", "x-api-key": KEY},
        body=json.dumps(body).encode(),
    )
    result = app.lambda_handler(event, FakeLambdaContext())
    return result["statusCode"], json.loads(result["body"])


def texts(connection: str) -> list[str]:
    return [f["activities"][0].get("text") or f["activities"][0].get("name") for f in pushed(connection)]


def test_inject_and_notify_take_the_callers_number_as_soon_as_the_greeting_is_out(
    call, handlers, inject_app, turn_queue, monkeypatch
):
    # Given an async call whose start turn is running, and an integration that reacts to its first frame
    from audiocodes_endpoint.wiring import runtime

    post(call, "/demo-async", {"conversation": CONVERSATION_ASYNC})
    connect(handlers, "conn-1")
    drain(handlers, turn_queue)
    post(call, f"{BASE}/activities", {"activities": [start_event(CALLER)]})
    real_push, answers = runtime().pusher.push, []

    def push_then_react(connection_id: str, frame: dict[str, Any]) -> None:
        real_push(connection_id, frame)
        if not answers:
            answers.append(inject(inject_app, "notify", userId=CALLER, text="From the back office"))
            answers.append(inject(inject_app, "inject", userId=CALLER, text="12345"))

    monkeypatch.setattr(runtime().pusher, "push", push_then_react)
    # When the dispatcher runs the start turn
    drain(handlers, turn_queue)
    # Then both were accepted with the caller's E.164 number, and were delivered after the greeting
    assert [status for status, _ in answers] == [202, 202], answers
    assert "From the back office" in texts("conn-1")


def test_a_disconnect_racing_the_running_turn_ends_the_call_after_it(
    call, handlers, turn_queue, accounts, analytics_table, monkeypatch
):
    from audiocodes_endpoint.adapters.aws.analytics_store import DynamoDBAnalyticsStore
    from audiocodes_endpoint.features.analytics import summarize
    from audiocodes_endpoint.wiring import runtime

    # (moto forgets a connection's frames when it is closed, as the disconnect does: keep a copy)
    real_push, frames = runtime().pusher.push, []

    def push(connection_id: str, frame: dict[str, Any]) -> None:
        real_push(connection_id, frame)
        frames.append(frame["activities"][0].get("text") or frame["activities"][0].get("name"))

    monkeypatch.setattr(runtime().pusher, "push", push)

    # Given a connected async call at the account question, whose lookup is held open
    post(call, "/demo-async", {"conversation": CONVERSATION_ASYNC})
    connect(handlers, "conn-1")
    post(call, f"{BASE}/activities", {"activities": [start_event(CALLER)]})
    drain(handlers, turn_queue)
    number = activity(text="12345")
    post(call, f"{BASE}/activities", {"activities": [number]})
    accounts.hold()
    dispatcher = threading.Thread(target=drain, args=(handlers, turn_queue))
    dispatcher.start()
    assert accounts.arrived.wait(20)
    # When VAIC disconnects while the turn runs (the caller hung up), and the lookup then answers
    hung_up: list[Any] = []
    vaic = threading.Thread(
        target=lambda: hung_up.append(
            post(call, f"{BASE}/disconnect", {"reasonCode": "client-disconnected", "reason": "Client Side"})
        )
    )
    vaic.start()
    _until_someone_waits(f"demo-async/{CONVERSATION_ASYNC}")
    accounts.release()
    vaic.join()
    dispatcher.join()
    # Then the turn's outputs went out and were saved, then the call ended
    assert hung_up == [(200, {})]
    assert any("Your balance is" in t for t in frames), frames
    item = boto3.client("dynamodb").get_item(
        TableName="sessions-test", Key={"id": {"S": f"demo-async/{CONVERSATION_ASYNC}"}}, ConsistentRead=True
    )["Item"]
    assert item["status"]["S"] == "ended" and number["id"] in json.loads(item["state"]["S"])["replies"]
    # And the analytics have the turn, then the disconnect; the call ended once
    store = DynamoDBAnalyticsStore(analytics_table)
    records = store.transcript("demo-async", CONVERSATION_ASYNC)
    assert [r.input_type for r in records][-2:] == ["message", "disconnect"]
    assert records[-2].outcome == "hangup" and records[-2].turn < records[-1].turn  # the flow said goodbye
    summary = summarize("demo-async", records)
    assert (summary.calls, summary.hangups + summary.caller_hangups + summary.transfers) == (1, 1)


def _until_someone_waits(key: str, seconds: float = 10.0) -> None:
    """Until a request waits in the session's line (bounded: code without a line just goes on)."""
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        item = boto3.client("dynamodb").get_item(TableName="sessions-test", Key={"id": {"S": key}})["Item"]
        if item.get("waiting", {}).get("L"):
            return
        time.sleep(0.02)


# --- async fallback: outputs that cannot be pushed ---------------------------------------------


def _socket_drops(handlers: dict[str, Any], connection_id: str) -> None:
    event = {"requestContext": {"routeKey": "$disconnect", "connectionId": connection_id, "stage": "live"}}
    handlers["websocket"].lambda_handler(event, FakeLambdaContext())


def _waiting_for_a_socket(call, handlers, turn_queue) -> dict[str, Any]:
    """A greeted call whose socket dropped before the caller's account number was answered."""
    post(call, "/demo-async", {"conversation": CONVERSATION_ASYNC})
    connect(handlers, "conn-1")
    post(call, f"{BASE}/activities", {"activities": [start_event(CALLER)]})
    drain(handlers, turn_queue)
    _socket_drops(handlers, "conn-1")
    number = activity(text="12345")
    assert post(call, f"{BASE}/activities", {"activities": [number]}) == (200, {})
    drain(handlers, turn_queue)  # no socket: the outputs wait in the session
    return number


def _replies(conversation: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(
        TableName="sessions-test", Key={"id": {"S": f"demo-async/{conversation}"}}, ConsistentRead=True
    )["Item"]
    return json.loads(item["state"]["S"])["replies"]


def test_outputs_waiting_for_a_gone_socket_go_in_the_next_http_answer_once(call, handlers, turn_queue, accounts):
    number = _waiting_for_a_socket(call, handlers, turn_queue)
    waiting = [output["id"] for output in _replies(CONVERSATION_ASYNC)[number["id"]]]
    # When VAIC posts its next activity before any socket is back
    status, answer = post(call, f"{BASE}/activities", {"activities": [activity("event", name="noUserInput")]})
    # Then the HTTP answer carries the outputs that waited, in order
    assert status == 200 and [a["id"] for a in answer["activities"]] == waiting
    assert "Let me check that for you." in [a.get("text") for a in answer["activities"]]
    # And a socket that connects later does not get them again
    connect(handlers, "conn-2")
    drain(handlers, turn_queue)
    assert not {f["activities"][0]["id"] for f in pushed("conn-2")} & set(waiting)
    assert post(call, f"{BASE}/activities", {"activities": [activity("event", name="noUserInput")]})[1] == {}


def test_a_reconnect_that_comes_first_takes_them_and_the_http_answer_stays_empty(call, handlers, turn_queue, accounts):
    number = _waiting_for_a_socket(call, handlers, turn_queue)
    waiting = [output["id"] for output in _replies(CONVERSATION_ASYNC)[number["id"]]]
    connect(handlers, "conn-2")
    drain(handlers, turn_queue)  # the flush queued by $connect
    assert [f["activities"][0]["id"] for f in pushed("conn-2")] == waiting
    assert post(call, f"{BASE}/activities", {"activities": [activity("event", name="noUserInput")]}) == (200, {})


def test_inject_takes_the_callers_number_once_the_start_is_queued(call, handlers, inject_app, turn_queue):
    # Given an async call whose start activity is queued but not yet run
    post(call, "/demo-async", {"conversation": CONVERSATION_ASYNC})
    connect(handlers, "conn-1")
    post(call, f"{BASE}/activities", {"activities": [start_event(CALLER)]})
    # When an integration names the caller before the dispatcher ran the start
    status, _ = inject(inject_app, "notify", userId=CALLER, text="Hello from the back office")
    # Then it is accepted, and delivered after the greeting
    assert status == 202
    drain(handlers, turn_queue)
    assert texts("conn-1")[-1] == "Hello from the back office"
