"""Async mode through the local emulator: how fast the activities POST answers, and how soon the
first frame of the bot's answer reaches the caller's side of the WebSocket."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def measure(turns: int = 220) -> dict[str, Any]:
    import sys

    sys.path.insert(0, str(ROOT))
    from audiocodes_devtools.launcher import emulator_process
    from tests.e2e.conftest import demo_agent_with_echo

    post_seconds: list[float] = []
    first_frame_seconds: list[float] = []
    with (
        tempfile.TemporaryDirectory() as agent,
        emulator_process(demo_agent_with_echo(Path(agent))) as emulator,
        emulator.client("echo-async") as vaic,
        vaic.create() as call,
    ):
        call.open_socket()
        call.start(caller="+4921154591991")
        call.frames(10, until=lambda f: "Say something" in (f.activities[0].get("text") or ""))
        for i in range(turns):
            started = time.monotonic()
            call.say(f"turn {i}")
            posted = time.monotonic()
            frame = call.next_frame(10)
            post_seconds.append(posted - started)
            first_frame_seconds.append(frame.received_at - started)
            call.frames(5, until=lambda f: "Say something" in (f.activities[0].get("text") or ""))
        call.disconnect()
    return {"turns": turns, "post": _ms(post_seconds), "first_frame": _ms(first_frame_seconds)}


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(values) * 1000,
        "p99": ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000,
    }


def render(result: dict[str, Any]) -> str:
    post, first = result["post"], result["first_frame"]
    return f"""## Async mode through the local emulator

{result["turns"]} turns of the echo flow on an async endpoint, driven by the VAIC client over real
HTTP and a real WebSocket (emulator: moto server, SQS long-poller standing in for the event source).

| measure | median (ms) | p99 (ms) |
|---|---|---|
| activities POST answered (`200 {{}}`) | {post["median"]:.1f} | {post["p99"]:.1f} |
| POST sent -> first frame at the caller's side | {first["median"]:.1f} | {first["p99"]:.1f} |

The POST checks the session (1 read) and queues the activity; the first frame's time includes the
emulator's SQS poller (a long poll that moto wakes when the message arrives), the dispatcher's turn and the push
through the local `@connections` API. The frame often arrives before the POST's own answer.
"""
