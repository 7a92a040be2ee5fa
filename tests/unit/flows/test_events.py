"""Call events reaching the flow: handlers, the waiting question, disconnect, unknown events."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiocodes_endpoint.channel.audiocodes import Activity
from audiocodes_endpoint.flows import FlowEngine, FlowError, FlowInput, FlowState

from .support import LOCAL, Call, build_agent, ev, say

FLOW = """
start: ask
events:
  playUrlFailed: audio_failed
  speechHypothesis: hypothesis
  any_event: other
  disconnect: cleanup
nodes:
  ask:
    type: question
    text: Your name?
    store: name
    next: thanks
  thanks: {type: say, text: "Thanks {{ context.name }}"}
  audio_failed: {type: say, text: "Audio {{ input.value.playUrlUrl }} failed"}
  hypothesis: {type: set, context: {partial: "{{ input.value.text }}"}}
  other: {type: set, context: {last_event: "{{ input.event }}", last_value: "{{ input.value }}"}}
  cleanup:
    type: set
    context: {ended_because: "{{ input.value.reason }}"}
    next: bye
  bye: {type: say, text: this must never be sent, next: hang}
  hang: {type: hangup}
"""


@pytest.fixture
def call(tmp_path: Path) -> Call:
    call = Call(build_agent(tmp_path, FLOW))
    assert call.start() == [say("Your name?")]
    return call


def test_handler_that_runs_out_resumes_the_waiting_question(call: Call) -> None:
    # Given the question waits, When playUrlFailed arrives
    value = {"reason": "404", "playUrlUrl": "https://m/x.wav", "selfGenerated": False}
    # Then the handler speaks and the question keeps waiting, without repeating its prompt
    assert call.event("playUrlFailed", value) == [say("Audio https://m/x.wav failed")]
    assert call.state.waiting is not None and call.state.waiting["node"] == "ask"
    assert call.says("Ada") == [say("Thanks Ada")]


def test_silent_handler_keeps_data_and_the_question(call: Call) -> None:
    # When a speech hypothesis arrives, Then nothing is sent but the partial text is kept
    assert call.event("speechHypothesis", {"text": "Ad", "stability": 0.5}) == []
    assert call.context["partial"] == "Ad"
    assert call.says("Ada") == [say("Thanks Ada")]


def test_unknown_events_go_to_any_event_and_never_crash(call: Call) -> None:
    # When an event nobody expects arrives, with an odd payload
    assert call.event("someVendorEvent", {"weird": [1, None]}) == []
    # Then any_event saw it as data, and the question still waits
    assert call.context["last_event"] == "someVendorEvent"
    assert call.context["last_value"] == {"weird": [1, None]}
    assert call.says("Ada") == [say("Thanks Ada")]


def test_unknown_event_without_any_handler_is_ignored(tmp_path: Path) -> None:
    # Given a flow without event handlers
    call = Call(build_agent(tmp_path, "start: q\nnodes:\n  q: {type: question, text: Hi}\n"))
    call.start()
    before = call.state.model_copy(deep=True)
    # When unknown and valueless events arrive, Then nothing is sent and nothing changes
    assert call.event("playFinished") == []
    assert call.event("transferStatus", "not even a dict") == []
    assert call.state == before


def test_disconnect_runs_the_cleanup_path_and_sends_nothing(tmp_path: Path) -> None:
    # Given a waiting question and a cleanup path that would speak and hang up
    agent = build_agent(tmp_path, FLOW)
    engine = FlowEngine(agent)
    state = engine.run_turn(
        "main",
        FlowState(),
        FlowInput(userId="u", sessionId="s", URLToken="t", kind="event", event="start"),
        {},
        lambda _a: None,
        LOCAL,
    ).state
    emitted: list[Activity] = []
    # When the caller hangs up
    inp = FlowInput(
        userId="u",
        sessionId="s",
        URLToken="t",
        kind="event",
        event="disconnect",
        value={"reasonCode": "client-disconnected", "reason": "Caller hung up"},
    )
    result = engine.run_turn("main", state, inp, {}, emitted.append, LOCAL)
    # Then the path ran (context set) but emit was never called and no outputs are returned
    assert emitted == [] and result.outputs == []
    assert result.context == {"ended_because": "Caller hung up"}
    assert result.state == FlowState(ended=True, events=state.events)  # what VAIC was asked for stays known


def test_disconnect_without_handler_just_ends(tmp_path: Path) -> None:
    call = Call(build_agent(tmp_path, "start: q\nnodes:\n  q: {type: question, text: Hi}\n"))
    call.start()
    assert call.hang_up() == []
    assert call.state.ended and call.state.waiting is None


def test_disconnect_of_a_fresh_session(tmp_path: Path) -> None:
    # Given a session that never started, When it disconnects, Then the handler still runs silently
    call = Call(build_agent(tmp_path, FLOW))
    assert call.hang_up("early") == []
    assert call.context == {"ended_because": "early"}


def test_no_user_input_when_nothing_waits_uses_the_flow_handler(tmp_path: Path) -> None:
    # Given a flow whose greeting does not wait, and a noUserInput handler
    flow = """
