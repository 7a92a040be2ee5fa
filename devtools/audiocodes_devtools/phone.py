"""A terminal phone: call the bot as VoiceAI Connect would, typing what the caller says.

    python -m audiocodes_devtools.phone --bot-url http://127.0.0.1:3000/demo --token local-demo-token

Lines read from stdin become caller activities (see HELP). Stdin may be a pipe, so scripted demos
and tests can drive a whole call. Rendering and command parsing are pure functions; the I/O around
them is kept thin.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import httpx
from websockets.exceptions import WebSocketException

from audiocodes_devtools import local_urls
from audiocodes_devtools.vaic import (
    DEFAULT_CALLEE,
    Activity,
    BotProtocolError,
    Call,
    SocketClosedError,
    VaicClient,
    VaicError,
)

DEFAULT_ENDPOINT = "demo"
DEFAULT_CALLER = "+4921154591991"

HELP = """\
  any text           say it (a message with confidence 0.9)
  #123               press DTMF digits 123
  /silence           the caller says nothing (noUserInput, counting up)
  /refresh           refresh the conversation
  /event NAME [JSON] send any event, JSON as its value
  /wait [SECONDS]    pause the script (default 1), e.g. for WebSocket replies
  /hangup            hang up (also Ctrl-D)
  /help              this list"""

_DTMF_DIGITS = re.compile(r"[0-9*#A-D]+")
_SSML_BREAK = re.compile(r"<break\b[^>]*>", re.IGNORECASE)
_SSML_TAG = re.compile(r"<[^>]+>")
_TRANSFER_EVENTS = ("transfer", "handover")


# ---------------------------------------------------------------------------------------------
# Commands typed by the caller.


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class PressDigits:
    digits: str


@dataclass(frozen=True)
class Silence:
    pass


@dataclass(frozen=True)
class Refresh:
    pass


@dataclass(frozen=True)
class SendEvent:
    name: str
    value: Any = None


@dataclass(frozen=True)
class Wait:
    seconds: float


@dataclass(frozen=True)
class HangUp:
    pass


@dataclass(frozen=True)
class ShowHelp:
    pass


@dataclass(frozen=True)
class Invalid:
    problem: str


Command = Say | PressDigits | Silence | Refresh | SendEvent | Wait | HangUp | ShowHelp | Invalid

_PLAIN_COMMANDS: dict[str, Command] = {
    "/silence": Silence(),
    "/refresh": Refresh(),
    "/hangup": HangUp(),
    "/help": ShowHelp(),
}


def parse_command(line: str) -> Command | None:
    """What one typed line asks for; None for a blank line."""
    text = line.strip()
    if not text:
        return None
    if text.startswith("#"):
        return _parse_digits(text[1:])
    if text.startswith("/"):
        return _parse_slash_command(text)
    return Say(text)


def _parse_slash_command(text: str) -> Command:
    word, _, rest = text.partition(" ")
    rest = rest.strip()
    if word == "/event":
        return _parse_event(rest)
    if word == "/wait":
        return _parse_wait(rest)
    if word in _PLAIN_COMMANDS and not rest:
        return _PLAIN_COMMANDS[word]
    return Invalid(f"unknown command {text!r}; /help lists the commands")


def _parse_digits(digits: str) -> Command:
    if not _DTMF_DIGITS.fullmatch(digits):
        return Invalid(f"DTMF digits are 0-9, *, # and A-D, not {digits!r}")
    return PressDigits(digits)


def _parse_event(rest: str) -> Command:
    name, _, raw_value = rest.partition(" ")
    if not name:
        return Invalid("usage: /event NAME [JSON]")
    if not raw_value.strip():
        return SendEvent(name)
    try:
        return SendEvent(name, json.loads(raw_value))
    except ValueError as error:
        return Invalid(f"event value is not JSON: {error}")


def _parse_wait(rest: str) -> Command:
    try:
        seconds = float(rest) if rest else 1.0
    except ValueError:
        return Invalid(f"usage: /wait [SECONDS], not {rest!r}")
    return Wait(seconds) if seconds >= 0 else Invalid("cannot wait a negative time")


# ---------------------------------------------------------------------------------------------
# Rendering the bot's activities, one line each.


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _params_suffix(activity_params: dict[str, Any], session_params: Any) -> str:
    parts = [_compact(activity_params)] if activity_params else []
    if session_params:
        parts.append(f"session {_compact(session_params)}")
    return "".join(f"  {part}" for part in parts)


def _speech(text: str) -> str:
    """Text as a person would hear it: SSML tags removed and marked, since TTS reads it that way."""
    if not _SSML_TAG.search(text):
        return text
    spoken = _SSML_TAG.sub("", _SSML_BREAK.sub(" ", text))
    return "[ssml] " + " ".join(html.unescape(spoken).split())


def _transfer_head(name: str, params: dict[str, Any]) -> str:
    details: list[str] = []
    if "handoverReason" in params:
        details.append(f"reason: {params.pop('handoverReason')}")
    headers = params.pop("transferSipHeaders", None)
    if headers:
        pairs = (f"{h.get('name')}={h.get('value')}" if isinstance(h, dict) else _compact(h) for h in headers)
        details.append("headers " + ", ".join(pairs))
    if "transferReferredByURL" in params:
        details.append(f"referred by {params.pop('transferReferredByURL')}")
    target = params.pop("transferTarget", "(no transferTarget)")
    return f"{name} -> {target}" + (f" ({', '.join(details)})" if details else "")


def _event_head(activity: Activity, params: dict[str, Any]) -> str:
    """The event's name and main facts; consumes the params it shows from `params`."""
    name = str(activity.get("name"))
    if name == "hangup":
        reason = params.pop("hangupReason", None)
        return "hangup" + (f" (reason: {reason})" if reason is not None else "")
    if name in _TRANSFER_EVENTS:
        return _transfer_head(name, params)
    if name == "playUrl":
        url = params.pop("playUrlUrl", "(no playUrlUrl)")
        media_format = params.pop("playUrlMediaFormat", None)
        return f"playUrl {url}" + (f" ({media_format})" if media_format else "")
    if "value" in activity:
        return f"{name} value={_compact(activity['value'])}"
    return name


