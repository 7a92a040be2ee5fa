"""The AudioCodes nodes Cognigy had (cognigy-endpoint.md 4.2). Fields that become AudioCodes
parameters keep AudioCodes' names (``transferTarget``, ``hangupReason``, ...), so the YAML reads
like the activity it produces."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from ...protocol import event
from ..events import merge_requested
from ..fields import DATA, NodeId, Text, is_template
from ..params import SessionParameters
from ..steps import End, Next, Step
from ..turn import FlowError
from .base import Linear, NodeBase
from .common import ACTIVITY_PARAMS, Params, merged, render_params

if TYPE_CHECKING:
    from ..runtime import Turn

TRANSFER_TARGET = re.compile(r"^(tel:\+?[0-9][0-9().\- ]{0,31}|sip:[^\s<>\"]{1,253})$")
DTMF_DIGITS = re.compile(r"^[0-9*#]{1,20}$")


def _static_ok(pattern: re.Pattern[str], value: str, what: str) -> str:
    """Check a value at load unless it is a template (then it is checked once rendered)."""
    if not is_template(value) and not pattern.match(value):
        raise ValueError(f"{value!r} is not {what}")
    return value


def _rendered_ok(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.match(value):
        raise FlowError(f"{value!r} is not {what}")
    return value


class Hangup(NodeBase):
    """End the call: ``{"type":"event","name":"hangup","activityParams":{"hangupReason":...}}``."""

    type: Literal["hangup"]
    hangupReason: Text = Field(default="Bot ended the call", description="Shown in AudioCodes logs and CDRs.")
    activityParams: Params | None = ACTIVITY_PARAMS

    def run(self, turn: Turn) -> Step:
        params = merged(render_params(turn, self.activityParams), {"hangupReason": turn.text(self.hangupReason)})
        turn.send(event("hangup", activity_params=params))
        return End()

    def summary(self) -> str:
        return self.hangupReason


class SipHeader(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")]
    value: Text


class Transfer(NodeBase):
    """Hand the call over: a ``transfer`` (or ``handover``) event. VAIC normally leaves the bot after
    it; if it reports a failed attempt (``transferStatus``), the flow continues at ``on_failure``."""

    type: Literal["transfer"]
    transferTarget: Text = Field(description="`tel:+...` or `sip:...` URI.")
    handoverReason: Text | None = Field(default=None, description="Shown in AudioCodes logs.")
    transferReferredByURL: Text | None = Field(default=None, description="Adds a SIP Referred-By header.")
    transferSipHeaders: list[SipHeader] | None = Field(default=None, description="SIP headers for the transferee.")
    activityParams: Params | None = ACTIVITY_PARAMS
    event: Literal["transfer", "handover"] = Field(default="transfer", description="`handover` is a synonym.")
    on_failure: NodeId | None = Field(default=None, description="Where to go when the transfer fails.")

    @field_validator("transferTarget")
    @classmethod
    def _target(cls, value: str) -> str:
        return _static_ok(TRANSFER_TARGET, value, "a tel: or sip: URI")

    def run(self, turn: Turn) -> Step:
        target = _rendered_ok(TRANSFER_TARGET, turn.text(self.transferTarget).strip(), "a tel: or sip: URI")
        headers = [{"name": h.name, "value": turn.text(h.value)} for h in self.transferSipHeaders or []]
        own: dict[str, Any] = {
            "transferTarget": target,
            "handoverReason": turn.optional_text(self.handoverReason),
            "transferReferredByURL": turn.optional_text(self.transferReferredByURL),
            "transferSipHeaders": headers or None,
        }
        turn.send(event(self.event, activity_params=merged(render_params(turn, self.activityParams), own)))
        return End(waiting={"kind": "transfer"})

    def accepts(self, turn: Turn, waiting: dict[str, Any]) -> bool:
        if turn.input.event != "transferStatus" or self.on_failure is None:
            return False
        value = turn.input.value if isinstance(turn.input.value, dict) else {}
        return value.get("status") != "answered"

    def resume(self, turn: Turn, waiting: dict[str, Any]) -> Step:
        return Next(self.on_failure)

    def edges(self) -> list[tuple[str, str]]:
        return [("on_failure", self.on_failure)] if self.on_failure else []

    def summary(self) -> str:
        return self.transferTarget


class PlayUrl(Linear):
    """Play an audio file VAIC fetches: ``{"type":"event","name":"playUrl","activityParams":{...}}``."""

    type: Literal["play_url"]
    playUrlUrl: Text = Field(description="Media URL VAIC can reach (HTTP GET).")
    playUrlMediaFormat: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+/[a-z0-9]+$")] = Field(
        default="wav/lpcm16", description="e.g. `wav/lpcm16`, `raw/lpcm16`, `wav/mulaw`."
    )
    playUrlCaching: bool | None = Field(default=None, description="Let VAIC cache the audio.")
    playUrlAltText: Text | None = Field(default=None, description="Text shown in the transcript.")
    activityParams: Params | None = ACTIVITY_PARAMS

    def run(self, turn: Turn) -> Step:
        own = {
            "playUrlUrl": turn.text(self.playUrlUrl),
            "playUrlMediaFormat": self.playUrlMediaFormat,
            "playUrlCaching": self.playUrlCaching,
            "playUrlAltText": turn.optional_text(self.playUrlAltText),
        }
        turn.send(event("playUrl", activity_params=merged(render_params(turn, self.activityParams), own)))
        return Next(self.next)

    def summary(self) -> str:
        return self.playUrlUrl


class SendMetadata(Linear):
    """Send metadata as SIP INFO: ``{"type":"event","name":"sendMetaData","value":{...}}``."""

    type: Literal["send_metadata"]
    value: Annotated[dict[str, Any], DATA] = Field(description="The metadata object; templates allowed.")
    activityParams: Params | None = ACTIVITY_PARAMS

    def run(self, turn: Turn) -> Step:
        params = render_params(turn, self.activityParams)
        turn.send(event("sendMetaData", value=turn.data(self.value), activity_params=params))
        return Next(self.next)


class SetSessionParameters(Linear, SessionParameters):
    """Change call settings for the rest of the call: ``{"type":"event","name":"config",
    "sessionParams":{...}}``. Only the parameters set here are sent; ``additional`` holds any other
    VoiceAI Connect parameter (the named fields win over it, as in Cognigy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["session_params"]
    additional: Params | None = Field(default=None, description="Other parameters, sent unchecked by name.")

    @model_validator(mode="after")
    def _sets_something(self) -> SetSessionParameters:
        if not self._own() and not self.additional:
            raise ValueError("set at least one parameter")
        return self

    def _own(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in SessionParameters.model_fields if getattr(self, key) is not None}

    def run(self, turn: Turn) -> Step:
        params = dict(render_params(turn, self.additional) or {})
        params.update(render_params(turn, self._own()) or {})
        if "sendEventsToBot" in params:  # VAIC replaces the list: keep the events the flow needs in it
            params, turn.requested_events = merge_requested(turn.requested_events, params)
        turn.send(event("config", session_params=params))
        return Next(self.next)

    def summary(self) -> str:
        return ", ".join([*self._own(), *(self.additional or {})])


class CallRecording(Linear):
    """Start, stop, pause or resume SIPREC recording by the SBC."""

    type: Literal["call_recording"]
    action: Literal["start", "stop", "pause", "resume"]
    callRecordingServer: Text | None = Field(default=None, description="SRS IP Group on the SBC (start).")
    callRecordingId: Text | None = Field(default=None, description="Forwarded to the SRS (start).")
    callRecordingDestUsername: Text | None = Field(default=None, description="User in the SIPREC INVITE (start).")

    @model_validator(mode="after")
    def _start_only(self) -> CallRecording:
        if self.action != "start" and any(value is not None for value in self._fields().values()):
            raise ValueError("recording server, id and destination only apply to `action: start`")
        return self

    def _fields(self) -> dict[str, str | None]:
        return {
            "callRecordingServer": self.callRecordingServer,
            "callRecordingId": self.callRecordingId,
            "callRecordingDestUsername": self.callRecordingDestUsername,
        }

    def run(self, turn: Turn) -> Step:
        params = merged(None, {key: turn.optional_text(value) for key, value in self._fields().items()})
        turn.send(event(f"{self.action}CallRecording", activity_params=params))
        return Next(self.next)

    def summary(self) -> str:
        return self.action


class AgentAssist(Linear):
    """Start or stop speech recognition on a participant (one activity per participant)."""

    type: Literal["agent_assist"]
    action: Literal["start", "stop"]
    targetParticipant: Literal["both", "caller", "callee"] = "both"

    def run(self, turn: Turn) -> Step:
        participants = ["caller", "callee"] if self.targetParticipant == "both" else [self.targetParticipant]
        turn.send(*(event(f"{self.action}Recognition", activity_params={"targetParticipant": p}) for p in participants))
        return Next(self.next)

    def summary(self) -> str:
        return f"{self.action} {self.targetParticipant}"


class SendDtmf(Linear):
    """Play DTMF digits to the far end (VAIC 3.12+): only ``0-9*#``, at most 20."""

    type: Literal["send_dtmf"]
    dtmfDigits: Text = Field(description="Digits to send: 0-9, * and #, at most 20.")

    @field_validator("dtmfDigits")
    @classmethod
    def _digits(cls, value: str) -> str:
        return _static_ok(DTMF_DIGITS, value, "1-20 DTMF digits (0-9, * or #)")

    def run(self, turn: Turn) -> Step:
        digits = _rendered_ok(DTMF_DIGITS, turn.text(self.dtmfDigits).strip(), "1-20 DTMF digits (0-9, * or #)")
        turn.send(event("sendDtmf", activity_params={"dtmfDigits": digits}))
        return Next(self.next)

    def summary(self) -> str:
        return self.dtmfDigits
