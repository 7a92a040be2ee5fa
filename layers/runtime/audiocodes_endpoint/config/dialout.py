"""``dialout:`` of an endpoint file: where VAIC's dial-out API is, its credentials, who may be called.

Wire names (AudioCodes VoiceAI Connect ``outbound-calling.htm``; Live Hub ``Make_an_outbound_call.htm``):
the request carries ``bot``, ``target``, ``caller``, ``callerDisplayName``, ``machineDetection``,
``notifyUrl`` and ``metadata``. Secrets are references, as everywhere (settings.SecretRef).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

SecretRef = Annotated[str, StringConstraints(pattern=r"^(env|ssm|secretsmanager):\S+$", max_length=512)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DestinationPolicy(_Strict):
    """Who this endpoint may call: nobody unless a country code or a pattern allows the number."""

    country_codes: list[Annotated[int, Field(ge=1, le=999)]] = Field(default_factory=list)
    """Calling codes allowed (49 = Germany, 1 = NANP); a number in any of them may be called."""
    patterns: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(default_factory=list)
    """Regular expressions matched against the whole E.164 number (``^\\+4930\\d+$``)."""
    do_not_call: list[Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{1,14}$")]] = Field(default_factory=list)
    """E.164 numbers never called, whatever else allows them."""

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"pattern {pattern!r}: {error}") from None
        return value


class DialoutSettings(_Strict):
    api_key: SecretRef
    """Key for this endpoint's outbound routes (``X-API-Key``), like ``inject_api_key``."""
    api_url: Annotated[str, StringConstraints(pattern=r"^https?://[^\s/]+(/\S*)?$", max_length=512)]
    """VAIC / Live Hub base URL; the dial-out API is ``<api_url>/api/v1/actions/dialout``."""
    auth: Literal["oauth", "basic"] = "oauth"
    """``oauth``: OAuth 2.0 client credentials at ``token_url`` (VAIC); ``basic``: HTTP Basic (Live Hub)."""
    token_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$", max_length=512)] | None = None
    client_id: SecretRef
    client_secret: SecretRef
    bot: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    """The bot's name in VAIC (``bot``): the bot VAIC connects the answered call to."""
    caller: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    """Caller id presented to the callee (``caller``)."""
    caller_display_name: Annotated[str, StringConstraints(max_length=64)] | None = None
    machine_detection: bool = False
    """Ask VAIC for answering-machine detection; the result reaches the flow and the status history."""
    machine_detection_mode: Annotated[str, StringConstraints(pattern=r"^[A-Za-z-]{1,32}$")] = "detect"
    """The ``machineDetection`` value sent when on (inferred: ``disconnect`` appears in public Live Hub samples)."""
    answer_timeout_seconds: int = Field(default=30, ge=5, le=300)
    """``answerTimeoutSec``: ringing longer than this is a no-answer."""
    destinations: DestinationPolicy = DestinationPolicy()
    history_days: int = Field(default=30, ge=1, le=365)
    """How long call records and their status history are kept (DynamoDB TTL)."""

    @model_validator(mode="after")
    def _oauth_needs_token_url(self) -> DialoutSettings:
        if self.auth == "oauth" and not self.token_url:
            raise ValueError("token_url is required with auth: oauth")
        return self
