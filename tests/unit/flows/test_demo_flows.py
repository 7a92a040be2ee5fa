"""The demo agent (agent/flows) walked through whole phone calls, against the local accounts stub."""

from __future__ import annotations

import time
from typing import Any

import pytest

from audiocodes_endpoint.channel.audiocodes import Activity
from audiocodes_endpoint.flows import FlowEngine, FlowInput, FlowState, TurnOptions, load_agent

from .support import DEMO_AGENT, Call, ev, say

SETUP = [
    ev("config", sessionParams={"userNoInputTimeoutMS": 8000, "userNoInputRetries": 3, "userNoInputSendEvent": True}),
    ev(
        "config",
        sessionParams={
            "sttSpeechContexts": [{"phrases": ["balance", "account balance", "agent", "human"], "boost": 10}]
        },
    ),
    ev(
        "config",
        sessionParams={
            "sendDTMF": True,
            "dtmfCollect": True,
            "dtmfCollectInterDigitTimeoutMS": 2500,
            "dtmfCollectMaxDigits": 10,
            "dtmfCollectSubmitDigit": "#",
        },
    ),
    ev("config", sessionParams={"bargeIn": True, "bargeInOnDTMF": True, "sendDTMF": True}),
    ev(
        "playUrl",
        activityParams={
            "playUrlUrl": "https://example.com/audio/welcome.wav",
            "playUrlMediaFormat": "wav/lpcm16",
            "playUrlAltText": "(Example Bank jingle)",
        },
    ),
]
CONSENT = say(
    "To improve our service we would like to record this call. Is that okay? "
    "Say yes or no, or press 1 for yes and 2 for no."
)
MENU = say("For your account balance, press 1 or say balance. To talk to one of our team, press 2 or say agent.")
ASK_ACCOUNT = say("Please say or key in your account number, followed by the hash key.")
HOLD_ON = ev(  # bot_delay with the account question: VAIC covers the slow lookup after the answer
    "config",
    sessionParams={"botNoInputTimeoutMS": 2500, "botNoInputSpeech": "One moment please, I'm still looking that up."},
)
ANYTHING_ELSE = say("Is there anything else I can help you with?")
GOODBYE = [
    say("Thank you for calling Example Bank. Goodbye!"),
    ev("hangup", activityParams={"hangupReason": "Caller said goodbye"}),
]


def caller(country: str | None, http_stub: str, **variables: str) -> Call:
    metadata: dict[str, Any] = {"valid": country is not None}
    if country:
        metadata["country"] = country
    options = TurnOptions(allow_private_network=True, variables={"accounts_api_url": http_stub, **variables})
    return Call(load_agent(DEMO_AGENT), options=options, context={"call": {"numberMetaData": metadata}})


def test_german_caller_checks_the_balance_by_keys_and_says_goodbye(http_stub: str) -> None:
    call = caller("DE", http_stub)
    # Given a German caller, When the call starts, Then settings, jingle, a German-aware greeting, consent
    assert call.start() == [
        *SETUP,
        say("Guten Tag! Welcome to Example Bank. Thanks for calling us from Germany."),
        CONSENT,
    ]
    # When they agree to recording, Then recording starts and the menu follows
    assert call.says("yes") == [
        ev("startCallRecording", activityParams={"callRecordingId": "conv-1"}),
        say("Thank you."),
        MENU,
    ]
    # When they press 1 and key their account number, Then the balance from the accounts API
    assert call.keys("1") == [HOLD_ON, ASK_ACCOUNT]
    assert call.keys("1234#") == [say("Thanks, Ada. Your balance is 1,234 euros and 50 cents."), ANYTHING_ELSE]
    assert call.context["account"]["body"]["name"] == "Ada"
    # When they say no more, Then goodbye and hang-up
    assert call.says("no thanks") == GOODBYE
    assert call.state.ended
    # When VAIC disconnects, Then the cleanup path runs silently
    assert call.hang_up("Caller hung up") == []
    assert call.context["ended"] == {"reason": "Caller hung up", "reasonCode": "client-disconnected"}


def test_american_caller_asks_for_a_human_and_the_transfer_fails(http_stub: str) -> None:
    call = caller("US", http_stub, agent_number="(415) 555-0100")
    assert call.start()[-2:] == [
        say("Hello! Welcome to Example Bank. Thanks for calling us from the United States."),
        CONSENT,
    ]
    assert call.keys("2") == [say("No problem, this call will not be recorded."), MENU]
    # When they ask for a human in their own words
    assert call.says("I want to talk to a real person") == [
        say("Let me connect you with one of our team. Please hold."),
        ev("sendMetaData", value={"reason": "agent_requested", "account": ""}),
        ev(
            "transfer",
            activityParams={
                "transferTarget": "tel:+14155550100",
                "handoverReason": "Caller asked for an agent",
                "transferSipHeaders": [
                    {"name": "X-Account-Id", "value": "unknown"},
                    {"name": "X-Caller-Country", "value": "US"},
                ],
            },
        ),
    ]
    assert call.state.ended
    # When VAIC reports the transfer failed, Then the flow takes the call back
    failed = {"status": "failed", "reasonCode": "busy", "reason": "Busy Here"}
    assert call.event("transferStatus", failed) == [
        say("I'm sorry, all of our team are busy right now."),
        ANYTHING_ELSE,
    ]
    # When they say goodbye (a global intent), Then goodbye
    assert call.says("goodbye") == GOODBYE


