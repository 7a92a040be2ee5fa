"""Bodies that fail to decode, through the real handlers on moto: a 4xx in our JSON shape, never a 500.

Each request is an API Gateway event built by hand, so header-name case, ``isBase64Encoded`` and
bodies that are not UTF-8 reach the handler exactly as written.
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from typing import Any

import pytest

from audiocodes_devtools.events import http_event
from tests.integration.conftest import ASYNC_TOKEN, CONVERSATION, TOKEN, FakeLambdaContext, activity, start_event
from tests.integration.test_inject_notify import KEY

BASE = f"/demo/conversation/{CONVERSATION}"


def raw_request(
    handler: Any,
    path: str,
    body: bytes | str | None,
    *,
    headers: dict[str, str],
    base64_encoded: bool | None = None,
    method: str = "POST",
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Send ``body`` as given: bytes go base64-encoded (as API Gateway sends binary), str as is."""
    event = http_event(method, path)
    event["headers"] = dict(headers)  # exactly these names, in this case
    if isinstance(body, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    else:
        event["body"], event["isBase64Encoded"] = body, False
    if base64_encoded is not None:
        event["isBase64Encoded"] = base64_encoded
    result = handler.lambda_handler(event, FakeLambdaContext())
    answer = json.loads(result["body"]) if result.get("body") else {}
    return result["statusCode"], answer, result.get("headers") or {}


def bot(**extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json", **extra}


def activities_body(**fields: Any) -> str:
    return json.dumps({"activities": [activity(text="hello", **fields)]})


@pytest.fixture
def live(call: Any, bot_api: Any) -> Any:
    assert call("POST", "/demo", {"conversation": CONVERSATION})[0] == 200
    assert call("POST", f"{BASE}/activities", {"activities": [start_event()]})[0] == 200
    return bot_api


def assert_refused(result: tuple[int, dict[str, Any], dict[str, str]], status: int, *codes: str) -> dict[str, Any]:
    got, answer, _ = result
    assert got == status, answer
    assert set(answer) <= {"error", "message", "detail"} and answer["error"] in codes and answer["message"], answer
    return answer


# --- 400: malformed ---------------------------------------------------------------------------------------

ACTIVITY = '{"activities": [{"id": "a", "type": "message", %s}]}'
MALFORMED = {
    "nested 10,000 deep": ACTIVITY % ('"value": ' + "[" * 10_000 + "]" * 10_000),
    "nested past the depth limit": ACTIVITY % ('"value": ' + "[" * 40 + "]" * 40),
    "a 5,000-digit number": ACTIVITY % ('"value": ' + "9" * 5_000),
    "NaN": ACTIVITY % '"value": NaN',
    "a float out of range": ACTIVITY % '"value": 1e999',
    "a lone surrogate in parameters": ACTIVITY % '"parameters": {"x": "\\ud800"}',
    "a lone surrogate in value": ACTIVITY % '"value": ["\\udfff"]',
    "a lone surrogate in a key": ACTIVITY % '"parameters": {"\\ud83d": 1}',
    "a noncharacter SQS refuses": ACTIVITY % '"text": "\\uffff"',
    "a raw lone surrogate in the event body": ACTIVITY % '"text": "\ud800"',
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_body_that_does_not_decode_is_400(live: Any, body: str) -> None:
    assert_refused(raw_request(live, f"{BASE}/activities", body, headers=bot()), 400, "bad_request")


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("latin-1", activities_body().replace("hello", "caf\u00e9").encode("latin-1")),
        ("utf-16 with BOM", activities_body().encode("utf-16")),
        ("utf-16-le", activities_body().encode("utf-16-le")),
        ("utf-32", activities_body().encode("utf-32")),
        ("gzip without Content-Encoding", gzip.compress(activities_body().encode())),
        ("encoded surrogate bytes", activities_body().encode().replace(b"hello", b"\xed\xa0\x80")),
    ],
)
def test_a_body_that_is_not_utf8_is_400(live: Any, name: str, body: bytes) -> None:
    answer = assert_refused(raw_request(live, f"{BASE}/activities", body, headers=bot()), 400, "bad_request")
    # (UTF-16-LE of ASCII text is valid UTF-8 with NULs in it: then it is malformed JSON)
    assert "UTF-8" in answer["message"] or answer["message"] == "malformed JSON body"


def test_invalid_base64_is_400(live: Any) -> None:
    result = raw_request(live, f"{BASE}/activities", "eyJh*!not base64", headers=bot(), base64_encoded=True)
    assert "base64" in assert_refused(result, 400, "bad_request")["message"]


def test_a_utf8_bom_is_accepted(live: Any) -> None:
    body = b"\xef\xbb\xbf" + activities_body().encode()
    assert raw_request(live, f"{BASE}/activities", body, headers=bot())[0] == 200


@pytest.mark.parametrize("conversation", [".", ".."])
def test_dot_segments_are_refused_as_conversation_ids(call: Any, conversation: str) -> None:
    status, answer = call("POST", "/demo", {"conversation": conversation})
    assert status == 400 and answer["error"] == "bad_request" and "conversation" in answer["message"]


# --- 415: content types --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "APPLICATION/JSON",
        "application/json; charset=utf-8",
        'Application/Json;Charset="UTF-8"',
        "text/json",
        "application/vnd.example+json",
    ],
)
def test_json_content_types_are_compared_case_insensitively(live: Any, content_type: str) -> None:
    headers = {"authorization": f"Bearer {TOKEN}", "CONTENT-TYPE": content_type}
    status, answer, _ = raw_request(live, f"{BASE}/activities", activities_body(), headers=headers)
    assert status == 200 and answer["activities"], answer


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
        "application/",
        ";;",
    ],
)
def test_other_content_types_are_415_in_our_shape(live: Any, content_type: str) -> None:
    result = raw_request(live, f"{BASE}/activities", activities_body(), headers=bot(**{"Content-Type": content_type}))
    assert_refused(result, 415, "unsupported_media_type")


