"""``translation:`` of an endpoint (``features.translation`` translates)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

AUTO = "auto"


# Amazon Translate uses two-letter codes except for these regional variants.
_REGIONAL = {"fr-ca", "es-mx", "pt-pt", "zh-tw", "fa-af"}


LanguageCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(?:[-_][A-Za-z]{2,4})?$")]


def translate_code(language: str) -> str:
    """A VAIC/BCP-47 language (``de-DE``, ``en_US``, ``pt-PT``) as Amazon Translate names it (``de``, ``en``,
    ``pt-PT``)."""
    normalized = language.replace("_", "-").lower()
    if normalized in _REGIONAL:
        primary, region = normalized.split("-")
        return f"{primary}-{region.upper()}"
    return normalized.split("-")[0]


VaicLanguage = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,3}$")]
"""A language as VAIC's speech services name it (BCP-47: ``de-DE``, ``fr-CA``)."""


class CallerVoice(BaseModel):
    """How VAIC speaks (and, with detection, listens to) one caller language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: VaicLanguage
    """``language`` for VAIC's text-to-speech and speech-to-text, e.g. ``de-DE``."""
    voice: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    """``voiceName``, e.g. ``de-DE-KatjaNeural`` (the TTS vendor's name)."""

    def as_vaic(self) -> dict[str, str]:
        return {"language": self.language, **({"voiceName": self.voice} if self.voice else {})}


class LanguageDetectionSettings(BaseModel):
    """``translation.detection``: VAIC recognises which of ``voices`` the caller speaks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    auto_switch: bool = True
    """``languageDetectionAutoSwitch``: VAIC switches its recognition to the detected language itself."""


class TranslationSettings(BaseModel):
    """``translation:`` in an endpoint file. Off by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    user_language: LanguageCode | Literal["auto"] = AUTO
    """The caller's language, or ``auto`` to detect it."""
    detect_after_inputs: int = Field(default=1, ge=1, le=10)
    """With ``auto``: how many of the caller's inputs decide the language (Cognigy's execution count)."""
    flow_language: LanguageCode = "en"
    """The language the flow's intents and messages are written in."""
    no_translation_marker: Annotated[str, StringConstraints(min_length=1, max_length=8)] = "**"
    always_remove_markers: bool = True
    """Remove markers even when a message is not translated. On by default: on a phone line a marker
    left in the text would reach text-to-speech."""
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")] | None = None
    timeout_seconds: float = Field(default=2.0, gt=0, le=10)
    cache_size: int = Field(default=1000, ge=0, le=100_000)
    voices: dict[LanguageCode, CallerVoice] = Field(default_factory=dict)
    """Per caller language (``de``, ``fr-CA``): VAIC's language and voice for messages in it."""
    detection: LanguageDetectionSettings = LanguageDetectionSettings()

    @field_validator("user_language", "flow_language")
    @classmethod
    def _provider_code(cls, value: str) -> str:
        return value if value == AUTO else translate_code(value)

    @field_validator("voices", mode="after")
    @classmethod
    def _voices_by_provider_code(cls, value: dict[str, CallerVoice]) -> dict[str, CallerVoice]:
        keyed = {translate_code(language): voice for language, voice in value.items()}
        if len(keyed) != len(value):
            raise ValueError("two entries name the same language")
        return keyed

    @model_validator(mode="after")
    def _detection_needs_languages(self) -> TranslationSettings:
        if self.detection.enabled and not (self.enabled and self.voices):
            raise ValueError("detection needs translation enabled and at least one entry in voices")
        return self