start: hi
events: {noUserInput: nudge}
nodes:
  hi: {type: say, text: Hello}
  nudge: {type: say, text: "Still there? ({{ input.value }})"}
"""
    call = Call(build_agent(tmp_path, flow))
    call.start()
    # When VAIC reports silence, Then the handler answers with the count
    assert call.silence(2) == [say("Still there? (2)")]


def test_dtmf_handler_and_fallback_to_message(tmp_path: Path) -> None:
    # Given a DTMF handler, When digits arrive while idle, Then it runs
    flow = """
start: hi
events: {DTMF: keyed}
nodes:
  hi: {type: say, text: Hello}
  keyed: {type: say, text: "You pressed {{ input.text }}"}
"""
    call = Call(build_agent(tmp_path, flow))
    call.start()
    assert call.keys("5") == [say("You pressed 5")]


def test_handlers_are_found_in_calling_flows(tmp_path: Path) -> None:
    # Given main calls `sub` which waits; only main handles playUrlFailed
    flow = """
start: c
events: {playUrlFailed: oops}
nodes:
  c: {type: call, flow: sub, next: after}
  after: {type: say, text: after}
  oops: {type: say, text: oops}
"""
    sub = "start: q\nnodes:\n  q: {type: question, text: sub question}\n"
    call = Call(build_agent(tmp_path, flow, other_flows={"sub": sub}))
    assert call.start() == [say("sub question")]
    # When the event arrives, Then main's handler runs and the sub-flow's question resumes after it
    assert call.event("playUrlFailed", {}) == [say("oops")]
    assert call.state.stack == [{"flow": "main", "node": "after"}]
    assert call.says("x") == [say("after")]


def test_a_changed_flow_under_a_live_call_does_not_crash(tmp_path: Path) -> None:
    # Given a session waiting at a node that no longer exists
    call = Call(build_agent(tmp_path, "start: hi\nnodes:\n  hi: {type: say, text: Hello}\n"))
    call.state = FlowState(waiting={"kind": "question", "flow": "main", "node": "gone"})
    # When the caller speaks, Then the flow starts over instead of failing the call
    assert call.says("hello") == [say("Hello")]


def test_first_input_need_not_be_start(tmp_path: Path) -> None:
    # Given VAIC configured to send a "hello" message instead of the start event
    call = Call(build_agent(tmp_path, "start: hi\nnodes:\n  hi: {type: say, text: Hello}\n"))
    # Then the flow still starts at its start node
    assert call.says("hello") == [say("Hello")]


def test_flow_error_in_a_handler_propagates(tmp_path: Path) -> None:
    flow = "start: q\nevents: {playUrlFailed: bad}\nnodes:\n  q: {type: question, text: Hi}\n"
    flow += "  bad: {type: say, text: '{{ 1 // 0 }}'}\n"
    call = Call(build_agent(tmp_path, flow))
    call.start()
    with pytest.raises(FlowError, match="node 'bad'"):
        call.event("playUrlFailed", {})


def test_hangup_in_a_handler_ends_the_call(tmp_path: Path) -> None:
    flow = "start: q\nevents: {noUserInput: bye}\nnodes:\n  q: {type: say, text: Hi}\n  bye: {type: hangup}\n"
    call = Call(build_agent(tmp_path, flow))
    call.start()
    assert call.silence() == [ev("hangup", activityParams={"hangupReason": "Bot ended the call"})]
    assert call.state.ended
