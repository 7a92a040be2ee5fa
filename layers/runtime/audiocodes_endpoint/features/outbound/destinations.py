"""May this endpoint call that number? E.164 via phonenumbers, the allow-list, the do-not-call list."""

from __future__ import annotations

import re

from audiocodes_endpoint.config.dialout import DestinationPolicy


class DestinationRefused(Exception):
    """The number is not dialable or not allowed; ``code`` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def checked_destination(number: str, policy: DestinationPolicy, default_region: str) -> str:
    """The E.164 form of ``number`` if the policy allows calling it, else :class:`DestinationRefused`."""
    import phonenumbers  # not at cold import

    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException:
        raise DestinationRefused("invalid_target", "target is not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise DestinationRefused("invalid_target", "target is not a valid phone number")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if e164 in policy.do_not_call:
        raise DestinationRefused("do_not_call", "target is on this endpoint's do-not-call list")
    allowed = parsed.country_code in policy.country_codes or any(re.fullmatch(p, e164) for p in policy.patterns)
    if not allowed:
        raise DestinationRefused("destination_not_allowed", "target is outside this endpoint's allowed destinations")
    return e164
