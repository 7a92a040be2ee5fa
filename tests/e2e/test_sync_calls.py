"""Whole calls against the emulator over real HTTP, as VoiceAI Connect makes them (sync mode)."""

import pytest

from audiocodes_devtools.vaic import VaicError

pytestmark = pytest.mark.e2e


def texts(activities):
    return [a.get("text") or a["name"] for a in activities]


def test_a_german_caller_gets_the_balance_by_dtmf_and_says_goodbye(emulator):
    with emulator.client("demo") as vaic, vaic.create() as call:
        greeting = call.start(caller="+4921154591991")
        assert any("Germany" in t for t in texts(greeting))
        assert "startCallRecording" in texts(call.say("yes"))
        assert "account number" in " ".join(texts(call.dtmf("1")))
        assert any("Jane Doe" in t and "1,234" in t for t in texts(call.say("12345")))
        bye = call.say("goodbye")
        assert bye[-1]["name"] == "hangup" and bye[-1]["activityParams"]["hangupReason"]
        call.disconnect("bot-disconnected", "hangup")


def test_asking_for_a_human_transfers_with_sip_headers(emulator):
    with emulator.client("demo") as vaic, vaic.create() as call:
        call.start(caller="+14155550100")
        call.say("no")
        transfer = call.say("I want to talk to an agent")[-1]
        assert transfer["name"] == "transfer"
        assert transfer["activityParams"]["transferTarget"].startswith(("tel:", "sip:"))
        assert transfer["activityParams"]["transferSipHeaders"]


def test_silence_reprompts(emulator):
    with emulator.client("demo") as vaic, vaic.create() as call:
        call.start(caller="anonymous")
        assert call.no_input(1), "the bot reprompts on noUserInput"


def test_wrong_token_is_refused_and_refresh_keeps_the_call(emulator):
    with emulator.client("demo", token="wrong") as vaic:
        with pytest.raises(VaicError) as refused:
            vaic.validate()
        assert refused.value.status == 401
    with emulator.client("demo") as vaic, vaic.create() as call:
        assert call.refresh() == 120
        call.disconnect()
        with pytest.raises(VaicError) as gone:
            call.say("hello?")
        assert gone.value.status == 404
