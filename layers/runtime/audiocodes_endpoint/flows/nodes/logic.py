"""Control nodes: condition, switch, set context, go to, call a flow, end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from audiocodes_endpoint.flows.fields import ContextPath, Data, Expression, FlowName, NodeId
from audiocodes_endpoint.flows.nodes.base import Linear, NodeBase, Problems, References
from audiocodes_endpoint.flows.paths import delete_path, set_path
from audiocodes_endpoint.flows.steps import Call, End, Jump, Next, Step

if TYPE_CHECKING:
    from audiocodes_endpoint.flows.runtime import Turn


class Condition(NodeBase):
    """Branch on a boolean expression."""

    type: Literal["condition"]
    if_: Expression = Field(alias="if", description="A Jinja2 expression, e.g. `context.balance > 0`.")
    then: NodeId | None = Field(default=None, description="Where to go when the expression is true.")
    else_: NodeId | None = Field(default=None, alias="else", description="Where to go otherwise.")

    def run(self, turn: Turn) -> Step:
        return Next(self.then if turn.test(self.if_) else self.else_)

    def edges(self) -> list[tuple[str, str]]:
        return [(field, target) for field, target in (("then", self.then), ("else", self.else_)) if target]

    def summary(self) -> str:
        return self.if_


class Switch(NodeBase):
    """Branch on a value: the case whose key equals the value (compared as text), else ``default``."""

    type: Literal["switch"]
    value: Expression = Field(description="A Jinja2 expression, e.g. `context.call.numberMetaData.country`.")
    cases: dict[str, NodeId] = Field(description="Value (as text) -> node.")
    default: NodeId | None = Field(default=None, description="Where to go when no case matches.")

    def run(self, turn: Turn) -> Step:
        value = turn.evaluate(self.value)
        key = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        return Next(self.cases.get(key, self.default))

    def edges(self) -> list[tuple[str, str]]:
        edges = [(f"cases.{value}", target) for value, target in self.cases.items()]
        return [*edges, ("default", self.default)] if self.default else edges

    def summary(self) -> str:
        return self.value


class SetContext(Linear):
    """Set (or remove) values in the session context."""

    type: Literal["set"]
    context: dict[ContextPath, Data] = Field(
        default_factory=dict,
        description="Dotted path -> value. A value that is exactly `{{ expr }}` keeps its type.",
    )
    remove: list[ContextPath] = Field(default_factory=list, description="Paths to delete.")

    @model_validator(mode="after")
    def _something(self) -> SetContext:
        if not self.context and not self.remove:
            raise ValueError("set at least one of `context` or `remove`")
        return self

    def run(self, turn: Turn) -> Step:
        # Render every value before writing any, so values all see the context as it was.
        values = {path: turn.data(value) for path, value in self.context.items()}
        for path, value in values.items():
            set_path(turn.context, path, value)
        for path in self.remove:
            delete_path(turn.context, path)
        return Next(self.next)

    def summary(self) -> str:
        return ", ".join([*self.context, *(f"-{path}" for path in self.remove)])


class Goto(NodeBase):
    """Continue at another node, or in another flow (without coming back)."""

    type: Literal["goto"]
    node: NodeId | None = Field(default=None, description="Target node (in `flow` if given).")
    flow: FlowName | None = Field(default=None, description="Target flow; its start node unless `node` is set.")

    @model_validator(mode="after")
    def _target(self) -> Goto:
        if self.node is None and self.flow is None:
            raise ValueError("set `node`, `flow` or both")
        return self

    def run(self, turn: Turn) -> Step:
        return Jump(self.flow, self.node) if self.flow else Next(self.node)

    def edges(self) -> list[tuple[str, str]]:
        return [("node", self.node)] if self.node and not self.flow else []

    def check(self, refs: References) -> Problems:
        if self.flow and not refs.has_flow(self.flow):
            yield "flow", f"no flow named {self.flow!r}"
        elif self.flow and self.node and not refs.has_node(self.flow, self.node):
            yield "node", f"flow {self.flow!r} has no node {self.node!r}"

    def summary(self) -> str:
        return f"{self.flow}:{self.node or 'start'}" if self.flow else ""


class CallFlow(Linear):
    """Run another flow; when it runs out of nodes, continue at ``next`` here."""

    type: Literal["call"]
    flow: FlowName = Field(description="The flow to run.")

    def run(self, turn: Turn) -> Step:
        return Call(self.flow, self.next)

    def check(self, refs: References) -> Problems:
        if not refs.has_flow(self.flow):
            yield "flow", f"no flow named {self.flow!r}"

    def summary(self) -> str:
        return self.flow


class EndFlow(NodeBase):
    """The conversation is over: nothing more runs, later inputs are ignored (disconnect still runs)."""

    type: Literal["end"]

    def run(self, turn: Turn) -> Step:
        return End()
