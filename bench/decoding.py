"""What decoding a body at the edge costs: ``decoding.decode_body`` against a bare ``json.loads`` of the
same text, measured in the same run (the ratio is the figure; absolute times move with the machine)."""

from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import json
import time
from collections.abc import Callable
from typing import Any

from audiocodes_endpoint.channel.decoding import Refused, decode_body

JSON = {"content-type": "application/json"}


def _activity(i: int, text: str) -> dict[str, Any]:
    return {
        "id": f"{i:036d}",
        "type": "message",
        "text": text,
        "timestamp": "2024-12-04T15:07:55.145Z",
        "parameters": {"confidence": 0.93, "recognitionOutput": {"alternatives": [{"text": text}]}},
    }


def _cases() -> list[tuple[str, str, dict[str, str], bool]]:
    """(name, body, headers, base64) — what VAIC sends, the largest bodies allowed, and attacks refused."""
    typical = json.dumps({"conversation": "c", "activities": [_activity(1, "I would like to check my balance")]})
    big_ascii = json.dumps({"activities": [_activity(i, "x" * 100) for i in range(150)]})
    big_escaped = json.dumps({"activities": [_activity(i, "caf\u00e9 \u2603 " * 8) for i in range(120)]})
    zipped = base64.b64encode(gzip.compress(big_ascii.encode())).decode()
    deep = '{"activities": [{"id": "a", "type": "message", "value": ' + "[" * 10_000 + "]" * 10_000 + "}]}"
    return [
        (f"typical activity ({len(typical)} B)", typical, JSON, False),
        (f"large, ASCII ({len(big_ascii) // 1024} KiB)", big_ascii, JSON, False),
        (f"large, \\u escapes ({len(big_escaped) // 1024} KiB)", big_escaped, JSON, False),
        ("large, gzip + base64", zipped, {**JSON, "content-encoding": "gzip"}, True),
        ("refused: 10,000 levels deep", deep, JSON, False),
    ]


def _median_us(action: Callable[[], Any], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return samples[len(samples) // 2]


def _decode(body: str, headers: dict[str, str], b64: bool) -> None:
    with contextlib.suppress(Refused):
        decode_body(body, base64_encoded=b64, headers=headers)


def _plain(body: str, b64: bool) -> None:
    text = gzip.decompress(base64.b64decode(body)).decode() if b64 else body
    with contextlib.suppress(ValueError, RecursionError):
        json.loads(text)


def measure(rounds: int = 300) -> list[dict[str, Any]]:
    rows = []
    for name, body, headers, b64 in _cases():
        decoded = _median_us(functools.partial(_decode, body, headers, b64), rounds)
        plain = _median_us(functools.partial(_plain, body, b64), rounds)
        rows.append({"case": name, "decode_us": decoded, "plain_us": plain})
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    lines = [
        "## Decoding a body at the edge",
        "",
        "`decoding.decode_body` (media type, base64, size, codings, UTF-8, strict JSON, depth, numbers,",
        "storable Unicode) against a bare `json.loads` of the same text (after gunzip for the gzip case),",
        "medians of the same run.",
        "",
        "| body | decode_body µs | json.loads µs | ratio |",
        "|---|---:|---:|---:|",
    ]
    for row in rows:
        ratio = row["decode_us"] / row["plain_us"] if row["plain_us"] else float("nan")
        lines.append(f"| {row['case']} | {row['decode_us']:.0f} | {row['plain_us']:.0f} | {ratio:.1f}x |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(measure()))
