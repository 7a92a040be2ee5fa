"""API Gateway events as Lambda receives them, for the emulator, tests and the benchmark.

HTTP API, payload format 2.0 ("Working with AWS Lambda proxy integrations for HTTP APIs",
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
header names lower case, repeated headers joined with commas, ``Cookie`` moved into ``cookies``,
repeated query parameters joined with commas in ``queryStringParameters`` (absent when there are
none), ``pathParameters`` of the matched route, and a binary body base64-encoded with
``isBase64Encoded: true``. WebSocket API events
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html)
keep header case and add the ``multiValue*`` maps.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

# Media types whose bodies HTTP APIs pass as text; anything else (or bytes that are not UTF-8) is base64.
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-www-form-urlencoded", "+json", "+xml")  # fmt: skip

Headers = Iterable[tuple[str, str]]


def _joined(pairs: Iterable[tuple[str, str]], *, lower: bool) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower() if lower else name
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _is_text(body: bytes, content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type and not any(media_type.startswith(t) or media_type.endswith(t) for t in _TEXT_TYPES):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def http_event(
    method: str,
    raw_path: str,
    *,
    query: str = "",
    headers: Headers | dict[str, str] | None = None,
    body: bytes = b"",
    source_ip: str = "127.0.0.1",
    stage: str = "$default",
    route_key: str = "$default",
    path_parameters: dict[str, str] | None = None,
    api_id: str = "local",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2.0) event, as Lambda receives it.

    ``headers`` may repeat a name (pairs as they came off the wire). With a named ``stage`` the
    path carries it as a prefix (``/Prod/demo``), as API Gateway sends it.
    """
    pairs = list(headers.items() if isinstance(headers, dict) else headers or [])
    cookies = [c.strip() for name, value in pairs if name.lower() == "cookie" for c in value.split(";") if c.strip()]
    joined = _joined(((n, v) for n, v in pairs if n.lower() != "cookie"), lower=True)
    domain = joined.get("host", "127.0.0.1")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined
    parameters = parse_qsl(query, keep_blank_values=True)
    if parameters:
        event["queryStringParameters"] = _joined(parameters, lower=False)
    event["requestContext"] = {
        "accountId": "123456789012",
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": _request_id(),
        "routeKey": route_key,
        "stage": stage,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
        "timeEpoch": int(time.time() * 1000),
    }
    if path_parameters:
        event["pathParameters"] = path_parameters
    text = _is_text(body, joined.get("content-type"))
    event["isBase64Encoded"] = bool(body) and not text
    if body:
        event["body"] = body.decode("utf-8") if text else base64.b64encode(body).decode()
    return event


def websocket_event(
    route_key: str,
    event_type: str,
    connection_id: str,
    *,
    stage: str,
    domain: str,
    connected_at: int,
    headers: Headers | None = None,
    query: str = "",
    source_ip: str = "127.0.0.1",
    body: str | None = None,
    close: tuple[int, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway WebSocket API event (``$connect`` carries headers and query, messages a body,
    ``$disconnect`` the close code and reason and API Gateway's few headers)."""
    now = int(time.time() * 1000)
    request_id = _request_id()
    pairs = list(headers or [])
    user_agent = next((v for n, v in pairs if n.lower() == "user-agent"), "")
    event: dict[str, Any] = {}
    if route_key == "$connect":
        event["headers"] = _joined(pairs, lower=False)
        event["multiValueHeaders"] = _multi(pairs)
        parameters = parse_qsl(query, keep_blank_values=True)
        if parameters:
            event["queryStringParameters"] = dict(parameters)
            event["multiValueQueryStringParameters"] = _multi(parameters)
    elif route_key == "$disconnect":
        pairs = [("Host", domain), ("x-api-key", ""), ("X-Forwarded-For", ""), ("x-restapi", "")]
        event["headers"] = dict(pairs)
        event["multiValueHeaders"] = _multi(pairs)
    event["requestContext"] = {
        "routeKey": route_key,
        **({"disconnectStatusCode": close[0]} if close is not None else {}),
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at,
        "requestTimeEpoch": now,
        "identity": {"userAgent": user_agent, "sourceIp": source_ip},
        "requestId": request_id,
        "domainName": domain,
        "connectionId": connection_id,
        "apiId": "local",
        **({"disconnectReason": close[1]} if close is not None else {}),
    }
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = False
    return event


def _multi(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return multi


def _request_id() -> str:
    # API Gateway's ids look like "C9aYpjS5FiAEJgD="; any unique string does locally.
    return base64.b64encode(uuid.uuid4().bytes[:10]).decode()
