"""The Bot API in HTTP mode, through the real handler on moto (AudioCodes Bot API: https://techdocs.audiocodes.com/voice-ai-connect/content/Bot-API/ac-bot-api.htm)."""

import json
import re
import threading
import time
from urllib.parse import urljoin, urlsplit

import boto3
import pytest

from tests.integration.conftest import CONVERSATION, TOKEN, activity, start_event

BASE = f"/demo/conversation/{CONVERSATION}"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def create(call, conversation=CONVERSATION):
    status, body = call("POST", "/demo", {"conversation": conversation})
    assert status == 200, body
    return body


def post_activities(call, *activities, conversation=CONVERSATION):
    return call(
        "POST",
        f"/demo/conversation/{conversation}/activities",
        {"conversation": conversation, "activities": list(activities)},
    )


# --- auth ------------------------------------------------------------------------------------------


def test_validation_probe_answers_with_a_valid_token(call):
    assert call("GET", "/demo") == (200, {"type": "ac-bot-api", "success": True})


@pytest.mark.parametrize("token", [None, "wrong", "", TOKEN + "x"])
def test_missing_or_wrong_token_is_401_json_on_every_route(call, token):
    for method, path in [
        ("GET", "/demo"),
        ("POST", "/demo"),
        ("POST", f"{BASE}/activities"),
        ("POST", f"{BASE}/refresh"),
        ("POST", f"{BASE}/disconnect"),
    ]:
        status, body = call(method, path, {"conversation": CONVERSATION}, token=token)
        assert status == 401 and body["error"] == "unauthorized"


def test_a_raw_token_without_bearer_is_accepted(call):
    assert call("GET", "/demo", token=None, headers={"authorization": TOKEN})[0] == 200


def test_auth_is_checked_before_the_body_is_validated(call):
    # Given a request that is both unauthenticated and malformed, Then 401 wins over 400
    status, _ = call("POST", "/demo", token="wrong", raw_body=b"{not json")
    assert status == 401


# --- create ------------------------------------------------------------------------------------------


def test_create_answers_relative_urls_and_expiry(call):
    body = create(call)
    assert body == {
        "activitiesURL": f"demo/conversation/{CONVERSATION}/activities",
        "refreshURL": f"demo/conversation/{CONVERSATION}/refresh",
        "disconnectURL": f"demo/conversation/{CONVERSATION}/disconnect",
        "expiresSeconds": 120,
    }


def test_a_repeated_create_answers_the_same_urls(call):
    assert create(call) == create(call)


@pytest.mark.parametrize("body", [{}, {"conversation": ""}, {"conversation": 42}, {"conversation": "a/b"}, [], "x"])
def test_create_without_a_valid_conversation_is_400_naming_the_field(call, body):
    status, answer = call("POST", "/demo", body)
    assert status == 400 and answer["error"] == "bad_request"
    if isinstance(body, dict):
        assert "conversation" in answer["message"]


@pytest.mark.parametrize(
    ("bot_url", "stage"),
    [
        ("https://abc.execute-api.eu-central-1.amazonaws.com/demo", "$default"),
        ("https://abc.execute-api.eu-central-1.amazonaws.com/demo/", "$default"),
        ("https://abc.execute-api.eu-central-1.amazonaws.com/Prod/demo", "Prod"),
    ],
)
def test_returned_urls_resolve_to_working_routes(call, bot_url, stage):
    # Given VAIC configured with this bot URL
    bot_path = urlsplit(bot_url).path
    status, urls = call("POST", bot_path, {"conversation": "c-urls"}, stage=stage)
    assert status == 200
    # When it resolves each URL per RFC 3986 and calls it
    resolved = {
        key: urlsplit(urljoin(bot_url, urls[key])).path for key in ("activitiesURL", "refreshURL", "disconnectURL")
    }
    status, answer = call("POST", resolved["activitiesURL"], {"activities": [start_event()]}, stage=stage)
    # Then every route answers
    assert status == 200 and answer["activities"]
    assert call("POST", resolved["refreshURL"], {}, stage=stage) == (200, {"expiresSeconds": 120})
    assert call("POST", resolved["disconnectURL"], {"reasonCode": "client-disconnected"}, stage=stage) == (200, {})


# --- activities ----------------------------------------------------------------------------------


def test_start_is_answered_with_stamped_activities(call):
    create(call)
    status, body = post_activities(call, start_event())
    assert status == 200 and body["conversation"] == CONVERSATION
    ids = [a["id"] for a in body["activities"]]
    assert ids and len(set(ids)) == len(ids)
    assert all(TIMESTAMP.match(a["timestamp"]) and a["type"] in ("message", "event") for a in body["activities"])


def test_a_resent_activity_returns_the_same_answer(call):
    create(call)
    post_activities(call, start_event())
    message = activity(text="I want my account balance", parameters={"confidence": 0.9})
    first = post_activities(call, message)
    again = post_activities(call, message)
    assert first == again and first[0] == 200


