"""Whatever VAIC sends, the engine answers or fails with FlowError; limits hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiocodes_endpoint.channel.audiocodes import Activity
from audiocodes_endpoint.flows import FlowEngine, FlowError, FlowInput, FlowState, TurnOptions, load_agent
from audiocodes_endpoint.flows.engine import MAX_CALL_DEPTH

from .support import DEMO_AGENT, Call, build_agent

AGENT = load_agent(DEMO_AGENT)
ENGINE = FlowEngine(AGENT)
OPTIONS = TurnOptions(variables={"accounts_api_url": "http://127.0.0.1:9"}, allow_private_network=False)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _waiting_at_menu() -> tuple[FlowState, dict[str, Any]]:
    state, context = FlowState(), {"call": {"numberMetaData": {"country": "DE"}}}
    for fields in ({"kind": "event", "event": "start"}, {"text": "yes"}):
        result = ENGINE.run_turn(
            "main",
            state,
            FlowInput(userId="u", sessionId="s", URLToken="t", **fields),
            context,
            lambda a: None,
            OPTIONS,
        )
        state, context = result.state, result.context
    return state, context


MENU_STATE, MENU_CONTEXT = _waiting_at_menu()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["DTMF", "noUserInput", "transferStatus", "playUrlFailed", "speechHypothesis", "start"])
    | st.text(min_size=1, max_size=30),
    value=json_values,
    text=st.none() | st.text(max_size=40),
)
def test_any_event_at_the_menu_never_crashes(name: str, value: Any, text: str | None) -> None:
    # Given the demo waiting at its menu, When any event with any payload arrives
    inp = FlowInput(userId="u", sessionId="s", URLToken="t", kind="event", event=name, value=value, text=text)
    sent: list[Activity] = []
    result = ENGINE.run_turn("main", MENU_STATE, inp, MENU_CONTEXT, sent.append, OPTIONS)
    # Then the turn completes, outputs are what was emitted, and the state stays JSON
    assert [a.id for a in result.outputs] == [a.id for a in sent]
    FlowState.model_validate_json(result.state.model_dump_json())


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_any_speech_at_the_menu_never_crashes(text: str) -> None:
    found = AGENT.nlu.recognize(text, None)
    inp = FlowInput(userId="u", sessionId="s", URLToken="t", text=text, intent=found.intent)
    ENGINE.run_turn("main", MENU_STATE, inp, MENU_CONTEXT, lambda a: None, OPTIONS)


def test_outputs_before_a_failure_were_already_emitted(tmp_path: Path) -> None:
    # Given a say node followed by a failing one
    agent = build_agent(
        tmp_path, "start: a\nnodes:\n  a: {type: say, text: first, next: b}\n  b: {type: say, text: '{{ 1/0 }}'}\n"
    )
    sent: list[Activity] = []
    # When the turn fails, Then the first output had gone to emit (async mode sent it) before the error
    with pytest.raises(FlowError):
        FlowEngine(agent).run_turn(
            "main", FlowState(), FlowInput(userId="u", sessionId="s", URLToken="t"), {}, sent.append
        )
    assert [a.text for a in sent] == ["first"]


def test_custom_step_budget(tmp_path: Path) -> None:
    chain = "".join(f"  n{i}: {{type: say, text: '{i}', next: n{i + 1}}}\n" for i in range(5))
    agent = build_agent(tmp_path, f"start: n0\nnodes:\n{chain}  n5: {{type: end}}\n")
    assert len(Call(agent, options=TurnOptions(max_steps=6)).start()) == 5
    with pytest.raises(FlowError, match="more than 5 steps"):
        Call(agent, options=TurnOptions(max_steps=5)).start()


def test_recursive_calls_are_bounded(tmp_path: Path) -> None:
    agent = build_agent(
        tmp_path, "start: again\nnodes:\n  again: {type: call, flow: main, next: done}\n  done: {type: end}\n"
    )
    with pytest.raises(FlowError, match=f"calls nested deeper than {MAX_CALL_DEPTH}"):
        Call(agent).start()


def test_the_callers_state_and_context_are_not_modified(tmp_path: Path) -> None:
    # Given a state and context owned by the conversation layer
    agent = build_agent(
        tmp_path, "start: a\nnodes:\n  a: {type: set, context: {x.y: 1}, next: q}\n  q: {type: question, text: Q}\n"
    )
    state, context = FlowState(), {"x": {"y": 0}}
    result = FlowEngine(agent).run_turn(
        "main", state, FlowInput(userId="u", sessionId="s", URLToken="t"), context, lambda a: None
    )
    # Then the results are new objects and the inputs are unchanged (a failed turn leaves them intact)
    assert state == FlowState() and context == {"x": {"y": 0}}
    assert result.context == {"x": {"y": 1}} and result.state.waiting is not None
    assert result.outputs and result.outputs[-1].text == "Q"


def test_a_failing_emit_is_not_reported_as_a_flow_error(tmp_path: Path) -> None:
    # Given an endpoint whose delivery fails (e.g. the WebSocket push)
    agent = build_agent(tmp_path, "start: a\nnodes:\n  a: {type: say, text: hi}\n")

    def emit(activity: Activity) -> None:
        raise ConnectionError("socket gone")

    # Then its own exception comes back, so the endpoint can retry instead of apologising
    with pytest.raises(ConnectionError, match="socket gone"):
        FlowEngine(agent).run_turn("main", FlowState(), FlowInput(userId="u", sessionId="s", URLToken="t"), {}, emit)
