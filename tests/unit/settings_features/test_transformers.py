import hashlib
import hmac
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from audiocodes_endpoint.config.endpoint import EndpointSettings
from audiocodes_endpoint.config.transformers import TransformerSettings
from audiocodes_endpoint.features.transformers import (
    MAX_STORAGE_BYTES,
    TransformerError,
    TransformerInput,
    Transformers,
    endpoint_object,
)

AGENT = Path(__file__).parents[3] / "agent"
PAYLOAD = TransformerInput(userId="+4930123456", sessionId="conv-1", text="hello there", data={"k": 1})
ENDPOINT = EndpointSettings(name="Demo", url_token="demo", flow="main", bot_token="env:X")


def on(**flags):
    return TransformerSettings(module="hooks", **flags)


def load(agent_dir, **flags):
    return Transformers.load(on(**flags), agent_dir, endpoint_object(ENDPOINT))


# --- settings ---------------------------------------------------------------------------------------


def test_defaults_are_off_with_cognigys_time_limit():
    # Given no transformer settings
    settings = TransformerSettings()
    # Then nothing runs, errors keep the original value, and a hook gets 5 seconds
    assert settings.enabled_hooks == ()
    assert (settings.module, settings.timeout_seconds, settings.abort_on_error) == (None, 5.0, False)


def test_enabling_a_hook_needs_a_module():
    with pytest.raises(ValidationError, match="module: required when a transformer is enabled"):
        TransformerSettings(input=True)


@pytest.mark.parametrize("module", ["../secrets", "a.b", "", "1abc"])
def test_module_must_be_a_plain_module_name(module):
    with pytest.raises(ValidationError, match="module"):
        TransformerSettings(module=module, input=True)


def test_a_typo_in_the_settings_is_refused():
    with pytest.raises(ValidationError, match="inptu"):
        TransformerSettings.model_validate({"module": "m", "inptu": True})


# --- loading ----------------------------------------------------------------------------------------


def test_disabled_hooks_pass_values_through_without_importing_anything(tmp_path):
    # Given an endpoint with a module named but no hook enabled, and no such file
    transformers = Transformers.load(TransformerSettings(module="missing"), tmp_path)
    storage: dict = {}
    # When each hook is called
    # Then each value comes back as it was
    assert transformers.handle_input(PAYLOAD, storage) is PAYLOAD
    output = {"type": "message", "text": "hi"}
    assert transformers.handle_output(output, userId="u", sessionId="s", storage=storage) is output
    assert transformers.handle_execution_finished([output], userId="u", sessionId="s", storage=storage) == [output]


def test_a_missing_module_fails_at_load(tmp_path):
    with pytest.raises(TransformerError, match=r"load: no module agent/extensions/hooks\.py"):
        load(tmp_path, input=True)


def test_a_missing_hook_function_fails_at_load(extension):
    agent = extension("hooks", "def handle_input(*, payload):\n    return payload\n")
    with pytest.raises(TransformerError, match=r"agent/extensions/hooks\.py has no function handle_output"):
        load(agent, input=True, output=True)


def test_a_module_that_does_not_import_fails_at_load_naming_the_file(extension):
    agent = extension("hooks", "def handle_input(:\n")
    with pytest.raises(TransformerError, match=r"hooks\.py: cannot import: SyntaxError"):
        load(agent, input=True)


def test_the_demo_module_provides_every_hook():
    settings = TransformerSettings(
        module="transformers_demo", input=True, output=True, execution_finished=False, inject=True, notify=True
    )
    transformers = Transformers.load(settings, AGENT)
    assert set(transformers.functions) == {"handle_input", "handle_output", "handle_inject", "handle_notify"}


# --- handle_input -----------------------------------------------------------------------------------


def test_input_hook_changes_text_and_keeps_fields_it_leaves_out_or_sets_to_none(extension):
    # Given a hook that upper-cases the text and returns userId None
    agent = extension(
        "hooks",
        """
        def handle_input(*, payload):
            return {"text": payload["text"].upper(), "userId": None}
        """,
    )
    # When an input passes through it
    result = load(agent, input=True).handle_input(PAYLOAD, {})
    # Then only the text changed
    assert result == TransformerInput(userId="+4930123456", sessionId="conv-1", text="HELLO THERE", data={"k": 1})


def test_input_hook_may_replace_every_field(extension):
    agent = extension(
        "hooks",
        """
        def handle_input(*, payload):
            return {"userId": "hashed", "sessionId": "s2", "text": "", "data": {"new": True}}
        """,
    )
    result = load(agent, input=True).handle_input(PAYLOAD, {})
    assert result == TransformerInput(userId="hashed", sessionId="s2", text="", data={"new": True})


