import re
from urllib.parse import urljoin

import pytest
from pydantic import ValidationError

from audiocodes_endpoint.channel import audiocodes as protocol

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_outbound_activities_carry_unique_ids_and_millisecond_utc_timestamps():
    # Given two messages built in a row
    first, second = protocol.message("Hi"), protocol.message("Hi")
    # Then each has its own id and a timestamp in VAIC's format
    assert first.id != second.id
    assert TIMESTAMP.match(first.timestamp)
    assert first.to_wire() == {"type": "message", "id": first.id, "timestamp": first.timestamp, "text": "Hi"}


def test_events_serialise_without_empty_fields():
    hangup = protocol.event("hangup", activity_params={"hangupReason": "done"})
    wire = hangup.to_wire()
    assert wire["type"] == "event" and wire["name"] == "hangup"
    assert wire["activityParams"] == {"hangupReason": "done"}
    assert "sessionParams" not in wire and "value" not in wire and "text" not in wire
    assert hangup.ends_call and protocol.event("transfer").ends_call and not protocol.message("x").ends_call


@pytest.mark.parametrize(
    ("bot_url", "trailing_slash"),
    [
        ("https://api.example.com/demo", False),
        ("https://api.example.com/demo/", True),
        ("https://api.example.com/Prod/demo", False),
        ("https://api.example.com/Prod/demo/", True),
    ],
)
def test_conversation_urls_resolve_under_the_bot_url_with_or_without_trailing_slash(bot_url, trailing_slash):
    # Given the URLs handed out for a bot URL configured either way
    urls = protocol.conversation_urls(
        url_token="demo", conversation="c1", bot_url_has_trailing_slash=trailing_slash, expires_seconds=120
    )
    # When VAIC resolves them per RFC 3986
    resolved = urljoin(bot_url, urls.activitiesURL)
    # Then they land under the bot URL's path
    assert resolved == bot_url.rstrip("/") + "/conversation/c1/activities"
    assert urljoin(bot_url, urls.refreshURL).endswith("/demo/conversation/c1/refresh")
    assert urljoin(bot_url, urls.disconnectURL).endswith("/demo/conversation/c1/disconnect")


def test_message_activity_maps_to_caller_input_with_confidence():
    activity = protocol.InboundActivity.model_validate(
        {"id": "a1", "type": "message", "text": " hello ", "parameters": {"confidence": 0.87}}
    )
    caller_input = protocol.to_caller_input(activity)
    assert caller_input is not None
    assert (caller_input.type, caller_input.text, caller_input.confidence) == ("message", "hello", 0.87)


def test_dtmf_event_carries_digits_as_text_and_lower_case_spelling_is_tolerated():
    for name in ("DTMF", "dtmf"):
        activity = protocol.InboundActivity(id="a", type="event", name=name, value="123")
        caller_input = protocol.to_caller_input(activity)
        assert caller_input is not None
        assert (caller_input.event, caller_input.text, caller_input.value) == ("DTMF", "123", "123")


def test_start_event_exposes_the_caller():
    activity = protocol.InboundActivity(id="a", type="event", name="start", parameters={"caller": "+4930123"})
    caller_input = protocol.to_caller_input(activity)
    assert caller_input is not None and caller_input.is_start and caller_input.caller == "+4930123"


def test_unknown_activity_kinds_are_not_mapped():
    assert protocol.to_caller_input(protocol.InboundActivity(id="a", type="typing")) is None
    assert protocol.to_caller_input(protocol.InboundActivity(id="a", type="event")) is None


@pytest.mark.parametrize("conversation", ["", "a/b", "x" * 129, "with space"])
def test_conversation_ids_that_cannot_be_a_path_segment_are_rejected(conversation):
    with pytest.raises(ValidationError):
        protocol.CreateConversationRequest(conversation=conversation)


def test_cognigy_audiocodes_envelopes_pass_activities_through_unchanged():
    activity = {"type": "event", "name": "playUrl", "activityParams": {"playUrlUrl": "https://x/a.wav"}, "custom": 1}
    for data in (
        {"_cognigy": {"_audioCodes": {"json": {"activities": [activity]}}}},
        {"_cognigy": {"_audiocodes": {"activities": [activity]}}},
        {"_cognigy": {"_voiceGateway": {"json": {"activities": [activity]}}}},
    ):
        activities = protocol.cognigy_activities({"text": "", "data": data})
        assert activities is not None
        wire = activities[0].to_wire()
        assert {k: wire[k] for k in activity} == activity  # unchanged, unknown fields included
        assert wire["id"] and TIMESTAMP.match(wire["timestamp"])
    assert protocol.cognigy_activities({"text": "plain"}) is None
