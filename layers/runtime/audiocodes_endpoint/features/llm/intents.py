"""Intent classification by a language model (NLU connector ``llm``), few-shot from ``agent/intents.yaml``.

The model sees each intent's description and examples and answers one JSON object
``{"intent": name or null, "score": 0..1, "slots": {...}}``; an intent the agent does not have
counts as no intent. The result has the same shape as every connector's (``input.intent``,
``input.intentScore``, ``input.slots``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from audiocodes_endpoint.config.llm import LlmSettings
from audiocodes_endpoint.features.llm.agent import answer
from audiocodes_endpoint.features.llm.providers import provider_for
from audiocodes_endpoint.features.llm.types import ModelError, ModelRequest, Provider
from audiocodes_endpoint.flows.loader import load_intents
from audiocodes_endpoint.flows.nlu import IntentsFile, NluResult

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_EXAMPLES = 8


@dataclass
class LlmIntentConnector:
    intents: IntentsFile
    settings: LlmSettings
    provider: Callable[[], Provider] | None = None

    @classmethod
    def load(cls, agent_dir: Path, settings: LlmSettings) -> LlmIntentConnector:
        path = agent_dir / "intents.yaml"
        errors: list[str] = []
        spec = load_intents(path, errors)  # the loader's reader: `yes:` is an intent name, not True
        if errors:
            raise ValueError("; ".join(errors))
        if not spec.intents:
            raise ValueError(f"{path}: no intents to classify")
        return cls(spec, settings)

    def system_prompt(self) -> str:
        lines = [
            "Classify the caller's utterance into one of these intents, or none.",
            'Answer with one JSON object only: {"intent": "<name>" or null, "score": <0..1>, "slots": {}}.',
            "Intents, with example utterances:",
        ]
        for name, intent in self.intents.intents.items():
            lines.append(f"- {name}" + (f": {intent.description}" if intent.description else ""))
            examples = intent.examples[:MAX_EXAMPLES]
            lines.extend(f"    e.g. {json.dumps(example, ensure_ascii=False)}" for example in examples)
        return "\n".join(lines)

    def recognize(self, text: str, language: str | None) -> NluResult:
        provider = self.provider() if self.provider else provider_for(self.settings.provider, self.settings)
        request = ModelRequest(
            model=self.settings.model,
            system=self.system_prompt(),
            messages=[{"role": "user", "content": text}],
            max_tokens=min(self.settings.max_tokens, 200),
            temperature=0.0,
            timeout_seconds=self.settings.timeout_seconds,
            json_output=True,
        )
        return self.parse(answer(provider, request, {}, max_steps=1).text)

    def parse(self, text: str) -> NluResult:
        match = re.search(r"\{.*\}", text, re.DOTALL)
        if match is None:
            raise ModelError("the model's answer has no JSON object")
        data = json.loads(match.group())
        name = data.get("intent") if isinstance(data, dict) else None
        if not isinstance(name, str) or name not in self.intents.intents:
            return NluResult(None, 0.0, {})
        score = data.get("score", 1.0)
        slots = data.get("slots")
        return NluResult(
            name, float(score) if isinstance(score, int | float) else 1.0, slots if isinstance(slots, dict) else {}
        )