@pytest.mark.parametrize("returned", ["None", "False"])
def test_input_hook_drops_the_input_by_returning_none_or_false(extension, returned):
    agent = extension("hooks", f"def handle_input(*, payload):\n    return {returned}\n")
    assert load(agent, input=True).handle_input(PAYLOAD, {}) is None


def test_an_empty_dict_keeps_the_input_as_it_was(extension):
    # Cognigy's transformers are JavaScript, where {} is truthy: it keeps every value
    agent = extension("hooks", "def handle_input(*, payload):\n    return {}\n")
    assert load(agent, input=True).handle_input(PAYLOAD, {}) == PAYLOAD


def test_the_hook_gets_a_copy_so_a_failing_hook_cannot_half_change_the_input(extension):
    agent = extension(
        "hooks",
        """
        def handle_input(*, payload):
            payload["data"]["k"] = 99
            raise RuntimeError("after mutating")
        """,
    )
    assert load(agent, input=True).handle_input(PAYLOAD, {}) == PAYLOAD
    assert PAYLOAD.data == {"k": 1}


@pytest.mark.parametrize(
    ("returned", "reason"),
    [
        ('{"text": "x" * 10_001}', "text: String should have at most 10000 characters"),
        ('{"userId": "u" * 257}', "userId: String should have at most 256 characters"),
        ('{"sessionId": ""}', "sessionId: String should have at least 1 character"),
        ('{"data": ["not", "an", "object"]}', "data: Input should be a valid dictionary"),
        ('{"data": {"when": __import__("datetime").date(2024, 1, 1)}}', "data: Value error, must be JSON-serialisable"),
        ('{"txt": "typo"}', "txt: Extra inputs are not permitted"),
        ('"just a string"', "returned str, expected a dict or None"),
    ],
)
def test_an_invalid_return_value_keeps_the_original_and_logs_why_without_the_value(
    extension, log_output, returned, reason
):
    # Given a hook that returns something out of Cognigy's limits
    agent = extension("hooks", f"def handle_input(*, payload):\n    return {returned}\n")
    # When the input passes through it
    result = load(agent, input=True).handle_input(PAYLOAD, {})
    # Then the original input is kept and the log says which field was wrong
    assert result == PAYLOAD
    [line] = log_output.lines
    assert line["message"] == "transformer failed"
    assert line["transformer"] == "handle_input"
    assert line["reason"] == f"invalid return value: {reason}"
    assert "xxxxx" not in log_output.text and "typo" not in log_output.text


def test_an_exception_is_logged_with_its_type_and_line_but_not_its_message(extension, log_output):
    # Given a hook whose error message would contain the caller's number
    agent = extension(
        "hooks",
        """
        def handle_input(*, payload):
            lookup = {}
            return lookup[payload["userId"]]
        """,
    )
    # When it runs
    result = load(agent, input=True).handle_input(PAYLOAD, {})
    # Then the input is unchanged and the log names the error and the line, not the number
    assert result == PAYLOAD
    assert log_output.lines[0]["reason"] == "raised KeyError at hooks.py:4"
    assert "4930123456" not in log_output.text


def test_a_hook_that_runs_too_long_counts_as_an_error(extension, log_output):
    # Given a hook that blocks until the test releases it, and a 50 ms limit
    agent = extension(
        "hooks",
        """
        import threading
        release = threading.Event()
        def handle_input(*, payload, storage):
            release.wait(5)
            storage["late"] = True
            return {"text": "too late"}
        """,
    )
    transformers = Transformers.load(TransformerSettings(module="hooks", input=True, timeout_seconds=0.05), agent)
    storage = {"kept": 1}
    try:
        # When it runs
        result = transformers.handle_input(PAYLOAD, storage)
    finally:
        transformers.functions["handle_input"].__globals__["release"].set()
    # Then the original input and storage are kept and the timeout is logged
    assert result == PAYLOAD
    assert storage == {"kept": 1}
    assert log_output.lines[0]["reason"] == "timed out: did not return within 0.05 s (its thread keeps running)"


def test_abort_on_error_raises_instead_of_keeping_the_original(extension):
    agent = extension("hooks", "def handle_input(*, payload):\n    raise ValueError('no')\n")
    settings = TransformerSettings(module="hooks", input=True, abort_on_error=True)
    with pytest.raises(TransformerError, match=r"^handle_input: raised ValueError at hooks\.py:2$") as raised:
        Transformers.load(settings, agent).handle_input(PAYLOAD, {})
    assert raised.value.hook == "handle_input"


