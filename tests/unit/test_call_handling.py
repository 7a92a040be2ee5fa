"""Endpoint call handling around the flow: failover on error, bot delay, call events, and Cognigy's
input object as a flow sees it, through the real conversation, turn pipeline and flow engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from audiocodes_endpoint.channel.audiocodes import InboundActivity
from audiocodes_endpoint.config.endpoint import EndpointSettings
from audiocodes_endpoint.core.call_handling import flow_problems
from audiocodes_endpoint.core.conversation import Conversations
from audiocodes_endpoint.flows import FlowEngine, load_agent
from tests.fakes.session_store import InMemorySessionStore
from tests.unit.flows.support import write_agent

FLOW = """
start: greet
events:
  disconnect: cleanup
  inject: injected
  voiceDetected: heard     # the endpoint's call_events win over this handler
nodes:
  heard:
    type: say
    text: flow handler
  greet:
    type: question
    text: "Hello {{ input.data.numberMetaData.country }}"
    store: answer
    next: echo
  echo:
    type: say
    text: >-
      kind={{ input.kind }} type={{ input.type }} mode={{ input.mode }} ep={{ input.endpointType }}
      id={{ input.inputId }} country={{ input.data.numberMetaData.country }}
    next: greet
  injected:
    type: say
    text: "event {{ input.data.event }} -> {{ input.data.why }}"
  crash:
    type: code
    function: boom.fail
  other:
    type: say
    text: other flow node
  cleanup:
    type: set
    context: {cleaned: true}