def test_several_activities_in_one_request_are_answered_in_order(call):
    create(call)
    status, body = post_activities(call, start_event(), activity(text="goodbye"))
    assert status == 200
    assert body["activities"][-1]["type"] == "event" and body["activities"][-1]["name"] == "hangup"


def test_goodbye_hangs_up_with_a_reason(call):
    create(call)
    post_activities(call, start_event())
    status, body = post_activities(call, activity(text="goodbye"))
    assert status == 200
    hangup = body["activities"][-1]
    assert hangup["name"] == "hangup" and hangup["activityParams"]["hangupReason"]


def test_unknown_conversation_and_endpoint_are_404(call):
    assert post_activities(call, start_event(), conversation="nope")[0] == 404
    assert call("POST", "/nope", {"conversation": "x"})[0] == 404
    assert call("POST", "/demo/conversation/nope/refresh", {})[0] == 404
    assert call("POST", "/demo/conversation/nope/disconnect", {})[0] == 404


def test_a_session_idle_past_its_expiry_is_404(call, sessions_table):
    create(call)
    boto3.client("dynamodb").update_item(
        TableName=sessions_table,
        Key={"id": {"S": f"demo/{CONVERSATION}"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    assert post_activities(call, start_event())[0] == 404
    assert call("POST", f"{BASE}/refresh", {})[0] == 404


# --- refresh and disconnect ------------------------------------------------------------------------


def test_refresh_extends_the_session(call, sessions_table):
    create(call)
    table = boto3.client("dynamodb")
    key = {"id": {"S": f"demo/{CONVERSATION}"}}
    before = int(table.get_item(TableName=sessions_table, Key=key)["Item"]["expires_at"]["N"])
    time.sleep(1.05)
    assert call("POST", f"{BASE}/refresh", {"conversation": CONVERSATION}) == (200, {"expiresSeconds": 120})
    after = int(table.get_item(TableName=sessions_table, Key=key)["Item"]["expires_at"]["N"])
    assert after > before


def test_refresh_accepts_any_body(call):
    create(call)
    assert call("POST", f"{BASE}/refresh", raw_body=b"not even json")[0] == 200


def test_disconnect_ends_the_session_and_is_idempotent(call):
    create(call)
    post_activities(call, start_event())
    reason = {"conversation": CONVERSATION, "reasonCode": "client-disconnected", "reason": "Client Side"}
    assert call("POST", f"{BASE}/disconnect", reason) == (200, {})
    assert call("POST", f"{BASE}/disconnect", reason) == (200, {})
    assert post_activities(call, activity(text="hello?"))[0] == 404


# --- bad input ---------------------------------------------------------------------------------------


def test_malformed_json_is_400(call):
    create(call)
    status, body = call("POST", f"{BASE}/activities", raw_body=b'{"activities": [')
    assert status == 400 and body["message"] == "malformed JSON body"


def test_wrong_shape_is_400_naming_the_field(call):
    create(call)
    status, body = call("POST", f"{BASE}/activities", {"activities": [{"type": "message"}]})
    assert status == 400 and "activities.0.id" in body["message"]


def test_a_body_over_64_kib_is_413(call):
    status, body = call("POST", "/demo", raw_body=b'{"conversation": "' + b"x" * 70_000 + b'"}')
    assert status == 413 and body["error"] == "payload_too_large"


def test_a_wrong_method_is_405_with_allow(call):
    status, body = call("DELETE", "/demo")
    assert status == 405 and body["error"] == "method_not_allowed"
    assert call("GET", f"{BASE}/activities")[0] == 405


# --- concurrency ---------------------------------------------------------------------------------------


def test_concurrent_activities_through_the_handler_lose_no_update(call, sessions_table):
    # Given a live call
    create(call)
    post_activities(call, start_event())
    barrier = threading.Barrier(6)
    statuses = []

    sent = [activity(text=f"hello number {i}") for i in range(6)]

    def send(i: int) -> None:
        barrier.wait()
        statuses.append(post_activities(call, sent[i])[0])

    # When six activities arrive at the same moment
    threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then all were answered and every one of them was written: create + start + 6 turns
    assert statuses == [200] * 6
    item = boto3.client("dynamodb").get_item(TableName=sessions_table, Key={"id": {"S": f"demo/{CONVERSATION}"}})
    assert item["Item"]["version"]["N"] == "8"
    replies = json.loads(item["Item"]["state"]["S"])["replies"]
    assert {a["id"] for a in sent} <= set(replies)


def test_a_failed_transfer_gives_control_back_to_the_flow(call):
    # Given a caller who asked for a human and was transferred
    create(call)
    post_activities(call, start_event())
    transfer = post_activities(call, activity(text="I want to talk to an agent"))[1]["activities"][-1]
    assert transfer["name"] == "transfer"
    # When VAIC reports the transfer failed
    failed = {"status": "failed", "reasonCode": "busy", "reason": "486 Busy Here"}
    status, body = post_activities(call, activity("event", name="transferStatus", value=failed))
    # Then the flow speaks again instead of staying silent
    assert status == 200 and any(a["type"] == "message" for a in body["activities"])
