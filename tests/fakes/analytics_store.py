"""An in-memory :class:`~audiocodes_endpoint.features.analytics.AnalyticsStore` for unit tests of the wiring."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import fields, replace

from audiocodes_endpoint.features.analytics import TurnRecord

# What DynamoDB's sparse index ``by_endpoint`` projects (template.yaml): a summary read sees only these.
SUMMARY_FIELDS = frozenset(
    {
        "endpoint",
        "conversation",
        "turn",
        "started_at",
        "intent",
        "outcome",
        "outcome_detail",
        "latency_ms",
        "expires_at",
    }
)


class InMemoryAnalyticsStore:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.records: dict[tuple[str, str, int], TurnRecord] = {}
        self._clock = clock

    def put(self, record: TurnRecord) -> None:
        self.records[(record.endpoint, record.conversation, record.turn)] = record

    def transcript(self, endpoint: str, conversation: str) -> list[TurnRecord]:
        found = [r for r in self.records.values() if (r.endpoint, r.conversation) == (endpoint, conversation)]
        return sorted((r for r in found if self._live(r)), key=lambda r: r.turn)

    def endpoint_turns(self, endpoint: str, since: float | None = None) -> Iterator[TurnRecord]:
        for record in sorted(self.records.values(), key=lambda r: r.started_at):
            recent = since is None or record.started_at >= since
            if record.endpoint == endpoint and record.in_summary and recent and self._live(record):
                yield summary_view(record)

    def _live(self, record: TurnRecord) -> bool:
        return not record.expires_at or record.expires_at > self._clock()


def summary_view(record: TurnRecord) -> TurnRecord:
    """``record`` as a summary read returns it: the projected fields, the others at their defaults."""
    return replace(record, **{f.name: f.default for f in fields(TurnRecord) if f.name not in SUMMARY_FIELDS})
