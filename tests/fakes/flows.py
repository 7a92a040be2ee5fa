"""A scripted flow runner for conversation-layer unit tests (the real engine is tested on its own)."""

from __future__ import annotations

from typing import Any

from audiocodes_endpoint.channel.audiocodes import event, message
from audiocodes_endpoint.flows.turn import Emit, FlowInput, FlowState, TurnOptions, TurnResult


class EchoFlow:
    """Greets on ``start``, echoes text, hangs up on "goodbye", raises on "crash"; counts turns in context."""

    def __init__(self) -> None:
        self.inputs: list[FlowInput] = []

    def run_turn(
        self, flow: str, state: FlowState, inp: FlowInput, context: dict[str, Any], emit: Emit, options: TurnOptions
    ) -> TurnResult:
        self.inputs.append(inp)
        context = {**context, "turns": context.get("turns", 0) + 1}
        outputs = []
        if inp.event == "disconnect":
            context["disconnected"] = inp.value
        elif inp.text == "crash":
            emit(message("about to fail"))
            raise RuntimeError("boom")
        elif inp.event == "start":
            outputs.append(message(f"Hello caller from {context['call']['numberMetaData']['country']}"))
        elif inp.text == "goodbye":
            outputs += [message("Bye"), event("hangup", activity_params={"hangupReason": "completed"})]
            state = FlowState(ended=True)
        else:
            outputs.append(message(f"You said: {inp.text or inp.event}"))
        for output in outputs:
            emit(output)
        return TurnResult(state=state, context=context, outputs=outputs)
