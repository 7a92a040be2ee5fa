"""The phone simulator's pure parts: rendering, command parsing, and VAIC's URL resolution.

No network: these functions take and return plain values.
"""

from datetime import UTC, datetime

import pytest

from audiocodes_devtools.phone import (
    Ending,
    HangUp,
    Invalid,
    PressDigits,
    Refresh,
    Say,
    SendEvent,
    ShowHelp,
    Silence,
    Wait,
    ending_for,
    parse_command,
    render_activity,
    render_ws_activity,
)
from audiocodes_devtools.vaic import (
    BotProtocolError,
    check_bot_activities,
    event_activity,
    message_activity,
    parse_create_answer,
    resolve_url,
    resolve_websocket_url,
    stamp,
    start_activity,
    utc_timestamp,
)


def bot_event(name: str, **fields: object) -> dict[str, object]:
    return {"id": "a1", "timestamp": "2024-12-04T15:07:55.145Z", "type": "event", "name": name, **fields}


def bot_message(text: str, **fields: object) -> dict[str, object]:
    return {"id": "a1", "timestamp": "2024-12-04T15:07:55.145Z", "type": "message", "text": text, **fields}


# -- render_activity -----------------------------------------------------------------------------


def test_plain_message_renders_as_bot_speech() -> None:
    # Given a message from the bot
    activity = bot_message("Hello there")
    # When it is rendered
    line = render_activity(activity)
    # Then it reads as what the caller hears
    assert line == "bot  > Hello there"


def test_ssml_message_shows_the_spoken_text_and_an_ssml_marker() -> None:
    # Given a message whose text is SSML, with a break between two words and an entity
    ssml = '<speak>Hello<break time="500ms"/>there &amp; <emphasis>welcome</emphasis></speak>'
    activity = bot_message(ssml)
    # When it is rendered
    line = render_activity(activity)
    # Then the tags are gone, the break is a space, the entity is decoded, and it is marked
    assert line == "bot  > [ssml] Hello there & welcome"


def test_message_shows_activity_and_session_params_compactly() -> None:
    # Given a message switching language for this prompt and barge-in for the session
    activity = bot_message("Hallo", activityParams={"language": "de-DE"}, sessionParams={"bargeIn": True})
    # When it is rendered
    line = render_activity(activity)
    # Then both parameter scopes follow the text as compact JSON
    assert line == 'bot  > Hallo  {"language":"de-DE"}  session {"bargeIn":true}'


def test_hangup_shows_its_reason() -> None:
    # Given a hangup event with a reason
    activity = bot_event("hangup", activityParams={"hangupReason": "completed"})
    # When it is rendered / Then the reason is in words, not JSON
    assert render_activity(activity) == "bot  ~ hangup (reason: completed)"


def test_hangup_without_reason_is_just_hangup() -> None:
    assert render_activity(bot_event("hangup")) == "bot  ~ hangup"


def test_transfer_shows_target_reason_headers_and_referrer() -> None:
    # Given a transfer with every documented parameter
    activity = bot_event(
        "transfer",
        activityParams={
            "transferTarget": "tel:+4930123",
            "handoverReason": "agent",
            "transferSipHeaders": [{"name": "X-A", "value": "1"}, {"name": "X-B", "value": "2"}],
            "transferReferredByURL": "sip:9@ac",
        },
    )
    # When it is rendered
    line = render_activity(activity)
    # Then the target leads and the rest reads as a list
    expected = "bot  ~ transfer -> tel:+4930123 (reason: agent, headers X-A=1, X-B=2, referred by sip:9@ac)"
    assert line == expected


def test_handover_renders_like_transfer_under_its_own_name() -> None:
    activity = bot_event("handover", activityParams={"transferTarget": "sip:agent@pbx"})
    assert render_activity(activity) == "bot  ~ handover -> sip:agent@pbx"


def test_play_url_shows_url_and_format_and_other_params() -> None:
    # Given a playUrl with alt text besides URL and format
    activity = bot_event(
        "playUrl",
        activityParams={
            "playUrlUrl": "https://cdn.example.com/a.wav",
            "playUrlMediaFormat": "wav/lpcm16",
            "playUrlAltText": "a chime",
        },
    )
    # When it is rendered
    line = render_activity(activity)
    # Then URL and format are in words and the remaining params stay visible
    assert line == 'bot  ~ playUrl https://cdn.example.com/a.wav (wav/lpcm16)  {"playUrlAltText":"a chime"}'


def test_config_shows_its_session_params() -> None:
    activity = bot_event("config", sessionParams={"userNoInputTimeoutMS": 5000, "sendDTMF": True})
    assert render_activity(activity) == 'bot  ~ config  session {"userNoInputTimeoutMS":5000,"sendDTMF":true}'


