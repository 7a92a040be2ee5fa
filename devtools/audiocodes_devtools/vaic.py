"""A VoiceAI Connect (VAIC) client: the caller side of the AudioCodes Bot API in HTTP ("chat") mode.

The phone simulator and the end-to-end tests both drive the bot through this module, so it is
strict: any answer that a real VAIC could not rely on (a non-2xx status, a body that is not a JSON
object, a missing URL, an activity without `id`) raises instead of being papered over.

Wire protocol: AudioCodes Bot API, https://techdocs.audiocodes.com/voice-ai-connect/content/Bot-API/ac-bot-api.htm.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.sync.client import ClientConnection, connect

Activity = dict[str, Any]

DEFAULT_CALLEE = "+493040739365"
DEFAULT_CALLER_HOST = "sip.example.com"
DEFAULT_CALLEE_HOST = "vaic.example.com"

_WEBSOCKET_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


class VaicError(Exception):
    """The bot answered with a non-2xx HTTP status (or refused the WebSocket upgrade)."""

    def __init__(self, status: int, body: str, request: str = "") -> None:
        self.status = status
        self.body = body
        self.request = request
        where = f" to {request}" if request else ""
        super().__init__(f"HTTP {status} in answer{where}: {body[:500]}")


class BotProtocolError(Exception):
    """The bot's answer has a 2xx status but does not follow the Bot API."""

    def __init__(self, problem: str, payload: object = None) -> None:
        self.problem = problem
        self.payload = payload
        shown = "" if payload is None else f": {json.dumps(payload, default=str)[:500]}"
        super().__init__(f"{problem}{shown}")


class SocketClosedError(Exception):
    """The WebSocket side-channel is closed; no more frames will arrive."""

    def __init__(self, code: int | None, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"WebSocket closed (code {code}{', ' + reason if reason else ''})")


# ---------------------------------------------------------------------------------------------
# Pure helpers: URL resolution, answer validation, activity building. No I/O, unit-testable.


def resolve_url(bot_url: str, url: str) -> str:
    """Resolve a URL from the create answer the way VAIC does: RFC 3986 against the bot URL.

    A relative `conversation/c1/activities` therefore lands next to the bot URL's last path
    segment, and an absolute path like `/conversation/...` drops any API Gateway stage prefix.
    """
    return urljoin(bot_url, url)


def resolve_websocket_url(bot_url: str, url: str) -> str:
    """Resolve `websocketURL` like the other URLs, then map http(s) to ws(s)."""
    parts = urlsplit(resolve_url(bot_url, url))
    scheme = _WEBSOCKET_SCHEMES.get(parts.scheme)
    if scheme is None:
        raise BotProtocolError(f"websocketURL has an unusable scheme {parts.scheme!r}", url)
    return urlunsplit(parts._replace(scheme=scheme))