def render_activity(activity: Activity) -> str:
    """One readable line for an activity the bot sent."""
    params = dict(activity.get("activityParams") or {})
    kind = activity.get("type")
    if kind == "message":
        head = f"bot  > {_speech(str(activity.get('text', '')))}"
    elif kind == "event":
        head = f"bot  ~ {_event_head(activity, params)}"
    else:
        return f"bot  ? {_compact(activity)}"
    return head + _params_suffix(params, activity.get("sessionParams"))


def render_ws_activity(activity: Activity, since_post: float | None) -> str:
    """An activity pushed over the WebSocket, with how long after the last POST it came."""
    delay = "" if since_post is None else f" +{since_post:.2f}s"
    return f"{render_activity(activity)} (ws{delay})"


@dataclass(frozen=True)
class Ending:
    """Why the call ends, as the disconnect request will report it."""

    reason_code: str
    reason: str
    transfer: bool = False  # VAIC then reports the attempt with a transferStatus event


CALLER_HUNG_UP = Ending("client-disconnected", "Client Side")


def ending_for(activity: Activity) -> Ending | None:
    """VAIC ends the call after a bot hangup and, by default, after it performs a transfer."""
    if activity.get("type") != "event":
        return None
    params = activity.get("activityParams") or {}
    if activity.get("name") == "hangup":
        return Ending("bot-disconnected", str(params.get("hangupReason", "Bot hangup")))
    if activity.get("name") in _TRANSFER_EVENTS:
        return Ending("transferred", f"transferred to {params.get('transferTarget', 'unknown')}", transfer=True)
    return None


TRANSFER_FAILURES = ("no-answer", "busy", "declined", "error")
TRANSFER_PROMPT = "     the transfer: `answered` (Enter) or `failed [" + "|".join(TRANSFER_FAILURES) + "]`?"


def transfer_status(line: str | None) -> dict[str, str] | None:
    """The ``transferStatus`` value for what the caller typed after a transfer; None means answered.

    VAIC sends ``transferStatus`` ``{status: "answered"|"failed", reasonCode, reason}`` after each
    attempt when the bot may regain control (reference 3.2; AudioCodes: VAIG_Combined/transfer-status.htm).
    """
    words = (line or "").strip().lower().split()
    if not words or words[0] != "failed":
        return None
    code = words[1] if len(words) > 1 and words[1] in TRANSFER_FAILURES else "no-answer"
    return {"status": "failed", "reasonCode": code, "reason": f"transfer failed: {code}"}


def first_ending(activities: Sequence[Activity]) -> Ending | None:
    return next((ending for a in activities if (ending := ending_for(a)) is not None), None)


# ---------------------------------------------------------------------------------------------
# The phone: thin I/O around the pure parts above.


