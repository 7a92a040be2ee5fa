"""Endpoint settings in real turns through the bot_api handler on moto: analytics and transcripts,
log masking, transformers, translation and Lex (stubbed providers), and the maximum call duration."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from audiocodes_endpoint.observability.masking import MASK
from tests.conftest import ROOT
from tests.integration.conftest import CONVERSATION, TOKEN, activity, start_event

CALLER = "+4921154591991"


@pytest.fixture
def rt(analytics_table: str, bot_api: Any) -> Any:
    from audiocodes_endpoint.wiring import runtime

    runtime.cache_clear()
    boto3.client("ssm").put_parameter(
        Name="/audiocodes-endpoint/demo-translated/bot-token", Value=TOKEN, Type="SecureString", Overwrite=True
    )
    return runtime()


def turn(call, *activities, endpoint="demo", conversation=CONVERSATION):
    status, body = call("POST", f"/{endpoint}/conversation/{conversation}/activities", {"activities": list(activities)})
    assert status == 200, body
    return [a.get("text") or a.get("name") for a in body["activities"]]


def begin(call, endpoint="demo", conversation=CONVERSATION):
    assert call("POST", f"/{endpoint}", {"conversation": conversation})[0] == 200
    return turn(call, start_event(CALLER), endpoint=endpoint, conversation=conversation)


def test_every_turn_is_recorded_with_its_transcript_and_summarised(rt, call, analytics_table):
    from audiocodes_endpoint.adapters.aws.analytics_store import DynamoDBAnalyticsStore
    from audiocodes_endpoint.features.analytics import summarize

    # Given a call on the demo endpoint (collect_analytics and store_transcripts on)
    begin(call)
    turn(call, activity(text="no"))
    turn(call, activity(text="I want to talk to an agent"))
    call("POST", f"/demo/conversation/{CONVERSATION}/disconnect", {"reasonCode": "transferred"})
    # Then one record per turn, in order, with the caller's and the bot's words
    store = DynamoDBAnalyticsStore(analytics_table)
    records = store.transcript("demo", CONVERSATION)
    assert [r.turn for r in records] == [1, 2, 3, 4]
    assert records[1].caller_text == "no" and "Example Bank" in (records[0].bot_text or "")
    assert records[2].intent == "agent" and records[2].outcome == "transfer"
    assert records[0].node_path[:2] == ("main:setup", "main:hints") and "main:transfer" in records[2].node_path
    assert (records[3].outcome, records[3].outcome_detail) == ("disconnect", "transferred")
    summary = summarize("demo", store.endpoint_turns("demo", since=time.time() - 3600))
    assert summary.calls == 1 and summary.transfers == 1
    # And VAIC's address is recorded only masked (mask_ip, the default)
    assert {r.source_ip for r in records[:3]} == {MASK}


def test_with_mask_ip_off_the_address_is_kept(rt, call, analytics_table, monkeypatch):
    from audiocodes_endpoint.adapters.aws.analytics_store import DynamoDBAnalyticsStore

    demo = rt.endpoints["demo"]
    keep_ip = demo.data_protection.model_copy(update={"mask_ip": False})
    monkeypatch.setitem(rt.endpoints, "demo", demo.model_copy(update={"data_protection": keep_ip}))
    monkeypatch.setattr(rt.services(demo).analytics, "settings", keep_ip)
    begin(call)
    (record,) = DynamoDBAnalyticsStore(analytics_table).transcript("demo", CONVERSATION)
    assert record.source_ip == "127.0.0.1"


def test_caller_numbers_never_reach_the_logs(rt, call, log_output, monkeypatch):
    # Given the demo endpoint (mask_logging on): its "call started" line carries caller and callee
    begin(call)
    masked = log_output.getvalue()
    assert "call started" in masked
    assert CALLER not in masked and "21154591991" not in masked and "+493040739365" not in masked
    # And with masking off the same line does show them (so the check above can fail)
    demo = rt.endpoints["demo"]
    unmasked = demo.model_copy(
        update={"data_protection": demo.data_protection.model_copy(update={"mask_logging": False})}
    )
    monkeypatch.setitem(rt.endpoints, "demo", unmasked)
    begin(call, conversation="c-unmasked")
    assert CALLER in log_output.getvalue()[len(masked) :]


def test_the_input_transformer_changes_what_the_flow_hears_and_keeps_call_storage(rt, call, sessions_table):
    begin(call)
    turn(call, activity(text="no"))
    # "balance please" is only recognised once the transformer has removed "please"
    answer = turn(call, activity(text="balance please please"))
    assert any("account number" in (t or "") for t in answer)
    item = boto3.client("dynamodb").get_item(TableName=sessions_table, Key={"id": {"S": f"demo/{CONVERSATION}"}})
    assert json.loads(item["Item"]["state"]["S"])["storage"] == {"inputs": 3}


def test_translation_both_ways_with_a_stubbed_provider(rt, call):
    from audiocodes_endpoint.adapters.aws.translate import AmazonTranslate

    endpoint = rt.endpoints["demo-translated"]
    client = boto3.client("translate", region_name="eu-central-1")
    rt.services(endpoint).translator.provider = AmazonTranslate(client=client)
    with Stubber(client) as stub:
        # The caller's German is detected and translated for the flow...
        stub.add_response(
            "translate_text",
            {"TranslatedText": "No, thanks", "SourceLanguageCode": "de", "TargetLanguageCode": "en"},
            {"Text": "Nein, danke", "SourceLanguageCode": "auto", "TargetLanguageCode": "en"},
        )
        # ...and the flow's English answers come back in German
        for german in ("Kein Problem, dieser Anruf wird nicht aufgezeichnet.", "Für Ihren Kontostand drücken Sie 1."):
            stub.add_response(
                "translate_text",
                {"TranslatedText": german, "SourceLanguageCode": "en", "TargetLanguageCode": "de"},
                {"Text": ANY, "SourceLanguageCode": "en", "TargetLanguageCode": "de"},
            )
        begin(call, endpoint="demo-translated")
        answer = turn(call, activity(text="Nein, danke"), endpoint="demo-translated")
        stub.assert_no_pending_responses()
    assert answer == ["Kein Problem, dieser Anruf wird nicht aufgezeichnet.", "Für Ihren Kontostand drücken Sie 1."]


def test_a_translation_outage_falls_back_to_the_original_text(rt, call):
    from audiocodes_endpoint.adapters.aws.translate import AmazonTranslate

    endpoint = rt.endpoints["demo-translated"]
    client = boto3.client("translate", region_name="eu-central-1")
    rt.services(endpoint).translator.provider = AmazonTranslate(client=client)
    with Stubber(client) as stub:
        stub.add_client_error("translate_text", "ServiceUnavailableException")
        begin(call, endpoint="demo-translated")
        answer = turn(call, activity(text="no"), endpoint="demo-translated")
    assert "No problem, this call will not be recorded." in answer


def test_lex_intents_drive_the_flow_with_a_stubbed_provider(rt, call, monkeypatch):
    from audiocodes_endpoint.adapters.aws.lex import LexConnector
    from audiocodes_endpoint.config.nlu import NluSettings
    from audiocodes_endpoint.features.external_nlu import connector_for
    from audiocodes_endpoint.features.services import EndpointServices

    # Given the demo endpoint using Amazon Lex V2
    lex = boto3.client("lexv2-runtime", region_name="eu-central-1")
    settings = NluSettings.model_validate(
        {"connector": "lex", "lex": {"bot_id": "BOT1234567", "bot_alias_id": "ALIAS12345", "locale_id": "en_US"}}
    )
    demo = rt.endpoints["demo"]
    services = rt.services(demo)
    connector = connector_for(settings, None, ROOT / "agent", lex=lambda lex_settings: LexConnector(lex_settings, lex))
    lexed = EndpointServices(services.transformers, services.translator, connector)
    monkeypatch.setitem(rt.services._built, "demo", lexed)
    with Stubber(lex) as stub:
        stub.add_response(
            "recognize_text",
            {
                "interpretations": [{"intent": {"name": "agent", "slots": {}}, "nluConfidence": {"score": 0.93}}],
                "sessionId": "lex-session",
            },
            {"botId": "BOT1234567", "botAliasId": "ALIAS12345", "localeId": "en_US", "sessionId": ANY, "text": ANY},
        )
        begin(call)
        # When Lex says "agent" for words the built-in matcher would not know
        answer = turn(call, activity(text="get me somebody from your staff"))
    # Then the flow transfers, as it does for its own agent intent
    assert answer[-1] == "transfer"


def test_a_call_past_its_maximum_duration_is_ended(rt, call, sessions_table, monkeypatch):
    demo = rt.endpoints["demo"]
    limited = demo.model_copy(update={"session": demo.session.model_copy(update={"max_call_seconds": 60})})
    monkeypatch.setitem(rt.endpoints, "demo", limited)
    begin(call)
    boto3.client("dynamodb").update_item(
        TableName=sessions_table,
        Key={"id": {"S": f"demo/{CONVERSATION}"}},
        UpdateExpression="SET created_at = :long_ago",
        ExpressionAttributeValues={":long_ago": {"N": str(time.time() - 120)}},
    )
    answer = turn(call, activity(text="no"))
    assert answer[-1] == "hangup" and limited.session.expiry_message in answer


def test_a_call_past_its_maximum_tells_the_flow_first_then_ends_after_the_grace(rt, call, sessions_table, monkeypatch):
    # Given a call limited to a minute whose flow is told (notify_flow) and hung up a minute later
    demo = rt.endpoints["demo"]
    policy = {"max_call_seconds": 60, "on_expiry": "notify_flow", "force_hangup_after_seconds": 60}
    monkeypatch.setitem(
        rt.endpoints, "demo", demo.model_copy(update={"session": demo.session.model_copy(update=policy)})
    )
    begin(call)
    key = {"id": {"S": f"demo/{CONVERSATION}"}}
    dynamodb = boto3.client("dynamodb")
    dynamodb.update_item(
        TableName=sessions_table,
        Key=key,
        UpdateExpression="SET created_at = :t",
        ExpressionAttributeValues={":t": {"N": str(time.time() - 90)}},
    )
    # When the caller speaks past the limit, the flow hears maxCallDuration first, then the caller
    answer = turn(call, activity(text="no"))
    assert answer[0].startswith("We are close to the time limit") and "hangup" not in answer
    assert any("not be recorded" in (t or "") for t in answer)
    # And past the grace period the call is ended for the flow
    state = json.loads(dynamodb.get_item(TableName=sessions_table, Key=key)["Item"]["state"]["S"])
    assert "notified_at" in state["call_limit"]
    dynamodb.update_item(
        TableName=sessions_table,
        Key=key,
        UpdateExpression="SET created_at = :t",
        ExpressionAttributeValues={":t": {"N": str(time.time() - 600)}},
    )
    state["call_limit"]["notified_at"] = time.time() - 120
    item = dynamodb.get_item(TableName=sessions_table, Key=key)["Item"]
    item["state"] = {"S": json.dumps(state)}
    dynamodb.put_item(TableName=sessions_table, Item=item)
    assert turn(call, activity(text="1"))[-1] == "hangup"


def test_the_execution_finished_transformer_shapes_the_sync_answer(rt, call, monkeypatch):
    from dataclasses import replace

    from audiocodes_endpoint.config.transformers import TransformerSettings
    from audiocodes_endpoint.features.transformers import Transformers

    def only_speech(*, outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [o for o in outputs if o["type"] == "message"]

    demo = rt.endpoints["demo"]
    hooks = Transformers(
        settings=TransformerSettings(module="hooks", execution_finished=True),
        functions={"handle_execution_finished": only_speech},
    )
    monkeypatch.setitem(rt.services._built, "demo", replace(rt.services(demo), transformers=hooks))
    answer = begin(call)
    assert answer and "config" not in answer and "playUrl" not in answer


def _stub_translate(rt):
    from audiocodes_endpoint.adapters.aws.translate import AmazonTranslate

    client = boto3.client("translate", region_name="eu-central-1")
    rt.services(rt.endpoints["demo-translated"]).translator.provider = AmazonTranslate(client=client)
    return client


def _expect_round_trip(stub, heard, source, language, understood, answers):
    """The caller's words into English (from ``source``: a code or ``auto``), then each answer back."""
    stub.add_response(
        "translate_text",
        {"TranslatedText": understood, "SourceLanguageCode": language, "TargetLanguageCode": "en"},
        {"Text": heard, "SourceLanguageCode": source, "TargetLanguageCode": "en"},
    )
    for translated in answers:
        stub.add_response(
            "translate_text",
            {"TranslatedText": translated, "SourceLanguageCode": "en", "TargetLanguageCode": language},
            {"Text": ANY, "SourceLanguageCode": "en", "TargetLanguageCode": language},
        )


