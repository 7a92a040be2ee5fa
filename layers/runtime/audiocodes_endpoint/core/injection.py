"""Inject & Notify: other systems speak into a live call (Cognigy's API, same body, same semantics).

*Inject* runs text and/or data through the flow as if the caller had said it; *notify* sends text
and/or data straight to the caller. Both need async mode: they are queued on the call's FIFO group,
behind and before the caller's own turns, and the dispatcher delivers them over the WebSocket.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from audiocodes_endpoint.channel.audiocodes import ConversationId
from audiocodes_endpoint.config.endpoint import EndpointSettings, UrlToken
from audiocodes_endpoint.config.transformers import Hook
from audiocodes_endpoint.config.validation import problems
from audiocodes_endpoint.core.conversation import notification_activities
from audiocodes_endpoint.core.idempotency import KeyInProgress, KeyReused
from audiocodes_endpoint.core.work import Work
from audiocodes_endpoint.features.transformers import TransformerError, Transformers
from audiocodes_endpoint.observability import bind_conversation, count, logger, mask_logs

if TYPE_CHECKING:
    from audiocodes_endpoint.wiring import Runtime

Kind = Literal["inject", "notify"]


class InjectionRequest(BaseModel):
    """Cognigy's body: ``{"URLToken", "userId", "sessionId", "text", "data"}`` (text or data or both)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    URLToken: UrlToken
    sessionId: ConversationId
    userId: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    text: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    data: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _text_or_data(self) -> InjectionRequest:
        if not self.text and not self.data:
            raise ValueError("give text or data (or both)")
        return self


class InjectionRefused(Exception):
    """The request is well-formed but cannot be delivered; ``status`` says why (404 / 409)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def accept(
    kind: Kind, endpoint: EndpointSettings, request: InjectionRequest, runtime: Runtime, source_ip: str | None = None
) -> str:
    """Check the call can take it, refresh its expiry, queue it; the id names it in the queue and logs."""
    bind_conversation(endpoint.url_token, request.sessionId)
    mask_logs(endpoint.data_protection.mask_logging)
    if kind == "notify" and not notification_activities(request.text, request.data):
        raise InjectionRefused(400, "bad_request", "notify needs text, or data that carries activities")
    if not endpoint.async_mode:
        raise InjectionRefused(409, "not_async", "inject and notify need an endpoint in async mode")
    conversations = runtime.conversations
    session = conversations.store.get(endpoint.url_token, request.sessionId)
    if session is None or (request.userId is not None and request.userId != session.user_id):
        raise InjectionRefused(404, "session_not_found", "no session with this sessionId (and userId)")
    now = conversations.clock()
    expires_at = int(now) + endpoint.session.idle_seconds
    if not session.is_live(now) or not conversations.store.extend(
        endpoint.url_token, request.sessionId, expires_at, now
    ):
        raise InjectionRefused(409, "session_ended", "the call has ended or expired")
    injection_id = str(uuid.uuid4())
    payload = {
        "id": injection_id,
        "userId": request.userId,
        "text": request.text,
        "data": request.data,
        "source_ip": source_ip,
    }
    runtime.queue.put(
        Work(kind=kind, endpoint=endpoint.url_token, conversation=request.sessionId, payload=payload),
        deduplication=injection_id,
    )
    count("Injects" if kind == "inject" else "Notifications")
    logger.info(f"{kind} accepted", extra={"injection_id": injection_id})
    return injection_id


class Accepted(BaseModel):
    """The 202 answer."""

    id: str
    status: Literal["accepted"] = "accepted"
    kind: Kind = Field(description="inject or notify")


def submit(
    kind: Kind,
    endpoint: EndpointSettings,
    request: InjectionRequest,
    runtime: Runtime,
    *,
    source_ip: str | None,
    idempotency_key: str | None,
    lambda_context: Any,
) -> dict[str, Any]:
    """The 202 answer; with an ``Idempotency-Key``, a repeat gets the first answer (never queued twice)."""
    if not idempotency_key:
        return Accepted(id=accept(kind, endpoint, request, runtime, source_ip), kind=kind).model_dump()
    call = {
        "key": f"{endpoint.url_token}/{kind}/{idempotency_key}",
        "kind": kind,
        "request": request.model_dump(mode="json"),
        "source_ip": source_ip,
    }
    try:
        return runtime.accept_once(call, lambda_context)
    except KeyReused:
        raise InjectionRefused(409, "idempotency_key_reused", "Idempotency-Key was used with another body") from None
    except KeyInProgress:
        raise InjectionRefused(409, "in_progress", "a request with this Idempotency-Key is in progress") from None


def accept_call(call: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    """What runs once per Idempotency-Key (``call`` as :func:`submit` builds it)."""
    request = InjectionRequest.model_validate(call["request"])
    endpoint = runtime.endpoint(request.URLToken)
    assert endpoint is not None  # checked before: the key matched this endpoint
    kind: Kind = call["kind"]
    return Accepted(id=accept(kind, endpoint, request, runtime, call.get("source_ip")), kind=kind).model_dump()


def from_webhook(
    kind: Kind, url_token: str, transformers: Transformers, body: str | None, headers: Mapping[str, str]
) -> InjectionRequest | None:
    """Any JSON body, mapped by the endpoint's ``handle_inject`` / ``handle_notify`` transformer;
    ``None`` when the transformer drops it."""
    hook: Hook = "handle_inject" if kind == "inject" else "handle_notify"
    if not transformers.enabled(hook):
        raise InjectionRefused(404, "no_transformer", f"{hook} is not enabled for this endpoint")
    try:
        parsed = json.loads(body or "null")
    except ValueError:
        raise InjectionRefused(400, "bad_request", "malformed JSON body") from None
    handle = transformers.handle_inject if kind == "inject" else transformers.handle_notify
    try:
        mapped = handle(parsed, dict(headers), body)
    except TransformerError as error:
        raise InjectionRefused(400, "bad_request", str(error)) from None
    if mapped is None:
        return None
    try:
        return InjectionRequest(URLToken=url_token, **mapped.model_dump())
    except ValidationError as error:
        raise InjectionRefused(400, "bad_request", f"{hook} returned {problems(error, top='body')}") from None
