"""Analytics and transcripts: one record per turn, masked and kept as the endpoint's settings say.

The conversation layer builds a :class:`TurnRecord` after a turn is saved and hands it to
:meth:`Analytics.record_turn`, which applies :class:`~audiocodes_endpoint.config.data_protection.DataProtectionSettings`
(what to keep, what to mask, for how long) and writes one item (one ``PutItem``). A failing write
is logged and counted, never raised: analytics must not break a call.

Per-endpoint summaries (calls, transfers, hang-ups, average turns, top intents) are computed from
the turn records of the endpoint, read through the store's per-endpoint index; see :func:`summarize`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from audiocodes_endpoint.channel.audiocodes import sent_outcome, spoken_text
from audiocodes_endpoint.config.data_protection import DataProtectionSettings
from audiocodes_endpoint.features.privacy import mask_ip_address
from audiocodes_endpoint.observability import count, logger
from audiocodes_endpoint.observability.masking import MASK

Outcome = Literal["message", "silent", "transfer", "hangup", "disconnect", "error", "dropped"]
"""What a turn ended with: the bot spoke (``message``), said nothing (``silent``), handed the call over
(``transfer``), hung up (``hangup``); VAIC ended the call (``disconnect``, detail = the reason); the flow
failed and the call was ended with an apology (``error``); an input transformer dropped the input
(``dropped``)."""

ENDING_OUTCOMES = ("transfer", "hangup", "disconnect")
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class TurnRecord:
    """One turn as analytics sees it. ``caller_text``/``bot_text`` are kept only with transcripts on."""

    endpoint: str
    conversation: str
    turn: int
    """The session's execution counter (1-based); the item's sort key, so a retried write overwrites."""
    started_at: float
    """Epoch seconds when the turn began."""
    latency_ms: int = 0
    flow: str | None = None
    node_path: tuple[str, ...] = ()
    input_type: str = "message"
    """``message``, ``event``, ``inject`` or ``disconnect``."""
    event: str | None = None
    intent: str | None = None
    intent_score: float | None = None
    outcome: Outcome = "message"
    outcome_detail: str | None = None
    """The hang-up or disconnect reason (never a transfer target: that is a phone number)."""
    language: str | None = None
    caller_text: str | None = None
    bot_text: str | None = None
    source_ip: str | None = None
    expires_at: int = 0
    """Epoch seconds; set by :func:`prepare` from ``retention_days`` (the table's TTL attribute)."""
    in_summary: bool = True
    """False for transcript-only records (``collect_analytics`` off): summaries skip them."""
    llm_tokens_in: int | None = None
    """Language-model tokens sent, summed over the turn's model calls (``None``: no model was asked)."""
    llm_tokens_out: int | None = None
    llm_latency_ms: int | None = None
    """Time spent waiting for the model's answers in the turn."""


class AnalyticsStore(Protocol):
    def put(self, record: TurnRecord) -> None:
        """Write one record (overwriting the same endpoint, conversation and turn)."""

    def transcript(self, endpoint: str, conversation: str) -> list[TurnRecord]:
        """The conversation's records, oldest turn first (expired ones left out)."""

    def endpoint_turns(self, endpoint: str, since: float | None = None) -> Iterable[TurnRecord]:
        """Summary records of the endpoint (``in_summary``) started at or after ``since``."""


def prepare(record: TurnRecord, settings: DataProtectionSettings, now: float) -> TurnRecord | None:
    """``record`` as the settings allow it to be stored, or ``None`` when nothing may be stored."""
    if not (settings.collect_analytics or settings.store_transcripts):
        return None
    caller_text = bot_text = None
    if settings.store_transcripts:
        # The bot's words are masked whole too: bots echo names and account numbers, not only phones.
        caller_text = MASK if settings.mask_analytics and record.caller_text else record.caller_text
        bot_text = MASK if settings.mask_analytics and record.bot_text else record.bot_text
    stored = replace(
        record,
        caller_text=caller_text,
        bot_text=bot_text,
        source_ip=mask_ip_address(record.source_ip, settings),
        expires_at=int(now) + settings.retention_days * SECONDS_PER_DAY,
        in_summary=settings.collect_analytics,
    )
    if not settings.collect_analytics:
        # A transcript keeps what was said and how the turn ended, none of the measurements.
        stored = replace(stored, flow=None, node_path=(), intent=None, intent_score=None, latency_ms=0,
                         llm_tokens_in=None, llm_tokens_out=None, llm_latency_ms=None)  # fmt: skip
    return stored


@dataclass
class Analytics:
    """Records turns for one endpoint's settings; share one store between endpoints."""

    store: AnalyticsStore
    settings: DataProtectionSettings
    clock: Callable[[], float] = time.time

    def record_turn(self, record: TurnRecord) -> None:
        stored = prepare(record, self.settings, self.clock())
        if stored is None:
            return
        try:
            self.store.put(stored)
        except Exception:  # any store failure: the call goes on without this record
            logger.exception("analytics record not written", extra={"turn": record.turn})
            count("AnalyticsErrors")


# --- helpers for the conversation layer ------------------------------------------------------------


def outcome_of(activities: Sequence[Mapping[str, Any]]) -> tuple[Outcome, str | None]:
    """The outcome of a turn from the activities it sent and the hang-up reason if any."""
    return sent_outcome(activities)


def bot_text_of(activities: Sequence[Mapping[str, Any]]) -> str | None:
    """What the bot said in a turn: the message texts, one per line (``None`` if nothing)."""
    return spoken_text(activities)


# --- summaries ------------------------------------------------------------------------------------


@dataclass
class Summary:
    endpoint: str
    calls: int = 0
    turns: int = 0
    transfers: int = 0
    hangups: int = 0
    """Calls the bot ended with a hang-up."""
    caller_hangups: int = 0
    """Calls VAIC ended (the caller hung up, or a network or timeout reason) before the bot did."""
    errors: int = 0
    """Turns where the flow failed."""
    average_turns: float = 0.0
    average_latency_ms: float = 0.0
    top_intents: list[tuple[str, int]] = field(default_factory=list)
    disconnect_reasons: list[tuple[str, int]] = field(default_factory=list)


def summarize(endpoint: str, records: Iterable[TurnRecord], top: int = 10) -> Summary:
    """Aggregate an endpoint's turn records. A disconnect record is not a turn; it ends the call."""
    endings: dict[str, str] = {}
    calls: set[str] = set()
    intents: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    summary = Summary(endpoint=endpoint)
    latency_total = 0
    for record in records:
        calls.add(record.conversation)
        if record.outcome == "disconnect":
            reasons[record.outcome_detail or "unknown"] += 1
        else:
            summary.turns += 1
            latency_total += record.latency_ms
        if record.intent:
            intents[record.intent] += 1
        summary.errors += record.outcome == "error"
        if record.outcome in ENDING_OUTCOMES:
            # A transfer or bot hang-up is followed by VAIC's disconnect: the bot's ending wins.
            current = endings.get(record.conversation)
            if current is None or ENDING_OUTCOMES.index(record.outcome) < ENDING_OUTCOMES.index(current):
                endings[record.conversation] = record.outcome
    ended = Counter(endings.values())
    summary.calls = len(calls)
    summary.transfers, summary.hangups, summary.caller_hangups = (ended[o] for o in ENDING_OUTCOMES)
    summary.average_turns = round(summary.turns / summary.calls, 2) if summary.calls else 0.0
    summary.average_latency_ms = round(latency_total / summary.turns, 1) if summary.turns else 0.0
    summary.top_intents = intents.most_common(top)
    summary.disconnect_reasons = reasons.most_common(top)
    return summary
