"""The AudioCodes Bot API on the wire: the only module that knows AudioCodes JSON.

Inbound models are lenient where VoiceAI Connect (VAIC) may add fields we do not model
(``extra="allow"``) and strict where we rely on a value (ids, types). Outbound activities are
plain pydantic models that serialise without ``None`` fields, stamped with a unique ``id`` and an
ISO-8601 UTC ``timestamp`` with milliseconds and ``Z`` as VAIC expects.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

_CONVERSATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _not_a_dot_segment(value: str) -> str:
    # "." and ".." pass the pattern, but URLs built from them resolve elsewhere (RFC 3986 5.2.4).
    if value in (".", ".."):
        raise ValueError("'.' and '..' are path segments, not conversation ids")
    return value


# VAIC sends UUIDs; anything safe in a URL path segment and a DynamoDB key is accepted.
ConversationId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$"),
    AfterValidator(_not_a_dot_segment),
]


def is_conversation_id(value: object) -> bool:
    """What :data:`ConversationId` accepts, for doors that check without pydantic (WebSocket query)."""
    return isinstance(value, str) and _CONVERSATION_ID.fullmatch(value) is not None and value not in (".", "..")


ActivityId = Annotated[str, StringConstraints(min_length=1, max_length=256)]

MAX_ACTIVITIES_PER_REQUEST = 50
VALIDATION_PROBE = {"type": "ac-bot-api", "success": True}


def timestamp_now() -> str:
    """ISO-8601 UTC with milliseconds and ``Z``, e.g. ``2024-12-04T15:07:55.145Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- VAIC -> bot -------------------------------------------------------------------------------


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class CreateConversationRequest(_Lenient):
    conversation: ConversationId


class InboundActivity(_Lenient):
    id: ActivityId
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    timestamp: str | None = None
    language: str | None = None
    text: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    name: Annotated[str, StringConstraints(max_length=128)] | None = None
    value: Any = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class ActivitiesRequest(_Lenient):
    conversation: ConversationId | None = None
    activities: list[InboundActivity] = Field(max_length=MAX_ACTIVITIES_PER_REQUEST)


class RefreshRequest(_Lenient):
    conversation: ConversationId | None = None


class DisconnectRequest(_Lenient):
    conversation: ConversationId | None = None
    reasonCode: Annotated[str, StringConstraints(max_length=128)] | None = None
    reason: Annotated[str, StringConstraints(max_length=1024)] | None = None


class CallerInput(BaseModel):
    """One thing the caller's side did, in channel-neutral terms (what the conversation consumes)."""

    model_config = ConfigDict(frozen=True)

    activity_id: str
    type: Literal["message", "event"]
    event: str | None = None
    text: str | None = None
    value: Any = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    language: str | None = None
    confidence: float | None = None

    @property
    def is_start(self) -> bool:
        return self.event == "start"

    @property
    def caller(self) -> str | None:
        caller = self.parameters.get("caller") if self.is_start else None
        return caller if isinstance(caller, str) else None


def to_caller_input(activity: InboundActivity) -> CallerInput | None:
    """Map a VAIC activity to a :class:`CallerInput`; ``None`` for kinds we cannot act on.

    Event names are case-sensitive per AudioCodes (``DTMF``), but some peers send ``dtmf``: we accept
    that spelling and normalise it. Speech-hypothesis style payloads may sit in ``value`` or in
    ``parameters``; both are kept.
    """
    if activity.type == "message":
        confidence = activity.parameters.get("confidence")
        return CallerInput(
            activity_id=activity.id,
            type="message",
            text=(activity.text or "").strip(),
            parameters=activity.parameters,
            language=activity.language,
            confidence=float(confidence) if isinstance(confidence, int | float) else None,
        )
    if activity.type == "event" and activity.name:
        name = "DTMF" if activity.name.lower() == "dtmf" else activity.name
        return CallerInput(
            activity_id=activity.id,
            type="event",
            event=name,
            text=str(activity.value) if name == "DTMF" and activity.value is not None else None,
            value=activity.value,
            parameters=activity.parameters,
            language=activity.language,
        )
    return None


# --- bot -> VAIC -------------------------------------------------------------------------------

TRANSFER_EVENTS = frozenset({"transfer", "handover"})
"""Events after which VAIC hands the call over (AudioCodes: Call transfer, call-transfer.htm;
``handover`` is the name Cognigy's transfer node sent)."""
ENDING_EVENTS = TRANSFER_EVENTS | {"hangup"}
"""Events after which VAIC leaves the bot (AudioCodes: Hang up, hangup.htm, and call transfer)."""


class Activity(BaseModel):
    """An activity the bot sends. Unknown fields are kept so Cognigy payloads pass through unchanged."""

    model_config = ConfigDict(extra="allow")

    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    id: str = Field(default_factory=lambda: str(uuid.uuid4()))
    timestamp: str = Field(default_factory=timestamp_now)
    text: str | None = None
    name: str | None = None
    value: Any = None
    language: str | None = None
    activityParams: dict[str, Any] | None = None
    sessionParams: dict[str, Any] | None = None

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)

    @property
    def ends_call(self) -> bool:
        """True for activities after which VAIC leaves the bot: hang-up and transfer."""
        return self.type == "event" and self.name in ENDING_EVENTS