class Console:
    """Whole lines to one stream; the WebSocket watcher prints too, so lines must not interleave."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()

    def info(self, text: str) -> None:
        self.line(f"---- {text}")

    def error(self, text: str) -> None:
        self.line(f"!!!! {text}")


class Phone:
    """One call: stdin lines and WebSocket frames in, activities out, until someone hangs up."""

    def __init__(self, call: Call, console: Console, *, echo: bool) -> None:
        self.call = call
        self.console = console
        self.echo = echo  # Piped input is not shown by a terminal, so repeat it in the transcript.
        # One queue wakes the main thread for a stdin line (str), stdin EOF (None) or a bot
        # ending pushed over the WebSocket (Ending): a blocking readline could not be interrupted.
        self._events: queue.Queue[str | Ending | None] = queue.Queue()
        self._socket_ending: Ending | None = None
        self._ended = threading.Event()
        self._silences = 0
        self._refresh_due = 0.0
        self._watcher: threading.Thread | None = None

    def run(self, caller: str, callee: str, stdin: TextIO) -> Ending:
        """Start the call, converse, and disconnect; returns how the call ended."""
        if self.call.urls.websocket_url is not None:
            self.call.open_socket()
            self._watcher = threading.Thread(target=self._watch_socket, daemon=True)
            self._watcher.start()
        threading.Thread(target=self._read_lines, args=(stdin,), daemon=True).start()
        self._schedule_refresh()
        try:
            ending = self._show(self.call.start(caller, callee)) or self._converse()
        except KeyboardInterrupt:
            ending = CALLER_HUNG_UP
        self._ended.set()
        self.call.disconnect(ending.reason_code, ending.reason)
        self.call.close()
        if self._watcher is not None:
            self._watcher.join(timeout=self.call.client.timeout)
        self.console.info(f"call ended: {ending.reason_code} ({ending.reason})")
        return ending

    def _converse(self) -> Ending:
        while True:
            if self._socket_ending is not None:
                return self._socket_ending  # A bot hangup wins over lines still queued.
            try:
                event = self._events.get(timeout=max(0.0, self._refresh_due - time.monotonic()))
            except queue.Empty:
                self._refresh()  # VAIC keeps the conversation alive on its own.
                continue
            if event is None:
                return CALLER_HUNG_UP
            ending: Ending | None
            if isinstance(event, Ending):
                ending = event
            else:
                command = parse_command(event)
                ending = None if command is None else self._execute(command)
            if ending is not None and ending.transfer:
                ending = self._transfer_outcome(ending)
            if ending is not None:
                return ending

    def _transfer_outcome(self, transfer: Ending) -> Ending | None:
        """Ask how the transfer went; a failed one goes back to the bot, which may take the call back."""
        self.console.line(TRANSFER_PROMPT)
        line = self._events.get()
        status = transfer_status(line if isinstance(line, str) else None)
        if status is None:
            return transfer
        self._echo(f"you  ~ transferStatus {status['status']} ({status['reasonCode']})")
        self._socket_ending = None
        self._ended.clear()
        ending = self._show(self.call.event("transferStatus", status))
        return self._transfer_outcome(ending) if ending is not None and ending.transfer else ending

    def _execute(self, command: Command) -> Ending | None:
        match command:
            case Say(text):
                self._silences = 0  # noUserInput counts consecutive timeouts; speech resets it.
                self._echo(f"you  > {text}")
                return self._show(self.call.say(text))
            case PressDigits(digits):
                self._silences = 0
                self._echo(f"you  # {digits}")
                return self._show(self.call.dtmf(digits))
            case Silence():
                self._silences += 1
                self._echo(f"you  ~ noUserInput {self._silences}")
                return self._show(self.call.no_input(self._silences))
            case SendEvent(name, value):
                self._echo(f"you  ~ {name}" + ("" if value is None else f" value={_compact(value)}"))
                return self._show(self.call.event(name, value))
            case Refresh():
                self._refresh()
            case Wait(seconds):
                self._ended.wait(seconds)  # Cut short when the bot ends the call meanwhile.
            case HangUp():
                return CALLER_HUNG_UP
            case ShowHelp():
                self.console.line(HELP)
            case Invalid(problem):
                self.console.error(problem)
        return None

    def _show(self, activities: list[Activity]) -> Ending | None:
        for activity in activities:
            self.console.line(render_activity(activity))
        if not activities and self._watcher is None:
            self.console.line("bot  . (no activities)")
        return first_ending(activities)

    def _echo(self, text: str) -> None:
        if self.echo:
            self.console.line(text)

    def _refresh(self) -> None:
        self.console.info(f"refreshed, expires in {self.call.refresh()}s")
        self._schedule_refresh()

    def _schedule_refresh(self) -> None:
        # Halfway to expiry: VAIC's exact schedule is undocumented (reference 2.5).
        self._refresh_due = time.monotonic() + self.call.expires_seconds / 2

    def _read_lines(self, stdin: TextIO) -> None:
        for line in iter(stdin.readline, ""):
            self._events.put(line.rstrip("\n"))
        self._events.put(None)

    def _watch_socket(self) -> None:
        while True:
            try:
                frame = self.call.next_frame(timeout=None)
            except SocketClosedError as closed:
                self.console.info(str(closed))
                return
            except BotProtocolError as violation:
                self.console.error(f"bad WebSocket frame: {violation}")
                continue
            for activity in frame.activities:
                self.console.line(render_ws_activity(activity, frame.since_post))
            ending = first_ending(frame.activities)
            if ending is not None and not self._ended.is_set():
                self._socket_ending = ending
                self._ended.set()
                self._events.put(ending)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    raw_help = argparse.RawDescriptionHelpFormatter  # keeps the usage example in __doc__ as written
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw_help)
    endpoint = os.environ.get("ENDPOINT") or DEFAULT_ENDPOINT
    parser.add_argument(
        "--bot-url",
        default=os.environ.get("BOT_URL") or f"{local_urls.api_url()}/{endpoint}",
        help="default: the running emulator (see local_urls) and $ENDPOINT (demo)",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("BOT_TOKEN", f"local-{endpoint}-token"),
        help="bearer token (default: the emulator's local token of the endpoint); empty sends none",
    )
    # OAuth 2.0 bot authentication: get the bearer token as VAIC does (client-credentials grant).
    parser.add_argument("--oauth-token-url", default=os.environ.get("OAUTH_TOKEN_URL"))
    parser.add_argument("--oauth-client-id", default=os.environ.get("OAUTH_CLIENT_ID", "local-vaic"))
    parser.add_argument("--oauth-client-secret", default=os.environ.get("OAUTH_CLIENT_SECRET", "local-vaic-secret"))
    parser.add_argument("--oauth-scope", default=os.environ.get("OAUTH_SCOPE"))
    parser.add_argument("--caller", default=os.environ.get("CALLER", DEFAULT_CALLER))
    parser.add_argument("--callee", default=DEFAULT_CALLEE)
    parser.add_argument("--conversation", default=None, help="conversation id (default: a new uuid4)")
    return parser.parse_args(argv)


def call_bot(args: argparse.Namespace, stdin: TextIO, console: Console) -> Ending:
    if args.oauth_token_url:
        from .oauth_issuer import fetch_token

        args.token = fetch_token(args.oauth_token_url, args.oauth_client_id, args.oauth_client_secret, args.oauth_scope)
        console.info(f"OAuth 2.0 access token from {args.oauth_token_url}")
    with VaicClient(args.bot_url, args.token or None) as client:
        console.info(f"bot {args.bot_url}: {_compact(client.validate())}")
        call = client.create(args.conversation)
        channel = "HTTP + WebSocket" if call.urls.websocket_url else "HTTP"
        console.info(f"conversation {call.conversation_id} ({channel}, expires in {call.expires_seconds}s)")
        console.info("type what the caller says; /help lists commands")
        try:
            return Phone(call, console, echo=not stdin.isatty()).run(args.caller, args.callee, stdin)
        except (VaicError, BotProtocolError):
            _disconnect_after_error(call)
            raise


def _disconnect_after_error(call: Call) -> None:
    # Like VAIC after a failure: tell the bot the call is over, if it still listens.
    if not call.disconnected:
        with contextlib.suppress(VaicError, BotProtocolError, httpx.HTTPError):
            call.disconnect("error", "phone simulator error")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        call_bot(args, sys.stdin, Console(sys.stdout))
    except httpx.ConnectError:
        print(local_urls.nothing_answers(args.bot_url), file=sys.stderr)
        return 1
    except (VaicError, BotProtocolError, httpx.HTTPError, WebSocketException, OSError) as error:
        print(f"phone: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130  # Interrupted before the call was up; nothing to disconnect.
    return 0


if __name__ == "__main__":
    sys.exit(main())
