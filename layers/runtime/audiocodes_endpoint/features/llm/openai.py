"""Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, llama.cpp, Ollama, LiteLLM, ...).

``POST {base_url}/chat/completions`` with ``stream: true``; the answer is server-sent events, one
``data: {chunk}`` per line and ``data: [DONE]`` at the end (OpenAI API reference, "Chat Completions
streaming": ``choices[0].delta.content``, ``delta.tool_calls[].index/id/function.name/arguments``,
``finish_reason``; ``stream_options.include_usage`` adds a last chunk with ``usage.prompt_tokens``
and ``completion_tokens``). httpx streams the lines; no SDK is needed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from audiocodes_endpoint.features.llm.types import Finished, ModelError, ModelRequest, StreamEvent, TextDelta, ToolCall

if TYPE_CHECKING:
    import httpx

_client: httpx.Client | None = None
_lock = threading.Lock()


def _shared_client() -> httpx.Client:
    """Pooled connections survive between turns of a warm Lambda (a TLS handshake per answer is slow)."""
    global _client
    with _lock:
        if _client is None:
            import httpx

            _client = httpx.Client(follow_redirects=False, trust_env=False)
        return _client


def reset_shared_client() -> None:
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None


class OpenAiProvider:
    def __init__(self, *, base_url: str, api_key: str | Callable[[], str | None] | None = None) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key
        """The key, or a function that gives it (a secret reference, resolved per call through its cache)."""

    def body(self, request: ModelRequest) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}] if request.system else []
        messages += [_to_openai(message) for message in request.messages]
        body: dict[str, Any] = {
            "model": request.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.tools:
            body["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
                }
                for t in request.tools
            ]
        if request.json_output:
            body["response_format"] = {"type": "json_object"}
        return body

    def stream(self, request: ModelRequest) -> Iterator[StreamEvent]:
        import httpx

        headers = {"Accept": "text/event-stream"}
        api_key = self.api_key() if callable(self.api_key) else self.api_key
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        try:
            with _shared_client().stream(
                "POST", self.url, json=self.body(request), headers=headers, timeout=request.timeout_seconds
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ModelError(f"openai-compatible: HTTP {response.status_code}: {response.text[:200]}")
                yield from _events(response.iter_lines())
        except httpx.TimeoutException as error:
            raise ModelError(f"openai-compatible: timed out: {type(error).__name__}") from error
        except httpx.HTTPError as error:
            raise ModelError(f"openai-compatible: {type(error).__name__}: {error}") from error


def _events(lines: Iterator[str]) -> Iterator[StreamEvent]:
    tools: dict[int, dict[str, Any]] = {}
    stop_reason, tokens_in, tokens_out = "stop", 0, 0
    for chunk in _chunks(lines):
        usage = chunk.get("usage") or {}
        tokens_in = usage.get("prompt_tokens", tokens_in)
        tokens_out = usage.get("completion_tokens", tokens_out)
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                yield TextDelta(delta["content"])
            _gather_tool_calls(delta.get("tool_calls") or [], tools)
            if choice.get("finish_reason"):
                stop_reason = choice["finish_reason"]
    yield from _tool_calls(tools)
    yield Finished(stop_reason, tokens_in, tokens_out)


def _chunks(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The JSON chunks of a server-sent event stream, up to ``[DONE]``; an error chunk raises."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # comments (": keep-alive"), event names, blank separators
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            chunk: dict[str, Any] = json.loads(data)
        except ValueError as error:
            raise ModelError(f"openai-compatible: a stream line is not JSON: {error}") from error
        if chunk.get("error"):
            raise ModelError(f"openai-compatible: {chunk['error']}")
        yield chunk


def _gather_tool_calls(calls: list[dict[str, Any]], tools: dict[int, dict[str, Any]]) -> None:
    """A tool call streams in pieces (its id, name and arguments split over chunks), keyed by index."""
    for call in calls:
        tool = tools.setdefault(call.get("index", 0), {"id": "", "name": "", "arguments": ""})
        function = call.get("function") or {}
        tool["id"] = call.get("id") or tool["id"]
        tool["name"] += function.get("name") or ""
        tool["arguments"] += function.get("arguments") or ""


def _tool_calls(tools: dict[int, dict[str, Any]]) -> Iterator[ToolCall]:
    for index in sorted(tools):
        tool = tools[index]
        try:
            arguments = json.loads(tool["arguments"]) if tool["arguments"].strip() else {}
        except ValueError as error:
            raise ModelError(f"openai-compatible: tool arguments are not JSON: {error}") from error
        yield ToolCall(tool["id"] or f"call_{index}", tool["name"], arguments if isinstance(arguments, dict) else {})


def _to_openai(message: dict[str, Any]) -> dict[str, Any]:
    if message["role"] == "tool":
        return {"role": "tool", "tool_call_id": message["tool_call_id"], "content": json.dumps(message["result"])}
    converted: dict[str, Any] = {"role": message["role"], "content": message.get("content") or ""}
    if message.get("tool_calls"):
        converted["tool_calls"] = [
            {
                "id": c["id"],
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
            }
            for c in message["tool_calls"]
        ]
    return converted
