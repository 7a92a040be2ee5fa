"""How long a request may work: until its Lambda invocation ends, minus a margin to end cleanly.

A sync turn that would run past ``stop_at`` fails closed (apology + hang-up, state saved) instead of
being killed by Lambda with nothing saved; a request waiting for a call's lease gives up at
``stop_at``; the lease it takes ends at ``ends_at``, when Lambda would have stopped it anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

MARGIN_SECONDS = 1.0
"""Kept back from the invocation's remaining time: the conditional save and the answer need it."""
DEFAULT_SECONDS = 10.0
"""The budget without a Lambda context (tests, scripts): bot_api's `Timeout`."""


class RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Deadline:
    ends_at: float
    """Epoch seconds at which the invocation is stopped."""
    margin: float = MARGIN_SECONDS

    @property
    def stop_at(self) -> float:
        return self.ends_at - self.margin

    @classmethod
    def from_context(cls, context: RemainingTime | None, now: float) -> Deadline:
        if context is None:
            return cls(now + DEFAULT_SECONDS)
        return cls(now + context.get_remaining_time_in_millis() / 1000)
