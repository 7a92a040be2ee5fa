"""The helper commands' pure parts: finding the emulator, transfer outcomes, transcript lines."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from audiocodes_devtools import local_urls
from audiocodes_devtools.analytics_cli import format_transcript
from audiocodes_devtools.phone import transfer_status
from audiocodes_endpoint.features.analytics import TurnRecord


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("API_URL", "PORT", "MOTO_URL", "MOTO_PORT"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "emulator.json"
    monkeypatch.setenv("EMULATOR_STATE_FILE", str(path))
    return path


def test_helpers_find_a_running_emulator_through_its_state_file(state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given `make run` on PORT=3100 wrote its URLs (this process stands in for it)
    local_urls.write_state(api_url="http://127.0.0.1:3100", moto_url="http://127.0.0.1:5100")

    # Then helpers find it; PORT / API_URL given on the command line still win
    assert (local_urls.api_url(), local_urls.moto_url()) == ("http://127.0.0.1:3100", "http://127.0.0.1:5100")
    monkeypatch.setenv("PORT", "3200")
    monkeypatch.setenv("MOTO_PORT", "5200")
    assert (local_urls.api_url(), local_urls.moto_url()) == ("http://127.0.0.1:3200", "http://127.0.0.1:5200")
    monkeypatch.setenv("API_URL", "http://example.test:8080/")
    assert local_urls.api_url() == "http://example.test:8080"


def test_a_stale_state_file_is_ignored_and_the_defaults_apply(state: Path) -> None:
    # Given the state file of an emulator that is gone (no such process)
    state.write_text(json.dumps({"pid": 2**22 + 12345, "api_url": "http://127.0.0.1:3999"}), encoding="utf-8")
    assert local_urls.read_state() is None
    assert local_urls.api_url() == "http://127.0.0.1:3000"
    assert local_urls.moto_url() == "http://127.0.0.1:5055"


def test_only_the_emulator_that_wrote_the_state_file_removes_it(state: Path) -> None:
    state.write_text(json.dumps({"pid": os.getppid(), "api_url": "http://127.0.0.1:3001"}), encoding="utf-8")
    local_urls.remove_state()
    assert state.exists()
    local_urls.write_state(api_url="http://127.0.0.1:3002")
    local_urls.remove_state()
    assert not state.exists()


def test_nothing_answering_is_one_line_naming_the_url() -> None:
    message = local_urls.nothing_answers("http://127.0.0.1:3000")
    assert "\n" not in message and "http://127.0.0.1:3000" in message and "make run" in message


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("", None),
        ("answered", None),
        ("failed", {"status": "failed", "reasonCode": "no-answer", "reason": "transfer failed: no-answer"}),
        ("failed busy", {"status": "failed", "reasonCode": "busy", "reason": "transfer failed: busy"}),
        ("FAILED declined", {"status": "failed", "reasonCode": "declined", "reason": "transfer failed: declined"}),
        ("failed sideways", {"status": "failed", "reasonCode": "no-answer", "reason": "transfer failed: no-answer"}),
    ],
)
def test_what_the_caller_types_after_a_transfer_becomes_its_status(typed: str, status: object) -> None:
    assert transfer_status(typed) == status


def test_transcripts_tell_dtmf_from_speech() -> None:
    records = [
        TurnRecord("demo", "c", 1, 0.0, input_type="message", caller_text="one"),
        TurnRecord("demo", "c", 2, 1.0, input_type="event", event="DTMF", caller_text="1"),
    ]
    lines = format_transcript(records).splitlines()
    assert lines[1].endswith("caller: one")
    assert lines[2].endswith("caller DTMF: 1")
