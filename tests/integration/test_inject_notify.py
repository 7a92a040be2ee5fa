"""Inject & Notify through the real handler on moto: every answer the issue lists, and delivery."""

import json
import time
from typing import Any

import boto3
import pytest

from audiocodes_devtools.events import http_event
from tests.integration.conftest import (
    ASYNC_TOKEN,
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
BASE = f"/demo-async/conversation/{CONVERSATION_ASYNC}"


@pytest.fixture
def inject_app(handlers: dict[str, Any]) -> Any:
    import importlib

    boto3.client("ssm").put_parameter(
        Name="/audiocodes-endpoint/demo-async/inject-api-key", Value=KEY, Type="SecureString", Overwrite=True
    )
    handlers["inject"] = importlib.import_module("functions.inject_notify.app")
    return handlers["inject"]


@pytest.fixture
def live_call(call, inject_app, handlers, turn_queue):
    """An async call, connected, greeted; the queue drained."""
    post(call, "/demo-async", {"conversation": CONVERSATION_ASYNC})
    connect(handlers, "conn-1")
    post(call, f"{BASE}/activities", {"activities": [start_event()]})
    drain(handlers, turn_queue)
    return CONVERSATION_ASYNC


def send(app, path, body, *, key=KEY, query="", headers=None, raw=None):
    all_headers = {"content-type": "application/json", **({"x-api-key": key} if key else {}), **(headers or {})}
    data = raw if raw is not None else json.dumps(body).encode()
    event = http_event("POST", path, query=query, headers=all_headers, body=data)
    if query:
        event["queryStringParameters"] = dict(pair.split("=", 1) for pair in query.split("&"))
    result = app.lambda_handler(event, FakeLambdaContext())
    return result["statusCode"], json.loads(result["body"])


def body(**fields):
    return {"URLToken": "demo-async", "sessionId": CONVERSATION_ASYNC, **fields}


def queued(turn_queue) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=turn_queue["url"], MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def texts(connection="conn-1"):
    return [f["activities"][0].get("text") or f["activities"][0].get("name") for f in pushed(connection)]


# --- accepted ---------------------------------------------------------------------------------------


# Cognigy's docs name /v2.0/...; its own REST client (@cognigy/rest-api-client) posts to /new/v2.0/...
COGNIGY_PREFIXES = ["", "/new"]


@pytest.mark.parametrize("prefix", COGNIGY_PREFIXES)
def test_inject_is_accepted_queued_on_the_call_and_run_through_the_flow(
    live_call, inject_app, handlers, turn_queue, prefix
):
    status, answer = send(inject_app, f"{prefix}/v2.0/endpoint/inject", body(text="12345"))
    assert status == 202 and answer["status"] == "accepted" and answer["kind"] == "inject" and answer["id"]
    before = len(pushed("conn-1"))
    drain(handlers, turn_queue)
    # The waiting question took the injected digits as the account number, as if the caller said them
    assert "Let me check that for you." in texts()[before:]


@pytest.mark.parametrize("prefix", COGNIGY_PREFIXES)
def test_notify_speaks_to_the_caller_without_the_flow(
    live_call, inject_app, handlers, turn_queue, sessions_table, prefix
):
    hangup = {"type": "event", "name": "hangup", "activityParams": {"hangupReason": "back office"}}
    status, _ = send(
        inject_app,
        f"{prefix}/v2.0/endpoint/notify",
        body(text="Your parcel is on its way.", data={"activities": [hangup]}),
    )
    assert status == 202
    execution_before = _item(sessions_table)["execution"]["N"]
    drain(handlers, turn_queue)
    assert texts()[-2:] == ["Your parcel is on its way.", "hangup"]
    assert _item(sessions_table)["execution"]["N"] == execution_before  # the flow did not run


def test_the_api_key_may_come_as_a_query_parameter(live_call, inject_app):
    assert send(inject_app, "/v2.0/endpoint/notify", body(text="hi"), key=None, query=f"api_key={KEY}")[0] == 202


def test_an_accepted_call_refreshes_the_session_expiry(live_call, inject_app, sessions_table):
    before = int(_item(sessions_table)["expires_at"]["N"])
    time.sleep(1.05)
    send(inject_app, "/v2.0/endpoint/notify", body(text="still there?"))
    assert int(_item(sessions_table)["expires_at"]["N"]) > before


def test_inject_and_notify_are_ordered_with_the_callers_turns(live_call, inject_app, call, handlers, turn_queue):
    post(call, f"{BASE}/activities", {"activities": [activity(text="1234")]})
    send(inject_app, "/v2.0/endpoint/notify", body(text="first notification"))
    post(call, f"{BASE}/activities", {"activities": [activity(text="goodbye")]})
    kinds = [m["kind"] for m in _all_queued(turn_queue)]
    assert kinds == ["activity", "notify", "activity"]


# --- refused ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "wrong", ASYNC_TOKEN])
def test_a_missing_or_wrong_key_is_401(live_call, inject_app, key):
    status, answer = send(inject_app, "/v2.0/endpoint/inject", body(text="x"), key=key)
    assert status == 401 and answer["error"] == "unauthorized"


def test_the_key_is_checked_before_the_body(inject_app):
    assert send(inject_app, "/v2.0/endpoint/inject", None, key="wrong", raw=b"{not json")[0] == 401


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"URLToken": "demo-async", "text": "x"}, "sessionId"),
        (body(), "text or data"),
        (body(text="x" * 10_001), "text"),
        (body(data=[1, 2]), "data"),
        (body(userId="u" * 257, text="x"), "userId"),
    ],
)
def test_a_bad_body_is_400_naming_the_field(live_call, inject_app, payload, field):
    status, answer = send(inject_app, "/v2.0/endpoint/inject", payload)
    assert status == 400 and field in answer["message"]


