"""Bytes to trusted JSON, in one place for every door: size, encodings, content type, depth, numbers, Unicode.

Whatever a client sends either becomes a JSON value that pydantic, DynamoDB and SQS can all take, or
a :class:`Refused` with the 4xx to answer:

* **413** the body is over :data:`MAX_BODY_BYTES`, as sent or once decompressed;
* **415** a content type other than JSON (``application/json``, ``text/json``, ``application/*+json``,
  compared case-insensitively; a ``charset`` other than UTF-8), or a content coding other than
  ``gzip``, ``deflate`` or ``identity``;
* **400** invalid base64 with ``isBase64Encoded``, a body that is not UTF-8 (RFC 8259 section 8.1;
  a UTF-8 byte order mark is skipped), malformed JSON, ``NaN``/``Infinity``, a float out of range,
  a number over :data:`MAX_NUMBER_DIGITS` digits, nesting over :data:`MAX_DEPTH`, or a string (key
  or value) holding a lone surrogate (``"\\ud800"``: not Unicode, DynamoDB cannot store it) or
  U+FFFE/U+FFFF (SQS refuses them in a message).

Gzip and deflate are accepted (``Content-Encoding``, at most two codings) because webhooks sent to
the raw inject routes may be compressed; decompression stops one byte past the limit, so a small
bomb costs at most :data:`MAX_BODY_BYTES` of memory.
"""

from __future__ import annotations

import base64
import json
import math
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_BODY_BYTES = 64 * 1024
MAX_DEPTH = 32  # DynamoDB's own nesting limit; our wire shapes use 6
MAX_NUMBER_DIGITS = 4_300  # CPython's default int/str limit, stated here so no interpreter setting moves it
MAX_CODINGS = 2
ACCEPT_ENCODING = "gzip, deflate, identity"

# Lone surrogates are not Unicode; U+FFFE/U+FFFF are outside what an SQS message may hold.
_NOT_STORABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")
_UTF8_BOM = "\ufeff"
_CONTAINERS = (dict, list)  # a tuple: isinstance with ``dict | list`` builds a union on every call


@dataclass
class Refused(Exception):
    """The request cannot be decoded: answer ``status`` with ``{"error": code, "message": message}``."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def malformed(message: str) -> Refused:
    return Refused(400, "bad_request", message)


def too_large() -> Refused:
    return Refused(413, "payload_too_large", f"bodies are limited to {MAX_BODY_BYTES} bytes")


@dataclass(frozen=True)
class Body:
    """A decoded body: the UTF-8 JSON text (``None`` when empty) and the value it holds."""

    text: str | None
    value: Any


def decode_body(
    body: str | None, *, base64_encoded: bool, headers: Mapping[str, str], form: bool = False, csv: bool = False
) -> Body:
    """The JSON a request carries; ``headers`` must have lower-case names. Raises :class:`Refused`.

    With ``form``, the body must be ``application/x-www-form-urlencoded`` instead (an OAuth2 token
    request, RFC 6749 4.4.2): it is decoded the same way up to its UTF-8 text, which is returned
    (``value`` is ``None``) for the route's own parser. With ``csv``, likewise for ``text/csv`` (RFC 4180).
    """
    if not body:
        return Body(None, None)
    if form:
        _check_form_type(headers.get("content-type", ""))
    elif csv:
        _check_charset(_media_type(headers.get("content-type", ""))[1])
    else:
        _check_media_type(headers.get("content-type", ""))
    codings = _codings(headers.get("content-encoding", ""))
    data = _bytes(body, base64_encoded)
    for coding in reversed(codings):  # applied in the order listed, so undone from the last
        data = _inflate(data, gzip_format=coding != "deflate")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("the body is not UTF-8 (JSON is UTF-8, RFC 8259)") from None
    text = text.removeprefix(_UTF8_BOM)
    if not text:
        return Body(None, None)
    if form or csv:
        if not storable(text):
            raise malformed("the body holds U+FFFE or U+FFFF")
        return Body(text, None)
    return Body(text, loads(text))


def loads(text: str) -> Any:
    """Strict JSON: what :func:`json.loads` takes, less what DynamoDB, SQS or a later parse would refuse."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except RecursionError:
        raise malformed(f"malformed JSON body: nested deeper than {MAX_DEPTH} levels") from None
    except json.JSONDecodeError:
        raise malformed("malformed JSON body") from None
    except ValueError as error:  # raised by our parse_* hooks with a message of ours
        raise malformed(f"malformed JSON body: {error}") from None
    # Cheap scans of the text decide what must be looked at: a string can only hold a lone
    # surrogate through a \\u escape (or raw, if the text did not come from UTF-8 bytes), and a
    # text with few brackets cannot nest deeply.
    check_value(
        value,
        depth=text.count("[") + text.count("{") > MAX_DEPTH,
        strings="\\u" in text or _NOT_STORABLE.search(text) is not None,
    )
    return value