def message(
    text: str,
    *,
    activity_params: Mapping[str, Any] | None = None,
    session_params: Mapping[str, Any] | None = None,
    language: str | None = None,
) -> Activity:
    """Text (or SSML) for VAIC to speak."""
    return Activity(
        type="message",
        text=text,
        language=language,
        activityParams=dict(activity_params) if activity_params else None,
        sessionParams=dict(session_params) if session_params else None,
    )


def event(
    name: str,
    *,
    activity_params: Mapping[str, Any] | None = None,
    session_params: Mapping[str, Any] | None = None,
    value: Any = None,
) -> Activity:
    """A bot event such as ``hangup``, ``transfer``, ``playUrl`` or ``config``."""
    return Activity(
        type="event",
        name=name,
        value=value,
        activityParams=dict(activity_params) if activity_params else None,
        sessionParams=dict(session_params) if session_params else None,
    )


def from_wire(activity: Mapping[str, Any]) -> Activity:
    """An outbound activity given as JSON (e.g. by a Cognigy code node), sent unchanged but stamped."""
    return Activity.model_validate(dict(activity))


def cognigy_activities(output: Mapping[str, Any]) -> list[Activity] | None:
    """Activities inside a Cognigy-style output ``{"text", "data"}``, or ``None`` if it carries none.

    Cognigy's AudioCodes nodes put activities in ``data._cognigy._audioCodes.json.activities``;
    older flows use ``_audiocodes.activities`` (3.x) or ``_voiceGateway.json.activities``.
    """
    data = output.get("data")
    cognigy = data.get("_cognigy") if isinstance(data, Mapping) else None
    if not isinstance(cognigy, Mapping):
        return None
    for path in (("_audioCodes", "json"), ("_audiocodes",), ("_voiceGateway", "json")):
        node: Any = cognigy
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        activities = node.get("activities") if isinstance(node, Mapping) else None
        if isinstance(activities, list):
            return [from_wire(a) for a in activities if isinstance(a, Mapping)]
    return None


def activities_in_data(data: Mapping[str, Any]) -> list[Activity]:
    """Activities carried by a data object: a Cognigy envelope or a plain ``{"activities": [...]}``."""
    envelope = cognigy_activities({"data": data})
    if envelope is not None:
        return envelope
    plain = data.get("activities")
    return [from_wire(a) for a in plain if isinstance(a, Mapping)] if isinstance(plain, list) else []


# --- responses -----------------------------------------------------------------------------------


class ConversationUrls(BaseModel):
    """Answer to create-conversation. URLs are relative so they work behind any stage or proxy."""

    activitiesURL: str
    refreshURL: str
    disconnectURL: str
    expiresSeconds: int
    websocketURL: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def conversation_urls(
    *, url_token: str, conversation: str, bot_url_has_trailing_slash: bool, expires_seconds: int
) -> ConversationUrls:
    """Relative URLs that resolve (RFC 3986) under the bot URL, with or without its trailing slash.

    ``https://h/Prod/demo`` + ``demo/conversation/c/activities`` and
    ``https://h/Prod/demo/`` + ``conversation/c/activities`` both give ``/Prod/demo/conversation/c/...``.
    """
    base = (
        f"conversation/{conversation}/" if bot_url_has_trailing_slash else f"{url_token}/conversation/{conversation}/"
    )
    return ConversationUrls(
        activitiesURL=base + "activities",
        refreshURL=base + "refresh",
        disconnectURL=base + "disconnect",
        expiresSeconds=expires_seconds,
    )


def activities_response(conversation: str, activities: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"conversation": conversation, "activities": list(activities)}


def websocket_frame(conversation: str, activity: Mapping[str, Any]) -> dict[str, Any]:
    """One output pushed over the WebSocket VAIC opened in async mode: the same ``{"conversation",
    "activities"}`` body as an HTTP answer, one activity per frame (AudioCodes Bot API, asynchronous
    messaging: https://techdocs.audiocodes.com/voice-ai-connect/content/Bot-API/ac-bot-api.htm)."""
    return activities_response(conversation, [activity])


SentOutcome = Literal["transfer", "hangup", "message", "silent"]


def sent_outcome(activities: Iterable[Mapping[str, Any]]) -> tuple[SentOutcome, str | None]:
    """What a turn's answer (wire JSON, as sent) did to the call: ``transfer``, ``hangup`` (with its
    ``hangupReason``), ``message`` (something was said) or ``silent``."""
    said = False
    for activity in activities:
        if activity.get("type") == "event" and activity.get("name") in TRANSFER_EVENTS:
            return "transfer", None
        if activity.get("type") == "event" and activity.get("name") == "hangup":
            params = activity.get("activityParams")
            reason = params.get("hangupReason") if isinstance(params, Mapping) else None
            return "hangup", str(reason) if reason is not None else None
        said = said or activity.get("type") == "message"
    return ("message" if said else "silent"), None


def spoken_text(activities: Iterable[Mapping[str, Any]]) -> str | None:
    """What the bot said in an answer (wire JSON): the message texts, one per line (``None`` if nothing)."""
    texts = [str(a["text"]) for a in activities if a.get("type") == "message" and a.get("text")]
    return "\n".join(texts) if texts else None
