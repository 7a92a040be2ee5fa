"""The code node: call ``module.function`` from ``agent/extensions`` with the turn's data.

The function is called with whichever of these keyword arguments it declares: ``input`` (the
Input object), ``context`` (a copy of the session context: changes made in place are kept if the
call succeeds), ``variables`` (endpoint variables) and ``args`` (the node's rendered ``args``).
It may return:

* ``None``;
* ``{"outputs": [...], "context": {path: value}}`` (both keys optional): outputs are sent, and each
  context path is set;
* anything else is treated as outputs: text, an activity dict, a Cognigy output ``{text, data}``
  (its AudioCodes activities are sent unchanged), or a list of those.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, StringConstraints

from audiocodes_endpoint.flows import extensions
from audiocodes_endpoint.flows.fields import DATA, NodeId
from audiocodes_endpoint.flows.nodes.base import Linear, Problems, References
from audiocodes_endpoint.flows.outputs import OutputError, to_activities
from audiocodes_endpoint.flows.paths import set_path
from audiocodes_endpoint.flows.steps import Next, Step
from audiocodes_endpoint.flows.turn import FlowError

if TYPE_CHECKING:
    from audiocodes_endpoint.flows.runtime import Turn

FunctionReference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")]
RESULT_KEYS = frozenset({"outputs", "context"})


class Code(Linear):
    type: Literal["code"]
    function: FunctionReference = Field(description="`module.function` in agent/extensions/<module>.py.")
    args: Annotated[dict[str, Any], DATA] = Field(
        default_factory=dict, description="Passed as `args`; templates allowed."
    )
    timeout_seconds: float | None = Field(
        default=None, gt=0, le=60, description="Time limit (capped by the endpoint's setting)."
    )
    on_error: NodeId | None = Field(
        default=None, description="Where to go if the function raises or times out (`input.result.error`)."
    )

    def run(self, turn: Turn) -> Step:
        function = turn.extensions.resolve(self.function)
        if function is None:
            message = f"no extension function {self.function!r}"
            raise FlowError(message, log_safe=message)
        context = copy.deepcopy(turn.context)
        available = {
            "input": copy.deepcopy(turn.input_data),
            "context": context,
            "variables": dict(turn.options.variables),
            "args": turn.data(self.args),
        }
        limit = min(self.timeout_seconds or turn.options.code_timeout_seconds, turn.options.code_timeout_seconds)
        remaining = turn.options.remaining()
        limit = min(limit, remaining) if remaining is not None else limit
        try:
            returned = extensions.call(function, available, limit)
            activities, changes = _interpret(returned)
        except Exception as error:
            turn.options.remaining()  # cut off by the request's deadline: fail closed, not on_error
            message = f"{self.function}: {type(error).__name__}: {error}"
            if self.on_error:
                turn.result = {"error": message}
                return Next(self.on_error)
            raise FlowError(message, log_safe=f"{self.function}: {type(error).__name__}") from error
        turn.context = context
        for path, value in changes.items():
            set_path(turn.context, path, value)
        turn.send(*activities)
        return Next(self.next)

    def edges(self) -> list[tuple[str, str]]:
        edges = super().edges()
        return [*edges, ("on_error", self.on_error)] if self.on_error else edges

    def check(self, refs: References) -> Problems:
        problem = refs.function_problem(self.function)
        if problem:
            yield "function", problem

    def summary(self) -> str:
        return self.function


def _interpret(returned: Any) -> tuple[list[Any], dict[str, Any]]:
    if isinstance(returned, Mapping) and returned and set(returned) <= RESULT_KEYS:
        changes = returned.get("context") or {}
        if not isinstance(changes, Mapping):
            raise OutputError("`context` in the result must be a mapping of context paths to values")
        return to_activities(returned.get("outputs")), dict(changes)
    return to_activities(returned), {}
