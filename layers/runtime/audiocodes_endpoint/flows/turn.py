"""What a flow turn consumes and produces: the contract between ``conversation`` and the engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..protocol import Activity

Emit = Callable[[Activity], None]
"""Called with each output as the flow produces it (async mode pushes it at once)."""


class FlowInput(BaseModel):
    """The flow's ``input``: lives for one turn. Field names follow Cognigy's Input object."""

    model_config = ConfigDict(populate_by_name=True)

    text: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    userId: str
    sessionId: str
    URLToken: str
    channel: str = "audiocodes"
    type: str = "message"  # "message" | "event" | "inject"
    event: str | None = None  # start, DTMF, noUserInput, transferStatus, playUrlFailed, disconnect, ...
    value: Any = None
    language: str | None = None
    confidence: float | None = None
    execution: int = 0  # 1-based count of inputs in this session
    intent: str | None = None
    intentScore: float | None = None
    slots: dict[str, Any] = Field(default_factory=dict)


class FlowState(BaseModel):
    """Where the conversation waits between turns; stored in the session as JSON."""

    model_config = ConfigDict(extra="forbid")

    stack: list[dict[str, Any]] = Field(default_factory=list)  # engine-owned frames
    waiting: dict[str, Any] | None = None  # engine-owned: the node waiting for input and its retries
    ended: bool = False


@dataclass(frozen=True)
class TurnOptions:
    """Endpoint settings that bound what a turn may do."""

    max_steps: int = 200
    code_timeout_seconds: float = 5.0
    http_timeout_seconds: float = 10.0
    allow_private_network: bool = False
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass
class TurnResult:
    state: FlowState
    context: dict[str, Any]
    outputs: list[Activity]
    path: list[str] = field(default_factory=list)
    """``flow:node`` of every node the turn ran, in order (for analytics)."""


class FlowError(Exception):
    """A flow failed at run time (step budget, code error, ...); the turn fails closed."""
