"""A local stand-in for VAIC's dial-out API: token endpoint, dial-out, status callbacks, a scripted callee.

What it mimics (VoiceAI Connect ``outbound-calling.htm``, Live Hub ``Make_an_outbound_call.htm``):
``POST /oauth/token`` (client credentials, HTTP Basic client authentication), ``POST
/api/v1/actions/dialout`` (Bearer token, or Basic as on Live Hub) answering ``{"conversationId"}``,
then the call's statuses POSTed to its ``notifyUrl``. When the callee answers, it plays the call
against the bot (the bot's name is its URL token here) as VAIC does: create the conversation, ``start``
with ``outboundTarget`` and ``dialoutMetadata``, the callee's scripted lines, disconnect.
Outcomes per number come from a script: ``answer`` (default), ``busy``, ``no-answer``, ``machine``; a
list scripts successive attempts at one number (``["busy", "busy", "answer"]``: campaigns' retries), the
last entry repeating. A dial-out request's ``metadata.standin_outcomes`` (``"busy,machine"``) scripts
that target instead (a campaign's target metadata; local only, VAIC knows no such field).
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

from .json_handler import QuietJsonHandler
from .local_server import LocalHTTPServer
from .vaic import VaicClient

CLIENT_ID = "local-dialout-client"
CLIENT_SECRET = "local-dialout-secret"  # noqa: S105 - the stand-in's own, local only


OUTCOMES = ("answer", "busy", "no-answer", "machine")
BOT_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Callee:
    outcome: str = "answer"  # answer | busy | no-answer | machine
    says: tuple[str, ...] = ()
    """Lines the callee says after the bot's greeting, one turn each, then it hangs up."""
    then: tuple[str, ...] = ()
    """Outcomes of the later attempts at this number (the last one repeats)."""

    def attempt(self, number: int) -> Callee:
        """The callee as the ``number``-th call (1-based) to it finds it."""
        script = (self.outcome, *self.then)
        return Callee(script[min(number, len(script)) - 1], self.says)

    @classmethod
    def scripted(cls, outcomes: str | list[str] | tuple[str, ...], says: tuple[str, ...] = ()) -> Callee:
        listed = [o.strip() for o in (outcomes.split(",") if isinstance(outcomes, str) else outcomes) if o.strip()]
        unknown = [o for o in listed if o not in OUTCOMES]
        if unknown or not listed:
            raise ValueError(f"callee outcomes are {', '.join(OUTCOMES)}; got {listed}")
        return cls(listed[0], says, tuple(listed[1:]))


