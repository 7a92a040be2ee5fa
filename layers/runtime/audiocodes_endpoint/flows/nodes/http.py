"""The HTTP request node: call an API, keep the result in context, route errors to a branch.

The result stored at ``store`` is ``{status, ok, headers, body}`` (``body`` parsed when the response
is JSON) or, when no response arrived, ``{status: null, ok: false, error}``. Transport errors,
timeouts, refused addresses and statuses >= 400 go to ``on_error``; without ``on_error`` they fail
the turn. Redirects are not followed (a redirect could lead to an address the guard refused).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from audiocodes_endpoint.channel.decoding import Refused, loads
from audiocodes_endpoint.flows.fields import DATA, ContextPath, NodeId, Text
from audiocodes_endpoint.flows.netguard import BlockedAddress, resolve
from audiocodes_endpoint.flows.nodes.base import Linear
from audiocodes_endpoint.flows.paths import set_path
from audiocodes_endpoint.flows.steps import Next, Step
from audiocodes_endpoint.flows.turn import DeadlineExceeded, FlowError

if TYPE_CHECKING:
    import httpx

    from audiocodes_endpoint.flows.runtime import Turn

MAX_RESPONSE_BYTES = 1_048_576
_client: httpx.Client | None = None
_client_lock = threading.Lock()


def reset_shared_client() -> None:
    """Open the shared client anew (at init, and after a SnapStart restore: no pooled sockets survive)."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = None
    _shared_client()


def _shared_client() -> httpx.Client:
    """One client per process: building an SSL context costs tens of ms, and pooled connections
    survive between turns of a warm Lambda. httpx is imported here, not at module import."""
    global _client
    with _client_lock:
        if _client is None:
            import httpx

            _client = httpx.Client(follow_redirects=False, trust_env=False)
        return _client


class HttpRequest(Linear):
    type: Literal["http"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: Text = Field(description="Absolute http(s) URL; templates allowed.")
    headers: dict[str, Text] = Field(default_factory=dict, description="Request headers; templates allowed.")
    query: dict[str, Text] = Field(default_factory=dict, description="Query parameters, URL-encoded for you.")
    body: Annotated[Any, DATA] = Field(default=None, description="JSON body; templates allowed.")
    timeout_seconds: float | None = Field(
        default=None, gt=0, le=60, description="Per-request timeout (capped by the endpoint's setting)."
    )
    store: ContextPath | None = Field(default=None, description="Context path for `{status, ok, headers, body}`.")
    on_error: NodeId | None = Field(default=None, description="Where to go on a failed request or status >= 400.")

    def run(self, turn: Turn) -> Step:
        result = self.fetch(turn)
        if self.store:
            set_path(turn.context, self.store, result)
        turn.result = result
        if result["ok"]:
            return Next(self.next)
        if self.on_error:
            return Next(self.on_error)
        raise FlowError(f"HTTP {self.method} failed: {result.get('error') or result['status']}")

    def fetch(self, turn: Turn) -> dict[str, Any]:
        import httpx

        url = turn.text(self.url).strip()
        headers = {name: turn.text(value) for name, value in self.headers.items()}
        query = {name: turn.text(value) for name, value in self.query.items()}
        body = turn.data(self.body)
        timeout = min(self.timeout_seconds or turn.options.http_timeout_seconds, turn.options.http_timeout_seconds)
        remaining = turn.options.remaining()
        capped = remaining is not None and remaining < timeout  # the request's deadline comes first
        timeout = min(timeout, remaining) if remaining is not None else timeout
        try:
            target = resolve(url, allow_private_network=turn.options.allow_private_network)
        except BlockedAddress as error:
            return {"status": None, "ok": False, "error": str(error)}
        if target.host_header:
            headers["Host"] = target.host_header
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else None
        try:
            request = _shared_client().build_request(
                self.method,
                target.url,
                headers=headers,
                params=query or None,
                json=body if body is not None else None,
                timeout=timeout,
                extensions=extensions,
            )
            response = _shared_client().send(request, stream=True)
            try:
                raw = _read_limited(response)
            finally:
                response.close()
        except httpx.TimeoutException:
            if capped:
                raise DeadlineExceeded(f"HTTP {self.method} cut off by the request's deadline") from None
            return {"status": None, "ok": False, "error": f"timed out after {timeout:g} s"}
        except (httpx.HTTPError, ValueError) as error:
            return {"status": None, "ok": False, "error": f"{type(error).__name__}: {error}"}
        result: dict[str, Any] = {
            "status": response.status_code,
            "ok": response.status_code < 400,
            "headers": {k.lower(): v for k, v in response.headers.items()},
            "body": _decode(raw, response.headers.get("content-type", "")),
        }
        if not result["ok"]:
            result["error"] = f"HTTP {response.status_code}"
        return result

    def edges(self) -> list[tuple[str, str]]:
        edges = super().edges()
        return [*edges, ("on_error", self.on_error)] if self.on_error else edges

    def summary(self) -> str:
        return f"{self.method} {self.url}"


def _read_limited(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ValueError(f"response larger than {MAX_RESPONSE_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes, content_type: str) -> Any:
    """JSON when it decodes as the endpoint's own doors would take it (``decoding.loads``: no lone
    surrogates, bounded depth and numbers), else the text: a session must be able to store it."""
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type.lower() and text.strip():
        try:
            return loads(text)
        except Refused:
            return text
    return text
