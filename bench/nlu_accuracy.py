"""Intent accuracy of the built-in matcher on the demo agent, over the utterance test set."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
UTTERANCES = ROOT / "tests" / "data" / "nlu_utterances.yaml"


def measure() -> dict[str, Any]:
    from audiocodes_endpoint.flows import evaluate, load_agent, load_utterances
    from audiocodes_endpoint.flows.nlu import misses

    agent = load_agent(ROOT / "agent")
    cases = load_utterances(UTTERANCES)
    started = time.perf_counter()
    accuracy = evaluate(agent.nlu, cases)
    elapsed = time.perf_counter() - started
    return {
        "cases": len(cases),
        "accuracy": accuracy,
        "misses": misses(agent.nlu, cases),
        "per_utterance_ms": elapsed / len(cases) * 1000,
        "intents": sorted({intent for _, intent in cases if intent}),
    }


def render(result: dict[str, Any]) -> str:
    missed = (
        "\n".join(f"| {text} | {expected} | {got} |" for text, expected, got in result["misses"]) or "| (none) | | |"
    )
    return f"""## Intent recognition (built-in matcher)

{result["cases"]} utterances from `tests/data/nlu_utterances.yaml` against the demo agent's intents
({", ".join(result["intents"])}, plus utterances that must match no intent).

- Accuracy: **{result["accuracy"]:.1%}** (the unit tests require at least 90%).
- Time per utterance: {result["per_utterance_ms"]:.3f} ms.

| missed utterance | expected | recognised |
|---|---|---|
{missed}
"""