def _answer(call, *activities):
    status, body = call(
        "POST", f"/demo-translated/conversation/{CONVERSATION}/activities", {"activities": list(activities)}
    )
    assert status == 200, body
    return body["activities"]


DETECTION = ("languageDetectionActivate", "languageDetectionAutoSwitch", "alternativeLanguages", "notifyParamChange")


def test_the_first_answer_turns_on_vaics_language_detection(rt, call):
    # Given the translated demo endpoint with voices for de, fr and es and detection on
    assert call("POST", "/demo-translated", {"conversation": CONVERSATION})[0] == 200
    # When the call starts
    first = _answer(call, start_event(CALLER))[0]
    # Then the first activity (with the events the flow needs) asks VAIC to detect those languages and
    # to report the one it hears
    assert first["type"] == "event" and first["name"] == "config"
    assert "noUserInput" in first["sessionParams"]["sendEventsToBot"]
    assert {name: first["sessionParams"][name] for name in DETECTION} == {
        "languageDetectionActivate": True,
        "languageDetectionAutoSwitch": True,
        "alternativeLanguages": [
            {"language": "de-DE", "voiceName": "de-DE-KatjaNeural"},
            {"language": "fr-FR", "voiceName": "fr-FR-DeniseNeural"},
            {"language": "es-ES", "voiceName": "es-ES-ElviraNeural"},
        ],
        "notifyParamChange": ["language"],
    }


