"""AudioCodes nodes and generic voice nodes: the exact activities Cognigy's nodes send
(Cognigy/Extensions, extensions/audiocodes-vaig)."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiocodes_endpoint.flows import AgentLoadError, FlowError, TurnOptions

from .support import Call, build_agent, ev, say


def run_node(tmp_path: Path, node: str, context: dict[str, object] | None = None) -> list[dict[str, object]]:
    """Start a flow whose only node is ``node`` (YAML mapping body, indented by 4)."""
    agent = build_agent(tmp_path, f"start: n\nnodes:\n  n:\n{node}")
    return Call(agent, context=context).start()


def test_hangup_with_reason(tmp_path: Path) -> None:
    # Given a hangup node with a templated reason, When it runs, Then one hangup event and the flow ends
    agent = build_agent(
        tmp_path, "start: n\nnodes:\n  n: {type: hangup, hangupReason: 'done after {{ input.execution }} turns'}\n"
    )
    call = Call(agent)
    assert call.start() == [ev("hangup", activityParams={"hangupReason": "done after 1 turns"})]
    assert call.state.ended


def test_hangup_default_reason(tmp_path: Path) -> None:
    assert run_node(tmp_path, "    type: hangup\n") == [
        ev("hangup", activityParams={"hangupReason": "Bot ended the call"})
    ]


def test_transfer_with_every_parameter(tmp_path: Path) -> None:
    # Given a transfer node with target, reason, referral URL, SIP headers and an extra parameter
    outputs = run_node(
        tmp_path,
        """    type: transfer
    transferTarget: "tel:+{{ context.number }}"
    handoverReason: caller asked
    transferReferredByURL: "sip:bot@example.com"
    transferSipHeaders:
      - {name: X-Account, value: "{{ context.account }}"}
      - {name: X-Language, value: en}
    activityParams: {transferNotifyTimeoutMS: 5000}
""",
        context={"number": "4930123456", "account": "1234"},
    )
    # Then one transfer event with exactly those activity parameters
    assert outputs == [
        ev(
            "transfer",
            activityParams={
                "transferNotifyTimeoutMS": 5000,
                "transferTarget": "tel:+4930123456",
                "handoverReason": "caller asked",
                "transferReferredByURL": "sip:bot@example.com",
                "transferSipHeaders": [{"name": "X-Account", "value": "1234"}, {"name": "X-Language", "value": "en"}],
            },
        )
    ]


def test_transfer_as_handover_to_sip(tmp_path: Path) -> None:
    assert run_node(
        tmp_path, "    type: transfer\n    event: handover\n    transferTarget: sip:agent@pbx.example\n"
    ) == [ev("handover", activityParams={"transferTarget": "sip:agent@pbx.example"})]


def test_templated_transfer_target_is_checked_when_rendered(tmp_path: Path) -> None:
    # Given a target that renders to something that is neither tel: nor sip:
    with pytest.raises(FlowError, match=r"transferTarget: 'http://evil' is not a phone number or a sip: URI"):
        run_node(tmp_path, "    type: transfer\n    transferTarget: '{{ context.t }}'\n", {"t": "http://evil"})


FAILED = {"status": "failed", "reasonCode": "busy", "reason": "Busy Here"}


def transfer_flow(tmp_path: Path, on_failure: bool = True, handler: bool = False) -> Call:
    flow = """
start: t
events: {}
nodes:
  t:
    type: transfer
    transferTarget: tel:+4930123
    on_failure: sorry
  sorry: {type: say, text: "Sorry, {{ input.value.reasonCode }}", next: q}
  q: {type: question, text: "Anything else?"}
  status: {type: say, text: "status {{ input.value.status }}"}
