"""The AudioCodes session/activity parameter catalogue, typed: the parameters of Cognigy's AudioCodes
nodes (Cognigy/Extensions, extensions/audiocodes-vaig/src/utils/paramUtils.ts) plus VoiceAI Connect's
own (AudioCodes: Changing call settings,
https://techdocs.audiocodes.com/voice-ai-connect/Content/VAIG_Combined/changing-call-setting.htm).

Every field is optional and ``None`` means "not set": a node sends only what it sets, so an
untouched toggle never resets earlier session state (Cognigy's extension sent ``false`` for every
untouched toggle; we deliberately do not). String values may be templates; they are checked against
their pattern once rendered.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    ValidationError,
    field_validator,
    model_validator,
)

from audiocodes_endpoint.config.validation import problems
from audiocodes_endpoint.flows.fields import TEXT, is_template

Flag = Annotated[bool, Strict()]
Millis = Annotated[int, Strict(), Field(ge=0, le=3_600_000)]
TextParam = Annotated[str, TEXT]

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_DTMF_KEY = re.compile(r"^[0-9*#]$")
_URL = re.compile(r"^https?://\S+$")

GoogleInteractionType = Literal[
    "DISCUSSION",
    "PRESENTATION",
    "PHONE_CALL",
    "VOICEMAIL",
    "PROFESSIONALLY_PRODUCED",
    "VOICE_SEARCH",
    "VOICE_COMMAND",
    "DICTATION",
]


def _speech_context(value: dict[str, Any]) -> dict[str, Any]:
    phrases, boost = value.get("phrases"), value.get("boost")
    if set(value) - {"phrases", "boost"}:
        raise ValueError("a speech context has `phrases` and optionally `boost`")
    if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p for p in phrases):
        raise ValueError("`phrases` is a non-empty list of texts")
    if boost is not None and (isinstance(boost, bool) or not isinstance(boost, int | float) or not 0 <= boost <= 20):
        raise ValueError("`boost` is a number from 0 to 20")
    return value


def _check(pattern: re.Pattern[str], value: str | None, what: str) -> str | None:
    if value is None or is_template(value) or pattern.match(value):
        return value
    raise ValueError(f"{value!r} is not {what}")


class SessionParameters(BaseModel):
    """Call settings VoiceAI Connect understands; see the AudioCodes documentation for details."""

    model_config = ConfigDict(extra="forbid")

    # STT / TTS
    language: TextParam | None = Field(None, description="BCP-47 language for STT and TTS, e.g. `en-AU`.")
    ttsLanguage: TextParam | None = Field(None, description="TTS language when it differs from STT.")
    sttLanguage: TextParam | None = Field(None, description="STT language when it differs from TTS.")
    sttDisablePunctuation: Flag | None = Field(None, description="No punctuation in STT results.")
    voiceName: TextParam | None = Field(None, description="TTS voice.")
    disableTtsCache: Flag | None = Field(None, description="Do not cache TTS audio.")
    # AudioCodes: Changing the speech provider (changing-the-speech-provider.htm): providers the
    # administrator configured in VAIC (additionalSttProviders/additionalTtsProviders).
    sttProvider: TextParam | None = Field(None, description="Speech-to-text provider (configured in VAIC).")
    ttsProvider: TextParam | None = Field(None, description="Text-to-speech provider (configured in VAIC).")
    # Cognigy's Mute Speech Input node on AudioCodes (voice/mappers/muteSpeechInput.mapper.js).
    enableSpeechInput: Flag | None = Field(None, description="false: ignore the caller's speech.")
    # DTMF
    sendDTMF: Flag | None = Field(None, description="Send DTMF events to the bot.")
    dtmfCollect: Flag | None = Field(None, description="Buffer digits and send them together.")
    dtmfCollectInterDigitTimeoutMS: Millis | None = Field(None, description="Inter-digit timeout (ms).")
    dtmfCollectMaxDigits: Annotated[int, Strict(), Field(ge=1, le=100)] | None = Field(
        None, description="Submit automatically at this many digits."
    )
    dtmfCollectSubmitDigit: TextParam | None = Field(None, description="Key that submits the digits, e.g. `#`.")
    # Barge-in
    bargeIn: Flag | None = Field(None, description="The caller may interrupt prompts by speaking.")
    bargeInOnDTMF: Flag | None = Field(None, description="The caller may interrupt prompts with DTMF.")
    bargeInMinWordCount: Annotated[int, Strict(), Field(ge=0, le=5)] | None = Field(
        None, description="Words needed before speech counts as barge-in (0-5)."
    )
    # Continuous ASR
    continuousASR: Flag | None = Field(None, description="Join several recognitions into one message.")
    continuousASRDigits: TextParam | None = Field(None, description="DTMF key that flushes the buffer at once.")
    continuousASRTimeoutInMS: Annotated[int, Strict(), Field(ge=500, le=60_000)] | None = Field(
        None, description="Silence (ms) before the buffer is sent; below `userNoInputTimeoutMS`."
    )
    # User timeouts
    userNoInputTimeoutMS: Millis | None = Field(None, description="How long to wait for the caller (ms).")
    userNoInputRetries: Annotated[int, Strict(), Field(ge=0, le=999)] | None = Field(
        None, description="Maximum number of no-input timeouts."
    )
    userNoInputSendEvent: Flag | None = Field(None, description="Send a `noUserInput` event to the bot.")
    userNoInputSpeech: TextParam | None = Field(None, description="Prompt VAIC speaks on a timeout.")
    userNoInputUrl: TextParam | None = Field(None, description="Audio VAIC plays on a timeout.")
    # Bot timeouts
    botNoInputTimeoutMS: Millis | None = Field(None, description="How long VAIC waits for the bot (ms).")
    botNoInputRetries: Annotated[int, Strict(), Field(ge=0, le=999)] | None = Field(
        None, description="Number of bot-timeout repetitions."
    )
    botNoInputSpeech: TextParam | None = Field(None, description="Filler prompt while the bot is slow.")
    botNoInputUrl: TextParam | None = Field(None, description="Filler audio while the bot is slow.")
    # AudioCodes: Handling bot delay (handle-bot-delay.htm), filler music.
    abortPlayUrlOnBotMessage: Flag | None = Field(None, description="Stop the filler audio when the bot answers.")
    botFailOnErrors: Flag | None = Field(None, description="Disconnect when bot errors/timeouts are exhausted.")
    botNoInputGiveUpTimeoutMS: Millis | None = Field(None, description="Disconnect after this long without bot.")
    resumeRecognitionTimeoutMS: Millis | None = Field(None, description="Resume recognition after this long.")
    expectAnotherBotMessage: Flag | None = Field(None, description="More bot messages follow: hold user timer.")
    # Azure
    azureSpeechRecognitionMode: Literal["conversation", "dictation", "interactive"] | None = Field(
        None, description="Azure recognition mode."
    )
    sttContextId: TextParam | None = Field(None, description="Azure Custom Speech endpoint id.")
    azureEnableAudioLogging: Flag | None = Field(None, description="Azure audio logging.")
    # Google
    googleInteractionType: GoogleInteractionType | None = Field(None, description="Google interaction type.")
    # Speech hints: `sttSpeechContexts: [{phrases, boost}]`, the name VAIC takes for the AudioCodes Bot
    # API and what Cognigy's nodes sent (its `sttContextPhrases`/`sttContextBoost` were node field
    # names its mapper turned into this; both are still accepted here and sent this way).
    sttSpeechContexts: list[Annotated[dict[str, Any], AfterValidator(_speech_context)]] | None = Field(
        None, description="Speech hints: `[{phrases: [...], boost: 0-20}]`."
    )
    # Events and notifications
    sendEventsToBot: list[str] | None = Field(None, description="Events VAIC sends, e.g. `[noUserInput]`.")
    notifyParamChange: list[str] | None = Field(None, description="Parameters whose change VAIC reports.")
    playUrlFailureHandling: str | None = Field(None, description="e.g. `notify-bot`.")

    @model_validator(mode="before")
    @classmethod
    def _cognigy_hint_fields(cls, data: Any) -> Any:
        """Cognigy's node fields ``sttContextPhrases``/``sttContextBoost`` become ``sttSpeechContexts``."""
        if isinstance(data, dict) and ("sttContextPhrases" in data or "sttContextBoost" in data):
            data = dict(data)
            phrases, boost = data.pop("sttContextPhrases", None), data.pop("sttContextBoost", None)
            if phrases is not None and "sttSpeechContexts" not in data:
                data["sttSpeechContexts"] = [{"phrases": phrases, **({"boost": boost} if boost is not None else {})}]
        return data

    @field_validator("language", "ttsLanguage", "sttLanguage")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return _check(_LANGUAGE, value, "a BCP-47 language tag such as en-US")

    @field_validator("dtmfCollectSubmitDigit")
    @classmethod
    def _submit(cls, value: str | None) -> str | None:
        return _check(_DTMF_KEY, value, "one DTMF key (0-9, * or #)")

    @field_validator("continuousASRDigits")
    @classmethod
    def _flush(cls, value: str | None) -> str | None:
        return None if value == "" else _check(_DTMF_KEY, value, "one DTMF key (0-9, * or #)")

    @field_validator("userNoInputUrl", "botNoInputUrl")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _check(_URL, value, "an http(s) URL")

    def sent(self) -> dict[str, Any]:
        """Only the parameters that are set, as VAIC expects them."""
        return self.model_dump(exclude_none=True)


class AnyParameters(SessionParameters):
    """Free-form parameters (activityParams/sessionParams on any activity): known names are typed,
    the many other VoiceAI Connect parameters pass unchecked."""

    model_config = ConfigDict(extra="allow")


def check_parameters(params: dict[str, Any]) -> dict[str, Any]:
    """Validate known parameters by type; raise ``ValueError`` naming the parameter."""
    try:
        AnyParameters.model_validate(params)
    except ValidationError as error:
        raise ValueError(describe(error)) from None
    return params


def describe(error: ValidationError) -> str:
    return problems(error)


CATALOGUE: tuple[str, ...] = tuple(SessionParameters.model_fields)
