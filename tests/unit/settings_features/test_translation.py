import re

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from audiocodes_endpoint.adapters.aws.translate import AmazonTranslate
from audiocodes_endpoint.config.translation import TranslationSettings, translate_code
from audiocodes_endpoint.features.translation import Translation, Translator


@pytest.fixture
def client():
    return boto3.client("translate", region_name="eu-central-1")


@pytest.fixture
def stub(client):
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expect(stub, text, source, target, translated, detected=None):
    stub.add_response(
        "translate_text",
        {"TranslatedText": translated, "SourceLanguageCode": detected or source, "TargetLanguageCode": target},
        {"Text": text, "SourceLanguageCode": source, "TargetLanguageCode": target},
    )


def translator(client, **settings):
    return Translator(TranslationSettings(enabled=True, **settings), AmazonTranslate(client=client))


def say(text, **fields):
    return {"type": "message", "id": "a1", "timestamp": "2024-01-01T00:00:00.000Z", "text": text, **fields}


# --- settings -----------------------------------------------------------------------------------------


def test_defaults_translate_nothing_and_detect_on_the_first_input():
    settings = TranslationSettings()
    assert settings.model_dump() == {
        "enabled": False,
        "user_language": "auto",
        "detect_after_inputs": 1,
        "flow_language": "en",
        "no_translation_marker": "**",
        "always_remove_markers": True,
        "region": None,
        "timeout_seconds": 2.0,
        "cache_size": 1000,
        "voices": {},
        "detection": {"enabled": False, "auto_switch": True},
    }


@pytest.mark.parametrize(
    ("language", "code"),
    [("de-DE", "de"), ("en_US", "en"), ("EN", "en"), ("pt-PT", "pt-PT"), ("fr_ca", "fr-CA"), ("zh-TW", "zh-TW")],
)
def test_vaic_languages_become_amazon_translate_codes(language, code):
    assert translate_code(language) == code
    assert TranslationSettings(user_language=language, flow_language=language).flow_language == code


@pytest.mark.parametrize("document", [{"user_language": "german"}, {"flow_language": "auto"}, {"enable": True}])
def test_settings_are_checked(document):
    with pytest.raises(ValidationError):
        TranslationSettings.model_validate(document)


# --- off ----------------------------------------------------------------------------------------------


def test_when_off_nothing_is_sent_to_the_provider_and_markers_are_still_removed(client, stub):
    # Given translation off (the stub answers nothing: any request would fail the test)
    off = Translator(TranslationSettings(), AmazonTranslate(client=client))
    # Then the caller's words pass as they are, and the markers never reach text-to-speech
    assert off.to_flow("Ich möchte zahlen", {}) == ("Ich möchte zahlen", {})
    assert off.to_caller(say("Welcome to **Acme**!"), {}) == say("Welcome to Acme!")


def test_markers_can_be_kept_when_nothing_is_translated(client, stub):
    keep = Translator(TranslationSettings(always_remove_markers=False), AmazonTranslate(client=client))
    activity = say("Welcome to **Acme**!")
    assert keep.to_caller(activity, {}) is activity


# --- caller -> flow -----------------------------------------------------------------------------------


def test_a_configured_caller_language_is_translated_into_the_flow_language(client, stub):
    expect(stub, "Ich möchte meine Rechnung bezahlen", "de", "en", "I want to pay my bill")
    german = translator(client, user_language="de-DE")
    assert german.to_flow("Ich möchte meine Rechnung bezahlen", {}) == ("I want to pay my bill", {})


def test_auto_detection_settles_on_the_most_frequent_language_after_n_inputs(client, stub):
    # Given detection over the first two inputs
    auto = translator(client, detect_after_inputs=2)
    expect(stub, "Hallo", "auto", "en", "Hello", detected="de")
    expect(stub, "Bonjour", "auto", "en", "Good morning", detected="fr")
    expect(stub, "Merci", "fr", "en", "Thank you")
    # When the caller speaks German, then French
    text, state = auto.to_flow("Hallo", {})
    assert (text, state) == ("Hello", {"votes": {"de": 1}, "last": "de"})
    assert auto.caller_language(state) == "de"  # answers follow the latest guess meanwhile
    text, state = auto.to_flow("Bonjour", state)
    # Then a tie goes to the latest language, which is kept for the rest of the call
    assert (text, state) == ("Good morning", {"last": "fr", "language": "fr"})
    assert auto.to_flow("Merci", state) == ("Thank you", state)


def test_a_caller_already_speaking_the_flow_language_costs_nothing_after_detection(client, stub):
    auto = translator(client)
    expect(stub, "pay my bill", "auto", "en", "pay my bill", detected="en")
    assert auto.to_flow("pay my bill", {}) == ("pay my bill", {"last": "en", "language": "en"})
    state = {"last": "en", "language": "en"}
    assert auto.to_flow("and my balance", state) == ("and my balance", state)  # no request
    assert auto.to_caller(say("Sure."), state) == say("Sure.")  # no request


def test_blank_input_is_not_sent(client, stub):
    assert translator(client, user_language="de").to_flow("  ", {}) == ("  ", {})