"""
BOOM = "def fail(**kwargs):\n    raise RuntimeError('down')\n"


def endpoint(**settings: Any) -> EndpointSettings:
    return EndpointSettings.model_validate(
        {"name": "t", "url_token": "t", "flow": "main", "bot_token": "env:X", "default_region": "DE", **settings}
    )


@pytest.fixture
def conversations(tmp_path: Path) -> Conversations:
    agent = load_agent(write_agent(tmp_path, {"main": FLOW}, extensions={"boom": BOOM}))
    return Conversations(store=InMemorySessionStore(), flows=FlowEngine(agent), _sleep=lambda _s: None)


def start() -> InboundActivity:
    return InboundActivity(id="a-start", type="event", name="start", parameters={"caller": "+4921154591991"})


def says(text: str, activity_id: str) -> InboundActivity:
    return InboundActivity(id=activity_id, type="message", text=text)


def vaic_event(name: str, activity_id: str, value: Any = None) -> InboundActivity:
    return InboundActivity(id=activity_id, type="event", name=name, value=value)


def texts(answer: list[dict[str, Any]]) -> list[str]:
    return [a.get("text") or a["name"] for a in answer]


def test_the_input_object_has_cognigy_fields_and_number_metadata_on_every_turn(conversations):
    settings = endpoint()
    conversations.create(settings, "c1")
    assert texts(conversations.handle(settings, "c1", [start()]))[-1] == "Hello DE"
    # When the caller answers on a later turn
    answer = conversations.handle(settings, "c1", [says("yes please", "m-1")])
    # Then Cognigy's names mean what they mean in Cognigy, ours are under `kind`, metadata is there
    assert answer[0]["text"] == ("kind=message type=pAnswer mode=TextData ep=audioCodes id=m-1 country=DE")


def test_failover_transfers_instead_of_apologising(conversations):
    # Given an endpoint with on_error: transfer (call failover) and a flow that fails
    settings = endpoint(
        on_error={
            "action": "transfer",
            "say": "Let me put you through.",
            "transfer": {"target": "030 1234567", "sip_headers": [{"name": "X-Failover", "value": "bot-error"}]},
        },
        call_events={"playFinished": {"action": "flow", "flow": "main", "node": "crash"}},
    )
    conversations.create(settings, "c1")
    conversations.handle(settings, "c1", [start()])
    # When the flow fails
    answer = conversations.handle(settings, "c1", [vaic_event("playFinished", "e-1")])
    # Then the caller is transferred (national number read in DE), with the SIP headers
    assert texts(answer) == ["Let me put you through.", "transfer"]
    assert answer[1]["activityParams"] == {
        "transferTarget": "tel:+49301234567",
        "handoverReason": "bot error",
        "transferSipHeaders": [{"name": "X-Failover", "value": "bot-error"}],
    }
    # And the call is over for the flow
    assert conversations.handle(settings, "c1", [says("hello", "m-2")]) == []


def test_default_on_error_is_the_apology(conversations):
    settings = endpoint(call_events={"playFinished": {"action": "flow", "flow": "main", "node": "crash"}})
    conversations.create(settings, "c1")
    conversations.handle(settings, "c1", [start()])
    answer = conversations.handle(settings, "c1", [vaic_event("playFinished", "e-1")])
    assert texts(answer) == [settings.apology_text, "hangup"]


def test_bot_delay_goes_out_in_the_first_answer(conversations):
    settings = endpoint(bot_delay={"timeout_ms": 3000, "speech": "One moment please.", "retries": 2})
    conversations.create(settings, "c1")
    first = conversations.handle(settings, "c1", [start()])[0]
    assert first["name"] == "config"
    assert first["sessionParams"] == {
        "botNoInputTimeoutMS": 3000,
        "botNoInputSpeech": "One moment please.",
        "botNoInputRetries": 2,
        "sendEventsToBot": ["noUserInput", "voiceDetected"],  # the question, the voiceDetected handler
        "userNoInputSendEvent": True,
    }


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        # inject data: the flow's `events.inject` handler gets it, with the VAIC event
        ({"action": "inject", "data": {"why": "speaking"}}, ["event voiceDetected -> speaking"]),
        # inject text: taken like the caller's speech by the waiting question
        ({"action": "inject", "text": "agent please"}, ["kind=inject", "Hello DE"]),
        ({"action": "flow", "flow": "main", "node": "other"}, ["other flow node"]),
        ({"action": "transfer", "transfer": {"target": "+1 415 555 0100"}}, ["transfer"]),
        ({"action": "nothing"}, []),
    ],
)
def test_call_events_map_a_vaic_event_to_an_action(conversations, setting, expected):
    settings = endpoint(call_events={"voiceDetected": setting})
    conversations.create(settings, "c1")
    first = conversations.handle(settings, "c1", [start()])
    # The endpoint asks VAIC for the event it maps (an opt-in event)
    assert first[0]["sessionParams"]["sendEventsToBot"] == ["noUserInput", "voiceDetected"]
    answer = conversations.handle(settings, "c1", [vaic_event("voiceDetected", "e-1")])
    assert [t.split(" ")[0] if t.startswith("kind=") else t for t in texts(answer)] == expected
    if setting["action"] == "transfer":
        assert answer[0]["activityParams"]["transferTarget"] == "tel:+14155550100"


def test_a_disconnect_reason_runs_its_mapped_flow_instead_of_the_flow_handler(conversations):
    settings = endpoint(
        call_events={"disconnect:machine-detected": {"action": "flow", "flow": "main", "node": "other"}}
    )
    conversations.create(settings, "c1")
    conversations.handle(settings, "c1", [start()])
    conversations.disconnect(settings, "c1", "machine-detected", "Answering machine")
    session = conversations.store.get("t", "c1")
    assert session is not None and "cleaned" not in session.context  # events.disconnect did not run
    conversations.create(settings, "c2")
    conversations.handle(settings, "c2", [start()])
    conversations.disconnect(settings, "c2", "client-disconnected", "Client Side")
    assert conversations.store.get("t", "c2").context["cleaned"] is True  # other reasons: the flow's handler


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"on_error": {"action": "transfer"}}, "needs `transfer"),
        ({"on_error": {"action": "transfer", "transfer": {"target": "12ab"}}}, "on_error.transfer.target"),
        ({"on_error": {"action": "apology", "say": "x"}}, "belong to `action: transfer`"),
        ({"call_events": {"start": {"action": "nothing"}}}, "start, message, inject and any_event"),
        ({"call_events": {"disconnect:gone": {"action": "nothing"}}}, "reasonCode is one of"),
        (
            {"call_events": {"disconnect": {"action": "transfer", "transfer": {"target": "+4930123456"}}}},
            "cannot be transferred",
        ),
        ({"call_events": {"voiceDetected": {"action": "flow"}}}, "needs `flow`"),
        ({"call_events": {"voiceDetected": {"action": "nothing", "text": "x"}}}, "do not belong"),
        ({"bot_delay": {"timeout_ms": 1000, "speech": "a", "url": "https://x/a.wav"}}, "not both"),
        ({"bot_delay": {"timeout_ms": 1000, "url": "ftp://x"}}, "url"),
    ],
)
def test_bad_call_handling_settings_are_refused_at_load(settings, message):
    with pytest.raises(ValidationError, match=message):
        endpoint(**settings)


def test_flow_problems_name_unreadable_national_targets_and_missing_flows(tmp_path: Path):
    flow = "start: t\nnodes:\n  t: {type: transfer, transferTarget: '030 1234567'}\n"
    agent = load_agent(write_agent(tmp_path, {"main": flow}))
    assert flow_problems(agent.flows, "de", "DE", {}) == []
    settings = endpoint(call_events={"playFinished": {"action": "flow", "flow": "nope"}})
    problems = flow_problems(agent.flows, "us", "US", settings.call_events)
    assert any("node 't': transferTarget" in p and "not a valid phone number in region US" in p for p in problems)
    assert any("call_events.playFinished.flow: no flow 'nope'" in p for p in problems)
