"""The browser phone and call inspector under ``make run``: ``/_phone`` (dev only, never deployed).

The page (``static/phone``: plain HTML, CSS and JavaScript, no build step) plays VoiceAI Connect
against the emulator's own bot URLs, same origin. Two things a browser cannot do are done here:

- a browser WebSocket cannot send ``Authorization: Bearer`` (VAIC does, reference 2.8), so
  :class:`SocketRelay` accepts the page's socket and opens the real one with the endpoint's local
  token, passing frames through unchanged in both directions;
- the inspector's JSON reads the local analytics table on moto through the runtime's own
  :class:`DynamoDBAnalyticsStore` and ``summarize`` (as ``make transcript`` / ``make summary`` do).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import mimetypes
import threading
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.sync.server import Server, ServerConnection, serve

from audiocodes_endpoint.features.analytics import AnalyticsStore, TurnRecord, summarize

from .http_front import Answer

PREFIX = "/_phone"
STATIC = Path(__file__).parent / "static" / "phone"
ANALYTICS_TABLE = "audiocodes-endpoint-local-AnalyticsTable"
JSON = ("Content-Type", "application/json")
NO_STORE = ("Cache-Control", "no-store")


class Host(Protocol):
    """What the page needs of the emulator (an Emulator, or a test's stand-in)."""

    tokens: dict[str, str]
    inject_keys: dict[str, str]

    @property
    def base_url(self) -> str: ...


def _json(status: int, body: Any) -> Answer:
    return status, [JSON, NO_STORE], json.dumps(body, ensure_ascii=False, default=str).encode()


def _error(status: int, error: str, message: str) -> Answer:
    return _json(status, {"error": error, "message": message})


class BrowserPhone:
    def __init__(self, host: Host, websocket_url: str, store: AnalyticsStore | None = None) -> None:
        self.host = host
        self.relay = SocketRelay(websocket_url, host.tokens)
        self._store = store

    @property
    def store(self) -> AnalyticsStore:
        if self._store is None:  # boto3 reaches moto only once the emulator has started it
            from audiocodes_endpoint.adapters.aws.analytics_store import DynamoDBAnalyticsStore

            self._store = DynamoDBAnalyticsStore(ANALYTICS_TABLE)
        return self._store

    def start(self) -> BrowserPhone:
        self.relay.start()
        return self

    def stop(self) -> None:
        self.relay.stop()

    def serve(self, method: str, path: str, query: str) -> Answer:
        if method not in ("GET", "HEAD"):
            return _error(405, "method_not_allowed", f"{PREFIX} answers GET only")
        parameters = {k: v[-1] for k, v in parse_qs(query).items()}
        rest = path.removeprefix(PREFIX).strip("/")
        if rest in ("", "inspector"):
            return self._file("index.html")
        if rest.startswith("static/"):
            return self._file(rest.removeprefix("static/"))
        if rest == "api/endpoints":
            return _json(200, self.endpoints())
        if rest == "api/calls":
            return self._calls(parameters.get("endpoint", ""))
        if rest == "api/transcript":
            return self._transcript(parameters.get("endpoint", ""), parameters.get("conversation", ""))
        return _error(404, "not_found", f"no {path}")

    def endpoints(self) -> dict[str, Any]:
        """Every endpoint of the running emulator, with what the page needs to call it (local secrets only)."""
        return {
            "relay": self.relay.url,
            "endpoints": [
                {
                    "urlToken": token_name,
                    "botUrl": f"{self.host.base_url}/{token_name}",
                    "token": token,
                    "injectKey": self.host.inject_keys.get(token_name),
                }
                for token_name, token in sorted(self.host.tokens.items())
            ],
        }

    def _file(self, name: str) -> Answer:
        target = (STATIC / name).resolve()
        if not target.is_relative_to(STATIC.resolve()) or not target.is_file():
            return _error(404, "not_found", f"no file {name}")
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return 200, [("Content-Type", f"{kind}; charset=utf-8"), NO_STORE], target.read_bytes()

    def _known(self, endpoint: str) -> Answer | None:
        if endpoint not in self.host.tokens:
            return _error(404, "unknown_endpoint", f"no endpoint {endpoint!r}")
        return None

    def _calls(self, endpoint: str) -> Answer:
        """The endpoint's summary, one row per call (newest first), and every turn for the chart."""
        if (unknown := self._known(endpoint)) is not None:
            return unknown
        turns = sorted(self.store.endpoint_turns(endpoint), key=lambda r: (r.started_at, r.turn))
        summary = summarize(endpoint, turns)
        return _json(
            200,
            {
                "summary": dataclasses.asdict(summary),
                "calls": calls_of(turns),
                "turns": [_point(record) for record in turns],
            },
        )

    def _transcript(self, endpoint: str, conversation: str) -> Answer:
        if (unknown := self._known(endpoint)) is not None:
            return unknown
        if not conversation:
            return _error(400, "missing_conversation", "give ?conversation=<id>")
        records = self.store.transcript(endpoint, conversation)
        return _json(200, {"turns": [dataclasses.asdict(record) for record in records]})


def calls_of(turns: list[TurnRecord]) -> list[dict[str, Any]]:
    """One row per conversation: when, how many turns, how it ended, its mean turn latency."""
    calls: dict[str, list[TurnRecord]] = {}
    for record in turns:
        calls.setdefault(record.conversation, []).append(record)
    rows = []
    for conversation, records in calls.items():
        latencies = [r.latency_ms for r in records if r.latency_ms]
        last = records[-1]
        rows.append(
            {
                "conversation": conversation,
                "startedAt": records[0].started_at,
                "turns": len(records),
                "outcome": last.outcome,
                "outcomeDetail": last.outcome_detail,
                "meanLatencyMs": round(sum(latencies) / len(latencies)) if latencies else 0,
                "intents": [r.intent for r in records if r.intent],
            }
        )
    return sorted(rows, key=lambda row: row["startedAt"], reverse=True)


def _point(record: TurnRecord) -> dict[str, Any]:
    return {
        "conversation": record.conversation,
        "turn": record.turn,
        "at": record.started_at,
        "latencyMs": record.latency_ms,
        "outcome": record.outcome,
    }


class SocketRelay:
    """ws://127.0.0.1:<port>/?endpoint=<url token>&target=<websocketURL>: the page's side of VAIC's socket.

    Only targets on the emulator's own WebSocket API are relayed, with that endpoint's local token.
    A refused upgrade closes the page's socket with 4000 + the HTTP status (e.g. 4401).
    """

    def __init__(self, websocket_url: str, tokens: dict[str, str]) -> None:
        self.websocket_url = websocket_url
        self.tokens = tokens
        self._server: Server | None = None
        self.url = ""

    def start(self, port: int = 0) -> SocketRelay:
        self._server = serve(self._relay, "127.0.0.1", port, compression=None)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"
        threading.Thread(target=self._server.serve_forever, name="phone-relay", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    def _relay(self, page: ServerConnection) -> None:
        request = page.request
        parameters = {k: v[-1] for k, v in parse_qs((request.path if request else "").partition("?")[2]).items()}
        endpoint, target = parameters.get("endpoint", ""), parameters.get("target", "")
        if endpoint not in self.tokens or urlsplit(target).netloc != urlsplit(self.websocket_url).netloc:
            page.close(4400, "unknown endpoint or a target outside the emulator")
            return
        try:
            bot = connect(target, additional_headers={"Authorization": f"Bearer {self.tokens[endpoint]}"})
        except InvalidStatus as refused:
            page.close(4000 + refused.response.status_code, "the bot refused the WebSocket")
            return
        except OSError:
            page.close(1011, "the bot's WebSocket is unreachable")
            return
        with bot:
            threading.Thread(target=_pump, args=(bot, page), daemon=True).start()
            _pump(page, bot)


def _pump(source: Any, sink: Any) -> None:
    """Frames from one socket to the other, unchanged; a close on either side closes both."""
    with contextlib.suppress(ConnectionClosed, OSError):
        for message in source:
            sink.send(message)
    with contextlib.suppress(Exception):
        sink.close(source.close_code or 1000, source.close_reason or "")