def test_an_outage_leaves_the_callers_words_and_the_state_as_they_were(client, stub, log_output):
    stub.add_client_error("translate_text", service_error_code="ServiceUnavailableException", http_status_code=503)
    auto = translator(client)
    assert auto.to_flow("Hallo", {"votes": {"de": 0}}) == ("Hallo", {"votes": {"de": 0}})
    [line] = log_output.lines
    assert (line["message"], line["direction"], line["error"]) == (
        "translation failed; text left untranslated",
        "to_flow",
        "ServiceUnavailableException",
    )
    assert "Hallo" not in log_output.text


def test_text_over_the_providers_limit_is_not_sent(client, stub, log_output):
    long = "ä" * 5_001  # 10,002 bytes in UTF-8
    assert translator(client, user_language="de").to_flow(long, {}) == (long, {})
    assert log_output.lines[0]["error"] == "ValueError"


# --- flow -> caller -----------------------------------------------------------------------------------


GERMAN = {"language": "de", "last": "de"}


def test_a_message_is_translated_and_only_its_text(client, stub):
    expect(stub, "How can I help?", "en", "de", "Wie kann ich helfen?")
    activity = say("How can I help?", activityParams={"bargeIn": True, "note": "How can I help?"}, language="en-US")
    assert translator(client).to_caller(activity, GERMAN) == {**activity, "text": "Wie kann ich helfen?"}


def test_events_and_their_payloads_are_never_translated(client, stub):
    hangup = {"type": "event", "name": "hangup", "text": "Goodbye", "activityParams": {"hangupReason": "done"}}
    assert translator(client).to_caller(hangup, GERMAN) is hangup


def test_text_between_markers_is_kept_verbatim_and_the_markers_removed(client, stub):
    expect(stub, "Your code is", "en", "de", "Ihr Code lautet")
    expect(stub, ", please note it.", "en", "de", ", bitte notieren Sie ihn.")
    result = translator(client).to_caller(say("Your code is **Acme Pay 42**, please note it."), GERMAN)
    assert result["text"] == "Ihr Code lautet Acme Pay 42, bitte notieren Sie ihn."


def test_a_custom_marker(client, stub):
    expect(stub, "Welcome to", "en", "de", "Willkommen bei")
    result = translator(client, no_translation_marker="##").to_caller(say("Welcome to ##Acme##"), GERMAN)
    assert result["text"] == "Willkommen bei Acme"


def test_ssml_tags_and_say_as_content_are_kept(client, stub):
    expect(stub, "Hello!", "en", "de", "Hallo!")
    expect(stub, "Your number is", "en", "de", "Ihre Nummer ist")
    ssml = (
        '<speak>Hello! <break time="500ms"/> Your number is <say-as interpret-as="telephone">030 1234</say-as>.</speak>'
    )
    result = translator(client).to_caller(say(ssml), GERMAN)
    assert result["text"] == (
        '<speak>Hallo! <break time="500ms"/> Ihre Nummer ist '
        '<say-as interpret-as="telephone">030 1234</say-as>.</speak>'
    )


def test_repeated_prompts_are_translated_once(client, stub):
    # Given one stubbed answer only
    expect(stub, "Anything else?", "en", "de", "Sonst noch etwas?")
    german = translator(client)
    # When the same prompt is said twice (in two calls)
    first = german.to_caller(say("Anything else?"), GERMAN)
    second = german.to_caller(say("Anything else?"), {"language": "de"})
    # Then the second comes from the cache
    assert first["text"] == second["text"] == "Sonst noch etwas?"


def test_the_cache_keeps_the_most_recently_used_translations():
    class Counting:
        def __init__(self):
            self.calls = []

        def translate(self, text, source, target):
            self.calls.append(text)
            return Translation(text.upper(), source)

    provider = Counting()
    small = Translator(TranslationSettings(enabled=True, cache_size=2), provider)
    for text in ("a", "b", "a", "c", "a", "b"):
        small.to_caller(say(text), GERMAN)
    assert provider.calls == ["a", "b", "c", "b"]


def test_an_outage_on_the_way_out_says_the_flow_text_without_markers(client, stub, log_output):
    stub.add_client_error("translate_text", service_error_code="ThrottlingException", http_status_code=429)
    result = translator(client).to_caller(say("Your code is **A1**."), GERMAN)
    assert result["text"] == "Your code is A1."
    assert (log_output.lines[0]["direction"], log_output.lines[0]["error"]) == ("to_caller", "ThrottlingException")


def test_answers_follow_a_configured_caller_language_without_state(client, stub):
    expect(stub, "Goodbye.", "en", "fr", "Au revoir.")
    assert translator(client, user_language="fr").to_caller(say("Goodbye."), {})["text"] == "Au revoir."


def test_before_any_detection_answers_stay_in_the_flow_language(client, stub):
    activity = say("Hello, how can I help?")
    assert translator(client).to_caller(activity, {}) is activity


def test_the_translate_client_is_made_for_the_region_with_short_timeouts_and_no_retries():
    client = AmazonTranslate("eu-west-1", 1.0).client
    assert client.meta.region_name == "eu-west-1"
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (1.0, 1.0)
    assert client.meta.config.retries["total_max_attempts"] == 1


