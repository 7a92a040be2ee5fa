"""The question node: every answer type, reprompts, retries, silence, and where answers are kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import Call, build_agent, say

INTENTS = """
threshold: 0.75
intents:
  balance: {examples: [balance, account balance, how much money do I have]}
  agent: {examples: [agent, talk to a human, a real person]}
  goodbye: {examples: [goodbye, bye]}
  help: {examples: [help, what can you do]}
"""


def question(tmp_path: Path, body: str, intents: str = INTENTS) -> Call:
    flow = f"""
start: q
nodes:
  q:
    type: question
    text: Question?
    store: answer
{body}
    next: done
  done:
    type: say
    text: "got {{{{ context.answer }}}} / {{{{ input.result }}}}"
  failed:
    type: say
    text: failed
  silent:
    type: say
    text: silent
"""
    call = Call(build_agent(tmp_path, flow, intents=intents))
    assert call.start() == [say("Question?")]
    return call


@pytest.mark.parametrize(
    ("expect", "extra", "answer", "stored"),
    [
        ("text", "", "anything at all", "anything at all"),
        ("number", "", "I am 42 years old", "42"),
        ("number", "", "twenty five", "25"),
        ("number", "", "3,5", "3.5"),
        ("yes_no", "", "yes please", "True"),
        ("yes_no", "", "nein danke", "False"),
        ("digits", "    min_digits: 4\n", "1 2 3 4", "1234"),
        ("digits", "    min_digits: 3\n", "one two three", "123"),
        ("regex", "    pattern: '[A-Z]{2}[0-9]{2}'\n", "my code is AB12 thanks", "AB12"),
        ("intent", "    intents: [balance]\n", "what's my account balance", "balance"),
    ],
)
def test_valid_answers_are_stored_in_context_and_input_result(
    tmp_path: Path, expect: str, extra: str, answer: str, stored: str
) -> None:
    # Given a question expecting `expect`
    call = question(tmp_path, f"    expect: {expect}\n{extra}")
    # When the caller answers validly, Then the flow continues with the answer stored
    assert call.says(answer) == [say(f"got {stored} / {stored}")]
    assert str(call.context["answer"]) == stored
    assert call.state.waiting == {"kind": "idle"}


def test_digits_from_dtmf_drop_the_submit_key(tmp_path: Path) -> None:
    # Given a digits question
    call = question(tmp_path, "    expect: digits\n    min_digits: 4\n    max_digits: 6\n")
    # When the caller keys 1234#, Then the digits without # are the answer
    assert call.keys("1234#") == [say("got 1234 / 1234")]


def test_yes_no_from_dtmf_and_from_nlu(tmp_path: Path) -> None:
    # Given a yes/no question and an agent with a `no` intent
    intents = INTENTS + "  no: {examples: [not at all, negative]}\n"
    call = question(tmp_path, "    expect: yes_no\n", intents)
    # When the caller keys 1, Then that is yes
    assert call.keys("1") == [say("got True / True")]
    # And (another call) an utterance the words miss but the NLU knows as `no` is no
    call2 = question(tmp_path / "b", "    expect: yes_no\n", intents)
    assert call2.says("not at all") == [say("got False / False")]


def test_invalid_answer_is_reprompted_then_fails(tmp_path: Path) -> None:
    # Given a number question with a reprompt, one retry and a failure branch
    call = question(
        tmp_path,
        "    expect: number\n    reprompt: 'A number, please.'\n    retries: 1\n    on_failure: failed\n",
    )
    # When the caller says no number, Then the reprompt
    assert call.says("banana") == [say("A number, please.")]
    assert call.state.waiting is not None and call.state.waiting["retries"] == 1
    # When again, Then the failure branch, and the answer is null
    assert call.says("apple") == [say("failed")]
    assert call.context["answer"] is None


def test_reprompt_defaults_to_the_prompt_and_failure_to_next(tmp_path: Path) -> None:
    # Given a question with no reprompt, no retries and no on_failure
    call = question(tmp_path, "    expect: digits\n    retries: 0\n")
    # When the answer is invalid, Then the flow goes on to next with a null answer
    assert call.says("hello") == [say("got None / None")]

    call2 = question(tmp_path / "b", "    expect: digits\n    retries: 1\n")
    # And with a retry left, the prompt is repeated
    assert call2.says("hello") == [say("Question?")]


def test_no_input_reprompts_then_goes_to_on_no_input(tmp_path: Path) -> None:
    # Given a question with a no-input reprompt, 2 no-input retries and a no-input branch
    call = question(
        tmp_path,
        "    no_input_reprompt: 'Are you there?'\n    on_no_input: silent\n    on_failure: failed\n",
    )
    # When VAIC reports silence twice, Then two reprompts
    assert call.silence(1) == [say("Are you there?")]
    assert call.silence(2) == [say("Are you there?")]
    # When a third time, Then the no-input branch
    assert call.silence(3) == [say("silent")]


def test_no_input_falls_back_to_on_failure(tmp_path: Path) -> None:
    # Given no on_no_input, no reprompts for silence
    call = question(tmp_path, "    no_input_retries: 0\n    on_failure: failed\n")
    # When silent, Then on_failure
    assert call.silence() == [say("failed")]


def test_question_sends_activity_params_on_prompt_and_reprompt(tmp_path: Path) -> None:
    # Given a question with activity and session params
    flow = """
