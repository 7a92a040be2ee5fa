"""``bot_delay``, ``on_error`` and ``call_events`` of an endpoint (the behaviour is ``core.call_handling``).

AudioCodes: Handling bot delay (handle-bot-delay.htm), Call transfer (call-transfer.htm), Call
disconnect (call-disconnect.htm ``reasonCode``), Controlling events sent to the bot
(controlling_events_to_bot.htm), https://techdocs.audiocodes.com/voice-ai-connect/.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

DISCONNECT_REASONS = frozenset(
    # AudioCodes: Call disconnect (call-disconnect.htm), reasonCode values.
    {
        "error",
        "bot-disconnected",
        "client-disconnected",
        "transferred",
        "machine-detected",
        "no-answer",
        "busy",
        "declined",
    }
)


_EVENT_KEY = re.compile(r"^(disconnect(:[a-z-]{1,64})?|[A-Za-z][A-Za-z0-9]{0,63})$")


_NOT_MAPPABLE = frozenset({"start", "message", "inject", "any_event"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SipHeader(_Strict):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")]
    value: Annotated[str, StringConstraints(min_length=0, max_length=1024)]


class TransferSettings(_Strict):
    """A transfer the endpoint makes itself: ``{"type":"event","name":"transfer","activityParams":
    {transferTarget, handoverReason, transferSipHeaders}}`` (AudioCodes: call-transfer.htm)."""

    target: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    """A phone number (E.164, 00..., or national in the endpoint's ``default_region``) or a sip: URI."""
    reason: Annotated[str, StringConstraints(min_length=1, max_length=256)] = "bot error"
    sip_headers: list[SipHeader] = Field(default_factory=list, max_length=20)

    def activity_params(self, default_region: str) -> dict[str, Any]:
        from audiocodes_endpoint.config.transfer_targets import transfer_uri  # phonenumbers: not at cold import

        params: dict[str, Any] = {
            "transferTarget": transfer_uri(self.target, default_region),
            "handoverReason": self.reason,
        }
        if self.sip_headers:
            params["transferSipHeaders"] = [{"name": h.name, "value": h.value} for h in self.sip_headers]
        return params


class OnErrorSettings(_Strict):
    """``on_error:`` what the caller gets when the flow fails (an exception, the step budget, ...)."""

    action: Literal["apology", "transfer"] = "apology"
    transfer: TransferSettings | None = None
    say: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    """``transfer``: said before transferring (default: nothing, the transfer starts at once)."""

    @model_validator(mode="after")
    def _transfer_needs_target(self) -> OnErrorSettings:
        if self.action == "transfer" and self.transfer is None:
            raise ValueError("`action: transfer` needs `transfer: {target: ...}`")
        if self.action == "apology" and (self.transfer is not None or self.say is not None):
            raise ValueError("`transfer` and `say` belong to `action: transfer` (the apology is `apology_text`)")
        return self


class BotDelaySettings(_Strict):
    """``bot_delay:`` VAIC covers a slow bot: says ``speech`` or plays ``url`` after ``timeout_ms``."""

    timeout_ms: int = Field(ge=0, le=600_000)
    speech: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=2048)] | None = None
    retries: int | None = Field(default=None, ge=0, le=999)
    give_up_ms: int | None = Field(default=None, ge=0, le=3_600_000)
    abort_on_bot_message: bool | None = None

    @model_validator(mode="after")
    def _one_filler(self) -> BotDelaySettings:
        if self.speech is not None and self.url is not None:
            raise ValueError("set `speech` or `url`, not both")
        return self

    def session_params(self) -> dict[str, Any]:
        names = {
            "timeout_ms": "botNoInputTimeoutMS",
            "speech": "botNoInputSpeech",
            "url": "botNoInputUrl",
            "retries": "botNoInputRetries",
            "give_up_ms": "botNoInputGiveUpTimeoutMS",
            "abort_on_bot_message": "abortPlayUrlOnBotMessage",
        }
        return {param: getattr(self, name) for name, param in names.items() if getattr(self, name) is not None}


class CallEventSettings(_Strict):
    """One entry of ``call_events:``."""

    action: Literal["inject", "flow", "transfer", "nothing"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)] | None = None
    data: dict[str, Any] | None = None
    flow: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    node: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    transfer: TransferSettings | None = None

    @model_validator(mode="after")
    def _fields_of_the_action(self) -> CallEventSettings:
        needed = {"inject": ("text", "data"), "flow": ("flow",), "transfer": ("transfer",), "nothing": ()}[self.action]
        given = {name for name in ("text", "data", "flow", "node", "transfer") if getattr(self, name) is not None}
        allowed = set(needed) | ({"node"} if self.action == "flow" else set())
        if needed and not given & set(needed):
            raise ValueError(f"`action: {self.action}` needs {' or '.join(f'`{n}`' for n in needed)}")
        if given - allowed:
            raise ValueError(f"{', '.join(sorted(given - allowed))} do not belong to `action: {self.action}`")
        return self


def check_call_events(events: dict[str, CallEventSettings]) -> dict[str, CallEventSettings]:
    for key, setting in events.items():
        if not _EVENT_KEY.match(key) or key in _NOT_MAPPABLE:
            raise ValueError(
                f"{key!r}: a VAIC event name (e.g. voiceDetected, playFinished), `disconnect` or "
                "`disconnect:<reasonCode>`; start, message, inject and any_event are the flow's"
            )
        if key.startswith("disconnect"):
            reason = key.partition(":")[2]
            if reason and reason not in DISCONNECT_REASONS:
                raise ValueError(f"{key!r}: reasonCode is one of {', '.join(sorted(DISCONNECT_REASONS))}")
            if setting.action == "transfer":
                raise ValueError(f"{key!r}: the call is over at a disconnect, it cannot be transferred")
    return events


def check_targets(default_region: str, on_error: OnErrorSettings, events: dict[str, CallEventSettings]) -> None:
    """Raise ``ValueError`` naming the setting whose transfer target cannot be dialled."""
    targets = [("on_error.transfer.target", on_error.transfer)] + [
        (f"call_events.{key}.transfer.target", setting.transfer) for key, setting in events.items()
    ]
    for where, transfer in targets:
        if transfer is None:
            continue
        try:
            transfer.activity_params(default_region)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
