"""Bytes in AWS's event-stream encoding (what Bedrock's ``ConverseStream`` answers with), parsed by
botocore's own ``EventStream``: the provider reads what boto3 would give it from the wire.

Encoding: https://docs.aws.amazon.com/AmazonS3/latest/API/RESTSelectObjectAppendix.html (prelude:
total length, headers length, prelude CRC32; headers as name-length, name, type 7 = string,
value-length, value; payload; message CRC32).
"""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Iterable, Iterator
from typing import Any

import boto3
from botocore.eventstream import EventStream
from botocore.parsers import EventStreamJSONParser
from botocore.stub import Stubber


def _header(name: str, value: str) -> bytes:
    encoded_name, encoded_value = name.encode(), value.encode()
    return (
        struct.pack("B", len(encoded_name))
        + encoded_name
        + b"\x07"
        + struct.pack(">H", len(encoded_value))
        + encoded_value
    )


def encode(event_type: str, payload: dict[str, Any], message_type: str = "event") -> bytes:
    if message_type == "exception":
        headers = _header(":exception-type", event_type) + _header(":message-type", "exception")
    else:
        headers = _header(":event-type", event_type) + _header(":message-type", "event")
    headers += _header(":content-type", "application/json")
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


class _Raw:
    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks

    def stream(self) -> Iterator[bytes]:
        yield from self._chunks

    def close(self) -> None:
        pass


def converse_stream(events: list[tuple[str, dict[str, Any]]], *, chunk: int = 7) -> EventStream:
    """An ``EventStream`` over ``events`` (type, payload), delivered in ``chunk``-byte pieces as a
    socket would (messages split across reads)."""
    return event_stream(b"".join(encode(kind, payload) for kind, payload in events), chunk=chunk)


def event_stream(data: bytes, *, chunk: int = 7) -> EventStream:
    shape = boto3.client("bedrock-runtime", region_name="eu-central-1").meta.service_model
    output = shape.operation_model("ConverseStream").output_shape.members["stream"]
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    return EventStream(_Raw(pieces), output, EventStreamJSONParser(), "ConverseStream")


def text_events(*texts: str, tokens: tuple[int, int] = (11, 7), stop: str = "end_turn") -> list[tuple[str, dict]]:
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    events += [("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": t}}) for t in texts]
    events += [("contentBlockStop", {"contentBlockIndex": 0}), ("messageStop", {"stopReason": stop})]
    events.append(
        (
            "metadata",
            {
                "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
                "metrics": {"latencyMs": 5},
            },
        )
    )
    return events


class EventStreamStubber(Stubber):
    """botocore's Stubber validates a response against the output shape, where ``stream`` is a
    structure, so it rejects the ``EventStream`` boto3 really returns (boto/botocore#1621). The rest
    of the response is still validated; the stream's events are parsed by botocore from the bytes."""

    def _validate_operation_response(self, operation_name: str, service_response: dict[str, Any]) -> None:
        rest = {key: value for key, value in service_response.items() if not isinstance(value, EventStream)}
        super()._validate_operation_response(operation_name, rest)


def bedrock_client() -> Any:
    return boto3.client(
        "bedrock-runtime", region_name="eu-central-1", aws_access_key_id="stub", aws_secret_access_key="stub"
    )
