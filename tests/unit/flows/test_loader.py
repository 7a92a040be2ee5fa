"""Loading an agent: errors name file, line, node and field; unreachable nodes are warnings."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from audiocodes_endpoint.flows import AgentLoadError, check_agent, load_agent

from .support import DEMO_AGENT, write_agent


def errors_of(tmp_path: Path, flow: str, **kwargs: object) -> list[str]:
    report = check_agent(write_agent(tmp_path, {"main": flow}, **kwargs))  # type: ignore[arg-type]
    assert report.agent is None
    return report.errors


def one_error(tmp_path: Path, flow: str, **kwargs: object) -> str:
    errors = errors_of(tmp_path, flow, **kwargs)
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize(
    ("flow", "expected"),
    [
        (
            "start: a\nnodes:\n  a: {type: sayy, text: hi}\n",
            r"main.yaml:3: node 'a' \(sayy\): unknown node type 'sayy'; expected one of 'say', 'question'",
        ),
        ("start: a\nnodes:\n  a: {text: hi}\n", r"main.yaml:3: node 'a': missing `type`"),
        ("start: a\nnodes:\n  a:\n    type: say\n", r"main.yaml:3: node 'a' \(say\): field 'text': Field required"),
        (
            "start: a\nnodes:\n  a:\n    type: say\n    text: hi\n    nxt: b\n",
            r"main.yaml:6: node 'a' \(say\): field 'nxt': unknown field \(misspelt\?\)",
        ),
        (
            "start: a\nnodes:\n  a:\n    type: say\n    text: hi\n    next: nowhere\n",
            r"main.yaml:6: node 'a' \(say\): field 'next': no node 'nowhere' in this flow",
        ),
        ("start: b\nnodes:\n  a: {type: say, text: hi}\n", r"main.yaml:1: field 'start': no node 'b' in this flow"),
        (
            "start: a\nnodes:\n  a:\n    type: say\n    text: 'Hi {{ name'\n",
            r"main.yaml:5: node 'a' \(say\): field 'text': bad template: unexpected end of template",
        ),
        (
            "start: a\nnodes:\n  a: {type: condition, if: 'x ==', then: a}\n",
            r"main.yaml:3: node 'a' \(condition\): field 'if': bad template",
        ),
        (
            "start: a\nnodes:\n  a: {type: transfer, transferTarget: 'http://x'}\n",
            r"node 'a' \(transfer\): field 'transferTarget': 'http://x' is not a phone number",
        ),
        (
            "start: a\nnodes:\n  a: {type: send_dtmf, dtmfDigits: '12a'}\n",
            r"field 'dtmfDigits': '12a' is not 1-20 DTMF digits",
        ),
        ("start: a\nnodes:\n  a: {type: send_dtmf, dtmfDigits: '123456789012345678901'}\n", r"field 'dtmfDigits'"),
        (
            "start: a\nnodes:\n  a: {type: question, text: q, expect: regex, pattern: '(unclosed'}\n",
            r"field 'pattern': not a valid regular expression",
        ),
        ("start: a\nnodes:\n  a: {type: question, text: q, expect: choice}\n", r"`expect: choice` needs `choices`"),
        (
            "start: a\nnodes:\n  a: {type: session_params, bargeInMinWordCount: 9}\n",
            r"field 'bargeInMinWordCount': Input should be less than or equal to 5",
        ),
        (
            "start: a\nnodes:\n  a: {type: session_params, bargeIn: 'yes'}\n",
            r"field 'bargeIn': Input should be a valid boolean",
        ),
        ("start: a\nnodes:\n  a: {type: session_params, bargein: true}\n", r"field 'bargein': unknown field"),
        ("start: a\nnodes:\n  a: {type: session_params}\n", r"node 'a' \(session_params\): set at least one parameter"),
        (
            "start: a\nnodes:\n  a: {type: say, text: x, activityParams: {language: 'not a tag!'}}\n",
            r"field 'activityParams': .*language: Value error, 'not a tag!' is not a BCP-47 language tag",
        ),
        (
            "start: a\nnodes:\n  a: {type: call_recording, action: stop, callRecordingId: x}\n",
            r"only apply to `action: start`",
        ),
        ("start: a\nnodes:\n  a: {type: goto, flow: other}\n", r"field 'flow': no flow named 'other'"),
        ("start: a\nnodes:\n  a: {type: code, function: nope.fn}\n", r"field 'function': no extension module 'nope'"),
        ("start: a\nnodes:\n  a: {type: say, text: x}\n  a: {type: say, text: y}\n", r"found duplicate key 'a'"),
        ("start: a\nnodes:\n  a: {type: say, text: [unclosed\n", r"main.yaml:\d+: invalid YAML"),
        ("- just\n- a list\n", r"a flow is a mapping with `start` and `nodes`"),
        ("start: a\nnodes:\n  a: {type: say, text: x}\nintents: {nope: a}\n", r"no intent named 'nope'"),
        ("start: a\nevents: {noUserInput: z}\nnodes:\n  a: {type: say, text: x}\n", r"field 'events.noUserInput'"),
        ("start: a\nnodes:\n  bad id!: {type: say, text: x}\n", r"String should match pattern"),
    ],
)
def test_load_errors_name_file_line_node_and_field(tmp_path: Path, flow: str, expected: str) -> None:
    # Given a flow with one mistake, When the agent loads, Then one error says where and what
    message = one_error(tmp_path, flow)
    assert "main.yaml" in message
    assert re.search(expected, message), message


def test_all_errors_are_reported_at_once(tmp_path: Path) -> None:
    flow = "start: a\nnodes:\n  a: {type: say, text: x, next: b}\n  c: {type: say, text: '{{'}\n"
    assert len(errors_of(tmp_path, flow)) == 2


def test_load_agent_raises_with_every_error(tmp_path: Path) -> None:
    write_agent(tmp_path, {"main": "start: a\nnodes:\n  a: {type: nope}\n"})
    with pytest.raises(AgentLoadError, match=r"1 error\(s\) in the agent:\n.*unknown node type 'nope'") as info:
        load_agent(tmp_path)
    assert len(info.value.errors) == 1


def test_unreachable_nodes_are_warnings(tmp_path: Path) -> None:
    flow = "start: a\nnodes:\n  a: {type: say, text: x}\n  orphan: {type: say, text: y}\n"
    report = check_agent(write_agent(tmp_path, {"main": flow}))
    assert report.agent is not None and report.errors == []
    assert len(report.warnings) == 1 and "node 'orphan' (say): unreachable" in report.warnings[0]


def test_unknown_event_names_are_warnings(tmp_path: Path) -> None:
    flow = "start: a\nevents: {noUserinput: a}\nnodes:\n  a: {type: say, text: x}\n"
    report = check_agent(write_agent(tmp_path, {"main": flow}))
    assert report.agent is not None
    assert any("'noUserinput' is not an event" in w for w in report.warnings)


def test_yes_and_no_are_strings_not_booleans(tmp_path: Path) -> None:
    # Given choices and cases named yes/no/on/off (YAML 1.1 booleans), Then they load as strings
    flow = """
    start: s
    nodes:
      s:
        type: switch
        value: context.x
        cases: {yes: a, no: a, on: a, off: a}
      a: {type: say, text: x}
    """
    report = check_agent(write_agent(tmp_path, {"main": textwrap.dedent(flow)}))
    assert report.agent is not None, report.errors
    switch = report.agent.flows["main"].nodes["s"]
    assert set(switch.cases) == {"yes", "no", "on", "off"}  # type: ignore[union-attr]


def test_intents_file_errors(tmp_path: Path) -> None:
    flow = "start: a\nnodes:\n  a: {type: say, text: x}\n"
    errors = errors_of(tmp_path, flow, intents="intents:\n  balance: {examples: []}\n")
    assert any("intents.yaml:2: intents.balance.examples" in e for e in errors)


def test_extension_import_errors_name_the_file(tmp_path: Path) -> None:
    flow = "start: a\nnodes:\n  a: {type: say, text: x}\n"
    errors = errors_of(tmp_path, flow, extensions={"broken": "import does_not_exist_anywhere\n"})
    assert len(errors) == 1 and "broken.py: cannot import: ModuleNotFoundError" in errors[0]


def test_missing_function_in_existing_module(tmp_path: Path) -> None:
    flow = "start: a\nnodes:\n  a: {type: code, function: tools.nope}\n"
    error = one_error(tmp_path, flow, extensions={"tools": "def yes():\n    return None\n"})
    assert "extension module 'tools' has no function 'nope'" in error


def test_no_flows_directory(tmp_path: Path) -> None:
    assert "no flows/ directory" in check_agent(tmp_path).errors[0]


def test_the_demo_agent_loads_without_errors_or_warnings() -> None:
    report = check_agent(DEMO_AGENT)
    assert report.errors == [] and report.warnings == []
    assert {"main", "async_demo"} <= set(report.agent.flows)  # type: ignore[union-attr]