start: q
nodes:
  q:
    type: question
    expect: number
    text: Wie alt?
    activityParams: {language: de-DE}
    sessionParams: {bargeIn: true}
"""
    call = Call(build_agent(tmp_path, flow))
    # Then the prompt carries both, the reprompt only the activity params
    assert call.start() == [say("Wie alt?", activityParams={"language": "de-DE"}, sessionParams={"bargeIn": True})]
    assert call.says("alt") == [say("Wie alt?", activityParams={"language": "de-DE"})]


MENU = """
start: menu
intents: {goodbye: bye}
nodes:
  menu:
    type: question
    expect: choice
    text: Press 1 for balance or 2 for an agent.
    store: choice
    choices:
      balance: {dtmf: 1, intents: [balance], next: balance}
      agent: {dtmf: "2", intents: [agent], synonyms: [human, someone], next: agent}
    on_failure: agent
  balance: {type: say, text: balance}
  agent: {type: say, text: agent}
  bye: {type: say, text: bye}
"""


@pytest.mark.parametrize(
    ("how", "value", "expected"),
    [
        ("keys", "1", "balance"),
        ("keys", "2", "agent"),
        ("says", "one", "balance"),
        ("says", "how much money do I have", "balance"),
        ("says", "let me talk to a human", "agent"),
        ("says", "someone please", "agent"),
        ("says", "Balance!", "balance"),
    ],
)
def test_choice_by_dtmf_intent_or_words(tmp_path: Path, how: str, value: str, expected: str) -> None:
    # Given a DTMF-or-speech menu
    call = Call(build_agent(tmp_path, MENU, intents=INTENTS))
    call.start()
    # When the caller keys or says something, Then the matching choice's branch
    assert getattr(call, how)(value) == [say(expected)]
    assert call.context["choice"] == expected


def test_choice_unknown_key_reprompts(tmp_path: Path) -> None:
    call = Call(build_agent(tmp_path, MENU, intents=INTENTS))
    call.start()
    # When the caller keys 9, Then the prompt again
    assert call.keys("9") == [say("Press 1 for balance or 2 for an agent.")]


def test_global_intent_interrupts_unless_the_question_claims_it(tmp_path: Path) -> None:
    # Given a menu and a global goodbye intent
    call = Call(build_agent(tmp_path, MENU, intents=INTENTS))
    call.start()
    # When the caller says goodbye during the menu, Then the global handler runs
    assert call.says("bye") == [say("bye")]
    # And a choice intent (agent) is taken by the menu itself
    flow = MENU.replace("intents: {goodbye: bye}", "intents: {goodbye: bye, agent: bye}")
    call2 = Call(build_agent(tmp_path / "b", flow, intents=INTENTS))
    call2.start()
    assert call2.says("talk to a human") == [say("agent")]


def test_a_valid_answer_beats_a_global_intent(tmp_path: Path) -> None:
    # Given a digits question and a global goodbye intent
    flow = """
start: q
intents: {goodbye: bye}
nodes:
  q: {type: question, expect: digits, text: "Number?", store: n, next: ok}
  ok: {type: say, text: "ok {{ context.n }}"}
  bye: {type: say, text: bye}
"""
    call = Call(build_agent(tmp_path, flow, intents=INTENTS), nlu=False)
    call.start()
    # When the matcher (wrongly) calls spoken digits "goodbye", Then the question still gets them
    assert call.says("one two three", intent="goodbye") == [say("ok 123")]
    # And when the input is not a valid answer, the global intent wins
    call2 = Call(build_agent(tmp_path / "b", flow, intents=INTENTS), nlu=False)
    call2.start()
    assert call2.says("bye now", intent="goodbye") == [say("bye")]
