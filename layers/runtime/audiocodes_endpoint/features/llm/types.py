"""The provider-neutral shapes: a chat request, the events of its stream, and the provider interface.

Messages use OpenAI's chat shape (``role`` + ``content``; ``tool_calls`` on an assistant message;
``role: tool`` with ``tool_call_id`` for results): the OpenAI-compatible provider sends them almost
as they are, the Bedrock provider maps them to Converse's content blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ModelRequest:
    model: str
    system: str
    messages: list[dict[str, Any]]
    tools: tuple[ToolSpec, ...] = ()
    max_tokens: int = 512
    temperature: float | None = None
    timeout_seconds: float = 10.0
    json_output: bool = False
    """Ask for a JSON object (extraction, classification)."""
    stream: bool = True
    """False when nobody speaks the answer as it arrives: a provider may answer in one piece."""


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Finished:
    stop_reason: str
    tokens_in: int = 0
    tokens_out: int = 0


StreamEvent = TextDelta | ToolCall | Finished


class Provider(Protocol):
    def stream(self, request: ModelRequest) -> Iterator[StreamEvent]:
        """Text as it is generated, then any tool calls, then one :class:`Finished`."""
        ...


class ModelError(Exception):
    """The model could not answer (refused, unreachable, timed out, malformed stream)."""


@dataclass
class Usage:
    """Tokens in and out and time spent waiting for the model, summed over a turn (for analytics)."""

    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int = 0
    calls: int = 0

    def add(self, finished: Finished, latency_ms: int) -> None:
        self.tokens_in += finished.tokens_in
        self.tokens_out += finished.tokens_out
        self.latency_ms += latency_ms
        self.calls += 1
