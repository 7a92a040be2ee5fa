"""events/*.json: API Gateway HTTP API (payload v2.0) events for `sam local invoke -e` and replay tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from audiocodes_endpoint.local.template import Template

from .conftest import REPO_ROOT, route_matches

EVENTS = sorted((REPO_ROOT / "events").glob("*.json"))
CONVERSATION = "f010e998-4499-4ddb-80d4-fea137fd7b4d"


def _load(path: Path) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


def _activities(name: str) -> list[dict[str, Any]]:
    body = json.loads(_load(REPO_ROOT / "events" / name)["body"])
    activities: list[dict[str, Any]] = body["activities"]
    return activities


def test_there_is_an_event_for_every_bot_api_call() -> None:
    # Given the events directory
    # Then every VAIC call of a conversation has a sample, plus the wrong-token case
    assert {path.stem for path in EVENTS} >= {
        "validate_get",
        "create_conversation",
        "activities_start",
        "activities_message",
        "activities_dtmf",
        "refresh",
        "disconnect",
        "unauthorized_create",
    }


@pytest.mark.parametrize("path", EVENTS, ids=lambda path: path.stem)
def test_event_is_a_consistent_http_api_v2_event(path: Path, template: Template) -> None:
    # Given one sample event
    event = _load(path)

    # When Powertools parses it as API Gateway delivers it
    parsed = APIGatewayProxyEventV2Model.model_validate(event)

    # Then it is a v2.0 event on the $default stage, self-consistent and routed to the Bot API
    assert parsed.version == "2.0"
    assert parsed.requestContext.stage == "$default"
    assert event["rawPath"] == event["requestContext"]["http"]["path"]
    assert event["rawQueryString"] == ""
    assert event["isBase64Encoded"] is False
    assert all(name == name.lower() for name in event["headers"]), "API GW v2 lower-cases header names"
    method = event["requestContext"]["http"]["method"]
    routes = [route for route in template.http_routes() if route_matches(route, method, event["rawPath"])]
    assert [route.function_logical_id for route in routes] == ["BotApiFunction"]
    if method == "POST":
        body = json.loads(event["body"])  # the body is a JSON string, not an object
        assert body["conversation"] == CONVERSATION
        assert event["headers"]["content-type"] == "application/json"
        assert event["headers"]["content-length"] == str(len(event["body"].encode()))


def test_only_the_unauthorized_event_carries_a_wrong_token() -> None:
    # Given the bearer tokens of all events
    tokens = {path.stem: _load(path)["headers"]["authorization"] for path in EVENTS}

    # Then every event but the wrong-token sample uses the local demo token
    assert tokens.pop("unauthorized_create") != "Bearer local-demo-token"
    assert set(tokens.values()) == {"Bearer local-demo-token"}


def test_activity_events_carry_the_documented_activities() -> None:
    # Given the three activity samples
    (start,) = _activities("activities_start.json")
    (message,) = _activities("activities_message.json")
    (dtmf,) = _activities("activities_dtmf.json")

    # Then they have the shapes VAIC sends: start event, recognised speech, DTMF digits
    assert (start["type"], start["name"], start["language"]) == ("event", "start", "en-US")
    assert start["parameters"]["vaigConversationId"] == CONVERSATION
    assert start["parameters"]["caller"] == "+4921154591991"
    assert (message["type"], message["text"]) == ("message", "I want to talk to an agent")
    assert message["parameters"]["confidence"] == 0.87
    assert (dtmf["type"], dtmf["name"], dtmf["value"]) == ("event", "DTMF", "1")
    assert len({start["id"], message["id"], dtmf["id"]}) == 3
