"""Helpers for flow-engine tests: build an agent from YAML strings and talk to it turn by turn."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from audiocodes_endpoint.channel.audiocodes import Activity
from audiocodes_endpoint.flows import Agent, FlowEngine, FlowInput, FlowState, TurnOptions, load_agent

REPO = Path(__file__).resolve().parents[3]
DEMO_AGENT = REPO / "agent"

LOCAL = TurnOptions(allow_private_network=True)


def write_agent(
    root: Path,
    flows: Mapping[str, str],
    intents: str | None = None,
    extensions: Mapping[str, str] | None = None,
) -> Path:
    (root / "flows").mkdir(parents=True, exist_ok=True)
    for name, text in flows.items():
        (root / "flows" / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    if intents is not None:
        (root / "intents.yaml").write_text(textwrap.dedent(intents), encoding="utf-8")
    for name, text in (extensions or {}).items():
        (root / "extensions").mkdir(exist_ok=True)
        (root / "extensions" / f"{name}.py").write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def build_agent(root: Path, flow: str, **kwargs: Any) -> Agent:
    """An agent whose ``main`` flow is ``flow`` (YAML text)."""
    flows = {"main": flow, **kwargs.pop("other_flows", {})}
    return load_agent(write_agent(root, flows, **kwargs))


def wire(activity: Activity) -> dict[str, Any]:
    """An activity as sent, without the fields that differ on every run."""
    data = activity.to_wire()
    assert data.pop("id")
    assert data.pop("timestamp").endswith("Z")
    return data


def say(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "message", "text": text, **extra}


def ev(name: str, **extra: Any) -> dict[str, Any]:
    return {"type": "event", "name": name, **extra}


class Call:
    """One caller talking to one flow: each method is one turn and returns the activities sent."""

    def __init__(
        self,
        agent: Agent,
        flow: str = "main",
        options: TurnOptions = LOCAL,
        context: dict[str, Any] | None = None,
        nlu: bool = True,
    ) -> None:
        self.agent, self.flow, self.options, self.nlu = agent, flow, options, nlu
        self.engine = FlowEngine(agent)
        self.state = FlowState()
        self.context: dict[str, Any] = context if context is not None else {}
        self.execution = 0
        self.emitted: list[Activity] = []
        self.asked: dict[str, Any] | None = None

    def turn(self, **fields: Any) -> list[dict[str, Any]]:
        self.execution += 1
        inp = FlowInput(
            userId="+4921154591991", sessionId="conv-1", URLToken="demo", execution=self.execution, **fields
        )
        if self.nlu and inp.event is None and inp.text:
            found = self.agent.nlu.recognize(inp.text, inp.language)
            inp.intent, inp.intentScore, inp.slots = found.intent, found.score, dict(found.slots)
        before = len(self.emitted)
        result = self.engine.run_turn(self.flow, self.state, inp, self.context, self.emitted.append, self.options)
        # Every output goes to emit as it is produced AND is returned, in the same order.
        assert [a.id for a in result.outputs] == [a.id for a in self.emitted[before:]]
        self.state, self.context = result.state, result.context
        return [wire(a) for a in result.outputs]

    def start(self, **parameters: Any) -> list[dict[str, Any]]:
        outputs = self.turn(kind="event", event="start", data=parameters)
        return self._strip_events_request(outputs)

    def _strip_events_request(self, outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The call's first answer opens with the request for the events the flow needs: it is kept
        in ``self.asked`` (tests about events check it there), the rest is returned."""
        first = outputs[0].get("sessionParams", {}) if outputs and outputs[0].get("name") == "config" else {}
        if "sendEventsToBot" in first and set(first) <= {
            "sendEventsToBot",
            "userNoInputSendEvent",
            *self.options.call_setup,
        }:
            self.asked = outputs.pop(0)["sessionParams"]
        return outputs

    def says(self, text: str, **fields: Any) -> list[dict[str, Any]]:
        return self.turn(text=text, **fields)

    def keys(self, digits: str) -> list[dict[str, Any]]:
        return self.turn(kind="event", event="DTMF", text=digits, value=digits)

    def event(self, name: str, value: Any = None) -> list[dict[str, Any]]:
        return self.turn(kind="event", event=name, value=value)

    def silence(self, count: int = 1) -> list[dict[str, Any]]:
        return self.event("noUserInput", count)

    def hang_up(self, reason: str = "Client Side") -> list[dict[str, Any]]:
        return self.event("disconnect", {"reasonCode": "client-disconnected", "reason": reason})

    def texts(self, outputs: list[dict[str, Any]]) -> list[str | None]:
        return [o.get("text") or o.get("name") for o in outputs]
