"""Outbound calls: place one through VAIC's dial-out API, read its status history, take VAIC's callbacks.

``POST /outbound/{URLToken}/calls`` and ``GET /outbound/{URLToken}/calls/{callId}`` need the endpoint's
``dialout.api_key`` (``X-API-Key``), checked before the body is parsed. VAIC posts each status to the
call's ``notifyUrl``, ``/outbound/{URLToken}/calls/{callId}/status?token=<token>``: the token, made for
that call only and stored hashed, is its authentication (in the query: access logs record the path only).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from audiocodes_endpoint.channel import http_api
from audiocodes_endpoint.config.endpoint import EndpointSettings
from audiocodes_endpoint.config.secrets import SecretUnavailable, resolve_secret
from audiocodes_endpoint.core.idempotency import KeyInProgress, KeyReused
from audiocodes_endpoint.features.outbound.calls import DialRequest, Outbound, OutboundRefused, StatusCallback
from audiocodes_endpoint.features.outbound.destinations import DestinationRefused
from audiocodes_endpoint.observability import (
    bind_conversation,
    count,
    logger,
    mask_logs,
    metrics,
    per_invocation,
    traced,
)
from audiocodes_endpoint.wiring import prepare, runtime

prepare(secrets=lambda endpoint: [endpoint.dialout.api_key] if endpoint.dialout else [])

app = APIGatewayHttpResolver(enable_validation=True)
http_api.install_error_handlers(app)


@cache
def outbound() -> Outbound:
    return runtime().outbound


@app.post("/outbound/<url_token>/calls", status_code=202)
def place(url_token: str, request: Annotated[DialRequest, Body()]) -> dict[str, Any]:
    endpoint: EndpointSettings = app.context["endpoint"]
    key = app.current_event.headers.get("idempotency-key")
    if key:
        return _place_once(endpoint, request, key)
    return _place(endpoint, request)


@app.get("/outbound/<url_token>/calls/<call_id>")
def history(url_token: str, call_id: str) -> dict[str, Any]:
    return outbound().history(app.context["endpoint"], call_id)


@app.post("/outbound/<url_token>/calls/<call_id>/status")
def callback(url_token: str, call_id: str, body: Annotated[StatusCallback, Body()]) -> dict[str, Any]:
    token = app.current_event.get_query_string_value("token") or ""
    outbound().callback(app.context["endpoint"], call_id, token, body)
    count("OutboundStatuses")
    return {"status": "recorded"}


def _place(endpoint: EndpointSettings, request: DialRequest) -> dict[str, Any]:
    return _placed(endpoint, request, _callback_base())


def _callback_base() -> str:
    """The host VAIC reaches us on (API Gateway's domain or a custom one), as this request came in."""
    headers = app.current_event.headers
    return f"{headers.get('x-forwarded-proto', 'http')}://{app.current_event.request_context.domain_name}"


def _placed(endpoint: EndpointSettings, request: DialRequest, base: str) -> dict[str, Any]:
    placed = outbound().place(endpoint, request, base)
    count("OutboundCalls")
    logger.info("outbound call initiated", extra={"call_id": placed["id"]})
    return placed


def _place_once(endpoint: EndpointSettings, request: DialRequest, key: str) -> dict[str, Any]:
    """A repeated Idempotency-Key gets the first answer, never a second call."""
    call = {
        "key": f"{endpoint.url_token}/dial/{key}",
        "request": request.model_dump(mode="json"),
        "url_token": endpoint.url_token,
        "base": _callback_base(),
    }
    try:
        return runtime().idempotent(_place_call)(call, app.lambda_context)
    except KeyReused:
        raise OutboundRefused(409, "idempotency_key_reused", "Idempotency-Key was used with another body") from None
    except KeyInProgress:
        raise OutboundRefused(409, "in_progress", "a request with this Idempotency-Key is in progress") from None


def _place_call(call: dict[str, Any]) -> dict[str, Any]:
    endpoint = runtime().endpoint(call["url_token"])
    assert endpoint is not None  # checked before: the key matched this endpoint
    return _placed(endpoint, DialRequest.model_validate(call["request"]), call["base"])


@app.exception_handler(OutboundRefused)
def _refused(exc: OutboundRefused) -> Response[Any]:
    return _json(exc.status, {"error": exc.code, "message": exc.message, **exc.extra})


@app.exception_handler(DestinationRefused)
def _destination(exc: DestinationRefused) -> Response[Any]:
    return _json(400 if exc.code == "invalid_target" else 403, {"error": exc.code, "message": exc.message})


@app.exception_handler(SecretUnavailable)
def _secret(exc: SecretUnavailable) -> Response[Any]:
    result = http_api.endpoint_misconfigured(app.context["endpoint"].url_token, exc.reference, exc.reason)
    return Response(status_code=503, content_type=content_types.APPLICATION_JSON, body=result["body"])


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


@per_invocation
@traced
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # /outbound/<url_token>/calls[/<id>[/status/<token>]]: the endpoint first, then who may use it.
    segments = http_api.route_path(event).strip("/").split("/")
    endpoint = runtime().endpoint(segments[1]) if len(segments) >= 3 and segments[0] == "outbound" else None
    if endpoint is None or endpoint.dialout is None:
        return http_api.error(404, "unknown_endpoint", "no endpoint with outbound calls under this URL token")
    bind_conversation(endpoint.url_token, None)
    if "status" not in segments[4:5]:  # VAIC's callbacks carry their per-call token instead of the key
        headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
        try:
            expected = resolve_secret(endpoint.dialout.api_key)
        except SecretUnavailable as problem:
            return http_api.endpoint_misconfigured(endpoint.url_token, problem.reference, problem.reason)
        if not http_api.token_matches(headers.get("x-api-key"), expected):
            return http_api.error(401, "unauthorized", "missing or wrong API key (X-API-Key)")
    mask_logs(endpoint.data_protection.mask_logging)
    event, refused = http_api.decoded_event(app, event)  # after auth: 400/413/415 in our shape
    if refused is not None:
        return refused
    app.append_context(endpoint=endpoint)
    return app.resolve(event, context)
