import pytest
from aws_lambda_powertools import Logger
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from audiocodes_endpoint.config.data_protection import DataProtectionSettings
from audiocodes_endpoint.features.privacy import mask_ip_address
from audiocodes_endpoint.observability import bind_conversation, logger
from audiocodes_endpoint.observability.masking import (
    MASK,
    error_name,
    mask_free_text,
    mask_phone_numbers,
    mask_values,
    set_log_masking,
)

CALLER = "+4930123456789"
DIGITS = "30123456789"  # what must not appear anywhere, whatever the formatting


def test_defaults_protect_the_caller():
    settings = DataProtectionSettings()
    assert settings.model_dump() == {
        "mask_logging": True,
        "mask_analytics": False,
        "mask_ip": True,
        "collect_analytics": True,
        "store_transcripts": False,
        "retention_days": 30,
    }


def test_retention_must_be_at_least_a_day():
    with pytest.raises(ValidationError, match="retention_days"):
        DataProtectionSettings(retention_days=0)


@pytest.mark.parametrize(
    "text",
    [
        "+4930123456789",
        "+49 30 123456789",
        "0049 (30) 1234-56789",
        "030 123 456 789",
        "tel:+4930123456789",
        "sip:+4930123456789@sbc.example.com",
        "caller=+1-202-555-0143;",
        "030/123456789",
    ],
)
def test_phone_numbers_in_free_text_are_masked(text):
    masked = mask_phone_numbers(f"call from {text} ended")
    assert not any(run in masked for run in ("123456", "1234-56789", "555-0143", "123 456"))
    assert masked.startswith("call from ") and masked.endswith(" ended") and MASK in masked


@pytest.mark.parametrize(
    "text",
    [
        "2024-12-04T15:07:55.145Z",
        "conversation 3f1c2d9e-1234-5678-9abc-def012345678",
        "conversation 12345678-1234-5678-9abc-def012345678",
        "turn 12 took 250 ms",
        "version 1.2.3",
        "activity a1b2c3d4e5f6789012",
    ],
)
def test_timestamps_ids_and_small_numbers_are_left_alone(text):
    assert mask_phone_numbers(text) == text


def test_validation_errors_lose_the_value_they_quote():
    class Model(BaseModel):
        amount: int

    with pytest.raises(ValidationError) as raised:
        Model(amount="my card is 4111 1111 1111 1111 and I live in Berlin")
    masked = mask_free_text(str(raised.value))
    assert "Berlin" not in masked and "4111" not in masked
    assert f"input_value={MASK}, input_type=str" in masked


def test_sensitive_keys_are_erased_at_any_depth_and_other_strings_scanned():
    value = {
        "caller": CALLER,
        "nested": {"Text": "I want to pay", "list": [{"userId": "u1"}, "ring +49 30 123456789"]},
        "reason": "Client Side",
        "value": None,
        "count": 3,
    }
    assert mask_values(value) == {
        "caller": MASK,
        "nested": {"Text": MASK, "list": [{"userId": MASK}, f"ring {MASK}"]},
        "reason": "Client Side",
        "value": None,
        "count": 3,
    }


def test_ip_addresses_are_masked_when_either_setting_says_so():
    assert mask_ip_address("203.0.113.7", DataProtectionSettings()) == MASK
    assert mask_ip_address("203.0.113.7", DataProtectionSettings(mask_ip=False)) == "203.0.113.7"
    assert mask_ip_address("203.0.113.7", DataProtectionSettings(mask_ip=False, mask_analytics=True)) == MASK
    assert mask_ip_address(None, DataProtectionSettings()) is None


# --- the real logger ----------------------------------------------------------------------------------


def log_a_call():
    """Everything a careless turn might log about a caller."""
    bind_conversation("demo", "conv-42")
    logger.append_keys(caller=CALLER)
    try:
        logger.info(
            f"new call from {CALLER}",
            extra={
                "parameters": {"caller": CALLER, "callee": "+4989765432100"},
                "text": "my account number is 12345678",
                "data": {"iban": "DE89370400440532013000"},
                "activity_id": "a-1",
                "note": "callback on 030 12345 6789",
            },
        )
        try:
            raise ValueError(f"unknown number {CALLER}")
        except ValueError:
            logger.exception("lookup failed")
    finally:
        logger.remove_keys(["caller", "endpoint", "conversation"])


def test_with_masking_no_log_line_contains_the_caller_number(log_output):
    # Given masking installed on the project's logger
    set_log_masking(True)
    # When a turn logs the caller's number in every place it can
    log_a_call()
    # Then the number, the callee, the caller's words and data appear nowhere
    text = log_output.text
    for secret in (DIGITS, "89765432100", "my account number", "DE8937", "12345 6789"):
        assert secret not in text
    # And the lines still say what happened, to which conversation, when
    info, error = log_output.lines
    assert info["message"] == f"new call from {MASK}"
    assert (info["endpoint"], info["conversation"], info["activity_id"]) == ("demo", "conv-42", "a-1")
    assert (info["caller"], info["parameters"], info["text"], info["data"]) == (MASK, MASK, MASK, MASK)
    assert info["note"] == f"callback on {MASK}"
    assert info["timestamp"][:2] == "20" and info["level"] == "INFO"
    # (the exception's message is masked whole: messages quote names and words, not only numbers)
    assert error["exception_name"] == "ValueError" and error["exception"].endswith(f"ValueError: {MASK}")
    assert 'raise ValueError(f"unknown number {CALLER}")' in error["exception"]  # where, from the source


