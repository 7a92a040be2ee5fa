"""A generative turn through the real Bot API handler on moto: the answer, the session's history,
and the model's tokens and latency in the turn's analytics record."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from audiocodes_devtools.model_server import Reply, model_server
from audiocodes_endpoint.config.llm import LlmSettings
from tests.integration.conftest import CONVERSATION, activity
from tests.integration.test_endpoint_settings import begin, rt, turn  # noqa: F401  (fixtures)

pytestmark = pytest.mark.usefixtures("analytics_table")  # the table the Bot API writes turn records to


@pytest.fixture
def llm_demo(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    runtime: Any = request.getfixturevalue("rt")
    with model_server() as server:
        demo = runtime.endpoints["demo"]
        settings = LlmSettings(provider="openai", base_url=server.base_url, model="local")
        monkeypatch.setitem(runtime.endpoints, "demo", demo.model_copy(update={"flow": "assistant", "llm": settings}))
        yield server


def test_a_sync_turn_speaks_the_whole_answer_keeps_history_and_records_tokens(llm_demo, call, sessions_table):
    from audiocodes_endpoint.adapters.aws.analytics_store import DynamoDBAnalyticsStore

    llm_demo.script(Reply(["Your balance is", " 120 euros.", " Anything else?"], usage=(321, 17)))
    assert begin(call)[-1].startswith("Hello, this is Example Bank's assistant.")
    # sync mode: the whole answer is one message in the HTTP response
    assert turn(call, activity(text="What is my balance?")) == ["Your balance is 120 euros. Anything else?"]
    item = boto3.client("dynamodb").get_item(TableName=sessions_table, Key={"id": {"S": f"demo/{CONVERSATION}"}})
    context = json.loads(item["Item"]["state"]["S"])["context"]
    assert context["_llm_history"]["main"][-1] == {
        "role": "assistant",
        "content": "Your balance is 120 euros. Anything else?",
    }
    records = DynamoDBAnalyticsStore("analytics-test").transcript("demo", CONVERSATION)
    assert (records[0].llm_tokens_in, records[0].llm_tokens_out) == (None, None)  # the greeting asked no model
    assert (records[1].llm_tokens_in, records[1].llm_tokens_out) == (321, 17)
    assert records[1].llm_latency_ms is not None and records[1].llm_latency_ms >= 0
