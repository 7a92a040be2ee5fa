"""Which VoiceAI Connect events a flow needs, so the endpoint can ask for them.

VAIC sends many events only when the call's ``sendEventsToBot`` lists them ("If not configured,
VoiceAI Connect doesn't send them", AudioCodes: Controlling events sent to bot,
https://techdocs.audiocodes.com/voice-ai-connect/Content/VAIG_Combined/controlling_events_to_bot.htm).
A flow author never lists them by hand: the events a flow handles (``events:``) and the events its
nodes wait for (a question takes ``noUserInput``) are derived here, at load, once per flow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from audiocodes_endpoint.flows.model import Flow

OPT_IN_EVENTS: frozenset[str] = frozenset(
    {
        # The values AudioCodes lists for sendEventsToBot (controlling_events_to_bot.htm).
        "agentConnected",
        "conversationEnd",
        "dialoutInitiated",
        "noUserInput",
        "playFinished",
        "silenceDetected",
        "speakerVerificationActionResult",
        "speakerVerificationEnrollCompleted",
        "speakerVerificationEnrollProgress",
        "speakerVerificationSpeakerStatus",
        "speakerVerificationVerifyCompleted",
        "speakerVerificationVerifyProgress",
        "speechHypothesis",
        "voiceDetected",
    }
)


def flow_events(flow: Flow) -> frozenset[str]:
    """The opt-in events ``flow`` handles or whose nodes wait for them."""
    wanted = {name for name in flow.events if name in OPT_IN_EVENTS}
    for node in flow.nodes.values():
        wanted |= node.needs_events()
    return frozenset(wanted)


def events_request(events: Iterable[str], *, newly: Iterable[str] = ()) -> dict[str, Any]:
    """The session parameters that ask VAIC for ``events`` (the whole list: VAIC takes it as the
    call's new value). ``userNoInputSendEvent`` is what VAIC versions before ``sendEventsToBot``
    (and Cognigy's nodes) used for the same event; it is sent when ``noUserInput`` is newly asked for.
    """
    params: dict[str, Any] = {"sendEventsToBot": sorted(set(events))}
    if "noUserInput" in set(newly):
        params["userNoInputSendEvent"] = True
    return params


def merge_requested(requested: Iterable[str], params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A ``config`` a node sends that sets ``sendEventsToBot`` itself: keep what the flow needs in
    the list (VAIC replaces the list) and remember what the node added."""
    own = params.get("sendEventsToBot")
    if not isinstance(own, list):
        return dict(params), sorted(set(requested))
    union = sorted(set(requested) | {str(name) for name in own})
    return {**params, "sendEventsToBot": union}, union
