"""What every node has: a type tag, an optional description, its outgoing edges, and ``run``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from audiocodes_endpoint.flows.fields import NodeId
from audiocodes_endpoint.flows.steps import Next, Step

if TYPE_CHECKING:
    from audiocodes_endpoint.flows.runtime import Turn


class References(Protocol):
    """What a node may ask the loader about the rest of the agent when it checks itself."""

    def has_flow(self, name: str) -> bool: ...
    def has_node(self, flow: str, node: str) -> bool: ...
    def has_intent(self, name: str) -> bool: ...
    def function_problem(self, reference: str) -> str | None: ...


Problems = Iterator[tuple[str, str]]
"""(field, message) pairs a node reports about itself at load."""


class NodeBase(BaseModel):
    # extra="forbid" so a misspelt field fails at load; numbers are accepted where strings are
    # expected because YAML reads `dtmf: 1` and `cases: {1: ...}` as numbers.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    description: str | None = Field(default=None, description="A note for humans; ignored at run time.")

    @property
    def kind(self) -> str:
        return str(getattr(self, "type", type(self).__name__))

    def run(self, turn: Turn) -> Step:
        raise NotImplementedError

    def edges(self) -> list[tuple[str, str]]:
        """(field, node id) for every node this one may continue at, in this flow."""
        target = getattr(self, "next", None)
        return [("next", target)] if isinstance(target, str) else []

    def check(self, refs: References) -> Problems:
        """Problems the schema cannot see (references to intents, flows, functions; static values)."""
        return iter(())

    def summary(self) -> str:
        """A short label for the graph."""
        return ""

    def needs_events(self) -> frozenset[str]:
        """Opt-in VAIC events (``sendEventsToBot``) this node waits for; asked for when its flow starts."""
        return frozenset()

    # --- nodes that wait for input (question, transfer) override these -------------------------

    def accepts(self, turn: Turn, waiting: dict[str, Any]) -> bool:
        return False

    def resume(self, turn: Turn, waiting: dict[str, Any]) -> Step:
        return Next(None)

    def claims_intent(self, intent: str) -> bool:
        """True if this node, while waiting, wants ``intent`` itself rather than a global handler."""
        return False

    def claims(self, turn: Turn, waiting: dict[str, Any]) -> bool:
        """True if this waiting node should get the input before a global intent handler."""
        return turn.input.intent is not None and self.claims_intent(turn.input.intent)


class Linear(NodeBase):
    """A node that does one thing and continues at ``next``."""

    next: NodeId | None = Field(default=None, description="The node to continue at; none ends this path.")
