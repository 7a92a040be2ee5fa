"""Generative AI nodes: ``llm`` (a prompt, a conversation, tools) and ``llm_extract`` (slots into context).

Cognigy's counterparts are the LLM Prompt node (which flushes streamed output to speech at sentence
ends), the AI Agent node with tools, and LLM Entity Extract (https://docs.cognigy.com/ai/build/node-reference/ai/).
In async mode an ``llm`` node sends each sentence as its own ``message`` the moment the model's stream
completes it (the turn pipeline pushes every output at once); in sync mode the answer is one message.
A model that fails, refuses or runs out of time or steps gives the fallback message, then ``on_error``
(or ``next``).
"""

from __future__ import annotations

import copy
import json
import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from audiocodes_endpoint.channel.audiocodes import message
from audiocodes_endpoint.config.llm import LlmSettings
from audiocodes_endpoint.features.llm.agent import Answer, Tool, answer
from audiocodes_endpoint.features.llm.types import ModelError, ModelRequest, ToolSpec, Usage
from audiocodes_endpoint.flows import extensions
from audiocodes_endpoint.flows.fields import DATA, ContextPath, NodeId, Text
from audiocodes_endpoint.flows.nodes.base import Linear, Problems, References
from audiocodes_endpoint.flows.nodes.code import FunctionReference
from audiocodes_endpoint.flows.nodes.http import HttpRequest
from audiocodes_endpoint.flows.paths import get_path, set_path
from audiocodes_endpoint.flows.steps import Next, Step
from audiocodes_endpoint.flows.turn import FlowError
from audiocodes_endpoint.observability import masking

if TYPE_CHECKING:
    from audiocodes_endpoint.features.llm.providers import LlmRuntime
    from audiocodes_endpoint.flows.runtime import Turn

