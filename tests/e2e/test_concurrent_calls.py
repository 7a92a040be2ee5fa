"""Many calls at once against the emulator, as a small call centre makes them (sync mode)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from audiocodes_devtools.launcher import RunningEmulator
from tests.e2e.waits import eventually

pytestmark = pytest.mark.e2e

CALLS = 50


# API Gateway's integration timeout: a request may wait this long for a busy function before failing.
API_GATEWAY_TIMEOUT = 30.0


def _call(emulator: RunningEmulator, url_token: str, caller: str, turns: int) -> tuple[str, list[str]]:
    with emulator.client(url_token, timeout=API_GATEWAY_TIMEOUT) as vaic, vaic.create() as call:
        texts = [a.get("text", "") for a in call.start(caller=caller)]
        for turn in range(turns):
            texts += [a.get("text", "") for a in call.say(f"turn {turn}")]
        call.disconnect()
        return call.conversation_id, texts


@pytest.mark.slow
def test_fifty_parallel_calls_all_succeed(emulator: RunningEmulator) -> None:
    # Given the function's environments up (they start one at a time, and a cold one is slow on a busy
    # laptop), then 50 callers at once, each making a 3-turn call
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: _call(emulator, "echo", f"+1415556{i:04d}", 1), range(8)))
    with ThreadPoolExecutor(CALLS) as pool:
        calls = list(pool.map(lambda i: _call(emulator, "echo", f"+1415555{i:04d}", 3), range(CALLS)))

    # Then every call was answered in full (a 5xx or a refused connection raises in the client)
    assert len(calls) == CALLS
    for _, texts in calls:
        assert [t for t in texts if t.startswith("You said")] == [f"You said turn {t}" for t in range(3)]


def _log_lines(output: list[str]) -> list[dict[str, Any]]:
    lines = []
    for line in list(output):
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
    return lines


def _lines_once_started(emulator: RunningEmulator, conversations: set[str]) -> list[dict[str, Any]]:
    """The log lines of ``conversations``, once each one's "call started" line has been read (the
    emulator's output is read by another thread): a check over them then sees every call."""

    def read() -> list[dict[str, Any]] | None:
        lines = [line for line in _log_lines(emulator.output) if line.get("conversation") in conversations]
        started = {line["conversation"] for line in lines if line.get("message") == "call started"}
        return lines if started == conversations else None

    return eventually(read, f'a "call started" line for each of {len(conversations)} calls')


def test_one_call_s_masking_and_endpoint_never_leak_into_another_s_log_lines(emulator: RunningEmulator) -> None:
    # Given masked (demo) and unmasked (echo-open) calls running side by side
    jobs = [("demo", f"+4921154591{i:03d}") if i % 2 else ("echo-open", f"+1202555{i:04d}") for i in range(24)]
    with ThreadPoolExecutor(12) as pool:
        calls = list(pool.map(lambda job: (job, _call(emulator, job[0], job[1], 1)), jobs))
    endpoint_of = {conversation: url_token for (url_token, _), (conversation, _) in calls}

    # Then each log line carries its own call's endpoint, demo's callers appear in none,
    # and echo-open's callers only in echo-open's lines
    lines = _lines_once_started(emulator, set(endpoint_of))
    assert {line["endpoint"] for line in lines} == {"demo", "echo-open"}
    for line in lines:
        assert line["endpoint"] == endpoint_of[line["conversation"]], line
        text = json.dumps(line)
        assert "4921154591" not in text, line
        if line["endpoint"] == "demo":
            assert "1202555" not in text, line
    started = [line for line in lines if line.get("message") == "call started"]
    assert {line["caller"] for line in started if line["endpoint"] == "demo"} == {"*****"}
    assert {line["caller"][:8] for line in started if line["endpoint"] == "echo-open"} == {"+1202555"}


def test_dispatcher_lines_name_the_dispatcher_and_no_metrics_warnings_are_printed(emulator: RunningEmulator) -> None:
    # Given an async call: its turns run in the dispatcher
    with emulator.client("echo-async") as vaic, vaic.create() as call:
        call.open_socket()
        call.start(caller="+4921154591991")
        call.frames(10, until=lambda frame: "Say something" in (frame.activities[0].get("text") or ""))
        conversation = call.conversation_id
    lines = _lines_once_started(emulator, {conversation})

    # Then the dispatcher's lines carry its function name (Lambda's context), and the emulator's
    # output has no Powertools "No application metrics to publish" warnings (metrics are off locally)
    assert any(
        line["function_name"].endswith("DispatcherFunction") for line in lines if line["message"] == "call started"
    )
    assert all(line.get("function_name") for line in lines)
    assert not any("No application metrics to publish" in line for line in emulator.output)
