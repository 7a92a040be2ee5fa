"""``transformers:`` of an endpoint: which hooks of its extension module run (``features.transformers``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Hook = Literal["handle_input", "handle_output", "handle_execution_finished", "handle_inject", "handle_notify"]


_FLAGS: dict[Hook, str] = {
    "handle_input": "input",
    "handle_output": "output",
    "handle_execution_finished": "execution_finished",
    "handle_inject": "inject",
    "handle_notify": "notify",
}


class TransformerSettings(BaseModel):
    """``transformers:`` in an endpoint file. Everything is off by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    module: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")] | None = None
    """The module in ``agent/extensions/`` holding the hooks, e.g. ``transformers_demo``."""
    input: bool = False
    output: bool = False
    execution_finished: bool = False
    inject: bool = False
    notify: bool = False
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)
    abort_on_error: bool = False

    @model_validator(mode="after")
    def _module_when_enabled(self) -> TransformerSettings:
        if self.module is None and self.enabled_hooks:
            raise ValueError("module: required when a transformer is enabled")
        return self

    @property
    def enabled_hooks(self) -> tuple[Hook, ...]:
        return tuple(hook for hook, flag in _FLAGS.items() if getattr(self, flag))
