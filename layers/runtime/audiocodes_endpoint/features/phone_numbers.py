"""Caller number metadata (``input.data.numberMetaData``), as Cognigy's AudioCodes endpoint gave it.

Only phonenumbers' core metadata is used (no geocoder/carrier data), which keeps cold starts short.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

# The user part of a tel: or sip:/sips: URI, when it is a phone number (``sip:+4921...@host;user=phone``).
_URI_USER = re.compile(r"^(?:tel:|sips?:)?(?P<user>[+0-9()\-. ]+?)(?:[@;].*)?$", re.IGNORECASE)
_MAX_LENGTH = 64


def number_metadata(raw: Any, default_region: str | None) -> dict[str, Any]:
    """``{number, country, countryCallingCode, nationalNumber, valid, type, uri}`` for a caller id.

    Never raises: ``anonymous``, SIP URIs with a non-numeric user (``sip:alice@host``) and garbage give
    ``valid: false`` with the other fields ``None``. A number in national form is read in
    ``default_region`` (an endpoint setting).
    """
    text = raw.strip() if isinstance(raw, str) else ""
    match = _URI_USER.match(text) if 0 < len(text) <= _MAX_LENGTH else None
    if match is None:
        return _unparsed(raw)
    try:
        parsed = phonenumbers.parse(match["user"], (default_region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return _unparsed(raw)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return {
        "number": e164,
        "country": phonenumbers.region_code_for_number(parsed),
        "countryCallingCode": str(parsed.country_code),
        "nationalNumber": str(parsed.national_number),
        "valid": phonenumbers.is_valid_number(parsed),
        "type": _type_name(phonenumbers.number_type(parsed)),
        "uri": f"tel:{e164}",
    }


def _type_name(number_type: int) -> str:
    for name, value in vars(phonenumbers.PhoneNumberType).items():
        if value == number_type and name.isupper():
            return name
    return "UNKNOWN"


def _unparsed(raw: Any) -> dict[str, Any]:
    # Echo what VAIC sent (e.g. "anonymous") so flows can show it, but never an oversized value.
    return {
        "number": raw if isinstance(raw, str) and len(raw) <= _MAX_LENGTH else None,
        "country": None,
        "countryCallingCode": None,
        "nationalNumber": None,
        "valid": False,
        "type": None,
        "uri": None,
    }


# What people write for a number to dial: E.164 (+49...), international with 00, or national
# (030 1234567), with spaces, dashes, dots, slashes or brackets, optionally as a tel: URI.
_DIALLED = re.compile(r"^(?:tel:)?\s*(?P<number>[+(0-9][0-9()\-./ ]{1,40})$", re.IGNORECASE)
_SIP_URI = re.compile(r"^sips?:[^\s<>\"]{1,253}$", re.IGNORECASE)


def is_international(target: str) -> bool:
    """True when ``target`` (a number, not a SIP URI) says its own country (+ or 00)."""
    match = _DIALLED.match(target.strip())
    return match is not None and match["number"].lstrip("( ").startswith(("+", "00"))


def transfer_uri(target: str, default_region: str | None) -> str:
    """``transferTarget`` as VAIC dials it: a SIP URI unchanged, a number as ``tel:+<E.164>``.

    AudioCodes' own sample sends a bare number (ac-api-samples ``sample-ac-websocket-bot-text.ts``);
    a tel: URI may not contain spaces (RFC 3966), so ``tel:0049 (30) 123-4567`` becomes
    ``tel:+49301234567``, as Cognigy's transfer node sent it. A national number is read in
    ``default_region``. Raises ``ValueError`` when the target is neither.
    """
    text = target.strip()
    if _SIP_URI.match(text):
        return text
    match = _DIALLED.match(text)
    if match is None:
        raise ValueError(f"{target!r} is not a phone number or a sip: URI")
    digits = re.sub(r"[()\-./ ]", "", match["number"])
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    region = None if digits.startswith("+") else (default_region or "").upper() or None
    if region is None and not digits.startswith("+"):
        raise ValueError(f"{target!r} is a national number, but no default_region is set to read it in")
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"{target!r} is not a phone number ({error})") from None
    if not phonenumbers.is_valid_number(parsed):  # phonenumbers' metadata for the country's numbering plan
        where = f" in region {region}" if region else ""
        raise ValueError(f"{target!r} is not a valid phone number{where} (or use a sip: URI)")
    return "tel:" + phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
