"""Intent recognition: a small connector interface and a built-in matcher that needs no cloud.

The built-in matcher compares the caller's words with each intent's example phrases
(``agent/intents.yaml``) using rapidfuzz and returns the best intent if its score reaches the
threshold, else no intent. Other NLU services plug in by implementing :class:`NluConnector`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_THRESHOLD = 0.7
_PUNCTUATION = re.compile(r"[^\w\s']+", re.UNICODE)
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True)
class NluResult:
    intent: str | None
    score: float = 0.0
    slots: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class NluConnector(Protocol):
    def recognize(self, text: str, language: str | None) -> NluResult: ...


class IntentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    examples: list[str] = Field(min_length=1, description="Example phrases; more and varied is better.")


class IntentsFile(BaseModel):
    """``agent/intents.yaml``."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=0, le=1, description="Minimum score for a match.")
    intents: dict[str, IntentSpec] = Field(default_factory=dict)


# Words that carry no intent: dropping them keeps "I want my balance" close to "balance".
# fmt: off
STOP_WORDS = frozenset([
    "a", "an", "the", "i", "i'm", "im", "me", "my", "to", "for", "of", "and", "or", "is", "it", "please",
    "can", "could", "would", "you", "will", "like", "want", "i'd", "id", "just", "um", "uh", "hmm", "so",
    "well", "do", "does", "on", "in", "at", "with", "be", "this", "that", "what", "what's", "whats", "how",
    "are", "am", "was", "there", "have", "has", "get", "some", "any", "your", "now", "then", "oh", "hey",
])
# fmt: on


def normalize(text: str) -> str:
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


def _content(text: str) -> tuple[str, ...]:
    words = normalize(text).split()
    kept = [w for w in words if w not in STOP_WORDS]
    return tuple(kept or words)


# A word counts as present if it is this similar (0-100) to a word on the other side: forgives
# recognition slips and inflection ("balances", "agents", "thanks").
WORD_MATCH = 80
FUZZY_MIN_LENGTH = 5
# How the score is made (0-1): how much of the closest example the caller said, and how much of
# what the caller said belongs to the intent's vocabulary at all. The second part keeps one shared
# word ("what time is it" vs "what can you do") from carrying a match, and lets an utterance that
# mixes words of several examples of one intent still match it.
EXAMPLE_WEIGHT = 0.6


class BuiltinIntentMatcher:
    """Fuzzy matching against example phrases; deterministic, offline, fast enough for a phone turn."""

    def __init__(self, intents: Mapping[str, Sequence[str]], threshold: float = DEFAULT_THRESHOLD) -> None:
        self.threshold = threshold
        self.intents = tuple(intents)
        self._examples = [
            (name, normalize(example), _content(example)) for name in intents for example in intents[name]
        ]
        self._vocabulary = {
            name: tuple(sorted({word for example in intents[name] for word in _content(example)})) for name in intents
        }

    @classmethod
    def from_file(cls, spec: IntentsFile) -> BuiltinIntentMatcher:
        return cls({name: intent.examples for name, intent in spec.intents.items()}, spec.threshold)

    def scores(self, text: str) -> dict[str, float]:
        """Best score (0-1) per intent for ``text``."""
        from rapidfuzz import fuzz, process  # imported on first use: keeps the handler's cold import small

        plain, words = normalize(text), _content(text)
        if not plain:
            return {}

        def present(word: str, among: Sequence[str]) -> bool:
            if word in among:
                return True
            # Short words are only equal or different: "one" is not "done", "no" is not "now".
            return len(word) >= FUZZY_MIN_LENGTH and (
                process.extractOne(word, among, scorer=fuzz.ratio, score_cutoff=WORD_MATCH) is not None
            )

        in_vocabulary = {
            name: sum(present(word, vocabulary) for word in words) / len(words)
            for name, vocabulary in self._vocabulary.items()
        }
        best: dict[str, float] = {}
        for name, example, example_words in self._examples:
            if plain == example:
                score = 1.0
            else:
                said = sum(present(word, words) for word in example_words) / len(example_words)
                score = EXAMPLE_WEIGHT * said + (1 - EXAMPLE_WEIGHT) * in_vocabulary[name]
            best[name] = max(score, best.get(name, 0.0))
        return best

    def recognize(self, text: str, language: str | None = None) -> NluResult:
        scores = self.scores(text)
        slots: dict[str, Any] = {}
        number = _NUMBER.search(text or "")
        if number:
            slots["number"] = number.group(0)
        if not scores:
            return NluResult(None, 0.0, slots)
        intent, score = max(scores.items(), key=lambda item: item[1])
        if score < self.threshold:
            return NluResult(None, round(score, 4), slots)
        return NluResult(intent, round(score, 4), slots)


def evaluate(matcher: NluConnector, utterances: Iterable[tuple[str, str | None]]) -> float:
    """Share of utterances whose recognised intent (``None`` = no intent) equals the expected one."""
    cases = list(utterances)
    if not cases:
        return 0.0
    hits = sum(1 for text, expected in cases if matcher.recognize(text, None).intent == expected)
    return hits / len(cases)


def misses(
    matcher: NluConnector, utterances: Iterable[tuple[str, str | None]]
) -> list[tuple[str, str | None, str | None]]:
    """(text, expected, got) for every utterance recognised wrongly; for reports and tuning."""
    found = ((text, expected, matcher.recognize(text, None).intent) for text, expected in utterances)
    return [case for case in found if case[1] != case[2]]


def load_utterances(path: Any) -> list[tuple[str, str | None]]:
    """Read a test set: a YAML mapping ``utterance: intent`` (``none``/null for no intent),
    optionally under an ``utterances:`` key."""
    from audiocodes_endpoint.flows.yamlio import parse  # YAML 1.2 booleans: `yes: yes` is an intent, not True

    with open(path, encoding="utf-8") as handle:
        data, _ = parse(handle.read())
    if isinstance(data, Mapping) and "utterances" in data:
        data = data["utterances"]
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a mapping of utterance -> intent")
    return [
        (str(text), None if expected in (None, "none", "None") else str(expected)) for text, expected in data.items()
    ]