# --- compression -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coding", "compress"),
    [("gzip", gzip.compress), ("x-gzip", gzip.compress), ("deflate", zlib.compress), ("GZIP", gzip.compress)],
)
def test_a_compressed_body_with_content_encoding_is_accepted(live: Any, coding: str, compress: Any) -> None:
    body = compress(activities_body().encode())
    status, answer, _ = raw_request(live, f"{BASE}/activities", body, headers=bot(**{"Content-Encoding": coding}))
    assert status == 200 and answer["activities"], answer


def test_a_body_too_large_once_decompressed_is_413(live: Any) -> None:
    bomb = gzip.compress(b'{"activities": [], "pad": "' + b" " * 10_000_000 + b'"}')
    assert len(bomb) < 64 * 1024
    result = raw_request(live, f"{BASE}/activities", bomb, headers=bot(**{"Content-Encoding": "gzip"}))
    assert_refused(result, 413, "payload_too_large")


def test_a_corrupt_compressed_body_is_400(live: Any) -> None:
    body = gzip.compress(activities_body().encode())[:-9]
    result = raw_request(live, f"{BASE}/activities", body, headers=bot(**{"Content-Encoding": "gzip"}))
    assert_refused(result, 400, "bad_request")


def test_an_unsupported_content_encoding_is_415_naming_what_is_accepted(live: Any) -> None:
    result = raw_request(live, f"{BASE}/activities", b"\x1b\x00", headers=bot(**{"Content-Encoding": "br"}))
    assert_refused(result, 415, "unsupported_media_type")
    assert result[2].get("Accept-Encoding") == "gzip, deflate, identity"


# --- order and routes that ignore the body ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [('{"a": ' + "[" * 10_000, "application/json"), ("x", "text/plain"), (b"\xff\xfe", "application/json")],
)
def test_auth_is_checked_before_decoding(live: Any, body: Any, content_type: str) -> None:
    headers = {"Authorization": "Bearer wrong", "Content-Type": content_type}
    assert_refused(raw_request(live, f"{BASE}/activities", body, headers=headers), 401, "unauthorized")