@dataclass
class PlacedCall:
    conversation_id: str
    request: dict[str, Any]
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    bot_activities: list[dict[str, Any]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


class DialoutStandIn:
    def __init__(
        self,
        bot: Callable[[str], tuple[str, str | None] | None],
        callees: dict[str, Callee] | None = None,
        *,
        port: int = 0,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        pause_seconds: float = 0.05,
        play_bot: bool = True,
    ) -> None:
        self.bot = bot  # bot name -> (bot URL, bot token), or None when VAIC has no such bot
        self.callees = callees or {}
        self.client_id, self.client_secret = client_id, client_secret
        self.pause_seconds = pause_seconds
        self.play_bot = play_bot  # False: an answered call ends at once (tests of the records, not the bot)
        self.calls: list[PlacedCall] = []
        self.tokens: set[str] = set()
        self.dialled: dict[str, int] = {}  # calls per number so far (which scripted attempt comes next)
        self._lock = threading.Lock()
        self._server = LocalHTTPServer(("127.0.0.1", port), _handler(self))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth/token"

    def start(self) -> DialoutStandIn:
        threading.Thread(target=self._server.serve_forever, name="vaic-dialout", daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- the API ---------------------------------------------------------------------------

    def client_authenticated(self, header: str | None) -> bool:
        scheme, _, value = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.client_id) and secrets.compare_digest(password, self.client_secret)

    def issue_token(self) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def dial(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        missing = [name for name in ("bot", "target", "caller", "notifyUrl") if not request.get(name)]
        if missing:
            return 400, {"error": f"missing {', '.join(missing)}"}
        if self.bot(str(request["bot"])) is None:
            return 404, {"error": f"no bot named {request['bot']}"}
        call = PlacedCall(str(uuid.uuid4()), request)
        with self._lock:
            self.calls.append(call)
        threading.Thread(target=self._play, args=(call,), name="vaic-callee", daemon=True).start()
        return 200, {"conversationId": call.conversation_id}

    def callee(self, target: str, metadata: Any) -> Callee:
        """Who answers this call: the metadata's script, else the number's, at this attempt."""
        with self._lock:
            self.dialled[target] = attempt = self.dialled.get(target, 0) + 1
        scripted = metadata.get("standin_outcomes") if isinstance(metadata, dict) else None
        base = self.callees.get(target, Callee())
        if isinstance(scripted, str | list):
            base = Callee.scripted(scripted, base.says)
        return base.attempt(attempt)

    # --- the call --------------------------------------------------------------------------

    def _play(self, call: PlacedCall) -> None:
        try:
            target = str(call.request["target"]).removeprefix("tel:")
            callee = self.callee(target, call.request.get("metadata"))
            time.sleep(self.pause_seconds)  # ringing
            if callee.outcome == "busy":
                self._notify(call, {"status": "failed", "reason": "busy", "reasonCode": 486})
                return
            if callee.outcome == "no-answer":
                self._notify(call, {"status": "failed", "reason": "no answer", "reasonCode": 408})
                return
            started = time.monotonic()
            self._notify(call, {"status": "answered"})
            detecting = bool(call.request.get("machineDetection"))  # without it a machine is just an answer
            if callee.outcome == "machine" and detecting:
                self._notify(call, {"status": "machine-detected", "machineDetection": "machine"})
            if self.play_bot:
                self._converse(call, target, callee)
            duration = round(time.monotonic() - started, 3)
            self._notify(call, {"status": "completed", "duration": duration})
        except Exception as error:  # a stand-in must not die silently: the failure is the call's status
            self._notify(call, {"status": "failed", "reason": f"stand-in: {type(error).__name__}: {error}"})
        finally:
            call.done.set()

    def _converse(self, call: PlacedCall, target: str, callee: Callee) -> None:
        found = self.bot(str(call.request["bot"]))
        assert found is not None
        bot_url, token = found
        # A loaded machine running many calls at once (a campaign) can take seconds per turn: wait as VAIC
        # would rather than fail the call (the bot's own deadline still applies).
        with VaicClient(bot_url, token, timeout=BOT_TIMEOUT_SECONDS) as client:
            conversation = client.create(call.conversation_id)
            parameters = {"outboundTarget": target, "dialoutMetadata": call.request.get("metadata") or {}}
            answered = conversation.start(str(call.request["caller"]), target, extra_parameters=parameters)
            call.bot_activities += answered
            if callee.outcome == "machine" and call.request.get("machineDetection"):
                # The bot hears the detection result as an event (name and value inferred; Live Hub
                # EventsDuringVoiceConversation.htm lists machineDetection) and may leave a voicemail.
                call.bot_activities += conversation.event("machineDetection", "machine")
            for line in callee.says:
                if any(a.get("type") == "event" and a.get("name") == "hangup" for a in call.bot_activities):
                    break
                call.bot_activities += conversation.say(line)
            if not any(a.get("type") == "event" and a.get("name") == "hangup" for a in call.bot_activities):
                conversation.disconnect()

    def _notify(self, call: PlacedCall, status: dict[str, Any]) -> None:
        body = {"conversationId": call.conversation_id, **status}
        call.callbacks.append(body)
        # Not retried when undeliverable (inferred of VAIC); the call's history then shows the gap.
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(str(call.request["notifyUrl"]), json=body, timeout=10)


def _handler(standin: DialoutStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietJsonHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path == "/oauth/token":
                form = parse_qs(raw.decode())
                if not standin.client_authenticated(self.headers.get("Authorization")):
                    return self._send(401, {"error": "invalid_client"})
                if form.get("grant_type") != ["client_credentials"]:
                    return self._send(400, {"error": "unsupported_grant_type"})
                return self._send(200, standin.issue_token())
            if self.path == "/api/v1/actions/dialout":
                authorization = self.headers.get("Authorization") or ""
                bearer = authorization.removeprefix("Bearer ")
                if bearer not in standin.tokens and not standin.client_authenticated(authorization):
                    return self._send(401, {"error": "unauthorized"})
                try:
                    request = json.loads(raw)
                except ValueError:
                    return self._send(400, {"error": "malformed JSON"})
                return self._send(*standin.dial(request if isinstance(request, dict) else {}))
            return self._send(404, {"error": "not found"})

    return Handler


# --- under `make run` -----------------------------------------------------------------------------


def local_dialout_key(url_token: str) -> str:
    """What `make run` uses as an endpoint's ``dialout.api_key`` unless ``<URL_TOKEN>_DIALOUT_API_KEY`` is set."""
    import os

    return os.environ.get(f"{url_token.upper().replace('-', '_')}_DIALOUT_API_KEY", f"local-{url_token}-dialout-key")


def callees_from(path: str | None) -> dict[str, Callee]:
    """``{"+4930...": {"outcome": "busy"}, "+4940...": {"outcome": ["busy", "answer"]}, "+4989...": {"says":
    ["yes"]}}`` from a JSON file (DIALOUT_CALLEES); a list scripts successive attempts."""
    if not path:
        return {}
    document = json.loads(Path(path).read_text())
    return {
        number: Callee.scripted(script.get("outcome", "answer"), tuple(script.get("says", ())))
        for number, script in document.items()
    }


class EmulatorDialout:
    """The stand-in wired into the emulator: VAIC_API_URL for the endpoints, their dial-out secrets stored."""

    def __init__(self, emulator: Any) -> None:
        import os

        def bot(name: str) -> tuple[str, str | None] | None:
            return (f"{emulator.base_url}/{name}", emulator.tokens[name]) if name in emulator.tokens else None

        self.standin = DialoutStandIn(
            bot, callees_from(os.environ.get("DIALOUT_CALLEES")), port=int(os.environ.get("DIALOUT_PORT", "0"))
        ).start()
        emulator._stoppers.append(self.standin.stop)  # noqa: SLF001 - stopped with the emulator
        os.environ.setdefault("VAIC_API_URL", self.standin.url)  # read when the handlers load the endpoints
        os.environ.setdefault("VAIC_TOKEN_URL", self.standin.token_url)
        self.keys: dict[str, str] = {}
        self.store_secrets(emulator.agent_dir)

    def store_secrets(self, agent_dir: Path) -> None:
        from audiocodes_endpoint.config.endpoint import load_endpoints

        from .emulator import _store_secret

        if not (agent_dir / "endpoints").is_dir():
            return  # a template without the agent (tests of the emulator itself), as the emulator's own
        for endpoint in load_endpoints(agent_dir).values():
            if endpoint.dialout is not None:
                self.keys[endpoint.url_token] = _store_secret(
                    endpoint.dialout.api_key, local_dialout_key(endpoint.url_token)
                )
                _store_secret(endpoint.dialout.client_id, self.standin.client_id)
                _store_secret(endpoint.dialout.client_secret, self.standin.client_secret)