def test_other_events_show_name_value_and_params_as_json() -> None:
    # Given events the phone has no special rendering for
    send_dtmf = bot_event("sendDtmf", activityParams={"dtmfDigits": "123"})
    metadata = bot_event("sendMetaData", value={"case": 42})
    # When they are rendered / Then the name leads and the payload follows as JSON
    assert render_activity(send_dtmf) == 'bot  ~ sendDtmf  {"dtmfDigits":"123"}'
    assert render_activity(metadata) == 'bot  ~ sendMetaData value={"case":42}'


def test_activity_of_unknown_type_is_shown_raw() -> None:
    assert render_activity({"type": "typing"}) == 'bot  ? {"type":"typing"}'


def test_websocket_activity_shows_delay_since_last_post() -> None:
    # Given a message pushed 0.413 s after the last POST
    activity = bot_message("Let me check")
    # When it is rendered as a WebSocket activity / Then the delay is appended
    assert render_ws_activity(activity, 0.413) == "bot  > Let me check (ws +0.41s)"
    assert render_ws_activity(activity, None) == "bot  > Let me check (ws)"


# -- how the call ends -----------------------------------------------------------------------------


def test_bot_hangup_transfer_and_handover_end_the_call_with_their_reason_codes() -> None:
    hangup = bot_event("hangup", activityParams={"hangupReason": "completed"})
    transfer = bot_event("transfer", activityParams={"transferTarget": "tel:+4930123"})
    assert ending_for(hangup) == Ending("bot-disconnected", "completed")
    assert ending_for(transfer) == Ending("transferred", "transferred to tel:+4930123", transfer=True)
    assert ending_for(bot_event("handover")) == Ending("transferred", "transferred to unknown", transfer=True)


def test_messages_and_other_events_do_not_end_the_call() -> None:
    assert ending_for(bot_message("hangup")) is None
    assert ending_for(bot_event("config")) is None


# -- parse_command ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("I want to pay my bill", Say("I want to pay my bill")),
        ("  padded  \n", Say("padded")),
        ("#123", PressDigits("123")),
        ("#12*#", PressDigits("12*#")),
        ("/silence", Silence()),
        ("/refresh", Refresh()),
        ("/hangup", HangUp()),
        ("/help", ShowHelp()),
        ('/event x {"a":1}', SendEvent("x", {"a": 1})),
        ("/event transferStatus 3", SendEvent("transferStatus", 3)),
        ("/event playFinished", SendEvent("playFinished")),
        ("/wait", Wait(1.0)),
        ("/wait 2.5", Wait(2.5)),
    ],
)
def test_typed_lines_become_commands(line: str, command: object) -> None:
    assert parse_command(line) == command


def test_blank_line_is_no_command() -> None:
    assert parse_command("   \n") is None


@pytest.mark.parametrize(
    "line", ["#12x", "#", "/event", "/event x {not json", "/wait soon", "/wait -1", "/dance", "/hangup now"]
)
def test_malformed_lines_are_invalid_not_sent(line: str) -> None:
    assert isinstance(parse_command(line), Invalid)


# -- URL resolution (RFC 3986, as VAIC resolves the create answer) -------------------------------


@pytest.mark.parametrize(
    ("bot_url", "relative", "resolved"),
    [
        # Without a trailing slash the last segment is replaced...
        ("https://h/demo", "conversation/c1/activities", "https://h/conversation/c1/activities"),
        ("https://h/demo", "demo/conversation/c1/activities", "https://h/demo/conversation/c1/activities"),
        # ...with one it is kept.
        ("https://h/demo/", "conversation/c1/activities", "https://h/demo/conversation/c1/activities"),
        # Behind an API Gateway stage the stage survives relative URLs...
        (
            "https://h/Prod/demo",
            "demo/conversation/c1/activities",
            "https://h/Prod/demo/conversation/c1/activities",
        ),
        ("https://h/Prod/demo", "conversation/c1/activities", "https://h/Prod/conversation/c1/activities"),
        # ...but an absolute path drops it.
        (
            "https://h/Prod/demo",
            "/demo/conversation/c1/activities",
            "https://h/demo/conversation/c1/activities",
        ),
        ("https://h/Prod/demo", "https://other/x/activities", "https://other/x/activities"),
    ],
)
def test_relative_urls_resolve_against_the_bot_url(bot_url: str, relative: str, resolved: str) -> None:
    assert resolve_url(bot_url, relative) == resolved


@pytest.mark.parametrize(
    ("bot_url", "url", "resolved"),
    [
        ("https://h/Prod/demo", "demo/conversation/c1/ws", "wss://h/Prod/demo/conversation/c1/ws"),
        (
            "http://127.0.0.1:3000/demo",
            "demo/conversation/c1/ws",
            "ws://127.0.0.1:3000/demo/conversation/c1/ws",
        ),
        ("https://h/Prod/demo", "wss://ws.h/Prod?conversation=c1", "wss://ws.h/Prod?conversation=c1"),
        ("http://h/demo", "ws://h:3001/", "ws://h:3001/"),
    ],
)
def test_websocket_url_resolves_like_others_then_becomes_ws(bot_url: str, url: str, resolved: str) -> None:
    assert resolve_websocket_url(bot_url, url) == resolved


