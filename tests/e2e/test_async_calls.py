"""Async mode end to end: HTTP answers {} at once, outputs arrive over the WebSocket VAIC opened."""

import time

import pytest

from audiocodes_devtools.vaic import Call, VaicClient, VaicError
from tests.e2e.waits import eventually, outbox_texts

pytestmark = pytest.mark.e2e


def frame_texts(frames):
    return [a.get("text") or a["name"] for f in frames for a in f.activities]


def until_text(fragment):
    return lambda frame: any(fragment in (a.get("text") or "") for a in frame.activities)


@pytest.mark.slow
def test_the_caller_hears_the_first_part_before_the_slow_lookup_returns(emulator):
    with emulator.client("demo-async") as vaic, vaic.create() as call:
        assert call.urls.websocket_url and call.urls.websocket_url.startswith("ws://")
        call.open_socket()
        assert call.start(caller="+4921154591991") == []
        call.frames(10, until=until_text("account number"))
        # When the caller gives an account number (the stub answers after 1.5 s)
        posted = time.monotonic()
        assert call.say("12345") == []
        answered = time.monotonic() - posted
        frames = call.frames(10, until=until_text("balance"))
        # Then the HTTP answer was immediate and "let me check" came well before the balance
        first = next(f for f in frames if "check" in frame_texts([f])[0])
        result = next(f for f in frames if "balance" in frame_texts([f])[0])
        assert answered < 1.0
        assert result.received_at - first.received_at > 1.0


def test_outputs_produced_before_the_socket_opens_arrive_when_it_does(emulator):
    with emulator.client("echo-async") as vaic, vaic.create() as call:
        call.start(caller="+4921154591991")
        # the dispatcher runs the turn with no socket to push to: its outputs wait in the outbox
        eventually(
            lambda: "Say something." in outbox_texts(emulator, "echo-async", call.conversation_id),
            "the start turn's outputs kept for the socket",
        )
        call.open_socket()
        frames = call.frames(10, until=until_text("Say something"))
        # the events request (the echo flow's question waits for noUserInput) comes first
        assert frame_texts(frames) == ["config", "Echo ready.", "Say something."]
        assert frames[0].activities[0]["sessionParams"]["sendEventsToBot"] == ["noUserInput"]


def test_a_burst_of_activities_is_answered_in_order(emulator):
    with emulator.client("echo-async") as vaic, vaic.create() as call:
        call.open_socket()
        call.start(caller="+4921154591991")
        call.frames(10, until=until_text("Say something"))
        for i in range(20):
            call.say(f"m{i}")
        frames = call.frames(20, until=until_text("You said m19"))
        said = [t for t in frame_texts(frames) if t.startswith("You said")]
        assert said == [f"You said m{i}" for i in range(20)]


def test_a_resent_activity_is_dropped(emulator):
    with emulator.client("echo-async") as vaic, vaic.create() as call:
        call.open_socket()
        call.start(caller="+4921154591991")
        call.frames(10, until=until_text("Say something"))
        call.say("once")
        call.resend(call.last_sent[0])
        call.say("after")
        frames = call.frames(10, until=until_text("You said after"))
        assert [t for t in frame_texts(frames) if t.startswith("You said")] == ["You said once", "You said after"]


def test_outputs_wait_while_the_socket_is_gone_and_arrive_on_reconnect(emulator):
    with emulator.client("echo-async") as vaic, vaic.create() as call:
        call.open_socket()
        call.start(caller="+4921154591991")
        call.frames(10, until=until_text("Say something"))
        call.close()  # the socket drops
        call.say("while away")
        eventually(
            lambda: "You said while away" in outbox_texts(emulator, "echo-async", call.conversation_id),
            "the answer kept while the socket is gone",
        )
        call.open_socket()  # VAIC reconnects
        frames = call.frames(10, until=until_text("You said while away"))
        assert "You said while away" in frame_texts(frames)


def test_disconnect_while_a_turn_runs_ends_the_call_and_closes_the_socket(emulator):
    with emulator.client("demo-async") as vaic, vaic.create() as call:
        call.open_socket()
        call.start(caller="+4921154591991")
        call.frames(10, until=until_text("account number"))
        call.say("12345")  # a 1.5 s lookup starts
        call.frames(5, until=until_text("check"))
        call.disconnect()  # ends the call once the running turn is saved
        # Then the lookup's turn finished and its answer went out, and then the socket was closed
        rest = call.frames(10)
        assert any("balance" in text for text in frame_texts(rest)), frame_texts(rest)
        assert not call.socket_open
        item = emulator.session("demo-async", call.conversation_id)
        assert item is not None and item["status"]["S"] == "ended"
        with pytest.raises(VaicError):
            call.say("hello?")


def test_connect_needs_the_right_token_and_a_live_conversation(emulator):
    with emulator.client("echo-async") as vaic, vaic.create() as call:
        intruder = Call(VaicClient(vaic.bot_url, "wrong"), call.conversation_id, call.urls, call.create_answer)
        with pytest.raises(VaicError) as refused:
            intruder.open_socket()
        assert refused.value.status == 401
        call.disconnect()
        with pytest.raises(VaicError) as ended:
            call.open_socket()
        assert ended.value.status == 404


def test_the_sync_endpoint_is_unchanged(emulator):
    with emulator.client("echo") as vaic, vaic.create() as call:
        assert call.urls.websocket_url is None
        first, *spoken = call.start(caller="+4921154591991")
        assert first["name"] == "config" and first["sessionParams"] == {
            "sendEventsToBot": ["noUserInput"],
            "userNoInputSendEvent": True,
        }
        assert [a["text"] for a in spoken] == ["Echo ready.", "Say something."]
        assert [a["text"] for a in call.say("hi")] == ["You said hi", "Say something."]
