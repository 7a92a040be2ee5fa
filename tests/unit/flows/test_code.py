"""The code node: calling agent extensions, outputs (incl. Cognigy envelopes), context, time limit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from audiocodes_endpoint.flows import FlowError, TurnOptions

from .support import Call, build_agent, ev, say

EXTENSION = """
import time

def greet(args):
    return f"Hello {args['name']}"

def activities():
    return [{"type": "event", "name": "sendMetaData", "value": {"a": 1}}, "and text"]

def cognigy(input):
    return {
        "text": "",
        "data": {"_cognigy": {"_audioCodes": {"json": {"activities": [
            {"type": "event", "name": "playUrl", "activityParams": {"playUrlUrl": "https://m/" + input["text"]}}
        ]}}}},
    }

def legacy_audiocodes():
    return {"data": {"_cognigy": {"_audiocodes": {"activities": [{"type": "message", "text": "3.x"}]}}}}

def legacy_voice_gateway():
    return {"data": {"_cognigy": {"_voiceGateway": {"json": {"activities": [{"type": "message", "text": "vg"}]}}}}}

def plain_cognigy_text():
    return {"text": "just text", "data": {}}

def counter(context, variables):
    context["calls"] = context.get("calls", 0) + 1       # in place, Cognigy style
    return {"context": {"seen.variable": variables["v"]}, "outputs": ["counted"]}

def everything(input, context, variables, args, **rest):
    return {"context": {"keys": sorted(["input", "context", "variables", "args", *rest])}}

def slow(context):
    context["late"] = True
    time.sleep(1.0)

def broken():
    raise ValueError("bad account")

def exits():
    raise SystemExit(3)

def nonsense():
    return 42
"""


def run(tmp_path: Path, function: str, extra: str = "", **kwargs: object) -> Call:
    flow = f"""
start: c
nodes:
  c:
    type: code
    function: tools.{function}
{extra}
    next: after
  after: {{type: say, text: after}}
  recover: {{type: say, text: "recovered: {{{{ input.result.error }}}}"}}
"""
    agent = build_agent(tmp_path, flow, extensions={"tools": EXTENSION})
    call = Call(agent, **kwargs)  # type: ignore[arg-type]
    call.outputs = call.turn(text="hold.wav")  # type: ignore[attr-defined]
    return call


def test_returned_text_is_spoken(tmp_path: Path) -> None:
    call = run(tmp_path, "greet", "    args: {name: '{{ context.name }}'}", context={"name": "Ada"})
    assert call.outputs == [say("Hello Ada"), say("after")]  # type: ignore[attr-defined]


def test_returned_activities_and_text(tmp_path: Path) -> None:
    assert run(tmp_path, "activities").outputs == [  # type: ignore[attr-defined]
        ev("sendMetaData", value={"a": 1}),
        say("and text"),
        say("after"),
    ]


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("cognigy", ev("playUrl", activityParams={"playUrlUrl": "https://m/hold.wav"})),
        ("legacy_audiocodes", say("3.x")),
        ("legacy_voice_gateway", say("vg")),
        ("plain_cognigy_text", say("just text")),
    ],
)
def test_cognigy_outputs_are_sent_unchanged(tmp_path: Path, function: str, expected: dict[str, object]) -> None:
    # Given an extension returning a Cognigy output envelope, Then its activities go out as they are
    assert run(tmp_path, function).outputs == [expected, say("after")]  # type: ignore[attr-defined]


def test_context_changes_in_place_and_returned(tmp_path: Path) -> None:
    options = TurnOptions(variables={"v": "from endpoint"})
    call = run(tmp_path, "counter", context={"calls": 1}, options=options)
    assert call.outputs == [say("counted"), say("after")]  # type: ignore[attr-defined]
    assert call.context == {"calls": 2, "seen": {"variable": "from endpoint"}}


def test_function_gets_only_what_it_declares_or_everything_with_kwargs(tmp_path: Path) -> None:
    call = run(tmp_path, "everything")
    assert call.context["keys"] == ["args", "context", "input", "variables"]


def test_timeout_fails_the_turn_and_discards_context_changes(tmp_path: Path) -> None:
    # Given a function slower than the limit
    started = time.monotonic()
    with pytest.raises(FlowError, match=r"node 'c' \(code\): tools.slow: CodeTimeout: did not return within 0.2 s"):
        run(tmp_path, "slow", options=TurnOptions(code_timeout_seconds=0.2))
    # Then the turn did not wait for it
    assert time.monotonic() - started < 0.9


def test_timeout_with_on_error_recovers(tmp_path: Path) -> None:
    call = run(tmp_path, "slow", "    timeout_seconds: 0.1\n    on_error: recover")
    assert call.outputs[0]["text"].startswith("recovered: tools.slow: CodeTimeout")  # type: ignore[attr-defined]
    assert "late" not in call.context


def test_exception_fails_the_turn(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match=r"tools\.broken: ValueError: bad account"):
        run(tmp_path, "broken")


def test_exception_with_on_error(tmp_path: Path) -> None:
    call = run(tmp_path, "broken", "    on_error: recover")
    assert call.outputs == [say("recovered: tools.broken: ValueError: bad account")]  # type: ignore[attr-defined]


def test_system_exit_does_not_escape(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="RuntimeError: raised SystemExit"):
        run(tmp_path, "exits")


def test_unusable_return_value(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="cannot send int: expected"):
        run(tmp_path, "nonsense")
