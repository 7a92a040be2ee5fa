"""Outbound calls: destinations (allow-list, do-not-call), dial-out settings, call direction, VAIC's token cache."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from audiocodes_devtools.dialout_standin import DialoutStandIn
from audiocodes_endpoint.config.dialout import DestinationPolicy, DialoutSettings
from audiocodes_endpoint.features.outbound import vaic
from audiocodes_endpoint.features.outbound.destinations import DestinationRefused, checked_destination
from audiocodes_endpoint.features.outbound.flow_context import call_direction

POLICY = DestinationPolicy(country_codes=[49], patterns=[r"^\+4420\d{8}$"], do_not_call=["+4930111111111"])


@pytest.mark.parametrize(
    ("number", "region", "expected"),
    [
        ("+49 30 12345678", "US", "+493012345678"),
        ("030 12345678", "DE", "+493012345678"),  # national form, read in the endpoint's region
        ("+44 20 7946 0958", "DE", "+442079460958"),  # allowed by pattern only
    ],
)
def test_allowed_numbers_come_back_in_e164(number: str, region: str, expected: str) -> None:
    assert checked_destination(number, POLICY, region) == expected


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("", "invalid_target"),
        ("hello", "invalid_target"),
        ("+49 30 1", "invalid_target"),
        ("+1 212 736 5000", "destination_not_allowed"),
        ("+44 161 496 0000", "destination_not_allowed"),
        ("+4930111111111", "do_not_call"),
        ("030 111111111", "do_not_call"),  # the same number, national form
        ("+49 (30) 111-111-111", "do_not_call"),  # and with punctuation
    ],
)
def test_refused_numbers_say_why(number: str, code: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        checked_destination(number, POLICY, "DE")
    assert refused.value.code == code


def test_an_empty_policy_allows_nobody() -> None:
    with pytest.raises(DestinationRefused, match="outside"):
        checked_destination("+493012345678", DestinationPolicy(), "DE")


def test_a_pattern_must_match_the_whole_number() -> None:
    policy = DestinationPolicy(patterns=[r"\+4930"])
    with pytest.raises(DestinationRefused):
        checked_destination("+493012345678", policy, "DE")


SETTINGS: dict[str, Any] = {
    "api_key": "ssm:/k",
    "api_url": "https://vaic.example.com",
    "token_url": "https://vaic.example.com/oauth/token",
    "client_id": "ssm:/id",
    "client_secret": "ssm:/secret",
    "bot": "bot",
    "caller": "+4930123",
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"client_secret": "plain-secret"}, "client_secret"),
        ({"api_key": "hunter2"}, "api_key"),
        ({"token_url": None}, "token_url is required"),
        ({"api_url": "vaic.example.com"}, "api_url"),
        ({"destinations": {"patterns": ["("]}}, "pattern"),
        ({"destinations": {"do_not_call": ["030 111"]}}, "do_not_call"),
        ({"answer_timeout_seconds": 1}, "answer_timeout_seconds"),
        ({"machine_detection_mode": "detect; rm"}, "machine_detection_mode"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_dialout_settings_refuse_secrets_and_typos(change: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        DialoutSettings.model_validate({**SETTINGS, **change})


def test_basic_auth_needs_no_token_url() -> None:
    assert DialoutSettings.model_validate({**SETTINGS, "auth": "basic", "token_url": None}).auth == "basic"


def test_the_direction_follows_outbound_target() -> None:
    assert call_direction({"outboundTarget": "+493012345678"}) == "outbound"
    assert call_direction({"caller": "+493012345678"}) == "inbound"
    assert call_direction({"outboundTarget": ""}) == "inbound"


def test_the_oauth_token_is_fetched_again_30_seconds_before_it_expires() -> None:
    standin = DialoutStandIn(lambda name: ("http://127.0.0.1:9", None)).start()
    try:
        vaic.reset()
        credentials = vaic.Credentials(
            standin.url, "oauth", standin.token_url, standin.client_id, standin.client_secret
        )
        request = {"bot": "b", "target": "tel:+493012345678", "caller": "+49", "notifyUrl": "http://127.0.0.1:9/x"}
        for now in (1000.0, 1000.0 + 3600 - 31):  # the stand-in's tokens last 3600 s
            vaic.dial(credentials, request, clock=lambda now=now: now)
        assert len(standin.tokens) == 1
        vaic.dial(credentials, request, clock=lambda: 1000.0 + 3600 - 29)
        assert len(standin.tokens) == 2 and len(standin.calls) == 3
    finally:
        standin.stop()
        vaic.reset()