# --- storage ----------------------------------------------------------------------------------------


def test_storage_changes_are_kept_for_the_next_turn(extension):
    agent = extension(
        "hooks",
        """
        def handle_input(*, payload, storage):
            storage.setdefault("seen", []).append(payload["text"])
            return {}
        """,
    )
    transformers = load(agent, input=True)
    storage: dict = {}
    transformers.handle_input(PAYLOAD, storage)
    transformers.handle_input(PAYLOAD.model_copy(update={"text": "again"}), storage)
    assert storage == {"seen": ["hello there", "again"]}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("storage['blob'] = 'x' * MAX", "storage is 16417 bytes, over the 16384 limit"),
        ("storage['when'] = object()", "storage is not JSON-serialisable"),
    ],
)
def test_storage_that_breaks_the_limits_is_rolled_back(extension, log_output, change, reason):
    agent = extension(
        "hooks",
        f"""
        MAX = {MAX_STORAGE_BYTES}
        def handle_input(*, payload, storage):
            storage["tried"] = True
            {change}
            return {{"text": "changed"}}
        """,
    )
    storage = {"kept": 1}
    result = load(agent, input=True).handle_input(PAYLOAD, storage)
    assert result == PAYLOAD and storage == {"kept": 1}
    assert log_output.lines[0]["reason"] == f"invalid return value: {reason}"


def test_a_failing_hook_leaves_storage_as_it_was(extension):
    agent = extension(
        "hooks",
        """
        def handle_input(*, payload, storage):
            storage["half"] = "done"
            raise RuntimeError
        """,
    )
    storage = {"kept": 1}
    load(agent, input=True).handle_input(PAYLOAD, storage)
    assert storage == {"kept": 1}


def test_hooks_get_a_fresh_copy_of_the_endpoint(extension):
    agent = extension(
        "hooks",
        """
        def handle_input(*, payload, endpoint):
            seen = dict(endpoint)
            endpoint["name"] = "changed"
            return {"data": {"endpoint": seen}}
        """,
    )
    transformers = load(agent, input=True)
    first = transformers.handle_input(PAYLOAD, {})
    second = transformers.handle_input(PAYLOAD, {})
    expected = {"name": "Demo", "URLToken": "demo", "flow": "main", "channel": "audiocodes", "asyncMode": False}
    assert first is not None and second is not None
    assert first.data == second.data == {"endpoint": expected}


# --- handle_output / handle_execution_finished --------------------------------------------------------


OUTPUT_HOOKS = """
def handle_output(*, output, userId, sessionId, storage):
    storage["outputs"] = storage.get("outputs", 0) + 1
    if output.get("text") == "drop me":
        return None
    if output.get("text") == "broken":
        return {"text": "no type"}
    return {**output, "text": f"{output['text']} ({userId}/{sessionId})"}

def handle_execution_finished(*, outputs):
    if outputs and outputs[0].get("text") == "nothing":
        return None
    if outputs and outputs[0].get("text") == "not a list":
        return {"type": "message"}
    return list(reversed(outputs))
"""


def test_output_hook_changes_an_activity_and_sees_user_and_session(extension):
    transformers = load(extension("hooks", OUTPUT_HOOKS), output=True)
    storage: dict = {}
    output = {"type": "message", "id": "a1", "timestamp": "2024-01-01T00:00:00.000Z", "text": "Hi"}
    result = transformers.handle_output(output, userId="u1", sessionId="s1", storage=storage)
    assert result == {**output, "text": "Hi (u1/s1)"}
    assert storage == {"outputs": 1}


def test_output_hook_drops_an_activity(extension):
    transformers = load(extension("hooks", OUTPUT_HOOKS), output=True)
    output = {"type": "message", "text": "drop me"}
    assert transformers.handle_output(output, userId="u", sessionId="s", storage={}) is None


def test_an_output_without_a_type_is_invalid_and_the_original_is_sent(extension, log_output):
    transformers = load(extension("hooks", OUTPUT_HOOKS), output=True)
    output = {"type": "message", "text": "broken"}
    assert transformers.handle_output(output, userId="u", sessionId="s", storage={}) == output
    assert log_output.lines[0]["reason"] == "invalid return value: type: Field required"