HISTORY_KEY = "_llm_history"
"""Context key of the conversation threads (kept in the session with the rest of ``context``)."""
ToolName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
ProviderChoice = Literal["bedrock", "openai"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class ToolHttp(_Model):
    """An ``http`` node's request; the model's arguments are ``args`` in its templates."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = "GET"
    url: Text
    headers: dict[str, Text] = Field(default_factory=dict)
    query: dict[str, Text] = Field(default_factory=dict)
    body: Annotated[Any, DATA] = None
    timeout_seconds: float | None = Field(default=None, gt=0, le=60)


class LlmTool(_Model):
    """A tool the model may call: runs ``function`` or ``http``, or (``next``) continues the flow there."""

    name: ToolName
    description: str = Field(min_length=1, description="What the tool does and when to use it (the model reads it).")
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema of the arguments (an object).",
    )
    function: FunctionReference | None = Field(
        default=None, description="`module.function` in agent/extensions, called with `args`, `context`, ..."
    )
    http: ToolHttp | None = Field(default=None, description="An HTTP request; the result goes back to the model.")
    next: NodeId | None = Field(default=None, description="A branch tool: the flow continues at this node.")

    @model_validator(mode="after")
    def _one_action(self) -> LlmTool:
        if sum(x is not None for x in (self.function, self.http, self.next)) != 1:
            raise ValueError("a tool needs exactly one of function, http or next")
        if self.parameters.get("type", "object") != "object":
            raise ValueError("parameters must be a JSON Schema of type object")
        return self


class _ModelChoice(Linear):
    provider: ProviderChoice | None = Field(default=None, description="Overrides the endpoint's `llm.provider`.")
    model: str | None = Field(default=None, description="Overrides the endpoint's `llm.model`.")
    max_tokens: int | None = Field(default=None, ge=1, le=8192)
    temperature: float | None = Field(default=None, ge=0, le=2)
    timeout_seconds: float | None = Field(
        default=None, gt=0, le=60, description="The whole answer (tools included); capped by the endpoint's."
    )
    on_error: NodeId | None = Field(default=None, description="Where to go when the model fails or times out.")

    def _runtime(self, turn: Turn) -> LlmRuntime:
        if turn.options.llm is None:
            raise ModelError("no language model is configured for this endpoint (llm:)")
        return turn.options.llm

    def _request(self, turn: Turn, system: str, messages: list[dict[str, Any]], **more: Any) -> ModelRequest:
        settings = self._runtime(turn).settings
        timeout = min(self.timeout_seconds or settings.timeout_seconds, settings.timeout_seconds)
        return ModelRequest(
            model=self.model or settings.model,
            system=system,
            messages=messages,
            max_tokens=self.max_tokens or settings.max_tokens,
            temperature=self.temperature if self.temperature is not None else settings.temperature,
            timeout_seconds=timeout,
            **more,
        )

    def _failed(self, turn: Turn, error: Exception, fallback: str | None) -> Step:
        turn.result = {"error": str(error)}
        settings = turn.options.llm.settings if turn.options.llm else LlmSettings(provider="none")
        turn.send(message(fallback or settings.fallback_text))
        return Next(self.on_error or self.next)

    def _record(self, turn: Turn, usage: Usage) -> None:
        turn.count("llm_tokens_in", usage.tokens_in)
        turn.count("llm_tokens_out", usage.tokens_out)
        turn.count("llm_latency_ms", usage.latency_ms)

    def edges(self) -> list[tuple[str, str]]:
        edges = super().edges()
        return [*edges, ("on_error", self.on_error)] if self.on_error else edges


class Llm(_ModelChoice):
    """Ask a language model; speak its answer (sentence by sentence in async mode)."""

    type: Literal["llm"]
    system: Text = Field(default="", description="The system prompt; templates allowed.")
    prompt: Text = Field(default="{{ input.text }}", description="The user message; templates allowed.")
    history: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")] | None = Field(
        default="main",
        description="The conversation thread kept in the session (nodes sharing a name share it); null: none.",
    )
    tools: list[LlmTool] = Field(default_factory=list, description="Tools the model may call.")
    max_steps: int = Field(default=4, ge=1, le=20, description="Model calls per answer (each tool round is one).")
    speak: bool = Field(default=True, description="Send the answer to the caller (off: only `store` it).")
    fallback: Text | None = Field(default=None, description="Said when the model fails; default `llm.fallback_text`.")
    store: ContextPath | None = Field(default=None, description="Context path for the whole answer's text.")

    def run(self, turn: Turn) -> Step:
        try:
            runtime = self._runtime(turn)
        except ModelError as error:
            return self._failed(turn, error, turn.optional_text(self.fallback))
        settings = runtime.settings
        mask = masking.mask_phone_numbers if runtime.mask_prompts else (lambda text: text)
        prompt = mask(turn.text(self.prompt))
        history = _history(turn.context, self.history)
        request = self._request(
            turn,
            mask(turn.text(self.system)),  # templates may put caller data into it too
            [*history, {"role": "user", "content": prompt}],
            tools=tuple(ToolSpec(t.name, t.description, t.parameters) for t in self.tools),
        )
        usage = Usage()

        def speak(sentence: str) -> None:
            turn.send(message(sentence))

        streaming = runtime.streaming and self.speak
        try:
            result = answer(
                runtime.provider(self.provider),
                request,
                {t.name: Tool(spec, self._action(turn, t)) for t, spec in zip(self.tools, request.tools, strict=True)},
                on_sentence=speak if streaming else None,
                min_sentence_chars=settings.min_sentence_chars,
                max_steps=self.max_steps,
                usage=usage,
            )
        except ModelError as error:
            self._record(turn, usage)
            return self._failed(turn, error, turn.optional_text(self.fallback))
        self._record(turn, usage)
        if self.speak and not streaming and result.text:
            turn.send(message(result.text))
        if self.history:
            _remember(turn.context, self.history, prompt, result.text, settings.history_turns, settings.history_chars)
        if self.store:
            set_path(turn.context, self.store, result.text)
        return self._continue(turn, result)

    def _continue(self, turn: Turn, result: Answer) -> Step:
        chosen = result.chosen
        turn.result = {
            "text": result.text,
            "tool": chosen.name if chosen else None,
            "arguments": chosen.arguments if chosen else None,
        }
        if chosen is not None:
            target = next(t.next for t in self.tools if t.name == chosen.name)
            return Next(target)
        return Next(self.next)

    def _action(self, turn: Turn, tool: LlmTool) -> Any:
        if tool.next is not None:
            return None
        if tool.http is not None:
            http = tool.http
            return lambda arguments, seconds: _http_tool(turn, http, arguments, seconds)
        reference = tool.function
        return lambda arguments, seconds: _function_tool(turn, reference, arguments, seconds)

    def edges(self) -> list[tuple[str, str]]:
        return [*super().edges(), *((f"tools.{t.name}", t.next) for t in self.tools if t.next)]

    def check(self, refs: References) -> Problems:
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            yield "tools", "tool names must be unique"
        for index, tool in enumerate(self.tools):
            if tool.function:
                problem = refs.function_problem(tool.function)
                if problem:
                    yield f"tools.{index}.function", problem

    def summary(self) -> str:
        return self.prompt


def _function_tool(turn: Turn, reference: str | None, arguments: dict[str, Any], seconds: float) -> Any:
    function = turn.extensions.resolve(reference or "")
    if function is None:
        raise FlowError(f"no extension function {reference!r}")
    context = copy.deepcopy(turn.context)
    available = {
        "args": arguments,
        "context": context,
        "input": copy.deepcopy(turn.input_data),
        "variables": dict(turn.options.variables),
    }
    limit = min(seconds, turn.options.code_timeout_seconds)
    value = extensions.call(function, available, limit)
    turn.context = context  # like a code node: changes made in place are kept when the call succeeds
    json.dumps(value)  # a result the model cannot read is an error (it goes back to the model as one)
    return value


def _http_tool(turn: Turn, http: ToolHttp, arguments: dict[str, Any], seconds: float) -> Any:
    node = HttpRequest(type="http", **http.model_dump(), store=None)
    node = node.model_copy(update={"timeout_seconds": min(http.timeout_seconds or seconds, seconds)})
    turn.args = arguments
    try:
        result = node.fetch(turn)
    finally:
        turn.args = None
    return {key: result.get(key) for key in ("status", "ok", "body", "error") if key in result}


def _history(context: dict[str, Any], thread: str | None) -> list[dict[str, Any]]:
    if not thread:
        return []
    threads = context.get(HISTORY_KEY)
    found = threads.get(thread) if isinstance(threads, dict) else None
    return [m for m in found if isinstance(m, dict) and m.get("role") in ("user", "assistant")] if found else []


def _remember(context: dict[str, Any], thread: str, said: str, answered: str, turns: int, chars: int) -> None:
    """Append the exchange; keep the last ``turns`` exchanges and at most ``chars`` characters."""
    threads = context.setdefault(HISTORY_KEY, {})
    messages = [
        *_history(context, thread),
        {"role": "user", "content": said},
        {"role": "assistant", "content": answered},
    ]
    messages = messages[-2 * turns :] if turns else []
    while messages and sum(len(m["content"]) for m in messages) > chars:
        messages = messages[2:]  # the oldest exchange first; user/assistant stay paired
    threads[thread] = messages


class LlmExtract(_ModelChoice):
    """Fill slots (each a JSON Schema) from the caller's words into ``context``."""

    type: Literal["llm_extract"]
    text: Text = Field(default="{{ input.text }}", description="What to extract from; templates allowed.")
    slots: dict[ToolName, dict[str, Any]] = Field(
        min_length=1, description="Slot name -> JSON Schema of its value, e.g. `{type: string, description: ...}`."
    )
    instructions: Text | None = Field(default=None, description="More guidance for the model.")
    store: ContextPath = Field(default="slots", description="Context path; each found slot is set under it.")
    required: list[ToolName] = Field(default_factory=list, description="Slots that must be filled.")
    on_missing: NodeId | None = Field(default=None, description="Where to go when a required slot is still empty.")

    def run(self, turn: Turn) -> Step:
        try:
            runtime = self._runtime(turn)
            mask = masking.mask_phone_numbers if runtime.mask_prompts else (lambda text: text)
            schema = {"type": "object", "properties": self.slots}
            system = (
                "Extract values from the user's message. Answer with one JSON object only, no prose, "
                "with exactly these keys; use null for anything the user did not say.\n"
                f"JSON Schema: {json.dumps(schema)}"
            )
            if self.instructions:
                system += "\n" + mask(turn.text(self.instructions))
            request = self._request(
                turn, system, [{"role": "user", "content": mask(turn.text(self.text))}], json_output=True
            )
            usage = Usage()
            result = answer(runtime.provider(self.provider), request, {}, max_steps=1, usage=usage)
            self._record(turn, usage)
            found = parse_slots(result.text, self.slots)
        except ModelError as error:
            turn.result = {"error": str(error)}
            return Next(self.on_error or self.next)
        for name, value in found.items():
            set_path(turn.context, f"{self.store}.{name}", value)
        turn.result = found
        stored = get_path(turn.context, self.store) or {}
        if self.on_missing and any(stored.get(name) is None for name in self.required):
            return Next(self.on_missing)
        return Next(self.next)

    def edges(self) -> list[tuple[str, str]]:
        edges = super().edges()
        return [*edges, ("on_missing", self.on_missing)] if self.on_missing else edges

    def check(self, refs: References) -> Problems:
        for name in self.required:
            if name not in self.slots:
                yield "required", f"{name!r} is not a declared slot"

    def summary(self) -> str:
        return ", ".join(self.slots)


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def parse_slots(text: str, slots: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The declared slots found in the model's JSON answer, each checked against its schema's
    ``type`` and ``enum`` (a value that does not fit is dropped: the flow asks again)."""
    match = re.search(r"\{.*\}", text, re.DOTALL)  # models wrap JSON in prose or ``` fences
    if match is None:
        raise ModelError("the model's answer has no JSON object")
    try:
        data = json.loads(match.group())
    except ValueError as error:
        raise ModelError(f"the model's answer is not JSON: {error}") from error
    found: dict[str, Any] = {}
    for name, schema in slots.items():
        value = data.get(name) if isinstance(data, dict) else None
        if value is None or value == "":
            continue
        expected = _TYPES.get(str(schema.get("type", "")))
        if expected and (not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected)):
            continue
        if "enum" in schema and value not in schema["enum"]:
            continue
        found[name] = value
    return found
