"""The per-turn state a node sees: input, context, templates, and where outputs go."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from audiocodes_endpoint.channel.audiocodes import Activity, event
from audiocodes_endpoint.flows.events import events_request, merge_requested
from audiocodes_endpoint.flows.sentences import input_mode, sentence_type
from audiocodes_endpoint.flows.templating import TemplateRuntimeError, Templates
from audiocodes_endpoint.flows.turn import Emit, FlowError, FlowInput, TurnOptions

if TYPE_CHECKING:
    from audiocodes_endpoint.flows.extensions import Extensions


class EmitFailed(Exception):
    """``emit`` (the endpoint's delivery) raised: not the flow's fault, so the engine re-raises the
    original exception instead of reporting it as a FlowError."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


@dataclass
class Turn:
    templates: Templates
    extensions: Extensions
    input: FlowInput
    context: dict[str, Any]
    options: TurnOptions
    emit: Emit
    silent: bool = False  # the disconnect path: run nodes, send nothing
    outputs: list[Activity] = field(default_factory=list)
    flow: str = ""
    node_id: str = ""
    path: list[str] = field(default_factory=list)  # flow:node of every node run, for analytics
    requested_events: list[str] = field(default_factory=list)  # what VAIC was asked to send (sendEventsToBot)
    metrics: dict[str, int] = field(default_factory=dict)  # summed per turn, for analytics
    args: dict[str, Any] | None = None  # a tool's arguments while an llm node runs its http tool
    _input: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # ``input`` as templates see it: Cognigy's Input object plus ``result`` (the last answer).
        self._input = self.input.model_dump()
        self._input["result"] = None
        # Cognigy's sentence type and input mode, of the text the flow gets (after transformers).
        self._input["type"] = sentence_type(self.input.text) if self.input.event is None else None
        self._input["mode"] = input_mode(self.input.text, self.input.data)

    @property
    def result(self) -> Any:
        return self._input["result"]

    @result.setter
    def result(self, value: Any) -> None:
        self._input["result"] = value

    @property
    def input_data(self) -> dict[str, Any]:
        return self._input

    def scope(self) -> dict[str, Any]:
        scope = {"input": self._input, "context": self.context, "variables": dict(self.options.variables)}
        if self.args is not None:
            scope["args"] = self.args
        return scope

    def count(self, name: str, amount: int) -> None:
        self.metrics[name] = self.metrics.get(name, 0) + amount

    # --- outputs ---------------------------------------------------------------------------------

    def send(self, *activities: Activity) -> None:
        """Hand each activity to ``emit`` at once (async mode pushes it) and keep it for the result."""
        if self.silent:
            return
        for activity in activities:
            params = activity.sessionParams
            if params and isinstance(params.get("sendEventsToBot"), list):
                # VAIC replaces the whole list: whatever node sets it keeps the events the flow needs
                activity.sessionParams, self.requested_events = merge_requested(self.requested_events, params)
            self.outputs.append(activity)
            try:
                self.emit(activity)
            except Exception as error:
                raise EmitFailed(error) from error

    def ask_for(self, events: Iterable[str], **session_params: Any) -> None:
        """Make sure VAIC sends ``events``: one ``config`` with the whole new ``sendEventsToBot`` list
        (plus ``session_params``) when something is missing; nothing when all were asked for."""
        missing = set(events) - set(self.requested_events)
        if not missing and not session_params:
            return
        params = dict(session_params)
        if missing:
            self.requested_events = sorted(set(self.requested_events) | missing)
            params.update(events_request(self.requested_events, newly=missing))
        self.send(event("config", session_params=params))

    # --- templates -------------------------------------------------------------------------------

    def text(self, source: str) -> str:
        try:
            return self.templates.text(source, self.scope())
        except TemplateRuntimeError as error:
            raise FlowError(str(error)) from error

    def optional_text(self, source: str | None) -> str | None:
        return None if source is None else self.text(source)

    def data(self, value: Any) -> Any:
        try:
            return self.templates.data(value, self.scope())
        except TemplateRuntimeError as error:
            raise FlowError(str(error)) from error

    def evaluate(self, expression: str) -> Any:
        try:
            return self.templates.evaluate(expression, self.scope())
        except TemplateRuntimeError as error:
            raise FlowError(str(error)) from error

    def test(self, expression: str) -> bool:
        return bool(self.evaluate(expression))
