"""events/<function>/*.json: a sample event per function of the template, for `sam local invoke <Id> -e`.

`bot_api` and `inject_notify` hold API Gateway HTTP API (payload v2.0) events, `websocket` API Gateway
WebSocket events, `dispatcher` an SQS FIFO event from the turn queue. tests/replay replays them all.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventV2Model,
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    SqsModel,
)

from audiocodes_devtools.template import HttpRoute, Template
from audiocodes_endpoint.channel.audiocodes import InboundActivity
from audiocodes_endpoint.core.work import Work

from .conftest import REPO_ROOT, route_matches

EVENTS_DIR = REPO_ROOT / "events"
FOLDERS = sorted(path for path in EVENTS_DIR.iterdir() if path.is_dir() and path.name != "expected")
EVENTS = sorted(path for folder in FOLDERS for path in folder.glob("*.json"))
HTTP_EVENTS = [path for path in EVENTS if path.parent.name in ("bot_api", "inject_notify", "outbound")]
WEBSOCKET_EVENTS = sorted((EVENTS_DIR / "websocket").glob("*.json"))
CONVERSATION = "f010e998-4499-4ddb-80d4-fea137fd7b4d"  # the sync call on endpoint demo
ASYNC_CONVERSATION = "0c1d2e3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5"  # the async call on endpoint demo-async
REGION = "eu-central-1"


def _load(path: Path) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return event


def _activities(name: str) -> list[dict[str, Any]]:
    body = json.loads(_load(EVENTS_DIR / "bot_api" / name)["body"])
    activities: list[dict[str, Any]] = body["activities"]
    return activities


def _function_of(folder: str, template: Template) -> str:
    """events/bot_api holds BotApiFunction's events, events/websocket WebSocketFunction's, ...

    The folder name in CamelCase plus "Function", compared without case ("websocket" is "WebSocket").
    """
    camel = "".join(part.capitalize() for part in folder.split("_")) + "Function"
    functions = {logical_id.lower(): logical_id for logical_id in template.resources("AWS::Serverless::Function")}
    return functions.get(camel.lower(), camel)


def _selected_route(routes: list[HttpRoute], method: str, path: str) -> HttpRoute:
    """The route API Gateway picks: the most specific match; a greedy {proxy+} only when nothing else fits."""
    matches = [route for route in routes if route_matches(route, method, path)]
    assert matches, (method, path)

    def specificity(route: HttpRoute) -> tuple[bool, int, bool]:
        literals = [segment for segment in route.path.split("/") if segment and not segment.startswith("{")]
        return "+}" not in route.path, len(literals), route.method != "ANY"

    return max(matches, key=specificity)


def _path_parameters(route: HttpRoute, path: str) -> dict[str, str] | None:
    """What API Gateway puts in pathParameters for this route and path (None when the route has none)."""
    names = re.findall(r"\{([^/}+]+)\+?\}", route.path)
    if not names:
        return None
    pattern = re.escape(route.path)
    for name in names:
        pattern = pattern.replace(re.escape(f"{{{name}+}}"), f"(?P<{name}>.+)")
        pattern = pattern.replace(re.escape(f"{{{name}}}"), f"(?P<{name}>[^/]+)")
    match = re.fullmatch(pattern, path)
    assert match is not None, (route, path)
    return match.groupdict()


# --- every function has its events --------------------------------------------------------------


def test_every_event_folder_names_a_function_and_every_function_has_events(template: Template) -> None:
    # Given the folders under events/ (expected/ holds the replay's answers) and the template's functions
    functions = template.resources("AWS::Serverless::Function")

    # Then each folder is one function's (events/bot_api -> BotApiFunction, whose code is functions/bot_api/),
    # and no function lacks a sample
    assert sorted(_function_of(folder.name, template) for folder in FOLDERS) == sorted(functions)
    for folder in FOLDERS:
        assert functions[_function_of(folder.name, template)]["Properties"]["CodeUri"] == f"functions/{folder.name}/"
        assert list(folder.glob("*.json")), folder.name
    assert not list(EVENTS_DIR.glob("*.json")), "events live in events/<function>/"


def test_there_is_an_event_for_every_bot_api_call() -> None:
    # Given the Bot API's events
    names = {path.stem for path in (EVENTS_DIR / "bot_api").glob("*.json")}

    # Then every VAIC call of a conversation has a sample, plus the wrong-token case and an async call
    assert names >= {
        "validate_get",
        "create_conversation",
        "activities_start",
        "activities_message",
        "activities_dtmf",
        "refresh",
        "disconnect",
        "unauthorized_create",
        "create_conversation_async",
        "activities_start_async",
    }


# --- HTTP API: Bot API, Inject & Notify ---------------------------------------------------------


@pytest.mark.parametrize("path", HTTP_EVENTS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_event_is_a_consistent_http_api_v2_event(path: Path, template: Template) -> None:
    # Given one sample event
    event = _load(path)

    # When Powertools parses it as API Gateway delivers it
    parsed = APIGatewayProxyEventV2Model.model_validate(event)

    # Then it is a v2.0 event on the $default stage, self-consistent and routed to its folder's function
    assert parsed.version == "2.0"
    assert parsed.requestContext.stage == "$default"
    assert event["rawPath"] == event["requestContext"]["http"]["path"]
    # a query (an outbound status callback's token) is parsed into queryStringParameters, as API Gateway does
    assert dict(parse_qsl(event["rawQueryString"])) == (event.get("queryStringParameters") or {})
    assert event["isBase64Encoded"] is False
    assert all(name == name.lower() for name in event["headers"]), "API GW v2 lower-cases header names"
    assert event["requestContext"]["domainName"] == event["headers"]["host"]
    assert event["requestContext"]["http"]["sourceIp"] == event["headers"]["x-forwarded-for"]
    method = event["requestContext"]["http"]["method"]
    route = _selected_route(template.http_routes(), method, event["rawPath"])
    assert route.function_logical_id == _function_of(path.parent.name, template)
    assert event["routeKey"] == event["requestContext"]["routeKey"] == f"{route.method} {route.path}"
    assert event.get("pathParameters") == _path_parameters(route, event["rawPath"])
    if method == "POST":
        body = json.loads(event["body"])  # the body is a JSON string, not an object
        assert event["headers"]["content-type"] == "application/json"
        assert event["headers"]["content-length"] == str(len(event["body"].encode()))
        if path.parent.name == "bot_api":
            assert body["conversation"] == (ASYNC_CONVERSATION if path.stem.endswith("_async") else CONVERSATION)


def test_bot_api_events_carry_their_endpoint_s_token() -> None:
    # Given the bearer tokens of the Bot API events
    tokens = {path.stem: _load(path)["headers"]["authorization"] for path in EVENTS if path.parent.name == "bot_api"}

    # Then the wrong-token sample aside, sync calls use demo's local token and async calls demo-async's
    assert tokens.pop("unauthorized_create") != "Bearer local-demo-token"
    for name, token in tokens.items():
        assert token == ("Bearer local-demo-async-token" if name.endswith("_async") else "Bearer local-demo-token")
    for path in EVENTS:
        if path.parent.name == "bot_api":
            endpoint = _load(path)["rawPath"].split("/")[1]
            assert endpoint == ("demo-async" if path.stem.endswith("_async") else "demo"), path.stem


def test_activity_events_carry_the_documented_activities() -> None:
    # Given the activity samples
    (start,) = _activities("activities_start.json")
    (message,) = _activities("activities_message.json")
    (dtmf,) = _activities("activities_dtmf.json")
    (start_async,) = _activities("activities_start_async.json")

    # Then they have the shapes VAIC sends: start event, recognised speech, DTMF digits
    assert (start["type"], start["name"], start["language"]) == ("event", "start", "en-US")
    assert start["parameters"]["vaigConversationId"] == CONVERSATION
    assert start["parameters"]["caller"] == "+4921154591991"
    assert (message["type"], message["text"]) == ("message", "I want to talk to an agent")
    assert message["parameters"]["confidence"] == 0.87
    assert (dtmf["type"], dtmf["name"], dtmf["value"]) == ("event", "DTMF", "1")
    assert (start_async["type"], start_async["name"]) == ("event", "start")
    assert start_async["parameters"]["vaigConversationId"] == ASYNC_CONVERSATION
    assert len({start["id"], message["id"], dtmf["id"], start_async["id"]}) == 4


def test_inject_and_notify_events_speak_into_the_async_call() -> None:
    # Given the Inject & Notify samples
    events = {path.stem: _load(path) for path in (EVENTS_DIR / "inject_notify").glob("*.json")}
    bodies = {name: json.loads(event["body"]) for name, event in events.items()}

    # Then all carry demo-async's key; Cognigy's bodies name the call, the webhook carries it in metadata
    assert set(events) == {"inject", "notify", "inject_raw"}
    assert {event["headers"]["x-api-key"] for event in events.values()} == {"local-demo-async-inject-key"}
    for name in ("inject", "notify"):
        assert bodies[name]["URLToken"] == "demo-async" and bodies[name]["sessionId"] == ASYNC_CONVERSATION
        assert bodies[name]["text"] and "data" not in bodies[name]
    assert events["inject_raw"]["rawPath"] == "/inject/demo-async"
    assert bodies["inject_raw"]["event"] == "payment.succeeded"
    assert bodies["inject_raw"]["metadata"] == {"conversation": ASYNC_CONVERSATION}


# --- WebSocket API ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WEBSOCKET_EVENTS, ids=lambda path: path.stem)
def test_websocket_event_is_a_consistent_api_gateway_websocket_event(path: Path, template: Template) -> None:
    # Given one WebSocket sample
    event = _load(path)
    context = event["requestContext"]
    model = {"$connect": APIGatewayWebSocketConnectEventModel, "$disconnect": APIGatewayWebSocketDisconnectEventModel}

    # When Powertools parses it as the model of its route
    parsed = model[context["routeKey"]].model_validate(event)

    # Then its route reaches the WebSocket function, on the template's stage, at the API's own domain
    routes = {route.route_key: route.function_logical_id for route in template.websocket_routes()}
    assert routes[context["routeKey"]] == _function_of(path.parent.name, template)
    assert path.stem == context["routeKey"].removeprefix("$")
    stage = template.resources("AWS::ApiGatewayV2::Stage")["WebSocketStage"]["Properties"]["StageName"]
    assert parsed.request_context.stage == stage
    assert context["domainName"] == f"{context['apiId']}.execute-api.{REGION}.amazonaws.com"
    assert event["headers"]["Host"] == context["domainName"]
    assert event["isBase64Encoded"] is False
    assert event["multiValueHeaders"] == {name: [value] for name, value in event["headers"].items()}


def test_websocket_events_are_one_connection_of_the_async_call() -> None:
    # Given $connect and $disconnect
    connect, disconnect = _load(EVENTS_DIR / "websocket/connect.json"), _load(EVENTS_DIR / "websocket/disconnect.json")
    opened, closed = connect["requestContext"], disconnect["requestContext"]

    # Then they are the same connection, and $connect names the async call with demo-async's bearer token
    for field in ("connectionId", "apiId", "domainName", "stage", "connectedAt"):
        assert opened[field] == closed[field], field
    assert (opened["eventType"], closed["eventType"]) == ("CONNECT", "DISCONNECT")
    assert closed["requestTimeEpoch"] > opened["requestTimeEpoch"] >= opened["connectedAt"] - 1000
    assert connect["headers"]["Authorization"] == "Bearer local-demo-async-token"
    assert connect["queryStringParameters"] == {"endpoint": "demo-async", "conversation": ASYNC_CONVERSATION}
    assert connect["multiValueQueryStringParameters"] == {k: [v] for k, v in connect["queryStringParameters"].items()}


# --- SQS: the dispatcher --------------------------------------------------------------------------


def test_dispatcher_event_is_a_turn_queue_batch_of_valid_work(template: Template) -> None:
    # Given the SQS sample and the dispatcher's event source in the template
    event = _load(EVENTS_DIR / "dispatcher/turns.json")
    (source,) = [s for s in template.sqs_event_sources() if s.function_logical_id == "DispatcherFunction"]
    queue = {q.logical_id: q for q in template.sqs_queues()}[source.queue_logical_id]

    # When Powertools parses it
    parsed = SqsModel.model_validate(event)

    # Then it is a batch from the FIFO turn queue, each body the Work the Bot API queues
    assert queue.fifo and 1 <= len(parsed.Records) <= source.batch_size
    for raw, record in zip(event["Records"], parsed.Records, strict=True):
        assert record.eventSource == "aws:sqs" and record.awsRegion == REGION
        assert record.eventSourceARN.startswith(f"arn:aws:sqs:{REGION}:")
        assert record.eventSourceARN.endswith(".fifo") and f"-{queue.logical_id}-" in record.eventSourceARN
        assert record.md5OfBody == hashlib.md5(raw["body"].encode()).hexdigest()  # SQS's checksum
        assert record.attributes.MessageGroupId and record.attributes.MessageDeduplicationId
        assert record.attributes.SequenceNumber and record.messageAttributes == {}
        work = Work.model_validate_json(raw["body"])
        assert work.model_dump_json() == raw["body"]  # the exact serialisation TurnQueue.put sends
        assert (work.kind, work.endpoint, work.conversation) == ("activity", "demo-async", ASYNC_CONVERSATION)
        InboundActivity.model_validate(work.payload["activity"])


def test_dispatcher_event_carries_the_async_call_s_start_activity() -> None:
    # Given the queued work and the activities request the Bot API answered with 200 {}
    (record,) = _load(EVENTS_DIR / "dispatcher/turns.json")["Records"]
    work = Work.model_validate_json(record["body"])
    request = _load(EVENTS_DIR / "bot_api/activities_start_async.json")
    (start,) = _activities("activities_start_async.json")

    # Then the payload is that activity as the Bot API dumps it, with the caller's source IP
    assert work.payload == {
        "activity": InboundActivity.model_validate(start).model_dump(mode="json"),
        "source_ip": request["requestContext"]["http"]["sourceIp"],
    }
