"""Transformer functions: the agent owner's Python hooks around a turn (Cognigy's endpoint transformers).

An endpoint names one module in ``agent/extensions/`` and enables each hook separately. Every hook is
a plain function with keyword-only arguments; it may declare only the ones it needs::

    def handle_input(*, payload: dict, endpoint: dict, storage: dict) -> dict | None
        # payload = {"userId", "sessionId", "text", "data"}; before NLU and the flow.
        # Return a dict with any of those keys (a missing or None key keeps the original value),
        # or None/False to drop the input (the flow does not run).
    def handle_output(*, output: dict, endpoint: dict, userId: str, sessionId: str, storage: dict) -> dict | None
        # output = one AudioCodes activity as wire JSON; return it (changed or not), or None to drop it.
    def handle_execution_finished(*, outputs: list[dict], endpoint: dict, userId: str, sessionId: str,
                                  storage: dict) -> list[dict] | None
        # all activities of the turn (sync mode); return the list to send, or None to send nothing.
    def handle_inject(*, body: Any, headers: dict, raw_body: str | None, endpoint: dict) -> dict | None
    def handle_notify(*, body: Any, headers: dict, raw_body: str | None, endpoint: dict) -> dict | None
        # body = the JSON a third party POSTed to /inject/{URLToken} or /notify/{URLToken}; headers
        # (lower-case names) and raw_body let a hook check a webhook signature.
        # Return {"sessionId", "userId"?, "text"?, "data"?} (text or data) or None to ignore it.

``storage`` is a dict that lasts for the call (the conversation keeps it in the session): change it in
place. It must stay JSON-serialisable and under :data:`MAX_STORAGE_BYTES`; a change is kept only when
the hook succeeds. ``endpoint`` is a fresh copy of the endpoint's description for every call.

Each call runs in a worker thread with ``timeout_seconds`` (Cognigy: 5 s). A timeout, an exception or
an invalid return value is an error: it is logged with the hook, the error type and the line in the
extension (never the caller's data) and the original value is kept; with ``abort_on_error`` a
:class:`TransformerError` is raised instead. Inject/notify have no original to keep, so their errors
always raise.
"""

from __future__ import annotations

import copy
import json
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator, model_validator

from audiocodes_endpoint.channel.audiocodes import Activity
from audiocodes_endpoint.config.transformers import Hook, TransformerSettings
from audiocodes_endpoint.config.validation import problems
from audiocodes_endpoint.flows.extensions import CodeTimeout, Extensions, call, errors_of
from audiocodes_endpoint.observability import count, logger

if TYPE_CHECKING:
    from collections.abc import Callable

    from audiocodes_endpoint.config.endpoint import EndpointSettings

MAX_ID_CHARS = 256
MAX_TEXT_CHARS = 10_000
MAX_STORAGE_BYTES = 16 * 1024


Identifier = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]


