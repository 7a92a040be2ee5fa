"""Queue work: what the dispatcher takes from the turn queue, and the queue's port."""

from __future__ import annotations

from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

WorkKind = Literal["activity", "flush", "inject", "notify"]


class Work(BaseModel):
    """One unit for the dispatcher: a caller activity, a flush after (re)connect, an inject or a notify.

    The turn queue's message body, as compact JSON (``model_dump_json``); the dispatcher's batch
    processor parses it back with Powertools' Parser (``functions/dispatcher``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: WorkKind
    endpoint: str
    conversation: str
    payload: dict[str, Any]


class WorkQueue(Protocol):
    """The call's ordered queue (``adapters.aws.turn_queue`` in Lambda): one conversation's work in order."""

    def put(self, work: Work, deduplication: str) -> str:
        """Enqueue; a second ``put`` with the same ``deduplication`` soon after is dropped."""
        ...
