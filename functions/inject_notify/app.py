"""Inject & Notify: Cognigy's REST API (``/v2.0/endpoint/inject|notify``, and ``/new/v2.0/...`` where
Cognigy's own client ``@cognigy/rest-api-client`` posts) and raw webhook variants.

The API key (``X-API-Key`` header or ``api_key`` query parameter) is checked before the body is
parsed. Accepted work goes onto the call's FIFO group, so it is ordered with the caller's turns.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from audiocodes_endpoint.channel import http_api
from audiocodes_endpoint.channel.decoding import peek_string
from audiocodes_endpoint.config.endpoint import EndpointSettings
from audiocodes_endpoint.config.secrets import SecretUnavailable, resolve_secret
from audiocodes_endpoint.core.injection import InjectionRefused, InjectionRequest, Kind, from_webhook, submit
from audiocodes_endpoint.observability import logger, mask_logs, metrics, per_invocation, traced
from audiocodes_endpoint.wiring import prepare, runtime

# Lambda's init phase builds the agent, its compiled templates, every endpoint's services and the
# AWS clients, so the first request of a fresh environment does not (wiring.prepare).
prepare(secrets=lambda endpoint: [endpoint.inject_api_key])

app = APIGatewayHttpResolver(enable_validation=True)
http_api.install_error_handlers(app)


@app.post("/v2.0/endpoint/inject", status_code=202)
@app.post("/new/v2.0/endpoint/inject", status_code=202)
def inject(request: Annotated[InjectionRequest, Body()]) -> dict[str, Any]:
    return _accept("inject", _authorised(request.URLToken), request)


@app.post("/v2.0/endpoint/notify", status_code=202)
@app.post("/new/v2.0/endpoint/notify", status_code=202)
def notify(request: Annotated[InjectionRequest, Body()]) -> dict[str, Any]:
    return _accept("notify", _authorised(request.URLToken), request)


@app.post("/inject/<url_token>")
def inject_raw(url_token: str) -> Response[Any]:
    return _raw("inject", url_token)


@app.post("/notify/<url_token>")
def notify_raw(url_token: str) -> Response[Any]:
    return _raw("notify", url_token)


def _authorised(url_token: str) -> EndpointSettings:
    """The endpoint the handler authenticated the key for, if the validated body names that one."""
    endpoint: EndpointSettings = app.context["endpoint"]
    if url_token != endpoint.url_token:  # cannot happen: both read from the same body
        raise InjectionRefused(401, "unauthorized", "this API key is not valid for that URLToken")
    return endpoint


def _raw(kind: Kind, url_token: str) -> Response[Any]:
    """Any JSON body, mapped by the endpoint's handle_inject / handle_notify transformer."""
    endpoint: EndpointSettings = app.context["endpoint"]
    event = app.current_event
    request = from_webhook(
        kind, url_token, runtime().services(endpoint).transformers, event.decoded_body, event.headers
    )
    if request is None:
        hook = "handle_inject" if kind == "inject" else "handle_notify"
        return _json(200, {"status": "dropped", "message": f"{hook} ignored this body"})
    return _json(202, _accept(kind, endpoint, request))


def _accept(kind: Kind, endpoint: EndpointSettings, request: InjectionRequest) -> dict[str, Any]:
    key = app.current_event.headers.get("idempotency-key")
    return submit(kind, endpoint, request, runtime(), source_ip=_source_ip(), idempotency_key=key,
                  lambda_context=app.lambda_context)  # fmt: skip


@app.exception_handler(InjectionRefused)
def _refused(exc: InjectionRefused) -> Response[Any]:
    return _json(exc.status, {"error": exc.code, "message": exc.message})


def _source_ip() -> str | None:
    source: str | None = app.current_event.request_context.http.source_ip
    return source


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _key_matches(endpoint: EndpointSettings, presented: str | None) -> bool:
    expected = resolve_secret(endpoint.inject_api_key)
    return http_api.token_matches(presented, expected)


def _presented_key(event: dict[str, Any]) -> str | None:
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    query = event.get("queryStringParameters") or {}
    return headers.get("x-api-key") or query.get("api_key") or None


@per_invocation
@traced
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The key first (of the one endpoint the request names), then the body is decoded, then Powertools
    # parses and validates it. Only that endpoint's key is read: another endpoint's missing secret is no
    # concern. Cognigy's body names the endpoint (URLToken): a body that names none cannot authenticate.
    presented = _presented_key(event)
    if presented is None:
        return http_api.error(401, "unauthorized", "missing or wrong API key (X-API-Key or api_key)")
    segments = http_api.route_path(event).strip("/").split("/")
    if len(segments) == 2 and segments[0] in ("inject", "notify"):
        named: str | None = segments[1]
    else:
        named = peek_string(event.get("body"), base64_encoded=bool(event.get("isBase64Encoded")), key="URLToken")
    if named is None:
        # No endpoint named, so no key to check the presented one against: not authenticated.
        return http_api.error(
            401, "unauthorized", "the API key is checked against the endpoint the body's URLToken names; none"
        )
    endpoint = runtime().endpoint(named)
    if endpoint is None or endpoint.inject_api_key is None:
        return http_api.error(404, "unknown_endpoint", "no endpoint with inject & notify under this URL token")
    try:
        matches = _key_matches(endpoint, presented)
    except SecretUnavailable as problem:
        return http_api.endpoint_misconfigured(endpoint.url_token, problem.reference, problem.reason)
    if not matches:
        return http_api.error(401, "unauthorized", "missing or wrong API key (X-API-Key or api_key)")
    mask_logs(endpoint.data_protection.mask_logging)  # before a raw route's transformer runs
    event, refused = http_api.decoded_event(app, event)
    if refused is not None:
        return refused
    app.append_context(endpoint=endpoint, api_key=presented)
    return app.resolve(event, context)