def test_without_masking_the_same_lines_carry_the_number(log_output):
    # Proves the test above would see the number if masking failed
    set_log_masking(False)
    log_a_call()
    assert DIGITS in log_output.text and "my account number" in log_output.text


def test_masking_switches_per_request_in_the_formatter_the_logger_was_built_with(log_output):
    from audiocodes_endpoint.observability import MaskingFormatter

    assert isinstance(logger.registered_formatter, MaskingFormatter)
    set_log_masking(False)
    logger.info("one", extra={"caller": CALLER})
    set_log_masking(True)
    logger.info("two", extra={"caller": CALLER})
    assert [line["caller"] for line in log_output.lines] == [CALLER, MASK]


def test_child_loggers_of_the_service_are_masked_too(log_output):
    set_log_masking(True)
    child = Logger(service=logger.service, child=True)
    child.info("from a child", extra={"caller": CALLER})
    assert log_output.lines[0]["caller"] == MASK and DIGITS not in log_output.text


def test_error_names_are_safe_to_log():
    from botocore.exceptions import ClientError

    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "for +4930123456789"}}, "Op")
    assert error_name(throttled) == "ThrottlingException"
    assert error_name(KeyError(CALLER)) == "KeyError"


@settings(max_examples=300, deadline=None)
@given(
    digits=st.text(alphabet="0123456789", min_size=7, max_size=15),
    prefix=st.sampled_from(["+", "00", "", "tel:+", "sip:+"]),
    separator=st.sampled_from(["", " ", "-", ".", "/"]),
    group=st.integers(min_value=2, max_value=4),
)
def test_a_phone_number_in_any_common_format_leaves_no_run_of_its_digits(digits, prefix, separator, group):
    # Given a number written in groups with a separator, inside a sentence
    grouped = separator.join(digits[i : i + group] for i in range(0, len(digits), group))
    masked = mask_phone_numbers(f"please call {prefix}{grouped} today")
    # Then no four of its digits survive in a row, and the sentence around it does
    remaining = "".join(ch for ch in masked if ch.isdigit())
    assert not any(digits[i : i + 4] in remaining for i in range(len(digits) - 3))
    assert masked.startswith("please call") and masked.endswith(" today")


# --- per invocation, and exception texts --------------------------------------------------------------


def test_each_invocation_starts_masked_whatever_the_previous_one_set(log_output):
    from audiocodes_endpoint.observability import per_invocation

    @per_invocation
    def handler(event, context):
        logger.info("first line of the invocation", extra={"caller": CALLER})
        if event["endpoint_masks"] is False:
            set_log_masking(False)
            logger.info("after the endpoint is known", extra={"caller": CALLER})

    # Given an invocation for an endpoint that does not mask, which leaves masking off
    handler({"endpoint_masks": False}, None)
    # When the next invocation (a masking endpoint) logs before it knows its endpoint
    handler({"endpoint_masks": True}, None)
    # Then its first line is masked; only the non-masking endpoint's own line after it was known is not
    assert [line["caller"] for line in log_output.lines] == [MASK, CALLER, MASK]


def test_masking_is_per_thread_not_per_process(log_output):
    import threading

    set_log_masking(False)  # this thread serves a non-masking endpoint
    other = threading.Thread(target=lambda: logger.info("other request", extra={"caller": CALLER}))
    other.start()
    other.join()
    logger.info("this request", extra={"caller": CALLER})
    assert [line["caller"] for line in log_output.lines] == [MASK, CALLER]
    set_log_masking(True)


def test_a_masked_traceback_keeps_where_and_what_kind_and_drops_every_message(log_output):
    from audiocodes_endpoint.flows.turn import FlowError

    set_log_masking(True)
    said = "Jane Doe, account 4711"  # (source lines are in tracebacks: the caller's words come from a variable)
    try:
        try:
            int(said[:8])
        except ValueError as error:
            raise FlowError(f"flow 'main', node 'n' (code): {said}", log_safe="flow 'main', node 'n' (code)") from error
    except FlowError:
        logger.exception("flow failed")
    (line,) = log_output.lines
    assert "Jane" not in line["exception"] and "4711" not in line["exception"]
    assert line["exception"].endswith("FlowError: flow 'main', node 'n' (code)")
    assert f"ValueError: {MASK}" in line["exception"] and "The above exception led to" in line["exception"]
    # And without masking the messages are all there
    set_log_masking(False)
    try:
        raise FlowError(said, log_safe="safe")
    except FlowError:
        logger.exception("flow failed")
    set_log_masking(True)
    assert log_output.lines[-1]["exception"].endswith(f"FlowError: {said}")
