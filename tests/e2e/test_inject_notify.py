"""Inject & Notify end to end: another system speaks into a live call through the emulator."""

import pytest

pytestmark = pytest.mark.e2e


def said(frames):
    return [a.get("text") for f in frames for a in f.activities if (a.get("text") or "").startswith("You said")]


def connected_echo_call(emulator):
    vaic = emulator.client("echo-async")
    call = vaic.create()
    call.open_socket()
    call.start(caller="+4921154591991")
    call.frames(10, until=lambda f: "Say something" in (f.activities[0].get("text") or ""))
    return vaic, call


def test_inject_runs_through_the_flow_and_notify_goes_straight_to_the_caller(emulator):
    vaic, call = connected_echo_call(emulator)
    with vaic, call:
        assert emulator.inject("inject", "echo-async", call.conversation_id, text="from the CRM").status_code == 202
        frames = call.frames(10, until=lambda f: "Say something" in (f.activities[0].get("text") or ""))
        assert said(frames) == ["You said from the CRM"]
        notified = emulator.inject("notify", "echo-async", call.conversation_id, text="A note for you")
        assert notified.status_code == 202
        frames = call.frames(10, until=lambda f: f.activities[0].get("text") == "A note for you")
        assert [a["text"] for f in frames for a in f.activities] == ["A note for you"]  # no flow output


def test_injects_are_ordered_with_the_callers_turns(emulator):
    vaic, call = connected_echo_call(emulator)
    with vaic, call:
        call.say("one")
        emulator.inject("inject", "echo-async", call.conversation_id, text="two")
        call.say("three")
        frames = call.frames(15, until=lambda f: "You said three" in (f.activities[0].get("text") or ""))
        assert said(frames) == ["You said one", "You said two", "You said three"]


def test_a_burst_of_twenty_injects_arrives_in_order(emulator):
    vaic, call = connected_echo_call(emulator)
    with vaic, call:
        for i in range(20):
            assert emulator.inject("inject", "echo-async", call.conversation_id, text=f"i{i}").status_code == 202
        frames = call.frames(30, until=lambda f: "You said i19" in (f.activities[0].get("text") or ""))
        assert said(frames) == [f"You said i{i}" for i in range(20)]


def test_after_the_call_ends_inject_is_refused(emulator):
    vaic, call = connected_echo_call(emulator)
    with vaic, call:
        call.disconnect()
        answer = emulator.inject("notify", "echo-async", call.conversation_id, text="too late")
        assert answer.status_code == 409