def check_value(value: Any, *, depth: bool = True, strings: bool = True) -> None:
    """Refuse nesting over :data:`MAX_DEPTH` and strings (keys or values) that cannot be stored."""
    if depth and isinstance(value, _CONTAINERS):
        pending: list[tuple[dict[str, Any] | list[Any], int]] = [(value, 1)]
        while pending:  # iterative: a deep value cannot exhaust the stack
            item, level = pending.pop()
            if level > MAX_DEPTH:
                raise malformed(f"malformed JSON body: nested deeper than {MAX_DEPTH} levels")
            for child in item.values() if type(item) is dict else item:
                if isinstance(child, _CONTAINERS):
                    pending.append((child, level + 1))
    # One pass of the C encoder and one regex scan instead of a Python walk over every string.
    if strings and _NOT_STORABLE.search(json.dumps(value, ensure_ascii=False)):
        raise malformed("malformed JSON body: a string holds a lone surrogate or U+FFFE/U+FFFF")


def peek_string(body: str | None, *, base64_encoded: bool, key: str) -> str | None:
    """Best effort, never raises: the string under top-level ``key`` of a JSON body, read before the
    request is authenticated (Cognigy's inject body names the endpoint whose key to check). Nothing
    else of the body is trusted; :func:`decode_body` decides on it once the caller is known."""
    if not body or len(body) > (MAX_BODY_BYTES + 2) // 3 * 4 + 4:
        return None
    try:
        raw = base64.b64decode(body, validate=True) if base64_encoded else body.encode("utf-8")
        # numbers and constants kept as text: only the key is wanted, and they must not fail the read
        document = json.loads(raw, parse_int=str, parse_float=str, parse_constant=str)
    except (ValueError, UnicodeError, RecursionError):
        return None
    value = document.get(key) if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def storable(text: str) -> bool:
    """True if ``text`` can go into DynamoDB and SQS (no lone surrogate, no U+FFFE/U+FFFF)."""
    return _NOT_STORABLE.search(text) is None


# --- the steps -----------------------------------------------------------------------------------------


def _bytes(body: str, base64_encoded: bool) -> bytes:
    if base64_encoded:
        if len(body) > (MAX_BODY_BYTES + 2) // 3 * 4 + 4:  # checked before decoding anything
            raise too_large()
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError:  # binascii.Error, or a str that is not ASCII
            raise malformed("the body is not valid base64 (isBase64Encoded is true)") from None
    else:
        try:
            data = body.encode("utf-8")
        except UnicodeEncodeError:
            raise malformed("the body is not UTF-8 (JSON is UTF-8, RFC 8259)") from None
    if len(data) > MAX_BODY_BYTES:
        raise too_large()
    return data


def _codings(content_encoding: str) -> list[str]:
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if len(codings) > MAX_CODINGS or any(c not in ("gzip", "x-gzip", "deflate") for c in codings):
        raise Refused(
            415,
            "unsupported_media_type",
            f"this Content-Encoding is not supported; use {ACCEPT_ENCODING}",
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        )
    return codings


def _inflate(data: bytes, *, gzip_format: bool) -> bytes:
    # RFC 9110's "deflate" is the zlib format; some clients send raw deflate, which is tried second.
    for wbits in (31,) if gzip_format else (15, -15):
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(data, MAX_BODY_BYTES + 1)
        except zlib.error:
            continue
        if len(out) > MAX_BODY_BYTES or inflater.unconsumed_tail:
            raise too_large()
        if inflater.eof and not inflater.unused_data:
            return out
    raise malformed("the compressed body is corrupt or truncated")


def _media_type(content_type: str) -> tuple[str, str | None]:
    """``(type/subtype, charset)`` in lower case (RFC 9110 8.3.1: both are case-insensitive)."""
    media, _, parameters = content_type.partition(";")
    charset = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return media.strip().lower(), charset


def _check_media_type(content_type: str) -> None:
    """JSON media types only: ``application/json``, ``text/json`` (older clients), ``application/*+json``."""
    if not content_type.strip():
        return  # no Content-Type: taken as JSON, as VAIC's and curl's bodies are
    media, charset = _media_type(content_type)
    is_json = media in ("application/json", "text/json") or (
        media.startswith("application/") and media.endswith("+json") and len(media) > len("application/+json")
    )
    if not is_json:
        raise Refused(415, "unsupported_media_type", "send JSON: Content-Type: application/json")
    _check_charset(charset)


def is_csv(content_type: str) -> bool:
    return _media_type(content_type)[0] == "text/csv"


def _check_form_type(content_type: str) -> None:
    media, charset = _media_type(content_type)
    if media != "application/x-www-form-urlencoded":
        raise Refused(415, "unsupported_media_type", "send Content-Type: application/x-www-form-urlencoded")
    _check_charset(charset)


def _check_charset(charset: str | None) -> None:
    if charset not in (None, "utf-8", "utf8"):
        raise Refused(415, "unsupported_media_type", "bodies must be UTF-8 (charset=utf-8)")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number has more than {MAX_NUMBER_DIGITS} digits")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number has more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def headers_lowercased(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """Header names in lower case, as API Gateway's HTTP API sends them; repeated names joined by commas."""
    joined: dict[str, str] = {}
    for name, value in (headers or {}).items():
        key = str(name).lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else str(value)
    return joined
