"""Outbound calls: place one through VAIC's dial-out API, read its status history, take VAIC's callbacks;
campaigns of many calls, paced through the campaign queue (this function is also that queue's consumer).

``POST /outbound/{URLToken}/calls`` and ``GET /outbound/{URLToken}/calls/{callId}`` need the endpoint's
``dialout.api_key`` (``X-API-Key``), checked before the body is parsed. VAIC posts each status to the
call's ``notifyUrl``, ``/outbound/{URLToken}/calls/{callId}/status?token=<token>``: the token, made for
that call only and stored hashed, is its authentication (in the query: access logs record the path only).
``/outbound/{URLToken}/campaigns[/{campaignId}[/pause|resume|cancel|results]]`` need the same key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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
from audiocodes_endpoint.features.outbound.campaign_settings import CampaignRequest, from_query
from audiocodes_endpoint.features.outbound.campaigns import Campaigns
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
    campaigns_or_none()  # built first: a campaign call's final status finishes its target's attempt
    return runtime().outbound


def campaigns_or_none() -> Campaigns | None:
    return runtime().campaigns


def campaigns() -> Campaigns:
    found = campaigns_or_none()
    if found is None:
        raise OutboundRefused(404, "campaigns_disabled", "this deployment has no campaign queue (CAMPAIGN_QUEUE_URL)")
    return found


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


@app.post("/outbound/<url_token>/campaigns", status_code=202)
@http_api.csv_or_json_body
def create_campaign(url_token: str) -> dict[str, Any]:
    endpoint: EndpointSettings = app.context["endpoint"]
    request = _campaign_request()
    key = app.current_event.headers.get("idempotency-key")
    if key:
        call = {"key": f"{endpoint.url_token}/campaign/{key}", "request": request.model_dump(mode="json"),
                "url_token": endpoint.url_token, "base": _callback_base()}  # fmt: skip
        return _once("outbound-campaign", _create_campaign, call)
    return _created(endpoint, request, _callback_base())


@app.get("/outbound/<url_token>/campaigns/<campaign_id>")
def campaign_progress(url_token: str, campaign_id: str) -> dict[str, Any]:
    return campaigns().progress(app.context["endpoint"], campaign_id)


@app.post("/outbound/<url_token>/campaigns/<campaign_id>/<action>")
@http_api.ignores_body
def campaign_action(url_token: str, campaign_id: str, action: str) -> dict[str, Any]:
    actions = {"pause": campaigns().pause, "resume": campaigns().resume, "cancel": campaigns().cancel}
    if action not in actions:
        raise OutboundRefused(404, "not_found", "campaign actions are pause, resume and cancel")
    return actions[action](app.context["endpoint"], campaign_id)


@app.get("/outbound/<url_token>/campaigns/<campaign_id>/results")
def campaign_results(url_token: str, campaign_id: str) -> Response[Any]:
    text = campaigns().results(app.context["endpoint"], campaign_id)
    disposition = f'attachment; filename="campaign-{campaign_id}.csv"'
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body=text,
                    headers={"Content-Disposition": disposition})  # fmt: skip


def _campaign_request() -> CampaignRequest:
    """JSON, or CSV (``Content-Type: text/csv``) with the settings in the query string."""
    from pydantic import ValidationError

    event = app.current_event
    body = event.body or ""
    try:
        if event.headers.get("content-type") == "text/csv":
            query = dict(event.query_string_parameters or {})
            return CampaignRequest.model_validate({**from_query(query), "targets_csv": body})
        return CampaignRequest.model_validate_json(body or "null")
    except ValidationError as error:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in error.errors()]
        message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems[:10])
        raise OutboundRefused(400, "bad_request", message, detail=problems[:100]) from None


def _created(endpoint: EndpointSettings, request: CampaignRequest, base: str) -> dict[str, Any]:
    created = campaigns().create(endpoint, request, base)
    count("OutboundCampaigns")
    return created


def _create_campaign(call: dict[str, Any]) -> dict[str, Any]:
    endpoint = runtime().endpoint(call["url_token"])
    assert endpoint is not None  # checked before: the key matched this endpoint
    return _created(endpoint, CampaignRequest.model_validate(call["request"]), call["base"])


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
    call = {"key": f"{endpoint.url_token}/dial/{key}", "request": request.model_dump(mode="json"),
            "url_token": endpoint.url_token, "base": _callback_base()}  # fmt: skip
    return _once("outbound-dial", _place_call, call)


def _once(name: str, function: Callable[[dict[str, Any]], dict[str, Any]], call: dict[str, Any]) -> dict[str, Any]:
    """A repeated Idempotency-Key gets the first answer; the same key with another body is refused."""
    try:
        return runtime().idempotent(name, function)(call, app.lambda_context)
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
    if "Records" in event:  # the campaign queue's event source mapping
        return _dial_batch(event, context)
    # /outbound/<url_token>/calls[/<id>[/status/<token>]]: the endpoint first, then who may use it.
    segments = http_api.route_path(event).strip("/").split("/")
    endpoint = runtime().endpoint(segments[1]) if len(segments) >= 3 and segments[0] == "outbound" else None
    if endpoint is None or endpoint.dialout is None:
        return http_api.error(404, "unknown_endpoint", "no endpoint with outbound calls under this URL token")
    bind_conversation(endpoint.url_token, None)
    callback = segments[2:3] == ["calls"] and segments[4:5] == ["status"]
    if not callback:  # VAIC's callbacks carry their per-call token instead of the key
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


def _dial_batch(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Each message is one attempt at one target; one that raised comes back after the visibility timeout."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    def dial(record: SQSRecord) -> None:
        message = json.loads(record.body)
        bind_conversation(str(message.get("endpoint")), None)
        what = campaigns().dial(message)
        logger.info("campaign message", extra={"campaign": message.get("campaign"), "result": what})
        count("CampaignMessages")

    # A batch that failed whole is reported like a partial one: every record comes back, none is lost.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(process_partial_response(event=event, record_handler=dial, processor=processor, context=context))
