"""Data protection: what may appear in logs and analytics (Cognigy's "Data Protection & Analytics").

Log masking hooks the Powertools formatter's JSON serializer, the one place every log line passes
after the message, the ``extra`` keys, the appended keys and the exception text are put together;
so nothing logged through the Logger (or its child loggers) escapes it. Values under keys that
carry caller content (:data:`SENSITIVE_KEYS`) are replaced whole; every other string is scanned for
phone numbers (:func:`mask_phone_numbers`). The replacement is ``*****``, the string Powertools'
``DataMasking().erase`` uses. ``DataMasking`` itself is not used on this path: it compiles JSONPath
expressions per call (about 1.3 ms a line, measured) and needs ``jsonpath-ng``, which the Lambda
layer does not ship; a key walk does the same job in microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MASK = "*****"

SENSITIVE_KEYS = frozenset(
    key.lower()
    for key in (
        # who is calling whom
        "caller", "callee", "callerDisplayName", "calleeDisplayName", "callerUri", "calleeUri",
        "userId", "user_id", "number", "phone", "phoneNumber", "numberMetaData", "transferTarget",
        # what they said or typed, and what the flow derived from it
        "text", "data", "value", "parameters", "slots", "payload", "body", "storage", "transcript",
        "caller_text", "bot_text", "recognitionOutput", "alternatives",
        # never log credentials
        "authorization", "x-api-key", "api_key", "token", "password",
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


class DataProtectionSettings(BaseModel):
    """``data_protection:`` in an endpoint file. Defaults keep caller data out of logs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mask_logging: bool = True
    """No caller/callee number, userId, text or data in any log line."""
    mask_analytics: bool = False
    """The caller's and the bot's words masked whole in analytics records and transcripts."""
    mask_ip: bool = True
    """Client IP addresses are stored as ``*****``."""
    collect_analytics: bool = True
    """One analytics record per turn."""
    store_transcripts: bool = False
    """Keep what the caller and the bot said, per turn."""
    retention_days: int = Field(default=30, ge=1, le=3650)
    """Analytics records and transcripts expire (DynamoDB TTL) after this many days."""


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


def mask_ip_address(ip: str | None, settings: DataProtectionSettings) -> str | None:
    """The IP as analytics may keep it: masked when ``mask_ip`` or ``mask_analytics`` is on."""
    if ip is None:
        return None
    return MASK if settings.mask_ip or settings.mask_analytics else ip


# --- the Logger hook ------------------------------------------------------------------------------


class _MaskingSerializer:
    """Wraps the formatter's serializer; ``enabled`` is flipped per request by :func:`install_log_masking`."""

    def __init__(self, serialize: Callable[[dict[str, Any]], str]) -> None:
        self.unmasked = serialize
        self.enabled = True

    def __call__(self, log: dict[str, Any]) -> str:
        return self.unmasked(mask_log_record(log) if self.enabled else log)


def install_log_masking(logger: Any, enabled: bool) -> None:
    """Mask caller data in every line ``logger`` (a Powertools ``Logger``) writes, or stop masking.

    Cheap and idempotent: the serializer is wrapped once and later calls only flip the switch. One
    Lambda process serves one request at a time, so the conversation layer calls it at the start of
    each request with that endpoint's ``mask_logging`` (lines logged before the endpoint is known are
    masked when the process installs masking at import with ``enabled=True``).
    """
    formatter = logger.registered_formatter
    serializer = getattr(formatter, "json_serializer", None)
    if serializer is None:
        raise TypeError("install_log_masking needs a Powertools JSON formatter (json_serializer)")
    if not isinstance(serializer, _MaskingSerializer):
        serializer = _MaskingSerializer(serializer)
        formatter.json_serializer = serializer
    serializer.enabled = enabled
