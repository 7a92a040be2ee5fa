"""The decoder alone: any bytes and headers give a JSON value that can be stored, or a Refused 4xx."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audiocodes_endpoint.channel.decoding import MAX_DEPTH, Refused, decode_body, loads, storable

JSON = {"content-type": "application/json"}


def refused(body: str | None, *, base64_encoded: bool = False, headers: dict[str, str] = JSON) -> Refused:
    with pytest.raises(Refused) as caught:
        decode_body(body, base64_encoded=base64_encoded, headers=headers)
    return caught.value


def test_the_depth_limit_is_exact_and_counts_objects_and_arrays() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert loads('{"a":' * MAX_DEPTH + "1" + "}" * MAX_DEPTH) is not None
    assert refused("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).status == 400
    assert refused('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)).status == 400
    # brackets inside strings are not nesting
    assert loads(json.dumps({"text": "[" * 100})) == {"text": "[" * 100}


def test_escaped_pairs_are_unicode_and_lone_halves_are_not() -> None:
    assert loads('"\\ud83d\\ude00"') == "\U0001f600"
    for text in ('"\\ud83d"', '"\\ude00x"', '{"\\udbff": 1}', '["ok", "\\uFFFE"]', '"\uffff"'):
        assert "surrogate" in refused(text).message


def test_numbers_at_the_limits() -> None:
    assert loads("9" * 4_300) == int("9" * 4_300)
    assert loads("-" + "9" * 4_300) < 0
    assert "4300 digits" in refused("9" * 4_301).message
    for text in ("NaN", "Infinity", "-Infinity", "1e999", "-1e400"):
        assert refused(text).status == 400


def test_a_gzip_bomb_stops_at_the_limit() -> None:
    bomb = base64.b64encode(gzip.compress(b" " * 50_000_000)).decode()
    assert refused(bomb, base64_encoded=True, headers={**JSON, "content-encoding": "gzip"}).status == 413


def test_raw_deflate_and_two_codings_are_undone_in_order() -> None:
    packer = zlib.compressobj(wbits=-15)
    raw = packer.compress(b'{"a": 1}') + packer.flush()
    body = base64.b64encode(raw).decode()
    assert decode_body(body, base64_encoded=True, headers={**JSON, "content-encoding": "deflate"}).value == {"a": 1}
    twice = base64.b64encode(gzip.compress(zlib.compress(b'{"b": 2}'))).decode()
    headers = {**JSON, "content-encoding": "deflate, gzip"}
    assert decode_body(twice, base64_encoded=True, headers=headers).value == {"b": 2}
    assert refused(twice, base64_encoded=True, headers={**JSON, "content-encoding": "gzip,gzip,gzip"}).status == 415


CONTENT_TYPES = st.sampled_from(
    ["application/json", "APPLICATION/JSON; charset=UTF-8", "text/json", "text/plain", "multipart/form-data",
     "application/x+json", "", "application/json; charset=latin-1"]
)  # fmt: skip
CODINGS = st.sampled_from(["", "gzip", "deflate", "br", "identity", "gzip, deflate"])


@pytest.mark.slow
@settings(max_examples=3_000, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
            max_leaves=20,
        ).map(lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    ),
    compress=st.sampled_from([None, gzip.compress, zlib.compress]),
    as_base64=st.booleans(),
    content_type=CONTENT_TYPES,
    coding=CODINGS,
)
def test_any_bytes_decode_to_a_storable_value_or_a_4xx(
    data: bytes, compress: object, as_base64: bool, content_type: str, coding: str
) -> None:
    if callable(compress):
        data = compress(data)
    headers = {"content-type": content_type, "content-encoding": coding}
    body = base64.b64encode(data).decode() if as_base64 else data.decode("utf-8", "surrogateescape")
    try:
        decoded = decode_body(body, base64_encoded=as_base64, headers=headers)
    except Refused as refusal:
        assert refusal.status in (400, 413, 415) and refusal.code and refusal.message
        return
    # What decodes can be written anywhere: re-encoded as UTF-8 JSON, with nothing DynamoDB/SQS refuse
    text = json.dumps(decoded.value, ensure_ascii=False, allow_nan=False)
    assert storable(text) and text.encode("utf-8")
