"""Intent recognition: the built-in matcher, its threshold, the connector interface, and accuracy."""

from __future__ import annotations

from audiocodes_endpoint.flows import BuiltinIntentMatcher, NluConnector, NluResult, evaluate, load_agent
from audiocodes_endpoint.flows.nlu import load_utterances, misses

from .support import DEMO_AGENT, REPO

UTTERANCES = REPO / "tests" / "data" / "nlu_utterances.yaml"


def test_demo_intents_reach_90_percent_on_the_test_set() -> None:
    # Given the demo agent's intents and the 50+ utterance test set
    utterances = load_utterances(UTTERANCES)
    assert len(utterances) >= 50
    assert any(expected is None for _, expected in utterances)
    matcher = load_agent(DEMO_AGENT).nlu
    # When every utterance is recognised, Then at least 90% get the expected intent (or none)
    accuracy = evaluate(matcher, utterances)
    assert accuracy >= 0.9, misses(matcher, utterances)


def test_threshold_turns_weak_matches_into_no_intent() -> None:
    matcher = BuiltinIntentMatcher({"balance": ["account balance"]}, threshold=0.75)
    assert matcher.recognize("account balance please", None).intent == "balance"
    weak = matcher.recognize("I lost my card", None)
    assert weak.intent is None and 0 <= weak.score < 0.75


def test_empty_text_and_numbers() -> None:
    matcher = BuiltinIntentMatcher({"balance": ["balance"]})
    assert matcher.recognize("", None) == NluResult(None, 0.0, {})
    assert matcher.recognize("account 1234", None).slots == {"number": "1234"}


def test_any_object_with_recognize_is_a_connector() -> None:
    class Always:
        def recognize(self, text: str, language: str | None) -> NluResult:
            return NluResult("agent", 1.0)

    assert isinstance(Always(), NluConnector)
    assert isinstance(BuiltinIntentMatcher({}), NluConnector)
    assert evaluate(Always(), [("x", "agent"), ("y", None)]) == 0.5
    assert evaluate(Always(), []) == 0.0
