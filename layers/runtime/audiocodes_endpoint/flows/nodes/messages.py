"""Nodes that send something and continue: say (AudioCodes "Send Message"), any event, raw output."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from audiocodes_endpoint.channel.audiocodes import event, message
from audiocodes_endpoint.flows.fields import DATA, Data, Text
from audiocodes_endpoint.flows.nodes.base import Linear
from audiocodes_endpoint.flows.nodes.common import ACTIVITY_PARAMS, SESSION_PARAMS, Params, render_params
from audiocodes_endpoint.flows.outputs import OutputError, to_activities
from audiocodes_endpoint.flows.steps import Next, Step
from audiocodes_endpoint.flows.turn import FlowError

if TYPE_CHECKING:
    from audiocodes_endpoint.flows.runtime import Turn

EventName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")]


class Say(Linear):
    """Speak text or SSML: ``{"type": "message", "text": ..., "activityParams": ...}``."""

    type: Literal["say"]
    text: Text = Field(description="Text or SSML to speak; templates allowed.")
    activityParams: Params | None = ACTIVITY_PARAMS
    sessionParams: Params | None = SESSION_PARAMS

    def run(self, turn: Turn) -> Step:
        turn.send(
            message(
                turn.text(self.text),
                activity_params=render_params(turn, self.activityParams),
                session_params=render_params(turn, self.sessionParams),
            )
        )
        return Next(self.next)

    def summary(self) -> str:
        return self.text


class SendEvent(Linear):
    """Send any bot event by name, e.g. ``abortPrompts`` or ``expectAnotherBotMessage``."""

    type: Literal["event"]
    name: EventName = Field(description="The event name, case-sensitive.")
    value: Data = Field(default=None, description="The event's `value`; templates allowed.")
    activityParams: Params | None = ACTIVITY_PARAMS
    sessionParams: Params | None = SESSION_PARAMS

    def run(self, turn: Turn) -> Step:
        turn.send(
            event(
                self.name,
                value=turn.data(self.value),
                activity_params=render_params(turn, self.activityParams),
                session_params=render_params(turn, self.sessionParams),
            )
        )
        return Next(self.next)

    def summary(self) -> str:
        return self.name


class SendActivities(Linear):
    """Send raw activities, or a Cognigy output whose AudioCodes envelope is sent unchanged."""

    type: Literal["send_activities"]
    activities: Annotated[list[dict[str, Any]], DATA] | None = Field(
        default=None, description="Activity objects (each with `type`), sent as they are."
    )
    output: Annotated[dict[str, Any], DATA] | None = Field(
        default=None,
        description="A Cognigy output `{text, data}`; `data._cognigy._audioCodes.json.activities` are sent.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> SendActivities:
        if (self.activities is None) == (self.output is None):
            raise ValueError("set exactly one of `activities` or `output`")
        for index, activity in enumerate(self.activities or []):
            if "type" not in activity:
                raise ValueError(f"activities[{index}] has no `type`")
        return self

    def run(self, turn: Turn) -> Step:
        source = self.activities if self.activities is not None else self.output
        try:
            turn.send(*to_activities(turn.data(source)))
        except OutputError as error:
            raise FlowError(str(error)) from None
        return Next(self.next)
