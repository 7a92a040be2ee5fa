"""What a node tells the executor to do next. Nodes return one of these; only the engine acts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Next:
    """Continue at ``node`` in the current flow; ``None`` is a dead end (return to the caller,
    resume an interrupted question, or go idle)."""

    node: str | None


@dataclass(frozen=True)
class Jump:
    """Continue in another flow (at its start, or at ``node``) without coming back."""

    flow: str
    node: str | None = None


@dataclass(frozen=True)
class Call:
    """Run another flow from its start, then continue at ``returns_to`` in this flow."""

    flow: str
    returns_to: str | None


@dataclass(frozen=True)
class Wait:
    """Stop the turn: this node waits for the caller's next input. ``data`` is stored in the session."""

    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class End:
    """The conversation is over (end, hang-up, transfer). A transfer still waits for its status."""

    waiting: dict[str, Any] | None = None


Step = Next | Jump | Call | Wait | End
