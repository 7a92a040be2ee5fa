"""Tokens and conditions through Jinja2's immutable sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiocodes_endpoint.flows import FlowError, TurnOptions
from audiocodes_endpoint.flows.templating import TemplateRuntimeError, Templates

from .support import Call, build_agent, say

SCOPE = {
    "input": {"text": "hi", "data": {"numberMetaData": {"country": "DE", "valid": True}}, "execution": 3},
    "context": {"items": [1, 2], "n": 5},
    "variables": {"api": "https://api"},
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("plain text", "plain text"),
        ("{{ input.data.numberMetaData.country }}", "DE"),
        ("Turn {{ input.execution }} from {{ input.data.numberMetaData.country }}", "Turn 3 from DE"),
        ("{{ input.data.missing.deeper }}", ""),
        ("[{{ context.nothing }}]", "[]"),
        ("{% if context.n > 3 %}big{% else %}small{% endif %}", "big"),
        ("{{ variables.api }}/x", "https://api/x"),
        ("{{ context.items | join(',') }}", "1,2"),
    ],
)
def test_text_templates(source: str, expected: str) -> None:
    templates = Templates()
    templates.compile_text(source)
    assert templates.text(source, SCOPE) == expected


def test_data_keeps_native_types_for_a_single_expression() -> None:
    templates = Templates()
    value = {"n": "{{ context.n * 2 }}", "s": "n={{ context.n }}", "l": ["{{ context.items }}"], "x": None}
    assert templates.data(value, SCOPE) == {"n": 10, "s": "n=5", "l": [[1, 2]], "x": None}


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ context.__class__ }}",
        "{{ input.text.__class__.__init__.__globals__ }}",
        "{{ context.items.append(3) }}",
        "{{ context.update({'n': 1}) }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ (1).__class__.__base__.__subclasses__() }}",
    ],
)
def test_sandbox_blocks_escapes_and_mutation(source: str) -> None:
    # Given a template reaching for Python internals or mutating context, Then rendering fails
    templates = Templates()
    with pytest.raises(TemplateRuntimeError):
        templates.text(source, SCOPE)
    assert SCOPE["context"] == {"items": [1, 2], "n": 5}


def test_an_escape_attempt_in_a_flow_fails_the_turn(tmp_path: Path) -> None:
    agent = build_agent(tmp_path, "start: a\nnodes:\n  a: {type: say, text: \"{{ ''.__class__.__mro__ }}\"}\n")
    with pytest.raises(FlowError, match="access to attribute '__class__'"):
        Call(agent).start()


def test_conditions_see_input_context_and_variables(tmp_path: Path) -> None:
    # Given a condition using all three scopes
    flow = """
start: c
nodes:
  c:
    type: condition
    if: "input.text == 'go' and context.n >= 5 and variables.mode == 'live'"
    then: yes
    else: no
  yes: {type: say, text: yes}
  no: {type: say, text: no}
"""
    agent = build_agent(tmp_path, flow)
    live = TurnOptions(variables={"mode": "live"})
    call = Call(agent, options=live, context={"n": 5})
    call.start()
    assert call.says("go") == [say("yes")]
    assert Call(agent, options=TurnOptions(variables={"mode": "test"}), context={"n": 5}).says("go") == [say("no")]


def test_a_comparison_with_a_missing_value_is_an_error_not_a_guess() -> None:
    templates = Templates()
    with pytest.raises(TemplateRuntimeError, match="UndefinedError"):
        templates.evaluate("context.missing > 3", SCOPE)
    assert templates.evaluate("context.missing | default(0) > 3", SCOPE) is False
