"""Reading an answer out of what the caller said or keyed: yes/no, numbers, digit strings.

Speech recognisers write numbers either as digits ("1 2 3 4", "1234") or as words ("one two three");
callers answer yes/no in many ways. These parsers are deliberately small and predictable: a wrong
"yes" is worse than a reprompt.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)

# fmt: off
YES_WORDS = frozenset([
    "yes", "yeah", "yep", "yup", "ya", "yea", "sure", "ok", "okay", "correct", "right", "affirmative",
    "absolutely", "certainly", "agreed", "fine", "ja", "jawohl", "genau", "klar", "gerne", "doch", "oui",
    "si", "sí", "da",
])
NO_WORDS = frozenset([
    "no", "nope", "nah", "not", "don't", "dont", "never", "negative", "incorrect", "wrong", "nein", "nee",
    "nicht", "non",
])
# fmt: on
YES_PHRASES = ("of course", "go ahead", "that's right", "that is right", "please do", "i agree", "why not")
NO_PHRASES = ("no thanks", "no thank you", "i don't", "i do not", "rather not", "do not", "auf keinen fall")

DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "null": "0", "one": "1", "eins": "1", "two": "2", "to": "2",
    "too": "2", "zwei": "2", "three": "3", "drei": "3", "four": "4", "for": "4", "vier": "4",
    "five": "5", "fünf": "5", "six": "6", "sechs": "6", "seven": "7", "sieben": "7", "eight": "8",
    "acht": "8", "nine": "9", "neun": "9",
}  # fmt: skip
_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_NUMBER = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-+]?\d+(?:[.,]\d+)?")
_GROUPED = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def yes_no(text: str) -> bool | None:
    """True for yes, False for no, None if unclear. DTMF 1 is yes and 2 is no."""
    stripped = text.strip().lower()
    if stripped in {"1", "2"}:
        return stripped == "1"
    padded = f" {' '.join(words(stripped))} "
    if any(f" {phrase} " in padded for phrase in NO_PHRASES):
        return False
    tokens = set(padded.split())
    # Negation wins: "not right", "yes, no, I don't" must not become yes.
    if tokens & NO_WORDS:
        return False
    if tokens & YES_WORDS or any(f" {phrase} " in padded for phrase in YES_PHRASES):
        return True
    return None


def number(text: str) -> int | float | None:
    """The first number in ``text`` ("12", "12.5", "twenty five"), or None."""
    match = _NUMBER.search(text)
    if match:
        raw = match.group(0)
        # "1,000" is a thousand (English grouping); "3,5" is three and a half (decimal comma).
        raw = raw.replace(",", "") if _GROUPED.fullmatch(raw) else raw.replace(",", ".")
        value = float(raw)
        return int(value) if value.is_integer() and "." not in raw else value
    total: int | None = None
    for word in words(text.replace("-", " ")):
        if word in _TENS:
            total = (total or 0) + _TENS[word]
        elif word in _UNITS:
            total = (total or 0) + _UNITS[word]
        elif word == "hundred" and total is not None:
            total *= 100
        elif total is not None and word != "and":
            break
    return total


def digits(text: str) -> str | None:
    """A digit string from keyed or spoken input ("12 34", "one two three"), or None if other words
    are mixed in. A trailing DTMF submit key (``#``) is dropped."""
    cleaned = text.strip().rstrip("#")
    if re.fullmatch(r"[0-9]+", cleaned):
        return cleaned
    out = []
    for token in re.split(r"[\s,.\-/]+", cleaned.lower()):
        if not token:
            continue
        if token.isdigit():
            out.append(token)
        elif token in DIGIT_WORDS:
            out.append(DIGIT_WORDS[token])
        else:
            return None
    return "".join(out) or None
