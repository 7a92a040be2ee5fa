"""Cognigy's generic voice nodes (cognigy-endpoint.md 4.4) with friendly field names. Each sends one
``config`` event whose ``sessionParams`` hold only the AudioCodes parameters the node sets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field, StringConstraints, ValidationError, model_validator

from ...protocol import event
from ..params import SessionParameters, describe
from ..steps import Next, Step
from .base import Linear

if TYPE_CHECKING:
    from ..runtime import Turn

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
    on_dtmf: bool | None = Field(default=None, description="bargeInOnDTMF")
    min_words: int | None = Field(default=None, ge=0, le=5, description="bargeInMinWordCount (0-5)")


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
