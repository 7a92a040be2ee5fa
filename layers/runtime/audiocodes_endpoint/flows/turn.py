"""What a flow turn consumes and produces: the contract between ``core.turn_pipeline`` and the engine."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from audiocodes_endpoint.channel.audiocodes import Activity, timestamp_now

if TYPE_CHECKING:
    from audiocodes_endpoint.features.llm.providers import LlmRuntime

Emit = Callable[[Activity], None]
"""Called with each output as the flow produces it (async mode pushes it at once)."""


class FlowInput(BaseModel):
    """The flow's ``input``: lives for one turn. Field names follow Cognigy's Input object."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    text: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    userId: str
    sessionId: str
    URLToken: str
    channel: str = "audiocodes"
    # Cognigy's endpointType for its AudioCodes endpoint (Cognigy docs, Input object).
    endpointType: str = "audioCodes"
    inputId: str = Field(default_factory=lambda: str(uuid.uuid4()))
    """The activity (or inject) id: the same input retried keeps its id."""
    currentTime: str = Field(default_factory=timestamp_now)
    """When the input arrived, ISO-8601 UTC (Cognigy: the time the message was received)."""
    kind: Literal["message", "event", "inject"] = "message"
    """Ours: what brought the input. (Cognigy's ``input.type`` is the sentence type; templates see
    it, and ``input.mode``, computed from the text the flow gets: :mod:`.sentences`.)"""
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
    events: list[str] = Field(default_factory=list)  # engine-owned: what sendEventsToBot asked VAIC for


@dataclass(frozen=True)
class EventAction:
    """What the endpoint's ``call_events`` do with one VAIC event (or ``disconnect[:reasonCode]``),
    before the flow's own handlers: ``inject`` text/data as an inject input, run ``flow`` (at
    ``node``), ``transfer`` (``transfer`` holds the activityParams), or ``nothing``."""

    action: Literal["inject", "flow", "transfer", "nothing"]
    text: str | None = None
    data: Mapping[str, Any] | None = None
    flow: str | None = None
    node: str | None = None
    transfer: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class TurnOptions:
    """Endpoint settings that bound what a turn may do."""

    max_steps: int = 200
    code_timeout_seconds: float = 5.0
    http_timeout_seconds: float = 10.0
    allow_private_network: bool = False
    variables: Mapping[str, str] = field(default_factory=dict)
    call_events: Mapping[str, EventAction] = field(default_factory=dict)
    """The endpoint's ``call_events``: opt-in ones among them are asked for with the flow's events."""
    call_setup: Mapping[str, Any] = field(default_factory=dict)
    """Session parameters the endpoint sends in the first answer of every call (e.g. ``bot_delay``)."""
    default_region: str = "US"
    """Region for phone numbers written in national form (transfer targets)."""
    deadline: float | None = None
    """``time.monotonic()`` past which no step starts and no request waits (the turn then fails)."""
    llm: LlmRuntime | None = None
    """The endpoint's language model (``llm`` nodes); ``None``: they answer with their fallback."""

    def remaining(self) -> float | None:
        """Seconds left before the deadline; raises :class:`DeadlineExceeded` when none are."""
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("the request's deadline has passed")
        return left


@dataclass
class TurnResult:
    state: FlowState
    context: dict[str, Any]
    outputs: list[Activity]
    path: list[str] = field(default_factory=list)
    """``flow:node`` of every node the turn ran, in order (for analytics)."""
    recovered_from: dict[str, Any] | None = None
    """The wait this turn abandoned because a deploy removed or changed its node (see FlowEngine)."""
    metrics: dict[str, int] = field(default_factory=dict)
    """Counters nodes add for analytics (``llm_tokens_in``, ``llm_tokens_out``, ``llm_latency_ms``)."""


class FlowError(Exception):
    """A flow failed at run time (step budget, code error, ...); the turn fails closed.

    The message may quote values (the caller's words, a rendered URL). ``log_safe``, when given, is
    the same without them (flow, node, kind, error type): what a masked log line shows.
    """

    def __init__(self, message: str, *, log_safe: str | None = None) -> None:
        super().__init__(message)
        self.log_safe = log_safe


class DeadlineExceeded(FlowError):
    """The next step would pass the request's deadline; the turn fails closed."""
