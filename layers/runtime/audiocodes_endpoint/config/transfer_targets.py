"""Transfer targets, in settings and flow nodes: what may be dialled, and the ``transferTarget`` VAIC gets.

Only phonenumbers' core metadata is used (no geocoder/carrier data), which keeps cold starts short.
"""

from __future__ import annotations

import re

import phonenumbers

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
