"""OAuth 2.0 bot authentication end to end: the emulator's token endpoint, then a call (`make call`)."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from audiocodes_devtools.oauth_issuer import fetch_token
from audiocodes_devtools.vaic import VaicClient
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


def phone(emulator, stdin: str, **oauth: str) -> subprocess.CompletedProcess[str]:
    """`make call` against demo-oauth: the phone gets its token by the client-credentials grant."""
    env = {
        **os.environ,
        "BOT_URL": f"{emulator.base_url}/demo-oauth",
        "BOT_TOKEN": "",
        "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("layers/runtime", "devtools")),
        **{f"OAUTH_{name.upper()}": value for name, value in oauth.items()},
    }
    return subprocess.run(
        [sys.executable, "-m", "audiocodes_devtools.phone"],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_call_gets_an_access_token_and_talks_to_the_oauth_endpoint(emulator):
    client = emulator.oauth_clients["demo-oauth"]
    done = phone(
        emulator,
        "/hangup\n",
        token_url=client["token_url"],
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        scope=client["scope"],
    )
    assert done.returncode == 0, done.stderr
    assert "OAuth 2.0 access token" in done.stdout
    assert '{"type":"ac-bot-api","success":true}' in done.stdout  # validated, then created and hung up
    assert "call ended: client-disconnected" in done.stdout


def test_a_wrong_client_secret_gets_no_token_and_no_token_gets_no_call(emulator):
    client = emulator.oauth_clients["demo-oauth"]
    done = phone(emulator, "", token_url=client["token_url"], client_id=client["client_id"], client_secret="wrong")
    assert done.returncode == 1 and "401" in done.stderr
    # Without OAuth the phone sends no Authorization header: the endpoint answers 401
    assert phone(emulator, "").returncode == 1


def test_the_websocket_takes_the_access_token_and_refuses_a_tampered_one(emulator):
    client = emulator.oauth_clients["demo-oauth"]
    token = fetch_token(client["token_url"], client["client_id"], client["client_secret"], client["scope"])
    with VaicClient(f"{emulator.base_url}/demo-oauth", token) as vaic, vaic.create() as call:
        call.open_socket()
        call.start(caller="+4921154591991")
        frames = call.frames(10, until=lambda f: "account number" in (f.activities[0].get("text") or ""))
        assert frames
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    answer = httpx.get(f"{emulator.base_url}/demo-oauth", headers={"Authorization": f"Bearer {tampered}"})
    assert answer.status_code == 401 and answer.json() == {
        "error": "unauthorized",
        "message": "missing or wrong bearer token",
    }
