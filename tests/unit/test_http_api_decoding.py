"""``http_api.decoded_event`` on a resolver of its own: the decode layer follows each route's declaration,
so a route added later (a JSON route, a form route such as an OAuth2 token endpoint) passes through it."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body, Form

from audiocodes_devtools.events import http_event
from audiocodes_endpoint.channel import http_api

app = APIGatewayHttpResolver(enable_validation=True)
http_api.install_error_handlers(app)


@app.post("/json")
def json_route(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return {"got": body}


@app.post("/token")
@http_api.form_body
def token_route(
    grant_type: Annotated[str, Form()], client_id: Annotated[str, Form()]
) -> dict[str, Any]:  # an OAuth2 client-credentials request (RFC 6749 4.4.2)
    return {"grant_type": grant_type, "client_id": client_id}


@app.post("/ping")
@http_api.ignores_body
def ping() -> dict[str, Any]:
    return {"pong": True}


@app.get("/probe")
def probe() -> dict[str, Any]:
    return {"ok": True}


class Context:
    function_name = "test"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:eu-central-1:123456789012:function:test"
    aws_request_id = "r"


def send(method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    event = http_event(method, path, body=body)
    event["headers"] = headers
    event, refused = http_api.decoded_event(app, event)
    result = refused if refused is not None else app.resolve(event, Context())
    return result["statusCode"], json.loads(result["body"])


def test_a_json_route_takes_json_in_any_case_and_compression() -> None:
    body = gzip.compress(b'{"a": "\\u00e9"}')
    headers = {"Content-Type": "Application/JSON; charset=UTF-8", "Content-Encoding": "GZIP"}
    assert send("POST", "/json", body, headers) == (200, {"got": {"a": "\u00e9"}})


def test_a_json_route_refuses_a_form_in_our_shape() -> None:
    status, answer = send("POST", "/json", b"a=1", {"content-type": "application/x-www-form-urlencoded"})
    assert status == 415 and answer["error"] == "unsupported_media_type"


def test_a_form_route_takes_a_form_and_refuses_json() -> None:
    form = b"grant_type=client_credentials&client_id=caf%C3%A9"
    headers = {"CONTENT-TYPE": "application/x-www-form-urlencoded"}
    assert send("POST", "/token", form, headers) == (200, {"grant_type": "client_credentials", "client_id": "café"})
    status, answer = send("POST", "/token", b'{"grant_type": "x"}', {"content-type": "application/json"})
    assert status == 415 and answer["error"] == "unsupported_media_type"
    status, answer = send("POST", "/token", b"grant_type=\xff", headers)
    assert status == 400 and "UTF-8" in answer["message"]


def test_routes_that_read_no_body_take_any_body() -> None:
    garbage = base64.b64decode("//79")
    assert send("POST", "/ping", garbage, {"content-type": "text/plain"}) == (200, {"pong": True})
    assert send("GET", "/probe", garbage, {"content-type": "text/plain"}) == (200, {"ok": True})
    assert send("POST", "/nowhere", garbage, {"content-type": "text/plain"})[0] == 404
