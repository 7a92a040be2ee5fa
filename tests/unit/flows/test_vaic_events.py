"""The endpoint asks VAIC for the events its flow handles (``sendEventsToBot``), so they arrive.

AudioCodes: "If not configured, VoiceAI Connect doesn't send them" (controlling_events_to_bot.htm).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from audiocodes_endpoint.flows import EventAction, FlowEngine, FlowInput, FlowState, TurnOptions
from audiocodes_endpoint.flows.events import OPT_IN_EVENTS

from .support import Call, build_agent, ev, say

HANDLER_FLOW = """
start: hi
events:
  {event}: seen
nodes:
  hi: {{type: say, text: hi}}
  seen: {{type: say, text: "seen {{{{ input.event }}}}"}}
"""


def first_answer(tmp_path: Path, flow: str, options: TurnOptions | None = None, **kwargs: object) -> list[dict]:
    call = Call(build_agent(tmp_path, flow, **kwargs), options=options or TurnOptions())
    return call.turn(kind="event", event="start")


@pytest.mark.parametrize("name", sorted(OPT_IN_EVENTS))
def test_each_handled_event_is_asked_for_in_the_first_answer(tmp_path: Path, name: str) -> None:
    # Given a flow that handles one opt-in event
    call = Call(build_agent(tmp_path, HANDLER_FLOW.format(event=name)), options=TurnOptions())
    # When the call starts, Then the first activity asks VAIC for exactly that event, before the greeting
    params = {"sendEventsToBot": [name], **({"userNoInputSendEvent": True} if name == "noUserInput" else {})}
    assert call.turn(kind="event", event="start") == [ev("config", sessionParams=params), say("hi")]
    # And when VAIC then sends it, Then the handler runs, and nothing is asked again
    assert call.event(name) == [say(f"seen {name}")]
    assert call.state.events == [name]


@pytest.mark.parametrize("name", ["transferStatus", "playUrlFailed", "DTMF", "disconnect", "any_event", "message"])
def test_events_vaic_always_sends_are_not_listed(tmp_path: Path, name: str) -> None:
    # Given a flow handling an event VAIC sends without being asked (or a catch-all), Then no config
    assert first_answer(tmp_path, HANDLER_FLOW.format(event=name)) == [say("hi")]


def test_a_question_asks_for_no_input_and_keeps_the_old_vaic_switch(tmp_path: Path) -> None:
    # Given a flow with a question (it reprompts on silence), When the call starts
    outputs = first_answer(tmp_path, "start: q\nnodes:\n  q: {type: question, text: Name}\n")
    # Then noUserInput is asked for, with userNoInputSendEvent for VAIC versions before sendEventsToBot
    assert outputs == [
        ev("config", sessionParams={"sendEventsToBot": ["noUserInput"], "userNoInputSendEvent": True}),
        say("Name"),
    ]


def test_all_handlers_and_nodes_of_the_entry_flow_in_one_sorted_list(tmp_path: Path) -> None:
    flow = """
start: q
events:
  voiceDetected: h
  speechHypothesis: h
  playFinished: h
nodes:
  q: {type: question, text: Q}
  h: {type: say, text: h}
"""
    assert first_answer(tmp_path, flow)[0] == ev(
        "config",
        sessionParams={
            "sendEventsToBot": ["noUserInput", "playFinished", "speechHypothesis", "voiceDetected"],
            "userNoInputSendEvent": True,
        },
    )


def test_entering_a_flow_that_needs_more_events_sends_an_update(tmp_path: Path) -> None:
    # Given main (handles voiceDetected) calling a flow that handles playFinished and asks a question
    agent = build_agent(
        tmp_path,
        "start: a\nevents: {voiceDetected: v}\nnodes:\n  a: {type: call, flow: sub}\n  v: {type: say, text: v}\n",
        other_flows={
            "sub": "start: q\nevents: {playFinished: p}\nnodes:\n  q: {type: question, text: Q}\n"
            "  p: {type: say, text: p}\n"
        },
    )
    call = Call(agent, options=TurnOptions())
    # When the call starts, Then first its own events, then on entering `sub` the whole new list
    assert call.turn(kind="event", event="start") == [
        ev("config", sessionParams={"sendEventsToBot": ["voiceDetected"]}),
        ev(
            "config",
            sessionParams={
                "sendEventsToBot": ["noUserInput", "playFinished", "voiceDetected"],
                "userNoInputSendEvent": True,
            },
        ),
        say("Q"),
    ]
    # And a later turn asks nothing again
    assert call.says("x") == []
    assert call.state.events == ["noUserInput", "playFinished", "voiceDetected"]


def test_a_flow_that_sets_send_events_to_bot_itself_keeps_the_needed_ones(tmp_path: Path) -> None:
    # Given a question flow whose author also sets sendEventsToBot (VAIC replaces the whole list)
    flow = """
