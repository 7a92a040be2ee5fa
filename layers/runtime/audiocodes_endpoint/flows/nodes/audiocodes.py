"""The AudioCodes nodes Cognigy had (Cognigy/Documentation, docs/ai/build/node-reference/voice/audiocodes/;
their payloads from Cognigy/Extensions, extensions/audiocodes-vaig). Fields that become AudioCodes
parameters keep AudioCodes' names (``transferTarget``, ``hangupReason``, ...), so the YAML reads
like the activity it produces."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from audiocodes_endpoint.channel.audiocodes import event
from audiocodes_endpoint.config.transfer_targets import is_international, transfer_uri
from audiocodes_endpoint.flows.fields import DATA, NodeId, Text, is_template
from audiocodes_endpoint.flows.nodes.base import Linear, NodeBase
from audiocodes_endpoint.flows.nodes.common import ACTIVITY_PARAMS, Params, merged, render_params
from audiocodes_endpoint.flows.params import SessionParameters
from audiocodes_endpoint.flows.steps import End, Next, Step
from audiocodes_endpoint.flows.turn import FlowError

if TYPE_CHECKING:
    from audiocodes_endpoint.flows.runtime import Turn

TRANSFER_TARGET = re.compile(r"^((tel:)?\s*[+(0-9][0-9()\-./ ]{1,40}|sips?:[^\s<>\"]{1,253})$", re.IGNORECASE)
DEFAULT_HANGUP_REASON = "Bot ended the call"
PARTICIPANT = re.compile(r"^[^\x00-\x1f]{1,128}$")
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
    hangupReason: Text = Field(
        default=DEFAULT_HANGUP_REASON,
        description="Shown in AudioCodes logs and CDRs; an empty reason (once rendered) sends the default.",
    )
    activityParams: Params | None = ACTIVITY_PARAMS

    def run(self, turn: Turn) -> Step:
        # Cognigy's hang-up mapper fell back to a default when the reason was empty; so do we.
        reason = turn.text(self.hangupReason).strip() or DEFAULT_HANGUP_REASON
        params = merged(render_params(turn, self.activityParams), {"hangupReason": reason})
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
    transferTarget: Text = Field(
        description=(
            "A phone number (E.164 `+49...`, international `0049...` or national `030 ...` read in the "
            "endpoint's `default_region`; spaces, dashes, dots, slashes and brackets allowed), sent as "
            "`tel:+<E.164>`; or a `sip:` URI, sent unchanged."
        )
    )
    handoverReason: Text | None = Field(default=None, description="Shown in AudioCodes logs.")
    transferReferredByURL: Text | None = Field(default=None, description="Adds a SIP Referred-By header.")
    transferSipHeaders: list[SipHeader] | None = Field(default=None, description="SIP headers for the transferee.")
    activityParams: Params | None = ACTIVITY_PARAMS
    event: Literal["transfer", "handover"] = Field(default="transfer", description="`handover` is a synonym.")
    on_failure: NodeId | None = Field(default=None, description="Where to go when the transfer fails.")

    @field_validator("transferTarget")
    @classmethod
    def _target(cls, value: str) -> str:
        _static_ok(TRANSFER_TARGET, value, "a phone number (E.164, 00..., national) or a sip: URI")
        if not is_template(value) and is_international(value):
            transfer_uri(value, None)  # raises ValueError (a load error) when it is not a number
        return value  # national numbers are checked against each endpoint's default_region

    def national_target(self) -> str | None:
        """The static target when it is a number in national form (its region is the endpoint's)."""
        target = self.transferTarget
        if is_template(target) or target.strip().lower().startswith(("sip:", "sips:")) or is_international(target):
            return None
        return target

    def run(self, turn: Turn) -> Step:
        try:
            target = transfer_uri(turn.text(self.transferTarget), turn.options.default_region)
        except ValueError as error:
            raise FlowError(f"transferTarget: {error}") from None
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
        turn.send(event("config", session_params=params))
        return Next(self.next)

    def summary(self) -> str:
        return ", ".join([*self._own(), *(self.additional or {})])


class CallRecording(Linear):
    """Start, stop, pause or resume SIPREC recording by the SBC (AudioCodes: Recording calls,
    https://techdocs.audiocodes.com/voice-ai-connect/Content/VAIG_Combined/call-recording.htm).

    Which recording server (SRS) records is VoiceAI Connect configuration: ``callRecordingServer`` is
    a bot *administrative* parameter there, so a flow cannot set it. The identifier and destination
    user are the parameters Cognigy's Call Recording node sent with ``startCallRecording``."""

    type: Literal["call_recording"]
    action: Literal["start", "stop", "pause", "resume"]
    callRecordingServer: str | None = Field(
        default=None,
        description="Not accepted: a VoiceAI Connect bot administrative parameter, configured on the bot in VAIC.",
    )
    callRecordingId: Text | None = Field(default=None, description="Forwarded to the SRS to correlate (start).")
    callRecordingDestUsername: Text | None = Field(default=None, description="User in the SIPREC INVITE (start).")

    @field_validator("callRecordingServer")
    @classmethod
    def _administrative(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError(
                "callRecordingServer is a VoiceAI Connect bot administrative parameter (call-recording.htm): "
                "set it in the bot's configuration in VAIC, not in the flow"
            )
        return value

    @model_validator(mode="after")
    def _start_only(self) -> CallRecording:
        if self.action != "start" and any(value is not None for value in self._fields().values()):
            raise ValueError("recording id and destination only apply to `action: start`")
        return self

    def _fields(self) -> dict[str, str | None]:
        return {"callRecordingId": self.callRecordingId, "callRecordingDestUsername": self.callRecordingDestUsername}

    def run(self, turn: Turn) -> Step:
        params = merged(None, {key: turn.optional_text(value) for key, value in self._fields().items()})
        turn.send(event(f"{self.action}CallRecording", activity_params=params))
        return Next(self.next)

    def summary(self) -> str:
        return self.action


class AgentAssist(Linear):
    """Start or stop speech recognition on a participant, one activity per participant (AudioCodes:
    Agent assist, https://techdocs.audiocodes.com/voice-ai-connect/Content/VAIG_Combined/agent-assist.htm).

    ``targetParticipant`` is a participant as the call's ``start`` event lists it in
    ``parameters.participants[].participant`` (AudioCodes' ``call-transcript-bot.ts`` sample starts
    recognition on each of them); ``all`` does exactly that, ``both`` means caller and callee (as
    Cognigy's Agent Assist node), anything else (templates allowed) is sent as it is."""

    type: Literal["agent_assist"]
    action: Literal["start", "stop"]
    targetParticipant: Text = Field(
        default="both", description="`all`, `both` (caller and callee), or a participant name; templates allowed."
    )

    def run(self, turn: Turn) -> Step:
        value = turn.text(self.targetParticipant).strip()
        if value == "both":
            participants = ["caller", "callee"]
        elif value == "all":
            participants = _call_participants(turn)
        else:
            participants = [value]
        for participant in participants:
            _rendered_ok(PARTICIPANT, participant, "a participant name (1-128 characters, no control characters)")
        turn.send(*(event(f"{self.action}Recognition", activity_params={"targetParticipant": p}) for p in participants))
        return Next(self.next)

    def summary(self) -> str:
        return f"{self.action} {self.targetParticipant}"


def _call_participants(turn: Turn) -> list[str]:
    call = turn.context.get("call")
    listed = call.get("participants") if isinstance(call, dict) else None
    names = [p["participant"] for p in listed or [] if isinstance(p, dict) and isinstance(p.get("participant"), str)]
    if not names:
        raise FlowError("targetParticipant `all`: the call's start event listed no participants")
    return names


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
