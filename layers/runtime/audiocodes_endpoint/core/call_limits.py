"""A maximum call duration: what happens when a call has gone on for too long.

Idle expiry (``session.expires_seconds`` + ``grace_seconds``) already ends silent sessions; this
bounds busy ones. A serverless endpoint has no timer of its own, so the limit is checked when the
call next does something (an activity, an inject): :func:`check_call_limit` is a pure function of
the session's ``created_at``, the clock, and a small JSON ``state`` the session keeps.

``on_expiry: hangup`` says ``expiry_message`` and hangs up. ``on_expiry: notify_flow`` runs the flow
once with the event ``maxCallDuration`` (``input.value = {"elapsedSeconds", "maxCallSeconds"}``) so
it can say goodbye, transfer or carry on; if the call is still going ``force_hangup_after_seconds``
later, it is hung up as with ``hangup``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from audiocodes_endpoint.channel.audiocodes import Activity, event, message
from audiocodes_endpoint.config.call_limits import SessionPolicySettings

FLOW_EVENT = "maxCallDuration"
HANGUP_REASON = "max call duration"


@dataclass(frozen=True)
class CallLimitDecision:
    action: Literal["continue", "notify_flow", "hangup"]
    state: dict[str, Any] = field(default_factory=dict)
    """The policy state to keep in the session (unchanged when ``continue``)."""
    activities: tuple[Activity, ...] = ()
    """``hangup``: send these and end the session's flow (the call is over)."""
    flow_event: dict[str, Any] | None = None
    """``notify_flow``: run the flow with this input first (``type``, ``event``, ``value``), then, if
    the flow did not end the call, the caller's own input."""


def check_call_limit(
    settings: SessionPolicySettings, *, created_at: float, now: float, state: Mapping[str, Any]
) -> CallLimitDecision:
    """What to do about the call's duration before running its next input."""
    kept = dict(state)
    limit = settings.max_call_seconds
    elapsed = now - created_at
    if not limit or elapsed < limit:
        return CallLimitDecision("continue", kept)
    if settings.on_expiry == "hangup":
        return _hang_up(settings, kept, now)
    notified_at = state.get("notified_at")
    if notified_at is None:
        value = {"elapsedSeconds": int(elapsed), "maxCallSeconds": limit}
        return CallLimitDecision(
            "notify_flow",
            {**kept, "notified_at": now},
            flow_event={"type": "event", "event": FLOW_EVENT, "value": value},
        )
    force = settings.force_hangup_after_seconds
    if force and now - float(notified_at) >= force:
        return _hang_up(settings, kept, now)
    return CallLimitDecision("continue", kept)


def _hang_up(settings: SessionPolicySettings, state: dict[str, Any], now: float) -> CallLimitDecision:
    return CallLimitDecision(
        "hangup",
        {**state, "hung_up_at": now},
        activities=(
            message(settings.expiry_message),
            event("hangup", activity_params={"hangupReason": HANGUP_REASON}),
        ),
    )