def test_execution_finished_may_reorder_drop_all_or_is_kept_when_invalid(extension):
    transformers = load(extension("hooks", OUTPUT_HOOKS), execution_finished=True)
    a = {"type": "message", "id": "1", "timestamp": "t", "text": "first"}
    b = {"type": "event", "id": "2", "timestamp": "t", "name": "hangup"}
    assert transformers.handle_execution_finished([a, b], userId="u", sessionId="s", storage={}) == [b, a]
    nothing = [{**a, "text": "nothing"}]
    assert transformers.handle_execution_finished(nothing, userId="u", sessionId="s", storage={}) is None
    not_a_list = [{**a, "text": "not a list"}]
    assert transformers.handle_execution_finished(not_a_list, userId="u", sessionId="s", storage={}) == not_a_list


# --- handle_inject / handle_notify (the demo) ---------------------------------------------------------


@pytest.fixture
def demo():
    settings = TransformerSettings(module="transformers_demo", input=True, output=True, inject=True, notify=True)
    return Transformers.load(settings, AGENT, endpoint_object(ENDPOINT))


WEBHOOK = {
    "id": "pay_123",
    "event": "payment.succeeded",
    "amount": 4200,
    "currency": "EUR",
    "metadata": {"conversation": "3f1c2d9e-conv"},
}


def test_demo_inject_maps_a_payment_webhook_to_the_call_that_paid(demo):
    result = demo.handle_inject(WEBHOOK, {"Content-Type": "application/json"})
    assert result == TransformerInput(
        sessionId="3f1c2d9e-conv",
        text="payment succeeded",
        data={"payment": {"status": "succeeded", "id": "pay_123", "amount": 4200, "currency": "EUR"}},
    )


def test_demo_inject_ignores_other_events(demo):
    assert demo.handle_inject({**WEBHOOK, "event": "customer.created"}) is None


def test_demo_inject_checks_the_signature_when_a_secret_is_set(demo, monkeypatch):
    # Given a webhook secret
    monkeypatch.setenv("PAYMENT_WEBHOOK_SECRET", "s3cret")
    raw = json.dumps(WEBHOOK)
    signature = hmac.new(b"s3cret", raw.encode(), hashlib.sha256).hexdigest()
    # Then a correctly signed body is injected (header names in any case)
    signed = demo.handle_inject(WEBHOOK, {"X-Payment-Signature": f"sha256={signature}"}, raw)
    assert signed is not None and signed.sessionId == "3f1c2d9e-conv"
    # And a wrongly signed one is refused with an error, not injected
    with pytest.raises(TransformerError, match=r"^handle_inject: raised PermissionError at transformers_demo\.py:\d+$"):
        demo.handle_inject(WEBHOOK, {"x-payment-signature": "sha256=" + "0" * 64}, raw)


def test_demo_notify_maps_a_back_office_message(demo):
    assert demo.handle_notify({"conversation": "c-9", "say": "Your parcel has shipped."}) == TransformerInput(
        sessionId="c-9", text="Your parcel has shipped."
    )


def test_an_inject_without_a_session_or_content_is_an_error(extension):
    agent = extension(
        "hooks",
        """
        def handle_inject(*, body):
            return body
        """,
    )
    transformers = load(agent, inject=True)
    with pytest.raises(TransformerError, match="sessionId: Field required"):
        transformers.handle_inject({"text": "hi"})
    with pytest.raises(TransformerError, match="text or data is required"):
        transformers.handle_inject({"sessionId": "c-1"})
    assert transformers.handle_inject({"sessionId": "c-1", "data": {"a": 1}}) == TransformerInput(
        sessionId="c-1", data={"a": 1}
    )


def test_inject_to_an_endpoint_without_the_hook_is_refused(demo, tmp_path):
    transformers = Transformers.load(TransformerSettings(), tmp_path)
    with pytest.raises(TransformerError, match=r"^handle_inject: not enabled for this endpoint$"):
        transformers.handle_inject(WEBHOOK)


def test_demo_input_strips_politeness_and_counts_inputs(demo):
    storage: dict = {}
    result = demo.handle_input(PAYLOAD.model_copy(update={"text": "My balance, please!"}), storage)
    assert result is not None and result.text == "My balance"
    only_please = demo.handle_input(PAYLOAD.model_copy(update={"text": "please"}), storage)
    assert only_please is not None and only_please.text == "please"
    assert storage == {"inputs": 2}


def test_demo_output_drops_blank_messages(demo):
    blank = {"type": "message", "text": "  "}
    assert demo.handle_output(blank, userId="u", sessionId="s", storage={}) is None
