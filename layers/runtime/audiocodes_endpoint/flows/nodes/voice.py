"""Cognigy's generic voice nodes (Cognigy/Documentation, docs/ai/build/node-reference/voice/generic/)
with friendly field names. Each sends one ``config`` event whose ``sessionParams`` hold only the
AudioCodes parameters the node sets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints, ValidationError, model_validator

from audiocodes_endpoint.channel.audiocodes import event
from audiocodes_endpoint.flows.nodes.base import Linear
from audiocodes_endpoint.flows.params import SessionParameters, describe
from audiocodes_endpoint.flows.steps import Next, Step

if TYPE_CHECKING:
    from audiocodes_endpoint.flows.runtime import Turn

DtmfKey = Annotated[str, StringConstraints(pattern=r"^[0-9*#]$")]


class VoiceConfig(Linear):
    """Maps friendly fields onto AudioCodes session parameters (``MAPPING``: field -> parameter)."""

    MAPPING: ClassVar[dict[str, str]] = {}

    def session_params(self) -> dict[str, Any]:
        return {param: getattr(self, name) for name, param in self.MAPPING.items() if getattr(self, name) is not None}

    @model_validator(mode="after")
    def _valid(self) -> VoiceConfig:
        params = self.session_params()
        if not params:
            raise ValueError("set at least one setting")
        try:
            SessionParameters.model_validate(params)
        except ValidationError as error:  # reported in the catalogue's terms
            raise ValueError(describe(error)) from None
        return self

    def run(self, turn: Turn) -> Step:
        turn.ask_for(self.needs_events())  # normally asked for when the flow started: then a no-op
        turn.send(event("config", session_params=self.session_params()))
        return Next(self.next)

    def summary(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.session_params().items())


class BargeIn(VoiceConfig):
    """Barge-in on speech and/or DTMF."""

    MAPPING: ClassVar[dict[str, str]] = {
        "on_speech": "bargeIn",
        "on_dtmf": "bargeInOnDTMF",
        "min_words": "bargeInMinWordCount",
    }
    type: Literal["barge_in"]
    on_speech: bool | None = Field(default=None, description="bargeIn")
    on_dtmf: bool | None = Field(default=None, description="bargeInOnDTMF (also turns on sendDTMF)")
    min_words: int | None = Field(default=None, ge=0, le=5, description="bargeInMinWordCount (0-5)")

    def session_params(self) -> dict[str, Any]:
        params = super().session_params()
        if self.on_dtmf:
            # VAIC sends no DTMF to the bot unless sendDTMF is on (AudioCodes: Receiving DTMF digits
            # notification, receive-dtmf.htm: "Disabled - By default"); a key that interrupts a prompt
            # should also reach the flow. Cognigy's barge-in mapper sent the same pair.
            params["sendDTMF"] = True
        return params


class ContinuousAsr(VoiceConfig):
    """Join several recognitions into one message until silence or a submit key."""

    MAPPING: ClassVar[dict[str, str]] = {
        "enabled": "continuousASR",
        "submit_digit": "continuousASRDigits",
        "timeout_ms": "continuousASRTimeoutInMS",
    }
    type: Literal["continuous_asr"]
    enabled: bool | None = Field(default=None, description="continuousASR")
    submit_digit: DtmfKey | None = Field(default=None, description="continuousASRDigits")
    timeout_ms: int | None = Field(default=None, ge=500, le=60_000, description="continuousASRTimeoutInMS")


class DtmfCollect(VoiceConfig):
    """Capture DTMF and send the digits together (enabling it also turns on ``sendDTMF``)."""

    MAPPING: ClassVar[dict[str, str]] = {
        "send_dtmf": "sendDTMF",
        "enabled": "dtmfCollect",
        "inter_digit_timeout_ms": "dtmfCollectInterDigitTimeoutMS",
        "max_digits": "dtmfCollectMaxDigits",
        "submit_digit": "dtmfCollectSubmitDigit",
    }
    type: Literal["dtmf_collect"]
    enabled: bool | None = Field(default=None, description="dtmfCollect")
    send_dtmf: bool | None = Field(default=None, description="sendDTMF (default: true when `enabled`)")
    inter_digit_timeout_ms: int | None = Field(default=None, ge=0, description="dtmfCollectInterDigitTimeoutMS")
    max_digits: int | None = Field(default=None, ge=1, le=100, description="dtmfCollectMaxDigits")
    submit_digit: DtmfKey | None = Field(default=None, description="dtmfCollectSubmitDigit")

    def session_params(self) -> dict[str, Any]:
        params = super().session_params()
        if self.enabled and self.send_dtmf is None:
            params = {"sendDTMF": True, **params}  # digits are only collected if VAIC sends them
        return params


class UserInputTimeout(VoiceConfig):
    """How long VAIC waits for the caller, and what it does then (a ``noUserInput`` event by default)."""

    MAPPING: ClassVar[dict[str, str]] = {
        "timeout_ms": "userNoInputTimeoutMS",
        "retries": "userNoInputRetries",
        "send_event": "userNoInputSendEvent",
        "speech": "userNoInputSpeech",
        "url": "userNoInputUrl",
    }
    type: Literal["user_input_timeout"]
    timeout_ms: int | None = Field(default=None, ge=0, description="userNoInputTimeoutMS")
    retries: int | None = Field(default=None, ge=0, le=999, description="userNoInputRetries")
    send_event: bool | None = Field(default=True, description="userNoInputSendEvent")
    speech: str | None = Field(default=None, description="userNoInputSpeech")
    url: str | None = Field(default=None, description="userNoInputUrl")

    def needs_events(self) -> frozenset[str]:
        return frozenset({"noUserInput"}) if self.send_event else frozenset()


class MuteSpeechInput(VoiceConfig):
    """Stop (or resume) listening to the caller's speech, e.g. while reading out terms: Cognigy's
    Mute Speech Input node, which its AudioCodes mapper sent as ``enableSpeechInput`` (Cognigy
    ``voice/mappers/muteSpeechInput.mapper.js``; docs.cognigy.com .../voice/generic/mute-speech-input)."""

    MAPPING: ClassVar[dict[str, str]] = {}
    type: Literal["mute_speech_input"]
    mute: bool = Field(default=True, description="true: ignore the caller's speech; false: listen again.")

    def session_params(self) -> dict[str, Any]:
        return {"enableSpeechInput": not self.mute}


class SessionSpeech(VoiceConfig):
    """Speech settings for the rest of the call: Cognigy's Session Speech Parameters node.

    Vendors are VAIC speech *providers* configured by the administrator (``sttProvider`` /
    ``ttsProvider``, AudioCodes: Changing the speech provider, changing-the-speech-provider.htm);
    language and voice as in AudioCodes' Speech customization (speech_customization.htm); hints as
    ``sttSpeechContexts``."""

    MAPPING: ClassVar[dict[str, str]] = {
        "stt_provider": "sttProvider",
        "tts_provider": "ttsProvider",
        "language": "language",
        "stt_language": "sttLanguage",
        "tts_language": "ttsLanguage",
        "voice": "voiceName",
        "disable_punctuation": "sttDisablePunctuation",
        "stt_context_id": "sttContextId",
    }
    type: Literal["session_speech"]
    stt_provider: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="sttProvider: a speech-to-text provider configured in VAIC."
    )
    tts_provider: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="ttsProvider: a text-to-speech provider configured in VAIC."
    )
    language: str | None = Field(default=None, description="language (STT and TTS), e.g. `de-DE`.")
    stt_language: str | None = Field(default=None, description="sttLanguage, when it differs from TTS.")
    tts_language: str | None = Field(default=None, description="ttsLanguage, when it differs from STT.")
    voice: str | None = Field(default=None, description="voiceName, e.g. `de-DE-KatjaNeural`.")
    disable_punctuation: bool | None = Field(default=None, description="sttDisablePunctuation.")
    stt_context_id: str | None = Field(default=None, description="sttContextId (Azure custom speech endpoint).")
    hints: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = Field(
        default=None, description="Phrases the recogniser should prefer (sttSpeechContexts.phrases)."
    )
    hints_boost: int | float | None = Field(default=None, ge=0, le=20, description="sttSpeechContexts.boost (0-20).")

    def session_params(self) -> dict[str, Any]:
        params = super().session_params()
        if self.hints:
            boost = {"boost": self.hints_boost} if self.hints_boost is not None else {}
            params["sttSpeechContexts"] = [{"phrases": list(self.hints), **boost}]
        return params


class UserNoInput(VoiceConfig):
    """What happens when the caller says nothing: Cognigy's User No Input node with its mode.

    ``event``: VAIC sends ``noUserInput`` to the flow (asked for with ``sendEventsToBot``; a waiting
    question reprompts, then goes to ``on_no_input``); ``speech``: VAIC itself says ``speech``;
    ``play``: VAIC plays ``url``; each up to ``retries`` times. Parameters as AudioCodes' Inactivity
    detection (inactivity-detection.htm) and Cognigy's User No Input mapper name them."""

    MAPPING: ClassVar[dict[str, str]] = {"timeout_ms": "userNoInputTimeoutMS", "retries": "userNoInputRetries"}
    type: Literal["user_no_input"]
    mode: Literal["event", "speech", "play"] = Field(default="event", description="event, speech or play.")
    timeout_ms: int = Field(default=10_000, ge=500, le=600_000, description="userNoInputTimeoutMS")
    retries: int = Field(default=1, ge=0, le=999, description="userNoInputRetries")
    speech: str | None = Field(default=None, description="`mode: speech`: userNoInputSpeech.")
    url: str | None = Field(default=None, description="`mode: play`: userNoInputUrl (http/https).")

    @model_validator(mode="after")
    def _mode_fields(self) -> UserNoInput:
        if self.mode == "speech" and not self.speech:
            raise ValueError("`mode: speech` needs `speech` (what VAIC says)")
        if self.mode == "play" and not self.url:
            raise ValueError("`mode: play` needs `url` (the audio VAIC plays)")
        if (self.mode != "speech" and self.speech is not None) or (self.mode != "play" and self.url is not None):
            raise ValueError("`speech` belongs to `mode: speech`, `url` to `mode: play`")
        return self

    def session_params(self) -> dict[str, Any]:
        params = super().session_params()
        if self.mode == "event":
            params["userNoInputSendEvent"] = True
        elif self.mode == "speech":
            params["userNoInputSpeech"] = self.speech
        else:
            params["userNoInputUrl"] = self.url
        return params

    def needs_events(self) -> frozenset[str]:
        return frozenset({"noUserInput"}) if self.mode == "event" else frozenset()