def utc_timestamp(now: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and `Z`, as VAIC stamps its activities."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stamp(activity: Activity) -> Activity:
    """Give an activity a fresh `id` and `timestamp` unless it already has them."""
    return {"id": str(uuid.uuid4()), "timestamp": utc_timestamp(), **activity}


@dataclass(frozen=True)
class ConversationUrls:
    """The validated, absolute URLs from the bot's create-conversation answer."""

    activities_url: str
    refresh_url: str
    disconnect_url: str
    expires_seconds: int
    websocket_url: str | None = None


def _positive_int(value: object) -> bool:
    # bool is an int subclass, and `true` is not a number of seconds.
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def parse_create_answer(bot_url: str, answer: dict[str, Any]) -> ConversationUrls:
    """Check the create-conversation answer (reference 2.3) and resolve its URLs."""
    for key in ("activitiesURL", "refreshURL", "disconnectURL"):
        if not isinstance(answer.get(key), str) or not answer[key]:
            raise BotProtocolError(f"create answer lacks a string {key}", answer)
    if not _positive_int(answer.get("expiresSeconds")):
        raise BotProtocolError("create answer lacks a positive integer expiresSeconds", answer)
    websocket = answer.get("websocketURL")
    if websocket is not None and (not isinstance(websocket, str) or not websocket):
        raise BotProtocolError("create answer has a websocketURL that is not a string", answer)
    return ConversationUrls(
        activities_url=resolve_url(bot_url, answer["activitiesURL"]),
        refresh_url=resolve_url(bot_url, answer["refreshURL"]),
        disconnect_url=resolve_url(bot_url, answer["disconnectURL"]),
        expires_seconds=answer["expiresSeconds"],
        websocket_url=None if websocket is None else resolve_websocket_url(bot_url, websocket),
    )


def _is_utc_timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment.utcoffset() == timedelta(0)  # None (no zone) fails too


def check_bot_activity(activity: object) -> Activity:
    """Check one activity the bot sent (reference 3.1 and 3.3); return it typed."""
    if not isinstance(activity, dict):
        raise BotProtocolError("bot activity is not a JSON object", activity)
    if not isinstance(activity.get("id"), str) or not activity["id"]:
        raise BotProtocolError("bot activity lacks a string id", activity)
    if not _is_utc_timestamp(activity.get("timestamp")):
        raise BotProtocolError("bot activity lacks an ISO 8601 UTC timestamp", activity)
    kind = activity.get("type")
    if kind not in ("message", "event"):
        raise BotProtocolError("bot activity type is neither message nor event", activity)
    if kind == "message" and not isinstance(activity.get("text"), str):
        raise BotProtocolError("bot message lacks a string text", activity)
    if kind == "event" and (not isinstance(activity.get("name"), str) or not activity["name"]):
        raise BotProtocolError("bot event lacks a string name", activity)
    for scope in ("activityParams", "sessionParams"):
        if scope in activity and not isinstance(activity[scope], dict):
            raise BotProtocolError(f"bot activity {scope} is not a JSON object", activity)
    return activity


def check_bot_activities(conversation_id: str, payload: dict[str, Any]) -> list[Activity]:
    """Check an activities answer or frame: `{}` or `{"activities": [...]}`, `conversation` optional."""
    echoed = payload.get("conversation", conversation_id)
    if echoed != conversation_id:
        raise BotProtocolError(f"answer names conversation {echoed!r}, not {conversation_id!r}", payload)
    activities = payload.get("activities", [])
    if not isinstance(activities, list):
        raise BotProtocolError("answer activities is not a list", payload)
    return [check_bot_activity(activity) for activity in activities]


def message_activity(text: str, confidence: float = 0.9) -> Activity:
    """Recognised caller speech (reference 3.2): STT details travel in `parameters`."""
    return {"type": "message", "text": text, "parameters": {"confidence": confidence}}


def event_activity(name: str, value: Any = None, parameters: dict[str, Any] | None = None) -> Activity:
    """Any VAIC event; `value` and `parameters` appear only when given."""
    activity: Activity = {"type": "event", "name": name}
    if value is not None:
        activity["value"] = value
    if parameters is not None:
        activity["parameters"] = parameters
    return activity


def start_activity(
    conversation_id: str,
    caller: str,
    callee: str = DEFAULT_CALLEE,
    *,
    caller_host: str = DEFAULT_CALLER_HOST,
    callee_host: str = DEFAULT_CALLEE_HOST,
    display_name: str | None = None,
    extra_parameters: dict[str, Any] | None = None,
    language: str = "en-US",
) -> Activity:
    """The `start` event VAIC sends when the call is answered (reference 2.4 fixture)."""
    parameters = {
        "caller": caller,
        "callee": callee,
        "callerHost": caller_host,
        "calleeHost": callee_host,
        # Real traffic shows the number when the SIP From header has no display name.
        "callerDisplayName": caller if display_name is None else display_name,
        "vaigConversationId": conversation_id,
        **(extra_parameters or {}),
    }
    return {"type": "event", "name": "start", "language": language, "parameters": parameters}


# ---------------------------------------------------------------------------------------------
# I/O: the HTTP client, one call, and the optional WebSocket side-channel.


@dataclass(frozen=True)
class Frame:
    """One WebSocket text frame from the bot, with when it arrived."""

    received_at: float  # time.monotonic()
    since_post: float | None  # seconds since the last activities POST was sent; None before any
    activities: list[Activity]
    payload: dict[str, Any]


class VaicClient:
    """Talks to one bot URL with one (optional) bearer token, like a configured VAIC bot."""

    def __init__(self, bot_url: str, token: str | None, *, timeout: float = 10.0) -> None:
        self.bot_url = bot_url
        self.token = token
        self.timeout = timeout
        self._http = httpx.Client(timeout=timeout, headers=self.auth_headers())
        self._calls: list[Call] = []

    def auth_headers(self) -> dict[str, str]:
        # An empty token means no Authorization header at all, as in VAIC (reference 2.1).
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get_json(self, url: str) -> dict[str, Any]:
        """GET a URL and return its JSON object answer; raises on anything else."""
        return self._answer(self._http.get(url), f"GET {url}")

    def post_json(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON body and return the JSON object answer; also for probing error paths."""
        return self._answer(self._http.post(url, json=body), f"POST {url}")

    def validate(self) -> dict[str, Any]:
        """The "Validate bot configuration" probe (reference 2.2)."""
        return self.get_json(self.bot_url)

    def create(self, conversation_id: str | None = None) -> Call:
        """Create a conversation (reference 2.3) and return the call that owns it."""
        conversation = conversation_id or str(uuid.uuid4())
        # Rasa documents VAIC's create body as {conversation, id, timestamp}.
        answer = self.post_json(self.bot_url, stamp({"conversation": conversation}))
        call = Call(self, conversation, parse_create_answer(self.bot_url, answer), answer)
        self._calls.append(call)
        return call

    def close(self) -> None:
        for call in self._calls:
            call.close()
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @staticmethod
    def _answer(response: httpx.Response, request: str) -> dict[str, Any]:
        if not response.is_success:
            raise VaicError(response.status_code, response.text, request)
        try:
            body = response.json()
        except ValueError:
            raise BotProtocolError(f"answer to {request} is not JSON", response.text) from None
        if not isinstance(body, dict):
            raise BotProtocolError(f"answer to {request} is not a JSON object", body)
        return body


class Call:
    """One conversation: the activities, refresh and disconnect requests VAIC sends for it."""

    def __init__(
        self, client: VaicClient, conversation_id: str, urls: ConversationUrls, create_answer: dict[str, Any]
    ) -> None:
        self.client = client
        self.conversation_id = conversation_id
        self.urls = urls
        self.create_answer = create_answer
        self.expires_seconds = urls.expires_seconds
        self.last_sent: list[Activity] = []
        self.last_post_at: float | None = None
        self.disconnected = False
        self._socket: ClientConnection | None = None
        self._reader: threading.Thread | None = None
        self._inbox: queue.Queue[Frame | Exception] = queue.Queue()
        self._closed_with: SocketClosedError | None = None

    # -- HTTP ------------------------------------------------------------------------------

    def send(self, *activities: Activity) -> list[Activity]:
        """POST activities (stamped with id and timestamp unless given); return the bot's."""
        if not activities:
            raise ValueError("send needs at least one activity")
        self.last_sent = [stamp(activity) for activity in activities]
        self.last_post_at = time.monotonic()
        body = {"conversation": self.conversation_id, "activities": self.last_sent}
        answer = self.client.post_json(self.urls.activities_url, body)
        return check_bot_activities(self.conversation_id, answer)

    def resend(self, activity: Activity) -> list[Activity]:
        """Re-POST an already sent activity unchanged, as VAIC does when the bot answered late."""
        if "id" not in activity:
            raise ValueError("resend needs an activity that was sent before (it has no id)")
        return self.send(activity)

    def start(
        self,
        caller: str,
        callee: str = DEFAULT_CALLEE,
        *,
        caller_host: str = DEFAULT_CALLER_HOST,
        callee_host: str = DEFAULT_CALLEE_HOST,
        display_name: str | None = None,
        extra_parameters: dict[str, Any] | None = None,
        language: str = "en-US",
    ) -> list[Activity]:
        return self.send(
            start_activity(
                self.conversation_id,
                caller,
                callee,
                caller_host=caller_host,
                callee_host=callee_host,
                display_name=display_name,
                extra_parameters=extra_parameters,
                language=language,
            )
        )

    def say(self, text: str, confidence: float = 0.9) -> list[Activity]:
        return self.send(message_activity(text, confidence))

    def dtmf(self, digits: str) -> list[Activity]:
        return self.send(event_activity("DTMF", digits))

    def no_input(self, count: int) -> list[Activity]:
        return self.send(event_activity("noUserInput", count))

    def event(self, name: str, value: Any = None, parameters: dict[str, Any] | None = None) -> list[Activity]:
        return self.send(event_activity(name, value, parameters))

    def refresh(self) -> int:
        """Keep the conversation alive; returns expiresSeconds (unchanged if the bot answers `{}`)."""
        answer = self.client.post_json(self.urls.refresh_url, {"conversation": self.conversation_id})
        if "expiresSeconds" in answer:
            if not _positive_int(answer["expiresSeconds"]):
                raise BotProtocolError("refresh answer expiresSeconds is not a positive integer", answer)
            self.expires_seconds = answer["expiresSeconds"]
        return self.expires_seconds

    def disconnect(self, reason_code: str = "client-disconnected", reason: str = "Client Side") -> None:
        """End the conversation (reference 2.6); the bot answers `{}`."""
        body = {"conversation": self.conversation_id, "reasonCode": reason_code, "reason": reason}
        self.client.post_json(self.urls.disconnect_url, body)
        self.disconnected = True

    # -- WebSocket side-channel (reference 2.8) --------------------------------------------

    def open_socket(self) -> None:
        """Connect to the bot's websocketURL and collect its frames on a background thread."""
        if self.urls.websocket_url is None:
            raise BotProtocolError("the bot offered no websocketURL", self.create_answer)
        try:
            # legacy=True returns the connection itself, which a long-lived call needs.
            socket = connect(
                self.urls.websocket_url,
                additional_headers=self.client.auth_headers(),
                open_timeout=self.client.timeout,
                legacy=True,
            )
        except InvalidStatus as refused:
            response = refused.response
            body = response.body.decode(errors="replace") if response.body else ""
            raise VaicError(response.status_code, body, f"WebSocket {self.urls.websocket_url}") from None
        # A reconnect starts afresh: the old socket's reader keeps its own inbox and close marker.
        self._socket = socket
        self._inbox = queue.Queue()
        self._closed_with = None
        self._reader = threading.Thread(target=self._read_socket, args=(socket, self._inbox), daemon=True)
        self._reader.start()

    def next_frame(self, timeout: float | None) -> Frame:
        """The next frame; raises TimeoutError, SocketClosedError, or BotProtocolError for a bad frame."""
        if self._socket is None:
            raise RuntimeError("open_socket() first")
        if self._closed_with is not None:
            raise self._closed_with
        try:
            item = self._inbox.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no WebSocket frame within {timeout}s") from None
        if isinstance(item, SocketClosedError):
            self._closed_with = item
        if isinstance(item, Exception):
            raise item
        return item

    def frames(self, timeout: float, until: Callable[[Frame], bool] | None = None) -> list[Frame]:
        """Frames arriving within `timeout` seconds, stopping early at the socket's close or `until`.

        With `until`, reaching the deadline or the close without a matching frame raises
        TimeoutError (naming what did arrive): a caller waiting for a frame learns it never came.
        """
        deadline = time.monotonic() + timeout
        collected: list[Frame] = []
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                frame = self.next_frame(remaining)
            except (TimeoutError, SocketClosedError):
                break
            collected.append(frame)
            if until is not None and until(frame):
                return collected
        if until is not None:
            seen = [a.get("text") or a.get("name") for f in collected for a in f.activities]
            raise TimeoutError(
                f"the awaited frame did not arrive within {timeout}s (socket open: {self.socket_open}); got {seen}"
            )
        return collected

    @property
    def socket_open(self) -> bool:
        """Whether the WebSocket is open as far as this client has read (its close frame not seen)."""
        return self._socket is not None and self._closed_with is None

    def _read_socket(self, socket: ClientConnection, inbox: queue.Queue[Frame | Exception]) -> None:
        try:
            for message in socket:
                inbox.put(self._frame(message))
        except ConnectionClosedError:
            pass  # Reported below with the close code, like a normal close.
        finally:
            inbox.put(SocketClosedError(socket.close_code, socket.close_reason or ""))

    def _frame(self, message: str | bytes) -> Frame | BotProtocolError:
        received_at = time.monotonic()
        since_post = None if self.last_post_at is None else received_at - self.last_post_at
        if isinstance(message, bytes):
            return BotProtocolError("WebSocket frame is binary, not JSON text", repr(message[:200]))
        try:
            payload = json.loads(message)
        except ValueError:
            return BotProtocolError("WebSocket frame is not JSON", message)
        if not isinstance(payload, dict):
            return BotProtocolError("WebSocket frame is not a JSON object", payload)
        try:
            activities = check_bot_activities(self.conversation_id, payload)
        except BotProtocolError as violation:
            return violation
        return Frame(received_at, since_post, activities, payload)

    # -- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the WebSocket, if any. Does not disconnect: tests decide how a call ends."""
        if self._socket is not None:
            self._socket.close()
        if self._reader is not None:
            self._reader.join(timeout=self.client.timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
