"""Real-time translation: the caller's words into the flow's language, the flow's messages back.

:meth:`Translator.to_flow` runs before NLU on the caller's text; :meth:`Translator.to_caller` runs on
each outgoing activity. Only the ``text`` of ``message`` activities is translated; parameters,
events and data payloads never are. In a message, text between two no-translation markers (``**``)
is kept verbatim and the markers are removed; in SSML (``<speak>...``) the tags, and the content
of ``say-as``, ``phoneme`` and ``sub``, are kept as they are. Each remaining run of words is
translated on its own, through an in-process LRU cache (the same prompts repeat across calls).

With ``user_language: auto`` the caller's language is detected (Amazon Translate's ``auto`` source)
on each of the first ``detect_after_inputs`` inputs; then the most frequent one is kept for the call.
The detection lives in a small JSON dict (``state``) the conversation keeps in the session.

An unavailable provider is logged and the text passes untranslated (markers removed): a call goes on
in the flow's language rather than failing.

Speech follows the words: a translated message carries ``activityParams.language`` and
``voiceName`` from ``voices`` (per caller language), so VAIC speaks it in the caller's language
(AudioCodes "Changing call settings": activity parameters apply to that activity only; "Speech
customization": ``language``, ``voiceName``). With ``detection.enabled`` the first answer of a call
turns on VAIC's language detection (``languageDetectionActivate``, ``languageDetectionAutoSwitch``,
``alternativeLanguages`` from ``voices``) and asks to hear about it (``notifyParamChange:
["language"]``, AudioCodes "Notifying the bot of parameter changes"); the ``paramChanged`` event then
sets the call's language, so recognition, translation and voice all follow the caller.
"""

from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from audiocodes_endpoint.config.translation import AUTO, TranslationSettings, translate_code
from audiocodes_endpoint.observability import count, logger
from audiocodes_endpoint.observability.masking import error_name

MAX_TRANSLATE_BYTES = 10_000  # Amazon Translate's TranslateText limit per request


@dataclass(frozen=True)
class Translation:
    text: str
    source: str
    """The source language: the detected one when the request said ``auto``."""


class TranslationProvider(Protocol):
    def translate(self, text: str, source: str, target: str) -> Translation:
        """``source`` may be ``auto``; raises on any failure."""


class NoProvider:
    """Translation switched off: nothing translates, so nothing may call this."""

    def translate(self, text: str, source: str, target: str) -> Translation:
        raise RuntimeError("no translation provider: translation is not enabled for this endpoint")


