"""When a campaign's targets are dialled: the schedule, SQS delays, the per-second budget, back-off, outcomes.

SQS delays a message by at most 900 s (``DelaySeconds``); a target due later is sent with the
longest delay and sent again when it arrives early ("hops") until it is due.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from audiocodes_endpoint.features.outbound.campaign_settings import Outcome, RetryPolicy

MAX_DELAY_SECONDS = 900  # SQS SendMessage DelaySeconds


def schedule(count: int, calls_per_second: float, start: float) -> list[float]:
    """When each of ``count`` targets is due: spread ``1 / calls_per_second`` apart from ``start``."""
    return [start + index / calls_per_second for index in range(count)]


def delay_seconds(due: float, now: float) -> int:
    """The SQS delay for a message due at ``due``: rounded up, at most 900 s (the message hops if later)."""
    return max(0, min(MAX_DELAY_SECONDS, math.ceil(due - now)))


def rate_bucket(now: float, calls_per_second: float) -> tuple[int, int, int]:
    """``(bucket start, capacity, width)``: a fixed window of ``width`` seconds holding ``capacity`` calls.

    Below one call per second the window widens (0.2/s: one call per 5 s window); a fractional rate
    above one takes the narrowest window (at most 10 s) that holds it best (1.5/s: 3 calls per 2 s). The
    counter in DynamoDB (one item per window) never lets more than ``calls_per_second`` through on average.
    """
    narrowest = max(1, math.ceil(1 / calls_per_second))
    width = max(range(narrowest, max(narrowest, 10) + 1),
                key=lambda w: (math.floor(calls_per_second * w + 1e-9) / w, -w))  # fmt: skip
    capacity = max(1, math.floor(calls_per_second * width + 1e-9))
    return int(now // width) * width, capacity, width


def backoff(policy: RetryPolicy, attempts_made: int) -> float:
    """The wait before attempt ``attempts_made + 1``: ``backoff_seconds * multiplier^(attempts_made - 1)``."""
    wait = policy.backoff_seconds * policy.backoff_multiplier ** max(0, attempts_made - 1)
    return float(min(wait, policy.max_backoff_seconds))


def retries(policy: RetryPolicy, outcome: str, attempts_made: int) -> bool:
    return outcome in policy.on and attempts_made < policy.max_attempts


# VAIC's callback reasons (``outbound-calling.htm``; SIP codes as in VAIC's *Call disconnect* page):
# 486 Busy Here / 600 Busy Everywhere; 408 Request Timeout / 480 Temporarily Unavailable / 487 when
# the answer timeout cancels the INVITE. Which codes VAIC reports for a no-answer is inferred.
_BUSY_CODES = frozenset({"486", "600"})
_NO_ANSWER_CODES = frozenset({"408", "480", "487"})


def outcome_of(history: Sequence[Mapping[str, Any]]) -> Outcome | str:
    """A finished call's outcome from its status history: answered, machine, busy, no_answer or failed."""
    final = history[-1] if history else {}
    if final.get("status") == "completed":
        detected = any(
            entry.get("status") == "machine-detected" or entry.get("machineDetection") == "machine" for entry in history
        )
        return "machine" if detected else "answered"
    reason = str(final.get("reason") or "").lower().replace("-", " ").replace("_", " ")
    code = str(final.get("reasonCode") or "")
    if code in _BUSY_CODES or reason == "busy":
        return "busy"
    if code in _NO_ANSWER_CODES or reason in ("no answer", "noanswer", "timeout"):
        return "no_answer"
    return "failed"
