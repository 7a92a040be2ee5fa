import json

import pytest
from pydantic import ValidationError

from audiocodes_endpoint.config.call_limits import SessionPolicySettings
from audiocodes_endpoint.core.call_limits import FLOW_EVENT, HANGUP_REASON, CallLimitDecision, check_call_limit

START = 1_700_000_000.0


def check(settings, elapsed, state=None):
    return check_call_limit(settings, created_at=START, now=START + elapsed, state=state or {})


def wire(decision):
    return [(a.type, a.name, a.text, a.activityParams) for a in decision.activities]


def test_by_default_calls_are_unlimited():
    settings = SessionPolicySettings()
    assert (settings.max_call_seconds, settings.on_expiry, settings.force_hangup_after_seconds) == (0, "hangup", 60)
    assert check(settings, 10 * 86_400) == CallLimitDecision("continue", {})


@pytest.mark.parametrize(
    "document",
    [{"max_call_seconds": -1}, {"on_expiry": "transfer"}, {"expiry_message": ""}, {"max_call_secs": 60}],
)
def test_settings_are_checked(document):
    with pytest.raises(ValidationError):
        SessionPolicySettings.model_validate(document)


def test_a_call_under_the_limit_continues_and_keeps_its_state():
    decision = check(SessionPolicySettings(max_call_seconds=600), 599.9, {"other": 1})
    assert decision == CallLimitDecision("continue", {"other": 1})


def test_at_the_limit_hangup_says_the_message_and_hangs_up():
    # Given a 10-minute limit that hangs up
    settings = SessionPolicySettings(max_call_seconds=600, expiry_message="Time is up. Goodbye.")
    # When the call is exactly 10 minutes old
    decision = check(settings, 600)
    # Then the message is said and the call hung up with a reason VAIC reports
    assert decision.action == "hangup"
    assert wire(decision) == [
        ("message", None, "Time is up. Goodbye.", None),
        ("event", "hangup", None, {"hangupReason": HANGUP_REASON}),
    ]
    assert decision.state == {"hung_up_at": START + 600}
    assert decision.flow_event is None


def test_notify_flow_tells_the_flow_once():
    settings = SessionPolicySettings(max_call_seconds=600, on_expiry="notify_flow")
    first = check(settings, 601.5)
    assert first == CallLimitDecision(
        "notify_flow",
        {"notified_at": START + 601.5},
        flow_event={"type": "event", "event": FLOW_EVENT, "value": {"elapsedSeconds": 601, "maxCallSeconds": 600}},
    )
    # The state is what the session keeps: plain JSON
    assert json.loads(json.dumps(first.state)) == first.state
    assert check(settings, 630, first.state) == CallLimitDecision("continue", first.state)


def test_notify_flow_hangs_up_if_the_flow_lets_the_call_run_on():
    settings = SessionPolicySettings(max_call_seconds=600, on_expiry="notify_flow", force_hangup_after_seconds=60)
    notified = {"notified_at": START + 600}
    assert check(settings, 659, notified).action == "continue"
    forced = check(settings, 660, notified)
    assert forced.action == "hangup"
    assert forced.state == {"notified_at": START + 600, "hung_up_at": START + 660}
    assert wire(forced)[1] == ("event", "hangup", None, {"hangupReason": HANGUP_REASON})


def test_notify_flow_without_a_forced_hangup_leaves_the_end_to_the_flow():
    settings = SessionPolicySettings(max_call_seconds=600, on_expiry="notify_flow", force_hangup_after_seconds=0)
    assert check(settings, 86_400, {"notified_at": START + 600}).action == "continue"
