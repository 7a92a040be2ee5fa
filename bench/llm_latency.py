"""Generative answers through the local emulator: our overhead from a sentence boundary in the
model's stream to that sentence's frame at the caller (demo-llm, async mode), with the scripted
OpenAI-compatible model server as the model."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PIECES = ["Your balance is 120 euros.", " Is there anything else", " I can do for you today?"]
PAUSE = 0.15  # seconds between the model's pieces


def measure(turns: int = 60) -> dict[str, Any]:
    import sys

    sys.path.insert(0, str(ROOT))
    from audiocodes_devtools.launcher import emulator_process
    from audiocodes_devtools.model_server import Reply, model_server
    from audiocodes_endpoint.features.llm.openai import OpenAiProvider
    from audiocodes_endpoint.features.llm.types import ModelRequest, TextDelta
    from bench.run import summary_ms
    from tests.e2e.conftest import demo_agent_with_echo

    overhead: list[float] = []
    direct: list[float] = []
    with model_server() as model:
        # Baseline, same run: the first sentence read straight from the model server by our provider.
        provider = OpenAiProvider(base_url=model.base_url)
        request = ModelRequest(model="bench", system="", messages=[{"role": "user", "content": "hi"}])
        for _ in range(turns):
            model.script(Reply(PIECES, delay=PAUSE))
            for event in provider.stream(request):
                if isinstance(event, TextDelta):
                    direct.append(time.monotonic() - model.served[0].written_at[0])
                    break
            time.sleep(len(PIECES) * PAUSE)  # let the server finish writing before the next script
        # Only the emulator's environment names the model server (its functions inherit it).
        environment = {"LLM_BASE_URL": model.base_url, "LLM_MODEL": "bench", "LLM_PROVIDER": "openai"}
        with (
            tempfile.TemporaryDirectory() as agent,
            emulator_process(demo_agent_with_echo(Path(agent)), **environment) as emulator,
            emulator.client("demo-llm") as vaic,
            vaic.create() as call,
        ):
            call.open_socket()
            call.start(caller="+4921154591991")
            call.frames(10, until=lambda f: "How can I help" in (f.activities[0].get("text") or ""))
            for i in range(turns):
                model.script(Reply(PIECES, delay=PAUSE))
                call.say(f"question {i}")
                frames = call.frames(10, until=lambda f: "today?" in (f.activities[0].get("text") or ""))
                first = next(f for f in frames if f.activities[0].get("text") == PIECES[0])
                overhead.append(first.received_at - model.served[0].written_at[0])
            call.disconnect()
    return {"turns": turns, "overhead": summary_ms(overhead), "direct": summary_ms(direct)}


def render(result: dict[str, Any]) -> str:
    overhead, direct = result["overhead"], result["direct"]
    goal = "met" if overhead["median"] < 20 else "MISSED"
    return f"""## Generative answers spoken as they stream (demo-llm through the emulator)

{result["turns"]} answers of the scripted OpenAI-compatible model server (three pieces, {PAUSE:.2f} s apart;
the first piece ends the first sentence), on the async `demo-llm` endpoint, driven by the VAIC client
over real HTTP and a real WebSocket.

| measure | median (ms) | p99 (ms) |
|---|---|---|
| sentence end written by the model -> its frame at the caller | {overhead["median"]:.1f} | {overhead["p99"]:.1f} |
| baseline: the same piece read straight from the model by our provider | {direct["median"]:.1f} | {direct["p99"]:.1f} |

Our overhead (SSE parsing, sentence cut, the flow's output path, the session's delivery record and
the push through the local `@connections` API), median: **{overhead["median"]:.1f} ms**, goal < 20 ms:
**{goal}**; {overhead["median"] / max(direct["median"], 0.001):.1f}x the bare read.
"""


if __name__ == "__main__":
    print(render(measure()))
