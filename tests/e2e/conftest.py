"""The local emulator in a subprocess (as `make run` starts it), with the demo agent plus a test echo flow."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from audiocodes_endpoint.local.emulator import free_port
from audiocodes_endpoint.local.vaic import VaicClient
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class RunningEmulator:
    base_url: str
    moto_url: str
    tokens: dict[str, str]

    def client(self, url_token: str, token: str | None = "") -> VaicClient:
        chosen = self.tokens[url_token] if token == "" else token
        return VaicClient(f"{self.base_url}/{url_token}", chosen)

    def session(self, url_token: str, conversation: str) -> dict[str, Any] | None:
        """The session item as the emulator's DynamoDB (moto) holds it."""
        import boto3

        client = boto3.client(
            "dynamodb", endpoint_url=self.moto_url, region_name="eu-central-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )  # fmt: skip
        item = client.get_item(
            TableName="audiocodes-endpoint-local-SessionsTable", Key={"id": {"S": f"{url_token}/{conversation}"}}
        ).get("Item")
        return item


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    agent = tmp_path_factory.mktemp("agent")
    shutil.copytree(ROOT / "agent", agent, dirs_exist_ok=True)
    shutil.copytree(Path(__file__).parent / "agent", agent, dirs_exist_ok=True)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "PORT": str(port),
        "LOCAL_AGENT_DIR": str(agent),
        "PYTHONPATH": str(ROOT / "layers" / "runtime"),
        "EMULATOR_QUIET": "1",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "audiocodes_endpoint.local.emulator"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    banner = _read_banner(process)
    tokens = dict(re.findall(r"endpoint '([^']+)': bot URL \S+\s+token (\S+)", banner))
    moto_url = re.search(r"AWS on moto at (\S+)\)", banner)
    assert moto_url, banner
    try:
        yield RunningEmulator(f"http://127.0.0.1:{port}", moto_url[1], tokens)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _read_banner(process: subprocess.Popen[str]) -> str:
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("emulator exited:\n" + "".join(lines))
        lines.append(line)
        if "Talk to it" in line:
            threading_drain(process)
            return "".join(lines)
    raise TimeoutError("emulator did not start:\n" + "".join(lines))


def threading_drain(process: subprocess.Popen[str]) -> None:
    """Keep reading the emulator's output so a full pipe never blocks it."""
    import threading

    def drain() -> None:
        assert process.stdout is not None
        for _ in process.stdout:
            pass

    threading.Thread(target=drain, daemon=True).start()
