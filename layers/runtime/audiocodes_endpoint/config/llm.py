"""``llm:`` in an endpoint file: which model answers, how much it may say and how long it may take.

String settings may name environment variables (``${LLM_BASE_URL:-}``), expanded at load like
``variables``, so one endpoint file serves a local model under ``make run`` and Bedrock when deployed.
"""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

_ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?::-(?P<default>[^}]*))?\}")
ProviderName = Literal["bedrock", "openai", "none"]


class LlmSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: ProviderName = "bedrock"
    """``bedrock`` (Converse API), ``openai`` (any OpenAI-compatible chat-completions server) or
    ``none`` (no model configured: LLM nodes answer with their fallback)."""
    model: str = "eu.amazon.nova-lite-v1:0"
    """A Bedrock model or inference-profile id, or the OpenAI-compatible server's model name."""
    region: Annotated[str, StringConstraints(pattern=r"^([a-z]{2}(-[a-z]+)+-\d)?$")] = ""
    """Bedrock's region; empty: the Lambda's own."""
    base_url: str = ""
    """OpenAI-compatible: e.g. ``http://127.0.0.1:8080/v1`` (``/chat/completions`` is appended)."""
    api_key: Annotated[str, StringConstraints(pattern=r"^((env|ssm|secretsmanager):\S+)?$")] = ""
    """OpenAI-compatible: a secret reference (``env:``, ``ssm:``, ``secretsmanager:``), never the key;
    an ``env:`` variable that is not set sends no key."""
    guardrail_id: str = ""
    """Bedrock Guardrail identifier applied to every call (empty: none)."""
    guardrail_version: str = "DRAFT"
    max_tokens: int = Field(default=400, ge=1, le=8192)
    temperature: float | None = Field(default=None, ge=0, le=2)
    timeout_seconds: float = Field(default=8.0, gt=0, le=60)
    """The whole answer, tool calls included; then ``fallback_text`` is spoken."""
    fallback_text: Annotated[str, StringConstraints(min_length=1, max_length=500)] = (
        "Sorry, I cannot answer that right now."
    )
    history_turns: int = Field(default=10, ge=0, le=100)
    """Caller/bot exchanges kept in the session per history thread."""
    history_chars: int = Field(default=6000, ge=0, le=100_000)
    """...and at most this many characters of them (oldest dropped first)."""
    min_sentence_chars: int = Field(default=20, ge=1, le=500)
    """Async mode: shorter sentences wait for the next one before they are spoken."""
    mask_prompts: bool | None = None
    """Mask phone numbers in what is sent to the model; unset follows ``data_protection.mask_analytics``."""

    @field_validator("provider", "model", "region", "base_url", "api_key", "guardrail_id", mode="before")
    @classmethod
    def _expand_environment(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _ENV_REFERENCE.sub(lambda m: os.environ.get(m["name"], m["default"] or ""), value)
        return value

    @model_validator(mode="after")
    def _openai_needs_url(self) -> LlmSettings:
        if self.provider == "openai" and not self.base_url:
            raise ValueError("base_url: required when provider is openai")
        if self.api_key and not self.api_key.startswith(("env:", "ssm:", "secretsmanager:")):
            raise ValueError("api_key: must be a reference (env:NAME, ssm:/path or secretsmanager:name)")
        return self
