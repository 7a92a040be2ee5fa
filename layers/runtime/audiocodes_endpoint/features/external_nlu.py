"""NLU connectors per endpoint: the built-in matcher, Amazon Lex V2, your own Python function, or none.

Whatever the connector, the flow sees the same ``input.intent`` / ``input.intentScore`` /
``input.slots`` (an :class:`~audiocodes_endpoint.flows.nlu.NluResult`). A connector that fails or
times out gives "no intent" and a log line without the caller's words: NLU never ends a call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiocodes_endpoint.config.nlu import LexSettings, NluSettings
from audiocodes_endpoint.flows.extensions import Extensions, call, errors_of
from audiocodes_endpoint.flows.nlu import NluConnector, NluResult
from audiocodes_endpoint.observability import count, logger
from audiocodes_endpoint.observability.masking import error_name

NO_INTENT = NluResult(None, 0.0, {})


class NluSetupError(ValueError):
    """The endpoint's NLU settings name something that does not exist (found at load, not in a call)."""


def connector_for(
    settings: NluSettings,
    builtin: NluConnector | None,
    agent_dir: Path,
    lex: Callable[[LexSettings], NluConnector] | None = None,
) -> NluConnector:
    """The endpoint's connector, guarded (errors give no intent) and thresholded when configured.

    ``lex`` makes the Lex connector (``adapters.aws.lex.LexConnector``): only the wiring knows AWS.
    """
    connector: NluConnector
    if settings.connector == "none":
        return NoNlu()
    if settings.connector == "builtin":
        if builtin is None:
            raise NluSetupError("nlu: connector builtin needs agent/intents.yaml")
        connector = builtin
    elif settings.connector == "lex":
        assert settings.lex is not None  # the settings validator guarantees it
        if lex is None:
            raise NluSetupError("nlu: connector lex needs the Lex adapter")
        connector = lex(settings.lex)
    elif settings.connector == "llm":
        assert settings.llm is not None
        from audiocodes_endpoint.features.llm.intents import LlmIntentConnector

        try:
            connector = LlmIntentConnector.load(agent_dir, settings.llm)
        except (OSError, ValueError) as error:
            raise NluSetupError(f"nlu.llm: {error}") from error
    else:
        assert settings.function is not None
        connector = CodeConnector.load(settings.function, agent_dir, settings.timeout_seconds)
    return Guarded(connector, settings.connector, settings.threshold)


class NoNlu:
    def recognize(self, text: str, language: str | None) -> NluResult:
        return NO_INTENT


@dataclass
class Guarded:
    """Never raises; drops intents under ``threshold``; always answers a well-formed NluResult."""

    connector: NluConnector
    name: str
    threshold: float | None = None

    def recognize(self, text: str, language: str | None) -> NluResult:
        try:
            result = _normalized(self.connector.recognize(text, language))
        except Exception as error:  # provider or user code: the call goes on without an intent
            logger.warning("NLU failed; no intent", extra={"connector": self.name, "error": error_name(error)})
            count("NluErrors")
            return NO_INTENT
        if self.threshold is not None and result.intent is not None and result.score < self.threshold:
            return NluResult(None, result.score, result.slots)
        return result


def lex_result(answer: Mapping[str, Any]) -> NluResult:
    """Map a ``RecognizeText`` answer: the top interpretation, its ``nluConfidence`` and slot values."""
    interpretations = answer.get("interpretations") or []
    if not interpretations:
        return NO_INTENT
    top = interpretations[0]  # Lex orders them best first; FallbackIntent first means "no match"
    intent = top.get("intent") or {}
    name = intent.get("name")
    if not name or name == "FallbackIntent":
        return NO_INTENT
    score = float((top.get("nluConfidence") or {}).get("score", 0.0))
    return NluResult(name, score, _lex_slots(intent.get("slots") or {}))


def _lex_slots(slots: Mapping[str, Any]) -> dict[str, Any]:
    """Slot name -> interpreted value (a list for multi-value slots); unfilled slots are left out."""
    values: dict[str, Any] = {}
    for name, slot in slots.items():
        if not slot:
            continue
        if slot.get("values"):
            found = [v.get("value", {}).get("interpretedValue") for v in slot["values"] if v]
            values[name] = [v for v in found if v is not None]
        elif slot.get("value", {}).get("interpretedValue") is not None:
            values[name] = slot["value"]["interpretedValue"]
    return values


@dataclass
class CodeConnector:
    """``module.function`` from ``agent/extensions/``, run with a time limit."""

    function: Callable[..., Any]
    timeout_seconds: float

    @classmethod
    def load(cls, reference: str, agent_dir: Path, timeout_seconds: float) -> CodeConnector:
        extensions, errors = Extensions.load(agent_dir / "extensions")
        problem = extensions.problem(reference)
        if problem is not None:
            module = reference.partition(".")[0]
            own = errors_of(errors, module)
            raise NluSetupError(f"nlu.function: {'; '.join(own) or problem}")
        function = extensions.resolve(reference)
        assert function is not None  # problem() is None only when it resolves
        return cls(function, timeout_seconds)

    def recognize(self, text: str, language: str | None) -> NluResult:
        return _coerce(call(self.function, {"text": text, "language": language}, self.timeout_seconds))


def _coerce(value: Any) -> NluResult:
    """What a code connector may return: an NluResult, a dict with intent/score/slots, or None."""
    if value is None:
        return NO_INTENT
    if isinstance(value, NluResult):
        return value
    if isinstance(value, Mapping):
        unknown = set(value) - {"intent", "score", "slots"}
        if unknown:
            raise ValueError(f"unexpected keys {sorted(unknown)}")
        return NluResult(
            value.get("intent"),
            float(value.get("score", 1.0 if value.get("intent") else 0.0)),
            dict(value.get("slots") or {}),
        )
    raise TypeError(f"returned {type(value).__name__}, expected a dict, an NluResult or None")


def _normalized(result: NluResult) -> NluResult:
    """Guard the flow from odd connector answers: a string intent, a finite score in 0-1, a dict of slots."""
    if not isinstance(result, NluResult):
        raise TypeError(f"connector returned {type(result).__name__}")
    intent = result.intent if isinstance(result.intent, str) and result.intent else None
    score = float(result.score) if isinstance(result.score, int | float) and math.isfinite(result.score) else 0.0
    slots = dict(result.slots) if isinstance(result.slots, Mapping) else {}
    return NluResult(intent, min(max(score, 0.0), 1.0), slots)
