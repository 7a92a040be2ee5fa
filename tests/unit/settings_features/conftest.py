"""Fixtures for the endpoint-settings features: real log output, a fixed clock, extension modules."""

from __future__ import annotations

import io
import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from audiocodes_endpoint.observability import logger


class LogOutput:
    """What the project's Powertools logger wrote during the test, as text and as JSON lines."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._buffer = buffer

    @property
    def text(self) -> str:
        return self._buffer.getvalue()

    @property
    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def log_output() -> Iterator[LogOutput]:
    handler = logger.registered_handler
    formatter = logger.registered_formatter
    serializer = formatter.json_serializer
    buffer = io.StringIO()
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield LogOutput(buffer)
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]
        formatter.json_serializer = serializer  # undo any masking a test installed


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def extension(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write ``agent/extensions/<name>.py`` under a fresh agent dir; returns the agent dir."""

    def write(name: str, source: str) -> Path:
        directory = tmp_path / "extensions"
        directory.mkdir(exist_ok=True)
        (directory / f"{name}.py").write_text(textwrap.dedent(source))
        return tmp_path

    return write