"""
    if not on_failure:
        flow = flow.replace("    on_failure: sorry\n", "")
    if handler:
        flow = flow.replace("events: {}", "events: {transferStatus: status}")
    call = Call(build_agent(tmp_path, flow))
    assert call.start() == [ev("transfer", activityParams={"transferTarget": "tel:+4930123"})]
    assert call.state.ended
    return call


def test_failed_transfer_gives_control_back_to_the_flow(tmp_path: Path) -> None:
    # Given a transfer with on_failure, When VAIC reports it failed
    call = transfer_flow(tmp_path)
    # Then the flow continues at on_failure and waits again
    assert call.event("transferStatus", FAILED) == [say("Sorry, busy"), say("Anything else?")]
    assert not call.state.ended


def test_answered_transfer_leaves_the_flow_ended(tmp_path: Path) -> None:
    call = transfer_flow(tmp_path)
    assert call.event("transferStatus", {"status": "answered"}) == []
    assert call.state.ended


def test_transfer_status_handler_when_the_node_has_no_on_failure(tmp_path: Path) -> None:
    # Given no on_failure but a flow-level transferStatus handler
    call = transfer_flow(tmp_path, on_failure=False, handler=True)
    # When VAIC reports a failure, Then the handler runs
    assert call.event("transferStatus", FAILED) == [say("status failed")]


def test_transfer_status_without_any_handler_is_ignored(tmp_path: Path) -> None:
    call = transfer_flow(tmp_path, on_failure=False)
    assert call.event("transferStatus", FAILED) == []
    assert call.state.ended


def test_play_url(tmp_path: Path) -> None:
    # Given a play_url node with every field
    outputs = run_node(
        tmp_path,
        """    type: play_url
    playUrlUrl: "https://media.example/{{ context.file }}.wav"
    playUrlMediaFormat: raw/lpcm16
    playUrlCaching: true
    playUrlAltText: hold music
    activityParams: {bargeIn: true}
""",
        {"file": "hold"},
    )
    assert outputs == [
        ev(
            "playUrl",
            activityParams={
                "bargeIn": True,
                "playUrlUrl": "https://media.example/hold.wav",
                "playUrlMediaFormat": "raw/lpcm16",
                "playUrlCaching": True,
                "playUrlAltText": "hold music",
            },
        )
    ]


def test_play_url_defaults(tmp_path: Path) -> None:
    assert run_node(tmp_path, "    type: play_url\n    playUrlUrl: https://m/a.wav\n") == [
        ev("playUrl", activityParams={"playUrlUrl": "https://m/a.wav", "playUrlMediaFormat": "wav/lpcm16"})
    ]


def test_send_metadata(tmp_path: Path) -> None:
    outputs = run_node(
        tmp_path,
        "    type: send_metadata\n    value: {caller: '{{ context.n }}', n: 3, nested: {a: [1]}}\n",
        {"n": "+49"},
    )
    assert outputs == [ev("sendMetaData", value={"caller": "+49", "n": 3, "nested": {"a": [1]}})]


def test_session_params_sends_only_what_is_set(tmp_path: Path) -> None:
    # Given a session_params node setting a few parameters and additional ones
    outputs = run_node(
        tmp_path,
        """    type: session_params
    language: "{{ context.lang }}"
    bargeIn: false
    userNoInputTimeoutMS: 5000
    sttContextPhrases: [balance, agent]
    sttContextBoost: 10
    googleInteractionType: PHONE_CALL
    additional: {sendEventsToBot: [noUserInput], bargeIn: true, customParam: x}