class BotDelay(VoiceConfig):
    """Cover slow work (an HTTP call, a code node): VAIC says ``speech`` or plays ``url`` after
    ``timeout_ms`` without a bot answer, up to ``retries`` times, and gives up after ``give_up_ms``
    (AudioCodes: Handling bot delay, handle-bot-delay.htm); it overrides the endpoint's ``bot_delay``
    for the rest of the call. VAIC gets a turn's activities together (sync mode: in the HTTP answer,
    after the slow node ran), so put it in the turn *before* the slow work, e.g. just before the
    question whose answer triggers it."""

    MAPPING: ClassVar[dict[str, str]] = {
        "timeout_ms": "botNoInputTimeoutMS",
        "speech": "botNoInputSpeech",
        "url": "botNoInputUrl",
        "retries": "botNoInputRetries",
        "give_up_ms": "botNoInputGiveUpTimeoutMS",
        "abort_on_bot_message": "abortPlayUrlOnBotMessage",
    }
    type: Literal["bot_delay"]
    timeout_ms: int = Field(ge=0, le=600_000, description="botNoInputTimeoutMS")
    speech: str | None = Field(default=None, description="botNoInputSpeech: what VAIC says meanwhile.")
    url: str | None = Field(default=None, description="botNoInputUrl: filler audio VAIC plays meanwhile.")
    retries: int | None = Field(default=None, ge=0, le=999, description="botNoInputRetries")
    give_up_ms: int | None = Field(default=None, ge=0, le=3_600_000, description="botNoInputGiveUpTimeoutMS")
    abort_on_bot_message: bool | None = Field(
        default=None, description="abortPlayUrlOnBotMessage: stop the filler audio when the bot answers."
    )

    @model_validator(mode="after")
    def _one_filler(self) -> BotDelay:
        if self.speech is not None and self.url is not None:
            raise ValueError("set `speech` or `url`, not both")
        return self
