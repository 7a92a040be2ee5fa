"""Say, event, raw activities and the control nodes: exact activities and where the flow goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiocodes_endpoint.flows import FlowError

from .support import Call, build_agent, ev, say


def test_say_sends_text_with_activity_and_session_params(tmp_path: Path) -> None:
    # Given a say node with per-activity and session parameters and a template
    agent = build_agent(
        tmp_path,
        """
        start: hello
        nodes:
          hello:
            type: say
            text: "Hallo {{ context.call.numberMetaData.country }}"
            activityParams: {language: de-DE, bargeIn: false}
            sessionParams: {voiceName: de-DE-KatjaNeural}
        """,
    )
    # When the call starts
    outputs = Call(agent, context={"call": {"numberMetaData": {"country": "DE"}}}).start()
    # Then exactly one message goes out, parameters included
    assert outputs == [
        say(
            "Hallo DE",
            activityParams={"language": "de-DE", "bargeIn": False},
            sessionParams={"voiceName": "de-DE-KatjaNeural"},
        )
    ]


def test_say_ssml_is_sent_unchanged(tmp_path: Path) -> None:
    # Given SSML text
    ssml = '<speak>Hello <break time="500ms"/> <say-as interpret-as="characters">AB</say-as></speak>'
    agent = build_agent(tmp_path, f"start: s\nnodes:\n  s: {{type: say, text: '{ssml}'}}\n")
    # When it runs, Then the SSML is the message text as written
    assert Call(agent).start() == [say(ssml)]


def test_nodes_run_in_order_until_a_dead_end(tmp_path: Path) -> None:
    # Given three say nodes chained by next
    agent = build_agent(
        tmp_path,
        """
        start: a
        nodes:
          a: {type: say, text: one, next: b}
          b: {type: say, text: two, next: c}
          c: {type: say, text: three}
        """,
    )
    call = Call(agent)
    # When the call starts, Then all three are sent in order and the flow goes idle
    assert call.start() == [say("one"), say("two"), say("three")]
    assert call.state.waiting == {"kind": "idle"} and not call.state.ended
    # And the next message starts again at `start` (no events.message handler)
    assert call.says("hello") == [say("one"), say("two"), say("three")]


def test_idle_input_goes_to_the_message_handler(tmp_path: Path) -> None:
    # Given a flow with an events.message handler
    agent = build_agent(
        tmp_path,
        """
        start: greet
        events: {message: echo}
        nodes:
          greet: {type: say, text: Hi}
          echo: {type: say, text: "You said {{ input.text }}"}
        """,
    )
    call = Call(agent)
    call.start()
    # When the caller speaks while nothing waits, Then the handler answers
    assert call.says("pizza") == [say("You said pizza")]
    # And digits are input too
    assert call.keys("42") == [say("You said 42")]


def test_event_node_sends_any_event(tmp_path: Path) -> None:
    # Given event nodes for abortPrompts and a valued event
    agent = build_agent(
        tmp_path,
        """
        start: a
        nodes:
          a: {type: event, name: abortPrompts, next: b}
          b:
            type: event
            name: expectAnotherBotMessage
            value: {n: "{{ 1 + 1 }}"}
            activityParams: {bargeIn: true}
        """,
    )
    # When run, Then the events are exactly as written
    assert Call(agent).start() == [
        ev("abortPrompts"),
        ev("expectAnotherBotMessage", value={"n": 2}, activityParams={"bargeIn": True}),
    ]


def test_send_activities_passes_raw_activities_and_cognigy_output(tmp_path: Path) -> None:
    # Given raw activities and a Cognigy output with an AudioCodes envelope
    agent = build_agent(
        tmp_path,
        """
        start: raw
        nodes:
          raw:
            type: send_activities
            activities:
              - {type: event, name: playUrl, activityParams: {playUrlUrl: "https://x/a.wav"}, custom: 1}
            next: cognigy
          cognigy:
            type: send_activities
            output:
              text: ignored when activities are present
              data:
                _cognigy:
                  _audioCodes:
                    json:
                      activities:
                        - {type: message, text: "from Cognigy", activityParams: {language: en-GB}}
        """,
    )
    # When run, Then both go out unchanged (unknown fields kept)
    assert Call(agent).start() == [
        ev("playUrl", activityParams={"playUrlUrl": "https://x/a.wav"}, custom=1),
        say("from Cognigy", activityParams={"language": "en-GB"}),
    ]


def test_condition_and_switch_branch(tmp_path: Path) -> None:
    # Given a condition and a switch on context values
    agent = build_agent(
        tmp_path,
        """
        start: rich
        nodes:
          rich: {type: condition, if: "context.balance > 100", then: yes_rich, else: country}
          yes_rich: {type: say, text: rich, next: country}
          country:
            type: switch
            value: context.call.numberMetaData.country
            cases: {DE: de, "1": one}
            default: other
          de: {type: say, text: Deutschland}
          one: {type: say, text: number one}
          other: {type: say, text: elsewhere}
        """,
    )
    # When the balance is high and the caller German, Then both branches are taken
    assert Call(agent, context={"balance": 150, "call": {"numberMetaData": {"country": "DE"}}}).start() == [
        say("rich"),
        say("Deutschland"),
    ]
    # When the balance is low and the value a number, Then the else branch and the "1" case
    assert Call(agent, context={"balance": 5, "call": {"numberMetaData": {"country": 1}}}).start() == [
        say("number one")
    ]
    # When the value is missing, Then the default
    assert Call(agent, context={"balance": 5}).start() == [say("elsewhere")]


def test_set_context_keeps_native_types_and_removes_paths(tmp_path: Path) -> None:
    # Given set nodes with a native expression, text, nested paths and a removal
    agent = build_agent(
        tmp_path,
        """
        start: a
        nodes:
          a:
            type: set
            context:
              count: "{{ (context.count or 0) + 1 }}"
              label: "n={{ (context.count or 0) + 1 }}"
              account.id: "{{ '42' }}"
              flags: {vip: true, list: [1, "{{ 2 * 2 }}"]}
            remove: [old]
        """,
    )
    call = Call(agent, context={"count": 1, "old": "x"})
    # When it runs
    assert call.start() == []
    # Then values all saw the old context, kept their types, and `old` is gone
    assert call.context == {
        "count": 2,
        "label": "n=2",
        "account": {"id": "42"},
        "flags": {"vip": True, "list": [1, 4]},
    }


def test_goto_call_and_return_between_flows(tmp_path: Path) -> None:
    # Given main calling `lookup` (which asks a question) and jumping to `bye`
    agent = build_agent(
        tmp_path,
        """
        start: a
        nodes:
          a: {type: say, text: main, next: b}
          b: {type: call, flow: lookup, next: c}
          c: {type: say, text: "back with {{ context.answer }}", next: d}
          d: {type: goto, flow: bye, node: end_here}
        """,
        other_flows={
            "lookup": """
            start: ask
            nodes:
              ask: {type: question, text: "Which?", store: answer}
            """,
            "bye": """
            start: unused
            nodes:
              unused: {type: say, text: never}
              end_here: {type: say, text: bye, next: stop}
              stop: {type: end}
            """,
        },
    )
    call = Call(agent)
    # When the call starts, Then main runs into the called flow's question, first asking VAIC for
    # the silence event that question needs (main itself needed none)
    assert call.start() == [
        say("main"),
        ev("config", sessionParams={"sendEventsToBot": ["noUserInput"], "userNoInputSendEvent": True}),
        say("Which?"),
    ]
    assert call.state.stack == [{"flow": "main", "node": "c"}]
    assert call.state.waiting is not None and call.state.waiting["flow"] == "lookup"
    # When the caller answers, Then the called flow returns to main, which jumps to `bye` and ends
    assert call.says("blue") == [say("back with blue"), say("bye")]
    assert call.state.ended and call.state.stack == [] and call.state.waiting is None
    # And after the end, input is ignored
    assert call.says("hello?") == []


def test_goto_node_in_same_flow(tmp_path: Path) -> None:
    # Given a goto within the flow
    agent = build_agent(
        tmp_path,
        """
        start: a
        nodes:
          a: {type: goto, node: c}
          b: {type: say, text: skipped}
          c: {type: say, text: landed}
        """,
    )
    # Then the flow continues at the target
    assert Call(agent).start() == [say("landed")]


def test_end_node_ends_the_flow(tmp_path: Path) -> None:
    # Given say then end
    agent = build_agent(tmp_path, "start: a\nnodes:\n  a: {type: say, text: done, next: e}\n  e: {type: end}\n")
    call = Call(agent)
    # When run, Then the state is ended and later inputs send nothing
    assert call.start() == [say("done")]
    assert call.state.ended
    assert call.keys("1") == [] and call.silence() == []


def test_step_budget_stops_a_loop(tmp_path: Path) -> None:
    # Given two nodes that jump to each other forever
    agent = build_agent(
        tmp_path,
        """
        start: a
        nodes:
          a: {type: set, context: {n: "{{ (context.n or 0) + 1 }}"}, next: b}
          b: {type: goto, node: a}
        """,
    )
    # When a turn runs, Then it stops with a FlowError that explains the budget
    with pytest.raises(FlowError, match=r"more than 200 steps in one turn"):
        Call(agent).start()


def test_template_error_at_run_time_is_a_flow_error(tmp_path: Path) -> None:
    # Given a template that divides by zero
    agent = build_agent(tmp_path, "start: a\nnodes:\n  a: {type: say, text: '{{ 1 // context.zero }}'}\n")
    # When it renders, Then FlowError names flow, node and the template
    with pytest.raises(FlowError, match=r"flow 'main', node 'a' \(say\): expression .*ZeroDivisionError"):
        Call(agent, context={"zero": 0}).start()


def test_unknown_flow_name_is_a_flow_error(tmp_path: Path) -> None:
    agent = build_agent(tmp_path, "start: a\nnodes:\n  a: {type: say, text: x}\n")
    with pytest.raises(FlowError, match="no flow named 'nope'"):
        Call(agent, flow="nope").start()
