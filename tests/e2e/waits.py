"""Event-driven waits for end-to-end tests: wait for the condition itself, with a deadline, never a fixed sleep.

A wait that reaches its deadline fails the test, naming what it waited for: a path that did not run
cannot pass unnoticed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TypeVar

from audiocodes_devtools.launcher import RunningEmulator

T = TypeVar("T")
POLL_SECONDS = 0.05


def eventually(probe: Callable[[], T], what: str, timeout: float = 10.0) -> T:
    """The first truthy value ``probe`` returns; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what} (last seen: {value!r})")
        time.sleep(POLL_SECONDS)
    return value


def outbox_texts(emulator: RunningEmulator, url_token: str, conversation: str) -> list[str]:
    """The texts (or event names) of the outputs the session keeps for a WebSocket that is not there."""
    item = emulator.session(url_token, conversation)
    if item is None:
        return []
    outbox = json.loads(item["state"]["S"]).get("outbox", [])
    return [a.get("text") or a.get("name") for a in outbox]
