"""Log masking: no caller data in a log line (Cognigy's "Data Protection & Analytics", ``mask_logging``).

The Logger's formatter (:class:`~audiocodes_endpoint.observability.MaskingFormatter`) masks a line as
it serializes it, the one place every log line passes after the message, the ``extra`` keys, the
appended keys and the exception text are put together; so nothing logged through the Logger (or its
child loggers) escapes it. Values under keys that
carry caller content (:data:`SENSITIVE_KEYS`) are replaced whole; every other string is scanned for
phone numbers (:func:`mask_phone_numbers`). The replacement is ``*****``, the string Powertools'
``DataMasking().erase`` uses. ``DataMasking`` itself is not used on this path: it compiles JSONPath
expressions per call (about 1.3 ms a line, measured) and needs ``jsonpath-ng``, which the Lambda
layer does not ship; a key walk does the same job in microseconds.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

MASK = "*****"

SENSITIVE_KEYS = frozenset(
    key.lower()
    for key in (
        # who is calling whom
        "caller", "callee", "callerDisplayName", "calleeDisplayName", "callerUri", "calleeUri",
        "userId", "user_id", "number", "phone", "phoneNumber", "numberMetaData", "transferTarget",
        "outboundTarget", "dialoutMetadata",
        # what they said or typed, and what the flow derived from it
        "text", "data", "value", "parameters", "slots", "payload", "body", "storage", "transcript",
        "caller_text", "bot_text", "recognitionOutput", "alternatives",
        # never log credentials
        "authorization", "x-api-key", "api_key", "token", "password",
        # notes added to exceptions (PEP 678) are free text
        "exception_notes",
    )
)  # fmt: skip
"""Keys (any case, any depth) whose values are replaced whole."""

# Keys Powertools itself writes, with no caller content; scanning them only costs time and could
# mangle an ISO timestamp that looks like digits.
_STRUCTURAL_KEYS = frozenset(
    {"level", "location", "timestamp", "service", "xray_trace_id", "sampling_rate", "cold_start", "exception_name"}
    | {"function_name", "function_memory_size", "function_arn", "function_request_id"}
)

# 7 to 19 digits (E.164's 15 plus a 00 prefix; card numbers have up to 19), optionally led by +, split
# by spaces, dots, dashes, slashes (030/1234567) or brackets; not glued to letters or other digits, so
# ids and UUID parts are left alone. Dates such as 12/04/2024 are masked too: over-masking a log line
# is the safe side.
_PHONE = re.compile(r"(?<![\w+])(?:\+|\b)(?:\d[\s()./-]{0,3}){6,18}\d(?![\w-])")
# pydantic errors quote the rejected value (``input_value='I want to pay', input_type=str``).
_INPUT_VALUE = re.compile(r"input_value=.*?(?=, input_type=)", re.DOTALL)


def mask_phone_numbers(text: str) -> str:
    """``text`` with every phone-number-like run of digits replaced by :data:`MASK`."""
    return _PHONE.sub(MASK, text)


def mask_free_text(text: str) -> str:
    """Phone numbers and values quoted by validation errors masked; the rest of the sentence kept."""
    return mask_phone_numbers(_INPUT_VALUE.sub("input_value=" + MASK, text))


def mask_values(value: Any, sensitive: frozenset[str] = SENSITIVE_KEYS) -> Any:
    """A copy of ``value`` with sensitive keys erased and phone numbers masked in other strings."""
    if isinstance(value, Mapping):
        return {
            key: (MASK if value[key] is not None else None)
            if str(key).lower() in sensitive
            else mask_values(value[key], sensitive)
            for key in value
        }
    if isinstance(value, list | tuple):
        return [mask_values(item, sensitive) for item in value]
    if isinstance(value, str):
        return mask_free_text(value)
    return value


def mask_log_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A formatted Powertools log record with caller data masked (structural keys left as they are)."""
    return {key: value if key in _STRUCTURAL_KEYS else mask_values({key: value})[key] for key, value in record.items()}


def error_name(error: BaseException) -> str:
    """What an error was, safe to log: its AWS error code or its type, never its message (which may
    quote the caller's words)."""
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, Mapping) else None
    return str(code) if code else type(error).__name__


# --- the Logger hook ------------------------------------------------------------------------------


# Per invocation, not per process: each handler sets it to True before anything is logged
# (observability.per_invocation), then to the endpoint's setting once the endpoint is known. A
# ContextVar also keeps requests served by threads of one process (tests, the emulator) apart; a
# thread that never set it (a code node's worker thread) masks.
_masking: ContextVar[bool] = ContextVar("mask_logging", default=True)


def set_log_masking(enabled: bool) -> None:
    _masking.set(enabled)


def log_masking() -> bool:
    return _masking.get()


def loggable_message(error: BaseException) -> str:
    """What a masked log line may say about ``error``: its ``log_safe`` text (set by code that built the
    message from the agent's names only), else :data:`MASK`. Exception messages often quote values."""
    safe = getattr(error, "log_safe", None)
    return safe if isinstance(safe, str) else MASK


def masked_traceback(error: BaseException) -> str:
    """The traceback of ``error`` and the exceptions it chains, each message replaced by :func:`loggable_message`.

    Frames (file, line, function, source line of our or the agent's code) are kept: they say where,
    never what the caller said.
    """
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    parts: list[str] = []
    for index, item in enumerate(reversed(chain)):
        if index:
            parts.append("\nThe above exception led to the following exception:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_list(traceback.extract_tb(item.__traceback__)))
        parts.append(f"{type(item).__qualname__}: {loggable_message(item)}\n")
    return "".join(parts).rstrip("\n")
