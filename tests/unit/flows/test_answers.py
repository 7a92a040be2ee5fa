"""Reading answers from speech or keys."""

from __future__ import annotations

import pytest

from audiocodes_endpoint.flows.answers import digits, number, yes_no


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True), ("Yeah, sure.", True), ("of course", True), ("ja", True), ("1", True),
        ("no", False), ("nope", False), ("no thanks", False), ("that's not right", False), ("nein", False),
        ("2", False), ("I don't know", False), ("maybe", None), ("", None), ("banana", None),
    ],
)  # fmt: skip
def test_yes_no(text: str, expected: bool | None) -> None:
    assert yes_no(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42), ("I am 42", 42), ("-3", -3), ("3.5", 3.5), ("3,5", 3.5), ("1,000", 1000),
        ("1,234.50", 1234.5), ("twenty five", 25), ("twenty-one", 21), ("three hundred", 300), ("none", None),
    ],
)  # fmt: skip
def test_number(text: str, expected: float | None) -> None:
    assert number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234", "1234"), ("1234#", "1234"), ("12 34", "12-34".replace("-", "")), ("1-2-3", "123"),
        ("one two three", "123"), ("four oh five", "405"), ("eins zwei", "12"), ("my number is 12", None),
        ("", None), ("12*3", None),
    ],
)  # fmt: skip
def test_digits(text: str, expected: str | None) -> None:
    assert digits(text) == expected
