"""A missing or unreadable secret breaks its own endpoint only, with a 503 that names no value.

Two async endpoints on moto: demo-async (its token and inject key stored) and a second one, "broken",
whose token and key were never stored in SSM (the operator forgot `make secrets-check`).
"""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest

from audiocodes_devtools.events import http_event
from tests.conftest import ROOT
from tests.integration.conftest import ASYNC_TOKEN, CONVERSATION_ASYNC, FakeLambdaContext

KEY = "demo-async-inject-key"
BROKEN = """\
url_token: broken
flow: async_demo
async_mode: true
bot_token: ssm:/audiocodes-endpoint/broken/bot-token
inject_api_key: ssm:/audiocodes-endpoint/broken/inject-api-key
"""


@pytest.fixture
def apps(handlers: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from aws_lambda_powertools.utilities import parameters

    from audiocodes_endpoint.wiring import runtime

    agent = tmp_path / "agent"
    shutil.copytree(ROOT / "agent", agent, ignore=shutil.ignore_patterns("__pycache__"))
    (agent / "endpoints" / "broken.yaml").write_text(BROKEN)
    monkeypatch.setenv("AGENT_DIR", str(agent))
    boto3.client("ssm").put_parameter(
        Name="/audiocodes-endpoint/demo-async/inject-api-key", Value=KEY, Type="SecureString", Overwrite=True
    )
    parameters.clear_caches()
    runtime.cache_clear()
    return {**handlers, "inject": importlib.import_module("functions.inject_notify.app")}


def _http(app: Any, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else b""
    event = http_event(method, path, headers={"content-type": "application/json", **(headers or {})}, body=data)
    result = app.lambda_handler(event, FakeLambdaContext())
    return result["statusCode"], json.loads(result["body"]) if result.get("body") else None


def test_an_endpoint_without_its_bot_token_answers_503_and_the_others_keep_working(
    apps: dict[str, Any], log_output: Any
) -> None:
    # When VAIC calls the broken endpoint, with any token
    status, body = _http(apps["bot_api"], "GET", "/broken", headers={"authorization": "Bearer guess"})

    # Then it answers 503 endpoint_misconfigured, and the log names the reference, never a value
    assert (status, body["error"]) == (503, "endpoint_misconfigured")
    logged = [json.loads(line) for line in log_output.getvalue().splitlines() if line.startswith("{")]
    (entry,) = [line for line in logged if line["message"] == "endpoint secret unavailable"]
    assert entry["secret_reference"] == "ssm:/audiocodes-endpoint/broken/bot-token"
    assert entry["reason"] == "ParameterNotFound" and entry["level"] == "ERROR"
    assert "guess" not in log_output.getvalue() and ASYNC_TOKEN not in log_output.getvalue()

    # And demo-async, whose token is stored, answers as always
    status, _ = _http(apps["bot_api"], "GET", "/demo-async", headers={"authorization": f"Bearer {ASYNC_TOKEN}"})
    assert status == 200


def test_the_websocket_of_a_broken_endpoint_is_refused_with_503(apps: dict[str, Any]) -> None:
    event = {
        "requestContext": {"routeKey": "$connect", "connectionId": "c-1", "stage": "live"},
        "headers": {"Authorization": "Bearer guess"},
        "queryStringParameters": {"endpoint": "broken", "conversation": "x"},
    }
    result = apps["websocket"].lambda_handler(event, FakeLambdaContext())
    assert result["statusCode"] == 503 and json.loads(result["body"])["error"] == "endpoint_misconfigured"


@pytest.mark.parametrize("path", ["/v2.0/endpoint/inject", "/inject/broken"])
def test_inject_into_an_endpoint_without_its_key_answers_503(apps: dict[str, Any], path: str) -> None:
    body = {"URLToken": "broken", "sessionId": "x", "text": "hi"}
    status, answer = _http(apps["inject"], "POST", path, body, headers={"x-api-key": KEY})
    assert (status, answer["error"]) == (503, "endpoint_misconfigured")


def test_cognigy_inject_checks_only_the_named_endpoint_s_key(apps: dict[str, Any], call: Any) -> None:
    # Given a live async call on demo-async, while the broken endpoint's key is missing
    call("POST", "/demo-async", {"conversation": CONVERSATION_ASYNC}, token=ASYNC_TOKEN)
    body = {"URLToken": "demo-async", "sessionId": CONVERSATION_ASYNC, "text": "payment received"}

    # When an inject names demo-async with demo-async's key
    status, answer = _http(apps["inject"], "POST", "/v2.0/endpoint/inject", body, headers={"x-api-key": KEY})

    # Then it is accepted: the other endpoint's missing key was never read
    assert status == 202, answer
    # and demo-async's key does not open the broken endpoint (whose key cannot be read: 503, not 202)
    broken = {**body, "URLToken": "broken"}
    assert _http(apps["inject"], "POST", "/v2.0/endpoint/inject", broken, headers={"x-api-key": KEY})[0] == 503
    # and a wrong key for demo-async is 401
    assert _http(apps["inject"], "POST", "/v2.0/endpoint/inject", body, headers={"x-api-key": "no"})[0] == 401
