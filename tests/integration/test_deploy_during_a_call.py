"""A deploy between two turns of a live call: the node the call waits on is gone or changed kind.

The call takes the documented recovery path (the flow's ``flow_changed`` handler, else its start),
logged and counted, never silence; the session keeps the agent version the call started with.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.conftest import ROOT
from tests.integration.conftest import CONVERSATION, activity, start_event

BASE = f"/demo/conversation/{CONVERSATION}"


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bot_api: Any) -> Path:
    from audiocodes_endpoint.wiring import runtime

    copy = tmp_path / "agent"
    shutil.copytree(ROOT / "agent", copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("AGENT_DIR", str(copy))
    runtime.cache_clear()
    return copy


def deploy(agent: Path, change: Any) -> None:
    """A new version of the flow; the next request runs in an environment that loaded it."""
    from audiocodes_endpoint.wiring import runtime

    path = agent / "flows" / "main.yaml"
    flow = yaml.safe_load(path.read_text())
    change(flow)
    path.write_text(yaml.safe_dump(flow, sort_keys=False))
    runtime.cache_clear()


def texts(answer: dict[str, Any]) -> list[str]:
    return [a.get("text", "") for a in answer["activities"] if a["type"] == "message"]


def session_state(sessions_table: str) -> dict[str, Any]:
    item = boto3.client("dynamodb").get_item(TableName=sessions_table, Key={"id": {"S": f"demo/{CONVERSATION}"}})
    return dict(json.loads(item["Item"]["state"]["S"]))


def started_call(call: Any) -> None:
    """A call waiting at main:consent (a question)."""
    assert call("POST", "/demo", {"conversation": CONVERSATION})[0] == 200
    status, answer = call("POST", f"{BASE}/activities", {"activities": [start_event()]})
    assert status == 200 and any("record this call" in text for text in texts(answer))


def test_a_question_turned_into_a_say_restarts_the_flow_logged_and_counted(
    call: Any, agent: Path, sessions_table: str, log_output: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a live call waiting on the consent question, started with the shipped agent
    started_call(call)
    version_at_start = session_state(sessions_table)["agent_version"]
    assert version_at_start

    # When a deploy turns that question into a plain announcement, and the caller answers
    def consent_becomes_a_say(flow: dict[str, Any]) -> None:
        flow["nodes"]["consent"] = {"type": "say", "text": "We record calls to improve our service.", "next": "menu"}

    deploy(agent, consent_becomes_a_say)
    status, answer = call("POST", f"{BASE}/activities", {"activities": [activity(text="yes")]})

    # Then the call starts the flow again (main has no flow_changed handler): the caller is greeted
    # and reaches the menu, no apology, no silence
    said = " ".join(texts(answer))
    assert status == 200 and "Welcome to Example Bank" in said and "For your account balance" in said
    assert "Sorry, something went wrong" not in said
    # and the recovery is logged with what the call waited on, and counted
    logged = [json.loads(line) for line in log_output.getvalue().splitlines() if line.startswith("{")]
    (warning,) = [entry for entry in logged if entry["message"].startswith("the node this call waited on changed")]
    assert warning["waited_on"] == {"flow": "main", "node": "consent", "kind": "question", "now": "say"}
    assert warning["agent_version_at_start"] == version_at_start != warning["agent_version"]
    assert '"FlowRecoveries"' in capsys.readouterr().out  # the EMF metric Powertools printed
    # and the session still says which agent the call started with
    assert session_state(sessions_table)["agent_version"] == version_at_start


def test_a_removed_node_takes_the_flow_s_own_flow_changed_handler(call: Any, agent: Path, sessions_table: str) -> None:
    # Given a live call waiting on the consent question
    started_call(call)

    # When a deploy removes that node and gives the flow a flow_changed handler
    def consent_removed_with_a_handler(flow: dict[str, Any]) -> None:
        del flow["nodes"]["consent"]
        flow["nodes"]["greet"]["next"] = "menu"
        flow["events"]["flow_changed"] = "updated"
        flow["nodes"]["updated"] = {"type": "say", "text": "We have just updated this service.", "next": "menu"}

    deploy(agent, consent_removed_with_a_handler)
    status, answer = call("POST", f"{BASE}/activities", {"activities": [activity(text="yes")]})

    # Then the handler speaks, and the call goes on at the menu
    assert status == 200
    said = texts(answer)
    assert said[0] == "We have just updated this service." and "For your account balance" in said[1]
