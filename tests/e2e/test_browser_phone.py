"""The browser phone and call inspector in a real headless Chromium, against the emulator `make run` starts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from audiocodes_devtools.launcher import RunningEmulator
from tests.e2e.chromium import Browser, chromium_path


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    executable, why = chromium_path()
    if executable is None:
        pytest.skip(f"no headless Chromium for the browser phone test: {why}")
    opened = Browser(executable, Path(tmp_path_factory.mktemp("chromium-profile")))
    yield opened
    opened.close()


def timeline_has(text: str) -> str:
    return f"document.getElementById('timeline').innerText.includes({json.dumps(text)})"


def click(browser: Browser, selector: str) -> None:
    browser.wait_for(f"!document.querySelector({json.dumps(selector)}).disabled", f"{selector} enabled")
    browser.evaluate(f"document.querySelector({json.dumps(selector)}).click()")


def type_and_send(browser: Browser, text: str) -> None:
    browser.evaluate(f"document.getElementById('say').value = {json.dumps(text)}")
    click(browser, "#say-send")


def test_a_typed_call_with_dtmf_and_a_failed_transfer_then_the_inspector_shows_it(
    emulator: RunningEmulator, browser: Browser
) -> None:
    # Given the page, calling the demo endpoint
    browser.goto(f"{emulator.base_url}/_phone")
    browser.wait_for("document.body.dataset.ready === 'true'", "the page to load its endpoints")
    browser.evaluate("document.getElementById('endpoint').value = 'demo'")
    click(browser, "#call")

    # Then the greeting arrives, and the session parameters the bot set are shown
    browser.wait_for(timeline_has("Welcome to Example Bank"), "the greeting")
    conversation = browser.evaluate("document.getElementById('status').dataset.conversation")

    # When the caller keys 2 (no recording) on the keypad, then asks for an agent by typing
    click(browser, "#keypad button[data-key='2']")
    browser.wait_for(timeline_has("this call will not be recorded"), "the answer to DTMF 2")
    type_and_send(browser, "agent")
    browser.wait_for("!document.getElementById('transfer').hidden", "the transfer offer")

    # And the transfer fails because the line is busy: the bot takes the call back
    browser.evaluate("document.getElementById('transfer-reason').value = 'busy'")
    click(browser, "#transfer-failed")
    browser.wait_for(timeline_has("all of our team are busy"), "the bot taking the call back")

    # Then each turn shows the flow's node path (and the typed turn its intent)
    turns = browser.wait_for(
        "(() => { const rows = [...document.querySelectorAll('#turns tbody tr')];"
        " return rows.length >= 4 && rows.map(r => [...r.cells].map(c => c.innerText)); })()",
        "the turn records",
    )
    assert any(row[1] == "DTMF 2" and row[3] for row in turns), turns
    assert any(row[1] == "agent" and row[2].startswith("agent") for row in turns), turns

    # When the caller hangs up
    click(browser, "#hangup")
    browser.wait_for("document.getElementById('status').innerText === 'ended: client-disconnected'", "the end")

    # Then the inspector lists the call, its transcript, and the chart plots its turns
    browser.evaluate("location.hash = '#inspector'")
    row = f"#calls tr[data-conversation={json.dumps(conversation)}]"
    browser.wait_for(f"!!document.querySelector({json.dumps(row)})", "the call in the inspector")
    browser.evaluate(f"document.querySelector({json.dumps(row)}).click()")
    transcript = browser.wait_for(
        "(() => { const t = document.getElementById('transcript').innerText;"
        " return t.includes('all of our team are busy') && t; })()",
        "the transcript",
    )
    assert "transfer" in transcript
    assert browser.evaluate("document.querySelectorAll('#latency-chart circle.turn').length") >= 4
    assert browser.exceptions == []


def test_an_async_call_over_the_relayed_websocket_with_inject(emulator: RunningEmulator, browser: Browser) -> None:
    browser.goto(f"{emulator.base_url}/_phone")
    browser.wait_for("document.body.dataset.ready === 'true'", "the page to load its endpoints")
    browser.evaluate("document.getElementById('endpoint').value = 'demo-async'")
    click(browser, "#call")
    # The bot's activities come over the WebSocket, each with its delay after the POST that caused it
    browser.wait_for(timeline_has("WebSocket open"), "the relayed WebSocket")
    browser.wait_for(timeline_has("ms after the last POST"), "a frame over the WebSocket")
    browser.wait_for("!document.getElementById('inject-row').hidden", "the Inject & Notify buttons")
    browser.evaluate("document.getElementById('inject-text').value = 'payment received'")
    browser.evaluate("document.getElementById('inject').click()")
    browser.wait_for("document.getElementById('inject-answer').innerText.startsWith('inject 202')", "inject 202")
    click(browser, "#hangup")
    browser.wait_for("document.getElementById('status').innerText === 'ended: client-disconnected'", "the end")
    assert browser.exceptions == []


def test_the_inspector_json_refuses_unknown_endpoints_and_paths(emulator: RunningEmulator) -> None:
    unknown = httpx.get(f"{emulator.base_url}/_phone/api/calls?endpoint=nope", timeout=10)
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_endpoint"
    missing = httpx.get(f"{emulator.base_url}/_phone/api/transcript?endpoint=demo", timeout=10)
    assert missing.status_code == 400 and missing.json()["error"] == "missing_conversation"
    escape = httpx.get(f"{emulator.base_url}/_phone/static/..%2f..%2fbrowser_phone.py", timeout=10)
    assert escape.status_code == 404
    posted = httpx.post(f"{emulator.base_url}/_phone/api/endpoints", timeout=10)
    assert posted.status_code == 405 and posted.json()["error"] == "method_not_allowed"


@pytest.mark.slow
def test_speech_mode_turns_the_bots_no_input_timeout_into_no_user_input(
    emulator: RunningEmulator, browser: Browser
) -> None:
    # Chromium's recognition sends audio to Google's service and headless Debian Chromium has no
    # voices, so no words are recognised or spoken here: recognition starts on the fake microphone
    # (--use-fake-device-for-media-stream), and the bot's userNoInputTimeoutMS (8 s in the demo) elapses.
    browser.goto(f"{emulator.base_url}/_phone")
    browser.wait_for("document.body.dataset.ready === 'true'", "the page to load its endpoints")
    browser.evaluate("document.getElementById('endpoint').value = 'demo'")
    browser.evaluate("document.getElementById('speech').click()")
    click(browser, "#call")
    browser.wait_for(timeline_has("Welcome to Example Bank"), "the greeting")
    params = browser.evaluate("document.getElementById('params').innerText")
    assert "userNoInputTimeoutMS\t8000" in params, params
    browser.wait_for(timeline_has("you ~ noUserInput 1"), "the no-input timeout", timeout=60)
    browser.wait_for(timeline_has("May we record this call?"), "the bot's reprompt")
    click(browser, "#hangup")
    browser.wait_for("document.getElementById('status').innerText === 'ended: client-disconnected'", "the end")
    assert browser.exceptions == []