class Identity:
    """A provider that returns what it gets: isolates how a message is cut up and put back together."""

    def translate(self, text, source, target):
        assert text == text.strip() and text, "runs are sent trimmed and never empty"
        return Translation(text, source)


@settings(max_examples=300, deadline=None)
@given(
    words=st.lists(
        st.one_of(
            st.text(alphabet="abc xyz,.!?äé\n", min_size=1, max_size=12),
            st.sampled_from(['<break time="1s"/>', "<p>", "</p>", '<say-as interpret-as="digits">12</say-as>']),
            st.text(alphabet="abc 12", max_size=6).map(lambda t: f"**{t}**"),
        ),
        max_size=8,
    ),
    ssml=st.booleans(),
)
def test_cutting_a_message_into_runs_loses_nothing_but_the_markers(words, ssml):
    # Given any mix of words, SSML tags and marked spans
    body = "".join(words)
    text = f"<speak>{body}</speak>" if ssml else body
    # When it goes through a translator that changes no words
    result = Translator(TranslationSettings(enabled=True), Identity()).to_caller(say(text), GERMAN)
    # Then only the markers are gone
    assert result["text"] == re.sub(r"\*\*(.*?)\*\*", r"\1", text, flags=re.DOTALL)


# --- speech in the caller's language, VAIC's language detection ----------------------------------------

VOICES = {"de-DE": {"language": "de-DE", "voice": "de-DE-KatjaNeural"}, "fr": {"language": "fr-CA"}}


def test_a_translated_message_carries_the_callers_language_and_voice(client, stub):
    expect(stub, "Hello", "en", "de", "Hallo")
    expect(stub, "Bye", "en", "fr", "Salut")
    speaker = translator(client, user_language="auto", voices=VOICES)
    # the flow's own activity parameters stay; the flow's own language choice would win
    german = speaker.to_caller(say("Hello", activityParams={"bargeIn": False}), {"language": "de"})
    assert german["text"] == "Hallo"
    assert german["activityParams"] == {"bargeIn": False, "language": "de-DE", "voiceName": "de-DE-KatjaNeural"}
    french = speaker.to_caller(say("Bye", activityParams={"language": "fr-FR"}), {"language": "fr"})
    assert french["activityParams"] == {"language": "fr-FR"}  # no voice configured for fr, flow's language kept


def test_untranslated_messages_keep_the_flows_voice(client, stub):
    stub.add_client_error("translate_text", "ServiceUnavailableException")
    speaker = translator(client, voices=VOICES)
    failed = speaker.to_caller(say("Hello"), {"language": "de"})
    assert failed == say("Hello")  # still English: no German voice for English words
    assert speaker.to_caller(say("Hello"), {"language": "en"}) == say("Hello")  # the flow's language
    assert speaker.to_caller({"type": "event", "name": "hangup"}, {"language": "de"}) == {
        "type": "event",
        "name": "hangup",
    }


def test_detection_asks_vaic_to_detect_the_voices_languages_and_report_the_change(client):
    speaker = translator(client, voices=VOICES, detection={"enabled": True, "auto_switch": False})
    assert speaker.detection_params() == {
        "languageDetectionActivate": True,
        "languageDetectionAutoSwitch": False,
        "alternativeLanguages": [{"language": "de-DE", "voiceName": "de-DE-KatjaNeural"}, {"language": "fr-CA"}],
        "notifyParamChange": ["language"],
    }
    assert translator(client, voices=VOICES).detection_params() == {}


@pytest.mark.parametrize(
    ("value", "parameters"),
    [
        ({"language": "fr-FR"}, {}),
        ({"name": "language", "value": "fr-FR"}, {}),
        ([{"paramName": "language", "paramValue": "fr_FR"}], {}),
        (None, {"language": "fr-FR"}),
    ],
)
def test_vaics_param_changed_event_settles_the_callers_language(client, value, parameters):
    speaker = translator(client, voices=VOICES)
    state = speaker.follow_vaic(value, parameters, {"votes": {"de": 1}, "last": "de"})
    assert state == {"language": "fr", "last": "fr", "source": "vaic"}


@pytest.mark.parametrize("value", [None, "fr-FR", {"voiceName": "x"}, {"language": "<speak>"}, {"name": "bargeIn"}])
def test_other_param_changes_leave_the_language_alone(client, value):
    assert translator(client).follow_vaic(value, {}, {"language": "de"}) == {"language": "de"}


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"detection": {"enabled": True}}, "detection needs"),
        ({"enabled": True, "detection": {"enabled": True}}, "detection needs"),
        ({"voices": {"de": {"language": "de-DE"}, "de-AT": {"language": "de-AT"}}}, "same language"),
        ({"voices": {"de": {"language": "German"}}}, "language"),
        ({"voices": {"de": {"language": "de-DE", "voiceName": "x"}}}, "voiceName"),
    ],
)
def test_voice_and_detection_settings_are_checked(document, problem):
    with pytest.raises(ValidationError, match=problem):
        TranslationSettings.model_validate(document)
