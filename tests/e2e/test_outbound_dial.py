"""`make dial` end to end: the emulator in a subprocess, its VAIC dial-out stand-in playing the callee."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from audiocodes_devtools.dial import dial
from audiocodes_devtools.dialout_standin import local_dialout_key
from audiocodes_devtools.launcher import RunningEmulator, emulator_process

PERSON, MACHINE, BUSY, NO_ANSWER = "+493012340001", "+493012340002", "+493012340003", "+493012340004"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    callees = tmp_path_factory.mktemp("dialout") / "callees.json"
    callees.write_text(
        json.dumps(
            {
                PERSON: {"says": ["what is my balance"]},
                MACHINE: {"outcome": "machine"},
                BUSY: {"outcome": "busy"},
                NO_ANSWER: {"outcome": "no-answer"},
            }
        )
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIALOUT_CALLEES", str(callees))
        with emulator_process() as running:
            yield running


def dialled(emulator: RunningEmulator, target: str, metadata: dict[str, object] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = dial(emulator.base_url, "demo", local_dialout_key("demo"), target, metadata or {}, 60, out)
    return code, out.getvalue()


def call_record(emulator: RunningEmulator, output: str) -> dict[str, object]:
    call_id = output.split()[1]
    headers = {"X-API-Key": local_dialout_key("demo")}
    answer: dict[str, object] = httpx.get(f"{emulator.base_url}/outbound/demo/calls/{call_id}", headers=headers).json()
    return answer


def session_state(emulator: RunningEmulator, conversation: str) -> dict[str, Any]:
    item = emulator.session("demo", conversation)
    assert item is not None
    state: dict[str, Any] = json.loads(item["state"]["S"])
    return state


def bot_said(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [activity for replies in state["replies"].values() for activity in replies]


def test_a_person_answers_the_bot_talks_and_dial_exits_0_once_completed(emulator: RunningEmulator) -> None:
    code, output = dialled(emulator, PERSON, {"customer": "C-7"})
    assert code == 0, output
    assert [line.split()[0] for line in output.splitlines()[1:]] == ["queued", "initiated", "answered", "completed"]
    record = call_record(emulator, output)
    # The flow knew it was an outbound call, to whom, with the request's metadata
    call = session_state(emulator, str(record["conversationId"]))["context"]["call"]
    assert call["direction"] == "outbound"
    assert (call["outboundTarget"], call["dialoutMetadata"]) == (PERSON, {"customer": "C-7"})


def test_a_machine_answers_the_bot_leaves_a_voicemail_and_hangs_up(emulator: RunningEmulator) -> None:
    code, output = dialled(emulator, MACHINE)
    assert code == 0, output
    assert [line.split()[0] for line in output.splitlines()[1:]] == [
        "queued",
        "initiated",
        "answered",
        "machine-detected",
        "completed",
    ]
    said = bot_said(session_state(emulator, str(call_record(emulator, output)["conversationId"])))
    voicemail = [a for a in said if a.get("text", "").startswith("Hello, this is Example Bank with a message")]
    hangups = [a for a in said if a.get("name") == "hangup"]
    assert len(voicemail) == 1 and hangups[-1]["activityParams"]["hangupReason"] == "Answering machine", said


@pytest.mark.parametrize(("target", "reason"), [(BUSY, "busy"), (NO_ANSWER, "no answer")])
def test_busy_and_no_answer_fail_with_their_reason_and_dial_exits_1(
    emulator: RunningEmulator, target: str, reason: str
) -> None:
    code, output = dialled(emulator, target)
    assert code == 1, output
    assert output.splitlines()[-1].strip().startswith(f"failed (reason={reason}")


def test_a_do_not_call_number_is_refused_before_vaic_is_asked(emulator: RunningEmulator) -> None:
    code, output = dialled(emulator, "+4930111111111")
    assert code == 1 and "do_not_call" in output
