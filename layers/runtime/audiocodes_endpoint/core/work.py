"""Queue work: what the dispatcher takes from the turn queue, and the queue's port."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

WorkKind = Literal["activity", "flush", "inject", "notify"]


@dataclass(frozen=True)
class Work:
    """One unit for the dispatcher: a caller activity, a flush after (re)connect, an inject or a notify."""

    kind: WorkKind
    endpoint: str
    conversation: str
    payload: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(
            {"kind": self.kind, "endpoint": self.endpoint, "conversation": self.conversation, "payload": self.payload},
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Work:
        data = json.loads(text)
        return cls(
            kind=data["kind"], endpoint=data["endpoint"], conversation=data["conversation"], payload=data["payload"]
        )


class WorkQueue(Protocol):
    """The call's ordered queue (``adapters.aws.turn_queue`` in Lambda): one conversation's work in order."""

    def put(self, work: Work, deduplication: str) -> str:
        """Enqueue; a second ``put`` with the same ``deduplication`` soon after is dropped."""
        ...
