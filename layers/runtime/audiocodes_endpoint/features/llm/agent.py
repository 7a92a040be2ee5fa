"""One model answer, with tools: stream, speak sentences as they complete, run tools, repeat.

The loop ends when the model answers without a tool call, when it chooses a *branch* tool (one
that continues the flow elsewhere, e.g. ``transfer_to_agent``), or when the step or time budget is
spent (then :class:`ModelError`, and the node speaks its fallback).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from audiocodes_endpoint.features.llm.sentences import SentenceSplitter
from audiocodes_endpoint.features.llm.types import (
    Finished,
    ModelError,
    ModelRequest,
    Provider,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    run: Callable[[dict[str, Any], float], Any] | None = None
    """Called with the model's arguments and the seconds left; ``None``: a branch tool."""


@dataclass
class Answer:
    text: str
    chosen: ToolCall | None = None
    """The branch tool the model chose, if any."""
    steps: int = 0
    tool_calls: list[str] = field(default_factory=list)


def answer(
    provider: Provider,
    request: ModelRequest,
    tools: dict[str, Tool],
    *,
    on_sentence: Callable[[str], None] | None = None,
    min_sentence_chars: int = 20,
    max_steps: int = 4,
    usage: Usage | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Answer:
    """Run the model until it answers. ``on_sentence`` gets each sentence the moment it is complete."""
    deadline = clock() + request.timeout_seconds
    messages = list(request.messages)
    usage = usage if usage is not None else Usage()
    spoken: list[str] = []
    result = Answer("")
    for step in range(1, max_steps + 1):
        left = deadline - clock()
        if left <= 0:
            raise ModelError(f"no answer within {request.timeout_seconds:g} s")
        asked = replace(request, messages=messages, timeout_seconds=left, stream=on_sentence is not None)
        text, calls = _one_call(
            provider, asked, on_sentence, min_sentence_chars, usage, clock, deadline, request.timeout_seconds
        )
        if text.strip():
            spoken.append(text.strip())
        result.steps = step
        chosen = next((call for call in calls if call.name in tools and tools[call.name].run is None), None)
        if not calls or chosen is not None:
            result.text, result.chosen = "\n".join(spoken), chosen
            return result
        messages.append(
            {
                "role": "assistant",
                "content": text,
                "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls],
            }
        )
        for call in calls:
            result.tool_calls.append(call.name)
            messages.append(_run_tool(tools.get(call.name), call, max(deadline - clock(), 0.001)))
    raise ModelError(f"no answer within {max_steps} model calls (tool step budget)")


def _one_call(
    provider: Provider,
    asked: ModelRequest,
    on_sentence: Callable[[str], None] | None,
    min_sentence_chars: int,
    usage: Usage,
    clock: Callable[[], float],
    deadline: float,
    budget: float,
) -> tuple[str, list[ToolCall]]:
    """One model call streamed: its text (each sentence to ``on_sentence`` as it completes) and the
    tools it asked for; its usage added to ``usage``."""
    splitter = SentenceSplitter(min_sentence_chars)
    calls: list[ToolCall] = []
    text, started = "", clock()
    for event in _guarded(provider.stream(asked)):
        if isinstance(event, TextDelta):
            text += event.text
            for sentence in splitter.feed(event.text) if on_sentence else ():
                on_sentence(sentence)  # type: ignore[misc]  # guarded by the condition above
        elif isinstance(event, ToolCall):
            calls.append(event)
        elif isinstance(event, Finished):
            usage.add(event, int((clock() - started) * 1000))
        if clock() > deadline:
            raise ModelError(f"no answer within {budget:g} s")
    rest = splitter.flush()
    if rest and on_sentence:
        on_sentence(rest)
    return text, calls


def _guarded(events: Iterator[StreamEvent]) -> Iterator[StreamEvent]:
    """The provider's events; anything it raises is a ModelError (the fallback, not a failed call).
    What the loop's own callbacks raise (a failed push) passes through untouched."""
    while True:
        try:
            event = next(events)
        except StopIteration:
            return
        except ModelError:
            raise
        except Exception as error:  # a transport or parsing error the provider did not foresee
            raise ModelError(f"{type(error).__name__}: {error}") from error
        yield event


def _run_tool(tool: Tool | None, call: ToolCall, seconds_left: float) -> dict[str, Any]:
    """The tool's result as a ``role: tool`` message; a failure goes back to the model as an error."""
    message: dict[str, Any] = {"role": "tool", "tool_call_id": call.id, "name": call.name}
    if tool is None or tool.run is None:
        return {**message, "result": {"error": f"unknown tool {call.name!r}"}, "error": True}
    try:
        value = tool.run(call.arguments, seconds_left)
    except Exception as error:  # the model may recover (ask again, apologise)
        return {**message, "result": {"error": f"{type(error).__name__}: {error}"}, "error": True}
    # Converse wants a JSON object as a tool result; a bare value is wrapped.
    return {**message, "result": value if isinstance(value, dict) else {"result": value}}
