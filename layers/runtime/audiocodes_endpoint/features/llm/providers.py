"""What a flow turn gets to reach models: the endpoint's settings and one provider per endpoint and kind."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from audiocodes_endpoint.config.llm import LlmSettings, ProviderName
from audiocodes_endpoint.features.llm.types import ModelError, Provider

_providers: dict[tuple[ProviderName, LlmSettings], Provider] = {}
_lock = threading.Lock()
_bedrock: Callable[[LlmSettings], Provider] | None = None


def use_bedrock(factory: Callable[[LlmSettings], Provider]) -> None:
    """How ``provider: bedrock`` is made (``adapters.aws.bedrock``; the wiring installs it)."""
    global _bedrock
    _bedrock = factory


@dataclass(frozen=True)
class LlmRuntime:
    settings: LlmSettings
    streaming: bool = False
    """Async mode: speak each sentence as it is complete; sync: one output with the whole answer."""
    mask_prompts: bool = False
    providers: Callable[[ProviderName], Provider] | None = None
    """Tests inject providers; unset: :func:`provider_for` with the endpoint's settings."""

    def provider(self, name: ProviderName | None = None) -> Provider:
        chosen = name or self.settings.provider
        if self.providers is not None:
            return self.providers(chosen)
        return provider_for(chosen, self.settings)


def provider_for(name: ProviderName, settings: LlmSettings) -> Provider:
    """One provider per process and settings: clients and pooled connections survive between turns."""
    if name == "none":
        raise ModelError("no language model is configured (llm.provider: none)")
    key = (name, settings)
    with _lock:
        provider = _providers.get(key)
        if provider is None:
            provider = _build(name, settings)
            _providers[key] = provider
        return provider


def reset_clients() -> None:
    """Forget providers and close pooled model connections (after a SnapStart restore no socket or
    client may come from the snapshot); they are made again on first use."""
    from audiocodes_endpoint.features.llm import openai

    with _lock:
        _providers.clear()
    openai.reset_shared_client()


def _build(name: ProviderName, settings: LlmSettings) -> Provider:
    if name == "bedrock":
        if _bedrock is None:
            raise ModelError("no Bedrock adapter is installed")
        return _bedrock(settings)
    if not settings.base_url:
        raise ModelError("no language model is configured (llm.base_url is empty)")
    from audiocodes_endpoint.features.llm.openai import OpenAiProvider

    reference = settings.api_key or None
    # resolved on every call: Parameters caches it for 5 minutes, so a rotated key is picked up
    return OpenAiProvider(base_url=settings.base_url, api_key=lambda: _api_key(reference))


def _api_key(reference: str | None) -> str | None:
    """The key; an ``env:`` variable that is not set means no key (local model servers need none,
    and a server that does answers 401: the node's fallback). Other references must resolve."""
    from audiocodes_endpoint.config.secrets import SecretUnavailable, resolve_secret

    try:
        return resolve_secret(reference)
    except SecretUnavailable:
        if reference is not None and reference.startswith("env:"):
            return None
        raise
