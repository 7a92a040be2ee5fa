import io
import json
import time
from dataclasses import replace

import boto3
import pytest

from audiocodes_devtools.analytics_cli import main
from audiocodes_endpoint.adapters.aws.analytics_store import INDEX, DynamoDBAnalyticsStore
from audiocodes_endpoint.config.data_protection import DataProtectionSettings
from audiocodes_endpoint.features.analytics import (
    Analytics,
    Summary,
    TurnRecord,
    bot_text_of,
    outcome_of,
    prepare,
    summarize,
)
from audiocodes_endpoint.observability.masking import MASK
from tests.fakes.analytics_store import InMemoryAnalyticsStore
from tests.unit.settings_features.test_analytics_store_contract import record_calls

NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
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
    caller_text="I want to pay, my number is +49 30 123456789",
    bot_text="Sure. We will call you back on +49 30 123456789.",
    language="en-US",
    source_ip="203.0.113.7",
)


@pytest.fixture
def table(analytics_table):
    return analytics_table


@pytest.fixture
def store(table, clock):
    return DynamoDBAnalyticsStore(table, clock=clock)


def counting(client):
    """The DynamoDB requests a client sends, by operation name."""
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    return calls


# --- what is kept -------------------------------------------------------------------------------------


def test_by_default_a_turn_is_measured_but_its_words_are_not_kept():
    stored = prepare(TURN, DataProtectionSettings(), NOW)
    assert stored == replace(TURN, caller_text=None, bot_text=None, source_ip=MASK, expires_at=int(NOW) + 30 * DAY)


def test_transcripts_keep_both_sides_for_the_retention_period():
    settings = DataProtectionSettings(store_transcripts=True, mask_ip=False, retention_days=7)
    stored = prepare(TURN, settings, NOW)
    assert stored == replace(TURN, expires_at=int(NOW) + 7 * DAY)


def test_masked_analytics_hide_the_callers_words_and_the_bots():
    # Given a bot that echoes what the caller gave it: a name and an account number (not phone-shaped)
    turn = replace(TURN, bot_text="Thank you Jane Doe, account AB-1234 is paid. We call back on +49 30 123456789.")
    settings = DataProtectionSettings(store_transcripts=True, mask_analytics=True, mask_ip=False)
    stored = prepare(turn, settings, NOW)
    assert stored is not None
    # Then neither side's words are kept, only that something was said
    assert (stored.caller_text, stored.bot_text, stored.source_ip) == (MASK, MASK, MASK)
    assert (stored.intent, stored.intent_score) == ("pay", 0.91)


def test_transcripts_without_analytics_keep_words_but_no_measurements():
    settings = DataProtectionSettings(collect_analytics=False, store_transcripts=True)
    stored = prepare(TURN, settings, NOW)
    assert stored == replace(
        TURN,
        flow=None,
        node_path=(),
        intent=None,
        intent_score=None,
        latency_ms=0,
        source_ip=MASK,
        expires_at=int(NOW) + 30 * DAY,
        in_summary=False,
    )


def test_nothing_is_written_when_both_analytics_and_transcripts_are_off(clock):
    store = InMemoryAnalyticsStore(clock)
    Analytics(store, DataProtectionSettings(collect_analytics=False), clock).record_turn(TURN)
    assert store.records == {}


def test_a_failing_store_is_logged_and_the_call_goes_on(clock, log_output):
    class Broken:
        def put(self, record):
            raise ConnectionError("dynamodb unreachable")

    Analytics(Broken(), DataProtectionSettings(), clock).record_turn(TURN)  # type: ignore[arg-type]
    [line] = log_output.lines
    assert (line["message"], line["turn"], line["exception_name"]) == (
        "analytics record not written",
        2,
        "ConnectionError",
    )


# --- outcomes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activities", "expected"),
    [
        ([], ("silent", None)),
        ([{"type": "message", "text": "Hi"}], ("message", None)),
        (
            [
                {"type": "message", "text": "Bye"},
                {"type": "event", "name": "hangup", "activityParams": {"hangupReason": "completed"}},
            ],
            ("hangup", "completed"),
        ),
        ([{"type": "event", "name": "hangup"}], ("hangup", None)),
        (
            [{"type": "event", "name": "transfer", "activityParams": {"transferTarget": "tel:+4930123456"}}],
            ("transfer", None),
        ),
        ([{"type": "event", "name": "config"}], ("silent", None)),
    ],
)
def test_the_outcome_of_a_turn_comes_from_what_it_sent(activities, expected):
    assert outcome_of(activities) == expected


def test_bot_text_joins_the_messages_of_a_turn():
    activities = [
        {"type": "message", "text": "Hello."},
        {"type": "event", "name": "playUrl"},
        {"type": "message", "text": "How can I help?"},
    ]
    assert bot_text_of(activities) == "Hello.\nHow can I help?"
    assert bot_text_of([{"type": "event", "name": "hangup"}]) is None


# --- DynamoDB -----------------------------------------------------------------------------------------


