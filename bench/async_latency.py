"""Async mode through the local emulator: how fast the activities POST answers, and how soon the
first frame of the bot's answer reaches the caller's side of the WebSocket."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def measure(turns: int = 220) -> dict[str, Any]:
    import sys

    sys.path.insert(0, str(ROOT))
    from audiocodes_devtools.launcher import emulator_process
    from bench.run import summary_ms
    from tests.e2e.conftest import demo_agent_with_echo

    post_seconds: list[float] = []
    first_frame_seconds: list[float] = []
    with (
        tempfile.TemporaryDirectory() as agent,
        # EMULATOR_QUIET=0: the emulator prints Lambda's REPORT lines (each invocation's own duration).
        emulator_process(demo_agent_with_echo(Path(agent)), EMULATOR_QUIET="0") as emulator,
        emulator.client("echo-async") as vaic,
        vaic.create() as call,
    ):
        call.open_socket()
        call.start(caller="+4921154591991")
        call.frames(10, until=lambda f: "Say something" in (f.activities[0].get("text") or ""))
        reports_from = len(emulator.output)
        for i in range(turns):
            started = time.monotonic()
            call.say(f"turn {i}")
            posted = time.monotonic()
            frame = call.next_frame(10)
            post_seconds.append(posted - started)
            first_frame_seconds.append(frame.received_at - started)
            call.frames(5, until=lambda f: "Say something" in (f.activities[0].get("text") or ""))
        durations = _durations(emulator.output[reports_from:])
        call.disconnect()
    return {
        "turns": turns,
        "post": summary_ms(post_seconds),
        "first_frame": summary_ms(first_frame_seconds),
        "invocations": {function: summary_ms(seconds) for function, seconds in durations.items()},
    }


def _durations(lines: list[str]) -> dict[str, list[float]]:
    """Each function's invocation durations (seconds), from the emulator's REPORT lines."""
    import re

    found: dict[str, list[float]] = {}
    for line in lines:
        match = re.search(r"\[(\w+)\] REPORT RequestId: \S+\tDuration: ([\d.]+) ms", line)
        if match:
            found.setdefault(match[1], []).append(float(match[2]) / 1000)
    return found


def render(result: dict[str, Any]) -> str:
    post, first = result["post"], result["first_frame"]
    names = {
        "BotApiFunction": "the activities POST's invocation (bot_api)",
        "DispatcherFunction": "the turn's invocation (dispatcher: whole turn)",
    }
    invocations = "\n".join(
        f"| {names.get(function, function)}, its REPORT duration | {times['median']:.1f} | {times['p99']:.1f} |"
        for function, times in sorted((result.get("invocations") or {}).items())
        if function in names
    )
    return f"""## Async mode through the local emulator

{result["turns"]} turns of the echo flow on an async endpoint, driven by the VAIC client over real
HTTP and a real WebSocket (emulator: moto server, SQS long-poller standing in for the event source).

| measure | median (ms) | p99 (ms) |
|---|---|---|
| activities POST answered (`200 {{}}`) | {post["median"]:.1f} | {post["p99"]:.1f} |
| POST sent -> first frame at the caller's side | {first["median"]:.1f} | {first["p99"]:.1f} |
{invocations}

The POST checks the session (1 read) and queues the activity; the first frame's time includes the
emulator's SQS poller (a long poll that moto wakes when the message arrives), the dispatcher's turn and the push
through the local `@connections` API. The frame often arrives before the POST's own answer.
The invocations' own durations (Lambda's REPORT lines, measured in the worker) show how much of
that is the functions' work rather than the emulator's hops. The frame goes out after the dispatcher's
lease claim (an `UpdateItem`) and its flow; each pushed output is then marked delivered (an
`UpdateItem`) before the next push, and the session save and the analytics record follow. On this
shared machine the first frame's median moves by tens of milliseconds between consecutive runs of
the same code.
"""
