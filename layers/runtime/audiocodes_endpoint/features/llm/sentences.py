"""Cut a model's streamed text into sentences to speak, each the moment its end arrives.

A sentence ends at ``.``, ``!``, ``?`` (or ``…``, ``。``) followed by white space or ending what has
arrived so far (a ``.`` there only after a word, since "3." may become "3.5"), or at a line break;
pieces shorter than ``min_chars`` wait for the next sentence so the caller does not hear "Yes."
as its own prompt. SSML stays whole: nothing is cut inside a tag, and an answer that starts with
``<speak>`` is spoken as one output (a fragment of an SSML document is not valid SSML).
Abbreviations such as "e.g." or "Dr." and numbers such as "3.5" are not sentence ends.
"""

from __future__ import annotations

import re

_END = re.compile(r"(?<=[.!?…。])[\"')\]]*\s+|\n+")
_TAIL_END = re.compile(r"(?:[^\W\d]{2}[.]|[!?…。])$")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|Dr|Mr|Mrs|Ms|St|No|Nr|z\.B|ca|bzw|usw)\.|\b[A-Z]\.)$", re.I)


class SentenceSplitter:
    def __init__(self, min_chars: int = 20) -> None:
        self.min_chars = min_chars
        self._buffer = ""

    def feed(self, text: str) -> list[str]:
        """The sentences completed by ``text`` (possibly none)."""
        self._buffer += text
        if self._buffer.lstrip().lower().startswith("<speak"):
            return []
        ready: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            piece = self._buffer[start : match.start()]
            if _inside_tag(self._buffer[: match.start()]) or _ABBREVIATION.search(piece.rstrip("\"')]")):
                continue
            if not piece.strip() or (len(piece.strip()) < self.min_chars and match.group().strip("\n") != ""):
                continue  # too short: joined with the next sentence (a paragraph break still flushes)
            ready.append(piece.strip())
            start = match.end()
        self._buffer = self._buffer[start:]
        # A sentence end at the end of what has arrived is spoken now, not one token later: the
        # caller hears it ~one token sooner. Not after a digit ("3." may become "3.5").
        tail = self._buffer.rstrip()
        if (
            _TAIL_END.search(tail)
            and len(tail.strip()) >= self.min_chars
            and not _inside_tag(tail)
            and not _ABBREVIATION.search(tail)
        ):
            ready.append(tail.strip())
            self._buffer = ""
        return ready

    def flush(self) -> str | None:
        """What is left at the end of the stream."""
        rest, self._buffer = self._buffer.strip(), ""
        return rest or None


def _inside_tag(text: str) -> bool:
    return text.rfind("<") > text.rfind(">")