class TransformerInput(BaseModel):
    """What ``handle_input`` sees and returns, and what inject/notify hooks produce."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    userId: Identifier | None = None
    sessionId: Identifier
    text: Text | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def as_payload(self) -> dict[str, Any]:
        return self.model_dump()


class _InputChange(BaseModel):
    """A hook's answer: every key optional (``None`` keeps the original), unknown keys refused."""

    model_config = ConfigDict(extra="forbid")

    userId: Identifier | None = None
    sessionId: Identifier | None = None
    text: Text | None = None
    data: dict[str, Any] | None = None

    @field_validator("data")
    @classmethod
    def _json(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # The input lands in the session (JSON); catch a datetime or a set here, not at save time.
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ValueError("must be JSON-serialisable") from None
        return value


class _Injected(_InputChange):
    sessionId: Identifier

    @model_validator(mode="after")
    def _text_or_data(self) -> _Injected:
        if self.text is None and self.data is None:
            raise ValueError("text or data is required")
        return self


class TransformerError(Exception):
    """A transformer failed and the endpoint aborts on errors (or inject/notify had nothing to keep)."""

    def __init__(self, hook: str, reason: str) -> None:
        super().__init__(f"{hook}: {reason}")
        self.hook = hook
        self.reason = reason


class _Invalid(Exception):
    """The hook returned something we cannot use; the message names fields, never values."""


def endpoint_object(settings: EndpointSettings) -> dict[str, Any]:
    """The ``endpoint`` argument hooks receive (a subset of Cognigy's endpoint object)."""
    return {
        "name": settings.name,
        "URLToken": settings.url_token,
        "flow": settings.flow,
        "channel": "audiocodes",
        "asyncMode": settings.async_mode,
    }


@dataclass
class Transformers:
    """The enabled hooks of one endpoint. Build once per process with :meth:`load` and keep it."""

    settings: TransformerSettings
    endpoint: Mapping[str, Any] = field(default_factory=dict)
    functions: dict[str, Callable[..., Any]] = field(default_factory=dict)

    @classmethod
    def load(
        cls, settings: TransformerSettings, agent_dir: Path, endpoint: Mapping[str, Any] | None = None
    ) -> Transformers:
        """Import the module and check every enabled hook exists; :class:`TransformerError` if not."""
        functions: dict[str, Callable[..., Any]] = {}
        if settings.module is not None and settings.enabled_hooks:
            extensions, errors = Extensions.load(agent_dir / "extensions")
            if settings.module not in extensions.modules:
                own = errors_of(errors, settings.module)
                raise TransformerError("load", "; ".join(own) or f"no module agent/extensions/{settings.module}.py")
            for hook in settings.enabled_hooks:
                function = extensions.resolve(f"{settings.module}.{hook}")
                if function is None:
                    raise TransformerError("load", f"agent/extensions/{settings.module}.py has no function {hook}")
                functions[hook] = function
        return cls(settings=settings, endpoint=dict(endpoint or {}), functions=functions)

    def enabled(self, hook: Hook) -> bool:
        return hook in self.functions

    # --- hooks ---------------------------------------------------------------------------------

    def handle_input(self, payload: TransformerInput, storage: dict[str, Any]) -> TransformerInput | None:
        """The input to run (maybe changed), or ``None`` when the hook dropped it."""
        if not self.enabled("handle_input"):
            return payload

        def check(value: Any) -> TransformerInput | None:
            change = _change(value, _InputChange)
            if change is None:
                return None
            return payload.model_copy(update=change.model_dump(exclude_none=True))

        return self._run("handle_input", check, payload, storage, payload=payload.as_payload())

    def handle_output(
        self, output: dict[str, Any], *, userId: str, sessionId: str, storage: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The activity to send (maybe changed), or ``None`` when the hook dropped it."""
        if not self.enabled("handle_output"):
            return output
        return self._run(
            "handle_output", _activity_or_none, output, storage, output=output, userId=userId, sessionId=sessionId
        )

    def handle_execution_finished(
        self, outputs: list[dict[str, Any]], *, userId: str, sessionId: str, storage: dict[str, Any]
    ) -> list[dict[str, Any]] | None:
        """The turn's activities to send, or ``None`` when the hook wants nothing sent."""
        if not self.enabled("handle_execution_finished"):
            return outputs
        return self._run(
            "handle_execution_finished",
            _activities_or_none,
            outputs,
            storage,
            outputs=outputs,
            userId=userId,
            sessionId=sessionId,
        )

    def handle_inject(
        self, body: Any, headers: Mapping[str, str] | None = None, raw_body: str | None = None
    ) -> TransformerInput | None:
        """What to inject (``sessionId`` names the conversation), or ``None`` when the hook ignores the body."""
        return self._external("handle_inject", body, headers, raw_body)

    def handle_notify(
        self, body: Any, headers: Mapping[str, str] | None = None, raw_body: str | None = None
    ) -> TransformerInput | None:
        """What to say to the caller directly, or ``None`` when the hook ignores the body."""
        return self._external("handle_notify", body, headers, raw_body)

    # --- machinery ---------------------------------------------------------------------------------

    def _external(
        self, hook: Hook, body: Any, headers: Mapping[str, str] | None, raw_body: str | None
    ) -> TransformerInput | None:
        """Inject/notify: a disabled hook or any error raises, since there is no original to keep."""
        if not self.enabled(hook):
            raise TransformerError(hook, "not enabled for this endpoint")

        def check(value: Any) -> TransformerInput | None:
            change = _change(value, _Injected)
            return None if change is None else TransformerInput.model_validate(change.model_dump(exclude_none=True))

        headers = {name.lower(): value for name, value in (headers or {}).items()}
        return self._run(hook, check, None, None, body=body, headers=headers, raw_body=raw_body, always_raise=True)

    def _run(
        self,
        hook: Hook,
        check: Callable[[Any], Any],
        original: Any,
        storage: dict[str, Any] | None,
        *,
        always_raise: bool = False,
        **arguments: Any,
    ) -> Any:
        """Call ``hook`` with copies of its arguments; commit storage and the checked value on success."""
        available = {name: copy.deepcopy(value) for name, value in arguments.items()}
        available["endpoint"] = copy.deepcopy(dict(self.endpoint))
        if storage is not None:
            available["storage"] = copy.deepcopy(storage)
        function = self.functions[hook]
        try:
            result = check(call(function, available, self.settings.timeout_seconds))
            if storage is not None:
                new_storage = _checked_storage(available["storage"])
                storage.clear()
                storage.update(new_storage)
        except Exception as error:  # user code: any failure is handled the same way
            reason = _describe(error, function)
            logger.warning("transformer failed", extra={"transformer": hook, "reason": reason})
            count("TransformerErrors")
            if always_raise or self.settings.abort_on_error:
                raise TransformerError(hook, reason) from None
            return original
        return result


def _change(value: Any, model: type[_InputChange]) -> Any:
    """``None``/``False`` drop; a dict is validated against ``model``; anything else is invalid."""
    if value is None or value is False:
        return None
    if not isinstance(value, dict):
        raise _Invalid(f"returned {type(value).__name__}, expected a dict or None")
    try:
        return model.model_validate(value)
    except ValidationError as error:
        raise _Invalid(_fields(error)) from None


def _activity_or_none(value: Any) -> dict[str, Any] | None:
    if value is None or value is False:
        return None
    return _activity(value)


def _activities_or_none(value: Any) -> list[dict[str, Any]] | None:
    if value is None or value is False:
        return None
    if not isinstance(value, list):
        raise _Invalid(f"returned {type(value).__name__}, expected a list of activities or None")
    return [_activity(item) for item in value]


def _activity(value: Any) -> dict[str, Any]:
    """A dict VAIC accepts as an activity: has a ``type``; gets an ``id``/``timestamp`` if it lost them."""
    if not isinstance(value, dict):
        raise _Invalid(f"returned {type(value).__name__}, expected an activity dict")
    try:
        return Activity.model_validate(value).to_wire()
    except ValidationError as error:
        raise _Invalid(_fields(error)) from None


def _checked_storage(storage: Any) -> dict[str, Any]:
    if not isinstance(storage, dict):
        raise _Invalid("storage was replaced by a non-dict")
    try:
        size = len(json.dumps(storage, separators=(",", ":")).encode())
    except (TypeError, ValueError):
        raise _Invalid("storage is not JSON-serialisable") from None
    if size > MAX_STORAGE_BYTES:
        raise _Invalid(f"storage is {size} bytes, over the {MAX_STORAGE_BYTES} limit")
    # A JSON round trip so later turns see exactly what the session will store (tuples -> lists, ...).
    restored: dict[str, Any] = json.loads(json.dumps(storage))
    return restored


def _fields(error: ValidationError) -> str:
    """Which fields were wrong and why, without the values (they may be the caller's words)."""
    return problems(error)


def _describe(error: Exception, function: Callable[..., Any]) -> str:
    """The error type and the extension line that raised it; exception messages may hold caller data."""
    if isinstance(error, _Invalid):
        return f"invalid return value: {error}"
    if isinstance(error, CodeTimeout):
        return f"timed out: {error}"
    module_file = getattr(getattr(function, "__code__", None), "co_filename", None)
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == module_file]
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"raised {type(error).__name__}{where}"