def test_each_turn_costs_exactly_one_put_item(store, clock):
    # Given the analytics of an endpoint that keeps transcripts
    calls = counting(store._client)
    analytics = Analytics(store, DataProtectionSettings(store_transcripts=True), clock)
    # When three turns are recorded
    for turn in (1, 2, 3):
        analytics.record_turn(replace(TURN, turn=turn))
    # Then three requests were made, all PutItem
    assert calls == ["PutItem", "PutItem", "PutItem"]


def test_the_summary_index_holds_no_transcript_text(store, clock, table):
    Analytics(store, DataProtectionSettings(store_transcripts=True), clock).record_turn(TURN)
    items = boto3.client("dynamodb").query(
        TableName=table,
        IndexName=INDEX,
        KeyConditionExpression="gsi_endpoint = :e",
        ExpressionAttributeValues={":e": {"S": "demo"}},
    )["Items"]
    assert len(items) == 1
    assert "caller_text" not in items[0] and "bot_text" not in items[0]


def test_an_empty_endpoint_summarizes_to_zeros():
    assert summarize("quiet", []) == Summary(endpoint="quiet")


# --- the CLI ------------------------------------------------------------------------------------------


def test_cli_prints_a_transcript(store, clock, table):
    analytics = Analytics(store, DataProtectionSettings(store_transcripts=True), clock)
    analytics.record_turn(
        TurnRecord("demo", "conv-1", 1, NOW, input_type="event", event="start", bot_text="Hello!\nHow can I help?")
    )
    analytics.record_turn(
        TurnRecord(
            "demo", "conv-1", 2, NOW + 5, caller_text="pay my bill", bot_text="Goodbye.", intent="pay",
            intent_score=0.9, outcome="hangup", outcome_detail="completed", latency_ms=180,
        )
    )  # fmt: skip
    analytics.record_turn(
        TurnRecord("demo", "conv-1", 3, NOW + 7, input_type="disconnect", outcome="disconnect", outcome_detail="Bot")
    )
    out = io.StringIO()
    assert main(["transcript", "demo", "conv-1"], out=out, store=store) == 0
    assert out.getvalue() == (
        "conversation conv-1 on endpoint demo, started 2023-11-14 22:13:20\n"
        "#1   22:13:20  [start]\n"
        "      bot: Hello!\n"
        "      bot: How can I help?\n"
        "#2   22:13:25  caller: pay my bill\n"
        "      bot: Goodbye.\n"
        "      -> intent pay (0.90), hangup: completed, 180 ms\n"
        "#3   22:13:27  [disconnect]\n"
        "      -> disconnect: Bot\n"
    )


def test_cli_reads_the_table_named_on_the_command_line(table, clock, capsys):
    # Given a record written now (the CLI reads with the real clock)
    clock.now = time.time()
    Analytics(DynamoDBAnalyticsStore(table), DataProtectionSettings(), clock).record_turn(TURN)
    # When the CLI prints it as JSON
    out = io.StringIO()
    assert main(["--table", table, "transcript", "demo", "conv-1", "--json"], out=out) == 0
    # Then it is the stored record, and an unknown call is an error
    [record] = json.loads(out.getvalue())
    assert (record["turn"], record["intent"], record["caller_text"]) == (2, "pay", None)
    assert main(["--table", table, "transcript", "demo", "nope"], out=io.StringIO()) == 1
    assert capsys.readouterr().err == "no records for conversation nope on endpoint demo\n"


def test_cli_prints_an_endpoint_summary(store, clock):
    record_calls(Analytics(store, DataProtectionSettings(), clock))
    out = io.StringIO()
    assert main(["summary", "demo"], out=out, store=store) == 0
    assert out.getvalue() == (
        "endpoint demo\n"
        "  period              all retained records\n"
        "  calls               3\n"
        "  turns               7\n"
        "  average turns       2.33\n"
        "  transfers           1\n"
        "  bot hang-ups        1\n"
        "  caller hang-ups     1\n"
        "  flow errors         1\n"
        "  average latency     142.9 ms\n"
        "  top intents         pay 2, agent 1, goodbye 1\n"
        "  disconnect reasons  Transfer 1, Client Side 1\n"
    )
    out = io.StringIO()
    assert main(["summary", "demo", "--json"], out=out, store=store) == 0
    assert json.loads(out.getvalue())["top_intents"] == [["pay", 2], ["agent", 1], ["goodbye", 1]]


def test_cli_takes_the_table_from_the_environment_and_a_period_in_days(table, clock, monkeypatch):
    clock.now = time.time()
    analytics = Analytics(DynamoDBAnalyticsStore(table), DataProtectionSettings(), clock)
    analytics.record_turn(replace(TURN, conversation="old", started_at=clock.now - 3 * DAY))
    analytics.record_turn(replace(TURN, conversation="new", started_at=clock.now - 60))
    monkeypatch.setenv("ANALYTICS_TABLE", table)
    out = io.StringIO()
    assert main(["summary", "demo", "--days", "1", "--json"], out=out) == 0
    assert json.loads(out.getvalue())["calls"] == 1


def test_cli_needs_a_table(monkeypatch, capsys):
    monkeypatch.delenv("ANALYTICS_TABLE", raising=False)
    with pytest.raises(SystemExit) as exited:
        main(["summary", "demo"])
    assert exited.value.code == 2
    assert "pass --table or set ANALYTICS_TABLE" in capsys.readouterr().err
