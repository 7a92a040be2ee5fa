"""One outbound call: checked, recorded, placed through VAIC; VAIC's status callbacks recorded and published.

Statuses of the history: ``queued`` (recorded, before VAIC is asked) and ``initiated`` (VAIC accepted
the dial-out) are ours; later ones are what VAIC's ``notifyUrl`` callbacks say (``answered``,
``failed`` with ``reason``/``reasonCode``, ``completed`` with ``duration``, and the machine-detection
result) - VAIC ``outbound-calling.htm``. A callback's fields other than ``status`` are inferred from
AudioCodes' public dialer sample and kept as sent.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from audiocodes_endpoint.config.dialout import DialoutSettings
from audiocodes_endpoint.config.endpoint import EndpointSettings
from audiocodes_endpoint.config.secrets import resolve_secret
from audiocodes_endpoint.features.outbound import vaic
from audiocodes_endpoint.features.outbound.destinations import checked_destination

if TYPE_CHECKING:  # the call records' adapter (the wiring builds it)
    from audiocodes_endpoint.adapters.aws.outbound_store import CallStore, StatusEvents

TERMINAL = frozenset({"completed", "failed"})
_CALL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # ours: uuid4


class DialRequest(BaseModel):
    """``POST /outbound/{URLToken}/calls``: whom to call, and what the flow gets as ``dialoutMetadata``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: Annotated[str, StringConstraints(min_length=3, max_length=32)]
    metadata: dict[str, Any] = Field(default_factory=dict)


class StatusCallback(BaseModel):
    """VAIC's ``notifyUrl`` body; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z_-]{0,63}$")]
    conversationId: Annotated[str, StringConstraints(max_length=256)] | None = None
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None
    reasonCode: int | Annotated[str, StringConstraints(max_length=64)] | None = None
    duration: float | None = Field(default=None, ge=0)
    machineDetection: Annotated[str, StringConstraints(max_length=64)] | None = None


class CallExists(Exception):
    """A call with this id is recorded already (a campaign attempt's id is fixed: another delivery has it)."""


class OutboundRefused(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


@dataclass
class Outbound:
    store: CallStore
    events: StatusEvents
    clock: Callable[[], float] = time.time
    finished: Callable[[EndpointSettings, dict[str, Any], dict[str, Any]], None] | None = None
    """Told of a campaign call's first final status (``campaigns.Campaigns.finish_call``)."""

    def place(self, endpoint: EndpointSettings, request: DialRequest, callback_base: str) -> dict[str, Any]:
        return self.place_call(endpoint, request.target, request.metadata, callback_base)

    def place_call(
        self, endpoint: EndpointSettings, number: str, metadata: dict[str, Any], callback_base: str, *,
        call_id: str | None = None, campaign: dict[str, Any] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Check, record and place one call; a campaign's attempt brings its own call id and link."""
        settings = _dialout(endpoint)
        target = checked_destination(number, settings.destinations, endpoint.default_region)
        credentials = vaic.Credentials(
            api_url=settings.api_url,
            auth=settings.auth,
            token_url=settings.token_url,
            client_id=resolve_secret(settings.client_id) or "",
            client_secret=resolve_secret(settings.client_secret) or "",
        )
        call_id, token = call_id or str(uuid.uuid4()), secrets.token_urlsafe(32)
        now = int(self.clock())
        fields = {"target": target, "metadata": metadata, "token_hash": _hash(token), "campaign": campaign}
        self.store.create(
            endpoint.url_token, call_id, fields, {"status": "queued", "at": now},
            expires_at=now + settings.history_days * 86400,
        )  # fmt: skip
        dialout = {
            "bot": settings.bot,
            "target": f"tel:{target}",
            "caller": settings.caller,
            "answerTimeoutSec": settings.answer_timeout_seconds,
            "notifyUrl": f"{callback_base.rstrip('/')}{status_path(endpoint.url_token, call_id)}?token={token}",
            "metadata": metadata,
        }
        if settings.caller_display_name:
            dialout["callerDisplayName"] = settings.caller_display_name
        if settings.machine_detection:
            dialout["machineDetection"] = settings.machine_detection_mode
        try:
            conversation = vaic.dial(credentials, dialout, self.clock)
        except vaic.DialoutFailed as failure:
            self.record(endpoint.url_token, call_id, {"status": "failed", "reason": failure.reason})
            raise OutboundRefused(502, "dialout_failed", failure.reason, id=call_id) from None
        self.record(endpoint.url_token, call_id, {"status": "initiated"}, conversation or None)
        return {"id": call_id, "status": "initiated", "conversationId": conversation or None}

    def history(self, endpoint: EndpointSettings, call_id: str) -> dict[str, Any]:
        _dialout(endpoint)
        call = self.store.get(endpoint.url_token, call_id) if _CALL_ID.fullmatch(call_id) else None
        if call is None:
            raise OutboundRefused(404, "call_not_found", "no outbound call with this id on this endpoint")
        return {
            "id": call_id,
            "status": call["status"],
            "target": call["target"],
            "metadata": call["metadata"],
            "conversationId": call.get("conversation_id"),
            "history": call["history"],
        }

    def callback(self, endpoint: EndpointSettings, call_id: str, token: str, body: StatusCallback) -> None:
        call = self.store.get(endpoint.url_token, call_id) if _CALL_ID.fullmatch(call_id) else None
        if call is None or not hmac.compare_digest(_hash(token), str(call.get("token_hash", ""))):
            raise OutboundRefused(404, "call_not_found", "no outbound call at this URL")
        change = {
            "status": body.status,
            "reason": body.reason,
            "reasonCode": None if body.reasonCode is None else str(body.reasonCode),
            "duration": body.duration,
            "machineDetection": body.machineDetection,
        }
        # A late callback (VAIC retries, reordering) joins the history but never reopens a finished call.
        settled = call["status"] in TERMINAL and body.status not in TERMINAL
        self.record(endpoint.url_token, call_id, change, body.conversationId, keep_status=settled)
        final = body.status in TERMINAL and call["status"] not in TERMINAL  # a repeat finds the call settled
        if final and call.get("campaign_id") and self.finished is not None:
            self.finished(endpoint, call, {k: v for k, v in change.items() if v is not None})

    def dialout(self, endpoint: EndpointSettings) -> DialoutSettings:
        return _dialout(endpoint)

    def record(self, url_token: str, call_id: str, change: dict[str, Any], conversation: str | None = None,
                keep_status: bool = False) -> None:  # fmt: skip
        entry = {**change, "at": int(self.clock())}
        self.store.append(url_token, call_id, entry, conversation, keep_status=keep_status)
        self.events.publish(
            {
                "endpoint": url_token,
                "callId": call_id,
                "conversationId": conversation,
                **{k: v for k, v in entry.items() if v is not None},
            }
        )


def status_path(url_token: str, call_id: str) -> str:
    """Where VAIC posts a call's statuses (template.yaml: the StatusCallback route)."""
    return f"/outbound/{url_token}/calls/{call_id}/status"


def _dialout(endpoint: EndpointSettings) -> DialoutSettings:
    settings: DialoutSettings | None = endpoint.dialout
    if settings is None:
        raise OutboundRefused(404, "outbound_disabled", "this endpoint has no dialout settings")
    return settings


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