def test_refresh_still_accepts_any_body(live: Any) -> None:
    for body, b64 in [("eyJh*!", True), ("\ud800", False), ("x", None)]:
        headers = bot(**{"Content-Type": "text/plain"})
        assert raw_request(live, f"{BASE}/refresh", body, headers=headers, base64_encoded=b64)[0] == 200


# --- inject & notify ----------------------------------------------------------------------------------------


@pytest.fixture
def inject(handlers: Any, live: Any) -> Any:
    import importlib

    import boto3

    boto3.client("ssm").put_parameter(
        Name="/audiocodes-endpoint/demo-async/inject-api-key", Value=KEY, Type="SecureString", Overwrite=True
    )
    return importlib.import_module("functions.inject_notify.app")


def keyed(**extra: str) -> dict[str, str]:
    return {"X-Api-Key": KEY, "Content-Type": "application/json", **extra}


@pytest.mark.parametrize("path", ["/v2.0/endpoint/inject", "/v2.0/endpoint/notify", "/inject/demo-async"])
@pytest.mark.parametrize(
    "body",
    [
        '{"URLToken": "demo-async", "sessionId": "c", "data": {"x": "\\ud800"}}',
        '{"URLToken": "demo-async", "sessionId": "c", "data": {"x": ' + "[" * 10_000 + "]" * 10_000 + "}}",
        '{"URLToken": "demo-async", "sessionId": "c", "data": {"x": ' + "1" * 4_301 + "}}",
        '{"URLToken": "demo-async", "sessionId": "c", "text": "\\uffff"}',
    ],
    ids=["surrogate", "deep", "digits", "noncharacter"],
)
def test_inject_and_notify_refuse_what_does_not_decode(inject: Any, path: str, body: str) -> None:
    result = raw_request(inject, path, body, headers=keyed())
    if "[" * 10_000 in body and not path.startswith("/inject/"):
        # Cognigy's routes name the endpoint in the body: one too deep to read names none to check the
        # key against, so it is not authenticated (401 before any description of the body)
        assert_refused(result, 401, "unauthorized")
    else:
        assert_refused(result, 400, "bad_request")


def test_inject_and_notify_answer_415_and_413_in_our_shape(inject: Any) -> None:
    named = '{"URLToken": "demo-async", "sessionId": "c", "text": "x"}'
    text = raw_request(inject, "/v2.0/endpoint/inject", named, headers=keyed(**{"Content-Type": "text/plain"}))
    assert_refused(text, 415, "unsupported_media_type")
    bomb = gzip.compress(b"[" + b" " * 5_000_000 + b"]")
    assert_refused(
        raw_request(inject, "/inject/demo-async", bomb, headers=keyed(**{"Content-Encoding": "gzip"})),
        413,
        "payload_too_large",
    )
    wrong_key = {"X-Api-Key": "wrong", "Content-Type": "text/plain"}
    assert_refused(raw_request(inject, "/v2.0/endpoint/inject", "{", headers=wrong_key), 401, "unauthorized")


# --- the WebSocket's $connect -----------------------------------------------------------------------------


@pytest.mark.parametrize("conversation", ["\ud800", "..", "", "a/b", "x" * 300])
def test_connect_refuses_a_conversation_id_that_cannot_exist(handlers: Any, conversation: str) -> None:
    event = {
        "requestContext": {"routeKey": "$connect", "connectionId": "conn-x", "stage": "live"},
        "headers": {"Authorization": f"Bearer {ASYNC_TOKEN}"},
        "queryStringParameters": {"endpoint": "demo-async", "conversation": conversation},
    }
    result = handlers["websocket"].lambda_handler(event, FakeLambdaContext())
    answer = json.loads(result["body"])
    assert result["statusCode"] == 400 and answer["error"] == "bad_request", answer
