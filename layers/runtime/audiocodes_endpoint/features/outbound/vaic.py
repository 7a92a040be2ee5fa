"""VAIC's dial-out API: an OAuth 2.0 client-credentials token (or Basic auth), then the dial-out POST.

Sources: VoiceAI Connect ``outbound-calling.htm`` (REST dial-out with OAuth client credentials,
``notifyUrl``); Live Hub ``Make_an_outbound_call.htm`` (``POST /api/v1/actions/dialout`` with
``bot``, ``target``, ``caller``, ``notifyUrl``; Basic auth with the API client's id and secret).
The answer's ``conversationId`` names the call in VAIC (as in AudioCodes' public samples).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

DIALOUT_PATH = "/api/v1/actions/dialout"
TIMEOUT_SECONDS = 10.0


class DialoutFailed(Exception):
    """VAIC did not accept the call (its token or dial-out API answered an error, or was unreachable)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Credentials:
    api_url: str
    auth: str  # "oauth" | "basic"
    token_url: str | None
    client_id: str
    client_secret: str


_tokens: dict[tuple[str, str], tuple[str, float]] = {}
_lock = threading.Lock()
_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _client
    if _client is None:
        import httpx

        _client = httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False)
    return _client


def reset() -> None:
    """Forget pooled connections and tokens (SnapStart restore, tests)."""
    global _client
    with _lock:
        _tokens.clear()
    _client = None


def _bearer(credentials: Credentials, now: float) -> str:
    """A cached client-credentials token, fetched anew 30 s before it expires."""
    assert credentials.token_url is not None
    key = (credentials.token_url, credentials.client_id)
    with _lock:
        cached = _tokens.get(key)
    if cached is not None and cached[1] > now:
        return cached[0]
    answer = _post(
        credentials.token_url,
        data={"grant_type": "client_credentials"},
        auth=(credentials.client_id, credentials.client_secret),
        what="token",
    )
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise DialoutFailed("token endpoint answered no access_token")
    lifetime = answer.get("expires_in")
    expires = now + (float(lifetime) if isinstance(lifetime, int | float) else 300.0) - 30.0
    with _lock:
        _tokens[key] = (token, expires)
    return token


def dial(credentials: Credentials, request: dict[str, Any], clock: Any = time.time) -> str:
    """POST the dial-out request; VAIC's ``conversationId`` for the call."""
    url = credentials.api_url.rstrip("/") + DIALOUT_PATH
    if credentials.auth == "oauth":
        headers = {"Authorization": f"Bearer {_bearer(credentials, clock())}"}
        answer = _post(url, json=request, headers=headers, what="dial-out")
    else:
        answer = _post(url, json=request, auth=(credentials.client_id, credentials.client_secret), what="dial-out")
    conversation = answer.get("conversationId")
    return conversation if isinstance(conversation, str) else ""


def _post(url: str, *, what: str, **options: Any) -> dict[str, Any]:
    import httpx

    try:
        response = _http().post(url, **options)
    except httpx.HTTPError as error:
        raise DialoutFailed(f"{what} unreachable: {type(error).__name__}") from None
    if response.status_code >= 400:
        raise DialoutFailed(f"{what} answered HTTP {response.status_code}")
    try:
        document = response.json() if response.content else {}
    except ValueError:
        raise DialoutFailed(f"{what} answered a body that is not JSON") from None
    return document if isinstance(document, dict) else {}