""",
        {"lang": "de-DE"},
    )
    # Then one config event with exactly those (named fields win over `additional`), false included
    assert outputs == [
        ev(
            "config",
            sessionParams={
                "sendEventsToBot": ["noUserInput"],
                "bargeIn": False,
                "customParam": "x",
                "language": "de-DE",
                "userNoInputTimeoutMS": 5000,
                "sttSpeechContexts": [{"phrases": ["balance", "agent"], "boost": 10}],  # AudioCodes' name
                "googleInteractionType": "PHONE_CALL",
            },
        )
    ]


def test_session_params_rendered_values_are_checked(tmp_path: Path) -> None:
    # Given a language from context that is not a language tag
    with pytest.raises(FlowError, match="not a BCP-47 language tag"):
        run_node(tmp_path, "    type: session_params\n    language: '{{ context.lang }}'\n", {"lang": "German!"})


@pytest.mark.parametrize(
    ("action", "fields", "expected"),
    [
        (
            "start",
            "    callRecordingId: '{{ input.sessionId }}'\n    callRecordingDestUsername: rec\n",
            ev(
                "startCallRecording",
                activityParams={
                    "callRecordingId": "conv-1",
                    "callRecordingDestUsername": "rec",
                },
            ),
        ),
        ("start", "", ev("startCallRecording")),
        ("stop", "", ev("stopCallRecording")),
        ("pause", "", ev("pauseCallRecording")),
        ("resume", "", ev("resumeCallRecording")),
    ],
)
def test_call_recording(tmp_path: Path, action: str, fields: str, expected: dict[str, object]) -> None:
    assert run_node(tmp_path, f"    type: call_recording\n    action: {action}\n{fields}") == [expected]


def test_recording_server_is_vaic_configuration_not_a_flow_field(tmp_path: Path) -> None:
    # Given a start node that names the SRS (an administrative parameter in VAIC), Then load refuses it
    with pytest.raises(AgentLoadError, match="callRecordingServer is a VoiceAI Connect bot administrative parameter"):
        run_node(tmp_path, "    type: call_recording\n    action: start\n    callRecordingServer: SRS\n")


START_WITH_PARTICIPANTS = {
    "call": {
        "participants": [
            {"participant": "customer", "uriUser": "+4930111"},
            {"participant": "agent-17", "uriUser": "+4930222"},
        ]
    },
    "who": "agent-17",
}


@pytest.mark.parametrize(
    ("action", "target", "participants"),
    [
        ("start", "both", ["caller", "callee"]),
        ("stop", "caller", ["caller"]),
        ("start", "callee", ["callee"]),
        ("start", "all", ["customer", "agent-17"]),  # what start.parameters.participants listed
        ("start", "customer", ["customer"]),  # free-form, as AudioCodes' sample sends them
        ("stop", "'{{ context.who }}'", ["agent-17"]),  # templated
    ],
)
def test_agent_assist(tmp_path: Path, action: str, target: str, participants: list[str]) -> None:
    outputs = run_node(
        tmp_path,
        f"    type: agent_assist\n    action: {action}\n    targetParticipant: {target}\n",
        START_WITH_PARTICIPANTS,
    )
    assert outputs == [ev(f"{action}Recognition", activityParams={"targetParticipant": p}) for p in participants]


def test_agent_assist_all_without_participants_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="listed no participants"):
        run_node(tmp_path, "    type: agent_assist\n    action: start\n    targetParticipant: all\n")


@pytest.mark.parametrize(
    ("target", "region", "sent"),
    [
        ("+4930 1234567", "US", "tel:+49301234567"),  # E.164 with a space
        ("tel:0049 (30) 123-4567", "US", "tel:+49301234567"),  # what Cognigy sent unchanged, and we did
        ("0049-30-1234567", "US", "tel:+49301234567"),  # international with 00
        ("030 123 45 67", "DE", "tel:+49301234567"),  # national, read in the endpoint's region
        ("(030) 1234567", "DE", "tel:+49301234567"),
        ("030.1234567", "DE", "tel:+49301234567"),
        ("030/1234567", "DE", "tel:+49301234567"),
        ("(415) 555-0100", "US", "tel:+14155550100"),
        ("tel:+4930123456789", "DE", "tel:+4930123456789"),
        ("sip:agent@pbx.example.com", "DE", "sip:agent@pbx.example.com"),
        ("'{{ context.t }}'", "DE", "tel:+49301234567"),  # templated: normalised once rendered
    ],
)
def test_transfer_targets_are_normalised_to_a_tel_uri(tmp_path: Path, target: str, region: str, sent: str) -> None:
    agent = build_agent(tmp_path, f"start: n\nnodes:\n  n:\n    type: transfer\n    transferTarget: {target}\n")
    call = Call(agent, options=TurnOptions(default_region=region), context={"t": "+49 (30) 1234567"})
    assert call.start() == [ev("transfer", activityParams={"transferTarget": sent})]


@pytest.mark.parametrize("target", ["'+1 2'", "'0049'", "http://x", "'+49 30 12a'"])
def test_transfer_targets_that_are_not_numbers_are_refused_at_load(tmp_path: Path, target: str) -> None:
    with pytest.raises(AgentLoadError, match="transferTarget"):
        build_agent(tmp_path, f"start: n\nnodes:\n  n:\n    type: transfer\n    transferTarget: {target}\n")


def test_hangup_with_an_empty_reason_sends_the_default(tmp_path: Path) -> None:
    # Given a reason that renders empty (Cognigy's mapper fell back to a default; "" helps nobody)
    outputs = run_node(tmp_path, "    type: hangup\n    hangupReason: '{{ context.r }}'\n", {"r": "  "})
    assert outputs == [ev("hangup", activityParams={"hangupReason": "Bot ended the call"})]


def test_send_dtmf(tmp_path: Path) -> None:
    assert run_node(tmp_path, "    type: send_dtmf\n    dtmfDigits: '12*#'\n") == [
        ev("sendDtmf", activityParams={"dtmfDigits": "12*#"})
    ]


def test_send_dtmf_rendered_digits_are_checked(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="not 1-20 DTMF digits"):
        run_node(tmp_path, "    type: send_dtmf\n    dtmfDigits: '{{ context.d }}'\n", {"d": "1" * 21})


@pytest.mark.parametrize(
    ("node", "params"),
    [
        (
            "    type: barge_in\n    on_speech: true\n    on_dtmf: false\n    min_words: 2\n",
            {"bargeIn": True, "bargeInOnDTMF": False, "bargeInMinWordCount": 2},
        ),
        # DTMF barge-in also asks VAIC to send the digits (receive-dtmf.htm; Cognigy's mapper did the same)
        ("    type: barge_in\n    on_dtmf: true\n", {"bargeInOnDTMF": True, "sendDTMF": True}),
        ("    type: barge_in\n    on_speech: true\n", {"bargeIn": True}),
        (
            "    type: continuous_asr\n    enabled: true\n    submit_digit: '#'\n    timeout_ms: 3000\n",
            {"continuousASR": True, "continuousASRDigits": "#", "continuousASRTimeoutInMS": 3000},
        ),
        (
            "    type: dtmf_collect\n    enabled: true\n    inter_digit_timeout_ms: 2000\n    max_digits: 5\n"
            "    submit_digit: '#'\n",
            {
                "sendDTMF": True,
                "dtmfCollect": True,
                "dtmfCollectInterDigitTimeoutMS": 2000,
                "dtmfCollectMaxDigits": 5,
                "dtmfCollectSubmitDigit": "#",
            },
        ),
        ("    type: dtmf_collect\n    enabled: false\n", {"dtmfCollect": False}),
        (
            "    type: user_input_timeout\n    timeout_ms: 7000\n    retries: 3\n",
            {"userNoInputTimeoutMS": 7000, "userNoInputRetries": 3, "userNoInputSendEvent": True},
        ),
        (
            "    type: user_input_timeout\n    timeout_ms: 7000\n    send_event: false\n    speech: Hello?\n"
            "    url: https://m/beep.wav\n",
            {
                "userNoInputTimeoutMS": 7000,
                "userNoInputSendEvent": False,
                "userNoInputSpeech": "Hello?",
                "userNoInputUrl": "https://m/beep.wav",
            },
        ),
    ],
)
def test_generic_voice_nodes_map_to_session_params(tmp_path: Path, node: str, params: dict[str, object]) -> None:
    # Given a generic voice node, When it runs, Then one config event with only its parameters
    assert run_node(tmp_path, node) == [ev("config", sessionParams=params)]


@pytest.mark.parametrize(
    ("node", "params"),
    [
        # Cognigy's Mute Speech Input on AudioCodes (muteSpeechInput.mapper.js): enableSpeechInput
        ("    type: mute_speech_input\n", {"enableSpeechInput": False}),
        ("    type: mute_speech_input\n    mute: false\n", {"enableSpeechInput": True}),
        (
            "    type: session_speech\n    stt_provider: my-google\n    tts_provider: my-azure\n    language: de-DE\n"
            "    voice: de-DE-KatjaNeural\n    disable_punctuation: true\n    hints: [Kontostand, Berater]\n"
            "    hints_boost: 15\n",
            {
                "sttProvider": "my-google",
                "ttsProvider": "my-azure",
                "language": "de-DE",
                "voiceName": "de-DE-KatjaNeural",
                "sttDisablePunctuation": True,
                "sttSpeechContexts": [{"phrases": ["Kontostand", "Berater"], "boost": 15}],
            },
        ),
        (
            "    type: session_speech\n    stt_language: fr-FR\n    tts_language: en-GB\n    stt_context_id: ep-1\n",
            {"sttLanguage": "fr-FR", "ttsLanguage": "en-GB", "sttContextId": "ep-1"},
        ),
        (
            "    type: user_no_input\n    timeout_ms: 6000\n    retries: 2\n",
            {"userNoInputTimeoutMS": 6000, "userNoInputRetries": 2, "userNoInputSendEvent": True},
        ),
        (
            "    type: user_no_input\n    mode: speech\n    speech: Are you still there?\n",
            {"userNoInputTimeoutMS": 10000, "userNoInputRetries": 1, "userNoInputSpeech": "Are you still there?"},
        ),
        (
            "    type: user_no_input\n    mode: play\n    url: https://m.example/beep.wav\n    retries: 0\n",
            {"userNoInputTimeoutMS": 10000, "userNoInputRetries": 0, "userNoInputUrl": "https://m.example/beep.wav"},
        ),
        (
            "    type: bot_delay\n    timeout_ms: 2000\n    speech: One moment.\n    retries: 2\n"
            "    give_up_ms: 20000\n",
            {
                "botNoInputTimeoutMS": 2000,
                "botNoInputSpeech": "One moment.",
                "botNoInputRetries": 2,
                "botNoInputGiveUpTimeoutMS": 20000,
            },
        ),
        (
            "    type: bot_delay\n    timeout_ms: 0\n    url: https://m.example/music.wav\n"
            "    abort_on_bot_message: true\n",
            {
                "botNoInputTimeoutMS": 0,
                "botNoInputUrl": "https://m.example/music.wav",
                "abortPlayUrlOnBotMessage": True,
            },
        ),
    ],
)
def test_new_voice_nodes_send_the_documented_parameters(tmp_path: Path, node: str, params: dict[str, object]) -> None:
    assert run_node(tmp_path, node) == [ev("config", sessionParams=params)]


def test_user_no_input_in_event_mode_asks_vaic_for_the_event(tmp_path: Path) -> None:
    call = Call(build_agent(tmp_path, "start: n\nnodes:\n  n: {type: user_no_input, timeout_ms: 5000}\n"))
    call.start()
    assert call.asked == {"sendEventsToBot": ["noUserInput"], "userNoInputSendEvent": True}


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ("    type: user_no_input\n    mode: speech\n", "needs `speech`"),
        ("    type: user_no_input\n    mode: play\n", "needs `url`"),
        ("    type: user_no_input\n    speech: hi\n", "`speech` belongs to `mode: speech`"),
        ("    type: user_no_input\n    mode: play\n    url: ftp://x/a.wav\n", "http"),
        ("    type: bot_delay\n    timeout_ms: 1\n    speech: a\n    url: https://x/a.wav\n", "not both"),
        ("    type: session_speech\n    language: German!\n", "BCP-47"),
        ("    type: session_speech\n    hints_boost: 30\n    hints: [a]\n", "less than or equal to 20"),
        ("    type: session_speech\n", "set at least one setting"),
        ("    type: mute_speech_input\n    mute: maybe\n", "mute"),
    ],
)
def test_new_voice_nodes_are_checked_at_load(tmp_path: Path, node: str, message: str) -> None:
    with pytest.raises(AgentLoadError, match=message):
        run_node(tmp_path, node)
