"""Replay every event in events/ through its handler (on moto) and compare with events/expected/.

The events form one call, replayed in call order. Generated ids and timestamps are normalised.
Run with UPDATE_EXPECTED=1 to rewrite the expected files after an intended change (and review the diff).
"""

from __future__ import annotations

import importlib
import json
import os
import re
from typing import Any

import boto3
import pytest

from tests.conftest import ROOT
from tests.integration.conftest import FakeLambdaContext

EVENTS = ROOT / "events"
EXPECTED = EVENTS / "expected"
# A call in the order VAIC makes it; every file in events/ must be listed (checked below).
CALL_ORDER = [
    "validate_get",
    "unauthorized_create",
    "create_conversation",
    "activities_start",
    "activities_dtmf",
    "activities_message",
    "refresh",
    "disconnect",
]
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<id>" if k == "id" and UUID.match(str(v)) else normalise(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str) and TIMESTAMP.match(value):
        return "<timestamp>"
    return value


@pytest.fixture
def handler(sessions_table: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    from aws_lambda_powertools.utilities import parameters

    from audiocodes_endpoint.runtime import runtime

    monkeypatch.setenv("SESSIONS_TABLE", sessions_table)
    monkeypatch.setenv("AGENT_DIR", str(ROOT / "agent"))
    boto3.client("ssm").put_parameter(
        Name="/audiocodes-endpoint/demo/bot-token", Value="local-demo-token", Type="SecureString", Overwrite=True
    )
    parameters.clear_caches()
    runtime.cache_clear()
    yield importlib.import_module("functions.bot_api.app").lambda_handler
    runtime.cache_clear()


def test_every_event_is_part_of_the_replayed_call():
    assert sorted(p.stem for p in EVENTS.glob("*.json")) == sorted(CALL_ORDER)


def test_replaying_events_gives_the_expected_responses(handler):
    for name in CALL_ORDER:
        event = json.loads((EVENTS / f"{name}.json").read_text())
        result = handler(event, FakeLambdaContext())
        actual = {"statusCode": result["statusCode"], "body": normalise(json.loads(result["body"]))}
        expected_file = EXPECTED / f"{name}.json"
        if os.environ.get("UPDATE_EXPECTED") == "1":
            EXPECTED.mkdir(exist_ok=True)
            expected_file.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n")
        assert actual == json.loads(expected_file.read_text()), name
