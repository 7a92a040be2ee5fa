"""OAuth 2.0 bot authentication through the real handlers on moto: every route that takes VAIC's bearer.

The ``demo-oauth`` endpoint (agent/endpoints/demo_oauth.yaml) trusts a local issuer started here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from audiocodes_devtools.oauth_issuer import LocalIssuer
from tests.integration.conftest import ASYNC_TOKEN, FakeLambdaContext, start_event

CONVERSATION = "c-oauth"
BASE = f"/demo-oauth/conversation/{CONVERSATION}"


@pytest.fixture
def issuer(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalIssuer]:
    from audiocodes_endpoint.config.endpoint import endpoints_for
    from audiocodes_endpoint.wiring import runtime

    running = LocalIssuer().start()
    monkeypatch.setenv("LOCAL_OAUTH_ISSUER", running.url)
    endpoints_for.cache_clear()  # the issuer URL is expanded when the endpoint files load
    runtime.cache_clear()
    yield running
    running.stop()
    endpoints_for.cache_clear()
    runtime.cache_clear()


@pytest.fixture
def oauth_call(issuer, handlers, call):
    def send(method: str, path: str, body: Any = None, *, token: str | None) -> tuple[int, Any, dict]:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        from audiocodes_devtools.events import http_event

        data = json.dumps(body).encode() if body is not None else b""
        event = http_event(method, path, headers={"content-type": "application/json", **headers}, body=data)
        result = handlers["bot_api"].lambda_handler(event, FakeLambdaContext())
        return result["statusCode"], json.loads(result["body"]) if result.get("body") else None, result["headers"]

    return send


def connect(handlers, token: str | None, connection_id: str = "conn-oauth") -> dict[str, Any]:
    event = {
        "requestContext": {"routeKey": "$connect", "connectionId": connection_id, "stage": "live"},
        "headers": {"Authorization": f"Bearer {token}"} if token else {},
        "queryStringParameters": {"endpoint": "demo-oauth", "conversation": CONVERSATION},
    }
    return handlers["websocket"].lambda_handler(event, FakeLambdaContext())


UNAUTHORIZED = {"error": "unauthorized", "message": "missing or wrong bearer token"}


def test_a_valid_access_token_opens_every_route(issuer, oauth_call, handlers):
    token = issuer.token()
    # Validate, create, the WebSocket, activities, refresh, disconnect
    assert oauth_call("GET", "/demo-oauth", token=token)[:2] == (200, {"type": "ac-bot-api", "success": True})
    status, created, _ = oauth_call("POST", "/demo-oauth", {"conversation": CONVERSATION}, token=token)
    assert status == 200 and created["websocketURL"]
    assert connect(handlers, token)["statusCode"] == 200
    activities = {"conversation": CONVERSATION, "activities": [start_event()]}
    assert oauth_call("POST", f"{BASE}/activities", activities, token=token)[:2] == (200, {})
    assert oauth_call("POST", f"{BASE}/refresh", {"conversation": CONVERSATION}, token=token)[0] == 200
    assert oauth_call("POST", f"{BASE}/disconnect", {"conversation": CONVERSATION}, token=token)[:2] == (200, {})


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda issuer: None, id="no token"),
        pytest.param(lambda issuer: issuer.token(lifetime=-300), id="expired"),
        pytest.param(lambda issuer: issuer.token(aud="another-api"), id="wrong audience"),
        pytest.param(lambda issuer: issuer.token(iss="https://evil.example.com"), id="wrong issuer"),
        pytest.param(lambda issuer: issuer.token(scope="profile"), id="missing scope"),
        pytest.param(lambda issuer: LocalIssuer(url=issuer.url).token(), id="foreign key"),
        pytest.param(lambda issuer: ASYNC_TOKEN, id="another endpoint's permanent token"),
    ],
)
def test_a_refused_token_gets_the_same_401_on_http_and_on_the_websocket(issuer, oauth_call, handlers, make_token):
    token = make_token(issuer)
    # Given a live call (opened with a good token)
    oauth_call("POST", "/demo-oauth", {"conversation": CONVERSATION}, token=issuer.token())
    # When a request carries the refused token, with a body that is not even valid
    status, body, headers = oauth_call("POST", f"{BASE}/activities", {"activities": "nonsense"}, token=token)
    # Then 401 wins over the 400 the body deserves, in the permanent token's shape, with RFC 6750's hint
    assert (status, body) == (401, UNAUTHORIZED)
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert oauth_call("GET", "/demo-oauth", token=token)[:2] == (401, UNAUTHORIZED)
    answer = connect(handlers, token)
    assert (answer["statusCode"], json.loads(answer["body"])) == (401, UNAUTHORIZED)


def test_the_permanent_token_endpoints_are_unchanged(issuer, call):
    # The demo endpoint (auth: token) still takes its token and refuses an access token
    assert call("GET", "/demo")[0] == 200
    assert call("GET", "/demo", token=issuer.token())[0] == 401