def test_spoken_menu_choice_unknown_account_and_back_to_the_menu(http_stub: str) -> None:
    call = caller(None, http_stub)
    assert call.start()[-2:] == [say("Hello! Welcome to Example Bank."), CONSENT]
    call.says("no")
    assert call.says("what's my balance") == [HOLD_ON, ASK_ACCOUNT]
    # When the account number is too short, Then a reprompt
    assert call.says("12") == [say("Sorry, an account number has 4 to 10 digits. Please try again.")]
    # When it does not exist, Then the flow says so
    assert call.says("five five five five") == [
        say('I couldn\'t find an account with the number <say-as interpret-as="characters">5555</say-as>.'),
        ANYTHING_ELSE,
    ]
    # When they want more, Then the menu again
    assert call.says("yes please") == [MENU]


def test_account_system_down(http_stub: str) -> None:
    call = caller("DE", "http://127.0.0.1:9")  # nothing listens on the discard port
    call.start()
    call.says("yes")
    call.keys("1")
    assert call.keys("1234") == [say("Sorry, I can't reach our account system right now."), ANYTHING_ELSE]


def test_silence_reprompts_then_hangs_up(http_stub: str) -> None:
    call = caller("DE", http_stub)
    call.start()
    call.says("yes")
    still_there = say("Are you still there? Press 1 for your balance, or 2 to talk to someone.")
    assert call.silence(1) == [still_there]
    assert call.silence(2) == [still_there]
    assert call.silence(3) == [
        say("I haven't heard from you, so I'll end the call now. Goodbye!"),
        ev("hangup", activityParams={"hangupReason": "No input from the caller"}),
    ]


def test_misunderstood_menu_goes_to_a_human(http_stub: str) -> None:
    call = caller("DE", http_stub)
    call.start()
    call.says("yes")
    sorry = say("Sorry, I didn't get that. Press 1 for your balance, or 2 to talk to someone.")
    assert call.says("pizza") == [sorry]
    assert call.keys("7") == [sorry]
    assert call.says("tell me a joke")[:1] == [say("Let me connect you with one of our team. Please hold.")]


def test_help_is_answered_and_the_question_keeps_waiting(http_stub: str) -> None:
    call = caller("DE", http_stub)
    call.start()
    call.says("yes")
    call.keys("1")
    assert call.says("what can you do") == [
        say("I can tell you your account balance, or put you through to one of our team.")
    ]
    assert call.keys("98765") == [say("Thanks, Bob. Your balance is minus 20 dollars."), ANYTHING_ELSE]


def test_opt_in_events_do_not_disturb_the_call(http_stub: str) -> None:
    call = caller("DE", http_stub)
    call.start()
    assert call.event("playUrlFailed", {"reason": "404", "playUrlUrl": "https://example.com/audio/welcome.wav"}) == []
    assert call.event("playFinished") == []
    assert call.context["audio_failed"] is True and call.context["last_event"] == "playFinished"
    assert call.says("yes")[-1] == MENU


def test_async_demo_speaks_before_the_slow_lookup(http_stub: str) -> None:
    # Given the async demo flow and an emit that records when each output was produced
    agent = load_agent(DEMO_AGENT)
    engine = FlowEngine(agent)
    options = TurnOptions(allow_private_network=True, variables={"accounts_api_url": http_stub})
    emitted: list[tuple[float, Activity]] = []

    def emit(activity: Activity) -> None:
        emitted.append((time.monotonic(), activity))

    def turn(state: FlowState, **fields: Any) -> FlowState:
        inp = FlowInput(userId="u", sessionId="s", URLToken="demo", **fields)
        return engine.run_turn("async_demo", state, inp, {}, emit, options).state

    state = turn(FlowState(), kind="event", event="start")
    assert [a.name or a.text for _, a in emitted] == [
        "config",  # the events the flow handles (sendEventsToBot)
        "config",
        "Welcome to Example Bank's balance line. Please say or key in your account number.",
    ]
    emitted.clear()
    # When the caller keys the account number
    state = turn(state, kind="event", event="DTMF", text="1234")
    # Then "let me check" was emitted at once, the answer ~1.5 s later, then goodbye and hang-up
    assert [a.text or a.name for _, a in emitted] == [
        "Let me check that for you.",
        "Thanks, Ada. Your balance is 1,234 euros and 50 cents.",
        "Thank you for calling Example Bank. Goodbye!",
        "hangup",
    ]
    assert emitted[1][0] - emitted[0][0] == pytest.approx(1.5, abs=0.4)
    assert state.ended