def test_websocket_url_with_another_scheme_is_a_protocol_error() -> None:
    with pytest.raises(BotProtocolError, match="scheme"):
        resolve_websocket_url("https://h/demo", "ftp://h/ws")


def test_create_answer_is_checked_and_resolved() -> None:
    # Given a create answer with relative URLs, behind a stage
    answer = {
        "activitiesURL": "demo/conversation/c1/activities",
        "refreshURL": "demo/conversation/c1/refresh",
        "disconnectURL": "demo/conversation/c1/disconnect",
        "expiresSeconds": 60,
        "websocketURL": "demo/conversation/c1/websocket",
    }
    # When it is parsed
    urls = parse_create_answer("https://h/Prod/demo", answer)
    # Then every URL is absolute under the stage, the socket one as wss
    assert urls.activities_url == "https://h/Prod/demo/conversation/c1/activities"
    assert urls.refresh_url == "https://h/Prod/demo/conversation/c1/refresh"
    assert urls.disconnect_url == "https://h/Prod/demo/conversation/c1/disconnect"
    assert urls.websocket_url == "wss://h/Prod/demo/conversation/c1/websocket"
    assert urls.expires_seconds == 60


@pytest.mark.parametrize(
    "change",
    [
        {"activitiesURL": None},
        {"refreshURL": 3},
        {"expiresSeconds": 0},
        {"expiresSeconds": True},
        {"websocketURL": 1},
    ],
)
def test_create_answer_missing_what_vaic_needs_is_a_protocol_error(change: dict[str, object]) -> None:
    answer = {"activitiesURL": "a", "refreshURL": "r", "disconnectURL": "d", "expiresSeconds": 60, **change}
    with pytest.raises(BotProtocolError):
        parse_create_answer("https://h/demo", answer)


# -- what the client sends and accepts ------------------------------------------------------------


def test_start_event_carries_the_call_details() -> None:
    # Given a call from a number without display name
    # When the start event is built
    activity = start_activity("c1", "+4921154591991", "+493040739365", extra_parameters={"X-Case": "7"})
    # Then it matches VAIC's captured start event, plus the SIP-header extra
    assert activity == {
        "type": "event",
        "name": "start",
        "language": "en-US",
        "parameters": {
            "caller": "+4921154591991",
            "callee": "+493040739365",
            "callerHost": "sip.example.com",
            "calleeHost": "vaic.example.com",
            "callerDisplayName": "+4921154591991",
            "vaigConversationId": "c1",
            "X-Case": "7",
        },
    }


def test_speech_and_events_have_the_documented_shape() -> None:
    assert message_activity("yes", 0.87) == {
        "type": "message",
        "text": "yes",
        "parameters": {"confidence": 0.87},
    }
    assert event_activity("DTMF", "123") == {"type": "event", "name": "DTMF", "value": "123"}
    assert event_activity("voiceDetected") == {"type": "event", "name": "voiceDetected"}


def test_stamp_adds_id_and_millisecond_utc_timestamp_but_keeps_given_ones() -> None:
    fresh = stamp({"type": "message", "text": "hi"})
    assert len(fresh["id"]) == 36
    assert fresh["timestamp"].endswith("Z") and len(fresh["timestamp"]) == len("2024-12-04T15:07:55.145Z")
    assert stamp({"id": "same", "timestamp": "t"}) == {"id": "same", "timestamp": "t"}
    assert utc_timestamp(datetime(2024, 12, 4, 15, 7, 55, 145000, tzinfo=UTC)) == "2024-12-04T15:07:55.145Z"


def test_empty_answer_means_no_activities_and_a_valid_one_passes() -> None:
    assert check_bot_activities("c1", {}) == []
    answer = {"conversation": "c1", "activities": [bot_message("hi")]}
    assert check_bot_activities("c1", answer) == [bot_message("hi")]


@pytest.mark.parametrize(
    "answer",
    [
        {"conversation": "other", "activities": []},
        {"activities": {}},
        {"activities": [{"type": "message", "text": "no id", "timestamp": "2024-12-04T15:07:55.145Z"}]},
        {"activities": [{**bot_message("x"), "timestamp": "yesterday"}]},
        {"activities": [{**bot_message("x"), "timestamp": "2024-12-04T15:07:55.145"}]},
        {"activities": [{**bot_message("x"), "text": None}]},
        {"activities": [{**bot_event("x"), "name": ""}]},
        {"activities": [{**bot_event("x"), "type": "command"}]},
        {"activities": [bot_event("config", sessionParams=[])]},
    ],
)
def test_answers_a_vaic_could_not_rely_on_are_protocol_errors(answer: dict[str, object]) -> None:
    with pytest.raises(BotProtocolError):
        check_bot_activities("c1", answer)
