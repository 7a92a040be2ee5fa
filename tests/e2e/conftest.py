"""The local emulator in a subprocess (as `make run` starts it), with the demo agent plus a test echo flow."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from audiocodes_devtools.launcher import RunningEmulator, emulator_process
from tests.conftest import ROOT

E2E_AGENT = Path(__file__).parent / "agent"


def demo_agent_with_echo(target: Path) -> Path:
    """The demo agent plus the deterministic echo flow and its sync and async endpoints."""
    shutil.copytree(ROOT / "agent", target, dirs_exist_ok=True)
    shutil.copytree(E2E_AGENT, target, dirs_exist_ok=True)
    return target


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with emulator_process(demo_agent_with_echo(tmp_path_factory.mktemp("agent"))) as running:
        yield running
