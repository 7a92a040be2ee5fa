"""Issue 10's "Done when": a campaign of 20 targets runs end to end under the emulator, as `make run` runs it.

The emulator (a subprocess) hosts the outbound function behind its HTTP front and as the campaign
queue's consumer (its SQS poller, from template.yaml); its VAIC stand-in plays each callee against the
demo bot and posts the statuses to the notifyUrl. Some callees are busy (once, or always), some are
answering machines, one does not answer, and one number's calling window is closed in its own time zone.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import shutil
import time
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from audiocodes_devtools.dialout_standin import local_dialout_key
from audiocodes_devtools.launcher import RunningEmulator, emulator_process
from tests.conftest import ROOT

NEW_YORK = "+12127365000"


def inside_zone() -> tuple[str, str]:
    """A zone whose local day has more than half an hour left (the window must not cross midnight while
    the test runs) and its number prefix; of three zones hours apart, at least two qualify at any time."""
    for zone, prefix in (
        ("Europe/Berlin", "+49301234"),
        ("Europe/London", "+44207946"),
        ("Australia/Sydney", "+6129876"),
    ):
        local = datetime.datetime.now(ZoneInfo(zone))
        if local.hour < 23 or local.minute < 30:
            return zone, prefix
    raise AssertionError("unreachable: Berlin, London and Sydney are never all near midnight")


ZONE, PREFIX = inside_zone()


def number(index: int) -> str:
    return f"{PREFIX}{index:04d}"


ANSWERS = [number(i) for i in range(1, 13)]
BUSY_ONCE = [number(i) for i in range(13, 16)]
BUSY_ALWAYS, NO_ANSWER = number(16), number(17)
MACHINES = [number(18), number(19)]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    agent = shutil.copytree(ROOT / "agent", tmp_path_factory.mktemp("agent"), dirs_exist_ok=True)
    demo = agent / "endpoints" / "demo.yaml"
    demo.write_text(demo.read_text().replace("country_codes: [49]", "country_codes: [49, 44, 61, 1]"))
    callees = tmp_path_factory.mktemp("dialout") / "callees.json"
    script: dict[str, Any] = {n: {"says": ["what is my balance"]} for n in ANSWERS[:3]}
    script |= {n: {"outcome": ["busy", "answer"]} for n in BUSY_ONCE}
    script |= {BUSY_ALWAYS: {"outcome": "busy"}, NO_ANSWER: {"outcome": "no-answer"}}
    callees.write_text(json.dumps(script))
    with emulator_process(agent, DIALOUT_CALLEES=str(callees)) as running:
        yield running


def window_for_now() -> dict[str, str]:
    """Open now (and for the next hour) in the inside zone, closed in New York (5, 6 or 15-16 hours apart)."""
    hour = datetime.datetime.now(ZoneInfo(ZONE)).hour
    return {"start": f"{max(0, hour - 1):02d}:00", "end": "24:00" if hour >= 22 else f"{hour + 2:02d}:00"}


@pytest.mark.slow
def test_a_campaign_of_20_targets_runs_with_retries_machines_and_a_closed_window(emulator: RunningEmulator) -> None:
    key = {"X-API-Key": local_dialout_key("demo")}
    targets = [{"target": n, "metadata": {"customer": f"C-{n[-2:]}"}} for n in ANSWERS + BUSY_ONCE]
    targets += [{"target": BUSY_ALWAYS}, {"target": NO_ANSWER}]
    # The machines are scripted through their metadata (the stand-in reads standin_outcomes)
    targets += [{"target": n, "metadata": {"standin_outcomes": "machine"}} for n in MACHINES]
    targets += [{"target": NEW_YORK, "metadata": {"customer": "NY"}}]
    assert len(targets) == 20
    body = {
        "name": "e2e", "targets": targets, "window": window_for_now(),
        "pacing": {"calls_per_second": 2, "max_concurrent": 4, "recheck_seconds": 2},
        "retry": {"on": ["busy", "no_answer"], "max_attempts": 2, "backoff_seconds": 1},
    }  # fmt: skip
    created = httpx.post(f"{emulator.base_url}/outbound/demo/campaigns", json=body, headers=key, timeout=30)
    assert created.status_code == 202, created.text
    campaign = created.json()["id"]

    # When the campaign runs until only New York, waiting for its window, is left
    deadline, seen = time.monotonic() + 180, {}
    while time.monotonic() < deadline:
        seen = httpx.get(f"{emulator.base_url}/outbound/demo/campaigns/{campaign}", headers=key, timeout=10).json()
        progress = seen["progress"]
        if progress["completed"] == 19 and progress["dialling"] == 0:
            break
        time.sleep(0.5)
    # Then the results say, per target, what happened
    answer = httpx.get(f"{emulator.base_url}/outbound/demo/campaigns/{campaign}/results", headers=key, timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = {row["number"]: row for row in csv.DictReader(io.StringIO(answer.text))}
    assert seen["progress"] == {
        "total": 20, "pending": 1, "dialling": 0, "completed": 19, "answered": 15, "machine": 2, "busy": 1,
        "noAnswer": 1, "failed": 0, "deferred": 1, "refused": 0, "cancelled": 0,
        "attempts": 19 + 3 + 1 + 1, "retries": 5,
    }, [(r["number"], r["reason"]) for r in rows.values() if r["outcome"] == "failed"]  # fmt: skip
    assert seen["state"] == "running"  # New York is still to be called, when its window opens

    assert len(rows) == 20
    for n in ANSWERS:
        assert (rows[n]["outcome"], rows[n]["attempts"], rows[n]["customer"]) == ("answered", "1", f"C-{n[-2:]}")
        assert float(rows[n]["duration_seconds"]) > 0
    for n in BUSY_ONCE:
        assert (rows[n]["outcome"], rows[n]["attempt_outcomes"]) == ("answered", "busy;answered")
    assert (rows[BUSY_ALWAYS]["outcome"], rows[BUSY_ALWAYS]["attempt_outcomes"]) == ("busy", "busy;busy")
    assert (rows[NO_ANSWER]["outcome"], rows[NO_ANSWER]["attempts"]) == ("no_answer", "2")
    for n in MACHINES:
        assert (rows[n]["outcome"], rows[n]["attempts"]) == ("machine", "1")
    assert (rows[NEW_YORK]["outcome"], rows[NEW_YORK]["attempts"], rows[NEW_YORK]["customer"]) == ("pending", "0", "NY")

    # And each answered call reached the bot with the target's metadata as dialoutMetadata
    state = _session_of(emulator, key, rows[ANSWERS[0]]["last_call_id"])
    assert state["context"]["call"]["dialoutMetadata"] == {"customer": f"C-{ANSWERS[0][-2:]}"}
    assert state["context"]["call"]["direction"] == "outbound"


def _session_of(emulator: RunningEmulator, key: dict[str, str], call_id: str) -> dict[str, Any]:
    call = httpx.get(f"{emulator.base_url}/outbound/demo/calls/{call_id}", headers=key, timeout=10).json()
    item = emulator.session("demo", str(call["conversationId"]))
    assert item is not None
    state: dict[str, Any] = json.loads(item["state"]["S"])
    return state


def test_the_campaign_routes_refuse_a_wrong_key_before_reading_the_body(emulator: RunningEmulator) -> None:
    answer = httpx.post(f"{emulator.base_url}/outbound/demo/campaigns", content=b"{oops",
                        headers={"X-API-Key": "wrong"}, timeout=10)  # fmt: skip
    assert answer.status_code == 401
