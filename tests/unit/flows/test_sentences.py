"""Cognigy's ``input.type`` (sentence type) and ``input.mode`` for migrated flows."""

from __future__ import annotations

import pytest

from audiocodes_endpoint.flows.sentences import input_mode, sentence_type


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What is my balance", "whQuestion"),
        ("wann habt ihr offen", "whQuestion"),
        ("How do I pay", "howQuestion"),
        ("Can I talk to someone", "ynQuestion"),
        ("my card is blocked?", "ynQuestion"),
        ("yes please", "pAnswer"),
        ("nein danke", "nAnswer"),
        ("hello there", "Greeting"),
        ("Guten Tag", "Greeting"),
        ("goodbye", "BGreeting"),
        ("I lost my card yesterday and it is not right", "Statement"),
        ("", None),
        (None, None),
    ],
)
def test_sentence_type(text: str | None, expected: str | None) -> None:
    assert sentence_type(text) == expected


@pytest.mark.parametrize(
    ("text", "data", "mode"),
    [("hi", {}, "TextOnly"), ("hi", {"a": 1}, "TextData"), (None, {"a": 1}, "DataOnly"), ("", {}, "Empty")],
)
def test_input_mode(text: str | None, data: dict[str, int], mode: str) -> None:
    assert input_mode(text, data) == mode
