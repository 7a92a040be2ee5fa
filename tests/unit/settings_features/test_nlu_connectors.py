import math

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import ANY, Stubber
from pydantic import ValidationError

from audiocodes_endpoint.adapters.aws.lex import LexConnector
from audiocodes_endpoint.config.nlu import LexSettings, NluSettings
from audiocodes_endpoint.features.external_nlu import (
    NO_INTENT,
    Guarded,
    NluSetupError,
    NoNlu,
    connector_for,
    lex_result,
)
from audiocodes_endpoint.flows.nlu import BuiltinIntentMatcher, NluResult

LEX = {"bot_id": "ABCDEFGHIJ", "bot_alias_id": "TSTALIASID", "locale_id": "de_DE", "region": "eu-central-1"}
BUILTIN = BuiltinIntentMatcher({"pay": ["pay my bill"], "balance": ["what is my balance"]}, threshold=0.75)


def lex_answer(*interpretations):
    return {"sessionId": "session-1", "interpretations": list(interpretations)}


PAY = {
    "nluConfidence": {"score": 0.92},
    "intent": {
        "name": "PayBill",
        "state": "InProgress",
        "slots": {
            "Amount": {"value": {"originalValue": "forty two", "interpretedValue": "42", "resolvedValues": ["42"]}},
            "Date": {},
            "Items": {
                "values": [
                    {"value": {"originalValue": "gas", "interpretedValue": "gas"}},
                    {"value": {"originalValue": "power", "interpretedValue": "electricity"}},
                ]
            },
        },
    },
}
FALLBACK = {"intent": {"name": "FallbackIntent", "slots": {}}}


@pytest.fixture
def lex_client():
    return boto3.client("lexv2-runtime", region_name="eu-central-1")


@pytest.fixture
def stub(lex_client):
    with Stubber(lex_client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def lex(lex_client, **settings):
    return connector_for(
        NluSettings(connector="lex", lex=LEX, **settings),
        None,
        None,
        lex=lambda lex: LexConnector(lex, client=lex_client),
    )


# --- settings -----------------------------------------------------------------------------------------


def test_the_default_is_the_builtin_matcher_with_its_own_threshold():
    settings = NluSettings()
    assert (settings.connector, settings.threshold, settings.lex, settings.function) == ("builtin", None, None, None)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"connector": "lex"}, "lex: required when connector is lex"),
        ({"connector": "code"}, "function: required when connector is code"),
        ({"connector": "code", "function": "no_dot"}, "function"),
        ({"connector": "lex", "lex": {**LEX, "bot_id": "short"}}, "lex.bot_id"),
        ({"connector": "lex", "lex": {**LEX, "locale_id": "de-DE"}}, "lex.locale_id"),
        ({"connector": "watson"}, "connector"),
        ({"threshold": 1.5}, "threshold"),
        ({"treshold": 0.5}, "treshold"),
    ],
)
def test_settings_are_checked(document, message):
    with pytest.raises(ValidationError, match=message):
        NluSettings.model_validate(document)


def test_lex_accepts_latin_american_spanish():
    assert LexSettings.model_validate({**LEX, "locale_id": "es_419"}).locale_id == "es_419"


# --- none and builtin ---------------------------------------------------------------------------------


def test_no_nlu_never_finds_an_intent(tmp_path):
    connector = connector_for(NluSettings(connector="none"), BUILTIN, tmp_path)
    assert isinstance(connector, NoNlu)
    assert connector.recognize("pay my bill", None) == NO_INTENT


def test_builtin_answers_as_the_flow_engines_matcher(tmp_path):
    connector = connector_for(NluSettings(), BUILTIN, tmp_path)
    assert connector.recognize("pay my bill", "en-US") == NluResult("pay", 1.0, {})


def test_a_threshold_drops_weak_intents_but_keeps_score_and_slots(tmp_path):
    # Given a matcher result of 0.9 and an endpoint threshold of 0.95
    class Weak:
        def recognize(self, text, language):
            return NluResult("pay", 0.9, {"number": "3"})

    connector = connector_for(NluSettings(threshold=0.95), Weak(), tmp_path)
    assert connector.recognize("pay 3", None) == NluResult(None, 0.9, {"number": "3"})


def test_builtin_without_intents_is_a_setup_error(tmp_path):
    with pytest.raises(NluSetupError, match=r"needs agent/intents\.yaml"):
        connector_for(NluSettings(), None, tmp_path)


# --- Lex ----------------------------------------------------------------------------------------------


def test_lex_maps_the_top_interpretation_to_intent_score_and_slots(lex_client, stub):
    # Given Lex recognises PayBill with two slots filled and one empty
    expected = {
        "botId": "ABCDEFGHIJ",
        "botAliasId": "TSTALIASID",
        "localeId": "de_DE",
        "sessionId": ANY,
        "text": "ich will 42 euro zahlen",
    }
    stub.add_response("recognize_text", lex_answer(PAY, FALLBACK), expected)
    # When the caller's words are recognised
    result = lex(lex_client).recognize("ich will 42 euro zahlen", "de-DE")
    # Then the flow sees the intent, Lex's confidence and the interpreted slot values
    assert result == NluResult("PayBill", 0.92, {"Amount": "42", "Items": ["gas", "electricity"]})


def test_unfilled_slots_which_lex_sends_as_null_are_left_out():
    answer = {"interpretations": [{**PAY, "intent": {"name": "PayBill", "slots": {"Date": None, "Amount": {}}}}]}
    assert lex_result(answer) == NluResult("PayBill", 0.92, {})


