"""The WebSocket API VAIC opens in async mode: ``$connect`` authenticates and binds, ``$disconnect`` unbinds.

The socket is one-way in practice: the bot pushes ``{"conversation", "activities"}`` frames; VAIC's
user activities keep arriving over HTTP.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from audiocodes_endpoint.channel import audiocodes, bot_auth, http_api
from audiocodes_endpoint.config.secrets import SecretUnavailable
from audiocodes_endpoint.core.conversation import ConversationNotFound
from audiocodes_endpoint.observability import bind_conversation, logger, mask_logs, metrics, per_invocation, traced
from audiocodes_endpoint.wiring import prepare, runtime

# Lambda's init phase builds the agent, its compiled templates, every endpoint's services and the
# AWS clients, so the first request of a fresh environment does not (wiring.prepare).
prepare(secrets=lambda endpoint: [endpoint.bot_token] if endpoint.async_mode else [])


def connect(event: dict[str, Any], connection_id: str) -> dict[str, Any]:
    params = event.get("queryStringParameters") or {}
    endpoint = runtime().endpoint(str(params.get("endpoint", "")))
    conversation = str(params.get("conversation", ""))
    bind_conversation(endpoint.url_token if endpoint else "?", conversation or None)
    if endpoint is None or not endpoint.async_mode:
        return http_api.error(404, "unknown_endpoint", "no async endpoint with this URL token")
    mask_logs(endpoint.data_protection.mask_logging)
    try:
        allowed = bot_auth.authenticate(endpoint, event.get("headers"))
    except SecretUnavailable as problem:
        return http_api.endpoint_misconfigured(endpoint.url_token, problem.reference, problem.reason)
    if not allowed:
        return bot_auth.unauthorized(endpoint)
    if not audiocodes.is_conversation_id(conversation):
        return http_api.error(400, "bad_request", "conversation: not a conversation id this endpoint created")
    try:
        runtime().conversations.socket_opened(endpoint, conversation, connection_id, runtime().queue)
    except ConversationNotFound:
        return http_api.error(404, "conversation_not_found", "no live conversation with this id")
    logger.info("WebSocket connected")
    return {"statusCode": 200}


def disconnect(connection_id: str) -> dict[str, Any]:
    runtime().conversations.socket_closed(connection_id, runtime().endpoint)
    logger.info("WebSocket disconnected")
    return {"statusCode": 200}


@per_invocation
@traced
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = event.get("requestContext", {})
    connection_id = str(request.get("connectionId", ""))
    route = request.get("routeKey")
    if route == "$connect":
        return connect(event, connection_id)
    if route == "$disconnect":
        return disconnect(connection_id)
    return {"statusCode": 200}  # $default: nothing VAIC sends on this socket needs an answer
