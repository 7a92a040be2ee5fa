import pytest
from hypothesis import given
from hypothesis import strategies as st

from audiocodes_endpoint.features.caller_numbers import number_metadata


def test_e164_german_landline_matches_cognigy_example():
    assert number_metadata("+4921154591991", "US") == {
        "number": "+4921154591991",
        "country": "DE",
        "countryCallingCode": "49",
        "nationalNumber": "21154591991",
        "valid": True,
        "type": "FIXED_LINE",
        "uri": "tel:+4921154591991",
    }


def test_national_number_is_read_in_the_endpoint_default_region():
    assert number_metadata("021154591991", "DE")["number"] == "+4921154591991"
    assert number_metadata("(650) 253-0000", "US")["country"] == "US"


def test_mobile_and_sip_uri_with_a_numeric_user_part():
    metadata = number_metadata("sip:+491604697810@sip.telnyx.eu;user=phone", "US")
    assert metadata["valid"] is True and metadata["type"] == "MOBILE" and metadata["uri"] == "tel:+491604697810"


@pytest.mark.parametrize("raw", ["anonymous", "sip:alice@example.com", "garbage", "", None, 42, "+", "x" * 1000])
def test_anything_that_is_not_a_number_is_invalid_and_never_raises(raw):
    metadata = number_metadata(raw, "DE")
    assert metadata["valid"] is False
    assert metadata["uri"] is None and metadata["country"] is None
    assert metadata["number"] in (raw, None)


@given(st.text(max_size=80), st.sampled_from(["DE", "US", "", None, "zz"]))
def test_number_metadata_never_raises(raw, region):
    metadata = number_metadata(raw, region)
    assert set(metadata) == {"number", "country", "countryCallingCode", "nationalNumber", "valid", "type", "uri"}
