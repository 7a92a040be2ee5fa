"""VAIC's load pattern for the bench: calls over plain ``http.client`` keep-alive connections.

The bench's load client shares this machine's two cores with what it measures (VAIC runs on its own
machines), so it must cost as little as it can: through httpx, as the phone simulator's
``VaicClient`` sends, the client took about 3.7 ms of CPU per turn, 15% of a whole turn's CPU, all
of it taken from the emulator and moto. Here a request is one ``http.client`` round trip on a
connection each load thread keeps, as VAIC keeps its connections to a bot (0.6 ms per turn).
The Bot API's parts (create answer, activities, checks) are ``vaic``'s own.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from audiocodes_devtools.vaic import check_bot_activities, parse_create_answer, stamp, start_activity

TURNS = 10
CALLER = "+4921154591991"


class LoadClient:
    """One keep-alive connection per thread to the emulator's HTTP front, with the bot's token."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._local = threading.local()

    def post(self, url: str, body: dict[str, Any]) -> Any:
        """POST JSON; the decoded answer, or ``RuntimeError`` for any status but 200."""
        connection = self._connection()
        try:
            connection.request("POST", urlsplit(url).path, json.dumps(body).encode(), self._headers)
            answer = connection.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException):
            self._local.connection = None  # a reset: the next request opens a new connection
            connection.close()
            raise
        if answer.status != 200:
            raise RuntimeError(f"HTTP {answer.status}")
        return json.loads(data)

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(*self._address, timeout=60)
        return connection

    def call(self, bot: str, turn_seconds: list[float]) -> int:
        """One VAIC call (create, `start`, 10 echo turns, disconnect); returns the requests made.

        Each turn's round trip goes into ``turn_seconds``; an answer that is not the echo raises.
        """
        bot_url = f"{self.base_url}/{bot}"
        conversation = str(uuid.uuid4())
        urls = parse_create_answer(bot_url, self.post(bot_url, stamp({"conversation": conversation})))
        turns = call_activities(conversation)
        for number, activity in enumerate(turns):
            started = time.perf_counter()
            answer = self.post(urls.activities_url, {"conversation": conversation, "activities": [stamp(activity)]})
            turn_seconds.append(time.perf_counter() - started)
            said = check_bot_activities(conversation, answer)
            if number and not (said and said[0].get("text") == f"You said turn {number - 1}"):
                raise AssertionError(f"turn {number - 1} was not echoed: {said}")
        self.post(urls.disconnect_url, disconnect_body(conversation))
        return len(turns) + 2


def call_activities(conversation: str) -> list[dict[str, Any]]:
    """A call's turns, unstamped: the `start` event, then 10 messages the echo flow repeats."""
    said = [{"type": "message", "text": f"turn {turn}", "parameters": {"confidence": 0.9}} for turn in range(TURNS)]
    return [start_activity(conversation, CALLER), *said]


def disconnect_body(conversation: str) -> dict[str, Any]:
    return {"conversation": conversation, "reasonCode": "client-disconnected", "reason": "Client Side"}
