"""Cognigy's ``input.type`` (the sentence type) and ``input.mode``, for flows migrated from Cognigy.

Cognigy's NLU labels each text input with a sentence type: ``Statement``, ``Command``,
``Greeting``, ``BGreeting``, ``whQuestion``, ``howQuestion``, ``ynQuestion``, ``pAnswer``,
``nAnswer`` (Cognigy docs, Input object: https://docs.cognigy.com/ai/test/interaction-panel/input/).
This is a small, predictable rule set (English and German) over the recognised words, not
Cognigy's classifier: a flow that branched on ``input.type == "pAnswer"`` keeps working for the
plain cases, and everything unclear is a ``Statement``. ``Command`` is never guessed.
"""

from __future__ import annotations

from typing import Any

from audiocodes_endpoint.flows.answers import words, yes_no

_GREETINGS = frozenset({"hello", "hi", "hey", "hallo", "servus", "moin", "morning", "evening", "grüß"})
_GOODBYES = frozenset({"bye", "goodbye", "tschüss", "tschüs", "ciao", "wiederhören", "wiedersehen"})
_WH = frozenset({"what", "who", "whom", "whose", "which", "when", "where", "why", "was", "wer", "wann", "wo", "warum",
                 "welche", "welcher", "welches", "wem", "wen", "wieso", "weshalb"})  # fmt: skip
_HOW = frozenset({"how", "wie"})
_AUX = frozenset({"is", "are", "am", "do", "does", "did", "can", "could", "will", "would", "should", "shall", "may",
                  "have", "has", "ist", "sind", "bin", "kann", "können", "kannst", "haben", "hast", "hat", "wird",
                  "werden", "gibt", "darf", "soll"})  # fmt: skip


def sentence_type(text: str | None) -> str | None:
    """The sentence type of ``text``; ``None`` when there is no text (events, data-only inputs)."""
    if not text or not text.strip():
        return None
    tokens = words(text)
    if not tokens:
        return "Statement"
    first = tokens[0]
    if first in _HOW:
        return "howQuestion"
    if first in _WH:
        return "whQuestion"
    if first in _AUX or text.rstrip().endswith("?"):
        return "ynQuestion"
    if first in _GOODBYES or "good bye" in text.lower() or "auf wiederhören" in text.lower():
        return "BGreeting"
    if first in _GREETINGS or text.lower().startswith(("good morning", "good evening", "guten tag", "guten morgen")):
        return "Greeting"
    answer = yes_no(text) if len(tokens) <= 4 else None  # "yes please", not a sentence that contains "right"
    if answer is True:
        return "pAnswer"
    if answer is False:
        return "nAnswer"
    return "Statement"


def input_mode(text: str | None, data: Any) -> str:
    """Cognigy's ``input.mode``: ``TextOnly``, ``DataOnly``, ``TextData`` or ``Empty``."""
    has_text, has_data = bool(text), bool(data)
    if has_text and has_data:
        return "TextData"
    if has_text:
        return "TextOnly"
    return "DataOnly" if has_data else "Empty"
