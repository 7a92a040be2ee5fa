"""The AudioCodes Bot API (HTTP mode) for VoiceAI Connect: thin routes over the conversation core.

Bot URL: ``https://<api>/<url_token>``; the conversation URLs handed out are relative to it.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from audiocodes_endpoint.channel import audiocodes, bot_auth, http_api
from audiocodes_endpoint.config.endpoint import EndpointSettings
from audiocodes_endpoint.config.secrets import SecretUnavailable
from audiocodes_endpoint.core.conversation import (
    RETRY_AFTER_SECONDS,
    ConversationBusy,
    ConversationEnded,
    ConversationNotFound,
)
from audiocodes_endpoint.core.deadline import Deadline
from audiocodes_endpoint.observability import bind_conversation, logger, mask_logs, metrics, per_invocation, traced
from audiocodes_endpoint.wiring import AsyncModeUnavailable, prepare, runtime

# Lambda's init phase builds the agent, its compiled templates, every endpoint's services and the
# AWS clients, so the first request of a fresh environment does not (wiring.prepare).
prepare(secrets=lambda endpoint: [endpoint.bot_token])

app = APIGatewayHttpResolver(enable_validation=True)
http_api.install_error_handlers(app)

ConversationPath = Annotated[audiocodes.ConversationId, Path()]


def _endpoint() -> EndpointSettings:
    endpoint: EndpointSettings = app.context["endpoint"]
    return endpoint


@app.get("/<url_token>")
def validate_bot(url_token: str) -> dict[str, Any]:
    """VAIC's "validate bot" probe; reached only with a valid token."""
    return audiocodes.VALIDATION_PROBE


@app.post("/<url_token>")
def create_conversation(
    url_token: str, request: Annotated[audiocodes.CreateConversationRequest, Body()]
) -> dict[str, Any]:
    endpoint = _endpoint()
    bind_conversation(endpoint.url_token, request.conversation)
    runtime().conversations.create(endpoint, request.conversation)
    urls = audiocodes.conversation_urls(
        url_token=endpoint.url_token,
        conversation=request.conversation,
        bot_url_has_trailing_slash=app.context["trailing_slash"],
        expires_seconds=endpoint.session.expires_seconds,
    )
    if endpoint.async_mode:
        urls.websocketURL = runtime().websocket_url(endpoint, request.conversation)
    return urls.to_wire()


@app.post("/<url_token>/conversation/<conversation_id>/activities")
def send_activities(
    url_token: str, conversation_id: ConversationPath, request: Annotated[audiocodes.ActivitiesRequest, Body()]
) -> dict[str, Any]:
    bind_conversation(url_token, conversation_id)
    endpoint = _endpoint()
    source_ip = app.current_event.request_context.http.source_ip
    conversations = runtime().conversations
    deadline = Deadline.from_context(app.lambda_context, conversations.clock())
    if endpoint.async_mode:
        # Answered at once; the dispatcher runs the turn and pushes outputs over the WebSocket.
        waiting = conversations.enqueue(
            endpoint, conversation_id, request.activities, runtime().queue, source_ip=source_ip, deadline=deadline
        )
        return audiocodes.activities_response(conversation_id, waiting) if waiting else {}
    answer = conversations.handle(endpoint, conversation_id, request.activities, source_ip=source_ip, deadline=deadline)
    return audiocodes.activities_response(conversation_id, answer)


@app.post("/<url_token>/conversation/<conversation_id>/refresh")
@http_api.ignores_body
def refresh(url_token: str, conversation_id: ConversationPath) -> dict[str, Any]:
    """Keep-alive. The body (if any) carries nothing we need, so it is not validated."""
    bind_conversation(url_token, conversation_id)
    return {"expiresSeconds": runtime().conversations.refresh(_endpoint(), conversation_id)}


@app.post("/<url_token>/conversation/<conversation_id>/disconnect")
def disconnect(
    url_token: str, conversation_id: ConversationPath, request: Annotated[audiocodes.DisconnectRequest, Body()]
) -> dict[str, Any]:
    bind_conversation(url_token, conversation_id)
    logger.info("call ended by VAIC", extra={"reason_code": request.reasonCode})
    conversations = runtime().conversations
    deadline = Deadline.from_context(app.lambda_context, conversations.clock())
    connection = conversations.disconnect(_endpoint(), conversation_id, request.reasonCode, request.reason, deadline)
    if connection is not None:
        runtime().pusher.close(connection)
    return {}


@app.exception_handler(ConversationNotFound)
def _not_found(_exc: ConversationNotFound) -> Response[Any]:
    return _json(404, "conversation_not_found", "no live conversation with this id")


@app.exception_handler(ConversationEnded)
def _ended(_exc: ConversationEnded) -> Response[Any]:
    return _json(409, "conversation_ended", "this conversation has ended; use a new conversation id")


@app.exception_handler(AsyncModeUnavailable)
def _no_async(exc: AsyncModeUnavailable) -> Response[Any]:
    logger.error("async endpoint without async infrastructure", extra={"problem": str(exc)})
    return _json(503, "async_mode_unavailable", "this endpoint is in async mode but the deployment lacks it")


@app.exception_handler(ConversationBusy)
def _busy(_exc: ConversationBusy) -> Response[Any]:
    return _json(
        503,
        "conversation_busy",
        "too many requests wait for this conversation; retry",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _json(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": code, "message": message},
        headers=headers,
    )


@per_invocation
@traced
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Endpoint, then token, then the body's bytes: all before Powertools parses or validates it.
    url_token = http_api.route_path(event).strip("/").split("/", 1)[0]
    endpoint = runtime().endpoint(url_token) if url_token else None
    if endpoint is None:
        return http_api.error(404, "unknown_endpoint", "no endpoint with this URL token")
    mask_logs(endpoint.data_protection.mask_logging)
    try:
        allowed = bot_auth.authenticate(endpoint, event.get("headers"))
    except SecretUnavailable as problem:
        return http_api.endpoint_misconfigured(endpoint.url_token, problem.reference, problem.reason)
    if not allowed:
        return bot_auth.unauthorized(endpoint)
    event, trailing_slash = http_api.without_trailing_slash(event)
    event, refused = http_api.decoded_event(app, event)
    if refused is not None:
        return refused
    app.append_context(endpoint=endpoint, trailing_slash=trailing_slash)
    return app.resolve(event, context)
