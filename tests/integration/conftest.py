"""The bot_api handler on moto, with the demo agent and its bot token in (moto's) SSM."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from audiocodes_endpoint.local.events import http_event
from tests.conftest import ROOT

TOKEN = "integration-token"
CONVERSATION = "f010e998-4499-4ddb-80d4-fea137fd7b4d"


class FakeLambdaContext:
    function_name = "BotApiFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:BotApiFunction"
    aws_request_id = "req-1"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


Call = Callable[..., tuple[int, Any]]


@pytest.fixture
def bot_api(sessions_table: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The handler module with a fresh runtime bound to this test's moto state."""
    from aws_lambda_powertools.utilities import parameters

    from audiocodes_endpoint.runtime import runtime

    monkeypatch.setenv("SESSIONS_TABLE", sessions_table)
    monkeypatch.setenv("AGENT_DIR", str(ROOT / "agent"))
    boto3.client("ssm").put_parameter(
        Name="/audiocodes-endpoint/demo/bot-token", Value=TOKEN, Type="SecureString", Overwrite=True
    )
    parameters.clear_caches()
    runtime.cache_clear()
    module = importlib.import_module("functions.bot_api.app")
    yield module
    runtime.cache_clear()
    parameters.clear_caches()


@pytest.fixture
def call(bot_api: Any) -> Call:
    """``call(method, path, body=None, token=TOKEN, stage="$default") -> (status, json)``."""

    def send(
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = TOKEN,
        raw_body: bytes | None = None,
        stage: str = "$default",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        all_headers = {"content-type": "application/json", **(headers or {})}
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else b"")
        event = http_event(method, path, headers=all_headers, body=data, stage=stage)
        result = bot_api.lambda_handler(event, FakeLambdaContext())
        return result["statusCode"], json.loads(result["body"]) if result.get("body") else None

    return send


def activity(kind: str = "message", **fields: Any) -> dict[str, Any]:
    import uuid

    return {"id": str(uuid.uuid4()), "timestamp": "2024-12-04T15:07:55.145Z", "type": kind, **fields}


def start_event(caller: str = "+4921154591991") -> dict[str, Any]:
    return activity(
        "event",
        name="start",
        language="en-US",
        parameters={
            "callee": "+493040739365",
            "calleeHost": "20.113.51.15",
            "caller": caller,
            "callerHost": "sip.telnyx.eu",
            "callerDisplayName": "Jane Doe",
            "vaigConversationId": CONVERSATION,
            "X-Customer-Tier": "gold",
        },
    )