def test_each_lex_call_uses_a_fresh_session_so_lex_keeps_no_dialog_state(lex_client):
    sessions = []
    lex_client.meta.events.register(
        "before-parameter-build.lex-runtime-v2.RecognizeText", lambda params, **_: sessions.append(params["sessionId"])
    )
    with Stubber(lex_client) as stub:
        stub.add_response("recognize_text", lex_answer(PAY))
        stub.add_response("recognize_text", lex_answer(PAY))
        connector = lex(lex_client)
        connector.recognize("one", None)
        connector.recognize("two", None)
    assert len(sessions) == 2 and sessions[0] != sessions[1]
    assert all(2 <= len(s) <= 100 for s in sessions)


@pytest.mark.parametrize("answer", [lex_answer(FALLBACK, PAY), lex_answer(), {"sessionId": "session-1"}])
def test_fallback_or_no_interpretation_is_no_intent(lex_client, stub, answer):
    stub.add_response("recognize_text", answer)
    assert lex(lex_client).recognize("blah", None) == NO_INTENT


def test_lex_below_the_endpoint_threshold_is_no_intent(lex_client, stub):
    stub.add_response("recognize_text", lex_answer(PAY))
    result = lex(lex_client, threshold=0.95).recognize("pay 42", None)
    assert result == NluResult(None, 0.92, {"Amount": "42", "Items": ["gas", "electricity"]})


def test_a_lex_error_is_no_intent_and_logged_without_the_callers_words(lex_client, stub, log_output):
    # Given Lex throttles the request
    stub.add_client_error("recognize_text", service_error_code="ThrottlingException", http_status_code=429)
    # When the caller's words are recognised
    result = lex(lex_client).recognize("my secret words", None)
    # Then there is no intent, and a log line says which connector failed how
    assert result == NO_INTENT
    [line] = log_output.lines
    assert (line["message"], line["connector"], line["error"]) == (
        "NLU failed; no intent",
        "lex",
        "ThrottlingException",
    )
    assert "secret" not in log_output.text


def test_a_lex_timeout_is_no_intent(log_output):
    class TimingOut:
        def recognize_text(self, **_):
            raise ReadTimeoutError(endpoint_url="https://runtime-v2-lex.eu-central-1.amazonaws.com")

    connector = Guarded(LexConnector(LexSettings(**LEX), client=TimingOut()), "lex")
    assert connector.recognize("hello", None) == NO_INTENT
    assert log_output.lines[0]["error"] == "ReadTimeoutError"


def test_the_lex_client_is_made_for_the_bots_region_with_short_timeouts_and_no_retries():
    client = LexConnector(LexSettings(**{**LEX, "region": "eu-west-2", "timeout_seconds": 1.5})).client
    assert client.meta.region_name == "eu-west-2"
    assert (client.meta.config.connect_timeout, client.meta.config.read_timeout) == (1.5, 1.5)
    assert client.meta.config.retries["total_max_attempts"] == 1


# --- code ---------------------------------------------------------------------------------------------


CODE = """
import time
from audiocodes_endpoint.flows.nlu import NluResult

def as_dict(*, text, language):
    return {"intent": "echo", "score": 0.7, "slots": {"language": language, "words": len(text.split())}}

def as_result(*, text):
    return NluResult("typed", 0.8, {})

def only_intent(*, text):
    return {"intent": "sure"}

def nothing(*, text):
    return None

def odd(*, text):
    return NluResult("", float("nan"), None)

def too_high(*, text):
    return NluResult("x", 7, {})

def wrong_keys(*, text):
    return {"name": "x"}

def crash(*, text):
    raise RuntimeError(text)

def slow(*, text):
    time.sleep(1)
"""


@pytest.fixture
def code(extension):
    agent = extension("my_nlu", CODE)

    def connector(function, **settings):
        return connector_for(NluSettings(connector="code", function=f"my_nlu.{function}", **settings), None, agent)

    return connector


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("as_dict", NluResult("echo", 0.7, {"language": "de-DE", "words": 3})),
        ("as_result", NluResult("typed", 0.8, {})),
        ("only_intent", NluResult("sure", 1.0, {})),
        ("nothing", NO_INTENT),
        ("odd", NluResult(None, 0.0, {})),
        ("too_high", NluResult("x", 1.0, {})),
        ("wrong_keys", NO_INTENT),
        ("crash", NO_INTENT),
    ],
)
def test_a_code_connector_answers_in_the_same_shape_whatever_it_returns(code, function, expected):
    assert code(function).recognize("one two three", "de-DE") == expected


def test_a_slow_code_connector_times_out_to_no_intent(code, log_output):
    assert code("slow", timeout_seconds=0.05).recognize("hi", None) == NO_INTENT
    assert log_output.lines[0]["error"] == "CodeTimeout"


def test_a_code_connector_that_does_not_exist_fails_at_load(code):
    with pytest.raises(NluSetupError, match="extension module 'my_nlu' has no function 'missing'"):
        code("missing")


def test_a_code_connector_module_that_does_not_import_fails_at_load_naming_the_file(extension):
    agent = extension("broken_nlu", "import not_a_module_anywhere\n")
    with pytest.raises(NluSetupError, match=r"broken_nlu\.py: cannot import: ModuleNotFoundError"):
        connector_for(NluSettings(connector="code", function="broken_nlu.f"), None, agent)


def test_score_is_always_finite():
    class Infinite:
        def recognize(self, text, language):
            return NluResult("x", math.inf, {})

    assert Guarded(Infinite(), "code").recognize("x", None) == NluResult("x", 0.0, {})
