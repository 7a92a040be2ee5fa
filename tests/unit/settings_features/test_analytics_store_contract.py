"""The analytics store contract, run against the DynamoDB store (on moto, the table from template.yaml)
and the in-memory fake alike, so the fake the wiring tests use reads back what DynamoDB does."""

from __future__ import annotations

from dataclasses import replace

import pytest

from audiocodes_endpoint.adapters.aws.analytics_store import DynamoDBAnalyticsStore
from audiocodes_endpoint.features.analytics import Analytics, Summary, TurnRecord, summarize
from audiocodes_endpoint.features.privacy import DataProtectionSettings
from tests.fakes.analytics_store import InMemoryAnalyticsStore, summary_view

NOW = 1_700_000_000.0
DAY = 86_400

TURN = TurnRecord(
    endpoint="demo",
    conversation="conv-1",
    turn=2,
    started_at=NOW,
    latency_ms=120,
    flow="main",
    node_path=("main/start", "main/ask_amount"),
    intent="pay",
    intent_score=0.91,
    caller_text="I want to pay",
    bot_text="Sure.",
    language="en-US",
    source_ip="203.0.113.7",
)


@pytest.fixture(params=["dynamodb", "memory"])
def store(request, clock):
    if request.param == "memory":
        return InMemoryAnalyticsStore(clock)
    return DynamoDBAnalyticsStore(request.getfixturevalue("analytics_table"), clock=clock)


def test_a_transcript_returns_every_field_and_a_summary_read_only_the_indexed_ones(store):
    record = replace(
        TURN, input_type="event", event="DTMF", outcome="hangup", outcome_detail="completed", expires_at=int(NOW) + DAY,
        llm_tokens_in=120, llm_tokens_out=33, llm_latency_ms=850,
    )  # fmt: skip
    store.put(record)
    assert store.transcript("demo", "conv-1") == [record]
    # the index projects what a summary needs: no words, no node path, no address
    (summarised,) = store.endpoint_turns("demo")
    assert summarised == summary_view(record)
    assert (summarised.caller_text, summarised.bot_text, summarised.source_ip, summarised.node_path) == (
        None,
        None,
        None,
        (),
    )


def test_a_transcript_comes_back_in_turn_order_and_a_rewritten_turn_replaces_the_first(store, clock):
    analytics = Analytics(store, DataProtectionSettings(store_transcripts=True, mask_ip=False), clock)
    for turn in (10, 2, 9, 1, 2):
        analytics.record_turn(replace(TURN, turn=turn, started_at=NOW + turn))
    records = store.transcript("demo", "conv-1")
    assert [r.turn for r in records] == [1, 2, 9, 10]
    assert records[1] == replace(TURN, turn=2, started_at=NOW + 2, expires_at=int(NOW) + 30 * DAY)


def test_each_call_and_each_endpoint_keeps_its_own_records(store):
    store.put(TURN)
    store.put(replace(TURN, conversation="conv-2", turn=1))
    store.put(replace(TURN, endpoint="other", turn=1))
    assert [(r.conversation, r.turn) for r in store.transcript("demo", "conv-1")] == [("conv-1", 2)]
    assert store.transcript("demo", "nope") == []
    assert sorted((r.conversation, r.turn) for r in store.endpoint_turns("demo")) == [("conv-1", 2), ("conv-2", 1)]


def test_expired_records_are_not_read_even_before_they_are_deleted(store, clock):
    Analytics(store, DataProtectionSettings(retention_days=1), clock).record_turn(TURN)
    assert len(store.transcript("demo", "conv-1")) == 1
    clock.now = NOW + DAY + 1
    assert store.transcript("demo", "conv-1") == []
    assert list(store.endpoint_turns("demo")) == []


def test_transcript_only_records_stay_out_of_summaries(store, clock):
    settings = DataProtectionSettings(collect_analytics=False, store_transcripts=True)
    Analytics(store, settings, clock).record_turn(TURN)
    assert list(store.endpoint_turns("demo")) == []
    assert [r.caller_text for r in store.transcript("demo", "conv-1")] == [TURN.caller_text]


def record_calls(analytics):
    """Three calls on ``demo``: transferred, hung up by the bot, hung up by the caller; plus noise."""

    def turn(conversation, number, at, **fields):
        analytics.record_turn(TurnRecord("demo", conversation, number, NOW + at, **fields))

    turn("a", 1, 0, input_type="event", event="start", latency_ms=100)
    turn("a", 2, 10, intent="pay", intent_score=0.9, latency_ms=200)
    turn("a", 3, 20, intent="agent", intent_score=0.8, latency_ms=300, outcome="transfer")
    turn("a", 4, 30, input_type="disconnect", outcome="disconnect", outcome_detail="Transfer")
    turn("b", 1, 100, input_type="event", event="start", latency_ms=100)
    turn("b", 2, 110, intent="pay", intent_score=0.95, latency_ms=100, outcome="error")
    turn("b", 3, 120, intent="goodbye", latency_ms=100, outcome="hangup", outcome_detail="completed")
    turn("c", 1, 200, input_type="event", event="start", latency_ms=100)
    turn("c", 2, 210, input_type="disconnect", outcome="disconnect", outcome_detail="Client Side")
    analytics.record_turn(TurnRecord("other", "x", 1, NOW, intent="pay", outcome="transfer"))


EXPECTED = Summary(
    endpoint="demo",
    calls=3,
    turns=7,
    transfers=1,
    hangups=1,
    caller_hangups=1,
    errors=1,
    average_turns=2.33,
    average_latency_ms=142.9,
    top_intents=[("pay", 2), ("agent", 1), ("goodbye", 1)],
    disconnect_reasons=[("Transfer", 1), ("Client Side", 1)],
)


def test_summary_counts_calls_endings_turns_and_intents_of_one_endpoint(store, clock):
    record_calls(Analytics(store, DataProtectionSettings(), clock))
    assert summarize("demo", store.endpoint_turns("demo")) == EXPECTED


def test_summary_can_start_at_a_time_and_the_start_is_included(store, clock):
    record_calls(Analytics(store, DataProtectionSettings(), clock))
    summary = summarize("demo", store.endpoint_turns("demo", since=NOW + 200))
    assert (summary.calls, summary.turns, summary.caller_hangups, summary.top_intents) == (1, 1, 1, [])
    assert [r.started_at for r in store.endpoint_turns("demo", since=NOW + 210)] == [NOW + 210]