class _Cache:
    """A small thread-safe LRU of translations keyed by (source, target, text)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str, str], Translation] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_add(self, key: tuple[str, str, str], produce: Callable[[], Translation]) -> Translation:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = produce()  # outside the lock: a slow provider must not serialise other threads
        if self._size:
            with self._lock:
                self._items[key] = value
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
        return value


class Translator:
    """One endpoint's translation; keep it for the process so its cache survives between calls."""

    def __init__(self, settings: TranslationSettings, provider: TranslationProvider | None = None) -> None:
        self.settings = settings
        self.provider: TranslationProvider = provider or NoProvider()
        self._cache = _Cache(settings.cache_size)
        marker = re.escape(settings.no_translation_marker)
        self._verbatim = re.compile(f"{marker}(.*?){marker}", re.DOTALL)

    # --- caller -> flow ------------------------------------------------------------------------

    def to_flow(self, text: str, state: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """The caller's ``text`` in the flow language, and the updated detection ``state``."""
        new_state = dict(state)
        if not self.settings.enabled or not text.strip():
            return text, new_state
        target = self.settings.flow_language
        # Configured, or settled by detection; until then every input is detected again.
        source = self.settings.user_language if self.settings.user_language != AUTO else state.get("language", AUTO)
        if source == target:
            return text, new_state
        try:
            result = self._translate(text, source, target)
        except Exception as error:  # any provider failure: the flow gets the caller's own words
            _log_failure("to_flow", error)
            return text, new_state
        if source == AUTO:
            self._vote(new_state, result.source)
        return result.text, new_state

    def _vote(self, state: dict[str, Any], detected: str) -> None:
        votes = Counter(state.get("votes", {}))
        votes[detected] += 1
        state["last"] = detected
        if sum(votes.values()) >= self.settings.detect_after_inputs:
            best = max(votes.values())
            # A tie goes to the latest detection: the caller has just spoken it.
            state["language"] = detected if votes[detected] == best else votes.most_common(1)[0][0]
            state.pop("votes", None)
        else:
            state["votes"] = dict(votes)

    def caller_language(self, state: Mapping[str, Any]) -> str | None:
        """The language to answer in: the configured one, the settled detection, or the latest guess."""
        if self.settings.user_language != AUTO:
            return self.settings.user_language
        language = state.get("language") or state.get("last")
        return str(language) if language else None

    # --- flow -> caller ------------------------------------------------------------------------

    def to_caller(self, activity: dict[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
        """``activity`` with its message text in the caller's language (the same dict when unchanged)."""
        text = activity.get("text")
        if activity.get("type") != "message" or not isinstance(text, str) or not text:
            return activity
        target = self.caller_language(state) if self.settings.enabled else None
        if target is None or target == self.settings.flow_language:
            if self.settings.always_remove_markers and self.settings.no_translation_marker in text:
                return {**activity, "text": self._without_markers(text)}
            return activity
        try:
            translated = "".join(
                part if verbatim else self._translate_run(part, target) for part, verbatim in self._segments(text)
            )
        except Exception as error:  # the caller hears the flow's language rather than nothing
            _log_failure("to_caller", error)
            return {**activity, "text": self._without_markers(text)}  # in the flow's language: its voice
        return {**activity, "text": translated, **self._speech_params(activity, target)}

    def _speech_params(self, activity: Mapping[str, Any], target: str) -> dict[str, Any]:
        """``activityParams`` with the caller language's ``language`` and ``voiceName`` (the flow's own win)."""
        voice = self.settings.voices.get(target)
        if voice is None:
            return {}
        params = dict(activity.get("activityParams") or {})
        for name, value in voice.as_vaic().items():
            params.setdefault(name, value)
        return {"activityParams": params}

    # --- VAIC's language detection -------------------------------------------------------------

    def detection_params(self) -> dict[str, Any]:
        return detection_session_params(self.settings)

    def follow_vaic(self, value: Any, parameters: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
        """The detection ``state`` after VAIC's ``paramChanged`` event, which settles the caller's language."""
        language = _changed_language(value) or _changed_language(parameters)
        if not language or not self.settings.enabled:
            return dict(state)
        return {
            **{k: v for k, v in state.items() if k != "votes"},
            "language": translate_code(language),
            "last": translate_code(language),
            "source": "vaic",
        }

    def _segments(self, text: str) -> list[tuple[str, bool]]:
        """(part, verbatim) pieces of ``text``; verbatim parts are sent as they are, markers removed."""
        pieces: list[tuple[str, bool]] = []
        ssml = text.lstrip().startswith("<speak")
        position = 0
        for match in self._verbatim.finditer(text):
            pieces.extend(_ssml_pieces(text[position : match.start()], ssml))
            pieces.append((match.group(1), True))
            position = match.end()
        pieces.extend(_ssml_pieces(text[position:], ssml))
        return pieces

    def _without_markers(self, text: str) -> str:
        return self._verbatim.sub(lambda m: m.group(1), text)

    def _translate_run(self, run: str, target: str) -> str:
        """A run of words translated, its surrounding whitespace kept (SSML and markers sit next to it)."""
        core = run.strip()
        if not any(ch.isalpha() for ch in core):
            return run  # punctuation, digits, whitespace: nothing to translate
        lead, trail = run[: len(run) - len(run.lstrip())], run[len(run.rstrip()) :]
        return lead + self._translate(core, self.settings.flow_language, target).text + trail

    def _translate(self, text: str, source: str, target: str) -> Translation:
        if len(text.encode()) > MAX_TRANSLATE_BYTES:
            raise ValueError(f"text over {MAX_TRANSLATE_BYTES} bytes")
        return self._cache.get_or_add((source, target, text), lambda: self.provider.translate(text, source, target))


# SSML: protected elements whose content must not change, then any other tag.
_SSML = re.compile(r"<(say-as|phoneme|sub)\b[^>]*>.*?</\1\s*>|<[^<>]+>", re.DOTALL | re.IGNORECASE)


def _ssml_pieces(text: str, ssml: bool) -> list[tuple[str, bool]]:
    if not text:
        return []
    if not ssml:
        return [(text, False)]
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _SSML.finditer(text):
        if match.start() > position:
            pieces.append((text[position : match.start()], False))
        pieces.append((match.group(0), True))
        position = match.end()
    if position < len(text):
        pieces.append((text[position:], False))
    return pieces


def detection_session_params(settings: TranslationSettings) -> dict[str, Any]:
    """``sessionParams`` that turn on VAIC's language detection for the call (empty: off)."""
    detection = settings.detection
    if not (settings.enabled and detection.enabled):
        return {}
    return {
        "languageDetectionActivate": True,
        "languageDetectionAutoSwitch": detection.auto_switch,
        "alternativeLanguages": [voice.as_vaic() for voice in settings.voices.values()],
        "notifyParamChange": ["language"],
    }


def _changed_language(payload: Any) -> str | None:
    """The new ``language`` in a ``paramChanged`` payload.

    AudioCodes names the parameter but the readable excerpts of its page do not show the payload's
    exact layout, so both plausible layouts are read: ``{"language": "de-DE"}`` and a
    ``{"name"|"paramName": "language", "value"|"paramValue": "de-DE"}`` entry (alone or in a list).
    """
    entries = payload if isinstance(payload, list) else [payload]
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        direct = entry.get("language")
        if isinstance(direct, str) and _LANGUAGE.fullmatch(direct):
            return direct
        name = entry.get("name", entry.get("paramName"))
        value = entry.get("value", entry.get("paramValue"))
        if name == "language" and isinstance(value, str) and _LANGUAGE.fullmatch(value):
            return value
    return None


_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}")


def _log_failure(direction: str, error: Exception) -> None:
    extra = {"direction": direction, "error": error_name(error)}
    logger.warning("translation failed; text left untranslated", extra=extra)
    count("TranslationErrors")