def test_notify_with_nothing_to_say_is_400(live_call, inject_app):
    status, answer = send(inject_app, "/v2.0/endpoint/notify", body(data={"just": "data"}))
    assert status == 400 and "activities" in answer["message"]


def test_an_unknown_url_token_is_404_once_the_key_is_valid(live_call, inject_app):
    status, answer = send(inject_app, "/v2.0/endpoint/inject", body(text="x", URLToken="nope"))
    assert status == 404 and answer["error"] == "unknown_endpoint"


def test_unknown_session_or_wrong_user_is_404(live_call, inject_app):
    assert send(inject_app, "/v2.0/endpoint/inject", body(text="x", sessionId="nope"))[0] == 404
    assert send(inject_app, "/v2.0/endpoint/inject", body(text="x", userId="+10000000000"))[0] == 404


def test_the_right_user_id_is_accepted(live_call, inject_app):
    assert send(inject_app, "/v2.0/endpoint/inject", body(text="x", userId="+4921154591991"))[0] == 202


def test_an_ended_or_expired_session_is_409(live_call, inject_app, call, sessions_table):
    boto3.client("dynamodb").update_item(
        TableName=sessions_table,
        Key={"id": {"S": f"demo-async/{CONVERSATION_ASYNC}"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    assert send(inject_app, "/v2.0/endpoint/inject", body(text="x"))[0] == 409


def test_a_disconnected_call_is_409(live_call, inject_app, call):
    post(call, f"{BASE}/disconnect", {"reasonCode": "client-disconnected"})
    status, answer = send(inject_app, "/v2.0/endpoint/notify", body(text="x"))
    assert status == 409 and answer["error"] == "session_ended"


def test_an_endpoint_not_in_async_mode_is_409(inject_app, call, monkeypatch):
    from audiocodes_endpoint.wiring import runtime

    # Given the sync demo endpoint with an inject key
    demo = runtime().endpoints["demo"]
    monkeypatch.setitem(runtime().endpoints, "demo", demo.model_copy(update={"inject_api_key": "env:DEMO_KEY"}))
    monkeypatch.setenv("DEMO_KEY", "demo-key")
    call("POST", "/demo", {"conversation": "sync-call"})
    payload = {"URLToken": "demo", "sessionId": "sync-call", "text": "x"}
    status, answer = send(inject_app, "/v2.0/endpoint/inject", payload, key="demo-key")
    assert status == 409 and answer["error"] == "not_async"


def test_a_body_over_64_kib_is_413(live_call, inject_app):
    assert send(inject_app, "/v2.0/endpoint/inject", body(text="x" * 70_000))[0] == 413


# --- idempotency ---------------------------------------------------------------------------------------


def test_a_repeated_idempotency_key_is_accepted_once(live_call, inject_app, turn_queue):
    headers = {"idempotency-key": "pay-42"}
    first = send(inject_app, "/v2.0/endpoint/inject", body(text="payment succeeded"), headers=headers)
    again = send(inject_app, "/v2.0/endpoint/inject", body(text="payment succeeded"), headers=headers)
    assert first[0] == again[0] == 202 and first[1]["id"] == again[1]["id"]
    assert len(_all_queued(turn_queue)) == 1


def test_an_idempotency_key_is_still_known_after_a_deploy(
    live_call, inject_app, turn_queue, sessions_table, monkeypatch
):
    """Records are keyed by a fixed name, not by where the code lives or what the function is called."""
    from audiocodes_endpoint.wiring import runtime

    headers = {"idempotency-key": "pay-44"}
    first = send(inject_app, "/v2.0/endpoint/inject", body(text="payment succeeded"), headers=headers)
    # A new deployment: another function name, a fresh execution environment
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-InjectNotifyFunction-v2")
    runtime.cache_clear()
    again = send(inject_app, "/v2.0/endpoint/inject", body(text="payment succeeded"), headers=headers)
    assert first[0] == again[0] == 202 and first[1]["id"] == again[1]["id"]
    assert len(_all_queued(turn_queue)) == 1
    records = boto3.client("dynamodb").scan(TableName=sessions_table)["Items"]
    assert len([r for r in records if r["id"]["S"].startswith("inject-notify#")]) == 1


def test_an_idempotency_key_reused_with_another_body_is_409(live_call, inject_app):
    headers = {"idempotency-key": "pay-43"}
    assert send(inject_app, "/v2.0/endpoint/inject", body(text="a"), headers=headers)[0] == 202
    status, answer = send(inject_app, "/v2.0/endpoint/inject", body(text="b"), headers=headers)
    assert status == 409 and answer["error"] == "idempotency_key_reused"


# --- raw variants with transformers ------------------------------------------------------------------


def test_a_raw_webhook_is_mapped_by_handle_inject(live_call, inject_app, handlers, turn_queue):
    webhook = {
        "event": "payment.succeeded",
        "id": "pay_1",
        "amount": 42.5,
        "currency": "EUR",
        "metadata": {"conversation": CONVERSATION_ASYNC},
    }
    status, answer = send(inject_app, "/inject/demo-async", webhook)
    assert status == 202 and answer["kind"] == "inject"
    (work,) = _all_queued(turn_queue)
    assert work["payload"]["text"] == "payment succeeded"
    assert work["payload"]["data"]["payment"]["amount"] == 42.5


def test_a_raw_body_the_transformer_ignores_is_dropped(live_call, inject_app, turn_queue):
    status, answer = send(inject_app, "/inject/demo-async", {"event": "customer.created"})
    assert status == 200 and answer["status"] == "dropped"
    assert _all_queued(turn_queue) == []


def test_raw_notify_and_its_errors(live_call, inject_app):
    ok = send(inject_app, "/notify/demo-async", {"conversation": CONVERSATION_ASYNC, "say": "Hello from the desk"})
    assert ok[0] == 202
    assert send(inject_app, "/notify/demo-async", None, raw=b"{oops")[0] == 400
    assert send(inject_app, "/notify/demo-async", {"conversation": "nope", "say": "x"})[0] == 404
    assert send(inject_app, "/notify/demo-async", {"say": "x"}, key="wrong")[0] == 401
    assert send(inject_app, "/notify/unknown", {"say": "x"})[0] == 404


def test_a_raw_route_without_its_transformer_is_404(live_call, inject_app, monkeypatch):
    from audiocodes_endpoint.config.transformers import TransformerSettings
    from audiocodes_endpoint.wiring import runtime

    endpoint = runtime().endpoints["demo-async"]
    no_hooks = endpoint.model_copy(update={"transformers": TransformerSettings(), "url_token": "plain"})
    monkeypatch.setitem(runtime().endpoints, "plain", no_hooks)
    status, answer = send(inject_app, "/inject/plain", {"any": "body"})
    assert status == 404 and answer["error"] == "no_transformer"


def _item(table):
    return boto3.client("dynamodb").get_item(TableName=table, Key={"id": {"S": f"demo-async/{CONVERSATION_ASYNC}"}})[
        "Item"
    ]


def _all_queued(turn_queue):
    client = boto3.client("sqs")
    found = []
    while True:
        messages = client.receive_message(QueueUrl=turn_queue["url"], MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            client.delete_message(QueueUrl=turn_queue["url"], ReceiptHandle=message["ReceiptHandle"])