def test_vaics_detected_language_drives_translation_and_the_voice(rt, call, sessions_table):
    client = _stub_translate(rt)
    with Stubber(client) as stub:
        # The caller's words are translated from the language VAIC reported (no auto-detection), and back
        french = ("Pas de problème, cet appel ne sera pas enregistré.", "Pour votre solde, appuyez sur 1.")
        _expect_round_trip(stub, "Non, merci", "fr", "fr", "No, thanks", french)
        assert call("POST", "/demo-translated", {"conversation": CONVERSATION})[0] == 200
        _answer(call, start_event(CALLER))
        # When VAIC's detection reports French (notifyParamChange -> paramChanged)
        changed = activity("event", name="paramChanged", value={"language": "fr-FR"})
        assert _answer(call, changed) == []  # the flow, waiting for an answer, is not disturbed
        answer = _answer(call, activity(text="Non, merci"))
        stub.assert_no_pending_responses()
    # Then every translated message is spoken in French with the French voice
    messages = [a for a in answer if a["type"] == "message"]
    assert [m["text"] for m in messages] == [
        "Pas de problème, cet appel ne sera pas enregistré.",
        "Pour votre solde, appuyez sur 1.",
    ]
    assert all(m["activityParams"]["language"] == "fr-FR" for m in messages)
    assert all(m["activityParams"]["voiceName"] == "fr-FR-DeniseNeural" for m in messages)
    # And the call's language is kept in the session
    key = {"id": {"S": f"demo-translated/{CONVERSATION}"}}
    item = boto3.client("dynamodb").get_item(TableName=sessions_table, Key=key)
    assert json.loads(item["Item"]["state"]["S"])["translation"]["language"] == "fr"


def test_a_detected_language_without_a_voice_is_translated_but_keeps_vaics_voice(rt, call):
    client = _stub_translate(rt)
    with Stubber(client) as stub:
        # Italian, detected by Translate: no entry in voices
        _expect_round_trip(
            stub, "No, grazie", "auto", "it", "No, thanks", ("Nessun problema.", "Per il saldo premere 1.")
        )
        assert call("POST", "/demo-translated", {"conversation": CONVERSATION})[0] == 200
        _answer(call, start_event(CALLER))
        answer = _answer(call, activity(text="No, grazie"))
    messages = [a for a in answer if a["type"] == "message"]
    assert [m["text"] for m in messages] == ["Nessun problema.", "Per il saldo premere 1."]
    assert all("language" not in (m.get("activityParams") or {}) for m in messages)
