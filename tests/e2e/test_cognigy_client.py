"""Cognigy's own REST client (``@cognigy/rest-api-client``) drives Inject & Notify on a live async call.

An integration written for Cognigy.AI only changes the client's ``baseUrl``: the package posts to
``/new/v2.0/endpoint/inject|notify`` with ``x-api-key`` (``SessionsAPIGroup_2_0``, ``ApiKeyAuthentication``).
The pinned package is installed from npm into ``.cache/`` (git-ignored) on first use.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from audiocodes_devtools.vaic import Call
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

CALLER = "+4921154591991"
CLIENT_PACKAGE = "@cognigy/rest-api-client@0.19.0"
CACHE = ROOT / ".cache" / "cognigy-rest-api-client-0.19.0"
DRIVER = Path(__file__).with_name("cognigy_client.js")


@pytest.fixture(scope="module")
def cognigy_client() -> Path:
    """The directory holding the installed client (``node_modules``)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js (node and npm) is not on PATH: Cognigy's REST client cannot run on this machine")
    if not (CACHE / "node_modules" / "@cognigy" / "rest-api-client" / "package.json").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--ignore-scripts", "--no-save",
             "--loglevel=error", CLIENT_PACKAGE],
            check=True, timeout=300, capture_output=True,
        )  # fmt: skip
    return CACHE


def run_client(client_dir: Path, base_url: str, api_key: str, calls: list[dict]) -> list[dict]:
    request = json.dumps({"baseUrl": base_url, "apiKey": api_key, "calls": calls})
    done = subprocess.run(
        [shutil.which("node") or "node", str(DRIVER), request],
        cwd=client_dir,
        env={"NODE_PATH": str(client_dir / "node_modules"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    results: list[dict] = json.loads(done.stdout)
    return results


@contextlib.contextmanager
def live_echo_call(emulator) -> Iterator[Call]:
    """A call on the async echo endpoint, its WebSocket open and the flow waiting for the caller."""
    vaic = emulator.client("echo-async")
    call = vaic.create()
    with vaic, call:
        call.open_socket()
        call.start(caller=CALLER)
        call.frames(10, until=lambda f: "Say something" in (f.activities[0].get("text") or ""))
        # No wait for the start turn to be saved: the caller (the `userId` below) is known as soon as
        # `start` is queued, so an integration reacting to the greeting is never refused (issue 9, #5).
        yield call


def test_cognigys_client_injects_and_notifies_into_a_live_async_call(emulator, cognigy_client):
    # Given a live call on the async echo endpoint, its WebSocket open and the flow waiting
    with live_echo_call(emulator) as call:
        session = {"URLToken": "echo-async", "sessionId": call.conversation_id, "userId": CALLER}

        # When Cognigy's client injects, then notifies, with the endpoint's API key
        results = run_client(
            cognigy_client,
            emulator.base_url,
            emulator.inject_keys["echo-async"],
            [
                {"kind": "inject", "body": {**session, "text": "from the CRM", "data": {}}},
                {"kind": "notify", "body": {**session, "text": "A note for you", "data": {}}},
            ],
        )

        # Then both are accepted (the client resolves with our 202 body) ...
        assert [r["ok"] for r in results] == [True, True], results
        assert [(r["answer"]["status"], r["answer"]["kind"]) for r in results] == [
            ("accepted", "inject"),
            ("accepted", "notify"),
        ]
        # ... the inject ran through the flow and the notify went straight to the caller, in that order
        frames = call.frames(10, until=lambda f: f.activities[0].get("text") == "A note for you")
        texts = [a.get("text") for f in frames for a in f.activities]
        assert "You said from the CRM" in texts
        assert texts.index("You said from the CRM") < texts.index("A note for you")


def test_cognigys_client_sees_refusals_as_its_own_error_classes(emulator, cognigy_client):
    # Given a call that has ended
    with live_echo_call(emulator) as call:
        call.disconnect()
        body = {
            "URLToken": "echo-async",
            "sessionId": call.conversation_id,
            "userId": CALLER,
            "text": "too late",
            "data": {},
        }

        # When Cognigy's client posts with a wrong key, then with the right one after the call ended
        wrong = run_client(cognigy_client, emulator.base_url, "not-the-key", [{"kind": "notify", "body": body}])
        late = run_client(
            cognigy_client, emulator.base_url, emulator.inject_keys["echo-async"], [{"kind": "notify", "body": body}]
        )

        direct = httpx.post(
            f"{emulator.base_url}/new/v2.0/endpoint/notify",
            json=body,
            timeout=10,
            headers={"x-api-key": emulator.inject_keys["echo-async"]},
        )

    # Then the client raises UnauthorizedError for our 401 ...
    assert (wrong[0]["ok"], wrong[0]["error"], wrong[0]["status"]) == (False, "UnauthorizedError", 401), wrong
    # ... and, for our 409 (call ended), the class it gives any status missing from its ErrorCollection
    assert direct.status_code == 409 and direct.json()["error"] == "session_ended"
    assert (late[0]["ok"], late[0]["error"]) == (False, "InternalServerError"), late
