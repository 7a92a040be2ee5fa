"""Outbound calls through the real handler on moto, against the VAIC dial-out stand-in (a real HTTP server)."""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from audiocodes_devtools.dialout_standin import Callee, DialoutStandIn
from audiocodes_devtools.events import http_event
from tests.conftest import ROOT
from tests.integration.conftest import FakeLambdaContext

KEY = "outbound-key"
ENDPOINT = """
name: Outbound test
url_token: calls
flow: main
bot_token: ssm:/audiocodes-endpoint/calls/bot-token
default_region: DE
dialout:
  api_key: ssm:/audiocodes-endpoint/calls/dialout-api-key
  api_url: {url}
  token_url: {url}/oauth/token
  client_id: ssm:/audiocodes-endpoint/calls/dialout-client-id
  client_secret: ssm:/audiocodes-endpoint/calls/dialout-client-secret
  bot: calls-bot
  caller: "+4930123456789"
  caller_display_name: Example Bank
  machine_detection: true
  answer_timeout_seconds: 25
  destinations:
    country_codes: [49]
    patterns: ['^\\+4420\\d{{8}}$']
    do_not_call: ["+4930111111111"]
"""


@pytest.fixture
def standin() -> Iterator[DialoutStandIn]:
    callees = {"+493022222222": Callee("busy"), "+493033333333": Callee("no-answer")}
    server = DialoutStandIn(lambda name: ("http://127.0.0.1:9/unused", None) if name == "calls-bot" else None, callees)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def app(sessions_table: str, standin: DialoutStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from aws_lambda_powertools.utilities import parameters

    from audiocodes_endpoint.features.outbound import vaic
    from audiocodes_endpoint.wiring import runtime

    agent = shutil.copytree(ROOT / "agent", tmp_path / "agent")
    (agent / "endpoints" / "calls.yaml").write_text(ENDPOINT.format(url=standin.url))
    monkeypatch.setenv("SESSIONS_TABLE", sessions_table)
    monkeypatch.setenv("AGENT_DIR", str(agent))
    ssm = boto3.client("ssm")
    for name, value in {
        "bot-token": "t",
        "dialout-api-key": KEY,
        "dialout-client-id": standin.client_id,
        "dialout-client-secret": standin.client_secret,
    }.items():
        ssm.put_parameter(Name=f"/audiocodes-endpoint/calls/{name}", Value=value, Type="SecureString", Overwrite=True)
    parameters.clear_caches()
    runtime.cache_clear()
    vaic.reset()
    module = importlib.import_module("functions.outbound.app")
    module.outbound.cache_clear()
    yield module
    module.outbound.cache_clear()
    runtime.cache_clear()
    parameters.clear_caches()
    vaic.reset()


@pytest.fixture
def status_events(aws: None) -> str:
    """A rule on the default bus sending the endpoint's status events to a queue the test reads."""
    queue = boto3.client("sqs").create_queue(QueueName="statuses")["QueueUrl"]
    arn = boto3.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    events = boto3.client("events")
    events.put_rule(Name="statuses", EventPattern=json.dumps({"source": ["audiocodes-endpoint.outbound"]}))
    events.put_targets(Rule="statuses", Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])
    return queue


def published(queue: str) -> list[dict[str, Any]]:
    found = []
    while messages := boto3.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            found.append(json.loads(message["Body"]))
            boto3.client("sqs").delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return found


