"""The terminal phone (`make call`) against the emulator, scripted through its stdin."""

from __future__ import annotations

import io

import pytest

from audiocodes_devtools.launcher import RunningEmulator
from audiocodes_devtools.phone import Console, call_bot, parse_args

pytestmark = pytest.mark.e2e


def _phone(emulator: RunningEmulator, script: str) -> tuple[str, str]:
    args = parse_args(["--bot-url", f"{emulator.base_url}/demo", "--token", emulator.tokens["demo"]])
    screen = io.StringIO()
    ending = call_bot(args, io.StringIO(script), Console(screen))
    return ending.reason_code, screen.getvalue()


def test_a_failed_transfer_goes_back_to_the_bot(emulator: RunningEmulator) -> None:
    # Given a caller who asks for an agent, and a transfer that fails because the line is busy
    reason, screen = _phone(emulator, "no\nI want to talk to an agent\nfailed busy\n/hangup\n")

    # Then the bot hears transferStatus failed and takes the call back
    assert "transferStatus failed (busy)" in screen
    assert "all of our team are busy" in screen
    assert reason == "client-disconnected"


def test_an_answered_transfer_ends_the_call(emulator: RunningEmulator) -> None:
    reason, screen = _phone(emulator, "no\nI want to talk to an agent\nanswered\n")
    assert "the transfer: `answered`" in screen
    assert reason == "transferred"