start: s
nodes:
  s: {type: session_params, sendEventsToBot: [speechHypothesis], next: q}
  q: {type: question, text: Q}
"""
    outputs = first_answer(tmp_path, flow)
    # Then the author's list is merged with what the flow needs, so noUserInput is not switched off
    assert outputs[1] == ev("config", sessionParams={"sendEventsToBot": ["noUserInput", "speechHypothesis"]})


def test_endpoint_call_events_and_bot_delay_go_in_the_first_answer(tmp_path: Path) -> None:
    options = TurnOptions(
        call_events={"voiceDetected": EventAction(action="nothing"), "disconnect:busy": EventAction("nothing")},
        call_setup={"botNoInputTimeoutMS": 3000, "botNoInputSpeech": "One moment."},
    )
    outputs = first_answer(tmp_path, "start: a\nnodes:\n  a: {type: say, text: hi}\n", options)
    assert outputs == [
        ev(
            "config",
            sessionParams={
                "botNoInputTimeoutMS": 3000,
                "botNoInputSpeech": "One moment.",
                "sendEventsToBot": ["voiceDetected"],
            },
        ),
        say("hi"),
    ]


def test_a_flow_without_needs_and_an_endpoint_without_settings_sends_no_config(tmp_path: Path) -> None:
    assert first_answer(tmp_path, "start: a\nnodes:\n  a: {type: say, text: hi}\n") == [say("hi")]


def test_a_call_saved_before_events_were_asked_for_is_asked_on_its_next_turn(tmp_path: Path) -> None:
    # Given a session saved before `events` existed (no field) waiting in main, When a goto enters sub
    agent = build_agent(
        tmp_path,
        "start: q\nnodes:\n  q: {type: question, text: Q, next: g}\n  g: {type: goto, flow: sub}\n",
        other_flows={"sub": "start: s\nevents: {playFinished: s}\nnodes:\n  s: {type: say, text: sub}\n"},
    )
    state = FlowState.model_validate({"waiting": {"kind": "question", "flow": "main", "node": "q"}})
    inp = FlowInput(userId="u", sessionId="s", URLToken="t", text="hello")
    result = FlowEngine(agent).run_turn("main", state, inp, {}, lambda _a: None, TurnOptions())
    # Then it is asked for what main needs at once, and for what sub adds when the goto enters it
    assert [a.sessionParams for a in result.outputs[:2]] == [
        {"sendEventsToBot": ["noUserInput"], "userNoInputSendEvent": True},
        {"sendEventsToBot": ["noUserInput", "playFinished"]},
    ]


@pytest.mark.parametrize(
    "node",
    [
        "{type: event, name: config, sessionParams: {sendEventsToBot: [speechHypothesis]}, next: q}",
        "{type: send_activities, activities: [{type: event, name: config, sessionParams: {sendEventsToBot: "
        "[speechHypothesis]}}], next: q}",
        "{type: say, text: hi, sessionParams: {sendEventsToBot: [speechHypothesis]}, next: q}",
    ],
)
def test_any_node_that_sets_the_list_keeps_the_needed_events(tmp_path: Path, node: str) -> None:
    call = Call(build_agent(tmp_path, f"start: s\nnodes:\n  s: {node}\n  q: {{type: question, text: Q}}\n"))
    outputs = call.turn(kind="event", event="start")
    assert outputs[1]["sessionParams"]["sendEventsToBot"] == ["noUserInput", "speechHypothesis"]
    assert call.state.events == ["noUserInput", "speechHypothesis"]  # and later updates keep it