def send(app: Any, method: str, path: str, body: Any = None, *, key: str | None = KEY, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:  # fmt: skip
    url = urlsplit(path)
    all_headers = {
        "content-type": "application/json",
        "Host": "api.example.com",
        "x-forwarded-proto": "https",
        **({"x-api-key": key} if key else {}),
        **(headers or {}),
    }
    data = raw if raw is not None else json.dumps(body).encode() if body is not None else b""
    event = http_event(method, url.path, query=url.query, headers=all_headers, body=data)
    result = app.lambda_handler(event, FakeLambdaContext())
    return result["statusCode"], json.loads(result["body"])


def dial(app: Any, target: str = "+49 30 12345678", **fields: Any) -> tuple[int, Any]:
    return send(app, "POST", "/outbound/calls/calls", {"target": target, **fields})


def history(app: Any, call_id: str) -> list[str]:
    status, call = send(app, "GET", f"/outbound/calls/calls/{call_id}")
    assert status == 200, call
    return [entry["status"] for entry in call["history"]]


def deliver_callbacks(app: Any, standin: DialoutStandIn, index: int = -1) -> list[int]:
    """What the stand-in POSTed to the notifyUrl, delivered to the handler (its host is API Gateway's)."""
    placed = standin.calls[index]
    assert placed.done.wait(10)
    notify = placed.request["notifyUrl"]
    return [send(app, "POST", notify[len("https://api.example.com") :], body, key=None)[0] for body in placed.callbacks]


# --- placing a call ---------------------------------------------------------------------------------


def test_a_call_is_placed_with_the_endpoint_s_dialout_settings_and_its_history_recorded(app, standin, status_events):
    status, answer = dial(app, metadata={"customer": "C-42", "reason": "reminder"})
    assert status == 202 and answer["status"] == "initiated", answer
    (placed,) = standin.calls
    request = placed.request
    assert answer["conversationId"] == placed.conversation_id
    sent = {k: v for k, v in request.items() if k != "notifyUrl"}
    assert sent == {
        "bot": "calls-bot",
        "target": "tel:+493012345678",
        "caller": "+4930123456789",
        "callerDisplayName": "Example Bank",
        "machineDetection": "detect",
        "answerTimeoutSec": 25,
        "metadata": {"customer": "C-42", "reason": "reminder"},
    }
    # The notifyUrl is on the host and scheme the request came in on, with an unguessable per-call token
    notify = urlsplit(request["notifyUrl"])
    assert (notify.scheme, notify.netloc, notify.path) == (
        "https",
        "api.example.com",
        f"/outbound/calls/calls/{answer['id']}/status",
    )
    assert len(notify.query.removeprefix("token=")) >= 40
    status, call = send(app, "GET", f"/outbound/calls/calls/{answer['id']}")
    assert status == 200 and call["target"] == "+493012345678" and call["metadata"]["customer"] == "C-42"
    assert [e["status"] for e in call["history"]] == ["queued", "initiated"] and call["status"] == "initiated"
    assert [e["detail"]["status"] for e in published(status_events)] == ["initiated"]


def test_oauth_token_is_fetched_once_and_reused_for_later_calls(app, standin):
    for _ in range(3):
        assert dial(app)[0] == 202
    assert len(standin.tokens) == 1 and len(standin.calls) == 3


def test_vaic_status_callbacks_update_the_history_and_are_published(app, standin, status_events):
    _, answer = dial(app, "+49 30 22222222")  # the stand-in's callee is busy
    assert deliver_callbacks(app, standin) == [200]
    assert history(app, answer["id"]) == ["queued", "initiated", "failed"]
    _, call = send(app, "GET", f"/outbound/calls/calls/{answer['id']}")
    assert call["history"][-1]["reason"] == "busy" and call["history"][-1]["reasonCode"] == "486"
    events = published(status_events)
    assert [e["detail"]["status"] for e in events] == ["initiated", "failed"]
    assert events[-1]["detail-type"] == "Outbound call status" and events[-1]["detail"]["callId"] == answer["id"]
    assert "target" not in events[-1]["detail"]  # the number stays in the record, not on the bus


def test_a_late_callback_joins_the_history_but_never_reopens_a_finished_call(app, standin):
    _, answer = dial(app)
    notify = standin.calls[-1].request["notifyUrl"][len("https://api.example.com") :]
    for body in ({"status": "answered"}, {"status": "completed", "duration": 42.5}, {"status": "answered"}):
        assert send(app, "POST", notify, body, key=None)[0] == 200
    _, call = send(app, "GET", f"/outbound/calls/calls/{answer['id']}")
    assert call["status"] == "completed"
    assert [e["status"] for e in call["history"]] == ["queued", "initiated", "answered", "completed", "answered"]
    assert call["history"][3]["duration"] == 42.5


def test_a_callback_needs_its_own_call_s_token(app, standin):
    _, first = dial(app)
    _, second = dial(app)
    first_token = urlsplit(standin.calls[0].request["notifyUrl"]).query
    wrong = [
        f"/outbound/calls/calls/{second['id']}/status?{first_token}",  # another call's token
        f"/outbound/calls/calls/{first['id']}/status?token=guess",
        f"/outbound/calls/calls/{first['id']}/status",
        f"/outbound/calls/calls/00000000-0000-0000-0000-000000000000/status?{first_token}",
    ]
    for path in wrong:
        status, answer = send(app, "POST", path, {"status": "completed"}, key=None)
        assert (status, answer["error"]) == (404, "call_not_found"), path
    assert history(app, first["id"]) == history(app, second["id"]) == ["queued", "initiated"]


def test_a_callback_with_a_bad_body_is_refused_and_changes_nothing(app, standin):
    _, answer = dial(app)
    notify = standin.calls[-1].request["notifyUrl"][len("https://api.example.com") :]
    assert send(app, "POST", notify, raw=b"{not json", key=None)[0] == 400
    assert send(app, "POST", notify, {"status": "<script>"}, key=None)[0] == 400
    assert history(app, answer["id"]) == ["queued", "initiated"]


# --- refused ----------------------------------------------------------------------------------------


def test_the_api_key_is_checked_before_the_body(app, standin):
    assert send(app, "POST", "/outbound/calls/calls", raw=b"{oops", key=None)[0] == 401
    assert send(app, "POST", "/outbound/calls/calls", {"target": "+493012345678"}, key="wrong")[0] == 401
    assert send(app, "GET", "/outbound/calls/calls/x", key=None)[0] == 401
    assert send(app, "POST", "/outbound/nobody/calls", {"target": "+493012345678"})[0] == 404
    assert send(app, "POST", "/outbound/demo-async/calls", {"target": "+493012345678"})[0] == 404  # no dialout
    assert standin.calls == []


@pytest.mark.parametrize(
    ("target", "status", "error"),
    [
        ("not a number", 400, "invalid_target"),
        ("+49 30 1", 400, "invalid_target"),
        ("+33 1 23 45 67 89", 403, "destination_not_allowed"),  # France: not in the allow-list
        ("+44 20 7946 0958", 202, None),  # London by pattern
        ("+44 161 496 0000", 403, "destination_not_allowed"),  # Manchester: the pattern does not cover it
        ("030 111111111", 403, "do_not_call"),  # national form of a do-not-call number
    ],
)
def test_destinations_are_checked_against_the_allow_list_and_the_do_not_call_list(app, standin, target, status, error):
    got, answer = dial(app, target)
    assert got == status, answer
    if error:
        assert answer["error"] == error and standin.calls == []


def test_malformed_bodies_are_400(app, standin):
    assert send(app, "POST", "/outbound/calls/calls", raw=b"{oops")[0] == 400
    assert send(app, "POST", "/outbound/calls/calls", {"metadata": {}})[0] == 400
    assert send(app, "POST", "/outbound/calls/calls", {"target": "+493012345678", "extra": 1})[0] == 400
    assert send(app, "POST", "/outbound/calls/calls", raw=b'{"target": "' + b"1" * 70_000 + b'"}')[0] == 413
    assert standin.calls == []


def test_an_idempotency_key_places_one_call(app, standin):
    headers = {"idempotency-key": "k-1"}
    body = {"target": "+493012345678", "metadata": {"n": 1}}
    first = send(app, "POST", "/outbound/calls/calls", body, headers=headers)
    again = send(app, "POST", "/outbound/calls/calls", body, headers=headers)
    assert first == again and first[0] == 202 and len(standin.calls) == 1
    other = send(app, "POST", "/outbound/calls/calls", {**body, "metadata": {"n": 2}}, headers=headers)
    assert (other[0], other[1]["error"]) == (409, "idempotency_key_reused") and len(standin.calls) == 1


def test_vaic_refusing_the_credentials_fails_the_call_with_its_reason(app, standin):
    standin.client_secret = "rotated"
    status, answer = dial(app)
    assert (status, answer["error"]) == (502, "dialout_failed") and "HTTP 401" in answer["message"]
    _, call = send(app, "GET", f"/outbound/calls/calls/{answer['id']}")
    assert [e["status"] for e in call["history"]] == ["queued", "failed"] and call["status"] == "failed"
    assert "token answered HTTP 401" in call["history"][-1]["reason"]


def test_an_unreadable_client_secret_is_503_and_places_nothing(app, standin):
    boto3.client("ssm").delete_parameter(Name="/audiocodes-endpoint/calls/dialout-client-secret")
    status, answer = dial(app)
    assert (status, answer["error"]) == (503, "endpoint_misconfigured") and standin.calls == []


def test_aws_requests_per_call_are_one_write_per_status_and_one_event(app, standin, monkeypatch):
    from botocore.client import BaseClient

    made: list[str] = []
    original = BaseClient._make_api_call

    def counting(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        made.append(f"{self.meta.service_model.service_name}:{operation}")
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    dial(app, "+49 30 22222222")  # busy: VAIC reports one status
    deliver_callbacks(app, standin)
    # Placing: the record, the initiated status and its event; each callback: read, append, event
    # (the API key is a cached SSM parameter after the first request).
    calls = [m for m in made if not m.startswith("ssm:")]
    assert calls == [
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "events:PutEvents",
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "events:PutEvents",
    ]
