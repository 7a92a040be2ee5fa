"""``nlu:`` of an endpoint: which connector recognises intents (``features.external_nlu``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from audiocodes_endpoint.config.llm import LlmSettings


class LexSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bot_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-zA-Z]{10}$")]
    bot_alias_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-zA-Z]{10}$")]
    """``TSTALIASID`` is Lex's draft alias; use a published alias in production."""
    locale_id: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}_(?:[A-Z]{2}|\d{3})$")] = "en_US"
    region: Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")] | None = None
    """The bot's region; unset uses the Lambda's own region."""
    timeout_seconds: float = Field(default=2.0, gt=0, le=10)
    """Connect and read timeout of one ``RecognizeText`` call (no retries: a caller is waiting)."""


class NluSettings(BaseModel):
    """``nlu:`` in an endpoint file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connector: Literal["builtin", "lex", "code", "llm", "none"] = "builtin"
    threshold: float | None = Field(default=None, ge=0, le=1)
    """Minimum score for an intent to count, for any connector; unset keeps the connector's own
    (the built-in matcher's ``agent/intents.yaml`` threshold; Lex's confidence threshold)."""
    lex: LexSettings | None = None
    function: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_]\w*\.[A-Za-z_]\w*$")] | None = None
    """For ``code``: ``module.function`` in ``agent/extensions/``, called as
    ``function(*, text: str, language: str | None) -> dict | NluResult | None``."""
    timeout_seconds: float = Field(default=2.0, gt=0, le=10)
    """Time limit of a ``code`` connector call."""
    llm: LlmSettings | None = None
    """For ``llm``: the model that classifies (often a smaller one than the flow's), few-shot from
    ``agent/intents.yaml``."""

    @model_validator(mode="after")
    def _connector_has_its_settings(self) -> NluSettings:
        if self.connector == "lex" and self.lex is None:
            raise ValueError("lex: required when connector is lex (bot_id, bot_alias_id, locale_id)")
        if self.connector == "llm" and self.llm is None:
            raise ValueError("llm: required when connector is llm (provider, model, ...)")
        if self.connector == "code" and self.function is None:
            raise ValueError("function: required when connector is code (module.function)")
        return self
