"""Amazon Bedrock's Converse API (``converse`` / ``converse_stream``), the only LLM module that uses boto3.

Shapes: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
(``messageStart``, ``contentBlockStart`` with ``toolUse``, ``contentBlockDelta`` with ``text`` or
``toolUse.input`` as JSON text, ``contentBlockStop``, ``messageStop`` with ``stopReason``,
``metadata`` with ``usage.inputTokens`` / ``outputTokens``). A Guardrail is applied through
``guardrailConfig`` (``guardrailIdentifier``, ``guardrailVersion``); its intervention ends the
stream with ``stopReason: guardrail_intervened``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from audiocodes_endpoint.adapters.aws import clients
from audiocodes_endpoint.config.llm import LlmSettings
from audiocodes_endpoint.features.llm.types import Finished, ModelError, ModelRequest, StreamEvent, TextDelta, ToolCall

if TYPE_CHECKING:
    from botocore.client import BaseClient


class BedrockProvider:
    def __init__(
        self,
        *,
        region: str | None = None,
        guardrail_id: str | None = None,
        guardrail_version: str = "DRAFT",
        client: BaseClient | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.region, self.guardrail_id, self.guardrail_version = region, guardrail_id, guardrail_version
        self._client, self._timeout = client, timeout_seconds

    @property
    def client(self) -> BaseClient:
        if self._client is None:
            # No retries: a caller is waiting, and the node has a fallback answer.
            self._client = clients.client(
                "bedrock-runtime",
                region_name=self.region,
                timeout_seconds=self._timeout,
                connect_timeout_seconds=min(self._timeout, 3.0),
            )
        return self._client

    def arguments(self, request: ModelRequest, *, streaming: bool) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "modelId": request.model,
            "messages": to_converse(request.messages),
            "inferenceConfig": {"maxTokens": request.max_tokens},
        }
        if request.system:
            arguments["system"] = [{"text": request.system}]
        if request.temperature is not None:
            arguments["inferenceConfig"]["temperature"] = request.temperature
        if request.tools:
            arguments["toolConfig"] = {
                "tools": [
                    {"toolSpec": {"name": t.name, "description": t.description, "inputSchema": {"json": t.parameters}}}
                    for t in request.tools
                ]
            }
        if self.guardrail_id:
            guardrail: dict[str, Any] = {
                "guardrailIdentifier": self.guardrail_id,
                "guardrailVersion": self.guardrail_version,
            }
            if streaming:
                guardrail["streamProcessingMode"] = "sync"  # checked before it is spoken
            arguments["guardrailConfig"] = guardrail
        return arguments

    def stream(self, request: ModelRequest) -> Iterator[StreamEvent]:
        from botocore.exceptions import BotoCoreError, ClientError

        if not request.stream:
            yield from self.complete(request)
            return
        try:
            answer = self.client.converse_stream(**self.arguments(request, streaming=True))
            yield from _events(answer["stream"])
        except (BotoCoreError, ClientError) as error:
            raise ModelError(f"bedrock: {type(error).__name__}: {error}") from error

    def complete(self, request: ModelRequest) -> list[StreamEvent]:
        """One ``converse`` call, as the events a stream would have given."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client.converse(**self.arguments(request, streaming=False))
        except (BotoCoreError, ClientError) as error:
            raise ModelError(f"bedrock: {type(error).__name__}: {error}") from error
        events: list[StreamEvent] = []
        for block in answer.get("output", {}).get("message", {}).get("content", []):
            if "text" in block:
                events.append(TextDelta(block["text"]))
            elif "toolUse" in block:
                use = block["toolUse"]
                events.append(ToolCall(use["toolUseId"], use["name"], dict(use.get("input") or {})))
        usage = answer.get("usage") or {}
        events.append(
            Finished(answer.get("stopReason", "end_turn"), usage.get("inputTokens", 0), usage.get("outputTokens", 0))
        )
        return events


STREAM_ERRORS = (
    "internalServerException",
    "modelStreamErrorException",
    "throttlingException",
    "validationException",
    "serviceUnavailableException",
)


def _events(stream: Any) -> Iterator[StreamEvent]:
    tools: dict[int, dict[str, Any]] = {}
    stop_reason = "end_turn"
    for event in stream:
        if "contentBlockStart" in event:
            _tool_started(event["contentBlockStart"], tools)
        elif "contentBlockDelta" in event:
            yield from _delta(event["contentBlockDelta"], tools)
        elif "contentBlockStop" in event:
            tool = tools.pop(event["contentBlockStop"]["contentBlockIndex"], None)
            if tool is not None:
                yield ToolCall(tool["id"], tool["name"], _arguments(tool["input"]))
        elif "messageStop" in event:
            stop_reason = event["messageStop"].get("stopReason", "end_turn")
        elif "metadata" in event:
            usage = event["metadata"].get("usage", {})
            yield Finished(stop_reason, usage.get("inputTokens", 0), usage.get("outputTokens", 0))
            return
        else:
            _raise_stream_error(event)
    yield Finished(stop_reason)


def _tool_started(start: dict[str, Any], tools: dict[int, dict[str, Any]]) -> None:
    use = start.get("start", {}).get("toolUse")
    if use:
        tools[start["contentBlockIndex"]] = {"id": use["toolUseId"], "name": use["name"], "input": ""}


def _delta(delta: dict[str, Any], tools: dict[int, dict[str, Any]]) -> Iterator[StreamEvent]:
    """Text goes out at once; a tool's input is gathered until its block stops."""
    if "text" in delta["delta"]:
        yield TextDelta(delta["delta"]["text"])
    elif "toolUse" in delta["delta"]:
        tools[delta["contentBlockIndex"]]["input"] += delta["delta"]["toolUse"].get("input", "")


def _raise_stream_error(event: dict[str, Any]) -> None:
    for name in STREAM_ERRORS:
        if name in event:
            raise ModelError(f"bedrock stream: {name}: {event[name].get('message', '')}")


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError as error:
        raise ModelError(f"tool input is not JSON: {error}") from error
    if not isinstance(value, dict):
        raise ModelError("tool input is not a JSON object")
    return value


def to_converse(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat messages as Converse messages: tool results become a user message of ``toolResult`` blocks."""
    converse: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role == "tool":
            block = {
                "toolResult": {
                    "toolUseId": message["tool_call_id"],
                    "content": [{"json": message["result"]}],
                    "status": "error" if message.get("error") else "success",
                }
            }
            if converse and converse[-1]["role"] == "user" and "toolResult" in converse[-1]["content"][0]:
                converse[-1]["content"].append(block)  # all results of one step in one message
            else:
                converse.append({"role": "user", "content": [block]})
            continue
        content: list[dict[str, Any]] = [{"text": message["content"]}] if message.get("content") else []
        for call in message.get("tool_calls") or []:
            content.append({"toolUse": {"toolUseId": call["id"], "name": call["name"], "input": call["arguments"]}})
        converse.append({"role": role, "content": content})
    return converse


def provider_for(settings: LlmSettings) -> BedrockProvider:
    """``provider: bedrock`` of an endpoint's ``llm:`` settings."""
    return BedrockProvider(
        region=settings.region or None,
        guardrail_id=settings.guardrail_id or None,
        guardrail_version=settings.guardrail_version,
        timeout_seconds=settings.timeout_seconds,
    )
