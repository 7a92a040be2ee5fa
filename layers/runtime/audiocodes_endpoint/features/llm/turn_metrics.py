"""The glue between an endpoint's settings and its turns: the model a turn may use, and what it cost."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audiocodes_endpoint.features.llm.providers import LlmRuntime

if TYPE_CHECKING:
    from audiocodes_endpoint.config.endpoint import EndpointSettings


def llm_runtime(endpoint: EndpointSettings) -> LlmRuntime | None:
    settings = endpoint.llm
    if settings is None:
        return None
    mask = settings.mask_prompts
    return LlmRuntime(
        settings,
        streaming=endpoint.async_mode,
        mask_prompts=endpoint.data_protection.mask_analytics if mask is None else mask,
    )


def llm_metrics(metrics: dict[str, int]) -> dict[str, Any]:
    """The turn record's model fields (``None`` when no model was asked)."""
    if "llm_tokens_in" not in metrics:
        return {}
    return {name: metrics.get(name, 0) for name in ("llm_tokens_in", "llm_tokens_out", "llm_latency_ms")}
