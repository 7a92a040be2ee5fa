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
